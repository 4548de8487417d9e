import { FiscalError } from '../../gateway/ports';
import { HttpTransport } from '../shared/http';
import { ATOL_CODES, type AtolError, type AtolTokenResponse } from './types';

export interface AtolClientConfig {
  baseUrl: string;
  login: string;
  password: string;
  timeoutMs: number;
}

/** A token lives 24 h; it is renewed an hour early, and at once when ATOL says it expired (code 11). */
const TOKEN_TTL_MS = 23 * 3600_000;

export interface AtolAnswer<T> {
  status: number;
  body: T & { error?: AtolError | null };
}

/**
 * The HTTP side of ATOL Online: JSON in and out, the token in the `Token` header (fetched with
 * login and password, cached, renewed on code 11 and the request sent again). Network failures,
 * 5xx and pages that are not JSON are `unavailable` (retry); credentials ATOL refuses are `auth`.
 */
export class AtolOnlineClient {
  private readonly transport: HttpTransport;
  private token: { value: string; at: number } | null = null;
  private fetching: Promise<string> | null = null;
  /** getToken calls made (the tests count them). */
  tokenRequests = 0;

  constructor(private readonly cfg: AtolClientConfig) {
    this.transport = new HttpTransport(cfg.baseUrl, { timeoutMs: cfg.timeoutMs, connections: 16 });
  }

  /** Calls `path` with the token; an expired or unknown token is renewed once and the call repeated. */
  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<AtolAnswer<T>> {
    for (let round = 0; ; round++) {
      const token = await this.currentToken(round > 0);
      const answer = await this.http<T>(method, path, body, { Token: token });
      const code = answer.body.error?.code;
      const tokenRefused = answer.status === 401 || code === ATOL_CODES.EXPIRED_TOKEN;
      if (!tokenRefused) return answer;
      this.token = null;
      if (round >= 1) {
        throw new FiscalError(
          'atol',
          'auth',
          `${method} ${path}: the new token is refused too (code ${code ?? answer.status})`,
          'АТОЛ Онлайн не принимает токен доступа даже после его обновления. Проверьте логин, пароль и код группы касс (group_code) в настройках шлюза.',
          { code: String(code ?? answer.status) },
        );
      }
    }
  }

  private async currentToken(renew: boolean): Promise<string> {
    if (!renew && this.token && Date.now() - this.token.at < TOKEN_TTL_MS) return this.token.value;
    this.fetching ??= this.fetchToken().finally(() => (this.fetching = null));
    return this.fetching;
  }

  private async fetchToken(): Promise<string> {
    this.tokenRequests++;
    const { status, body } = await this.http<AtolTokenResponse>('POST', 'getToken', { login: this.cfg.login, pass: this.cfg.password });
    if (status >= 200 && status < 300 && !body.error && body.token) {
      this.token = { value: body.token, at: Date.now() };
      return body.token;
    }
    throw new FiscalError(
      'atol',
      'auth',
      `getToken: ${body.error ? `code ${body.error.code}: ${body.error.text}` : `HTTP ${status}`}`,
      'АТОЛ Онлайн не выдал токен: неверный логин или пароль интеграции. Проверьте organizations[].fiscal.registers[].login и password (раздел «Настройки интеграции» в личном кабинете АТОЛ).',
      { code: String(body.error?.code ?? status) },
    );
  }

  private async http<T>(method: 'GET' | 'POST', path: string, body: unknown, headers: Record<string, string> = {}): Promise<AtolAnswer<T>> {
    const what = path.startsWith('getToken') ? 'getToken' : path.replace(/\/[0-9a-f-]{36}$/i, '/…');
    let answer;
    try {
      answer = await this.transport.request({
        method,
        path,
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}),
          ...headers,
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw new FiscalError(
        'atol',
        'unavailable',
        `${what}: ${(e as Error).message}`,
        'АТОЛ Онлайн не отвечает; чек будет отправлен повторно.',
        {
          cause: e,
        },
      );
    }
    const { status, text } = answer;
    if (answer.outcome === 'retry')
      throw new FiscalError(
        'atol',
        'unavailable',
        `${what}: HTTP ${status}`,
        'АТОЛ Онлайн временно недоступен; чек будет отправлен повторно.',
        {
          retryAfterMs: answer.retryAfterMs,
        },
      );
    try {
      return { status, body: JSON.parse(text) as AtolAnswer<T>['body'] };
    } catch {
      // a maintenance page or a proxy in between: ATOL did not really answer
      throw new FiscalError(
        'atol',
        'unavailable',
        `${what}: HTTP ${status}, not JSON (${text.slice(0, 60).replace(/\s+/g, ' ')})`,
        'АТОЛ Онлайн ответил не по протоколу; чек будет отправлен повторно.',
      );
    }
  }
}
