import { nowIso, type Dialect, type Executor } from './db';
import type { MatchState, OperationRow, PaymentOperationsTable } from './schema';
import { insertIgnore, page } from './sql';

/**
 * The payment history. An operation is written once (its `op_key` is the same whichever source
 * reports it); a later report only fills in what the first one did not know.
 */
export async function upsertOperation(
  db: Executor,
  dialect: Dialect,
  row: PaymentOperationsTable,
): Promise<{ inserted: boolean; row: OperationRow }> {
  const inserted = await insertIgnore(db, dialect, 'payment_operations', row, ['organization_id', 'op_key']);
  const stored = (await getOperationByKey(db, row.organization_id, row.op_key))!;
  if (inserted) return { inserted, row: stored };
  const fill: Partial<PaymentOperationsTable> = {};
  for (const k of ['payer_bank', 'purpose', 'method', 'order_number', 'raw'] as const)
    if (stored[k] === null && row[k] !== null) fill[k] = row[k];
  if (Object.keys(fill).length === 0) return { inserted, row: stored };
  await db
    .updateTable('payment_operations')
    .set({ ...fill, updated_at: nowIso() })
    .where('id', '=', stored.id)
    .execute();
  return { inserted, row: { ...stored, ...fill } };
}

export async function getOperation(db: Executor, id: string): Promise<OperationRow | undefined> {
  return db.selectFrom('payment_operations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function getOperationByKey(db: Executor, organizationId: string, key: string): Promise<OperationRow | undefined> {
  return db
    .selectFrom('payment_operations')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('op_key', '=', key)
    .executeTakeFirst();
}

/** Every operation of one payment at the provider (its payment and its refunds). */
export async function operationsOfRef(
  db: Executor,
  organizationId: string,
  provider: string,
  providerRef: string,
): Promise<OperationRow[]> {
  return db
    .selectFrom('payment_operations')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('provider', '=', provider)
    .where('provider_ref', '=', providerRef)
    .orderBy('occurred_at')
    .execute();
}

/** Every operation linked to an order, oldest first. */
export async function operationsOfOrder(db: Executor, orderId: string): Promise<OperationRow[]> {
  return db
    .selectFrom('payment_operations')
    .selectAll()
    .where('order_id', '=', orderId)
    .orderBy('occurred_at')
    .orderBy('created_at')
    .execute();
}

export async function setOperationMatch(
  db: Executor,
  id: string,
  set: Partial<Pick<PaymentOperationsTable, 'match_state' | 'match_note' | 'order_id' | 'payment_id' | 'attempt_id' | 'lines' | 'channel'>>,
): Promise<void> {
  await db
    .updateTable('payment_operations')
    .set({ ...set, updated_at: nowIso() })
    .where('id', '=', id)
    .execute();
}

export interface OperationFilter {
  organizations: string[];
  states?: MatchState[];
  from?: string;
  to?: string;
  orderId?: string;
  limit: number;
}

/** The history as the admin API lists it: newest first. */
export async function findOperations(db: Executor, f: OperationFilter): Promise<OperationRow[]> {
  let q = db.selectFrom('payment_operations').selectAll().where('organization_id', 'in', f.organizations);
  if (f.states?.length) q = q.where('match_state', 'in', f.states);
  if (f.from) q = q.where('occurred_at', '>=', f.from);
  if (f.to) q = q.where('occurred_at', '<', f.to);
  if (f.orderId) q = q.where('order_id', '=', f.orderId);
  return page(db, q.orderBy('occurred_at', 'desc').orderBy('id'), f.limit).execute();
}
