import type { Context } from 'koa';
import getRawBody from 'raw-body';
import * as soap from 'soap';
import { gatewayWsdl } from './gateway.wsdl';
import { ServiceFailure, type PaymentService } from './http-service';
import { localDateTime } from './store';

/**
 * The configuration's "Gateway" SOAP web service (`<base>/ws/gateway`, WSDL at `?wsdl`), served by
 * the `soap` package. The soap server is created detached (`soap.listen(null, ...)`) and fed by the
 * emulator's Koa app, so latency, outages, auth and counters apply to it like to everything else.
 */

type Args = Record<string, unknown>;

function fault(text: string): { Fault: { faultcode: string; faultstring: string; statusCode: number } } {
  return { Fault: { faultcode: 'soap:Server', faultstring: text, statusCode: 500 } };
}

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object' && !(v instanceof Date)) return ''; // xsi:nil comes as an attributes object
  return String(v);
}

function dateArg(v: unknown): string | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'invalid' : localDateTime(v);
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

export class GatewaySoapService {
  readonly wsdl: string;
  private server: soap.Server | null = null;

  constructor(
    private readonly service: PaymentService,
    location: string,
  ) {
    this.wsdl = gatewayWsdl(location);
  }

  async init(): Promise<void> {
    const services = {
      Gateway: {
        GatewaySoap: {
          RegisterPayment: async (args: Args) => {
            try {
              const r = this.service.register({
                paymentId: text(args.PaymentId),
                kind: text(args.Kind) as 'payment',
                method: text(args.Method) as 'card',
                orderRef: text(args.OrderRef) || undefined,
                orderNumber: text(args.OrderNumber) || undefined,
                amount: Number(args.Amount),
                date: dateArg(args.Date),
              });
              return { return: { Ref: r.ref, Number: r.number, Posted: r.posted } };
            } catch (e) {
              if (e instanceof ServiceFailure) throw fault(e.message);
              throw e;
            }
          },
          FindPayment: async (args: Args) => {
            const r = this.service.find(text(args.PaymentId));
            return { return: r ? { Found: true, Ref: r.ref, Number: r.number } : { Found: false, Ref: '', Number: '' } };
          },
        },
      },
    };
    await new Promise<void>((resolve, reject) => {
      this.server = soap.listen(null, {
        path: '/ws/gateway',
        services,
        xml: this.wsdl,
        suppressStack: true,
        callback: (err: unknown) => (err ? reject(err) : resolve()),
      } as soap.IServerOptions);
    });
  }

  /** GET ?wsdl → the WSDL; POST → the SOAP call. */
  async handle(ctx: Context): Promise<void> {
    if (ctx.method === 'GET') {
      if (!/^wsdl$/i.test(ctx.querystring.split('&')[0] ?? '')) {
        ctx.status = 400;
        ctx.type = 'text/plain;charset=utf-8';
        ctx.body = 'Для получения описания веб-сервиса укажите ?wsdl';
        return;
      }
      ctx.type = 'text/xml;charset=utf-8';
      ctx.body = this.wsdl;
      return;
    }
    if (ctx.method !== 'POST' || !this.server) {
      ctx.status = 405;
      return;
    }
    const xml = ((ctx.state.rawBody as Buffer | undefined) ?? (await getRawBody(ctx.req, { limit: '5mb' }))).toString('utf8');
    const res = await this.server.processRequest(xml, { method: 'POST', url: ctx.url, headers: ctx.req.headers as Record<string, string> });
    ctx.status = res.statusCode ?? 200;
    ctx.type = 'text/xml;charset=utf-8';
    ctx.body = res.body;
  }
}
