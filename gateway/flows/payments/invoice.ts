import { randomBytes } from 'node:crypto';
import type { CreatePaymentInput } from '../../../schemas/api';
import { newId } from '../../domain/ids';
import { outstanding } from '../../domain/order';
import { UIP_PREFIX, uipOf } from '../../domain/uip';
import { unprocessable } from '../../errors';
import type { PaymentAction } from '../../ports';
import { nowIso } from '../../store/db';
import { insertInvoice, nextInvoiceSeq } from '../../store/invoices';
import { getOrder } from '../../store/orders';
import { getPayment, insertPayment, listOrderPayments, newPaymentRow, setPaymentAction } from '../../store/payments';
import type { OrderRow, PaymentRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { queueOneCInvoice } from '../onec/invoice-create';
import { queueSupersededCancels } from './supersede';

/** Russian accounting dates invoices in Moscow time. */
const TIME_ZONE = 'Europe/Moscow';

/** YYYY-MM-DD of an instant in Moscow. */
export function moscowDate(iso: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

type Terms = { type: 'prepay' } | { type: 'deferred'; days: number; from?: 'shipment' | 'invoice' };

/** When an invoice of `date` is due under the order's terms: a date, or N days after a shipment still to come. */
export function dueOf(
  terms: Terms,
  date: string,
  payWithinDays: number,
  shippedAt: string | null,
): { dueDate: string | null; afterShipment: number | null } {
  if (terms.type === 'prepay') return { dueDate: addDays(date, payWithinDays), afterShipment: null };
  if (terms.from === 'invoice') return { dueDate: addDays(date, terms.days), afterShipment: null };
  return { dueDate: shippedAt ? addDays(moscowDate(shippedAt), terms.days) : null, afterShipment: terms.days };
}

/**
 * `method: invoice`: what is left to pay on the order becomes a «Счёт на оплату» with the next
 * number of the organization's series, a due date from the order's terms (a prepaid invoice is
 * payable for `payments.invoice.payWithinDays`), and a link to the printed invoice. The payment
 * stays pending until the bank transfer is found in a statement. An order with an invoice still to
 * pay gets that invoice again, not a second one.
 */
export async function createInvoicePayment(d: FlowDeps, order: OrderRow, input: CreatePaymentInput): Promise<PaymentRow> {
  const org = d.orgs.get(order.organization_id)!;
  const settings = org.payments.invoice;
  if (!settings) {
    throw unprocessable('method_not_enabled', 'payment method "invoice" is not enabled for this organization', [
      { path: 'method', message: `organization "${org.id}" has no payments.invoice (the bank account invoices ask to pay into)` },
    ]);
  }
  const open = (await listOrderPayments(d.store.db, order.id)).find((p) => p.method === 'invoice' && p.status === 'pending');
  if (open) return open;

  const paymentId = newId();
  const now = nowIso();
  const date = moscowDate(now);
  const year = Number(date.slice(0, 4));
  const terms = JSON.parse(order.payment_terms) as Terms;
  await d.store.db.transaction().execute(async (trx) => {
    const fresh = (await getOrder(trx, order.id))!;
    const amount = outstanding(fresh.total, fresh.paid_amount);
    const row = newPaymentRow(
      {
        id: paymentId,
        order_id: order.id,
        organization_id: org.id,
        method: 'invoice',
        provider: 'bank_transfer',
        amount,
        return_url: input.returnUrl ?? null,
        fail_url: input.failUrl ?? input.returnUrl ?? null,
      },
      now,
    );
    await insertPayment(trx, row);
    const seq = await nextInvoiceSeq(trx, org.id, year);
    const number = `${settings.prefix}${seq}`;
    const { dueDate, afterShipment } = dueOf(terms, date, settings.payWithinDays, fresh.shipped_at);
    const token = randomBytes(24).toString('base64url');
    const uip = settings.uip ? uipOf(UIP_PREFIX.invoice, date, number) : null;
    const invoiceId = newId();
    await insertInvoice(trx, {
      id: invoiceId,
      organization_id: org.id,
      order_id: order.id,
      payment_id: paymentId,
      year,
      seq,
      number,
      date,
      due_date: dueDate,
      due_days_after_shipment: afterShipment,
      amount,
      token,
      bank_number: null,
      bank_date: null,
      paid: 0,
      uip,
      created_at: now,
    });
    const action: PaymentAction = {
      type: 'invoice',
      number,
      date,
      dueDate,
      ...(afterShipment !== null ? { dueDaysAfterShipment: afterShipment } : {}),
      ...(uip ? { uip } : {}),
      document: `${d.config.server.publicUrl.replace(/\/$/, '')}/invoices/${token}`,
    };
    await setPaymentAction(trx, paymentId, action);
    await queueOneCInvoice(d, trx, org.id, invoiceId);
    // one live payment per order: card and СБП attempts still open are given up at their banks
    await queueSupersededCancels(d, trx, order.id, paymentId);
  });
  d.jobs.kick();
  d.log.info({ paymentId, orderId: order.id }, 'invoice issued');
  return (await getPayment(d.store.db, paymentId))!;
}
