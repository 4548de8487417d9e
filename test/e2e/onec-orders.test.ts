import { ADMIN_AUTH, eventually, ONEC_KEY, orderBody, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';

/**
 * Orders a manager creates in 1C get a payment link: pushed by 1C (`POST /api/v1/onec/orders`) or
 * pulled from the base by the gateway (the link written back into the 1C order); the customer pays
 * on the hosted page; 1C can pull the payments back (`GET /api/v1/onec/payments`).
 */

const ONEC = { authorization: `Bearer ${ONEC_KEY}` };
const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`1c:${password}`).toString('base64')}` });

describe('orders from 1C', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ onec: { configuration: 'ut11', pull: true } });
  });
  afterAll(() => h?.close());

  const pushBody = (ref: string, number: string) => ({
    ref,
    number,
    customer: { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001' },
    items: [{ sku: 'srv-1', name: 'Монтаж', quantity: 1, price: 250000, amount: 250000, vat: 'vat22', kind: 'service' }],
    total: 250000,
  });

  test('push: 1C sends an order and gets {orderId, payUrl, qr}; the same order again gets the same answer', async () => {
    const inBase = h.onec!.seedCustomerOrder({ number: 'ЗК-000101', total: 2500 });
    const first = await h.call('POST', '/api/v1/onec/orders', pushBody(inBase.Ref_Key as string, 'ЗК-000101'), ONEC);
    expect(first.status).toBe(201);
    expect(first.body.payUrl).toMatch(new RegExp(`^${h.url}/pay/[A-Za-z0-9_-]{22}$`));
    expect(first.body.qr.payload).toBe(first.body.payUrl);
    expect(first.body.qr.image).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(Buffer.from(first.body.qr.image.split(',')[1], 'base64').toString()).toContain('<svg');
    const again = await h.call('POST', '/api/v1/onec/orders', pushBody(inBase.Ref_Key as string, 'ЗК-000101'), basic(ONEC_KEY));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const order = (await h.call('GET', `/api/v1/orders/${first.body.orderId}`, undefined, SITE_AUTH)).body;
    expect(order).toMatchObject({
      source: 'onec',
      onecRef: inBase.Ref_Key as string,
      number: 'ЗК-000101',
      total: 250000,
      status: 'awaiting_payment',
    });
  });

  test('push: a wrong key is 401, a wrong body 422 with field paths; nothing is created', async () => {
    const before = (
      await h.gateway.store.db
        .selectFrom('orders')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;
    expect(
      (
        await h.call('POST', '/api/v1/onec/orders', pushBody('f0e2c5d6-1234-4abc-9def-0123456789ab', 'X'), {
          authorization: 'Bearer nope-nope-nope-nope',
        })
      ).status,
    ).toBe(401);
    expect((await h.call('POST', '/api/v1/onec/orders', pushBody('f0e2c5d6-1234-4abc-9def-0123456789ab', 'X'), SITE_AUTH)).status).toBe(
      401,
    );
    const bad = await h.call('POST', '/api/v1/onec/orders', { ...pushBody('not-a-guid', 'X'), total: 1 }, ONEC);
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.map((d: any) => d.path)).toContain('ref');
    const sums = await h.call('POST', '/api/v1/onec/orders', { ...pushBody('f0e2c5d6-1234-4abc-9def-0123456789ab', 'X'), total: 1 }, ONEC);
    expect(sums.status).toBe(422);
    expect(sums.body.error.code).toBe('totals_mismatch');
    const after = (
      await h.gateway.store.db
        .selectFrom('orders')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;
    expect(Number(after)).toBe(Number(before));
  });

  test('pull: a new order in 1C is picked up, its link written back into the 1C order; paid on the page; the document lands', async () => {
    const inBase = h.onec!.seedCustomerOrder({
      number: 'ЗК-000202',
      total: 1800,
      paymentForm: 'ПлатежнаяКарта',
      comment: 'Позвонить перед доставкой',
      rows: [
        { itemRef: h.onec!.refs.items[0], quantity: 2, price: 500, amount: 1000 },
        { itemRef: h.onec!.refs.items[1], quantity: 3, price: 300, amount: 800 },
      ],
    });
    // an order paid otherwise is not picked up
    h.onec!.seedCustomerOrder({ number: 'ЗК-000203', total: 100, paymentForm: 'Наличная' });
    expect((await h.call('POST', '/api/v1/admin/schedules/onec.pull-orders/run', undefined, ADMIN_AUTH)).status).toBe(200);

    const order = (await h.gateway.store.db
      .selectFrom('orders')
      .selectAll()
      .where('onec_ref', '=', inBase.Ref_Key as string)
      .executeTakeFirst())!;
    expect(order).toMatchObject({ source: 'onec', number: 'ЗК-000202', total: 180000 });
    const items = JSON.parse(order.items);
    expect(items[0]).toMatchObject({ quantity: 2, price: 50000, amount: 100000 });
    // the discounted line keeps its amount
    expect(items[1].amount).toBe(80000);
    expect((await h.gateway.store.db.selectFrom('orders').select('id').where('number', '=', 'ЗК-000203').execute()).length).toBe(0);

    const link = await eventually(async () => {
      const comment = String(h.onec!.get('Document_ЗаказКлиента', inBase.Ref_Key as string)!.Комментарий ?? '');
      return /https?:\/\/\S+\/pay\/\S+/.exec(comment)?.[0];
    });
    expect(String(h.onec!.get('Document_ЗаказКлиента', inBase.Ref_Key as string)!.Комментарий)).toMatch(
      /^Позвонить перед доставкой\nСсылка на оплату: /,
    );

    // a second run picks nothing up again and does not write the link twice
    await h.call('POST', '/api/v1/admin/schedules/onec.pull-orders/run', undefined, ADMIN_AUTH);
    expect(
      (
        await h.gateway.store.db
          .selectFrom('orders')
          .select('id')
          .where('onec_ref', '=', inBase.Ref_Key as string)
          .execute()
      ).length,
    ).toBe(1);

    const pageHtml = await (await fetch(link)).text();
    expect(pageHtml).toContain('Заказ №ЗК-000202');
    expect(pageHtml).toContain('Оплатить картой');
    expect(pageHtml).toContain('1&nbsp;800,00&nbsp;₽'.replace(/&nbsp;/g, '\u00a0'));

    const form = await fetch(`${link}/card`, { method: 'POST', redirect: 'manual' });
    expect(form.status).toBe(303);
    h.sber.complete(new URL(form.headers.get('location')!).searchParams.get('mdOrder')!, 'paid');
    const payment = await eventually(async () =>
      (await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body.payments.find((p: any) => p.status === 'paid'),
    );
    await eventually(
      async () => (await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.onec.status === 'delivered',
    );
    expect(h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === (inBase.Ref_Key as string) && d.posted)).toHaveLength(1);

    const paidPage = await (await fetch(link)).text();
    expect(paidPage).toContain('Заказ оплачен');
    expect(paidPage).not.toContain('Оплатить картой');
  });

  test('1C pulls the payments: since, then the cursor; a page, then nothing new', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'card' },
        { ...SITE_AUTH, 'idempotency-key': `pull-${order.id}` },
      )
    ).body;
    await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
    await eventually(async () => (await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status === 'paid');

    const all = [];
    let r = await h.call('GET', '/api/v1/onec/payments?since=2020-01-01T00:00:00Z&limit=2', undefined, ONEC);
    expect(r.status).toBe(200);
    for (let i = 0; i < 50 && r.body.items.length > 0; i++) {
      all.push(...r.body.items);
      r = await h.call('GET', `/api/v1/onec/payments?cursor=${r.body.next}&limit=2`, undefined, ONEC);
    }
    expect(r.body.items).toEqual([]);
    expect(r.body.next).toBeTruthy();
    const mine = all.filter((p) => p.paymentId === payment.id);
    expect(mine.length).toBeGreaterThanOrEqual(1);
    expect(mine[mine.length - 1]).toMatchObject({
      orderId: order.id,
      orderNumber: order.number,
      status: 'paid',
      amount: 350000,
      method: 'card',
      provider: 'sber',
    });
    expect(new Set(all.map((p) => `${p.paymentId}|${p.updatedAt}`)).size).toBe(all.length);

    expect((await h.call('GET', '/api/v1/onec/payments', undefined, ONEC)).status).toBe(400);
    expect((await h.call('GET', '/api/v1/onec/payments?since=yesterday', undefined, ONEC)).status).toBe(400);
    expect((await h.call('GET', '/api/v1/onec/payments?since=2020-01-01T00:00:00Z', undefined, SITE_AUTH)).status).toBe(401);
  });
});

describe('the hosted payment page', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());

  test('the site asks for an order’s link; the page shows lines, total and organization, escapes what it shows', async () => {
    const order = (
      await h.call(
        'POST',
        '/api/v1/orders',
        orderBody({
          items: [{ sku: 'x', name: 'Чайник <script>alert(1)</script>', quantity: 2, price: 150000, amount: 300000, vat: 'vat22' }],
          total: 300000,
        }),
        SITE_AUTH,
      )
    ).body;
    const link = await h.call('POST', `/api/v1/orders/${order.id}/payment-link`, undefined, SITE_AUTH);
    expect(link.status).toBe(200);
    const again = await h.call('POST', `/api/v1/orders/${order.id}/payment-link`, undefined, SITE_AUTH);
    expect(again.body.url).toBe(link.body.url);
    const res = await fetch(link.body.url);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('<html lang="ru">');
    expect(html).toContain('ООО «Ромашка»');
    expect(html).toContain(`Заказ №${order.number}`);
    expect(html).toContain('Чайник &lt;script&gt;');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('3\u00a0000,00\u00a0₽');
  });

  test('pressing the button twice reuses the pending payment; the status endpoint follows the bank', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    const { url } = (await h.call('POST', `/api/v1/orders/${order.id}/payment-link`, undefined, SITE_AUTH)).body;
    const a = await fetch(`${url}/card`, { method: 'POST', redirect: 'manual' });
    const b = await fetch(`${url}/card`, { method: 'POST', redirect: 'manual' });
    expect(a.headers.get('location')).toBe(b.headers.get('location'));
    expect(((await (await fetch(`${url}/status`)).json()) as any).paymentStatus).toBe('pending');
    h.sber.complete(new URL(a.headers.get('location')!).searchParams.get('mdOrder')!, 'declined');
    await eventually(async () => ((await (await fetch(`${url}/status`)).json()) as any).paymentStatus === 'declined');
    // after a decline the button makes a new payment
    const c = await fetch(`${url}/card`, { method: 'POST', redirect: 'manual' });
    expect(c.headers.get('location')).not.toBe(a.headers.get('location'));
  });

  test('an unknown page is 404; another organization’s order cannot get a link', async () => {
    expect((await fetch(`${h.url}/pay/aaaaaaaaaaaaaaaaaaaaaa`)).status).toBe(404);
    expect((await fetch(`${h.url}/pay/x`)).status).toBe(404);
    expect((await h.call('POST', '/api/v1/orders/00000000-0000-0000-0000-000000000000/payment-link', undefined, SITE_AUTH)).status).toBe(
      404,
    );
  });
});
