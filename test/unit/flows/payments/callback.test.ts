import { AppError } from '../../../../gateway/errors';
import { sendAlertJob } from '../../../../gateway/flows/alerts/alerts';
import { deliverToOneCJob } from '../../../../gateway/flows/onec/delivery';
import { handleCallback } from '../../../../gateway/flows/payments/callback';
import { applyConfirmedJob, syncAttemptJob } from '../../../../gateway/flows/payments/sync';
import { ExternalError, type InboundWebhook } from '../../../../gateway/ports';
import { getOrder } from '../../../../gateway/store/orders';
import { getPayment } from '../../../../gateway/store/payments';
import { flowBench, seedPayment, type FlowBench } from '../fakes';

/** handleCallback with a fake bank: what is on disk when the bank gets its answer, and what the apply job then does. */

const callback = (params: Record<string, string>): InboundWebhook => ({
  method: 'GET',
  params: { signature: 'ok', ...params },
  rawBody: Buffer.alloc(0),
  headers: {},
});

const paid = (amount: number) => ({
  state: 'paid' as const,
  amount,
  paidAmount: amount,
  refundedAmount: 0,
  paidAt: '2026-12-04T10:00:00.000Z',
});

let b: FlowBench;
beforeEach(async () => {
  b = await flowBench();
});
afterEach(() => b.close());

async function events() {
  return b.store.db.selectFrom('payment_events').selectAll().orderBy('received_at').execute();
}

test('a verified callback is confirmed with the status API and committed with the job that applies it; the payment moves only when that job runs', async () => {
  const { payment, attempt, order } = await seedPayment(b, 150_000, 'md-1');
  b.provider.status_ = paid(150_000);

  expect(await handleCallback(b.d, 'sber', 'main', callback({ ref: 'md-1', orderNumber: attempt.order_number }))).toBe('confirmed');

  // the bank was asked about this attempt, by its ids
  expect(b.provider.statusCalls).toEqual([expect.objectContaining({ providerRef: 'md-1', orderNumber: attempt.order_number })]);
  // acknowledged = on disk: the callback with the bank's answer, and one apply job carrying the confirmed state
  const [event] = await events();
  expect(event).toMatchObject({ kind: 'callback', attempt_id: attempt.id, outcome: 'deposited:1' });
  const [apply] = await b.jobs(applyConfirmedJob.name);
  expect(JSON.parse(apply.payload)).toEqual({ attemptId: attempt.id, observed: paid(150_000) });
  expect((await getPayment(b.store.db, payment.id))!.status).toBe('pending');

  await b.run(applyConfirmedJob, apply);

  const after = (await getPayment(b.store.db, payment.id))!;
  expect(after.status).toBe('paid');
  expect(after.onec_status).toBe('pending');
  expect((await getOrder(b.store.db, order.id))!).toMatchObject({ status: 'paid', paid_amount: 150_000 });
  // what follows a payment is queued with it: its document for 1C
  const [deliver] = await b.jobs(deliverToOneCJob.name);
  expect(JSON.parse(deliver.payload)).toEqual({ paymentId: payment.id });
});

test('the same callback again is a duplicate: no second question to the bank, no second job', async () => {
  const { attempt } = await seedPayment(b, 150_000, 'md-2');
  b.provider.status_ = paid(150_000);
  const cb = callback({ ref: 'md-2', orderNumber: attempt.order_number });
  expect(await handleCallback(b.d, 'sber', 'main', cb)).toBe('confirmed');
  expect(await handleCallback(b.d, 'sber', 'main', cb)).toBe('duplicate');
  expect(b.provider.statusCalls).toHaveLength(1);
  expect(await b.jobs(applyConfirmedJob.name)).toHaveLength(1);
  expect(await events()).toHaveLength(1);
});

test('a callback whose signature does not verify is refused with 403 and changes nothing', async () => {
  const { payment } = await seedPayment(b, 150_000, 'md-3');
  const e = await handleCallback(b.d, 'sber', 'main', { ...callback({ ref: 'md-3' }), params: { ref: 'md-3', signature: 'forged' } }).catch(
    (x) => x,
  );
  expect(e).toBeInstanceOf(AppError);
  expect(e).toMatchObject({ status: 403, code: 'invalid_signature' });
  expect(b.provider.statusCalls).toHaveLength(0);
  expect(await events()).toHaveLength(0);
  expect(await b.jobs()).toHaveLength(0);
  expect((await getPayment(b.store.db, payment.id))!.status).toBe('pending');
});

test('a callback for an attempt the gateway does not have is 404, and one naming another order number 403; neither changes anything', async () => {
  await seedPayment(b, 150_000, 'md-4');
  await expect(handleCallback(b.d, 'sber', 'main', callback({ ref: 'md-unknown' }))).rejects.toMatchObject({ status: 404 });
  await expect(handleCallback(b.d, 'sber', 'main', callback({ ref: 'md-4', orderNumber: 'someone-else' }))).rejects.toMatchObject({
    status: 403,
    code: 'attempt_mismatch',
  });
  await expect(handleCallback(b.d, 'sber', 'other-org', callback({ ref: 'md-4' }))).rejects.toMatchObject({ status: 404 });
  expect(b.provider.statusCalls).toHaveLength(0);
  expect(await events()).toHaveLength(0);
  expect(await b.jobs()).toHaveLength(0);
});

test('a callback naming another amount is refused with 422: recorded as rejected, support alerted in Russian, the payment untouched', async () => {
  const { payment, attempt } = await seedPayment(b, 150_000, 'md-5');
  const e = await handleCallback(b.d, 'sber', 'main', callback({ ref: 'md-5', orderNumber: attempt.order_number, amount: '100' })).catch(
    (x) => x,
  );
  expect(e).toMatchObject({ status: 422, code: 'amount_mismatch' });
  expect(b.provider.statusCalls).toHaveLength(0);
  const [event] = await events();
  expect(event.outcome).toBe('rejected: amount 100 != 150000');
  const [alert] = await b.jobs(sendAlertJob.name);
  expect(JSON.parse(alert.payload).alert).toMatchObject({
    severity: 'critical',
    title: 'Уведомление банка с чужой суммой',
    context: { paymentId: payment.id, attemptId: attempt.id },
  });
  expect(await b.jobs(applyConfirmedJob.name)).toHaveLength(0);
  expect((await getPayment(b.store.db, payment.id))!.status).toBe('pending');
});

test('when the status API does not answer, the callback is kept with a job that confirms it later, and nothing moves on its word', async () => {
  const { payment, attempt } = await seedPayment(b, 150_000, 'md-6');
  b.provider.status_ = new ExternalError('sber', 'getOrderStatusExtended.do: no answer in 15000 ms', { retryable: true });

  expect(await handleCallback(b.d, 'sber', 'main', callback({ ref: 'md-6', orderNumber: attempt.order_number }))).toBe('deferred');

  expect(await events()).toHaveLength(1);
  expect(await b.jobs(applyConfirmedJob.name)).toHaveLength(0);
  const [sync] = await b.jobs(syncAttemptJob.name);
  expect(JSON.parse(sync.payload)).toEqual({ attemptId: attempt.id });
  expect((await getPayment(b.store.db, payment.id))!.status).toBe('pending');

  // the bank answers again: the queued check confirms and applies it
  b.provider.status_ = paid(150_000);
  await b.run(syncAttemptJob, sync);
  expect((await getPayment(b.store.db, payment.id))!.status).toBe('paid');
});

test('a confirmed state still pending is asked about again by the apply job, not applied', async () => {
  const { payment, attempt } = await seedPayment(b, 150_000, 'md-7');
  b.provider.status_ = { state: 'pending', amount: 150_000, paidAmount: 0, refundedAmount: 0 };
  expect(await handleCallback(b.d, 'sber', 'main', callback({ ref: 'md-7', orderNumber: attempt.order_number }))).toBe('confirmed');
  const [apply] = await b.jobs(applyConfirmedJob.name);
  b.provider.status_ = paid(150_000);
  await b.run(applyConfirmedJob, apply);
  expect(b.provider.statusCalls).toHaveLength(2);
  expect((await getPayment(b.store.db, payment.id))!.status).toBe('paid');
});

test('a signed callback the gateway does not take is 400 with the reason, never called a signature failure; nothing changes', async () => {
  const { payment } = await seedPayment(b, 150_000, 'md-8');
  const e = await handleCallback(b.d, 'sber', 'main', callback({ ref: 'md-8', operation: 'mystery' })).catch((x) => x);
  expect(e).toMatchObject({ status: 400, code: 'invalid_callback', details: [{ message: 'unknown operation mystery' }] });
  expect(e.message).not.toMatch(/signature/);
  expect(await events()).toHaveLength(0);
  expect(await b.jobs()).toHaveLength(0);
  expect((await getPayment(b.store.db, payment.id))!.status).toBe('pending');
});

test('what is stored of a callback and of the bank’s answer keeps no cardholder data', async () => {
  const { attempt } = await seedPayment(b, 150_000, 'md-9');
  b.provider.status_ = {
    ...paid(150_000),
    raw: { orderStatus: 2, cardAuthInfo: { maskedPan: '220220**0000', expiration: '203012', cardholderName: 'CARD HOLDER' } },
  };
  const cb = callback({ ref: 'md-9', orderNumber: attempt.order_number });
  cb.params.Pan = '2200700012345678';
  cb.params.ExpDate = '1230';
  expect(await handleCallback(b.d, 'sber', 'main', cb)).toBe('confirmed');
  const [event] = await events();
  expect(event.payload).not.toMatch(/CARD HOLDER|203012|1230|2200700012345678/);
  expect(JSON.parse(event.payload)).toMatchObject({
    params: { Pan: '220070******5678' },
    confirmation: { cardAuthInfo: { maskedPan: '220220**0000' } },
  });
});
