import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseConfig, type GatewayConfig } from '../../gateway/config';
import type { OneCEmulator } from '../emulators/onec/server';
import type { Configuration } from '../emulators/onec/metadata';

export const SANDBOX = {
  siteKey: 'sandbox-site-key',
  adminKey: 'sandbox-admin-key',
  /** What the gateway signs the sandbox site's webhooks with. */
  siteWebhookSecret: 'sandbox-site-webhook-secret',
  onecUser: '1c',
  onecPassword: '1c',
  organization: 'main',
  /** What 1C sends to the gateway's HTTP service (Bearer, or Basic with it as the password). */
  onecKey: 'sandbox-1c-key-0123',
  sber: { userName: 'sandbox-api', password: 'sandbox-password', callbackSecret: 'sandbox-callback-secret' },
  tbank: { terminalKey: 'SandboxTerminalDEMO', password: 'sandbox-tbank-password', businessToken: 'sandbox-t-business-token' },
  atol: { login: 'sandbox-atol', password: 'sandbox-atol-password', groupCode: 'sandbox-group' },
  /** The organization's account at the emulated T-Bank: invoices ask to pay into it, its statement is read from the T-Business API. */
  bank: {
    name: 'АО «ТБанк»',
    city: 'г. Москва',
    bic: '044525974',
    account: '40702810610000012345',
    correspondentAccount: '30101810145250000974',
  },
} as const;

/** The emulated T-Bank's account of the sandbox organization, with the token that reads its statement. */
export const SANDBOX_ACCOUNT = {
  accountNumber: SANDBOX.bank.account,
  token: SANDBOX.tbank.businessToken,
  holder: { name: 'ООО «Ромашка»', inn: '7707083893', kpp: '773601001' },
  bank: { bic: SANDBOX.bank.bic, name: SANDBOX.bank.name, corAcct: SANDBOX.bank.correspondentAccount },
};

export interface SandboxConfigInput {
  port: number;
  databaseUrl: string;
  /** Where uploaded CommerceML files wait (default: next to an SQLite file, else a temp folder). */
  exchangeDir?: string;
  sberRestUrl: string;
  /** The emulated T-Bank: its /v2/ base and the T-Business registry base. */
  tbank?: { apiUrl: string; operationsUrl: string };
  /** B2B invoices into the sandbox account, its statement read from the emulated T-Business API every `everySeconds`. */
  invoices?: { statementUrl: string; everySeconds: number };
  redisUrl?: string;
  siteWebhook?: { url: string; secret: string };
  /** Receipts: the emulated ATOL Online (and the emulated driver's web server, as point of sale `shop`). */
  fiscal?: { atolUrl: string; driverUrl?: string };
  overrides?: (raw: Record<string, any>) => void;
}

/** organizations[].fiscal of the sandbox: translator mode, ATOL Online for the site, the local register for the shop. */
export function fiscalOrgConfig(f: NonNullable<SandboxConfigInput['fiscal']>): Record<string, unknown> {
  return {
    mode: 'translator',
    email: 'shop@romashka.example',
    paymentAddress: 'https://shop.romashka.example',
    registers: [
      { id: 'web', type: 'atol-online', baseUrl: f.atolUrl, ...SANDBOX.atol, timeoutMs: 5000, reportAfterSeconds: 5, pollEverySeconds: 1 },
      ...(f.driverUrl
        ? [
            {
              id: 'shop',
              type: 'atol-driver',
              url: f.driverUrl,
              timeoutMs: 5000,
              operator: { name: 'Кассир Петрова' },
              statusEverySeconds: 30,
            },
          ]
        : []),
    ],
    routes: f.driverUrl ? [{ pointOfSale: 'shop', register: 'shop' }] : [],
    pollEverySeconds: 0.5,
    shipmentsEverySeconds: 10,
  };
}

/** organizations[].payments.invoice of the sandbox: the T-Bank account, read through the emulated statement API. */
export function invoiceOrgConfig(i: NonNullable<SandboxConfigInput['invoices']>): Record<string, unknown> {
  return {
    bank: SANDBOX.bank,
    prefix: 'СЧ-',
    address: '125009, г. Москва, ул. Тверская, д. 1',
    signatures: { head: 'Иванов И. И.', headTitle: 'Генеральный директор', accountant: 'Петрова А. С.' },
    statementApi: {
      type: 'tbank',
      baseUrl: i.statementUrl,
      token: SANDBOX.tbank.businessToken,
      accountNumber: SANDBOX.bank.account,
      everySeconds: i.everySeconds,
      timeoutMs: 5000,
    },
  };
}

/** The configuration of the sandbox (and of most tests): one organization `main` wired to the emulators. */
export function sandboxConfig(input: SandboxConfigInput): GatewayConfig {
  const raw: Record<string, any> = {
    server: { host: '127.0.0.1', port: input.port, publicUrl: `http://127.0.0.1:${input.port}` },
    database: { url: input.databaseUrl },
    ...(input.redisUrl ? { redis: { url: input.redisUrl } } : {}),
    admin: { keys: [SANDBOX.adminKey] },
    jobs: { concurrency: 8, maxAttempts: 8, backoffBaseMs: 500, backoffMaxMs: 30_000, leaseMs: 10_000, pollIntervalMs: 200 },
    // no load balancer in front of the sandbox: nothing to wait for when it stops
    shutdown: { drainDelayMs: 0, deadlineMs: 10_000 },
    janitor: { everySeconds: 2, pollPendingAfterSeconds: 5, expireAfterMinutes: 60 },
    log: { level: process.env.LOG_LEVEL ?? 'info' },
    exchange: {
      dir:
        input.exchangeDir ??
        (input.databaseUrl.startsWith('sqlite:')
          ? `${dirname(input.databaseUrl.slice('sqlite:'.length))}/exchange`
          : join(tmpdir(), 'onec-gateway-exchange')),
      bases: [
        { id: 'ut', user: SANDBOX.onecUser, password: SANDBOX.onecPassword, version: '2.05', encoding: 'windows-1251', site: 'sandbox' },
      ],
    },
    organizations: [
      {
        id: SANDBOX.organization,
        name: 'ООО «Ромашка»',
        inn: '7707083893',
        kpp: '773601001',
        siteKeys: [SANDBOX.siteKey],
        ...(input.siteWebhook ? { siteWebhook: input.siteWebhook } : {}),
        payments: {
          ...(input.tbank
            ? { card: { provider: 'sber', alternatives: ['tbank'] }, sbp: { provider: 'sber', alternatives: ['tbank'] } }
            : { card: { provider: 'sber' }, sbp: { provider: 'sber' } }),
          ...(input.invoices ? { invoice: invoiceOrgConfig(input.invoices) } : {}),
        },
        ...(input.fiscal ? { fiscal: fiscalOrgConfig(input.fiscal) } : {}),
        providers: {
          sber: {
            baseUrl: input.sberRestUrl,
            userName: SANDBOX.sber.userName,
            password: SANDBOX.sber.password,
            callback: { mode: 'symmetric', secret: SANDBOX.sber.callbackSecret },
            timeoutMs: 5000,
          },
          ...(input.tbank
            ? {
                tbank: {
                  baseUrl: input.tbank.apiUrl,
                  terminalKey: SANDBOX.tbank.terminalKey,
                  password: SANDBOX.tbank.password,
                  timeoutMs: 5000,
                  operations: { baseUrl: input.tbank.operationsUrl, token: SANDBOX.tbank.businessToken },
                },
              }
            : {}),
        },
      },
    ],
  };
  input.overrides?.(raw);
  return parseConfig(raw, {});
}

export interface OneCSetup {
  configuration: Configuration;
  transport?: 'odata' | 'soap' | 'http';
  mapping?: string;
  pull?: boolean;
  pullEverySeconds?: number;
  concurrency?: number;
}

/** organizations[].onec for an emulated base: its credentials and the refs its catalogs were seeded with. */
export function onecOrgConfig(onec: OneCEmulator, o: OneCSetup): Record<string, unknown> {
  const { items: _items, partner: _partner, counterparty: _counterparty, ...refs } = onec.refs as unknown as Record<string, unknown>;
  const guids = Object.fromEntries(
    Object.entries(refs).filter(([, v]) => typeof v === 'string' && v !== '00000000-0000-0000-0000-000000000000'),
  );
  return {
    transport: o.transport ?? 'odata',
    baseUrl: onec.baseUrl,
    user: 'Администратор',
    password: 'secret',
    mapping: o.mapping ?? (o.configuration === 'unf' ? 'unf' : 'ut11'),
    refs: guids,
    concurrency: o.concurrency ?? 4,
    timeoutMs: 10_000,
    keys: [SANDBOX.onecKey],
    ...(o.pull ? { pull: { everySeconds: o.pullEverySeconds ?? 3600 } } : {}),
  };
}
