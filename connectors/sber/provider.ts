import type { Kopecks } from '../../gateway/domain/money';
import type { ObservedStatus } from '../../gateway/domain/payment-state';
import { parseSbpLink } from '../../gateway/domain/sbp';
import {
  ExternalError,
  ProviderNotFoundError,
  type AcquiringProvider,
  type AttemptRef,
  type CancelResult,
  type InboundWebhook,
  type InitiateInput,
  type InitiateResult,
  type OperationWindow,
  type ProviderOperation,
  type RefundInput,
  type WebhookResult,
} from '../../gateway/ports';
import { checksumKey, fingerprint, signedString, verifyChecksum, type ChecksumKey } from './checksum';
import { SberClient, SberApiError, errorCodeOf } from './client';
import type { SberConfig } from './config';
import {
  ACTION_SESSION_TIMEOUT,
  CALLBACK_OPERATIONS,
  ORDER_STATUS,
  type LastOrdersResponse,
  type OrderStatusExtendedResponse,
  type RegisterResponse,
  type SbpQrResponse,
} from './types';

/** Callback operations whose `amount` is the payment's own (compared with it); other operations name other amounts. */
const PAYMENT_AMOUNT_OPERATIONS = new Set(['approved', 'deposited']);

/** getLastOrdersForMerchants.do takes at most this many orders a page. */
const REGISTRY_PAGE = 200;

/** Sber internet acquiring (and every bank on the same BPC `.do` API) behind the acquiring port. */
export class SberProvider implements AcquiringProvider {
  readonly name = 'sber' as const;
  readonly client: SberClient;
  private readonly key: ChecksumKey;

  constructor(private readonly cfg: SberConfig) {
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
      // the form's session (cards) or the QR's lifetime (СБП) ends when the attempt expires
      sessionTimeoutSecs: Math.max(60, Math.ceil((Date.parse(input.expiresAt) - Date.now()) / 1000)),
      jsonParams: JSON.stringify({ gatewayAttemptId: input.attemptId }),
      dynamicCallbackUrl: this.cfg.dynamicCallbackUrl ? input.callbackUrl : undefined,
      ...(input.customer?.email ? { email: input.customer.email } : {}),
      ...(input.customer?.phone ? { phone: input.customer.phone.replace(/[^\d]/g, '') } : {}),
    });
    const code = errorCodeOf(r);
    if (code !== 0 || !r.orderId || !r.formUrl) {
      // errorCode 1 (number already used) cannot happen with a fresh number per attempt; if it does,
      // the attempt is given up and the janitor looks the number up later.
      throw code !== 0
        ? new SberApiError('register.do', code, r.errorMessage ?? '')
        : new ExternalError('sber', 'register.do: no orderId/formUrl in the answer', { retryable: true });
    }
    if (input.method === 'card') return { providerRef: r.orderId, action: { type: 'redirect', url: r.formUrl } };
    return this.sbpQr(r.orderId, input.expiresAt);
  }

  /** A dynamic СБП QR for a registered order (`sbp/c2b/qr/dynamic/get.do`): the NSPK link it encodes. */
  private async sbpQr(mdOrder: string, expiresAt: string): Promise<InitiateResult> {
    const q = await this.client.ok<SbpQrResponse>('sbp/c2b/qr/dynamic/get.do', {
      mdOrder,
      qrFormat: 'matrix',
      qrHeight: 300,
      qrWidth: 300,
    });
    const link = q.payload ? parseSbpLink(q.payload) : null;
    if (!q.qrId || !q.payload || !link) {
      throw new ExternalError(
        'sber',
        `sbp/c2b/qr/dynamic/get.do: the answer has no NSPK link (${String(q.payload ?? 'no payload').slice(0, 60)})`,
        { retryable: false },
      );
    }
    return {
      providerRef: mdOrder,
      action: { type: 'qr', payload: q.payload, expiresAt },
      extra: { qrId: q.qrId },
      ...(link.crcValid ? {} : { warnings: [`the QR link's crc ${link.crc ?? '(none)'} is not ${link.expectedCrc}`] }),
    };
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

  /**
   * decline.do gives up an order that is registered and unpaid (status 0); for any other state (paid, held,
   * in 3-D Secure, declined already) the bank answers errorCode 7 and the order stays as it is.
   */
  async cancel(ref: AttemptRef): Promise<CancelResult> {
    if (!ref.providerRef) return { cancelled: false, reason: 'the attempt has no bank order id yet' };
    // the QR first: once rejected at NSPK it cannot be paid from a banking app any more
    if (ref.extra?.qrId) await this.client.call('sbp/c2b/qr/dynamic/reject.do', { mdOrder: ref.providerRef, qrId: ref.extra.qrId });
    const r = await this.client.call('decline.do', { orderId: ref.providerRef, merchantLogin: this.cfg.userName?.replace(/-api$/, '') });
    const code = errorCodeOf(r);
    if (code === 0) return { cancelled: true };
    if (code === 6 || code === 7) return { cancelled: false, reason: `decline.do: errorCode ${code}: ${r.errorMessage ?? ''}`.trim() };
    throw new SberApiError('decline.do', code, r.errorMessage ?? '');
  }

  /**
   * The bank's registry: getLastOrdersForMerchants.do over the window (Moscow time, as the bank
   * keeps it), every order with money moved, page by page. Refunds come as the order's total.
   */
  async *listOperations(window: OperationWindow): AsyncIterable<ProviderOperation> {
    for (let page = 0; ; page++) {
      const r = await this.client.ok<LastOrdersResponse>('getLastOrdersForMerchants.do', {
        from: moscowStamp(window.from),
        // the bank takes whole seconds: round the end up so the last second's operations are in
        to: moscowStamp(new Date(Math.ceil(window.to.getTime() / 1000) * 1000)),
        transactionStates: 'DEPOSITED,REFUNDED,REVERSED',
        merchants: '',
        page,
        size: REGISTRY_PAGE,
        searchByCreatedDate: 'false',
      });
      const orders = r.orderStatuses ?? [];
      for (const o of orders) {
        const op = registryOperation(o);
        if (op) yield op;
      }
      if (orders.length === 0 || (page + 1) * REGISTRY_PAGE >= Number(r.totalCount ?? 0)) return;
    }
  }

  verifyWebhook(req: InboundWebhook): WebhookResult {
    const p = req.params;
    if (!p.checksum) return { ok: false, refused: 'signature', reason: 'no checksum' };
    const signed = signedString(p);
    if (!verifyChecksum(p, this.key, signed)) return { ok: false, refused: 'signature', reason: 'checksum does not verify' };
    // name;value; is ambiguous: a value carrying ";" could forge another parameter. Real values never do.
    for (const [k, v] of Object.entries(p))
      if (k.includes(';') || v.includes(';'))
        return { ok: false, refused: 'signature', reason: `parameter ${k.slice(0, 40)} contains ";"` };
    if (p.status !== '0' && p.status !== '1') return { ok: false, refused: 'content', reason: 'status is not 0 or 1' };
    if (!CALLBACK_OPERATIONS.has(p.operation))
      return { ok: false, refused: 'content', reason: `unknown operation ${String(p.operation).slice(0, 40)}` };
    // the published asymmetric examples carry no orderNumber: mdOrder finds the attempt, orderNumber is compared when present
    if (!p.mdOrder) return { ok: false, refused: 'content', reason: 'mdOrder missing' };
    // approved and deposited name the payment's amount; refunded names the refund's, reversed what was released
    const amount =
      PAYMENT_AMOUNT_OPERATIONS.has(p.operation) && p.amount !== undefined && /^\d+$/.test(p.amount) ? Number(p.amount) : undefined;
    return {
      ok: true,
      event: {
        ref: { providerRef: p.mdOrder, ...(p.orderNumber ? { orderNumber: p.orderNumber } : {}) },
        dedupeKey: `sber:${p.mdOrder}:${fingerprint(p, signed)}`,
        operation: p.operation,
        success: p.status === '1',
        amount,
      },
    };
  }
}

/** yyyyMMddHHmmss in Moscow time (UTC+3 all year since 2014), as getLastOrdersForMerchants.do takes it. */
export function moscowStamp(d: Date): string {
  return new Date(d.getTime() + 3 * 3_600_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** One order of the registry as the payment operation it holds (null when no money was taken). */
export function registryOperation(o: OrderStatusExtendedResponse): ProviderOperation | null {
  const mdOrder = o.attributes?.find((a) => a.name === 'mdOrder')?.value;
  const info = o.paymentAmountInfo ?? {};
  const deposited = Number(info.depositedAmount ?? 0);
  if (!mdOrder || deposited <= 0) return null;
  const status = Number(o.orderStatus);
  const refunded = status === ORDER_STATUS.REVERSED ? deposited : Number(info.refundedAmount ?? 0);
  return {
    kind: 'payment',
    providerRef: mdOrder,
    orderNumber: o.orderNumber ?? null,
    method: o.paymentWay === 'SBP_C2B' ? 'sbp' : o.paymentWay ? 'card' : null,
    amount: deposited,
    occurredAt: new Date(Number(o.authDateTime ?? o.date ?? Date.now())).toISOString(),
    payerBank: o.bankInfo?.bankName ?? null,
    purpose: o.orderDescription || null,
    refundedTotal: refunded,
    ...(info.feeAmount !== undefined && info.feeAmount !== null ? { fee: Number(info.feeAmount) as Kopecks } : {}),
    raw: o,
  };
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
    payerBank: r.bankInfo?.bankName ?? null,
    ...(r.authDateTime ? { paidAt: new Date(Number(r.authDateTime)).toISOString() } : {}),
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
