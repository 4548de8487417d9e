import { resolve } from 'node:path';
import { Kysely, MssqlDialect, PostgresDialect, sql, type Transaction } from 'kysely';
import { openSqlite } from './sqlite/open';
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

/** Opens the store the URL names. Nothing is created here but an SQLite file's folder. */
export async function openStore(url: string): Promise<Store> {
  const dialect = dialectOf(url);
  if (dialect === 'sqlite') {
    const db = await openSqlite(sqliteFile(url));
    return { db, dialect, describe: `sqlite:${sqliteFile(url)}`, close: () => db.destroy() };
  }
  if (dialect === 'postgres') {
    const pg = await import('pg');
    // bigint kopecks fit a JS number exactly (< 2^53); read them as numbers.
    pg.types.setTypeParser(20, (v: string) => Number(v));
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
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
            },
          }),
      },
    }),
  });
  return { db, dialect, describe: redactUrl(url), close: () => db.destroy() };
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
