import { formatRub } from '../../domain/money';
import { decideTransition, type ObservedStatus } from '../../domain/payment-state';
import { defineJob, PermanentJobError } from '../../jobs/types';
import { ExternalError, ProviderNotFoundError } from '../../ports';
import { nowIso, type Executor } from '../../store/db';
import { addOrderMoney, getOrder } from '../../store/orders';
import {
  getAttempt,
  getPayment,
  getRefund,
  insertRefund,
  listOrderPayments,
  movePayment,
  newRefundRow,
  paymentAttempts,
  paymentEventRow,
  paymentRefunds,
  recordEvent,
  setOnecDelivery,
  setRefundStatus,
  updateAttempt,
} from '../../store/payments';
import type { AttemptRow, PaymentEventsTable, PaymentRow } from '../../store/schema';
import { attemptExpired, attemptRef } from './attempts';
import type { FlowDeps } from '../deps';
import { recordConfirmedPayment } from '../history/operations';
import { queuePaymentReceipt, queueRefundReceipt } from '../fiscal/translator';
import { queueDelivery } from '../onec/delivery';
import { notifySite } from './site-notify';
import { ALERTS } from '../alerts/catalog';

const FINAL_STATES = new Set(['paid', 'declined', 'expired', 'reversed', 'refunded']);
/** Payment statuses after the money was taken. */
const SETTLED = new Set(['paid', 'partially_refunded', 'refunded']);

/** When to ask the provider again about an attempt that is still open (and at the latest just after it expires). */
export function nextCheckAt(d: FlowDeps, attempt: Pick<AttemptRow, 'checks' | 'expires_at'>): string {
  const first = d.config.janitor.pollPendingAfterSeconds * 1000;
  let at = Date.now() + Math.min(3_600_000, Math.max(1000, first) * 2 ** Math.min(attempt.checks, 12));
  const expiry = attempt.expires_at ? Date.parse(attempt.expires_at) + 1000 : NaN;
  if (expiry > Date.now() && expiry < at) at = expiry;
  return nowIso(at);
}

/**
 * Confirms an attempt with the provider's status API and applies what it says. This is the only
 * way a payment changes state: callbacks, the customer's return and the janitor all end here.
 */
export async function syncAttempt(d: FlowDeps, attemptOrId: string | AttemptRow, opts: { poll?: boolean } = {}): Promise<PaymentRow> {
  let attempt = typeof attemptOrId === 'string' ? await getAttempt(d.store.db, attemptOrId) : attemptOrId;
  if (!attempt) throw new Error(`attempt ${String(attemptOrId)} not found`);
  const provider = d.providers.get(attempt.organization_id, attempt.provider);
  if (!provider) throw new Error(`provider ${attempt.provider} is not configured for ${attempt.organization_id}`);

  let observed: ObservedStatus & { providerRef?: string };
  try {
    observed = await provider.status(attemptRef(attempt));
  } catch (e) {
    if (e instanceof ProviderNotFoundError && attempt.state === 'registering') {
      // the registration never reached the provider: nothing can be paid on it
      const age = Date.now() - Date.parse(attempt.created_at);
      await updateAttempt(
        d.store.db,
        attempt.id,
        age > 120_000
          ? { state: 'failed', next_check_at: null, error: e.message }
          : { next_check_at: nextCheckAt(d, attempt), checks: attempt.checks + 1 },
      );
      return (await getPayment(d.store.db, attempt.payment_id))!;
    }
    throw e;
  }

  // an attempt past its lifetime (the QR, the form's session) or given up too long ago is cancelled
  // at the provider, so it cannot be paid later; money taken before the cancellation still counts
  const expireMs = d.config.janitor.expireAfterMinutes * 60_000;
  if (observed.state === 'pending' && (attemptExpired(attempt) || (opts.poll && Date.now() - Date.parse(attempt.created_at) > expireMs))) {
    const ref = { ...attemptRef(attempt), providerRef: attempt.provider_ref ?? observed.providerRef };
    await provider.cancel(ref).catch((e) => d.log.warn({ err: e, attemptId: attempt!.id }, 'cancelling a stale attempt failed'));
    observed = await provider.status(ref);
    // the cancellation shows as a decline or a reversal at the bank; for the shop it is an expiry
    if (observed.state === 'pending' || observed.state === 'declined' || (observed.state === 'reversed' && observed.paidAmount === 0)) {
      observed = { ...observed, state: 'expired', reason: 'истёк срок оплаты' };
    }
  }

  if (!attempt.provider_ref && observed.providerRef)
    return applyObserved(d, { ...attempt, provider_ref: observed.providerRef }, observed, { ...opts, learnedRef: true });
  return applyObserved(d, attempt, observed, opts);
}

/**
 * Records what the provider said and moves the payment (and its order) accordingly, in one
 * transaction. `recorded`: the callback that prompted it was already recorded with this very
 * answer. `learnedRef`: the attempt's provider_ref was learned by this check and is stored with it.
 */
export async function applyObserved(
  d: FlowDeps,
  attempt: AttemptRow,
  observed: ObservedStatus,
  opts: { poll?: boolean; learnedRef?: boolean; recorded?: boolean; event?: PaymentEventsTable } = {},
): Promise<PaymentRow> {
  const { store } = d;
  const raw = observed.raw ?? observed;
  const payment = await store.db.transaction().execute(async (trx) => {
    // what the gateway did that led to this answer (a cancellation), on the timeline with its outcome
    if (opts.event) await recordEvent(trx, opts.event);
    if (!opts.recorded) {
      await recordEvent(
        trx,
        paymentEventRow(attempt, {
          kind: 'status',
          dedupe_key: `status:${attempt.id}:${observed.state}:${observed.paidAmount}:${observed.refundedAmount}`,
          payload: raw,
          outcome: observed.state,
        }),
      );
    }
    const payment = (await getPayment(trx, attempt.payment_id))!;
    const moved = await moveByObserved(d, trx, payment, attempt, observed);
    if (!SETTLED.has(payment.status)) await recordConfirmedPayment(d, trx, attempt, moved, observed, opts.recorded ? 'callback' : 'status');

    const final = FINAL_STATES.has(observed.state);
    const checks = attempt.checks + (opts.poll ? 1 : 0);
    await updateAttempt(trx, attempt.id, {
      ...(opts.learnedRef ? { provider_ref: attempt.provider_ref } : {}),
      provider_state: observed.state,
      state: final ? 'closed' : 'active',
      checks,
      next_check_at: final ? null : nextCheckAt(d, { checks, expires_at: attempt.expires_at }),
    });
    return moved;
  });
  d.jobs.kick();
  return payment;
}

/** Applies the transitions the observation calls for; returns the payment as it now is. */
async function moveByObserved(
  d: FlowDeps,
  trx: Executor,
  payment: PaymentRow,
  attempt: AttemptRow,
  observed: ObservedStatus,
): Promise<PaymentRow> {
  let current = payment;
  // fields of its own rather than a child logger, which costs even when the line is filtered out
  const ids = { paymentId: payment.id, attemptId: attempt.id };
  // somebody else moved it between our read and our write (another process): theirs stands
  const lost = async () => (await getPayment(trx, payment.id))!;
  // at most two steps: a payment first seen already refunded is paid, then refunded
  for (let step = 0; step < 2; step++) {
    const t = decideTransition({ status: current.status, amount: current.amount, refundedAmount: current.refunded_amount }, observed);
    switch (t.kind) {
      case 'none':
        return current;
      case 'mismatch':
        d.log.error(
          { ...ids, observed: { state: observed.state, paidAmount: observed.paidAmount } },
          'provider amount differs from the payment',
        );
        await d.alerts.raise(
          trx,
          ALERTS.amountMismatch({
            paymentId: payment.id,
            attemptId: attempt.id,
            orderNumber: attempt.order_number,
            observed: observed.paidAmount,
            expected: payment.amount,
          }),
        );
        return current;
      case 'paid': {
        const set = { status: 'paid' as const, paid_at: nowIso(), status_reason: null };
        if (!(await movePayment(trx, payment.id, current.status, set))) return lost();
        const { before } = await addOrderMoney(trx, payment.order_id, { paid: payment.amount });
        d.log.info({ ...ids, late: t.late }, 'payment paid');
        // what the order held before this payment: all of it taken already makes this one a double payment,
        // part of it an overpayment by the excess
        const held = before.paid_amount - before.refunded_amount;
        const excess = held > 0 ? Math.min(payment.amount, held + payment.amount - before.total) : 0;
        const double = excess >= payment.amount;
        if (excess > 0) await overpaid(d, trx, payment, attempt, excess);
        else if (t.late || before.paid_amount >= before.total) {
          await d.alerts.raise(
            trx,
            ALERTS.extraPayment({
              paymentId: payment.id,
              orderId: payment.order_id,
              amount: payment.amount,
              late: Boolean(t.late),
              statusBefore: current.status,
            }),
          );
        }
        await notifySite(d, trx, payment, 'payment.paid', 'paid');
        // only one payment of an order reaches 1C: the order is paid there once
        if (!double) await queueDelivery(d, trx, { payment });
        await queuePaymentReceipt(d, trx, { ...payment, ...set });
        current = { ...current, ...set, updated_at: set.paid_at };
        continue;
      }
      case 'failed': {
        const set = { status: t.status, status_reason: t.reason ?? null };
        if (!(await movePayment(trx, payment.id, current.status, set))) return lost();
        d.log.info({ ...ids, status: t.status }, 'payment failed');
        await notifySite(d, trx, payment, `payment.${t.status}`, t.status);
        return { ...current, ...set, updated_at: nowIso() };
      }
      case 'refunded': {
        const delta = t.refundedAmount - current.refunded_amount;
        const set = { status: t.status, refunded_amount: t.refundedAmount };
        if (!(await movePayment(trx, payment.id, current.status, set))) return lost();
        await addOrderMoney(trx, payment.order_id, { refunded: delta });
        d.log.info({ ...ids, refunded: t.refundedAmount }, 'payment refunded');
        await notifySite(d, trx, payment, `payment.${t.status}`, `${t.status}:${t.refundedAmount}`);
        return { ...current, ...set, updated_at: nowIso() };
      }
    }
  }
  return current;
}

const SKIPPED_REFUND_TEXT = 'возврат двойной оплаты: сама оплата в 1С не передавалась, возврат тоже';

/**
 * The order was paid before this payment was (a double payment), or this payment takes it over its total
 * (an overpayment by `excess`). Support is told; a double payment stays out of 1C (where the order is paid
 * once), an overpayment goes there as usual. With `doublePayment: refund` what is too much goes back
 * through the provider, once: the refund is recorded with the move to paid, which happens once, and its
 * job has a stable key (and asks the bank what it has returned before every try). The payment's timeline
 * says which and why.
 */
async function overpaid(d: FlowDeps, trx: Executor, payment: PaymentRow, attempt: AttemptRow, excess: number): Promise<void> {
  const refunding = d.orgs.get(payment.organization_id)?.doublePayment === 'refund';
  const double = excess >= payment.amount;
  const order = (await getOrder(trx, payment.order_id))!;
  const first =
    (await listOrderPayments(trx, payment.order_id))
      .filter((p) => p.id !== payment.id && p.paid_at && (p.status === 'paid' || p.status === 'partially_refunded'))
      .sort((a, b) => a.paid_at!.localeCompare(b.paid_at!))[0] ?? null;
  const paidBy = first ? ` платежом ${first.id}` : '';
  if (double) {
    await setOnecDelivery(trx, 'payments', payment.id, {
      onec_status: 'skipped',
      onec_error: `двойная оплата заказа: в 1С не передаётся, там заказ оплачен${paidBy}`,
    });
  }
  if (refunding) {
    const refund = newRefundRow({ payment_id: payment.id, amount: excess, refunded_before: payment.refunded_amount });
    await insertRefund(trx, refund);
    await d.jobs.enqueue(trx, executeRefundJob, { refundId: refund.id }, { key: `double-refund:${payment.id}` });
  }
  const what = double
    ? `Заказ №${order.number} уже был оплачен${paidBy}: эта оплата на ${formatRub(payment.amount)} — двойная, в 1С она не передаётся. `
    : `С этой оплатой заказ №${order.number} оплачен сверх суммы на ${formatRub(excess)}; в 1С оплата передана как обычно. `;
  const note =
    what +
    (refunding
      ? `${double ? 'Она возвращается' : 'Лишнее возвращается'} покупателю автоматически (doublePayment: refund).`
      : `Поддержке отправлено уведомление; вернуть покупателю ${formatRub(excess)}: POST /api/v1/payments/${payment.id}/refunds.`);
  await recordEvent(
    trx,
    paymentEventRow(attempt, {
      kind: 'double_payment',
      dedupe_key: `double:${payment.id}`,
      payload: { note, excess, firstPaymentId: first?.id ?? null },
      outcome: refunding ? 'refund' : 'alert',
    }),
  );
  await d.alerts.raise(
    trx,
    ALERTS.doublePayment({
      paymentId: payment.id,
      orderId: order.id,
      orderNumber: order.number,
      amount: payment.amount,
      excess,
      firstPaymentId: first?.id ?? null,
      refunding,
    }),
  );
  d.log.warn({ paymentId: payment.id, firstPaymentId: first?.id, excess, refunding }, 'order paid over its total');
}

/** Asks the provider about an attempt and applies the answer (the janitor's checks; a callback the status API could not confirm at once). */
export const syncAttemptJob = defineJob('payment.sync', async (d: FlowDeps, { attemptId, poll }: { attemptId: string; poll?: boolean }) => {
  await syncAttempt(d, attemptId, { poll: poll ?? false });
});

/**
 * A state the status API confirmed for a callback, applied (the callback's row holds the answer). A
 * still-pending answer is asked again (that check also gives up an attempt past its lifetime).
 */
export const applyConfirmedJob = defineJob(
  'payment.apply',
  async (d: FlowDeps, { attemptId, observed }: { attemptId: string; observed: ObservedStatus }) => {
    const attempt = await getAttempt(d.store.db, attemptId);
    if (!attempt) throw new PermanentJobError(`attempt ${attemptId} not found`);
    if (observed.state === 'pending') await syncAttempt(d, attempt);
    else await applyObserved(d, attempt, observed, { recorded: true });
  },
);

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
      // a refund goes to 1C like any other, but not the refund of a payment 1C never got (a double payment)
      if (payment.onec_status === 'skipped')
        await setOnecDelivery(trx, 'refunds', refund.id, { onec_status: 'skipped', onec_error: SKIPPED_REFUND_TEXT });
      else await queueDelivery(d, trx, { refund: done, payment });
      await queueRefundReceipt(d, trx, done, payment);
    }
  });
  await applyObserved(d, attempt, observed);
});
