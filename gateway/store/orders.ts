import { newId } from '../domain/ids';
import { sql } from 'kysely';
import { orderStatusFor, type OrderStatus } from '../domain/order';
import { nowIso, type Executor } from './db';
import { prepared } from './prepared';
import { isMssql } from './sql';
import type { NewOrder, OrderRow } from './schema';

export async function insertOrder(db: Executor, row: NewOrder): Promise<void> {
  await db.insertInto('orders').values(row).execute();
}

export async function getOrder(db: Executor, id: string): Promise<OrderRow | undefined> {
  return db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findOrderByExternalId(db: Executor, organizationId: string, externalId: string): Promise<OrderRow | undefined> {
  return db
    .selectFrom('orders')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
}

/** What addOrderMoney reads back: the money and the status, not the order's content. */
export type OrderMoney = Pick<OrderRow, 'id' | 'total' | 'paid_amount' | 'refunded_amount' | 'status'>;

const incrementMoney = prepared((db, p: { paid: number; refunded: number; updated_at: string; id: string }) => {
  const q = db
    .updateTable('orders')
    .set({
      paid_amount: sql<number>`paid_amount + ${p.paid}`,
      refunded_amount: sql<number>`refunded_amount + ${p.refunded}`,
      updated_at: p.updated_at,
    })
    .where('id', '=', p.id);
  return isMssql(db)
    ? q.output(['inserted.id', 'inserted.total', 'inserted.paid_amount', 'inserted.refunded_amount', 'inserted.status'])
    : q.returning(['id', 'total', 'paid_amount', 'refunded_amount', 'status']);
});

const setStatus = prepared((db, p: { status: OrderStatus; id: string }) =>
  db.updateTable('orders').set({ status: p.status }).where('id', '=', p.id),
);

/**
 * Adds paid and/or refunded money to an order and recomputes its status. The increment comes first
 * and returns the row as it left it: the row is locked from there, so what comes back is exact even
 * with two payments settling at once, and `before` is derived from it.
 */
export async function addOrderMoney(
  db: Executor,
  orderId: string,
  delta: { paid?: number; refunded?: number },
): Promise<{ before: OrderMoney; after: OrderMoney }> {
  const paid = delta.paid ?? 0;
  const refunded = delta.refunded ?? 0;
  const row = (await incrementMoney(db, { paid, refunded, updated_at: nowIso(), id: orderId })).rows[0] as OrderMoney | undefined;
  if (!row) throw new Error(`order ${orderId} vanished`);
  const status = orderStatusFor(row.total, row.paid_amount, row.refunded_amount, row.status === 'cancelled');
  if (status !== row.status) await setStatus(db, { status, id: orderId });
  const before = { ...row, paid_amount: row.paid_amount - paid, refunded_amount: row.refunded_amount - refunded };
  return {
    before: { ...before, status: orderStatusFor(before.total, before.paid_amount, before.refunded_amount, row.status === 'cancelled') },
    after: { ...row, status },
  };
}

export async function getOrderByPayToken(db: Executor, token: string): Promise<OrderRow | undefined> {
  return db.selectFrom('orders').selectAll().where('pay_token', '=', token).executeTakeFirst();
}

/** The organization's orders (not cancelled) with any of these numbers: what an operation from elsewhere may be for. */
export async function ordersByNumbers(db: Executor, organizationId: string, numbers: string[]): Promise<OrderRow[]> {
  return db
    .selectFrom('orders')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('number', 'in', numbers)
    .where('status', '!=', 'cancelled')
    .execute();
}

/** Gives the order its payment page token unless it has one; the token the order has afterwards. */
export async function ensurePayToken(db: Executor, id: string, token: string): Promise<string> {
  await db.updateTable('orders').set({ pay_token: token }).where('id', '=', id).where('pay_token', 'is', null).execute();
  return (await getOrder(db, id))!.pay_token!;
}

/** Marks the order shipped unless it is already; false when it was. */
export async function markShipped(db: Executor, id: string, at: string, statusText: string | null): Promise<boolean> {
  const r = await db
    .updateTable('orders')
    .set({ shipped_at: at, onec_status_text: statusText, updated_at: at })
    .where('id', '=', id)
    .where('shipped_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** A new order row: what is given, the rest as a fresh order has it. */
export function newOrderRow(
  o: Pick<
    OrderRow,
    'organization_id' | 'external_id' | 'number' | 'source' | 'customer' | 'items' | 'total' | 'payment_terms' | 'request_hash' | 'onec_ref'
  >,
): OrderRow {
  const now = nowIso();
  return {
    id: newId(),
    currency: 'RUB',
    status: 'awaiting_payment',
    paid_amount: 0,
    refunded_amount: 0,
    pay_token: null,
    exported_at: null,
    onec_number: null,
    onec_status_text: null,
    onec_paid_number: null,
    onec_paid_at: null,
    shipped_at: null,
    onec_shipment_number: null,
    cancelled_at: null,
    cancel_reason: null,
    created_at: now,
    updated_at: now,
    customer_inn: (JSON.parse(o.customer) as { inn?: string }).inn ?? null,
    ...o,
  };
}
