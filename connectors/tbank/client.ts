import { call, HttpTransport } from '../shared/http';
import { ExternalError } from '../../gateway/ports';
import { tbankToken } from './token';
import type { TbankResponse } from './types';

export interface TbankClientConfig {
  /** The `/v2/` base, e.g. https://securepay.tinkoff.ru/v2/ */
  baseUrl: string;
  terminalKey: string;
  password: string;
  timeoutMs: number;
}

/** What a request may carry: scalars are signed, objects (DATA, Receipt) are sent but not signed. */
export type TbankParams = Record<string, string | number | boolean | Record<string, unknown> | unknown[] | undefined>;

/**
 * ErrorCodes after which trying the same call later can help: T-Bank's internal and system errors
 * (3, 21, 401, 9999), "try again later" (55, 402, 9001) and, for refunds, the merchant account short
 * of money (3002) or СБП's limits on refund attempts per hour and day (3029, 3030). Everything else is
 * a wrong token or terminal (204, 205, 202), invalid parameters (2xx, 3xx) or a wrong payment state
 * (4, 8): the same request fails the same way.
 */
const RETRYABLE_CODES = new Set(['3', '21', '55', '401', '402', '9001', '9999', '3002', '3029', '3030']);

/** `Success: false` (or a non-zero ErrorCode) from a `/v2/` method. */
export class TbankApiError extends ExternalError {
  readonly errorCode: string;
  readonly method: string;
  readonly details: string;
  constructor(method: string, r: TbankResponse) {
    const errorCode = String(r.ErrorCode ?? '');
    const message = String(r.Message ?? '').slice(0, 200);
    const details = String(r.Details ?? '').slice(0, 300);
    // older terminals answered a wrong token with 9999 "Неверные параметры.": not worth retrying
    const invalid = /неверные параметры|токен|token/i.test(`${message} ${details}`);
    super('tbank', `${method}: ErrorCode ${errorCode || '?'}: ${message}${details && details !== message ? ` (${details})` : ''}`, {
      retryable: RETRYABLE_CODES.has(errorCode) && !invalid,
      code: errorCode || undefined,
    });
    this.name = 'TbankApiError';
    this.errorCode = errorCode;
    this.method = method;
    this.details = details;
  }
}

export function isOk(r: TbankResponse): boolean {
  return r.Success === true && (r.ErrorCode === undefined || String(r.ErrorCode) === '0');
}

/** The `/v2/` API: JSON POSTs, TerminalKey and Token added to each, keep-alive connections. */
export class TbankClient {
  private readonly http: HttpTransport;
  constructor(private readonly cfg: TbankClientConfig) {
    this.http = new HttpTransport(cfg.baseUrl, { timeoutMs: cfg.timeoutMs });
  }

  /** The signed body of a call (exported for tests and the emulator's own checks). */
  body(params: TbankParams): Record<string, unknown> {
    const body: Record<string, unknown> = { TerminalKey: this.cfg.terminalKey };
    for (const [k, v] of Object.entries(params)) if (v !== undefined) body[k] = v;
    body.Token = tbankToken(body, this.cfg.password);
    return body;
  }

  /** Calls `method`; the bank's business answer (Success true or false) is returned as it came. */
  async call<T extends TbankResponse>(method: string, params: TbankParams): Promise<T> {
    const { text } = await call('tbank', method, this.http, {
      method: 'POST',
      path: method,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(this.body(params)),
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // a maintenance page or a proxy's error page: the bank did not really answer
      throw new ExternalError('tbank', `${method}: the answer is not JSON (${text.slice(0, 60).replace(/\s+/g, ' ')}...)`, {
        retryable: true,
      });
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new ExternalError('tbank', `${method}: the answer is not a JSON object`, { retryable: true });
    return parsed as T;
  }

  /** Like call(), but `Success: false` throws TbankApiError. */
  async ok<T extends TbankResponse>(method: string, params: TbankParams): Promise<T> {
    const r = await this.call<T>(method, params);
    if (!isOk(r)) throw new TbankApiError(method, r);
    return r;
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
