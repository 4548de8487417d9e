import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Koa from 'koa';
import { sql } from 'kysely';
import { createLogger } from '../gateway/log';
import type { Db } from '../gateway/store/db';
import { SberClient } from '../connectors/sber/client';
import { profileIf } from './profile';
import { MINUTE, stopChild, unlessExits, until, within } from './wait';
import { createGateway } from '../gateway/main';
import { sandboxConfig, SANDBOX } from '../test/sandbox/config';

/**
 * Callback ingestion: a signed Sber callback verified, confirmed with getOrderStatusExtended.do
 * against the emulated bank (its own process), the callback with the confirmed state committed
 * with the job that applies it (SQLite, WAL: every acknowledged callback is on disk, the WAL synced
 * before the answer), then 200 — in requests/s, next to a plain Koa hello-world measured in the
 * same run on the same machine. Afterwards a worker process's share is measured too: the same
 * store opened by a worker applies every confirmed state (payment paid, order, the site's webhook
 * job, the history) and the run checks that all of them were.
 *
 * Both get the same load set-up: autocannon in this process, CONNECTIONS keep-alive connections,
 * and a warm-up before what is measured (hello-worlds for the baseline, callbacks of payments of
 * their own for the gateway). The gateway and the line that only makes the status call are measured
 * in alternating turns (BENCH_ROUNDS), so that a slower moment of a shared machine weighs on both.
 * Also printed: this process's CPU time per request (steadier than requests/s when other work
 * shares the machine) and the emulated bank's, which shares the cores.
 */

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const CALLBACKS = Number(process.env.BENCH_CALLBACKS ?? 6000);
/** Callbacks sent before the measured ones (the baseline is warmed up too). */
const WARMUP_CALLBACKS = Number(process.env.BENCH_WARMUP_CALLBACKS ?? 1500);
const BASELINE_REQUESTS = Number(process.env.BENCH_BASELINE_REQUESTS ?? 40000);
/** The gateway and the status-call-only line are measured in this many turns each. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
/** Requests/s of the gateway against the status-call-only line, at least. */
const TARGET = 0.5;

/** Deadlines: generous for a slow, busy two-core machine, and growing with the number of requests. */
const LOAD_MS = (requests: number) => 3 * MINUTE + requests * 10;
const PREPARE_MS = (payments: number) => 3 * MINUTE + payments * 50;
const APPLY_MS = (payments: number) => 3 * MINUTE + payments * 50;
const STOP_MS = 2 * MINUTE;

interface Result {
  rps: number;
  /** CPU time of this process per request (user + system), µs: steadier than rps on a busy machine. */
  cpuUs: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
}

/**
 * Sends `amount` requests over CONNECTIONS keep-alive connections; the rate is taken between the
 * first request and the last response (autocannon itself reports whole seconds in this mode).
 */
async function load(url: string, amount: number, paths?: string[]): Promise<Result> {
  let i = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  let last = started;
  const instance: any = autocannon({
    url,
    connections: CONNECTIONS,
    amount,
    ...(paths
      ? {
          requests: [
            {
              setupRequest: (req: any) => {
                req.path = paths[i++ % paths.length];
                return req;
              },
            },
          ],
        }
      : {}),
  });
  let answered = 0;
  instance.on('response', () => {
    last = performance.now();
    answered++;
  });
  const r = await within(`${amount} responses from ${url}`, instance as Promise<any>, {
    timeoutMs: LOAD_MS(amount),
    progress: () => ({ arrived: answered, expected: amount }),
    onTimeout: () => instance.stop(),
  });
  const seconds = (last - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    rps: r.requests.total / seconds,
    cpuUs: (used.user + used.system) / r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    total: r.requests.total,
  };
}

async function baseline(): Promise<Result> {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = 'OK';
  });
  const server: Server = await new Promise((res) => {
    const s = app.listen(0, '127.0.0.1', () => res(s));
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  await load(url, 5000); // warm-up
  const r = await load(url, BASELINE_REQUESTS);
  await close('the hello-world server', server);
  return r;
}

/**
 * What the confirmation alone costs: a Koa hello-world that, for each request, asks the same
 * emulated bank getOrderStatusExtended.do with the gateway's own HTTP client, and answers. No
 * verification, no store: the highest rate a callback that is confirmed before it is answered can
 * reach on this machine. Started (and warmed up) here, measured in rounds between the gateway's.
 */
async function statusCallOnly(restUrl: string): Promise<{ url: string; server: Server }> {
  const client = new SberClient({ baseUrl: restUrl, userName: SANDBOX.sber.userName, password: SANDBOX.sber.password, timeoutMs: 10_000 });
  const registered = await client.ok<{ orderId: string; errorCode?: string }>('register.do', {
    orderNumber: 'floor-1',
    amount: 10000,
    returnUrl: 'http://127.0.0.1/return',
  });
  const app = new Koa();
  app.use(async (ctx) => {
    const r = await client.ok<{ orderStatus?: number; errorCode?: string }>('getOrderStatusExtended.do', { orderId: registered.orderId });
    ctx.body = r.orderStatus === undefined ? 'NO' : 'OK';
  });
  const server: Server = await new Promise((res) => {
    const s = app.listen(0, '127.0.0.1', () => res(s));
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  await load(url, 2000);
  return { url, server };
}

/** Rounds of one measurement as one: requests over the seconds of all, CPU per request, the median p50 and the worst p99. */
function combine(rounds: Result[]): Result {
  const total = rounds.reduce((n, r) => n + r.total, 0);
  const seconds = rounds.reduce((n, r) => n + r.total / r.rps, 0);
  const p50s = rounds.map((r) => r.p50).sort((a, b) => a - b);
  return {
    rps: total / seconds,
    cpuUs: rounds.reduce((n, r) => n + r.cpuUs * r.total, 0) / total,
    p50: p50s[Math.floor(p50s.length / 2)],
    p99: Math.max(...rounds.map((r) => r.p99)),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    total,
  };
}

/** Closes a server once its (keep-alive) connections are gone. */
async function close(what: string, server: Server): Promise<void> {
  const closed = new Promise((res) => server.close(res));
  server.closeIdleConnections();
  await within(`${what} to close`, closed, { timeoutMs: STOP_MS, onTimeout: () => server.closeAllConnections() });
}

/** CPU time (user + system) a process has used, ms, from /proc (clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function gatewayRun(): Promise<
  Result & { prepared: number; durable: number; bankCpuUs: number; appliedPerSecond: number; floor: Result }
> {
  const bank = fork(join(__dirname, 'emulator-process.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (q: string) => void>();
  let seq = 0;
  const restUrl: string = await within(
    'the emulated bank process to start',
    unlessExits(
      'the emulated bank process',
      bank,
      new Promise((res) =>
        bank.on('message', (m: any) => {
          if (m.url) res(m.url);
          else (pending.get(m.id)?.(m.query), pending.delete(m.id));
        }),
      ),
    ),
    { timeoutMs: 2 * MINUTE },
  );
  const complete = (mdOrder: string) =>
    new Promise<string>((res) => {
      const id = ++seq;
      pending.set(id, res);
      bank.send({ id, complete: mdOrder });
    });

  const floorServer = await statusCallOnly(restUrl);
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const config = sandboxConfig({
    port: 0,
    databaseUrl: `sqlite:${dir}/gateway.db`,
    sberRestUrl: restUrl,
    siteWebhook: { url: 'http://127.0.0.1:9/hook', secret: 'bench-site-webhook-secret' },
    overrides: (raw) => {
      raw.log.level = 'warn';
      raw.janitor = { everySeconds: 3600, pollPendingAfterSeconds: 3600 };
    },
  });
  // ingestion only: the follow-up jobs are written, a separate worker would run them
  const gateway = await createGateway(config, { logger: createLogger('warn'), roles: { http: true, worker: false } });
  const { url } = await gateway.start();
  const auth = { authorization: `Bearer ${SANDBOX.siteKey}`, 'content-type': 'application/json' };

  // prepare: one order and one registered card payment per callback, paid at the bank
  const paths: string[] = [];
  const batch = 64;
  const total = WARMUP_CALLBACKS + CALLBACKS;
  const prepare = async () => {
    for (let start = 0; start < total; start += batch) {
      await Promise.all(
        Array.from({ length: Math.min(batch, total - start) }, async (_, k) => {
          const n = start + k;
          const order: any = await (
            await fetch(`${url}/api/v1/orders`, {
              method: 'POST',
              headers: auth,
              body: JSON.stringify({
                externalId: `b-${n}`,
                number: `B-${n}`,
                customer: { type: 'individual', name: 'Bench' },
                items: [{ sku: 's', name: 'Товар', quantity: 1, price: 10000, amount: 10000, vat: 'vat22' }],
                total: 10000,
              }),
            })
          ).json();
          const payment: any = await (
            await fetch(`${url}/api/v1/orders/${order.id}/payments`, {
              method: 'POST',
              headers: { ...auth, 'idempotency-key': `b-${n}` },
              body: JSON.stringify({ method: 'card' }),
            })
          ).json();
          const mdOrder = new URL(payment.action.url).searchParams.get('mdOrder')!;
          paths.push(`/callbacks/sber/main?${await complete(mdOrder)}`);
        }),
      );
    }
  };
  await within('card payments paid at the bank, with their signed callbacks', unlessExits('the emulated bank process', bank, prepare()), {
    timeoutMs: PREPARE_MS(total),
    progress: () => ({ arrived: paths.length, expected: total }),
  });
  const warmup = paths.splice(0, WARMUP_CALLBACKS);
  if (warmup.length > 0) await load(url, warmup.length, warmup);
  // the gateway's callbacks and the status-call-only line in turns, ROUNDS of each: what else the
  // machine does at one moment weighs on both alike
  const gatewayRounds: Result[] = [];
  const floorRounds: Result[] = [];
  let bankMs = 0;
  const each = Math.ceil(paths.length / ROUNDS);
  for (let k = 0; k < ROUNDS; k++) {
    const part = paths.slice(k * each, (k + 1) * each);
    if (part.length === 0) break;
    floorRounds.push(await load(floorServer.url, part.length));
    const stopProfile = await profileIf(process.env.BENCH_PROFILE && `${process.env.BENCH_PROFILE}.${k}`);
    const bankCpu = cpuMsOf(bank.pid!);
    gatewayRounds.push(await load(url, part.length, part));
    bankMs += cpuMsOf(bank.pid!) - bankCpu;
    await stopProfile();
  }
  await close('the status-call server', floorServer.server);
  const r = combine(gatewayRounds);
  const floor = combine(floorRounds);
  const bankCpuUs = (bankMs * 1000) / r.total;
  const count = async (db: Db, table: 'jobs' | 'payments', column: 'name' | 'status', value: string) =>
    Number(
      (await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where ${sql.ref(column)} = ${value}`.execute(db)).rows[0].n,
    );
  const confirmed = await count(gateway.store.db, 'jobs', 'name', 'payment.apply');
  await within('the ingesting gateway to stop', gateway.stop(), { timeoutMs: STOP_MS });
  if (confirmed !== total) throw new Error(`expected ${total} confirmed callbacks with their jobs on disk, found ${confirmed}`);

  // the worker's half: every confirmed state applied (the site's webhook points nowhere here: its retries are not news)
  const worker = await createGateway(config, { logger: createLogger('error'), roles: { http: false, worker: true } });
  const drainStarted = performance.now();
  await worker.start();
  const paid = await until(
    'payments paid by the worker (confirmed states applied)',
    () => count(worker.store.db, 'payments', 'status', 'paid'),
    {
      expected: total,
      timeoutMs: APPLY_MS(total),
    },
  );
  const drainSeconds = (performance.now() - drainStarted) / 1000;
  const notify = await count(worker.store.db, 'jobs', 'name', 'payment.notify-site');
  await within('the worker to stop', worker.stop(), { timeoutMs: STOP_MS });
  await stopChild('the emulated bank process', bank, STOP_MS);
  rmSync(dir, { recursive: true, force: true });
  if (paid !== total || notify !== total) throw new Error(`expected ${total} paid payments and site webhooks, found ${paid} and ${notify}`);
  return { ...r, prepared: paths.length, durable: paid, bankCpuUs, appliedPerSecond: total / drainSeconds, floor };
}

export async function main(): Promise<void> {
  const base = await baseline();
  const gw = await gatewayRun();
  const ratio = gw.rps / base.rps;
  const scaled = gw.rps / gw.floor.rps;
  const line = (name: string, r: Result) =>
    `${name.padEnd(44)} ${r.rps.toFixed(0).padStart(7)} req/s   ${r.cpuUs.toFixed(0).padStart(5)} µs CPU/req   p50 ${String(r.p50).padStart(3)} ms   p99 ${String(r.p99).padStart(4)} ms   errors ${r.errors + r.non2xx}`;
  process.stdout.write(
    [
      `callback ingestion (${CONNECTIONS} connections)`,
      line('baseline: Koa hello-world', base),
      line('gateway: Sber callback → confirm → commit', gw),
      line('for scale: Koa + only the status call', gw.floor),
      `  the emulated bank (its own process) used ${gw.bankCpuUs.toFixed(0)} µs CPU per callback`,
      `  ${gw.prepared} callbacks measured after ${WARMUP_CALLBACKS} to warm up; all ${gw.durable} acknowledged with the confirmed state and its job on disk (SQLite WAL, synced before each answer)`,
      `  then a worker applied them all (payment paid, order, site webhook job, history): ${gw.appliedPerSecond.toFixed(0)} payments/s`,
      `  the status call alone reaches ${(gw.floor.rps / base.rps).toFixed(3)} of the hello-world; the gateway reaches ${scaled.toFixed(3)} of that (${ROUNDS} turns each, alternating)`,
      // the target: the gateway against the line that makes the same status call (the hello-world ratio, once the target, is for scale)
      `ratio ${scaled.toFixed(3)} of the status-call-only line (target ≥ ${TARGET}: ${scaled >= TARGET ? 'met' : 'NOT met'}); ${ratio.toFixed(3)} of the hello-world`,
      '',
    ].join('\n'),
  );
}
