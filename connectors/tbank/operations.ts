import { setTimeout as sleep } from 'node:timers/promises';
import { ExternalError, type Limiter, type OperationWindow, type ProviderMethod, type ProviderOperation } from '../../gateway/ports';
import { HttpTransport } from '../shared/http';
import { REGISTRY_LIMITS, type OpenApiError } from './types';

export interface TbankOperationsConfig {
  /** The T-Business OpenAPI base, e.g. https://business.tbank.ru/openapi/ */
  baseUrl: string;
  token: string;
  terminalKey: string;
  timeoutMs: number;
  /** Spacing between requests (the API takes 1 request/s; a little more keeps clear of its clock). */
  minIntervalMs?: number;
  /** How long to wait after a 429 before asking again (grows with each one), and how many times. */
  rateLimitBackoffMs?: number;
  rateLimitRetries?: number;
  /** A slice is not halved below this: more than 1000 operations in it is a real problem. */
  minSliceMs?: number;
}

type Page = { kind: 'ok'; body: unknown } | { kind: 'too_many'; status: number; why: string };

/**
 * The registry of operations of one acquiring terminal (T-Business OpenAPI). The documented limits: a
 * period of at most a day, at most 1000 operations per request (more is an error), 1 request per
 * second, and operations may appear up to two hours late: whoever asks re-reads recent hours later.
 */
export class TbankOperations {
  private readonly base: string;
  private readonly http: HttpTransport;
  private nextAt = 0;
  private readonly interval: number;

  /** `shared`: the spacing every process keeps together (PostgreSQL); this one's own pacing holds anyway. */
  constructor(
    private readonly cfg: TbankOperationsConfig,
    private readonly shared?: Limiter,
  ) {
    this.base = cfg.baseUrl.endsWith('/') ? cfg.baseUrl : `${cfg.baseUrl}/`;
    this.http = new HttpTransport(this.base, { timeoutMs: cfg.timeoutMs, connections: 2 });
    this.interval = cfg.minIntervalMs ?? 1100;
  }

  /**
   * Every operation in [from, to): the window is cut into slices of a day at most; a slice that comes
   * back full (the limit count) or refused as too big is halved and asked again.
   */
  async *list(window: OperationWindow): AsyncGenerator<ProviderOperation> {
    const seen = new Set<string>();
    const minSlice = this.cfg.minSliceMs ?? 60_000;
    const pending: [number, number][] = [];
    for (let t = window.from.getTime(); t < window.to.getTime(); t += REGISTRY_LIMITS.maxPeriodMs) {
      pending.push([t, Math.min(t + REGISTRY_LIMITS.maxPeriodMs, window.to.getTime())]);
    }
    while (pending.length > 0) {
      const [from, till] = pending.shift()!;
      const page = await this.page(from, till, REGISTRY_LIMITS.maxOperations);
      const entries = page.kind === 'ok' ? readEntries(page.body) : null;
      if (page.kind === 'too_many' || (entries && entries.length >= REGISTRY_LIMITS.maxOperations)) {
        if (till - from <= minSlice) {
          const why =
            page.kind === 'too_many' ? `HTTP ${page.status} ${page.why}`.trim() : `${REGISTRY_LIMITS.maxOperations} operations or more`;
          throw new ExternalError('tbank', `registry: ${why} between ${iso(from)} and ${iso(till)}, even at the smallest slice`, {
            retryable: false,
            code: 'registry_overflow',
          });
        }
        const mid = from + Math.floor((till - from) / 2);
        pending.unshift([from, mid], [mid, till]);
        continue;
      }
      for (const e of entries ?? []) {
        const op = toOperation(e);
        if (!op) continue;
        const key = `${op.kind}:${op.refundId ?? op.providerRef}:${operationId(e) ?? op.occurredAt}`;
        if (seen.has(key)) continue;
        seen.add(key);
        yield op;
      }
    }
  }

  /** One request, kept to the rate limit; 429 waits and asks again a few times. */
  private async page(from: number, till: number, limit: number): Promise<Page> {
    const url = new URL(`api/v1/tacq/operations/terminal/${encodeURIComponent(this.cfg.terminalKey)}`, this.base);
    url.searchParams.set('from', iso(from));
    url.searchParams.set('till', iso(till));
    url.searchParams.set('limit', String(limit));
    const retries = this.cfg.rateLimitRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      const wait = this.nextAt - Date.now();
      if (wait > 0) await sleep(wait);
      this.nextAt = Date.now() + this.interval;
      const { status, text, retryAfterMs: retryAfter } = this.shared ? await this.shared.run(() => this.get(url)) : await this.get(url);
      if (status === 429) {
        if (attempt >= retries)
          throw new ExternalError('tbank', `registry: HTTP 429 ${retries + 1} times in a row`, { retryable: true, code: 'http_429' });
        const backoff = (this.cfg.rateLimitBackoffMs ?? 2000) * (attempt + 1);
        this.nextAt = Date.now() + Math.max(backoff, retryAfter ?? 0);
        continue;
      }
      if (status === 401 || status === 403) {
        throw new ExternalError(
          'tbank',
          `registry: HTTP ${status} ${errorText(text)}: the T-Business token is wrong, expired or lacks the tacq/operations scope`,
          { retryable: false, code: `http_${status}` },
        );
      }
      // the API refuses a period holding more than 1000 operations (and no other refusal is expected
      // of a well-formed request): halving the period is the way out
      if (status === 400 || status === 422) return { kind: 'too_many', status, why: errorText(text) };
      if (status >= 500) throw new ExternalError('tbank', `registry: HTTP ${status}`, { retryable: true, code: `http_${status}` });
      if (status < 200 || status >= 300)
        throw new ExternalError('tbank', `registry: HTTP ${status} ${errorText(text)}`, { retryable: false, code: `http_${status}` });
      try {
        return { kind: 'ok', body: JSON.parse(text) };
      } catch {
        throw new ExternalError('tbank', `registry: the answer is not JSON (${text.slice(0, 60).replace(/\s+/g, ' ')}...)`, {
          retryable: true,
        });
      }
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
      throw new ExternalError('tbank', `registry: ${(e as Error).message}`, { retryable: true, cause: e });
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function errorText(text: string): string {
  try {
    const e = JSON.parse(text) as OpenApiError;
    return [e.errorCode, e.errorMessage].filter(Boolean).join(': ').slice(0, 200);
  } catch {
    return '';
  }
}

type Entry = Record<string, unknown>;

function readEntries(body: unknown): Entry[] {
  const list = Array.isArray(body) ? body : body && typeof body === 'object' ? (body as { operations?: unknown }).operations : undefined;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list))
    throw new ExternalError('tbank', 'registry: `operations` is not a list', { retryable: false, code: 'registry_format' });
  return list.filter((e): e is Entry => !!e && typeof e === 'object' && !Array.isArray(e));
}

function text(v: unknown): string | null {
  if (typeof v === 'string' && v.trim()) return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function operationId(e: Entry): string | null {
  return text(e.id) ?? text(e.operationId);
}

const REFUND_TYPE = /^(credit|refund|return|reversal)/i;
const PAYMENT_TYPE = /^(debit|payment|purchase|sale|pay)/i;
const FAILED = /fail|reject|declin|error|cancel/i;

/**
 * One registry entry as a ProviderOperation; null for an entry that moved no money (a failed
 * attempt). An entry whose amount, payment or time cannot be read is an error: a registry whose
 * format drifted needs a person, not a silent gap.
 */
export function toOperation(e: Entry): ProviderOperation | null {
  if (e.success === false || (typeof e.status === 'string' && FAILED.test(e.status))) return null;
  const type = text(e.type) ?? text(e.operationType) ?? '';
  const kind = REFUND_TYPE.test(type) ? 'refund' : PAYMENT_TYPE.test(type) ? 'payment' : null;
  const providerRef = text(e.paymentId);
  const amount = typeof e.amount === 'string' && /^\d+$/.test(e.amount) ? Number(e.amount) : e.amount;
  const when = text(e.transactionDate) ?? text(e.operationDate) ?? text(e.date);
  const at = when ? Date.parse(when) : NaN;
  if (!kind || !providerRef || typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0 || Number.isNaN(at)) {
    throw new ExternalError(
      'tbank',
      `registry: an operation the connector cannot read (type ${type.slice(0, 20) || '?'}, paymentId ${providerRef ?? '?'})`,
      { retryable: false, code: 'registry_format' },
    );
  }
  const id = operationId(e);
  return {
    kind,
    providerRef,
    orderNumber: text(e.orderId),
    method: methodOf(e),
    amount,
    occurredAt: new Date(at).toISOString(),
    payerBank: text(e.payerBank) ?? text(e.bankName) ?? text(e.issuerBank),
    purpose: text(e.description) ?? text(e.purpose),
    ...(kind === 'refund' && id ? { refundId: id } : {}),
    raw: e,
  };
}

function methodOf(e: Entry): ProviderMethod | null {
  const m = (text(e.paymentMethod) ?? text(e.paymentType) ?? '').toUpperCase();
  if (m === 'SBP' || m === 'QR' || m === 'C2B') return 'sbp';
  if (m === 'CARD' || m === 'CARDS') return 'card';
  return text(e.cardNumber) ? 'card' : null;
}
