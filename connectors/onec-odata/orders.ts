import type { OrderItem, VatCode } from '../../gateway/domain/order';
import { OneCError, type OneCOrder, type OneCOrderSource } from '../../gateway/ports';
import { EMPTY_REF, lit, type ODataClient, type ODataObject } from './client';
import { fromOnecDate, onecDate, type Mapping } from './mapping';
import { kopecksOf } from './sink';

/**
 * Orders a manager created in 1C, read over OData (pull): new documents since a watermark that
 * match the mapping's filter, with their customer and lines; and the payment link written back.
 */
export class ODataOrderSource implements OneCOrderSource {
  private readonly names = new Map<string, ODataObject | null>();

  constructor(
    private readonly client: ODataClient,
    private readonly mapping: Mapping,
  ) {}

  async newOrders(since: string, page: { limit: number; skip: number }): Promise<OneCOrder[]> {
    const o = this.mapping.order;
    const filter = [
      `${o.fields.date} ge ${lit.datetime(onecDate(since, this.mapping.timeZone))}`,
      'Posted eq true',
      'DeletionMark eq false',
      o.pullFilter,
    ]
      .filter(Boolean)
      .join(' and ');
    const docs = await this.client.list(o.entity, { filter, orderby: `${o.fields.date},Ref_Key`, top: page.limit, skip: page.skip });
    const out: OneCOrder[] = [];
    for (const d of docs) out.push(await this.toOrder(d));
    return out;
  }

  async catalog(entity: string, ref: unknown): Promise<ODataObject | null> {
    const key = `${entity}:${String(ref)}`;
    if (!ref || ref === EMPTY_REF) return null;
    if (!this.names.has(key)) this.names.set(key, await this.client.get(entity, String(ref)));
    return this.names.get(key)!;
  }

  async vat(ref: unknown): Promise<VatCode> {
    if (!this.mapping.vatRate) return 'none';
    const rate = await this.catalog(this.mapping.vatRate.entity, ref);
    const value = String(rate?.[this.mapping.vatRate.field] ?? rate?.Description ?? '');
    if (!value || /без/i.test(value)) return 'none';
    const n = Number(/\d+/.exec(value)?.[0]);
    const codes: Record<number, VatCode> = { 0: 'vat0', 5: 'vat5', 7: 'vat7', 10: 'vat10', 20: 'vat20', 22: 'vat22' };
    return codes[n] ?? 'none';
  }

  /** A 1C order document (as read over OData) as the gateway takes it. */
  async toOrder(d: ODataObject): Promise<OneCOrder> {
    const o = this.mapping.order;
    const cp = await this.catalog(this.mapping.counterparty.entity, d[o.fields.counterparty]);
    const cpf = this.mapping.counterparty.fields;
    const inn = cpf.inn ? String(cp?.[cpf.inn] ?? '') : '';
    const items: OrderItem[] = [];
    for (const row of (d[o.rows.section] as ODataObject[] | undefined) ?? []) {
      if (o.rows.cancelled && row[o.rows.cancelled] === true) continue;
      const item = await this.catalog(this.mapping.item.entity, row[o.rows.item]);
      const sku = this.mapping.item.fields.sku ? String(item?.[this.mapping.item.fields.sku] ?? '') : '';
      items.push({
        sku: sku || String(row[o.rows.item]),
        name: String(item?.[this.mapping.item.fields.name] ?? 'Товар'),
        quantity: Number(row[o.rows.quantity]),
        price: kopecksOf(row[o.rows.price]),
        amount: kopecksOf(row[o.rows.amount]),
        vat: o.rows.vatRate ? await this.vat(row[o.rows.vatRate]) : 'none',
      });
    }
    if (!d.Ref_Key) throw new OneCError('data', `${o.entity} without Ref_Key`, 'Заказ из 1С пришёл без ссылки.');
    return {
      ref: d.Ref_Key,
      number: String(d[o.fields.number] ?? ''),
      date: fromOnecDate(String(d[o.fields.date]), this.mapping.timeZone),
      customer: {
        type: inn.length === 10 ? 'legal' : 'individual',
        name: String(cp?.[cpf.fullName ?? cpf.name] || cp?.[cpf.name] || 'Покупатель'),
        ...(inn ? { inn } : {}),
        ...(cpf.kpp && cp?.[cpf.kpp] ? { kpp: String(cp[cpf.kpp]) } : {}),
      },
      items,
      total: kopecksOf(d[o.fields.total]),
      version: d.DataVersion,
    };
  }

  async shipped(order: { ref: string | null; number: string }): Promise<{ shipped: boolean; status: string } | null> {
    const o = this.mapping.order;
    const field = o.fields.status;
    if (!field || o.shippedStatuses.length === 0) return null;
    const doc = order.ref
      ? await this.client.get(o.entity, order.ref, ['Ref_Key', field])
      : (
          await this.client.list(o.entity, {
            filter: `${o.lookupBy} eq ${lit.string(order.number)} and DeletionMark eq false`,
            select: ['Ref_Key', field],
            top: 2,
          })
        )[0];
    if (!doc) return null;
    const status = String(doc[field] ?? '');
    return { shipped: o.shippedStatuses.includes(status), status };
  }

  /**
   * Writes the link into the order's field (appended to what a manager wrote). Guarded by
   * DataVersion: if the order changed between our read and our write, read again.
   */
  async writePaymentLink(orderRef: string, url: string): Promise<void> {
    const field = this.mapping.order.paymentLinkField;
    if (!field) return;
    const entity = this.mapping.order.entity;
    for (let attempt = 0; attempt < 3; attempt++) {
      const order = await this.client.get(entity, orderRef, ['Ref_Key', 'DataVersion', field]);
      if (!order) throw new OneCError('data', `${entity} ${orderRef} not found`, `Заказ ${orderRef} не найден в 1С.`);
      const current = String(order[field] ?? '');
      if (current.includes(url)) return;
      const next = current ? `${current}\nСсылка на оплату: ${url}` : `Ссылка на оплату: ${url}`;
      const fresh = await this.client.get(entity, orderRef, ['DataVersion']);
      if (fresh?.DataVersion !== order.DataVersion) continue; // a manager saved the order meanwhile
      await this.client.patch(entity, orderRef, { [field]: next });
      const back = await this.client.get(entity, orderRef, [field]);
      if (String(back?.[field] ?? '').includes(url)) return;
      throw new OneCError(
        'mapping',
        `${entity}.${field} did not keep the link`,
        `1С не сохранила ссылку на оплату в поле ${field} заказа (поле короче ссылки или его нет в базе).`,
      );
    }
    throw new OneCError('lock', `${entity} ${orderRef} keeps changing`, 'Заказ в 1С постоянно меняется; запишем ссылку позже.');
  }
}
