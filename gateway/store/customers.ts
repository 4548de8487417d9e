import { nowIso, type Executor } from './db';
import type { CustomersTable, InvoicesTable, OrderRow } from './schema';

export type CustomerRow = CustomersTable;

export async function getCustomer(db: Executor, organizationId: string, inn: string): Promise<CustomerRow | undefined> {
  return db.selectFrom('customers').selectAll().where('organization_id', '=', organizationId).where('inn', '=', inn).executeTakeFirst();
}

/** Creates or replaces a customer's record (its terms); two at once: the last one wins. */
export async function putCustomer(db: Executor, row: Omit<CustomerRow, 'updated_at'>): Promise<CustomerRow> {
  const full = { ...row, updated_at: nowIso() };
  await db.transaction().execute(async (trx) => {
    const { organization_id, inn, ...rest } = full;
    const r = await trx
      .updateTable('customers')
      .set(rest)
      .where('organization_id', '=', organization_id)
      .where('inn', '=', inn)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) await trx.insertInto('customers').values(full).execute();
  });
  return full;
}

/** A customer's orders not yet paid in full (newest last), with the invoices issued for them. */
export async function unpaidOrdersOf(
  db: Executor,
  organizationId: string,
  inn: string,
): Promise<{ order: OrderRow; invoice: InvoicesTable | undefined }[]> {
  const orders = await db
    .selectFrom('orders')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('customer_inn', '=', inn)
    .where('status', '=', 'awaiting_payment')
    .orderBy('created_at')
    .execute();
  if (orders.length === 0) return [];
  const invoices = await db
    .selectFrom('invoices')
    .selectAll()
    .where(
      'order_id',
      'in',
      orders.map((o) => o.id),
    )
    .orderBy('created_at')
    .execute();
  const byOrder = new Map(invoices.map((i) => [i.order_id, i]));
  return orders.map((order) => ({ order, invoice: byOrder.get(order.id) }));
}
