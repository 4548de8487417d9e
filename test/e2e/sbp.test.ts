import { parseSbpLink } from '../../gateway/domain/sbp';
import {
  ADMIN_AUTH,
  eventually,
  ONEC_KEY,
  orderBody,
  receiver,
  SITE_AUTH,
  startHarness,
  type Harness,
  type HarnessOptions,
} from '../helpers/harness';
import { describeWith } from '../helpers/services';

/**
 * СБП end to end against the emulated banks and 1C: a QR for a site order, paid from a banking
 * app, confirmed, posted in 1C; the QR's expiry; the registry of operations read by the agent
 * (lost callbacks recovered, every operation stored once, operations from the front desk matched
 * to orders and their lines, the rest in the review list with an alert).
 */

type Alerts = Awaited<ReturnType<typeof receiver>>;

function sberSuite(backend: Pick<HarnessOptions, 'db' | 'redis'>): void {
  let h: Harness;
  let alerts: Alerts;
  beforeAll(async () => {
    alerts = await receiver();
    h = await startHarness({
      ...backend,
      onec: { configuration: 'ut11' },
      overrides: (raw) => {
        // the agent and the janitor run when a test asks, so each test sees what it caused
        raw.janitor = { everySeconds: 3600, pollPendingAfterSeconds: 3600, expireAfterMinutes: 600 };
        raw.history = { everyMinutes: 600, overlapMinutes: 180, lookbackHours: 24 };
        raw.alerts = { channels: [{ type: 'webhook', url: alerts.url, secret: 'alert-webhook-secret' }] };
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await alerts?.close();
  });
  beforeEach(() => {
    Object.assign(h.sber.knobs, { callbacks: 'on', sbpLateAcceptance: false });
  });

  const db = () => h.gateway.store.db;
  const payment = async (id: string) => (await h.call('GET', `/api/v1/payments/${id}`, undefined, SITE_AUTH)).body;
  const operations = async (query = 'state=all') =>
    (await h.call('GET', `/api/v1/admin/operations?${query}&limit=1000`, undefined, ADMIN_AUTH)).body.items as any[];
  const runAgent = async () => {
    const r = await h.call('POST', '/api/v1/admin/history/run', undefined, ADMIN_AUTH);
    expect(r.status).toBe(200);
    return r.body.runs as any[];
  };

  async function siteOrder(total = 350000, extra: Record<string, unknown> = {}) {
    const number = `С-${Math.floor(Math.random() * 1e7)}`;
    const inBase = h.onec!.seedCustomerOrder({ number, total: total / 100 });
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, ...extra }), SITE_AUTH)).body;
    expect(order.status).toBe('awaiting_payment');
    return { order, inBase };
  }

  async function sbpPayment(orderId: string) {
    const r = await h.call(
      'POST',
      `/api/v1/orders/${orderId}/payments`,
      { method: 'sbp' },
      { ...SITE_AUTH, 'idempotency-key': `sbp-${orderId}-${Math.random()}` },
    );
    expect(r.status).toBe(201);
    return r.body;
  }

  test('a site order → a QR (the bank’s NSPK link, drawn by the gateway) → paid from a banking app → one posted document in 1C; the history holds it once', async () => {
    const { order, inBase } = await siteOrder();
    const p = await sbpPayment(order.id);
    expect(p).toMatchObject({ method: 'sbp', provider: 'sber', status: 'pending', amount: 350000 });
    expect(p.action.type).toBe('qr');
    const link = parseSbpLink(p.action.payload)!;
    expect(link).not.toBeNull();
    expect(link.crc).toBe(link.expectedCrc);
    expect(link.sum).toBe(350000);
    expect(p.action.image).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(Buffer.from(p.action.image.split(',')[1], 'base64').toString()).toContain('<svg');
    const ttl = Date.parse(p.action.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(29 * 60_000);
    expect(ttl).toBeLessThanOrEqual(30 * 60_000);

    await h.call('POST', `/sandbox/payments/${p.id}/complete`, { outcome: 'paid', payerBank: 'ВТБ' });
    const paid = await eventually(async () => {
      const v = await payment(p.id);
      return v.status === 'paid' && v.onec.status === 'delivered' ? v : null;
    }, 10_000);
    const docs = h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key);
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ ref: paid.onec.document, posted: true, amount: 3500, marker: h.onec!.marker(p.id) });

    const ops = (await operations()).filter((o) => o.paymentId === p.id);
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({
      kind: 'payment',
      provider: 'sber',
      method: 'sbp',
      amount: 350000,
      payerBank: 'ВТБ',
      // whoever told first: the callback, or the history agent's first run when it reads the registry sooner
      source: expect.stringMatching(/^(callback|registry)$/),
      channel: 'site',
      orderId: order.id,
      match: { state: 'matched' },
    });
    expect(ops[0].lines).toEqual([
      { line: 0, sku: 'kettle-01', name: 'Чайник электрический', amount: 300000 },
      { line: 1, sku: 'DELIVERY', name: 'Доставка', amount: 50000 },
    ]);

    // the registry lists the same operation: still one, now with the bank's description
    await runAgent();
    const again = (await operations()).filter((o) => o.paymentId === p.id);
    expect(again).toHaveLength(1);
    expect(again[0].id).toBe(ops[0].id);
    expect(again[0].purpose).toContain(order.number);
  });

  test('a manager’s order from 1C asks for a СБП QR: the NSPK link to send the customer; the same call again gives the same QR; paid → the document in 1C', async () => {
    const inBase = h.onec!.seedCustomerOrder({ number: `ЗК-${Math.floor(Math.random() * 1e6)}`, total: 2500 });
    const body = {
      ref: inBase.Ref_Key,
      number: inBase.Number,
      customer: { type: 'individual', name: 'Мария Иванова', phone: '+79001112233' },
      items: [{ sku: 'srv-1', name: 'Монтаж', quantity: 1, price: 250000, amount: 250000, vat: 'vat22', kind: 'service' }],
      total: 250000,
      sbp: true,
    };
    const onec = { authorization: `Bearer ${ONEC_KEY}` };
    const first = await h.call('POST', '/api/v1/onec/orders', body, onec);
    expect(first.status).toBe(201);
    expect(parseSbpLink(first.body.sbp.payload)).toMatchObject({ sum: 250000 });
    expect(first.body.sbp.image).toMatch(/^data:image\/svg\+xml;base64,/);
    const again = await h.call('POST', '/api/v1/onec/orders', body, onec);
    expect(again.status).toBe(200);
    expect(again.body.sbp).toEqual(first.body.sbp);
    await h.call('POST', `/sandbox/payments/${first.body.sbp.paymentId}/complete`, { outcome: 'paid' });
    const paid = await eventually(async () => {
      const v = await payment(first.body.sbp.paymentId);
      return v.onec.status === 'delivered' ? v : null;
    }, 10_000);
    expect(h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key)).toEqual([
      expect.objectContaining({ ref: paid.onec.document, posted: true, amount: 2500 }),
    ]);
    const op = (await operations()).find((o) => o.paymentId === first.body.sbp.paymentId);
    expect(op).toMatchObject({ channel: 'onec', method: 'sbp', match: { state: 'matched' } });
  });

  test('callbacks lost: the agent recovers every payment from the registry, each operation stored once, a second run adds nothing', async () => {
    h.sber.knobs.callbacks = 'off';
    const made = [];
    for (let i = 0; i < 3; i++) {
      const { order } = await siteOrder();
      const p = await sbpPayment(order.id);
      await h.call('POST', `/sandbox/payments/${p.id}/complete`, { outcome: 'paid', payerBank: 'Альфа-Банк' });
      made.push(p);
    }
    for (const p of made) expect((await payment(p.id)).status).toBe('pending');

    const runs = await runAgent();
    expect(runs.find((r) => r.provider === 'sber')).toMatchObject({ recovered: 3 });
    for (const p of made) expect((await payment(p.id)).status).toBe('paid');
    const ids = new Set(made.map((p) => p.id));
    const mine = () => operations().then((all) => all.filter((o) => ids.has(o.paymentId)));
    expect(await mine()).toHaveLength(3);
    expect((await mine()).every((o) => o.source === 'registry' && o.payerBank === 'Альфа-Банк' && o.match.state === 'matched')).toBe(true);
    await runAgent();
    expect(await mine()).toHaveLength(3);
    const keys = await db().selectFrom('payment_operations').select('op_key').execute();
    expect(new Set(keys.map((k) => k.op_key)).size).toBe(keys.length);
  });

  test('the QR expires: rejected at the bank, the payment expired, the page offers a new QR; a payment NSPK still let through is recorded, alerted and never lost', async () => {
    const { order } = await siteOrder();
    const p = await sbpPayment(order.id);
    const attempt = await db().selectFrom('payment_attempts').selectAll().where('payment_id', '=', p.id).executeTakeFirstOrThrow();
    // the QR's lifetime passes
    await db()
      .updateTable('payment_attempts')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString(), next_check_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', attempt.id)
      .execute();
    await db()
      .updateTable('payments')
      .set({ action: JSON.stringify({ ...p.action, expiresAt: new Date(Date.now() - 1000).toISOString() }) })
      .where('id', '=', p.id)
      .execute();
    await h.call('POST', '/api/v1/admin/schedules/janitor/run', undefined, ADMIN_AUTH);
    const expired = await eventually(async () => {
      const v = await payment(p.id);
      return v.status === 'expired' ? v : null;
    });
    expect(expired.statusReason).toBe('истёк срок оплаты');
    expect(h.sber.orders.get(attempt.provider_ref!)!.qr!.status).toBe('REJECTED');
    const { url } = (await h.call('POST', `/api/v1/orders/${order.id}/payment-link`, undefined, SITE_AUTH)).body;
    const page = await (await fetch(url)).text();
    expect(page).toContain('Время на оплату истекло');
    expect(page).toContain('Оплатить по СБП');
    expect(page).not.toContain('Оплатить в приложении банка');
    expect((await fetch(`${url}/qr.svg`)).status).toBe(404);

    // the customer's app had the payment in flight: NSPK completes it anyway
    h.sber.knobs.sbpLateAcceptance = true;
    await h.call('POST', `/sandbox/payments/${p.id}/complete`, { outcome: 'paid' });
    await eventually(async () => (await payment(p.id)).status === 'paid');
    const alert = await eventually(async () => alerts.received.find((r) => r.body?.key === `extra-payment:${p.id}`));
    expect(alert.body.title).toBe('Оплата пришла после отмены платежа');
    expect((await operations()).filter((o) => o.paymentId === p.id)).toHaveLength(1);
  });

  test('an expired QR is not shown: a new payment gets a fresh QR', async () => {
    const { order } = await siteOrder();
    const first = await sbpPayment(order.id);
    await db()
      .updateTable('payment_attempts')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString(), next_check_at: new Date(Date.now() - 1000).toISOString() })
      .where('payment_id', '=', first.id)
      .execute();
    await h.call('POST', '/api/v1/admin/schedules/janitor/run', undefined, ADMIN_AUTH);
    await eventually(async () => (await payment(first.id)).status === 'expired');
    const second = await sbpPayment(order.id);
    expect(second.action.payload).not.toBe(first.action.payload);
  });

  test('operations from the front desk: one naming the order is matched to it and its lines, two partial payments split the lines, one naming nothing waits for review with an alert', async () => {
    const { order } = await siteOrder(350000);
    // the cashier takes the delivery first (a whole line), then the kettles
    h.sber.createExternal({ amount: 50000, description: `Оплата доставки по заказу ${order.number}`, method: 'sbp', payerBank: 'Т-Банк' });
    h.sber.createExternal({ amount: 300000, description: `Заказ № ${order.number}, остаток`, method: 'card' });
    const stray = h.sber.createExternal({ amount: 12345, description: 'Перевод без назначения', method: 'sbp' });
    await runAgent();
    const ofOrder = await operations(`state=all&orderId=${order.id}`);
    expect(ofOrder).toHaveLength(2);
    const delivery = ofOrder.find((o) => o.amount === 50000)!;
    expect(delivery).toMatchObject({ channel: 'external', method: 'sbp', payerBank: 'Т-Банк', match: { state: 'matched' } });
    expect(delivery.lines).toEqual([{ line: 1, sku: 'DELIVERY', name: 'Доставка', amount: 50000 }]);
    expect(ofOrder.find((o) => o.amount === 300000)!.lines).toEqual([
      { line: 0, sku: 'kettle-01', name: 'Чайник электрический', amount: 300000 },
    ]);

    const review = await operations();
    const item = review.find((o) => o.providerRef === stray.mdOrder)!;
    expect(item.match.state).toBe('unmatched');
    const alert = await eventually(async () => alerts.received.find((r) => r.body?.key === `operation-review:${item.id}`));
    expect(alert.body.title).toBe('Операция банка не сопоставлена с заказом');
  });

  test('an operation with more than the order owes is a mismatch for review; two orders named → ambiguous', async () => {
    const a = await siteOrder(350000);
    const b = await siteOrder(350000);
    const over = h.sber.createExternal({ amount: 400000, description: `Оплата заказа ${a.order.number}`, method: 'sbp' });
    const both = h.sber.createExternal({ amount: 1000, description: `Заказы ${a.order.number} и № ${b.order.number}`, method: 'sbp' });
    await runAgent();
    const review = await operations();
    expect(review.find((o) => o.providerRef === over.mdOrder)).toMatchObject({
      orderId: a.order.id,
      match: { state: 'mismatch', note: expect.stringContaining('больше') },
    });
    expect(review.find((o) => o.providerRef === both.mdOrder)).toMatchObject({
      orderId: null,
      match: { state: 'ambiguous', note: expect.stringContaining(b.order.number) },
    });
  });

  test('support matches a review item by hand; wrong inputs get a clear error and change nothing', async () => {
    const { order } = await siteOrder(350000);
    const stray = h.sber.createExternal({ amount: 50000, description: 'без назначения', method: 'sbp' });
    await runAgent();
    const item = (await operations('state=review')).find((o) => o.providerRef === stray.mdOrder)!;
    const before = await h.call('GET', `/api/v1/admin/operations/${item.id}`, undefined, ADMIN_AUTH);

    const noOrder = await h.call(
      'POST',
      `/api/v1/admin/operations/${item.id}/match`,
      { orderId: '00000000-0000-0000-0000-000000000000' },
      ADMIN_AUTH,
    );
    expect(noOrder.status).toBe(404);
    const bad = await h.call('POST', `/api/v1/admin/operations/${item.id}/match`, { order: order.id }, ADMIN_AUTH);
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe('orderId');
    const site = await h.call('POST', `/api/v1/admin/operations/${item.id}/match`, { orderId: order.id }, SITE_AUTH);
    expect(site.status).toBe(401);
    expect((await h.call('GET', `/api/v1/admin/operations/${item.id}`, undefined, ADMIN_AUTH)).body).toEqual(before.body);

    const ok = await h.call('POST', `/api/v1/admin/operations/${item.id}/match`, { orderId: order.id, note: 'чек кассира 17' }, ADMIN_AUTH);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ orderId: order.id, match: { state: 'resolved', note: 'сопоставлено вручную: чек кассира 17' } });
    expect(ok.body.lines).toEqual([{ line: 1, sku: 'DELIVERY', name: 'Доставка', amount: 50000 }]);
    expect((await operations('state=review')).some((o) => o.id === item.id)).toBe(false);
    const twice = await h.call('POST', `/api/v1/admin/operations/${item.id}/match`, { orderId: order.id }, ADMIN_AUTH);
    expect(twice.status).toBe(409);
  });

  test('bad input to the СБП checkout: an order already paid gets no QR, nothing stored', async () => {
    const { order } = await siteOrder();
    const p = await sbpPayment(order.id);
    await h.call('POST', `/sandbox/payments/${p.id}/complete`, { outcome: 'paid' });
    await eventually(async () => (await payment(p.id)).status === 'paid');
    const count = async () =>
      Number(
        (
          await db()
            .selectFrom('payments')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    const r = await h.call(
      'POST',
      `/api/v1/orders/${order.id}/payments`,
      { method: 'sbp' },
      { ...SITE_AUTH, 'idempotency-key': `again-${order.id}` },
    );
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('order_not_payable');
    const unknown = await h.call(
      'POST',
      `/api/v1/orders/${order.id}/payments`,
      { method: 'sbp', provider: 'yookassa' },
      { ...SITE_AUTH, 'idempotency-key': `prov-${order.id}` },
    );
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe('provider_not_enabled');
    expect(await count()).toBe(before);
  });
}

describe('СБП through Sber, on SQLite with in-process jobs', () => sberSuite({}));
describeWith(['postgres', 'redis'], 'СБП through Sber, on PostgreSQL with BullMQ', () => sberSuite({ db: 'postgres', redis: true }));

describe('СБП and cards through T-Bank', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      onec: { configuration: 'ut11' },
      overrides: (raw) => {
        raw.janitor = { everySeconds: 3600, pollPendingAfterSeconds: 3600, expireAfterMinutes: 600 };
        raw.history = { everyMinutes: 600, overlapMinutes: 180, lookbackHours: 23 };
      },
    });
  });
  afterAll(() => h?.close());
  beforeEach(() => {
    Object.assign(h.tbank.knobs, { callbacks: 'on', forgeToken: false, operationsDelayMs: 0 });
  });

  const db = () => h.gateway.store.db;
  const payment = async (id: string) => (await h.call('GET', `/api/v1/payments/${id}`, undefined, SITE_AUTH)).body;
  const operations = async (query = 'state=all') =>
    (await h.call('GET', `/api/v1/admin/operations?${query}&limit=1000`, undefined, ADMIN_AUTH)).body.items as any[];
  const runAgent = async () => (await h.call('POST', '/api/v1/admin/history/run', undefined, ADMIN_AUTH)).body.runs as any[];
  const count = async (table: 'payments' | 'payment_events' | 'payment_operations') =>
    Number(
      (
        await db()
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  async function siteOrder(total = 350000) {
    const number = `Т-${Math.floor(Math.random() * 1e7)}`;
    const inBase = h.onec!.seedCustomerOrder({ number, total: total / 100 });
    const items = total === 350000 ? undefined : [{ sku: 's-1', name: 'Товар', quantity: 1, price: total, amount: total, vat: 'vat22' }];
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, ...(items ? { items, total } : {}) }), SITE_AUTH)).body;
    return { order, inBase };
  }

  async function pay(orderId: string, method: 'sbp' | 'card') {
    const r = await h.call(
      'POST',
      `/api/v1/orders/${orderId}/payments`,
      { method, provider: 'tbank' },
      { ...SITE_AUTH, 'idempotency-key': `tb-${orderId}-${Math.random()}` },
    );
    expect(r.status).toBe(201);
    expect(r.body.provider).toBe('tbank');
    return r.body;
  }

  test('СБП: a site order → T-Bank’s QR → paid → one posted document in 1C; the notification and the registry give one operation', async () => {
    const { order, inBase } = await siteOrder();
    const p = await pay(order.id, 'sbp');
    const link = parseSbpLink(p.action.payload)!;
    expect(link).toMatchObject({ bank: '100000000004', sum: 350000, crcValid: true });
    await h.call('POST', `/sandbox/payments/${p.id}/complete`, { outcome: 'paid', payerBank: 'Сбербанк' });
    const paid = await eventually(async () => {
      const v = await payment(p.id);
      return v.status === 'paid' && v.onec.status === 'delivered' ? v : null;
    }, 10_000);
    expect(h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key)).toEqual([
      expect.objectContaining({ ref: paid.onec.document, posted: true, amount: 3500, marker: h.onec!.marker(p.id) }),
    ]);
    // T-Bank's notifications carry a nested Data object: they verified, and nothing was refused
    expect(h.tbank.deliveries.some((d) => d.status === 200)).toBe(true);
    expect(h.tbank.deliveries.every((d) => d.status === 200 || d.status === null)).toBe(true);
    await runAgent();
    const ops = (await operations()).filter((o) => o.paymentId === p.id);
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({
      provider: 'tbank',
      kind: 'payment',
      method: 'sbp',
      amount: 350000,
      source: 'callback',
      match: { state: 'matched' },
    });
  });

  test('cards through T-Bank as the second acquirer: the bank’s form, paid, refunded in part through Cancel; the refund comes from the registry once', async () => {
    const { order } = await siteOrder();
    const p = await pay(order.id, 'card');
    expect(p.action).toMatchObject({ type: 'redirect' });
    expect(p.action.url).toContain(h.tbank.url);
    await h.call('POST', `/sandbox/payments/${p.id}/complete`, { outcome: 'paid' });
    await eventually(async () => (await payment(p.id)).status === 'paid');
    const refund = await h.call(
      'POST',
      `/api/v1/payments/${p.id}/refunds`,
      { amount: 50000 },
      { ...SITE_AUTH, 'idempotency-key': `tb-r-${p.id}` },
    );
    expect(refund.status).toBe(201);
    await eventually(async () => {
      const v = await payment(p.id);
      return v.status === 'partially_refunded' && v.refunded === 50000;
    });
    await runAgent();
    await runAgent();
    const ofOrder = await operations(`state=all&orderId=${order.id}`);
    expect(ofOrder.map((o) => [o.kind, o.amount]).sort()).toEqual([
      ['payment', 350000],
      ['refund', 50000],
    ]);
    const refund_ = ofOrder.find((o) => o.kind === 'refund')!;
    expect(refund_).toMatchObject({ provider: 'tbank', method: 'card', match: { state: 'matched' } });
    // a refund takes back the last lines first
    expect(refund_.lines).toEqual([{ line: 1, sku: 'DELIVERY', name: 'Доставка', amount: 50000 }]);
  });

  test('notifications lost: the agent reads T-Bank’s registry (late by its delay) and recovers every payment, each stored once', async () => {
    h.tbank.knobs.callbacks = 'off';
    h.tbank.knobs.operationsDelayMs = 1500;
    const made = [];
    for (let i = 0; i < 2; i++) {
      const { order } = await siteOrder();
      const p = await pay(order.id, i === 0 ? 'sbp' : 'card');
      await h.call('POST', `/sandbox/payments/${p.id}/complete`, { outcome: 'paid' });
      made.push(p);
    }
    // the registry does not list them yet
    await runAgent();
    for (const p of made) expect((await payment(p.id)).status).toBe('pending');
    await new Promise((r) => setTimeout(r, 1600));
    const runs = await runAgent();
    expect(runs.find((r) => r.provider === 'tbank')).toMatchObject({ recovered: 2 });
    for (const p of made) expect((await payment(p.id)).status).toBe('paid');
    const ids = new Set(made.map((p) => p.id));
    expect((await operations()).filter((o) => ids.has(o.paymentId))).toHaveLength(2);
    await runAgent();
    expect((await operations()).filter((o) => ids.has(o.paymentId))).toHaveLength(2);
  });

  test('a notification with a wrong Token is 403 and changes nothing; a real one with an extra nested object verifies', async () => {
    const { order } = await siteOrder();
    const p = await pay(order.id, 'card');
    h.tbank.knobs.callbacks = 'off';
    await h.call('POST', `/sandbox/payments/${p.id}/complete`, { outcome: 'paid' });
    const attempt = await db().selectFrom('payment_attempts').selectAll().where('payment_id', '=', p.id).executeTakeFirstOrThrow();
    const pay_ = h.tbank.payments.get(attempt.provider_ref!)!;
    const events = await count('payment_events');
    const real = h.tbank.notificationBody(pay_, { Success: true, ErrorCode: '0', Amount: 350000 });
    const forged = await h.call(
      'POST',
      '/callbacks/tbank/main',
      JSON.stringify({ ...real, Token: real.Token.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) }),
      { 'content-type': 'application/json' },
    );
    expect(forged.status).toBe(403);
    const tampered = await h.call('POST', '/callbacks/tbank/main', JSON.stringify({ ...real, Amount: 1 }), {
      'content-type': 'application/json',
    });
    expect(tampered.status).toBe(403);
    expect((await payment(p.id)).status).toBe('pending');
    expect(await count('payment_events')).toBe(events);

    const withNested = await h.call(
      'POST',
      '/callbacks/tbank/main',
      JSON.stringify({ ...real, Receipt: { Items: [{ Name: 'Чайник', Price: 150000 }] } }),
      { 'content-type': 'application/json' },
    );
    expect(withNested.status).toBe(200);
    expect(withNested.text).toBe('OK');
    await eventually(async () => (await payment(p.id)).status === 'paid');
  });

  test('СБП under 10 ₽ through T-Bank is refused with a clear error; nothing is stored', async () => {
    const { order } = await siteOrder(900);
    const before = await count('payments');
    const r = await h.call(
      'POST',
      `/api/v1/orders/${order.id}/payments`,
      { method: 'sbp', provider: 'tbank' },
      { ...SITE_AUTH, 'idempotency-key': `tb-min-${order.id}` },
    );
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('amount_below_minimum');
    expect(await count('payments')).toBe(before);
  });

  test('a payment at T-Bank from the front desk naming the order is matched to it', async () => {
    const { order } = await siteOrder();
    const ext = h.tbank.createExternal({ amount: 50000, method: 'sbp', description: `Доставка, заказ ${order.number}`, payerBank: 'ВТБ' });
    await runAgent();
    const op = (await operations()).find((o) => o.providerRef === ext.paymentId)!;
    expect(op).toMatchObject({ orderId: order.id, channel: 'external', payerBank: 'ВТБ', match: { state: 'matched' } });
    expect(op.lines).toEqual([{ line: 1, sku: 'DELIVERY', name: 'Доставка', amount: 50000 }]);
  });
});
