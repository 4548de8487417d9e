import type { ObservedStatus } from '../../domain/payment-state';
import { defineJob } from '../../jobs/types';
import { ExternalError, type CancelResult } from '../../ports';
import type { Executor } from '../../store/db';
import { getAttempt, openAttemptsOfOrder, paymentEventRow, recordEvent } from '../../store/payments';
import type { AttemptRow, PaymentEventsTable } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { attemptRef } from './attempts';
import { applyObserved } from './sync';

/**
 * One live payment per order: a new payment of an order gives up the attempts of its older pending
 * payments at their banks, by a job queued in the transaction that records the new payment.
 */
export async function queueSupersededCancels(d: FlowDeps, trx: Executor, orderId: string, byPaymentId: string): Promise<void> {
  for (const attempt of await openAttemptsOfOrder(trx, orderId, byPaymentId)) {
    await d.jobs.enqueue(trx, cancelSupersededJob, { attemptId: attempt.id, byPaymentId }, { key: `supersede:${attempt.id}` });
  }
}

type Outcome = { kind: 'cancelled' } | { kind: 'refused'; reason: string } | { kind: 'failed'; reason: string };

function noteOf(outcome: Outcome, byPaymentId: string): string {
  const why = `по заказу начат новый платёж ${byPaymentId}`;
  switch (outcome.kind) {
    case 'cancelled':
      return `Попытка отменена в банке: ${why}.`;
    case 'refused':
      return (
        `Банк не отменил попытку (${outcome.reason}), хотя ${why}. Платёж остаётся в ожидании; ` +
        'если покупатель его всё же оплатит, это двойная оплата заказа.'
      );
    case 'failed':
      return (
        `Не удалось отменить попытку в банке (${outcome.reason}), хотя ${why}. Платёж остаётся в ожидании и отменяется ` +
        'по истечении срока оплаты; если покупатель его всё же оплатит, это двойная оплата заказа.'
      );
  }
}

/**
 * Gives up an older attempt at its bank where the bank allows it (Sber decline.do for a registered,
 * unpaid order; T-Bank Cancel for NEW / FORM_SHOWED), then applies what the bank says of it: cancelled
 * as replaced, or still pending (refused: in 3-D Secure, held), or paid after all (a double payment).
 * A refusal or a bank that cannot be reached never touches the new payment; the older payment's
 * timeline says what happened. Unreachable: tried again on the job's schedule, then left to the janitor.
 */
export const cancelSupersededJob = defineJob(
  'payment.supersede',
  async (d: FlowDeps, { attemptId, byPaymentId }: { attemptId: string; byPaymentId: string }, ctx) => {
    const attempt = await getAttempt(d.store.db, attemptId);
    if (!attempt || (attempt.state !== 'active' && attempt.state !== 'registering')) return;
    const provider = d.providers.get(attempt.organization_id, attempt.provider);
    if (!provider) return;
    const ref = attemptRef(attempt);

    let result: CancelResult;
    try {
      result = await provider.cancel(ref);
    } catch (e) {
      if (!(e instanceof ExternalError)) throw e;
      await record(d, attempt, { kind: 'failed', reason: e.message }, byPaymentId);
      ctx.log.warn({ err: e, attemptId }, 'cancelling the older attempt at the bank failed');
      if (e.retryable && ctx.attempt < ctx.maxAttempts) throw e;
      return;
    }
    const outcome: Outcome = result.cancelled ? { kind: 'cancelled' } : { kind: 'refused', reason: result.reason };

    let observed: ObservedStatus;
    try {
      observed = await provider.status(ref);
    } catch (e) {
      if (!(e instanceof ExternalError)) throw e;
      // the cancellation stands; the janitor's next check applies the bank's state
      await record(d, attempt, outcome, byPaymentId);
      return;
    }
    const tookMoney = observed.paidAmount > 0 || observed.state === 'paid' || observed.state === 'refunded';
    if (result.cancelled && !tookMoney && observed.state !== 'authorized') {
      // the bank shows it declined (Sber) or cancelled (T-Bank): for the shop it was replaced
      observed = { ...observed, state: 'reversed', paidAmount: 0, reason: `заменён новым платежом ${byPaymentId}` };
    }
    await applyObserved(d, attempt, observed, { event: cancelEvent(attempt, outcome, byPaymentId) });
  },
  { maxAttempts: 5 },
);

function cancelEvent(attempt: AttemptRow, outcome: Outcome, byPaymentId: string): PaymentEventsTable {
  return paymentEventRow(attempt, {
    kind: 'cancel',
    // one line per outcome: a failure retried and then cancelled shows both
    dedupe_key: `cancel:${attempt.id}:${outcome.kind}`,
    payload: { note: noteOf(outcome, byPaymentId), byPaymentId, ...(outcome.kind === 'cancelled' ? {} : { reason: outcome.reason }) },
    outcome: outcome.kind,
  });
}

async function record(d: FlowDeps, attempt: AttemptRow, outcome: Outcome, byPaymentId: string): Promise<void> {
  await recordEvent(d.store.db, cancelEvent(attempt, outcome, byPaymentId));
}
