import { eventually, ONEC_KEY, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';
import { fields, newOrder, pay, paymentView, receiptRows } from '../helpers/fiscal';

/**
 * Registrar mode: the site or 1C decides the receipt and sends it to POST /api/v1/receipts; the
 * gateway checks it, executes it at the register the request or the routes choose, once per the
 * caller's externalId, and makes no receipts of its own.
 */

const ONEC = { authorization: `Bearer ${ONEC_KEY}` };

const body = (over: Record<string, unknown> = {}) => ({
  externalId: `1c-${Math.random().toString(36).slice(2, 10)}`,
  operation: 'sell',
  date: '2026-12-01T12:00:00+03:00',
  client: { email: 'ivan@example.com' },
  items: [
    {
      name: 'Кофемашина',
      price: 4999900,
      quantity: 1,
      amount: 4999900,
      vat: 'vat22',
      paymentMethod: 'full_payment',
      paymentObject: 'goods',
    },
    {
      name: 'Зёрна, кг',
      price: 189000,
      quantity: 1.5,
      amount: 283500,
      vat: 'vat10',
      paymentMethod: 'full_payment',
      paymentObject: 'goods',
      measure: 11,
    },
  ],
  payments: [{ type: 'cashless', amount: 5283400 }],
  total: 5283400,
  ...over,
});

describe('registrar mode', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      fiscal: { driver: { taskMs: 5 }, configure: (f) => (f.mode = 'registrar') },
      overrides: (raw) => {
        raw.organizations[0].onec = { ...raw.organizations[0].onec, keys: [ONEC_KEY] };
      },
    });
  });
  afterAll(() => h?.close());

  const count = async () => (await receiptRows(h)).length;

  test('the site sends a receipt: checked, registered, its fiscal attributes on GET; the same externalId again is the same receipt', async () => {
    const b = body();
    const r = await h.call('POST', '/api/v1/receipts', b, SITE_AUTH);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: 'registrar', operation: 'sell', status: 'pending', register: 'web', total: 5283400 });
    expect(fields(r.body).items).toEqual([
      ['Кофемашина', 'full_payment', 1, 'vat22', 4999900, 1, 4999900, 901621],
      ['Зёрна, кг', 'full_payment', 1, 'vat10', 189000, 1.5, 283500, 25773],
    ]);
    const done = await eventually(async () => {
      const v = (await h.call('GET', `/api/v1/receipts/${r.body.id}`, undefined, SITE_AUTH)).body;
      return v.status === 'done' && v;
    });
    expect(done.fiscal).toMatchObject({ fnNumber: '9999078902004792', registrationNumber: '0000000001002292' });
    const atDevice = h.atol!.snapshot().find((d) => d.externalId === r.body.externalId)!;
    expect(atDevice.items.map((i: any) => [i.price, i.quantity, i.sum, i.measure, i.vat])).toEqual([
      [49999, 1, 49999, 0, { type: 'vat22', sum: 9016.21 }],
      [1890, 1.5, 2835, 11, { type: 'vat10', sum: 257.73 }],
    ]);
    expect(atDevice.payments).toEqual([{ type: 1, sum: 52834 }]);
    expect(h.atol!.documents.get(atDevice.uuid)!.body.timestamp).toBe('01.12.2026 12:00:00');

    const again = await h.call('POST', '/api/v1/receipts', b, SITE_AUTH);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(r.body.id);
    const other = await h.call(
      'POST',
      '/api/v1/receipts',
      { ...b, total: 4999900, items: [b.items[0]], payments: [{ type: 'cashless', amount: 4999900 }] },
      SITE_AUTH,
    );
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('external_id_conflict');
    expect(h.atol!.registrations(r.body.externalId)).toBe(1);
  });

  test('1C sends one with its key, for the shop’s point of sale: printed by the local register; a refund of it too', async () => {
    const sale = await h.call('POST', '/api/v1/receipts', body({ pointOfSale: 'shop', client: { phone: '+7 900 123-45-67' } }), ONEC);
    expect(sale.status).toBe(201);
    expect(sale.body.register).toBe('shop');
    expect(sale.body.client).toEqual({ phone: '+79001234567' });
    await eventually(async () => (await h.call('GET', `/api/v1/receipts/${sale.body.id}`, undefined, ONEC)).body.status === 'done');
    const refund = await h.call('POST', '/api/v1/receipts', body({ pointOfSale: 'shop', operation: 'sell_refund' }), ONEC);
    await eventually(async () => (await h.call('GET', `/api/v1/receipts/${refund.body.id}`, undefined, ONEC)).body.status === 'done');
    expect(
      h.driver!.printed.map((p) => [
        p.type,
        p.task.clientInfo.emailOrPhone,
        p.task.items.map((i: any) => [i.paymentMethod, i.paymentObject, i.measurementUnit]),
      ]),
    ).toEqual([
      [
        'sell',
        '+79001234567',
        [
          ['fullPayment', 'commodity', 0],
          ['fullPayment', 'commodity', 11],
        ],
      ],
      [
        'sellReturn',
        'ivan@example.com',
        [
          ['fullPayment', 'commodity', 0],
          ['fullPayment', 'commodity', 11],
        ],
      ],
    ]);
  });

  test('a B2B receipt with the buyer’s name and ИНН; a correction with its basis', async () => {
    const b2b = await h.call(
      'POST',
      '/api/v1/receipts',
      body({ client: { email: 'buh@vector.example', name: 'ООО «Вектор»', inn: '7701234560' } }),
      SITE_AUTH,
    );
    expect(b2b.status).toBe(201);
    const corr = await h.call(
      'POST',
      '/api/v1/receipts',
      body({ operation: 'sell_correction', correction: { type: 'self', baseDate: '2026-11-20' } }),
      SITE_AUTH,
    );
    expect(corr.status).toBe(201);
    await eventually(async () => (await h.call('GET', `/api/v1/receipts/${corr.body.id}`, undefined, SITE_AUTH)).body.status === 'done');
    const doc = [...h.atol!.documents.values()].find((d) => d.externalId === corr.body.externalId)!;
    expect(doc.operation).toBe('sell_correction');
    expect(doc.body.correction.correction_info).toEqual({ type: 'self', base_date: '20.11.2026' });
    const b2bDoc = [...h.atol!.documents.values()].find((d) => d.externalId === b2b.body.externalId)!;
    expect(b2bDoc.body.receipt.client).toEqual({ email: 'buh@vector.example', name: 'ООО «Вектор»', inn: '7701234560' });
  });

  test.each<[string, Record<string, unknown>, number, string, string]>([
    [
      'lines that do not add up to the payment',
      { total: 5283401, payments: [{ type: 'cashless', amount: 5283401 }] },
      422,
      'receipt_invalid',
      'total',
    ],
    ['payments that do not cover the total', { payments: [{ type: 'cashless', amount: 100 }] }, 422, 'receipt_invalid', 'payments'],
    [
      'sum ≠ price × quantity',
      {
        items: [
          {
            name: 'Кофемашина',
            price: 4999900,
            quantity: 2,
            amount: 4999900,
            vat: 'vat22',
            paymentMethod: 'full_payment',
            paymentObject: 'goods',
          },
        ],
        total: 4999900,
        payments: [{ type: 'cashless', amount: 4999900 }],
      },
      422,
      'receipt_invalid',
      'items[0].amount',
    ],
    [
      'an unknown VAT code',
      {
        items: [
          { name: 'Кофемашина', price: 100, quantity: 1, amount: 100, vat: 'vat18', paymentMethod: 'full_payment', paymentObject: 'goods' },
        ],
        total: 100,
        payments: [{ type: 'cashless', amount: 100 }],
      },
      422,
      'validation_failed',
      'items[0].vat',
    ],
    ['no contact of the buyer', { client: {} }, 422, 'receipt_invalid', 'client'],
    [
      'an item name past 128 characters',
      {
        items: [
          {
            name: 'Ж'.repeat(129),
            price: 100,
            quantity: 1,
            amount: 100,
            vat: 'vat22',
            paymentMethod: 'full_payment',
            paymentObject: 'goods',
          },
        ],
        total: 100,
        payments: [{ type: 'cashless', amount: 100 }],
      },
      422,
      'validation_failed',
      'items[0].name',
    ],
    ['a correction without its basis', { operation: 'sell_correction' }, 422, 'receipt_invalid', 'correction'],
    ['an unknown point of sale', { pointOfSale: 'mars' }, 422, 'unknown_point_of_sale', 'pointOfSale'],
    ['a payment of another organization', { paymentId: '00000000-0000-7000-8000-000000000000' }, 422, 'unknown_payment', 'paymentId'],
  ])('%s → a clear error, nothing stored, nothing sent', async (_name, over, status, code, path) => {
    const before = await count();
    const sent = h.atol!.stats.documents + h.atol!.stats.rejected;
    const r = await h.call('POST', '/api/v1/receipts', body(over), SITE_AUTH);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(await count()).toBe(before);
    expect(h.atol!.stats.documents + h.atol!.stats.rejected).toBe(sent);
  });

  test('no key, a wrong key: 401', async () => {
    expect((await h.call('POST', '/api/v1/receipts', body(), {})).status).toBe(401);
    expect((await h.call('POST', '/api/v1/receipts', body(), { authorization: 'Bearer not-a-key-not-a-key' })).status).toBe(401);
  });

  test('the gateway makes no receipts of its own for the payments it relays', async () => {
    const payment = await pay(h, (await newOrder(h)).id);
    await new Promise((r) => setTimeout(r, 300));
    expect((await paymentView(h, payment.id)).receipts).toEqual([]);
  });

  test('a receipt sent for a payment is listed on it', async () => {
    const payment = await pay(h, (await newOrder(h)).id);
    const r = await h.call('POST', '/api/v1/receipts', body({ paymentId: payment.id }), SITE_AUTH);
    expect(r.status).toBe(201);
    const view = await eventually(async () => {
      const v = await paymentView(h, payment.id);
      return v.receipts[0]?.status === 'done' && v;
    });
    expect(view.receipts.map((x: any) => [x.id, x.kind, x.status])).toEqual([[r.body.id, 'registrar', 'done']]);
  });
});

describe('translator mode takes only corrections here', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fiscal: {} });
  });
  afterAll(() => h?.close());

  test('a sell receipt: 409 and nothing stored; a correction: registered', async () => {
    const r = await h.call('POST', '/api/v1/receipts', body(), SITE_AUTH);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('translator_mode');
    expect(await receiptRows(h)).toEqual([]);
    const c = await h.call(
      'POST',
      '/api/v1/receipts',
      body({ operation: 'sell_refund_correction', correction: { type: 'instruction', baseDate: '2026-11-20', baseNumber: 'ПР-12' } }),
      SITE_AUTH,
    );
    expect(c.status).toBe(201);
    await eventually(async () => (await h.call('GET', `/api/v1/receipts/${c.body.id}`, undefined, SITE_AUTH)).body.status === 'done');
  });
});
