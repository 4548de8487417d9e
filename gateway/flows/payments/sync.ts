import { decideTransition, type ObservedStatus } from '../../domain/payment-state';
import { defineJob, PermanentJobError } from '../../jobs/types';
import { ProviderNotFoundError } from '../../ports';
import { nowIso, type Executor } from '../../store/db';
import { addOrderMoney } from '../../store/orders';
import { getAttempt, getPayment, movePayment, paymentEventRow, recordEvent, updateAttempt } from '../../store/payments';
import type { AttemptRow, PaymentRow } from '../../store/schema';
import { attemptExpired, attemptRef } from './attempts';
import type { FlowDeps } from '../deps';
import { recordConfirmedPayment } from '../history/operations';
import { queuePaymentReceipt } from '../fiscal/translator';
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
  opts: { poll?: boolean; learnedRef?: boolean; recorded?: boolean } = {},
): Promise<PaymentRow> {
  const { store } = d;
  const raw = observed.raw ?? observed;
  const payment = await store.db.transaction().execute(async (trx) => {
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
        if (t.late || before.paid_amount >= before.total) {
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
        await queueDelivery(d, trx, { payment });
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
