import type { TbankConfig } from './config';
import type { Kopecks } from '../../gateway/domain/money';
import type { ObservedStatus } from '../../gateway/domain/payment-state';
import {
  ExternalError,
  ProviderNotFoundError,
  type AcquiringProvider,
  type AttemptRef,
  type CancelResult,
  type InboundWebhook,
  type InitiateInput,
  type InitiateResult,
  type Limiter,
  type OperationWindow,
  type ProviderMethod,
  type ProviderOperation,
  type RefundInput,
  type WebhookResult,
} from '../../gateway/ports';
import { TbankApiError, TbankClient, isOk } from './client';
import { verifyNotification } from './notification';
import { TbankOperations, type TbankOperationsConfig } from './operations';
import { parseSbpLink } from '../../gateway/domain/sbp';
import { toObserved } from './status';
import type { CancelResponse, CheckOrderResponse, GetQrResponse, GetStateResponse, InitResponse } from './types';

/** СБП through T-Bank takes 10 ₽ at least (GetQr refuses less). */
export const SBP_MIN_AMOUNT: Kopecks = 1000;

/**
 * ErrorCodes meaning "no such payment / order". Not confirmed from published material: 255 is what
 * T-Bank integrations report for an unknown PaymentId, 335 is the "OrderId not found for TerminalKey"
 * of the error list. Anything else stays a TbankApiError.
 */
const NOT_FOUND_CODES = new Set(['255', '335']);
/** "Cannot change the payment's status" / "wrong transaction status". */
const WRONG_STATE_CODES = new Set(['4', '8']);
/** Unpaid states a payment can be cancelled in without returning anybody's money. */
const CANCELLABLE = new Set(['NEW', 'FORM_SHOWED']);
/** States in which money was taken or held: preferred when an order has several payments. */
const MONEY_STATES = new Set([
  'AUTHORIZED',
  'CONFIRMING',
  'CONFIRMED',
  'REVERSING',
  'REFUNDING',
  'PARTIAL_REFUNDED',
  'REFUNDED',
  'PARTIAL_REVERSED',
]);

export interface TbankProviderOptions {
  /** Pacing of the registry of operations (defaults keep to its 1 request/s). */
  operations?: Pick<TbankOperationsConfig, 'minIntervalMs' | 'rateLimitBackoffMs' | 'rateLimitRetries' | 'minSliceMs'>;
  /** The registry's 1 request/s kept across every gateway process. */
  registryRate?: Limiter;
}

/** T-Bank internet acquiring (cards and СБП) behind the acquiring port. */
export class TbankProvider implements AcquiringProvider {
  readonly name = 'tbank' as const;
  readonly client: TbankClient;
  /** Present only when the T-Business registry is configured (`operations`). */
  readonly listOperations?: (window: OperationWindow) => AsyncIterable<ProviderOperation>;
  private readonly registry?: TbankOperations;

  constructor(
    private readonly cfg: TbankConfig,
    opts: TbankProviderOptions = {},
  ) {
    this.client = new TbankClient(cfg);
    if (cfg.operations) {
      const registry = new TbankOperations(
        {
          ...opts.operations,
          baseUrl: cfg.operations.baseUrl,
          token: cfg.operations.token,
          terminalKey: cfg.terminalKey,
          timeoutMs: cfg.timeoutMs,
        },
        opts.registryRate,
      );
      this.registry = registry;
      this.listOperations = (window) => registry.list(window);
    }
  }

  minAmount(method: ProviderMethod): Kopecks {
    return method === 'sbp' ? SBP_MIN_AMOUNT : 0;
  }

  async initiate(input: InitiateInput): Promise<InitiateResult> {
    const due = redirectDueDate(input.expiresAt);
    const data: Record<string, string> = { gatewayAttemptId: input.attemptId };
    if (input.customer?.email) data.Email = input.customer.email.slice(0, 100);
    const phone = input.customer?.phone ? normalizePhone(input.customer.phone) : null;
    if (phone) data.Phone = phone;
    // what T-Bank's СБП integrations pass for a payment to be paid by QR (its exact effect is not in
    // the published reference). СБП has no two-stage payments: PayType O.
    if (input.method === 'sbp') data.QR = 'true';
    const init = await this.client.ok<InitResponse>('Init', {
      Amount: input.amount,
      OrderId: input.orderNumber,
      Description: cleanDescription(input.description),
      NotificationURL: input.callbackUrl,
      SuccessURL: input.returnUrl,
      FailURL: input.failUrl,
      // the form's life (cards) and the dynamic QR's life (СБП) both end here
      RedirectDueDate: due.text,
      PayType: input.method === 'sbp' ? 'O' : undefined,
      Language: 'ru',
      DATA: data,
    });
    const providerRef = init.PaymentId === undefined ? '' : String(init.PaymentId);
    if (!/^\d{1,20}$/.test(providerRef)) throw new ExternalError('tbank', 'Init: no PaymentId in the answer', { retryable: true });
    if (input.method === 'card') {
      if (!init.PaymentURL) throw new ExternalError('tbank', 'Init: no PaymentURL in the answer', { retryable: true });
      return { providerRef, action: { type: 'redirect', url: init.PaymentURL } };
    }
    try {
      return { providerRef, ...(await this.qr(providerRef, input.amount, due.at)) };
    } catch (e) {
      // the payment exists at the bank but nobody can pay it: give it up so it cannot be paid later
      await this.client.call('Cancel', { PaymentId: providerRef }).catch(() => undefined);
      throw e;
    }
  }

  private async qr(paymentId: string, amount: Kopecks, due: Date): Promise<Omit<InitiateResult, 'providerRef'>> {
    const r = await this.client.ok<GetQrResponse>('GetQr', { PaymentId: paymentId, DataType: 'PAYLOAD' });
    const payload = typeof r.Data === 'string' ? r.Data.trim() : '';
    const link = parseSbpLink(payload);
    if (!link)
      throw new ExternalError('tbank', `GetQr: the payload is not an NSPK payment link (${payload.slice(0, 40)})`, {
        retryable: false,
        code: 'qr_payload',
      });
    const warnings: string[] = [];
    if (!link.crcValid)
      warnings.push(`GetQr: the payload's crc ${link.crc ?? '(none)'} is not CRC-16/CCITT-FALSE of the link (${link.expectedCrc})`);
    if (link.sum !== null && link.sum !== amount)
      warnings.push(`GetQr: the payload's sum ${link.sum} differs from the payment's amount ${amount}`);
    return {
      action: { type: 'qr', payload, expiresAt: due.toISOString() },
      extra: { qrId: link.qrId },
      ...(warnings.length ? { warnings } : {}),
    };
  }

  async status(ref: AttemptRef): Promise<ObservedStatus & { providerRef?: string }> {
    const paymentId = ref.providerRef || (await this.paymentOfOrder(ref.orderNumber));
    // PaymentId is sent as a string: up to 20 digits, more than a JavaScript number keeps
    const r = await this.client.call<GetStateResponse>('GetState', { PaymentId: paymentId });
    if (!isOk(r)) {
      if (NOT_FOUND_CODES.has(String(r.ErrorCode)))
        throw new ProviderNotFoundError('tbank', `GetState: payment ${paymentId} is unknown to the bank`);
      throw new TbankApiError('GetState', r);
    }
    return { ...toObserved(r, ref.amount), providerRef: paymentId };
  }

  /** The payment made for an order number (an attempt whose Init answer was lost). */
  private async paymentOfOrder(orderId: string): Promise<string> {
    const r = await this.client.call<CheckOrderResponse>('CheckOrder', { OrderId: orderId });
    if (!isOk(r)) {
      if (NOT_FOUND_CODES.has(String(r.ErrorCode)))
        throw new ProviderNotFoundError('tbank', `CheckOrder: order ${orderId} is unknown to the bank`);
      throw new TbankApiError('CheckOrder', r);
    }
    const payments = (r.Payments ?? []).filter((p) => p.PaymentId !== undefined && /^\d+$/.test(String(p.PaymentId)));
    if (payments.length === 0) throw new ProviderNotFoundError('tbank', `CheckOrder: order ${orderId} has no payments`);
    const rank = (p: (typeof payments)[number]) => (MONEY_STATES.has(String(p.Status)) ? 1 : 0);
    payments.sort((a, b) => rank(b) - rank(a) || compareIds(String(b.PaymentId), String(a.PaymentId)));
    return String(payments[0].PaymentId);
  }

  /**
   * A return is always Cancel with the amount: on CONFIRMED T-Bank itself decides between a reversal
   * (same day) and a refund, and a hold (AUTHORIZED) is released instead. Cancel has no idempotency
   * key for СБП, and the port passes none: a retry after a lost answer must ask GetState first.
   */
  async refund(ref: AttemptRef, input: RefundInput): Promise<void> {
    if (!ref.providerRef) throw new ExternalError('tbank', 'refund: the attempt has no PaymentId', { retryable: false });
    await this.client.ok<CancelResponse>('Cancel', { PaymentId: ref.providerRef, Amount: input.amount });
  }

  /**
   * Gives up an unpaid payment. Cancel on a paid one would RETURN the money, so the state is read
   * first and only NEW / FORM_SHOWED are cancelled (CANCELED already counts as cancelled); any other
   * state is answered with what kept it, and nothing is sent.
   */
  async cancel(ref: AttemptRef): Promise<CancelResult> {
    if (!ref.providerRef) return { cancelled: false, reason: 'the attempt has no PaymentId yet' };
    const st = await this.client.call<GetStateResponse>('GetState', { PaymentId: ref.providerRef });
    if (!isOk(st)) {
      if (NOT_FOUND_CODES.has(String(st.ErrorCode))) return { cancelled: false, reason: 'GetState: payment unknown to the bank' };
      throw new TbankApiError('GetState', st);
    }
    if (st.Status === 'CANCELED') return { cancelled: true };
    if (!CANCELLABLE.has(String(st.Status))) return { cancelled: false, reason: `the payment is ${String(st.Status).slice(0, 40)}` };
    const r = await this.client.call<CancelResponse>('Cancel', { PaymentId: ref.providerRef });
    if (isOk(r)) return { cancelled: true };
    if (WRONG_STATE_CODES.has(String(r.ErrorCode)))
      return { cancelled: false, reason: `Cancel: ErrorCode ${String(r.ErrorCode)}: ${String(r.Message ?? '').slice(0, 100)}` };
    throw new TbankApiError('Cancel', r);
  }

  verifyWebhook(req: InboundWebhook): WebhookResult {
    return verifyNotification(req, this.cfg.terminalKey, this.cfg.password);
  }

  /** Closes the keep-alive connections. */
  async close(): Promise<void> {
    await this.client.close();
    await this.registry?.close();
  }
}

/**
 * RedirectDueDate as T-Bank takes it: ISO 8601 with the offset and no fraction (Moscow time, which
 * has no daylight saving), between a minute and 90 days ahead, as the bank refuses others.
 */
export function redirectDueDate(expiresAt: string, now = Date.now()): { text: string; at: Date } {
  const wanted = Date.parse(expiresAt);
  if (Number.isNaN(wanted)) throw new ExternalError('tbank', `expiresAt ${expiresAt.slice(0, 40)} is not a date`, { retryable: false });
  const earliest = Math.ceil((now + 61_000) / 1000) * 1000;
  const latest = Math.floor((now + 90 * 86_400_000) / 1000) * 1000;
  const t = Math.min(Math.max(Math.floor(wanted / 1000) * 1000, earliest), latest);
  const text = `${new Date(t + 3 * 3_600_000).toISOString().slice(0, 19)}+03:00`;
  return { text, at: new Date(t) };
}

/** The form shows it; T-Bank takes 250 characters. */
function cleanDescription(s: string): string {
  return s
    .replace(/[\r\n\t]+/g, ' ')
    .trim()
    .slice(0, 250);
}

/** +7XXXXXXXXXX for Russian numbers, as the bank's form expects; other numbers with a plus. */
function normalizePhone(s: string): string | null {
  const digits = s.replace(/\D/g, '');
  if (digits.length === 11 && (digits[0] === '8' || digits[0] === '7')) return `+7${digits.slice(1)}`;
  if (digits.length === 10 && digits[0] === '9') return `+7${digits}`;
  return digits.length >= 10 && digits.length <= 15 ? `+${digits}` : null;
}

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
