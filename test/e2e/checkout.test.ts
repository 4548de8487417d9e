import { randomUUID } from 'node:crypto';
import { symmetricChecksum } from '../../connectors/sber/checksum';
import { SANDBOX } from '../sandbox/config';
import { ADMIN_AUTH, eventually, orderBody, SITE_AUTH, startHarness, type Harness, type HarnessOptions } from '../helpers/harness';
import { describeWith } from '../helpers/services';

/**
 * The website's checkout, end to end against the emulated bank: orders, card payments, callbacks,
 * the janitor, refunds, idempotency, and every bad input the site or an attacker can send.
 * Runs on the embedded default (SQLite + in-process jobs) and on PostgreSQL + BullMQ.
 */
function checkoutSuite(opts: HarnessOptions): void {
  let h: Harness;
  beforeAll(async () => {
    // this site does not exchange with 1C over CommerceML, so its order numbers may be long (see the 22-character test)
    h = await startHarness({ ...opts, overrides: (raw) => void (raw.exchange.bases = []) });
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => {
    Object.assign(h.sber.knobs, {
      callbacks: 'on',
      duplicateCallbacks: 0,
      callbackDelayMs: 0,
      apiLatencyMs: 0,
      apiFailRate: 0,
      apiDown: false,
      statusApiDown: false,
    });
  });

  const db = () => h.gateway.store.db;
  const count = async (table: 'orders' | 'payments' | 'payment_events' | 'refunds') =>
    Number(
      (
        await db()
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  async function newOrder(overrides: Record<string, unknown> = {}) {
    const r = await h.call('POST', '/api/v1/orders', orderBody(overrides), SITE_AUTH);
    expect(r.status).toBe(201);
    return r.body;
  }

  async function newPayment(
    orderId: string,
    key = `k-${Math.random()}`,
    body: Record<string, unknown> = { method: 'card', returnUrl: 'https://shop.example/thanks' },
  ) {
    const r = await h.call('POST', `/api/v1/orders/${orderId}/payments`, body, { ...SITE_AUTH, 'idempotency-key': key });
    expect(r.status).toBe(201);
    return r.body;
  }

  const getPayment = async (id: string) => (await h.call('GET', `/api/v1/payments/${id}`, undefined, SITE_AUTH)).body;

  async function mdOrderOf(paymentId: string): Promise<{ mdOrder: string; orderNumber: string }> {
    const a = await db().selectFrom('payment_attempts').selectAll().where('payment_id', '=', paymentId).executeTakeFirstOrThrow();
    return { mdOrder: a.provider_ref!, orderNumber: a.order_number };
  }

  function signed(params: Record<string, string>): string {
    return new URLSearchParams({ ...params, checksum: symmetricChecksum(params, SANDBOX.sber.callbackSecret) }).toString();
  }

  async function paidPayment(total = 350000) {
    const order = await newOrder(
      total === 350000 ? {} : { items: [{ sku: 's', name: 'Товар', quantity: 1, price: total, amount: total, vat: 'vat22' }], total },
    );
    const payment = await newPayment(order.id);
    await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
    await eventually(async () => (await getPayment(payment.id)).status === 'paid', 5000);
    return { order, payment };
  }

  // ------------------------------------------------------------------ orders

  describe('orders', () => {
    test('created, read back, and idempotent on externalId', async () => {
      const body = orderBody();
      const first = await h.call('POST', '/api/v1/orders', body, SITE_AUTH);
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({
        externalId: body.externalId,
        status: 'awaiting_payment',
        total: 350000,
        paidAmount: 0,
        organization: 'main',
      });
      const again = await h.call('POST', '/api/v1/orders', { ...body, items: [...body.items] }, SITE_AUTH);
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(first.body.id);
      const read = await h.call('GET', `/api/v1/orders/${first.body.id}`, undefined, SITE_AUTH);
      expect(read.body.items[0]).toMatchObject({ sku: 'kettle-01', quantity: 2, price: 150000, amount: 300000, vat: 'vat22' });
    });

    test('the same externalId with another body is a conflict and the first order stays as it was', async () => {
      const body = orderBody();
      const first = await h.call('POST', '/api/v1/orders', body, SITE_AUTH);
      const other = await h.call('POST', '/api/v1/orders', { ...body, number: 'B-999' }, SITE_AUTH);
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe('external_id_conflict');
      expect((await h.call('GET', `/api/v1/orders/${first.body.id}`, undefined, SITE_AUTH)).body.number).toBe(body.number);
    });

    test.each([
      ['malformed JSON', '{"externalId": "x",', 400, 'malformed_json', undefined],
      ['wrong type', { ...orderBody(), total: '350000' }, 422, 'validation_failed', 'total'],
      [
        'negative price',
        orderBody({ items: [{ sku: 'a', name: 'A', quantity: 1, price: -100, amount: -100, vat: 'vat22' }], total: 100 }),
        422,
        'validation_failed',
        'items[0].price',
      ],
      [
        'zero total',
        orderBody({ items: [{ sku: 'a', name: 'A', quantity: 1, price: 0, amount: 0, vat: 'vat22' }], total: 0 }),
        422,
        'validation_failed',
        'total',
      ],
      [
        'fractional kopecks',
        orderBody({ items: [{ sku: 'a', name: 'A', quantity: 1, price: 100.5, amount: 100.5, vat: 'vat22' }], total: 100.5 }),
        422,
        'validation_failed',
        'items[0].price',
      ],
      [
        'line amount ≠ price × quantity',
        orderBody({ items: [{ sku: 'a', name: 'A', quantity: 3, price: 100, amount: 301, vat: 'vat22' }], total: 301 }),
        422,
        'totals_mismatch',
        'items[0].amount',
      ],
      ['total ≠ Σ lines', orderBody({ total: 350001 }), 422, 'totals_mismatch', 'total'],
      [
        'unknown VAT code',
        orderBody({ items: [{ sku: 'a', name: 'A', quantity: 1, price: 100, amount: 100, vat: 'vat18' }], total: 100 }),
        422,
        'validation_failed',
        'items[0].vat',
      ],
      ['unknown organization', orderBody({ organization: 'nope' }), 422, 'unknown_organization', 'organization'],
      [
        'legal entity without ИНН',
        orderBody({ customer: { type: 'legal', name: 'ООО Ромашка' } }),
        422,
        'validation_failed',
        'customer.inn',
      ],
      [
        'an ИНН whose check digit is wrong',
        orderBody({ customer: { type: 'legal', name: 'ООО Ромашка', inn: '7707083894' } }),
        422,
        'validation_failed',
        'customer.inn',
      ],
      [
        'an individual entrepreneur’s ИНН with a wrong second check digit',
        orderBody({ customer: { type: 'legal', name: 'ИП Иванов', inn: '500100732258' } }),
        422,
        'validation_failed',
        'customer.inn',
      ],
      [
        'a КПП for an individual',
        orderBody({ customer: { type: 'individual', name: 'Иванов Иван', inn: '500100732259', kpp: '500101001' } }),
        422,
        'validation_failed',
        'customer.kpp',
      ],
      ['deferral of 0 days', orderBody({ paymentTerms: { type: 'deferred', days: 0 } }), 422, 'validation_failed', 'paymentTerms.days'],
      [
        'deferral of 1 000 days',
        orderBody({ paymentTerms: { type: 'deferred', days: 1000 } }),
        422,
        'validation_failed',
        'paymentTerms.days',
      ],
      ['no lines', orderBody({ items: [], total: 100 }), 422, 'validation_failed', 'items'],
    ])('%s → a clear error, and nothing is stored', async (_name, body, status, code, path) => {
      const before = await count('orders');
      const r = await h.call('POST', '/api/v1/orders', body, SITE_AUTH);
      expect(r.status).toBe(status);
      expect(r.body.error.code).toBe(code);
      if (path) expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
      expect(await count('orders')).toBe(before);
    });

    test('missing or wrong API key → 401 and nothing stored', async () => {
      const before = await count('orders');
      for (const headers of [
        {} as Record<string, string>,
        { authorization: 'Bearer wrong-key-wrong-key' },
        { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      ]) {
        const r = await h.call('POST', '/api/v1/orders', orderBody(), headers);
        expect(r.status).toBe(401);
        expect(r.body.error.code).toBe('unauthorized');
      }
      expect((await h.call('GET', '/api/v1/orders/whatever', undefined, {})).status).toBe(401);
      expect(await count('orders')).toBe(before);
    });

    test('an oversized body → 413 and nothing stored', async () => {
      const before = await count('orders');
      const huge = orderBody({ number: 'x'.repeat(300 * 1024) });
      const r = await h.call('POST', '/api/v1/orders', huge, SITE_AUTH);
      expect(r.status).toBe(413);
      expect(r.body.error.code).toBe('payload_too_large');
      expect(await count('orders')).toBe(before);
    });

    test('another organization’s order is not found', async () => {
      expect((await h.call('GET', '/api/v1/orders/00000000-0000-0000-0000-000000000000', undefined, SITE_AUTH)).status).toBe(404);
    });
  });

  // ------------------------------------------------------------------ payments

  describe('card payments', () => {
    test('the bank’s answers are stored without cardholder data: no holder’s name, no expiry, the number as 6+4', async () => {
      const { payment } = await paidPayment();
      const { mdOrder } = await mdOrderOf(payment.id);
      const stored = [
        ...(await db().selectFrom('payment_events').select('payload').execute()).map((r) => r.payload),
        ...(await db().selectFrom('payment_operations').select('raw').execute()).map((r) => r.raw ?? ''),
      ].join('\n');
      expect(stored).toContain(mdOrder);
      expect(stored).toContain('220220**0000');
      expect(stored).not.toContain('CARD HOLDER');
      expect(stored).not.toContain('203012');
    });

    test('an order number of 22 characters or more still pays through Sber: the number the bank gets stays within its 32', async () => {
      const number = 'SHOP-2026-12-04-0000000123456';
      const order = await newOrder({ number });
      const payment = await newPayment(order.id);
      const { orderNumber } = await mdOrderOf(payment.id);
      expect(orderNumber.length).toBeLessThanOrEqual(32);
      expect(orderNumber.startsWith(number.slice(0, 21))).toBe(true);
      expect(h.sber.orders.get((await mdOrderOf(payment.id)).mdOrder)!.orderNumber).toBe(orderNumber);
      await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
      await eventually(async () => (await getPayment(payment.id)).status === 'paid');
    });

    test('order → payment → the customer pays → paid within 2 s, order paid', async () => {
      const order = await newOrder();
      const payment = await newPayment(order.id);
      expect(payment).toMatchObject({ orderId: order.id, method: 'card', status: 'pending', amount: 350000 });
      expect(payment.action.type).toBe('redirect');
      expect(payment.action.url).toContain('/payment/merchants/');
      const t0 = Date.now();
      const done = await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
      expect(done.status).toBe(200);
      const paid = await eventually(async () => {
        const p = await getPayment(payment.id);
        return p.status === 'paid' ? p : null;
      }, 2000);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(paid.paidAt).toBeTruthy();
      const o = (await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body;
      expect(o).toMatchObject({ status: 'paid', paidAmount: 350000 });
      // the callback and the confirming status answer are both in the event log
      const { mdOrder } = await mdOrderOf(payment.id);
      const attempt = await db().selectFrom('payment_attempts').selectAll().where('provider_ref', '=', mdOrder).executeTakeFirstOrThrow();
      const events = await db().selectFrom('payment_events').selectAll().where('attempt_id', '=', attempt.id).execute();
      expect(events.map((e) => e.kind)).toEqual(['callback']);
      // the callback is kept raw, with the status answer that confirmed it
      const payload = JSON.parse(events[0].payload);
      expect(payload.params).toMatchObject({ mdOrder, operation: 'deposited', status: '1' });
      expect(payload.confirmation).toMatchObject({ orderStatus: 2, paymentAmountInfo: { depositedAmount: 350000 } });
      expect(h.sber.calls['getOrderStatusExtended.do']).toBeGreaterThan(0);
    });

    test('declined at the bank → declined', async () => {
      const order = await newOrder();
      const payment = await newPayment(order.id);
      await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'declined' });
      await eventually(async () => (await getPayment(payment.id)).status === 'declined');
      expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body.status).toBe('awaiting_payment');
    });

    test('a method the organization has not enabled (invoice) → 422, nothing stored', async () => {
      const order = await newOrder();
      const before = await count('payments');
      for (const method of ['invoice']) {
        const r = await h.call(
          'POST',
          `/api/v1/orders/${order.id}/payments`,
          { method },
          { ...SITE_AUTH, 'idempotency-key': `m-${method}-${order.id}` },
        );
        expect(r.status).toBe(422);
        expect(r.body.error.code).toBe('method_not_enabled');
        expect(r.body.error.message).toContain('not enabled for this organization');
      }
      expect(await count('payments')).toBe(before);
    });

    test('a payment needs an Idempotency-Key', async () => {
      const order = await newOrder();
      const r = await h.call('POST', `/api/v1/orders/${order.id}/payments`, { method: 'card' }, SITE_AUTH);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('idempotency_key_required');
    });

    test('Idempotency-Key: same key and body → the stored answer, one payment; other body → 422', async () => {
      const order = await newOrder();
      const before = await count('payments');
      const a = await newPayment(order.id, 'same-key-1');
      const b = await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'card', returnUrl: 'https://shop.example/thanks' },
        { ...SITE_AUTH, 'idempotency-key': 'same-key-1' },
      );
      expect(b.status).toBe(201);
      expect(b.body.id).toBe(a.id);
      expect(b.headers.get('idempotent-replayed')).toBe('true');
      expect(await count('payments')).toBe(before + 1);
      const c = await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'card', returnUrl: 'https://other.example/' },
        { ...SITE_AUTH, 'idempotency-key': 'same-key-1' },
      );
      expect(c.status).toBe(422);
      expect(c.body.error.code).toBe('idempotency_key_reused');
      expect(await count('payments')).toBe(before + 1);
    });

    test('Idempotency-Key: the same key while the first request runs → 409', async () => {
      const order = await newOrder();
      h.sber.knobs.apiLatencyMs = 600;
      const send = () =>
        h.call('POST', `/api/v1/orders/${order.id}/payments`, { method: 'card' }, { ...SITE_AUTH, 'idempotency-key': `race-${order.id}` });
      const first = send();
      await new Promise((r) => setTimeout(r, 150));
      const second = await send();
      expect(second.status).toBe(409);
      expect(second.body.error.code).toBe('request_in_progress');
      expect((await first).status).toBe(201);
      expect((await db().selectFrom('payments').select('id').where('order_id', '=', order.id).execute()).length).toBe(1);
    });

    test('a second payment on a paid order → 409', async () => {
      const { order } = await paidPayment();
      const before = await count('payments');
      const r = await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'card' },
        { ...SITE_AUTH, 'idempotency-key': `second-${order.id}` },
      );
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('order_not_payable');
      expect(await count('payments')).toBe(before);
    });

    test('the bank down at registration → 502, the payment is cancelled, and the site can try again', async () => {
      const order = await newOrder();
      h.sber.knobs.apiDown = true;
      const r = await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'card' },
        { ...SITE_AUTH, 'idempotency-key': `down-${order.id}` },
      );
      expect(r.status).toBe(502);
      expect(r.body.error.code).toBe('provider_error');
      h.sber.knobs.apiDown = false;
      const again = await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'card' },
        { ...SITE_AUTH, 'idempotency-key': `down-${order.id}` },
      );
      expect(again.status).toBe(201);
      const statuses = (
        await db().selectFrom('payments').select('status').where('order_id', '=', order.id).orderBy('created_at').execute()
      ).map((p) => p.status);
      expect(statuses).toEqual(['cancelled', 'pending']);
    });

    test('duplicate callbacks change the payment once', async () => {
      h.sber.knobs.duplicateCallbacks = 3;
      const { payment } = await paidPayment();
      await h.sber.settle();
      const { mdOrder } = await mdOrderOf(payment.id);
      const attempt = await db().selectFrom('payment_attempts').select('id').where('provider_ref', '=', mdOrder).executeTakeFirstOrThrow();
      const callbacks = await db()
        .selectFrom('payment_events')
        .select('id')
        .where('attempt_id', '=', attempt.id)
        .where('kind', '=', 'callback')
        .execute();
      expect(callbacks).toHaveLength(1);
      expect(h.sber.deliveries.filter((d) => d.params.mdOrder === mdOrder && d.status === 200)).toHaveLength(4);
      const order = (await h.call('GET', `/api/v1/orders/${payment.orderId}`, undefined, SITE_AUTH)).body;
      expect(order.paidAmount).toBe(350000);
    });

    test('with callbacks lost, the janitor brings the payment to paid', async () => {
      h.sber.knobs.callbacks = 'off';
      const order = await newOrder();
      const payment = await newPayment(order.id);
      await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
      await new Promise((r) => setTimeout(r, 300));
      expect((await getPayment(payment.id)).status).toBe('pending');
      // the janitor runs every 2 s in tests and asks about attempts pending for 5 s
      await eventually(async () => (await getPayment(payment.id)).status === 'paid', 20_000, 200);
      expect(h.sber.deliveries.filter((d) => d.params.mdOrder === (payment.action.url.split('mdOrder=')[1] ?? ''))).toHaveLength(0);
    }, 30_000);

    test('the customer’s return to the site never marks the payment paid by itself', async () => {
      const order = await newOrder();
      const payment = await newPayment(order.id);
      const r = await h.call('GET', `/return/${payment.id}?result=success&orderId=${(await mdOrderOf(payment.id)).mdOrder}`);
      expect(r.status).toBe(302);
      const location = new URL(r.headers.get('location')!);
      expect(location.origin + location.pathname).toBe('https://shop.example/thanks');
      expect(location.searchParams.get('status')).toBe('pending');
      expect((await getPayment(payment.id)).status).toBe('pending');
    });

    test('a return after paying at the bank reads the bank’s status (callback lost)', async () => {
      h.sber.knobs.callbacks = 'off';
      const order = await newOrder();
      const payment = await newPayment(order.id);
      await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
      const r = await h.call('GET', `/return/${payment.id}?result=success`);
      expect(new URL(r.headers.get('location')!).searchParams.get('status')).toBe('paid');
      expect((await getPayment(payment.id)).status).toBe('paid');
    });
  });

  // ------------------------------------------------------------------ callbacks

  describe('callbacks', () => {
    async function pendingPayment() {
      const order = await newOrder();
      const payment = await newPayment(order.id);
      return { order, payment, ...(await mdOrderOf(payment.id)) };
    }

    const callbackEvents = async () =>
      Number(
        (
          await db()
            .selectFrom('payment_events')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('kind', '=', 'callback')
            .executeTakeFirstOrThrow()
        ).n,
      );

    test('a forged checksum → 403 and nothing changes, even when the bank says paid', async () => {
      const { payment, mdOrder, orderNumber } = await pendingPayment();
      h.sber.knobs.callbacks = 'off';
      h.sber.complete(mdOrder, 'paid');
      const before = await callbackEvents();
      const params = new URLSearchParams({ mdOrder, orderNumber, operation: 'deposited', status: '1', checksum: 'A'.repeat(64) });
      const r = await h.call('GET', `/callbacks/sber/main?${params}`);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('invalid_signature');
      expect((await getPayment(payment.id)).status).toBe('pending');
      expect(await callbackEvents()).toBe(before);
      const noChecksum = await h.call(
        'GET',
        `/callbacks/sber/main?mdOrder=${mdOrder}&orderNumber=${orderNumber}&operation=deposited&status=1`,
      );
      expect(noChecksum.status).toBe(403);
    });

    test('a checksum made with another secret → 403', async () => {
      const { payment, mdOrder, orderNumber } = await pendingPayment();
      const p = { mdOrder, orderNumber, operation: 'deposited', status: '1' };
      const r = await h.call(
        'GET',
        `/callbacks/sber/main?${new URLSearchParams({ ...p, checksum: symmetricChecksum(p, 'not-the-secret') })}`,
      );
      expect(r.status).toBe(403);
      expect((await getPayment(payment.id)).status).toBe('pending');
    });

    test('a delimiter-injected callback (a value carrying ";status;1") → 403', async () => {
      const { payment, mdOrder, orderNumber } = await pendingPayment();
      h.sber.knobs.callbacks = 'off';
      h.sber.complete(mdOrder, 'paid');
      // its signed string is byte for byte that of {orderNumber, status: 1}: only the ";" rule tells them apart
      const injected = { mdOrder, operation: 'deposited', orderNumber: `${orderNumber};status;1` };
      const honest = { mdOrder, operation: 'deposited', orderNumber, status: '1' };
      expect(symmetricChecksum(injected, SANDBOX.sber.callbackSecret)).toBe(symmetricChecksum(honest, SANDBOX.sber.callbackSecret));
      const before = await callbackEvents();
      const r = await h.call('GET', `/callbacks/sber/main?${signed(injected)}`);
      expect(r.status).toBe(403);
      expect((await getPayment(payment.id)).status).toBe('pending');
      expect(await callbackEvents()).toBe(before);
    });

    test('a signed callback without orderNumber (as the bank’s published examples) is found by mdOrder and accepted', async () => {
      const { payment, mdOrder } = await pendingPayment();
      h.sber.knobs.callbacks = 'off';
      h.sber.complete(mdOrder, 'paid');
      const r = await h.call('GET', `/callbacks/sber/main?${signed({ mdOrder, operation: 'deposited', status: '1' })}`);
      expect(r.status).toBe(200);
      await eventually(async () => (await getPayment(payment.id)).status === 'paid');
    });

    test('a signed callback the gateway does not take → 400 saying why, not that the signature failed; nothing changes', async () => {
      const { payment, mdOrder, orderNumber } = await pendingPayment();
      const before = await callbackEvents();
      const r = await h.call('GET', `/callbacks/sber/main?${signed({ mdOrder, orderNumber, operation: 'mystery', status: '1' })}`);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('invalid_callback');
      expect(JSON.stringify(r.body)).not.toMatch(/signature/);
      expect(r.body.error.details[0].message).toBe('unknown operation mystery');
      const noId = await h.call('GET', `/callbacks/sber/main?${signed({ orderNumber, operation: 'deposited', status: '1' })}`);
      expect(noId.status).toBe(400);
      expect(noId.body.error.details[0].message).toBe('mdOrder missing');
      expect(await callbackEvents()).toBe(before);
      expect((await getPayment(payment.id)).status).toBe('pending');
    });

    test('a "refunded" callback names the refund’s amount: accepted, no mismatch, no alert', async () => {
      const { payment } = await paidPayment();
      const { mdOrder, orderNumber } = await mdOrderOf(payment.id);
      const refunded = await h.call(
        'POST',
        `/api/v1/payments/${payment.id}/refunds`,
        { amount: 100000 },
        { ...SITE_AUTH, 'idempotency-key': `r-${Math.random()}` },
      );
      expect(refunded.status).toBe(201);
      await eventually(async () => (await getPayment(payment.id)).status === 'partially_refunded');
      const r = await h.call(
        'GET',
        `/callbacks/sber/main?${signed({ mdOrder, orderNumber, operation: 'refunded', status: '1', amount: '100000' })}`,
      );
      expect(r.status).toBe(200);
      const mismatch = await db()
        .selectFrom('jobs')
        .select('id')
        .where('name', '=', 'alert.send')
        .where('payload', 'like', `%callback-amount:%`)
        .where('payload', 'like', `%${payment.id}%`)
        .execute();
      expect(mismatch).toHaveLength(0);
      expect((await getPayment(payment.id)).status).toBe('partially_refunded');
    });

    test('a replayed callback is harmless: 200, recorded once', async () => {
      const { payment, mdOrder, orderNumber } = await pendingPayment();
      const query = signed({ mdOrder, orderNumber, operation: 'deposited', status: '1' });
      h.sber.knobs.callbacks = 'off';
      h.sber.complete(mdOrder, 'paid');
      const first = await h.call('GET', `/callbacks/sber/main?${query}`);
      expect(first.status).toBe(200);
      expect(first.text).toBe('OK');
      const before = await callbackEvents();
      const again = await h.call('GET', `/callbacks/sber/main?${query}`);
      expect(again.status).toBe(200);
      expect(await callbackEvents()).toBe(before);
      await eventually(async () => (await getPayment(payment.id)).status === 'paid');
    });

    test('a signed "paid" callback the status API contradicts changes nothing', async () => {
      const { payment, mdOrder, orderNumber } = await pendingPayment();
      const r = await h.call('GET', `/callbacks/sber/main?${signed({ mdOrder, orderNumber, operation: 'deposited', status: '1' })}`);
      expect(r.status).toBe(200);
      // the job that applies the bank's answer has run, and the answer was "not paid"
      const db = h.gateway.store.db;
      const attempt = await db.selectFrom('payment_attempts').select('id').where('payment_id', '=', payment.id).executeTakeFirstOrThrow();
      await eventually(async () => {
        const jobs = await db
          .selectFrom('jobs')
          .select(['status', 'payload'])
          .where('name', '=', 'payment.apply')
          .where('status', '=', 'done')
          .execute();
        return jobs.some((j) => JSON.parse(String(j.payload)).attemptId === attempt.id);
      });
      expect((await getPayment(payment.id)).status).toBe('pending');
    });

    test('POST callbacks (form body) work like GET', async () => {
      const { payment, mdOrder, orderNumber } = await pendingPayment();
      h.sber.knobs.callbacks = 'off';
      h.sber.complete(mdOrder, 'paid');
      const r = await h.call('POST', '/callbacks/sber/main', signed({ mdOrder, orderNumber, operation: 'deposited', status: '1' }), {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(r.status).toBe(200);
      await eventually(async () => (await getPayment(payment.id)).status === 'paid');
    });

    test('a callback for an unknown attempt → 404 and nothing recorded', async () => {
      const before = await callbackEvents();
      const r = await h.call(
        'GET',
        `/callbacks/sber/main?${signed({ mdOrder: '11111111-2222-3333-4444-555555555555', orderNumber: 'x-1', operation: 'deposited', status: '1' })}`,
      );
      expect(r.status).toBe(404);
      expect(await callbackEvents()).toBe(before);
      expect(
        (
          await h.call(
            'GET',
            `/callbacks/sber/nosuchorg?${signed({ mdOrder: 'a', orderNumber: 'b', operation: 'deposited', status: '1' })}`,
          )
        ).status,
      ).toBe(404);
    });

    test('a callback whose order number is not the attempt’s → 403', async () => {
      const { payment, mdOrder } = await pendingPayment();
      h.sber.knobs.callbacks = 'off';
      h.sber.complete(mdOrder, 'paid');
      const r = await h.call(
        'GET',
        `/callbacks/sber/main?${signed({ mdOrder, orderNumber: 'someone-else', operation: 'deposited', status: '1' })}`,
      );
      expect(r.status).toBe(403);
      expect((await getPayment(payment.id)).status).toBe('pending');
    });

    test('a callback whose amount differs from the attempt → 422, payment unchanged, support alerted', async () => {
      const { payment, mdOrder, orderNumber } = await pendingPayment();
      h.sber.knobs.callbacks = 'off';
      h.sber.complete(mdOrder, 'paid');
      const r = await h.call(
        'GET',
        `/callbacks/sber/main?${signed({ mdOrder, orderNumber, operation: 'deposited', status: '1', amount: '100' })}`,
      );
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('amount_mismatch');
      expect((await getPayment(payment.id)).status).toBe('pending');
      await eventually(async () => h.logs.some((l) => l.includes('Уведомление банка с чужой суммой')));
    });

    test('a late "paid" callback after a refund does not move the payment back', async () => {
      h.sber.knobs.callbackDelayMs = 1500;
      const order = await newOrder();
      const payment = await newPayment(order.id);
      await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
      await h.call('GET', `/return/${payment.id}`); // the return reads the status before the callback comes
      expect((await getPayment(payment.id)).status).toBe('paid');
      h.sber.knobs.callbackDelayMs = 0;
      await h.call(
        'POST',
        `/api/v1/payments/${payment.id}/refunds`,
        { amount: 350000 },
        { ...SITE_AUTH, 'idempotency-key': `late-${payment.id}` },
      );
      await eventually(async () => (await getPayment(payment.id)).status === 'refunded');
      await h.sber.settle(); // the late "deposited" callback arrives now
      expect((await getPayment(payment.id)).status).toBe('refunded');
      expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body).toMatchObject({
        paidAmount: 350000,
        refundedAmount: 350000,
        status: 'refunded',
      });
    });
  });

  // ------------------------------------------------------------------ refunds

  describe('refunds', () => {
    const refund = (paymentId: string, amount: unknown, key = `r-${Math.random()}`) =>
      h.call('POST', `/api/v1/payments/${paymentId}/refunds`, { amount }, { ...SITE_AUTH, 'idempotency-key': key });

    test('partial, then the rest: partially_refunded → refunded; the bank returned exactly that', async () => {
      const { payment, order } = await paidPayment();
      const r1 = await refund(payment.id, 100000);
      expect(r1.status).toBe(201);
      expect(r1.body).toMatchObject({ amount: 100000, status: 'pending' });
      await eventually(async () => (await getPayment(payment.id)).status === 'partially_refunded');
      const p1 = await getPayment(payment.id);
      expect(p1.refunded).toBe(100000);
      expect(p1.refunds[0].status).toBe('succeeded');
      const r2 = await refund(payment.id, 250000);
      expect(r2.status).toBe(201);
      await eventually(async () => (await getPayment(payment.id)).status === 'refunded');
      const { mdOrder } = await mdOrderOf(payment.id);
      expect(h.sber.orders.get(mdOrder)!.refundedAmount).toBe(350000);
      expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body).toMatchObject({
        status: 'refunded',
        refundedAmount: 350000,
      });
    });

    test('a same-day full refund is a cancellation at the bank (reverse.do)', async () => {
      const { payment } = await paidPayment();
      const before = h.sber.calls['reverse.do'] ?? 0;
      await refund(payment.id, 350000);
      await eventually(async () => (await getPayment(payment.id)).status === 'refunded');
      expect(h.sber.calls['reverse.do']).toBe(before + 1);
      expect(h.sber.orders.get((await mdOrderOf(payment.id)).mdOrder)!.orderStatus).toBe(3);
    });

    test('above the paid amount → 422, nothing changes', async () => {
      const { payment } = await paidPayment();
      const before = await count('refunds');
      const r = await refund(payment.id, 350001);
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('refund_exceeds_payment');
      expect(await count('refunds')).toBe(before);
      expect((await getPayment(payment.id)).status).toBe('paid');
      await refund(payment.id, 300000);
      const r2 = await refund(payment.id, 60000);
      expect(r2.status).toBe(422);
    });

    test('a refund done at the bank counts before the bank’s figure reaches the payment', async () => {
      const { payment } = await paidPayment();
      // the moment between the refund marked succeeded and the payment's refunded_amount updated after it
      const now = new Date().toISOString();
      await db()
        .insertInto('refunds')
        .values({
          id: randomUUID(),
          payment_id: payment.id,
          amount: 300000,
          status: 'succeeded',
          refunded_before: 0,
          error: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      const r = await refund(payment.id, 60000);
      expect(r.status).toBe(422);
      expect(r.body.error.details[0].message).toContain('refunded 300000');
      expect((await refund(payment.id, 50000)).status).toBe(201);
    });

    test.each([
      ['zero', 0],
      ['negative', -5],
      ['fractional', 10.5],
      ['a string', '100'],
    ])('%s amount → 422', async (_n, amount) => {
      const { payment } = await paidPayment(1000);
      const r = await refund(payment.id, amount);
      expect(r.status).toBe(422);
      expect(r.body.error.details[0].path).toBe('amount');
    });

    test('refunding an unpaid payment → 409', async () => {
      const order = await newOrder();
      const payment = await newPayment(order.id);
      const r = await refund(payment.id, 100);
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('payment_not_refundable');
    });

    test('the same refund request twice (same key) refunds once', async () => {
      const { payment } = await paidPayment();
      const a = await refund(payment.id, 1000, `dup-${payment.id}`);
      const b = await refund(payment.id, 1000, `dup-${payment.id}`);
      expect(b.body.id).toBe(a.body.id);
      await eventually(async () => (await getPayment(payment.id)).status === 'partially_refunded');
      expect(h.sber.orders.get((await mdOrderOf(payment.id)).mdOrder)!.refundedAmount).toBe(1000);
    });
  });

  // ------------------------------------------------------------------ operations

  describe('operations', () => {
    test('health, metrics and the OpenAPI document', async () => {
      expect((await h.call('GET', '/health/live')).body).toEqual({ status: 'ok' });
      const ready = await h.call('GET', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.checks.store.ok).toBe(true);
      expect(ready.body.checks.queue.runner).toBe(opts.redis ? 'bullmq' : 'local');
      const metrics = await h.call('GET', '/metrics');
      expect(metrics.text).toContain('gateway_http_request_duration_seconds');
      expect(metrics.text).toContain('gateway_jobs{status="done"}');
      // the monitoring rules' last checks, whichever process checked them
      await h.gateway.runner.runScheduleNow('monitoring');
      const monitored = (await h.call('GET', '/metrics')).text;
      expect(monitored).toMatch(/^gateway_monitor_value\{rule="paid_not_in_1c"\} \d+$/m);
      expect(monitored).toMatch(/^gateway_monitor_firing\{rule="dead_jobs"\} [01]$/m);
      const doc = (await h.call('GET', '/openapi.json')).body;
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/v1/orders',
          '/api/v1/orders/{id}/payments',
          '/api/v1/payments/{id}',
          '/api/v1/payments/{id}/refunds',
        ]),
      );
      expect(doc.components.schemas.Order.properties.total).toBeDefined();
      expect(doc.paths['/api/v1/orders'].post.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/CreateOrder');
      expect(doc.paths['/sandbox/payments/{id}/complete'].post.tags).toEqual(['sandbox']);
    });

    test('admin endpoints need the admin key', async () => {
      expect((await h.call('GET', '/api/v1/admin/jobs', undefined, SITE_AUTH)).status).toBe(401);
      const ok = await h.call('GET', '/api/v1/admin/jobs?status=done&limit=5', undefined, ADMIN_AUTH);
      expect(ok.status).toBe(200);
      expect(Array.isArray(ok.body.items)).toBe(true);
      expect((await h.call('GET', '/api/v1/admin/jobs?status=bogus', undefined, ADMIN_AUTH)).status).toBe(400);
    });

    test('no secret reaches a log line', async () => {
      await paidPayment();
      const all = h.logs.join('\n');
      expect(all).not.toContain(SANDBOX.sber.password);
      expect(all).not.toContain(SANDBOX.sber.callbackSecret);
      expect(all).not.toContain(SANDBOX.siteKey);
      expect(all).toMatch(/"paymentId":"[0-9a-f-]{36}"/);
      expect(all).toMatch(/"requestId":"[0-9a-f-]{36}"/);
    });
  });
}

describe('checkout on SQLite with the in-process runner', () => checkoutSuite({ db: 'sqlite' }));
describeWith(['postgres', 'redis'], 'checkout on PostgreSQL with BullMQ', () => checkoutSuite({ db: 'postgres', redis: true }));
