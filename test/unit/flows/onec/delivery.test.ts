import { sendAlertJob } from '../../../../gateway/flows/alerts/alerts';
import { deliverToOneCJob, queueDelivery, waitingSchedule } from '../../../../gateway/flows/onec/delivery';
import { OneCBases } from '../../../../gateway/flows/registries';
import { PermanentJobError } from '../../../../gateway/jobs/types';
import { OneCError } from '../../../../gateway/ports';
import { nowIso } from '../../../../gateway/store/db';
import { getPayment, getRefund, insertRefund, movePayment, newRefundRow } from '../../../../gateway/store/payments';
import { flowBench, seedPayment, type FlowBench } from '../fakes';

/** The delivery of paid payments and refunds to 1C with a fake base: the document it gets, and what a refusal leaves behind. */

let b: FlowBench;
beforeEach(async () => {
  b = await flowBench();
});
afterEach(() => b.close());

/** A paid payment whose delivery is queued, as the payment flow leaves it. */
/** Paid an hour ago: well within the hours a payment waits for its order to reach 1C. */
const PAID_AT = new Date(Date.now() - 3_600_000).toISOString();

async function paidAndQueued(providerRef = 'md-1') {
  const seeded = await seedPayment(b, 150_000, providerRef);
  await b.store.db
    .updateTable('payment_attempts')
    .set({ provider_state: 'paid', state: 'closed' })
    .where('id', '=', seeded.attempt.id)
    .execute();
  await movePayment(b.store.db, seeded.payment.id, 'pending', { status: 'paid', paid_at: PAID_AT });
  const payment = (await getPayment(b.store.db, seeded.payment.id))!;
  await b.store.db.transaction().execute((trx) => queueDelivery(b.d, trx, { payment }));
  const [job] = await b.jobs(deliverToOneCJob.name);
  return { ...seeded, payment, job };
}

test('a paid payment is delivered once as its document, and the payment shows 1C’s ref and number', async () => {
  const { payment, order, job } = await paidAndQueued();
  expect((await getPayment(b.store.db, payment.id))!.onec_status).toBe('pending');

  await b.run(deliverToOneCJob, job);

  expect(b.sink.delivered).toEqual([
    expect.objectContaining({
      kind: 'payment',
      marker: payment.id,
      organizationId: 'main',
      method: 'card',
      amount: 150_000,
      date: PAID_AT,
      provider: 'sber',
      providerRef: 'md-1',
      order: expect.objectContaining({ id: order.id, number: order.number, total: 150_000 }),
      customer: expect.objectContaining({ name: 'Иван Петров' }),
    }),
  ]);
  expect(await getPayment(b.store.db, payment.id)).toMatchObject({
    onec_status: 'delivered',
    onec_document: 'ref-1',
    onec_number: 'ОП-00001',
  });

  // the job again (a retry after a lost acknowledgement): nothing is written twice
  await b.run(deliverToOneCJob, job);
  expect(b.sink.delivered).toHaveLength(1);
});

test('a passing failure leaves the delivery pending with 1C’s reason and is retried; no alert before the last attempt', async () => {
  const { payment, job } = await paidAndQueued();
  b.sink.fail = new OneCError(
    'lock',
    'POST: lock conflict',
    'Документ или регистр в 1С заблокирован другим пользователем; повторим позже.',
  );

  await expect(b.run(deliverToOneCJob, job, { attempt: 1, maxAttempts: 12 })).rejects.toBe(b.sink.fail);

  expect(await getPayment(b.store.db, payment.id)).toMatchObject({
    onec_status: 'pending',
    onec_error: 'Документ или регистр в 1С заблокирован другим пользователем; повторим позже.',
  });
  expect(await b.jobs(sendAlertJob.name)).toHaveLength(0);

  b.sink.fail = null;
  await b.run(deliverToOneCJob, job, { attempt: 2, maxAttempts: 12 });
  expect(await getPayment(b.store.db, payment.id)).toMatchObject({ onec_status: 'delivered', onec_error: null });
});

test('a refusal that needs a person stops at once: the payment shows failed with the reason, support gets the Russian alert with the retry call', async () => {
  const { payment, order, job } = await paidAndQueued();
  b.sink.fail = new OneCError('rejected', 'HTTP 422', '1С отказалась записать документ: Поле "Контрагент" не заполнено');

  const e = await b.run(deliverToOneCJob, job).catch((x) => x);
  expect(e).toBeInstanceOf(PermanentJobError);

  expect(await getPayment(b.store.db, payment.id)).toMatchObject({
    onec_status: 'failed',
    onec_error: '1С отказалась записать документ: Поле "Контрагент" не заполнено',
  });
  const alerts = await b.jobs(sendAlertJob.name);
  expect(alerts).toHaveLength(1);
  const { alert } = JSON.parse(alerts[0].payload);
  expect(alert.title).toBe('Оплата не попала в 1С');
  expect(alert.text).toContain(`по заказу №${order.number}`);
  expect(alert.text).toContain('Поле "Контрагент" не заполнено');
  expect(alert.text).toContain(`POST /api/v1/admin/jobs/${job.id}/retry`);
  expect(alert.context).toMatchObject({ paymentId: payment.id, kind: 'rejected' });
});

test('a refund is delivered as a refund document pointing at its payment’s document', async () => {
  const { payment, job } = await paidAndQueued();
  await b.run(deliverToOneCJob, job);
  const refund = { ...newRefundRow({ payment_id: payment.id, amount: 50_000, refunded_before: 0 }), status: 'succeeded' as const };
  await insertRefund(b.store.db, refund);
  const delivered = (await getPayment(b.store.db, payment.id))!;
  await b.store.db
    .transaction()
    .execute((trx) => queueDelivery(b.d, trx, { refund: { ...refund, updated_at: nowIso() }, payment: delivered }));
  const refundJob = (await b.jobs(deliverToOneCJob.name)).find((j) => JSON.parse(j.payload).refundId === refund.id)!;

  await b.run(deliverToOneCJob, refundJob);

  expect(b.sink.delivered[1]).toMatchObject({
    kind: 'refund',
    marker: refund.id,
    amount: 50_000,
    original: { marker: payment.id, onecRef: 'ref-1' },
  });
  expect(await getRefund(b.store.db, refund.id)).toMatchObject({ onec_status: 'delivered', onec_document: 'ref-2' });
});

test('an organization without a 1C base queues nothing', async () => {
  const { payment } = await seedPayment(b, 150_000, 'md-9');
  const noBase = { ...b.d, onec: new OneCBases(new Map(), new Map()) };
  await b.store.db.transaction().execute((trx) => queueDelivery(noBase, trx, { payment }));
  expect(await b.jobs(deliverToOneCJob.name)).toHaveLength(0);
  expect((await getPayment(b.store.db, payment.id))!.onec_status).toBe('not_configured');
});

test('an order 1C does not have yet: the payment waits (no alert, the job ends); the waiting schedule queues it again and it is delivered', async () => {
  const { payment, job } = await paidAndQueued('md-20');
  b.sink.fail = new OneCError('order_missing', 'number not found', 'Заказ не найден в 1С.');

  await b.run(deliverToOneCJob, job);

  expect(await getPayment(b.store.db, payment.id)).toMatchObject({ onec_status: 'waiting_for_order' });
  expect((await getPayment(b.store.db, payment.id))!.onec_error).toMatch(/ещё не загружен в 1С/);
  expect(await b.jobs(sendAlertJob.name)).toHaveLength(0);

  b.sink.fail = null;
  await waitingSchedule(b.d)!.handler();
  const again = (await b.jobs(deliverToOneCJob.name)).filter((j) => j.id !== job.id);
  expect(again.map((j) => JSON.parse(j.payload))).toEqual([{ paymentId: payment.id }]);
  await b.run(deliverToOneCJob, again[0]);
  expect(await getPayment(b.store.db, payment.id)).toMatchObject({ onec_status: 'delivered' });
  // the same round queues nothing twice
  await waitingSchedule(b.d)!.handler();
  expect((await b.jobs(deliverToOneCJob.name)).length).toBe(2);
});

test('past onec.waitForOrder.hours the wait is given up: failed, alerted, the job dead for an admin retry', async () => {
  const { payment, job } = await paidAndQueued('md-21');
  await b.store.db
    .updateTable('payments')
    .set({ paid_at: new Date(Date.now() - 25 * 3_600_000).toISOString() })
    .where('id', '=', payment.id)
    .execute();
  b.sink.fail = new OneCError('order_missing', 'number not found', 'Заказ №1 не найден в 1С.');
  await expect(b.run(deliverToOneCJob, job)).rejects.toBeInstanceOf(PermanentJobError);
  expect(await getPayment(b.store.db, payment.id)).toMatchObject({ onec_status: 'failed', onec_error: 'Заказ №1 не найден в 1С.' });
  expect(await b.jobs(sendAlertJob.name)).toHaveLength(1);
});

test('a 500 that names no reason is tried again, then given up on the third attempt as a refusal', async () => {
  const { payment, job } = await paidAndQueued('md-22');
  b.sink.fail = new OneCError('internal', 'HTTP 500', '1С ответила внутренней ошибкой без описания (Внутренняя ошибка).');
  for (const attempt of [1, 2]) {
    const e = await b.run(deliverToOneCJob, job, { attempt, maxAttempts: 12 }).catch((x) => x);
    expect(e).toBe(b.sink.fail);
    expect((await getPayment(b.store.db, payment.id))!.onec_status).toBe('pending');
  }
  expect(await b.jobs(sendAlertJob.name)).toHaveLength(0);
  await expect(b.run(deliverToOneCJob, job, { attempt: 3, maxAttempts: 12 })).rejects.toBeInstanceOf(PermanentJobError);
  expect((await getPayment(b.store.db, payment.id))!.onec_status).toBe('failed');
  expect(await b.jobs(sendAlertJob.name)).toHaveLength(1);
});
