import { resolve } from 'node:path';
import {
  Kysely,
  MssqlDialect,
  PostgresDialect,
  PostgresIntrospector,
  sql,
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type SchemaMetadata,
  type TableMetadata,
  type Transaction,
} from 'kysely';
import type { Pool as PgPool } from 'pg';
import { preparesStatements } from './pg-prepared';
import { openSqlite, openSqliteReadOnly, WRITER_CACHE_KIB } from './sqlite/open';
import type { Database } from './schema';

export type Dialect = 'sqlite' | 'postgres' | 'mssql';
export type Db = Kysely<Database>;
/** A connection or an open transaction: repository functions take either. */
export type Executor = Kysely<Database> | Transaction<Database>;

export interface Store {
  db: Db;
  dialect: Dialect;
  /** Where it points, without the password. */
  describe: string;
  /** The SQLite file it writes, for a thread that reads it on a connection of its own (absent for :memory: and other databases). */
  file?: string;
  close(): Promise<void>;
}

export function dialectOf(url: string): Dialect {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres';
  if (/^(mssql|sqlserver):\/\//i.test(url)) return 'mssql';
  if (/^sqlite:/i.test(url) || url === ':memory:') return 'sqlite';
  throw new Error(`database url "${redactUrl(url)}": expected sqlite:<file>, postgres://... or mssql://...`);
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

export function sqliteFile(url: string): string {
  if (url === ':memory:' || url === 'sqlite::memory:') return ':memory:';
  return resolve(url.replace(/^sqlite:(\/\/)?/i, ''));
}

/**
 * Opens the store the URL names. Nothing is created here but an SQLite file's folder. `readOnly`: a
 * store only read from (a replica for reports): SQLite opens the file read-only (it must exist),
 * PostgreSQL sessions are read-only, SQL Server connects with read-only intent.
 */
export async function openStore(url: string, opts: { readOnly?: boolean; preparedStatements?: boolean } = {}): Promise<Store> {
  const dialect = dialectOf(url);
  if (dialect === 'sqlite' && opts.readOnly) {
    const db = await openSqliteReadOnly(sqliteFile(url));
    return { db, dialect, describe: `sqlite:${sqliteFile(url)} (read-only)`, close: () => db.destroy() };
  }
  if (dialect === 'sqlite') {
    const file = sqliteFile(url);
    const db = await openSqlite(file);
    return { db, dialect, describe: `sqlite:${file}`, ...(file === ':memory:' ? {} : { file }), close: () => db.destroy() };
  }
  if (dialect === 'postgres') {
    const pg = await import('pg');
    // bigint kopecks fit a JS number exactly (< 2^53); read them as numbers.
    pg.types.setTypeParser(20, (v: string) => Number(v));
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    survivesRestarts(pool);
    if (opts.preparedStatements !== false) preparesStatements(pool);
    // queued on the new connection ahead of any query of the pool's user
    if (opts.readOnly) pool.on('connect', (c) => void c.query('set default_transaction_read_only = on').catch(() => undefined));
    const db = new Kysely<Database>({ dialect: new CurrentSchemaPostgresDialect({ pool }) });
    return { db, dialect, describe: redactUrl(url), close: () => db.destroy() };
  }
  const u = new URL(url);
  const tedious = await import('tedious');
  const tarn = await import('tarn');
  const db = new Kysely<Database>({
    dialect: new MssqlDialect({
      tarn: { ...tarn, options: { min: 0, max: 10 } },
      tedious: {
        ...tedious,
        connectionFactory: () =>
          new tedious.Connection({
            server: u.hostname,
            authentication: {
              type: 'default',
              options: { userName: decodeURIComponent(u.username), password: decodeURIComponent(u.password) },
            },
            options: {
              port: u.port ? Number(u.port) : 1433,
              database: u.pathname.replace(/^\//, '') || undefined,
              trustServerCertificate: u.searchParams.get('trustServerCertificate') === 'true',
              encrypt: u.searchParams.get('encrypt') !== 'false',
              ...(opts.readOnly ? { readOnlyIntent: true } : {}),
            },
          }),
      },
    }),
  });
  return { db, dialect, describe: redactUrl(url), close: () => db.destroy() };
}

/**
 * PostgreSQL restarted (or a connection cut): a client idle in the pool is dropped by pg-pool, which
 * emits 'error' on the pool; a client checked out (between two queries of a transaction, or holding a
 * lock) emits it on itself. Unhandled, either ends the process. The query in flight or the next one
 * fails on its own, the pool discards the dead client when it comes back, and the next query opens a
 * new connection.
 */
export function survivesRestarts(pool: PgPool): void {
  pool.on('error', () => undefined);
  pool.on('connect', (c) => void c.on('error', () => undefined));
}

/**
 * A transaction that rewrites many thousands of rows at once (a run of statement matching: every line
 * not matched yet). On SQLite the writing connection's page cache grows to `mib` while it runs and
 * shrinks back after its commit: 100 000 lines are about 80 MB of table and index pages, and with the
 * usual 64 MB each page written pushed out another (the 100 000 updates took 0.63–0.83 s, against
 * 0.48–0.62 s with 128 MB). Kept for the whole process, the larger cache filled with whatever the
 * requests touched (RSS +93 MB over a 10-minute soak). Transactions on SQLite run one at a time, so
 * one large transaction's cache is not shrunk under another's.
 */
export async function largeTransaction<T>(store: Store, mib: number, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  if (store.dialect !== 'sqlite') return store.db.transaction().execute(fn);
  try {
    return await store.db.transaction().execute(async (trx) => {
      await sql.raw(`pragma cache_size = -${mib * 1024}`).execute(trx);
      return fn(trx);
    });
  } finally {
    // a store closed meanwhile has no cache to shrink: the transaction's own outcome stands
    await sql
      .raw(`pragma cache_size = -${WRITER_CACHE_KIB}`)
      .execute(store.db)
      .catch(() => undefined);
  }
}

export async function ping(store: Store): Promise<void> {
  await sql`select 1`.execute(store.db);
}

let lastMs = NaN;
let lastIso = '';

/** ISO 8601 in UTC. Formatting costs more than reading the clock, and many calls fall in one millisecond. */
export function nowIso(ms: number = Date.now()): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/**
 * What the migrator sees of the database: the tables of the schema the connection works in only.
 * Kysely's own introspection reads every schema's columns (pg_get_serial_sequence of each), and a
 * neighbouring schema dropped at that moment fails it with 3F000 "schema … does not exist".
 */
class CurrentSchemaIntrospector implements DatabaseIntrospector {
  constructor(private readonly db: Kysely<any>) {}

  getSchemas(): Promise<SchemaMetadata[]> {
    return new PostgresIntrospector(this.db).getSchemas();
  }

  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; schema: string; type: string }>`
      select c.relname as name, ns.nspname as schema, c.relkind as type
      from pg_catalog.pg_class c join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
      where ns.nspname = current_schema() and c.relkind in ('r', 'v', 'p')`.execute(this.db);
    return rows.map((r) => ({ name: r.name, schema: r.schema, isView: r.type === 'v', columns: [] }));
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}

class CurrentSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db);
  }
}
