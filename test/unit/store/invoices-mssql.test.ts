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
import { nextInvoiceSeq } from '../../../gateway/store/invoices';
import { migrations } from '../../../gateway/store/migrations';
import type { Database } from '../../../gateway/store/schema';

/**
 * The invoices and their series compiled for SQL Server (no server here: a driver that records
 * each statement and answers what the test says). Proves the dialect, not the run.
 */

const statements: CompiledQuery[] = [];
let updated = 0n;

const conn: DatabaseConnection = {
  executeQuery: async <R>(q: CompiledQuery): Promise<QueryResult<R>> => {
    statements.push(q);
    return {
      rows: /^\s*select\b/i.test(q.sql) ? [{ last: 7 }] : [],
      numAffectedRows: /^\s*update\b/i.test(q.sql) ? updated : 0n,
    } as QueryResult<R>;
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
afterAll(() => db.destroy());

const flat = (q: CompiledQuery) => q.sql.replace(/\s+/g, ' ').trim();

beforeEach(() => {
  statements.length = 0;
  updated = 0n;
});

test('0009_invoices: the invoices, unique per organization, year and number, and the series keyed by organization and year', async () => {
  await migrations['0009_invoices'].up(db);
  const sqls = statements.map(flat);
  expect(sqls[0]).toMatch(
    /^create table "invoices" \("id" varchar\(36\) primary key, .*"number" nvarchar\(32\) not null, .*constraint "invoices_number" unique \("organization_id", "year", "seq"\)\)$/,
  );
  expect(sqls[1]).toBe('create index "invoices_order_id" on "invoices" ("order_id")');
  expect(sqls[2]).toBe(
    'create table "invoice_series" ("organization_id" varchar(64) not null, "year" integer not null, "last" integer not null, constraint "invoice_series_pk" primary key ("organization_id", "year"))',
  );
});

test('the next number: the series row made if missing (no ON CONFLICT on SQL Server), counted up, read back', async () => {
  expect(await nextInvoiceSeq(db, 'shop', 2026)).toBe(7);
  const sqls = statements.map(flat);
  expect(sqls[0]).toMatch(
    /^insert into "invoice_series" .* where not exists \(select 1 from "invoice_series" with \(updlock, holdlock\) where "organization_id" = @\d and "year" = @\d\)$/,
  );
  expect(sqls[1]).toMatch(/^update "invoice_series" set "last" = "last" \+ @\d where "organization_id" = @\d and "year" = @\d$/);
  expect(sqls[2]).toMatch(/^select "last" from "invoice_series" where/);
  expect(sqls.join(' ')).not.toMatch(/on conflict|returning/i);
});
