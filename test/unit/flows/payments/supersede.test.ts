import { cancelSupersededJob } from '../../../../gateway/flows/payments/supersede';
import { loadPaymentView } from '../../../../gateway/flows/views';
import { ExternalError } from '../../../../gateway/ports';
import { getAttempt, getPayment } from '../../../../gateway/store/payments';
import type { JobRow } from '../../../../gateway/store/schema';
import { flowBench, seedOrderPayment, seedPayment, type FlowBench } from '../fakes';

/** The older attempt of an order that got a new payment, given up at the bank where the bank allows it. */

let b: FlowBench;
beforeEach(async () => {
  b = await flowBench();
});
afterEach(() => b.close());

const declinedByShop = { state: 'declined' as const, amount: 150_000, paidAmount: 0, refundedAmount: 0, reason: 'Заказ отменён магазином' };
const pending = { state: 'pending' as const, amount: 150_000, paidAmount: 0, refundedAmount: 0 };

async function setup() {
  const { order, payment: older, attempt } = await seedPayment(b, 150_000, 'md-old');
  const { payment: newer } = await seedOrderPayment(b, order, 'md-new');
  // queued by createPayment in real life; here by hand, with the payload it queues
  const row = { id: 'job-1', payload: JSON.stringify({ attemptId: attempt.id, byPaymentId: newer.id }), max_attempts: 5 } as JobRow;
  const job = (ctx: { attempt?: number; maxAttempts?: number } = {}) => b.run(cancelSupersededJob, row, ctx);
  const timeline = async () => (await loadPaymentView(b.store.db, (await getPayment(b.store.db, older.id))!)).events;
  return { order, older, newer, attempt, job, timeline };
}

test('the bank takes the cancellation: the older payment is cancelled as replaced, its timeline names the new payment', async () => {
  const { older, newer, attempt, job, timeline } = await setup();
  b.provider.statusOf.set('md-old', declinedByShop);

  await job();

  expect(b.provider.cancelCalls).toEqual([expect.objectContaining({ providerRef: 'md-old', orderNumber: attempt.order_number })]);
  const after = (await getPayment(b.store.db, older.id))!;
  expect(after.status).toBe('cancelled');
  expect(after.status_reason).toBe(`заменён новым платежом ${newer.id}`);
  expect((await getAttempt(b.store.db, attempt.id))!.state).toBe('closed');
  const cancel = (await timeline()).find((e) => e.kind === 'cancel');
  expect(cancel).toMatchObject({ outcome: 'cancelled', attemptId: attempt.id });
  expect(cancel!.note).toContain(`новый платёж ${newer.id}`);
  // the order is still waiting for the new payment
  expect((await getPayment(b.store.db, newer.id))!.status).toBe('pending');
});

test('the bank refuses (the customer is in 3-D Secure): the older payment stays pending and is still watched; the timeline says why', async () => {
  const { older, attempt, job, timeline } = await setup();
  b.provider.cancel_ = { cancelled: false, reason: 'decline.do: errorCode 7: Неверное состояние заказа' };
  b.provider.statusOf.set('md-old', pending);

  await job();

  expect((await getPayment(b.store.db, older.id))!.status).toBe('pending');
  const a = (await getAttempt(b.store.db, attempt.id))!;
  expect(a.state).toBe('active');
  expect(a.next_check_at).not.toBeNull();
  const cancel = (await timeline()).find((e) => e.kind === 'cancel');
  expect(cancel).toMatchObject({ outcome: 'refused' });
  expect(cancel!.note).toContain('Неверное состояние заказа');
  expect(cancel!.note).toContain('двойн');
});

test('the bank cannot be reached: the job tries again, the timeline says the cancellation failed, and the payment is left as it is', async () => {
  const { older, job, timeline } = await setup();
  b.provider.cancel_ = new ExternalError('sber', 'decline.do: HTTP 503', { retryable: true });

  await expect(job({ attempt: 1, maxAttempts: 5 })).rejects.toThrow('HTTP 503');
  expect((await timeline()).filter((e) => e.kind === 'cancel')).toEqual([expect.objectContaining({ outcome: 'failed' })]);
  expect((await getPayment(b.store.db, older.id))!.status).toBe('pending');

  // its last try gives up quietly: the attempt stays watched and is cancelled at its lifetime's end
  await expect(job({ attempt: 5, maxAttempts: 5 })).resolves.toBeUndefined();
  expect((await getPayment(b.store.db, older.id))!.status).toBe('pending');
});

test('the older attempt got paid before the cancellation: nothing is cancelled, the payment is paid (and handled as the double payment it is)', async () => {
  const { older, job } = await setup();
  b.provider.cancel_ = { cancelled: false, reason: 'decline.do: errorCode 7: Неверное состояние заказа' };
  b.provider.statusOf.set('md-old', { state: 'paid', amount: 150_000, paidAmount: 150_000, refundedAmount: 0 });

  await job();

  expect((await getPayment(b.store.db, older.id))!.status).toBe('paid');
});

test('an attempt already final is not sent to the bank again', async () => {
  const { attempt, job, timeline } = await setup();
  await b.store.db.updateTable('payment_attempts').set({ state: 'closed' }).where('id', '=', attempt.id).execute();

  await job();

  expect(b.provider.cancelCalls).toEqual([]);
  expect((await timeline()).filter((e) => e.kind === 'cancel')).toEqual([]);
});
