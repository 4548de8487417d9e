import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GatewayConfig } from '../../gateway/config';
import type { ReceiptDoc } from '../../gateway/domain/receipt';
import { openLimits, type Limits } from '../../gateway/limiter';
import { createLogger } from '../../gateway/log';
import { buildOneC, createGateway, type Gateway } from '../../gateway/main';
import { AtolOnlineEmulator } from '../emulators/atol-online/server';
import { OneCEmulator } from '../emulators/onec/server';
import { TbankEmulator } from '../emulators/tbank/server';
import { freePort } from '../helpers/harness';
import { describeWith, freshPgSchema } from '../helpers/services';
import { onecOrgConfig, sandboxConfig, SANDBOX, SANDBOX_ACCOUNT } from '../sandbox/config';

/**
 * Several gateway processes on one PostgreSQL keep the outside systems' limits together: a 1C
 * base's licences (at most N requests in flight, whichever worker sends them), the T-Bank
 * registry's and ATOL Online reports' 1 request a second. Each worker here is a gateway of its own
 * (its own store and connections), built by createGateway as `npx onec-gateway worker` builds it;
 * the killed holder is a process of its own, killed with SIGKILL.
 */

const ROOT = resolve(__dirname, '../..');
const DAY = 24 * 3600 * 1000;

/** Gaps between consecutive instants, in order. */
function gaps(at: number[]): number[] {
  const s = [...at].sort((a, b) => a - b);
  return s.slice(1).map((t, i) => t - s[i]);
}

describeWith('postgres', 'limits on outside systems shared by several gateway processes on PostgreSQL', () => {
  let schema: Awaited<ReturnType<typeof freshPgSchema>>;
  let onec: OneCEmulator;
  let tbank: TbankEmulator;
  let atol: AtolOnlineEmulator;
  let config: GatewayConfig;
  const workers: Gateway[] = [];
  const extra: Limits[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    schema = await freshPgSchema();
    onec = new OneCEmulator({ configuration: 'ut11', knobs: { latencyMs: 150 } });
    await onec.start();
    tbank = new TbankEmulator(
      [{ terminalKey: SANDBOX.tbank.terminalKey, password: SANDBOX.tbank.password, businessToken: SANDBOX.tbank.businessToken }],
      {},
      [SANDBOX_ACCOUNT],
    );
    await tbank.start();
    atol = new AtolOnlineEmulator([SANDBOX.atol], { processingMs: 20 });
    await atol.start();
    config = sandboxConfig({
      port: await freePort(),
      databaseUrl: schema.url,
      sberRestUrl: 'http://127.0.0.1:9/',
      tbank: { apiUrl: tbank.apiUrl, operationsUrl: tbank.operationsUrl },
      fiscal: { atolUrl: atol.baseUrl },
      overrides: (raw) => {
        raw.organizations[0].onec = onecOrgConfig(onec, { configuration: 'ut11', concurrency: 2 });
      },
    });
    for (let i = 0; i < 3; i++) {
      workers.push(await createGateway(config, { logger: createLogger('warn'), roles: { http: false, worker: false } }));
    }
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.allSettled(workers.map((w) => w.stop()));
    await Promise.allSettled(extra.map((l) => l.close()));
    await onec?.stop();
    await tbank?.stop();
    await atol?.stop();
    await schema?.drop();
  });

  // ---------------------------------------------------------------------------------------- 1C

  /** 6 order reads from each worker at once; the 1C emulator counts the requests in flight. */
  async function readOrdersFromEach(sources: { newOrders: (since: string, page: { limit: number; skip: number }) => Promise<unknown> }[]) {
    onec.resetStats();
    await Promise.all(sources.flatMap((s) => Array.from({ length: 6 }, () => s.newOrders('2026-01-01T00:00:00Z', { limit: 5, skip: 0 }))));
    return onec.stats();
  }

  test('three workers, a base limited to 2 requests: 1C never has more than 2 in flight, and 2 are used', async () => {
    const stats = await readOrdersFromEach(workers.map((w) => w.deps.onec.source('main')!));
    expect(stats.requests).toBe(18);
    expect(stats.maxConcurrent).toBe(2);
    expect(stats.inFlight).toBe(0);
  });

  test('(what a limit per process would do: the same three workers take 6 licences at once)', async () => {
    const stats = await readOrdersFromEach([0, 1, 2].map(() => buildOneC(config).source('main')!));
    expect(stats.requests).toBe(18);
    expect(stats.maxConcurrent).toBeGreaterThan(2);
  });

  test('a worker killed while it holds the last slot frees it: the next call goes in once its connection is gone', async () => {
    const key = `test-base:${randomUUID()}`;
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'test/helpers/slot-holder.ts'), schema.url, key, '1'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    await new Promise<void>((ok, fail) => {
      child.stdout!.on('data', (d: Buffer) => String(d).includes('holding') && ok());
      child.once('exit', (code) => fail(new Error(`the holder exited with ${code}`)));
    });
    const limits = openLimits(schema.url);
    extra.push(limits);
    let enteredAt = 0;
    const call = limits.concurrency(key, 1).run(async () => {
      enteredAt = Date.now();
    });
    await sleep(1000);
    expect(enteredAt).toBe(0); // the holder's slot is taken, whatever this process's own count says
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await call;
    expect(enteredAt - killedAt).toBeLessThan(2000);
  });

  test('a call that fails gives its slot back: the next one on another worker goes in', async () => {
    const key = `test-base:${randomUUID()}`;
    const [a, b] = [openLimits(schema.url), openLimits(schema.url)];
    extra.push(a, b);
    await expect(a.concurrency(key, 1).run(async () => Promise.reject(new Error('1C answered 500')))).rejects.toThrow('1C answered 500');
    await expect(b.concurrency(key, 1).run(async () => 'written')).resolves.toBe('written');
  });

  // ---------------------------------------------------------------------------------- rates

  test('three workers reading the T-Bank registry at once: its requests 1 s apart across them, none refused', async () => {
    tbank.registry.requests.length = 0;
    const to = new Date();
    const from = new Date(to.getTime() - 2 * DAY + 60_000);
    const read = async (w: Gateway) => {
      const n: unknown[] = [];
      for await (const op of w.deps.providers.get('main', 'tbank')!.listOperations!({ from, to })) n.push(op);
      return n;
    };
    await Promise.all(workers.map(read));
    const reqs = tbank.registry.requests;
    // a window of two days is asked a day at a time: 2 requests per worker, each answered
    expect(reqs.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(Math.min(...gaps(reqs.map((r) => r.at)))).toBeGreaterThanOrEqual(1000);
  });

  test('three workers asking ATOL Online for reports at once: 1 s apart across them, none over its limit', async () => {
    const register = workers[0].deps.fiscal.get('main', 'web')!;
    const externalId = `limits-${randomUUID()}`;
    const sent = await register.register({ externalId, receipt: RECEIPT });
    expect(sent.state).toBe('wait');
    const uuid = (sent as { uuid: string }).uuid;
    await sleep(100); // the emulator has the report ready after processingMs
    atol.reportLog.length = 0;
    const violations = atol.stats.reportRateViolations;
    const states = await Promise.all(
      workers.flatMap((w) => [0, 1, 2].map(() => w.deps.fiscal.get('main', 'web')!.check({ externalId, uuid }))),
    );
    expect(states.map((s) => s.state)).toEqual(Array(9).fill('done'));
    const log = atol.reportLog.filter((r) => r.groupCode === SANDBOX.atol.groupCode);
    expect(log).toHaveLength(9);
    expect(Math.min(...gaps(log.map((r) => r.at)))).toBeGreaterThanOrEqual(1000);
    expect(atol.stats.reportRateViolations).toBe(violations);
  });

  test('calls of four stores at a shared rate start its interval apart, less the time an answer takes to reach them', async () => {
    const key = `test-rate:${randomUUID()}`;
    const stores = [0, 1, 2, 3].map(() => openLimits(schema.url));
    extra.push(...stores);
    // each store's connection opened first: what is measured is the spacing, not the log-in
    await Promise.all(stores.map((l) => l.rate(`${key}:warm-up`, 1)!.run(async () => undefined)));
    const at: number[] = [];
    await Promise.all(stores.flatMap((l) => [0, 1, 2].map(() => l.rate(key, 300)!.run(async () => void at.push(Date.now())))));
    expect(at).toHaveLength(12);
    // the database's clock spaces the slots; each caller wakes when the answer has reached it, which
    // on a busy machine can be tens of milliseconds late for one of them (its gap to the next is then
    // that much shorter): no two calls closer than two thirds of the interval, and the twelve over
    // eleven intervals, less the lateness of the first
    expect(Math.min(...gaps(at))).toBeGreaterThanOrEqual(200);
    const sorted = [...at].sort((a, b) => a - b);
    expect(sorted[11] - sorted[0]).toBeGreaterThanOrEqual(11 * 300 - 100);
    // and nobody waits longer than its place in the line
    expect(Math.max(...at) - Math.min(...at)).toBeLessThan(11 * 300 + 300);
  });
});

const RECEIPT: ReceiptDoc = {
  operation: 'sell',
  date: new Date().toISOString(),
  client: { email: 'ivan@example.com' },
  company: { inn: '7707083893', sno: 'osn', email: 'shop@romashka.example', paymentAddress: 'https://shop.romashka.example' },
  items: [
    {
      name: 'Чайник электрический',
      price: 150000,
      quantity: 1,
      amount: 150000,
      measure: 0,
      paymentMethod: 'full_prepayment',
      paymentObject: 1,
      vat: 'vat122',
      vatAmount: 27049,
    },
  ],
  payments: [{ type: 1, amount: 150000 }],
  total: 150000,
};
