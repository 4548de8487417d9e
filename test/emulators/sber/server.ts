import { generateKeyPairSync, randomUUID, sign as rsaSign, type KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '@koa/router';
import Koa, { type Context } from 'koa';
import getRawBody from 'raw-body';
import { signedString, symmetricChecksum } from '../../../connectors/sber/checksum';
import { withCrc } from '../../../gateway/domain/sbp';

/**
 * An emulator of Sber internet acquiring (the BPC `.do` REST API): register / status / refund /
 * reverse / deposit / decline, the payment form, and signed callbacks with the bank's re-sends.
 * Answers carry the bank's quirks: errorCode as a string, HTTP 200 for business errors, HTML for
 * outages. Knobs make callbacks duplicate, late or missing, and the API slow or down.
 */

export interface SberMerchant {
  userName: string;
  password: string;
  token?: string;
  /** Symmetric secret for callback checksums (symmetric mode). */
  callbackSecret?: string;
  callbackMode: 'symmetric' | 'asymmetric';
  /** The URL set in the bank's merchant settings (used when no dynamicCallbackUrl comes). */
  callbackUrl?: string;
  callbackMethod?: 'GET' | 'POST';
  /** Optional callback parameters the merchant enabled. */
  callbackExtras?: ('amount' | 'callbackCreationDate')[];
}

export interface SberKnobs {
  /** off: callbacks are never sent (lost). */
  callbacks: 'on' | 'off';
  /** Extra copies of every callback. */
  duplicateCallbacks: number;
  /** Each callback leaves this late. */
  callbackDelayMs: number;
  /** The bank re-sends a callback answered with non-200 every 30 s, 3 times. */
  resendIntervalMs: number;
  resendLimit: number;
  apiLatencyMs: number;
  /** Share of API calls answered with a 503 HTML page (before anything happens). */
  apiFailRate: number;
  apiDown: boolean;
  /** Only getOrderStatusExtended.do answers 503. */
  statusApiDown: boolean;
  /** reverse.do accepted for deposited orders (before the bank day closes). */
  reverseSameDay: boolean;
  /**
   * A СБП payment the customer confirmed in the banking app just before the QR was rejected still
   * goes through at NSPK (the race every QR has at its expiry).
   */
  sbpLateAcceptance: boolean;
}

export const DEFAULT_KNOBS: SberKnobs = {
  callbacks: 'on',
  duplicateCallbacks: 0,
  callbackDelayMs: 0,
  resendIntervalMs: 30_000,
  resendLimit: 3,
  apiLatencyMs: 0,
  apiFailRate: 0,
  apiDown: false,
  statusApiDown: false,
  reverseSameDay: true,
  sbpLateAcceptance: false,
};

/** Banks a СБП payer may pay from, as the registry names them. */
export const SBP_BANKS = ['Т-Банк', 'Сбербанк', 'ВТБ', 'Альфа-Банк', 'Райффайзенбанк'] as const;

export interface EmulatedOrder {
  mdOrder: string;
  orderNumber: string;
  merchant: string;
  amount: number;
  currency: string;
  returnUrl: string;
  failUrl?: string;
  description?: string;
  jsonParams: Record<string, string>;
  callbackUrl?: string;
  twoStage: boolean;
  sessionTimeoutSecs: number;
  createdAt: number;
  orderStatus: number;
  actionCode: number;
  actionCodeDescription: string;
  approvedAmount: number;
  depositedAmount: number;
  refundedAmount: number;
  authDateTime?: number;
  refunds: { amount: number; date: number }[];
  /** CARD or SBP_C2B once paid. */
  paymentWay?: 'CARD' | 'SBP_C2B';
  payerBank?: string;
  /** The order's dynamic СБП QR, once asked for. */
  qr?: { qrId: string; payload: string; status: 'STARTED' | 'CONFIRMED' | 'REJECTED' | 'ACCEPTED' };
  /** When money last moved (payment, refund, reversal): what the registry searches by. */
  lastOperationAt?: number;
}

export interface CallbackDelivery {
  url: string;
  method: 'GET' | 'POST';
  params: Record<string, string>;
  attempt: number;
  status: number | null;
  error?: string;
  at: number;
}

const ACTION = {
  OK: [0, 'Платёж успешно проведён'],
  NO_ATTEMPTS: [-100, 'Не было попыток оплаты'],
  TIMEOUT: [-2007, 'Истек срок ожидания ввода данных'],
  DECLINED: [2002, 'Отклонено банком-эмитентом'],
  MERCHANT_DECLINED: [-2010, 'Заказ отменён магазином'],
} as const;

export class SberEmulator {
  readonly orders = new Map<string, EmulatedOrder>();
  readonly byNumber = new Map<string, string>();
  readonly calls: Record<string, number> = {};
  readonly deliveries: CallbackDelivery[] = [];
  knobs: SberKnobs;
  readonly publicKeyPem: string;
  private readonly privateKey: KeyObject;
  private server: Server | null = null;
  private timers = new Set<NodeJS.Timeout>();
  private pendingSends = new Set<Promise<void>>();
  url = '';

  constructor(
    readonly merchants: SberMerchant[],
    knobs: Partial<SberKnobs> = {},
  ) {
    this.knobs = { ...DEFAULT_KNOBS, ...knobs };
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  /** The REST base URL the gateway is configured with. */
  get restUrl(): string {
    return `${this.url}/payment/rest/`;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    router.post('/payment/rest/:method', (ctx) => this.api(ctx));
    router.get('/payment/rest/:method', (ctx) => this.api(ctx));
    router.post('/payment/rest/sbp/c2b/qr/:a/:b', (ctx) =>
      this.api(ctx, `sbp/c2b/qr/${(ctx.params as Record<string, string>).a}/${(ctx.params as Record<string, string>).b}`),
    );
    router.post('/payment/rest/sbp/c2b/qr/:a', (ctx) => this.api(ctx, `sbp/c2b/qr/${(ctx.params as Record<string, string>).a}`));
    router.get('/payment/merchants/:tpl/payment_ru.html', (ctx) => this.form(ctx));
    router.post('/payment/merchants/:tpl/pay', (ctx) => this.formSubmit(ctx));
    router.get('/__emulator/orders', (ctx) => {
      ctx.body = [...this.orders.values()];
    });
    router.post('/__emulator/orders/:mdOrder/complete', async (ctx) => {
      const body = JSON.parse((await getRawBody(ctx.req)).toString() || '{}');
      const order = this.orders.get(ctx.params.mdOrder);
      if (!order) {
        ctx.status = 404;
        ctx.body = { error: 'no such order' };
        return;
      }
      ctx.body = this.complete(order.mdOrder, body.outcome === 'declined' ? 'declined' : 'paid');
    });
    router.get('/__emulator/knobs', (ctx) => {
      ctx.body = this.knobs;
    });
    router.post('/__emulator/knobs', async (ctx) => {
      Object.assign(this.knobs, JSON.parse((await getRawBody(ctx.req)).toString() || '{}'));
      ctx.body = this.knobs;
    });
    router.get('/__emulator/stats', (ctx) => {
      ctx.body = { calls: this.calls, deliveries: this.deliveries };
    });
    router.get('/__emulator/public-key', (ctx) => {
      ctx.type = 'text/plain';
      ctx.body = this.publicKeyPem;
    });
    app.use(router.routes());
    this.server = await new Promise<Server>((resolve) => {
      const s = app.listen(port, host, () => resolve(s));
    });
    this.server.keepAliveTimeout = 65_000;
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const s = this.server;
    this.server = null;
    if (s) {
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
  }

  /** Waits until every callback in flight (and its re-sends that are due) has been delivered. */
  async settle(): Promise<void> {
    while (this.pendingSends.size > 0) await Promise.allSettled([...this.pendingSends]);
  }

  // ------------------------------------------------------------------ API

  private merchantFor(p: Record<string, string>): SberMerchant | undefined {
    if (p.token) return this.merchants.find((m) => m.token && m.token === p.token);
    return this.merchants.find((m) => m.userName === p.userName && m.password === p.password);
  }

  private async api(ctx: Context, path?: string): Promise<void> {
    const method = path ?? String((ctx as Context & { params: Record<string, string> }).params.method);
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    if (this.knobs.apiLatencyMs > 0) await new Promise((r) => setTimeout(r, this.knobs.apiLatencyMs));
    if (this.knobs.apiDown || Math.random() < this.knobs.apiFailRate || (this.knobs.statusApiDown && method.startsWith('getOrderStatus'))) {
      ctx.status = 503;
      ctx.type = 'text/html';
      ctx.body = '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>';
      return;
    }
    const p: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(ctx.querystring)) p[k] = v;
    if (ctx.method === 'POST') for (const [k, v] of new URLSearchParams((await getRawBody(ctx.req)).toString('utf8'))) p[k] = v;
    const merchant = this.merchantFor(p);
    ctx.type = 'application/json';
    if (!merchant) {
      ctx.body = { errorCode: '5', errorMessage: 'Доступ запрещён.' };
      return;
    }
    switch (method) {
      case 'register.do':
      case 'registerPreAuth.do':
        ctx.body = this.register(merchant, p, method === 'registerPreAuth.do');
        return;
      case 'getOrderStatusExtended.do':
        ctx.body = this.status(merchant, p);
        return;
      case 'refund.do':
        ctx.body = this.refund(merchant, p);
        return;
      case 'reverse.do':
        ctx.body = this.reverse(merchant, p);
        return;
      case 'deposit.do':
        ctx.body = this.deposit(merchant, p);
        return;
      case 'decline.do':
        ctx.body = this.decline(merchant, p);
        return;
      case 'sbp/c2b/qr/dynamic/get.do':
        ctx.body = this.sbpGet(merchant, p);
        return;
      case 'sbp/c2b/qr/status.do':
        ctx.body = this.sbpStatus(merchant, p);
        return;
      case 'sbp/c2b/qr/dynamic/reject.do':
        ctx.body = this.sbpReject(merchant, p);
        return;
      case 'getLastOrdersForMerchants.do':
        ctx.body = this.lastOrders(merchant, p);
        return;
      default:
        ctx.status = 404;
        ctx.type = 'text/html';
        ctx.body = '<html><body>Not Found</body></html>';
    }
  }

  private find(merchant: SberMerchant, p: Record<string, string>): EmulatedOrder | undefined {
    const id = p.orderId ?? (p.orderNumber ? this.byNumber.get(`${merchant.userName}:${p.orderNumber}`) : undefined);
    const order = id ? this.orders.get(id) : undefined;
    return order && order.merchant === merchant.userName ? order : undefined;
  }

  private register(merchant: SberMerchant, p: Record<string, string>, twoStage: boolean) {
    if (!p.orderNumber) return { errorCode: '4', errorMessage: 'Номер заказа не может быть пуст' };
    if (!p.amount) return { errorCode: '4', errorMessage: 'Сумма не может быть пустой' };
    if (!/^\d+$/.test(p.amount) || Number(p.amount) <= 0) return { errorCode: '5', errorMessage: 'Неверная сумма' };
    if (!p.returnUrl) return { errorCode: '4', errorMessage: 'URL возврата не может быть пуст' };
    if (p.orderNumber.length > 32) return { errorCode: '5', errorMessage: 'Неверный номер заказа' };
    const key = `${merchant.userName}:${p.orderNumber}`;
    if (this.byNumber.has(key)) return { errorCode: '1', errorMessage: 'Заказ с таким номером уже обработан' };
    const mdOrder = randomUUID();
    const timeout = p.sessionTimeoutSecs ? Number(p.sessionTimeoutSecs) : 1200;
    const order: EmulatedOrder = {
      mdOrder,
      orderNumber: p.orderNumber,
      merchant: merchant.userName,
      amount: Number(p.amount),
      currency: p.currency ?? '643',
      returnUrl: p.returnUrl,
      failUrl: p.failUrl,
      description: p.description,
      jsonParams: p.jsonParams ? JSON.parse(p.jsonParams) : {},
      callbackUrl: p.dynamicCallbackUrl || merchant.callbackUrl,
      twoStage,
      sessionTimeoutSecs: timeout,
      createdAt: Date.now(),
      orderStatus: 0,
      actionCode: ACTION.NO_ATTEMPTS[0],
      actionCodeDescription: ACTION.NO_ATTEMPTS[1],
      approvedAmount: 0,
      depositedAmount: 0,
      refundedAmount: 0,
      refunds: [],
    };
    this.orders.set(mdOrder, order);
    this.byNumber.set(key, mdOrder);
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (order.orderStatus === 0 || order.orderStatus === 5) {
        this.setState(order, 6, ACTION.TIMEOUT);
        this.sendCallbacks(order, 'declinedByTimeout', 0);
      }
    }, timeout * 1000);
    t.unref();
    this.timers.add(t);
    return { orderId: mdOrder, formUrl: `${this.url}/payment/merchants/sbersafe/payment_ru.html?mdOrder=${mdOrder}` };
  }

  private status(merchant: SberMerchant, p: Record<string, string>) {
    const o = this.find(merchant, p);
    if (!o) return { errorCode: '6', errorMessage: 'Заказ не найден' };
    const state = ['CREATED', 'APPROVED', 'DEPOSITED', 'REVERSED', 'REFUNDED', 'CREATED', 'DECLINED'][o.orderStatus];
    return {
      errorCode: '0',
      errorMessage: 'Успешно',
      orderNumber: o.orderNumber,
      orderStatus: o.orderStatus,
      actionCode: o.actionCode,
      actionCodeDescription: o.actionCodeDescription,
      amount: o.amount,
      currency: o.currency,
      date: o.createdAt,
      orderDescription: o.description ?? '',
      merchantOrderParams: Object.entries(o.jsonParams).map(([name, value]) => ({ name, value: String(value) })),
      attributes: [{ name: 'mdOrder', value: o.mdOrder }],
      ...(o.authDateTime
        ? {
            authDateTime: o.authDateTime,
            cardAuthInfo: {
              maskedPan: '220220**0000',
              expiration: '203012',
              cardholderName: 'CARD HOLDER',
              approvalCode: '123456',
              paymentSystem: 'MIR',
            },
          }
        : {}),
      paymentAmountInfo: {
        paymentState: state,
        approvedAmount: o.approvedAmount,
        depositedAmount: o.depositedAmount,
        refundedAmount: o.refundedAmount,
        feeAmount: 0,
      },
      refunds: o.refunds.map((r) => ({ date: new Date(r.date).toISOString(), amount: r.amount, actionCode: 0 })),
      ...(o.paymentWay
        ? { paymentWay: o.paymentWay, bankInfo: { bankName: o.payerBank ?? 'TEST CARD', bankCountryCode: 'RU', bankCountryName: 'Россия' } }
        : {}),
    };
  }

  // ------------------------------------------------------------------ СБП

  private sbpGet(merchant: SberMerchant, p: Record<string, string>) {
    const o = this.find(merchant, { orderId: p.mdOrder });
    if (!o) return { errorCode: '6', errorMessage: 'Заказ не найден' };
    if (o.orderStatus !== 0) return { errorCode: '7', errorMessage: 'Неверное состояние заказа' };
    if (!o.qr || o.qr.status === 'REJECTED') {
      const qrId = `AD${randomUUID().replace(/-/g, '').slice(0, 30).toUpperCase()}`;
      o.qr = { qrId, payload: withCrc(`https://qr.nspk.ru/${qrId}?type=02&bank=100000000111&sum=${o.amount}&cur=RUB`), status: 'STARTED' };
    }
    return {
      errorCode: '0',
      qrId: o.qr.qrId,
      payload: o.qr.payload,
      qrStatus: o.qr.status,
      ...(p.qrFormat === 'image' ? { renderedQr: Buffer.from(o.qr.payload).toString('base64') } : {}),
    };
  }

  private sbpStatus(merchant: SberMerchant, p: Record<string, string>) {
    const o = this.find(merchant, { orderId: p.mdOrder });
    if (!o || !o.qr || o.qr.qrId !== p.qrId) return { errorCode: '6', errorMessage: 'QR не найден' };
    const state = ['CREATED', 'APPROVED', 'DEPOSITED', 'REVERSED', 'REFUNDED', 'CREATED', 'DECLINED'][o.orderStatus];
    return { errorCode: '0', qrType: 'DYNAMIC', qrStatus: o.qr.status, transactionState: state };
  }

  private sbpReject(merchant: SberMerchant, p: Record<string, string>) {
    const o = this.find(merchant, { orderId: p.mdOrder });
    if (!o || !o.qr || o.qr.qrId !== p.qrId) return { errorCode: '6', errorMessage: 'QR не найден' };
    if (o.qr.status === 'CONFIRMED') return { errorCode: '7', errorMessage: 'QR уже оплачен' };
    o.qr.status = 'REJECTED';
    return { errorCode: '0' };
  }

  // ------------------------------------------------------------------ the registry

  /** getLastOrdersForMerchants.do: orders whose money moved in [from, to] (Moscow time), a page at a time. */
  private lastOrders(merchant: SberMerchant, p: Record<string, string>) {
    const stamp = (v: string | undefined) =>
      v && /^\d{14}$/.test(v)
        ? Date.UTC(+v.slice(0, 4), +v.slice(4, 6) - 1, +v.slice(6, 8), +v.slice(8, 10), +v.slice(10, 12), +v.slice(12, 14)) - 3 * 3_600_000
        : NaN;
    const from = stamp(p.from);
    const to = stamp(p.to);
    if (!Number.isFinite(from) || !Number.isFinite(to)) return { errorCode: '5', errorMessage: 'Неверный формат даты' };
    if (!p.transactionStates) return { errorCode: '5', errorMessage: 'Не указаны состояния заказов' };
    const size = p.size ? Number(p.size) : 100;
    if (!Number.isInteger(size) || size < 1 || size > 200) return { errorCode: '5', errorMessage: 'Размер страницы от 1 до 200' };
    const page = p.page ? Number(p.page) : 0;
    const states = new Set(p.transactionStates.split(','));
    const names = ['CREATED', 'APPROVED', 'DEPOSITED', 'REVERSED', 'REFUNDED', 'CREATED', 'DECLINED'];
    const byCreated = p.searchByCreatedDate === 'true';
    const all = [...this.orders.values()]
      .filter((o) => o.merchant === merchant.userName && states.has(names[o.orderStatus]))
      .filter((o) => {
        const at = byCreated ? o.createdAt : (o.lastOperationAt ?? o.createdAt);
        return at >= from && at <= to;
      })
      .sort((a, b) => a.createdAt - b.createdAt);
    const slice = all.slice(page * size, (page + 1) * size);
    return {
      errorCode: '0',
      errorMessage: 'Успешно',
      orderStatuses: slice.map((o) => this.status(merchant, { orderId: o.mdOrder })),
      totalCount: all.length,
      page,
      pageSize: size,
    };
  }

  private refund(merchant: SberMerchant, p: Record<string, string>) {
    const o = this.find(merchant, p);
    if (!o) return { errorCode: '6', errorMessage: 'Незарегистрированный OrderId' };
    const amount = Number(p.amount);
    if (!Number.isInteger(amount) || amount <= 0) return { errorCode: '5', errorMessage: 'Неверная сумма' };
    if (o.orderStatus !== 2 && o.orderStatus !== 4) return { errorCode: '7', errorMessage: 'Платёж должен быть в корректном состоянии' };
    if (amount > o.depositedAmount - o.refundedAmount) return { errorCode: '5', errorMessage: 'Сумма возврата превышает сумму списания' };
    o.refundedAmount += amount;
    o.refunds.push({ amount, date: Date.now() });
    o.lastOperationAt = Date.now();
    o.orderStatus = 4;
    this.sendCallbacks(o, 'refunded', 1);
    return { errorCode: '0', errorMessage: 'Успешно' };
  }

  private reverse(merchant: SberMerchant, p: Record<string, string>) {
    const o = this.find(merchant, p);
    if (!o) return { errorCode: '6', errorMessage: 'Незарегистрированный OrderId' };
    const allowed = o.orderStatus === 1 || (o.orderStatus === 2 && this.knobs.reverseSameDay && o.refundedAmount === 0);
    if (!allowed) return { errorCode: '7', errorMessage: 'Реверсирование невозможно' };
    o.orderStatus = 3;
    o.approvedAmount = 0;
    o.lastOperationAt = Date.now();
    this.sendCallbacks(o, 'reversed', 1);
    return { errorCode: '0', errorMessage: 'Успешно' };
  }

  private deposit(merchant: SberMerchant, p: Record<string, string>) {
    const o = this.find(merchant, p);
    if (!o) return { errorCode: '6', errorMessage: 'Незарегистрированный OrderId' };
    if (o.orderStatus !== 1) return { errorCode: '7', errorMessage: 'Платёж должен быть в корректном состоянии' };
    const amount = Number(p.amount ?? 0) || o.approvedAmount;
    if (amount > o.approvedAmount) return { errorCode: '5', errorMessage: 'Неверная сумма' };
    o.depositedAmount = amount;
    o.orderStatus = 2;
    o.lastOperationAt = Date.now();
    this.sendCallbacks(o, 'deposited', 1);
    return { errorCode: '0', errorMessage: 'Успешно' };
  }

  /**
   * decline.do cancels a registered, unpaid order only (status 0): an order whose customer is in 3-D Secure
   * (5), held, paid or already final is refused with errorCode 7 and stays as it is.
   */
  private decline(merchant: SberMerchant, p: Record<string, string>) {
    const o = this.find(merchant, p);
    if (!o) return { errorCode: '6', errorMessage: 'Заказ не найден' };
    if (o.orderStatus !== 0) return { errorCode: '7', errorMessage: 'Неверное состояние заказа' };
    this.setState(o, 6, ACTION.MERCHANT_DECLINED);
    return { errorCode: '0', errorMessage: 'Успешно' };
  }

  private setState(o: EmulatedOrder, status: number, action: readonly [number, string]): void {
    o.orderStatus = status;
    o.actionCode = action[0];
    o.actionCodeDescription = action[1];
  }

  // ------------------------------------------------------------------ the customer's side

  /**
   * The customer pays (or is declined): on the bank's card form, or — for an order with a СБП QR —
   * in a banking app; callbacks follow as the bank sends them.
   */
  complete(mdOrder: string, outcome: 'paid' | 'declined' | 'acs', opts: { payerBank?: string } = {}): EmulatedOrder {
    const o = this.orders.get(mdOrder);
    if (!o) throw new Error(`no order ${mdOrder}`);
    if (o.qr && outcome === 'paid') {
      // a rejected QR cannot be paid, unless NSPK had the payment in flight already
      const late = o.qr.status === 'REJECTED' && this.knobs.sbpLateAcceptance;
      if (o.qr.status !== 'STARTED' && !late) return o;
      if (o.orderStatus === 6 && late) this.setState(o, 0, ACTION.NO_ATTEMPTS);
      o.qr.status = 'CONFIRMED';
      o.paymentWay = 'SBP_C2B';
      o.payerBank = opts.payerBank ?? SBP_BANKS[0];
    }
    if (o.orderStatus !== 0 && o.orderStatus !== 5) return o; // already final: the form shows the result
    if (outcome === 'acs') {
      this.setState(o, 5, ACTION.NO_ATTEMPTS);
      return o;
    }
    if (outcome === 'declined') {
      this.setState(o, 6, ACTION.DECLINED);
      this.sendCallbacks(o, 'deposited', 0);
      return o;
    }
    o.authDateTime = Date.now();
    o.lastOperationAt = o.authDateTime;
    o.approvedAmount = o.amount;
    o.paymentWay ??= 'CARD';
    o.payerBank ??= opts.payerBank ?? 'TEST CARD';
    if (o.twoStage) {
      this.setState(o, 1, ACTION.OK);
      this.sendCallbacks(o, 'approved', 1);
    } else {
      o.depositedAmount = o.amount;
      this.setState(o, 2, ACTION.OK);
      this.sendCallbacks(o, 'deposited', 1);
    }
    return o;
  }

  /**
   * A payment made through another channel of the same merchant (a QR at the front desk, a POS):
   * in the registry, with its own order number and purpose, never registered by the gateway.
   */
  createExternal(input: {
    merchant?: string;
    amount: number;
    orderNumber?: string;
    description?: string;
    method?: 'card' | 'sbp';
    payerBank?: string;
  }): EmulatedOrder {
    const merchant = this.merchants.find((m) => m.userName === (input.merchant ?? this.merchants[0].userName))!;
    const orderNumber = input.orderNumber ?? `POS-${randomUUID().slice(0, 8)}`;
    const r = this.register(
      merchant,
      { orderNumber, amount: String(input.amount), returnUrl: 'https://pos.invalid/', description: input.description ?? '' },
      false,
    ) as { orderId?: string; errorMessage?: string };
    if (!r.orderId) throw new Error(r.errorMessage);
    const o = this.orders.get(r.orderId)!;
    o.callbackUrl = undefined; // another channel: nobody here is told
    if (input.method === 'sbp') this.sbpGet(merchant, { mdOrder: o.mdOrder });
    return this.complete(o.mdOrder, 'paid', { payerBank: input.payerBank });
  }

  private form(ctx: Context): void {
    const o = this.orders.get(String(ctx.query.mdOrder));
    ctx.type = 'text/html; charset=utf-8';
    if (!o) {
      ctx.status = 404;
      ctx.body = '<!doctype html><p>Заказ не найден</p>';
      return;
    }
    const rub = `${Math.trunc(o.amount / 100)},${String(o.amount % 100).padStart(2, '0')} ₽`;
    ctx.body = `<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Оплата заказа</title></head><body>
<h1>Тестовая платёжная страница банка</h1><p>Заказ ${o.orderNumber}: ${o.description ?? ''}</p><p>Сумма: <b>${rub}</b></p>
<form method="post" action="pay"><input type="hidden" name="mdOrder" value="${o.mdOrder}">
<button name="outcome" value="paid">Оплатить</button> <button name="outcome" value="declined">Отказ банка</button></form></body></html>`;
  }

  private async formSubmit(ctx: Context): Promise<void> {
    const form = new URLSearchParams((await getRawBody(ctx.req)).toString('utf8'));
    const o = this.orders.get(form.get('mdOrder') ?? '');
    if (!o) {
      ctx.status = 404;
      return;
    }
    this.complete(o.mdOrder, form.get('outcome') === 'declined' ? 'declined' : 'paid');
    const target = o.orderStatus === 6 ? (o.failUrl ?? o.returnUrl) : o.returnUrl;
    const url = new URL(target);
    url.searchParams.set('orderId', o.mdOrder);
    url.searchParams.set('lang', 'ru');
    ctx.redirect(url.toString());
  }

  // ------------------------------------------------------------------ callbacks

  /** The signed parameters of a callback, as the bank builds them. */
  callbackParams(o: EmulatedOrder, operation: string, status: 0 | 1): Record<string, string> {
    const merchant = this.merchants.find((m) => m.userName === o.merchant)!;
    const params: Record<string, string> = { mdOrder: o.mdOrder, orderNumber: o.orderNumber, operation, status: String(status) };
    if (merchant.callbackExtras?.includes('amount'))
      params.amount = String(operation === 'refunded' ? (o.refunds.at(-1)?.amount ?? o.amount) : o.amount);
    if (merchant.callbackExtras?.includes('callbackCreationDate')) params.callbackCreationDate = new Date().toString();
    return this.sign(merchant, params);
  }

  sign(merchant: SberMerchant, params: Record<string, string>): Record<string, string> {
    if (merchant.callbackMode === 'symmetric') return { ...params, checksum: symmetricChecksum(params, merchant.callbackSecret ?? '') };
    const signature = rsaSign('sha512', Buffer.from(signedString(params)), this.privateKey)
      .toString('hex')
      .toUpperCase();
    return { ...params, checksum: signature, sign_alias: 'SHA-256 with RSA' };
  }

  private sendCallbacks(o: EmulatedOrder, operation: string, status: 0 | 1): void {
    if (this.knobs.callbacks === 'off' || !o.callbackUrl) return;
    const params = this.callbackParams(o, operation, status);
    for (let copy = 0; copy <= this.knobs.duplicateCallbacks; copy++) this.deliver(o.callbackUrl, params, 1, this.knobs.callbackDelayMs);
  }

  private deliver(url: string, params: Record<string, string>, attempt: number, delayMs: number): void {
    const merchant = this.merchants.find((m) => m.userName === this.orders.get(params.mdOrder)?.merchant);
    const method = merchant?.callbackMethod ?? 'GET';
    const p = (async () => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (!this.server) return;
      const record: CallbackDelivery = { url, method, params, attempt, status: null, at: Date.now() };
      this.deliveries.push(record);
      try {
        const qs = new URLSearchParams(params).toString();
        const res =
          method === 'GET'
            ? await fetch(`${url}${url.includes('?') ? '&' : '?'}${qs}`, { signal: AbortSignal.timeout(10_000) })
            : await fetch(url, {
                method: 'POST',
                headers: { 'content-type': 'application/x-www-form-urlencoded' },
                body: qs,
                signal: AbortSignal.timeout(10_000),
              });
        await res.arrayBuffer().catch(() => undefined);
        record.status = res.status;
      } catch (e) {
        record.error = (e as Error).message;
      }
      if (record.status !== 200 && attempt <= this.knobs.resendLimit && this.server) {
        this.deliver(url, params, attempt + 1, this.knobs.resendIntervalMs);
      }
    })();
    this.pendingSends.add(p);
    p.finally(() => this.pendingSends.delete(p));
  }
}
