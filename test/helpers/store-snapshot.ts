import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Store } from '../../gateway/store/db';

/** Each table's row count and a hash of its rows (in rowid order), on SQLite. */
export type StoreSnapshot = Map<string, { rows: number; hash: string }>;

/**
 * Snapshots of an SQLite store's file, read through a read-only connection of its own (synchronous,
 * so that a snapshot of every table costs about a millisecond).
 */
export class StoreSnapshots {
  private readonly db: Database.Database;
  constructor(store: Store) {
    if (store.dialect !== 'sqlite') throw new Error(`store snapshots are taken on SQLite, not ${store.dialect}`);
    this.db = new Database(store.describe.replace(/^sqlite:/, ''), { readonly: true, fileMustExist: true });
  }

  /** Every table but those in `except`. */
  take(except: readonly string[] = []): StoreSnapshot {
    const names = this.db
      .prepare<[], { name: string }>("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name")
      .all()
      .map((t) => t.name)
      .filter((n) => !except.includes(n));
    const out: StoreSnapshot = new Map();
    for (const name of names) {
      const h = createHash('sha256');
      let rows = 0;
      for (const row of this.db.prepare(`select * from "${name}" order by rowid`).raw().iterate()) {
        h.update(JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? v.toString('base64') : typeof v === 'bigint' ? String(v) : v)));
        h.update('\n');
        rows++;
      }
      out.set(name, { rows, hash: h.digest('hex') });
    }
    return out;
  }

  close(): void {
    this.db.close();
  }
}

/** One snapshot of every table of an SQLite store but those in `except`. */
export function snapshotStore(store: Store, except: readonly string[] = []): StoreSnapshot {
  const s = new StoreSnapshots(store);
  try {
    return s.take(except);
  } finally {
    s.close();
  }
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
