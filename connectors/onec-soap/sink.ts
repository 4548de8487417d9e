import * as soap from 'soap';
import { toRubleString } from '../../gateway/domain/money';
import { OneCError, type Limiter, type OneCDocumentRef, type OneCPaymentDoc, type OneCSink } from '../../gateway/ports';

export interface SoapSinkConfig {
  /** The web service's WSDL, e.g. http://1c.example/ut/ws/gateway?wsdl */
  wsdlUrl: string;
  user: string;
  password: string;
  timeoutMs: number;
  /** The WSDL's operation that records a payment (idempotent by PaymentId). */
  register: string;
}

/**
 * Payments into 1C through a SOAP web service of the configuration (document/literal), driven by
 * its WSDL: `<register>(PaymentId, Kind, Method, OrderRef, OrderNumber, Amount, Date)` →
 * `{Ref, Number, Posted}`; the service answers a repeated PaymentId with the document already made.
 */
export class SoapSink implements OneCSink {
  readonly transport = 'soap' as const;
  private client: Promise<soap.Client> | null = null;

  constructor(
    private readonly cfg: SoapSinkConfig,
    private readonly limiter: Limiter,
  ) {}

  private connect(): Promise<soap.Client> {
    if (!this.client) {
      const authorization = `Basic ${Buffer.from(`${this.cfg.user}:${this.cfg.password}`, 'utf8').toString('base64')}`;
      this.client = soap
        .createClientAsync(this.cfg.wsdlUrl, {
          wsdl_headers: { Authorization: authorization },
          wsdl_options: { timeout: this.cfg.timeoutMs },
        })
        .then((c) => {
          c.setSecurity(new soap.BasicAuthSecurity(this.cfg.user, this.cfg.password));
          if (typeof (c as any)[`${this.cfg.register}Async`] !== 'function') {
            throw new OneCError(
              'mapping',
              `WSDL has no operation ${this.cfg.register}`,
              `В WSDL веб-сервиса 1С нет операции ${this.cfg.register}: проверьте настройку onec.soap.register.`,
            );
          }
          return c;
        })
        .catch((e) => {
          this.client = null;
          throw classify(e, 'WSDL');
        });
    }
    return this.client;
  }

  async ping(): Promise<void> {
    await this.connect();
  }

  async deliver(doc: OneCPaymentDoc): Promise<OneCDocumentRef> {
    const c = await this.connect();
    const r = await this.invoke(c, this.cfg.register, {
      PaymentId: doc.marker,
      Kind: doc.kind,
      Method: doc.method,
      OrderRef: doc.order.onecRef ?? '',
      OrderNumber: doc.order.number,
      Amount: toRubleString(doc.amount),
      Date: doc.date,
    });
    if (!r?.Ref)
      throw new OneCError('rejected', `${this.cfg.register}: no Ref in the answer`, 'Веб-сервис 1С ответил без ссылки на документ.');
    if (r.Posted !== undefined && !isTrue(r.Posted))
      throw new OneCError('rejected', `document ${r.Ref} is not posted`, `Документ ${r.Number ?? r.Ref} записан в 1С, но не проведён.`);
    return { ref: String(r.Ref), entity: 'ws', number: r.Number ? String(r.Number) : undefined, posted: true };
  }

  private async invoke(c: soap.Client, op: string, args: Record<string, unknown>): Promise<any> {
    return this.limiter.run(async () => {
      try {
        const [result] = await (c as any)[`${op}Async`](args, { timeout: this.cfg.timeoutMs });
        return result?.return ?? result;
      } catch (e) {
        throw classify(e, op);
      }
    });
  }
}

function isTrue(v: unknown): boolean {
  return v === true || v === 'true';
}

function classify(e: unknown, what: string): OneCError {
  if (e instanceof OneCError) return e;
  const err = e as { response?: { status?: number }; root?: any; code?: string; message?: string };
  const status = err.response?.status;
  const fault = err.root?.Envelope?.Body?.Fault;
  if (fault) {
    const text = String(fault.faultstring ?? fault.Reason?.Text ?? 'SOAP Fault');
    if (/заказ[^.]*не найден/i.test(text)) return new OneCError('order_missing', `${what}: ${text}`, `Веб-сервис 1С: ${text}`);
    if (/не найден/i.test(text)) return new OneCError('data', `${what}: ${text}`, `Веб-сервис 1С: ${text}`);
    return new OneCError('rejected', `${what}: ${text}`, `1С отказалась записать документ: ${text}`);
  }
  if (status === 401) return new OneCError('auth', `${what}: HTTP 401`, '1С не принимает логин или пароль пользователя веб-сервиса.');
  if (status === 403) return new OneCError('access', `${what}: HTTP 403`, 'У пользователя нет прав на веб-сервис 1С.');
  if (status === 404)
    return new OneCError(
      'not_published',
      `${what}: HTTP 404`,
      'Веб-сервис не опубликован в базе 1С (проверьте публикацию веб-сервисов и адрес WSDL).',
    );
  if (status && status >= 500) return new OneCError('unavailable', `${what}: HTTP ${status}`, 'Веб-сервис 1С отвечает ошибкой.');
  const timeout = /timeout|ETIMEDOUT|ESOCKETTIMEDOUT/i.test(`${err.code} ${err.message}`);
  return new OneCError(timeout ? 'timeout' : 'unavailable', `${what}: ${err.message ?? String(e)}`, 'Веб-сервис 1С недоступен.', {
    cause: e,
  });
}
