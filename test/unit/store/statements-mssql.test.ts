import { mssqlRecorder } from '../../helpers/mssql-recorder';
import { migrations } from '../../../gateway/store/migrations';
import { insertStatementLines, newStatementLineRow, saveStatementMatches } from '../../../gateway/store/statements';

/**
 * Incoming bank lines compiled for SQL Server (no server here: a driver that records each
 * statement). Proves the dialect, not the run.
 */

const { db, statements, flat } = mssqlRecorder();
afterAll(() => db.destroy());
beforeEach(() => {
  statements.length = 0;
});

const line = newStatementLineRow('shop', 'client-bank-file', {
  account: '40702810000000000001',
  direction: 'incoming',
  kind: 'Платежное поручение',
  number: '12',
  date: '2026-06-06',
  amount: 2_500_000,
  bankDate: '2026-06-06',
  payer: { name: 'ООО Вектор', inn: '7700000004', kpp: null, account: '40702810000000000777', bankBik: null, bankName: null },
  receiver: { name: 'ООО Моя компания', inn: '7700000001', kpp: null, account: '40702810000000000001', bankBik: null, bankName: null },
  purpose: 'Оплата по счёту 305 за услуги',
  uip: null,
});

test('0008_statement_lines: Cyrillic text in nvarchar, kopecks in bigint, the key unique per organization', async () => {
  await migrations['0008_statement_lines'].up(db);
  const [create, index] = statements.map(flat);
  expect(create).toMatch(/^create table "statement_lines"/);
  expect(create).toContain('"purpose" nvarchar(1000) not null');
  expect(create).toContain('"payer_name" nvarchar(500) not null');
  expect(create).toContain('"amount" bigint not null');
  expect(create).toContain('constraint "statement_lines_key" unique ("organization_id", "line_key")');
  expect(index).toBe('create index "statement_lines_state" on "statement_lines" ("organization_id", "match_state")');
});

test('a line is inserted unless its key is there (no ON CONFLICT on SQL Server)', async () => {
  expect(line.line_key).toBe('40702810000000000001|2026-06-06|12|2500000|40702810000000000777');
  expect(await insertStatementLines(db, 'mssql', [line])).toBe(1);
  expect(flat(statements[0])).toMatch(
    /^insert into "statement_lines" .* where not exists \(select 1 from "statement_lines" with \(updlock, holdlock\) where "organization_id" = @\d+ and "line_key" = @\d+\)$/,
  );
});

test('decisions are written in chunks under the 2,100-parameter limit, joined by id', async () => {
  const updates = Array.from({ length: 650 }, (_, i) => ({
    id: `l-${i}`,
    match_state: 'matched' as const,
    match_note: null,
    allocations: '[]',
    advance: 0,
    flags: null,
  }));
  await saveStatementMatches(db, 'mssql', updates);
  expect(statements).toHaveLength(3);
  for (const q of statements) {
    expect(q.parameters.length).toBeLessThanOrEqual(2100);
    expect(flat(q)).toMatch(
      /^update s set match_state = v\.st, .* from statement_lines s join \(values \(@2, @3, @4, @5, @6, @7\), .* as v\(id, st, note, alloc, adv, fl\) on s\.id = v\.id$/,
    );
  }
});
