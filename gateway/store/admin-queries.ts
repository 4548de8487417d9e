import type { PaymentStatus } from '../domain/payment-state';
import { sql } from 'kysely';
import type { Executor } from './db';
import type { JobRow, PaymentRow } from './schema';
import { page } from './sql';

/** What the /admin pages read that no flow needs: payment search, the week's takings, counts of stuck items. */

export interface PaymentSearch {
  /** The order's number, or the number the bank knows the attempt by, or the payment's id. */
  orderNumber?: string;
  amount?: number;
  /** [from, to) in ISO time: the payment's creation. */
  from?: string;
  to?: string;
  status?: PaymentStatus;
  /** Only payments paid whose document is not in 1C yet. */
  notInOneC?: boolean;
  limit: number;
}

export type FoundPayment = PaymentRow & { order_number: string };

export async function searchPayments(db: Executor, f: PaymentSearch): Promise<FoundPayment[]> {
  let q = db.selectFrom('payments as p').innerJoin('orders as o', 'o.id', 'p.order_id').selectAll('p').select('o.number as order_number');
  if (f.orderNumber) {
    const n = f.orderNumber;
    q = q.where((eb) =>
      eb.or([
        eb('o.number', '=', n),
        eb('p.id', '=', n),
        eb.exists(
          eb.selectFrom('payment_attempts as a').select('a.id').whereRef('a.payment_id', '=', 'p.id').where('a.order_number', '=', n),
        ),
      ]),
    );
  }
  if (f.amount !== undefined) q = q.where('p.amount', '=', f.amount);
  if (f.from) q = q.where('p.created_at', '>=', f.from);
  if (f.to) q = q.where('p.created_at', '<', f.to);
  if (f.status) q = q.where('p.status', '=', f.status);
  if (f.notInOneC) {
    q = q
      .where('p.status', 'in', ['paid', 'partially_refunded', 'refunded'])
      .where('p.onec_status', 'in', ['pending', 'failed', 'waiting_for_order']);
  }
  return page(db, q.orderBy('p.created_at', 'desc').orderBy('p.id', 'desc'), f.limit).execute() as Promise<FoundPayment[]>;
}

/** Payments paid since `since` (method, amount, when), at most `limit`: the overview's chart adds them up by day. */
export async function paidSince(
  db: Executor,
  since: string,
  limit = 100_000,
): Promise<{ method: string; amount: number; paid_at: string }[]> {
  const rows = await page(
    db,
    db
      .selectFrom('payments')
      .select(['method', 'amount', 'paid_at'])
      .where('paid_at', '>=', since)
      .where('status', 'in', ['paid', 'partially_refunded', 'refunded'])
      .orderBy('paid_at'),
    limit,
  ).execute();
  return rows.map((r) => ({ method: r.method, amount: Number(r.amount), paid_at: r.paid_at! }));
}

export async function failedReceiptsCount(db: Executor): Promise<number> {
  const r = await db
    .selectFrom('receipts')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('status', '=', 'failed')
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** Jobs whose payload names the id (a payment's deliveries, notices, receipts), newest first. */
export async function jobsMentioning(db: Executor, id: string, limit = 50): Promise<JobRow[]> {
  return page(
    db,
    db
      .selectFrom('jobs')
      .selectAll()
      .where('payload', 'like', `%"${id.replace(/[%_"\\]/g, '')}"%`)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc'),
    limit,
  ).execute();
}

/** When each bank last sent a callback, per organization. */
export async function lastCallbacks(db: Executor): Promise<{ organization_id: string; provider: string; last: string | null }[]> {
  const rows = await db
    .selectFrom('payment_events')
    .select(['organization_id', 'provider', (eb) => eb.fn.max('received_at').as('last')])
    .where('kind', '=', 'callback')
    .groupBy(['organization_id', 'provider'])
    .execute();
  return rows.map((r) => ({ organization_id: r.organization_id, provider: r.provider, last: (r.last as string | null) ?? null }));
}

/** Per register: the last receipt registered and how many failed. */
export async function receiptsByRegister(
  db: Executor,
): Promise<{ organization_id: string; register_id: string; last_done: string | null; failed: number }[]> {
  const rows = await db
    .selectFrom('receipts')
    .select([
      'organization_id',
      'register_id',
      (eb) => eb.fn.max('done_at').as('last_done'),
      (eb) => eb.fn.sum<number>(sql<number>`case when status = 'failed' then 1 else 0 end`).as('failed'),
    ])
    .groupBy(['organization_id', 'register_id'])
    .execute();
  return rows.map((r) => ({
    organization_id: r.organization_id,
    register_id: r.register_id,
    last_done: (r.last_done as string | null) ?? null,
    failed: Number(r.failed ?? 0),
  }));
}
