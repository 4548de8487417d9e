import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { PerformanceObserver, constants as perf } from 'node:perf_hooks';
import { join } from 'node:path';
import { sql } from 'kysely';
import { newId } from '../gateway/domain/ids';
import { matchStatementLines, printedNumber, purposeReferences, type OpenInvoice } from '../gateway/domain/statement-matching';
import type { Alerts } from '../gateway/flows/alerts/alerts';
import type { FlowDeps } from '../gateway/flows/deps';
import { INGEST_PAGE, runHistory } from '../gateway/flows/history/agent';
import { ingestOperation, type IngestResult } from '../gateway/flows/history/operations';
import { ingestStatement } from '../gateway/flows/statements/ingest';
import { invoicesToMatch } from '../gateway/flows/statements/invoices-to-match';
import { matchStoredLines, type InvoicesToMatch, type MatchRun, type MatchTimings } from '../gateway/flows/statements/match';
import { MatchingThread } from '../gateway/flows/statements/matching-thread';
import type { ProviderOperation, StatementSource } from '../gateway/ports';
import { nowIso, openStore, type Store } from '../gateway/store/db';
import { migrateToLatest } from '../gateway/store/migrations';
import { newOrderRow } from '../gateway/store/orders';
import { newAttemptRow, newPaymentRow } from '../gateway/store/payments';
import type { AttemptRow, PaymentOperationsTable, PaymentRow } from '../gateway/store/schema';
import { statementLinesIn } from '../gateway/store/statements';
import { generateCorpus, type CorpusLine } from '../test/helpers/statement-corpus';
import { asStatementLine, bulkInsert, corpusInvoiceIds, seedInvoices } from '../test/helpers/statement-corpus-store';
import { collectGarbage, profileIf } from './profile';

/**
 * Matching bank statement lines to open invoices, and the СБП payment history, at scale on SQLite
 * (a file, as in production).
 *
 * Statements: the generated corpus (100,000 incoming lines or more against 100,000 open invoices or
 * more, with known answers), its invoices stored as the gateway stores an invoice payment (orders,
 * payments, invoices; another organization's and paid ones next to them) and its lines by
 * ingestStatement. Timed: what the schedule does before applying payments — matchStoredLines, with
 * the matching thread as the gateway has it on an SQLite file (the invoices read and the lines
 * decided there, the lines read and every decision written back here, in one transaction), run
 * BENCH_STATEMENT_RUNS times, best and median; the thread is started before the first (as the
 * gateway's is after the schedule's first run), its start printed. Between two runs, what happens between two runs of
 * the schedule a minute apart: the lines are set back to new, the WAL is checkpointed, and the heap
 * collected (V8's memory reducer does so once a burst of allocation stops); and the benchmark's own
 * copy of the corpus is not held meanwhile (generated again, the same, for the answers), so that the
 * collector's pauses in a run, printed, are those the gateway's heap would have. Next to it, in
 * the same process, the naive O(n·m) matcher: each line compared with every invoice — run on a
 * subset of the lines and extrapolated, since the full run would take minutes.
 *
 * History: 100,000 provider operations of 100,000 orders (half of them of the gateway's own attempts)
 * read by the history agent (runHistory) from a registry listing them, stored and linked through the
 * history's own path a page per transaction; next to it, in the same process, the same path a
 * transaction per operation (as before, on a subset, extrapolated), the naive O(n·m) linking (each
 * operation compared with every order, on a subset, extrapolated) and the store's floor (the same
 * rows inserted a page per transaction, no linking).
 */

const LINES = Number(process.env.BENCH_STATEMENT_LINES ?? 100_000);
const INVOICES = Number(process.env.BENCH_STATEMENT_INVOICES ?? 100_000);
/** Another organization's open invoices, and the shop's paid ones, each this many. */
const EXTRA_INVOICES = Number(process.env.BENCH_STATEMENT_EXTRA ?? 20_000);
/** The shop's cancelled invoices (annulled in 1C or here). */
const CANCELLED_INVOICES = Number(process.env.BENCH_STATEMENT_CANCELLED ?? 2_000);
const RUNS = Math.max(1, Number(process.env.BENCH_STATEMENT_RUNS ?? 7));
const NAIVE_SUBSET = Number(process.env.BENCH_NAIVE_SUBSET ?? 300);
const OPERATIONS = Number(process.env.BENCH_HISTORY_OPERATIONS ?? 100_000);
/** Operations stored the old way (a transaction each), to extrapolate from. */
const HISTORY_SAMPLE = Number(process.env.BENCH_HISTORY_SAMPLE ?? 5_000);
const TARGET_SECONDS = 2;
const CORPUS_SEED = 20261201;
const ORG = 'shop';

const noAlerts = () => {
  const raised: string[] = [];
  return { raised, alerts: { raise: async (_trx: unknown, a: { title: string }) => void raised.push(a.title) } as unknown as Alerts };
};

async function tempStore(name: string): Promise<{ store: Store; file: string; done: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  const store = await openStore(`sqlite:${join(dir, 'gateway.db')}`);
  await migrateToLatest(store.db);
  return {
    store,
    file: join(dir, 'gateway.db'),
    done: async () => {
      await store.close();
      // BENCH_KEEP=1: the database stays, to look into
      if (process.env.BENCH_KEEP) process.stderr.write(`kept ${join(dir, 'gateway.db')}\n`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

const secondsSince = (t: number) => (performance.now() - t) / 1000;

/**
 * Copies the WAL into the database file and empties it, from a connection of its own: what the
 * store's checkpoint thread does between two runs of a schedule a minute apart. Without it, a timed
 * run shares the cores with the checkpoint of the 60 MB the previous run (or the reset) wrote.
 */
async function checkpointed(file: string): Promise<void> {
  const { default: SQLite } = await import('better-sqlite3');
  const db = new SQLite(file);
  try {
    db.pragma('busy_timeout = 10000');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- statements

/**
 * The obvious matcher: for each line, every invoice is looked at (УИП equal, its number among the
 * purpose's, its buyer the payer and due the amount); the first step that finds exactly one wins.
 */
function naiveMatch(lines: readonly CorpusLine[], invoices: readonly OpenInvoice[]): number {
  const printed = invoices.map((i) => printedNumber(i.number));
  const printedOrder = invoices.map((i) => (i.orderNumber === null ? null : printedNumber(i.orderNumber)));
  let decided = 0;
  for (const l of lines) {
    const refs = purposeReferences(l.purpose).map((r) => r.printed);
    let byUip = -1;
    let byNumber = -1;
    let numberHits = 0;
    let byAmount = -1;
    let amountHits = 0;
    for (let k = 0; k < invoices.length; k++) {
      const inv = invoices[k];
      if (l.uip !== null && inv.uip === l.uip) byUip = k;
      if (refs.length > 0 && (refs.includes(printed[k]) || (printedOrder[k] !== null && refs.includes(printedOrder[k]!)))) {
        byNumber = k;
        numberHits++;
      }
      if (inv.buyerInn === l.payerInn && inv.amountDue === l.amount) {
        byAmount = k;
        amountHits++;
      }
    }
    if (byUip >= 0 || (numberHits === 1 && byNumber >= 0) || (amountHits === 1 && byAmount >= 0)) decided++;
  }
  return decided;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function statements(): Promise<string[]> {
  const t0 = performance.now();
  const generate = () => generateCorpus(CORPUS_SEED, { invoices: INVOICES, lines: LINES });
  const { store, file, done } = await tempStore('statements');
  try {
    // the corpus is held only while it is stored: a timed run's heap holds what the gateway's would,
    // not the benchmark's own copy (generated again, the same, for the answers afterwards)
    const { generated, seeded, seededIn, ingested, ingestedIn } = await (async () => {
      const corpus = generate();
      const generated = secondsSince(t0);
      const t1 = performance.now();
      const seeded = await seedInvoices(store, ORG, corpus.invoices, EXTRA_INVOICES, CANCELLED_INVOICES);
      const seededIn = secondsSince(t1);
      // the lines as an upload stores them: one statement, every line once
      const t2 = performance.now();
      const source: StatementSource = {
        name: 'bench',
        incomingSince: async () => ({ lines: corpus.lines.map(asStatementLine), cursor: null }),
      };
      const ingested = await ingestStatement({ store }, ORG, source);
      return { generated, seeded, seededIn, ingested, ingestedIn: secondsSince(t2) };
    })();

    // what the schedule does each minute, the part before the invoices' payments are applied; again
    // and again over the same lines, set back to new in between
    const { alerts, raised } = noAlerts();
    const matchingThread = new MatchingThread(file);
    // as the gateway's thread is after the schedule's first run: started, its sources loaded
    const s0 = performance.now();
    await matchingThread.ready();
    const threadStart = secondsSince(s0);
    const d = { store, alerts, matchingThread } as Pick<FlowDeps, 'store' | 'alerts' | 'matchingThread'>;
    const runs: ({ total: number; cpu: number; young: number; old: number } & MatchTimings)[] = [];
    // the collector's pauses on the main thread, by kind, while a run is timed
    const pauses = { on: false, young: 0, major: 0 };
    const observer = new PerformanceObserver((list) => {
      if (!pauses.on) return;
      for (const e of list.getEntries()) {
        const kind = (e as { detail?: { kind?: number } }).detail?.kind;
        if (kind === perf.NODE_PERFORMANCE_GC_MINOR) pauses.young += e.duration / 1000;
        else pauses.major += e.duration / 1000;
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    let invoices: InvoicesToMatch = { open: [], annulled: [] };
    let run: MatchRun | undefined;
    const live: number[] = [];
    const profiled = await profileIf(process.env.BENCH_PROFILE);
    for (let i = 0; i < RUNS; i++) {
      if (i > 0)
        await sql`update statement_lines set match_state = 'new', match_note = null, allocations = null, advance = 0, flags = null`.execute(
          store.db,
        );
      raised.length = 0;
      invoices = { open: [], annulled: [] };
      await checkpointed(file);
      collectGarbage();
      live.push(process.memoryUsage().heapUsed / 1e6);
      Object.assign(pauses, { on: true, young: 0, major: 0 });
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      const steps = {} as MatchTimings;
      run = await matchStoredLines(d, ORG, { timings: steps });
      const total = secondsSince(started);
      const used = process.cpuUsage(cpu0);
      // the observer hears of a pause after it: let the last ones in
      await new Promise((r) => setImmediate(r));
      pauses.on = false;
      runs.push({ total, cpu: (used.user + used.system) / 1e6, young: pauses.young, old: pauses.major, ...steps });
    }
    await matchingThread.close();
    // what the naive matcher is given: the same invoices
    invoices = await invoicesToMatch(d, ORG);
    await profiled();
    observer.disconnect();
    const best = runs.reduce((a, b) => (b.total < a.total ? b : a));
    const seconds = best.total;
    const med = median(runs.map((r) => r.total));

    // the answers: what was written back against what the corpus knows
    const corpus = generate();
    const invoiceIds = await corpusInvoiceIds(store, ORG, corpus.invoices);
    const byNumber = new Map(corpus.lines.map((l) => [l.id.slice(5), l]));
    const written = await statementLinesIn(store.db, ORG, ['new', 'matched', 'partial', 'overpaid', 'review']);
    let wrong = 0;
    let toMatch = 0;
    let found = 0;
    let left = 0;
    for (const r of written) {
      const l = byNumber.get(r.number)!;
      if (r.match_state === 'new') left++;
      if (l.expected.kind === 'review') {
        if (r.match_state !== 'review') wrong++;
        continue;
      }
      toMatch++;
      if (r.match_state === 'review') continue;
      const got = (JSON.parse(r.allocations!) as { invoiceId: string; amount: number }[])
        .map((a) => `${a.invoiceId}:${a.amount}`)
        .sort()
        .join();
      const want = l.expected.allocations
        .map((a) => `${invoiceIds.get(a.invoiceId)}:${a.amount}`)
        .sort()
        .join();
      if (got !== want || r.advance !== l.expected.advance) wrong++;
      else found++;
    }

    // the naive matcher, on a subset of the lines against every invoice, extrapolated
    const subset = corpus.lines.slice(0, NAIVE_SUBSET);
    const n0 = performance.now();
    naiveMatch(subset, invoices.open);
    const naiveSubset = secondsSince(n0);
    const naive = (naiveSubset * corpus.lines.length) / subset.length;
    // the in-memory matcher alone, for the share the store takes
    const m0 = performance.now();
    matchStatementLines(corpus.lines, corpus.invoices);
    const matchOnly = secondsSince(m0);

    const ms = (s: number) => s.toFixed(2);
    return [
      `Statement matching on SQLite (a file): ${ingested.stored} incoming lines against ${invoices.open.length} open invoices of the organization (and ${invoices.annulled.length} cancelled ones)`,
      `  setup, not timed: corpus generated in ${generated.toFixed(1)} s; ${seeded.orders} orders, payments and invoices stored as invoice payments leave them (${seeded.other} of them another organization's open invoices, ${seeded.paid} the shop's paid ones, ${seeded.cancelled} its cancelled ones) in ${seededIn.toFixed(1)} s; the lines stored by ingestStatement in ${ingestedIn.toFixed(1)} s; the matching thread started in ${threadStart.toFixed(2)} s`,
      `${'gateway: matchStoredLines (with the matching thread)'.padEnd(56)} ${ms(seconds).padStart(8)} s   best of ${runs.length} runs, median ${ms(med)} s (target < ${TARGET_SECONDS} s: ${seconds >= TARGET_SECONDS ? 'NOT met' : med < TARGET_SECONDS ? 'met' : 'met by the best run, NOT by the median'})`,
      best.where === 'thread'
        ? `  the best run: the lines read here ${ms(best.lines)} s while the matching thread read the invoices ${ms(best.invoices)} s; the lines decided there ${ms(best.match)} s while the decisions were written back here ${ms(best.write)} s, a part at a time as they came; then the alerts and the commit ${ms(best.rest)} s`
        : `  the best run: invoices read ${ms(best.invoices)} s, lines read ${ms(best.lines)} s, matched ${ms(best.match)} s, written back ${ms(best.write)} s, the alerts and the commit ${ms(best.rest)} s`,
      `  every run (s): ${runs.map((r) => ms(r.total)).join(', ')}; CPU time of this process, both threads, in them (s): ${runs.map((r) => ms(r.cpu)).join(', ')}; the collector's pauses on the main thread in them, young generation (s): ${runs.map((r) => ms(r.young)).join(', ')}, old (s): ${runs.map((r) => ms(r.old)).join(', ')}; the heap live as each began ${Math.round(Math.max(...live))} MB at most; the in-memory matcher alone ${ms(matchOnly)} s (load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores)`,
      `${'baseline: naive O(n·m) matcher, EXTRAPOLATED'.padEnd(56)} ${ms(naive).padStart(8)} s   from ${subset.length} lines × ${invoices.open.length} invoices in ${ms(naiveSubset)} s, same process`,
      `  decisions: ${run!.matched} matched, ${run!.partial} partial, ${run!.overpaid} overpaid (advance kept), ${run!.review} to review, ${left} left new; alerts: ${raised.length}`,
      `  sanity: recall ${found}/${toMatch} = ${((100 * found) / Math.max(1, toMatch)).toFixed(1)} % of the lines paying known invoices matched exactly; wrong matches ${wrong}`,
      `ratio naive (extrapolated) / gateway ${(naive / seconds).toFixed(0)}×`,
    ];
  } finally {
    await done();
  }
}

// ---------------------------------------------------------------- the СБП payment history

/**
 * The registry's operations: every other one of an attempt the gateway registered (found by the
 * bank's id), the rest started elsewhere — mostly with the order number the site registered, some
 * only in the purpose, some nobody's.
 */
function operations(numbers: readonly string[], amounts: readonly number[]): ProviderOperation[] {
  return Array.from({ length: OPERATIONS }, (_, i) => {
    const k = i % numbers.length;
    const kind = i % 20;
    const own = i % 2 === 0;
    return {
      kind: 'payment' as const,
      providerRef: `AD${String(i).padStart(30, '0')}`,
      orderNumber: own || kind < 17 ? numbers[k] : null,
      method: 'sbp' as const,
      amount: amounts[k],
      occurredAt: new Date(Date.UTC(2026, 11, 1) + i * 1000).toISOString(),
      payerBank: 'Сбербанк',
      purpose: own || kind < 17 ? null : kind < 19 ? `Оплата заказа №${numbers[k]}` : `Перевод по QR ${i}`,
      raw: { id: i },
    };
  });
}

/** The orders, and for every other operation the gateway's own СБП payment and its attempt (paid: the callback came). */
async function seedOrders(store: Store): Promise<{ numbers: string[]; amounts: number[] }> {
  const numbers: string[] = [];
  const amounts: number[] = [];
  const payments: PaymentRow[] = [];
  const attempts: AttemptRow[] = [];
  const now = nowIso();
  const rows = Array.from({ length: OPERATIONS }, (_, i) => {
    const number = `S-${String(i + 1).padStart(7, '0')}`;
    const total = 10_000 + ((i * 7919) % 5_000_000);
    numbers.push(number);
    amounts.push(total);
    const order = newOrderRow({
      organization_id: ORG,
      external_id: `ext-${i}`,
      number,
      source: 'site',
      customer: JSON.stringify({ type: 'individual', name: 'Покупатель' }),
      items: JSON.stringify([{ sku: 'A', name: 'Товар', price: total, quantity: 1, amount: total, vat: 'vat22' }]),
      total,
      payment_terms: JSON.stringify({ type: 'prepay' }),
      request_hash: 'bench',
      onec_ref: null,
    });
    if (i % 2 === 0) {
      const payment = {
        ...newPaymentRow(
          {
            id: newId(),
            order_id: order.id,
            organization_id: ORG,
            method: 'sbp',
            provider: 'sber',
            amount: total,
            return_url: null,
            fail_url: null,
          },
          now,
        ),
        status: 'paid' as const,
        paid_at: now,
      };
      payments.push(payment);
      attempts.push({
        ...newAttemptRow(
          {
            id: newId(),
            payment_id: payment.id,
            organization_id: ORG,
            provider: 'sber',
            method: 'sbp',
            amount: total,
            order_number: number,
            expires_at: now,
            next_check_at: now,
          },
          now,
        ),
        state: 'closed',
        provider_ref: `AD${String(i).padStart(30, '0')}`,
      });
    }
    return order;
  });
  await bulkInsert(store, 'orders', rows);
  await bulkInsert(store, 'payments', payments);
  await bulkInsert(store, 'payment_attempts', attempts);
  return { numbers, amounts };
}

/** What the agent needs to run: the organization, its provider with a registry listing `ops`, the store. */
function agentDeps(store: Store, alerts: Alerts, ops: readonly ProviderOperation[]): FlowDeps {
  const registry = {
    async *listOperations() {
      yield* ops;
    },
  };
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
  return {
    store,
    alerts,
    jobs: { kick: () => undefined },
    log: quiet,
    config: {
      history: { everyMinutes: 60, overlapMinutes: 180, lookbackHours: 24 },
      organizations: [{ id: ORG, name: 'ООО Магазин', providers: { sber: {} } }],
    },
    providers: { get: () => registry },
  } as unknown as FlowDeps;
}

const operationRow = (op: ProviderOperation): PaymentOperationsTable => ({
  id: newId(),
  organization_id: ORG,
  provider: 'sber',
  op_key: `sber:${op.providerRef}:payment`,
  kind: 'payment',
  provider_ref: op.providerRef,
  order_number: op.orderNumber,
  method: op.method,
  amount: op.amount,
  occurred_at: op.occurredAt,
  payer_bank: op.payerBank,
  purpose: op.purpose,
  channel: 'external',
  source: 'registry',
  attempt_id: null,
  payment_id: null,
  order_id: null,
  match_state: 'unmatched',
  match_note: null,
  lines: null,
  raw: JSON.stringify(op.raw),
  created_at: op.occurredAt,
  updated_at: op.occurredAt,
});

async function history(): Promise<string[]> {
  const { store, done } = await tempStore('history');
  const before = await tempStore('history-before');
  const floor = await tempStore('history-floor');
  try {
    const { numbers, amounts } = await seedOrders(store);
    await seedOrders(before.store);
    const ops = operations(numbers, amounts);
    const { alerts, raised } = noAlerts();

    // the agent's run: the registry read, its operations stored and linked a page per transaction
    const started = performance.now();
    const [run] = await runHistory(agentDeps(store, alerts, ops));
    const seconds = secondsSince(started);
    const states = await store.db
      .selectFrom('payment_operations')
      .select(['match_state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('match_state')
      .execute();

    // before: the same path, a transaction per operation (ingestOperation one by one), on a subset, extrapolated
    const sample = ops.slice(0, HISTORY_SAMPLE);
    const b0 = performance.now();
    const into: IngestResult = { recorded: 0, review: 0, recover: new Set() };
    const beforeDeps = agentDeps(before.store, noAlerts().alerts, sample);
    for (const op of sample) await ingestOperation(beforeDeps, ORG, 'sber', op, into);
    const beforeSample = secondsSince(b0);
    const perOperation = (beforeSample * ops.length) / sample.length;

    // the naive linking: every operation compared with every order, on a subset, extrapolated
    const orders = await store.db.selectFrom('orders').select(['id', 'number']).execute();
    const subset = ops.slice(0, NAIVE_SUBSET * 10);
    const n0 = performance.now();
    let linked = 0;
    for (const op of subset) {
      const wanted = op.orderNumber ?? /№\s*(\S+)/.exec(op.purpose ?? '')?.[1] ?? null;
      for (const o of orders) if (o.number === wanted) linked++;
    }
    const naiveSubset = secondsSince(n0);
    const naive = (naiveSubset * ops.length) / subset.length;

    // the store's floor: the same rows inserted, a transaction per page as the agent's, nothing looked up
    const f0 = performance.now();
    for (let i = 0; i < ops.length; i += INGEST_PAGE)
      await floor.store.db.transaction().execute(async (trx) => {
        for (const op of ops.slice(i, i + INGEST_PAGE))
          await trx
            .insertInto('payment_operations')
            .values(operationRow(op))
            .onConflict((oc) => oc.doNothing())
            .execute();
      });
    const floorSeconds = secondsSince(f0);

    const s = (x: number) => x.toFixed(2).padStart(8);
    return [
      `СБП payment history on SQLite (a file): ${ops.length} provider operations of ${numbers.length} orders (half of them the gateway's own attempts), read by the history agent (runHistory) from a registry`,
      `${`gateway: the agent's run, a transaction per ${INGEST_PAGE} operations`.padEnd(56)} ${s(seconds)} s   ${(ops.length / seconds).toFixed(0)} operations/s${run.error ? `; error: ${run.error}` : ''}`,
      `  operations by state: ${states.map((r) => `${r.match_state} ${r.n}`).join(', ')}; recorded ${run.recorded}, ${run.review} to review, review alerts: ${raised.length}`,
      `${'before: a transaction per operation, EXTRAPOLATED'.padEnd(56)} ${s(perOperation)} s   from ${sample.length} operations in ${beforeSample.toFixed(2)} s (ingestOperation one by one), same process`,
      `${'baseline: naive O(n·m) linking, EXTRAPOLATED'.padEnd(56)} ${s(naive)} s   from ${subset.length} operations × ${orders.length} orders in ${naiveSubset.toFixed(2)} s (${linked} linked)`,
      `${`floor: the same rows inserted, a transaction per ${INGEST_PAGE}`.padEnd(56)} ${s(floorSeconds)} s   nothing looked up or linked`,
      `ratio naive (extrapolated) / gateway ${(naive / seconds).toFixed(1)}×, a transaction per operation (extrapolated) / gateway ${(perOperation / seconds).toFixed(1)}×, floor / gateway ${(floorSeconds / seconds).toFixed(2)}`,
    ];
  } finally {
    await done();
    await before.done();
    await floor.done();
  }
}

export async function main(): Promise<void> {
  const out = [
    ...(LINES > 0 ? await statements() : ['(the statements part skipped: BENCH_STATEMENT_LINES=0)']),
    '',
    ...(OPERATIONS > 0 ? await history() : ['(the history part skipped: BENCH_HISTORY_OPERATIONS=0)']),
    '',
  ];
  process.stdout.write(out.join('\n') + '\n');
}
