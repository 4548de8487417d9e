import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { EMPTY_REF } from './metadata';
import { LOCK_CONFLICT_TEXT } from './odata';
import { OneCFailure, localDateTime, toOneCDate, type Obj, type Store } from './store';

/**
 * What a 1C developer would write as the configuration's "gateway" HTTP service (and the SOAP web
 * service reuses): record a payment or refund as the matching payment document, settle the order,
 * post it — all or nothing — idempotently by the gateway's paymentId.
 */

export interface PaymentInput {
  paymentId: string;
  kind: 'payment' | 'refund';
  method: 'card' | 'sbp' | 'invoice';
  orderRef?: string;
  orderNumber?: string;
  /** rubles */
  amount: number;
  /** ISO (with a zone: converted to the server's local time) or a 1C datetime */
  date?: string;
  organizationRef?: string;
  comment?: string;
}

export interface PaymentResult {
  created: boolean;
  set: string;
  ref: string;
  number: string;
  posted: boolean;
}

/** A failure of the service: `status` for the HTTP service, the text for both (SOAP Fault). */
export class ServiceFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ServiceRefs {
  organization: string;
  acquiringTerminal: string;
  acquiringContract: string;
  bankAccount: string;
  cashFlowItem: string;
  currency: string;
  /** The infobase user the documents are written by (УТ: Ответственный). */
  responsible: string;
  vatRate: string;
  contract?: string;
}

/**
 * The marker as the document keeps it: the id itself when it fits the field, else the UUID's bytes in
 * base64url (all 16 in 22 characters; the first 15 in 20) — what the gateway's OData sink writes too.
 */
export function markerValue(paymentId: string, maxLength: number): string {
  if (paymentId.length <= maxLength) return paymentId;
  const hex = paymentId.replace(/-/g, '');
  if (/^[0-9a-f]{32}$/i.test(hex) && maxLength >= 16)
    return Buffer.from(hex, 'hex')
      .subarray(0, Math.min(16, Math.floor((maxLength * 3) / 4)))
      .toString('base64url');
  return paymentId.slice(0, maxLength);
}

export class PaymentService {
  /** paymentId → document, besides the marker field (kept for ids that do not fit it). */
  private readonly index = new Map<string, { set: string; ref: string }>();

  constructor(
    private readonly store: Store,
    private readonly refs: ServiceRefs,
    private readonly hooks: {
      lockConflict(): boolean;
      rejectPosting(): { entity: string; message: string } | null | undefined;
      countWrite(): void;
    },
  ) {}

  find(paymentId: string): PaymentResult | null {
    const p = this.store.profile;
    const live = (set: string, o: Obj | undefined) =>
      o && o.DeletionMark !== true
        ? { created: false, set, ref: String(o.Ref_Key), number: String(o.Number), posted: o.Posted === true }
        : null;
    const known = this.index.get(paymentId);
    if (known) {
      const hit = live(known.set, this.store.raw(known.set, known.ref));
      if (hit) return hit;
    }
    for (const kind of ['card', 'bank'] as const) {
      const marker = markerValue(paymentId, p.markerLength[kind]);
      for (const o of this.store.scan(p[kind])) if (o[p.marker[kind]] === marker && o.DeletionMark !== true) return live(p[kind], o);
    }
    return null;
  }

  register(input: PaymentInput): PaymentResult {
    const p = this.store.profile;
    if (!input || typeof input.paymentId !== 'string' || !input.paymentId)
      throw new ServiceFailure(400, 'Не указан идентификатор платежа (paymentId)');
    if (input.kind !== 'payment' && input.kind !== 'refund') throw new ServiceFailure(400, `Неизвестный вид операции "${input.kind}"`);
    if (!['card', 'sbp', 'invoice'].includes(input.method)) throw new ServiceFailure(400, `Неизвестный способ оплаты "${input.method}"`);
    const amount = Math.round(Number(input.amount) * 100) / 100;
    if (!(amount > 0)) throw new ServiceFailure(400, `Неверная сумма "${input.amount}"`);
    const date = input.date ? toOneCDate(String(input.date)) : localDateTime();
    if (!date) throw new ServiceFailure(400, `Неверная дата "${input.date}"`);

    const existing = this.find(input.paymentId);
    if (existing) return existing;

    const order = this.findOrder(input);
    if (!order) throw new ServiceFailure(404, `Заказ ${input.orderNumber || input.orderRef} не найден`);
    if (this.hooks.lockConflict()) throw new ServiceFailure(500, LOCK_CONFLICT_TEXT);

    const set = input.method === 'invoice' ? p.bank : p.card;
    const doc = this.build(set, input, order, amount, date);
    let created: Obj;
    try {
      created = this.store.create(set, doc);
    } catch (e) {
      throw new ServiceFailure(422, e instanceof OneCFailure ? e.message : String(e));
    }
    try {
      this.store.post(set, String(created.Ref_Key), this.hooks.rejectPosting());
    } catch (e) {
      this.store.remove(set, String(created.Ref_Key)); // written and posted in one transaction: nothing stays
      throw new ServiceFailure(422, e instanceof OneCFailure ? e.message : String(e));
    }
    this.index.set(input.paymentId, { set, ref: String(created.Ref_Key) });
    this.hooks.countWrite();
    return { created: true, set, ref: String(created.Ref_Key), number: String(created.Number), posted: true };
  }

  private findOrder(input: PaymentInput): Obj | undefined {
    const set = this.store.profile.order.set;
    if (input.orderRef && input.orderRef !== EMPTY_REF) return this.store.raw(set, input.orderRef);
    if (!input.orderNumber) return undefined;
    for (const o of this.store.scan(set)) if (o.Number === input.orderNumber && o.DeletionMark !== true) return o;
    return undefined;
  }

  private build(set: string, input: PaymentInput, order: Obj, amount: number, date: string): Obj {
    const p = this.store.profile;
    const refund = input.kind === 'refund';
    const card = set === p.card;
    const org = input.organizationRef || (order.Организация_Key !== EMPTY_REF ? order.Организация_Key : this.refs.organization);
    const comment =
      input.comment ?? `${refund ? 'Возврат по заказу' : 'Оплата заказа'} ${order.Number} (HTTP-сервис шлюза, платёж ${input.paymentId})`;
    const kind = card ? 'card' : 'bank';
    const marker = { [p.marker[kind]]: markerValue(input.paymentId, p.markerLength[kind]) };
    if (this.store.configuration === 'unf') {
      return {
        Date: date,
        Организация_Key: org,
        ВидОперации: card ? (refund ? p.operations.refund : p.operations.payment) : p.bankOperation,
        Контрагент_Key: order.Контрагент_Key,
        БанковскийСчет_Key: this.refs.bankAccount,
        ВалютаДенежныхСредств_Key: this.refs.currency,
        ...(card ? { ЭквайринговыйТерминал_Key: this.refs.acquiringTerminal, ВидПлатежнойКарты: 'Банковская карта' } : {}),
        Курс: 1,
        Кратность: 1,
        НалогообложениеНДС: 'ОблагаетсяНДС',
        Статья_Key: this.refs.cashFlowItem,
        СуммаДокумента: amount,
        СуммаУчета: amount,
        ...marker,
        Комментарий: comment,
        РасшифровкаПлатежа: [
          {
            LineNumber: 1,
            Договор_Key: order.Договор_Key,
            Заказ: order.Ref_Key,
            Заказ_Type: p.order.type,
            ПризнакАванса: true,
            Курс: 1,
            Кратность: 1,
            СуммаРасчетов: amount,
            СуммаПлатежа: amount,
            СтавкаНДС_Key: this.refs.vatRate,
          },
        ],
      };
    }
    const settlement =
      p.settlement === 'object' ? { ОбъектРасчетов_Key: order.ОбъектРасчетов_Key } : { Заказ: order.Ref_Key, Заказ_Type: p.order.type };
    return {
      Date: date,
      Организация_Key: org,
      ХозяйственнаяОперация: card ? (refund ? p.operations.refund : p.operations.payment) : p.bankOperation,
      Контрагент_Key: order.Контрагент_Key,
      ...(card
        ? {
            ЭквайринговыйТерминал_Key: this.refs.acquiringTerminal,
            ДоговорЭквайринга_Key: this.refs.acquiringContract,
            Ответственный_Key: this.refs.responsible,
          }
        : {
            БанковскийСчет_Key: this.refs.bankAccount,
            ТипПлатежногоДокумента: 'ПлатежноеПоручение',
            НомерВходящегоДокумента: input.paymentId.slice(0, 11),
            ДатаВходящегоДокумента: date,
          }),
      СуммаДокумента: amount,
      Валюта_Key: this.refs.currency,
      ...marker,
      Комментарий: comment,
      РасшифровкаПлатежа: [
        {
          LineNumber: 1,
          Партнер_Key: order.Партнер_Key,
          ...settlement,
          Сумма: amount,
          СуммаВзаиморасчетов: amount,
          СтатьяДвиженияДенежныхСредств_Key: this.refs.cashFlowItem,
        },
      ],
    };
  }
}

// ------------------------------------------------------------------ HTTP service: <base>/hs/gateway/payments

function reply(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json;charset=utf-8';
  ctx.body = JSON.stringify(body);
}

export async function handleHttpService(ctx: Context, service: PaymentService, path: string): Promise<void> {
  if (path === '/gateway/payments' && ctx.method === 'POST') {
    let input: PaymentInput;
    try {
      input = JSON.parse(((ctx.state.rawBody as Buffer | undefined) ?? (await getRawBody(ctx.req, { limit: '1mb' }))).toString('utf8'));
    } catch {
      return reply(ctx, 400, { error: 'Тело запроса не является JSON' });
    }
    try {
      const r = service.register(input);
      return reply(ctx, r.created ? 201 : 200, { ref: r.ref, number: r.number, posted: r.posted });
    } catch (e) {
      if (e instanceof ServiceFailure) return reply(ctx, e.status, { error: e.message });
      throw e;
    }
  }
  const m = /^\/gateway\/payments\/([^/]+)$/.exec(path);
  if (m && ctx.method === 'GET') {
    const found = service.find(decodeURIComponent(m[1]));
    return found
      ? reply(ctx, 200, { ref: found.ref, number: found.number, posted: found.posted })
      : reply(ctx, 404, { error: 'Платёж не найден' });
  }
  // an URL template the service does not have: the platform's 404
  ctx.status = 404;
  ctx.type = 'text/plain;charset=utf-8';
  ctx.body = 'Не найден шаблон URL';
}
