import { sql } from 'kysely';
import type { Dialect, Executor } from './db';
import { insertIgnoreQuery, page, rowsAsArrays } from './sql';
import type { InvoicesTable, InvoiceTransfersTable } from './schema';

/**
 * The next number of an organization's invoice series for a year (1, 2, …), taken inside the
 * transaction that records the invoice: the series' row is created if missing (never twice, even by
 * two first invoices of a year at once) and then counted up under its row lock, so a number is used
 * once, and one rolled back is given again.
 */
export async function nextInvoiceSeq(trx: Executor, organizationId: string, year: number): Promise<number> {
  await trx.executeQuery(
    insertIgnoreQuery(trx, 'invoice_series', { organization_id: organizationId, year, last: 0 }, ['organization_id', 'year']).compile(trx),
  );
  await trx
    .updateTable('invoice_series')
    .set((eb) => ({ last: eb('last', '+', 1) }))
    .where('organization_id', '=', organizationId)
    .where('year', '=', year)
    .execute();
  const row = await trx
    .selectFrom('invoice_series')
    .select('last')
    .where('organization_id', '=', organizationId)
    .where('year', '=', year)
    .executeTakeFirstOrThrow();
  return Number(row.last);
}

/** Records an invoice, with what matching reads of its order (its number, the buyer's ИНН and КПП) kept on it. */
export async function insertInvoice(trx: Executor, row: InvoicesTable): Promise<void> {
  const order = await trx.selectFrom('orders').select(['number', 'customer']).where('id', '=', row.order_id).executeTakeFirstOrThrow();
  await trx
    .insertInto('invoices')
    .values({ ...row, order_number: order.number, ...buyerOf(order.customer) })
    .execute();
}

/** The buyer's ИНН and КПП out of an order's customer (a JSON object), as the invoice keeps them. */
export function buyerOf(customer: string): { buyer_inn: string | null; buyer_kpp: string | null } {
  const c = JSON.parse(customer) as { inn?: unknown; kpp?: unknown };
  const text = (v: unknown) => (v === undefined || v === null ? null : String(v));
  return { buyer_inn: text(c.inn), buyer_kpp: text(c.kpp) };
}

export async function invoiceOfPayment(db: Executor, paymentId: string): Promise<InvoicesTable | undefined> {
  return db.selectFrom('invoices').selectAll().where('payment_id', '=', paymentId).executeTakeFirst();
}

export async function invoiceByToken(db: Executor, token: string): Promise<InvoicesTable | undefined> {
  return db.selectFrom('invoices').selectAll().where('token', '=', token).executeTakeFirst();
}

/** An invoice still to be paid, with what its deferral and reminders need of its order and payment. */
export interface OpenInvoice {
  invoice: InvoicesTable;
  orderNumber: string;
  customer: string;
  shippedAt: string | null;
  /** Left to pay on the invoice's payment, in kopecks. */
  amount: number;
}

/** Invoices whose payment is still pending, oldest first, a page at a time. */
export async function openInvoices(db: Executor, limit = 1000, afterId = ''): Promise<OpenInvoice[]> {
  const query = db
    .selectFrom('invoices')
    .innerJoin('payments', 'payments.id', 'invoices.payment_id')
    .innerJoin('orders', 'orders.id', 'invoices.order_id')
    .selectAll('invoices')
    .select([
      'orders.number as order_number',
      'orders.customer as customer',
      'orders.shipped_at as shipped_at',
      'payments.amount as payment_amount',
    ])
    .where('payments.status', '=', 'pending')
    .where('invoices.id', '>', afterId)
    .orderBy('invoices.id');
  const rows = await page(db, query, limit).execute();
  return rows.map(({ order_number, customer, shipped_at, payment_amount, ...invoice }) => ({
    invoice: invoice as InvoicesTable,
    orderNumber: order_number,
    customer,
    shippedAt: shipped_at,
    amount: Number(payment_amount),
  }));
}

/** What statement matching reads of an invoice still to be paid: the fields it matches on, and what its due date is made of. */
export interface InvoiceToMatchRow {
  id: string;
  number: string;
  date: string;
  orderNumber: string;
  /** From the order's customer. */
  buyerInn: string | null;
  buyerKpp: string | null;
  /** Left to pay on the invoice (its amount less what it has been paid), in kopecks. */
  amountDue: number;
  /** The invoice's own due date; null while a deferral counts from a shipment (`dueDaysAfterShipment`, `shippedAt`). */
  dueDate: string | null;
  dueDaysAfterShipment: number | null;
  shippedAt: string | null;
  uip: string | null;
}

/** An invoice no longer to be paid: its payment cancelled (the invoice annulled in 1C, or cancelled here). */
export interface AnnulledInvoiceRow {
  id: string;
  number: string;
  /** YYYY-MM-DD */
  date: string;
  uip: string | null;
}

/**
 * An organization's invoices whose payment is still pending, and those dated on or after
 * `annulledSince` whose payment was cancelled, in one read of its invoices: each one's payment by
 * key, and of them only what matching reads (the order's number and the buyer as the invoice keeps
 * them; the order itself only for an invoice whose due date counts from a shipment). Matching does
 * not depend on their order. PostgreSQL hands them over oldest first (by id); SQLite reads the table
 * through, in the order the invoices were stored: most of an organization's invoices are read
 * anyway, and a look-up of each row from the organization's index, then a sort, took longer (0.77 s
 * against 0.70 s for 156 000 open invoices). The cancelled ones come from the same read: a query of
 * their own walked the organization's invoices a second time (0.25 s for 100 000).
 */
export async function invoicesToMatchOf(
  db: Executor,
  dialect: Dialect,
  organizationId: string,
  annulledSince: string,
): Promise<{ open: InvoiceToMatchRow[]; annulled: AnnulledInvoiceRow[] }> {
  return invoicesToMatchFromRows(await rowsAsArrays(db, invoicesToMatchQuery(db, dialect, organizationId)), annulledSince);
}

/** The query of `invoicesToMatchOf`, to be run elsewhere (on a connection of a thread of its own) with its rows as arrays. */
export function invoicesToMatchQuery(db: Executor, dialect: Dialect, organizationId: string) {
  const base = db
    .selectFrom('invoices')
    .innerJoin('payments', 'payments.id', 'invoices.payment_id')
    .leftJoin('orders', (j) => j.onRef('orders.id', '=', 'invoices.order_id').on('invoices.due_date', 'is', null))
    .select([
      'invoices.id',
      'invoices.number',
      'invoices.date',
      'invoices.order_number',
      'invoices.buyer_inn',
      'invoices.buyer_kpp',
      sql<number>`"invoices"."amount" - "invoices"."paid"`.as('amount_due'),
      'invoices.due_date',
      'invoices.due_days_after_shipment',
      'orders.shipped_at',
      'invoices.uip',
      // a number rather than the status's text: one string less to build for each of many rows
      sql<number>`case when "payments"."status" = 'pending' then 1 else 0 end`.as('open'),
    ])
    .where('payments.status', 'in', ['pending', 'cancelled']);
  return dialect === 'sqlite'
    ? // the unary + keeps SQLite off the organization's index: the table is read through
      base.where(sql<string>`+"invoices"."organization_id"`, '=', organizationId)
    : base.where('invoices.organization_id', '=', organizationId).orderBy('invoices.id');
}

/** The rows of `invoicesToMatchQuery`, as arrays, sorted into open and cancelled (since `annulledSince`) invoices. */
export function invoicesToMatchFromRows(
  rows: Iterable<unknown[]>,
  annulledSince: string,
): { open: InvoiceToMatchRow[]; annulled: AnnulledInvoiceRow[] } {
  const open: InvoiceToMatchRow[] = [];
  const annulled: AnnulledInvoiceRow[] = [];
  for (const r of rows) {
    if (Number(r[11]) !== 1) {
      if ((r[2] as string) >= annulledSince)
        annulled.push({ id: r[0] as string, number: r[1] as string, date: r[2] as string, uip: r[10] as string | null });
      continue;
    }
    open.push({
      id: r[0] as string,
      number: r[1] as string,
      date: r[2] as string,
      orderNumber: r[3] as string,
      buyerInn: r[4] as string | null,
      buyerKpp: r[5] as string | null,
      // PostgreSQL hands bigint over as a string
      amountDue: Number(r[6]),
      dueDate: r[7] as string | null,
      dueDaysAfterShipment: r[8] as number | null,
      shippedAt: r[9] as string | null,
      uip: r[10] as string | null,
    });
  }
  return { open, annulled };
}

/**
 * Records a statement line's share applied to an invoice; false when that line's share was applied
 * before (the pair is the key), so a share is applied once however often matching runs.
 */
export async function recordTransfer(trx: Executor, row: InvoiceTransfersTable): Promise<boolean> {
  const r = await trx.executeQuery(insertIgnoreQuery(trx, 'invoice_transfers', row, ['statement_line_id', 'invoice_id']).compile(trx));
  return Number(r.numAffectedRows ?? 0n) > 0;
}

/** The bank transfer a payment of an invoice was made of. */
export async function transferOfPayment(db: Executor, paymentId: string): Promise<InvoiceTransfersTable | undefined> {
  return db.selectFrom('invoice_transfers').selectAll().where('payment_id', '=', paymentId).executeTakeFirst();
}

export async function invoiceTransfers(db: Executor, invoiceId: string): Promise<InvoiceTransfersTable[]> {
  return db.selectFrom('invoice_transfers').selectAll().where('invoice_id', '=', invoiceId).orderBy('created_at').execute();
}

/** Adds a transfer's amount to what the invoice has been paid. */
export async function addInvoicePaid(trx: Executor, invoiceId: string, amount: number): Promise<void> {
  await trx
    .updateTable('invoices')
    .set((eb) => ({ paid: eb('paid', '+', amount) }))
    .where('id', '=', invoiceId)
    .execute();
}

export async function transferApplied(db: Executor, statementLineId: string, invoiceId: string): Promise<boolean> {
  const row = await db
    .selectFrom('invoice_transfers')
    .select('payment_id')
    .where('statement_line_id', '=', statementLineId)
    .where('invoice_id', '=', invoiceId)
    .executeTakeFirst();
  return row !== undefined;
}

/** An organization's invoice by its number as printed, with what is left to pay on it (its payment's amount while pending). */
export async function invoiceByNumber(
  db: Executor,
  organizationId: string,
  number: string,
): Promise<(InvoicesTable & { payment_status: string; left: number }) | undefined> {
  const row = await db
    .selectFrom('invoices')
    .innerJoin('payments', 'payments.id', 'invoices.payment_id')
    .selectAll('invoices')
    .select(['payments.status as payment_status', 'payments.amount as left'])
    .where('invoices.organization_id', '=', organizationId)
    .where('invoices.number', '=', number)
    .orderBy('invoices.year', 'desc')
    .executeTakeFirst();
  return row ? { ...row, left: Number(row.left) } : undefined;
}
