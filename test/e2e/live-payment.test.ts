import { eventually, ONEC_KEY, orderBody, receiver, SITE_AUTH, startHarness, type Harness, type HarnessOptions } from '../helpers/harness';
import { describeWith } from '../helpers/services';

/**
 * One live payment per order, end to end against the emulated Sber, T-Bank and 1C: a new payment of an
 * order gives the older attempt up at its bank where the bank allows it; an older attempt the bank would
 * not give up and that got paid anyway is a double payment, alerted (default) or refunded
 * (`doublePayment: refund`), kept out of 1C either way, and the payments' timelines say why.
 */

type Alerts = Awaited<ReturnType<typeof receiver>>;

function liveSuite(doublePayment: 'alert' | 'refund', backend: Pick<HarnessOptions, 'db' | 'redis'> = {}): void {
  let h: Harness;
  let alerts: Alerts;
  beforeAll(async () => {
    alerts = await receiver();
    h = await startHarness({
      ...backend,
      onec: { configuration: 'ut11' },
      overrides: (raw) => {
        // status checks run when a test asks, so each test sees what it caused
        raw.janitor = { everySeconds: 3600, pollPendingAfterSeconds: 3600, expireAfterMinutes: 600 };
        raw.alerts = { channels: [{ type: 'webhook', url: alerts.url, secret: 'alert-webhook-secret' }] };
        if (doublePayment === 'refund') raw.organizations[0].doublePayment = 'refund';
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await alerts?.close();
  });
  beforeEach(() => {
    h.sber.knobs.callbacks = 'on';
    h.tbank.knobs.callbacks = 'on';
  });

  const payment = async (id: string) => (await h.call('GET', `/api/v1/payments/${id}`, undefined, SITE_AUTH)).body;
  const attemptOf = (paymentId: string) =>
    h.gateway.store.db.selectFrom('payment_attempts').selectAll().where('payment_id', '=', paymentId).executeTakeFirstOrThrow();

  async function siteOrder() {
    const number = `Ж-${Math.floor(Math.random() * 1e7)}`;
    const inBase = h.onec!.seedCustomerOrder({ number, total: 3500 });
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ number }), SITE_AUTH)).body;
    expect(order.status).toBe('awaiting_payment');
    return { order, inBase };
  }

  async function start(orderId: string, provider: 'sber' | 'tbank' = 'sber') {
    const r = await h.call(
      'POST',
      `/api/v1/orders/${orderId}/payments`,
      { method: 'card', provider, returnUrl: 'https://shop.example/thanks' },
      { ...SITE_AUTH, 'idempotency-key': `live-${Math.random()}` },
    );
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('pending');
    return r.body;
  }

  const documentsOf = (orderRef: string) => h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === orderRef);

  if (doublePayment === 'alert') {
    test('Sber: a second payment declines the first attempt at the bank (decline.do); the first is cancelled as replaced and its form can no longer pay', async () => {
      const { order, inBase } = await siteOrder();
      const first = await start(order.id);
      const second = await start(order.id);

      const cancelled = await eventually(async () => {
        const v = await payment(first.id);
        return v.status === 'cancelled' ? v : null;
      });
      expect(cancelled.statusReason).toBe(`заменён новым платежом ${second.id}`);
      const event = cancelled.events.find((e: any) => e.kind === 'cancel');
      expect(event).toMatchObject({ outcome: 'cancelled' });
      expect(event.note).toContain(`новый платёж ${second.id}`);
      const { provider_ref: md1 } = await attemptOf(first.id);
      expect(h.sber.orders.get(md1!)!.orderStatus).toBe(6);

      // the customer finds the first form in another tab: the bank does not take the money
      h.sber.complete(md1!, 'paid');
      expect(h.sber.orders.get(md1!)!.depositedAmount).toBe(0);
      // the second pays as usual, and 1C gets one payment
      await h.call('POST', `/sandbox/payments/${second.id}/complete`, { outcome: 'paid' });
      await eventually(async () => (await payment(second.id)).onec.status === 'delivered', 10_000);
      expect(documentsOf(inBase.Ref_Key as string)).toHaveLength(1);
      expect((await payment(second.id)).events.some((e: any) => e.kind === 'double_payment')).toBe(false);
    });

    test('Sber: the first customer is in 3-D Secure, the bank refuses decline.do; both get paid: the later is a double payment, alerted in Russian, kept out of 1C, not refunded', async () => {
      const { order, inBase } = await siteOrder();
      const first = await start(order.id);
      const { provider_ref: md1 } = await attemptOf(first.id);
      h.sber.complete(md1!, 'acs');
      const second = await start(order.id);

      const refused = await eventually(async () => (await payment(first.id)).events.find((e: any) => e.kind === 'cancel'));
      expect(refused.outcome).toBe('refused');
      expect(refused.note).toContain('Банк не отменил попытку');
      expect((await payment(first.id)).status).toBe('pending');

      // 3-D Secure passes: the first is paid after all, then the customer pays the second too
      h.sber.complete(md1!, 'paid');
      await eventually(async () => (await payment(first.id)).status === 'paid');
      await h.call('POST', `/sandbox/payments/${second.id}/complete`, { outcome: 'paid' });
      const later = await eventually(async () => {
        const v = await payment(second.id);
        return v.status === 'paid' ? v : null;
      });

      expect(later.onec.status).toBe('skipped');
      expect(later.events.find((e: any) => e.kind === 'double_payment')).toMatchObject({
        outcome: 'alert',
        note: expect.stringContaining(`уже был оплачен платежом ${first.id}`),
      });
      const alert = await eventually(async () => alerts.received.find((r) => r.body?.key === `double-payment:${second.id}`));
      expect(alert.body).toMatchObject({ severity: 'critical', title: 'Двойная оплата заказа' });
      expect(alert.body.text).toContain(`POST /api/v1/payments/${second.id}/refunds`);
      // only the first reaches 1C, pushed or pulled; nothing went back to the customer on its own
      await eventually(async () => (await payment(first.id)).onec.status === 'delivered', 10_000);
      expect(documentsOf(inBase.Ref_Key as string)).toEqual([expect.objectContaining({ marker: h.onec!.marker(first.id) })]);
      const pulled = await h.call('GET', `/api/v1/onec/payments?since=${encodeURIComponent(order.createdAt)}&limit=500`, undefined, {
        authorization: `Bearer ${ONEC_KEY}`,
      });
      expect(pulled.status).toBe(200);
      const ids = pulled.body.items.map((i: any) => i.paymentId);
      expect(ids).toContain(first.id);
      expect(ids).not.toContain(second.id);
      const { provider_ref: md2 } = await attemptOf(second.id);
      expect(h.sber.orders.get(md2!)).toMatchObject({ orderStatus: 2, refundedAmount: 0 });
    });
  }

  if (doublePayment === 'refund') {
    test('T-Bank: a second payment cancels the first one (Cancel on NEW): CANCELED at the bank, cancelled here', async () => {
      const { order } = await siteOrder();
      const first = await start(order.id, 'tbank');
      const second = await start(order.id, 'tbank');
      await eventually(async () => (await payment(first.id)).status === 'cancelled');
      const { provider_ref: id1 } = await attemptOf(first.id);
      expect(h.tbank.payments.get(id1!)!.status).toBe('CANCELED');
      expect((await payment(second.id)).status).toBe('pending');
    });

    test('T-Bank: the first was paid before it could be cancelled (its notification lost); the later payment is refunded at the bank once, stays out of 1C with its refund, and the timeline says why', async () => {
      const { order, inBase } = await siteOrder();
      const first = await start(order.id, 'tbank');
      const { provider_ref: id1 } = await attemptOf(first.id);
      h.tbank.knobs.callbacks = 'off';
      h.tbank.complete(id1!, 'paid');
      h.tbank.knobs.callbacks = 'on';

      const second = await start(order.id, 'tbank');
      // the cancellation finds it paid: refused, and the payment is paid after all
      await eventually(async () => (await payment(first.id)).status === 'paid');
      expect((await payment(first.id)).events.find((e: any) => e.kind === 'cancel')).toMatchObject({ outcome: 'refused' });
      expect(h.tbank.payments.get(id1!)).toMatchObject({ status: 'CONFIRMED', refunded: 0 });

      const { provider_ref: id2 } = await attemptOf(second.id);
      h.tbank.complete(id2!, 'paid');
      const refunded = await eventually(async () => {
        const v = await payment(second.id);
        return v.status === 'refunded' && v.refunds[0]?.status === 'succeeded' ? v : null;
      }, 10_000);
      expect(refunded.refunds).toEqual([
        expect.objectContaining({ amount: 350000, status: 'succeeded', onec: { status: 'skipped', error: expect.any(String) } }),
      ]);
      expect(refunded.onec.status).toBe('skipped');
      expect(refunded.events.find((e: any) => e.kind === 'double_payment')).toMatchObject({
        outcome: 'refund',
        note: expect.stringContaining('возвращается покупателю автоматически'),
      });
      expect(h.tbank.payments.get(id2!)).toMatchObject({ status: 'REFUNDED', refunded: 350000 });
      await eventually(async () => (await payment(first.id)).onec.status === 'delivered', 10_000);
      expect(documentsOf(inBase.Ref_Key as string)).toEqual([expect.objectContaining({ marker: h.onec!.marker(first.id) })]);
      const alert = await eventually(async () => alerts.received.find((r) => r.body?.key === `double-payment:${second.id}`));
      expect(alert.body.text).toContain('возвращаются покупателю автоматически');
    });
  }
}

describe('one live payment per order (doublePayment: alert, the default)', () => liveSuite('alert'));
describe('one live payment per order (doublePayment: refund)', () => liveSuite('refund'));
describeWith(['postgres', 'redis'], 'one live payment per order on PostgreSQL with BullMQ (doublePayment: refund)', () =>
  liveSuite('refund', { db: 'postgres', redis: true }),
);
