import type { OrganizationConfig } from '../../config';
import type { Kopecks } from '../../domain/money';
import type { Customer, OrderItem, PaymentTerms } from '../../domain/order';
import {
  allocate,
  dayIn,
  ITEM_NAME_MAX,
  receiptIssues,
  remaining,
  type ReceiptDoc,
  type ReceiptLine,
  type ReceiptOperation,
} from '../../domain/receipt';
import {
  creditAtShipment,
  mirrorLines,
  receiptClient,
  stageAtPayment,
  stageLines,
  stagePaymentType,
  wholeParts,
  type ReceiptRules,
  type Stage,
} from '../../domain/receipt-rules';
import { unprocessable, type ErrorDetail } from '../../errors';
import { nowIso, type Executor } from '../../store/db';
import { getOrder } from '../../store/orders';
import { listOrderPayments } from '../../store/payments';
import { insertReceipt, newReceiptRow, orderReceipts, paymentReceipts } from '../../store/receipts';
import type { OrderRow, PaymentRow, ReceiptRow, RefundRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { registerReceiptJob } from './delivery';
import { ALERTS } from '../alerts/catalog';

/**
 * Translator mode: the receipts the law wants for the payments the gateway relays, made in the
 * transaction of the event (paid, shipped, refunded) and queued for their register. Each has a
 * unique external_id derived from the event, so the same event twice makes one receipt.
 */

/** The external_id prefix of each kind of receipt. */
const PREFIX: Record<Stage | 'refund', string> = {
  prepayment: 'pp',
  settlement: 'st',
  full: 'fp',
  credit: 'cr',
  credit_payment: 'cp',
  refund: 'rf',
};

interface Ctx {
  org: OrganizationConfig;
  rules: ReceiptRules;
}

function translator(d: FlowDeps, organizationId: string): Ctx | null {
  const org = d.orgs.get(organizationId);
  const rules = d.fiscal.rules(organizationId);
  if (!org || org.fiscal.mode !== 'translator' || !rules) return null;
  return { org, rules };
}

export function company(d: FlowDeps, org: OrganizationConfig): ReceiptDoc['company'] {
  return {
    inn: org.inn ?? '',
    sno: org.fiscal.sno,
    ...(org.fiscal.email ? { email: org.fiscal.email } : {}),
    paymentAddress: org.fiscal.paymentAddress ?? d.config.server.publicUrl,
  };
}

const lines = (r: ReceiptRow): ReceiptLine[] => (JSON.parse(r.body) as ReceiptDoc).items;
const live = (r: ReceiptRow) => r.status !== 'failed';

/**
 * Records a receipt and queues its registration. A receipt that would be refused as built (no
 * contact of the buyer on an order from 1C, say) is recorded failed with the reason, and alerts.
 */
async function record(
  d: FlowDeps,
  trx: Executor,
  c: Ctx,
  r: { kind: string; externalId: string; order: OrderRow; payment?: PaymentRow; refund?: RefundRow; mirrors?: string; doc: ReceiptDoc },
): Promise<void> {
  const issues = receiptIssues(r.doc);
  const row = newReceiptRow({
    organization_id: c.org.id,
    order_id: r.order.id,
    payment_id: r.payment?.id ?? null,
    refund_id: r.refund?.id ?? null,
    register_id: d.fiscal.route(c.org, { method: r.payment?.method, source: r.order.source }),
    kind: r.kind,
    operation: r.doc.operation,
    external_id: r.externalId,
    total: r.doc.total,
    body: JSON.stringify(r.doc),
    mirrors: r.mirrors ?? null,
    ...(issues.length
      ? {
          status: 'failed' as const,
          error: `Чек не собран: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`.slice(0, 1000),
          error_code: 'invalid',
        }
      : {}),
  });

  if (!(await insertReceipt(trx, d.store.dialect, row))) return; // this event's receipt exists already
  if (issues.length) {
    await d.alerts.raise(
      trx,
      ALERTS.receiptInvalid({
        receiptId: row.id,
        kind: r.kind,
        total: r.doc.total,
        orderId: r.order.id,
        orderNumber: r.order.number,
        paymentId: r.payment?.id ?? null,
        problems: issues.map((i) => i.message).join('; '),
      }),
    );
    return;
  }
  await d.jobs.enqueue(trx, registerReceiptJob, { receiptId: row.id }, { key: `fiscal:${row.id}:0` });
}

function doc(
  d: FlowDeps,
  c: Ctx,
  operation: ReceiptOperation,
  date: string,
  customer: Customer,
  items: ReceiptLine[],
  payments: ReceiptDoc['payments'],
): ReceiptDoc {
  return {
    operation,
    date,
    client: receiptClient(customer),
    company: company(d, c.org),
    items,
    payments,
    total: items.reduce((s, l) => s + l.amount, 0),
  };
}

interface OrderFacts {
  items: OrderItem[];
  customer: Customer;
  terms: PaymentTerms;
}

function facts(order: OrderRow): OrderFacts {
  return { items: JSON.parse(order.items), customer: JSON.parse(order.customer), terms: JSON.parse(order.payment_terms) };
}

/** What of each order line no receipt of the order has taken yet (refunds give back what they return). */
function orderLeft(items: OrderItem[], receipts: ReceiptRow[]): Kopecks[] {
  const byId = new Map(receipts.map((r) => [r.id, r]));
  const top = receipts.filter((r) => live(r) && (r.kind === 'prepayment' || r.kind === 'full' || r.kind === 'credit'));
  const returned = receipts.filter(
    (r) => live(r) && r.kind === 'refund' && r.mirrors && ['prepayment', 'full'].includes(byId.get(r.mirrors)?.kind ?? ''),
  );
  const base = items.map((it) => ({ amount: it.amount }));
  const taken = remaining(base, top.flatMap(lines), (l) => l.ref);
  const back = remaining(base, returned.flatMap(lines), (l) => l.ref);
  return taken.map((left, i) => Math.min(items[i].amount, left + (items[i].amount - back[i])));
}

/** Lines of the order worth `amount`: what is left of it first, else (a second payment of the same goods) the order afresh. */
function orderParts(items: OrderItem[], receipts: ReceiptRow[], amount: Kopecks) {
  const parts = wholeParts(items);
  try {
    return allocate(parts, orderLeft(items, receipts), amount);
  } catch {
    return allocate(
      parts,
      parts.map((p) => p.amount),
      amount,
    );
  }
}

/**
 * A receipt that cannot be built (an amount its lines cannot cover, a damaged record) never stops
 * the payment, shipment or refund that asked for it: support is alerted instead.
 */
async function guarded(
  d: FlowDeps,
  trx: Executor,
  what: { event: string; orderId: string; paymentId?: string },
  build: () => Promise<void>,
): Promise<void> {
  try {
    await build();
  } catch (e) {
    if (!(e instanceof RangeError || e instanceof SyntaxError)) throw e;
    d.log.error({ err: e, ...what }, 'a receipt could not be built');
    await d.alerts.raise(trx, ALERTS.receiptNotBuilt({ ...what, reason: e.message }));
  }
}

/** The payment became paid (sync.ts, in its transaction): the receipt the rules want now, if any. */
export async function queuePaymentReceipt(d: FlowDeps, trx: Executor, payment: PaymentRow): Promise<void> {
  const c = translator(d, payment.organization_id);
  if (!c) return;
  await guarded(d, trx, { event: 'payment', orderId: payment.order_id, paymentId: payment.id }, () => paymentReceipt(d, trx, c, payment));
}

async function paymentReceipt(d: FlowDeps, trx: Executor, c: Ctx, payment: PaymentRow): Promise<void> {
  const order = (await getOrder(trx, payment.order_id))!;
  const f = facts(order);
  const receipts = await orderReceipts(trx, order.id);
  const credit = receipts.find((r) => r.kind === 'credit' && live(r));
  const stage = stageAtPayment(c.rules, {
    method: payment.method as 'card',
    customer: f.customer,
    deferred: f.terms.type === 'deferred',
    shipped: Boolean(order.shipped_at),
    credited: Boolean(credit),
  });
  if (!stage) return;
  const date = payment.paid_at ?? nowIso();
  const day = dayIn(date, c.org.fiscal.timeZone);
  let parts;
  if (stage === 'credit_payment') {
    const base = lines(credit!);
    const paidOff = receipts.filter((r) => r.kind === 'credit_payment' && live(r)).flatMap(lines);
    parts = allocate(
      base,
      remaining(base, paidOff, (l) => l.src),
      Math.min(
        payment.amount,
        base.reduce((s, l) => s + l.amount, 0),
      ),
    );
  } else {
    parts = orderParts(f.items, receipts, payment.amount);
  }
  const items = stageLines(c.rules, stage, f.items, parts, day);
  const total = items.reduce((s, l) => s + l.amount, 0);
  await record(d, trx, c, {
    kind: stage,
    externalId: `${PREFIX[stage]}-${payment.id}`,
    order,
    payment,
    doc: doc(d, c, 'sell', date, f.customer, items, [{ type: stagePaymentType(c.rules, stage), amount: total }]),
  });
}

/**
 * 1C says the order is shipped (CommerceML, or its status over OData; in that transaction): each
 * prepaid payment gets its settlement receipt offsetting the prepayment, and what a deferred order
 * still owes is handed over on credit.
 */
export async function queueShipmentReceipts(d: FlowDeps, trx: Executor, order: OrderRow): Promise<void> {
  const c = translator(d, order.organization_id);
  if (!c) return;
  await guarded(d, trx, { event: 'shipment', orderId: order.id }, () => shipmentReceipts(d, trx, c, order));
}

async function shipmentReceipts(d: FlowDeps, trx: Executor, c: Ctx, order: OrderRow): Promise<void> {
  const f = facts(order);
  const date = order.shipped_at ?? nowIso();
  const day = dayIn(date, c.org.fiscal.timeZone);
  const receipts = await orderReceipts(trx, order.id);
  const payments = new Map((await listOrderPayments(trx, order.id)).map((p) => [p.id, p]));
  for (const pre of receipts.filter((r) => r.kind === 'prepayment' && live(r))) {
    const payment = payments.get(pre.payment_id ?? '');
    if (!payment) continue;
    const held = payment.amount - payment.refunded_amount;
    if (held <= 0) continue;
    const base = lines(pre);
    const returned = receipts.filter((r) => r.kind === 'refund' && r.mirrors === pre.id && live(r)).flatMap(lines);
    const parts = allocate(
      base,
      remaining(base, returned, (l) => l.src),
      Math.min(
        held,
        base.reduce((s, l) => s + l.amount, 0),
      ),
    );
    const items = stageLines(c.rules, 'settlement', f.items, parts, day);
    const total = items.reduce((s, l) => s + l.amount, 0);
    await record(d, trx, c, {
      kind: 'settlement',
      externalId: `${PREFIX.settlement}-${payment.id}`,
      order,
      payment,
      doc: doc(d, c, 'sell', date, f.customer, items, [{ type: stagePaymentType(c.rules, 'settlement'), amount: total }]),
    });
  }
  const unpaid = order.total - order.paid_amount;
  if (
    creditAtShipment(c.rules, { deferred: f.terms.type === 'deferred', unpaid, customer: f.customer }) &&
    !receipts.some((r) => r.kind === 'credit' && live(r))
  ) {
    const items = stageLines(c.rules, 'credit', f.items, orderParts(f.items, receipts, unpaid), day);
    await record(d, trx, c, {
      kind: 'credit',
      externalId: `${PREFIX.credit}-${order.id}`,
      order,
      doc: doc(d, c, 'sell', date, f.customer, items, [{ type: stagePaymentType(c.rules, 'credit'), amount: unpaid }]),
    });
  }
}

/** Which receipt of a payment a refund returns: what the buyer holds now (the settlement once shipped). */
const MIRROR_ORDER = ['settlement', 'full', 'credit_payment', 'prepayment'];

/**
 * The bank returned money (refunds.ts, in the transaction that records it): a refund receipt
 * mirroring the receipt of that money — its lines, method, object and VAT rate as they were on it
 * (a sale of 2025 is refunded at 20 %), for the amount returned. No receipt was due, none is.
 */
export async function queueRefundReceipt(d: FlowDeps, trx: Executor, refund: RefundRow, payment: PaymentRow): Promise<void> {
  const c = translator(d, payment.organization_id);
  if (!c) return;
  await guarded(d, trx, { event: 'refund', orderId: payment.order_id, paymentId: payment.id }, () =>
    refundReceipt(d, trx, c, refund, payment),
  );
}

async function refundReceipt(d: FlowDeps, trx: Executor, c: Ctx, refund: RefundRow, payment: PaymentRow): Promise<void> {
  const receipts = await paymentReceipts(trx, payment.id);
  const original = MIRROR_ORDER.map((k) => receipts.find((r) => r.kind === k && live(r))).find(Boolean);
  if (!original) return;
  const order = (await getOrder(trx, payment.order_id))!;
  const base = lines(original);
  const earlier = receipts.filter((r) => r.kind === 'refund' && r.mirrors === original.id && live(r)).flatMap(lines);
  const left = remaining(base, earlier, (l) => l.src);
  const amount = Math.min(
    refund.amount,
    left.reduce((s, x) => s + x, 0),
  );
  if (amount <= 0) return;
  const items = mirrorLines(allocate(base, left, amount));
  const date = refund.updated_at;
  await record(d, trx, c, {
    kind: 'refund',
    externalId: `${PREFIX.refund}-${refund.id}`,
    order,
    payment,
    refund,
    mirrors: original.id,
    doc: doc(d, c, 'sell_refund', date, facts(order).customer, items, [{ type: 1, amount }]),
  });
}

/**
 * A site order in an organization that makes receipts: what a receipt needs must be there now
 * (the buyer's e-mail or phone, names a register takes), or the order is refused with the field.
 */
export function orderReceiptIssues(
  d: FlowDeps,
  organizationId: string,
  input: { customer: Customer; items: Pick<OrderItem, 'name'>[] },
): void {
  if (d.orgs.get(organizationId)?.fiscal.mode !== 'translator') return;
  const max = d.fiscal.rules(organizationId)?.nameMax ?? ITEM_NAME_MAX;
  const details: ErrorDetail[] = [];
  if (!input.customer.email && !input.customer.phone)
    details.push({ path: 'customer.email', message: 'the buyer’s e-mail or phone is required: the receipt (54-ФЗ) is sent there' });
  input.items.forEach((it, i) => {
    if (it.name.trim().length > max)
      details.push({
        path: `items[${i}].name`,
        message: `at most ${max} characters on a receipt (tag 1030), the name has ${it.name.trim().length}`,
      });
  });
  if (details.length) throw unprocessable('receipt_requirements', 'the order cannot get a receipt as it is', details);
}
