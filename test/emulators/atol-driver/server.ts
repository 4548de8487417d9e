import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '@koa/router';
import Koa, { type Context } from 'koa';
import getRawBody from 'raw-body';

/**
 * An emulator of the ATOL driver's web server (ДТО 10, /api/v2/requests) with one device behind
 * it. Tasks are queued under the caller's uuid (409 for a uuid seen before: nothing runs twice)
 * and run one at a time; results are read back by uuid. The device keeps a shift (24 h at most:
 * then receipts fail with 68 until it is closed and opened again; a closed shift refuses receipts
 * with 73), paper (44 when out), its fiscal storage's warnings, and can lose its connection (2).
 */

export interface DriverKnobs {
  /** How long each task takes. */
  taskMs: number;
  paperPresent: boolean;
  coverOpened: boolean;
  /** The device does not answer the web server: every task ends in error 2. */
  offline: boolean;
  /** The web server itself answers 503. */
  down: boolean;
  fnWarnings: {
    memoryOverflow: boolean;
    needReplacement: boolean;
    ofdTimeout: boolean;
    resourceExhausted: boolean;
    criticalError: boolean;
  };
}

export const DEFAULT_DRIVER_KNOBS: DriverKnobs = {
  taskMs: 10,
  paperPresent: true,
  coverOpened: false,
  offline: false,
  down: false,
  fnWarnings: { memoryOverflow: false, needReplacement: false, ofdTimeout: false, resourceExhausted: false, criticalError: false },
};

interface Result {
  status: 'wait' | 'inProgress' | 'ready' | 'error';
  error?: { code: number; description: string };
  result?: unknown;
}

interface Request {
  uuid: string;
  tasks: any[];
  results: Result[];
}

export interface PrintedReceipt {
  uuid: string;
  type: string;
  task: any;
  fiscalParams: Record<string, unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RECEIPTS = new Set(['sell', 'sellReturn', 'sellCorrection', 'sellReturnCorrection', 'buy', 'buyReturn']);
const METHODS = new Set(['fullPrepayment', 'prepayment', 'advance', 'fullPayment', 'partialPayment', 'credit', 'creditPayment']);
const TAXES = new Set(['none', 'vat0', 'vat5', 'vat7', 'vat10', 'vat20', 'vat22', 'vat105', 'vat107', 'vat110', 'vat120', 'vat122']);
const PAYMENTS = new Set(['cash', 'electronically', 'prepaid', 'credit', 'other']);
const SHIFT_MS = 24 * 3600_000;
const cents = (v: unknown) => Math.round(Number(v) * 100);

export class AtolDriverEmulator {
  knobs: DriverKnobs;
  readonly requests = new Map<string, Request>();
  readonly printed: PrintedReceipt[] = [];
  /** Every POST per uuid, 409s included. */
  readonly posts = new Map<string, number>();
  shift: { state: 'closed' | 'opened'; number: number; openedAt: number } = { state: 'closed', number: 0, openedAt: 0 };
  private queue: Request[] = [];
  private running = false;
  private fd = 500;
  private server: Server | null = null;
  url = '';

  constructor(knobs: Partial<Omit<DriverKnobs, 'fnWarnings'>> & { fnWarnings?: Partial<DriverKnobs['fnWarnings']> } = {}) {
    this.knobs = { ...DEFAULT_DRIVER_KNOBS, ...knobs, fnWarnings: { ...DEFAULT_DRIVER_KNOBS.fnWarnings, ...knobs.fnWarnings } };
  }

  /** The open shift is past 24 h (as the next morning after a forgotten Z-report). */
  expireShift(): void {
    this.shift = { state: 'opened', number: this.shift.number || 1, openedAt: Date.now() - SHIFT_MS - 60_000 };
  }

  setKnobs(k: Partial<Omit<DriverKnobs, 'fnWarnings'>> & { fnWarnings?: Partial<DriverKnobs['fnWarnings']>; expireShift?: boolean }): void {
    const { expireShift, fnWarnings, ...rest } = k;
    Object.assign(this.knobs, rest);
    if (fnWarnings) Object.assign(this.knobs.fnWarnings, fnWarnings);
    if (expireShift) this.expireShift();
  }

  /** Receipts printed (registered in the fiscal storage) under a task uuid. */
  registrations(uuid: string): number {
    return this.printed.filter((p) => p.uuid === uuid).length;
  }

  private shiftState(): 'closed' | 'opened' | 'expired' {
    if (this.shift.state === 'closed') return 'closed';
    return Date.now() - this.shift.openedAt > SHIFT_MS ? 'expired' : 'opened';
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    router.post('/api/v2/requests', (ctx) => this.submit(ctx));
    router.get('/api/v2/requests/:uuid', (ctx) => this.result(ctx));
    app.use(async (ctx, next) => {
      if (this.knobs.down) {
        ctx.status = 503;
        ctx.body = 'Service Unavailable';
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

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s)
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
  }

  snapshot() {
    return {
      shift: { ...this.shift, state: this.shiftState() },
      knobs: this.knobs,
      printed: this.printed.map((p) => ({
        uuid: p.uuid,
        type: p.type,
        total: p.task.total,
        items: p.task.items,
        payments: p.task.payments,
        fiscalParams: p.fiscalParams,
      })),
    };
  }

  private async submit(ctx: Context): Promise<void> {
    let body: any;
    try {
      body = JSON.parse((await getRawBody(ctx.req)).toString('utf8'));
    } catch {
      ctx.status = 400;
      ctx.body = { error: { code: 400, description: 'Некорректный JSON' } };
      return;
    }
    const uuid = String(body?.uuid ?? '');
    this.posts.set(uuid, (this.posts.get(uuid) ?? 0) + 1);
    if (!UUID.test(uuid) || !Array.isArray(body.request) || body.request.length === 0) {
      ctx.status = 400;
      ctx.body = { error: { code: 400, description: 'Нужны uuid и непустой массив request' } };
      return;
    }
    if (this.requests.has(uuid)) {
      ctx.status = 409;
      ctx.body = { error: { code: 409, description: `Задание с uuid ${uuid} уже существует` } };
      return;
    }
    const req: Request = { uuid, tasks: body.request, results: body.request.map(() => ({ status: 'wait' as const })) };
    this.requests.set(uuid, req);
    this.queue.push(req);
    void this.drain();
    ctx.status = 201;
    ctx.body = { uuid, number: this.requests.size };
  }

  private result(ctx: Context & { params: Record<string, string> }): void {
    const req = this.requests.get(ctx.params.uuid);
    if (!req) {
      ctx.status = 404;
      ctx.body = { error: { code: 404, description: 'Задание не найдено' } };
      return;
    }
    ctx.body = { results: req.results };
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length) {
        const req = this.queue.shift()!;
        for (let i = 0; i < req.tasks.length; i++) {
          req.results[i] = { status: 'inProgress' };
          await new Promise((r) => setTimeout(r, this.knobs.taskMs));
          req.results[i] = this.run(req.uuid, req.tasks[i]);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private fiscalParams(extra: Record<string, unknown> = {}) {
    this.fd++;
    return {
      fiscalDocumentDateTime: new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00'),
      fiscalDocumentNumber: this.fd,
      fiscalDocumentSign: String(1_000_000_000 + Math.floor(Math.random() * 999_999_999)),
      fnNumber: '9999078900012345',
      registrationNumber: '0000000002011234',
      shiftNumber: this.shift.number,
      fnsUrl: 'www.nalog.gov.ru',
      ...extra,
    };
  }

  private run(uuid: string, task: any): Result {
    const fail = (code: number, description: string): Result => ({ status: 'error', error: { code, description } });
    if (this.knobs.offline) return fail(2, 'Нет связи');
    const state = this.shiftState();
    switch (task?.type) {
      case 'getShiftStatus':
        return {
          status: 'ready',
          result: {
            shiftStatus: {
              state,
              number: this.shift.number,
              expiredTime: new Date(this.shift.openedAt + SHIFT_MS).toISOString(),
              documentsCount: 0,
            },
          },
        };
      case 'getDeviceStatus':
        return {
          status: 'ready',
          result: {
            deviceStatus: {
              shift: state,
              blocked: false,
              coverOpened: this.knobs.coverOpened,
              paperPresent: this.knobs.paperPresent,
              fiscal: true,
              fnFiscal: true,
              fnPresent: true,
              cashDrawerOpened: false,
              currentDateTime: new Date().toISOString(),
            },
          },
        };
      case 'getFnStatus':
        return {
          status: 'ready',
          result: {
            fnStatus: { fiscalDocumentNumber: this.fd, fiscalReceiptNumber: this.printed.length, warnings: { ...this.knobs.fnWarnings } },
          },
        };
      case 'openShift':
        if (state === 'opened') return fail(83, 'Смена открыта – операция невозможна');
        if (state === 'expired') return fail(68, 'Смена превысила 24 часа');
        this.shift = { state: 'opened', number: this.shift.number + 1, openedAt: Date.now() };
        return { status: 'ready', result: { fiscalParams: this.fiscalParams() } };
      case 'closeShift':
        if (state === 'closed') return fail(73, 'Смена закрыта – операция невозможна');
        this.shift = { ...this.shift, state: 'closed' };
        return { status: 'ready', result: { fiscalParams: this.fiscalParams() } };
      default:
        if (!RECEIPTS.has(task?.type)) return fail(48, `Неверный тип задания ${String(task?.type)}`);
    }
    if (!this.knobs.paperPresent) return fail(44, 'Нет бумаги');
    if (this.knobs.coverOpened) return fail(45, 'Открыта крышка');
    if (state === 'closed') return fail(73, 'Смена закрыта – операция невозможна');
    if (state === 'expired') return fail(68, 'Смена превысила 24 часа');
    const invalid = validateTask(task);
    if (invalid) return fail(invalid.code, invalid.description);
    const fiscalParams = this.fiscalParams({ fiscalReceiptNumber: this.printed.length + 1, total: task.total });
    this.printed.push({ uuid, type: task.type, task, fiscalParams });
    return { status: 'ready', result: { fiscalParams, warnings: null } };
  }
}

function validateTask(t: any): { code: number; description: string } | null {
  if (t.electronically && !t.clientInfo?.emailOrPhone)
    return { code: 161, description: 'Не передан обязательный реквизит 1008 (адрес покупателя)' };
  if (!Array.isArray(t.items) || t.items.length === 0) return { code: 205, description: 'Нет позиций в чеке' };
  let sum = 0;
  for (const it of t.items) {
    if (it.type !== 'position') continue;
    if (typeof it.name !== 'string' || !it.name || it.name.length > 128)
      return { code: 215, description: 'Некорректное наименование предмета расчёта (тег 1030)' };
    if (!METHODS.has(it.paymentMethod)) return { code: 216, description: 'Некорректный признак способа расчёта (тег 1214)' };
    if (typeof it.paymentObject !== 'string') return { code: 217, description: 'Некорректный признак предмета расчёта (тег 1212)' };
    if (!TAXES.has(it.tax?.type)) return { code: 144, description: 'Некорректный тип налога' };
    if (Math.round(cents(it.price) * it.quantity) !== cents(it.amount))
      return { code: 227, description: 'Сумма позиции не равна цене, умноженной на количество' };
    if (!Number.isInteger(it.measurementUnit)) return { code: 49, description: 'Неверная единица измерения (тег 2108)' };
    sum += cents(it.amount);
  }
  if (cents(t.total) !== sum) return { code: 227, description: 'Итог чека не равен сумме позиций' };
  let paid = 0;
  for (const p of t.payments ?? []) {
    if (!PAYMENTS.has(p.type)) return { code: 60, description: 'Неверный вид оплаты' };
    paid += cents(p.sum);
  }
  if (paid < sum) return { code: 66, description: 'Чек оплачен не полностью' };
  return null;
}
