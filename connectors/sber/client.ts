import { ExternalError } from '../../gateway/ports';
import { call, HttpTransport } from '../shared/http';
import type { SberError } from './types';

export interface SberClientConfig {
  baseUrl: string;
  userName?: string;
  password?: string;
  token?: string;
  timeoutMs: number;
}

/** A `.do` method answered with a non-zero errorCode. */
export class SberApiError extends ExternalError {
  readonly errorCode: number;
  constructor(method: string, errorCode: number, errorMessage: string) {
    // 5 = access denied / wrong credentials, 4 and 1 = bad request: trying again cannot help. 7 is a system
    // error for registration and status, but "wrong order state" for refund/reverse/deposit.
    const retryable = errorCode === 7 && !/^(refund|reverse|deposit|decline)\.do$/.test(method);
    super('sber', `${method}: errorCode ${errorCode}: ${errorMessage}`, { retryable, code: String(errorCode) });
    this.name = 'SberApiError';
    this.errorCode = errorCode;
  }
}

export function errorCodeOf(r: SberError): number {
  if (r.errorCode === undefined || r.errorCode === null || r.errorCode === '') return 0;
  const n = Number(r.errorCode);
  return Number.isFinite(n) ? n : -1;
}

/** The bank's HTTP API: form-encoded POSTs, JSON answers, credentials in the form. */
export class SberClient {
  /** Keep-alive connections to the bank, shared by every call of this merchant. */
  private readonly http: HttpTransport;
  constructor(private readonly cfg: SberClientConfig) {
    this.http = new HttpTransport(cfg.baseUrl, { timeoutMs: cfg.timeoutMs });
  }

  /** Calls `method` and returns the parsed answer; a non-zero errorCode is left to the caller. */
  async call<T extends SberError>(method: string, params: Record<string, string | number | undefined>): Promise<T> {
    const form = new URLSearchParams();
    if (this.cfg.token) form.set('token', this.cfg.token);
    else {
      form.set('userName', this.cfg.userName ?? '');
      form.set('password', this.cfg.password ?? '');
    }
    for (const [k, v] of Object.entries(params)) if (v !== undefined) form.set(k, String(v));
    const { text } = await call('sber', method, this.http, {
      method: 'POST',
      path: method,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
    });
    try {
      return JSON.parse(text) as T;
    } catch {
      // a maintenance page or a proxy error: the bank did not really answer
      throw new ExternalError('sber', `${method}: the answer is not JSON (${text.slice(0, 60).replace(/\s+/g, ' ')}...)`, {
        retryable: true,
      });
    }
  }

  /** Like call(), but a non-zero errorCode throws SberApiError. */
  async ok<T extends SberError>(method: string, params: Record<string, string | number | undefined>): Promise<T> {
    const r = await this.call<T>(method, params);
    const code = errorCodeOf(r);
    if (code !== 0) throw new SberApiError(method, code, r.errorMessage ?? '');
    return r;
  }
}
