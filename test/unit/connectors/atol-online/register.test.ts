import { atolTimestamp, AtolOnlineRegister, fromAtolTimestamp } from '../../../../connectors/atol-online/register';
import type { ReceiptDoc } from '../../../../gateway/domain/receipt';
import { FiscalError } from '../../../../gateway/ports';
import { AtolOnlineEmulator } from '../../../emulators/atol-online/server';

/** The ATOL Online v5 connector against the emulator: the wire format, tokens, idempotency, errors, pacing. */

const account = { login: 'shop-login', password: 'shop-secret', groupCode: 'group-1' };
/** A register of its own for the pacing test (reports of other tests' instances do not count against it). */
const paced = { login: 'paced-login', password: 'paced-secret', groupCode: 'group-2' };

const receipt = (over: Partial<ReceiptDoc> = {}): ReceiptDoc => ({
  operation: 'sell',
  date: '2026-12-01T09:30:15.000Z',
  client: { email: 'ivan@example.com' },
  company: { inn: '7707083893', sno: 'osn', email: 'shop@example.com', paymentAddress: 'https://shop.example' },
  items: [
    {
      name: 'Чайник электрический',
      price: 150000,
      quantity: 2,
      amount: 300000,
      measure: 0,
      paymentMethod: 'full_prepayment',
      paymentObject: 1,
      vat: 'vat122',
      vatAmount: 54098,
    },
    {
      name: 'Доставка',
      price: 50005,
      quantity: 1,
      amount: 50005,
      measure: 0,
      paymentMethod: 'full_prepayment',
      paymentObject: 4,
      vat: 'none',
      vatAmount: 0,
    },
  ],
  payments: [{ type: 1, amount: 350005 }],
  total: 350005,
  ...over,
});

describe('ATOL Online v5', () => {
  let atol: AtolOnlineEmulator;
  let reg: AtolOnlineRegister;
  let n = 0;
  const ext = () => `t-${Date.now()}-${n++}`;

  beforeAll(async () => {
    atol = new AtolOnlineEmulator([account, paced], { processingMs: 20 });
    await atol.start();
  });
  afterAll(() => atol.stop());
  beforeEach(() => {
    Object.assign(atol.knobs, {
      processingMs: 20,
      failNext: 0,
      rejectNext: 0,
      down: false,
      tokenRefused: false,
      answerDelayMs: 0,
      callbacks: 'on',
    });
    reg = new AtolOnlineRegister({
      id: 'web',
      baseUrl: atol.baseUrl,
      ...account,
      timeoutMs: 2000,
      timeZone: 'Europe/Moscow',
      reportIntervalMs: 1000,
      callbackBase: 'https://gw.example/callbacks/atol/main',
    });
  });

  const settle = async (externalId: string, uuid: string) => {
    for (;;) {
      const s = await reg.check({ externalId, uuid });
      if (s.state !== 'wait') return s;
    }
  };

  test('sell: rubles with two decimals, v5 integers, the timestamp in Moscow time, the callback URL', async () => {
    const id = ext();
    const first = await reg.register({ externalId: id, receipt: receipt(), callbackUrl: reg.callbackUrl('rcpt-1') });
    expect(first.state).toBe('wait');
    const doc = [...atol.documents.values()].find((d) => d.externalId === id)!;
    expect(doc.operation).toBe('sell');
    expect(doc.body.timestamp).toBe('01.12.2026 12:30:15');
    expect(doc.body.service.callback_url).toMatch(/^https:\/\/gw\.example\/callbacks\/atol\/main\?receipt=rcpt-1&sig=[0-9a-f]{32}$/);
    expect(doc.body.receipt).toEqual({
      client: { email: 'ivan@example.com' },
      company: { email: 'shop@example.com', sno: 'osn', inn: '7707083893', payment_address: 'https://shop.example' },
      items: [
        {
          name: 'Чайник электрический',
          price: 1500,
          quantity: 2,
          sum: 3000,
          measure: 0,
          payment_method: 'full_prepayment',
          payment_object: 1,
          vat: { type: 'vat122', sum: 540.98 },
        },
        {
          name: 'Доставка',
          price: 500.05,
          quantity: 1,
          sum: 500.05,
          measure: 0,
          payment_method: 'full_prepayment',
          payment_object: 4,
          vat: { type: 'none' },
        },
      ],
      payments: [{ type: 1, sum: 3500.05 }],
      total: 3500.05,
    });
    const done = await settle(id, (first as { uuid: string }).uuid);
    expect(done).toMatchObject({
      state: 'done',
      fiscal: { fnNumber: '9999078902004792', registrationNumber: '0000000001002292', shiftNumber: 1 },
    });
  });

  test('the same external_id again: ATOL answers 33 with the first uuid, which is adopted; one registration', async () => {
    const id = ext();
    const first = (await reg.register({ externalId: id, receipt: receipt() })) as { uuid: string };
    const again = await reg.register({ externalId: id, receipt: receipt() });
    expect(atol.posts.get(id)).toBe(2);
    expect(atol.stats.duplicates).toBeGreaterThanOrEqual(1);
    expect('uuid' in again && again.uuid).toBe(first.uuid);
    await settle(id, first.uuid);
    expect(atol.registrations(id)).toBe(1);
  });

  test('the token is cached, and renewed when ATOL says it expired (code 11); the receipt goes through', async () => {
    await reg.register({ externalId: ext(), receipt: receipt() });
    await reg.register({ externalId: ext(), receipt: receipt() });
    expect(reg.client.tokenRequests).toBe(1);
    atol.expireTokens();
    const before = atol.stats.expiredTokenAnswers;
    const id = ext();
    const s = await reg.register({ externalId: id, receipt: receipt() });
    expect(s.state).toBe('wait');
    expect(atol.stats.expiredTokenAnswers).toBe(before + 1);
    expect(reg.client.tokenRequests).toBe(2);
    expect(atol.posts.get(id)).toBe(1); // refused with 11 before it counted, then taken with the new token
  });

  test('credentials ATOL refuses: an auth error with a Russian hint, nothing registered, no password in the message', async () => {
    atol.knobs.tokenRefused = true;
    const id = ext();
    const e = await reg.register({ externalId: id, receipt: receipt() }).catch((x) => x);
    expect(e).toBeInstanceOf(FiscalError);
    expect(e).toMatchObject({ kind: 'auth', retryable: false });
    expect(e.hint).toMatch(/логин или пароль/);
    expect(e.message).not.toContain(account.password);
    expect(atol.posts.get(id)).toBeUndefined();
  });

  test('validation (code 32): not retryable, the reason in Russian, nothing registered', async () => {
    const id = ext();
    const bad = receipt({ items: [{ ...receipt().items[0], amount: 300001 }], total: 350006, payments: [{ type: 1, amount: 350006 }] });
    const e = await reg.register({ externalId: id, receipt: bad }).catch((x) => x);
    expect(e).toMatchObject({ kind: 'validation', retryable: false, code: '32' });
    expect(e.hint).toMatch(/не равна price × quantity/);
    expect(atol.registrations(id)).toBe(0);
  });

  test('22 % codes before 2026-01-05 are refused by the register (32)', async () => {
    const e = await reg.register({ externalId: ext(), receipt: receipt({ date: '2026-01-03T10:00:00Z' }) }).catch((x) => x);
    expect(e).toMatchObject({ kind: 'validation' });
    expect(e.hint).toMatch(/vat122 применяется с 05\.01\.2026/);
  });

  test('ATOL down (503 page): unavailable, retryable', async () => {
    atol.knobs.down = true;
    const e = await reg.register({ externalId: ext(), receipt: receipt() }).catch((x) => x);
    expect(e).toMatchObject({ kind: 'unavailable', retryable: true });
  });

  test('the device refuses (report fail): failed with ATOL’s reason', async () => {
    atol.knobs.failNext = 1;
    const id = ext();
    const s = (await reg.register({ externalId: id, receipt: receipt() })) as { uuid: string };
    expect(await settle(id, s.uuid)).toMatchObject({ state: 'failed', code: '1', message: atol.knobs.failText });
    expect(atol.registrations(id)).toBe(0);
  });

  test('reports are paced: at most one request per second per register', async () => {
    atol.knobs.processingMs = 8000;
    const before = atol.stats.reportRateViolations;
    reg = new AtolOnlineRegister({ id: 'paced', baseUrl: atol.baseUrl, ...paced, timeoutMs: 2000, timeZone: 'Europe/Moscow' });
    const ids = [ext(), ext()];
    const sent = await Promise.all(ids.map((id) => reg.register({ externalId: id, receipt: receipt() }) as Promise<{ uuid: string }>));
    const states = await Promise.all(sent.map((s, i) => Promise.all([1, 2].map(() => reg.check({ externalId: ids[i], uuid: s.uuid })))));
    expect(states.flat().map((s) => s.state)).toEqual(['wait', 'wait', 'wait', 'wait']);
    expect(atol.stats.reportRateViolations).toBe(before);
  }, 15_000);

  test('a correction: the correction object with its basis', async () => {
    const id = ext();
    await reg.register({
      externalId: id,
      receipt: receipt({ operation: 'sell_correction', correction: { type: 'self', baseDate: '2026-11-20' } }),
    });
    const doc = [...atol.documents.values()].find((d) => d.externalId === id)!;
    expect(doc.operation).toBe('sell_correction');
    expect(doc.body.correction.correction_info).toEqual({ type: 'self', base_date: '20.11.2026' });
    expect(doc.body.receipt).toBeUndefined();
  });

  test('callbacks verify only with their own signature', () => {
    const url = new URL(reg.callbackUrl('abc')!);
    const params = Object.fromEntries(url.searchParams);
    expect(reg.verifyCallback(params)).toBe('abc');
    expect(reg.verifyCallback({ ...params, receipt: 'abd' })).toBeNull();
    expect(reg.verifyCallback({ receipt: 'abc', sig: '0'.repeat(32) })).toBeNull();
    expect(reg.verifyCallback({ receipt: 'abc' })).toBeNull();
  });

  test('timestamps both ways', () => {
    expect(atolTimestamp('2026-01-01T20:59:59Z', 'Europe/Moscow')).toBe('01.01.2026 23:59:59');
    expect(fromAtolTimestamp('01.01.2026 23:59:59', 'Europe/Moscow')).toBe('2026-01-01T20:59:59.000Z');
  });
});
