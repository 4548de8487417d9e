import { createHmac } from 'node:crypto';
import { nowIso } from '../../gateway/store/db';
import { ADMIN_AUTH, eventually, orderBody, receiver, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';

/** What support relies on: dead jobs alert and can be retried, stale attempts expire, webhooks are signed. */

async function paidPayment(h: Harness) {
  const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
  const payment = (
    await h.call('POST', `/api/v1/orders/${order.id}/payments`, { method: 'card' }, { ...SITE_AUTH, 'idempotency-key': `k-${order.id}` })
  ).body;
  await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
  await eventually(async () => (await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status === 'paid');
  return { order, payment };
}

describe('dead jobs, alerts and the admin retry', () => {
  let h: Harness;
  let site: Awaited<ReturnType<typeof receiver>>;
  let alerts: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    site = await receiver();
    alerts = await receiver();
    h = await startHarness({
      siteWebhook: { url: site.url, secret: 'site-webhook-secret-1' },
      overrides: (raw) => {
        raw.jobs = { ...raw.jobs, maxAttempts: 3, backoffBaseMs: 20, backoffMaxMs: 50 };
        raw.alerts = { channels: [{ type: 'log' }, { type: 'webhook', url: alerts.url, secret: 'alert-webhook-secret' }] };
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await site.close();
    await alerts.close();
  });

  test('the site webhook is signed with the organization’s secret and carries the payment', async () => {
    const { payment } = await paidPayment(h);
    const hook = await eventually(async () => site.received.find((r) => r.body?.payment?.id === payment.id));
    expect(hook.body).toMatchObject({ event: 'payment.paid', payment: { id: payment.id, status: 'paid', amount: 350000 } });
    const raw = JSON.stringify(hook.body);
    expect(hook.headers['x-signature']).toBe(`sha256=${createHmac('sha256', 'site-webhook-secret-1').update(raw).digest('hex')}`);
  });

  test('a site that keeps failing: the job dies, support is alerted, and the admin retry delivers it after the fix', async () => {
    site.status = 500;
    const before = site.received.length;
    const { payment } = await paidPayment(h);
    const dead = await eventually(async () => {
      const r = await h.call('GET', '/api/v1/admin/jobs?status=dead&name=payment.notify-site', undefined, ADMIN_AUTH);
      return r.body.items.find((j: any) => j.payload.paymentId === payment.id);
    }, 10_000);
    expect(dead).toMatchObject({ status: 'dead', attempts: 3, maxAttempts: 3 });
    expect(dead.lastError).toContain('HTTP 500');
    expect(site.received.length - before).toBe(3);

    const alert = await eventually(async () => alerts.received.find((a) => a.body?.context?.jobId === dead.id));
    expect(alert.body).toMatchObject({ severity: 'critical', title: 'Задание не выполнено: payment.notify-site' });
    expect(alert.body.text).toContain(`/api/v1/admin/jobs/${dead.id}/retry`);
    expect(alert.headers['x-signature']).toBe(
      `sha256=${createHmac('sha256', 'alert-webhook-secret').update(JSON.stringify(alert.body)).digest('hex')}`,
    );

    site.status = 200;
    const retried = await h.call('POST', `/api/v1/admin/jobs/${dead.id}/retry`, undefined, ADMIN_AUTH);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'pending', attempts: 0 });
    await eventually(async () => (await h.call('GET', `/api/v1/admin/jobs/${dead.id}`, undefined, ADMIN_AUTH)).body.status === 'done');
    expect(site.received.filter((r) => r.body?.payment?.id === payment.id).length).toBe(4);

    const again = await h.call('POST', `/api/v1/admin/jobs/${dead.id}/retry`, undefined, ADMIN_AUTH);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('job_not_dead');
    expect((await h.call('POST', '/api/v1/admin/jobs/00000000-0000-0000-0000-000000000000/retry', undefined, ADMIN_AUTH)).status).toBe(404);
  }, 30_000);

  test('an attempt never paid is given up after expireAfterMinutes: expired here, cancelled at the bank', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'card' },
        { ...SITE_AUTH, 'idempotency-key': `exp-${order.id}` },
      )
    ).body;
    // the customer left two days ago
    const twoDaysAgo = nowIso(Date.now() - 2 * 86400_000);
    await h.gateway.store.db
      .updateTable('payment_attempts')
      .set({ created_at: twoDaysAgo, next_check_at: twoDaysAgo })
      .where('payment_id', '=', payment.id)
      .execute();
    const run = await h.call('POST', '/api/v1/admin/schedules/janitor/run', undefined, ADMIN_AUTH);
    expect(run.status).toBe(200);
    await eventually(
      async () => (await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status === 'expired',
      10_000,
    );
    const mdOrder = new URL(payment.action.url).searchParams.get('mdOrder')!;
    expect(h.sber.orders.get(mdOrder)!.orderStatus).toBe(6);
    // and nobody can pay it now
    h.sber.complete(mdOrder, 'paid');
    expect(h.sber.orders.get(mdOrder)!.orderStatus).toBe(6);
    // the order can be paid with a new payment
    expect(
      (
        await h.call(
          'POST',
          `/api/v1/orders/${order.id}/payments`,
          { method: 'card' },
          { ...SITE_AUTH, 'idempotency-key': `exp2-${order.id}` },
        )
      ).status,
    ).toBe(201);
  });

  test('a payment paid at the bank after the gateway gave it up is still recorded, and support is alerted', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'card' },
        { ...SITE_AUTH, 'idempotency-key': `late-${order.id}` },
      )
    ).body;
    await h.gateway.store.db.updateTable('payments').set({ status: 'expired' }).where('id', '=', payment.id).execute();
    await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
    await eventually(async () => (await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status === 'paid');
    await eventually(async () =>
      alerts.received.find((a) => a.body?.context?.paymentId === payment.id && a.body.title === 'Оплата пришла после отмены платежа'),
    );
  });

  test('admin: unknown schedule → 404', async () => {
    expect((await h.call('POST', '/api/v1/admin/schedules/nope/run', undefined, ADMIN_AUTH)).status).toBe(404);
  });
});

describe('asymmetric (RSA) callback signatures, POSTed', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ merchant: { callbackMode: 'asymmetric', callbackMethod: 'POST' } });
  });
  afterAll(() => h.close());

  test('a callback signed with the bank’s private key is verified with its public key from the config', async () => {
    const { payment } = await paidPayment(h);
    const delivery = h.sber.deliveries.find((d) => d.params.mdOrder === new URL(payment.action.url).searchParams.get('mdOrder'));
    expect(delivery).toMatchObject({ method: 'POST', status: 200 });
    expect(delivery!.params.sign_alias).toBe('SHA-256 with RSA');
    expect(delivery!.params.checksum).toMatch(/^[0-9A-F]{512}$/);
  });

  test('a tampered RSA-signed callback → 403, nothing changes', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'card' },
        { ...SITE_AUTH, 'idempotency-key': `rsa-${order.id}` },
      )
    ).body;
    const mdOrder = new URL(payment.action.url).searchParams.get('mdOrder')!;
    const declined = h.sber.callbackParams(h.sber.orders.get(mdOrder)!, 'deposited', 0);
    const tampered = new URLSearchParams({ ...declined, status: '1' }).toString();
    const r = await h.call('POST', '/callbacks/sber/main', tampered, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(403);
    expect((await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status).toBe('pending');
  });

  test('a public key that is not PEM is refused at start, naming its key', async () => {
    await expect(
      startHarness({ overrides: (raw) => (raw.organizations[0].providers.sber.callback = { mode: 'asymmetric', publicKey: 'not a key' }) }),
    ).rejects.toHaveProperty('message', expect.stringContaining('organizations[0].providers.sber.callback.publicKey'));
  });
});
