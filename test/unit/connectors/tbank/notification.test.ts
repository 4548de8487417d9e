import { createHash } from 'node:crypto';
import { TbankProvider } from '../../../../connectors/tbank/provider';
import { tbankToken } from '../../../../connectors/tbank/token';
import type { InboundWebhook } from '../../../../gateway/ports';
import { NotificationReceiver } from '../../../emulators/tbank/receiver';
import { TbankEmulator } from '../../../emulators/tbank/server';

const SHOP = { terminalKey: 'ShopTerminal', password: 'terminal-password-1' };

let bank: TbankEmulator;
let receiver: NotificationReceiver;
let provider: TbankProvider;

beforeAll(async () => {
  bank = new TbankEmulator([SHOP, { terminalKey: 'OtherTerminal', password: SHOP.password }], { resendIntervalMs: 20 });
  await bank.start();
  receiver = new NotificationReceiver();
  await receiver.start();
  provider = new TbankProvider({ baseUrl: bank.apiUrl, terminalKey: SHOP.terminalKey, password: SHOP.password, timeoutMs: 3000 });
});

afterAll(async () => {
  await provider.close();
  await bank.stop();
  await receiver.stop();
});

beforeEach(() => {
  receiver.answer = () => ({ status: 200, body: 'OK' });
});

function hook(raw: string | Buffer): InboundWebhook {
  return {
    method: 'POST',
    params: {},
    rawBody: Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8'),
    headers: { 'content-type': 'application/json' },
  };
}

let n = 0;
async function paidCard(amount = 150000): Promise<{ paymentId: string; orderNumber: string }> {
  const orderNumber = `W-${++n}-${Date.now()}`;
  const r = await provider.initiate({
    attemptId: `att-${n}`,
    orderNumber,
    method: 'card',
    amount,
    description: 'Заказ',
    returnUrl: 'https://shop.example/ok',
    failUrl: 'https://shop.example/fail',
    callbackUrl: receiver.url,
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
  });
  bank.complete(r.providerRef, 'paid');
  await bank.settle();
  return { paymentId: r.providerRef, orderNumber };
}

/** A notification as T-Bank signs it: Token over the root scalars and the password. */
function signed(body: Record<string, unknown>, password = SHOP.password): string {
  return JSON.stringify({ ...body, Token: tbankToken(body, password) });
}

const base = {
  TerminalKey: SHOP.terminalKey,
  OrderId: 'W-1',
  Success: true,
  Status: 'CONFIRMED',
  PaymentId: 7160853973,
  ErrorCode: '0',
  Amount: 150000,
  Pan: '430000******0777',
};

describe('notifications the bank sends', () => {
  test('AUTHORIZED and CONFIRMED verify, naming the attempt, the status and the amount taken', async () => {
    const { paymentId, orderNumber } = await paidCard();
    const events = receiver.about(paymentId).map((r) => provider.verifyWebhook(hook(r.raw)));
    expect(events).toEqual([
      {
        ok: true,
        event: expect.objectContaining({
          ref: { providerRef: paymentId, orderNumber },
          operation: 'AUTHORIZED',
          success: true,
          amount: 150000,
        }),
      },
      {
        ok: true,
        event: expect.objectContaining({
          ref: { providerRef: paymentId, orderNumber },
          operation: 'CONFIRMED',
          success: true,
          amount: 150000,
        }),
      },
    ]);
  });

  test('a refund notification names no amount (what it carries is not the money taken)', async () => {
    const { paymentId } = await paidCard();
    await provider.refund({ providerRef: paymentId, orderNumber: 'x' }, { amount: 40000, fullSameDay: false });
    await bank.settle();
    const last = receiver.about(paymentId).at(-1)!;
    expect(last.body).toMatchObject({ Status: 'PARTIAL_REFUNDED', Amount: 40000 });
    const r = provider.verifyWebhook(hook(last.raw));
    expect(r).toMatchObject({ ok: true, event: { operation: 'PARTIAL_REFUNDED' } });
    if (r.ok) expect(r.event.amount).toBeUndefined();
  });

  test('a re-sent notification has the same dedupeKey; another status of the same payment another one', async () => {
    let first = true;
    receiver.answer = () => (first ? ((first = false), { status: 500, body: 'retry' }) : { status: 200, body: 'OK' });
    const { paymentId } = await paidCard();
    const got = receiver.about(paymentId);
    expect(got.map((r) => r.body.Status).sort()).toEqual(['AUTHORIZED', 'AUTHORIZED', 'CONFIRMED']);
    const keyOf = (raw: string) => {
      const v = provider.verifyWebhook(hook(raw));
      if (!v.ok) throw new Error(v.reason);
      return v.event.dedupeKey;
    };
    const authorized = got.filter((r) => r.body.Status === 'AUTHORIZED').map((r) => keyOf(r.raw));
    const confirmed = got.filter((r) => r.body.Status === 'CONFIRMED').map((r) => keyOf(r.raw));
    expect(authorized[1]).toBe(authorized[0]);
    expect(confirmed[0]).not.toBe(authorized[0]);
    expect(authorized[0]).toMatch(new RegExp(`^tbank:${paymentId}:AUTHORIZED:`));
  });

  test('the order of fields and spacing do not change the dedupeKey', () => {
    const token = tbankToken(base, SHOP.password);
    const a = provider.verifyWebhook(hook(JSON.stringify({ ...base, Token: token })));
    const reordered = Object.fromEntries(Object.entries({ ...base, Token: token }).reverse());
    const b = provider.verifyWebhook(hook(JSON.stringify(reordered, null, 2)));
    if (!a.ok || !b.ok) throw new Error('both should verify');
    expect(b.event.dedupeKey).toBe(a.event.dedupeKey);
  });
});

describe('notifications that are refused', () => {
  test('a wrong Token (the emulator forging it)', async () => {
    bank.knobs.forgeToken = true;
    try {
      const { paymentId } = await paidCard();
      const [r] = receiver.about(paymentId);
      expect(provider.verifyWebhook(hook(r.raw))).toEqual({ ok: false, refused: 'signature', reason: 'Token does not verify' });
    } finally {
      bank.knobs.forgeToken = false;
    }
  });

  test('a nested object is never signed: one signed with Data in its Token is refused, and one with Data changed still verifies', () => {
    const body = { ...base, Data: { gatewayAttemptId: 'att-1' } };
    const withData = createHash('sha256')
      .update(
        [
          String(body.Amount),
          JSON.stringify(body.Data),
          body.ErrorCode,
          body.OrderId,
          body.Pan,
          SHOP.password,
          String(body.PaymentId),
          body.Status,
          'true',
          body.TerminalKey,
        ].join(''),
      )
      .digest('hex');
    expect(provider.verifyWebhook(hook(JSON.stringify({ ...body, Token: withData })))).toEqual({
      ok: false,
      refused: 'signature',
      reason: 'Token does not verify',
    });
    const good = JSON.parse(signed(body)) as Record<string, unknown>;
    expect(provider.verifyWebhook(hook(JSON.stringify({ ...good, Data: { gatewayAttemptId: 'changed' } })))).toMatchObject({ ok: true });
  });

  test('another TerminalKey, even when signed with our password', async () => {
    expect(provider.verifyWebhook(hook(signed({ ...base, TerminalKey: 'OtherTerminal' })))).toEqual({
      ok: false,
      refused: 'content',
      reason: 'TerminalKey OtherTerminal is not ours',
    });
  });

  test('malformed JSON, JSON that is not an object, no Token', () => {
    expect(provider.verifyWebhook(hook('{"TerminalKey": "ShopTerminal", '))).toEqual({
      ok: false,
      refused: 'signature',
      reason: 'the body is not JSON',
    });
    expect(provider.verifyWebhook(hook('TerminalKey=ShopTerminal&Status=CONFIRMED'))).toEqual({
      ok: false,
      refused: 'signature',
      reason: 'the body is not JSON',
    });
    expect(provider.verifyWebhook(hook('[1,2]'))).toEqual({ ok: false, refused: 'signature', reason: 'the body is not a JSON object' });
    expect(provider.verifyWebhook(hook(JSON.stringify(base)))).toEqual({ ok: false, refused: 'signature', reason: 'no Token' });
  });

  test('an unknown Status, no PaymentId, no OrderId — each refused even when signed', () => {
    expect(provider.verifyWebhook(hook(signed({ ...base, Status: 'PAID_BY_MAGIC' })))).toEqual({
      ok: false,
      refused: 'content',
      reason: 'unknown Status PAID_BY_MAGIC',
    });
    const { PaymentId: _p, ...noPayment } = base;
    expect(provider.verifyWebhook(hook(signed(noPayment)))).toEqual({
      ok: false,
      refused: 'content',
      reason: 'PaymentId missing or not a number',
    });
    const { OrderId: _o, ...noOrder } = base;
    expect(provider.verifyWebhook(hook(signed(noOrder)))).toEqual({ ok: false, refused: 'content', reason: 'OrderId missing' });
  });

  test('a value changed after signing', () => {
    const body = JSON.parse(signed(base)) as Record<string, unknown>;
    expect(provider.verifyWebhook(hook(JSON.stringify({ ...body, Amount: 1 })))).toEqual({
      ok: false,
      refused: 'signature',
      reason: 'Token does not verify',
    });
  });
});

test('a PaymentId longer than a JavaScript number holds is kept digit for digit', () => {
  const raw = signed({ ...base, PaymentId: 0 }).replace('"PaymentId":0', '"PaymentId":12345678901234567890');
  const token = tbankToken({ ...base, PaymentId: '12345678901234567890' }, SHOP.password);
  const r = provider.verifyWebhook(hook(raw.replace(/"Token":"[0-9a-f]+"/, `"Token":"${token}"`)));
  expect(r).toMatchObject({ ok: true, event: { ref: { providerRef: '12345678901234567890' } } });
});
