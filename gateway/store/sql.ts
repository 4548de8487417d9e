import { MssqlAdapter, sql, type Compilable, type Insertable, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import { sqliteArrays } from './sqlite/group-commit';
import type { Dialect, Executor } from './db';
import type { Database } from './schema';

/**
 * Inserts a row unless it would break a unique constraint; true when it was inserted.
 * SQLite and PostgreSQL: ON CONFLICT DO NOTHING. MS SQL Server has no such clause:
 * INSERT ... SELECT ... WHERE NOT EXISTS on the columns that must be unique.
 */
export async function insertIgnore<T extends keyof Database & string>(
  db: Executor,
  dialect: Dialect,
  table: T,
  values: Insertable<Database[T]>,
  uniqueOn: ReadonlyArray<keyof Database[T] & string>,
): Promise<boolean> {
  const r = await db.executeQuery(insertIgnoreQuery(db, table, values, uniqueOn, dialect === 'mssql').compile(db));
  return Number(r.numAffectedRows ?? 0) > 0;
}

/** The statement of insertIgnore, to run (or prepare) elsewhere. */
export function insertIgnoreQuery<T extends keyof Database & string>(
  db: Executor,
  table: T,
  values: Insertable<Database[T]>,
  uniqueOn: ReadonlyArray<keyof Database[T] & string>,
  mssql = isMssql(db),
): RawBuilder<unknown> | Compilable<unknown> {
  if (!mssql) {
    return db
      .insertInto(table)
      .values(values as any)
      .onConflict((oc) => oc.doNothing());
  }
  const entries = Object.entries(values as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return sql`insert into ${sql.table(table)} (${sql.join(entries.map(([c]) => sql.ref(c)))}) select ${sql.join(
    entries.map(([, v]) => sql`${v}`),
  )} where not exists (select 1 from ${sql.table(table)} with (updlock, holdlock) where ${sql.join(
    uniqueOn.map((c) => sql`${sql.ref(c)} = ${(values as Record<string, unknown>)[c]}`),
    sql` and `,
  )})`;
}

export const json = (v: unknown): string => JSON.stringify(v);
export const parseJson = <T>(v: string | null): T => (v === null ? (null as T) : (JSON.parse(v) as T));

export function isMssql(db: Executor): boolean {
  return db.getExecutor().adapter instanceof MssqlAdapter;
}

/** At most `limit` rows from `offset`: LIMIT/OFFSET, or on MS SQL Server TOP and OFFSET ... FETCH (which needs an ORDER BY). */
export function page<DB, TB extends keyof DB, O>(
  db: Executor,
  q: SelectQueryBuilder<DB, TB, O>,
  limit: number,
  offset = 0,
): SelectQueryBuilder<DB, TB, O> {
  if (isMssql(db)) return offset > 0 ? q.offset(offset).fetch(limit) : q.top(limit);
  return offset > 0 ? q.limit(limit).offset(offset) : q.limit(limit);
}

/**
 * A SELECT's rows as arrays of its columns in the order selected, for reads of many thousands of rows
 * (matching reads every open invoice): SQLite builds them as arrays, and the caller makes its objects
 * of one shape from them, faster and with less garbage than rows keyed by column names.
 */
export async function rowsAsArrays(db: Executor, query: Compilable<unknown>): Promise<unknown[][]> {
  const { rows } = await db.executeQuery<unknown>(sqliteArrays(query.compile()));
  // the other databases' drivers (and SQLite's read-only one) hand objects over, their keys in the order selected
  return rows.map((r) => (Array.isArray(r) ? r : Object.values(r as Record<string, unknown>)));
}
