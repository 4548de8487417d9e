import { z } from 'zod';
import { alertChannelConfig, alertChannelNames, buyerEmailConfig } from '../../connectors/notify/config';
import { sberConfig } from '../../connectors/sber/config';
import { siteWebhookConfig } from '../../connectors/site/config';
import { tbankConfig, tbankStatementConfig } from '../../connectors/tbank/config';
import { FISCAL_OFF, fiscalSchema } from './fiscal';

/**
 * The shape of gateway.config.yaml. Each connector owns the schema of its own settings
 * (connectors/<system>/config.ts); this file puts them where they sit in the file.
 */

const orgId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase latin letters, digits, "-" and "_"');

const PROVIDERS = ['sber', 'tbank'] as const;

const paymentMethod = z.object({
  provider: z.enum(PROVIDERS),
  /** Other providers the site may name in a payment request (`provider`). */
  alternatives: z.array(z.enum(PROVIDERS)).default([]),
  /** How long the customer has to pay: the bank's form session for cards, the QR's lifetime for СБП. */
  ttlMinutes: z
    .number()
    .min(1)
    .max(60 * 24 * 90)
    .optional(),
});

/**
 * B2B invoices («Счёт на оплату»), paid by bank transfer: where the money goes, how invoices are
 * numbered and how long a prepaid one may wait.
 */
const invoiceMethod = z
  .object({
    /** The organization's account the invoice asks to pay into. */
    bank: z.object({
      name: z.string().min(1),
      /** Printed after the bank's name («г. Москва»). */
      city: z.string().optional(),
      bic: z.string().regex(/^\d{9}$/, '9 digits'),
      account: z.string().regex(/^\d{20}$/, '20 digits'),
      correspondentAccount: z.string().regex(/^\d{20}$/, '20 digits'),
    }),
    /** Invoice numbers are `<prefix><n>`, n counting from 1 each year (at most 11 characters in all, 1C's number). */
    prefix: z
      .string()
      .regex(/^[0-9A-Za-zА-Яа-яЁё-]{0,4}$/, 'up to 4 letters, digits or "-"')
      .default(''),
    /** Days a prepaid invoice is payable, from its date. */
    payWithinDays: z.number().int().min(1).max(90).default(5),
    /** The organization's address as the invoice prints it. */
    address: z.string().optional(),
    /** Who signs the invoice: «Руководитель» (or another title) and «Бухгалтер». */
    signatures: z.object({ head: z.string().optional(), headTitle: z.string().optional(), accountant: z.string().optional() }).optional(),
    /** The buyer is reminded this many days before an invoice is due (and on the day). */
    remindDaysBefore: z.number().int().min(0).max(30).default(3),
    /**
     * Each invoice carries a УИП for field 22 «Код» of the payment order (printed, in the QR, in the
     * purpose), computed as 1C:Управление торговлей computes it for its invoices; a payer who copies it
     * is matched by it first.
     */
    uip: z.boolean().default(false),
    /** The bank's statement API the account is read from: transfers are matched to invoices as they arrive. */
    statementApi: tbankStatementConfig.optional(),
    /**
     * The accountant imports the bank statements into 1C: the gateway reads 1C's incoming bank receipts
     * (OData) every `everySeconds` as a statement, pays the invoices they name and writes no second
     * document for them. The first read goes `firstDays` back; each read starts `overlapDays` before the
     * last document seen (a statement imported late).
     */
    statementsFrom1C: z
      .object({
        everySeconds: z.number().int().min(10).max(86_400).default(300),
        firstDays: z.number().int().min(0).max(90).default(3),
        overlapDays: z.number().int().min(0).max(31).default(3),
      })
      .optional(),
  })
  .superRefine((o, ctx) => {
    if (o.statementApi && o.statementApi.accountNumber !== o.bank.account)
      ctx.addIssue({
        code: 'custom',
        path: ['statementApi', 'accountNumber'],
        message: `the statement read must be of the account invoices ask to pay into (bank.account ${o.bank.account})`,
      });
  });

/** How paid payments reach the organization's 1C base, and how 1C reaches the gateway. */
const onec = z
  .object({
    transport: z.enum(['odata', 'soap', 'http', 'none']).default('none'),
    /** The infobase's web publication, e.g. http://1c.example/ut (OData, /hs and /ws hang under it). */
    baseUrl: z.url().optional(),
    user: z.string().optional(),
    password: z.string().optional(),
    /** OData: `ut11`, `unf` (files in mappings/) or the path of a mapping of one's own. */
    mapping: z.string().default('ut11'),
    /** 1C refs (GUIDs) the documents need: acquiringTerminal, acquiringContract, bankAccount, cashFlowItem, currency, organization, responsible (УТ: the user the documents are written by), vatRate (УНФ: the payment rows’ rate). */
    refs: z
      .record(z.string(), z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'a 1C ref (GUID)'))
      .default({}),
    /** Requests in flight to this base at most (1C licences); the smallest value wins for a base shared by organizations. */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** The first request after a pause can take half a minute in 1C. */
    timeoutMs: z.number().int().min(1000).default(60_000),
    /** Deliver refunds too (as the return document of the mapping). */
    refunds: z.boolean().default(true),
    /**
     * A payment whose order 1C does not have yet (a site order paid before the exchange took it) waits for
     * it: asked again every `recheckSeconds`, alerted and given up after `hours`.
     */
    waitForOrder: z
      .object({ hours: z.number().min(0).default(24), recheckSeconds: z.number().min(1).default(300) })
      .default({ hours: 24, recheckSeconds: 300 }),
    /**
     * Invoices in 1C for site orders paid by invoice (OData, УТ): `create` has 1C make a posted
     * СчетНаОплатуКлиенту based on the order once the order is in 1C; `numberedBy: onec` makes the
     * gateway's invoice take 1C's number then (else 1C's invoice keeps its own and the gateway's is printed).
     */
    invoices: z
      .object({ create: z.boolean().default(false), numberedBy: z.enum(['gateway', 'onec']).default('gateway') })
      .default({ create: false, numberedBy: 'gateway' }),
    /** Read manager-created orders from 1C and give them payment links (OData). */
    pull: z.object({ everySeconds: z.number().min(1).default(60), since: z.string().optional() }).optional(),
    soap: z
      .object({
        /** Default: <baseUrl>/ws/gateway?wsdl */
        wsdlUrl: z.url().optional(),
        /** The operation recording a payment, idempotent by PaymentId. */
        register: z.string().default('RegisterPayment'),
      })
      .default({ register: 'RegisterPayment' }),
    /** The 1C HTTP service receiving payments (relative to baseUrl). */
    httpPath: z.string().default('/hs/gateway/payments'),
    /** Keys 1C uses to call the gateway (`Authorization: Bearer <key>`, or Basic with the key as the password). */
    keys: z.array(z.string().min(16, 'at least 16 characters')).default([]),
  })
  .superRefine((o, ctx) => {
    if (o.transport !== 'none') {
      for (const k of ['baseUrl', 'user', 'password'] as const)
        if (!o[k]) ctx.addIssue({ code: 'custom', path: [k], message: `required for transport ${o.transport}` });
    }
    if (o.pull && o.transport !== 'odata')
      ctx.addIssue({ code: 'custom', path: ['pull'], message: 'reading orders from 1C needs transport odata' });
    if (o.invoices.create && o.transport !== 'odata')
      ctx.addIssue({ code: 'custom', path: ['invoices', 'create'], message: 'creating invoices in 1C needs transport odata' });
  });

const organization = z.object({
  id: orgId,
  name: z.string().min(1),
  inn: z
    .string()
    .regex(/^\d{10}(\d{2})?$/, '10 or 12 digits')
    .optional(),
  kpp: z
    .string()
    .regex(/^\d{9}$/, '9 digits')
    .optional(),
  /** Bearer keys the website uses; one key may appear in several organizations. */
  siteKeys: z.array(z.string().min(16, 'at least 16 characters')).default([]),
  /** Where payment status changes are posted for the website (optional). */
  siteWebhook: siteWebhookConfig.optional(),
  /** Messages to this organization's buyers (invoice reminders) by e-mail; without it they go to the log. */
  buyerEmail: buyerEmailConfig.optional(),
  payments: z
    .object({
      card: paymentMethod.optional(),
      sbp: paymentMethod.optional(),
      invoice: invoiceMethod.optional(),
    })
    .default({}),
  providers: z.object({ sber: sberConfig.optional(), tbank: tbankConfig.optional() }).default({}),
  onec: onec.default({
    transport: 'none',
    mapping: 'ut11',
    refs: {},
    concurrency: 4,
    timeoutMs: 60_000,
    refunds: true,
    waitForOrder: { hours: 24, recheckSeconds: 300 },
    invoices: { create: false, numberedBy: 'gateway' },
    soap: { register: 'RegisterPayment' },
    httpPath: '/hs/gateway/payments',
    keys: [],
  }),
  /** Deferred terms (`paymentTerms: deferred`) for individuals and individual entrepreneurs too; off: companies only. */
  deferredForIndividuals: z.boolean().default(false),
  /** Receipts (54-ФЗ): see fiscal.ts. */
  fiscal: fiscalSchema.default(FISCAL_OFF),
  /**
   * Two payments of one order both paid (an older attempt the bank would not cancel, two tabs): `alert`
   * tells support, `refund` also returns the later payment through its provider. Either way only the
   * first reaches 1C, and the payment's timeline says why.
   */
  doublePayment: z.enum(['refund', 'alert']).default('alert'),
});

// ---------------------------------------------------------------- the exchange's bases, checked against the organizations

/** What the checks read of the config (the parsed config has it). */
interface ExchangeCheckInput {
  organizations: { id: string; onec: { transport: string } }[];
  exchange: { bases: { organizations?: string[]; paymentsWrittenBy?: 'onec' | 'gateway' }[] };
}

/** Who writes the payment documents into a base: as set, else `gateway` when an organization it serves delivers payments. */
export function paymentsWriterOf(
  cfg: Pick<ExchangeCheckInput, 'organizations'>,
  base: ExchangeCheckInput['exchange']['bases'][number],
): 'onec' | 'gateway' {
  if (base.paymentsWrittenBy) return base.paymentsWrittenBy;
  const served = cfg.organizations.filter((o) => !base.organizations || base.organizations.includes(o.id));
  return served.some((o) => o.onec.transport !== 'none') ? 'gateway' : 'onec';
}

/**
 * One writer of payments per 1C base: a base where 1C writes the payment document itself from the
 * exchange's requisites must not also get the same payment from the gateway over OData, HTTP or
 * SOAP (an organization it serves with an `onec.transport`). And a base names only organizations that exist.
 */
function checkExchangeBases(cfg: ExchangeCheckInput, ctx: z.RefinementCtx): void {
  cfg.exchange.bases.forEach((base, b) => {
    for (const [k, id] of (base.organizations ?? []).entries()) {
      if (!cfg.organizations.some((o) => o.id === id))
        ctx.addIssue({ code: 'custom', path: ['exchange', 'bases', b, 'organizations', k], message: `no organization with id "${id}"` });
    }
    if (base.paymentsWrittenBy !== 'onec') return;
    cfg.organizations.forEach((org, i) => {
      if (base.organizations && !base.organizations.includes(org.id)) return;
      if (org.onec.transport === 'none') return;
      ctx.addIssue({
        code: 'custom',
        path: ['exchange', 'bases', b, 'paymentsWrittenBy'],
        message:
          `"onec" (1C creates the payment document itself from the exchange's «Заказ оплачен» / «Дата оплаты»), but ` +
          `organizations[${i}].onec.transport is "${org.onec.transport}": the gateway would write the same payment of "${org.id}" into 1C a second time. ` +
          `Set organizations[${i}].onec.transport: none, or exchange.bases[${b}].paymentsWrittenBy: gateway`,
      });
    });
  });
}

export type OrganizationConfig = GatewayConfig['organizations'][number];
export type PaymentMethodConfig = NonNullable<OrganizationConfig['payments']['card']>;
export type OneCConfig = OrganizationConfig['onec'];

/**
 * Where alerts go. `channels`: the alert channels, each with a name (default: its type). `routes`: an
 * alert goes to the channels of every route it matches (by severity and kind; a route without them
 * matches all); the channel `digest` collects it for the daily digest instead. Without routes every
 * alert goes to every channel; an alert no route matches is only recorded (and logged).
 */
const alertRoute = z.object({
  severity: z
    .array(z.enum(['critical', 'warning', 'info']))
    .min(1)
    .optional(),
  /** Alert kinds: the start of the alert's key (`dead-job`, `register`, `onec-failed`, `monitor` or `monitor.<rule>`, …). */
  kinds: z.array(z.string().min(1)).min(1).optional(),
  channels: z.array(z.string().min(1)).min(1),
});
const alertsConfig = z
  .object({
    channels: z.array(alertChannelConfig).default([{ type: 'log' }]),
    routes: z.array(alertRoute).optional(),
    /** The daily digest of the alerts routed to `digest`: one message at `at` (Moscow time) to `channels`. */
    digest: z
      .object({
        at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, Moscow time'),
        channels: z.array(z.string().min(1)).min(1),
      })
      .optional(),
  })
  .superRefine((a, ctx) => {
    const names = alertChannelNames(a.channels);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `duplicate channel name "${n}"` });
    });
    const known = (n: string) => names.includes(n);
    const list = names.map((n) => `"${n}"`).join(', ');
    let digestRouted = false;
    (a.routes ?? []).forEach((r, i) =>
      r.channels.forEach((c, j) => {
        if (c === 'digest') digestRouted = true;
        else if (!known(c))
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'channels', j],
            message: `unknown alert channel "${c}" (channels: ${list}, or "digest")`,
          });
      }),
    );
    a.digest?.channels.forEach((c, j) => {
      if (!known(c))
        ctx.addIssue({ code: 'custom', path: ['digest', 'channels', j], message: `unknown alert channel "${c}" (channels: ${list})` });
    });
    if (digestRouted && !a.digest)
      ctx.addIssue({
        code: 'custom',
        path: ['digest'],
        message: 'a route sends alerts to "digest": say when and where it goes (digest.at, digest.channels)',
      });
  })
  .default({ channels: [{ type: 'log' }] });

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8080),
        /** How banks and customers reach the gateway; used in callback and return URLs. */
        publicUrl: z.url().default('http://127.0.0.1:8080'),
        bodyLimitKb: z.number().int().min(1).max(102400).default(256),
        /** Trust X-Forwarded-* headers from a reverse proxy. */
        trustProxy: z.boolean().default(false),
        /** A request whose headers and body have not all arrived by then gets 408 and its connection is closed. */
        requestTimeoutMs: z.number().int().min(500).max(3_600_000).default(30_000),
        /** Failed authentications (keys, the exchange's password) an address may make in the window before it gets 429. */
        authFailures: z
          .object({ max: z.number().int().min(1).default(10), windowSeconds: z.number().int().min(1).default(300) })
          .default({ max: 10, windowSeconds: 300 }),
      })
      .default({
        host: '0.0.0.0',
        port: 8080,
        publicUrl: 'http://127.0.0.1:8080',
        bodyLimitKb: 256,
        trustProxy: false,
        requestTimeoutMs: 30_000,
        authFailures: { max: 10, windowSeconds: 300 },
      }),
    /**
     * SIGTERM: /health/ready answers 503 at once; after `drainDelayMs` (for load balancers to stop
     * sending) the server takes no new connections; requests in flight and running jobs get until
     * `deadlineMs` after the signal, then the jobs still running are handed back to other workers.
     * Keep Kubernetes' terminationGracePeriodSeconds a few seconds above `deadlineMs`.
     */
    shutdown: z
      .object({
        drainDelayMs: z.number().int().min(0).max(120_000).default(5000),
        deadlineMs: z.number().int().min(0).max(600_000).default(25_000),
      })
      .refine((s) => s.drainDelayMs <= s.deadlineMs, { path: ['drainDelayMs'], message: 'must not be longer than shutdown.deadlineMs' })
      .default({ drainDelayMs: 5000, deadlineMs: 25_000 }),
    database: z
      .object({
        url: z.string().min(1),
        /** PostgreSQL: statements run prepared (off behind a pooler that does not carry prepared statements over). */
        preparedStatements: z.boolean().default(true),
      })
      .default({ url: 'sqlite:./data/gateway.db', preparedStatements: true }),
    /** Reports: `databaseUrl` reads them from a replica or a reporting database with the same schema (no migrations run there). */
    reports: z.object({ databaseUrl: z.string().min(1).optional() }).default({}),
    redis: z
      .object({ url: z.string().regex(/^rediss?:\/\//, 'redis:// or rediss:// URL'), prefix: z.string().default('onec-gateway') })
      .optional(),
    admin: z
      .object({
        keys: z.array(z.string().min(16, 'at least 16 characters')).default([]),
        /** The /admin pages' session: it ends after this long without a request, and this long after sign-in whatever happens. */
        sessionIdleMinutes: z.number().int().min(1).max(1440).default(30),
        sessionHours: z.number().int().min(1).max(168).default(12),
      })
      .default({ keys: [], sessionIdleMinutes: 30, sessionHours: 12 }),
    jobs: z
      .object({
        concurrency: z.number().int().min(1).max(256).default(8),
        maxAttempts: z.number().int().min(1).max(100).default(12),
        backoffBaseMs: z.number().int().min(10).default(2000),
        backoffMaxMs: z.number().int().min(10).default(3_600_000),
        leaseMs: z.number().int().min(500).default(30_000),
        pollIntervalMs: z.number().int().min(10).default(500),
      })
      .default({ concurrency: 8, maxAttempts: 12, backoffBaseMs: 2000, backoffMaxMs: 3_600_000, leaseMs: 30_000, pollIntervalMs: 500 }),
    janitor: z
      .object({
        everySeconds: z.number().min(0.2).default(30),
        /** A pending attempt with no callback after this long is asked about at the provider. */
        pollPendingAfterSeconds: z.number().min(0).default(60),
        /** A still-pending attempt this old is given up (expired, and cancelled at the provider). */
        expireAfterMinutes: z
          .number()
          .min(1)
          .default(24 * 60),
      })
      .default({ everySeconds: 30, pollPendingAfterSeconds: 60, expireAfterMinutes: 24 * 60 }),
    /**
     * The history agent: reads every provider's registry of operations over an overlapping window,
     * stores each operation once, matches it to orders and recovers payments whose callback was lost.
     */
    history: z
      .object({
        everyMinutes: z.number().min(0.01).default(60),
        /** Each run reaches back this far before the previous run's end (T-Bank lists operations up to 2 h late). */
        overlapMinutes: z.number().min(0).default(180),
        /** The first run's window. */
        lookbackHours: z
          .number()
          .min(1)
          .max(24 * 30)
          .default(24),
      })
      .default({ everyMinutes: 60, overlapMinutes: 180, lookbackHours: 24 }),
    alerts: alertsConfig,
    /**
     * Monitoring rules checked on a schedule: each past its threshold alerts support once, and once
     * more («решено») when it clears; each is a Prometheus metric too (gateway_monitor_value{rule}).
     */
    monitoring: z
      .object({
        everySeconds: z.number().min(1).max(3600).default(60),
        /** A 1C base not answering for this many minutes. */
        onecUnreachableMinutes: z.number().min(0.05).max(1440).default(5),
        /** Paid payments whose document is not in 1C after this many minutes. */
        paidNotInOneCMinutes: z.number().int().min(1).max(1440).default(30),
        /** Dead jobs beyond this many. */
        deadJobsMax: z.number().int().min(0).default(0),
        /** A job due this many minutes ago and still waiting. */
        oldestWaitingJobMinutes: z.number().int().min(1).max(1440).default(10),
        /** Receipts failed, or waiting for the register longer than this. */
        receiptsStuckMinutes: z.number().int().min(1).max(1440).default(15),
        /** Review items (bank lines, provider operations) older than this. */
        reviewOlderThanHours: z.number().int().min(1).max(720).default(24),
        /** Overdue invoices beyond this many. */
        overdueInvoicesMax: z.number().int().min(0).default(0),
        /** The payment history agent not run for this long (where a provider has a registry). */
        historySilentHours: z.number().int().min(1).max(168).default(2),
        /** Of the last hour's card and СБП payments, the share the bank's callback never announced, past which its callback URL is suspect. */
        callbacksSilentPercent: z.number().min(1).max(100).default(50),
        /** … counted only with at least this many payments in the hour. */
        callbacksSilentMinPayments: z.number().int().min(1).default(5),
        /** Refused logins (HTTP 401/403, a bank's or register's auth error) at 1C, a bank or ATOL within `authFailuresWindowMinutes`, beyond this many. */
        authFailuresMax: z.number().int().min(0).default(0),
        authFailuresWindowMinutes: z.number().min(1).max(1440).default(15),
        /** A cash register (the ATOL driver's device) not answering for this many minutes. */
        registerOfflineMinutes: z.number().min(0.05).max(1440).default(5),
        /** Registers whose fiscal storage (ФН) or ОФД exchange reports a problem, beyond this many. */
        fiscalStorageWarningsMax: z.number().int().min(0).default(0),
      })
      .default({
        everySeconds: 60,
        onecUnreachableMinutes: 5,
        paidNotInOneCMinutes: 30,
        deadJobsMax: 0,
        oldestWaitingJobMinutes: 10,
        receiptsStuckMinutes: 15,
        reviewOlderThanHours: 24,
        overdueInvoicesMax: 0,
        historySilentHours: 2,
        callbacksSilentPercent: 50,
        callbacksSilentMinPayments: 5,
        authFailuresMax: 0,
        authFailuresWindowMinutes: 15,
        registerOfflineMinutes: 5,
        fiscalStorageWarningsMax: 0,
      }),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .default({ level: 'info' }),
    organizations: z.array(organization).min(1, 'at least one organization'),
    /** 1C's standard "Обмен с сайтом" (CommerceML 2) at /exchange/1c: one entry per 1C base. */
    exchange: z
      .object({
        /** Where uploaded files wait for their import. */
        dir: z.string().default('./data/exchange'),
        bases: z
          .array(
            z.object({
              id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase latin letters, digits, "-" and "_"'),
              user: z.string().min(1),
              password: z.string().min(1),
              /** The organizations whose orders this base exchanges (default: all). */
              organizations: z.array(z.string()).optional(),
              /** The CommerceML version written when 1C does not ask for one. */
              version: z.enum(['2.03', '2.04', '2.05', '2.06', '2.07', '2.08', '2.09', '2.10']).default('2.05'),
              /** windows-1251 for old set-ups; UTF-8 is written with a BOM (without one, 1C may not read it). */
              encoding: z.enum(['windows-1251', 'utf-8']).default('windows-1251'),
              zip: z.boolean().default(false),
              /** The chunk size 1C is told to send (`file_limit`). */
              fileLimitBytes: z
                .number()
                .int()
                .min(1024)
                .default(8 * 1024 * 1024),
              /** The largest file accepted, all chunks together. */
              maxUploadMb: z.number().min(1).max(10240).default(1024),
              /** Zip archives: at most this many entries, and no entry inflating more than this ratio. */
              maxZipEntries: z.number().int().min(1).default(200),
              maxZipRatio: z.number().min(2).default(200),
              timeZone: z.string().default('Europe/Moscow'),
              /** The site's name in the "Сайт" requisite. */
              site: z.string().optional(),
              /**
               * Who writes the payment document (ОперацияПоПлатежнойКарте) of a site payment into this
               * base — one writer only: `onec`, 1C itself, from the exchange's «Заказ оплачен» (УТ) or
               * «Дата оплаты» / «Метод оплаты» / «Номер платежного документа» (УНФ); `gateway`, the
               * gateway over the organizations' `onec.transport`, and the exchange leaves those
               * requisites out. Default: `gateway` when an organization the base serves has a
               * transport, else `onec`. Checked at start (see checkExchangeBases).
               */
              paymentsWrittenBy: z.enum(['onec', 'gateway']).optional(),
            }),
          )
          .default([]),
      })
      .default({ dir: './data/exchange', bases: [] }),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.organizations.forEach((org, i) => {
      if (seen.has(org.id))
        ctx.addIssue({ code: 'custom', path: ['organizations', i, 'id'], message: `duplicate organization id "${org.id}"` });
      seen.add(org.id);
      if (org.fiscal.mode !== 'off' && !org.inn)
        ctx.addIssue({
          code: 'custom',
          path: ['organizations', i, 'inn'],
          message: 'receipts carry the organization’s ИНН: required when fiscal.mode is not off',
        });
      for (const [method, m] of Object.entries(org.payments)) {
        if (!m || !('provider' in m)) continue;
        const named: [string | number, string][] = [['provider', m.provider], ...m.alternatives.map((p, k) => [k, p] as [number, string])];
        for (const [key, provider] of named) {
          if (org.providers[provider as (typeof PROVIDERS)[number]]) continue;
          ctx.addIssue({
            code: 'custom',
            path: ['organizations', i, 'payments', method, ...(key === 'provider' ? ['provider'] : ['alternatives', key])],
            message: `provider "${provider}" has no settings under organizations[${i}].providers.${provider}`,
          });
        }
      }
    });
  })
  .superRefine(checkExchangeBases);

export type GatewayConfig = z.infer<typeof configSchema>;
