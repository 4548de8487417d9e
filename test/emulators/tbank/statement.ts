import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import { toRubleString } from '../../../gateway/domain/money';
import {
  STATEMENT_LIMITS,
  type StatementOperation,
  type StatementPartyWire,
  type StatementResponse,
} from '../../../connectors/tbank/types';

/**
 * The T-Business account statement (`GET /openapi/api/v1/statement`) as the emulator keeps it: the
 * operations of each account, oldest first, served with the method's rules: a Bearer token with
 * access to the account (401 unknown token, 403 a token of another client), `accountNumber` of 20
 * digits (400) and known (404), `from` an ISO 8601 date-time (400; `to` optional, now by default, inclusive),
 * `limit` up to 5000, `operationStatus` Transaction | Authorization | All, paging by `nextCursor`,
 * 20 requests per second per token (429). Amounts in rubles, instants in UTC; `docDate` is the
 * Moscow day as its start in UTC, as the bank writes it.
 *
 * Not confirmed from published material, chosen: the error codes' names, 404 for an unknown
 * account, the default `limit` (1000), `to` optional and inclusive, the cursor's format (opaque here).
 */

export interface StatementAccount {
  accountNumber: string;
  /** The T-Business token that may read the account. */
  token: string;
  holder: { name: string; inn: string; kpp?: string };
  bank?: { bic: string; name: string; corAcct: string };
}

export interface StatementEntry {
  accountNumber: string;
  op: StatementOperation;
  /** operationDate in ms, and the order operations were added in (ties). */
  at: number;
  seq: number;
  /** When it shows up in answers. */
  visibleAt: number;
}

/** What a test or the sandbox adds: money in (Credit) or out (Debit) of an account. */
export interface NewOperation {
  accountNumber?: string;
  type?: 'Credit' | 'Debit';
  /** Kopecks. */
  amount: number;
  purpose: string;
  /** The other side: the payer of a credit, the receiver of a debit. */
  counterparty?: { name?: string; inn?: string; kpp?: string; account?: string; bic?: string; bankName?: string; corAcct?: string };
  documentNumber?: string;
  /** When the money moved (default now). */
  at?: number;
  /** The payment order's date (default the day of `at`, Moscow). */
  docDay?: string;
  /** Field 22 «Код». */
  uin?: string;
  status?: 'Transaction' | 'Authorization';
  /** Shows up in answers this much later (default the knob). */
  delayMs?: number;
}

export interface StatementRequest {
  accountNumber: string;
  from: string;
  to: string;
  cursor: string;
  limit: string;
  status: number;
  count: number;
}

export interface StatementKnobs {
  /** 503 for every statement request. */
  statementDown: boolean;
  /** The next N statement requests answer 500. */
  statementFailNext: number;
  /** Operations show up this long after they are added. */
  statementDelayMs: number;
  /** Requests per second per token before 429. */
  statementRequestsPerSecond: number;
}

export const DEFAULT_STATEMENT_KNOBS: StatementKnobs = {
  statementDown: false,
  statementFailNext: 0,
  statementDelayMs: 0,
  statementRequestsPerSecond: STATEMENT_LIMITS.requestsPerSecond,
};

const T_BANK = { bic: '044525974', name: 'АО «ТБанк»', corAcct: '30101810145250000974' };
const DEFAULT_LIMIT = 1000;

export class Statement {
  readonly accounts: StatementAccount[] = [];
  readonly entries: StatementEntry[] = [];
  readonly requests: StatementRequest[] = [];
  private readonly recent = new Map<string, number[]>();
  private seq = 0;

  constructor(
    accounts: StatementAccount[],
    private readonly knobs: () => StatementKnobs,
    private readonly otherTokens: () => string[],
  ) {
    for (const a of accounts) this.open(a);
  }

  /** Forgets the requests counted against the rate limit. */
  resetRate(): void {
    this.recent.clear();
  }

  open(account: StatementAccount): void {
    if (!/^\d{20}$/.test(account.accountNumber)) throw new Error(`account ${account.accountNumber}: 20 digits`);
    this.accounts.push(account);
  }

  /** Adds an operation to an account's statement (the first account by default). */
  add(n: NewOperation): StatementOperation {
    const account = n.accountNumber ? this.accounts.find((a) => a.accountNumber === n.accountNumber) : this.accounts[0];
    if (!account) throw new Error(`no account ${n.accountNumber ?? '(none opened)'}`);
    if (!Number.isSafeInteger(n.amount) || n.amount <= 0) throw new Error('amount: positive kopecks');
    const at = n.at ?? Date.now();
    const type = n.type ?? 'Credit';
    const bank = account.bank ?? T_BANK;
    const own: StatementPartyWire = {
      acct: account.accountNumber,
      inn: account.holder.inn,
      kpp: account.holder.kpp ?? '0',
      name: account.holder.name,
      bicRu: bank.bic,
      bankName: bank.name,
      corAcct: bank.corAcct,
    };
    const c = n.counterparty ?? {};
    const other: StatementPartyWire = {
      ...(c.account ? { acct: c.account } : {}),
      ...(c.inn ? { inn: c.inn } : {}),
      kpp: c.kpp ?? '0',
      name: c.name ?? '',
      ...(c.bic ? { bicRu: c.bic } : {}),
      ...(c.bankName ? { bankName: c.bankName } : {}),
      ...(c.corAcct ? { corAcct: c.corAcct } : {}),
    };
    const rubles = Number(toRubleString(n.amount));
    const when = utc(at);
    const docDay = n.docDay ?? moscowDay(at);
    const op: StatementOperation = {
      operationId: randomUUID(),
      operationDate: when,
      operationStatus: n.status ?? 'Transaction',
      accountNumber: account.accountNumber,
      bic: bank.bic,
      typeOfOperation: type,
      category: type === 'Credit' ? 'income' : 'contragentPeople',
      trxnPostDate: when,
      authorizationDate: when,
      drawDate: when,
      chargeDate: when,
      docDate: new Date(Date.parse(`${docDay}T00:00:00+03:00`)).toISOString().replace('.000Z', 'Z'),
      documentNumber: n.documentNumber ?? String(100 + ++this.seq),
      payVo: 'payment-order',
      vo: '01',
      priority: 5,
      operationAmount: rubles,
      operationCurrencyDigitalCode: '643',
      accountAmount: rubles,
      accountCurrencyDigitalCode: '643',
      rubleAmount: rubles,
      description: type === 'Credit' ? `Поступление от ${other.name}` : `Перевод ${other.name}`,
      payPurpose: n.purpose,
      payer: type === 'Credit' ? other : own,
      receiver: type === 'Credit' ? own : other,
      counterParty: {
        account: other.acct,
        inn: other.inn,
        kpp: other.kpp,
        name: other.name,
        bankName: other.bankName,
        bankBic: other.bicRu,
        corrAccount: other.corAcct,
      },
      ...(n.uin ? { uin: n.uin } : {}),
    };
    this.entries.push({
      accountNumber: account.accountNumber,
      op,
      at,
      seq: ++this.seq,
      visibleAt: Date.now() + (n.delayMs ?? this.knobs().statementDelayMs),
    });
    return op;
  }

  /** GET /openapi/api/v1/statement */
  serve(ctx: Context): void {
    this.answer(ctx);
    const body = ctx.body as { operations?: unknown[] } | undefined;
    const q = (k: string) => String(ctx.query[k] ?? '');
    this.requests.push({
      accountNumber: q('accountNumber'),
      from: q('from'),
      to: q('to'),
      cursor: q('cursor'),
      limit: q('limit'),
      status: ctx.status,
      count: body?.operations?.length ?? 0,
    });
  }

  private answer(ctx: Context): void {
    ctx.type = 'application/json';
    const knobs = this.knobs();
    if (knobs.statementDown) return fail(ctx, 503, 'SERVICE_UNAVAILABLE', 'Сервис временно недоступен');
    const token = /^Bearer\s+(.+)$/i.exec(String(ctx.get('authorization')))?.[1]?.trim();
    const known = token && (this.accounts.some((a) => a.token === token) || this.otherTokens().includes(token));
    if (!token || !known) return fail(ctx, 401, 'UNAUTHORIZED', 'Ошибка аутентификации');
    const now = Date.now();
    const recent = (this.recent.get(token) ?? []).filter((t) => now - t < 1000);
    if (recent.length >= knobs.statementRequestsPerSecond) {
      this.recent.set(token, recent);
      ctx.set('Retry-After', '1');
      return fail(ctx, 429, 'TOO_MANY_REQUESTS', 'Превышено количество запросов');
    }
    recent.push(now);
    this.recent.set(token, recent);
    if (knobs.statementFailNext > 0) {
      knobs.statementFailNext--;
      return fail(ctx, 500, 'INTERNAL_ERROR', 'Внутренняя ошибка');
    }
    const q = (k: string) => (typeof ctx.query[k] === 'string' ? (ctx.query[k] as string) : undefined);
    const accountNumber = q('accountNumber');
    if (!accountNumber || !/^\d{20}$/.test(accountNumber))
      return fail(ctx, 400, 'VALIDATION_ERROR', 'Параметр accountNumber обязателен: 20 цифр');
    const account = this.accounts.find((a) => a.accountNumber === accountNumber);
    if (!account) return fail(ctx, 404, 'ACCOUNT_NOT_FOUND', 'Счёт не найден');
    if (account.token !== token) return fail(ctx, 403, 'FORBIDDEN', 'Нет доступа к счёту');
    const from = dateTime(q('from'));
    if (from === null)
      return fail(ctx, 400, 'VALIDATION_ERROR', 'Параметр from обязателен, формат — date-time (ISO 8601) с часовым поясом');
    const to = q('to') === undefined ? now : dateTime(q('to'));
    if (to === null) return fail(ctx, 400, 'VALIDATION_ERROR', 'Параметр to: формат — date-time (ISO 8601) с часовым поясом');
    if (to < from) return fail(ctx, 400, 'VALIDATION_ERROR', 'Параметр to раньше from');
    const limitText = q('limit');
    if (limitText !== undefined && (!/^\d+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > STATEMENT_LIMITS.maxLimit))
      return fail(ctx, 400, 'VALIDATION_ERROR', `Параметр limit — от 1 до ${STATEMENT_LIMITS.maxLimit}`);
    const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
    const status = q('operationStatus') ?? 'All';
    if (!['Transaction', 'Authorization', 'All'].includes(status))
      return fail(ctx, 400, 'VALIDATION_ERROR', 'Параметр operationStatus: Transaction, Authorization или All');
    let after: { at: number; seq: number } | null = null;
    const cursor = q('cursor');
    if (cursor !== undefined) {
      after = readCursor(cursor);
      if (!after) return fail(ctx, 400, 'VALIDATION_ERROR', 'Некорректный cursor');
    }
    const list = this.entries
      .filter(
        (e) =>
          e.accountNumber === accountNumber &&
          e.visibleAt <= now &&
          e.at >= from &&
          e.at <= to &&
          (status === 'All' || e.op.operationStatus === status) &&
          (!after || e.at > after.at || (e.at === after.at && e.seq > after.seq)),
      )
      .sort((a, b) => a.at - b.at || a.seq - b.seq);
    const page = list.slice(0, limit);
    const last = page[page.length - 1];
    const body: StatementResponse = { operations: page.map((e) => e.op) };
    if (list.length > limit && last) body.nextCursor = Buffer.from(JSON.stringify({ at: last.at, seq: last.seq })).toString('base64url');
    if (q('withBalances') === 'true' && cursor === undefined) body.balances = this.balances(accountNumber, from, to);
    ctx.body = body;
  }

  private balances(accountNumber: string, from: number, to: number): { balanceBegin: number; balanceEnd: number } {
    let begin = 0;
    let end = 0;
    for (const e of this.entries) {
      if (e.accountNumber !== accountNumber || e.op.operationStatus !== 'Transaction') continue;
      const k = Math.round(e.op.accountAmount * 100) * (e.op.typeOfOperation === 'Credit' ? 1 : -1);
      if (e.at < from) begin += k;
      if (e.at <= to) end += k;
    }
    return { balanceBegin: begin / 100, balanceEnd: end / 100 };
  }
}

function fail(ctx: Context, status: number, errorCode: string, errorMessage: string): void {
  ctx.status = status;
  ctx.body = { errorId: randomUUID(), errorCode, errorMessage };
}

/** An ISO 8601 date-time with its zone (Z or an offset); null otherwise. */
function dateTime(s: string | undefined): number | null {
  if (!s || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/.test(s)) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

function readCursor(s: string): { at: number; seq: number } | null {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString()) as { at?: unknown; seq?: unknown };
    return typeof c.at === 'number' && typeof c.seq === 'number' ? { at: c.at, seq: c.seq } : null;
  } catch {
    return null;
  }
}

/** UTC without milliseconds, as the statement writes instants. */
function utc(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function moscowDay(ms: number): string {
  return new Date(ms + 3 * 3_600_000).toISOString().slice(0, 10);
}
