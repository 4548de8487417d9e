import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { matchStatementLines, printedNumber, purposeReferences, type OpenInvoice } from '../gateway/domain/statement-matching';
import type { Alerts } from '../gateway/flows/alerts/alerts';
import type { FlowDeps } from '../gateway/flows/deps';
import { ingestOperation, type IngestResult } from '../gateway/flows/history/operations';
import { matchStoredLines } from '../gateway/flows/statements/match';
import type { ProviderOperation } from '../gateway/ports';
import { openStore, type Store } from '../gateway/store/db';
import { migrateToLatest } from '../gateway/store/migrations';
import { newOrderRow } from '../gateway/store/orders';
import { insertStatementLines, newStatementLineRow, statementLinesIn } from '../gateway/store/statements';
import { generateCorpus, type CorpusLine } from '../test/helpers/statement-corpus';

/**
 * Matching bank statement lines to open invoices, and the СБП payment history, at scale on SQLite.
 *
 * Statements: the generated corpus (100,000 incoming lines or more against 100,000 open invoices
 * or more, with known answers) stored first; then timed: the lines read from the store, the open
 * invoices read, every line matched, every decision written back (one transaction). Next to it, in
 * the same process, the naive O(n·m) matcher: each line compared with every invoice — run on a
 * subset of the lines and extrapolated, since the full run would take minutes.
 *
 * History: 100,000 provider operations of 100,000 orders stored and linked one by one through
 * the history's own path (ingestOperation: a transaction each, the key, the order found by its
 * number), next to the naive O(n·m) linking (each operation compared with every order, on a
 * subset, extrapolated) and the store's floor (the same rows inserted one transaction each, no
 * linking).
 */

const LINES = Number(process.env.BENCH_STATEMENT_LINES ?? 100_000);
const INVOICES = Number(process.env.BENCH_STATEMENT_INVOICES ?? 100_000);
const NAIVE_SUBSET = Number(process.env.BENCH_NAIVE_SUBSET ?? 300);
const OPERATIONS = Number(process.env.BENCH_HISTORY_OPERATIONS ?? 100_000);
const TARGET_SECONDS = 2;

const noAlerts = () => {
  const raised: string[] = [];
  return { raised, alerts: { raise: async (_trx: unknown, a: { title: string }) => void raised.push(a.title) } as unknown as Alerts };
};

async function tempStore(name: string): Promise<{ store: Store; done: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  const store = await openStore(`sqlite:${join(dir, 'gateway.db')}`);
  await migrateToLatest(store.db);
  return {
    store,
    done: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const secondsSince = (t: number) => (performance.now() - t) / 1000;

// ---------------------------------------------------------------- statements

/**
 * The open invoices are read from a table of this benchmark's own, with the columns matching
 * needs: the gateway's invoices table comes with the invoice part of the same issue.
 */
async function storeInvoices(store: Store, invoices: readonly OpenInvoice[]): Promise<void> {
  await sql`create table bench_open_invoices (id varchar(36) primary key, number varchar(64) not null, date varchar(10) not null,
    order_number varchar(64), buyer_inn varchar(12), buyer_kpp varchar(9), amount_due integer not null, due_date varchar(10) not null, uip varchar(25))`.execute(
    store.db,
  );
  await store.db.transaction().execute(async (trx) => {
    for (let i = 0; i < invoices.length; i += 500) {
      const part = invoices.slice(i, i + 500);
      await sql`insert into bench_open_invoices values ${sql.join(
        part.map(
          (v) =>
            sql`(${v.id}, ${v.number}, ${v.date}, ${v.orderNumber}, ${v.buyerInn}, ${v.buyerKpp}, ${v.amountDue}, ${v.dueDate}, ${v.uip})`,
        ),
      )}`.execute(trx);
    }
  });
}

async function loadInvoices(store: Store): Promise<OpenInvoice[]> {
  const r = await sql<{
    id: string;
    number: string;
    date: string;
    order_number: string | null;
    buyer_inn: string | null;
    buyer_kpp: string | null;
    amount_due: number;
    due_date: string;
    uip: string | null;
  }>`select * from bench_open_invoices where amount_due > 0`.execute(store.db);
  return r.rows.map((v) => ({
    id: v.id,
    number: v.number,
    date: v.date,
    orderNumber: v.order_number,
    buyerInn: v.buyer_inn,
    buyerKpp: v.buyer_kpp,
    amountDue: v.amount_due,
    dueDate: v.due_date,
    uip: v.uip,
  }));
}

function asStatementRow(l: CorpusLine) {
  return newStatementLineRow('shop', 'bench', {
    account: '40702810000000000001',
    direction: 'incoming',
    kind: 'Платежное поручение',
    number: l.id.slice(5),
    date: l.date,
    amount: l.amount,
    bankDate: l.date,
    payer: {
      name: `Плательщик ${l.payerInn ?? 'без ИНН'}`,
      inn: l.payerInn,
      kpp: l.payerKpp,
      account: `40702810${l.id.slice(5).padStart(12, '0')}`,
      bankBik: '044525225',
      bankName: null,
    },
    receiver: { name: 'ООО Магазин', inn: '7700000001', kpp: null, account: '40702810000000000001', bankBik: null, bankName: null },
    purpose: l.purpose,
    uip: l.uip,
  });
}

/**
 * The obvious matcher: for each line, every invoice is looked at (УИП equal, its number among the
 * purpose's, its buyer the payer and due the amount); the first step that finds exactly one wins.
 */
function naiveMatch(lines: readonly CorpusLine[], invoices: readonly OpenInvoice[]): number {
  const printed = invoices.map((i) => printedNumber(i.number));
  let decided = 0;
  for (const l of lines) {
    const refs = new Set(purposeReferences(l.purpose).map((r) => r.printed));
    let byUip = -1;
    let byNumber = -1;
    let numberHits = 0;
    let byAmount = -1;
    let amountHits = 0;
    for (let k = 0; k < invoices.length; k++) {
      const inv = invoices[k];
      if (l.uip !== null && inv.uip === l.uip) byUip = k;
      if (refs.has(printed[k])) {
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

async function statements(): Promise<string[]> {
  const t0 = performance.now();
  const corpus = generateCorpus(20261201, { invoices: INVOICES, lines: LINES });
  const generated = secondsSince(t0);
  const { store, done } = await tempStore('statements');
  try {
    const t1 = performance.now();
    await store.db.transaction().execute((trx) => insertStatementLines(trx, store.dialect, corpus.lines.map(asStatementRow)));
    await storeInvoices(store, corpus.invoices);
    const stored = secondsSince(t1);

    const { alerts, raised } = noAlerts();
    const started = performance.now();
    const invoices = await loadInvoices(store);
    const readInvoices = secondsSince(started);
    const steps = { read: 0, match: 0, write: 0 };
    const run = await matchStoredLines({ store, alerts }, 'shop', invoices, steps);
    const seconds = secondsSince(started);

    // the answers: what was written back against what the corpus knows
    const byNumber = new Map(corpus.lines.map((l) => [l.id.slice(5), l]));
    const written = await statementLinesIn(store.db, 'shop', ['matched', 'partial', 'overpaid', 'review']);
    let wrong = 0;
    for (const r of written) {
      const l = byNumber.get(r.number)!;
      if (l.expected.kind === 'review') {
        if (r.match_state !== 'review') wrong++;
      } else if (r.match_state === 'review') continue;
      else {
        const got = (JSON.parse(r.allocations!) as { invoiceId: string; amount: number }[])
          .map((a) => `${a.invoiceId}:${a.amount}`)
          .sort()
          .join();
        const want = l.expected.allocations
          .map((a) => `${a.invoiceId}:${a.amount}`)
          .sort()
          .join();
        if (got !== want || r.advance !== l.expected.advance) wrong++;
      }
    }

    // the naive matcher, on a subset of the lines against every invoice, extrapolated
    const subset = corpus.lines.slice(0, NAIVE_SUBSET);
    const n0 = performance.now();
    naiveMatch(subset, invoices);
    const naiveSubset = secondsSince(n0);
    const naive = (naiveSubset * corpus.lines.length) / subset.length;
    // the in-memory matcher alone, for the share the store takes
    const m0 = performance.now();
    matchStatementLines(corpus.lines, corpus.invoices);
    const matchOnly = secondsSince(m0);

    return [
      `Statement matching on SQLite: ${corpus.lines.length} incoming lines against ${corpus.invoices.length} open invoices (corpus generated in ${generated.toFixed(1)} s, stored in ${stored.toFixed(1)} s)`,
      `${'gateway: read lines + invoices, match, write back'.padEnd(56)} ${seconds.toFixed(2).padStart(8)} s   (target < ${TARGET_SECONDS} s: ${seconds < TARGET_SECONDS ? 'met' : 'NOT met'}); matching alone ${matchOnly.toFixed(2)} s`,
      `  of which: invoices read ${readInvoices.toFixed(2)} s, lines read ${steps.read.toFixed(2)} s, matched ${steps.match.toFixed(2)} s, written back and committed ${(seconds - readInvoices - steps.read - steps.match).toFixed(2)} s (load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores)`,
      `${'baseline: naive O(n·m) matcher'.padEnd(56)} ${naive.toFixed(2).padStart(8)} s   extrapolated from ${subset.length} lines × ${invoices.length} invoices in ${naiveSubset.toFixed(2)} s (the full run would take too long)`,
      `  decisions: ${run.matched} matched, ${run.partial} partial, ${run.overpaid} overpaid (advance kept), ${run.review} to review; wrong matches against the known answers: ${wrong}; alerts: ${raised.length}`,
      `ratio naive / gateway ${(naive / seconds).toFixed(0)}×`,
    ];
  } finally {
    await done();
  }
}

// ---------------------------------------------------------------- the СБП payment history

function operations(numbers: readonly string[], amounts: readonly number[]): ProviderOperation[] {
  return Array.from({ length: OPERATIONS }, (_, i) => {
    const k = i % numbers.length;
    const kind = i % 20;
    return {
      kind: 'payment' as const,
      providerRef: `AD${String(i).padStart(30, '0')}`,
      // mostly the order number the site registered; some only in the purpose; some nobody's
      orderNumber: kind < 17 ? numbers[k] : null,
      method: 'sbp' as const,
      amount: amounts[k],
      occurredAt: new Date(Date.UTC(2026, 11, 1) + i * 1000).toISOString(),
      payerBank: 'Сбербанк',
      purpose: kind < 17 ? null : kind < 19 ? `Оплата заказа №${numbers[k]}` : `Перевод по QR ${i}`,
      raw: { id: i },
    };
  });
}

async function seedOrders(store: Store): Promise<{ numbers: string[]; amounts: number[] }> {
  const numbers: string[] = [];
  const amounts: number[] = [];
  const rows = Array.from({ length: OPERATIONS }, (_, i) => {
    const number = `S-${String(i + 1).padStart(7, '0')}`;
    const total = 10_000 + ((i * 7919) % 5_000_000);
    numbers.push(number);
    amounts.push(total);
    return newOrderRow({
      organization_id: 'shop',
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
  });
  await store.db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += 200)
      await trx
        .insertInto('orders')
        .values(rows.slice(i, i + 200))
        .execute();
  });
  await sql`create index if not exists bench_orders_number on orders (organization_id, number)`.execute(store.db);
  return { numbers, amounts };
}

async function history(): Promise<string[]> {
  const { store, done } = await tempStore('history');
  const floor = await tempStore('history-floor');
  try {
    const { numbers, amounts } = await seedOrders(store);
    const ops = operations(numbers, amounts);
    const { alerts, raised } = noAlerts();
    const d = { store, alerts, jobs: { kick: () => undefined } } as unknown as FlowDeps;
    const into: IngestResult = { recorded: 0, review: 0, recover: new Set() };
    const started = performance.now();
    for (const op of ops) await ingestOperation(d, 'shop', 'sber', op, into);
    const seconds = secondsSince(started);
    const states = await store.db
      .selectFrom('payment_operations')
      .select(['match_state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('match_state')
      .execute();

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

    // the store's floor: the same rows, one transaction each, nothing looked up
    const f0 = performance.now();
    for (const op of ops)
      await floor.store.db.transaction().execute((trx) =>
        trx
          .insertInto('payment_operations')
          .values({
            id: op.providerRef,
            organization_id: 'shop',
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
          })
          .onConflict((oc) => oc.doNothing())
          .execute(),
      );
    const floorSeconds = secondsSince(f0);

    return [
      `СБП payment history on SQLite: ${ops.length} provider operations of ${numbers.length} orders, stored and linked one by one (ingestOperation)`,
      `${'gateway: history ingest (a transaction per operation)'.padEnd(56)} ${seconds.toFixed(2).padStart(8)} s   ${(ops.length / seconds).toFixed(0)} operations/s`,
      `${'baseline: naive O(n·m) linking'.padEnd(56)} ${naive.toFixed(2).padStart(8)} s   extrapolated from ${subset.length} operations × ${orders.length} orders in ${naiveSubset.toFixed(2)} s (${linked} linked)`,
      `${'floor: the same rows inserted, a transaction each'.padEnd(56)} ${floorSeconds.toFixed(2).padStart(8)} s`,
      `  operations by state: ${states.map((s) => `${s.match_state} ${s.n}`).join(', ')}; ${into.review} to review, review alerts: ${raised.length}`,
      `ratio naive / gateway ${(naive / seconds).toFixed(1)}×, floor / gateway ${(floorSeconds / seconds).toFixed(2)}`,
    ];
  } finally {
    await done();
    await floor.done();
  }
}

export async function main(): Promise<void> {
  const out = [
    ...(await statements()),
    '',
    ...(OPERATIONS > 0 ? await history() : ['(the history part skipped: BENCH_HISTORY_OPERATIONS=0)']),
    '',
  ];
  process.stdout.write(out.join('\n') + '\n');
}
