import { setTimeout as sleep } from 'node:timers/promises';
import { orderBody, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';

/** What a load balancer and a client see of a gateway that was told to stop (Gateway.stop(), SIGTERM's handler). */

const DRAIN_DELAY_MS = 800;
const DEADLINE_MS = 10_000;

describe('graceful stop', () => {
  let h: Harness;
  afterEach(() => h?.close());

  test('readiness fails at once; requests are served, each closing its connection, until the delay ends; the one in flight is answered', async () => {
    // the bank answers slowly: a payment's creation is in flight across the whole drain delay
    h = await startHarness({
      knobs: { apiLatencyMs: DRAIN_DELAY_MS + 700 },
      overrides: (raw) => (raw.shutdown = { drainDelayMs: DRAIN_DELAY_MS, deadlineMs: DEADLINE_MS }),
    });
    const order = await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH);
    expect(order.status).toBe(201);
    expect((await h.call('GET', '/health/ready')).status).toBe(200);
    expect((await h.call('GET', '/health/ready')).headers.get('connection')).not.toBe('close');

    const slow = h.call(
      'POST',
      `/api/v1/orders/${order.body.id}/payments`,
      { method: 'card' },
      { ...SITE_AUTH, 'idempotency-key': 'stop-1' },
    );
    await sleep(100);
    const t0 = Date.now();
    let stoppedAt = 0;
    const stopped = h.gateway.stop().then(() => (stoppedAt = Date.now()));

    const ready = await h.call('GET', '/health/ready');
    expect({ status: ready.status, body: ready.body }).toEqual({ status: 503, body: { status: 'stopping' } });
    expect(Date.now() - t0).toBeLessThan(DRAIN_DELAY_MS);
    expect((await h.call('GET', '/health/live')).status).toBe(200);
    const read = await h.call('GET', `/api/v1/orders/${order.body.id}`, undefined, SITE_AUTH);
    expect(read.status).toBe(200);
    expect(read.headers.get('connection')).toBe('close');

    const payment = await slow;
    expect(payment.status).toBe(201);
    expect(payment.body.action.type).toBe('redirect');
    // begun before the stop, answered after it: its connection is not kept for another request either
    expect(payment.headers.get('connection')).toBe('close');
    await stopped;
    // it waited for the delay and for the payment's answer, then closed
    expect(stoppedAt - t0).toBeGreaterThanOrEqual(DRAIN_DELAY_MS);
    // and no longer: no connection was left open for the deadline (10 s) to cut
    expect(stoppedAt - t0).toBeLessThan(DEADLINE_MS);
    await expect(fetch(`${h.url}/health/live`)).rejects.toThrow();
    // a second stop (a second signal) is the same one
    await h.gateway.stop();
  }, 30_000);
});
