import { TbankClient } from '../../../connectors/tbank/client';
import { parseSbpLink } from '../../../gateway/domain/sbp';
import { verifyTbankToken } from '../../../connectors/tbank/token';
import type { GetQrResponse, GetStateResponse, InitResponse } from '../../../connectors/tbank/types';
import { NotificationReceiver } from './receiver';
import { TbankEmulator } from './server';

const ONE_STAGE = { terminalKey: 'ShopOneStage', password: 'one-stage-password', businessToken: 'business-token-1' };
const TWO_STAGE = { terminalKey: 'ShopTwoStageDEMO', password: 'two-stage-password', twoStage: true };

let bank: TbankEmulator;
let receiver: NotificationReceiver;
let one: TbankClient;
let two: TbankClient;

function client(terminalKey: string, password: string): TbankClient {
  return new TbankClient({ baseUrl: bank.apiUrl, terminalKey, password, timeoutMs: 5000 });
}

beforeAll(async () => {
  bank = new TbankEmulator([ONE_STAGE, TWO_STAGE], { resendIntervalMs: 20, resendDailyIntervalMs: 40 });
  await bank.start();
  receiver = new NotificationReceiver();
  await receiver.start();
  one = client(ONE_STAGE.terminalKey, ONE_STAGE.password);
  two = client(TWO_STAGE.terminalKey, TWO_STAGE.password);
});

afterAll(async () => {
  await one.close();
  await two.close();
  await bank.stop();
  await receiver.stop();
});

beforeEach(() => {
  receiver.answer = () => ({ status: 200, body: 'OK' });
});

let seq = 0;
async function init(c: TbankClient, extra: Record<string, unknown> = {}): Promise<InitResponse> {
  return c.call<InitResponse>('Init', {
    Amount: 150000,
    OrderId: `E-${++seq}`,
    Description: 'Заказ',
    NotificationURL: receiver.url,
    SuccessURL: 'https://shop.example/ok',
    FailURL: 'https://shop.example/fail',
    ...extra,
  });
}

async function state(c: TbankClient, paymentId: string): Promise<GetStateResponse> {
  return c.call<GetStateResponse>('GetState', { PaymentId: paymentId });
}

describe('requests are signed', () => {
  test('a request with a wrong Token is refused with ErrorCode 204 and changes nothing', async () => {
    const wrong = client(ONE_STAGE.terminalKey, 'not-the-password');
    const r = await wrong.call<InitResponse>('Init', { Amount: 1000, OrderId: 'X-1' });
    await wrong.close();
    expect(r).toMatchObject({ Success: false, ErrorCode: '204' });
    expect([...bank.payments.values()].some((p) => p.orderId === 'X-1')).toBe(false);
  });

  test('an unknown TerminalKey is refused', async () => {
    const stranger = client('NoSuchTerminal', 'whatever');
    const r = await stranger.call('Init', { Amount: 1000, OrderId: 'X-2' });
    await stranger.close();
    expect(r).toMatchObject({ Success: false, ErrorCode: '205' });
  });

  test('a request without a Token is refused', async () => {
    const res = await fetch(`${bank.apiUrl}GetState`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ TerminalKey: ONE_STAGE.terminalKey, PaymentId: '1' }),
    });
    expect(await res.json()).toMatchObject({ Success: false, ErrorCode: '204' });
  });
});

describe('Init', () => {
  test('answers NEW with PaymentId as a string of digits and a PaymentURL showing a Russian form', async () => {
    const r = await init(one);
    expect(r).toMatchObject({ Success: true, ErrorCode: '0', Status: 'NEW', Amount: 150000 });
    expect(typeof r.PaymentId).toBe('string');
    expect(String(r.PaymentId)).toMatch(/^\d+$/);
    const page = await (await fetch(r.PaymentURL!)).text();
    expect(page).toContain('Оплатить');
    expect(page).toContain('1 500,00 ₽');
    expect((await state(one, String(r.PaymentId))).Status).toBe('FORM_SHOWED');
  });

  test('amounts under 1 ₽ or not whole kopecks are refused', async () => {
    expect(await init(one, { Amount: 99 })).toMatchObject({ Success: false, ErrorCode: '251' });
    expect(await init(one, { Amount: 100.5 })).toMatchObject({ Success: false, ErrorCode: '251' });
  });

  test('RedirectDueDate sooner than a minute, or not in the ISO form with an offset, is refused', async () => {
    const soon = `${new Date(Date.now() + 3 * 3_600_000 + 20_000).toISOString().slice(0, 19)}+03:00`;
    expect(await init(one, { RedirectDueDate: soon })).toMatchObject({ Success: false, ErrorCode: '12' });
    expect(await init(one, { RedirectDueDate: new Date(Date.now() + 3_600_000).toISOString() })).toMatchObject({
      Success: false,
      ErrorCode: '12',
    });
  });
});

describe('the payment form and notifications', () => {
  test('paying on the form redirects to SuccessURL; a one-stage payment notifies AUTHORIZED then CONFIRMED, signed, PaymentId a number, Data nested', async () => {
    const r = await init(one, { DATA: { gatewayAttemptId: 'att-1', Email: 'a@b.ru' } });
    const paymentId = String(r.PaymentId);
    const res = await fetch(r.PaymentURL!, { method: 'POST', body: new URLSearchParams({ outcome: 'paid' }), redirect: 'manual' });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe('https://shop.example/ok');
    expect(back.searchParams.get('PaymentId')).toBe(paymentId);
    await bank.settle();
    const got = receiver.about(paymentId);
    expect(got.map((n) => n.body.Status)).toEqual(['AUTHORIZED', 'CONFIRMED']);
    for (const n of got) {
      expect(typeof n.body.PaymentId).toBe('number');
      expect(n.body.Data).toMatchObject({ gatewayAttemptId: 'att-1', Email: 'a@b.ru' });
      expect(verifyTbankToken(n.raw, ONE_STAGE.password)).toBe(true);
    }
    expect((await state(one, paymentId)).Status).toBe('CONFIRMED');
  });

  test('declined on the form: REJECTED, notified with Success false, back to FailURL', async () => {
    const r = await init(one);
    const res = await fetch(r.PaymentURL!, { method: 'POST', body: new URLSearchParams({ outcome: 'declined' }), redirect: 'manual' });
    expect(new URL(res.headers.get('location')!).pathname).toBe('/fail');
    await bank.settle();
    expect(receiver.about(String(r.PaymentId)).map((n) => [n.body.Status, n.body.Success])).toEqual([['REJECTED', false]]);
  });

  test('a notification not answered with 200 and the body OK is sent again until it is', async () => {
    const r = await init(two);
    const paymentId = String(r.PaymentId);
    let tries = 0;
    receiver.answer = () =>
      ++tries < 3 ? (tries === 1 ? { status: 500, body: 'error' } : { status: 200, body: 'accepted' }) : { status: 200, body: 'OK' };
    bank.complete(paymentId, 'paid');
    await bank.settle();
    const sent = bank.deliveries.filter((d) => String(d.body.PaymentId) === paymentId);
    expect(sent.map((d) => [d.attempt, d.ok])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(new Set(sent.map((d) => JSON.stringify(d.body))).size).toBe(1);
  });

  test('re-sends stop after the hourly and the daily ones are spent', async () => {
    bank.knobs.resendLimit = 2;
    bank.knobs.resendDailyLimit = 1;
    receiver.answer = () => ({ status: 503, body: '' });
    try {
      const r = await init(two);
      bank.complete(String(r.PaymentId), 'paid');
      await bank.settle();
      expect(bank.deliveries.filter((d) => String(d.body.PaymentId) === String(r.PaymentId)).map((d) => d.attempt)).toEqual([1, 2, 3, 4]);
    } finally {
      bank.knobs.resendLimit = 24;
      bank.knobs.resendDailyLimit = 30;
    }
  });

  test('forgeToken: notifications carry a Token that does not verify', async () => {
    bank.knobs.forgeToken = true;
    try {
      const r = await init(two);
      bank.complete(String(r.PaymentId), 'paid');
      await bank.settle();
      const [n] = receiver.about(String(r.PaymentId));
      expect(verifyTbankToken(n.raw, TWO_STAGE.password)).toBe(false);
    } finally {
      bank.knobs.forgeToken = false;
    }
  });
});

describe('failure knobs', () => {
  test('duplicateCallbacks: every notification comes more than once, identical', async () => {
    bank.knobs.duplicateCallbacks = 1;
    try {
      const r = await init(two);
      bank.complete(String(r.PaymentId), 'paid');
      await bank.settle();
      const got = receiver.about(String(r.PaymentId));
      expect(got).toHaveLength(2);
      expect(got[1].raw).toBe(got[0].raw);
    } finally {
      bank.knobs.duplicateCallbacks = 0;
    }
  });

  test('callbacks off: the payment is paid, nobody is told', async () => {
    bank.knobs.callbacks = 'off';
    try {
      const r = await init(one);
      bank.complete(String(r.PaymentId), 'paid');
      await bank.settle();
      expect(receiver.about(String(r.PaymentId))).toEqual([]);
      expect((await state(one, String(r.PaymentId))).Status).toBe('CONFIRMED');
    } finally {
      bank.knobs.callbacks = 'on';
    }
  });

  test('apiFailRate 1: every call meets an HTML 503 page and nothing is created', async () => {
    bank.knobs.apiFailRate = 1;
    const before = bank.payments.size;
    try {
      const res = await fetch(`${bank.apiUrl}Init`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(one.body({ Amount: 1000, OrderId: 'F-1' })),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toContain('text/html');
    } finally {
      bank.knobs.apiFailRate = 0;
    }
    expect(bank.payments.size).toBe(before);
  });

  test('refundDelayMs: a refund is REFUNDING first, then done and notified', async () => {
    bank.knobs.refundDelayMs = 200;
    try {
      const r = await init(one);
      const paymentId = String(r.PaymentId);
      bank.complete(paymentId, 'paid');
      expect(await one.call('Cancel', { PaymentId: paymentId, Amount: 1000 })).toMatchObject({ Success: true, Status: 'REFUNDING' });
      expect(await state(one, paymentId)).toMatchObject({ Status: 'REFUNDING', Amount: 150000 });
      while ((await state(one, paymentId)).Status === 'REFUNDING') await new Promise((res) => setTimeout(res, 50));
      expect(await state(one, paymentId)).toMatchObject({ Status: 'PARTIAL_REFUNDED', Amount: 149000 });
      await bank.settle();
      expect(receiver.about(paymentId).map((n) => n.body.Status)).toEqual(['AUTHORIZED', 'CONFIRMED', 'PARTIAL_REFUNDED']);
    } finally {
      bank.knobs.refundDelayMs = 0;
    }
  });
});

describe('two stages, refunds and the amount left', () => {
  test('a two-stage card is held until Confirm', async () => {
    const r = await init(two);
    const paymentId = String(r.PaymentId);
    bank.complete(paymentId, 'paid');
    expect((await state(two, paymentId)).Status).toBe('AUTHORIZED');
    expect(await two.call('Confirm', { PaymentId: paymentId })).toMatchObject({ Success: true, Status: 'CONFIRMED' });
    expect(await two.call('Confirm', { PaymentId: paymentId })).toMatchObject({ Success: false, ErrorCode: '4' });
  });

  test('after a partial refund GetState reports what is left; refunding more than that is refused', async () => {
    const r = await init(one);
    const paymentId = String(r.PaymentId);
    bank.complete(paymentId, 'paid');
    expect(await one.call('Cancel', { PaymentId: paymentId, Amount: 50000 })).toMatchObject({
      Success: true,
      Status: 'PARTIAL_REFUNDED',
      OriginalAmount: 150000,
      NewAmount: 100000,
    });
    expect(await state(one, paymentId)).toMatchObject({ Status: 'PARTIAL_REFUNDED', Amount: 100000 });
    expect(await one.call('Cancel', { PaymentId: paymentId, Amount: 100001 })).toMatchObject({ Success: false });
    expect(await one.call('Cancel', { PaymentId: paymentId, Amount: 100000 })).toMatchObject({ Success: true, Status: 'REFUNDED' });
    expect(await one.call('Cancel', { PaymentId: paymentId })).toMatchObject({ Success: false, ErrorCode: '8' });
  });

  test('an unknown PaymentId is answered as not found', async () => {
    expect(await state(one, '123')).toMatchObject({ Success: false, ErrorCode: '255' });
  });
});

describe('RedirectDueDate is enforced', () => {
  test('a payment not paid by then is DEADLINE_EXPIRED, notified, and can no longer be paid', async () => {
    bank.knobs.minRedirectDueMs = 0;
    try {
      const due = new Date(Math.ceil((Date.now() + 1200) / 1000) * 1000);
      const r = await init(one, { RedirectDueDate: `${new Date(due.getTime() + 3 * 3_600_000).toISOString().slice(0, 19)}+03:00` });
      const paymentId = String(r.PaymentId);
      while (Date.now() <= due.getTime() + 20) await new Promise((res) => setTimeout(res, 100));
      expect((await state(one, paymentId)).Status).toBe('DEADLINE_EXPIRED');
      expect(bank.complete(paymentId, 'paid').status).toBe('DEADLINE_EXPIRED');
      expect(await one.call('GetQr', { PaymentId: paymentId })).toMatchObject({ Success: false });
      expect(await (await fetch(r.PaymentURL!)).text()).toContain('Срок оплаты истёк');
      await bank.settle();
      expect(receiver.about(paymentId).map((n) => n.body.Status)).toEqual(['DEADLINE_EXPIRED']);
    } finally {
      bank.knobs.minRedirectDueMs = 60_000;
    }
  });
});

describe('СБП', () => {
  test('GetQr gives an NSPK link with the amount in kopecks and a correct crc; PaymentId a number', async () => {
    const r = await init(one, { Amount: 123456 });
    const qr = await one.call<GetQrResponse>('GetQr', { PaymentId: String(r.PaymentId), DataType: 'PAYLOAD' });
    expect(qr).toMatchObject({ Success: true, PaymentId: Number(r.PaymentId) });
    const link = parseSbpLink(qr.Data!);
    expect(link).toMatchObject({ type: '02', bank: '100000000004', sum: 123456, crcValid: true });
    const again = await one.call<GetQrResponse>('GetQr', { PaymentId: String(r.PaymentId) });
    expect(again.Data).toBe(qr.Data);
    const image = await one.call<GetQrResponse>('GetQr', { PaymentId: String(r.PaymentId), DataType: 'IMAGE' });
    expect(image.Data).toContain('<svg');
  });

  test('under 10 ₽ GetQr is refused', async () => {
    const r = await init(one, { Amount: 999 });
    expect(await one.call('GetQr', { PaymentId: String(r.PaymentId) })).toMatchObject({ Success: false, ErrorCode: '3016' });
  });

  test('a failed СБП attempt leaves the payment FORM_SHOWED; the third one rejects it', async () => {
    const r = await init(one);
    const paymentId = String(r.PaymentId);
    await one.call('GetQr', { PaymentId: paymentId });
    expect(bank.complete(paymentId, 'declined').status).toBe('FORM_SHOWED');
    expect(bank.complete(paymentId, 'declined').status).toBe('FORM_SHOWED');
    expect(bank.complete(paymentId, 'declined').status).toBe('REJECTED');
  });

  test('on the form, a failed СБП attempt shows the form again: the payment can still be paid', async () => {
    const r = await init(one);
    await one.call('GetQr', { PaymentId: String(r.PaymentId) });
    const res = await fetch(r.PaymentURL!, { method: 'POST', body: new URLSearchParams({ outcome: 'declined' }), redirect: 'manual' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Оплата не прошла. Попробуйте ещё раз.');
    expect(html).toContain('Оплатить через СБП');
    const paid = await fetch(r.PaymentURL!, { method: 'POST', body: new URLSearchParams({ outcome: 'paid' }), redirect: 'manual' });
    expect(new URL(paid.headers.get('location')!).pathname).toBe('/ok');
  });

  test('SbpPayTest pays the QR; an СБП payment is taken at once even on a two-stage terminal', async () => {
    const r = await init(two);
    const paymentId = String(r.PaymentId);
    await two.call('GetQr', { PaymentId: paymentId });
    expect(await two.call('SbpPayTest', { PaymentId: paymentId })).toMatchObject({ Success: true });
    expect((await state(two, paymentId)).Status).toBe('CONFIRMED');
  });
});

describe('the registry of operations', () => {
  const path = () => `${bank.operationsUrl}api/v1/tacq/operations/terminal/${ONE_STAGE.terminalKey}`;
  const query = (from: Date, till: Date, limit = 1000) => `?from=${from.toISOString()}&till=${till.toISOString()}&limit=${limit}`;
  const auth = { authorization: `Bearer ${ONE_STAGE.businessToken}` };
  const pause = () => new Promise((r) => setTimeout(r, 1050));

  test('asks for the Bearer token of the terminal', async () => {
    const now = new Date();
    expect((await fetch(path() + query(new Date(now.getTime() - 3_600_000), now))).status).toBe(401);
    expect(
      (await fetch(path() + query(new Date(now.getTime() - 3_600_000), now), { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
  });

  test('refuses a period over a day, more than 1000 operations, and a second request within a second', async () => {
    const day = Date.UTC(2026, 0, 10);
    for (let i = 0; i < 1001; i++)
      bank.createExternal({ terminalKey: ONE_STAGE.terminalKey, amount: 1000 + i, method: 'sbp', at: new Date(day + i * 60_000) });
    const over = await fetch(path() + query(new Date(day), new Date(day + 25 * 3_600_000)), { headers: auth });
    expect(over.status).toBe(400);
    await pause();
    const tooMany = await fetch(path() + query(new Date(day), new Date(day + 24 * 3_600_000)), { headers: auth });
    expect(tooMany.status).toBe(422);
    expect(await tooMany.json()).toMatchObject({ errorCode: 'TOO_MANY_OPERATIONS' });
    const fast = await fetch(path() + query(new Date(day), new Date(day + 3_600_000)), { headers: auth });
    expect(fast.status).toBe(429);
    await pause();
    const fine = await fetch(path() + query(new Date(day), new Date(day + 3_600_000), 10), { headers: auth });
    expect(fine.status).toBe(200);
    const body = (await fine.json()) as { operations: { amount: number; type: string; paymentMethod: string }[] };
    expect(body.operations).toHaveLength(10);
    expect(body.operations[0]).toMatchObject({ amount: 1000, type: 'Debit', paymentMethod: 'SBP' });
  });

  test('an operation shows up only operationsDelayMs after the money moved', async () => {
    bank.knobs.operationsDelayMs = 400;
    try {
      const pay = bank.createExternal({ terminalKey: ONE_STAGE.terminalKey, amount: 4242, method: 'card', orderId: 'front-desk-1' });
      const window = query(new Date(Date.now() - 60_000), new Date(Date.now() + 60_000));
      await pause();
      const ids = async () =>
        ((await (await fetch(path() + window, { headers: auth })).json()) as { operations: { paymentId: string }[] }).operations.map(
          (o) => o.paymentId,
        );
      // 1050 ms passed: the operation is visible by now; an operation made now is not
      const late = bank.createExternal({ terminalKey: ONE_STAGE.terminalKey, amount: 4343, method: 'card' });
      const seen = await ids();
      expect(seen).toContain(pay.paymentId);
      expect(seen).not.toContain(late.paymentId);
    } finally {
      bank.knobs.operationsDelayMs = 0;
    }
  });
});
