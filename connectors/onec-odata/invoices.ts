import { toRubleString, type Kopecks } from '../../gateway/domain/money';
import type { OrderItem } from '../../gateway/domain/order';
import { OneCError, type OneCInvoice, type OneCInvoiceRequest, type OneCInvoiceSource } from '../../gateway/ports';
import { EMPTY_DATE, EMPTY_REF, lit, type ODataClient, type ODataObject } from './client';
import { onecDate, render, type Mapping } from './mapping';
import type { ODataOrderSource } from './orders';
import { kopecksOf } from './sink';

type Spec = NonNullable<Mapping['invoiceSource']>;

/** How the gateway marks an invoice it had 1C make. */
const MARKER = /шлюз: счёт ([0-9A-Za-z_-]+)/;

/**
 * Invoices a manager made in 1C (УТ Document_СчетНаОплатуКлиенту, УНФ Document_СчетНаОплату), read
 * over OData: the invoice with its buyer, number, date, amount, due date (the last stage of its payment
 * schedule), УИП and whether it is annulled, and the order it is for (its ДокументОснование). The УТ
 * invoice has no goods: the lines are the order's; the УНФ invoice has its own (`Запасы`).
 */
export class ODataInvoiceSource implements OneCInvoiceSource {
  constructor(
    private readonly client: ODataClient,
    private readonly mapping: Mapping,
    private readonly orders: ODataOrderSource,
    private readonly refs: Record<string, string> = {},
  ) {}

  private get spec(): Spec {
    const s = this.mapping.invoiceSource;
    if (!s)
      throw new OneCError('mapping', 'mapping has no invoiceSource', 'В сопоставлении (mapping) не описаны счета 1С (invoiceSource).');
    return s;
  }

  async newInvoices(since: string, page: { limit: number; skip: number }): Promise<OneCInvoice[]> {
    const s = this.spec;
    const filter = [
      `${s.fields.date} ge ${lit.datetime(onecDate(since, this.mapping.timeZone))}`,
      'Posted eq true',
      'DeletionMark eq false',
      s.fields.annulled ? `${s.fields.annulled} eq false` : '',
      s.pullFilter,
    ]
      .filter(Boolean)
      .join(' and ');
    const docs = await this.client.list(s.entity, { filter, orderby: `${s.fields.date},Ref_Key`, top: page.limit, skip: page.skip });
    const out: OneCInvoice[] = [];
    for (const d of docs) {
      const inv = await this.toInvoice(d);
      if (inv) out.push(inv);
    }
    return out;
  }

  async invoice(ref: string): Promise<OneCInvoice | null> {
    const d = await this.client.get(this.spec.entity, ref);
    return d ? this.toInvoice(d) : null;
  }

  /** The invoice as the gateway keeps it; null when it is not for an order (no ДокументОснование of the order's type). */
  async toInvoice(d: ODataObject): Promise<OneCInvoice | null> {
    const s = this.spec;
    const f = s.fields;
    if (!d.Ref_Key) throw new OneCError('data', `${s.entity} without Ref_Key`, 'Счёт из 1С пришёл без ссылки.');
    const orderType = `StandardODATA.${this.mapping.order.entity}`;
    const baseRef = String(d[f.base] ?? '');
    if (d[`${f.base}_Type`] !== orderType || !baseRef || baseRef === EMPTY_REF) return null;
    const base = await this.client.get(this.mapping.order.entity, baseRef);
    if (!base) return null;
    const order = await this.orders.toOrder(base);
    const amount = kopecksOf(d[f.total]);
    if (s.rows) {
      const r = s.rows;
      const items: OrderItem[] = [];
      for (const row of (d[r.section] as ODataObject[] | undefined) ?? []) {
        const item = await this.orders.catalog(this.mapping.item.entity, row[r.item]);
        const sku = this.mapping.item.fields.sku ? String(item?.[this.mapping.item.fields.sku] ?? '') : '';
        items.push({
          sku: sku || String(row[r.item]),
          name: String(item?.[this.mapping.item.fields.name] ?? 'Товар'),
          quantity: Number(row[r.quantity]),
          price: kopecksOf(row[r.price]),
          amount: kopecksOf(row[r.amount]),
          vat: r.vatRate ? await this.orders.vat(row[r.vatRate]) : 'none',
        });
      }
      if (items.length) {
        order.items = items;
        order.total = amount;
      }
    }
    const stages = ((s.schedule ? d[s.schedule.section] : undefined) as ODataObject[] | undefined) ?? [];
    const dates = stages
      .map((row) => String(row[s.schedule!.date] ?? ''))
      .filter((v) => v && v !== EMPTY_DATE)
      .map((v) => v.slice(0, 10))
      .sort();
    const uip = f.uip ? String(d[f.uip] ?? '').trim() : '';
    return {
      ref: d.Ref_Key,
      number: String(d[f.number] ?? ''),
      date: String(d[f.date]).slice(0, 10),
      amount,
      dueDate: dates.length ? dates[dates.length - 1] : null,
      uip: uip || null,
      annulled: d.DeletionMark === true || d.Posted !== true || (f.annulled ? d[f.annulled] === true : false),
      order,
      gatewayInvoiceId: s.create ? (MARKER.exec(String(d[s.create.marker] ?? ''))?.[1] ?? null) : null,
    };
  }

  /**
   * A posted invoice for the order, made once: the order's invoices (by ДокументОснование) are looked
   * at first for one carrying the marker (posted again if it was left unposted).
   */
  async createInvoice(req: OneCInvoiceRequest): Promise<{ ref: string; number: string; date: string }> {
    const s = this.spec;
    const create = s.create;
    if (!create)
      throw new OneCError(
        'mapping',
        'mapping has no invoiceSource.create',
        'В сопоставлении (mapping) не описано, как создавать счёт в 1С (invoiceSource.create).',
      );
    const o = this.mapping.order;
    const order = req.order.ref
      ? await this.client.get(o.entity, req.order.ref)
      : (
          await this.client.list(o.entity, {
            filter: `${o.lookupBy} eq ${lit.string(req.order.number)} and DeletionMark eq false`,
            top: 2,
          })
        )[0];
    if (!order?.Ref_Key)
      throw new OneCError(
        'order_missing',
        `${o.entity} ${req.order.ref ?? req.order.number} not found`,
        `Заказа ${req.order.number} ещё нет в 1С.`,
      );
    const orderType = `StandardODATA.${o.entity}`;
    const marker = `шлюз: счёт ${req.marker}`;
    const mine = await this.client.list(s.entity, {
      filter: `${s.fields.base} eq cast(${lit.guid(order.Ref_Key)},${lit.string(o.entity)}) and DeletionMark eq false`,
      select: ['Ref_Key', 'Posted', create.marker],
    });
    let ref = mine.find((d) => String(d[create.marker] ?? '').includes(marker))?.Ref_Key;
    if (!ref) {
      const field = (name?: string) => (name ? order[name] : undefined);
      const ctx = {
        order: {
          ref: order.Ref_Key,
          number: order[o.fields.number],
          partner: field(o.fields.partner),
          counterparty: field(o.fields.counterparty),
          organization: field(o.fields.organization),
          agreement: field(o.fields.agreement),
        },
        refs: this.refs,
        invoice: { amount: toRubleString(req.amount as Kopecks), number: req.number, date: req.date, dueDate: req.dueDate },
      };
      const body: Record<string, unknown> = {
        Date: onecDate(new Date().toISOString(), this.mapping.timeZone),
        ...render(create.fields, ctx),
        [s.fields.base]: order.Ref_Key,
        [`${s.fields.base}_Type`]: orderType,
        [s.fields.total]: toRubleString(req.amount as Kopecks),
        [create.marker]: marker,
      };
      if (s.fields.uip && req.uip) body[s.fields.uip] = req.uip;
      if (s.schedule)
        body[s.schedule.section] = [{ LineNumber: 1, [s.schedule.date]: `${req.dueDate}T00:00:00`, ...render(create.scheduleFields, ctx) }];
      ref = (await this.client.create(s.entity, body)).Ref_Key;
      if (!ref) throw new OneCError('data', `${s.entity}: created without Ref_Key`, '1С не вернула ссылку на созданный счёт.');
    }
    await this.client.post(s.entity, ref);
    const back = await this.client.get(s.entity, ref, ['Ref_Key', 'Number', 'Date', 'Posted', create.marker]);
    if (!back || back.Posted !== true || !String(back[create.marker] ?? '').includes(marker))
      throw new OneCError(
        'data',
        `${s.entity} ${ref} not kept as written`,
        'Счёт в 1С не сохранился так, как записан (не проведён или без отметки шлюза).',
      );
    return { ref, number: String(back.Number ?? ''), date: String(back.Date ?? '').slice(0, 10) };
  }
}
