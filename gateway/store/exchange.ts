import { nowIso, type Executor } from './db';
import { buyerOf } from './invoices';
import type { ExchangeFilesTable, ExchangeSessionsTable, OrderRow } from './schema';

/** 1C's exchange with the site (CommerceML): its sessions, the files 1C uploads in them, and the orders a query sends. */

// ---------------------------------------------------------------- sessions

export async function insertSession(db: Executor, row: ExchangeSessionsTable): Promise<void> {
  await db.insertInto('exchange_sessions').values(row).execute();
}

/** Deletes the sessions not seen since `before`, with their files' rows; the ids deleted (their folders go too). */
export async function deleteStaleSessions(db: Executor, before: string): Promise<string[]> {
  const stale = (await db.selectFrom('exchange_sessions').select('id').where('last_seen_at', '<', before).execute()).map((s) => s.id);
  if (stale.length === 0) return [];
  await db.deleteFrom('exchange_files').where('session_id', 'in', stale).execute();
  await db.deleteFrom('exchange_sessions').where('last_seen_at', '<', before).execute();
  return stale;
}

export async function getSession(db: Executor, baseId: string, id: string): Promise<ExchangeSessionsTable | undefined> {
  return db.selectFrom('exchange_sessions').selectAll().where('id', '=', id).where('base_id', '=', baseId).executeTakeFirst();
}

/** The base a session belongs to (whichever base's credentials came with it). */
export async function sessionBaseId(db: Executor, id: string): Promise<string | undefined> {
  return (await db.selectFrom('exchange_sessions').select('base_id').where('id', '=', id).executeTakeFirst())?.base_id;
}

export async function updateSession(
  db: Executor,
  id: string,
  set: Partial<Pick<ExchangeSessionsTable, 'version' | 'last_seen_at' | 'query_at' | 'query_orders'>>,
): Promise<void> {
  await db.updateTable('exchange_sessions').set(set).where('id', '=', id).execute();
}

// ---------------------------------------------------------------- files

export async function getFile(db: Executor, sessionId: string, filename: string): Promise<ExchangeFilesTable | undefined> {
  return db
    .selectFrom('exchange_files')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('filename', '=', filename)
    .executeTakeFirst();
}

/** Records that `bytes` of the file are on disk (a new file starts `uploading`). */
export async function saveUploadedBytes(db: Executor, sessionId: string, filename: string, bytes: number, isNew: boolean): Promise<void> {
  const now = nowIso();
  if (isNew) {
    await db
      .insertInto('exchange_files')
      .values({ session_id: sessionId, filename, bytes, state: 'uploading', result: null, updated_at: now })
      .execute();
  } else {
    await db
      .updateTable('exchange_files')
      .set({ bytes, updated_at: now })
      .where('session_id', '=', sessionId)
      .where('filename', '=', filename)
      .execute();
  }
}

export async function deleteFile(db: Executor, sessionId: string, filename: string): Promise<void> {
  await db.deleteFrom('exchange_files').where('session_id', '=', sessionId).where('filename', '=', filename).execute();
}

/** A file's import: `importing`, then `done` with the operator's notes or `failed` with the reason (result, JSON). */
export async function setFileState(
  db: Executor,
  sessionId: string,
  filename: string,
  state: ExchangeFilesTable['state'],
  result?: string,
): Promise<void> {
  await db
    .updateTable('exchange_files')
    .set({ state, ...(result !== undefined ? { result } : {}), updated_at: nowIso() })
    .where('session_id', '=', sessionId)
    .where('filename', '=', filename)
    .execute();
}

// ---------------------------------------------------------------- orders

/**
 * The site's orders a 1C base has not taken yet: new, or changed since that base last confirmed them
 * (each base has its own marks; orders that came from 1C never go back). A base with no mark of its
 * own for an order goes by the order's mark from before marks were kept per base.
 */
export async function ordersToExport(db: Executor, baseId: string, organizations: string[]): Promise<OrderRow[]> {
  return db
    .selectFrom('orders')
    .leftJoin('exchange_exports as x', (j) => j.onRef('x.order_id', '=', 'orders.id').on('x.base_id', '=', baseId))
    .selectAll('orders')
    .where('orders.organization_id', 'in', organizations)
    .where('orders.source', '<>', 'onec')
    .where((eb) => {
      const mark = eb.fn.coalesce('x.exported_at', 'orders.exported_at');
      return eb.or([eb(mark, 'is', null), eb('orders.updated_at', '>', mark)]);
    })
    .orderBy('orders.created_at')
    .execute();
}

/** Sets a base's mark of an order (a row of its own, made on first use). */
export async function setExportMark(db: Executor, baseId: string, orderId: string, at: string): Promise<void> {
  const u = await db
    .updateTable('exchange_exports')
    .set({ exported_at: at })
    .where('base_id', '=', baseId)
    .where('order_id', '=', orderId)
    .executeTakeFirst();
  if (Number(u.numUpdatedRows) === 0)
    await db.insertInto('exchange_exports').values({ base_id: baseId, order_id: orderId, exported_at: at }).execute();
}

/** A base confirmed the orders a query sent, each as it was then (`updatedAt`): one changed since is sent again. */
export async function markExported(db: Executor, baseId: string, sent: [id: string, updatedAt: string][]): Promise<void> {
  for (const [id, updatedAt] of sent) await setExportMark(db, baseId, id, updatedAt);
}

/** The state of an order a base last confirmed (its own mark, else the order's from before per-base marks). */
export async function exportMark(db: Executor, baseId: string, order: Pick<OrderRow, 'id' | 'exported_at'>): Promise<string | null> {
  const own = await db
    .selectFrom('exchange_exports')
    .select('exported_at')
    .where('base_id', '=', baseId)
    .where('order_id', '=', order.id)
    .executeTakeFirst();
  return own?.exported_at ?? order.exported_at;
}

/** An order of these organizations that 1C names by number (the newest), or by its id, external id or 1C ref. */
export async function findOrderNamed(db: Executor, organizations: string[], key: string): Promise<OrderRow | undefined> {
  return (
    (await db
      .selectFrom('orders')
      .selectAll()
      .where('organization_id', 'in', organizations)
      .where('number', '=', key)
      .orderBy('created_at', 'desc')
      .executeTakeFirst()) ??
    (await db
      .selectFrom('orders')
      .selectAll()
      .where('organization_id', 'in', organizations)
      .where((eb) => eb.or([eb('external_id', '=', key), eb('id', '=', key), eb('onec_ref', '=', key)]))
      .executeTakeFirst())
  );
}

/** Writes the fields of an order that 1C changed, and its updated_at (answered). */
export async function updateOrderFields(db: Executor, id: string, values: Partial<OrderRow>): Promise<string> {
  const updatedAt = nowIso();
  await db
    .updateTable('orders')
    .set({ ...values, updated_at: updatedAt })
    .where('id', '=', id)
    .execute();
  // the order's invoices keep its number and buyer for statement matching
  if (values.number !== undefined || values.customer !== undefined) {
    const order = await db.selectFrom('orders').select(['number', 'customer']).where('id', '=', id).executeTakeFirstOrThrow();
    await db
      .updateTable('invoices')
      .set({ order_number: order.number, ...buyerOf(order.customer) })
      .where('order_id', '=', id)
      .execute();
  }
  return updatedAt;
}
