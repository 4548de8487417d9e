import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '@koa/router';
import Koa, { type Context } from 'koa';
import getRawBody from 'raw-body';

/**
 * An emulator of ATOL Online v5 (ФФД 1.2): getToken, sell / sell_refund / corrections, report,
 * callbacks. Faithful to ATOL's behaviour: a token lasts 24 h and an expired one is code 11 (401);
 * external_id is unique per group — a second document with it is code 33 carrying the first uuid;
 * validation is strict (code 32: v5 integer payment_object and measure, sum = price × quantity,
 * payments = total, a client contact, 22 % codes only from 2026-01-05); a report is `wait` with
 * code 34 until the device is done. Knobs make it slow, failing, down or forgetful of tokens; it
 * counts every registration per external_id, and report requests closer than 1 s per group.
 */

export interface AtolAccount {
  login: string;
  password: string;
  groupCode: string;
}

export interface AtolKnobs {
  /** wait → done after this long. */
  processingMs: number;
  /** The next N documents end in fail (the device refused them). */
  failNext: number;
  failCode: number;
  failText: string;
  /** off: no callbacks are sent. */
  callbacks: 'on' | 'off';
  callbackDelayMs: number;
  /** Answers 503 (an HTML page) to everything. */
  down: boolean;
  /** getToken refuses the credentials. */
  tokenRefused: boolean;
  /** The answer to sell (and the like) leaves this late; the document is registered at once. */
  answerDelayMs: number;
  /** The next N documents are refused with code 32. */
  rejectNext: number;
}

export const DEFAULT_ATOL_KNOBS: AtolKnobs = {
  processingMs: 50,
  failNext: 0,
  failCode: 1,
  failText: 'Ошибка ККТ: нет связи с фискальным накопителем',
  callbacks: 'on',
  callbackDelayMs: 0,
  down: false,
  tokenRefused: false,
  answerDelayMs: 0,
  rejectNext: 0,
};

export interface AtolDocument {
  uuid: string;
  externalId: string;
  groupCode: string;
  operation: string;
  body: any;
  status: 'wait' | 'done' | 'fail';
  error: { code: number; text: string; type: string } | null;
  payload: Record<string, unknown> | null;
  callbackUrl?: string;
  acceptedAt: number;
  doneAt?: number;
}

const OPERATIONS = new Set([
  'sell',
  'sell_refund',
  'sell_correction',
  'buy',
  'buy_refund',
  'buy_correction',
  'sell_refund_correction',
  'buy_refund_correction',
]);
const METHODS = new Set(['full_prepayment', 'prepayment', 'advance', 'full_payment', 'partial_payment', 'credit', 'credit_payment']);
const VATS = new Set(['none', 'vat0', 'vat5', 'vat7', 'vat10', 'vat20', 'vat22', 'vat105', 'vat107', 'vat110', 'vat120', 'vat122']);
const SNO = new Set(['osn', 'usn_income', 'usn_income_outcome', 'esn', 'patent']);
const TIMESTAMP = /^(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})$/;
const TOKEN_TTL_MS = 24 * 3600_000;

const cents = (v: unknown) => Math.round(Number(v) * 100);
const twoDecimals = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && Math.abs(v * 100 - Math.round(v * 100)) < 1e-6;

function moscowStamp(ms: number): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Moscow',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  );
  return `${p.day}.${p.month}.${p.year} ${p.hour}:${p.minute}:${p.second}`;
}

export class AtolOnlineEmulator {
  knobs: AtolKnobs;
  readonly documents = new Map<string, AtolDocument>();
  private readonly byExternal = new Map<string, string>();
  private readonly tokens = new Map<string, { login: string; issuedAt: number }>();
  /** Every POST of a document per external_id (registered or answered 33). */
  readonly posts = new Map<string, number>();
  readonly stats = {
    getToken: 0,
    documents: 0,
    reports: 0,
    callbacks: 0,
    reportRateViolations: 0,
    duplicates: 0,
    rejected: 0,
    expiredTokenAnswers: 0,
  };
  readonly callbackLog: { url: string; status: number | null; body: unknown }[] = [];
  /** When each authorized report request arrived, per group. */
  readonly reportLog: { groupCode: string; at: number }[] = [];
  private readonly lastReport = new Map<string, number>();
  private timers = new Set<NodeJS.Timeout>();
  private server: Server | null = null;
  private fd = 1000;
  private shift = 1;
  url = '';

  constructor(
    readonly accounts: AtolAccount[],
    knobs: Partial<AtolKnobs> = {},
  ) {
    this.knobs = { ...DEFAULT_ATOL_KNOBS, ...knobs };
  }

  /** What the gateway is configured with. */
  get baseUrl(): string {
    return `${this.url}/possystem/v5/`;
  }

  /** Documents registered (done) with this external_id: exactly-once tests assert 1. */
  registrations(externalId: string): number {
    return [...this.documents.values()].filter((d) => d.externalId === externalId && d.status === 'done').length;
  }

  /** The tokens issued so far (a test checks none reaches a log line). */
  issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }

  /** Every token issued so far is expired from now on (as after 24 h). */
  expireTokens(): void {
    for (const t of this.tokens.values()) t.issuedAt = 0;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    router.post('/possystem/v5/getToken', (ctx) => this.getToken(ctx));
    router.get('/possystem/v5/:group/report/:uuid', (ctx) => this.report(ctx));
    router.post('/possystem/v5/:group/:operation', (ctx) => this.operation(ctx));
    router.get('/__emulator/documents', (ctx) => {
      ctx.body = [...this.documents.values()];
    });
    router.get('/__emulator/knobs', (ctx) => {
      ctx.body = this.knobs;
    });
    router.post('/__emulator/knobs', async (ctx) => {
      this.setKnobs(JSON.parse((await getRawBody(ctx.req)).toString() || '{}'));
      ctx.body = this.knobs;
    });
    app.use(async (ctx, next) => {
      if (this.knobs.down && ctx.path.startsWith('/possystem/')) {
        ctx.status = 503;
        ctx.type = 'text/html';
        ctx.body = '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>';
        return;
      }
      await next();
    });
    app.use(router.routes());
    this.server = await new Promise<Server>((resolve) => {
      const s = app.listen(port, host, () => resolve(s));
    });
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  setKnobs(k: Partial<AtolKnobs> & { expireTokens?: boolean }): void {
    const { expireTokens, ...rest } = k;
    Object.assign(this.knobs, rest);
    if (expireTokens) this.expireTokens();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const s = this.server;
    this.server = null;
    if (s)
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
  }

  /** What the register holds, for GET /sandbox/fiscal. */
  snapshot() {
    return [...this.documents.values()].map((d) => ({
      uuid: d.uuid,
      externalId: d.externalId,
      groupCode: d.groupCode,
      operation: d.operation,
      status: d.status,
      total: d.body?.receipt?.total ?? d.body?.correction?.total,
      items: (d.body?.receipt ?? d.body?.correction)?.items,
      payments: (d.body?.receipt ?? d.body?.correction)?.payments,
      payload: d.payload,
      error: d.error,
    }));
  }

  // ------------------------------------------------------------------ API

  private now(): string {
    return moscowStamp(Date.now());
  }

  private error(ctx: Context, status: number, code: number, text: string, extra: Record<string, unknown> = {}): void {
    ctx.status = status;
    ctx.type = 'application/json';
    ctx.body = { ...extra, error: { error_id: randomUUID(), code, text, type: 'system' }, timestamp: this.now() };
  }

  private async json(ctx: Context): Promise<any> {
    try {
      return JSON.parse((await getRawBody(ctx.req)).toString('utf8'));
    } catch {
      return undefined;
    }
  }

  private async getToken(ctx: Context): Promise<void> {
    this.stats.getToken++;
    const body = await this.json(ctx);
    const account = this.accounts.find((a) => a.login === body?.login && a.password === body?.pass);
    if (!account || this.knobs.tokenRefused) return this.error(ctx, 401, 12, 'Неверный логин или пароль');
    const token = randomBytes(24).toString('hex');
    this.tokens.set(token, { login: account.login, issuedAt: Date.now() });
    ctx.type = 'application/json';
    ctx.body = { error: null, token, timestamp: this.now() };
  }

  /** The account of a request's token; answers the token error itself and returns null. */
  private authorize(ctx: Context & { params: Record<string, string> }): AtolAccount | null {
    const token = ctx.get('token') || String(ctx.query.token ?? '');
    if (!token) return (this.error(ctx, 401, 10, 'Не передан токен доступа'), null);
    const t = this.tokens.get(token);
    if (!t) return (this.error(ctx, 401, 12, 'Токен не существует'), null);
    if (Date.now() - t.issuedAt > TOKEN_TTL_MS) {
      this.stats.expiredTokenAnswers++;
      return (this.error(ctx, 401, 11, 'Срок действия токена истёк'), null);
    }
    const account = this.accounts.find((a) => a.login === t.login)!;
    if (account.groupCode !== ctx.params.group) return (this.error(ctx, 400, 20, 'Код группы не соответствует токену'), null);
    return account;
  }

  private async operation(ctx: Context & { params: Record<string, string> }): Promise<void> {
    const op = ctx.params.operation;
    if (!OPERATIONS.has(op)) return this.error(ctx, 400, 31, `Операция ${op} не поддерживается`);
    const body = await this.json(ctx);
    const account = this.authorize(ctx);
    if (!account) return;
    if (body === undefined) return this.error(ctx, 400, 2, 'Ошибка парсинга JSON');
    const externalId = String(body.external_id ?? '');
    this.posts.set(externalId, (this.posts.get(externalId) ?? 0) + 1);
    const known = this.byExternal.get(`${account.groupCode}|${externalId}`);
    if (known) {
      this.stats.duplicates++;
      return this.error(ctx, 400, 33, 'В системе существует чек с external_id и group_code', { uuid: known, status: 'fail' });
    }
    const invalid =
      this.knobs.rejectNext > 0
        ? (this.knobs.rejectNext--, 'Ошибка валидации: сумма позиции не совпадает с ценой и количеством')
        : validate(op, body);
    if (invalid) {
      this.stats.rejected++;
      return this.error(ctx, 400, 32, invalid);
    }
    const uuid = randomUUID();
    const doc: AtolDocument = {
      uuid,
      externalId,
      groupCode: account.groupCode,
      operation: op,
      body,
      status: 'wait',
      error: null,
      payload: null,
      callbackUrl: body.service?.callback_url,
      acceptedAt: Date.now(),
    };
    // decided at acceptance: "the next N documents" are the next N accepted, whenever each is processed
    const fails = this.knobs.failNext > 0;
    if (fails) this.knobs.failNext--;
    this.documents.set(uuid, doc);
    this.byExternal.set(`${account.groupCode}|${externalId}`, uuid);
    this.stats.documents++;
    this.later(() => this.process(doc, fails), this.knobs.processingMs);
    if (this.knobs.answerDelayMs > 0) await new Promise((r) => setTimeout(r, this.knobs.answerDelayMs));
    ctx.type = 'application/json';
    ctx.body = { uuid, status: 'wait', error: null, timestamp: this.now() };
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private process(doc: AtolDocument, fails: boolean): void {
    if (fails) {
      doc.status = 'fail';
      doc.error = { code: this.knobs.failCode, text: this.knobs.failText, type: 'agent' };
    } else {
      const r = doc.body.receipt ?? doc.body.correction;
      doc.status = 'done';
      doc.payload = {
        fiscal_receipt_number: ++this.fd - 1000,
        shift_number: this.shift,
        receipt_datetime: this.now(),
        total: r.total,
        fn_number: '9999078902004792',
        ecr_registration_number: '0000000001002292',
        fiscal_document_number: this.fd,
        fiscal_document_attribute: 100_000_000 + Math.floor(Math.random() * 899_999_999),
        fns_site: 'www.nalog.gov.ru',
        ofd_inn: '7704211201',
        ofd_receipt_url: `https://consumer.1-ofd.ru/v1?fn=9999078902004792&i=${this.fd}`,
      };
    }
    doc.doneAt = Date.now();
    if (doc.callbackUrl && this.knobs.callbacks === 'on') this.later(() => void this.callback(doc), this.knobs.callbackDelayMs);
  }

  private reportBody(doc: AtolDocument) {
    return {
      uuid: doc.uuid,
      error:
        doc.status === 'wait'
          ? { error_id: randomUUID(), code: 34, text: 'Нет документа, нужно повторить запрос позже', type: 'system' }
          : doc.error,
      status: doc.status,
      payload: doc.payload,
      timestamp: this.now(),
      group_code: doc.groupCode,
      daemon_code: 'prod-agent-1',
      device_code: 'KSR13.11-3-1',
      external_id: doc.externalId,
      callback_url: doc.callbackUrl ?? '',
    };
  }

  private async callback(doc: AtolDocument): Promise<void> {
    this.stats.callbacks++;
    const body = this.reportBody(doc);
    try {
      const r = await fetch(doc.callbackUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      await r.arrayBuffer();
      this.callbackLog.push({ url: doc.callbackUrl!, status: r.status, body });
    } catch {
      this.callbackLog.push({ url: doc.callbackUrl!, status: null, body });
    }
  }

  private report(ctx: Context & { params: Record<string, string> }): void {
    this.stats.reports++;
    const account = this.authorize(ctx);
    if (!account) return;
    const now = Date.now();
    this.reportLog.push({ groupCode: account.groupCode, at: now });
    const last = this.lastReport.get(account.groupCode);
    if (last !== undefined && now - last < 1000) this.stats.reportRateViolations++;
    this.lastReport.set(account.groupCode, now);
    const doc = this.documents.get(ctx.params.uuid);
    if (!doc || doc.groupCode !== account.groupCode) return this.error(ctx, 400, 30, `Не найден документ с uuid ${ctx.params.uuid}`);
    ctx.type = 'application/json';
    ctx.body = this.reportBody(doc);
  }
}

/** ATOL's validation of a document (code 32): the first problem found, in ATOL's words. */
export function validate(op: string, body: any): string | null {
  if (typeof body.external_id !== 'string' || !body.external_id || body.external_id.length > 128)
    return 'external_id: обязательное поле, не более 128 символов';
  const ts = TIMESTAMP.exec(String(body.timestamp ?? ''));
  if (!ts) return 'timestamp: формат dd.mm.yyyy HH:MM:SS';
  if (body.service?.callback_url !== undefined && (typeof body.service.callback_url !== 'string' || body.service.callback_url.length > 256))
    return 'service.callback_url: не более 256 символов';
  const correction = op.endsWith('correction');
  const r = correction ? body.correction : body.receipt;
  if (!r) return correction ? 'correction: обязательный объект' : 'receipt: обязательный объект';
  if (correction) {
    const ci = r.correction_info;
    if (!ci || !['self', 'instruction'].includes(ci.type) || !/^\d{2}\.\d{2}\.\d{4}$/.test(String(ci.base_date ?? '')))
      return 'correction_info: type self|instruction, base_date dd.mm.yyyy';
    if (ci.type === 'instruction' && !ci.base_number) return 'correction_info.base_number: обязателен для предписания';
  }
  const c = r.client ?? {};
  if (!correction && !c.email && !c.phone) return 'client: должен быть передан email или phone (тег 1008)';
  if (c.phone && !/^\+?\d{10,15}$/.test(c.phone)) return 'client.phone: номер телефона в формате +79001234567';
  if (c.inn && !/^(\d{10}|\d{12})$/.test(c.inn)) return 'client.inn: 10 или 12 цифр';
  const co = r.company ?? {};
  if (!/^(\d{10}|\d{12})$/.test(String(co.inn ?? ''))) return 'company.inn: 10 или 12 цифр';
  if (!SNO.has(co.sno)) return 'company.sno: недопустимое значение';
  if (!co.payment_address || String(co.payment_address).length > 256) return 'company.payment_address: обязательное поле';
  if (!Array.isArray(r.items) || r.items.length < 1 || r.items.length > 100) return 'items: от 1 до 100 позиций';
  const day = `${ts[3]}-${ts[2]}-${ts[1]}`;
  let sum = 0;
  for (const [i, it] of (r.items as any[]).entries()) {
    const p = `items[${i}]`;
    if (typeof it.name !== 'string' || !it.name || it.name.length > 128) return `${p}.name: обязательное поле, не более 128 символов`;
    if (!twoDecimals(it.price) || it.price < 0 || it.price > 42949672.95)
      return `${p}.price: не более 2 знаков после запятой, не более 42949672.95`;
    if (
      typeof it.quantity !== 'number' ||
      it.quantity <= 0 ||
      it.quantity > 99999.999 ||
      Math.abs(it.quantity * 1000 - Math.round(it.quantity * 1000)) > 1e-6
    )
      return `${p}.quantity: от 0.001 до 99999.999`;
    if (!twoDecimals(it.sum)) return `${p}.sum: не более 2 знаков после запятой`;
    const expected = Math.round(cents(it.price) * it.quantity);
    if (cents(it.sum) !== expected) return `${p}.sum: ${it.sum} не равна price × quantity (${(expected / 100).toFixed(2)})`;
    if (!Number.isInteger(it.measure) || it.measure < 0 || it.measure > 255) return `${p}.measure: целое число (тег 2108)`;
    if (!METHODS.has(it.payment_method)) return `${p}.payment_method: недопустимое значение`;
    if (!Number.isInteger(it.payment_object) || it.payment_object < 1 || it.payment_object > 33)
      return `${p}.payment_object: целое число от 1 до 33 (ФФД 1.2)`;
    if (!it.vat || !VATS.has(it.vat.type)) return `${p}.vat.type: недопустимое значение`;
    if ((it.vat.type === 'vat22' || it.vat.type === 'vat122') && day < '2026-01-05')
      return `${p}.vat.type: ставка ${it.vat.type} применяется с 05.01.2026`;
    if (it.vat.sum !== undefined && !twoDecimals(it.vat.sum)) return `${p}.vat.sum: не более 2 знаков после запятой`;
    sum += cents(it.sum);
  }
  if (!Array.isArray(r.payments) || r.payments.length < 1 || r.payments.length > 10) return 'payments: от 1 до 10 оплат';
  let paid = 0;
  for (const [i, pm] of (r.payments as any[]).entries()) {
    if (!Number.isInteger(pm.type) || pm.type < 0 || pm.type > 9) return `payments[${i}].type: целое число 0–9`;
    if (!twoDecimals(pm.sum) || pm.sum <= 0) return `payments[${i}].sum: больше нуля, не более 2 знаков после запятой`;
    paid += cents(pm.sum);
  }
  if (!twoDecimals(r.total) || cents(r.total) !== sum) return `total: ${r.total} не равен сумме позиций (${(sum / 100).toFixed(2)})`;
  if (paid !== cents(r.total)) return `payments: сумма оплат ${(paid / 100).toFixed(2)} не равна итогу ${r.total}`;
  return null;
}
