import { sendAlertJob } from '../../../../gateway/flows/alerts/alerts';
import { deliverToOneCJob } from '../../../../gateway/flows/onec/delivery';
import { executeRefundJob } from '../../../../gateway/flows/payments/refunds';
import { applyObserved } from '../../../../gateway/flows/payments/sync';
import { loadPaymentView } from '../../../../gateway/flows/views';
import type { Alert } from '../../../../gateway/ports';
import { getOrder } from '../../../../gateway/store/orders';
import { getPayment, paymentRefunds } from '../../../../gateway/store/payments';
import { flowBench, seedOrderPayment, seedPayment, type FlowBench } from '../fakes';

/** Two payments of one order both paid: the later one is a double payment, refunded or alerted as the organization says. */

let b: FlowBench;
beforeEach(async () => {
  b = await flowBench();
});
afterEach(() => b.close());

const paid = (amount: number) => ({ state: 'paid' as const, amount, paidAmount: amount, refundedAmount: 0 });

async function bothPaid() {
  const first = await seedPayment(b, 150_000, 'md-1');
  const second = await seedOrderPayment(b, first.order, 'md-2');
  await applyObserved(b.d, first.attempt, paid(150_000));
  await applyObserved(b.d, second.attempt, paid(150_000));
  return { order: first.order, first: first.payment, second: second.payment, secondAttempt: second.attempt };
}

const payloads = async (name: string) => (await b.jobs(name)).map((j) => JSON.parse(j.payload));
const alerts = async () => (await payloads(sendAlertJob.name)).map((p) => p.alert as Alert);

test('default (alert): the later payment is paid, kept out of 1C, support is alerted in Russian, and its timeline says why', async () => {
  const { order, first, second } = await bothPaid();

  const later = (await getPayment(b.store.db, second.id))!;
  expect(later.status).toBe('paid');
  // only the first reaches 1C as a payment
  expect(await payloads(deliverToOneCJob.name)).toEqual([{ paymentId: first.id }]);
  expect(later.onec_status).toBe('skipped');
  expect(later.onec_error).toContain('двойная оплата');
  // nothing is returned on its own
  expect(await paymentRefunds(b.store.db, second.id)).toEqual([]);
  const alert = (await alerts()).find((a) => a.key === `double-payment:${second.id}`);
  expect(alert).toMatchObject({ severity: 'critical', title: 'Двойная оплата заказа' });
  expect(alert!.text).toContain(first.id);
  expect(alert!.text).toContain(`POST /api/v1/payments/${second.id}/refunds`);
  const event = (await loadPaymentView(b.store.db, later)).events.find((e) => e.kind === 'double_payment');
  expect(event).toMatchObject({ outcome: 'alert' });
  expect(event!.note).toContain(first.id);
  // the money is all there in the order's books
  expect((await getOrder(b.store.db, order.id))!.paid_amount).toBe(300_000);
});

test('refund: the later payment is refunded through the bank exactly once; the refund stays out of 1C like its payment', async () => {
  b.d.orgs.get('main')!.doublePayment = 'refund';
  const { first, second, secondAttempt } = await bothPaid();
  // the bank's answer seen again (a re-sent callback, the janitor): no second refund
  await applyObserved(b.d, secondAttempt, paid(150_000));

  const [refund] = await paymentRefunds(b.store.db, second.id);
  expect(await paymentRefunds(b.store.db, second.id)).toHaveLength(1);
  expect(refund).toMatchObject({ amount: 150_000, status: 'pending' });
  const jobs = await b.jobs(executeRefundJob.name);
  expect(jobs.map((j) => j.dedupe_key)).toEqual([`double-refund:${second.id}`]);
  expect((await alerts()).some((a) => a.key === `double-payment:${second.id}`)).toBe(true);
  const later = (await getPayment(b.store.db, second.id))!;
  expect((await loadPaymentView(b.store.db, later)).events.find((e) => e.kind === 'double_payment')).toMatchObject({
    outcome: 'refund',
  });

  b.provider.statusOf.set('md-2', paid(150_000));
  await b.run(executeRefundJob, jobs[0]);
  expect(b.provider.refundCalls).toEqual([{ ref: expect.objectContaining({ providerRef: 'md-2' }), amount: 150_000 }]);
  expect((await paymentRefunds(b.store.db, second.id))[0].status).toBe('succeeded');
  // 1C has the first payment only, and no refund of a payment it never got
  expect(await payloads(deliverToOneCJob.name)).toEqual([{ paymentId: first.id }]);
  expect((await paymentRefunds(b.store.db, second.id))[0].onec_status).toBe('skipped');

  // the job run again (a retry after a lost acknowledgement) refunds nothing more
  await b.run(executeRefundJob, jobs[0]);
  expect(b.provider.refundCalls).toHaveLength(1);
});

test('one payment of an order is no double payment: delivered to 1C, no alert, nothing refunded', async () => {
  b.d.orgs.get('main')!.doublePayment = 'refund';
  const { payment, attempt } = await seedPayment(b, 150_000, 'md-1');
  await applyObserved(b.d, attempt, paid(150_000));
  expect(await payloads(deliverToOneCJob.name)).toEqual([{ paymentId: payment.id }]);
  expect(await paymentRefunds(b.store.db, payment.id)).toEqual([]);
  expect(await alerts()).toEqual([]);
});

test('paid over the order’s total by part of a payment: the payment reaches 1C, only the excess is returned (refund), and that refund goes to 1C like any other', async () => {
  b.d.orgs.get('main')!.doublePayment = 'refund';
  const first = await seedPayment(b, 150_000, 'md-1');
  // 50 000 of the order was paid elsewhere (the front desk) before the site's payment went through
  await b.store.db.updateTable('orders').set({ paid_amount: 50_000 }).where('id', '=', first.order.id).execute();
  await applyObserved(b.d, first.attempt, paid(150_000));

  expect(await payloads(deliverToOneCJob.name)).toEqual([{ paymentId: first.payment.id }]);
  const [refund] = await paymentRefunds(b.store.db, first.payment.id);
  expect(refund).toMatchObject({ amount: 50_000, status: 'pending' });
  const alert = (await alerts()).find((a) => a.key === `double-payment:${first.payment.id}`)!;
  expect(alert.title).toBe('Переплата по заказу');
  expect(alert.text).toContain('500,00');
  const view = await loadPaymentView(b.store.db, (await getPayment(b.store.db, first.payment.id))!);
  expect(view.events.find((e) => e.kind === 'double_payment')).toMatchObject({ outcome: 'refund', note: expect.stringContaining('сверх') });

  const [job] = await b.jobs(executeRefundJob.name);
  b.provider.statusOf.set('md-1', paid(150_000));
  await b.run(executeRefundJob, job);
  expect(b.provider.refundCalls).toEqual([{ ref: expect.objectContaining({ providerRef: 'md-1' }), amount: 50_000 }]);
  expect(await payloads(deliverToOneCJob.name)).toEqual([{ paymentId: first.payment.id }, { refundId: refund.id }]);
});
