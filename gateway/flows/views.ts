import type { Executor } from '../store/db';
import type { ReceiptDoc } from '../domain/receipt';
import { listOrderPayments, paymentRefunds, paymentTimeline } from '../store/payments';
import { paymentReceipts } from '../store/receipts';
import type { OrderRow, PaymentEventsTable, PaymentRow, ReceiptRow, RefundRow } from '../store/schema';
import { parseJson } from '../store/sql';

/** Rows as the REST API shows them (schemas/api.ts). */

export function refundView(r: RefundRow) {
  return {
    id: r.id,
    paymentId: r.payment_id,
    amount: r.amount,
    status: r.status,
    ...(r.error ? { error: r.error } : {}),
    onec: {
      status: r.onec_status,
      ...(r.onec_document ? { document: r.onec_document } : {}),
      ...(r.onec_error ? { error: r.onec_error } : {}),
    },
    createdAt: r.created_at,
  };
}

const PAYMENT_TYPE_NAMES = ['cash', 'cashless', 'prepayment', 'credit', 'other'] as const;

export function receiptView(r: ReceiptRow) {
  const doc = JSON.parse(r.body) as ReceiptDoc;
  return {
    id: r.id,
    externalId: r.external_id,
    organization: r.organization_id,
    kind: r.kind,
    operation: r.operation as ReceiptDoc['operation'],
    status: r.status,
    register: r.register_id,
    total: r.total,
    ...(r.order_id ? { orderId: r.order_id } : {}),
    ...(r.payment_id ? { paymentId: r.payment_id } : {}),
    ...(r.refund_id ? { refundId: r.refund_id } : {}),
    date: doc.date,
    client: doc.client,
    items: doc.items.map((it) => ({
      name: it.name,
      price: it.price,
      quantity: it.quantity,
      amount: it.amount,
      paymentMethod: it.paymentMethod,
      paymentObject: it.paymentObject,
      vat: it.vat,
      vatAmount: it.vatAmount,
      measure: it.measure,
    })),
    payments: doc.payments.map((p) => ({ type: PAYMENT_TYPE_NAMES[p.type], amount: p.amount })),
    ...(doc.correction ? { correction: doc.correction } : {}),
    ...(r.status === 'done' && r.fn_number
      ? {
          fiscal: {
            fnNumber: r.fn_number,
            documentNumber: Number(r.fiscal_document_number),
            documentAttribute: Number(r.fiscal_document_attribute),
            datetime: r.fiscal_datetime!,
            registrationNumber: r.ecr_registration_number!,
            shiftNumber: Number(r.shift_number),
            ...(r.ofd_receipt_url ? { ofdUrl: r.ofd_receipt_url } : {}),
          },
        }
      : {}),
    ...(r.error ? { error: r.error } : {}),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Events the gateway itself writes carry a Russian note saying why; the banks' answers are shown by their outcome only. */
const NOTED_EVENTS: ReadonlySet<string> = new Set(['cancel', 'double_payment']);

/** One entry of a payment's timeline. */
export function paymentEventView(e: PaymentEventsTable) {
  const note = NOTED_EVENTS.has(e.kind) ? parseJson<{ note?: string }>(e.payload)?.note : undefined;
  return {
    at: e.received_at,
    kind: e.kind,
    outcome: e.outcome,
    attemptId: e.attempt_id,
    ...(note ? { note } : {}),
  };
}

export function paymentView(p: PaymentRow, refunds: RefundRow[], receipts: ReceiptRow[] = [], events: PaymentEventsTable[] = []) {
  return {
    id: p.id,
    orderId: p.order_id,
    organization: p.organization_id,
    method: p.method as 'card' | 'sbp' | 'invoice',
    provider: p.provider,
    status: p.status,
    ...(p.status_reason ? { statusReason: p.status_reason } : {}),
    amount: p.amount,
    ...(p.paid_at ? { paidAt: p.paid_at } : {}),
    ...(p.refunded_amount > 0 ? { refunded: p.refunded_amount } : {}),
    refunds: refunds.map(refundView),
    action: parseJson<unknown>(p.action),
    onec: {
      status: p.onec_status,
      ...(p.onec_document ? { document: p.onec_document } : {}),
      ...(p.onec_number ? { number: p.onec_number } : {}),
      ...(p.onec_error ? { error: p.onec_error } : {}),
    },
    receipts: receipts.map(receiptView),
    events: events.map(paymentEventView),
    createdAt: p.created_at,
    updatedAt: p.updated_at,
  };
}

export async function loadPaymentView(db: Executor, p: PaymentRow) {
  // at once: on a server database each is a round trip, and they do not depend on each other
  const [refunds, receipts, timeline] = await Promise.all([paymentRefunds(db, p.id), paymentReceipts(db, p.id), paymentTimeline(db, p.id)]);
  return paymentView(p, refunds, receipts, timeline);
}

export async function orderView(db: Executor, o: OrderRow) {
  const payments = await listOrderPayments(db, o.id);
  return {
    id: o.id,
    externalId: o.external_id,
    number: o.number,
    organization: o.organization_id,
    source: o.source,
    status: o.status,
    customer: parseJson<unknown>(o.customer),
    items: parseJson<unknown[]>(o.items),
    total: o.total,
    currency: o.currency,
    paymentTerms: parseJson<unknown>(o.payment_terms),
    onecRef: o.onec_ref,
    onec: {
      number: o.onec_number,
      status: o.onec_status_text,
      paid: o.onec_paid_at ? { number: o.onec_paid_number, date: o.onec_paid_at } : null,
      shipped: o.shipped_at ? { number: o.onec_shipment_number, date: o.shipped_at } : null,
    },
    ...(o.cancelled_at ? { cancelled: { date: o.cancelled_at, reason: o.cancel_reason } } : {}),
    paidAmount: o.paid_amount,
    refundedAmount: o.refunded_amount,
    payments: payments.map((p) => ({ id: p.id, status: p.status, amount: p.amount })),
    createdAt: o.created_at,
    updatedAt: o.updated_at,
  };
}
