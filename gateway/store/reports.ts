import { sql, type Expression, type SqlBool } from 'kysely';
import type { Executor } from './db';
import type { StatementMatchState } from './schema';
import { page, rowsAsArrays } from './sql';

/**
 * The queries of the reports. Each reads one period — ISO UTC instants [from, to) and, for what is
 * dated by day (statement lines, invoices), the days [fromDay, toDay] — of one organization or all,
 * and the ones that can be long read a page at a time after a key (keyset paging), so a year of a big
 * store is never held in memory at once.
 */
export interface ReportRange {
  /** First instant of the period, ISO UTC. */
  from: string;
  /** The instant after the period, ISO UTC. */
  to: string;
  /** The same period as days (YYYY-MM-DD), both included. */
  fromDay: string;
  toDay: string;
  organization?: string;
}

/** The statuses of a payment whose money was taken (whatever was returned of it later). */
export const PAID_STATUSES = ['paid', 'refunded', 'partially_refunded'] as const;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * From `from` on, after (a, id) in the order (a, id) when there is a key: the period's lower bound and
 * the keyset condition of the next page as one range (key.at is never before `from`), so the index is
 * entered at the key and not at the period's start.
 */
function since(col: string, id: string, from: string, key: { at: string; id: string } | null): Expression<SqlBool> {
  return key ? after(col, id, key) : sql<SqlBool>`${sql.ref(col)} >= ${from}`;
}

/** After (a, id) in the order (a, id): the keyset condition of the next page. */
function after(col: string, id: string, key: { at: string; id: string } | null): Expression<SqlBool> {
  if (!key) return sql<SqlBool>`1 = 1`;
  // the first term keeps the index range; the rest cuts inside equal values
  return sql<SqlBool>`${sql.ref(col)} >= ${key.at} and (${sql.ref(col)} > ${key.at} or ${sql.ref(id)} > ${key.id})`;
}

export interface PaidByHour {
  /** YYYY-MM-DDTHH of the UTC hour. */
  hour: string;
  organization_id: string;
  method: string;
  provider: string;
  count: number;
  paid: number;
  /** The fees the bank reported on these payments; null when it reported none. */
  fee: number | null;
}

/** Payments paid in the period, summed by UTC hour, organization, method and provider, with the fees the bank reported. */
export async function paidByHour(db: Executor, r: ReportRange): Promise<PaidByHour[]> {
  let inner = db
    .selectFrom('payments as p')
    .select([
      sql<string>`substring(p.paid_at, 1, 13)`.as('hour'),
      'p.organization_id',
      'p.method',
      'p.provider',
      'p.amount',
      sql<number | null>`(select sum(o.fee) from payment_operations o where o.payment_id = p.id and o.kind = 'payment')`.as('fee'),
    ])
    .where('p.paid_at', '>=', r.from)
    .where('p.paid_at', '<', r.to)
    .where('p.status', 'in', PAID_STATUSES);
  if (r.organization) inner = inner.where('p.organization_id', '=', r.organization);
  const rows = await db
    .selectFrom(inner.as('x'))
    .select([
      'x.hour',
      'x.organization_id',
      'x.method',
      'x.provider',
      sql<number>`count(*)`.as('count'),
      sql<number>`sum(x.amount)`.as('paid'),
      sql<number | null>`sum(x.fee)`.as('fee'),
    ])
    .groupBy(['x.hour', 'x.organization_id', 'x.method', 'x.provider'])
    .execute();
  return rows.map((x) => ({ ...x, count: num(x.count), paid: num(x.paid), fee: numOrNull(x.fee) }));
}

export interface RefundedByHour {
  hour: string;
  organization_id: string;
  method: string;
  provider: string;
  count: number;
  refunded: number;
}

/** Refunds made in the period (succeeded; dated when asked for), summed by UTC hour and their payment's organization, method and provider. */
export async function refundedByHour(db: Executor, r: ReportRange): Promise<RefundedByHour[]> {
  let inner = db
    .selectFrom('refunds as r')
    .innerJoin('payments as p', 'p.id', 'r.payment_id')
    .select([sql<string>`substring(r.created_at, 1, 13)`.as('hour'), 'p.organization_id', 'p.method', 'p.provider', 'r.amount'])
    .where('r.created_at', '>=', r.from)
    .where('r.created_at', '<', r.to)
    .where('r.status', '=', 'succeeded');
  if (r.organization) inner = inner.where('p.organization_id', '=', r.organization);
  const rows = await db
    .selectFrom(inner.as('x'))
    .select([
      'x.hour',
      'x.organization_id',
      'x.method',
      'x.provider',
      sql<number>`count(*)`.as('count'),
      sql<number>`sum(x.amount)`.as('refunded'),
    ])
    .groupBy(['x.hour', 'x.organization_id', 'x.method', 'x.provider'])
    .execute();
  return rows.map((x) => ({ ...x, count: num(x.count), refunded: num(x.refunded) }));
}

export interface PaidPaymentRow {
  id: string;
  order_id: string;
  order_number: string;
  organization_id: string;
  method: string;
  provider: string;
  amount: number;
  refunded_amount: number;
  status: string;
  paid_at: string;
  onec_status: string;
  onec_document: string | null;
  onec_number: string | null;
  onec_error: string | null;
}

export interface ReconciledPaymentRow extends PaidPaymentRow {
  /** What the provider's history holds for it: the payment operations' sum and the first one's time and id. */
  bank_amount: number | null;
  bank_at: string | null;
  bank_ref: string | null;
  /** What bank transfers (statement lines' shares) paid it: their sum, and the first one's date and number. */
  transfer_amount: number | null;
  transfer_date: string | null;
  transfer_number: string | null;
}

export type Key = { at: string; id: string };

/** The payments paid in the period after `key`, in the order they were paid (what to select is added). */
function inPeriod(db: Executor, r: ReportRange, key: Key | null) {
  let q = db
    .selectFrom('payments as p')
    .where(since('p.paid_at', 'p.id', r.from, key))
    .where('p.paid_at', '<', r.to)
    .where('p.status', 'in', PAID_STATUSES)
    .orderBy('p.paid_at')
    .orderBy('p.id');
  if (r.organization) q = q.where('p.organization_id', '=', r.organization);
  return q;
}

function paidInPeriod(db: Executor, r: ReportRange, key: Key | null) {
  return inPeriod(db, r, key).select([
    'p.id',
    'p.order_id',
    'p.organization_id',
    'p.method',
    'p.provider',
    'p.amount',
    'p.refunded_amount',
    'p.status',
    sql<string>`p.paid_at`.as('paid_at'),
    'p.onec_status',
    'p.onec_document',
    'p.onec_number',
    'p.onec_error',
  ]);
}

/**
 * A page of the payments paid in the period, in the order they were paid, after `key`, that differ
 * somewhere: with the bank's side (no provider operation or bank transfer for it, or another amount)
 * or with 1C (its payment document is missing though it should be there). One statement: each
 * payment's sums on the bank's side are looked up by key as the period is scanned and only the ones
 * that differ are returned, with their order's number and the provider's id.
 */
export async function paymentDifferencesPage(
  db: Executor,
  r: ReportRange,
  key: Key | null,
  limit: number,
): Promise<ReconciledPaymentRow[]> {
  const inner = paidInPeriod(db, r, key)
    .clearOrderBy()
    .select([
      sql<number | null>`(select sum(o.amount) from payment_operations o where o.payment_id = p.id and o.kind = 'payment')`.as(
        'bank_amount',
      ),
      sql<number | null>`(select sum(t.amount) from invoice_transfers t where t.payment_id = p.id)`.as('transfer_amount'),
    ]);
  const bank = sql`case when x.method = 'invoice' then x.transfer_amount else x.bank_amount end`;
  const q = db
    .selectFrom(inner.as('x'))
    .selectAll('x')
    .select([
      sql<string | null>`(select o.number from orders o where o.id = x.order_id)`.as('order_number'),
      sql<string | null>`(select min(o.occurred_at) from payment_operations o where o.payment_id = x.id and o.kind = 'payment')`.as(
        'bank_at',
      ),
      sql<string | null>`(select min(o.provider_ref) from payment_operations o where o.payment_id = x.id and o.kind = 'payment')`.as(
        'bank_ref',
      ),
      sql<string | null>`(select min(t.bank_date) from invoice_transfers t where t.payment_id = x.id)`.as('transfer_date'),
      sql<string | null>`(select min(t.bank_number) from invoice_transfers t where t.payment_id = x.id)`.as('transfer_number'),
    ])
    .where(
      // the bank's amount written once: each time it is written, PostgreSQL looks it up again
      sql<SqlBool>`(coalesce(${bank}, -1) <> x.amount
        or x.onec_status in ('pending', 'waiting_for_order', 'failed')
        or (x.onec_status = 'delivered' and (x.onec_document is null or x.onec_document = '')))`,
    )
    .orderBy('x.paid_at')
    .orderBy('x.id');
  const rows = await page(db, q, limit).execute();
  return rows.map((x) => ({
    ...x,
    order_number: x.order_number ?? '',
    amount: num(x.amount),
    refunded_amount: num(x.refunded_amount),
    bank_amount: numOrNull(x.bank_amount),
    transfer_amount: numOrNull(x.transfer_amount),
  }));
}

export interface BankOnlyOperationRow {
  id: string;
  organization_id: string;
  provider: string;
  provider_ref: string;
  order_number: string | null;
  method: string | null;
  amount: number;
  occurred_at: string;
  match_state: string;
  match_note: string | null;
  payment_id: string | null;
  payment_status: string | null;
}

/**
 * A page of the payment operations of the period that no paid payment of ours stands for: tied to no
 * payment (and not closed by support), or to one that is not paid here.
 */
export async function bankOnlyOperationsPage(
  db: Executor,
  r: ReportRange,
  key: Key | null,
  limit: number,
): Promise<BankOnlyOperationRow[]> {
  // the payment's state looked up by key for each operation of the period (a join would have PostgreSQL
  // read every payment ever made to hash them)
  const paymentStatus = sql<string | null>`(select p.status from payments p where p.id = b.payment_id)`;
  let q = db
    .selectFrom('payment_operations as b')
    .select([
      'b.id',
      'b.organization_id',
      'b.provider',
      'b.provider_ref',
      'b.order_number',
      'b.method',
      'b.amount',
      'b.occurred_at',
      'b.match_state',
      'b.match_note',
      'b.payment_id',
      paymentStatus.as('payment_status'),
    ])
    .where('b.kind', '=', 'payment')
    .where(since('b.occurred_at', 'b.id', r.from, key))
    .where('b.occurred_at', '<', r.to)
    .where((w) =>
      w.or([
        w.and([w('b.payment_id', 'is', null), w('b.match_state', '<>', 'resolved')]),
        w.and([w('b.payment_id', 'is not', null), w(paymentStatus, 'not in', PAID_STATUSES)]),
      ]),
    )
    .orderBy('b.occurred_at')
    .orderBy('b.id');
  if (r.organization) q = q.where('b.organization_id', '=', r.organization);
  const rows = await page(db, q, limit).execute();
  return rows.map((x) => ({ ...x, amount: num(x.amount) }));
}

export interface StatementLineBrief {
  id: string;
  organization_id: string;
  account: string;
  number: string;
  doc_date: string;
  bank_date: string | null;
  amount: number;
  payer_name: string;
  payer_inn: string | null;
  purpose: string;
  match_state: string;
  match_note: string | null;
  created_at: string;
}

function statementLines(db: Executor, states: StatementMatchState[], key: Key | null) {
  return db
    .selectFrom('statement_lines as s')
    .select([
      's.id',
      's.organization_id',
      's.account',
      's.number',
      's.doc_date',
      's.bank_date',
      's.amount',
      's.payer_name',
      's.payer_inn',
      's.purpose',
      's.match_state',
      's.match_note',
      's.created_at',
    ])
    .where('s.match_state', 'in', states)
    .where(after('s.doc_date', 's.id', key))
    .orderBy('s.doc_date')
    .orderBy('s.id');
}

/** A page of the incoming bank lines of the period's days that pay nothing of ours yet (not looked at, or waiting for support). */
export async function unsettledStatementLinesPage(
  db: Executor,
  r: ReportRange,
  key: Key | null,
  limit: number,
): Promise<StatementLineBrief[]> {
  let q = statementLines(db, ['new', 'review'], null)
    .where(since('s.doc_date', 's.id', r.fromDay, key))
    .where('s.doc_date', '<=', r.toDay);
  if (r.organization) q = q.where('s.organization_id', '=', r.organization);
  const rows = await page(db, q, limit).execute();
  return rows.map((x) => ({ ...x, amount: num(x.amount) }));
}

/** A page of the statement lines in the review list dated up to `toDay`. */
export async function reviewStatementLinesPage(
  db: Executor,
  toDay: string,
  organization: string | undefined,
  key: Key | null,
  limit: number,
): Promise<StatementLineBrief[]> {
  let q = statementLines(db, ['review'], key).where('s.doc_date', '<=', toDay);
  if (organization) q = q.where('s.organization_id', '=', organization);
  const rows = await page(db, q, limit).execute();
  return rows.map((x) => ({ ...x, amount: num(x.amount) }));
}

export interface ReviewOperationRow {
  id: string;
  organization_id: string;
  provider: string;
  kind: string;
  provider_ref: string;
  order_number: string | null;
  amount: number;
  occurred_at: string;
  payer_bank: string | null;
  purpose: string | null;
  match_state: string;
  match_note: string | null;
  created_at: string;
}

/** A page of the provider operations in the review list (unmatched, ambiguous, mismatch) that happened before `to`. */
export async function reviewOperationsPage(
  db: Executor,
  to: string,
  organization: string | undefined,
  key: Key | null,
  limit: number,
): Promise<ReviewOperationRow[]> {
  let q = db
    .selectFrom('payment_operations as b')
    .select([
      'b.id',
      'b.organization_id',
      'b.provider',
      'b.kind',
      'b.provider_ref',
      'b.order_number',
      'b.amount',
      'b.occurred_at',
      'b.payer_bank',
      'b.purpose',
      'b.match_state',
      'b.match_note',
      'b.created_at',
    ])
    .where('b.match_state', 'in', ['unmatched', 'ambiguous', 'mismatch'])
    .where('b.occurred_at', '<', to)
    .where(after('b.occurred_at', 'b.id', key))
    .orderBy('b.occurred_at')
    .orderBy('b.id');
  if (organization) q = q.where('b.organization_id', '=', organization);
  const rows = await page(db, q, limit).execute();
  return rows.map((x) => ({ ...x, amount: num(x.amount) }));
}

export interface ReceiptBrief {
  id: string;
  payment_id: string;
  refund_id: string | null;
  kind: string;
  operation: string;
  status: string;
  total: number;
  fn_number: string | null;
  fiscal_document_number: number | null;
  fiscal_document_attribute: number | null;
  fiscal_datetime: string | null;
  error: string | null;
  created_at: string;
}

/** A payment paid in the period with its receipts (its own and its refunds', oldest first) and its succeeded refunds. */
export interface PaymentReceipts {
  id: string;
  order_number: string;
  organization_id: string;
  method: string;
  amount: number;
  refunded_amount: number;
  paid_at: string;
  receipts: ReceiptBrief[];
  refunds: RefundBrief[];
}

/** Up to (a, id) in the order (a, id): the last row of a page included. */
function upTo(col: string, id: string, key: Key): Expression<SqlBool> {
  return sql<SqlBool>`${sql.ref(col)} <= ${key.at} and (${sql.ref(col)} < ${key.at} or ${sql.ref(id)} <= ${key.id})`;
}

/**
 * A page of the payments paid in the period, in the order they were paid, after `key` (at most `limit`
 * payments), each with its order's number, its receipts and its succeeded refunds. Two statements a
 * page: the page of payments joined to their receipts, and the refunds of the same range of payments.
 */
export async function paymentReceiptsPage(db: Executor, r: ReportRange, key: Key | null, limit: number): Promise<PaymentReceipts[]> {
  const inner = inPeriod(db, r, key).select([
    'p.id',
    'p.order_id',
    'p.organization_id',
    'p.method',
    'p.amount',
    'p.refunded_amount',
    sql<string>`p.paid_at`.as('paid_at'),
  ]);
  const query = db
    .selectFrom(page(db, inner, limit).as('x'))
    .leftJoin('receipts as rc', 'rc.payment_id', 'x.id')
    .select([
      'x.id',
      sql<string | null>`(select o.number from orders o where o.id = x.order_id)`.as('order_number'),
      'x.organization_id',
      'x.method',
      'x.amount',
      'x.refunded_amount',
      'x.paid_at',
      'rc.id as rc_id',
      'rc.refund_id as rc_refund_id',
      'rc.kind as rc_kind',
      'rc.operation as rc_operation',
      'rc.status as rc_status',
      'rc.total as rc_total',
      'rc.fn_number as rc_fn_number',
      'rc.fiscal_document_number as rc_fiscal_document_number',
      'rc.fiscal_document_attribute as rc_fiscal_document_attribute',
      'rc.fiscal_datetime as rc_fiscal_datetime',
      'rc.error as rc_error',
      'rc.created_at as rc_created_at',
    ])
    .orderBy('x.paid_at')
    .orderBy('x.id')
    .orderBy('rc.created_at')
    .orderBy('rc.id');
  // a month's payments with their receipts are many thousands of rows: read as arrays, in the order selected
  const rows = await rowsAsArrays(db, query);
  const out: PaymentReceipts[] = [];
  let p: PaymentReceipts | undefined;
  for (const x of rows) {
    const id = x[0] as string;
    if (p?.id !== id) {
      p = {
        id,
        order_number: (x[1] as string | null) ?? '',
        organization_id: x[2] as string,
        method: x[3] as string,
        amount: num(x[4]),
        refunded_amount: num(x[5]),
        paid_at: x[6] as string,
        receipts: [],
        refunds: [],
      };
      out.push(p);
    }
    if (x[7] !== null)
      p.receipts.push({
        id: x[7] as string,
        payment_id: id,
        refund_id: x[8] as string | null,
        kind: x[9] as string,
        operation: x[10] as string,
        status: x[11] as string,
        total: num(x[12]),
        fn_number: x[13] as string | null,
        fiscal_document_number: numOrNull(x[14]),
        fiscal_document_attribute: numOrNull(x[15]),
        fiscal_datetime: x[16] as string | null,
        error: x[17] as string | null,
        created_at: x[18] as string,
      });
  }
  const last = out[out.length - 1];
  if (!last) return out;
  let q = db
    .selectFrom('refunds as f')
    .innerJoin('payments as p', 'p.id', 'f.payment_id')
    .select(['f.id', 'f.payment_id', 'f.amount', 'f.created_at'])
    .where('f.status', '=', 'succeeded')
    .where(since('p.paid_at', 'p.id', r.from, key))
    .where('p.paid_at', '<', r.to)
    .where('p.status', 'in', PAID_STATUSES)
    .where(upTo('p.paid_at', 'p.id', { at: last.paid_at, id: last.id }))
    // in the payments' order, so the page's range of payments is what is read
    .orderBy('p.paid_at')
    .orderBy('p.id')
    .orderBy('f.created_at')
    .orderBy('f.id');
  if (r.organization) q = q.where('p.organization_id', '=', r.organization);
  const refunds = await q.execute();
  if (refunds.length) {
    const byId = new Map(out.map((p) => [p.id, p]));
    for (const f of refunds) byId.get(f.payment_id)?.refunds.push({ ...f, amount: num(f.amount) });
  }
  return out;
}

export interface RefundBrief {
  id: string;
  payment_id: string;
  amount: number;
  created_at: string;
}

export interface AgeingInvoiceRow {
  id: string;
  organization_id: string;
  number: string;
  date: string;
  due_date: string | null;
  amount: number;
  /** What bank transfers dated up to the day asked paid of it. */
  paid_as_of: number;
  customer_inn: string | null;
  /** The order's customer (JSON), for the buyer's name when the customer has no card. */
  customer: string;
  customer_name: string | null;
  credit_limit: number | null;
  deferred_days: number | null;
}

/**
 * A page (by id) of the invoices dated up to `asOfDay` that may have been open that day: not paid in
 * full now, or paid by a transfer dated after it; not cancelled or expired.
 */
export async function ageingInvoicesPage(
  db: Executor,
  asOfDay: string,
  organization: string | undefined,
  afterId: string | null,
  limit: number,
): Promise<AgeingInvoiceRow[]> {
  let q = db
    .selectFrom('invoices as i')
    .innerJoin('payments as p', 'p.id', 'i.payment_id')
    .innerJoin('orders as o', 'o.id', 'i.order_id')
    .leftJoin('customers as c', (j) => j.onRef('c.organization_id', '=', 'i.organization_id').onRef('c.inn', '=', 'o.customer_inn'))
    .select([
      'i.id',
      'i.organization_id',
      'i.number',
      'i.date',
      'i.due_date',
      'i.amount',
      sql<number>`(select sum(t.amount) from invoice_transfers t where t.invoice_id = i.id and t.bank_date <= ${asOfDay})`.as('paid_as_of'),
      'o.customer_inn',
      'o.customer',
      'c.name as customer_name',
      'c.credit_limit',
      'c.deferred_days',
    ])
    .where('i.date', '<=', asOfDay)
    .where('p.status', 'not in', ['cancelled', 'expired', 'declined'])
    .where((w) =>
      w.or([
        w('i.paid', '<', w.ref('i.amount')),
        w('i.id', 'in', w.selectFrom('invoice_transfers as t2').select('t2.invoice_id').where('t2.bank_date', '>', asOfDay)),
      ]),
    )
    .orderBy('i.id');
  if (afterId) q = q.where('i.id', '>', afterId);
  if (organization) q = q.where('i.organization_id', '=', organization);
  const rows = await page(db, q, limit).execute();
  return rows.map((x) => ({ ...x, amount: num(x.amount), paid_as_of: num(x.paid_as_of), credit_limit: numOrNull(x.credit_limit) }));
}
