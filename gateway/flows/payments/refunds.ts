import { conflict, notFound, unprocessable } from '../../errors';
import { defineJob } from '../../jobs/types';
import { ExternalError } from '../../ports';
import { nowIso } from '../../store/db';
import { getPayment, getRefund, insertRefund, newRefundRow, paymentAttempts, paymentRefunds, setRefundStatus } from '../../store/payments';
import type { RefundRow } from '../../store/schema';
import { attemptRef } from './attempts';
import type { FlowDeps } from '../deps';
import { queueRefundReceipt } from '../fiscal/translator';
import { queueDelivery } from '../onec/delivery';
import { applyObserved } from './sync';
import { ALERTS } from '../alerts/catalog';

/** Records a refund and queues its execution at the provider. */
export async function createRefund(d: FlowDeps, organizations: ReadonlySet<string>, paymentId: string, amount: number): Promise<RefundRow> {
  const refund = await d.store.db.transaction().execute(async (trx) => {
    const payment = await getPayment(trx, paymentId);
    if (!payment || !organizations.has(payment.organization_id)) throw notFound('payment');
    if (payment.status !== 'paid' && payment.status !== 'partially_refunded') {
      throw conflict('payment_not_refundable', `a payment in status ${payment.status} cannot be refunded`, [
        { path: 'paymentId', message: `status is ${payment.status}` },
      ]);
    }
    const refunds = await paymentRefunds(trx, paymentId);
    const sum = (status: RefundRow['status']) => refunds.reduce((s, r) => s + (r.status === status ? r.amount : 0), 0);
    const inFlight = sum('pending');
    // a refund marked done reaches refunded_amount only with the bank's next answer, in a transaction of its own
    const refunded = Math.max(payment.refunded_amount, sum('succeeded'));
    const available = payment.amount - refunded - inFlight;
    if (amount > available) {
      throw unprocessable('refund_exceeds_payment', `at most ${available} kopecks can be refunded`, [
        { path: 'amount', message: `paid ${payment.amount}, refunded ${refunded}, in progress ${inFlight}` },
      ]);
    }
    const row = newRefundRow({ payment_id: paymentId, amount, refunded_before: refunded + inFlight });
    await insertRefund(trx, row);
    await d.jobs.enqueue(trx, executeRefundJob, { refundId: row.id }, { key: `refund:${row.id}` });
    return row;
  });
  d.jobs.kick();
  return refund;
}

/**
 * Executes a refund at the provider, exactly once: the bank's refund call has no idempotency key,
 * so a retry first asks how much the bank has already returned. Refunds of one payment go in order.
 */
export const executeRefundJob = defineJob('refund.execute', async (d: FlowDeps, { refundId }: { refundId: string }, ctx) => {
  const refund = await getRefund(d.store.db, refundId);
  if (!refund || refund.status !== 'pending') return;
  const earlier = (await paymentRefunds(d.store.db, refund.payment_id)).find(
    (r) => r.status === 'pending' && r.created_at < refund.created_at,
  );
  if (earlier) throw new ExternalError('gateway', `refund ${earlier.id} of the same payment goes first`, { retryable: true });

  const payment = (await getPayment(d.store.db, refund.payment_id))!;
  const attempt = (await paymentAttempts(d.store.db, payment.id)).find(
    (a) => a.provider_state === 'paid' || a.provider_state === 'refunded',
  );
  if (!attempt) throw new Error(`payment ${payment.id} has no paid attempt`);
  const provider = d.providers.get(payment.organization_id, payment.provider)!;
  const ref = attemptRef(attempt);

  let observed = await provider.status(ref);
  if (observed.refundedAmount < refund.refunded_before + refund.amount) {
    const fullSameDay =
      refund.refunded_before === 0 && refund.amount === payment.amount && (payment.paid_at ?? '').slice(0, 10) === nowIso().slice(0, 10);
    try {
      await provider.refund(ref, { amount: refund.amount, fullSameDay });
    } catch (e) {
      if (e instanceof ExternalError && !e.retryable) {
        await d.store.db.transaction().execute(async (trx) => {
          await setRefundStatus(trx, refund.id, 'pending', 'failed', e.message);
          await d.alerts.raise(
            trx,
            ALERTS.refundRefused({ paymentId: payment.id, refundId: refund.id, amount: refund.amount, reason: e.message }),
          );
        });
        d.jobs.kick();
        ctx.log.warn({ err: e }, 'refund refused by the provider');
        return;
      }
      throw e;
    }
    observed = await provider.status(ref);
  }
  await d.store.db.transaction().execute(async (trx) => {
    if (await setRefundStatus(trx, refund.id, 'pending', 'succeeded')) {
      const done = { ...refund, status: 'succeeded' as const, updated_at: nowIso() };
      await queueDelivery(d, trx, { refund: done, payment });
      await queueRefundReceipt(d, trx, done, payment);
    }
  });
  await applyObserved(d, attempt, observed);
});
