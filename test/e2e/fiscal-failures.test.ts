import { ADMIN_AUTH, eventually, startHarness, type Harness } from '../helpers/harness';
import { SANDBOX } from '../sandbox/config';
import { alerts, newOrder, pay, paymentView, receiptRows, settledReceipts } from '../helpers/fiscal';

/**
 * What goes wrong on the way to the register, and what the gateway does: a receipt ATOL refuses
 * (32), a device that fails it, credentials refused, tokens expiring, ATOL offline for a long
 * while, callbacks that never come. Each ends with the receipt registered exactly once, or failed
 * with the reason, an alert and a retry from the admin API.
 */

describe('on the way to ATOL Online', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fiscal: {} });
  });
  afterAll(() => h?.close());
  beforeEach(() => {
    h.atol!.setKnobs({ processingMs: 50, failNext: 0, rejectNext: 0, down: false, tokenRefused: false, callbacks: 'on', answerDelayMs: 0 });
  });

  test('ATOL refuses the receipt (32): failed at once with ATOL’s reason, no retry, an alert; retried from the admin API it goes through', async () => {
    h.atol!.knobs.rejectNext = 1;
    const payment = await pay(h, (await newOrder(h)).id);
    const [r] = await settledReceipts(h, payment.id, 1);
    expect(r).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^АТОЛ Онлайн не принял чек: Ошибка валидации: сумма позиции/),
    });
    expect(h.atol!.posts.get(r.externalId)).toBe(1);
    expect(h.atol!.registrations(r.externalId)).toBe(0);
    const alert = await eventually(async () => (await alerts(h)).find((a) => a.key === `receipt-failed:${r.id}:0`));
    expect(alert).toMatchObject({ severity: 'critical', title: 'Чек не зарегистрирован' });
    expect(alert.text).toContain(`POST /api/v1/admin/receipts/${r.id}/retry`);

    const retried = await h.call('POST', `/api/v1/admin/receipts/${r.id}/retry`, undefined, ADMIN_AUTH);
    expect(retried.status).toBe(200);
    const [done] = await settledReceipts(h, payment.id, 1);
    expect(done.status).toBe('done');
    expect(h.atol!.registrations(`${r.externalId}.2`)).toBe(1);
    expect(h.atol!.registrations(r.externalId)).toBe(0);
    // a registered receipt is never sent again
    const again = await h.call('POST', `/api/v1/admin/receipts/${r.id}/retry`, undefined, ADMIN_AUTH);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('receipt_done');
  });

  test('the device fails the receipt (report fail): failed with the device’s reason and an alert; the retry is a new try, registered once', async () => {
    h.atol!.knobs.failNext = 1;
    const payment = await pay(h, (await newOrder(h)).id);
    const [r] = await settledReceipts(h, payment.id, 1);
    expect(r).toMatchObject({ status: 'failed', error: `Касса не зарегистрировала чек: ${h.atol!.knobs.failText} (код 1).` });
    await eventually(async () => (await alerts(h)).some((a) => a.key === `receipt-failed:${r.id}:0`));
    await h.call('POST', `/api/v1/admin/receipts/${r.id}/retry`, undefined, ADMIN_AUTH);
    const [done] = await settledReceipts(h, payment.id, 1);
    expect(done.status).toBe('done');
    expect([h.atol!.registrations(r.externalId), h.atol!.registrations(`${r.externalId}.2`)]).toEqual([0, 1]);
  });

  test('credentials refused: the receipt waits with the reason, the job stops and alerts; fixed and retried, it goes through once', async () => {
    h.atol!.knobs.tokenRefused = true;
    h.atol!.expireTokens();
    const payment = await pay(h, (await newOrder(h)).id);
    const r = await eventually(async () => {
      const x = (await paymentView(h, payment.id)).receipts[0];
      return x?.error && x;
    });
    expect(r).toMatchObject({ status: 'pending', error: expect.stringMatching(/неверный логин или пароль/) });
    const dead = await eventually(async () =>
      (await h.call('GET', '/api/v1/admin/jobs?status=dead&name=fiscal.register', undefined, ADMIN_AUTH)).body.items.find(
        (j: any) => j.payload.receiptId === r.id,
      ),
    );
    expect(dead.lastError).toMatch(/getToken/);
    expect(dead.lastError).not.toContain('sandbox-atol-password');
    const alert = await eventually(async () =>
      (await alerts(h)).find((a) => a.title === 'Касса не принимает чеки' && a.text.includes(r.id)),
    );
    expect(alert.text).toMatch(/логин или пароль/);
    expect(h.atol!.posts.get(r.externalId)).toBeUndefined();

    h.atol!.knobs.tokenRefused = false;
    expect((await h.call('POST', `/api/v1/admin/receipts/${r.id}/retry`, undefined, ADMIN_AUTH)).status).toBe(200);
    const [done] = await settledReceipts(h, payment.id, 1);
    expect(done.status).toBe('done');
    expect(h.atol!.registrations(r.externalId)).toBe(1);
  });

  test('an expired token (11) is renewed and the receipt sent again: registered once', async () => {
    await settledReceipts(h, (await pay(h, (await newOrder(h)).id)).id, 1);
    const tokens = h.atol!.stats.getToken;
    const expired = h.atol!.stats.expiredTokenAnswers;
    h.atol!.expireTokens();
    const payment = await pay(h, (await newOrder(h)).id);
    const [r] = await settledReceipts(h, payment.id, 1);
    expect(r.status).toBe('done');
    expect(h.atol!.stats.expiredTokenAnswers).toBeGreaterThan(expired);
    expect(h.atol!.stats.getToken).toBe(tokens + 1);
    expect(h.atol!.registrations(r.externalId)).toBe(1);
  });

  test('ATOL offline for a long while: receipts wait, none is lost, and they go out in the order they were made once it is back', async () => {
    h.atol!.knobs.down = true;
    const payments: { id: string }[] = [];
    for (let i = 0; i < 3; i++) payments.push(await pay(h, (await newOrder(h)).id));
    const ids = (await receiptRows(h)).filter((r) => payments.some((p) => p.id === r.payment_id)).map((r) => r.id);
    expect(ids).toHaveLength(3);
    await eventually(
      async () =>
        (await receiptRows(h)).filter((r) => ids.includes(r.id)).every((r) => r.status === 'pending' && r.error?.includes('недоступен')),
      10_000,
    );
    h.atol!.knobs.down = false;
    const rows = await eventually(
      async () => {
        const all = (await receiptRows(h)).filter((r) => ids.includes(r.id));
        return all.every((r) => r.status === 'done') && all;
      },
      30_000,
      200,
    );
    const accepted = [...h.atol!.documents.values()]
      .filter((d) => rows.some((r) => r.external_id === d.externalId))
      .sort((a, b) => a.acceptedAt - b.acceptedAt);
    expect(accepted.map((d) => d.externalId)).toEqual(rows.map((r) => r.external_id));
    for (const r of rows) expect(h.atol!.registrations(r.external_id)).toBe(1);
  }, 60_000);

  test('no callback and a slow device: the result is polled (never sent again), at most one report a second', async () => {
    Object.assign(h.atol!.knobs, { callbacks: 'off', processingMs: 2500 });
    const violations = h.atol!.stats.reportRateViolations;
    const payment = await pay(h, (await newOrder(h)).id);
    const sent = await eventually(async () => (await paymentView(h, payment.id)).receipts.find((r: any) => r.status === 'sent'));
    const [r] = await settledReceipts(h, payment.id, 1, 30_000);
    expect(r.status).toBe('done');
    expect(r.id).toBe(sent.id);
    expect(h.atol!.posts.get(r.externalId)).toBe(1);
    expect(h.atol!.stats.reportRateViolations).toBe(violations);
  }, 40_000);
});

describe('what support and integrators read', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fiscal: {} });
  });
  afterAll(() => h?.close());

  test('no ATOL password or token reaches a log line, through refusals and renewals', async () => {
    h.atol!.knobs.rejectNext = 1;
    await settledReceipts(h, (await pay(h, (await newOrder(h)).id)).id, 1);
    h.atol!.expireTokens();
    await settledReceipts(h, (await pay(h, (await newOrder(h)).id)).id, 1);
    const all = h.logs.join('\n');
    expect(h.atol!.issuedTokens().length).toBeGreaterThanOrEqual(2);
    for (const t of h.atol!.issuedTokens()) expect(all).not.toContain(t);
    expect(all).not.toContain(SANDBOX.atol.password);
    expect(all).toMatch(/"receiptId":"[0-9a-f-]{36}"/);
  });

  test('/openapi.json describes receipts: the registrar endpoint, the receipt on the payment, the ATOL callback', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/receipts',
        '/api/v1/receipts/{id}',
        '/callbacks/atol/{org}',
        '/api/v1/admin/receipts',
        '/api/v1/admin/receipts/{id}/retry',
      ]),
    );
    expect(doc.paths['/api/v1/receipts'].post.requestBody.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/CreateReceipt',
    );
    expect(doc.components.schemas.Payment.properties.receipts.items.$ref).toBe('#/components/schemas/Receipt');
    expect(Object.keys(doc.components.schemas.Receipt.properties)).toEqual(
      expect.arrayContaining(['kind', 'operation', 'status', 'items', 'payments', 'fiscal', 'error']),
    );
  });
});

describe('a local register through the ATOL driver', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fiscal: { driver: { taskMs: 5 }, configure: (f) => (f.routes = [{ method: 'card', register: 'shop' }]) } });
  });
  afterAll(() => h?.close());

  test('a card payment’s receipt printed by the local register; its shift opened first; then an expired shift renewed', async () => {
    const payment = await pay(h, (await newOrder(h)).id);
    const [r] = await settledReceipts(h, payment.id, 1);
    expect(r).toMatchObject({
      status: 'done',
      register: 'shop',
      fiscal: { fnNumber: '9999078900012345', registrationNumber: '0000000002011234', shiftNumber: 1 },
    });
    expect(
      h.driver!.printed.map((p) => [p.type, p.task.items.map((i: any) => [i.paymentMethod, i.paymentObject, i.tax.type]), p.task.payments]),
    ).toEqual([
      [
        'sell',
        [
          ['fullPrepayment', 'commodity', 'vat122'],
          ['fullPrepayment', 'service', 'vat122'],
        ],
        [{ type: 'electronically', sum: 3500 }],
      ],
    ]);
    expect(h.atol!.documents.size).toBe(0);

    h.driver!.expireShift();
    const next = await pay(h, (await newOrder(h)).id);
    const [r2] = await settledReceipts(h, next.id, 1);
    expect(r2).toMatchObject({ status: 'done', fiscal: { shiftNumber: 2 } });
  });

  test('paper runs out: receipts wait, the device watch alerts; paper in, they print, once each', async () => {
    h.driver!.knobs.paperPresent = false;
    const payment = await pay(h, (await newOrder(h)).id);
    await eventually(async () => (await paymentView(h, payment.id)).receipts[0]?.error?.includes('Нет бумаги'));
    await h.call('POST', '/api/v1/admin/schedules/fiscal.devices/run', undefined, ADMIN_AUTH);
    const alert = await eventually(async () => (await alerts(h)).find((a) => a.title === 'В кассе закончилась бумага'));
    expect(alert.text).toMatch(/Касса shop: закончилась чековая лента/);
    expect((await paymentView(h, payment.id)).receipts[0].status).toBe('pending');
    h.driver!.knobs.paperPresent = true;
    const [r] = await settledReceipts(h, payment.id, 1, 30_000);
    expect(r.status).toBe('done');
    expect(h.driver!.printed.filter((p) => p.task.total === 3500)).toHaveLength(3);
  }, 40_000);

  test('the fiscal storage asks for replacement: a critical alert from the monitoring rule, «решено» once replaced', async () => {
    const check = async () => {
      await h.call('POST', '/api/v1/admin/schedules/fiscal.devices/run', undefined, ADMIN_AUTH);
      await h.call('POST', '/api/v1/admin/schedules/monitoring/run', undefined, ADMIN_AUTH);
    };
    h.driver!.setKnobs({ fnWarnings: { needReplacement: true } });
    try {
      await check();
      const alert = await eventually(async () => (await alerts(h)).find((a) => a.title === 'Предупреждение фискального накопителя'));
      expect(alert).toMatchObject({ severity: 'critical' });
      expect(alert!.text).toContain('Фискальный накопитель пора заменить');
    } finally {
      h.driver!.setKnobs({ fnWarnings: { needReplacement: false } });
    }
    await check();
    await eventually(async () => (await alerts(h)).find((a) => a.title === 'Решено: Предупреждение фискального накопителя'));
  });
});
