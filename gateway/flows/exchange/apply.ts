import type { ImportedDocument } from '../../../connectors/commerceml/types';
import type { Kopecks } from '../../domain/money';
import type { OrderItem, VatCode } from '../../domain/order';
import { nowIso, type Executor } from '../../store/db';
import type { OrderRow } from '../../store/schema';
import { exportMark, findOrderNamed, setExportMark, updateOrderFields } from '../../store/exchange';
import type { FlowDeps } from '../deps';
import { queueShipmentReceipts } from '../fiscal/translator';
import { createOrderFromOneC } from '../onec/pull';
import { ensurePayLink } from '../orders/pay-links';
import { ALERTS } from '../alerts/catalog';
import type { Alert } from '../../ports';

/**
 * What a CommerceML upload from 1C means for the gateway's orders. 1C sends an order's state in
 * its requisites ("Дата оплаты по 1С", "Отгружен", "Отменен"...), or (Bitrix-style, 2.10+) as
 * separate payment and shipment documents pointing at the order. The gateway takes statuses,
 * payments, shipments and cancellations; it never lets 1C overwrite money it saw move online, and
 * says so in a note (and an alert) instead.
 */

export interface ImportContext {
  d: FlowDeps;
  /** The 1C base uploading (`exchange.bases[].id`). */
  baseId: string;
  /** Where reads and writes go: the batch's transaction while one is open. */
  db: Executor;
  organizations: string[];
  timeZone: string;
  /** What the operator reads in 1C after `success` (and support in the alerts). */
  notes: string[];
  /** Orders by number and by id, filled as they are met: a 200 MB file repeats orders a lot. */
  cache: Map<string, OrderRow | null>;
  counts: { documents: number; changed: number; created: number; unknown: number };
}

const PAYMENT_OPERATIONS = new Set([
  'выплата безналичных денег',
  'выплата наличных денег',
  'эквайринговая операция',
  'оплата',
  'поступление безналичных денежных средств',
]);
const SHIPMENT_OPERATIONS = new Set(['отпуск товара', 'реализация товаров и услуг', 'отгрузка']);
const ORDER_OPERATIONS = new Set(['заказ товара', 'заказ']);

const TRUE = /^(true|да|1|истина)$/i;

const pad = (x: string | undefined) => (x ?? '0').padStart(2, '0');

/** A 1C date requisite: `T`, empty or 0001 mean none; unpadded times are padded; a day or time that does not exist (9999-99-99, 31 February) is none. */
export function requisiteDate(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const s = v.trim();
  if (!s || s === 'T' || s.startsWith('0001-01-01')) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?/.exec(s);
  if (!m) return undefined;
  const local = `${m[1]}-${m[2]}-${m[3]}T${pad(m[4])}:${pad(m[5])}:${pad(m[6])}`;
  const ms = Date.parse(`${local}Z`);
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== local ? undefined : local;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** A zone's offset from UTC at an instant, ms. */
function offsetAt(timeZone: string, ms: number): number {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formats.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return Date.parse(`${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}Z`) - ms;
}

/**
 * Per zone and local day: the offset all of that day has, or null when it changes around it.
 * Formatting is the costly part of an import that repeats the same days: once per day is enough.
 */
const dayOffsets = new Map<string, number | null>();

/** The instant of a 1C local date-time in the base's zone. */
function instant(local: string, timeZone: string): string {
  const guess = Date.parse(`${local}Z`);
  const key = `${timeZone} ${local.slice(0, 10)}`;
  let offset = dayOffsets.get(key);
  if (offset === undefined) {
    // any local time of the day is within 14 h of the day in UTC; no zone changes its offset twice in two days
    const midnight = Date.parse(`${local.slice(0, 10)}T00:00:00Z`);
    const before = offsetAt(timeZone, midnight - 14 * 3600_000);
    offset = before === offsetAt(timeZone, midnight + 38 * 3600_000) ? before : null;
    if (dayOffsets.size >= 4096) dayOffsets.clear();
    dayOffsets.set(key, offset);
  }
  return new Date(guess - (offset ?? offsetAt(timeZone, guess))).toISOString();
}

function req(doc: ImportedDocument, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = doc.requisites[n];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}

async function findOrder(c: ImportContext, numberOrId: string | undefined, id?: string): Promise<OrderRow | null> {
  for (const key of [numberOrId, id]) {
    if (!key) continue;
    const hit = c.cache.get(key);
    if (hit !== undefined) {
      if (hit) return hit;
      continue;
    }
    const found = await findOrderNamed(c.db, c.organizations, key);
    c.cache.set(key, found ?? null);
    if (found) return found;
  }
  return null;
}

/** An alert support gets, whose text the operator also reads in 1C after `success`. */
async function alert(c: ImportContext, a: Alert): Promise<void> {
  c.notes.push(a.text);
  await c.d.alerts.raise(c.db, a);
  c.d.jobs.kick();
}

/** Writes what changed on the order (only what changed: a repeated upload costs a read). */
async function update(c: ImportContext, order: OrderRow, set: Partial<OrderRow>): Promise<OrderRow> {
  let values: Record<string, unknown> | undefined;
  for (const k in set) {
    const v = set[k as keyof OrderRow];
    if (v !== undefined && order[k as keyof OrderRow] !== v) (values ??= {})[k] = v;
  }
  if (!values) return order;
  const updatedAt = await updateOrderFields(c.db, order.id, values);
  // what this base uploads is no news to it: unless the site changed the order since the base last took it, not sent back
  if ((await exportMark(c.db, c.baseId, order)) === order.updated_at) await setExportMark(c.db, c.baseId, order.id, updatedAt);
  const next = { ...order, ...values, updated_at: updatedAt };
  for (const [k, v] of c.cache) if (v?.id === order.id) c.cache.set(k, next);
  c.counts.changed++;
  return next;
}

export async function applyDocument(c: ImportContext, doc: ImportedDocument, parent?: OrderRow): Promise<void> {
  c.counts.documents++;
  const op = doc.operation.trim().toLowerCase();
  if (PAYMENT_OPERATIONS.has(op) || SHIPMENT_OPERATIONS.has(op)) {
    const order = parent ?? (await findOrder(c, doc.basis, doc.basis));
    if (!order) {
      c.counts.unknown++;
      await alert(c, ALERTS.exchange.unknownOrderOfDocument(doc));
      return;
    }
    const date = requisiteDate(doc.date);
    if (PAYMENT_OPERATIONS.has(op)) {
      if (doc.deleted) return;
      await update(c, order, {
        onec_paid_number: doc.number1C ?? doc.number,
        onec_paid_at: date ? instant(date, c.timeZone) : nowIso(),
        status: order.status === 'awaiting_payment' ? 'paid' : order.status,
      });
    } else if (!doc.deleted) {
      const shipped = await update(c, order, {
        shipped_at: date ? instant(date, c.timeZone) : nowIso(),
        onec_shipment_number: doc.number1C ?? doc.number,
      });
      if (!order.shipped_at) await queueShipmentReceipts(c.d, c.db, shipped);
    }
    return;
  }
  if (!ORDER_OPERATIONS.has(op) && op !== '') {
    c.notes.push(`Документ №${doc.number} (${doc.operation}) не относится к заказам; пропущен.`);
    return;
  }

  let order = await findOrder(c, doc.number, doc.id);
  if (!order) {
    order = await newOrderFrom1C(c, doc);
    if (!order) return;
  }

  // amounts are the site's and the bank's: 1C's figure is compared, never taken
  if (doc.total !== undefined && doc.total !== order.total) {
    await alert(c, ALERTS.exchange.totalDiffers(order, doc.total));
  }

  const set: Partial<OrderRow> = {
    onec_number: doc.number1C ?? req(doc, 'Номер по 1С', 'Номер1С') ?? order.onec_number,
    onec_status_text: req(doc, 'Статус заказа', 'Статус') ?? order.onec_status_text,
  };

  // paid in 1C (a bank transfer an accountant booked, or 1C confirming the online payment)
  // "… по 1С" from УТ/КА; the plain names from older set-ups and the standard's own example
  const paidDate = requisiteDate(req(doc, 'Дата оплаты по 1С', 'Дата оплаты'));
  const paidFlag = req(doc, 'Оплачен', 'Заказ оплачен');
  const payments = doc.payments.filter((p) => p.number || p.date);
  const paidIn1C = Boolean(paidDate) || (paidFlag !== undefined && TRUE.test(paidFlag)) || payments.length > 0;
  const paidOnline = order.paid_amount > 0;
  if (paidIn1C) {
    const number = req(doc, 'Номер оплаты по 1С', 'Номер платежного документа') ?? payments[0]?.number ?? payments[0]?.transaction;
    const date = paidDate ?? requisiteDate(payments[0]?.date) ?? requisiteDate(doc.date);
    set.onec_paid_number = number ?? order.onec_paid_number;
    set.onec_paid_at = date ? instant(date, c.timeZone) : (order.onec_paid_at ?? nowIso());
    if (order.status === 'awaiting_payment') set.status = 'paid';
  } else if (paidOnline && paidFlag !== undefined && !TRUE.test(paidFlag)) {
    await alert(c, ALERTS.exchange.paidHereUnpaidThere(order));
  }

  // shipped: 1C sends it only when the whole order is shipped
  const shippedDate = requisiteDate(req(doc, 'Дата отгрузки по 1С'));
  const shippedFlag = req(doc, 'Отгружен');
  if (shippedDate || (shippedFlag !== undefined && TRUE.test(shippedFlag))) {
    set.shipped_at = order.shipped_at ?? (shippedDate ? instant(shippedDate, c.timeZone) : nowIso());
    set.onec_shipment_number = req(doc, 'Номер отгрузки по 1С') ?? order.onec_shipment_number;
  }

  // cancelled or marked for deletion
  const cancelled = doc.deleted || TRUE.test(req(doc, 'Отменен') ?? '') || TRUE.test(req(doc, 'ПометкаУдаления') ?? '');
  if (cancelled && order.status !== 'cancelled') {
    if (order.paid_amount > order.refunded_amount) {
      await alert(c, ALERTS.exchange.paidOrderCancelled(order));
    } else {
      set.status = 'cancelled';
      set.cancelled_at = requisiteDate(req(doc, 'Дата отмены заказа'))
        ? instant(requisiteDate(req(doc, 'Дата отмены заказа'))!, c.timeZone)
        : nowIso();
      set.cancel_reason = req(doc, 'Причина отмены') ?? null;
    }
  }

  const wasShipped = Boolean(order.shipped_at);
  order = await update(c, order, set);
  if (!wasShipped && order.shipped_at) await queueShipmentReceipts(c.d, c.db, order);
  for (const sub of doc.subordinates) await applyDocument(c, { ...sub, basis: sub.basis ?? order.number }, order);
}

const VAT_BY_RATE: Record<string, VatCode> = { '22': 'vat22', '20': 'vat20', '10': 'vat10', '7': 'vat7', '5': 'vat5', '0': 'vat0' };

function vatOf(rate: string | undefined): VatCode {
  if (!rate || /без/i.test(rate)) return 'none';
  return VAT_BY_RATE[/\d+/.exec(rate)?.[0] ?? ''] ?? 'none';
}

/** An order made in 1C (no site counterpart): taken in, with a payment link in the answer. */
async function newOrderFrom1C(c: ImportContext, doc: ImportedDocument): Promise<OrderRow | null> {
  if (doc.items.length === 0 || doc.total === undefined || doc.deleted) {
    c.counts.unknown++;
    await alert(c, ALERTS.exchange.unknownOrder(doc));
    return null;
  }
  const items: OrderItem[] = doc.items.map((it) => ({
    sku: it.id,
    name: it.name,
    quantity: it.quantity,
    price: it.price,
    amount: it.amount,
    vat: vatOf(it.vatRate),
    kind: it.kind ?? (it.id === 'ORDER_DELIVERY' ? 'service' : 'goods'),
  }));
  const inn = doc.customer?.inn?.trim();
  const organization = c.organizations[0];
  try {
    const { order } = await createOrderFromOneC(
      c.d,
      organization,
      {
        ref: doc.id,
        number: doc.number,
        date: doc.date ?? nowIso(),
        customer: {
          type: inn && inn.length === 10 ? 'legal' : 'individual',
          name: doc.customer?.fullName || doc.customer?.name || 'Покупатель',
          ...(inn ? { inn } : {}),
          ...(doc.customer?.kpp ? { kpp: doc.customer.kpp } : {}),
          ...(doc.customer?.email ? { email: doc.customer.email } : {}),
          ...(doc.customer?.phone ? { phone: doc.customer.phone } : {}),
        },
        items,
        total: doc.total as Kopecks,
      },
      { writeLinkBack: Boolean(c.d.onec.source(organization)) },
    );
    c.counts.created++;
    c.cache.set(doc.number, order);
    const link = await ensurePayLink(c.d, order);
    c.notes.push(`Заказ №${doc.number} принят; ссылка на оплату: ${link.url}`);
    return order;
  } catch (e) {
    await alert(c, ALERTS.exchange.orderRefused(doc.number, (e as Error).message));
    return null;
  }
}

/** True for an order document the gateway has no order for (it becomes a new order: outside a batch). */
async function makesNewOrder(c: ImportContext, doc: ImportedDocument): Promise<boolean> {
  const op = doc.operation.trim().toLowerCase();
  return (ORDER_OPERATIONS.has(op) || op === '') && !(await findOrder(c, doc.number, doc.id));
}

/**
 * Applies documents in transactions of many (one commit for hundreds of unchanged re-sent orders);
 * a document that makes a new order is applied on its own, between batches.
 */
export async function applyDocuments(c: ImportContext, docs: ImportedDocument[]): Promise<void> {
  let i = 0;
  while (i < docs.length) {
    await c.d.store.db.transaction().execute(async (trx) => {
      c.db = trx;
      for (; i < docs.length && !(await makesNewOrder(c, docs[i])); i++) await applyDocument(c, docs[i]);
    });
    c.db = c.d.store.db;
    if (i < docs.length) await applyDocument(c, docs[i++]);
  }
}
