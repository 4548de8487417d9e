import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { OneCEmulator } from '../emulators/onec/server';
import { SberEmulator } from '../emulators/sber/server';
import { eventually, freePort, orderBody, receiver, SITE_AUTH } from '../helpers/harness';
import { onecOrgConfig, SANDBOX } from '../sandbox/config';

/**
 * kill -9 at the worst moments: the gateway runs as a real process (the CLI), is SIGKILLed, and is
 * started again on the same SQLite file. Every acknowledged callback's follow-up job runs exactly once.
 */

const ROOT = resolve(__dirname, '../..');

describe('kill -9', () => {
  let dir: string;
  let sber: SberEmulator;
  let site: Awaited<ReturnType<typeof receiver>>;
  let port: number;
  let configFile: string;
  let onec: OneCEmulator;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-fault-'));
    sber = new SberEmulator([
      {
        userName: SANDBOX.sber.userName,
        password: SANDBOX.sber.password,
        callbackSecret: SANDBOX.sber.callbackSecret,
        callbackMode: 'symmetric',
      },
    ]);
    await sber.start();
    site = await receiver();
    port = await freePort();
    onec = new OneCEmulator({ configuration: 'ut11', knobs: { latencyMs: 150 } });
    await onec.start();
    configFile = join(dir, 'gateway.config.yaml');
    writeFileSync(
      configFile,
      stringify({
        server: { host: '127.0.0.1', port, publicUrl: `http://127.0.0.1:${port}` },
        database: { url: `sqlite:${join(dir, 'gateway.db')}` },
        jobs: { leaseMs: 1500, pollIntervalMs: 100, backoffBaseMs: 200 },
        janitor: { everySeconds: 60, pollPendingAfterSeconds: 600 },
        log: { level: 'warn' },
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
  });

  afterEach(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    children.length = 0;
    await sber.stop();
    await onec.stop();
    await site.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startGateway(args: string[]): Promise<ChildProcess> {
    const child = spawn(process.execPath, [join(ROOT, 'bin/onec-gateway.js'), 'start', ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        GATEWAY_CONFIG: configFile,
        SITE_KEY: SANDBOX.siteKey,
        SBER_PASSWORD: SANDBOX.sber.password,
        SBER_CALLBACK_SECRET: SANDBOX.sber.callbackSecret,
        DATABASE_URL: '',
        REDIS_URL: '',
        PORT: '',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    children.push(child);
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`gateway exited: ${stderr}`);
        return (await fetch(`http://127.0.0.1:${port}/health/live`)).ok;
      },
      30_000,
      100,
    );
    return child;
  }

  async function kill9(child: ChildProcess): Promise<void> {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...SITE_AUTH, ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: (await r.json()) as any };
  };

  function jobsIn(dbFile: string): { name: string; status: string; attempts: number }[] {
    const db = new Database(dbFile, { readonly: true });
    try {
      return db.prepare('select name, status, attempts from jobs order by created_at').all() as {
        name: string;
        status: string;
        attempts: number;
      }[];
    } finally {
      db.close();
    }
  }

  test('killed after the callback committed and before its job ran: the job runs exactly once after restart', async () => {
    // HTTP only: nothing runs the jobs, so the kill lands exactly between commit and run
    const first = await startGateway(['--no-worker']);
    const order = (await api('POST', '/api/v1/orders', orderBody())).body;
    const payment = (await api('POST', `/api/v1/orders/${order.id}/payments`, { method: 'card' }, { 'idempotency-key': 'fault-1' })).body;
    const mdOrder = new URL(payment.action.url).searchParams.get('mdOrder')!;
    sber.complete(mdOrder, 'paid');
    await eventually(async () => sber.deliveries.some((d) => d.params.mdOrder === mdOrder && d.status === 200));
    // the callback is on disk with the bank's confirmation and the job that applies it, not yet run
    expect(jobsIn(join(dir, 'gateway.db')).filter((j) => j.name.startsWith('payment.'))).toEqual([
      { name: 'payment.apply', status: 'pending', attempts: 0 },
    ]);

    await kill9(first);
    expect(site.received).toHaveLength(0);

    await startGateway([]);
    await eventually(async () => site.received.length >= 1, 15_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(site.received).toHaveLength(1);
    expect(site.received[0].body).toMatchObject({ event: 'payment.paid', payment: { id: payment.id, status: 'paid' } });
    const jobs = jobsIn(join(dir, 'gateway.db'));
    expect(jobs.filter((j) => j.name === 'payment.apply')).toEqual([{ name: 'payment.apply', status: 'done', attempts: 1 }]);
    expect(jobs.filter((j) => j.name === 'payment.notify-site')).toEqual([{ name: 'payment.notify-site', status: 'done', attempts: 1 }]);
    expect((await api('GET', `/api/v1/payments/${payment.id}`)).body.status).toBe('paid');
  }, 60_000);

  test('killed while the job was running: it runs again after its lease, with the same Idempotency-Key', async () => {
    const first = await startGateway([]);
    site.hold = true; // the site takes its time: the job is mid-flight when the process dies
    const order = (await api('POST', '/api/v1/orders', orderBody())).body;
    const payment = (await api('POST', `/api/v1/orders/${order.id}/payments`, { method: 'card' }, { 'idempotency-key': 'fault-2' })).body;
    sber.complete(new URL(payment.action.url).searchParams.get('mdOrder')!, 'paid');
    await eventually(async () => site.received.length === 1, 10_000, 20);
    expect(jobsIn(join(dir, 'gateway.db')).find((j) => j.name === 'payment.notify-site')).toMatchObject({ status: 'running', attempts: 1 });

    await kill9(first);
    site.hold = false;
    await startGateway([]);
    await eventually(
      async () => jobsIn(join(dir, 'gateway.db')).find((j) => j.name === 'payment.notify-site')?.status === 'done',
      20_000,
      100,
    );
    // at least once inside (the cut-short run may have reached the site), exactly once for a site that honours the key
    expect(site.received).toHaveLength(2);
    expect(site.received[1].headers['idempotency-key']).toBe(site.received[0].headers['idempotency-key']);
    expect(jobsIn(join(dir, 'gateway.db')).find((j) => j.name === 'payment.notify-site')).toMatchObject({ status: 'done', attempts: 2 });
  }, 60_000);

  test('killed in the middle of a delivery to 1C: after the restart the base holds exactly one posted document', async () => {
    const inBase = onec.seedCustomerOrder({ number: 'K9-0001', total: 3500 });
    const first = await startGateway([]);
    const order = (await api('POST', '/api/v1/orders', orderBody({ number: 'K9-0001' }))).body;
    const payment = (await api('POST', `/api/v1/orders/${order.id}/payments`, { method: 'card' }, { 'idempotency-key': 'fault-3' })).body;
    sber.complete(new URL(payment.action.url).searchParams.get('mdOrder')!, 'paid');
    // the document is being created (its POST reached 1C, which takes 150 ms to answer): now
    await eventually(async () => (onec.stats().byMethodAndSet['POST Document_ОперацияПоПлатежнойКарте'] ?? 0) >= 1, 15_000, 5);
    await kill9(first);
    await new Promise((r) => setTimeout(r, 300));
    const docs = () => onec.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key && !d.deletionMark);
    expect(docs()).toHaveLength(1);
    expect(docs()[0].posted).toBe(false);

    await startGateway([]);
    await eventually(async () => (await api('GET', `/api/v1/payments/${payment.id}`)).body.onec.status === 'delivered', 20_000, 100);
    expect(docs()).toHaveLength(1);
    expect(docs()[0]).toMatchObject({ posted: true, amount: 3500 });
  }, 60_000);
});
