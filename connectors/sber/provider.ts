import type { ObservedStatus } from '../../gateway/domain/payment-state';
import {
  ExternalError,
  ProviderNotFoundError,
  type AcquiringProvider,
  type AttemptRef,
  type InboundWebhook,
  type InitiateInput,
  type InitiateResult,
  type RefundInput,
  type WebhookResult,
} from '../../gateway/ports';
import { checksumKey, fingerprint, signedString, verifyChecksum, type ChecksumKey } from './checksum';
import { SberClient, SberApiError, errorCodeOf, type SberClientConfig } from './client';
import { ACTION_SESSION_TIMEOUT, CALLBACK_OPERATIONS, ORDER_STATUS, type OrderStatusExtendedResponse, type RegisterResponse } from './types';

export interface SberProviderConfig extends SberClientConfig {
  callback: { mode: 'symmetric'; secret: string } | { mode: 'asymmetric'; publicKey: string };
  dynamicCallbackUrl: boolean;
  sessionTimeoutSecs: number;
}

/** Sber internet acquiring (and every bank on the same BPC `.do` API) behind the acquiring port. */
export class SberProvider implements AcquiringProvider {
  readonly name = 'sber' as const;
  readonly client: SberClient;
  private readonly key: ChecksumKey;

  constructor(private readonly cfg: SberProviderConfig) {
    this.client = new SberClient(cfg);
    this.key = checksumKey(cfg.callback);
  }

  async initiate(input: InitiateInput): Promise<InitiateResult> {
    const r = await this.client.call<RegisterResponse>('register.do', {
      orderNumber: input.orderNumber,
      amount: input.amount,
      currency: 643,
      returnUrl: input.returnUrl,
      failUrl: input.failUrl,
      description: cleanDescription(input.description),
      language: 'ru',
      sessionTimeoutSecs: this.cfg.sessionTimeoutSecs,
      jsonParams: JSON.stringify({ gatewayAttemptId: input.attemptId }),
      dynamicCallbackUrl: this.cfg.dynamicCallbackUrl ? input.callbackUrl : undefined,
      ...(input.customer?.email ? { email: input.customer.email } : {}),
      ...(input.customer?.phone ? { phone: input.customer.phone.replace(/[^\d]/g, '') } : {}),
    });
    const code = errorCodeOf(r);
    if (code !== 0 || !r.orderId || !r.formUrl) {
      // errorCode 1 (number already used) cannot happen with a fresh number per attempt; if it does,
      // the attempt is given up and the janitor looks the number up later.
      throw code !== 0 ? new SberApiError('register.do', code, r.errorMessage ?? '') : new ExternalError('sber', 'register.do: no orderId/formUrl in the answer', { retryable: true });
    }
    return { providerRef: r.orderId, action: { type: 'redirect', url: r.formUrl } };
  }

  async status(ref: AttemptRef): Promise<ObservedStatus & { providerRef?: string }> {
    const params = ref.providerRef ? { orderId: ref.providerRef } : { orderNumber: ref.orderNumber };
    const r = await this.client.call<OrderStatusExtendedResponse>('getOrderStatusExtended.do', params);
    const code = errorCodeOf(r);
    // 6: no such order (an attempt whose registration never reached the bank)
    if (code === 6) throw new ProviderNotFoundError('sber', `getOrderStatusExtended.do: ${r.errorMessage ?? 'order not found'}`);
    if (code !== 0) throw new SberApiError('getOrderStatusExtended.do', code, r.errorMessage ?? '');
    const mdOrder = ref.providerRef ?? r.attributes?.find((a) => a.name === 'mdOrder')?.value;
    return { ...toObserved(r), providerRef: mdOrder };
  }

  async refund(ref: AttemptRef, input: RefundInput): Promise<void> {
    if (!ref.providerRef) throw new ExternalError('sber', 'refund: the attempt has no bank order id', { retryable: false });
    if (input.fullSameDay) {
      // a same-day full return is a cancellation (no money moves, no fee); the bank refuses it after the day closes
      const r = await this.client.call('reverse.do', { orderId: ref.providerRef });
      if (errorCodeOf(r) === 0) return;
    }
    await this.client.ok('refund.do', { orderId: ref.providerRef, amount: input.amount });
  }

  async cancel(ref: AttemptRef): Promise<void> {
    if (!ref.providerRef) return;
    // decline.do gives up an unpaid order; errors mean it is already final, which is what we want
    await this.client.call('decline.do', { orderId: ref.providerRef, merchantLogin: this.cfg.userName?.replace(/-api$/, '') });
  }

  verifyWebhook(req: InboundWebhook): WebhookResult {
    const p = req.params;
    if (!p.checksum) return { ok: false, reason: 'no checksum' };
    const signed = signedString(p);
    if (!verifyChecksum(p, this.key, signed)) return { ok: false, reason: 'checksum does not verify' };
    // name;value; is ambiguous: a value carrying ";" could forge another parameter. Real values never do.
    for (const [k, v] of Object.entries(p)) if (k.includes(';') || v.includes(';')) return { ok: false, reason: `parameter ${k.slice(0, 40)} contains ";"` };
    if (p.status !== '0' && p.status !== '1') return { ok: false, reason: 'status is not 0 or 1' };
    if (!CALLBACK_OPERATIONS.has(p.operation)) return { ok: false, reason: `unknown operation ${String(p.operation).slice(0, 40)}` };
    if (!p.mdOrder || !p.orderNumber) return { ok: false, reason: 'mdOrder or orderNumber missing' };
    const amount = p.amount !== undefined && /^\d+$/.test(p.amount) ? Number(p.amount) : undefined;
    return {
      ok: true,
      event: {
        ref: { providerRef: p.mdOrder, orderNumber: p.orderNumber },
        dedupeKey: `sber:${p.mdOrder}:${fingerprint(p, signed)}`,
        operation: p.operation,
        success: p.status === '1',
        amount,
      },
    };
  }
}

/** getOrderStatusExtended.do in canonical terms. */
export function toObserved(r: OrderStatusExtendedResponse): ObservedStatus {
  const info = r.paymentAmountInfo ?? {};
  const amount = Number(r.amount ?? 0);
  const base = {
    amount,
    paidAmount: Number(info.depositedAmount ?? 0),
    refundedAmount: Number(info.refundedAmount ?? 0),
    reason: r.actionCodeDescription || undefined,
    raw: r,
  };
  switch (Number(r.orderStatus)) {
    case ORDER_STATUS.HELD:
      return { ...base, state: 'authorized', paidAmount: 0 };
    case ORDER_STATUS.DEPOSITED:
      return { ...base, state: 'paid', paidAmount: base.paidAmount || amount };
    case ORDER_STATUS.REVERSED:
      return { ...base, state: 'reversed' };
    case ORDER_STATUS.REFUNDED:
      return { ...base, state: 'refunded', paidAmount: base.paidAmount || amount, refundedAmount: base.refundedAmount || amount };
    case ORDER_STATUS.DECLINED:
      return { ...base, state: Number(r.actionCode) === ACTION_SESSION_TIMEOUT ? 'expired' : 'declined', paidAmount: 0 };
    default:
      return { ...base, state: 'pending', paidAmount: 0 };
  }
}

/** Sber refuses some characters in `description`; it also has a length limit. */
function cleanDescription(s: string): string {
  return s.replace(/[%+\r\n]/g, ' ').slice(0, 99);
}
