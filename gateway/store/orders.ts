import { sql } from 'kysely';
import { orderStatusFor } from '../domain/order';
import { nowIso, type Executor } from './db';
import type { OrderRow, OrdersTable } from './schema';

export async function insertOrder(db: Executor, row: OrdersTable): Promise<void> {
  await db.insertInto('orders').values(row).execute();
}

export async function getOrder(db: Executor, id: string): Promise<OrderRow | undefined> {
  return db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findOrderByExternalId(db: Executor, organizationId: string, externalId: string): Promise<OrderRow | undefined> {
  return db.selectFrom('orders').selectAll().where('organization_id', '=', organizationId).where('external_id', '=', externalId).executeTakeFirst();
}

/**
 * Adds paid and/or refunded money to an order and recomputes its status. The increments are done
 * in SQL so two payments settling at once both count.
 */
export async function addOrderMoney(db: Executor, orderId: string, delta: { paid?: number; refunded?: number }): Promise<{ before: OrderRow; after: OrderRow }> {
  const before = await getOrder(db, orderId);
  if (!before) throw new Error(`order ${orderId} vanished`);
  await db
    .updateTable('orders')
    .set({
      paid_amount: sql<number>`paid_amount + ${delta.paid ?? 0}`,
      refunded_amount: sql<number>`refunded_amount + ${delta.refunded ?? 0}`,
      updated_at: nowIso(),
    })
    .where('id', '=', orderId)
    .execute();
  const mid = (await getOrder(db, orderId))!;
  const status = orderStatusFor(mid.total, mid.paid_amount, mid.refunded_amount, mid.status === 'cancelled');
  if (status !== mid.status) await db.updateTable('orders').set({ status }).where('id', '=', orderId).execute();
  return { before, after: { ...mid, status } };
}
