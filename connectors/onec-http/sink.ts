import { toRubleString } from '../../gateway/domain/money';
import { HttpTransport, type NoAnswerError } from '../shared/http';
import { OneCError, type Limiter, type OneCDocumentRef, type OneCPaymentDoc, type OneCSink } from '../../gateway/ports';

export interface HttpSinkConfig {
  /** The infobase's publication, e.g. http://1c.example/ut */
  baseUrl: string;
  /** The HTTP service's resource, e.g. /hs/gateway/payments */
  path: string;
  user: string;
  password: string;
  timeoutMs: number;
}

/**
 * Payments into 1C through an HTTP service of the configuration (`<base>/hs/...`), written by the
 * base's developer: `POST <path>` records and posts a payment and answers `{ref, number, posted}`.
 * The service is idempotent by paymentId (a repeat answers the document already made), so one
 * request per document is enough; `GET <path>/<paymentId>` answers 404 or the document (ping).
 */
export class HttpSink implements OneCSink {
  readonly transport = 'http' as const;
  private readonly url: string;
  private readonly auth: string;
  private readonly http: HttpTransport;

  constructor(
    private readonly cfg: HttpSinkConfig,
    private readonly limiter: Limiter,
  ) {
    this.url = `${cfg.baseUrl.replace(/\/+$/, '')}${cfg.path.startsWith('/') ? cfg.path : `/${cfg.path}`}`;
    this.auth = `Basic ${Buffer.from(`${cfg.user}:${cfg.password}`, 'utf8').toString('base64')}`;
    this.http = new HttpTransport(this.url, { timeoutMs: cfg.timeoutMs, connections: 16 });
  }

  async ping(): Promise<void> {
    await this.call('GET', `${this.url}/00000000-0000-0000-0000-000000000000`, undefined, [404]);
  }

  async deliver(doc: OneCPaymentDoc): Promise<OneCDocumentRef> {
    const r = await this.call('POST', this.url, {
      paymentId: doc.marker,
      kind: doc.kind,
      method: doc.method,
      orderRef: doc.order.onecRef,
      orderNumber: doc.order.number,
      amount: Number(toRubleString(doc.amount)),
      date: doc.date,
      provider: doc.provider,
      providerRef: doc.providerRef,
      originalPaymentId: doc.original?.marker,
      customer: {
        name: doc.customer.name,
        inn: doc.customer.inn,
        kpp: doc.customer.kpp,
        email: doc.customer.email,
        phone: doc.customer.phone,
      },
    });
    if (r.status === 404)
      throw new OneCError(
        'order_missing',
        `order ${doc.order.number}: ${r.body?.error ?? 'not found'}`,
        `HTTP-сервис 1С не нашёл заказ №${doc.order.number}: ${r.body?.error ?? ''}`.trim(),
      );
    return this.ref(r.body);
  }

  private ref(body: any): OneCDocumentRef {
    if (!body?.ref)
      throw new OneCError('rejected', 'the HTTP service answered without ref', 'HTTP-сервис 1С ответил без ссылки на документ.');
    if (body.posted === false)
      throw new OneCError(
        'rejected',
        `document ${body.ref} is not posted`,
        `Документ ${body.number ?? body.ref} записан в 1С, но не проведён.`,
      );
    return { ref: String(body.ref), entity: 'hs', number: body.number ? String(body.number) : undefined, posted: true };
  }

  private async call(
    method: 'GET' | 'POST',
    url: string,
    body?: unknown,
    passThrough: number[] = [],
  ): Promise<{ status: number; body: any }> {
    return this.limiter.run(async () => {
      let status: number;
      let text: string;
      try {
        ({ status, text } = await this.http.request({
          method,
          path: url,
          headers: {
            authorization: this.auth,
            accept: 'application/json',
            ...(body ? { 'content-type': 'application/json; charset=utf-8' } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        }));
      } catch (e) {
        const timeout = (e as NoAnswerError).kind === 'timeout';
        throw new OneCError(
          timeout ? 'timeout' : 'unavailable',
          `${method} ${url}: ${(e as Error).message}`,
          'HTTP-сервис 1С недоступен.',
          { cause: e },
        );
      }
      let parsed: any = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        if (status >= 200 && status < 300)
          throw new OneCError(
            'auth',
            `${method} ${url}: not JSON`,
            'HTTP-сервис 1С ответил не JSON (страница входа? проверьте пользователя и адрес).',
          );
      }
      if ((status >= 200 && status < 300) || passThrough.includes(status)) return { status, body: parsed };
      const why = parsed?.error ?? text.slice(0, 200);
      if (status === 401)
        throw new OneCError('auth', `${method} ${url}: HTTP 401`, '1С не принимает логин или пароль пользователя HTTP-сервиса.');
      if (status === 403) throw new OneCError('access', `${method} ${url}: HTTP 403`, 'У пользователя нет прав на HTTP-сервис 1С.');
      if (status === 404 && method === 'POST') return { status, body: parsed };
      if (status === 404)
        throw new OneCError(
          'not_published',
          `${method} ${url}: HTTP 404`,
          `HTTP-сервис ${this.cfg.path} не опубликован в базе 1С (проверьте публикацию HTTP-сервисов).`,
        );
      if (status === 409 || status === 422 || status === 400)
        throw new OneCError('rejected', `${method} ${url}: HTTP ${status}: ${why}`, `1С отказалась записать документ: ${why}`);
      throw new OneCError('unavailable', `${method} ${url}: HTTP ${status}: ${why}`, 'HTTP-сервис 1С отвечает ошибкой.');
    });
  }
}
