import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importStatementFile } from '../../../gateway/cli/statement-import';
import { openStore, type Store } from '../../../gateway/store/db';
import { migrateToLatest } from '../../../gateway/store/migrations';

/** `statement import <file>`: what the operator reads, and what is stored. */

const SHARED = '/work/shared/fixtures/client-bank-exchange';
const OURS = join(__dirname, '../../fixtures/client-bank-exchange');

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'statement-import-'));
  store = await openStore(`sqlite:${join(dir, 'g.db')}`);
  await migrateToLatest(store.db);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) } };
}
const count = async () => (await store.db.selectFrom('statement_lines').selectAll().execute()).length;

test('a statement is stored and summed up; the same file again adds nothing', async () => {
  const a = io();
  expect(await importStatementFile(store, 'shop', join(SHARED, 'bx-shef_vypiska-1c.txt'), a.io)).toBe(0);
  expect(a.out.join('')).toBe(
    'bx-shef_vypiska-1c.txt: выписка 1.02 (windows-1251) по счёту 40702810000000000001 за 2026-06-01 — 2026-06-10: входящих платежей 2, новых 2, уже загруженных раньше 0\n',
  );
  const b = io();
  expect(await importStatementFile(store, 'shop', join(OURS, 'dos-cp866_vypiska.txt'), b.io)).toBe(0);
  expect(b.out.join('')).toContain('(cp866)');
  expect(b.out.join('')).toContain('входящих платежей 2, новых 0, уже загруженных раньше 2');
  expect(await count()).toBe(2);
});

test('a refused file: the line and the reason in Russian, exit code 1, nothing stored', async () => {
  const a = io();
  expect(await importStatementFile(store, 'shop', join(OURS, 'bad_zero_amount.txt'), a.io)).toBe(1);
  expect(a.err.join('')).toBe(
    'onec-gateway: bad_zero_amount.txt не загружен, ничего не изменено: строка 36: Сумма=0.00 у документа № 12: сумма платежа должна быть больше нуля\n',
  );
  expect(a.out).toEqual([]);
  expect(await count()).toBe(0);
});
