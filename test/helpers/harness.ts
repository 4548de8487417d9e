import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { GatewayConfig } from '../../gateway/config';
import { createLogger } from '../../gateway/log';
import { createGateway, type Gateway } from '../../gateway/main';
import { AtolDriverEmulator, type DriverKnobs } from '../emulators/atol-driver/server';
import { AtolOnlineEmulator, type AtolKnobs } from '../emulators/atol-online/server';
import { OneCEmulator, type OneCKnobs } from '../emulators/onec/server';
import type { Configuration } from '../emulators/onec/metadata';
import { SberEmulator, type SberKnobs, type SberMerchant } from '../emulators/sber/server';
import { TbankEmulator, type TbankKnobs } from '../emulators/tbank/server';
import { onecOrgConfig, sandboxConfig, SANDBOX, SANDBOX_ACCOUNT } from '../sandbox/config';
import { sandboxRoutes } from '../sandbox/routes';
import { freshPgSchema, redisPrefix, REDIS_URL } from './services';

export type Backend = 'sqlite' | 'postgres';

export interface HarnessOptions {
  db?: Backend;
  redis?: boolean;
  knobs?: Partial<SberKnobs>;
  tbankKnobs?: Partial<TbankKnobs>;
  merchant?: Partial<SberMerchant>;
  siteWebhook?: { url: string; secret: string };
  /** An emulated 1C base for organization `main`. */
  onec?: {
    configuration: Configuration;
    transport?: 'odata' | 'soap' | 'http';
    mapping?: string;
    knobs?: Partial<OneCKnobs>;
    pull?: boolean;
    concurrency?: number;
    published?: string[];
  };
  /** Receipts for organization `main`: the emulated ATOL Online (register `web`), and with `driver` the emulated local register (`shop`). */
  /** B2B invoices for organization `main` into its account at the emulated T-Bank, read from the statement API every `everySeconds` (default 3600: tests poll by hand). */
  invoices?: { everySeconds?: number };
  fiscal?: { atol?: Partial<AtolKnobs>; driver?: Partial<DriverKnobs> | true; configure?: (fiscal: Record<string, any>) => void };
  overrides?: (raw: Record<string, any>) => void;
  /** Without the worker role no job or schedule runs: the store changes only when a request changes it. */
  worker?: boolean;
}

export interface Harness {
  gateway: Gateway;
  config: GatewayConfig;
  url: string;
  sber: SberEmulator;
  tbank: TbankEmulator;
  onec: OneCEmulator | null;
  atol: AtolOnlineEmulator | null;
  driver: AtolDriverEmulator | null;
  /** Every log line the gateway wrote, as text. */
  logs: string[];
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Headers; text: string }>;
  close(): Promise<void>;
}

export const SITE_AUTH = { authorization: `Bearer ${SANDBOX.siteKey}` };
export const ADMIN_AUTH = { authorization: `Bearer ${SANDBOX.adminKey}` };

/** A TCP port nobody listens on now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** A gateway wired to a fresh Sber emulator, on SQLite (temp file) or a PostgreSQL schema of its own. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const sber = new SberEmulator(
    [
      {
        userName: SANDBOX.sber.userName,
        password: SANDBOX.sber.password,
        callbackSecret: SANDBOX.sber.callbackSecret,
        callbackMode: 'symmetric',
        ...opts.merchant,
      },
    ],
    { resendIntervalMs: 300, ...opts.knobs },
  );
  await sber.start();
  const tbank = new TbankEmulator(
    [{ terminalKey: SANDBOX.tbank.terminalKey, password: SANDBOX.tbank.password, businessToken: SANDBOX.tbank.businessToken }],
    {
      resendIntervalMs: 300,
      resendDailyIntervalMs: 600,
      resendDailyLimit: 2,
      ...opts.tbankKnobs,
    },
    [SANDBOX_ACCOUNT],
  );
  await tbank.start();
  const onec = opts.onec
    ? new OneCEmulator({ configuration: opts.onec.configuration, knobs: opts.onec.knobs, published: opts.onec.published })
    : null;
  await onec?.start();
  const atol = opts.fiscal ? new AtolOnlineEmulator([SANDBOX.atol], opts.fiscal.atol) : null;
  await atol?.start();
  const driver = opts.fiscal?.driver ? new AtolDriverEmulator(opts.fiscal.driver === true ? {} : opts.fiscal.driver) : null;
  await driver?.start();
  const stopFiscal = async () => {
    await atol?.stop();
    await driver?.stop();
  };
  let cleanup: () => Promise<void>;
  let databaseUrl: string;
  if (opts.db === 'postgres') {
    const s = await freshPgSchema();
    databaseUrl = s.url;
    cleanup = s.drop;
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'gw-'));
    databaseUrl = `sqlite:${dir}/gateway.db`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  const p = await freePort();
  const abandon = async (e: unknown): Promise<never> => {
    await sber.stop();
    await tbank.stop();
    await onec?.stop();
    await stopFiscal();
    await cleanup();
    throw e;
  };
  const config = await Promise.resolve()
    .then(() =>
      sandboxConfig({
        port: p,
        databaseUrl,
        sberRestUrl: sber.restUrl,
        tbank: { apiUrl: tbank.apiUrl, operationsUrl: tbank.operationsUrl },
        ...(opts.invoices ? { invoices: { statementUrl: tbank.operationsUrl, everySeconds: opts.invoices.everySeconds ?? 3600 } } : {}),
        siteWebhook: opts.siteWebhook,
        fiscal: atol ? { atolUrl: atol.baseUrl, driverUrl: driver?.url } : undefined,
        overrides: (raw) => {
          raw.log.level = 'debug';
          if (opts.merchant?.callbackMode === 'asymmetric')
            raw.organizations[0].providers.sber.callback = { mode: 'asymmetric', publicKey: sber.publicKeyPem };
          if (opts.redis) raw.redis = { url: REDIS_URL, prefix: redisPrefix() };
          if (onec) raw.organizations[0].onec = onecOrgConfig(onec, opts.onec!);
          if (atol) opts.fiscal?.configure?.(raw.organizations[0].fiscal);
          opts.overrides?.(raw);
        },
      }),
    )
    .catch(abandon);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const gateway = await createGateway(config, {
    logger: createLogger('debug', sink),
    roles: { http: true, worker: opts.worker ?? true },
    extraRoutes: [(api, gw) => sandboxRoutes(api, gw, { sber, tbank, ...(atol ? { atol } : {}), ...(driver ? { driver } : {}) })],
  }).catch(abandon);
  const { url } = await gateway.start();
  return {
    gateway,
    config,
    url,
    sber,
    tbank,
    onec,
    atol,
    driver,
    logs,
    async call(method, path, body, headers = {}) {
      const res = await fetch(url + path, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        redirect: 'manual',
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed as any, headers: res.headers, text };
    },
    async close() {
      await gateway.stop();
      await sber.stop();
      await tbank.stop();
      await onec?.stop();
      await stopFiscal();
      await cleanup();
    },
  };
}

export const ONEC_KEY = SANDBOX.onecKey;

export function orderBody(overrides: Record<string, unknown> = {}) {
  const externalId = `ext-${Math.random().toString(36).slice(2, 10)}`;
  return {
    externalId,
    number: `A-${externalId.slice(4)}`,
    customer: { type: 'individual', name: 'Иван Петров', email: 'ivan@example.com', phone: '+79001234567' },
    items: [
      { sku: 'kettle-01', name: 'Чайник электрический', quantity: 2, price: 150000, amount: 300000, vat: 'vat22' },
      { sku: 'DELIVERY', name: 'Доставка', quantity: 1, price: 50000, amount: 50000, vat: 'vat22', kind: 'service' },
    ],
    total: 350000,
    currency: 'RUB',
    ...overrides,
  };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
/**
 * Waits until a schedule's first run (every schedule runs once at start) has ended, so that a test
 * calling the same flow by hand never runs beside it.
 */
export async function scheduleSettled(h: Harness, name: string): Promise<void> {
  await eventually(async () => {
    const run = await h.gateway.store.db
      .selectFrom('schedules')
      .select(['last_run_at', 'locked_by'])
      .where('name', '=', name)
      .executeTakeFirst();
    return !!run?.last_run_at && run.locked_by === null;
  }, 10_000);
}

export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 5000, stepMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * A tiny HTTP receiver (site webhooks, alert webhooks) that records what it gets and answers
 * `status`; with `hold` set it records a request but leaves it unanswered (a slow site).
 */
export async function receiver(): Promise<{
  url: string;
  received: { headers: IncomingMessage['headers']; body: any }[];
  status: number;
  hold: boolean;
  close(): Promise<void>;
}> {
  const received: { headers: IncomingMessage['headers']; body: any }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* keep text */
      }
      received.push({ headers: req.headers, body });
      if (r.hold) return;
      res.statusCode = r.status;
      res.end('ok');
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const r = {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    received,
    status: 200,
    hold: false,
    async close() {
      await new Promise<void>((res) => {
        server.close(() => res());
        server.closeAllConnections();
      });
    },
  };
  return r;
}
