import { symmetricChecksum } from '../../../../connectors/sber/checksum';
import { SberProvider, toObserved } from '../../../../connectors/sber/provider';
import type { OrderStatusExtendedResponse } from '../../../../connectors/sber/types';
import type { InboundWebhook } from '../../../../gateway/ports';

const SECRET = 'ooc7slpvc61k7sf7ma7p4hrefr';

const provider = new SberProvider({
  baseUrl: 'https://sber.invalid/payment/rest/',
  userName: 'shop-api',
  password: 'not-used',
  timeoutMs: 1000,
  callback: { mode: 'symmetric', secret: SECRET },
  dynamicCallbackUrl: true,
});

function hook(params: Record<string, string>): InboundWebhook {
  return { method: 'GET', params, rawBody: Buffer.alloc(0), headers: {} };
}

/** Parameters signed with the shared secret, so only the later checks can reject them. */
function signedParams(p: Record<string, string>): Record<string, string> {
  return { ...p, checksum: symmetricChecksum(p, SECRET) };
}

const callback = { mdOrder: '06cf5599-3f17-7c86-bdbc-bd7d00a8b38b', orderNumber: '2003', operation: 'approved', status: '1' };

describe('SberProvider.verifyWebhook', () => {
  test('a valid callback is accepted with the event fields', () => {
    const r = provider.verifyWebhook(hook(signedParams({ ...callback, amount: '150000' })));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event.ref).toEqual({ providerRef: callback.mdOrder, orderNumber: '2003' });
    expect(r.event.operation).toBe('approved');
    expect(r.event.success).toBe(true);
    expect(r.event.amount).toBe(150000);
  });

  test('dedupeKey is stable across two identical calls and differs for another notification', () => {
    const a = provider.verifyWebhook(hook(signedParams(callback)));
    const b = provider.verifyWebhook(hook(signedParams(callback)));
    const c = provider.verifyWebhook(hook(signedParams({ ...callback, operation: 'deposited' })));
    if (!a.ok || !b.ok || !c.ok) throw new Error('expected all three to verify');
    expect(a.event.dedupeKey).toBe(b.event.dedupeKey);
    expect(a.event.dedupeKey).toContain(callback.mdOrder);
    expect(c.event.dedupeKey).not.toBe(a.event.dedupeKey);
  });

  test('a failure callback (status 0) is accepted with success=false', () => {
    const r = provider.verifyWebhook(hook(signedParams({ ...callback, operation: 'declinedByTimeout', status: '0' })));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.event.success).toBe(false);
  });

  test('missing checksum is rejected', () => {
    expect(provider.verifyWebhook(hook({ ...callback }))).toEqual({ ok: false, refused: 'signature', reason: 'no checksum' });
  });

  test('wrong checksum is rejected', () => {
    const r = provider.verifyWebhook(hook({ ...callback, checksum: symmetricChecksum(callback, 'some-other-secret') }));
    expect(r).toEqual({ ok: false, refused: 'signature', reason: 'checksum does not verify' });
  });

  test('a signed value carrying ";status;1" (delimiter injection) is rejected', () => {
    const p = signedParams({ ...callback, orderNumber: '2003;status;1' });
    const r = provider.verifyWebhook(hook(p));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('";"');
  });

  test('status other than 0/1 is rejected even when signed', () => {
    const r = provider.verifyWebhook(hook(signedParams({ ...callback, status: '2' })));
    expect(r).toEqual({ ok: false, refused: 'content', reason: 'status is not 0 or 1' });
  });

  test('a signed callback without orderNumber is accepted: mdOrder names the attempt, no order number is claimed', () => {
    const { orderNumber: _n, ...noNumber } = callback;
    const r = provider.verifyWebhook(hook(signedParams(noNumber)));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.event.ref).toEqual({ providerRef: callback.mdOrder });
  });

  test('only approved and deposited carry the payment’s amount; a refunded callback’s amount is the refund’s and is not claimed', () => {
    const deposited = provider.verifyWebhook(hook(signedParams({ ...callback, amount: '150000' })));
    expect(deposited.ok && deposited.event.amount).toBe(150000);
    const refunded = provider.verifyWebhook(hook(signedParams({ ...callback, operation: 'refunded', amount: '50000' })));
    expect(refunded.ok).toBe(true);
    if (refunded.ok) expect(refunded.event.amount).toBeUndefined();
  });

  test('what is signed but refused says so (content), apart from what cannot be shown to come from the bank (signature)', () => {
    const unknown = provider.verifyWebhook(hook(signedParams({ ...callback, operation: 'paidByMagic' })));
    expect(unknown).toMatchObject({ ok: false, refused: 'content' });
    const { mdOrder: _m, ...noId } = callback;
    expect(provider.verifyWebhook(hook(signedParams(noId)))).toEqual({ ok: false, refused: 'content', reason: 'mdOrder missing' });
    const injected = provider.verifyWebhook(hook(signedParams({ ...callback, orderNumber: '2003;status;1' })));
    expect(injected).toMatchObject({ ok: false, refused: 'signature' });
  });

  test('an unknown operation is rejected even when signed', () => {
    const r = provider.verifyWebhook(hook(signedParams({ ...callback, operation: 'paidByMagic' })));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('unknown operation');
  });
});

describe('toObserved (getOrderStatusExtended.do → canonical)', () => {
  const amount = 150000;
  const r = (over: Partial<OrderStatusExtendedResponse>): OrderStatusExtendedResponse => ({ errorCode: '0', amount, ...over });

  test('0 registered → pending', () => {
    expect(toObserved(r({ orderStatus: 0, actionCode: -100 }))).toMatchObject({ state: 'pending', amount, paidAmount: 0 });
  });

  test('1 held → authorized, nothing taken yet', () => {
    expect(toObserved(r({ orderStatus: 1, paymentAmountInfo: { approvedAmount: amount, depositedAmount: 0 } }))).toMatchObject({
      state: 'authorized',
      paidAmount: 0,
    });
  });

  test('2 deposited → paid with the deposited amount', () => {
    expect(toObserved(r({ orderStatus: 2, paymentAmountInfo: { depositedAmount: amount } }))).toMatchObject({
      state: 'paid',
      paidAmount: amount,
      refundedAmount: 0,
    });
  });

  test('2 with a partial refund in paymentAmountInfo → paid, refundedAmount carried', () => {
    expect(toObserved(r({ orderStatus: 2, paymentAmountInfo: { depositedAmount: amount, refundedAmount: 30000 } }))).toMatchObject({
      state: 'paid',
      refundedAmount: 30000,
    });
  });

  test('2 deposited without paymentAmountInfo → paid the order amount', () => {
    expect(toObserved(r({ orderStatus: 2 }))).toMatchObject({ state: 'paid', paidAmount: amount });
  });

  test('3 → reversed', () => {
    expect(toObserved(r({ orderStatus: 3 })).state).toBe('reversed');
  });

  test('4 → refunded, refundedAmount taken from paymentAmountInfo', () => {
    const o = toObserved(r({ orderStatus: 4, paymentAmountInfo: { depositedAmount: amount, refundedAmount: 50000 } }));
    expect(o).toMatchObject({ state: 'refunded', paidAmount: amount, refundedAmount: 50000 });
  });

  test('5 ACS started → pending', () => {
    expect(toObserved(r({ orderStatus: 5 })).state).toBe('pending');
  });

  test('6 declined → declined, with the bank wording as reason', () => {
    const o = toObserved(r({ orderStatus: 6, actionCode: 2002, actionCodeDescription: 'Недостаточно средств' }));
    expect(o).toMatchObject({ state: 'declined', paidAmount: 0, reason: 'Недостаточно средств' });
  });

  test('6 with actionCode -2007 (session timed out) → expired', () => {
    expect(toObserved(r({ orderStatus: 6, actionCode: -2007 })).state).toBe('expired');
  });
});
