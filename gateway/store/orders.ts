import { sql } from 'kysely';
import { orderStatusFor } from '../domain/order';
import { nowIso, type Executor } from './db';
import type { NewOrder, OrderRow } from './schema';

export async function insertOrder(db: Executor, row: NewOrder): Promise<void> {
  await db.insertInto('orders').values(row).execute();
}

export async function getOrder(db: Executor, id: string): Promise<OrderRow | undefined> {
  return db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findOrderByExternalId(db: Executor, organizationId: string, externalId: string): Promise<OrderRow | undefined> {
  return db.selectFrom('orders').selectAll().where('organization_id', '=', organizationId).where('external_id', '=', externalId).executeTakeFirst();
}

/**
 * Adds paid and/or refunded money to an order and recomputes its status. The increment comes first:
 * it locks the row, so what is read after it is exact even with two payments settling at once, and
 * `before` is derived from it.
 */
export async function addOrderMoney(db: Executor, orderId: string, delta: { paid?: number; refunded?: number }): Promise<{ before: OrderRow; after: OrderRow }> {
  const paid = delta.paid ?? 0;
  const refunded = delta.refunded ?? 0;
  await db
    .updateTable('orders')
    .set({ paid_amount: sql<number>`paid_amount + ${paid}`, refunded_amount: sql<number>`refunded_amount + ${refunded}`, updated_at: nowIso() })
    .where('id', '=', orderId)
    .execute();
  const row = await getOrder(db, orderId);
  if (!row) throw new Error(`order ${orderId} vanished`);
  const status = orderStatusFor(row.total, row.paid_amount, row.refunded_amount, row.status === 'cancelled');
  if (status !== row.status) await db.updateTable('orders').set({ status }).where('id', '=', orderId).execute();
  const before = { ...row, paid_amount: row.paid_amount - paid, refunded_amount: row.refunded_amount - refunded };
  return { before: { ...before, status: orderStatusFor(before.total, before.paid_amount, before.refunded_amount, row.status === 'cancelled') }, after: { ...row, status } };
}

export async function getOrderByPayToken(db: Executor, token: string): Promise<OrderRow | undefined> {
  return db.selectFrom('orders').selectAll().where('pay_token', '=', token).executeTakeFirst();
}
