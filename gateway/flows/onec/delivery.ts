import { PermanentJobError, defineJob } from '../../jobs/types';
import { OneCError, type OneCPaymentDoc } from '../../ports';
import { nowIso, type Executor } from '../../store/db';
import { getOrder } from '../../store/orders';
import { getPayment, getRefund, paymentAttempts, setOnecDelivery } from '../../store/payments';
import type { OrderRow, PaymentRow, RefundRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { ALERTS } from '../alerts/catalog';

/** Queues a paid payment (or a refund) for 1C, in the transaction that made it so. */
export async function queueDelivery(
  d: FlowDeps,
  trx: Executor,
  what: { payment: PaymentRow } | { refund: RefundRow; payment: PaymentRow },
): Promise<void> {
  const org = d.orgs.get(what.payment.organization_id);
  if (!org || !d.onec.sink(org.id)) return;
  if ('refund' in what) {
    if (!org.onec.refunds) return;
    await setOnecDelivery(trx, 'refunds', what.refund.id, { onec_status: 'pending', updated_at: nowIso() });
    await d.jobs.enqueue(trx, deliverToOneCJob, { refundId: what.refund.id }, { key: `onec:refund:${what.refund.id}` });
    return;
  }
  await setOnecDelivery(trx, 'payments', what.payment.id, { onec_status: 'pending' });
  await d.jobs.enqueue(trx, deliverToOneCJob, { paymentId: what.payment.id }, { key: `onec:payment:${what.payment.id}` });
}

async function documentFor(d: FlowDeps, payment: PaymentRow, order: OrderRow, refund?: RefundRow): Promise<OneCPaymentDoc> {
  const attempt = (await paymentAttempts(d.store.db, payment.id)).find(
    (a) => a.provider_state === 'paid' || a.provider_state === 'refunded' || a.provider_state === 'reversed',
  );
  return {
    kind: refund ? 'refund' : 'payment',
    marker: refund ? refund.id : payment.id,
    organizationId: payment.organization_id,
    method: payment.method as OneCPaymentDoc['method'],
    amount: refund ? refund.amount : payment.amount,
    date: refund ? refund.updated_at : (payment.paid_at ?? payment.updated_at),
    order: { id: order.id, number: order.number, externalId: order.external_id, onecRef: order.onec_ref, total: order.total },
    customer: JSON.parse(order.customer),
    provider: payment.provider,
    providerRef: attempt?.provider_ref ?? null,
    ...(refund ? { original: { marker: payment.id, onecRef: payment.onec_document } } : {}),
  };
}

/**
 * Delivers one payment or refund to 1C. Passing failures (network, 5xx, timeouts, locks) are retried
 * on the job's schedule; what needs a person (set-up, rights, mapping, data) stops at once: the
 * payment shows `onec.status = failed` with the reason, support is alerted in Russian, and the dead
 * job is retried from the admin API after the fix.
 */
// this job raises its own alert, with 1C's reason in it
export const deliverToOneCJob = defineJob(
  'onec.deliver',
  async (d: FlowDeps, { paymentId, refundId }: { paymentId?: string; refundId?: string }, ctx) => {
    const refund = refundId ? await getRefund(d.store.db, refundId) : undefined;
    const payment = await getPayment(d.store.db, paymentId ?? refund!.payment_id);
    if (!payment) return;
    const table = refund ? 'refunds' : 'payments';
    const id = refund ? refund.id : payment.id;
    if ((refund ?? payment).onec_status === 'delivered') return;
    const order = (await getOrder(d.store.db, payment.order_id))!;
    const sink = d.onec.sink(payment.organization_id);
    if (!sink) return;
    const doc = await documentFor(d, payment, order, refund);
    try {
      const result = await sink.deliver(doc);
      await setOnecDelivery(d.store.db, table, id, {
        onec_status: 'delivered',
        onec_document: result.ref,
        onec_number: result.number ?? null,
        onec_error: null,
        updated_at: nowIso(),
      });
      ctx.log.info({ paymentId: payment.id, refundId, onecRef: result.ref, onecNumber: result.number }, 'delivered to 1C');
    } catch (e) {
      const last = !(e instanceof OneCError) || !e.retryable || ctx.attempt >= ctx.maxAttempts;
      const hint = e instanceof OneCError ? e.hint : (e as Error).message;
      await d.store.db.transaction().execute(async (trx) => {
        await setOnecDelivery(trx, table, id, {
          onec_status: last ? 'failed' : 'pending',
          onec_error: hint.slice(0, 1000),
          updated_at: nowIso(),
        });
        if (last) {
          await d.alerts.raise(
            trx,
            ALERTS.onecFailed({
              id,
              paymentId: payment.id,
              refundId: refund?.id ?? null,
              amount: doc.amount,
              orderNumber: order.number,
              hint,
              jobId: ctx.jobId,
              attempt: ctx.attempt,
              kind: e instanceof OneCError ? e.kind : 'error',
            }),
          );
        }
      });
      d.jobs.kick();
      if (last && e instanceof OneCError && !e.retryable) throw new PermanentJobError(e.message, { cause: e });
      throw e;
    }
  },
  { alertWhenDead: false },
);
