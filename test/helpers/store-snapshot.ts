import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Store } from '../../gateway/store/db';

/** Each table's row count and a hash of its rows (in rowid order), on SQLite. */
export type StoreSnapshot = Map<string, { rows: number; hash: string }>;

async function tableNames(store: Store): Promise<string[]> {
  const r = await sql<{
    name: string;
  }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(store.db);
  return r.rows.map((t) => t.name);
}

/** A snapshot of every table of an SQLite store but those in `except`. */
export async function snapshotStore(store: Store, except: readonly string[] = []): Promise<StoreSnapshot> {
  if (store.dialect !== 'sqlite') throw new Error(`store snapshots are taken on SQLite, not ${store.dialect}`);
  const out: StoreSnapshot = new Map();
  for (const name of await tableNames(store)) {
    if (except.includes(name)) continue;
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(name)} order by rowid`.execute(store.db)).rows;
    const h = createHash('sha256');
    for (const row of rows) h.update(JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)) + '\n');
    out.set(name, { rows: rows.length, hash: h.digest('hex') });
  }
  return out;
}

/** The tables whose rows differ between two snapshots, with their counts before and after. */
export function changedTables(before: StoreSnapshot, after: StoreSnapshot): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  const changed: string[] = [];
  for (const n of names) {
    const a = before.get(n);
    const b = after.get(n);
    if (a?.hash !== b?.hash) changed.push(`${n} (${a?.rows ?? 'absent'} → ${b?.rows ?? 'absent'} rows)`);
  }
  return changed;
}
