import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TbankApiError } from '../../../../connectors/tbank/client';
import { TbankProvider, redirectDueDate } from '../../../../connectors/tbank/provider';
import { buildSbpLink, parseSbpLink } from '../../../../gateway/domain/sbp';
import { toObserved } from '../../../../connectors/tbank/status';
import { PAYMENT_STATUSES } from '../../../../connectors/tbank/types';
import type { TbankConfig } from '../../../../connectors/tbank/config';
import { ExternalError, ProviderNotFoundError, type AttemptRef, type InitiateInput } from '../../../../gateway/ports';
import { NotificationReceiver } from '../../../emulators/tbank/receiver';
import { TbankEmulator } from '../../../emulators/tbank/server';

const SHOP = { terminalKey: 'ShopTerminal', password: 'terminal-password-1' };
const HELD = { terminalKey: 'HeldTerminalDEMO', password: 'terminal-password-2', twoStage: true };

let bank: TbankEmulator;
let receiver: NotificationReceiver;
let shop: TbankProvider;
let held: TbankProvider;

function config(t: { terminalKey: string; password: string }, over: Partial<TbankConfig> = {}): TbankConfig {
  return { baseUrl: bank.apiUrl, terminalKey: t.terminalKey, password: t.password, timeoutMs: 3000, ...over };
}

beforeAll(async () => {
  bank = new TbankEmulator([SHOP, HELD]);
  await bank.start();
  receiver = new NotificationReceiver();
  await receiver.start();
  shop = new TbankProvider(config(SHOP));
  held = new TbankProvider(config(HELD));
});

afterAll(async () => {
  await shop.close();
  await held.close();
  await bank.stop();
  await receiver.stop();
});

let n = 0;
function input(over: Partial<InitiateInput> = {}): InitiateInput {
  n++;
  return {
    attemptId: `att-${n}`,
    orderNumber: `T-${n}-${Date.now()}`,
    method: 'card',
    amount: 150000,
    description: 'Заказ №1 в магазине',
    returnUrl: 'https://shop.example/paid',
    failUrl: 'https://shop.example/failed',
    callbackUrl: receiver.url,
    expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(),
    customer: { email: 'buyer@example.ru', phone: '8 (912) 345-67-89' },
    ...over,
  };
}

/** A started payment and the ref the gateway keeps for it. */
async function started(p: TbankProvider, over: Partial<InitiateInput> = {}): Promise<{ ref: AttemptRef; paymentId: string }> {
  const i = input(over);
  const r = await p.initiate(i);
  return { paymentId: r.providerRef, ref: { providerRef: r.providerRef, orderNumber: i.orderNumber, amount: i.amount, method: i.method } };
}

async function rejection(p: Promise<unknown>): Promise<ExternalError> {
  try {
    await p;
  } catch (e) {
    return e as ExternalError;
  }
  throw new Error('expected a rejection');
}

describe('initiate', () => {
  test('card: Init → redirect to the PaymentURL; PaymentId, DATA and RedirectDueDate as T-Bank takes them', async () => {
    const i = input();
    const r = await shop.initiate(i);
    expect(r.providerRef).toMatch(/^\d+$/);
    expect(r.action).toEqual({ type: 'redirect', url: expect.stringMatching(new RegExp(`^${bank.url}/pay/`)) });
    const pay = bank.payments.get(r.providerRef)!;
    expect(pay).toMatchObject({
      orderId: i.orderNumber,
      amount: 150000,
      description: 'Заказ №1 в магазине',
      notificationUrl: receiver.url,
      successUrl: i.returnUrl,
      failUrl: i.failUrl,
    });
    expect(pay.data).toEqual({ gatewayAttemptId: i.attemptId, Email: 'buyer@example.ru', Phone: '+79123456789' });
    expect(pay.redirectDueAt).toBe(Math.floor(Date.parse(i.expiresAt) / 1000) * 1000);
  });

  test('СБП: Init then GetQr → the NSPK link with a correct crc and the amount, expiring with the attempt', async () => {
    const i = input({ method: 'sbp', amount: 123456 });
    const r = await shop.initiate(i);
    expect(r.action.type).toBe('qr');
    if (r.action.type !== 'qr') return;
    expect(parseSbpLink(r.action.payload)).toMatchObject({ type: '02', sum: 123456, crcValid: true });
    expect(r.action.expiresAt).toBe(new Date(Math.floor(Date.parse(i.expiresAt) / 1000) * 1000).toISOString());
    expect(r.warnings).toBeUndefined();
    expect(bank.payments.get(r.providerRef)).toMatchObject({ method: 'sbp', status: 'FORM_SHOWED', twoStage: false });
  });

  test('the 10 ₽ minimum of СБП: minAmount says so; below it the bank refuses (not retryable) and the payment is given up', async () => {
    expect(shop.minAmount('sbp')).toBe(1000);
    expect(shop.minAmount('card')).toBe(0);
    const i = input({ method: 'sbp', amount: 999 });
    const e = await rejection(shop.initiate(i));
    expect(e).toBeInstanceOf(TbankApiError);
    expect(e).toMatchObject({ retryable: false, code: '3016' });
    const pay = [...bank.payments.values()].find((p) => p.orderId === i.orderNumber)!;
    expect(pay.status).toBe('CANCELED');
  });

  test('a description is cut to 250 characters (the bank refuses longer ones)', async () => {
    const r = await shop.initiate(input({ description: `Заказ ${'я'.repeat(300)}` }));
    expect(bank.payments.get(r.providerRef)!.description).toHaveLength(250);
  });

  test('RedirectDueDate is Moscow time with its offset; an expiry sooner than a minute is moved to a minute', () => {
    const now = Date.UTC(2026, 5, 1, 9, 0, 0, 500);
    expect(redirectDueDate(new Date(now + 30 * 60_000).toISOString(), now).text).toBe('2026-06-01T12:30:00+03:00');
    expect(redirectDueDate(new Date(now + 5_000).toISOString(), now).at.getTime()).toBe(Date.UTC(2026, 5, 1, 9, 1, 2));
  });
});

describe('a QR payload that is not what it should be', () => {
  let stub: Server;
  let stubUrl: string;
  let payload: string;
  const cancelled: string[] = [];
  beforeAll(async () => {
    stub = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const body = JSON.parse(raw) as Record<string, unknown>;
        const method = req.url!.split('/').pop();
        res.setHeader('content-type', 'application/json');
        if (method === 'Init')
          res.end(
            JSON.stringify({
              Success: true,
              ErrorCode: '0',
              Status: 'NEW',
              PaymentId: '555',
              Amount: body.Amount,
              PaymentURL: 'https://pay.example/x',
            }),
          );
        else if (method === 'GetQr') res.end(JSON.stringify({ Success: true, ErrorCode: '0', PaymentId: 555, Data: payload }));
        else {
          cancelled.push(String(body.PaymentId));
          res.end(JSON.stringify({ Success: true, ErrorCode: '0', Status: 'CANCELED' }));
        }
      });
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}/v2/`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => stub.close(() => r()));
  });

  test('a payload that is not an NSPK link is refused, not retryable, and the payment cancelled', async () => {
    payload = 'https://pay.example/qr/555';
    const p = new TbankProvider(config(SHOP, { baseUrl: stubUrl }));
    const e = await rejection(p.initiate(input({ method: 'sbp' })));
    await p.close();
    expect(e).toBeInstanceOf(ExternalError);
    expect(e).toMatchObject({ retryable: false, code: 'qr_payload' });
    expect(cancelled).toContain('555');
  });

  test('a wrong crc or sum is a warning for the log, not a failure', async () => {
    const good = buildSbpLink('AD10006M8KH9CGOB9LSO2BQ8CH3E5JCL', '100000000004', 150000);
    payload = good.replace(/crc=[0-9A-F]{4}$/, 'crc=0000').replace('sum=150000', 'sum=150001');
    const p = new TbankProvider(config(SHOP, { baseUrl: stubUrl }));
    const r = await p.initiate(input({ method: 'sbp' }));
    await p.close();
    expect(r.action).toMatchObject({ type: 'qr', payload });
    expect(r.warnings).toEqual([expect.stringContaining('crc 0000'), expect.stringContaining('sum 150001')]);
  });
});

describe('status: GetState in canonical terms', () => {
  test('NEW and FORM_SHOWED are pending', async () => {
    const { ref } = await started(shop);
    expect(await shop.status(ref)).toMatchObject({
      state: 'pending',
      amount: 150000,
      paidAmount: 0,
      refundedAmount: 0,
      providerRef: ref.providerRef,
    });
    await fetch(`${bank.url}/pay/${bank.payments.get(ref.providerRef!)!.formCode}`);
    const s = await shop.status(ref);
    expect(s).toMatchObject({ state: 'pending', raw: expect.objectContaining({ Status: 'FORM_SHOWED' }) });
  });

  test('a two-stage card held is authorized, nothing taken; a refund of it is a reversal', async () => {
    const { ref, paymentId } = await started(held);
    bank.complete(paymentId, 'paid');
    expect(await held.status(ref)).toMatchObject({ state: 'authorized', paidAmount: 0 });
    await held.refund(ref, { amount: 150000, fullSameDay: true });
    expect(await held.status(ref)).toMatchObject({
      state: 'reversed',
      paidAmount: 0,
      raw: expect.objectContaining({ Status: 'REVERSED' }),
    });
  });

  test('CONFIRMED is paid; partial refunds are counted from the registered amount, not from what T-Bank reports', async () => {
    const { ref, paymentId } = await started(shop);
    bank.complete(paymentId, 'paid');
    expect(await shop.status(ref)).toMatchObject({ state: 'paid', amount: 150000, paidAmount: 150000, refundedAmount: 0 });
    await shop.refund(ref, { amount: 50000, fullSameDay: false });
    const partly = await shop.status(ref);
    expect(partly).toMatchObject({
      state: 'paid',
      amount: 150000,
      paidAmount: 150000,
      refundedAmount: 50000,
      raw: expect.objectContaining({ Status: 'PARTIAL_REFUNDED', Amount: 100000 }),
    });
    // without the registered amount the remaining 1000 ₽ is all there is, and the reason says so
    const blind = await shop.status({ providerRef: ref.providerRef, orderNumber: ref.orderNumber });
    expect(blind).toMatchObject({ amount: 100000, refundedAmount: 0, reason: expect.stringContaining('registered amount is unknown') });
    await shop.refund(ref, { amount: 100000, fullSameDay: false });
    expect(await shop.status(ref)).toMatchObject({ state: 'refunded', paidAmount: 150000, refundedAmount: 150000 });
  });

  test('a refund under way (REFUNDING) keeps the payment paid with what was returned before', async () => {
    const { ref, paymentId } = await started(shop);
    bank.complete(paymentId, 'paid');
    bank.knobs.refundDelayMs = 300;
    try {
      await shop.refund(ref, { amount: 20000, fullSameDay: false });
      expect(await shop.status(ref)).toMatchObject({
        state: 'paid',
        paidAmount: 150000,
        refundedAmount: 0,
        raw: expect.objectContaining({ Status: 'REFUNDING' }),
      });
      while (bank.payments.get(paymentId)!.status === 'REFUNDING') await new Promise((r) => setTimeout(r, 50));
      expect(await shop.status(ref)).toMatchObject({ state: 'paid', refundedAmount: 20000 });
    } finally {
      bank.knobs.refundDelayMs = 0;
    }
  });

  test('declined, expired, cancelled', async () => {
    const declined = await started(shop);
    bank.complete(declined.paymentId, 'declined');
    expect(await shop.status(declined.ref)).toMatchObject({ state: 'declined', paidAmount: 0 });

    const expired = await started(held, { method: 'sbp' });
    await held.client.ok('SbpPayTest', { PaymentId: expired.paymentId, IsDeadlineExpired: true });
    expect(await held.status(expired.ref)).toMatchObject({ state: 'expired', paidAmount: 0 });

    const given = await started(shop);
    await shop.cancel(given.ref);
    expect(await shop.status(given.ref)).toMatchObject({
      state: 'reversed',
      paidAmount: 0,
      raw: expect.objectContaining({ Status: 'CANCELED' }),
    });
  });

  test('every T-Bank status has its canonical state', () => {
    const expected: Record<string, string> = {
      NEW: 'pending',
      FORM_SHOWED: 'pending',
      AUTHORIZING: 'pending',
      '3DS_CHECKING': 'pending',
      '3DS_CHECKED': 'pending',
      AUTHORIZED: 'authorized',
      CONFIRMING: 'authorized',
      CONFIRMED: 'paid',
      REVERSING: 'authorized',
      PARTIAL_REVERSED: 'reversed',
      REVERSED: 'reversed',
      REFUNDING: 'paid',
      PARTIAL_REFUNDED: 'paid',
      REFUNDED: 'refunded',
      CANCELED: 'reversed',
      DEADLINE_EXPIRED: 'expired',
      REJECTED: 'declined',
      AUTH_FAIL: 'declined',
    };
    expect(Object.keys(expected).sort()).toEqual([...PAYMENT_STATUSES].sort());
    for (const status of PAYMENT_STATUSES) {
      const o = toObserved({ Success: true, ErrorCode: '0', Status: status, Amount: 150000 }, 150000);
      expect([status, o.state]).toEqual([status, expected[status]]);
      expect(o.paidAmount).toBe(expected[status] === 'paid' || expected[status] === 'refunded' ? 150000 : 0);
    }
    expect(toObserved({ Success: true, Status: 'SOMETHING_NEW', Amount: 1 }, 1)).toMatchObject({
      state: 'pending',
      reason: expect.stringContaining('SOMETHING_NEW'),
    });
  });

  test('a PaymentId the bank does not know → ProviderNotFoundError', async () => {
    await expect(shop.status({ providerRef: '99', orderNumber: 'nope', amount: 100 })).rejects.toBeInstanceOf(ProviderNotFoundError);
  });

  test('asked by order number only (the Init answer was lost): found through CheckOrder, with its PaymentId', async () => {
    const { ref, paymentId } = await started(shop);
    bank.complete(paymentId, 'paid');
    expect(await shop.status({ orderNumber: ref.orderNumber, amount: 150000 })).toMatchObject({ state: 'paid', providerRef: paymentId });
    await expect(shop.status({ orderNumber: 'never-registered', amount: 100 })).rejects.toBeInstanceOf(ProviderNotFoundError);
  });
});

describe('refund and cancel', () => {
  test('a full refund on the day is Cancel too: the money goes back', async () => {
    const { ref, paymentId } = await started(shop);
    bank.complete(paymentId, 'paid');
    await shop.refund(ref, { amount: 150000, fullSameDay: true });
    expect(bank.payments.get(paymentId)).toMatchObject({ status: 'REFUNDED', refunded: 150000 });
  });

  test('returning more than is left is refused, not retryable; a ref without PaymentId cannot be refunded', async () => {
    const { ref, paymentId } = await started(shop);
    bank.complete(paymentId, 'paid');
    expect(await rejection(shop.refund(ref, { amount: 150001, fullSameDay: false }))).toMatchObject({ retryable: false });
    expect(await rejection(shop.refund({ orderNumber: ref.orderNumber }, { amount: 1, fullSameDay: false }))).toMatchObject({
      retryable: false,
    });
    expect(bank.payments.get(paymentId)!.refunded).toBe(0);
  });

  test('cancel gives an unpaid payment up, so it cannot be paid any more', async () => {
    const { ref, paymentId } = await started(shop);
    expect(await shop.cancel(ref)).toEqual({ cancelled: true });
    expect(bank.complete(paymentId, 'paid').status).toBe('CANCELED');
    // asked again: it is given up already
    expect(await shop.cancel(ref)).toEqual({ cancelled: true });
  });

  test('cancel never returns money: a payment paid meanwhile stays paid, and the answer says why nothing was cancelled', async () => {
    const { ref, paymentId } = await started(shop);
    bank.complete(paymentId, 'paid');
    expect(await shop.cancel(ref)).toEqual({ cancelled: false, reason: 'the payment is CONFIRMED' });
    expect(bank.payments.get(paymentId)).toMatchObject({ status: 'CONFIRMED', refunded: 0 });
  });

  test('cancel of a payment already final, unknown, or never registered throws nothing and says it was not cancelled', async () => {
    const { ref, paymentId } = await started(shop);
    bank.complete(paymentId, 'declined');
    expect(await shop.cancel(ref)).toMatchObject({ cancelled: false, reason: expect.stringContaining('REJECTED') });
    expect(await shop.cancel({ providerRef: '42', orderNumber: 'x' })).toMatchObject({ cancelled: false });
    expect(await shop.cancel({ orderNumber: 'x' })).toMatchObject({ cancelled: false });
  });
});

describe('errors: retryable or not', () => {
  test('the bank down (a 503 HTML page) is retryable', async () => {
    bank.knobs.apiDown = true;
    try {
      const e = await rejection(shop.initiate(input()));
      expect(e).toBeInstanceOf(ExternalError);
      expect(e).toMatchObject({ system: 'tbank', retryable: true, code: 'http_503' });
    } finally {
      bank.knobs.apiDown = false;
    }
  });

  test('a wrong password (ErrorCode 204) is not retryable, and the message carries no secret', async () => {
    const wrong = new TbankProvider(config({ terminalKey: SHOP.terminalKey, password: 'the-wrong-password' }));
    const e = await rejection(wrong.initiate(input()));
    await wrong.close();
    expect(e).toBeInstanceOf(TbankApiError);
    expect(e).toMatchObject({ retryable: false, code: '204' });
    expect(e.message).not.toContain('the-wrong-password');
    expect(e.message).not.toContain(SHOP.password);
  });

  test('a refund of a payment in the wrong state is not retryable', async () => {
    const { ref, paymentId } = await started(shop);
    bank.complete(paymentId, 'declined');
    expect(await rejection(shop.refund(ref, { amount: 100, fullSameDay: false }))).toMatchObject({ retryable: false, code: '8' });
  });

  describe('answers of a misbehaving server', () => {
    let stub: Server;
    let stubUrl: string;
    let reply: (res: import('node:http').ServerResponse) => void;
    beforeAll(async () => {
      stub = createServer((req, res) => {
        req.resume();
        req.on('end', () => reply(res));
      });
      await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
      stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}/v2/`;
    });
    afterAll(async () => {
      stub.closeAllConnections();
      await new Promise<void>((r) => stub.close(() => r()));
    });

    const cases: [string, (res: import('node:http').ServerResponse) => void, boolean, string | undefined][] = [
      ['HTTP 429', (res) => res.writeHead(429).end(), true, 'http_429'],
      ['HTTP 502', (res) => res.writeHead(502).end('<html>Bad Gateway</html>'), true, 'http_502'],
      [
        'a maintenance page with HTTP 200',
        (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Ведутся технические работы</body></html>'),
        true,
        undefined,
      ],
      [
        'ErrorCode 9999, an internal error',
        (res) => json(res, { Success: false, ErrorCode: '9999', Message: 'Внутренняя ошибка системы' }),
        true,
        '9999',
      ],
      [
        'ErrorCode 9999 that is really invalid parameters',
        (res) => json(res, { Success: false, ErrorCode: '9999', Message: 'Неверные параметры.', Details: 'Неверный токен.' }),
        false,
        '9999',
      ],
      [
        'ErrorCode 251, a validation error',
        (res) => json(res, { Success: false, ErrorCode: '251', Message: 'Неверная сумма' }),
        false,
        '251',
      ],
      ['HTTP 404', (res) => res.writeHead(404).end(), false, 'http_404'],
    ];
    test.each(cases)('%s', async (_name, answer, retryable, code) => {
      reply = answer;
      const p = new TbankProvider(config(SHOP, { baseUrl: stubUrl }));
      const e = await rejection(p.status({ providerRef: '1', orderNumber: 'x', amount: 100 }));
      await p.close();
      expect(e).toBeInstanceOf(ExternalError);
      expect({ retryable: e.retryable, code: e.code }).toEqual({ retryable, code });
    });

    test('no answer within timeoutMs is retryable', async () => {
      reply = () => undefined;
      const p = new TbankProvider(config(SHOP, { baseUrl: stubUrl, timeoutMs: 200 }));
      const e = await rejection(p.status({ providerRef: '1', orderNumber: 'x', amount: 100 }));
      await p.close();
      expect(e).toMatchObject({ retryable: true });
      expect(e.message).toContain('no answer in 200 ms');
    });
  });

  test('nobody listening is retryable', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const p = new TbankProvider(config(SHOP, { baseUrl: `http://127.0.0.1:${port}/v2/` }));
    const e = await rejection(p.status({ providerRef: '1', orderNumber: 'x' }));
    await p.close();
    expect(e).toMatchObject({ retryable: true });
  });
});

function json(res: import('node:http').ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
