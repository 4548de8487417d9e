import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import { REGISTRY_LIMITS, type OperationsResponse, type RegistryOperation } from '../../../connectors/tbank/types';

/**
 * The T-Business OpenAPI registry of acquiring operations, as the emulator keeps it: one entry per
 * movement of money (a payment taken, each refund on its own), visible only some time after it
 * happened (the real one is up to two hours late), and served with the API's limits: Bearer token,
 * a period of a day at most, 1000 operations at most (more is an error), 1 request per second.
 */

export interface RegistryEntry {
  terminalKey: string;
  op: RegistryOperation;
  /** When the money moved. */
  at: number;
  /** When the entry shows up in answers. */
  visibleAt: number;
}

export interface RegistryAccess {
  /** The terminal's T-Business token, if it has one. */
  tokenOf(terminalKey: string): string | undefined;
  /** Is this token any terminal's (a valid token without access to this one gets 403)? */
  knownToken(token: string): boolean;
  rateLimitMs(): number;
  down(): boolean;
}

/** One request to the registry, as it was answered. */
export interface RegistryRequest {
  from: string;
  till: string;
  limit: string;
  status: number;
  /** Operations in the answer. */
  count: number;
  /** When it arrived (epoch ms). */
  at: number;
}

export class Registry {
  readonly entries: RegistryEntry[] = [];
  readonly requests: RegistryRequest[] = [];
  private lastRequestAt = new Map<string, number>();
  private seq = 0;

  constructor(private readonly access: RegistryAccess) {}

  add(
    terminalKey: string,
    op: Omit<RegistryOperation, 'id' | 'rrn' | 'currency' | 'transactionDate'> & { rrn?: string | null },
    at: number,
    delayMs: number,
  ): RegistryOperation {
    const full: RegistryOperation = {
      ...op,
      id: `${Date.now().toString(36)}${(++this.seq).toString(36).padStart(6, '0')}`,
      rrn: op.rrn === undefined ? rrn() : op.rrn,
      currency: 'RUB',
      transactionDate: moscowTime(at),
    };
    this.entries.push({ terminalKey, op: full, at, visibleAt: Date.now() + delayMs });
    return full;
  }

  /** GET /openapi/api/v1/tacq/operations/terminal/:terminalKey */
  serve(ctx: Context, terminalKey: string): void {
    const at = Date.now();
    this.answer(ctx, terminalKey);
    const body = ctx.body as { operations?: unknown[] } | undefined;
    this.requests.push({
      from: String(ctx.query.from ?? ''),
      till: String(ctx.query.till ?? ''),
      limit: String(ctx.query.limit ?? ''),
      status: ctx.status,
      count: body?.operations?.length ?? 0,
      at,
    });
  }

  private answer(ctx: Context, terminalKey: string): void {
    ctx.type = 'application/json';
    if (this.access.down()) return fail(ctx, 503, 'SERVICE_UNAVAILABLE', 'Сервис временно недоступен');
    const auth = /^Bearer\s+(.+)$/i.exec(String(ctx.get('authorization')))?.[1]?.trim();
    const own = this.access.tokenOf(terminalKey);
    if (!auth || (!this.access.knownToken(auth) && auth !== own)) return fail(ctx, 401, 'UNAUTHORIZED', 'Ошибка аутентификации');
    if (auth !== own) return fail(ctx, 403, 'FORBIDDEN', 'Нет доступа к терминалу');
    const now = Date.now();
    const last = this.lastRequestAt.get(auth) ?? 0;
    // whether the real API sends Retry-After is not documented: none here, the client backs off by itself
    if (now - last < this.access.rateLimitMs()) {
      return fail(ctx, 429, 'TOO_MANY_REQUESTS', 'Слишком много запросов');
    }
    this.lastRequestAt.set(auth, now);
    const from = Date.parse(String(ctx.query.from ?? ''));
    const till = Date.parse(String(ctx.query.till ?? ''));
    const limitText = String(ctx.query.limit ?? '');
    if (Number.isNaN(from) || Number.isNaN(till))
      return fail(ctx, 400, 'VALIDATION_ERROR', 'Параметры from и till обязательны, формат — date-time UTC');
    if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > REGISTRY_LIMITS.maxOperations) {
      return fail(ctx, 400, 'VALIDATION_ERROR', `Параметр limit обязателен и не может быть больше ${REGISTRY_LIMITS.maxOperations}`);
    }
    if (till <= from || till - from > REGISTRY_LIMITS.maxPeriodMs)
      return fail(ctx, 400, 'VALIDATION_ERROR', 'Период запроса не может превышать одни сутки');
    const visible = this.entries.filter((e) => e.terminalKey === terminalKey && e.visibleAt <= now);
    const inPeriod = visible.filter((e) => e.at >= from && e.at < till).sort((a, b) => a.at - b.at);
    if (inPeriod.length > REGISTRY_LIMITS.maxOperations) {
      return fail(ctx, 422, 'TOO_MANY_OPERATIONS', `За период больше ${REGISTRY_LIMITS.maxOperations} операций, уменьшите период`);
    }
    const newest = visible.reduce<number | null>((m, e) => (m === null || e.at > m ? e.at : m), null);
    const body: OperationsResponse = {
      operations: inPeriod.slice(0, Number(limitText)).map((e) => e.op),
      lastTransactionDate: newest === null ? null : moscowTime(newest),
    };
    ctx.body = body;
  }
}

function fail(ctx: Context, status: number, errorCode: string, errorMessage: string): void {
  ctx.status = status;
  ctx.body = { errorId: randomUUID(), errorCode, errorMessage };
}

/** ISO 8601 in Moscow time with its offset, as T-Business writes dates. */
export function moscowTime(ms: number): string {
  return `${new Date(ms + 3 * 3_600_000).toISOString().slice(0, 19)}+03:00`;
}

function rrn(): string {
  return String(Math.floor(Math.random() * 1e12)).padStart(12, '0');
}
