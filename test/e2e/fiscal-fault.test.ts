import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { AtolOnlineEmulator } from '../emulators/atol-online/server';
import { SberEmulator } from '../emulators/sber/server';
import { eventually, freePort, orderBody, SITE_AUTH } from '../helpers/harness';
import { SANDBOX } from '../sandbox/config';

/**
 * kill -9 on the way to the register: the gateway runs as a real process (the CLI), is SIGKILLed
 * after ATOL took the receipt and before the gateway stored the answer, and is started again on
 * the same SQLite file. The receipt is registered exactly once (the emulator counts).
 */

const ROOT = resolve(__dirname, '../..');

describe('kill -9 between "sent to ATOL" and "result stored"', () => {
  let dir: string;
  let sber: SberEmulator;
  let atol: AtolOnlineEmulator;
  let port: number;
  let configFile: string;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-fiscal-fault-'));
    sber = new SberEmulator([
      {
        userName: SANDBOX.sber.userName,
        password: SANDBOX.sber.password,
        callbackSecret: SANDBOX.sber.callbackSecret,
        callbackMode: 'symmetric',
      },
    ]);
    await sber.start();
    atol = new AtolOnlineEmulator([SANDBOX.atol], { processingMs: 100 });
    await atol.start();
    port = await freePort();
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
            inn: '7707083893',
            siteKeys: ['${SITE_KEY}'],
            payments: { card: { provider: 'sber' } },
            providers: {
              sber: {
                baseUrl: sber.restUrl,
                userName: SANDBOX.sber.userName,
                password: '${SBER_PASSWORD}',
                callback: { mode: 'symmetric', secret: '${SBER_CALLBACK_SECRET}' },
              },
            },
            fiscal: {
              mode: 'translator',
              registers: [
                {
                  id: 'web',
                  type: 'atol-online',
                  baseUrl: atol.baseUrl,
                  login: SANDBOX.atol.login,
                  password: '${ATOL_PASSWORD}',
                  groupCode: SANDBOX.atol.groupCode,
                  timeoutMs: 10_000,
                  reportAfterSeconds: 2,
                  pollEverySeconds: 1,
                },
              ],
              pollEverySeconds: 0.5,
            },
          },
        ],
      }),
    );
  });

  afterEach(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    children.length = 0;
    await sber.stop();
    await atol.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startGateway(): Promise<ChildProcess> {
    const child = spawn(process.execPath, [join(ROOT, 'bin/onec-gateway.js'), 'start'], {
      cwd: ROOT,
      env: {
        ...process.env,
        GATEWAY_CONFIG: configFile,
        SITE_KEY: SANDBOX.siteKey,
        SBER_PASSWORD: SANDBOX.sber.password,
        SBER_CALLBACK_SECRET: SANDBOX.sber.callbackSecret,
        ATOL_PASSWORD: SANDBOX.atol.password,
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

  function receiptsIn(): { id: string; external_id: string; status: string; provider_uuid: string | null }[] {
    const db = new Database(join(dir, 'gateway.db'), { readonly: true });
    try {
      return db.prepare('select id, external_id, status, provider_uuid from receipts order by created_at').all() as never;
    } finally {
      db.close();
    }
  }

  async function paidPayment(key: string): Promise<string> {
    const order = (await api('POST', '/api/v1/orders', orderBody())).body;
    const payment = (await api('POST', `/api/v1/orders/${order.id}/payments`, { method: 'card' }, { 'idempotency-key': key })).body;
    sber.complete(new URL(payment.action.url).searchParams.get('mdOrder')!, 'paid');
    return payment.id;
  }

  test('ATOL registered the receipt, its answer never reached the gateway: after the restart the receipt is done, registered once', async () => {
    atol.knobs.answerDelayMs = 3000; // the document is registered at once; the answer comes late
    const first = await startGateway();
    const paymentId = await paidPayment('k9-fiscal-1');
    await eventually(async () => atol.stats.documents >= 1, 15_000, 5);
    await kill9(first);
    const [before] = receiptsIn();
    expect(before).toMatchObject({ status: 'pending', provider_uuid: null }); // the gateway never stored ATOL's answer
    const [doc] = [...atol.documents.values()];
    expect(doc.externalId).toBe(before.external_id);

    atol.knobs.answerDelayMs = 0;
    await startGateway();
    const view = await eventually(
      async () => {
        const v = (await api('GET', `/api/v1/payments/${paymentId}`)).body;
        return v.receipts?.[0]?.status === 'done' && v;
      },
      30_000,
      200,
    );
    expect(view.receipts).toHaveLength(1);
    expect(view.receipts[0]).toMatchObject({
      externalId: before.external_id,
      kind: 'prepayment',
      fiscal: { documentNumber: doc.payload!.fiscal_document_number },
    });
    expect(atol.posts.get(before.external_id)).toBe(2); // sent again after the restart: ATOL answered 33 with the first uuid
    expect(atol.stats.duplicates).toBe(1);
    expect(atol.registrations(before.external_id)).toBe(1);
    expect(atol.documents.size).toBe(1);
    expect(receiptsIn()).toEqual([{ ...before, status: 'done', provider_uuid: doc.uuid }]);
  }, 90_000);

  test('killed while the receipt waited for its result (no callback comes): after the restart it is polled to done, never sent again', async () => {
    Object.assign(atol.knobs, { callbacks: 'off', processingMs: 4000 });
    const first = await startGateway();
    const paymentId = await paidPayment('k9-fiscal-2');
    await eventually(async () => receiptsIn()[0]?.status === 'sent', 15_000, 20);
    await kill9(first);
    await startGateway();
    const view = await eventually(
      async () => {
        const v = (await api('GET', `/api/v1/payments/${paymentId}`)).body;
        return v.receipts?.[0]?.status === 'done' && v;
      },
      30_000,
      200,
    );
    const ext = view.receipts[0].externalId;
    expect(atol.posts.get(ext)).toBe(1);
    expect(atol.registrations(ext)).toBe(1);
    expect(atol.stats.reportRateViolations).toBe(0);
  }, 90_000);
});
