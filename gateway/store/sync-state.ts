import { nowIso, type Executor, type Store } from './db';

/** Watermarks and small state of the schedules (a pull's last seen date, the history agent's last window), by key. */

export async function getSyncState(db: Executor, key: string): Promise<string | undefined> {
  return (await db.selectFrom('sync_state').select('value').where('key', '=', key).executeTakeFirst())?.value;
}

/** Sets a key's value, in a transaction of its own. */
export async function setSyncState(store: Store, key: string, value: string): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    const now = nowIso();
    const u = await trx.updateTable('sync_state').set({ value, updated_at: now }).where('key', '=', key).executeTakeFirst();
    if (Number(u.numUpdatedRows) === 0) await trx.insertInto('sync_state').values({ key, value, updated_at: now }).execute();
  });
}

/** Every key starting with `prefix`, with its value. */
export async function syncStatesWithPrefix(db: Executor, prefix: string): Promise<{ key: string; value: string }[]> {
  return db.selectFrom('sync_state').select(['key', 'value']).where('key', 'like', `${prefix}%`).execute();
}
