import type { Context } from 'koa';
import { handleRegisterCallback } from '../../flows/fiscal/callback';
import { handleCallback } from '../../flows/payments/callback';
import type { InboundWebhook } from '../../ports';
import type { ApiRouter } from '../api';
import type { HttpDeps } from '../deps';
import { readBody } from '../middleware';

const CALLBACK_LIMIT = 64 * 1024;

async function inbound(ctx: Context): Promise<InboundWebhook> {
  const raw = ctx.method === 'POST' ? await readBody(ctx, CALLBACK_LIMIT) : Buffer.alloc(0);
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(ctx.querystring)) params[k] = v;
  if (raw.length > 0 && /x-www-form-urlencoded/i.test(ctx.get('content-type') || 'application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) params[k] = v;
  }
  return { method: ctx.method, params, rawBody: raw, headers: ctx.headers };
}

/**
 * `/callbacks/{system}/{organization}`: what banks and registers send. Each is verified, then
 * confirmed by asking the system itself, then answered 200 `OK` (T-Bank re-sends anything else).
 */
export function callbackRoutes(api: ApiRouter, d: HttpDeps): void {
  const handle = (provider: string) => async (ctx: Context & { params: Record<string, string> }) => {
    let outcome = 'error';
    try {
      outcome = await handleCallback(d, provider, ctx.params.org, await inbound(ctx));
      ctx.status = 200;
      ctx.type = 'text/plain';
      ctx.body = 'OK';
    } catch (e) {
      outcome = (e as { code?: string }).code ?? 'error';
      throw e;
    } finally {
      d.metrics.callbacks.inc({ provider, outcome });
    }
  };
  for (const method of ['get', 'post'] as const) {
    api.route(
      {
        method,
        path: '/callbacks/sber/:org',
        summary: 'Sber (BPC) payment notification: checksum-verified, then confirmed by getOrderStatusExtended.do',
        tag: 'callbacks',
        auth: 'none',
        responses: {
          200: { description: 'Accepted', contentType: 'text/plain' },
          400: {
            description: 'Signed, but not a notification the gateway takes (unknown operation or status, no mdOrder); nothing changed',
          },
          403: { description: 'Checksum does not verify; nothing changed' },
          404: { description: 'Unknown organization or attempt' },
        },
      },
      handle('sber'),
    );
  }
  api.route(
    {
      method: 'post',
      path: '/callbacks/tbank/:org',
      summary: 'T-Bank payment notification (JSON): Token-verified, then confirmed by GetState; answered OK',
      tag: 'callbacks',
      auth: 'none',
      responses: {
        200: { description: 'OK', contentType: 'text/plain' },
        400: { description: 'Signed, but not a notification the gateway takes (another terminal, unknown Status); nothing changed' },
        403: { description: 'The Token does not verify; nothing changed' },
        404: { description: 'Unknown organization or payment' },
      },
    },
    handle('tbank'),
  );

  api.route(
    {
      method: 'post',
      path: '/callbacks/atol/:org',
      summary: 'ATOL Online’s result of a receipt: the signature in the URL verified, then the result asked for with a report request',
      tag: 'callbacks',
      auth: 'none',
      responses: {
        200: { description: 'Accepted', contentType: 'text/plain' },
        403: { description: 'The signature does not verify; nothing changed' },
      },
    },
    async (ctx) => {
      await readBody(ctx, 64 * 1024);
      const params = Object.fromEntries(Object.entries(ctx.query).map(([k, v]) => [k, String(Array.isArray(v) ? v[0] : (v ?? ''))]));
      let outcome = 'error';
      try {
        outcome = await handleRegisterCallback(d, ctx.params.org, params);
      } catch (e) {
        outcome = (e as { code?: string }).code ?? 'error';
        throw e;
      } finally {
        d.metrics.callbacks.inc({ provider: 'atol', outcome });
      }
      ctx.type = 'text/plain';
      ctx.body = 'OK';
    },
  );
}
