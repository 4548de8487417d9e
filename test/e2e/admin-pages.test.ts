import { createLogger } from '../../gateway/log';
import { createGateway } from '../../gateway/main';
import { nowIso } from '../../gateway/store/db';
import { insertStatementLines, newStatementLineRow } from '../../gateway/store/statements';
import { ADMIN_AUTH, eventually, freePort, orderBody, receiver, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';
import { describeWith } from '../helpers/services';
import { SANDBOX } from '../sandbox/config';
import { cookieHeader, csrfOf, get, post, signIn, type Browserish } from '../helpers/admin-session';

/**
 * The /admin pages over plain HTTP: sign-in makes a session whose cookie is HttpOnly and
 * SameSite=Strict (Secure behind https), every action needs the session and its CSRF token (refused
 * with nothing changed otherwise), the admin API takes the session too, the pages carry a CSP without
 * 'unsafe-inline', and a guessed key is throttled.
 */

const sessionCount = async (h: Harness) =>
  Number(
    (await h.gateway.store.db
      .selectFrom('admin_sessions')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst())!.n,
  );

describe('the /admin pages over HTTP', () => {
  let h: Harness;
  let site: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    site = await receiver();
    site.status = 500;
    h = await startHarness({
      siteWebhook: { url: site.url, secret: 'site-webhook-secret-1' },
      overrides: (raw) => {
        raw.log.level = 'warn';
        raw.jobs = { ...raw.jobs, maxAttempts: 2, backoffBaseMs: 20, backoffMaxMs: 50 };
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await site?.close();
  });

  async function deadJob(): Promise<{ id: string; paymentId: string }> {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    const payment = (
      await h.call('POST', `/api/v1/orders/${order.id}/payments`, { method: 'card' }, { ...SITE_AUTH, 'idempotency-key': `k-${order.id}` })
    ).body;
    await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
    const dead = await eventually(async () => {
      const r = await h.call('GET', '/api/v1/admin/jobs?status=dead&name=payment.notify-site', undefined, ADMIN_AUTH);
      return r.body.items.find((j: any) => j.payload.paymentId === payment.id);
    }, 15_000);
    return { id: dead.id, paymentId: payment.id };
  }
  const jobStatus = async (id: string) => (await h.call('GET', `/api/v1/admin/jobs/${id}`, undefined, ADMIN_AUTH)).body.status;

  test('no session: a page sends to sign-in, the admin API answers 401, an action is refused', async () => {
    const page = await h.call('GET', '/admin/jobs?status=dead');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/admin/login?next=%2Fadmin%2Fjobs%3Fstatus%3Ddead');
    const api = await h.call('GET', '/api/v1/admin/jobs');
    expect(api.status).toBe(401);
    const action = await h.call('POST', '/admin/jobs/x/retry', '_csrf=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(action.status).toBe(403);
    expect(action.text).toContain('Ничего не изменено');
  });

  test('sign-in: a wrong key is refused and makes no session; the right one sets an HttpOnly, SameSite=Strict cookie (not Secure over http)', async () => {
    const before = await sessionCount(h);
    const wrong = await signIn(h, 'not-the-admin-key-at-all');
    expect(wrong.r.status).toBe(401);
    expect(wrong.r.text).toContain('Неверный ключ администратора');
    expect(wrong.b.cookies.has('gw_admin')).toBe(false);
    expect(await sessionCount(h)).toBe(before);

    const { b, r } = await signIn(h);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/admin');
    const cookie = r.set.find((c) => c.startsWith('gw_admin='))!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Secure/);
    expect(await sessionCount(h)).toBe(before + 1);
    // the database keeps the cookie's hash, never the cookie
    const stored = await h.gateway.store.db.selectFrom('admin_sessions').select('id').execute();
    expect(stored.map((s) => s.id)).not.toContain(b.cookies.get('gw_admin'));

    const overview = await get(h, b, '/admin');
    expect(overview.status).toBe(200);
    expect(overview.text).toContain('Что застряло');
  });

  test('a sign-in form not loaded by this browser is refused; `next` cannot lead off the admin pages', async () => {
    const b: Browserish = { cookies: new Map() };
    const forged = await post(h, b, '/admin/login', { _login: 'forged', key: SANDBOX.adminKey });
    expect(forged.status).toBe(403);
    expect(forged.set.some((c) => c.startsWith('gw_admin='))).toBe(false);
    const page = await get(h, b, '/admin/login?next=//evil.example/x');
    const login = /name="_login" value="([^"]+)"/.exec(page.text)![1];
    const r = await post(h, b, '/admin/login', { _login: login, key: SANDBOX.adminKey, next: '//evil.example/x' });
    expect(r.headers.get('location')).toBe('/admin');
  });

  test('every page carries a CSP without unsafe-inline, and no inline script or style', async () => {
    const { b } = await signIn(h);
    for (const path of [
      '/admin',
      '/admin/payments',
      '/admin/jobs',
      '/admin/review',
      '/admin/receipts',
      '/admin/reports',
      '/admin/health',
      '/admin/login',
    ]) {
      const r = await get(h, b, path);
      expect([200, 303]).toContain(r.status);
      if (r.status !== 200) continue;
      const csp = r.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("form-action 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(r.text).not.toMatch(/<script(?![^>]*\b(src|type="application\/json")=?)[^>]*>/);
      expect(r.text).not.toMatch(/<style|\sstyle="/);
    }
    const lib = await h.call('GET', '/admin/assets/uPlot.iife.min.js');
    expect(lib.status).toBe(200);
    expect(lib.headers.get('content-type')).toContain('javascript');
    expect((await h.call('GET', '/admin/assets/..%2F..%2Fconfig')).status).toBe(404);
  });

  test('an action without the CSRF token, or with a wrong one, is refused and changes nothing; with it the dead job runs again', async () => {
    const { id, paymentId } = await deadJob();
    const { b } = await signIn(h);
    const csrf = await csrfOf(h, b);
    // the payment's timeline shows the dead job and support's alert about it
    const timeline = await eventually(async () => {
      const t = (await get(h, b, `/admin/payments/${paymentId}`)).text;
      return t.includes('Тревога: Задание не выполнено: payment.notify-site') && t;
    });
    expect(timeline).toContain('Задание payment.notify-site');

    const none = await post(h, b, `/admin/jobs/${id}/retry`, {});
    expect(none.status).toBe(403);
    const wrong = await post(h, b, `/admin/jobs/${id}/retry`, { _csrf: `${csrf.slice(0, -2)}xx` });
    expect(wrong.status).toBe(403);
    expect(wrong.text).toContain('CSRF');
    // the API with the session cookie: GET works, a change needs the token too
    const list = await get(h, b, '/api/v1/admin/jobs?status=dead');
    expect(list.status).toBe(200);
    expect(list.body.items.map((j: any) => j.id)).toContain(id);
    const apiRetry = await h.call('POST', `/api/v1/admin/jobs/${id}/retry`, undefined, { cookie: cookieHeader(b) });
    expect(apiRetry.status).toBe(403);
    expect(apiRetry.body.error.code).toBe('csrf_failed');
    // another session's token is no good either
    const other = await signIn(h);
    const otherCsrf = await csrfOf(h, other.b);
    expect((await post(h, b, `/admin/jobs/${id}/retry`, { _csrf: otherCsrf })).status).toBe(403);
    expect(await jobStatus(id)).toBe('dead');

    site.status = 200;
    const ok = await post(h, b, `/admin/jobs/${id}/retry`, { _csrf: csrf, back: '/admin/jobs?status=dead' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/admin/jobs?status=dead');
    const after = await get(h, b, '/admin/jobs?status=dead');
    expect(after.text).toContain('поставлено в очередь заново');
    await eventually(async () => (await jobStatus(id)) === 'done', 10_000);
    site.status = 500;
  }, 30_000);

  test('a review item closed without a note, or matched to an unknown invoice: the reason is shown and the line stays in review', async () => {
    const row = newStatementLineRow('main', 'file', {
      account: '40702810610000012345',
      direction: 'incoming',
      kind: 'Платежное поручение',
      number: '902',
      date: '2026-12-02',
      amount: 50000,
      bankDate: '2026-12-02',
      payer: { name: 'ИП Сидоров', inn: '771234567890', kpp: null, account: null, bankBik: null, bankName: null },
      receiver: { name: 'Магазин', inn: null, kpp: null, account: null, bankBik: null, bankName: null },
      purpose: 'Оплата',
      uip: null,
    });
    await insertStatementLines(h.gateway.store.db, h.gateway.store.dialect, [{ ...row, match_state: 'review' }]);
    const { b } = await signIn(h);
    const csrf = await csrfOf(h, b);
    const noNote = await post(h, b, `/admin/review/lines/${row.id}/resolve`, { _csrf: csrf, note: '  ' });
    expect(noNote.status).toBe(303);
    expect((await get(h, b, '/admin/review')).text).toContain('Напишите, почему позиция закрывается.');
    const unknown = await post(h, b, `/admin/review/lines/${row.id}/match`, { _csrf: csrf, invoices: 'СЧ-404' });
    expect(unknown.status).toBe(303);
    expect((await get(h, b, '/admin/review')).text).toContain('Такого счёта нет.');
    const line = await h.gateway.store.db.selectFrom('statement_lines').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    expect(line).toMatchObject({ match_state: 'review', allocations: null });
  });

  test('sign-out deletes the session: its cookie opens nothing any more', async () => {
    const { b } = await signIn(h);
    const cookie = b.cookies.get('gw_admin')!;
    const csrf = await csrfOf(h, b);
    const before = await sessionCount(h);
    const out = await post(h, b, '/admin/logout', { _csrf: csrf });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/admin/login');
    expect(out.set.some((c) => /^gw_admin=;.*Max-Age=0/.test(c))).toBe(true);
    expect(await sessionCount(h)).toBe(before - 1);
    const again = await h.call('GET', '/admin', undefined, { cookie: `gw_admin=${cookie}` });
    expect(again.status).toBe(303);
    expect((await h.call('GET', '/api/v1/admin/jobs', undefined, { cookie: `gw_admin=${cookie}` })).status).toBe(401);
  });
});

describe('the /admin sign-in behind an https proxy, and a guessed key', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      overrides: (raw) => {
        raw.log.level = 'warn';
        raw.server = { ...raw.server, trustProxy: true, authFailures: { max: 3, windowSeconds: 300 } };
      },
    });
  });
  afterAll(() => h?.close());

  test('X-Forwarded-Proto: https from a trusted proxy makes the cookie Secure', async () => {
    const { r } = await signIn(h, SANDBOX.adminKey, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' });
    expect(r.status).toBe(303);
    expect(r.set.find((c) => c.startsWith('gw_admin='))).toMatch(/; Secure/);
  });

  test('wrong keys again and again: 429 with Retry-After, and then even the right key waits', async () => {
    const from = { 'x-forwarded-for': '198.51.100.9' };
    for (let i = 0; i < 3; i++) expect((await signIn(h, `wrong-key-number-${i}`, from)).r.status).toBe(401);
    const limited = await signIn(h, `wrong-key-number-4`, from);
    expect(limited.r.status).toBe(429);
    expect(Number(limited.r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.r.text).toContain('Слишком много неудачных попыток');
    const right = await signIn(h, SANDBOX.adminKey, from);
    expect(right.r.status).toBe(429);
    expect(right.b.cookies.has('gw_admin')).toBe(false);
    // another address is not held up
    expect((await signIn(h, SANDBOX.adminKey, { 'x-forwarded-for': '198.51.100.10' })).r.status).toBe(303);
  });
});

describe('the /admin session ends when it should', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ overrides: (raw) => void (raw.log.level = 'warn') });
  });
  afterAll(() => h?.close());

  test('idle past admin.sessionIdleMinutes, or past admin.sessionHours since sign-in: sign in again', async () => {
    const idle = await signIn(h);
    const old = await signIn(h);
    expect((await get(h, idle.b, '/admin')).status).toBe(200);
    const db = h.gateway.store.db;
    const rows = await db.selectFrom('admin_sessions').select(['id', 'created_at']).orderBy('created_at').execute();
    expect(rows).toHaveLength(2);
    // the first: no request for 31 minutes (default 30); the second: signed in 13 hours ago and used ever since (default 12)
    await db
      .updateTable('admin_sessions')
      .set({ last_seen_at: nowIso(Date.now() - 31 * 60_000) })
      .where('id', '=', rows[0].id)
      .execute();
    await db
      .updateTable('admin_sessions')
      .set({ expires_at: nowIso(Date.now() - 60_000) })
      .where('id', '=', rows[1].id)
      .execute();
    for (const b of [idle.b, old.b]) {
      expect((await get(h, b, '/admin')).status).toBe(303);
      expect((await get(h, b, '/api/v1/admin/jobs')).status).toBe(401);
    }
  });
});

describeWith('postgres', 'the /admin session on PostgreSQL', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'postgres', overrides: (raw) => void (raw.log.level = 'warn') });
  });
  afterAll(() => h?.close());

  test('a session made by one gateway process is known to another one on the same database (as after a restart), and signing out there ends it', async () => {
    const { b } = await signIn(h);
    const csrf = await csrfOf(h, b);
    const other = await createGateway(
      { ...h.config, server: { ...h.config.server, port: await freePort() } },
      { logger: createLogger('warn'), roles: { http: true, worker: false } },
    );
    try {
      const { url } = await other.start();
      const page = await fetch(`${url}/admin/jobs`, { headers: { cookie: cookieHeader(b) }, redirect: 'manual' });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(`value="${csrf}"`);
      const out = await fetch(`${url}/admin/logout`, {
        method: 'POST',
        headers: { cookie: cookieHeader(b), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf }).toString(),
        redirect: 'manual',
      });
      expect(out.status).toBe(303);
      expect((await fetch(`${url}/admin/jobs`, { headers: { cookie: cookieHeader(b) }, redirect: 'manual' })).status).toBe(303);
    } finally {
      await other.stop();
    }
  });
});
