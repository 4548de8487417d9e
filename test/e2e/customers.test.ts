import { orderBody, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';

/**
 * B2B customers' terms: a deferral the order takes when it names none, a credit limit, no new deferred
 * order while an invoice is overdue — each refusal a 422 a site can show, with nothing created.
 */

const BANK = { name: 'ПАО Сбербанк', bic: '044525225', account: '40702810938000000001', correspondentAccount: '30101810400000000225' };
const INN = '7736207543';
const company = { type: 'legal', name: 'ООО «Яндекс»', inn: INN, kpp: '770401001' };

describe('B2B customers and their terms', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      overrides: (raw) => {
        raw.exchange.bases = [];
        raw.organizations[0].payments.invoice = { bank: BANK };
      },
    });
  });
  afterAll(() => h?.close());

  const orders = async () =>
    Number(
      (await h.gateway.store.db
        .selectFrom('orders')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst())!.n,
    );
  const put = (inn: string, body: unknown) => h.call('PUT', `/api/v1/customers/${inn}`, body, SITE_AUTH);
  const order = (total: number, extra: Record<string, unknown> = {}) =>
    h.call(
      'POST',
      '/api/v1/orders',
      orderBody({
        customer: company,
        items: [{ sku: 's', name: 'Услуга', quantity: 1, price: total, amount: total, vat: 'vat22', kind: 'service' }],
        total,
        ...extra,
      }),
      SITE_AUTH,
    );

  test('terms set through the API: an order naming none takes the deferral; the limit counts what is owed', async () => {
    const r = await put(INN, { name: 'ООО «Яндекс»', kpp: '770401001', terms: { deferredDays: 14, creditLimit: 500000 } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      inn: INN,
      terms: { deferredDays: 14, from: 'shipment', creditLimit: 500000, blockOverdue: true },
      owed: 0,
      available: 500000,
    });

    const first = await order(350000);
    expect(first.status).toBe(201);
    expect(first.body.paymentTerms).toEqual({ type: 'deferred', days: 14, from: 'shipment' });

    const before = await orders();
    const second = await order(200000);
    expect(second.status).toBe(422);
    expect(second.body.error).toMatchObject({
      code: 'credit_limit_exceeded',
      message: 'Превышен кредитный лимит: доступно 1\u00a0500,00\u00a0₽',
    });
    expect(await orders()).toBe(before);

    // a prepaid order is no credit: it goes
    expect((await order(200000, { paymentTerms: { type: 'prepay' } })).status).toBe(201);
    const view = (await h.call('GET', `/api/v1/customers/${INN}`, undefined, SITE_AUTH)).body;
    expect(view).toMatchObject({ owed: 350000, available: 150000 });
    expect(view.unpaid).toEqual([{ orderNumber: first.body.number, due: 350000, dueDate: null, overdue: false, invoice: null }]);
  });

  test('an overdue invoice blocks a new deferred order, naming the invoice; paying it lifts the block', async () => {
    const inn = '7707083893';
    const buyer = { type: 'legal', name: 'ПАО Сбербанк', inn };
    await put(inn, { name: 'ПАО Сбербанк', terms: { deferredDays: 10, from: 'invoice' } });
    const first = (await h.call('POST', '/api/v1/orders', orderBody({ customer: buyer }), SITE_AUTH)).body;
    const invoice = (
      await h.call(
        'POST',
        `/api/v1/orders/${first.id}/payments`,
        { method: 'invoice' },
        { ...SITE_AUTH, 'idempotency-key': `i-${first.id}` },
      )
    ).body;
    // ten days pass: the invoice's due date is yesterday
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await h.gateway.store.db.updateTable('invoices').set({ due_date: yesterday }).where('payment_id', '=', invoice.id).execute();

    const before = await orders();
    const next = await h.call('POST', '/api/v1/orders', orderBody({ customer: buyer }), SITE_AUTH);
    expect(next.status).toBe(422);
    expect(next.body.error.code).toBe('overdue_debt');
    expect(next.body.error.message).toContain(`счёт ${invoice.action.number} от `);
    expect(next.body.error.message).toContain(`срок оплаты ${yesterday.split('-').reverse().join('.')}`);
    expect(await orders()).toBe(before);
    expect((await h.call('GET', `/api/v1/customers/${inn}`, undefined, SITE_AUTH)).body.unpaid[0]).toMatchObject({
      overdue: true,
      dueDate: yesterday,
    });

    await h.gateway.store.db.updateTable('orders').set({ status: 'paid', paid_amount: first.total }).where('id', '=', first.id).execute();
    expect((await h.call('POST', '/api/v1/orders', orderBody({ customer: buyer }), SITE_AUTH)).status).toBe(201);
  });

  test('deferred terms for an individual, when the organization defers for companies only: 422, nothing created', async () => {
    const before = await orders();
    const r = await h.call('POST', '/api/v1/orders', orderBody({ paymentTerms: { type: 'deferred', days: 7 } }), SITE_AUTH);
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('deferred_not_allowed');
    expect(await orders()).toBe(before);
  });

  test.each([
    ['an ИНН with a wrong check digit', '7736207544', { name: 'x' }, 'inn'],
    ['a negative credit limit', INN, { name: 'x', terms: { creditLimit: -1 } }, 'terms.creditLimit'],
    ['a deferral of 0 days', INN, { name: 'x', terms: { deferredDays: 0 } }, 'terms.deferredDays'],
  ])('%s: 422 naming the field, the customer unchanged', async (_name, inn, body, path) => {
    const before = (await h.call('GET', `/api/v1/customers/${INN}`, undefined, SITE_AUTH)).body;
    const r = await put(inn, body);
    expect(r.status).toBe(422);
    expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    expect((await h.call('GET', `/api/v1/customers/${INN}`, undefined, SITE_AUTH)).body).toEqual(before);
  });
});
