import { toOperation } from '../../../../connectors/tbank/operations';
import { TbankProvider, type TbankProviderOptions } from '../../../../connectors/tbank/provider';
import { ExternalError, type OperationWindow, type ProviderOperation } from '../../../../gateway/ports';
import { NotificationReceiver } from '../../../emulators/tbank/receiver';
import { TbankEmulator } from '../../../emulators/tbank/server';

const SHOP = { terminalKey: 'ShopTerminal', password: 'terminal-password-1', businessToken: 'business-token-of-the-shop' };
const DAY = 86_400_000;
/** Fast pacing for tests; the emulator's limit is set just under it. */
const PACE: TbankProviderOptions = { operations: { minIntervalMs: 25, rateLimitBackoffMs: 40 } };

let bank: TbankEmulator;
let receiver: NotificationReceiver;
let provider: TbankProvider;

function registryProvider(over: { token?: string } = {}, opts: TbankProviderOptions = PACE): TbankProvider {
  return new TbankProvider(
    {
      baseUrl: bank.apiUrl,
      terminalKey: SHOP.terminalKey,
      password: SHOP.password,
      timeoutMs: 3000,
      operations: { baseUrl: bank.operationsUrl, token: over.token ?? SHOP.businessToken },
    },
    opts,
  );
}

async function all(p: TbankProvider, window: OperationWindow): Promise<ProviderOperation[]> {
  const out: ProviderOperation[] = [];
  for await (const op of p.listOperations!(window)) out.push(op);
  return out;
}

beforeAll(async () => {
  bank = new TbankEmulator([SHOP], { operationsRateLimitMs: 20 });
  await bank.start();
  receiver = new NotificationReceiver();
  await receiver.start();
  provider = registryProvider();
});

afterAll(async () => {
  await provider.close();
  await bank.stop();
  await receiver.stop();
});

test('without the T-Business registry configured the provider has no listOperations', async () => {
  const p = new TbankProvider({ baseUrl: bank.apiUrl, terminalKey: SHOP.terminalKey, password: SHOP.password, timeoutMs: 3000 });
  expect(p.listOperations).toBeUndefined();
  expect(provider.listOperations).toBeInstanceOf(Function);
  await p.close();
});

describe('a three-day window', () => {
  const now = Date.now();
  const window = { from: new Date(now - 3 * DAY), to: new Date(now + 60_000) };
  let ops: ProviderOperation[];
  let ours: { paymentId: string; orderNumber: string };

  beforeAll(async () => {
    // day one: 1500 card payments at the front desk, more than one request may carry
    for (let i = 0; i < 1500; i++) {
      bank.createExternal({
        amount: 10_000 + i,
        method: 'card',
        orderId: i % 2 ? `desk-${i}` : undefined,
        at: new Date(now - 3 * DAY + 3_600_000 + i * 50_000),
      });
    }
    // day two: СБП by QR at the front desk, with somebody else's order numbers
    for (let i = 0; i < 5; i++)
      bank.createExternal({
        amount: 77_700,
        method: 'sbp',
        orderId: `front-desk-${i}`,
        payerBank: 'ВТБ',
        description: 'Оплата на кассе',
        at: new Date(now - 2 * DAY + i * 3_600_000),
      });
    // today: the gateway's own payment, refunded twice
    const orderNumber = `G-${now}`;
    const r = await provider.initiate({
      attemptId: 'att-registry',
      orderNumber,
      method: 'card',
      amount: 150_000,
      description: 'Заказ с сайта',
      returnUrl: 'https://shop.example/ok',
      failUrl: 'https://shop.example/fail',
      callbackUrl: receiver.url,
      expiresAt: new Date(now + 600_000).toISOString(),
    });
    bank.complete(r.providerRef, 'paid', { payerBank: 'Сбербанк' });
    await provider.refund({ providerRef: r.providerRef, orderNumber, amount: 150_000 }, { amount: 30_000, fullSameDay: false });
    await provider.refund({ providerRef: r.providerRef, orderNumber, amount: 150_000 }, { amount: 20_000, fullSameDay: false });
    ours = { paymentId: r.providerRef, orderNumber };
    bank.registry.requests.length = 0;
    ops = await all(provider, window);
  });

  test('every payment is listed once, the day with 1500 of them included', () => {
    const payments = ops.filter((o) => o.kind === 'payment');
    expect(payments).toHaveLength(1500 + 5 + 1);
    expect(new Set(payments.map((o) => o.providerRef)).size).toBe(payments.length);
    // the registry keeps whole seconds: day two's first operation, at now − 2 days, may read a second earlier
    const firstDay = payments.filter((o) => Date.parse(o.occurredAt) < now - 2 * DAY - 1000);
    expect(firstDay).toHaveLength(1500);
    expect(firstDay.reduce((s, o) => s + o.amount, 0)).toBe(1500 * 10_000 + (1499 * 1500) / 2);
  });

  test('the registry was asked within its limits: a day at most, never answered with more than 1000', () => {
    const reqs = bank.registry.requests;
    expect(reqs.every((r) => Date.parse(r.till) - Date.parse(r.from) <= DAY && Number(r.limit) <= 1000)).toBe(true);
    expect(reqs.filter((r) => r.status === 400)).toEqual([]);
    expect(reqs.some((r) => r.status === 422)).toBe(true);
    expect(Math.max(...reqs.map((r) => r.count))).toBeLessThan(1000);
  });

  test('the gateway payment is there with its order number, method, bank and purpose; each refund separately with its own id', () => {
    const payment = ops.find((o) => o.kind === 'payment' && o.providerRef === ours.paymentId);
    expect(payment).toMatchObject({
      orderNumber: ours.orderNumber,
      method: 'card',
      amount: 150_000,
      payerBank: 'Сбербанк',
      purpose: 'Заказ с сайта',
    });
    expect(payment!.occurredAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const refunds = ops.filter((o) => o.kind === 'refund');
    expect(refunds.map((o) => [o.providerRef, o.orderNumber, o.amount]).sort()).toEqual([
      [ours.paymentId, ours.orderNumber, 20_000],
      [ours.paymentId, ours.orderNumber, 30_000],
    ]);
    expect(refunds.every((o) => typeof o.refundId === 'string' && o.refundId.length > 0)).toBe(true);
    expect(new Set(refunds.map((o) => o.refundId)).size).toBe(2);
  });

  test('payments made elsewhere are included, with whatever order number they were given', () => {
    const desk = ops.filter((o) => o.orderNumber?.startsWith('front-desk-'));
    expect(desk).toHaveLength(5);
    expect(desk[0]).toMatchObject({ kind: 'payment', method: 'sbp', payerBank: 'ВТБ', purpose: 'Оплата на кассе', amount: 77_700 });
    expect(ops.some((o) => o.kind === 'payment' && o.orderNumber === null)).toBe(true);
  });
});

test('operations appear late (up to two hours at the real bank): a later listing of the same window finds them', async () => {
  bank.knobs.operationsDelayMs = 500;
  try {
    const pay = bank.createExternal({ amount: 5_000, method: 'sbp', orderId: 'late-1' });
    const window = { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) };
    expect((await all(provider, window)).some((o) => o.providerRef === pay.paymentId)).toBe(false);
    await new Promise((r) => setTimeout(r, 600));
    expect((await all(provider, window)).filter((o) => o.providerRef === pay.paymentId)).toHaveLength(1);
  } finally {
    bank.knobs.operationsDelayMs = 0;
  }
});

test('429 Too Many Requests: the provider waits and asks again, and nothing is lost', async () => {
  bank.knobs.operationsRateLimitMs = 150;
  try {
    const t = Date.now();
    for (let i = 0; i < 3; i++)
      bank.createExternal({ amount: 1_111, method: 'card', orderId: `rate-${i}`, at: new Date(t - i * DAY - 60_000) });
    bank.registry.requests.length = 0;
    const ops = await all(provider, { from: new Date(t - 3 * DAY), to: new Date(t) });
    expect(
      ops
        .filter((o) => o.orderNumber?.startsWith('rate-'))
        .map((o) => o.orderNumber)
        .sort(),
    ).toEqual(['rate-0', 'rate-1', 'rate-2']);
    expect(bank.registry.requests.some((r) => r.status === 429)).toBe(true);
  } finally {
    bank.knobs.operationsRateLimitMs = 20;
  }
});

test('429 that does not end is a retryable error', async () => {
  bank.knobs.operationsRateLimitMs = 60_000;
  const p = registryProvider({}, { operations: { minIntervalMs: 10, rateLimitBackoffMs: 10, rateLimitRetries: 2 } });
  try {
    const t = Date.now();
    const e = await collectError(p, { from: new Date(t - 2 * DAY), to: new Date(t) });
    expect(e).toMatchObject({ retryable: true, code: 'http_429' });
  } finally {
    bank.knobs.operationsRateLimitMs = 20;
    await p.close();
  }
});

test('a wrong T-Business token is not retryable, and the error does not quote it', async () => {
  const p = registryProvider({ token: 'a-wrong-business-token' });
  const e = await collectError(p, { from: new Date(Date.now() - 3_600_000), to: new Date() });
  await p.close();
  expect(e).toBeInstanceOf(ExternalError);
  expect(e).toMatchObject({ retryable: false, code: 'http_401' });
  expect(e.message).not.toContain('a-wrong-business-token');
});

async function collectError(p: TbankProvider, window: OperationWindow): Promise<ExternalError> {
  try {
    await all(p, window);
  } catch (e) {
    return e as ExternalError;
  }
  throw new Error('expected an error');
}

describe('registry entries read leniently', () => {
  const entry = {
    id: 'op-1',
    paymentId: '7000000001',
    orderId: 'A-1',
    type: 'Debit',
    paymentMethod: 'SBP',
    amount: 1000,
    transactionDate: '2026-01-15T10:30:00+03:00',
    payerBank: 'Альфа-Банк',
    description: 'Заказ',
  };

  test('the defined shape', () => {
    expect(toOperation(entry)).toMatchObject({
      kind: 'payment',
      providerRef: '7000000001',
      orderNumber: 'A-1',
      method: 'sbp',
      amount: 1000,
      occurredAt: '2026-01-15T07:30:00.000Z',
      payerBank: 'Альфа-Банк',
      purpose: 'Заказ',
    });
    expect(toOperation({ ...entry, type: 'Credit' })).toMatchObject({ kind: 'refund', refundId: 'op-1' });
  });

  test('numbers as strings, other words for the type, a card told by its masked number', () => {
    const { paymentMethod: _m, ...noMethod } = entry;
    expect(
      toOperation({
        ...noMethod,
        paymentId: 7000000001,
        amount: '1000',
        type: 'REFUND',
        operationId: 'r-9',
        id: undefined,
        cardNumber: '220070******1234',
      }),
    ).toMatchObject({
      kind: 'refund',
      providerRef: '7000000001',
      amount: 1000,
      refundId: 'r-9',
      method: 'card',
    });
  });

  test('a failed operation moved no money and is skipped', () => {
    expect(toOperation({ ...entry, status: 'FAILED' })).toBeNull();
    expect(toOperation({ ...entry, success: false })).toBeNull();
  });

  test('an entry without a readable amount, payment or time is an error, not a silent gap', () => {
    expect(() => toOperation({ ...entry, amount: 10.5 })).toThrow(ExternalError);
    expect(() => toOperation({ ...entry, paymentId: undefined })).toThrow(ExternalError);
    expect(() => toOperation({ ...entry, transactionDate: 'yesterday' })).toThrow(ExternalError);
    expect(() => toOperation({ ...entry, type: 'Mystery' })).toThrow(ExternalError);
  });
});
