import { AppError, badRequest, forbidden, notFound } from '../../errors';
import { ExternalError, type InboundWebhook } from '../../ports';
import { findCallbackTarget, paymentEventRow, recordEvent } from '../../store/payments';
import type { PaymentEventsTable } from '../../store/schema';
import type { FlowDeps } from '../deps';
import type { ObservedStatus } from '../../domain/payment-state';
import { attemptRef } from './attempts';
import { applyConfirmedJob, syncAttemptJob } from './sync';
import { ALERTS } from '../alerts/catalog';

export type CallbackOutcome = 'confirmed' | 'duplicate' | 'deferred';

/**
 * A provider's notification: verify the signature, match it to the attempt, confirm with the
 * status API, then commit the callback with the confirmed state and the job that applies it (the
 * state machine, the site, 1C, receipts, the history), and answer. When the status API is down,
 * the callback and a job to confirm it later are committed instead. Either way an acknowledged
 * callback is on disk, and nothing changes on the callback's word alone.
 */
export async function handleCallback(
  d: FlowDeps,
  providerName: string,
  organizationId: string,
  req: InboundWebhook,
): Promise<CallbackOutcome> {
  if (!d.orgs.has(organizationId)) throw notFound('organization');
  const provider = d.providers.get(organizationId, providerName);
  if (!provider) throw notFound(`provider ${providerName} for this organization`);
  // made only for the lines below, which are rare: a child logger costs more than the rest of a callback's logging
  const log = () => d.log.child({ provider: providerName, organization: organizationId });

  const verified = provider.verifyWebhook(req);
  if (!verified.ok) {
    log().warn({ reason: verified.reason, refused: verified.refused }, 'callback rejected');
    if (verified.refused === 'signature') throw forbidden('invalid_signature', 'the callback signature does not verify');
    // signed, but not something the gateway takes: say what, not that the signature failed
    throw badRequest('invalid_callback', 'the callback is not one the gateway takes', [{ message: verified.reason }]);
  }
  const { event } = verified;
  // the attempt, its payment's amount and whether this callback was seen before, in one read
  const target = event.ref.providerRef
    ? await findCallbackTarget(d.store.db, organizationId, providerName, event.ref.providerRef, event.dedupeKey)
    : undefined;
  if (!target) {
    log().warn({ ref: event.ref }, 'callback for an unknown attempt');
    throw notFound('payment attempt');
  }
  const { attempt } = target;
  if (event.ref.orderNumber !== undefined && event.ref.orderNumber !== attempt.order_number) {
    log().warn({ attemptId: attempt.id }, 'callback order number does not match the attempt');
    throw forbidden('attempt_mismatch', 'the callback does not match the payment attempt');
  }
  const payment = { id: attempt.payment_id, amount: target.paymentAmount };
  // the callback as it came, with the provider's confirming answer when there is one
  const record = (confirmation?: unknown): PaymentEventsTable =>
    paymentEventRow(attempt, {
      kind: 'callback',
      dedupe_key: event.dedupeKey,
      payload:
        confirmation === undefined ? { method: req.method, params: req.params } : { method: req.method, params: req.params, confirmation },
      outcome: `${event.operation}:${event.success ? 1 : 0}`,
    });

  if (event.amount !== undefined && event.amount !== payment.amount) {
    await d.store.db.transaction().execute(async (trx) => {
      await recordEvent(trx, { ...record(), outcome: `rejected: amount ${event.amount} != ${payment.amount}` });
      await d.alerts.raise(
        trx,
        ALERTS.callbackAmount({ paymentId: payment.id, attemptId: attempt.id, amount: event.amount!, expected: payment.amount }),
      );
    });
    d.jobs.kick();
    throw new AppError(422, 'amount_mismatch', 'the callback amount differs from the payment', {
      details: [{ path: 'amount', message: `expected ${payment.amount}` }],
    });
  }

  if (target.seen) return 'duplicate';

  let observed: ObservedStatus;
  try {
    observed = await provider.status(attemptRef(attempt));
  } catch (e) {
    if (!(e instanceof ExternalError)) throw e;
    // the status API is unreachable: keep the callback and confirm later
    log().warn({ err: e, attemptId: attempt.id }, 'status API unavailable; confirmation queued');
    await d.store.db.transaction().execute(async (trx) => {
      await recordEvent(trx, record());
      await d.jobs.enqueue(trx, syncAttemptJob, { attemptId: attempt.id }, { key: `sync:callback:${event.dedupeKey}` });
    });
    d.jobs.kick();
    return 'deferred';
  }
  // the confirmed state and the job that applies it, in one commit: acknowledged means on disk
  await d.store.db.transaction().execute(async (trx) => {
    if (await recordEvent(trx, record(observed.raw ?? null))) {
      const { raw: _raw, ...state } = observed;
      // no key of its own: the event's unique key already makes it one job per callback
      await d.jobs.enqueue(trx, applyConfirmedJob, { attemptId: attempt.id, observed: state });
    }
  });
  d.jobs.kick();
  return 'confirmed';
}
