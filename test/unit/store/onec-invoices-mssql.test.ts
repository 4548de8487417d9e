import { mssqlRecorder } from '../../helpers/mssql-recorder';
import { migrations } from '../../../gateway/store/migrations';
import { invoicesToMatchOf } from '../../../gateway/store/invoices';
import {
  invoiceByOnecRef,
  invoicesOfCustomer,
  linkOnecInvoice,
  openOnecInvoiceRefs,
  updateOnecInvoice,
} from '../../../gateway/store/onec-invoices';

/** The queries of invoices made in 1C compiled for SQL Server (a recording driver: the dialect, not the run). */

const { db, statements, flat } = mssqlRecorder(() => ({ rows: [] }));
afterAll(() => db.destroy());

beforeEach(() => {
  statements.length = 0;
});

test('0013_onec_invoices: the 1C ref of an invoice, unique with its organization where there is one (a filtered index)', async () => {
  await migrations['0013_onec_invoices'].up(db);
  expect(statements.map(flat)).toEqual([
    'alter table "invoices" add "onec_ref" varchar(36)',
    'create unique index "invoices_onec_ref" on "invoices" ("organization_id", "onec_ref") where "onec_ref" is not null',
  ]);
});

test('lookups, the open ones a page at a time (top, not limit), a buyer’s list, the ones to match with the annulled', async () => {
  await invoiceByOnecRef(db, 'main', 'ref');
  await openOnecInvoiceRefs(db, 'main', 500);
  await invoicesOfCustomer(db, 'main', '7728168971');
  await invoicesToMatchOf(db, 'mssql', 'main', '2025-11-01');
  const sqls = statements.map(flat);
  expect(sqls[0]).toMatch(/^select .* from "invoices" where "organization_id" = @\d and "onec_ref" = @\d$/);
  expect(sqls[1]).toMatch(
    /^select top\(\d+\) "invoices"\."id" as "id", "invoices"\."onec_ref" as "ref" from "invoices" inner join "payments"/,
  );
  expect(sqls[2]).toMatch(/^select top\(\d+\) "invoices"\.\*, .* order by "invoices"\."date" desc, "invoices"\."created_at" desc$/);
  expect(sqls[3]).toMatch(/"payments"\."status" in \(@\d, @\d\) and "invoices"\."organization_id" = @\d order by "invoices"\."id"$/);
  expect(sqls.join(' ')).not.toMatch(/\blimit\b/i);
});

test('a change from 1C and the link to the 1C invoice are plain updates', async () => {
  await updateOnecInvoice(
    db,
    { id: 'i', payment_id: 'p', paid: 100 },
    { amount: 500, due_date: null, number: 'ЭК00-1', date: '2026-12-01', uip: null },
  );
  await linkOnecInvoice(db, 'i', 'ref', 'ЭК00-1');
  const sqls = statements.map(flat);
  expect(sqls[0]).toMatch(/^update "invoices" set /);
  expect(sqls[1]).toMatch(/^update "payments" set "amount" = @\d, "updated_at" = @\d where "id" = @\d and "status" = @\d$/);
  expect(sqls[2]).toMatch(/^update "invoices" set "onec_ref" = @\d, "number" = @\d where "id" = @\d$/);
});
