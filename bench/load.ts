import { AsyncLocalStorage } from 'node:async_hooks';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Koa from 'koa';
import pg from 'pg';
import { Pool } from 'undici';
import { createGateway, type Gateway } from '../gateway/main';
import { createLogger } from '../gateway/log';
import { sandboxConfig, SANDBOX } from '../test/sandbox/config';
import { MINUTE, stopChild, unlessExits, within } from './wait';
import { collectGarbage } from './profile';

/**
 * Mixed traffic at a steady rate, as a shop's site and its bank make it: orders created, card payments
 * created for them (the emulated Sber's register.do, in a process of its own), orders and payments read,
 * and the bank's signed callbacks (each confirmed with getOrderStatusExtended.do before the answer) —
 * one gateway process serving HTTP and running the jobs, on SQLite (a file) and on PostgreSQL.
 *
 * The load is open-loop: each request is sent at its planned instant whatever the answers before it,
 * and its latency counts from that instant (a slow answer delays nothing, and is not hidden). Printed:
 * the client's latency, and the gateway's own time per request — from the first middleware to the
 * answer, less the time spent waiting for the bank (undici's diagnostics channels, attributed to the
 * request that made the call): the provider's latency excluded, as the target asks. Next to it, in
 * the same run, the same load on a Koa hello-world.
 *
 * `load`: BENCH_LOAD_RPS (200) for BENCH_LOAD_SECONDS (30) after 10 s of warm-up, per backend
 * (BENCH_LOAD_BACKENDS sqlite,postgres), each in a process of its own. Target: gateway-side p99 < 25 ms.
 * `soak`: the same traffic for BENCH_SOAK_MINUTES (10) on SQLite; each minute the RSS, the heap after a
 * full garbage collection (what is still held: a leak shows there first) and the event-loop delay (min,
 * median, max); at the end the trend (least squares) of the memory and of each minute's longest
 * event-loop stall over the minutes after the first third, which warms up (the JIT, SQLite's page
 * cache, the pools and the heap growing to their working size); the gateway-side p99's is printed too.
 */

const RPS = Number(process.env.BENCH_LOAD_RPS ?? 200);
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 30);
const WARMUP_SECONDS = Number(process.env.BENCH_LOAD_WARMUP_SECONDS ?? 10);
const BACKENDS = (process.env.BENCH_LOAD_BACKENDS ?? 'sqlite,postgres').split(',');
const SOAK_MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 10);
const TARGET_P99_MS = 25;

type Kind = 'order' | 'payment' | 'read' | 'callback';
/** One cycle of the mix: for each order, its payment, two reads and the bank's callback. */
const MIX: Kind[] = ['order', 'read', 'payment', 'read', 'callback'];

// ---- the gateway's own time: the request's time less the bank's -------------------------------

interface RequestClock {
  upstreamNs: bigint;
}
const clock = new AsyncLocalStorage<RequestClock>();
const outbound = new WeakMap<object, { at: bigint; clock: RequestClock }>();
diagnostics.subscribe('undici:request:create', (m) => {
  const c = clock.getStore();
  if (c) outbound.set((m as { request: object }).request, { at: process.hrtime.bigint(), clock: c });
});
const settled = (m: unknown) => {
  const request = (m as { request: object }).request;
  const o = outbound.get(request);
  if (!o) return;
  o.clock.upstreamNs += process.hrtime.bigint() - o.at;
  outbound.delete(request);
};
diagnostics.subscribe('undici:request:trailers', settled);
diagnostics.subscribe('undici:request:error', settled);

class Samples {
  private values: number[] = [];
  add(ms: number): void {
    this.values.push(ms);
  }
  get count(): number {
    return this.values.length;
  }
  quantile(q: number): number {
    if (this.values.length === 0) return NaN;
    const s = Float64Array.from(this.values).sort();
    return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  }
  take(): Samples {
    const out = new Samples();
    out.values = this.values;
    this.values = [];
    return out;
  }
}

/** The gateway's time per request (ms), provider latency excluded, while `recording` is set. */
function meter(gateway: Gateway): { samples: Samples; byRoute: Map<string, Samples>; recording: { on: boolean } } {
  const samples = new Samples();
  // the same, by route: which kind of request the tail is made of
  const byRoute = new Map<string, Samples>();
  const recording = { on: false };
  // first in line: everything the gateway does for a request is inside it
  gateway.app.middleware.unshift(async (ctx, next) => {
    const c: RequestClock = { upstreamNs: 0n };
    const started = process.hrtime.bigint();
    await clock.run(c, next);
    if (!recording.on) return;
    const ms = Number(process.hrtime.bigint() - started - c.upstreamNs) / 1e6;
    samples.add(ms);
    const route = `${ctx.method} ${(ctx as { _matchedRoute?: string })._matchedRoute ?? ctx.path}`;
    let r = byRoute.get(route);
    if (!r) byRoute.set(route, (r = new Samples()));
    r.add(ms);
  });
  return { samples, byRoute, recording };
}

// ---- the open-loop load -----------------------------------------------------------------------

interface Sent {
  latency: Samples;
  errors: number;
  non2xx: number;
  sent: number;
}

/** Sends what `next` plans, `rps` a second for `seconds`, each at its instant; latency from that instant. */
async function openLoop(rps: number, seconds: number, next: () => Promise<void> | null, onLatency: Sent): Promise<void> {
  const total = Math.round(rps * seconds);
  const interval = 1000 / rps;
  const start = performance.now();
  const inflight = new Set<Promise<void>>();
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // from its planned instant, or from when it left if that was a little before
    const from = Math.min(due, performance.now());
    const p = next();
    onLatency.sent++;
    if (!p) continue;
    const tracked = p.then(
      () => onLatency.latency.add(performance.now() - from),
      () => {
        onLatency.errors++;
      },
    );
    inflight.add(tracked);
    void tracked.finally(() => inflight.delete(tracked));
  }
  await Promise.all(inflight);
}

class Site {
  readonly pool: Pool;
  /** Orders created and not paid for yet; callbacks ready to send; payments with their orders to read. */
  private orders: string[] = [];
  private callbacks: string[] = [];
  private readable: { payment: string; order: string }[] = [];
  private seq = 0;
  private step = 0;
  constructor(
    url: string,
    private readonly bank: Bank,
    private readonly tag: string,
    private readonly result: { non2xx: number },
  ) {
    this.pool = new Pool(url, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });
  }

  private async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
    const r = await this.pool.request({
      method: method as 'GET',
      path,
      headers: { authorization: `Bearer ${SANDBOX.siteKey}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.body.text();
    if (r.statusCode >= 300) {
      this.result.non2xx++;
      throw new Error(`${method} ${path}: ${r.statusCode} ${text.slice(0, 200)}`);
    }
    return text ? JSON.parse(text) : null;
  }

  /** The next request of the mix, or an order when what it needs is not there yet. */
  next(): Promise<void> {
    let kind = MIX[this.step++ % MIX.length];
    if (kind === 'payment' && this.orders.length === 0) kind = 'order';
    if (kind === 'callback' && this.callbacks.length === 0) kind = 'read';
    if (kind === 'read' && this.readable.length === 0) kind = 'order';
    switch (kind) {
      case 'order':
        return this.createOrder();
      case 'payment':
        return this.createPayment(this.orders.shift()!);
      case 'read': {
        const r = this.readable[Math.floor(Math.random() * this.readable.length)];
        return this.step % 2 ? this.call('GET', `/api/v1/payments/${r.payment}`) : this.call('GET', `/api/v1/orders/${r.order}`);
      }
      case 'callback':
        return this.sendCallback(this.callbacks.shift()!);
    }
  }

  private async createOrder(): Promise<void> {
    const n = `${this.tag}-${++this.seq}`;
    const amount = 10_000 + (this.seq % 97) * 100;
    const order = await this.call('POST', '/api/v1/orders', {
      externalId: n,
      number: n,
      customer: { type: 'individual', name: 'Покупатель', email: 'buyer@example.ru' },
      items: [{ sku: 'sku-1', name: 'Товар', quantity: 1, price: amount, amount, vat: 'vat22' }],
      total: amount,
    });
    this.orders.push(order.id);
  }

  private async createPayment(orderId: string): Promise<void> {
    const payment = await this.call(
      'POST',
      `/api/v1/orders/${orderId}/payments`,
      { method: 'card' },
      { 'idempotency-key': `pay-${orderId}` },
    );
    this.readable.push({ payment: payment.id, order: orderId });
    if (this.readable.length > 5000) this.readable.splice(0, 1000);
    const mdOrder = new URL(payment.action.url).searchParams.get('mdOrder')!;
    // the buyer pays at the bank meanwhile; its callback is sent in its turn
    void this.bank.complete(mdOrder).then((q) => this.callbacks.push(`/callbacks/sber/${SANDBOX.organization}?${q}`));
  }

  private async sendCallback(path: string): Promise<void> {
    const r = await this.pool.request({ method: 'GET', path });
    await r.body.text();
    if (r.statusCode !== 200) {
      this.result.non2xx++;
      throw new Error(`callback: ${r.statusCode}`);
    }
  }
}

// ---- the emulated bank, in a process of its own -------------------------------------------------

class Bank {
  private readonly pending = new Map<number, (q: string) => void>();
  private seq = 0;
  private constructor(
    readonly child: ChildProcess,
    readonly restUrl: string,
  ) {}

  static async start(): Promise<Bank> {
    const child = fork(join(__dirname, 'emulator-process.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let bank: Bank | undefined;
    const url: string = await within(
      'the emulated bank process to start',
      unlessExits(
        'the emulated bank process',
        child,
        new Promise((res) =>
          child.on('message', (m: any) => {
            if (m.url) res(m.url);
            else (bank!.pending.get(m.id)?.(m.query), bank!.pending.delete(m.id));
          }),
        ),
      ),
      { timeoutMs: 2 * MINUTE },
    );
    bank = new Bank(child, url);
    return bank;
  }

  complete(mdOrder: string): Promise<string> {
    return new Promise((res) => {
      const id = ++this.seq;
      this.pending.set(id, res);
      this.child.send({ id, complete: mdOrder });
    });
  }

  stop(): Promise<void> {
    return stopChild('the emulated bank process', this.child, MINUTE);
  }
}

/** The site's webhook receiver: answers 200 to every event. */
async function siteReceiver(): Promise<{ url: string; server: Server; received: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, server, received: () => n };
}

interface Backend {
  name: string;
  url: string;
  done: () => Promise<void>;
}

async function backend(name: string): Promise<Backend | null> {
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'bench-load-'));
    return {
      name: 'SQLite (file)',
      url: `sqlite:${join(dir, 'gateway.db')}`,
      done: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const base = process.env.DATABASE_URL_PG;
  if (!base) return null;
  const schema = `bench_load_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const u = new URL(base);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return {
    name: 'PostgreSQL',
    url: u.toString(),
    done: async () => {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
}

async function startGateway(databaseUrl: string, bank: Bank, hook: string): Promise<Gateway> {
  const config = sandboxConfig({
    port: 0,
    databaseUrl,
    sberRestUrl: bank.restUrl,
    siteWebhook: { url: hook, secret: 'bench-site-webhook-secret' },
    overrides: (raw) => {
      raw.log.level = 'warn';
      raw.janitor = { everySeconds: 3600, pollPendingAfterSeconds: 3600 };
    },
  });
  return createGateway(config, { logger: createLogger('warn') });
}

const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(1) : '—');

/** The same open-loop load on a Koa hello-world (in this process): the floor of this machine and load generator. */
async function baseline(seconds: number): Promise<Sent> {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = 'OK';
  });
  const server: Server = await new Promise((res) => {
    const s = app.listen(0, '127.0.0.1', () => res(s));
  });
  const pool = new Pool(`http://127.0.0.1:${(server.address() as { port: number }).port}`, { connections: 128 });
  const get = async () => {
    const r = await pool.request({ method: 'GET', path: '/' });
    await r.body.text();
  };
  await openLoop(RPS, Math.min(5, seconds), get, { latency: new Samples(), errors: 0, non2xx: 0, sent: 0 });
  const sent: Sent = { latency: new Samples(), errors: 0, non2xx: 0, sent: 0 };
  await openLoop(RPS, seconds, get, sent);
  await pool.close();
  await new Promise((r) => server.close(r));
  return sent;
}

async function loadRun(b: Backend, bank: Bank): Promise<string[]> {
  const hook = await siteReceiver();
  const gateway = await startGateway(b.url, bank, hook.url);
  const m = meter(gateway);
  const { url } = await gateway.start();
  const sent: Sent = { latency: new Samples(), errors: 0, non2xx: 0, sent: 0 };
  const site = new Site(url, bank, b.name.slice(0, 2).toLowerCase(), sent);
  try {
    await openLoop(RPS, WARMUP_SECONDS, () => site.next(), { latency: new Samples(), errors: 0, non2xx: 0, sent: 0 });
    sent.non2xx = 0;
    m.samples.take();
    m.byRoute.clear();
    m.recording.on = true;
    await openLoop(RPS, SECONDS, () => site.next(), sent);
    m.recording.on = false;
  } finally {
    await site.pool.close();
    await within('the gateway to stop', gateway.stop(), { timeoutMs: 2 * MINUTE });
    await new Promise((r) => hook.server.close(r));
  }
  const g = m.samples;
  const p99 = g.quantile(0.99);
  return [
    `${b.name}: ${sent.sent} requests at ${RPS}/s for ${SECONDS} s (after ${WARMUP_SECONDS} s of warm-up), errors ${sent.errors} (non-2xx ${sent.non2xx}); site webhooks received ${hook.received()}`,
    `  client latency     p50 ${fmt(sent.latency.quantile(0.5))} ms   p99 ${fmt(sent.latency.quantile(0.99))} ms   max ${fmt(sent.latency.quantile(1))} ms`,
    `  gateway-side time  p50 ${fmt(g.quantile(0.5))} ms   p99 ${fmt(p99)} ms   max ${fmt(g.quantile(1))} ms   (${g.count} requests, the bank's time excluded)   ${p99 < TARGET_P99_MS ? `OK (< ${TARGET_P99_MS} ms)` : `OVER ${TARGET_P99_MS} ms`}`,
    `    by route (p50 / p99 / max ms): ${[...m.byRoute]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([route, r]) => `${route} ${fmt(r.quantile(0.5))} / ${fmt(r.quantile(0.99))} / ${fmt(r.quantile(1))} (${r.count})`)
      .join('; ')}`,
  ];
}

/** Set in the process that measures one store for `load`. */
const ONE_BACKEND = process.env.BENCH_LOAD_ONE;

async function oneBackend(name: string): Promise<string[]> {
  const b = await backend(name);
  if (!b) return [`${name}: skipped (DATABASE_URL_PG is not set)`];
  // a bank of its own for each store: another store's payments in its registry would be news to this one
  const bank = await Bank.start();
  try {
    return await loadRun(b, bank);
  } finally {
    await bank.stop();
    await b.done();
  }
}

/**
 * Each store is measured in a process of its own, as a gateway runs in production: a store measured
 * after another in the same process saw stalls of 130–390 ms that neither showed first or alone.
 */
async function inOwnProcess(name: string): Promise<string[]> {
  const child = fork(process.argv[1], ['load'], {
    execArgv: process.execArgv,
    env: { ...process.env, BENCH_LOAD_ONE: name },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const code: number | null = await new Promise((res) => child.on('exit', (c) => res(c)));
  if (code !== 0) throw new Error(`the load run on ${name} ended with code ${code}`);
  return out.trimEnd().split('\n');
}

export async function load(): Promise<void> {
  if (ONE_BACKEND) {
    process.stdout.write((await oneBackend(ONE_BACKEND)).join('\n') + '\n');
    return;
  }
  const out = [
    `load: mixed traffic (create order, create payment, read order/payment, bank callback), ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}`,
  ];
  const base = await baseline(SECONDS);
  out.push(
    `baseline: Koa hello-world, the same ${RPS}/s open loop   p50 ${fmt(base.latency.quantile(0.5))} ms   p99 ${fmt(base.latency.quantile(0.99))} ms   max ${fmt(base.latency.quantile(1))} ms`,
  );
  for (const name of BACKENDS) out.push(...(await inOwnProcess(name)));
  out.push(`(load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores at the end)`);
  process.stdout.write(out.join('\n') + '\n');
}

/** Least-squares slope of ys over 0..n-1. */
function slope(ys: number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

/** An event-loop delay histogram's value (ns, the 1 ms sampling interval included) as ms beyond that interval. */
const lateMs = (ns: number) => Math.max(0, ns / 1e6 - 1);
const late = (ns: number) => lateMs(ns).toFixed(1);

export async function soak(): Promise<void> {
  const b = (await backend('sqlite'))!;
  const bank = await Bank.start();
  const hook = await siteReceiver();
  const gateway = await startGateway(b.url, bank, hook.url);
  const m = meter(gateway);
  const { url } = await gateway.start();
  const lines = [`soak: ${RPS}/s of mixed traffic for ${SOAK_MINUTES} min on ${b.name}, one gateway process (HTTP and jobs)`];
  const head = ' min   requests  errors   p99 gw ms   RSS MB   heap after GC MB   loop delay ms (min / median / max)';
  process.stdout.write(`${lines[0]}\n${head}\n`);
  lines.push(head);
  const rss: number[] = [];
  const heap: number[] = [];
  const loopMax: number[] = [];
  const p99s: number[] = [];
  let errors = 0;
  try {
    m.recording.on = true;
    for (let minute = 1; minute <= SOAK_MINUTES; minute++) {
      // sampled every millisecond; what is printed is the delay beyond that interval
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      const sent: Sent = { latency: new Samples(), errors: 0, non2xx: 0, sent: 0 };
      const site = new Site(url, bank, `s${minute}`, sent);
      await openLoop(RPS, 60, () => site.next(), sent);
      await site.pool.close();
      delay.disable();
      collectGarbage();
      const mem = process.memoryUsage();
      rss.push(mem.rss / 2 ** 20);
      heap.push(mem.heapUsed / 2 ** 20);
      errors += sent.errors;
      const g = m.samples.take();
      const p99 = g.quantile(0.99);
      loopMax.push(lateMs(delay.max));
      p99s.push(p99);
      const line = `${String(minute).padStart(4)}   ${String(sent.sent).padStart(8)}  ${String(sent.errors).padStart(6)}   ${fmt(p99).padStart(9)}   ${(mem.rss / 2 ** 20).toFixed(0).padStart(6)}   ${(mem.heapUsed / 2 ** 20).toFixed(0).padStart(16)}   ${late(delay.min)} / ${late(delay.percentile(50))} / ${late(delay.max)}`;
      lines.push(line);
      process.stdout.write(`${line}\n`);
    }
  } finally {
    await within('the gateway to stop', gateway.stop(), { timeoutMs: 2 * MINUTE });
    await new Promise((r) => hook.server.close(r));
    await bank.stop();
    await b.done();
  }
  // the first third warms up: the trend is taken over the rest
  const warm = Math.max(1, Math.floor(SOAK_MINUTES / 3));
  const steady = (xs: number[]) => xs.slice(warm);
  const growth = (xs: number[]) => slope(steady(xs)) * Math.max(0, steady(xs).length - 1);
  const rssGrowth = growth(rss);
  const heapGrowth = growth(heap);
  const loopGrowth = growth(loopMax);
  const memoryFlat = rssGrowth < Math.max(16, 0.1 * rss[warm]) && heapGrowth < Math.max(8, 0.05 * heap[warm]);
  // the longest stall of each minute is noisy: a trend is growth by more than half of where it started, and 10 ms at least
  const loopFlat = loopGrowth < Math.max(10, 0.5 * loopMax[warm]);
  const flat = memoryFlat && loopFlat;
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  process.stdout.write(
    [
      `trend over minutes ${warm + 1}–${SOAK_MINUTES} (the first ${warm} warm up): RSS ${signed(rssGrowth)} MB, heap after GC ${signed(heapGrowth)} MB, event-loop delay max ${signed(loopGrowth)} ms (least squares; gateway-side p99 ${signed(growth(p99s))} ms, not judged); errors ${errors}`,
      `  ${steady(rss).length < 2 ? 'too short a run for a trend' : flat ? 'no upward trend (RSS under 16 MB or 10 %, heap under 8 MB or 5 %, event-loop delay max under 10 ms or 50 %)' : `UPWARD TREND (${[memoryFlat ? '' : 'memory', loopFlat ? '' : 'event-loop delay'].filter(Boolean).join(', ')})`}`,
      '',
    ].join('\n'),
  );
}
