import { Agent, type Dispatcher } from 'undici';
import { ExternalError } from '../../gateway/ports';
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
  private readonly origin: string;
  private readonly basePath: string;
  /** Keep-alive connections to the bank, shared by every call of this merchant. */
  private readonly agent: Agent;
  constructor(private readonly cfg: SberClientConfig) {
    const base = new URL(cfg.baseUrl.endsWith('/') ? cfg.baseUrl : `${cfg.baseUrl}/`);
    this.origin = base.origin;
    this.basePath = base.pathname;
    this.agent = new Agent({ connections: 64, keepAliveTimeout: 30_000, connectTimeout: Math.min(10_000, cfg.timeoutMs) });
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
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.post(method, form.toString()));
    } catch (e) {
      const code = (e as { code?: string }).code;
      const why =
        code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'
          ? `no answer in ${this.cfg.timeoutMs} ms`
          : (e as Error).message;
      throw new ExternalError('sber', `${method}: ${why}`, { retryable: true, cause: e });
    }
    if (status >= 500 || status === 429) {
      throw new ExternalError('sber', `${method}: HTTP ${status}`, { retryable: true });
    }
    if (status < 200 || status >= 300) throw new ExternalError('sber', `${method}: HTTP ${status}`, { retryable: false });
    try {
      return JSON.parse(text) as T;
    } catch {
      // a maintenance page or a proxy error: the bank did not really answer
      throw new ExternalError('sber', `${method}: the answer is not JSON (${text.slice(0, 60).replace(/\s+/g, ' ')}...)`, {
        retryable: true,
      });
    }
  }

  /**
   * One POST, its answer collected as text. undici's dispatch with a handler of its own: the
   * answers are small, and request()'s streams cost more than the rest of the call.
   */
  private post(method: string, body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      let status = 0;
      const chunks: Buffer[] = [];
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: () => undefined,
        onResponseStart: (_controller, statusCode) => void (status = statusCode),
        onResponseData: (_controller, chunk) => void chunks.push(chunk),
        onResponseEnd: () => resolve({ status, text: Buffer.concat(chunks).toString('utf8') }),
        onResponseError: (_controller, e) => reject(e),
      };
      this.agent.dispatch(
        {
          origin: this.origin,
          path: this.basePath + method,
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body,
          headersTimeout: this.cfg.timeoutMs,
          bodyTimeout: this.cfg.timeoutMs,
        },
        handler,
      );
    });
  }

  /** Like call(), but a non-zero errorCode throws SberApiError. */
  async ok<T extends SberError>(method: string, params: Record<string, string | number | undefined>): Promise<T> {
    const r = await this.call<T>(method, params);
    const code = errorCodeOf(r);
    if (code !== 0) throw new SberApiError(method, code, r.errorMessage ?? '');
    return r;
  }
}
