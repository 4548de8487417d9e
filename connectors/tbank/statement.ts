import { setTimeout as sleep } from 'node:timers/promises';
import type { Kopecks } from '../../gateway/domain/money';
import { ExternalError, type StatementBatch, type StatementLine, type StatementParty, type StatementSource } from '../../gateway/ports';
import { HttpTransport } from '../shared/http';
import { STATEMENT_LIMITS, type OpenApiError, type StatementOperation, type StatementPartyWire } from './types';

export interface TbankStatementSourceConfig {
  /** The T-Business OpenAPI base, e.g. https://business.tbank.ru/openapi/ */
  baseUrl: string;
  token: string;
  accountNumber: string;
  timeoutMs: number;
  overlapHours: number;
  lookbackDays: number;
  pageSize: number;
  /** How long to wait after a 429 without Retry-After (grows with each one), and how many times. */
  rateLimitBackoffMs?: number;
  rateLimitRetries?: number;
  /** Pages per read at most: a loop of cursors the bank never ends is an error, not a hang. */
  maxPages?: number;
  now?: () => number;
}

const SYSTEM = 'tbank';

/**
 * The account's statement from the T-Business OpenAPI as a statement source: the posted incoming
 * operations (Credit) since the cursor, every page of them (`nextCursor` followed to the end). The
 * cursor is a time watermark: the newest operation time seen; the next read starts `overlapHours`
 * before it, since the bank lists some operations later than their date, and the store keeps a
 * line once. Amounts come in rubles and leave in kopecks; dates come in UTC and leave as the Moscow
 * calendar day the bank's documents are dated by.
 */
export class TbankStatementSource implements StatementSource {
  readonly name = 'tbank-statement';
  private readonly http: HttpTransport;
  private readonly base: string;
  private readonly requests: number[] = [];

  constructor(private readonly cfg: TbankStatementSourceConfig) {
    this.base = cfg.baseUrl.endsWith('/') ? cfg.baseUrl : `${cfg.baseUrl}/`;
    this.http = new HttpTransport(this.base, { timeoutMs: cfg.timeoutMs, connections: 2 });
  }

  async incomingSince(cursor: string | null): Promise<StatementBatch> {
    const now = this.cfg.now?.() ?? Date.now();
    const mark = cursor ? Date.parse(cursor) : NaN;
    const from = Number.isNaN(mark) ? now - this.cfg.lookbackDays * 86_400_000 : mark - this.cfg.overlapHours * 3_600_000;
    const to = now;
    const lines: StatementLine[] = [];
    let newest = Number.isNaN(mark) ? null : mark;
    let page: string | null = null;
    const maxPages = this.cfg.maxPages ?? 1000;
    for (let n = 0; ; n++) {
      if (n >= maxPages)
        throw new ExternalError(SYSTEM, `statement: more than ${maxPages} pages between ${iso(from)} and ${iso(to)}`, {
          retryable: false,
          code: 'statement_paging',
        });
      const body = await this.page(from, to, page);
      for (const op of body.operations) {
        const at = Date.parse(op.operationDate);
        if (newest === null || at > newest) newest = at;
        const line = toStatementLine(op, this.cfg.accountNumber);
        if (line) lines.push(line);
      }
      const next = typeof body.nextCursor === 'string' && body.nextCursor ? body.nextCursor : null;
      if (!next) break;
      if (next === page)
        throw new ExternalError(SYSTEM, 'statement: the bank gave the same nextCursor twice', {
          retryable: true,
          code: 'statement_paging',
        });
      page = next;
    }
    return { lines, cursor: newest === null ? null : iso(newest) };
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** One page; 429 waits (Retry-After, else a growing pause) and asks again a few times. */
  private async page(
    from: number,
    to: number,
    cursor: string | null,
  ): Promise<{ operations: StatementOperation[]; nextCursor?: string | null }> {
    const url = new URL('api/v1/statement', this.base);
    url.searchParams.set('accountNumber', this.cfg.accountNumber);
    url.searchParams.set('from', iso(from));
    url.searchParams.set('to', iso(to));
    url.searchParams.set('operationStatus', 'Transaction');
    url.searchParams.set('limit', String(Math.min(this.cfg.pageSize, STATEMENT_LIMITS.maxLimit)));
    if (cursor) url.searchParams.set('cursor', cursor);
    const retries = this.cfg.rateLimitRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      await this.keepToRate();
      const { status, text, retryAfterMs } = await this.get(url);
      if (status === 429) {
        if (attempt >= retries)
          throw new ExternalError(SYSTEM, `statement: HTTP 429 ${retries + 1} times in a row`, {
            retryable: true,
            code: 'http_429',
            retryAfterMs,
          });
        await sleep(Math.max(retryAfterMs ?? 0, (this.cfg.rateLimitBackoffMs ?? 1000) * (attempt + 1)));
        continue;
      }
      if (status === 401)
        throw new ExternalError(
          SYSTEM,
          `Т-Банк не принял токен T-Business (HTTP 401${errorText(text)}): токен неверен, истёк или отозван. ` +
            'Выпустите новый токен в Т-Бизнесе (Интеграции → T-API) с доступом «Счета и выписки» и замените payments.invoice.statementApi.token',
          { retryable: false, code: 'http_401' },
        );
      if (status === 403)
        throw new ExternalError(
          SYSTEM,
          `Т-Банк отказал в доступе к выписке счёта ${this.cfg.accountNumber} (HTTP 403${errorText(text)}): ` +
            'у токена нет доступа «Счета и выписки» к этому счёту или запрос пришёл не с разрешённого IP. Проверьте права токена в Т-Бизнесе',
          { retryable: false, code: 'http_403' },
        );
      if (status === 404)
        throw new ExternalError(
          SYSTEM,
          `Т-Банк не знает счёт ${this.cfg.accountNumber} (HTTP 404${errorText(text)}): проверьте payments.invoice.statementApi.accountNumber`,
          { retryable: false, code: 'http_404' },
        );
      if (status >= 500)
        throw new ExternalError(SYSTEM, `statement: HTTP ${status}`, { retryable: true, code: `http_${status}`, retryAfterMs });
      if (status < 200 || status >= 300)
        throw new ExternalError(SYSTEM, `statement: HTTP ${status}${errorText(text)}`, { retryable: false, code: `http_${status}` });
      return readPage(text);
    }
  }

  /** At most the documented requests per second from this process (the bank counts per token). */
  private async keepToRate(): Promise<void> {
    for (;;) {
      const now = Date.now();
      while (this.requests.length && now - this.requests[0] >= 1000) this.requests.shift();
      if (this.requests.length < STATEMENT_LIMITS.requestsPerSecond) {
        this.requests.push(now);
        return;
      }
      await sleep(1000 - (now - this.requests[0]) + 5);
    }
  }

  private async get(url: URL) {
    try {
      return await this.http.request({
        method: 'GET',
        path: url.toString(),
        headers: { authorization: `Bearer ${this.cfg.token}`, accept: 'application/json' },
      });
    } catch (e) {
      throw new ExternalError(SYSTEM, `statement: ${(e as Error).message}`, { retryable: true, cause: e });
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function errorText(text: string): string {
  try {
    const e = JSON.parse(text) as OpenApiError;
    const s = [e.errorCode, e.errorMessage].filter(Boolean).join(': ').slice(0, 200);
    return s ? `, ${s}${e.errorId ? `, errorId ${e.errorId}` : ''}` : '';
  } catch {
    return '';
  }
}

function formatError(message: string): ExternalError {
  return new ExternalError(SYSTEM, `statement: ${message}`, { retryable: false, code: 'statement_format' });
}

function readPage(text: string): { operations: StatementOperation[]; nextCursor?: string | null } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ExternalError(SYSTEM, `statement: the answer is not JSON (${text.slice(0, 60).replace(/\s+/g, ' ')}...)`, {
      retryable: true,
    });
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw formatError('the answer is not an object');
  const { operations, nextCursor } = body as { operations?: unknown; nextCursor?: unknown };
  if (!Array.isArray(operations)) throw formatError('`operations` is not a list');
  for (const op of operations) {
    if (!op || typeof op !== 'object' || Array.isArray(op)) throw formatError('an operation is not an object');
    const o = op as Partial<StatementOperation>;
    if (typeof o.operationId !== 'string' || !o.operationId) throw formatError('an operation without operationId');
    if (typeof o.operationDate !== 'string' || Number.isNaN(Date.parse(o.operationDate)))
      throw formatError(`operation ${o.operationId}: operationDate is not a date`);
  }
  if (nextCursor !== undefined && nextCursor !== null && typeof nextCursor !== 'string') throw formatError('`nextCursor` is not a string');
  return { operations: operations as StatementOperation[], nextCursor: nextCursor as string | null | undefined };
}

/** Rubles as the API writes them (a number or a string, at most two decimals) in kopecks; null when it is not such an amount. */
export function rublesToKopecks(v: unknown): Kopecks | null {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : typeof v === 'string' ? v.trim() : '';
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) return null;
  const k = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return Number.isSafeInteger(k) ? k : null;
}

/** An instant (ISO 8601) as the Moscow calendar day, yyyy-mm-dd: the day Russian bank documents are dated by. */
export function moscowDay(instant: string): string | null {
  const t = Date.parse(instant);
  if (Number.isNaN(t)) return null;
  return new Date(t + 3 * 3_600_000).toISOString().slice(0, 10);
}

const KINDS: Record<string, string> = {
  '01': 'Платежное поручение',
  '02': 'Платежное требование',
  '06': 'Инкассовое поручение',
  '16': 'Платежный ордер',
  '17': 'Банковский ордер',
};

function str(v: unknown): string | null {
  if (typeof v === 'string' && v.trim()) return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function party(p: StatementPartyWire | undefined): StatementParty {
  const kpp = str(p?.kpp);
  return {
    name: str(p?.name) ?? '',
    inn: str(p?.inn),
    kpp: kpp && /^\d{9}$/.test(kpp) ? kpp : null,
    account: str(p?.acct),
    bankBik: str(p?.bicRu),
    bankName: str(p?.bankName),
  };
}

/**
 * One operation of the statement as a canonical incoming line; null for what is not money in on
 * the account: a debit, a hold not posted yet. An operation that is a credit but cannot be read
 * (its amount, its date) is an error: a format that drifted needs a person, not a missing payment.
 */
export function toStatementLine(op: StatementOperation, accountNumber: string): StatementLine | null {
  const type = String(op.typeOfOperation ?? '');
  if (type === 'Debit') return null;
  if (type !== 'Credit')
    throw formatError(`operation ${op.operationId}: typeOfOperation «${type.slice(0, 20)}» is neither Credit nor Debit`);
  if (op.operationStatus !== undefined && op.operationStatus !== 'Transaction') return null;
  const currency = op.accountCurrencyDigitalCode ?? '643';
  const amount = rublesToKopecks(currency === '643' ? op.accountAmount : op.rubleAmount);
  if (amount === null || amount <= 0)
    throw formatError(`operation ${op.operationId}: the amount (${String(op.accountAmount).slice(0, 20)}) cannot be read`);
  const bankDate = moscowDay(op.chargeDate ?? op.operationDate);
  const date = (op.docDate && moscowDay(op.docDate)) ?? bankDate;
  if (!date) throw formatError(`operation ${op.operationId}: no date`);
  const receiver = party(op.receiver);
  const uip = str(op.uin);
  return {
    account: accountNumber,
    direction: 'incoming',
    kind: KINDS[str(op.vo) ?? ''] ?? 'Платежное поручение',
    number: str(op.documentNumber) ?? op.operationId,
    date,
    amount,
    bankDate,
    payer: party(op.payer),
    receiver: { ...receiver, account: receiver.account ?? accountNumber },
    purpose: str(op.payPurpose) ?? str((op as { paymentPurpose?: unknown }).paymentPurpose) ?? str(op.description) ?? '',
    uip: uip && uip !== '0' ? uip : null,
  };
}
