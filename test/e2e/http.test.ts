import { connect } from 'node:net';
import { SANDBOX } from '../sandbox/config';
import { ADMIN_AUTH, orderBody, startHarness, SITE_AUTH, type Harness } from '../helpers/harness';

/** The HTTP server against clients that misbehave at the socket: what a slow or stalled request gets. */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    overrides: (raw) => {
      raw.server.requestTimeoutMs = 1000;
      // each test speaks from an address of its own (X-Forwarded-For, as behind a proxy)
      raw.server.trustProxy = true;
      raw.server.authFailures = { max: 3, windowSeconds: 60 };
    },
  });
});
afterAll(async () => {
  await h?.close();
});

/** Writes `chunks` to a raw connection and returns what came back once the server closed it (or after `waitMs`). */
function rawRequest(chunks: string[], waitMs: number): Promise<{ text: string; closed: boolean; ms: number }> {
  const { port, hostname } = new URL(h.url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    let text = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => done(false), waitMs);
    socket.on('data', (d) => (text += d.toString('utf8')));
    socket.on('close', () => done(true));
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

test('a body that stops arriving gets 408 within the configured limit, and its connection is closed', async () => {
  const head = `POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: ${SITE_AUTH.authorization}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`;
  const r = await rawRequest([head, '{"externalId": "slow-1",'], 10_000);
  expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
  expect(r.closed).toBe(true);
  expect(r.ms).toBeLessThan(5000);
  // nothing was made of the half request
  expect(await h.gateway.store.db.selectFrom('orders').select('id').where('external_id', '=', 'slow-1').execute()).toHaveLength(0);
});

test('headers that never finish get 408 too', async () => {
  const r = await rawRequest(['GET /health/live HTTP/1.1\r\nHost: x\r\n'], 10_000);
  expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
  expect(r.closed).toBe(true);
  expect(r.ms).toBeLessThan(5000);
});

test('a request that arrives in time is served as usual', async () => {
  const r = await h.call('GET', '/health/live');
  expect(r.status).toBe(200);
});

test('a method a route does not take is a JSON 405 with Allow, and one the gateway never serves a JSON 501; both logged as info', async () => {
  const put = await h.call('PUT', '/api/v1/orders', {}, SITE_AUTH);
  expect(put.status).toBe(405);
  expect(put.headers.get('allow')).toContain('POST');
  expect(put.body.error.code).toBe('method_not_allowed');
  const propfind = await h.call('PROPFIND', '/api/v1/orders', undefined, SITE_AUTH);
  expect(propfind.status).toBe(501);
  expect(propfind.body.error).toEqual({ code: 'not_implemented', message: 'PROPFIND is not a method the gateway serves', details: [] });
  const lines = h.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request' && (l.method === 'PUT' || l.method === 'PROPFIND'));
  expect(lines.map((l) => [l.method, l.status, l.level])).toEqual([
    ['PUT', 405, 'info'],
    ['PROPFIND', 501, 'info'],
  ]);
});

test('an address that keeps sending wrong keys gets 429 with Retry-After, even with the right key then; others are served', async () => {
  const from = { 'x-forwarded-for': '203.0.113.7' };
  for (let i = 0; i < 3; i++) {
    const r = await h.call('GET', '/api/v1/orders/none', undefined, { authorization: `Bearer wrong-key-${i}`, ...from });
    expect(r.status).toBe(401);
  }
  const body = orderBody();
  const blocked = await h.call('POST', '/api/v1/orders', body, { ...SITE_AUTH, ...from });
  expect(blocked.status).toBe(429);
  expect(blocked.body.error.code).toBe('too_many_failed_attempts');
  expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  // nothing was made of the blocked request
  expect(await h.gateway.store.db.selectFrom('orders').select('id').where('external_id', '=', body.externalId).execute()).toHaveLength(0);
  // the admin key from that address is held back too; another address is not
  expect((await h.call('GET', '/api/v1/admin/jobs', undefined, { ...ADMIN_AUTH, ...from })).status).toBe(429);
  expect((await h.call('POST', '/api/v1/orders', orderBody(), { ...SITE_AUTH, 'x-forwarded-for': '203.0.113.8' })).status).toBe(201);
});

test('the exchange’s wrong password counts too: then checkauth answers 429 with a failure 1C shows', async () => {
  const from = { 'x-forwarded-for': '198.51.100.9' };
  const basic = (user: string, password: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    ...from,
  });
  for (let i = 0; i < 3; i++) {
    const r = await h.call('GET', '/exchange/1c?type=sale&mode=checkauth', undefined, basic(SANDBOX.onecUser, `wrong-${i}`));
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/^failure\nНеверный логин или пароль/);
  }
  const r = await h.call('GET', '/exchange/1c?type=sale&mode=checkauth', undefined, basic(SANDBOX.onecUser, SANDBOX.onecPassword));
  expect(r.status).toBe(429);
  expect(r.text).toMatch(/^failure\nСлишком много неудачных попыток входа с этого адреса: повторите обмен через \d+ с\.$/);
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
});
