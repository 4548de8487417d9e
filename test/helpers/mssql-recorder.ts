import {
  Kysely,
  MssqlAdapter,
  MssqlIntrospector,
  MssqlQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
} from 'kysely';
import type { Database } from '../../gateway/store/schema';

/**
 * A Kysely on SQL Server's dialect with no server behind it: every statement is compiled as SQL
 * Server would get it, recorded, and answered with what `answer` says (no rows, one row affected by
 * default). Proves the dialect, not the run.
 */
export function mssqlRecorder(answer: (q: CompiledQuery) => { rows?: unknown[]; numAffectedRows?: bigint } = () => ({})) {
  const statements: CompiledQuery[] = [];
  const conn: DatabaseConnection = {
    executeQuery: async <R>(q: CompiledQuery): Promise<QueryResult<R>> => {
      statements.push(q);
      const a = answer(q);
      return { rows: a.rows ?? [], numAffectedRows: a.numAffectedRows ?? 1n } as QueryResult<R>;
    },
    // eslint-disable-next-line require-yield
    streamQuery: async function* () {
      throw new Error('streaming not supported');
    },
  };
  const driver: Driver = {
    init: async () => undefined,
    acquireConnection: async () => conn,
    beginTransaction: async () => undefined,
    commitTransaction: async () => undefined,
    rollbackTransaction: async () => undefined,
    releaseConnection: async () => undefined,
    destroy: async () => undefined,
  };
  const db = new Kysely<Database>({
    dialect: {
      createAdapter: () => new MssqlAdapter(),
      createDriver: () => driver,
      createQueryCompiler: () => new MssqlQueryCompiler(),
      createIntrospector: (d) => new MssqlIntrospector(d),
    },
  });
  /** A statement on one line, as the assertions read it. */
  const flat = (q: CompiledQuery) => q.sql.replace(/\s+/g, ' ').trim();
  return { db, statements, flat };
}
