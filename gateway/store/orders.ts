import { sql } from 'kysely';
import { orderStatusFor } from '../domain/order';
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

const setStatus = prepared((db, p: { status: string; id: string }) =>
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
