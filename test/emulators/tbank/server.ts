import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '@koa/router';
import Koa, { type Context } from 'koa';
import QRCode from 'qrcode';
import getRawBody from 'raw-body';
import { buildSbpLink } from '../../../gateway/domain/sbp';
import { signedFieldsOfJson, tbankToken, verifyTbankToken } from '../../../connectors/tbank/token';
import type { PaymentStatus, TbankNotification } from '../../../connectors/tbank/types';
import type { EmulatedPayment } from './payment';
import { expiredPage, notFoundPage, payPage, processedPage, resultPage, returnUrl } from './form';
import { Notifier, type NotificationDelivery, type NotifierKnobs } from './notifier';
import { Registry } from './registry';
import { DEFAULT_STATEMENT_KNOBS, Statement, type NewOperation, type StatementAccount, type StatementKnobs } from './statement';

/**
 * An emulator of T-Bank internet acquiring (`/v2/` Init, GetQr, GetState, Cancel, Confirm,
 * CheckOrder, SbpPayTest), its hosted payment form, signed notifications with the bank's re-sends,
 * the T-Business registry of operations and the T-Business account statement (statement.ts). Quirks kept: business errors are HTTP 200 with
 * `Success: false` and a string ErrorCode; PaymentId is a string in Init's answer and a number in
 * notifications; GetState's Amount after a partial refund is what is left; a one-stage card payment
 * notifies AUTHORIZED and then CONFIRMED; a failed СБП attempt leaves the payment FORM_SHOWED until
 * the third one rejects it; outages answer with an HTML page.
 *
 * Not confirmed from published material, chosen: ErrorCode 255 for an unknown PaymentId and 335 for
 * an unknown OrderId; notifications carry the Init DATA as a nested `Data` (as real ones seen in the
 * wild do); the registry's body (see connectors/tbank/types.ts).
 */

export interface TbankTerminal {
  terminalKey: string;
  password: string;
  /** The T-Business OpenAPI token that may read this terminal's registry. */
  businessToken?: string;
  /** Cards are held (AUTHORIZED) and wait for Confirm, unless Init says PayType O. */
  twoStage?: boolean;
  /** СБП enabled for the terminal (default true). */
  sbp?: boolean;
  /** The NotificationURL of the terminal's settings, used when Init passes none. */
  notificationUrl?: string;
}

export interface TbankKnobs extends NotifierKnobs, StatementKnobs {
  /** Notifications are signed with a wrong password. */
  forgeToken: boolean;
  apiLatencyMs: number;
  /** Share of /v2/ calls answered with a 503 HTML page (before anything happens). */
  apiFailRate: number;
  apiDown: boolean;
  /** The registry of operations answers 503. */
  operationsDown: boolean;
  /** Operations appear in the registry this long after the money moved (the real one: up to 2 h). */
  operationsDelayMs: number;
  /** The registry takes one request per this many ms from a token (429 past it). */
  operationsRateLimitMs: number;
  /** Refunds and reversals pass REFUNDING / REVERSING for this long (0: done at once). */
  refundDelayMs: number;
  /** Failed СБП attempts after which the payment is REJECTED (before that it stays FORM_SHOWED). */
  sbpAttemptsBeforeReject: number;
  /** How soon RedirectDueDate may be (the real one: a minute). */
  minRedirectDueMs: number;
  /** RedirectDueDate when Init gives none (the real one: 24 h). */
  defaultRedirectDueMs: number;
}

export const DEFAULT_KNOBS: TbankKnobs = {
  callbacks: 'on',
  duplicateCallbacks: 0,
  callbackDelayMs: 0,
  resendIntervalMs: 3_600_000,
  resendLimit: 24,
  resendDailyIntervalMs: 86_400_000,
  resendDailyLimit: 30,
  forgeToken: false,
  apiLatencyMs: 0,
  apiFailRate: 0,
  apiDown: false,
  operationsDown: false,
  operationsDelayMs: 0,
  operationsRateLimitMs: 1000,
  refundDelayMs: 0,
  sbpAttemptsBeforeReject: 3,
  minRedirectDueMs: 60_000,
  defaultRedirectDueMs: 24 * 3_600_000,
  ...DEFAULT_STATEMENT_KNOBS,
};

export type { EmulatedPayment };

const BANK_ID = '100000000004';
const FINAL: ReadonlySet<PaymentStatus> = new Set(['CANCELED', 'DEADLINE_EXPIRED', 'REJECTED', 'AUTH_FAIL', 'REVERSED', 'REFUNDED']);
type Answer = Record<string, unknown>;
type Params = Record<string, unknown> & { __raw: Map<string, string> };

export class TbankEmulator {
  readonly payments = new Map<string, EmulatedPayment>();
  readonly calls: Record<string, number> = {};
  knobs: TbankKnobs;
  readonly registry: Registry;
  /** The T-Business statement of the accounts opened (`statement.add({...})` puts money in or out). */
  readonly statement: Statement;
  private readonly notifier: Notifier;
  private readonly byForm = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server: Server | null = null;
  private nextId = 7_000_000_000 + Math.floor(Math.random() * 1_000_000) * 100;
  url = '';

  constructor(
    readonly terminals: TbankTerminal[],
    knobs: Partial<TbankKnobs> = {},
    accounts: StatementAccount[] = [],
  ) {
    this.knobs = { ...DEFAULT_KNOBS, ...knobs };
    this.notifier = new Notifier(() => this.knobs);
    this.registry = new Registry({
      tokenOf: (key) => this.terminals.find((t) => t.terminalKey === key)?.businessToken,
      knownToken: (token) => this.terminals.some((t) => t.businessToken === token),
      rateLimitMs: () => this.knobs.operationsRateLimitMs,
      down: () => this.knobs.operationsDown,
    });
    this.statement = new Statement(
      accounts,
      () => this.knobs,
      () => this.terminals.flatMap((t) => (t.businessToken ? [t.businessToken] : [])),
    );
  }

  /** The `/v2/` base the gateway is configured with (baseUrl). */
  get apiUrl(): string {
    return `${this.url}/v2/`;
  }

  /** The T-Business OpenAPI base (operations.baseUrl). */
  get operationsUrl(): string {
    return `${this.url}/openapi/`;
  }

  /** Every notification sent, re-sends included. */
  get deliveries(): NotificationDelivery[] {
    return this.notifier.deliveries;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    router.post('/v2/:method', (ctx) => this.api(ctx, String(ctx.params.method)));
    router.get('/pay/:code', (ctx) => this.form(ctx, String(ctx.params.code)));
    router.post('/pay/:code', (ctx) => this.formSubmit(ctx, String(ctx.params.code)));
    router.get('/openapi/api/v1/tacq/operations/terminal/:terminalKey', async (ctx) => {
      this.count('operations');
      if (this.knobs.apiLatencyMs > 0) await sleep(this.knobs.apiLatencyMs);
      this.registry.serve(ctx, String(ctx.params.terminalKey));
    });
    router.get('/openapi/api/v1/statement', async (ctx) => {
      this.count('statement');
      if (this.knobs.apiLatencyMs > 0) await sleep(this.knobs.apiLatencyMs);
      this.statement.serve(ctx);
    });
    router.post('/__emulator/statement/operations', async (ctx) => {
      const body = JSON.parse((await getRawBody(ctx.req)).toString() || '{}') as NewOperation;
      try {
        ctx.status = 201;
        ctx.body = this.statement.add(body);
      } catch (e) {
        ctx.status = 400;
        ctx.body = { error: (e as Error).message };
      }
    });
    router.get('/__emulator/payments', (ctx) => {
      ctx.body = [...this.payments.values()];
    });
    router.post('/__emulator/payments/:id/complete', async (ctx) => {
      const body = JSON.parse((await getRawBody(ctx.req)).toString() || '{}') as { outcome?: string; payerBank?: string };
      if (!this.payments.has(String(ctx.params.id))) {
        ctx.status = 404;
        ctx.body = { error: 'no such payment' };
        return;
      }
      ctx.body = this.complete(String(ctx.params.id), body.outcome === 'declined' ? 'declined' : 'paid', { payerBank: body.payerBank });
    });
    router.post('/__emulator/external', async (ctx) => {
      const body = JSON.parse((await getRawBody(ctx.req)).toString() || '{}') as Parameters<TbankEmulator['createExternal']>[0];
      ctx.body = this.createExternal(body);
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
    this.notifier.stop();
    const s = this.server;
    this.server = null;
    if (s) {
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
  }

  /** Waits for the notifications in flight, and the re-sends due within `horizonMs`. */
  async settle(horizonMs?: number): Promise<void> {
    await this.notifier.settle(horizonMs);
  }

  // ------------------------------------------------------------------ /v2/

  private count(name: string): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }

  private async api(ctx: Context, method: string): Promise<void> {
    this.count(method);
    if (this.knobs.apiLatencyMs > 0) await sleep(this.knobs.apiLatencyMs);
    if (this.knobs.apiDown || Math.random() < this.knobs.apiFailRate) {
      ctx.status = 503;
      ctx.type = 'text/html';
      ctx.body = '<html><head><title>503 Service Temporarily Unavailable</title></head><body><h1>Технические работы</h1></body></html>';
      return;
    }
    const raw = (await getRawBody(ctx.req)).toString('utf8');
    ctx.type = 'application/json';
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = null;
    }
    const fields = signedFieldsOfJson(raw);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || !fields) {
      ctx.body = error('1', 'Параметры не сопоставлены');
      return;
    }
    const p = Object.assign(parsed as Record<string, unknown>, { __raw: fields }) as Params;
    const terminal = this.terminals.find((t) => t.terminalKey === p.TerminalKey);
    if (!terminal) {
      ctx.body = error('205', 'Неверные параметры.', 'Указанный терминал не найден.');
      return;
    }
    if (!verifyTbankToken(raw, terminal.password)) {
      ctx.body = error('204', 'Неверные параметры.', 'Неверный токен. Проверьте пару TerminalKey/SecretKey.');
      return;
    }
    const handlers: Record<string, (t: TbankTerminal, p: Params) => Answer | Promise<Answer>> = {
      Init: (t, q) => this.init(t, q),
      GetQr: (t, q) => this.getQr(t, q),
      GetState: (t, q) => this.getState(t, q),
      Cancel: (t, q) => this.cancelApi(t, q),
      Confirm: (t, q) => this.confirm(t, q),
      CheckOrder: (t, q) => this.checkOrder(t, q),
      SbpPayTest: (t, q) => this.sbpPayTest(t, q),
    };
    const handler = handlers[method];
    if (!handler) {
      ctx.status = 404;
      ctx.type = 'text/html';
      ctx.body = '<html><body>Not Found</body></html>';
      return;
    }
    ctx.body = { TerminalKey: terminal.terminalKey, ...(await handler(terminal, p)) };
  }

  private init(t: TbankTerminal, p: Params): Answer {
    const amountText = p.__raw.get('Amount');
    if (amountText === undefined) return error('201', 'Поле Amount не должно быть пустым');
    if (!/^\d{1,10}$/.test(amountText) || Number(amountText) < 100)
      return error('251', 'Неверная сумма. Сумма должна быть больше или равна 100 копеек');
    const orderId = typeof p.OrderId === 'string' ? p.OrderId : p.__raw.get('OrderId');
    if (!orderId) return error('201', 'Поле OrderId не должно быть пустым');
    if (orderId.length > 36) return error('212', 'Размер поля OrderId должен быть от 1 до 36');
    const description = typeof p.Description === 'string' ? p.Description : null;
    if (description !== null && description.length > 250) return error('213', 'Размер поля Description должен быть от 0 до 250');
    const data = p.DATA ?? {};
    if (typeof data !== 'object' || Array.isArray(data)) return error('201', 'Неверный формат параметра DATA');
    const entries = Object.entries(data as Record<string, unknown>);
    if (entries.length > 20) return error('207', 'Параметр DATA превышает максимально допустимый размер');
    if (entries.some(([k]) => k.length > 20))
      return error('208', 'Наименование ключа из параметра DATA превышает максимально допустимый размер');
    if (entries.some(([, v]) => String(v).length > 100))
      return error('209', 'Значение ключа из параметра DATA превышает максимально допустимый размер');
    let dueAt = Date.now() + this.knobs.defaultRedirectDueMs;
    if (p.RedirectDueDate !== undefined) {
      const text = String(p.RedirectDueDate);
      const at = Date.parse(text);
      const ahead = at - Date.now();
      if (
        !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[+-]\d{2}:\d{2}|Z)$/.test(text) ||
        Number.isNaN(at) ||
        ahead < this.knobs.minRedirectDueMs ||
        ahead > 90 * 86_400_000
      ) {
        return error('12', 'Неверный параметр RedirectDueDate');
      }
      dueAt = at;
    }
    if (p.PayType !== undefined && p.PayType !== 'O' && p.PayType !== 'T') return error('201', 'Неверное значение PayType');
    const payment = this.newPayment(t, {
      orderId,
      amount: Number(amountText),
      description,
      twoStage: p.PayType ? p.PayType === 'T' : !!t.twoStage,
      data: Object.fromEntries(entries.map(([k, v]) => [k, String(v)])),
      notificationUrl: typeof p.NotificationURL === 'string' ? p.NotificationURL : (t.notificationUrl ?? null),
      successUrl: typeof p.SuccessURL === 'string' ? p.SuccessURL : null,
      failUrl: typeof p.FailURL === 'string' ? p.FailURL : null,
      redirectDueAt: dueAt,
    });
    // a timer notifies the expiry; a due date beyond what a timer holds is still enforced on every read
    const wait = Math.max(0, dueAt - Date.now()) + 5;
    if (wait < 2 ** 31 - 1) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.expireIfDue(payment);
      }, wait);
      timer.unref();
      this.timers.add(timer);
    }
    return ok({
      Status: 'NEW',
      PaymentId: payment.paymentId,
      OrderId: orderId,
      Amount: payment.amount,
      PaymentURL: `${this.url}/pay/${payment.formCode}`,
    });
  }

  private async getQr(t: TbankTerminal, p: Params): Promise<Answer> {
    const pay = this.find(t, p);
    if (!pay) return notFound(p);
    if (t.sbp === false) return error('3001', 'Оплата через QrPay недоступна', 'Для терминала не активирован способ оплаты СБП');
    this.expireIfDue(pay);
    if (pay.status !== 'NEW' && pay.status !== 'FORM_SHOWED') return error('8', 'Неверный статус транзакции');
    if (pay.amount < 1000) return error('3016', 'Невозможно создать QR', 'Сумма операции по СБП должна быть не меньше 10 рублей');
    if (!pay.qr) {
      const qrId = `AD1000${randomBytes(13).toString('hex').toUpperCase()}`;
      pay.qr = { qrId, payload: buildSbpLink(qrId, BANK_ID, pay.amount) };
    }
    pay.method = 'sbp';
    pay.status = 'FORM_SHOWED';
    const data = p.DataType === 'IMAGE' ? await QRCode.toString(pay.qr.payload, { type: 'svg' }) : pay.qr.payload;
    return ok({ OrderId: pay.orderId, PaymentId: Number(pay.paymentId), Data: data, RequestKey: randomUUID() });
  }

  private getState(t: TbankTerminal, p: Params): Answer {
    const pay = this.find(t, p);
    if (!pay) return notFound(p);
    this.expireIfDue(pay);
    return ok({ Message: 'OK', Status: pay.status, PaymentId: pay.paymentId, OrderId: pay.orderId, Amount: reportedAmount(pay) });
  }

  private checkOrder(t: TbankTerminal, p: Params): Answer {
    const orderId = typeof p.OrderId === 'string' ? p.OrderId : '';
    const list = [...this.payments.values()].filter((x) => x.terminalKey === t.terminalKey && x.orderId === orderId);
    if (list.length === 0) return error('335', `OrderId ${orderId} не найден для TerminalKey ${t.terminalKey}`);
    for (const x of list) this.expireIfDue(x);
    return ok({
      OrderId: orderId,
      Payments: list.map((x) => ({
        PaymentId: x.paymentId,
        Amount: reportedAmount(x),
        Status: x.status,
        RRN: null,
        Success: !FINAL.has(x.status) || x.taken > 0,
        ErrorCode: x.errorCode,
      })),
    });
  }

  private confirm(t: TbankTerminal, p: Params): Answer {
    const pay = this.find(t, p);
    if (!pay) return notFound(p);
    if (pay.status !== 'AUTHORIZED') return error('4', 'Не получится изменить статус платежа');
    const amount = p.__raw.has('Amount') ? Number(p.__raw.get('Amount')) : pay.held;
    if (!Number.isSafeInteger(amount) || amount <= 0 || amount > pay.held) return error('251', 'Неверная сумма');
    this.take(pay, amount);
    return ok({ Status: pay.status, PaymentId: pay.paymentId, OrderId: pay.orderId });
  }

  private cancelApi(t: TbankTerminal, p: Params): Answer {
    const pay = this.find(t, p);
    if (!pay) return notFound(p);
    this.expireIfDue(pay);
    const original = pay.amount;
    const asked = p.__raw.has('Amount') ? Number(p.__raw.get('Amount')) : null;
    if (asked !== null && (!Number.isSafeInteger(asked) || asked <= 0)) return error('251', 'Неверная сумма');
    switch (pay.status) {
      case 'NEW':
      case 'FORM_SHOWED':
        pay.status = 'CANCELED';
        return ok({ Status: 'CANCELED', PaymentId: pay.paymentId, OrderId: pay.orderId, OriginalAmount: original, NewAmount: 0 });
      case 'AUTHORIZED':
      case 'PARTIAL_REVERSED': {
        const amount = asked ?? pay.held;
        if (amount > pay.held) return error('251', 'Сумма отмены больше суммы платежа');
        const status = this.later(pay, 'REVERSING', () => this.release(pay, amount));
        return ok({
          Status: status,
          PaymentId: pay.paymentId,
          OrderId: pay.orderId,
          OriginalAmount: original,
          NewAmount: pay.held - (status === 'REVERSING' ? amount : 0),
        });
      }
      case 'CONFIRMED':
      case 'PARTIAL_REFUNDED': {
        const left = pay.taken - pay.refunded;
        const amount = asked ?? left;
        if (amount > left) return error('251', 'Сумма отмены больше суммы платежа');
        const status = this.later(pay, 'REFUNDING', () => this.refundNow(pay, amount));
        return ok({
          Status: status,
          PaymentId: pay.paymentId,
          OrderId: pay.orderId,
          OriginalAmount: original,
          NewAmount: pay.taken - pay.refunded - (status === 'REFUNDING' ? amount : 0),
        });
      }
      default:
        return error('8', 'Неверный статус транзакции');
    }
  }

  /** Test payment for DEMO terminals: the СБП payer pays, is rejected, or lets the QR expire. */
  private sbpPayTest(t: TbankTerminal, p: Params): Answer {
    const pay = this.find(t, p);
    if (!pay) return notFound(p);
    if (!pay.qr) return error('8', 'Неверный статус транзакции', 'Для платежа не сформирован QR');
    if (p.IsDeadlineExpired === true || p.IsDeadlineExpired === 'true') {
      pay.redirectDueAt = Date.now();
      this.expireIfDue(pay);
    } else if (p.IsRejected === true || p.IsRejected === 'true') {
      this.reject(pay, '5063');
    } else this.complete(pay.paymentId, 'paid');
    return ok({});
  }

  // ------------------------------------------------------------------ the state machine

  private newPayment(
    t: TbankTerminal,
    f: Pick<
      EmulatedPayment,
      'orderId' | 'amount' | 'description' | 'twoStage' | 'data' | 'notificationUrl' | 'successUrl' | 'failUrl' | 'redirectDueAt'
    >,
  ): EmulatedPayment {
    this.nextId += 1 + Math.floor(Math.random() * 50);
    const payment: EmulatedPayment = {
      ...f,
      paymentId: String(this.nextId),
      terminalKey: t.terminalKey,
      status: 'NEW',
      method: null,
      createdAt: Date.now(),
      formCode: randomBytes(6).toString('base64url'),
      qr: null,
      held: 0,
      taken: 0,
      refunded: 0,
      failedAttempts: 0,
      errorCode: '0',
      payerBank: null,
      external: false,
    };
    this.payments.set(payment.paymentId, payment);
    this.byForm.set(payment.formCode, payment.paymentId);
    return payment;
  }

  private find(t: TbankTerminal, p: Params): EmulatedPayment | undefined {
    const id = p.__raw.get('PaymentId');
    const pay = id ? this.payments.get(id) : undefined;
    return pay && pay.terminalKey === t.terminalKey ? pay : undefined;
  }

  private expireIfDue(pay: EmulatedPayment): void {
    if ((pay.status === 'NEW' || pay.status === 'FORM_SHOWED') && Date.now() >= pay.redirectDueAt) {
      pay.status = 'DEADLINE_EXPIRED';
      this.notify(pay, { Success: false, ErrorCode: '0', Amount: pay.amount });
    }
  }

  /** Runs a refund or reversal now, or after refundDelayMs with the *-ING status meanwhile. */
  private later(pay: EmulatedPayment, interim: 'REVERSING' | 'REFUNDING', apply: () => void): PaymentStatus {
    if (this.knobs.refundDelayMs <= 0) {
      apply();
      return pay.status;
    }
    const before = pay.status;
    pay.status = interim;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      pay.status = before;
      apply();
    }, this.knobs.refundDelayMs);
    timer.unref();
    this.timers.add(timer);
    return interim;
  }

  private release(pay: EmulatedPayment, amount: number): void {
    pay.held -= amount;
    pay.status = pay.held === 0 ? 'REVERSED' : 'PARTIAL_REVERSED';
    this.notify(pay, { Success: true, ErrorCode: '0', Amount: amount });
  }

  private refundNow(pay: EmulatedPayment, amount: number): void {
    pay.refunded += amount;
    pay.status = pay.refunded >= pay.taken ? 'REFUNDED' : 'PARTIAL_REFUNDED';
    this.registry.add(pay.terminalKey, this.registryFields(pay, 'Credit', amount), Date.now(), this.knobs.operationsDelayMs);
    this.notify(pay, { Success: true, ErrorCode: '0', Amount: amount });
  }

  private take(pay: EmulatedPayment, amount: number, at = Date.now(), notify = true): void {
    pay.held = 0;
    pay.taken = amount;
    pay.status = 'CONFIRMED';
    this.registry.add(pay.terminalKey, this.registryFields(pay, 'Debit', amount), at, this.knobs.operationsDelayMs);
    if (notify) this.notify(pay, { Success: true, ErrorCode: '0', Amount: amount });
  }

  private reject(pay: EmulatedPayment, errorCode: string): void {
    pay.status = 'REJECTED';
    pay.errorCode = errorCode;
    this.notify(pay, { Success: false, ErrorCode: errorCode, Amount: pay.amount });
  }

  private registryFields(pay: EmulatedPayment, type: 'Debit' | 'Credit', amount: number) {
    return {
      paymentId: pay.paymentId,
      orderId: pay.orderId,
      type,
      paymentMethod: pay.method === 'sbp' ? 'SBP' : 'CARD',
      amount,
      cardNumber: pay.method === 'sbp' ? null : '220070******1234',
      payerBank: pay.payerBank,
      description: pay.description,
    };
  }

  // ------------------------------------------------------------------ the payer's side

  /**
   * The customer pays (or is declined) on the form or in the bank app. A card is held and then, for a
   * one-stage payment, taken at once; either way AUTHORIZED is notified first. СБП is always one-stage.
   */
  complete(paymentId: string, outcome: 'paid' | 'declined', opts: { payerBank?: string } = {}): EmulatedPayment {
    const pay = this.payments.get(paymentId);
    if (!pay) throw new Error(`no payment ${paymentId}`);
    this.expireIfDue(pay);
    if (pay.status !== 'NEW' && pay.status !== 'FORM_SHOWED') return pay; // final, or paid already: the form shows it
    pay.method = pay.qr ? 'sbp' : 'card';
    if (outcome === 'declined') {
      if (pay.method === 'sbp') {
        pay.failedAttempts++;
        pay.status = 'FORM_SHOWED';
        if (pay.failedAttempts >= this.knobs.sbpAttemptsBeforeReject) this.reject(pay, '5060');
      } else this.reject(pay, '1051');
      return pay;
    }
    pay.payerBank = opts.payerBank ?? (pay.method === 'sbp' ? 'Сбербанк' : 'Т-Банк');
    pay.status = 'AUTHORIZED';
    pay.held = pay.amount;
    this.notify(pay, { Success: true, ErrorCode: '0', Amount: pay.amount });
    if (!pay.twoStage || pay.method === 'sbp') this.take(pay, pay.amount);
    return pay;
  }

  /**
   * A payment made through another channel (a QR at the front desk, the bank's own link): it is in
   * the registry, taken, but the gateway never called Init for it and no notification reaches it.
   */
  createExternal(input: {
    terminalKey?: string;
    amount: number;
    method: 'card' | 'sbp';
    orderId?: string;
    description?: string;
    payerBank?: string;
    at?: Date | string;
  }): EmulatedPayment {
    const t = input.terminalKey ? this.terminals.find((x) => x.terminalKey === input.terminalKey) : this.terminals[0];
    if (!t) throw new Error(`no terminal ${input.terminalKey}`);
    const at = input.at ? new Date(input.at).getTime() : Date.now();
    const pay = this.newPayment(t, {
      orderId: input.orderId ?? null,
      amount: input.amount,
      description: input.description ?? null,
      twoStage: false,
      data: {},
      notificationUrl: null,
      successUrl: null,
      failUrl: null,
      redirectDueAt: at,
    });
    pay.external = true;
    pay.method = input.method;
    pay.payerBank = input.payerBank ?? null;
    pay.createdAt = at;
    this.take(pay, input.amount, at, false);
    return pay;
  }

  private form(ctx: Context, code: string): void {
    const pay = this.payments.get(this.byForm.get(code) ?? '');
    ctx.type = 'text/html; charset=utf-8';
    if (!pay) {
      ctx.status = 404;
      ctx.body = notFoundPage();
      return;
    }
    this.expireIfDue(pay);
    if (pay.status === 'DEADLINE_EXPIRED') ctx.body = expiredPage(pay);
    else if (pay.status !== 'NEW' && pay.status !== 'FORM_SHOWED') ctx.body = processedPage(pay);
    else {
      pay.status = 'FORM_SHOWED';
      ctx.body = payPage(pay);
    }
  }

  private async formSubmit(ctx: Context, code: string): Promise<void> {
    const pay = this.payments.get(this.byForm.get(code) ?? '');
    if (!pay) {
      ctx.status = 404;
      return;
    }
    const form = new URLSearchParams((await getRawBody(ctx.req)).toString('utf8'));
    this.complete(pay.paymentId, form.get('outcome') === 'declined' ? 'declined' : 'paid');
    ctx.type = 'text/html; charset=utf-8';
    if (pay.status === 'FORM_SHOWED') {
      // a failed СБП attempt: the payment can still be paid
      ctx.body = payPage(pay, true);
      return;
    }
    if (pay.status === 'DEADLINE_EXPIRED') {
      ctx.body = expiredPage(pay);
      return;
    }
    const paid = pay.status === 'AUTHORIZED' || pay.status === 'CONFIRMED';
    const back = returnUrl(pay, paid);
    if (back) ctx.redirect(back);
    else ctx.body = resultPage(paid);
  }

  // ------------------------------------------------------------------ notifications

  /** The notification of the payment's current status, signed as the bank signs it. */
  notificationBody(pay: EmulatedPayment, f: { Success: boolean; ErrorCode: string; Amount: number }): TbankNotification {
    const t = this.terminals.find((x) => x.terminalKey === pay.terminalKey)!;
    const body: Omit<TbankNotification, 'Token'> = {
      TerminalKey: pay.terminalKey,
      OrderId: pay.orderId ?? '',
      Success: f.Success,
      Status: pay.status,
      PaymentId: Number(pay.paymentId),
      ErrorCode: f.ErrorCode,
      Amount: f.Amount,
      ...(pay.method === 'sbp'
        ? { Pan: '+7 (916) ***-**-21' }
        : pay.method === 'card'
          ? { CardId: 322264, Pan: '220070******1234', ExpDate: '1230' }
          : {}),
      Data: { ...pay.data, Source: pay.method === 'sbp' ? 'sbp' : 'cards' },
    };
    return { ...body, Token: tbankToken({ ...body }, this.knobs.forgeToken ? `${t.password}-forged` : t.password) };
  }

  private notify(pay: EmulatedPayment, f: { Success: boolean; ErrorCode: string; Amount: number }): void {
    if (!pay.notificationUrl || pay.external) return;
    this.notifier.send(pay.notificationUrl, { ...this.notificationBody(pay, f) });
  }
}

/** GetState's Amount: what the payment is for, or, once money went back, what is left of it. */
function reportedAmount(p: EmulatedPayment): number {
  switch (p.status) {
    case 'AUTHORIZED':
    case 'PARTIAL_REVERSED':
    case 'REVERSING':
    case 'REVERSED':
      return p.held;
    case 'CONFIRMED':
    case 'REFUNDING':
    case 'PARTIAL_REFUNDED':
    case 'REFUNDED':
      return p.taken - p.refunded;
    default:
      return p.amount;
  }
}

function ok(fields: Answer): Answer {
  return { Success: true, ErrorCode: '0', ...fields };
}

function error(code: string, message: string, details?: string): Answer {
  return { Success: false, ErrorCode: code, Message: message, Details: details ?? message };
}

function notFound(p: Params): Answer {
  return error('255', 'Платеж не найден', `PaymentId ${p.__raw.get('PaymentId') ?? ''} не найден`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
