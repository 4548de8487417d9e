import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../schema';
import { GroupCommitSqliteDialect } from './group-commit';
import { WalCheckpointer } from './wal-checkpoint';
import { WalSync } from './wal-sync';

/**
 * The embedded store: one better-sqlite3 connection that writes (WAL, group commit), and for a file
 * on disk a second one that reads what is committed, the WAL synced off the event loop and
 * checkpoints on a thread of their own. `file` is a path or `:memory:`.
 */
export async function openSqlite(file: string): Promise<Kysely<Database>> {
  const { default: SQLite } = await import('better-sqlite3');
  const onDisk = file !== ':memory:';
  if (onDisk) mkdirSync(dirname(file), { recursive: true });
  const conn = new SQLite(file);
  conn.pragma('journal_mode = WAL');
  // NORMAL: COMMIT writes the WAL without syncing it; the driver syncs it off the event loop
  // (WalSync) and acknowledges nothing before that, so an acknowledged commit is still on disk.
  conn.pragma('synchronous = NORMAL');
  conn.pragma('busy_timeout = 10000');
  conn.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
  conn.pragma('mmap_size = 268435456');
  // savepoints (one per transaction under group commit) journal in memory
  conn.pragma('temp_store = MEMORY');
  conn.pragma('foreign_keys = ON');
  let reader: InstanceType<typeof SQLite> | undefined, wal: WalSync | undefined, checkpoints: WalCheckpointer | undefined;
  if (onDisk) {
    // checkpoints run on a thread of their own, never inside a COMMIT on the event loop
    conn.pragma('wal_autocheckpoint = 0');
    checkpoints = new WalCheckpointer(file);
    // reads outside transactions use a second connection: in WAL mode it sees what is committed
    reader = new SQLite(file, { readonly: true });
    reader.pragma('busy_timeout = 10000');
    // the same page cache as the writer: a large read (every open invoice) finds most pages in memory.
    // No memory map: the file grows with every checkpoint while requests read, and a mapped reader
    // took 190–320 µs for a look-up by primary key under the load benchmark's writes, against 65–100 µs
    // unmapped (the writer, mapped, 35–45 µs); the large read was no slower unmapped.
    reader.pragma('cache_size = -65536');
    wal = new WalSync(`${file}-wal`);
  }
  return new Kysely<Database>({ dialect: new GroupCommitSqliteDialect(conn, reader, wal, checkpoints) });
}

/** The writing connection's page cache, in KiB (a large transaction may have more while it runs: `largeTransaction`). */
export const WRITER_CACHE_KIB = 65_536;

/** An SQLite file opened only to read (a copy or replica the reports read); it must exist. */
export async function openSqliteReadOnly(file: string): Promise<Kysely<Database>> {
  const { default: SQLite } = await import('better-sqlite3');
  const conn = new SQLite(file, { readonly: true, fileMustExist: true });
  // and no statement of this connection may write, whatever mode the file was opened in
  conn.pragma('query_only = ON');
  conn.pragma('busy_timeout = 10000');
  conn.pragma('cache_size = -65536');
  conn.pragma('mmap_size = 268435456');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: conn }) });
}
