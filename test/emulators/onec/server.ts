import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import getRawBody from 'raw-body';
import { handleHttpService, markerValue, PaymentService, type ServiceRefs } from './http-service';
import { EMPTY_REF, type Configuration } from './metadata';
import { handleOData, type ODataHost } from './odata';
import { GatewaySoapService } from './soap-service';
import { Store, type Obj } from './store';

/**
 * An emulator of a 1C:Enterprise 8.3 infobase (УТ 11.5, an older УТ 11 release, УНФ) as seen over
 * HTTP: the standard OData interface with the platform's quirks (HTML 200 on a wrong password, Atom
 * without $format=json, unknown fields ignored, long strings cut, PATCH replacing tabular sections,
 * If-Match ignored, unexplained 500s, fill checks only on posting), a "gateway" HTTP service and a
 * SOAP web service recording payments. Knobs make it slow, flaky, locked or down.
 */

export type { Configuration } from './metadata';
export { EMPTY_DATE, EMPTY_REF } from './metadata';
export { markerValue } from './http-service';
export { LOCK_CONFLICT_TEXT } from './odata';

export interface OneCUser {
  name: string;
  password: string;
  /** Every write answers 403 with odata.error code 20. */
  readOnly?: boolean;
}

export interface OneCKnobs {
  /** Every request waits this long first (counted as in flight meanwhile). */
  latencyMs: number;
  /** Share of requests answered 503 with an HTML "Service Unavailable" page, before anything happens. */
  failRate: number;
  /** Share of writes answered 500 odata.error -1 "Конфликт блокировок..." (nothing written). */
  lockConflictRate: number;
  /** The publication is down: see downMode. */
  down: boolean;
  /** Down until this epoch ms. */
  downUntil?: number;
  /** '503': an HTML 503 page (IIS/Apache in front of a stopped 1C); 'reset': the socket is destroyed. */
  downMode: '503' | 'reset';
  /** Posting documents of this entity set fails with this business-logic text (HTTP 500 code -1). */
  rejectPosting?: { entity: string; message: string } | null;
  /** Wrong or missing credentials on OData and HTTP services: an HTML login page with 200, or 401. */
  authFailure: 'html200' | '401';
  /** Entity sets every user is denied writes to (403, code 20). */
  denyWrites: string[];
}

export const DEFAULT_KNOBS: OneCKnobs = {
  latencyMs: 0,
  failRate: 0,
  lockConflictRate: 0,
  down: false,
  downMode: '503',
  rejectPosting: null,
  authFailure: 'html200',
  denyWrites: [],
};

export interface OneCEmulatorOptions {
  configuration: Configuration;
  /** Publication path: '/ut' for ut11*, '/unf' for unf. */
  basePath?: string;
  users?: OneCUser[];
  /** Entity sets in the standard OData interface's composition (default: all of the configuration). */
  published?: string[];
  knobs?: Partial<OneCKnobs>;
}

export interface OneCRefs extends ServiceRefs {
  partner: string;
  counterparty: string;
  items: string[];
  vatRate: string;
}

export interface SeedOrder {
  number: string;
  /** rubles */
  total: number;
  date?: string;
  organizationRef?: string;
  partnerRef?: string;
  counterpartyRef?: string;
  contractRef?: string;
  rows?: { itemRef?: string; quantity: number; price: number; amount: number }[];
  paymentForm?: string;
  status?: string;
  comment?: string;
  /** default true: a manager's order is posted */
  posted?: boolean;
}

export interface PaymentDocumentInfo {
  entity: string;
  ref: string;
  number: string;
  date: string;
  posted: boolean;
  deletionMark: boolean;
  amount: number;
  marker: string;
  settles: { orderRef: string; orderNumber: string | null } | null;
  operation: string;
}

export interface OneCStats {
  requests: number;
  byMethodAndSet: Record<string, number>;
  maxConcurrent: number;
  inFlight: number;
  writes: number;
}

const HTML_503 =
  '<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your request. Please try again later.</p></body></html>';
const HTML_LOGIN =
  '<!DOCTYPE html><html><head><meta charset="utf-8"><title>1С:Предприятие</title></head><body><form method="post"><h1>Вход в информационную базу</h1><label>Пользователь <input name="login"></label><label>Пароль <input name="password" type="password"></label><button>Войти</button></form></body></html>';

const kop = (v: unknown) => Math.round(Number(v) * 100);

export class OneCEmulator {
  readonly configuration: Configuration;
  readonly basePath: string;
  readonly store: Store;
  readonly refs: OneCRefs;
  readonly users: OneCUser[];
  knobs: OneCKnobs;
  /** http://host:port (no base path) */
  url = '';
  private published: Set<string> | null;
  private readonly payments: PaymentService;
  private soap: GatewaySoapService | null = null;
  private server: Server | null = null;
  private counters = { requests: 0, byMethodAndSet: {} as Record<string, number>, maxConcurrent: 0, inFlight: 0, writes: 0 };

  constructor(opts: OneCEmulatorOptions) {
    this.configuration = opts.configuration;
    this.basePath = (opts.basePath ?? (opts.configuration === 'unf' ? '/unf' : '/ut')).replace(/\/+$/, '');
    this.users = opts.users ?? [{ name: 'Администратор', password: 'secret' }];
    this.published = opts.published ? new Set(opts.published) : null;
    this.knobs = { ...DEFAULT_KNOBS, ...opts.knobs };
    this.store = new Store(opts.configuration);
    this.refs = this.seedCatalogs();
    this.payments = new PaymentService(this.store, this.refs, {
      lockConflict: () => this.lockConflict(),
      rejectPosting: () => this.knobs.rejectPosting,
      countWrite: () => this.counters.writes++,
    });
  }

  /** What the gateway is configured with: http://host:port<basePath> */
  get baseUrl(): string {
    return `${this.url}${this.basePath}`;
  }

  get odataUrl(): string {
    return `${this.baseUrl}/odata/standard.odata/`;
  }

  get wsdlUrl(): string {
    return `${this.baseUrl}/ws/gateway?wsdl`;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    router.get('/__emulator/snapshot', (ctx) => {
      ctx.body = this.snapshot();
    });
    router.get('/__emulator/knobs', (ctx) => {
      ctx.body = this.knobs;
    });
    router.post('/__emulator/knobs', async (ctx) => {
      this.setKnobs(await jsonBody(ctx));
      ctx.body = this.knobs;
    });
    router.post('/__emulator/seed/order', async (ctx) => {
      ctx.status = 201;
      ctx.body = this.seedCustomerOrder((await jsonBody(ctx)) as unknown as SeedOrder);
    });
    router.post('/__emulator/seed/:entitySet', async (ctx) => {
      ctx.status = 201;
      ctx.body = this.seed(ctx.params.entitySet, await jsonBody(ctx));
    });
    router.get('/__emulator/stats', (ctx) => {
      ctx.body = this.stats();
    });
    router.post('/__emulator/stats/reset', (ctx) => {
      this.resetStats();
      ctx.body = this.stats();
    });
    router.get('/__emulator/payments', (ctx) => {
      ctx.body = this.paymentDocuments();
    });
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (e) {
        ctx.status = 500;
        ctx.type = 'text/plain;charset=utf-8';
        ctx.body = `emulator error: ${(e as Error).message}`;
      }
    });
    app.use(router.routes());
    app.use((ctx, next) => this.publication(ctx, next));
    this.server = await new Promise<Server>((resolve) => {
      const s = app.listen(port, host, () => resolve(s));
    });
    this.server.keepAliveTimeout = 65_000;
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    this.soap = new GatewaySoapService(this.payments, `${this.baseUrl}/ws/gateway`);
    await this.soap.init();
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) {
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
  }

  setKnobs(k: Partial<OneCKnobs>): void {
    Object.assign(this.knobs, k);
  }

  stats(): OneCStats {
    return { ...this.counters, byMethodAndSet: { ...this.counters.byMethodAndSet } };
  }

  resetStats(): void {
    this.counters = { requests: 0, byMethodAndSet: {}, maxConcurrent: this.counters.inFlight, inFlight: this.counters.inFlight, writes: 0 };
  }

  // ------------------------------------------------------------------ the publication

  private isDown(): boolean {
    return this.knobs.down || (this.knobs.downUntil !== undefined && Date.now() < this.knobs.downUntil);
  }

  private lockConflict(): boolean {
    return this.knobs.lockConflictRate > 0 && Math.random() < this.knobs.lockConflictRate;
  }

  /** Everything under the base path: counters, latency, outages, Basic auth, then the service. */
  private async publication(ctx: Context, next: Next): Promise<void> {
    const base = this.basePath;
    if (ctx.path !== base && !ctx.path.startsWith(`${base}/`)) return next();
    const rest = ctx.path.slice(base.length);
    const c = this.counters;
    c.requests++;
    const key = statKey(ctx.method, rest);
    c.byMethodAndSet[key] = (c.byMethodAndSet[key] ?? 0) + 1;
    c.inFlight++;
    c.maxConcurrent = Math.max(c.maxConcurrent, c.inFlight);
    try {
      // the request is taken in whole before 1C starts on it: a client that goes away mid-answer does not undo the work
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') ctx.state.rawBody = await getRawBody(ctx.req, { limit: '10mb' });
      if (this.knobs.latencyMs > 0) await new Promise((r) => setTimeout(r, this.knobs.latencyMs));
      if (this.isDown() || (this.knobs.failRate > 0 && Math.random() < this.knobs.failRate)) {
        if (this.isDown() && this.knobs.downMode === 'reset') {
          ctx.respond = false;
          ctx.req.socket.destroy();
          return;
        }
        ctx.status = 503;
        ctx.type = 'text/html';
        ctx.body = HTML_503;
        return;
      }
      const soapCall = /^\/ws\/gateway(\.1cws)?\/?$/.test(rest);
      const user = this.authenticate(ctx.get('authorization'));
      if (!user) return this.denyAuth(ctx, soapCall);
      const odata = /^\/odata\/standard\.odata(\/.*)?$/.exec(rest);
      if (odata) {
        let resource: string;
        try {
          resource = decodeURIComponent((odata[1] ?? '/').slice(1));
        } catch {
          ctx.status = 400;
          return;
        }
        return await handleOData(ctx, this.odataHost(), resource, user.name);
      }
      if (rest.startsWith('/hs/')) return await handleHttpService(ctx, this.payments, rest.slice(3));
      if (soapCall && this.soap) return await this.soap.handle(ctx);
      ctx.status = 404;
      ctx.type = 'text/html';
      ctx.body = '<html><body><h1>404 Not Found</h1></body></html>';
    } finally {
      c.inFlight--;
    }
  }

  /** Basic auth; the login is decoded as UTF-8 (a Cyrillic login sent in another encoding never matches). */
  private authenticate(header: string): OneCUser | null {
    const m = /^Basic\s+(.+)$/i.exec(header.trim());
    if (!m) return null;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return null;
    const [name, password] = [decoded.slice(0, i), decoded.slice(i + 1)];
    return this.users.find((u) => u.name === name && u.password === password) ?? null;
  }

  private denyAuth(ctx: Context, soapCall: boolean): void {
    if (soapCall || this.knobs.authFailure === '401') {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Basic realm="1C:Enterprise"');
      ctx.type = 'text/plain;charset=utf-8';
      ctx.body = '';
      return;
    }
    ctx.status = 200; // the login page of IIS / 1C in front of the base: status 200, HTML
    ctx.type = 'text/html;charset=utf-8';
    ctx.body = HTML_LOGIN;
  }

  private odataHost(): ODataHost {
    return {
      store: this.store,
      odataUrl: this.odataUrl,
      isPublished: (set) => !this.published || this.published.has(set),
      writeDenied: (user, set) => !!this.users.find((u) => u.name === user)?.readOnly || this.knobs.denyWrites.includes(set),
      lockConflict: () => this.lockConflict(),
      rejectPosting: () => this.knobs.rejectPosting,
      countWrite: () => this.counters.writes++,
    };
  }

  // ------------------------------------------------------------------ seeding and inspection

  /** Stores an object as given (known fields only, strings cut), with Ref_Key, DataVersion, Number... Posted is accepted. */
  seed(entitySet: string, object: Obj): Obj {
    return this.store.create(entitySet, object, true);
  }

  list(entitySet: string): Obj[] {
    return this.store.list(entitySet);
  }

  get(entitySet: string, ref: string): Obj | undefined {
    return this.store.get(entitySet, ref);
  }

  /** A manager's customer order (ЗаказКлиента in УТ, ЗаказПокупателя in УНФ), posted by default. */
  seedCustomerOrder(o: SeedOrder): Obj {
    const p = this.store.profile;
    const rows = (o.rows?.length ? o.rows : [{ quantity: 1, price: o.total, amount: o.total }]).map((r, i) => ({
      LineNumber: i + 1,
      Номенклатура_Key: r.itemRef ?? this.refs.items[i % this.refs.items.length],
      Количество: r.quantity,
      Цена: r.price,
      Сумма: r.amount,
      СтавкаНДС_Key: this.refs.vatRate,
      СуммаНДС: Math.round(((r.amount * 20) / 120) * 100) / 100,
    }));
    const common = {
      Number: o.number,
      ...(o.date ? { Date: o.date } : {}),
      Posted: o.posted ?? true,
      Организация_Key: o.organizationRef ?? this.refs.organization,
      Контрагент_Key: o.counterpartyRef ?? this.refs.counterparty,
      СуммаДокумента: o.total,
      Комментарий: o.comment ?? '',
    };
    if (this.configuration === 'unf') {
      const state = o.status ?? 'В работе';
      const stateRef = [...this.store.scan('Catalog_СостоянияЗаказовПокупателей')].find((s) => s.Description === state)?.Ref_Key;
      if (!stateRef) throw new Error(`no order state "${state}" in Catalog_СостоянияЗаказовПокупателей`);
      return this.seed(p.order.set, {
        ...common,
        Договор_Key: o.contractRef ?? this.refs.contract,
        СостояниеЗаказа: stateRef,
        СостояниеЗаказа_Type: 'StandardODATA.Catalog_СостоянияЗаказовПокупателей',
        ВидОперации: 'ЗаказНаПродажу',
        Запасы: rows.map(({ Номенклатура_Key, ...r }) => ({
          ...r,
          Номенклатура: Номенклатура_Key,
          Номенклатура_Type: 'StandardODATA.Catalog_Номенклатура',
        })),
      });
    }
    return this.seed(p.order.set, {
      ...common,
      Партнер_Key: o.partnerRef ?? this.refs.partner,
      Статус: o.status ?? 'КОбеспечению',
      ФормаОплаты: o.paymentForm ?? 'ПлатежнаяКарта',
      ХозяйственнаяОперация: 'РеализацияКлиенту',
      Товары: rows,
    });
  }

  /** Every payment document, with the order it settles. */
  paymentDocuments(): PaymentDocumentInfo[] {
    const p = this.store.profile;
    const out: PaymentDocumentInfo[] = [];
    for (const set of new Set([p.card, p.bank])) {
      for (const d of this.store.scan(set)) {
        const rows = (d[p.paymentRows] as Obj[]) ?? [];
        const orderRef = rows.map((r) => this.store.orderOfRow(r)).find((r) => r) ?? null;
        out.push({
          entity: set,
          ref: String(d.Ref_Key),
          number: String(d.Number),
          date: String(d.Date),
          posted: d.Posted === true,
          deletionMark: d.DeletionMark === true,
          amount: Number(d.СуммаДокумента),
          marker: String(d[set === p.card ? p.marker.card : p.marker.bank] ?? ''),
          settles: orderRef
            ? { orderRef, orderNumber: (this.store.raw(p.order.set, orderRef)?.Number as string | undefined) ?? null }
            : null,
          operation: String(d[p.operationField] ?? ''),
        });
      }
    }
    return out;
  }

  /**
   * The orders with what is paid on them: the row amounts of posted, not deletion-marked payment
   * documents settling each order (refund operations subtract).
   */
  snapshot(): {
    configuration: Configuration;
    orders: { ref: string; number: string; total: number; status: string; paid: number; posted: boolean; deletionMark: boolean }[];
    payments: PaymentDocumentInfo[];
  } {
    const p = this.store.profile;
    const paid = new Map<string, number>();
    for (const set of new Set([p.card, p.bank])) {
      for (const d of this.store.scan(set)) {
        if (d.Posted !== true || d.DeletionMark === true) continue;
        const sign = d[p.operationField] === p.operations.refund ? -1 : 1;
        for (const r of (d[p.paymentRows] as Obj[]) ?? []) {
          const order = this.store.orderOfRow(r);
          if (order) paid.set(order, (paid.get(order) ?? 0) + sign * kop(r[p.rowAmount]));
        }
      }
    }
    const orders = [...this.store.scan(p.order.set)].map((o) => ({
      ref: String(o.Ref_Key),
      number: String(o.Number),
      total: Number(o.СуммаДокумента),
      status: String(o[p.order.status] ?? ''),
      paid: (paid.get(String(o.Ref_Key)) ?? 0) / 100,
      posted: o.Posted === true,
      deletionMark: o.DeletionMark === true,
    }));
    return { configuration: this.configuration, orders, payments: this.paymentDocuments() };
  }

  /** The gateway's marker as this configuration's marker field of a card (or bank) document stores it. */
  marker(paymentId: string, kind: 'card' | 'bank' = 'card'): string {
    return markerValue(paymentId, this.store.profile.markerLength[kind]);
  }

  private seedCatalogs(): OneCRefs {
    const ref = (set: string, o: Obj) => String(this.seed(set, o).Ref_Key);
    const unf = this.configuration === 'unf';
    // the infobase user the gateway writes as (Catalog_Пользователи is not published: only its ref is known)
    const responsible = '5a1c0e2e-7b3d-4f1a-9c1e-0d6b7e8f9a01';
    const organization = ref('Catalog_Организации', { Description: 'ООО "Ромашка"', ИНН: '7701234560' });
    const vatRate = ref('Catalog_СтавкиНДС', { Description: '20%', Ставка: 20 });
    const currency = ref('Catalog_Валюты', { Description: 'руб.', Code: '643', НаименованиеПолное: 'Российский рубль' });
    const items = [
      ref('Catalog_Номенклатура', { Description: 'Чайник электрический', Артикул: 'KT-100' }),
      ref('Catalog_Номенклатура', { Description: 'Доставка', Артикул: 'DLV' }),
    ];
    const cashFlowItem = ref('Catalog_СтатьиДвиженияДенежныхСредств', { Description: 'Поступление оплаты от клиента' });
    if (unf) {
      const counterparty = ref('Catalog_Контрагенты', { Description: 'Иванов Иван Иванович', ИНН: '500100732259' });
      const bankAccount = ref('Catalog_БанковскиеСчета', {
        Description: '40702810900000000001, ПАО Сбербанк',
        НомерСчета: '40702810900000000001',
        ВалютаДенежныхСредств_Key: currency,
        Owner: organization,
        Owner_Type: 'StandardODATA.Catalog_Организации',
      });
      for (const d of ['Новый', 'В работе', 'Выполнен']) ref('Catalog_СостоянияЗаказовПокупателей', { Description: d });
      return {
        organization,
        // УНФ's card operation names its terminal in Catalog_СпособыОплаты
        acquiringTerminal: ref('Catalog_СпособыОплаты', {
          Description: 'Интернет-эквайринг Сбербанк',
          Организация_Key: organization,
          БанковскийСчетЭквайринг_Key: bankAccount,
        }),
        acquiringContract: EMPTY_REF,
        bankAccount,
        cashFlowItem,
        currency,
        responsible,
        partner: counterparty,
        counterparty,
        contract: ref('Catalog_ДоговорыКонтрагентов', {
          Description: 'Основной договор',
          Owner: counterparty,
          Owner_Type: 'StandardODATA.Catalog_Контрагенты',
          Организация_Key: organization,
        }),
        items,
        vatRate,
      };
    }
    const partner = ref('Catalog_Партнеры', { Description: 'Иванов Иван Иванович' });
    const bankAccount = ref('Catalog_БанковскиеСчетаОрганизаций', {
      Description: '40702810900000000001, ПАО Сбербанк',
      НомерСчета: '40702810900000000001',
      ВалютаДенежныхСредств_Key: currency,
      Owner_Key: organization,
    });
    const acquiringContract = ref('Catalog_ДоговорыЭквайринга', {
      Description: 'Договор эквайринга № 1 с ПАО Сбербанк',
      Организация_Key: organization,
      БанковскийСчет_Key: bankAccount,
      ИспользуютсяЭквайринговыеТерминалы: true,
    });
    return {
      organization,
      acquiringTerminal: ref('Catalog_ЭквайринговыеТерминалы', {
        Description: 'Интернет-эквайринг Сбербанк',
        Owner_Key: acquiringContract,
      }),
      acquiringContract,
      bankAccount,
      cashFlowItem,
      currency,
      responsible,
      partner,
      counterparty: ref('Catalog_Контрагенты', {
        Description: 'Иванов Иван Иванович',
        НаименованиеПолное: 'Иванов Иван Иванович',
        ИНН: '500100732259',
        Партнер_Key: partner,
      }),
      items,
      vatRate,
    };
  }
}

/** `GET Document_ЗаказКлиента`, `POST Document_X/Post`, `GET Document_X/$count`, `POST hs/gateway/payments`, `POST ws/gateway`. */
function statKey(method: string, rest: string): string {
  let path: string;
  try {
    path = decodeURIComponent(rest);
  } catch {
    path = rest;
  }
  const odata = /^\/odata\/standard\.odata\/?(.*)$/.exec(path);
  if (odata) {
    const resource = odata[1].replace(/\([^)]*\)/, '') || '(service)';
    return `${method} ${resource}`;
  }
  if (path.startsWith('/hs/')) return `${method} hs/${path.slice(4).replace(/^(gateway\/payments)\/.+$/, '$1')}`;
  if (path.startsWith('/ws/')) return `${method} ws/${path.slice(4).replace(/\.1cws$/, '')}`;
  return `${method} ${path}`;
}

async function jsonBody(ctx: Context): Promise<Obj> {
  const text = (await getRawBody(ctx.req)).toString('utf8');
  return text.trim() ? (JSON.parse(text) as Obj) : {};
}
