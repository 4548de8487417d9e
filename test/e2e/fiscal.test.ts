import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queuePaymentReceipt } from '../../gateway/flows/fiscal/translator';
import { getPayment } from '../../gateway/store/payments';
import { ADMIN_AUTH, eventually, orderBody, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';
import { describeWith } from '../helpers/services';
import { alerts, fields, newOrder, pay, paymentView, receiptRows, settledReceipts, shipOverCommerceML } from '../helpers/fiscal';

/**
 * Translator mode end to end: the gateway makes the receipts of the payments it relays, the
 * emulated ATOL Online registers them. Each sequence of 54-ФЗ is checked field by field, on the
 * payment's view and in what the register holds.
 */

const KETTLE = ['Чайник электрический', 150000, 2, 300000] as const;
const DELIVERY = ['Доставка', 50000, 1, 50000] as const;

/** The prepaid online order at 22 %: full_prepayment at payment, full_payment offsetting it at shipment, field by field. */
async function prepaidSequence(h: Harness): Promise<void> {
  const order = await newOrder(h);
  const payment = await pay(h, order.id);
  const [pre] = await settledReceipts(h, payment.id, 1);
  expect(fields(pre)).toEqual({
    operation: 'sell',
    kind: 'prepayment',
    status: 'done',
    total: 350000,
    items: [
      [KETTLE[0], 'full_prepayment', 1, 'vat122', KETTLE[1], KETTLE[2], KETTLE[3], 54098],
      [DELIVERY[0], 'full_prepayment', 4, 'vat122', DELIVERY[1], DELIVERY[2], DELIVERY[3], 9016],
    ],
    payments: [['cashless', 350000]],
  });
  expect(pre.client).toEqual({ email: 'ivan@example.com' });
  expect(pre.fiscal).toMatchObject({ fnNumber: '9999078902004792', registrationNumber: '0000000001002292', shiftNumber: 1 });
  expect(pre.fiscal.documentNumber).toBeGreaterThan(0);
  expect(pre.fiscal.documentAttribute).toBeGreaterThan(0);

  const notes = await shipOverCommerceML(h, order);
  expect(notes[0]).toMatch(/изменено заказов: 1, новых из 1С: 0, не найдено: 0/);
  const [, settlement] = await settledReceipts(h, payment.id, 2);
  expect(fields(settlement)).toEqual({
    operation: 'sell',
    kind: 'settlement',
    status: 'done',
    total: 350000,
    items: [
      [KETTLE[0], 'full_payment', 1, 'vat22', KETTLE[1], KETTLE[2], KETTLE[3], 54098],
      [DELIVERY[0], 'full_payment', 4, 'vat22', DELIVERY[1], DELIVERY[2], DELIVERY[3], 9016],
    ],
    payments: [['prepayment', 350000]],
  });
  expect(settlement.fiscal.documentNumber).toBeGreaterThan(pre.fiscal.documentNumber);

  // the register holds them as ATOL v5 has them: rubles, integers, strings
  const atDevice = h.atol!.snapshot().filter((d) => [pre.externalId, settlement.externalId].includes(d.externalId));
  expect(
    atDevice.map((d) => [
      d.operation,
      d.status,
      d.items.map((i: any) => [i.payment_method, i.payment_object, i.vat.type, i.sum, i.vat.sum]),
      d.payments,
    ]),
  ).toEqual([
    [
      'sell',
      'done',
      [
        ['full_prepayment', 1, 'vat122', 3000, 540.98],
        ['full_prepayment', 4, 'vat122', 500, 90.16],
      ],
      [{ type: 1, sum: 3500 }],
    ],
    [
      'sell',
      'done',
      [
        ['full_payment', 1, 'vat22', 3000, 540.98],
        ['full_payment', 4, 'vat22', 500, 90.16],
      ],
      [{ type: 2, sum: 3500 }],
    ],
  ]);
  expect(h.atol!.registrations(pre.externalId)).toBe(1);
  expect(h.atol!.registrations(settlement.externalId)).toBe(1);

  // 1C sends the same shipment again: nothing more
  await shipOverCommerceML(h, order);
  expect((await paymentView(h, payment.id)).receipts).toHaveLength(2);
}

describe('an online order paid by card, handed over later (22 %)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fiscal: {} });
  });
  afterAll(() => h?.close());

  test('full_prepayment at payment; full_payment offsetting it when 1C ships; both registered with their fiscal attributes', () =>
    prepaidSequence(h));

  test('refunds mirror what the buyer holds: part of the prepayment before shipment, the settlement after', async () => {
    const order = await newOrder(h);
    const payment = await pay(h, order.id);
    await settledReceipts(h, payment.id, 1);
    const r1 = await h.call(
      'POST',
      `/api/v1/payments/${payment.id}/refunds`,
      { amount: 170000 },
      { ...SITE_AUTH, 'idempotency-key': `r1-${payment.id}` },
    );
    expect(r1.status).toBe(201);
    const [, refund1] = await settledReceipts(h, payment.id, 2);
    expect(fields(refund1)).toEqual({
      operation: 'sell_refund',
      kind: 'refund',
      status: 'done',
      total: 170000,
      items: [
        [KETTLE[0], 'full_prepayment', 1, 'vat122', 150000, 1, 150000, 27049],
        [KETTLE[0], 'full_prepayment', 1, 'vat122', 20000, 1, 20000, 3607],
      ],
      payments: [['cashless', 170000]],
    });

    await shipOverCommerceML(h, order);
    const [, , settlement] = await settledReceipts(h, payment.id, 3);
    // what is left after the refund: 1 300 ₽ of the kettles and the delivery
    expect(fields(settlement)).toMatchObject({ kind: 'settlement', total: 180000, payments: [['prepayment', 180000]] });
    expect(settlement.items.map((i: any) => [i.paymentMethod, i.vat, i.price, i.quantity, i.amount])).toEqual([
      ['full_payment', 'vat22', 130000, 1, 130000],
      ['full_payment', 'vat22', 50000, 1, 50000],
    ]);

    await h.call(
      'POST',
      `/api/v1/payments/${payment.id}/refunds`,
      { amount: 180000 },
      { ...SITE_AUTH, 'idempotency-key': `r2-${payment.id}` },
    );
    const [, , , refund2] = await settledReceipts(h, payment.id, 4);
    expect(fields(refund2)).toMatchObject({
      operation: 'sell_refund',
      kind: 'refund',
      status: 'done',
      total: 180000,
      payments: [['cashless', 180000]],
    });
    expect(refund2.items.map((i: any) => [i.paymentMethod, i.paymentObject, i.vat, i.amount])).toEqual([
      ['full_payment', 1, 'vat22', 130000],
      ['full_payment', 4, 'vat22', 50000],
    ]);
    expect((await paymentView(h, payment.id)).status).toBe('refunded');
  });

  test('a prepayment of December 2025 refunded in 2026 is refunded at 20/120, as it was taken; handed over in 2026, the rest is at 22 %', async () => {
    const order = await newOrder(h, {
      items: [{ sku: 'k', name: 'Чайник', quantity: 2, price: 120000, amount: 240000, vat: 'vat20' }],
      total: 240000,
    });
    const p = await h.call(
      'POST',
      `/api/v1/orders/${order.id}/payments`,
      { method: 'card' },
      { ...SITE_AUTH, 'idempotency-key': `y2025-${order.id}` },
    );
    // the sale as the gateway recorded it on 20 December 2025, with its receipt made then
    const deps = h.gateway.deps;
    await h.gateway.store.db.transaction().execute(async (trx) => {
      await trx.updateTable('payments').set({ status: 'paid', paid_at: '2025-12-20T09:00:00.000Z' }).where('id', '=', p.body.id).execute();
      await trx.updateTable('orders').set({ paid_amount: 240000, status: 'paid' }).where('id', '=', order.id).execute();
      await queuePaymentReceipt(deps, trx, (await getPayment(trx, p.body.id))!);
    });
    deps.jobs.kick();
    // the bank has the money too
    const attempt = await h.gateway.store.db
      .selectFrom('payment_attempts')
      .selectAll()
      .where('payment_id', '=', p.body.id)
      .executeTakeFirstOrThrow();
    h.sber.complete(attempt.provider_ref!, 'paid');
    const [sale] = await settledReceipts(h, p.body.id, 1);
    expect(sale.date).toBe('2025-12-20T09:00:00.000Z');
    expect(fields(sale).items).toEqual([['Чайник', 'full_prepayment', 1, 'vat120', 120000, 2, 240000, 40000]]);

    const r = await h.call(
      'POST',
      `/api/v1/payments/${p.body.id}/refunds`,
      { amount: 120000 },
      { ...SITE_AUTH, 'idempotency-key': `y2025r-${order.id}` },
    );
    expect(r.status).toBe(201);
    const [, refund] = await settledReceipts(h, p.body.id, 2);
    expect(fields(refund)).toEqual({
      operation: 'sell_refund',
      kind: 'refund',
      status: 'done',
      total: 120000,
      items: [['Чайник', 'full_prepayment', 1, 'vat120', 120000, 1, 120000, 20000]],
      payments: [['cashless', 120000]],
    });

    await shipOverCommerceML(h, order);
    const [, , settlement] = await settledReceipts(h, p.body.id, 3);
    expect(fields(settlement)).toMatchObject({
      kind: 'settlement',
      items: [['Чайник', 'full_payment', 1, 'vat22', 120000, 1, 120000, 21639]],
      payments: [['prepayment', 120000]],
    });
  });

  test('a 2025 sale handed over at once and refunded in 2026: the refund is at 20 %', async () => {
    const order = await newOrder(h, {
      items: [{ sku: 'k', name: 'Фен', quantity: 1, price: 600000, amount: 600000, vat: 'vat20' }],
      total: 600000,
    });
    const p = await h.call(
      'POST',
      `/api/v1/orders/${order.id}/payments`,
      { method: 'card' },
      { ...SITE_AUTH, 'idempotency-key': `full2025-${order.id}` },
    );
    const deps = h.gateway.deps;
    await h.gateway.store.db.transaction().execute(async (trx) => {
      await trx.updateTable('orders').set({ shipped_at: '2025-11-01T09:00:00.000Z' }).where('id', '=', order.id).execute();
      await trx.updateTable('payments').set({ status: 'paid', paid_at: '2025-11-01T09:00:00.000Z' }).where('id', '=', p.body.id).execute();
      await trx.updateTable('orders').set({ paid_amount: 600000, status: 'paid' }).where('id', '=', order.id).execute();
      await queuePaymentReceipt(deps, trx, (await getPayment(trx, p.body.id))!);
    });
    deps.jobs.kick();
    const attempt = await h.gateway.store.db
      .selectFrom('payment_attempts')
      .selectAll()
      .where('payment_id', '=', p.body.id)
      .executeTakeFirstOrThrow();
    h.sber.complete(attempt.provider_ref!, 'paid');
    const [sale] = await settledReceipts(h, p.body.id, 1);
    expect(fields(sale)).toMatchObject({
      kind: 'full',
      items: [['Фен', 'full_payment', 1, 'vat20', 600000, 1, 600000, 100000]],
      payments: [['cashless', 600000]],
    });
    await h.call(
      'POST',
      `/api/v1/payments/${p.body.id}/refunds`,
      { amount: 250000 },
      { ...SITE_AUTH, 'idempotency-key': `full2025r-${order.id}` },
    );
    const [, refund] = await settledReceipts(h, p.body.id, 2);
    expect(fields(refund)).toEqual({
      operation: 'sell_refund',
      kind: 'refund',
      status: 'done',
      total: 250000,
      items: [['Фен', 'full_payment', 1, 'vat20', 250000, 1, 250000, 41667]],
      payments: [['cashless', 250000]],
    });
    expect(new Date(refund.date).getFullYear()).toBeGreaterThanOrEqual(2026);
  });

  test('a receipt that cannot be built never stops the shipment that asked for it: the order is shipped, support is alerted', async () => {
    const order = await newOrder(h);
    const payment = await pay(h, order.id);
    const [pre] = await settledReceipts(h, payment.id, 1);
    await h.gateway.store.db.updateTable('receipts').set({ body: '{"items": [' }).where('id', '=', pre.id).execute(); // a damaged record
    const notes = await shipOverCommerceML(h, order);
    expect(notes[0]).toMatch(/изменено заказов: 1/);
    expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body.onec.shipped).not.toBeNull();
    const alert = await eventually(async () => (await alerts(h)).find((a) => a.key === `receipt-build:shipment:${order.id}`));
    expect(alert).toMatchObject({ severity: 'critical', title: 'Чек не сформирован' });
  });

  test('bad input: no contact of the buyer, a name past 128 characters — a clear error, and no order', async () => {
    const count = async () =>
      Number(
        (
          await h.gateway.store.db
            .selectFrom('orders')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    const noContact = await h.call('POST', '/api/v1/orders', orderBody({ customer: { type: 'individual', name: 'Иван' } }), SITE_AUTH);
    expect(noContact.status).toBe(422);
    expect(noContact.body.error.code).toBe('receipt_requirements');
    expect(noContact.body.error.details).toEqual([{ path: 'customer.email', message: expect.stringMatching(/e-mail or phone/) }]);
    const longName = await h.call(
      'POST',
      '/api/v1/orders',
      orderBody({ items: [{ sku: 'a', name: 'Ч'.repeat(129), quantity: 1, price: 100, amount: 100, vat: 'vat22' }], total: 100 }),
      SITE_AUTH,
    );
    expect(longName.status).toBe(422);
    expect(longName.body.error.details).toEqual([
      { path: 'items[0].name', message: 'at most 128 characters on a receipt (tag 1030), the name has 129' },
    ]);
    expect(await count()).toBe(before);
  });

  test('weighed goods are registered in kilograms: the line’s unit (tag 2108) reaches the register; pieces by default', async () => {
    const order = await newOrder(h, {
      items: [
        { sku: 'cheese', name: 'Сыр «Российский», весовой', quantity: 1.25, price: 84000, amount: 105000, vat: 'vat10', measure: 11 },
        { sku: 'bag', name: 'Пакет', quantity: 1, price: 500, amount: 500, vat: 'vat22' },
      ],
      total: 105500,
    });
    const payment = await pay(h, order.id);
    const [pre] = await settledReceipts(h, payment.id, 1);
    expect(pre.status).toBe('done');
    expect(pre.items.map((i: any) => [i.name, i.quantity, i.measure])).toEqual([
      ['Сыр «Российский», весовой', 1.25, 11],
      ['Пакет', 1, 0],
    ]);
    const atRegister = h.atol!.snapshot().find((d) => d.externalId === pre.externalId)!;
    expect(atRegister.items.map((i: any) => [i.quantity, i.measure])).toEqual([
      [1.25, 11],
      [1, 0],
    ]);
  });

  test('a unit of measure ФФД 1.2 does not have is refused with its path, and no order is made', async () => {
    const before = (await h.gateway.store.db.selectFrom('orders').select('id').execute()).length;
    const r = await h.call(
      'POST',
      '/api/v1/orders',
      orderBody({ items: [{ sku: 'a', name: 'Товар', quantity: 1, price: 100, amount: 100, vat: 'vat22', measure: 5 }], total: 100 }),
      SITE_AUTH,
    );
    expect(r.status).toBe(422);
    expect(r.body.error.details).toEqual([{ path: 'items[0].measure', message: expect.stringContaining('11 кг') }]);
    expect((await h.gateway.store.db.selectFrom('orders').select('id').execute()).length).toBe(before);
  });

  test('a forged callback gets 403 and changes nothing', async () => {
    h.atol!.knobs.callbacks = 'off';
    h.atol!.knobs.processingMs = 60_000;
    try {
      const order = await newOrder(h);
      const payment = await pay(h, order.id);
      const sent = await eventually(async () => (await paymentView(h, payment.id)).receipts.find((r: any) => r.status === 'sent'));
      for (const q of [`receipt=${sent.id}&sig=${'0'.repeat(32)}`, `receipt=${sent.id}`, 'receipt=nope&sig=x']) {
        const r = await fetch(`${h.url}/callbacks/atol/main?${q}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ uuid: 'x', status: 'done' }),
        });
        expect(r.status).toBe(403);
      }
      expect(
        await h.gateway.store.db
          .selectFrom('jobs')
          .select('id')
          .where('name', '=', 'fiscal.check')
          .where('payload', 'like', `%${sent.id}%`)
          .execute(),
      ).toEqual([]);
      expect((await paymentView(h, payment.id)).receipts[0]).toMatchObject({ status: 'sent' });
    } finally {
      h.atol!.knobs.callbacks = 'on';
      h.atol!.knobs.processingMs = 50;
    }
  });
});

describeWith(['postgres', 'redis'], 'the same on PostgreSQL with BullMQ', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'postgres', redis: true, fiscal: {} });
  });
  afterAll(() => h?.close());

  test('full_prepayment at payment; full_payment offsetting it when 1C ships', () => prepaidSequence(h));
});

describe('handed over at the moment of payment', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fiscal: { configure: (f) => (f.rules = 'immediate') } });
  });
  afterAll(() => h?.close());

  test('one full_payment receipt; a later shipment adds none', async () => {
    const order = await newOrder(h);
    const payment = await pay(h, order.id);
    const [full] = await settledReceipts(h, payment.id, 1);
    expect(fields(full)).toEqual({
      operation: 'sell',
      kind: 'full',
      status: 'done',
      total: 350000,
      items: [
        [KETTLE[0], 'full_payment', 1, 'vat22', ...KETTLE.slice(1), 54098],
        [DELIVERY[0], 'full_payment', 4, 'vat22', ...DELIVERY.slice(1), 9016],
      ],
      payments: [['cashless', 350000]],
    });
    await shipOverCommerceML(h, order);
    await new Promise((r) => setTimeout(r, 300));
    expect((await paymentView(h, payment.id)).receipts).toHaveLength(1);
  });
});

describe('B2B with deferral', () => {
  const vector = { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001', email: 'buh@vector.example' };
  const deferred = { paymentTerms: { type: 'deferred', days: 14 } };
  const service = [{ sku: 'srv', name: 'Монтаж', quantity: 1, price: 350000, amount: 350000, vat: 'vat22', kind: 'service' }];
  // the bank transfer itself reaches the gateway as no acquirer's payment: its exemption at payment
  // time is a rule of the receipt rules (test/unit/receipt.test.ts); here, what shipment does
  test('a company expected to pay by bank transfer: no credit receipt at shipment', async () => {
    const h = await startHarness({ fiscal: {} });
    try {
      const order = await newOrder(h, { customer: vector, items: service, total: 350000, ...deferred });
      await shipOverCommerceML(h, order);
      await new Promise((r) => setTimeout(r, 300));
      expect(await receiptRows(h)).toEqual([]);
    } finally {
      await h.close();
    }
  });

  test('configured to register them: credit at shipment, credit_payment when the company pays; the buyer’s name and ИНН on both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    const file = join(dir, 'b2b.yaml');
    writeFileSync(
      file,
      readFileSync(join(__dirname, '../../mappings/receipts/default.yaml'), 'utf8').replace(
        'receiptForCompanyBankTransfer: false',
        'receiptForCompanyBankTransfer: true',
      ),
    );
    const h = await startHarness({ fiscal: { configure: (f) => (f.rules = file) } });
    try {
      const order = await newOrder(h, { customer: vector, items: service, total: 350000, ...deferred });
      await shipOverCommerceML(h, order);
      const credit = await eventually(async () => (await receiptRows(h)).find((r) => r.kind === 'credit' && r.status === 'done'), 10_000);
      const creditView = (await h.call('GET', `/api/v1/receipts/${credit.id}`, undefined, SITE_AUTH)).body;
      expect(fields(creditView)).toEqual({
        operation: 'sell',
        kind: 'credit',
        status: 'done',
        total: 350000,
        items: [['Монтаж', 'credit', 4, 'vat22', 350000, 1, 350000, 63115]],
        payments: [['credit', 350000]],
      });
      expect(creditView.client).toEqual({ email: 'buh@vector.example', name: 'ООО «Вектор»', inn: '7701234560' });

      const payment = await pay(h, order.id, 'card');
      const [cp] = await settledReceipts(h, payment.id, 1);
      expect(fields(cp)).toEqual({
        operation: 'sell',
        kind: 'credit_payment',
        status: 'done',
        total: 350000,
        items: [['Монтаж', 'credit_payment', 10, 'vat22', 350000, 1, 350000, 63115]],
        payments: [['cashless', 350000]],
      });
      expect(cp.client).toEqual({ email: 'buh@vector.example', name: 'ООО «Вектор»', inn: '7701234560' });
      const atDevice = h.atol!.snapshot().find((d) => d.externalId === cp.externalId)!;
      expect(h.atol!.documents.get(atDevice.uuid)!.body.receipt.client).toEqual({
        email: 'buh@vector.example',
        name: 'ООО «Вектор»',
        inn: '7701234560',
      });
    } finally {
      await h.close();
    }
  });

  test('an individual on deferral paying by card: credit at shipment, credit_payment at payment', async () => {
    const h = await startHarness({ fiscal: {}, overrides: (raw) => void (raw.organizations[0].deferredForIndividuals = true) });
    try {
      const order = await newOrder(h, { ...deferred });
      await shipOverCommerceML(h, order);
      const credit = await eventually(async () => (await receiptRows(h)).find((r) => r.kind === 'credit' && r.status === 'done'), 10_000);
      expect(fields((await h.call('GET', `/api/v1/receipts/${credit.id}`, undefined, SITE_AUTH)).body)).toMatchObject({
        kind: 'credit',
        items: [
          [KETTLE[0], 'credit', 1, 'vat22', ...KETTLE.slice(1), 54098],
          [DELIVERY[0], 'credit', 4, 'vat22', ...DELIVERY.slice(1), 9016],
        ],
        payments: [['credit', 350000]],
      });
      const payment = await pay(h, order.id);
      const [cp] = await settledReceipts(h, payment.id, 1);
      expect(fields(cp)).toMatchObject({
        kind: 'credit_payment',
        items: [
          [KETTLE[0], 'credit_payment', 10, 'vat22', ...KETTLE.slice(1), 54098],
          [DELIVERY[0], 'credit_payment', 10, 'vat22', ...DELIVERY.slice(1), 9016],
        ],
        payments: [['cashless', 350000]],
      });
    } finally {
      await h.close();
    }
  });
});

describe('shipment read from 1C over OData (the order’s status)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fiscal: {}, onec: { configuration: 'ut11' } });
  });
  afterAll(() => h?.close());

  test('the 1C order becomes Закрыт: the order is shipped and gets its full_payment receipt', async () => {
    const inBase = h.onec!.seedCustomerOrder({ number: 'OD-0001', total: 3500 });
    const order = await newOrder(h, { number: 'OD-0001' });
    const payment = await pay(h, order.id);
    await settledReceipts(h, payment.id, 1);
    await h.call('POST', '/api/v1/admin/schedules/fiscal.shipments/run', undefined, ADMIN_AUTH);
    expect((await paymentView(h, payment.id)).receipts).toHaveLength(1); // not shipped yet
    h.onec!.store.update('Document_ЗаказКлиента', String(inBase.Ref_Key), { Статус: 'Закрыт' });
    expect((await h.call('POST', '/api/v1/admin/schedules/fiscal.shipments/run', undefined, ADMIN_AUTH)).status).toBe(200);
    const [, settlement] = await settledReceipts(h, payment.id, 2);
    expect(fields(settlement)).toMatchObject({ kind: 'settlement', status: 'done', payments: [['prepayment', 350000]] });
    expect(settlement.items.map((i: any) => i.paymentMethod)).toEqual(['full_payment', 'full_payment']);
    const o = (await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body;
    expect(o.onec.status).toBe('Закрыт');
    expect(o.onec.shipped).not.toBeNull();
  });
});
