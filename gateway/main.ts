import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type Koa from 'koa';
import { OneCBankReceiptSource } from '../connectors/onec-odata/bank-receipts';
import { ODataClient } from '../connectors/onec-odata/client';
import type { DocumentKind } from '../connectors/onec-odata/check';
import { loadMapping, mappingFile } from '../connectors/onec-odata/mapping';
import { ODataContractSource } from '../connectors/onec-odata/contracts';
import { ODataInvoiceSource } from '../connectors/onec-odata/invoices';
import { ODataOrderSource } from '../connectors/onec-odata/orders';
import { ODataSink } from '../connectors/onec-odata/sink';
import { HttpSink } from '../connectors/onec-http/sink';
import { SberProvider } from '../connectors/sber/provider';
import { TbankProvider } from '../connectors/tbank/provider';
import { TbankStatementSource } from '../connectors/tbank/statement';
import { AtolDriverRegister } from '../connectors/atol-driver/register';
import { AtolOnlineRegister } from '../connectors/atol-online/register';
import { ClientBankFileSource } from '../connectors/client-bank/source';
import { InvoiceDocumentRenderer } from '../connectors/invoice-document';
import { LogBuyerMessenger } from '../connectors/notify/buyer-log';
import { alertChannelNames, type SmtpConfig } from '../connectors/notify/config';
import { EmailBuyerMessenger, EmailNotifier, SmtpMailer } from '../connectors/notify/email';
import { LogNotifier } from '../connectors/notify/log';
import { TelegramNotifier } from '../connectors/notify/telegram';
import { WebhookNotifier } from '../connectors/notify/webhook';
import { SiteWebhook } from '../connectors/site/webhook';
import { ConfigError, type GatewayConfig, type OrganizationConfig } from './config';
import { Alerts } from './flows/alerts/alerts';
import { alertsFeature } from './flows/alerts';
import { noteAuthFailure } from './flows/alerts/auth-failures';
import type { Feature, FlowDeps } from './flows/deps';
import { fiscalFeature } from './flows/fiscal';
import { loadReceiptRules } from './flows/fiscal/rules';
import { historyFeature } from './flows/history';
import { monitoringFeature } from './flows/monitoring';
import type { MonitorState } from './flows/monitoring/check';
import { syncStatesWithPrefix } from './store/sync-state';
import { invoicesFeature } from './flows/invoices';
import { MatchingThread, statementsFeature } from './flows/statements';
import { onecFeature } from './flows/onec';
import { paymentsFeature } from './flows/payments';
import { FiscalRegisters, OneCBases, Providers } from './flows/registries';
import { ApiRouter } from './http/api';
import { buildApp } from './http/app';
import { AuthThrottle } from './http/auth-throttle';
import type { HttpDeps } from './http/deps';
import { Metrics } from './http/metrics';
import { JobExecutor } from './jobs/executor';
import { LocalJobRunner } from './jobs/local-runner';
import { JobQueue } from './jobs/queue';
import type { JobRunner } from './jobs/types';
import { createLogger, type Logger } from './log';
import { inProcessLimits, openLimits, type Limits } from './limiter';
import type {
  AcquiringProvider,
  FiscalRegister,
  BuyerMessenger,
  Notifier,
  OneCContractSource,
  OneCInvoiceSource,
  OneCOrderSource,
  OneCSink,
  ProviderName,
  SiteNotifier,
  StatementSource,
} from './ports';
import { openStore, type Store } from './store/db';
import { countJobsByStatus } from './store/jobs';
import { migrateToLatest } from './store/migrations';

/**
 * The composition root: config → store → jobs → connectors → flows → http. Every constructor of
 * the gateway is called here and nowhere else.
 */

export interface GatewayOptions {
  logger?: Logger;
  /** http: serve requests; worker: run jobs and schedules. Both by default. */
  roles?: { http: boolean; worker: boolean };
  /** Routes added to the app (the sandbox's controls). */
  extraRoutes?: ((api: ApiRouter, gateway: Gateway) => void)[];
}

export interface Gateway {
  config: GatewayConfig;
  log: Logger;
  store: Store;
  runner: JobRunner;
  deps: HttpDeps;
  app: Koa;
  /** Starts the runner and (http role) listens; resolves with the address. */
  start(): Promise<{ url: string; port: number }>;
  /** The graceful shutdown (config.shutdown): readiness off, drain HTTP and jobs, close the store. Once. */
  stop(): Promise<void>;
}

/** The capabilities whose jobs and schedules the runner carries (each folder's index.ts under flows/). */
const FEATURES: Feature[] = [
  alertsFeature,
  paymentsFeature,
  invoicesFeature,
  statementsFeature,
  onecFeature,
  fiscalFeature,
  historyFeature,
  monitoringFeature,
];

export const VERSION: string = require('../package.json').version;

/**
 * The spacing of the calls that outside systems take at 1 per second, kept by every process
 * together: a little over the second leaves room for the network's jitter.
 */
const ONE_PER_SECOND_MS = 1100;

function buildProviders(config: GatewayConfig, limits: Limits): Providers {
  const byOrg = new Map<string, Map<ProviderName, AcquiringProvider>>();
  for (const org of config.organizations) {
    const m = new Map<ProviderName, AcquiringProvider>();
    if (org.providers.sber) m.set('sber', new SberProvider(org.providers.sber));
    const tbank = org.providers.tbank;
    if (tbank) {
      // the registry counts requests per token (the key names its hash, not the token)
      const token = tbank.operations && createHash('sha256').update(tbank.operations.token).digest('hex').slice(0, 24);
      m.set(
        'tbank',
        new TbankProvider(tbank, { registryRate: token ? limits.rate(`tbank-registry:${token}`, ONE_PER_SECOND_MS) : undefined }),
      );
    }
    byOrg.set(org.id, m);
  }
  return new Providers(byOrg);
}

/** The statement API each organization reads its account from (payments.invoice.statementApi). */
function buildStatementApis(config: GatewayConfig): Map<string, StatementSource> {
  const m = new Map<string, StatementSource>();
  for (const org of config.organizations) {
    const c = org.payments.invoice?.statementApi;
    if (c?.type === 'tbank') m.set(org.id, new TbankStatementSource(c));
  }
  return m;
}

/** The mapping's documents an organization writes: those of its payment methods (and their refunds). */
function documentsOf(org: OrganizationConfig): DocumentKind[] {
  const p = org.payments;
  const out: DocumentKind[] = [];
  if (p.card || p.sbp || (!p.invoice && !p.card)) out.push('card');
  if (p.sbp) out.push('sbp');
  if (p.invoice) out.push('invoice');
  if (org.onec.refunds) {
    if (out.includes('card')) out.push('refundCard');
    if (p.sbp) out.push('refundSbp');
    if (p.invoice) out.push('refundInvoice');
  }
  return out;
}

/**
 * Each organization's 1C side. Organizations sharing a base share one limit on the requests in
 * flight to it (the smallest configured), since the base's licences are shared too; on PostgreSQL
 * the limit holds across every process (`limits`), in-process otherwise.
 */
export function buildOneC(config: GatewayConfig, limits: Limits = inProcessLimits()): OneCBases {
  const maxOf = new Map<string, number>();
  const baseKey = (url: string) => url.replace(/\/+$/, '').toLowerCase();
  for (const org of config.organizations) {
    const c = org.onec;
    if (c.transport === 'none') continue;
    const key = baseKey(c.baseUrl!);
    maxOf.set(key, Math.min(c.concurrency, maxOf.get(key) ?? Infinity));
  }
  const byBase = new Map([...maxOf].map(([key, max]) => [key, limits.concurrency(`onec:${key}`, max)]));
  const sinks = new Map<string, OneCSink>();
  const sources = new Map<string, OneCOrderSource>();
  const bankReceipts = new Map<string, StatementSource>();
  const invoiceSources = new Map<string, OneCInvoiceSource>();
  const contractSources = new Map<string, OneCContractSource>();
  for (const org of config.organizations) {
    const c = org.onec;
    if (c.transport === 'none') continue;
    const limiter = byBase.get(baseKey(c.baseUrl!))!;
    const auth = { user: c.user!, password: c.password!, timeoutMs: c.timeoutMs };
    if (c.transport === 'odata') {
      const client = new ODataClient({ baseUrl: c.baseUrl!, ...auth }, limiter);
      const mapping = loadMapping(c.mapping);
      sinks.set(org.id, new ODataSink(client, mapping, c.refs, { mappingFile: mappingFile(c.mapping), documents: documentsOf(org) }));
      const orders = new ODataOrderSource(client, mapping);
      sources.set(org.id, orders);
      if (mapping.invoiceSource) invoiceSources.set(org.id, new ODataInvoiceSource(client, mapping, orders, c.refs));
      if (mapping.contract) contractSources.set(org.id, new ODataContractSource(client, mapping));
      const from1C = org.payments.invoice?.statementsFrom1C;
      if (from1C) bankReceipts.set(org.id, new OneCBankReceiptSource(client, mapping, from1C));
    } else if (c.transport === 'soap') {
      // the soap package is big: loaded only for the organizations that use it
      const { SoapSink } = require('../connectors/onec-soap/sink') as typeof import('../connectors/onec-soap/sink');
      sinks.set(
        org.id,
        new SoapSink(
          { wsdlUrl: c.soap.wsdlUrl ?? `${c.baseUrl!.replace(/\/+$/, '')}/ws/gateway?wsdl`, register: c.soap.register, ...auth },
          limiter,
        ),
      );
    } else {
      sinks.set(org.id, new HttpSink({ baseUrl: c.baseUrl!, path: c.httpPath, ...auth }, limiter));
    }
  }
  return new OneCBases(sinks, sources, bankReceipts, invoiceSources, contractSources);
}

/** Each organization's cash registers and receipt rules (organizations[].fiscal). */
function buildFiscal(config: GatewayConfig, limits: Limits): FiscalRegisters {
  const registers: ConstructorParameters<typeof FiscalRegisters>[0] = [];
  const rules = new Map<string, ReturnType<typeof loadReceiptRules>>();
  config.organizations.forEach((org, i) => {
    const f = org.fiscal;
    if (f.mode === 'off') return;
    try {
      rules.set(org.id, loadReceiptRules(f.rules));
    } catch (e) {
      throw new ConfigError(`organizations[${i}].fiscal.rules: ${(e as Error).message}`);
    }
    const publicUrl = config.server.publicUrl.replace(/\/+$/, '');
    for (const c of f.registers) {
      const register: FiscalRegister =
        c.type === 'atol-online'
          ? new AtolOnlineRegister(
              {
                ...c,
                timeZone: f.timeZone,
                callbackBase: c.callbacks ? `${publicUrl}/callbacks/atol/${org.id}` : undefined,
              },
              // ATOL takes 1 report request a second per group
              limits.rate(`atol-report:${c.groupCode}`, ONE_PER_SECOND_MS),
            )
          : new AtolDriverRegister({ ...c });
      registers.push({ organizationId: org.id, register, config: c });
    }
  });
  return new FiscalRegisters(registers, rules);
}

/** Each organization's site webhook, where it has one. */
function buildSites(config: GatewayConfig): Map<string, SiteNotifier> {
  return new Map(config.organizations.flatMap((o) => (o.siteWebhook ? [[o.id, new SiteWebhook(o.siteWebhook)] as const] : [])));
}

/** One pooled SMTP transport per server and account, shared by the alert channels and the buyers' e-mail. */
class Mailers {
  private readonly all = new Map<string, SmtpMailer>();
  of(cfg: SmtpConfig): SmtpMailer {
    const key = JSON.stringify([cfg.host, cfg.port, cfg.secure, cfg.user ?? null]);
    let mailer = this.all.get(key);
    if (!mailer) this.all.set(key, (mailer = new SmtpMailer(cfg)));
    return mailer;
  }
  close(): void {
    for (const m of this.all.values()) m.close();
  }
}

function buildNotifiers(config: GatewayConfig, log: Logger, mailers: Mailers): Notifier[] {
  return config.alerts.channels.map((c) => {
    if (c.type === 'webhook') return new WebhookNotifier(c);
    if (c.type === 'email') return new EmailNotifier(mailers.of(c.smtp), c);
    if (c.type === 'telegram') return new TelegramNotifier(c);
    return new LogNotifier(log.child({ channel: 'alerts' }));
  });
}

/** Buyers' messages: by e-mail for the organizations with `buyerEmail`, the log for the rest. */
function buildBuyers(config: GatewayConfig, log: Logger, mailers: Mailers): BuyerMessenger {
  const fallback = new LogBuyerMessenger(log);
  const byOrg = new Map(
    config.organizations.flatMap((o) =>
      o.buyerEmail ? [[o.id, { mailer: mailers.of(o.buyerEmail.smtp), cfg: o.buyerEmail }] as const] : [],
    ),
  );
  return byOrg.size ? new EmailBuyerMessenger(byOrg, fallback) : fallback;
}

export async function createGateway(config: GatewayConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const roles = opts.roles ?? { http: true, worker: true };
  const log = opts.logger ?? createLogger(config.log.level);
  const limits = openLimits(config.database.url);
  const fiscal = buildFiscal(config, limits);
  const store = await openStore(config.database.url, { preparedStatements: config.database.preparedStatements });
  await migrateToLatest(store.db);
  // reports may read a replica: opened as it is, never migrated
  const reportsStore = config.reports.databaseUrl
    ? await openStore(config.reports.databaseUrl, { readOnly: true, preparedStatements: config.database.preparedStatements })
    : undefined;

  const queue = new JobQueue(config.jobs.maxAttempts);
  const mailers = new Mailers();
  const alerts = new Alerts(queue, buildNotifiers(config, log, mailers), log, {
    names: alertChannelNames(config.alerts.channels),
    routes: config.alerts.routes,
  });
  const flows: FlowDeps = {
    config,
    orgs: new Map(config.organizations.map((o) => [o.id, o])),
    store,
    jobs: queue,
    providers: buildProviders(config, limits),
    alerts,
    onec: buildOneC(config, limits),
    fiscal,
    sites: buildSites(config),
    buyers: buildBuyers(config, log, mailers),
    invoiceDocuments: new InvoiceDocumentRenderer(),
    statementFile: (bytes) => new ClientBankFileSource(bytes),
    statementApis: buildStatementApis(config),
    log,
    ...(reportsStore ? { reportsStore } : {}),
    // statement matching on a thread of its own where the store is an SQLite file and invoices are issued
    ...(store.file && config.organizations.some((o) => o.payments.invoice) ? { matchingThread: new MatchingThread(store.file) } : {}),
  };
  const exec = new JobExecutor(store, config.jobs, log, flows, alerts.deadJob, (_job, e) => noteAuthFailure(store.db, e));
  for (const feature of FEATURES) {
    for (const job of feature.jobs) exec.define(job);
    for (const schedule of feature.schedules?.(flows) ?? []) if (schedule) exec.schedule(schedule);
  }

  // BullMQ (and ioredis) only load when Redis is configured
  const runner: JobRunner = config.redis
    ? new (require('./jobs/bullmq-runner') as typeof import('./jobs/bullmq-runner')).BullMqJobRunner(exec, config.redis)
    : new LocalJobRunner(exec);
  queue.runner = runner;

  const deps: HttpDeps = {
    ...flows,
    metrics: new Metrics(
      () => countJobsByStatus(store.db),
      async () => (await syncStatesWithPrefix(store.db, 'monitor:')).map((r) => JSON.parse(r.value) as MonitorState),
    ),
    runner,
    version: VERSION,
    bodyLimit: config.server.bodyLimitKb * 1024,
    authThrottle: new AuthThrottle(config.server.authFailures.max, config.server.authFailures.windowSeconds * 1000),
    lifecycle: { draining: false },
  };
  const api = new ApiRouter();
  let server: Server | null = null;
  /** The requests being answered: once shutdown begins, each answer not yet under way ends its connection. */
  const inFlight = new Set<ServerResponse>();

  const gateway: Gateway = {
    config,
    log,
    store,
    runner,
    deps,
    app: null as unknown as Koa,
    async start() {
      await runner.start({ worker: roles.worker });
      if (!roles.http) {
        log.info({ store: store.describe, runner: runner.kind, version: VERSION }, 'worker started');
        return { url: '', port: 0 };
      }
      // a client that sends its request slowly (or never finishes it) holds a connection no longer than this
      const timeout = config.server.requestTimeoutMs;
      const handle = gateway.app.callback();
      const s = createServer(
        {
          requestTimeout: timeout,
          headersTimeout: timeout,
          connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(timeout / 4))),
          keepAliveTimeout: 65_000,
        },
        (req, res) => {
          inFlight.add(res);
          res.once('close', () => inFlight.delete(res));
          if (deps.lifecycle.draining) res.setHeader('connection', 'close');
          handle(req, res);
        },
      );
      server = await new Promise<Server>((resolve, reject) => {
        s.once('error', reject);
        s.listen(config.server.port, config.server.host, () => resolve(s));
      });
      const port = (server.address() as AddressInfo).port;
      const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
      log.info({ port, store: store.describe, runner: runner.kind, version: VERSION, worker: roles.worker }, 'gateway started');
      return { url: `http://${host}:${port}`, port };
    },
    stop() {
      // a second call (a second signal) waits for the first
      return (stopped ??= drain());
    },
  };
  let stopped: Promise<void> | null = null;
  /**
   * Readiness off at once; the runner stops taking jobs and gives the running ones until the
   * deadline (then hands them back); after the drain delay the server takes no new connections and
   * waits for the requests in flight (cut at the deadline); then the store is closed.
   */
  async function drain(): Promise<void> {
    const { drainDelayMs, deadlineMs } = config.shutdown;
    const deadline = Date.now() + deadlineMs;
    deps.lifecycle.draining = true;
    // keep-alive ends with the answers under way: clients come back through the balancer
    for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    const jobs = runner.stop(deadlineMs);
    const http = (async () => {
      if (!server) return;
      const s = server;
      server = null;
      // the balancer still sends requests until it has seen readiness fail
      await delay(drainDelayMs);
      // a request still running at the deadline is cut
      const cut = setTimeout(() => s.closeAllConnections(), Math.max(0, deadline - Date.now()));
      // an answer that was already streaming when shutdown began leaves its connection idle, not closed
      const closeIdle = () => setImmediate(() => s.closeIdleConnections());
      for (const res of inFlight) res.once('finish', closeIdle);
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeIdleConnections();
      });
      clearTimeout(cut);
    })();
    const [{ handedBack }] = await Promise.all([jobs, http]);
    log.info({ handedBack }, 'requests and jobs drained');
    mailers.close();
    await reportsStore?.close();
    await flows.matchingThread?.close();
    await limits.close();
    await store.close();
  }
  gateway.app = buildApp(
    deps,
    api,
    (opts.extraRoutes ?? []).map((add) => (a: ApiRouter) => add(a, gateway)),
  );
  return gateway;
}
