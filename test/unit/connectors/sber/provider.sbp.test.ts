import { moscowStamp, registryOperation, SberProvider } from '../../../../connectors/sber/provider';
import type { ProviderOperation } from '../../../../gateway/ports';
import { parseSbpLink } from '../../../../gateway/domain/sbp';
import { SberEmulator } from '../../../emulators/sber/server';

/** СБП and the registry of operations through the Sber connector, against the emulated bank. */
describe('Sber СБП and registry', () => {
  const merchant = { userName: 'shop-api', password: 'pw', callbackSecret: 'secret-secret', callbackMode: 'symmetric' as const };
  let bank: SberEmulator;
  let provider: SberProvider;
  beforeAll(async () => {
    bank = new SberEmulator([merchant], { callbacks: 'off' });
    await bank.start();
    provider = new SberProvider({
      baseUrl: bank.restUrl,
      userName: merchant.userName,
      password: merchant.password,
      timeoutMs: 5000,
      callback: { mode: 'symmetric', secret: merchant.callbackSecret },
      dynamicCallbackUrl: true,
    });
  });
  afterAll(() => bank.stop());

  const input = (n: string, amount = 150000) => ({
    attemptId: `a-${n}`,
    orderNumber: n,
    method: 'sbp' as const,
    amount,
    description: `Оплата заказа ${n}`,
    returnUrl: 'https://shop.example/ok',
    failUrl: 'https://shop.example/fail',
    callbackUrl: 'https://gw.example/callbacks/sber/main',
    expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(),
  });

  test('a СБП attempt is a registered order with a dynamic QR: the NSPK link for its sum, the qrId kept, a session as long as the QR lives', async () => {
    const r = await provider.initiate(input('SBP-1'));
    expect(r.action.type).toBe('qr');
    if (r.action.type !== 'qr') return;
    const link = parseSbpLink(r.action.payload)!;
    expect(link).toMatchObject({ type: '02', sum: 150000 });
    expect(r.extra?.qrId).toBe(link.qrId);
    expect(r.warnings).toBeUndefined();
    const order = bank.orders.get(r.providerRef)!;
    expect(order.sessionTimeoutSecs).toBeGreaterThanOrEqual(1790);
    expect(order.sessionTimeoutSecs).toBeLessThanOrEqual(1800);
  });

  test('paid from a banking app: status paid with the payer’s bank; cancelling a live QR rejects it at NSPK and declines the order', async () => {
    const paid = await provider.initiate(input('SBP-2'));
    bank.complete(paid.providerRef, 'paid', { payerBank: 'ВТБ' });
    expect(await provider.status({ providerRef: paid.providerRef, orderNumber: 'SBP-2' })).toMatchObject({
      state: 'paid',
      paidAmount: 150000,
      payerBank: 'ВТБ',
    });

    const open = await provider.initiate(input('SBP-3'));
    await provider.cancel({ providerRef: open.providerRef, orderNumber: 'SBP-3', extra: open.extra });
    expect(bank.orders.get(open.providerRef)!.qr!.status).toBe('REJECTED');
    expect((await provider.status({ providerRef: open.providerRef, orderNumber: 'SBP-3' })).state).toBe('declined');
    // the customer scanning it now is refused
    bank.complete(open.providerRef, 'paid');
    expect((await provider.status({ providerRef: open.providerRef, orderNumber: 'SBP-3' })).paidAmount).toBe(0);
  });

  test('decline.do cancels only a registered, unpaid order: one in 3-D Secure or paid is refused (errorCode 7) and stays as it is', async () => {
    const card = (n: string) => provider.initiate({ ...input(n), method: 'card' });
    const fresh = await card('DECL-1');
    expect(await provider.cancel({ providerRef: fresh.providerRef, orderNumber: 'DECL-1' })).toEqual({ cancelled: true });
    expect(bank.orders.get(fresh.providerRef)!.orderStatus).toBe(6);

    // the customer is on the issuer's 3-D Secure page: the bank does not decline it, and it can still be paid
    const acs = await card('DECL-2');
    bank.complete(acs.providerRef, 'acs');
    expect(await provider.cancel({ providerRef: acs.providerRef, orderNumber: 'DECL-2' })).toEqual({
      cancelled: false,
      reason: expect.stringContaining('errorCode 7'),
    });
    expect(bank.orders.get(acs.providerRef)!.orderStatus).toBe(5);
    bank.complete(acs.providerRef, 'paid');
    expect((await provider.status({ providerRef: acs.providerRef, orderNumber: 'DECL-2' })).state).toBe('paid');

    // paid: refused, never returned
    expect(await provider.cancel({ providerRef: acs.providerRef, orderNumber: 'DECL-2' })).toMatchObject({ cancelled: false });
    expect(bank.orders.get(acs.providerRef)).toMatchObject({ orderStatus: 2, refundedAmount: 0 });
  });

  test('the registry: every order with money moved in the window, page after page, refunds as a total, unpaid ones left out', async () => {
    const from = new Date(Date.now() - 1000);
    const made: string[] = [];
    for (let i = 0; i < 450; i++)
      made.push(bank.createExternal({ amount: 1000 + i, description: `Касса ${i}`, method: i % 2 ? 'sbp' : 'card' }).mdOrder);
    const refunded = await provider.initiate({ ...input('SBP-R', 50000), method: 'card' });
    bank.complete(refunded.providerRef, 'paid');
    await provider.refund({ providerRef: refunded.providerRef, orderNumber: 'SBP-R' }, { amount: 20000, fullSameDay: false });
    await provider.initiate(input('SBP-unpaid'));
    const ops: ProviderOperation[] = [];
    for await (const op of provider.listOperations({ from, to: new Date() })) ops.push(op);
    const refs = new Set(ops.map((o) => o.providerRef));
    for (const m of made) expect(refs.has(m)).toBe(true);
    // no order twice across pages; the unpaid one is not there
    expect(refs.size).toBe(ops.length);
    expect(ops.some((o) => o.orderNumber === 'SBP-unpaid')).toBe(false);
    expect(ops.find((o) => o.providerRef === refunded.providerRef)).toMatchObject({
      kind: 'payment',
      amount: 50000,
      refundedTotal: 20000,
      method: 'card',
      orderNumber: 'SBP-R',
    });
    const sbp = ops.find((o) => o.providerRef === made[1])!;
    expect(sbp).toMatchObject({ method: 'sbp', amount: 1001, purpose: 'Касса 1', refundedTotal: 0 });
    expect(bank.calls['getLastOrdersForMerchants.do']).toBe(3);
  });

  test('a window in the past holds nothing from now', async () => {
    const ops: ProviderOperation[] = [];
    for await (const op of provider.listOperations({ from: new Date(Date.now() - 7200_000), to: new Date(Date.now() - 3600_000) }))
      ops.push(op);
    expect(ops).toEqual([]);
  });

  test('registry dates are Moscow time, whole seconds', () => {
    expect(moscowStamp(new Date('2026-12-01T21:30:15.900Z'))).toBe('20261202003015');
  });

  test('a reversal returns everything; an order without a deposit is no operation', () => {
    const base = {
      attributes: [{ name: 'mdOrder', value: 'm-1' }],
      orderNumber: 'N-1',
      amount: 1000,
      authDateTime: Date.parse('2026-11-30T10:00:00Z'),
      paymentWay: 'SBP_C2B',
      bankInfo: { bankName: 'Т-Банк' },
    };
    expect(registryOperation({ ...base, orderStatus: 3, paymentAmountInfo: { depositedAmount: 1000, refundedAmount: 0 } })).toMatchObject({
      refundedTotal: 1000,
      method: 'sbp',
      payerBank: 'Т-Банк',
      occurredAt: '2026-11-30T10:00:00.000Z',
    });
    expect(registryOperation({ ...base, orderStatus: 6, paymentAmountInfo: { depositedAmount: 0 } })).toBeNull();
    expect(registryOperation({ ...base, attributes: [], orderStatus: 2, paymentAmountInfo: { depositedAmount: 1000 } })).toBeNull();
  });
});
