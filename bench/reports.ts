import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import type { OrganizationConfig } from '../gateway/config';
import { buildReport, reportInput, REPORT_NAMES, type ReportName } from '../gateway/flows/reports';
import { openStore, type Store } from '../gateway/store/db';
import { migrateToLatest } from '../gateway/store/migrations';

/**
 * Each report over one month of a store holding a year of payments (1,000,000 by default), on SQLite
 * (a file) and on PostgreSQL (DATABASE_URL_PG, a schema of its own dropped afterwards).
 *
 * The store: a payment every ~31 s of 2026, each with its order; cards and СБП (85 %) with the
 * provider's operation (a fee where Sber reports one; a few missing, a few with another amount) and a
 * receipt (a few missing); refunds (3 %); invoices (15 %) with their transfers and statement lines,
 * open ones, buyers with credit limits; operations and lines waiting in review. Bulk-inserted (SQLite:
 * one transaction of prepared statements; PostgreSQL: unnest of arrays, 10,000 rows a statement).
 *
 * Timed: each report for June 2026 (ageing as of 30 June) read to its last row, best of
 * BENCH_REPORTS_RUNS; next to it, in the same run, the full-table-scan baseline: the payments
 * register's aggregation of the month with the indexes not used (SQLite `NOT INDEXED`, PostgreSQL with
 * index scans switched off), and the ratio. Target: < 2 s per report.
 *
 * Knobs: BENCH_REPORTS_PAYMENTS (1000000), BENCH_REPORTS_RUNS (3), BENCH_REPORTS_BACKENDS (sqlite,postgres),
 * BENCH_KEEP (keep the SQLite file and the PostgreSQL schema to look at afterwards).
 */

const N = Number(process.env.BENCH_REPORTS_PAYMENTS ?? 1_000_000);
const RUNS = Math.max(1, Number(process.env.BENCH_REPORTS_RUNS ?? 3));
const BACKENDS = (process.env.BENCH_REPORTS_BACKENDS ?? 'sqlite,postgres').split(',');
const YEAR_START = Date.parse('2026-01-01T00:00:00.000Z');
const YEAR_MS = 365 * 86_400_000;
const MONTH = { from: '2026-06-01', to: '2026-06-30' };

const orgs = new Map([
  ['main', { id: 'main', fiscal: { mode: 'translator' } }],
  ['second', { id: 'second', fiscal: { mode: 'off' } }],
]) as unknown as Map<string, OrganizationConfig>;

type Value = string | number | null;

const iso = (ms: number) => new Date(ms).toISOString();
const day = (ms: number) => iso(ms).slice(0, 10);
const pad = (n: number, w: number) => String(n).padStart(w, '0');

const T = {
  orders: [
    ['id', 'text'],
    ['organization_id', 'text'],
    ['customer_inn', 'text'],
    ['external_id', 'text'],
    ['number', 'text'],
    ['source', 'text'],
    ['customer', 'text'],
    ['items', 'text'],
    ['total', 'bigint'],
    ['currency', 'text'],
    ['payment_terms', 'text'],
    ['status', 'text'],
    ['paid_amount', 'bigint'],
    ['refunded_amount', 'bigint'],
    ['request_hash', 'text'],
    ['created_at', 'text'],
    ['updated_at', 'text'],
  ],
  payments: [
    ['id', 'text'],
    ['order_id', 'text'],
    ['organization_id', 'text'],
    ['method', 'text'],
    ['provider', 'text'],
    ['amount', 'bigint'],
    ['status', 'text'],
    ['refunded_amount', 'bigint'],
    ['paid_at', 'text'],
    ['onec_status', 'text'],
    ['onec_document', 'text'],
    ['created_at', 'text'],
    ['updated_at', 'text'],
  ],
  payment_operations: [
    ['id', 'text'],
    ['organization_id', 'text'],
    ['provider', 'text'],
    ['op_key', 'text'],
    ['kind', 'text'],
    ['provider_ref', 'text'],
    ['order_number', 'text'],
    ['method', 'text'],
    ['amount', 'bigint'],
    ['occurred_at', 'text'],
    ['source', 'text'],
    ['payment_id', 'text'],
    ['order_id', 'text'],
    ['match_state', 'text'],
    ['fee', 'bigint'],
    ['created_at', 'text'],
    ['updated_at', 'text'],
  ],
  receipts: [
    ['id', 'text'],
    ['organization_id', 'text'],
    ['order_id', 'text'],
    ['payment_id', 'text'],
    ['register_id', 'text'],
    ['kind', 'text'],
    ['operation', 'text'],
    ['external_id', 'text'],
    ['attempt', 'integer'],
    ['status', 'text'],
    ['total', 'bigint'],
    ['body', 'text'],
    ['fn_number', 'text'],
    ['fiscal_document_number', 'integer'],
    ['fiscal_document_attribute', 'bigint'],
    ['fiscal_datetime', 'text'],
    ['checks', 'integer'],
    ['created_at', 'text'],
    ['updated_at', 'text'],
  ],
  refunds: [
    ['id', 'text'],
    ['payment_id', 'text'],
    ['amount', 'bigint'],
    ['status', 'text'],
    ['refunded_before', 'bigint'],
    ['onec_status', 'text'],
    ['created_at', 'text'],
    ['updated_at', 'text'],
  ],
  invoices: [
    ['id', 'text'],
    ['organization_id', 'text'],
    ['order_id', 'text'],
    ['payment_id', 'text'],
    ['year', 'integer'],
    ['seq', 'integer'],
    ['number', 'text'],
    ['date', 'text'],
    ['due_date', 'text'],
    ['amount', 'bigint'],
    ['token', 'text'],
    ['paid', 'bigint'],
    ['created_at', 'text'],
  ],
  invoice_transfers: [
    ['statement_line_id', 'text'],
    ['invoice_id', 'text'],
    ['payment_id', 'text'],
    ['amount', 'bigint'],
    ['bank_number', 'text'],
    ['bank_date', 'text'],
    ['created_at', 'text'],
  ],
  statement_lines: [
    ['id', 'text'],
    ['organization_id', 'text'],
    ['line_key', 'text'],
    ['source', 'text'],
    ['account', 'text'],
    ['kind', 'text'],
    ['number', 'text'],
    ['doc_date', 'text'],
    ['bank_date', 'text'],
    ['amount', 'bigint'],
    ['payer_name', 'text'],
    ['payer_inn', 'text'],
    ['purpose', 'text'],
    ['match_state', 'text'],
    ['advance', 'bigint'],
    ['created_at', 'text'],
    ['updated_at', 'text'],
  ],
  customers: [
    ['organization_id', 'text'],
    ['inn', 'text'],
    ['name', 'text'],
    ['deferred_days', 'integer'],
    ['deferred_from', 'text'],
    ['credit_limit', 'bigint'],
    ['block_overdue', 'integer'],
    ['updated_at', 'text'],
  ],
} satisfies Record<string, [string, string][]>;

type TableName = keyof typeof T;

/** The rows of payments [from, to), table by table. */
function generate(from: number, to: number): Record<TableName, Value[][]> {
  const out = Object.fromEntries(Object.keys(T).map((k) => [k, [] as Value[][]])) as Record<TableName, Value[][]>;
  if (from === 0)
    for (let c = 0; c < 1_000; c++)
      out.customers.push(['main', `77${pad(c, 8)}`, `ООО Покупатель ${c}`, 30, 'invoice', 5_000_000 + c * 1_000, 1, iso(YEAR_START)]);
  for (let i = from; i < to; i++) {
    const at = YEAR_START + Math.floor((i * YEAR_MS) / N);
    const paidAt = iso(at);
    const org = i % 10 === 0 ? 'second' : 'main';
    const m = i % 20;
    const method = m < 12 ? 'card' : m < 17 ? 'sbp' : 'invoice';
    const provider = method === 'invoice' ? 'bank_transfer' : i % 2 ? 'sber' : 'tbank';
    const amount = 1_000 + ((i * 7919) % 500_000);
    const pending = i % 50 === 7;
    const refunded = !pending && i % 33 === 0 ? Math.floor(amount / 2) : 0;
    const status = pending ? 'pending' : refunded ? 'partially_refunded' : 'paid';
    const id = `pay-${pad(i, 8)}`;
    const orderId = `ord-${pad(i, 8)}`;
    const inn = method === 'invoice' ? `77${pad(i % 5_000, 8)}` : null;
    const customer = inn ? `{"type":"legal","name":"Покупатель ${i % 5_000}","inn":"${inn}"}` : '{"type":"individual","name":"Покупатель"}';
    out.orders.push([
      orderId,
      org,
      inn,
      `ext-${i}`,
      `N${i}`,
      'site',
      customer,
      '[]',
      amount,
      'RUB',
      '{"type":"prepay"}',
      pending ? 'awaiting_payment' : 'paid',
      pending ? 0 : amount,
      refunded,
      'h',
      paidAt,
      paidAt,
    ]);
    const onec = i % 100 === 3 ? 'failed' : 'delivered';
    out.payments.push([
      id,
      orderId,
      org,
      method,
      provider,
      amount,
      status,
      refunded,
      pending ? null : paidAt,
      onec,
      onec === 'delivered' ? `doc-${i}` : null,
      paidAt,
      paidAt,
    ]);
    if (method !== 'invoice') {
      if (!pending && i % 1_000 !== 9) {
        const fee = provider === 'sber' ? Math.round(amount * 0.018) : null;
        const got = i % 1_000 === 5 ? amount - 100 : amount;
        out.payment_operations.push([
          `op-${i}`,
          org,
          provider,
          `k-${i}`,
          'payment',
          `ref-${i}`,
          `N${i}`,
          method,
          got,
          iso(at + 3_000),
          'registry',
          id,
          orderId,
          'matched',
          fee,
          paidAt,
          paidAt,
        ]);
      }
      if (i % 2_000 === 11)
        out.payment_operations.push([
          `opx-${i}`,
          org,
          provider,
          `kx-${i}`,
          'payment',
          `refx-${i}`,
          null,
          method,
          amount,
          iso(at + 5_000),
          'registry',
          null,
          null,
          'unmatched',
          null,
          paidAt,
          paidAt,
        ]);
      if (!pending && i % 500 !== 1)
        out.receipts.push([
          `rc-${i}`,
          org,
          orderId,
          id,
          'web',
          'prepayment',
          'sell',
          `e-${i}`,
          1,
          'done',
          amount,
          '{}',
          '9999078900012345',
          i % 100_000,
          1_000_000 + i,
          iso(at + 10_000),
          0,
          paidAt,
          paidAt,
        ]);
    }
    if (refunded) out.refunds.push([`rf-${i}`, id, refunded, 'succeeded', 0, 'delivered', iso(at + 86_400_000), iso(at + 86_400_000)]);
    if (method === 'invoice') {
      const invoiceDate = day(at - 10 * 86_400_000);
      const due = day(at + 20 * 86_400_000);
      out.invoices.push([
        `inv-${i}`,
        org,
        orderId,
        id,
        2026,
        i,
        `СЧ-${i}`,
        invoiceDate,
        due,
        amount,
        `t-${i}`,
        pending ? 0 : amount,
        paidAt,
      ]);
      if (!pending) {
        out.invoice_transfers.push([`sl-${i}`, `inv-${i}`, id, amount, String(i % 100_000), day(at), paidAt]);
        out.statement_lines.push([
          `sl-${i}`,
          org,
          `lk-${i}`,
          'file',
          '40702810000000000001',
          'Платежное поручение',
          String(i % 100_000),
          day(at),
          day(at),
          amount,
          `Покупатель ${i % 5_000}`,
          inn,
          `Оплата по счёту СЧ-${i}`,
          'matched',
          0,
          paidAt,
          paidAt,
        ]);
      }
      if (i % 3_000 === 17)
        out.statement_lines.push([
          `slr-${i}`,
          org,
          `lkr-${i}`,
          'file',
          '40702810000000000001',
          'Платежное поручение',
          `R${i}`,
          day(at),
          day(at),
          amount,
          'ООО Неизвестный',
          '7799999999',
          'Оплата',
          'review',
          0,
          paidAt,
          paidAt,
        ]);
    }
  }
  return out;
}

const CHUNK = 10_000;

async function fillSqlite(file: string): Promise<void> {
  const { default: SQLite } = await import('better-sqlite3');
  const conn = new SQLite(file);
  conn.pragma('journal_mode = WAL');
  conn.pragma('synchronous = OFF');
  const statements = Object.fromEntries(
    Object.entries(T).map(([name, cols]) => [
      name,
      conn.prepare(`insert into ${name} (${cols.map((c) => c[0]).join(', ')}) values (${cols.map(() => '?').join(', ')})`),
    ]),
  );
  conn.transaction(() => {
    for (let i = 0; i < N; i += CHUNK) {
      const rows = generate(i, Math.min(N, i + CHUNK));
      for (const [name, list] of Object.entries(rows)) for (const r of list) statements[name].run(r);
    }
  })();
  conn.pragma('analysis_limit = 1000');
  conn.exec('analyze');
  conn.close();
}

async function fillPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let i = 0; i < N; i += CHUNK) {
      const rows = generate(i, Math.min(N, i + CHUNK));
      for (const [name, list] of Object.entries(rows) as [TableName, Value[][]][]) {
        if (list.length === 0) continue;
        const cols = T[name];
        const arrays = cols.map((_, j) => list.map((r) => r[j]));
        await client.query(
          `insert into ${name} (${cols.map((c) => c[0]).join(', ')}) select * from unnest(${cols.map((c, j) => `$${j + 1}::${c[1]}[]`).join(', ')})`,
          arrays,
        );
      }
    }
    // what autovacuum does to a store in service: the statistics, and the visibility map that lets
    // index-only scans answer from the index
    await client.query('vacuum analyze');
  } finally {
    await client.end();
  }
}

async function timed(fn: () => Promise<number>): Promise<{ ms: number; rows: number }> {
  let best = Infinity;
  let rows = 0;
  for (let r = 0; r < RUNS; r++) {
    const t = process.hrtime.bigint();
    rows = await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { ms: best, rows };
}

async function runReport(store: Store, name: ReportName): Promise<number> {
  const q = name === 'ageing' ? { asOf: MONTH.to } : MONTH;
  const report = await buildReport({ orgs, store }, name, reportInput({ orgs }, q, new Date('2026-07-01T09:00:00.000Z')));
  let n = 0;
  for await (const _ of report.rows) n++;
  report.totals();
  return n;
}

/** The payments register's aggregation of the month with no index: every payment of the year read. */
async function baseline(store: Store): Promise<number> {
  const input = reportInput({ orgs }, MONTH);
  const q = (table: ReturnType<typeof sql>) => sql<{ n: number }>`
    select count(*) as n from (select method, provider, organization_id, count(*) as c, sum(amount) as s
    from ${table} where paid_at >= ${input.range.from} and paid_at < ${input.range.to}
    and status in ('paid', 'refunded', 'partially_refunded') group by method, provider, organization_id) x`;
  if (store.dialect === 'sqlite') return (await q(sql`payments not indexed`).execute(store.db)).rows.length;
  return store.db.transaction().execute(async (trx) => {
    await sql`set local enable_indexscan = off`.execute(trx);
    await sql`set local enable_bitmapscan = off`.execute(trx);
    await sql`set local enable_indexonlyscan = off`.execute(trx);
    return (await q(sql`payments`).execute(trx)).rows.length;
  });
}

async function measure(label: string, store: Store, fillMs: number): Promise<string[]> {
  const base = await timed(() => baseline(store));
  const out = [`${label}: ${N.toLocaleString('en')} payments stored in ${(fillMs / 1000).toFixed(1)} s; June 2026, best of ${RUNS}`];
  out.push(`  full-table-scan baseline (payments aggregated with no index): ${base.ms.toFixed(0)} ms`);
  for (const name of REPORT_NAMES) {
    const r = await timed(() => runReport(store, name));
    out.push(
      `  ${name.padEnd(15)} ${r.ms.toFixed(0).padStart(6)} ms  ${String(r.rows).padStart(7)} rows  ratio to baseline ${(r.ms / base.ms).toFixed(2)}  ${r.ms < 2000 ? 'OK (< 2 s)' : 'OVER 2 s'}`,
    );
  }
  return out;
}

async function sqliteRun(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-reports-'));
  const file = join(dir, 'gateway.db');
  try {
    const s = await openStore(`sqlite:${file}`);
    await migrateToLatest(s.db);
    await s.close();
    const t = Date.now();
    await fillSqlite(file);
    const fillMs = Date.now() - t;
    const store = await openStore(`sqlite:${file}`);
    try {
      return await measure('SQLite (file)', store, fillMs);
    } finally {
      await store.close();
    }
  } finally {
    if (process.env.BENCH_KEEP) process.stderr.write(`kept ${file}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresRun(): Promise<string[]> {
  const base = process.env.DATABASE_URL_PG;
  if (!base) return ['PostgreSQL: skipped (DATABASE_URL_PG is not set)'];
  const schema = `bench_reports_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  try {
    const u = new URL(base);
    u.searchParams.set('options', `-c search_path=${schema}`);
    const store = await openStore(u.toString());
    try {
      await migrateToLatest(store.db);
      const t = Date.now();
      await fillPostgres(u.toString());
      return await measure('PostgreSQL', store, Date.now() - t);
    } finally {
      await store.close();
    }
  } finally {
    if (process.env.BENCH_KEEP) process.stderr.write(`kept schema ${schema}\n`);
    else await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
}

export async function main(): Promise<void> {
  const out = [`reports: ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}`];
  if (BACKENDS.includes('sqlite')) out.push(...(await sqliteRun()));
  if (BACKENDS.includes('postgres')) out.push(...(await postgresRun()));
  process.stdout.write(out.join('\n') + '\n');
}
