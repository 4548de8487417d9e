import { attemptOrderNumber, createPayment } from '../../../../gateway/flows/payments/create';
import { getPayment } from '../../../../gateway/store/payments';
import { flowBench, seedPayment, type FlowBench } from '../fakes';

/** The number of one attempt at the bank: Sber and T-Bank take at most 32 latin letters, digits, "-" and "_". */

test.each(['1001', 'A-12345678901234567890', 'SHOP-2026-12-04-0000000123456', 'ЗАКАЗ №ЗК-0000001', 'x'.repeat(200)])(
  'order %s → at most 32 characters of the allowed ones, the order number first, a random tail',
  (number) => {
    const a = attemptOrderNumber(number);
    expect(a.length).toBeLessThanOrEqual(32);
    expect(a).toMatch(/^[A-Za-z0-9_-]+-[0-9a-f]{10}$/);
    expect(attemptOrderNumber(number)).not.toBe(a);
  },
);

test('the order number leads, cut to 21 characters', () => {
  expect(attemptOrderNumber('SHOP-2026-12-04-0000000123456')).toMatch(/^SHOP-2026-12-04-00000-[0-9a-f]{10}$/);
  expect(attemptOrderNumber('№ 42 / 7')).toMatch(/^427-[0-9a-f]{10}$/);
  expect(attemptOrderNumber('Заказ')).toMatch(/^order-[0-9a-f]{10}$/);
});

describe('one live payment per order', () => {
  let b: FlowBench;
  beforeEach(async () => {
    b = await flowBench();
  });
  afterEach(() => b.close());

  test('a new payment on an order with a pending one is registered at once, and the older attempt’s cancellation is queued with it', async () => {
    const { order, payment: older, attempt } = await seedPayment(b, 150_000, 'md-old');

    const fresh = await createPayment(b.d, new Set(['main']), order.id, { method: 'card' });

    // the new payment is not held up by the older one: registered at the bank, its form ready
    expect(fresh).toMatchObject({ status: 'pending', amount: 150_000 });
    expect(b.provider.initiateCalls).toHaveLength(1);
    // the older attempt is given up at the bank by a job committed with the new payment (kill -9 safe)
    const jobs = await b.jobs('payment.supersede');
    expect(jobs.map((j) => JSON.parse(j.payload))).toEqual([{ attemptId: attempt.id, byPaymentId: fresh.id }]);
    expect(jobs[0].dedupe_key).toBe(`supersede:${attempt.id}`);
    // nothing is decided before the bank is asked
    expect((await getPayment(b.store.db, older.id))!.status).toBe('pending');
  });

  test('an order whose older payments are all final queues no cancellation', async () => {
    const { order, payment: older } = await seedPayment(b, 150_000, 'md-old');
    await b.store.db.updateTable('payments').set({ status: 'declined' }).where('id', '=', older.id).execute();
    await b.store.db.updateTable('payment_attempts').set({ state: 'closed' }).where('payment_id', '=', older.id).execute();

    await createPayment(b.d, new Set(['main']), order.id, { method: 'card' });

    expect(await b.jobs('payment.supersede')).toEqual([]);
  });
});
