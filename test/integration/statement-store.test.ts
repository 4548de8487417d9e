import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientBankFileSource } from '../../connectors/client-bank/source';
import type { Alerts } from '../../gateway/flows/alerts/alerts';
import { ingestStatement } from '../../gateway/flows/statements/ingest';
import { matchStoredLines } from '../../gateway/flows/statements/match';
import type { Alert } from '../../gateway/ports';
import { openStore, type Store } from '../../gateway/store/db';
import { migrateToLatest } from '../../gateway/store/migrations';
import { saveStatementMatches, statementLinesIn } from '../../gateway/store/statements';
import { describeWith, freshPgSchema } from '../helpers/services';

/** Incoming bank lines on SQLite and PostgreSQL: each stored once, whatever file brings it again. */

const SHARED = '/work/shared/fixtures/client-bank-exchange';
const OURS = join(__dirname, '../fixtures/client-bank-exchange');
const file = (dir: string, f: string) => new ClientBankFileSource(readFileSync(join(dir, f)));

function suite(open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await open());
    await migrateToLatest(store.db);
  });
  afterEach(() => cleanup());

  const all = () => store.db.selectFrom('statement_lines').selectAll().orderBy('number').execute();

  test('a statement file stores its incoming lines; the same file again doubles nothing', async () => {
    const first = await ingestStatement({ store }, 'shop', file(SHARED, 'bx-shef_vypiska-1c.txt'));
    expect(first).toEqual({ seen: 2, stored: 2, cursor: '2026-06-10' });
    const rows = await all();
    expect(rows.map((r) => [r.number, r.doc_date, r.amount, r.payer_inn, r.payer_account, r.match_state])).toEqual([
      ['11', '2026-06-05', 2_000_000, '7700000003', '40702810000000000888', 'new'],
      ['12', '2026-06-06', 2_500_000, '7700000004', '40702810000000000777', 'new'],
    ]);
    expect(rows[1].purpose).toBe('Оплата по счёту 305 за услуги');

    expect(await ingestStatement({ store }, 'shop', file(SHARED, 'bx-shef_vypiska-1c.txt'))).toEqual({
      seen: 2,
      stored: 0,
      cursor: '2026-06-10',
    });
    // the same statement in another encoding is the same lines
    expect((await ingestStatement({ store }, 'shop', file(OURS, 'dos-cp866_vypiska.txt'))).stored).toBe(0);
    expect(await all()).toEqual(rows);
    // another organization keeps its own
    expect((await ingestStatement({ store }, 'other', file(SHARED, 'bx-shef_vypiska-1c.txt'))).stored).toBe(2);
  });

  test('a refused file stores nothing, and leaves what was stored as it was', async () => {
    await ingestStatement({ store }, 'shop', file(SHARED, 'kilylabs_one_day.txt'));
    const before = await all();
    expect(before).toHaveLength(3);
    for (const bad of ['bad_negative_amount.txt', 'bad_no_end.txt', 'bad_koi8r.txt', 'bad_cut_in_document.txt'])
      await expect(ingestStatement({ store }, 'shop', file(OURS, bad))).rejects.toMatchObject({ name: 'StatementFormatError' });
    expect(await all()).toEqual(before);
  });

  test('matching the stored lines: the invoice named is paid, the rest waits in review with an alert, in one go', async () => {
    await ingestStatement({ store }, 'shop', file(SHARED, 'bx-shef_vypiska-1c.txt'));
    const raised: Alert[] = [];
    const alerts = { raise: async (_trx: unknown, a: Alert) => void raised.push(a) } as unknown as Alerts;
    const invoice = {
      id: 'inv-305',
      number: 'СЧ00-000305',
      date: '2026-06-01',
      orderNumber: null,
      buyerInn: '7700000004',
      buyerKpp: null,
      amountDue: 3_000_000,
      dueDate: '2026-06-30',
      uip: null,
    };
    expect(await matchStoredLines({ store, alerts }, 'shop', [invoice])).toEqual({
      lines: 2,
      matched: 0,
      partial: 1,
      overpaid: 0,
      review: 1,
    });
    const rows = await statementLinesIn(store.db, 'shop', ['partial', 'review']);
    expect(rows.map((r) => [r.number, r.match_state, r.advance])).toEqual([
      ['11', 'review', 0],
      ['12', 'partial', 0],
    ]);
    expect(JSON.parse(rows[1].allocations!)).toEqual([
      { invoiceId: 'inv-305', number: 'СЧ00-000305', amount: 2_500_000, remaining: 500_000 },
    ]);
    expect(rows[0].match_note).toBe('у плательщика с ИНН 7700000003 нет открытых счетов');
    expect(raised.map((a) => a.title)).toEqual(['Поступления из выписки не сопоставлены со счетами']);
    expect(raised[0].text).toContain('п/п №11 от 2026-06-05 (ООО Клиент)');
    // matched lines are not matched again
    expect(await matchStoredLines({ store, alerts }, 'shop', [invoice])).toEqual({
      lines: 0,
      matched: 0,
      partial: 0,
      overpaid: 0,
      review: 0,
    });
  });

  test('what matching decided is written back line by line', async () => {
    await ingestStatement({ store }, 'shop', file(SHARED, 'bx-shef_vypiska-1c.txt'));
    const [a, b] = await statementLinesIn(store.db, 'shop');
    await saveStatementMatches(store.db, store.dialect, [
      { id: a.id, match_state: 'review', match_note: 'ни один счёт не подходит', allocations: null, advance: 0, flags: null },
      {
        id: b.id,
        match_state: 'overpaid',
        match_note: null,
        allocations: '[{"invoice":"305","amount":2000000}]',
        advance: 500_000,
        flags: '["overpayment"]',
      },
    ]);
    expect(await statementLinesIn(store.db, 'shop')).toEqual([]);
    const after = await statementLinesIn(store.db, 'shop', ['review', 'overpaid']);
    expect(after.map((r) => [r.number, r.match_state, r.match_note, r.allocations, r.advance, r.flags])).toEqual([
      ['11', 'review', 'ни один счёт не подходит', null, 0, null],
      ['12', 'overpaid', null, '[{"invoice":"305","amount":2000000}]', 500_000, '["overpayment"]'],
    ]);
  });
}

describe('statement lines on SQLite', () =>
  suite(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statement-store-'));
    const store = await openStore(`sqlite:${join(dir, 's.db')}`);
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }));

describeWith('postgres', 'statement lines on PostgreSQL', () =>
  suite(async () => {
    const schema = await freshPgSchema();
    const store = await openStore(schema.url);
    return {
      store,
      cleanup: async () => {
        await store.close();
        await schema.drop();
      },
    };
  }),
);
