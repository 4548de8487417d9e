import type { Executor } from './db';
import { nowIso } from './db';
import { page } from './sql';
import type { PaymentStatus } from '../domain/payment-state';
import type { InvoicesTable } from './schema';

/** The invoice made from a 1C invoice (its ref), if any. */
export async function invoiceByOnecRef(db: Executor, organizationId: string, ref: string): Promise<InvoicesTable | undefined> {
  return db.selectFrom('invoices').selectAll().where('organization_id', '=', organizationId).where('onec_ref', '=', ref).executeTakeFirst();
}

/** The 1C refs of the organization's invoices from 1C still to be paid, a page at a time (for re-reading them). */
export async function openOnecInvoiceRefs(
  db: Executor,
  organizationId: string,
  limit: number,
  afterId = '',
): Promise<{ id: string; ref: string }[]> {
  const q = db
    .selectFrom('invoices')
    .innerJoin('payments', 'payments.id', 'invoices.payment_id')
    .select(['invoices.id as id', 'invoices.onec_ref as ref'])
    .where('invoices.organization_id', '=', organizationId)
    .where('invoices.onec_ref', 'is not', null)
    .where('payments.status', '=', 'pending')
    .where('invoices.id', '>', afterId)
    .orderBy('invoices.id');
  const rows = await page(db, q, limit).execute();
  return rows.map((r) => ({ id: r.id, ref: r.ref! }));
}

/**
 * What 1C changed on an invoice still to be paid: its amount, due date, number, УИП; its pending payment
 * becomes what is left of the new amount after the transfers already applied.
 */
export async function updateOnecInvoice(
  trx: Executor,
  invoice: Pick<InvoicesTable, 'id' | 'payment_id' | 'paid'>,
  set: { amount: number; due_date: string | null; number: string; date: string; uip: string | null },
): Promise<void> {
  await trx.updateTable('invoices').set(set).where('id', '=', invoice.id).execute();
  await trx
    .updateTable('payments')
    .set({ amount: set.amount - invoice.paid, updated_at: nowIso() })
    .where('id', '=', invoice.payment_id)
    .where('status', '=', 'pending')
    .execute();
}

/** A customer's invoice with its payment's state and its order (what a B2B cabinet lists). */
export interface CustomerInvoiceRow {
  invoice: InvoicesTable;
  paymentStatus: PaymentStatus;
  paymentAmount: number;
  orderId: string;
  orderNumber: string;
  payToken: string | null;
}

/** The invoices of a buyer (by the ИНН on its orders), newest first. */
export async function invoicesOfCustomer(db: Executor, organizationId: string, inn: string, limit = 500): Promise<CustomerInvoiceRow[]> {
  const q = db
    .selectFrom('invoices')
    .innerJoin('orders', 'orders.id', 'invoices.order_id')
    .innerJoin('payments', 'payments.id', 'invoices.payment_id')
    .selectAll('invoices')
    .select([
      'payments.status as payment_status',
      'payments.amount as payment_amount',
      'orders.number as order_number',
      'orders.pay_token as pay_token',
    ])
    .where('invoices.organization_id', '=', organizationId)
    .where('orders.customer_inn', '=', inn)
    .orderBy('invoices.date', 'desc')
    .orderBy('invoices.created_at', 'desc');
  const rows = await page(db, q, limit).execute();
  return rows.map(({ payment_status, payment_amount, order_number, pay_token, ...invoice }) => ({
    invoice: invoice as InvoicesTable,
    paymentStatus: payment_status,
    paymentAmount: Number(payment_amount),
    orderId: invoice.order_id,
    orderNumber: order_number,
    payToken: pay_token,
  }));
}

export async function invoiceById(db: Executor, id: string): Promise<InvoicesTable | undefined> {
  return db.selectFrom('invoices').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The 1C invoice made for the gateway's invoice (and 1C's number, when 1C numbers the organization's invoices). */
export async function linkOnecInvoice(trx: Executor, id: string, ref: string, number?: string): Promise<void> {
  await trx
    .updateTable('invoices')
    .set({ onec_ref: ref, ...(number ? { number } : {}) })
    .where('id', '=', id)
    .execute();
}
