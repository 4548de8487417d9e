import { mssqlRecorder } from '../../helpers/mssql-recorder';
import { nextInvoiceSeq, openInvoices } from '../../../gateway/store/invoices';
import { waitingForOrder } from '../../../gateway/store/payments';
import { findStatementLines } from '../../../gateway/store/statements';
import { migrations } from '../../../gateway/store/migrations';

/**
 * The invoices and their series compiled for SQL Server (no server here: a driver that records
 * each statement and answers what the test says). Proves the dialect, not the run.
 */

const { db, statements, flat } = mssqlRecorder((q) => ({ rows: /^\s*select\b/i.test(q.sql) ? [{ last: 7 }] : [] }));
afterAll(() => db.destroy());

beforeEach(() => {
  statements.length = 0;
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

test('the open invoices, the review list of bank lines and the deliveries waiting for their order page with TOP, not LIMIT', async () => {
  await openInvoices(db, 500, '');
  await findStatementLines(db, { organizations: ['shop'], states: ['review'], limit: 100 });
  await waitingForOrder(db, 50);
  const sqls = statements.map(flat);
  expect(sqls[0]).toMatch(/^select top\(500\) "invoices"\.\*/);
  expect(sqls[1]).toMatch(/^select top\(100\) \* from "statement_lines"/);
  expect(sqls[2]).toMatch(/^select top\(50\) "id" from "payments"/);
  expect(sqls[3]).toMatch(/^select top\(50\) "id" from "refunds"/);
  expect(sqls.join(' ')).not.toMatch(/\blimit\b/i);
});

test('0011: what each invoice has been paid, its УИП, each transfer applied once, when a line was applied', async () => {
  await migrations['0011_invoice_transfers'].up(db);
  const sqls = statements.map(flat).join('\n');
  expect(sqls).toMatch(/alter table "invoices" add "paid" bigint default 0 not null/);
  expect(sqls).toMatch(/constraint "invoice_transfers_pk" primary key \("statement_line_id", "invoice_id"\)/);
  expect(sqls).toMatch(/alter table "statement_lines" add "applied_at" varchar\(32\)/);
});
