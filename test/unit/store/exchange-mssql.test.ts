import { mssqlRecorder } from '../../helpers/mssql-recorder';
import { exportMark, markExported, ordersToExport } from '../../../gateway/store/exchange';
import { migrations } from '../../../gateway/store/migrations';

/**
 * The exchange's per-base export marks compiled for SQL Server (no server here: a driver that
 * records each statement and answers what the test says). Proves the dialect, not the run.
 */

let updated = 0n;
const { db, statements, flat } = mssqlRecorder((q) => ({ numAffectedRows: /^\s*update\b/i.test(q.sql) ? updated : 0n }));
afterAll(() => db.destroy());

beforeEach(() => {
  statements.length = 0;
  updated = 0n;
});

test('0007_exchange_exports: a table keyed by base and order, in SQL Server types', async () => {
  await migrations['0007_exchange_exports'].up(db);
  expect(statements.map(flat)).toEqual([
    'create table "exchange_exports" ("base_id" varchar(64) not null, "order_id" varchar(36) not null, "exported_at" varchar(32) not null, constraint "exchange_exports_pk" primary key ("base_id", "order_id"))',
  ]);
});

test('the orders a base has not taken: its own mark, else the old one; never orders from 1C', async () => {
  await ordersToExport(db, 'ut', ['shop']);
  const [q] = statements;
  expect(flat(q)).toMatch(/left join "exchange_exports" as "x" on "x"\."order_id" = "orders"\."id" and "x"\."base_id" = @\d/);
  expect(flat(q)).toContain('coalesce("x"."exported_at", "orders"."exported_at") is null');
  expect(flat(q)).toContain('"orders"."updated_at" > coalesce("x"."exported_at", "orders"."exported_at")');
  expect(flat(q)).toMatch(/"orders"\."source" <> @\d/);
  expect(q.parameters).toEqual(expect.arrayContaining(['ut', 'shop', 'onec']));
  expect(flat(q)).not.toMatch(/\blimit\b|\breturning\b/i);
});

test('a mark: updated in place, inserted when the base has none yet (no ON CONFLICT on SQL Server)', async () => {
  await markExported(db, 'ut', [['o-1', '2026-12-01T10:00:00.000Z']]);
  expect(statements.map((q) => flat(q).split(' ')[0])).toEqual(['update', 'insert']);
  statements.length = 0;
  updated = 1n;
  await markExported(db, 'ut', [['o-1', '2026-12-01T10:00:00.000Z']]);
  expect(statements.map((q) => flat(q).split(' ')[0])).toEqual(['update']);
  expect(statements.map(flat).join('\n')).not.toMatch(/on conflict|merge/i);
  await exportMark(db, 'ut', { id: 'o-1', exported_at: null });
  expect(flat(statements.at(-1)!)).toMatch(/^select top\(1\)|^select "exported_at" from "exchange_exports"/);
});
