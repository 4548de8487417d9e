import { Agent, type Dispatcher } from 'undici';
import { ExternalError } from '../../gateway/ports';

/**
 * The one way a connector calls an outside system over HTTP: keep-alive connections per origin, a
 * timeout on the answer, the answer read as text, and its status classified. What an answer means
 * (an error code in a JSON body, a login page) stays with the connector.
 */

export interface HttpTransportOptions {
  /** How long to wait for the answer's headers, and between two chunks of its body. */
  timeoutMs: number;
  /** Keep-alive connections to the origin at most (default 64). */
  connections?: number;
  /** How long to wait for a connection (default: timeoutMs, at most 10 s). */
  connectTimeoutMs?: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Appended to the base URL (`getOrderStatusExtended.do`, `api/v2/requests?x=1`), or a whole URL of the same origin. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** `ok`: 2xx. `retry`: 5xx or 429, the system is down or busy and trying later can help. `refused`: any other status. */
export type HttpOutcome = 'ok' | 'retry' | 'refused';

export interface HttpAnswer {
  status: number;
  outcome: HttpOutcome;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** A 429's or 503's Retry-After, in milliseconds. */
  retryAfterMs?: number;
}

/** No answer: the connection failed, or nothing came within the timeout. Trying later can help. */
export class NoAnswerError extends Error {
  constructor(
    readonly kind: 'timeout' | 'network',
    message: string,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'NoAnswerError';
  }
}

export function outcomeOf(status: number): HttpOutcome {
  if (status >= 200 && status < 300) return 'ok';
  return status >= 500 || status === 429 ? 'retry' : 'refused';
}

/** A Retry-After header (seconds, or an HTTP date) in milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class HttpTransport {
  private readonly origin: string;
  private readonly basePath: string;
  private readonly agent: Agent;

  constructor(
    baseUrl: string,
    private readonly opts: HttpTransportOptions,
  ) {
    const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    this.origin = base.origin;
    this.basePath = base.pathname;
    this.agent = new Agent({
      connections: opts.connections ?? 64,
      keepAliveTimeout: 30_000,
      connectTimeout: opts.connectTimeoutMs ?? Math.min(10_000, opts.timeoutMs),
    });
  }

  /**
   * One call, its answer collected as text. undici's dispatch with a handler of its own: the
   * answers are small, and request()'s body streams cost more than the rest of a call.
   */
  request(req: HttpRequest): Promise<HttpAnswer> {
    const path = this.pathOf(req.path);
    return new Promise((resolve, reject) => {
      let status = 0;
      let headers: HttpAnswer['headers'] = {};
      const chunks: Buffer[] = [];
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: () => undefined,
        onResponseStart: (_controller, statusCode, h) => {
          status = statusCode;
          headers = h;
        },
        onResponseData: (_controller, chunk) => void chunks.push(chunk),
        onResponseEnd: () => {
          const outcome = outcomeOf(status);
          const text = Buffer.concat(chunks).toString('utf8');
          const wait = status === 429 || status === 503 ? retryAfterMs(headers['retry-after']) : undefined;
          resolve({ status, outcome, headers, text, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
        },
        onResponseError: (_controller, e) => reject(this.noAnswer(e)),
      };
      try {
        this.agent.dispatch(
          {
            origin: this.origin,
            path,
            method: req.method,
            headers: req.headers,
            body: req.body,
            headersTimeout: this.opts.timeoutMs,
            bodyTimeout: this.opts.timeoutMs,
          },
          handler,
        );
      } catch (e) {
        reject(this.noAnswer(e));
      }
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private pathOf(path: string): string {
    if (!/^https?:\/\//i.test(path)) return this.basePath + path.replace(/^\//, '');
    const url = new URL(path);
    if (url.origin !== this.origin) throw new Error(`${url.origin} is not ${this.origin}`);
    return url.pathname + url.search;
  }

  private noAnswer(e: unknown): NoAnswerError {
    const code = String((e as { code?: string }).code ?? '');
    if (code.startsWith('UND_ERR_') && code.includes('TIMEOUT'))
      return new NoAnswerError('timeout', `no answer in ${this.opts.timeoutMs} ms`, e);
    return new NoAnswerError('network', (e as Error).message || code || String(e), e);
  }
}

/**
 * For systems whose HTTP status says it all (a bank's JSON API, a webhook): no answer and 5xx/429
 * are retryable ExternalErrors (with Retry-After), any other non-2xx a final one.
 */
export async function call(system: string, what: string, transport: HttpTransport, req: HttpRequest): Promise<HttpAnswer> {
  let answer: HttpAnswer;
  try {
    answer = await transport.request(req);
  } catch (e) {
    throw new ExternalError(system, `${what}: ${(e as Error).message}`, { retryable: true, cause: e });
  }
  if (answer.outcome !== 'ok') {
    throw new ExternalError(system, `${what}: HTTP ${answer.status}`, {
      retryable: answer.outcome === 'retry',
      code: `http_${answer.status}`,
      retryAfterMs: answer.retryAfterMs,
    });
  }
  return answer;
}
