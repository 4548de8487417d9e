import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { stringify } from 'yaml';
import { OneCEmulator } from '../emulators/onec/server';
import { SberEmulator } from '../emulators/sber/server';
import { eventually, freePort, orderBody, receiver, SITE_AUTH } from '../helpers/harness';
import { describeWith, freshPgSchema, redisPrefix, REDIS_URL } from '../helpers/services';
import { onecOrgConfig, SANDBOX } from '../sandbox/config';

/**
 * A rolling restart as Kubernetes does it: two gateway processes (the CLI, on PostgreSQL and BullMQ)
 * behind a balancer that sends requests only to the ones whose /health/ready answers 200 (polled
 * as an endpoints controller would). While the website creates orders and payments, reads their
 * status and the bank sends its callbacks, each process in turn gets SIGTERM and is started again.
 * No request is cut, every job completes once, every process exits 0 within its deadline.
 */

const ROOT = resolve(__dirname, '../..');
/**
 * Longer than the balancer can take to see the 503: a probe already under way when the signal comes
 * may wait up to 0.9 s for a 1C base (more on a busy machine) before the next one sees `stopping`.
 */
const DRAIN_DELAY_MS = 2500;
const DEADLINE_MS = 10_000;
/** How often the balancer asks each process whether it is ready: well inside the drain delay. */
const PROBE_MS = 100;

interface Backend {
  name: string;
  port: number;
  ready: boolean;
  /** Requests the balancer has sent it and not yet seen answered. */
  active: number;
  child: ChildProcess | null;
  logs: any[];
}

/** A round-robin balancer over the ready backends, keeping connections to them alive. */
async function balancer(backends: Backend[]) {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const failures: string[] = [];
  let next = 0;
  const server: Server = createServer((req, res) => {
    const ready = backends.filter((b) => b.ready);
    if (ready.length === 0) {
      failures.push(`${req.method} ${req.url}: no ready backend`);
      res.writeHead(503).end();
      return;
    }
    const b = ready[next++ % ready.length];
    b.active++;
    res.once('close', () => b.active--);
    const up = request(
      { host: '127.0.0.1', port: b.port, method: req.method, path: req.url, headers: req.headers, agent },
      (r: IncomingMessage) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', (e) => {
      failures.push(`${req.method} ${req.url} → ${b.name}: ${e.message}`);
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let probing = true;
  // each backend probed on its own: one slow to answer never leaves another's state stale
  const probes = backends.map(async (b) => {
    while (probing) {
      b.ready = await fetch(`http://127.0.0.1:${b.port}/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      await sleep(PROBE_MS);
    }
  });
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    failures,
    async close() {
      probing = false;
      await Promise.all(probes);
      agent.destroy();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}

describeWith(['postgres', 'redis'], 'rolling restart of two gateways on PostgreSQL and BullMQ', () => {
  let dir: string;
  let schema: Awaited<ReturnType<typeof freshPgSchema>>;
  let sber: SberEmulator;
  let onec: OneCEmulator;
  let site: Awaited<ReturnType<typeof receiver>>;
  let lb: Awaited<ReturnType<typeof balancer>>;
  let configFile: string;
  const backends: Backend[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-rolling-'));
    schema = await freshPgSchema();
    sber = new SberEmulator([
      {
        userName: SANDBOX.sber.userName,
        password: SANDBOX.sber.password,
        callbackSecret: SANDBOX.sber.callbackSecret,
        callbackMode: 'symmetric',
      },
    ]);
    // the bank and 1C take their time: requests and jobs are in flight when a process is told to stop
    sber.knobs.apiLatencyMs = 150;
    await sber.start();
    onec = new OneCEmulator({ configuration: 'ut11', knobs: { latencyMs: 100 } });
    await onec.start();
    site = await receiver();
    for (const name of ['a', 'b']) backends.push({ name, port: await freePort(), ready: false, active: 0, child: null, logs: [] });
    lb = await balancer(backends);
    configFile = join(dir, 'gateway.config.yaml');
    writeFileSync(
      configFile,
      stringify({
        // the bank's callbacks and the customers' return URLs go through the balancer
        server: { host: '127.0.0.1', publicUrl: lb.url },
        database: { url: schema.url },
        redis: { url: REDIS_URL, prefix: redisPrefix() },
        shutdown: { drainDelayMs: DRAIN_DELAY_MS, deadlineMs: DEADLINE_MS },
        jobs: { leaseMs: 5000, pollIntervalMs: 100, backoffBaseMs: 200 },
        janitor: { everySeconds: 60, pollPendingAfterSeconds: 600 },
        log: { level: 'info' },
        organizations: [
          {
            id: 'main',
            name: 'ООО «Ромашка»',
            siteKeys: ['${SITE_KEY}'],
            siteWebhook: { url: site.url, secret: 'site-webhook-secret-1' },
            payments: { card: { provider: 'sber' } },
            providers: {
              sber: {
                baseUrl: sber.restUrl,
                userName: SANDBOX.sber.userName,
                password: '${SBER_PASSWORD}',
                callback: { mode: 'symmetric', secret: '${SBER_CALLBACK_SECRET}' },
              },
            },
            onec: onecOrgConfig(onec, { configuration: 'ut11' }),
          },
        ],
      }),
    );
  }, 60_000);

  afterAll(async () => {
    for (const b of backends) if (b.child && b.child.exitCode === null) b.child.kill('SIGKILL');
    await lb?.close();
    await sber?.stop();
    await onec?.stop();
    await site?.close();
    await schema?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(b: Backend): Promise<void> {
    const child = spawn(process.execPath, [join(ROOT, 'bin/onec-gateway.js'), 'start', '--config', configFile], {
      cwd: ROOT,
      env: {
        ...process.env,
        SITE_KEY: SANDBOX.siteKey,
        SBER_PASSWORD: SANDBOX.sber.password,
        SBER_CALLBACK_SECRET: SANDBOX.sber.callbackSecret,
        PORT: String(b.port),
        DATABASE_URL: '',
        REDIS_URL: '',
        GATEWAY_CONFIG: '',
        LOG_LEVEL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let buffered = '';
    child.stdout!.on('data', (d) => {
      const lines = (buffered + String(d)).split('\n');
      buffered = lines.pop()!;
      for (const l of lines) if (l.startsWith('{')) b.logs.push(JSON.parse(l));
    });
    child.stderr!.on('data', (d) => (stderr += d));
    b.child = child;
    // in service once the balancer has seen it ready
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`gateway ${b.name} exited: ${stderr}`);
        return b.ready;
      },
      60_000,
      50,
    );
  }

  /**
   * SIGTERM, as the kubelet sends it, at a moment the process is running a job; answers the exit
   * code, how long the process took, and what it had in hand when told.
   */
  async function terminate(b: Backend, db: pg.Client) {
    const child = b.child!;
    const jobsRunning = await eventually(
      async () => {
        const r = await db.query<{ n: string }>("select count(*) as n from jobs where status = 'running' and locked_by like $1", [
          `%:${child.pid}:%`,
        ]);
        return Number(r.rows[0].n);
      },
      20_000,
      5,
    );
    const requestsInFlight = b.active;
    const t0 = Date.now();
    const exited = new Promise<[number | null, string | null]>((r) => child.once('exit', (code, signal) => r([code, signal])));
    child.kill('SIGTERM');
    const [code, signal] = await exited;
    return { code, signal, ms: Date.now() - t0, jobsRunning, requestsInFlight };
  }

  test('each process in turn gets SIGTERM under a steady stream of requests: nothing is cut, nothing lost or done twice', async () => {
    for (const b of backends) await start(b);

    const answers: { what: string; status: number }[] = [];
    const cut: string[] = [];
    const payments: { id: string; orderId: string; number: string }[] = [];
    const call = async (what: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      try {
        const r = await fetch(lb.url + path, {
          method,
          headers: { ...SITE_AUTH, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
          body: body ? JSON.stringify(body) : undefined,
        });
        answers.push({ what, status: r.status });
        const text = await r.text();
        return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as any) : text };
      } catch (e) {
        cut.push(`${what}: ${(e as Error).message} ${String((e as Error).cause ?? '')}`);
        return { status: 0, body: null };
      }
    };

    // the website: orders, payments, status reads; the customers pay and the bank calls back
    let running = true;
    let seq = 0;
    const client = async (k: number) => {
      while (running) {
        const number = `RR-${k}-${++seq}`;
        onec.seedCustomerOrder({ number, total: 3500 });
        const order = await call('create order', 'POST', '/api/v1/orders', orderBody({ number }));
        if (order.status !== 201) continue;
        const payment = await call(
          'create payment',
          'POST',
          `/api/v1/orders/${order.body.id}/payments`,
          { method: 'card' },
          { 'idempotency-key': `rr-${number}` },
        );
        if (payment.status !== 201) continue;
        payments.push({ id: payment.body.id, orderId: order.body.id, number });
        await call('read payment', 'GET', `/api/v1/payments/${payment.body.id}`);
        sber.complete(new URL(payment.body.action.url).searchParams.get('mdOrder')!, 'paid');
        await call('read order', 'GET', `/api/v1/orders/${order.body.id}`);
        await call('read payment', 'GET', `/api/v1/payments/${payment.body.id}`);
      }
    };
    const clients = [0, 1, 2, 3].map(client);

    const db = new pg.Client({ connectionString: schema.url });
    await db.connect();
    const exits: ({ name: string } & Awaited<ReturnType<typeof terminate>>)[] = [];
    await sleep(1500);
    for (const b of backends) {
      exits.push({ name: b.name, ...(await terminate(b, db)) });
      await sleep(500); // the other one carries everything meanwhile
      await start(b);
      await sleep(1500);
    }
    running = false;
    await Promise.all(clients);

    // every payment ends paid and delivered to 1C, whichever process took which step
    // the last deliveries may wait out a retry's backoff after the restarts: on a machine busy with
    // other tests that once took more than a minute
    await eventually(
      async () => {
        const waiting: string[] = [];
        for (const p of payments) {
          const r = await call('final read', 'GET', `/api/v1/payments/${p.id}`);
          if (r.body?.status !== 'paid' || r.body?.onec?.status !== 'delivered')
            waiting.push(`${p.number}: ${r.body?.status ?? r.status}, 1C ${r.body?.onec?.status ?? 'none'}`);
        }
        // what is still waiting is the failure's message, if it comes to that
        if (waiting.length)
          throw new Error(`${waiting.length} of ${payments.length} not paid and in 1C: ${waiting.slice(0, 5).join('; ')}`);
        return true;
      },
      180_000,
      250,
    );
    await eventually(async () => site.received.length >= payments.length, 30_000, 100);
    await sleep(1000); // anything run twice would show up by now

    const counts = answers.reduce<Record<string, number>>(
      (m, a) => ((m[`${a.what} ${a.status}`] = (m[`${a.what} ${a.status}`] ?? 0) + 1), m),
      {},
    );
    const jobs = (
      await db.query<{ name: string; status: string; attempts: number; n: string }>(
        'select name, status, attempts, count(*) as n from jobs group by name, status, attempts order by name, status, attempts',
      )
    ).rows.map((r) => `${r.name} ${r.status} attempts=${r.attempts}: ${r.n}`);
    await db.end();
    const drained = backends.flatMap((b) =>
      b.logs.filter((l) => l.msg === 'requests and jobs drained').map((l) => ({ name: b.name, handedBack: l.handedBack })),
    );
    process.stdout.write(
      `rolling restart: ${payments.length} payments, ${answers.length} requests through the balancer\n` +
        `  answers: ${JSON.stringify(counts)}\n  exits: ${JSON.stringify(exits)}\n  drained: ${JSON.stringify(drained)}\n` +
        `  bank callbacks: ${sber.deliveries.length}, site webhooks: ${site.received.length}, 1C payment documents: ${onec.paymentDocuments().length}\n` +
        `  jobs:\n    ${jobs.join('\n    ')}\n`,
    );

    // there was a stream of work through both restarts
    expect(payments.length).toBeGreaterThanOrEqual(10);
    // no request cut: every answer came from a gateway, none a 5xx, no connection reset on the way
    expect(cut).toEqual([]);
    expect(lb.failures).toEqual([]);
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    expect(sber.deliveries.filter((d) => d.status !== 200)).toEqual([]);
    // each process stopped on its own, in time, with exit code 0, after a drain that handed nothing back
    expect(exits.map((e) => [e.name, e.code, e.signal])).toEqual([
      ['a', 0, null],
      ['b', 0, null],
    ]);
    for (const e of exits) expect(e.ms).toBeLessThan(DEADLINE_MS);
    expect(drained.map((d) => d.name).sort()).toEqual(['a', 'b']);
    // no job lost or done twice: each payment's document is in 1C once, posted; the site told once of each
    for (const p of payments) {
      const docs = onec.paymentDocuments().filter((d) => !d.deletionMark && d.settles?.orderNumber === p.number);
      expect({ number: p.number, docs: docs.map((d) => [d.amount, d.posted]) }).toEqual({ number: p.number, docs: [[3500, true]] });
      const told = site.received.filter((r) => r.body?.event === 'payment.paid' && r.body?.payment?.id === p.id);
      expect({ payment: p.id, webhooks: told.length }).toEqual({ payment: p.id, webhooks: 1 });
    }
    expect(jobs.filter((j) => !/ done /.test(j))).toEqual([]);
  }, 360_000);
});
