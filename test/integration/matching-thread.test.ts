import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import type { Alerts } from '../../gateway/flows/alerts/alerts';
import { ingestStatement } from '../../gateway/flows/statements/ingest';
import { matchStoredLines } from '../../gateway/flows/statements/match';
import { MatchingThread } from '../../gateway/flows/statements/matching-thread';
import type { Alert, StatementSource } from '../../gateway/ports';
import { openStore, type Store } from '../../gateway/store/db';
import { migrateToLatest } from '../../gateway/store/migrations';
import { statementLinesIn } from '../../gateway/store/statements';
import { generateCorpus, type Corpus } from '../helpers/statement-corpus';
import { asStatementLine, corpusInvoiceIds, seedInvoices } from '../helpers/statement-corpus-store';

/**
 * Statement matching on a thread of its own (a store in an SQLite file): the thread reads the invoices
 * and decides, the transaction on the event loop reads the lines and writes every decision. It must
 * decide as matching on the event loop does, and a thread that fails must leave nothing behind.
 */

const ORG = 'shop';
const ALL = ['new', 'matched', 'partial', 'overpaid', 'review'] as const;

let dir: string;
let file: string;
let store: Store;
let threads: MatchingThread[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'matching-thread-'));
  file = join(dir, 'gateway.db');
  store = await openStore(`sqlite:${file}`);
  await migrateToLatest(store.db);
  threads = [];
});

afterEach(async () => {
  for (const t of threads) await t.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const thread = (f = file) => {
  const t = new MatchingThread(f);
  threads.push(t);
  return t;
};

const recorder = () => {
  const raised: Alert[] = [];
  return { raised, alerts: { raise: async (_trx: unknown, a: Alert) => void raised.push(a) } as unknown as Alerts };
};

async function stored(corpus: Corpus): Promise<void> {
  await seedInvoices(store, ORG, corpus.invoices, 300, 60);
  const source: StatementSource = {
    name: 'generated',
    incomingSince: async () => ({ lines: corpus.lines.map(asStatementLine), cursor: null }),
  };
  expect((await ingestStatement({ store }, ORG, source)).stored).toBe(corpus.lines.length);
}

/** Each line's decision as written, by the payment order's number. */
async function decisions(): Promise<Map<string, unknown[]>> {
  const rows = await statementLinesIn(store.db, ORG, [...ALL]);
  return new Map(rows.map((r) => [r.number, [r.match_state, r.match_note, r.allocations, r.advance, r.flags]]));
}

const setBack = () =>
  store.db
    .updateTable('statement_lines')
    .set({ match_state: 'new', match_note: null, allocations: null, advance: 0, flags: null })
    .execute();

test('the thread decides every line as matching on the event loop does, and right', async () => {
  // more lines than a part of decisions: several parts cross from the thread
  const corpus = generateCorpus(11, { invoices: 6_000, lines: 6_000 });
  await stored(corpus);

  const onThread = recorder();
  const run = await matchStoredLines({ store, alerts: onThread.alerts, matchingThread: thread() }, ORG);
  expect(run.lines).toBe(corpus.lines.length);
  expect(run.matched + run.partial + run.overpaid + run.review).toBe(corpus.lines.length);
  const byThread = await decisions();

  await setBack();
  const here = recorder();
  expect(await matchStoredLines({ store, alerts: here.alerts }, ORG)).toEqual(run);
  expect(await decisions()).toEqual(byThread);
  // the same alerts (each run has an id of its own in its key)
  const shape = (a: Alert) => [a.kind ?? a.key.split(':')[0], a.title, a.text.replace(/[0-9a-f-]{36}/g, '…')];
  expect(onThread.raised.map(shape)).toEqual(here.raised.map(shape));
  expect(onThread.raised.length).toBeGreaterThan(0);

  // and what the corpus knows: every line as it should be
  const ids = await corpusInvoiceIds(store, ORG, corpus.invoices);
  const wrong = corpus.lines.filter((l) => {
    const [state, , allocations, advance] = byThread.get(l.id.slice(5))!;
    if (l.expected.kind === 'review') return state !== 'review';
    const got = (JSON.parse(allocations as string) as { invoiceId: string; amount: number }[]).map((a) => `${a.invoiceId}:${a.amount}`);
    const want = l.expected.allocations.map((a) => `${ids.get(a.invoiceId)}:${a.amount}`);
    return state !== l.expected.outcome || advance !== l.expected.advance || got.sort().join() !== want.sort().join();
  });
  expect(wrong.map((l) => l.id)).toEqual([]);
}, 60_000);

test('a thread that cannot read the invoices: the run fails with the reason, no line decided, no alert; with a thread that can, the next run matches', async () => {
  const corpus = generateCorpus(12, { invoices: 300, lines: 300 });
  await stored(corpus);
  const before = await decisions();
  // a file without the gateway's tables
  const empty = join(dir, 'empty.db');
  new SQLite(empty).close();
  const failed = recorder();
  await expect(matchStoredLines({ store, alerts: failed.alerts, matchingThread: thread(empty) }, ORG)).rejects.toThrow(
    /statement matching failed on its thread: SqliteError: no such table: invoices/,
  );
  expect(await decisions()).toEqual(before);
  expect([...before.values()].every(([state]) => state === 'new')).toBe(true);
  expect(failed.raised).toEqual([]);

  const ok = recorder();
  const run = await matchStoredLines({ store, alerts: ok.alerts, matchingThread: thread() }, ORG);
  expect(run.lines).toBe(corpus.lines.length);
  expect(await statementLinesIn(store.db, ORG)).toEqual([]);
});

test('a thread that stops in the middle of a run: the run fails, what was written of it rolled back; the next run starts another thread', async () => {
  const corpus = generateCorpus(13, { invoices: 6_000, lines: 6_000 });
  await stored(corpus);
  /** Stops its thread once, as the first part of the decisions has been written in the transaction. */
  class StopsOnce extends MatchingThread {
    stopped = 0;
    override decide(...[invoices, lines, write]: Parameters<MatchingThread['decide']>) {
      return super.decide(invoices, lines, async (part) => {
        await write(part);
        if (this.stopped++ === 0) await this.close();
      });
    }
  }
  const t = new StopsOnce(file);
  threads.push(t);
  const { alerts, raised } = recorder();
  await expect(matchStoredLines({ store, alerts, matchingThread: t }, ORG)).rejects.toThrow(/the statement matching thread stopped/);
  expect(t.stopped).toBeGreaterThan(0);
  expect(raised).toEqual([]);
  expect((await statementLinesIn(store.db, ORG)).length).toBe(corpus.lines.length);

  const again = await matchStoredLines({ store, alerts, matchingThread: t }, ORG);
  expect(again.lines).toBe(corpus.lines.length);
  expect(await statementLinesIn(store.db, ORG)).toEqual([]);
}, 60_000);

test('no line to match: the invoices are not read (a thread that could not read them is not asked)', async () => {
  const empty = join(dir, 'empty.db');
  new SQLite(empty).close();
  const { alerts, raised } = recorder();
  expect(await matchStoredLines({ store, alerts, matchingThread: thread(empty) }, ORG)).toEqual({
    lines: 0,
    matched: 0,
    partial: 0,
    overpaid: 0,
    review: 0,
  });
  expect(raised).toEqual([]);
});
