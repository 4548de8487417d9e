import { nowIso, type Executor } from './db';
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

/** The site's orders 1C has not taken yet: new, or changed since 1C last confirmed them (orders that came from 1C never go back). */
export async function ordersToExport(db: Executor, organizations: string[]): Promise<OrderRow[]> {
  return db
    .selectFrom('orders')
    .selectAll()
    .where('organization_id', 'in', organizations)
    .where('source', '<>', 'onec')
    .where((eb) => eb.or([eb('exported_at', 'is', null), eb('updated_at', '>', eb.ref('exported_at'))]))
    .orderBy('created_at')
    .execute();
}

/** 1C confirmed the orders a query sent, each as it was then (`updatedAt`): one changed since is sent again. */
export async function markExported(db: Executor, sent: [id: string, updatedAt: string][]): Promise<void> {
  for (const [id, updatedAt] of sent) await db.updateTable('orders').set({ exported_at: updatedAt }).where('id', '=', id).execute();
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

/** Writes the fields of an order that 1C changed (and its updated_at). */
export async function updateOrderFields(db: Executor, id: string, values: Partial<OrderRow>): Promise<void> {
  await db
    .updateTable('orders')
    .set({ ...values, updated_at: nowIso() })
    .where('id', '=', id)
    .execute();
}
