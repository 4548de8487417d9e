import type { Executor } from './db';
import type { AdminSessionRow, AdminSessionsTable } from './schema';

/** The sessions of the /admin pages. */

export async function insertAdminSession(db: Executor, row: AdminSessionsTable): Promise<void> {
  await db.insertInto('admin_sessions').values(row).execute();
}

/** The session of a cookie (by its hash), while neither idle past `idleSince` nor past its absolute end. */
export async function liveAdminSession(db: Executor, id: string, now: string, idleSince: string): Promise<AdminSessionRow | undefined> {
  return db
    .selectFrom('admin_sessions')
    .selectAll()
    .where('id', '=', id)
    .where('expires_at', '>', now)
    .where('last_seen_at', '>', idleSince)
    .executeTakeFirst();
}

export async function touchAdminSession(db: Executor, id: string, at: string): Promise<void> {
  await db.updateTable('admin_sessions').set({ last_seen_at: at }).where('id', '=', id).execute();
}

export async function deleteAdminSession(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('admin_sessions').where('id', '=', id).execute();
}

/** Forgets sessions that ended (absolute end passed, or idle since before `idleSince`). */
export async function purgeAdminSessions(db: Executor, now: string, idleSince: string): Promise<void> {
  await db
    .deleteFrom('admin_sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', idleSince)]))
    .execute();
}
