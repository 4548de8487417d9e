import pRetry from 'p-retry';
import { HttpTransport, type NoAnswerError } from '../shared/http';
import { OneCError, type Limiter } from '../../gateway/ports';

/**
 * A client of 1C:Enterprise's standard OData interface (OData v3), with the platform's quirks:
 * UTF-8 Basic auth (Cyrillic logins), `$format=json` on every call, percent-encoded Cyrillic with
 * `%20` for spaces, HTML pages with status 200 instead of errors, `odata.error` bodies, and a
 * bounded number of requests in flight per base (1C licences).
 */

export interface ODataConfig {
  /** The infobase's publication: `http://server/ut` (the client adds `/odata/standard.odata/`). */
  baseUrl: string;
  user: string;
  password: string;
  timeoutMs: number;
  /** Quick retries inside one call for passing failures (network, 5xx, locks). */
  retries?: number;
}

export type Query = {
  filter?: string;
  select?: string[];
  orderby?: string;
  top?: number;
  skip?: number;
  expand?: string[];
};

export type ODataObject = Record<string, unknown> & { Ref_Key?: string; DataVersion?: string };

export const EMPTY_REF = '00000000-0000-0000-0000-000000000000';
export const EMPTY_DATE = '0001-01-01T00:00:00';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** OData literals. */
export const lit = {
  guid(v: string): string {
    if (!GUID.test(v)) throw new OneCError('data', `"${v}" is not a GUID`, `Значение «${v}» не похоже на ссылку 1С (GUID).`);
    return `guid'${v}'`;
  },
  /** 1C datetime (no time zone: the base's local time). */
  datetime(v: string): string {
    return `datetime'${v.slice(0, 19)}'`;
  },
  string(v: string): string {
    return `'${v.replace(/'/g, "''")}'`;
  },
};

/** Percent-encodes as 1C wants it: UTF-8, spaces as %20 (never +). encodeURIComponent does exactly that. */
function enc(s: string): string {
  return encodeURIComponent(s);
}

export class ODataClient {
  readonly odataUrl: string;
  private readonly auth: string;
  private readonly http: HttpTransport;

  constructor(
    private readonly cfg: ODataConfig,
    private readonly limiter: Limiter,
  ) {
    this.odataUrl = `${cfg.baseUrl.replace(/\/+$/, '')}/odata/standard.odata/`;
    this.auth = `Basic ${Buffer.from(`${cfg.user}:${cfg.password}`, 'utf8').toString('base64')}`;
    this.http = new HttpTransport(this.odataUrl, { timeoutMs: cfg.timeoutMs, connections: 16 });
  }

  static entityPath(entitySet: string, ref?: string): string {
    return ref ? `${enc(entitySet)}(guid'${ref}')` : enc(entitySet);
  }

  static queryString(q: Query = {}): string {
    const parts = ['$format=json'];
    if (q.filter) parts.push(`$filter=${enc(q.filter)}`);
    if (q.select?.length) parts.push(`$select=${enc(q.select.join(','))}`);
    if (q.expand?.length) parts.push(`$expand=${enc(q.expand.join(','))}`);
    if (q.orderby) parts.push(`$orderby=${enc(q.orderby)}`);
    if (q.top !== undefined) parts.push(`$top=${q.top}`);
    if (q.skip !== undefined) parts.push(`$skip=${q.skip}`);
    return parts.join('&');
  }

  async list<T extends ODataObject = ODataObject>(entitySet: string, q: Query = {}): Promise<T[]> {
    const body = (await this.call('GET', entitySet, `${ODataClient.entityPath(entitySet)}?${ODataClient.queryString(q)}`)) as {
      value?: T[];
    };
    if (!body || !Array.isArray(body.value))
      throw new OneCError('unavailable', `${entitySet}: no "value" in the answer`, 'База 1С ответила не в формате OData.');
    return body.value;
  }

  /** One object by its ref; null when 1C has none (odata.error 9). */
  async get<T extends ODataObject = ODataObject>(entitySet: string, ref: string, select?: string[]): Promise<T | null> {
    try {
      return (await this.call('GET', entitySet, `${ODataClient.entityPath(entitySet, ref)}?${ODataClient.queryString({ select })}`)) as T;
    } catch (e) {
      if (e instanceof OneCError && e.kind === 'not_found') return null;
      throw e;
    }
  }

  async create<T extends ODataObject = ODataObject>(entitySet: string, body: Record<string, unknown>): Promise<T> {
    return (await this.call('POST', entitySet, `${ODataClient.entityPath(entitySet)}?$format=json`, body, { retryWrites: false })) as T;
  }

  /** Changes the fields sent. A tabular section sent REPLACES the whole section in 1C. */
  async patch<T extends ODataObject = ODataObject>(entitySet: string, ref: string, body: Record<string, unknown>): Promise<T> {
    return (await this.call('PATCH', entitySet, `${ODataClient.entityPath(entitySet, ref)}?$format=json`, body)) as T;
  }

  async post(entitySet: string, ref: string): Promise<void> {
    await this.call('POST', entitySet, `${ODataClient.entityPath(entitySet, ref)}/Post?PostingModeOperational=false&$format=json`);
  }

  async unpost(entitySet: string, ref: string): Promise<void> {
    await this.call('POST', entitySet, `${ODataClient.entityPath(entitySet, ref)}/Unpost?$format=json`);
  }

  /** The service document: proves the base answers and the credentials work. */
  async ping(): Promise<void> {
    await this.call('GET', '(service)', '?$format=json');
  }

  /** The publication's `$metadata` (EDMX); 15–17 MB for УТ 11.5, and slow on the first request. */
  async metadata(): Promise<string> {
    return (await this.call('GET', '$metadata', '$metadata', undefined, { xml: true })) as string;
  }

  /**
   * One call under the base's concurrency limit, with quick retries of passing failures. A create
   * is not retried blindly (the write may have happened): the caller looks the marker up instead.
   */
  private async call(
    method: string,
    entitySet: string,
    path: string,
    body?: unknown,
    opts: { retryWrites?: boolean; xml?: boolean } = {},
  ): Promise<unknown> {
    const retries = method === 'GET' || opts.retryWrites !== false ? (this.cfg.retries ?? 2) : 0;
    return pRetry(() => this.limiter.run(() => this.once(method, entitySet, path, body, opts.xml)), {
      retries,
      minTimeout: 200,
      maxTimeout: 2000,
      randomize: true,
      shouldRetry: ({ error }) => error instanceof OneCError && error.retryable,
    });
  }

  private async once(method: string, entitySet: string, path: string, body?: unknown, xml = false): Promise<unknown> {
    let answer;
    try {
      answer = await this.http.request({
        method: method as 'GET',
        path,
        headers: {
          authorization: this.auth,
          accept: xml ? 'application/xml' : 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      if ((e as NoAnswerError).kind === 'timeout') {
        throw new OneCError(
          'timeout',
          `${method} ${entitySet}: ${(e as Error).message}`,
          `База 1С не ответила за ${Math.round(this.cfg.timeoutMs / 1000)} с.`,
          {
            cause: e,
          },
        );
      }
      throw new OneCError(
        'unavailable',
        `${method} ${entitySet}: ${(e as Error).message}`,
        'База 1С недоступна (нет соединения с веб-сервером публикации).',
        {
          cause: e,
        },
      );
    }
    const { status, text } = answer;
    const contentType = String(answer.headers['content-type'] ?? '');
    if (xml && status === 200 && /xml/i.test(contentType) && text.includes('<edmx:Edmx')) return text;
    return parseAnswer(method, entitySet, status, contentType, text);
  }
}

interface ODataErrorBody {
  'odata.error'?: { code?: string; message?: { value?: string } | string };
}

/** Turns 1C's answer into data or a typed error. Exported for tests. */
export function parseAnswer(method: string, entitySet: string, status: number, contentType: string, text: string): unknown {
  const isJson = /json/i.test(contentType);
  const what = `${method} ${entitySet}`;
  if (!isJson) {
    if (status === 401) throw new OneCError('auth', `${what}: HTTP 401`, authHint);
    if (status >= 500 || status === 429)
      throw new OneCError(
        'unavailable',
        `${what}: HTTP ${status} (${snippet(text)})`,
        'Веб-сервер публикации 1С отвечает ошибкой; база, вероятно, перезапускается или перегружена.',
      );
    if (status === 404) throw new OneCError('not_published', `${what}: HTTP 404`, notPublishedHint(entitySet));
    if (status >= 200 && status < 300 && /html/i.test(contentType)) {
      // 1C (or IIS in front of it) shows a login page with 200 when the credentials are wrong
      throw new OneCError('auth', `${what}: an HTML page instead of data`, authHint);
    }
    if (status >= 200 && status < 300 && text.trim() === '') return null;
    if (status >= 200 && status < 300) {
      throw new OneCError(
        'unavailable',
        `${what}: answer is ${contentType || 'of no type'}, not JSON`,
        'База 1С ответила не в формате JSON: проверьте адрес публикации.',
      );
    }
    throw new OneCError('rejected', `${what}: HTTP ${status} (${snippet(text)})`, `1С ответила ошибкой HTTP ${status}.`);
  }
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    throw new OneCError('unavailable', `${what}: malformed JSON`, 'База 1С прислала повреждённый ответ.');
  }
  const err = (parsed as ODataErrorBody | null)?.['odata.error'];
  if (status < 300 && !err) return parsed;
  const code = String(err?.code ?? '');
  const message = typeof err?.message === 'string' ? err.message : (err?.message?.value ?? snippet(text));
  const full = `${what}: HTTP ${status}, odata.error ${code}: ${message}`;
  if (/конфликт блокировок|lock conflict|блокировк/i.test(message))
    throw new OneCError('lock', full, 'Документ или регистр в 1С заблокирован другим пользователем; повторим позже.', { code });
  if (code === '9') throw new OneCError('not_found', full, `В 1С нет такого объекта (${entitySet}).`, { code });
  if (code === '14')
    throw new OneCError('mapping', full, `1С не разобрала условие отбора к ${entitySet}: проверьте сопоставление полей (mapping).`, {
      code,
    });
  if (code === '20' || status === 403)
    throw new OneCError(
      'access',
      full,
      `У пользователя OData нет прав на ${entitySet} (чтение, запись или проведение). Выдайте права в 1С.`,
      { code },
    );
  if (status === 401) throw new OneCError('auth', full, authHint, { code });
  if (status === 404) throw new OneCError('not_published', full, notPublishedHint(entitySet), { code });
  if (status === 503 || status === 502) throw new OneCError('unavailable', full, 'База 1С временно недоступна.', { code });
  if (/ошибка при выполнении обработчика|не заполнено|не может быть|не проведен/i.test(message)) {
    throw new OneCError('rejected', full, `1С отказалась записать или провести документ: ${message}`, { code });
  }
  // a 500 that names no reason («внутренняя ошибка»): a passing fault of the server, or data it cannot take (a
  // tabular row without LineNumber, a wrong type); tried a few times before the mapping is suspected
  if (status >= 500 && (!message.trim() || /^(внутренняя ошибка|internal (server )?error)/i.test(message.trim()))) {
    throw new OneCError(
      'internal',
      full,
      `1С ответила внутренней ошибкой без описания (${message.trim() || `HTTP ${status}`}). Если ошибка повторяется, проверьте сопоставление полей (mapping) и справочники.`,
      { code },
    );
  }
  throw new OneCError('rejected', full, `1С не приняла данные (${message}). Проверьте сопоставление полей (mapping) и справочники.`, {
    code,
  });
}

const authHint =
  '1С не принимает логин или пароль пользователя OData (или перед базой стоит страница входа). Проверьте пользователя в настройках организации шлюза.';

function notPublishedHint(entitySet: string): string {
  return `Объект ${entitySet} не опубликован в стандартном интерфейсе OData. Включите его в обработке «Настройка стандартного интерфейса OData» (или УстановитьСоставСтандартногоИнтерфейсаOData) и проверьте default.vrd.`;
}

function snippet(text: string): string {
  return text
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 120);
}
