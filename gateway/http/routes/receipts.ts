import type { Context, Middleware, Next } from 'koa';
import { createReceiptSchema, receiptViewSchema } from '../../../schemas/api';
import { AppError, notFound } from '../../errors';
import { createRegistrarReceipt } from '../../flows/fiscal/registrar';
import { receiptView } from '../../flows/views';
import { getReceipt } from '../../store/receipts';
import type { ApiRouter } from '../api';
import type { HttpDeps } from '../deps';
import { jsonBody, pickOrganization } from '../middleware';
import { onecAuth } from './onec';

/** A site key or a 1C key: receipts are sent by whichever is the organization's billing. */
function siteOr1C(site: Middleware, onec: Middleware): Middleware {
  const pass = async () => undefined;
  return async (ctx: Context, next: Next) => {
    try {
      await site(ctx, pass);
    } catch (e) {
      if (!(e instanceof AppError) || e.status !== 401) throw e;
      try {
        await onec(ctx, pass);
      } catch (e2) {
        if (e2 instanceof AppError && e2.status === 401)
          throw new AppError(401, 'unauthorized', 'missing or invalid key: send Authorization: Bearer <site key or 1C key>');
        throw e2;
      }
    }
    await next();
  };
}

export function receiptRoutes(api: ApiRouter, d: HttpDeps, site: Middleware): void {
  const auth = siteOr1C(site, onecAuth(d));

  api.route(
    {
      method: 'post',
      path: '/api/v1/receipts',
      summary:
        'Registrar mode: register this receipt (the site or 1C decided it); the gateway checks it and executes it at the register, once per externalId',
      tag: 'receipts',
      auth: 'site',
      body: createReceiptSchema,
      responses: {
        201: { description: 'Accepted: status pending → sent → done (or failed, with the reason)', schema: receiptViewSchema },
        200: { description: 'This externalId was sent before with the same content: that receipt', schema: receiptViewSchema },
        409: {
          description:
            'The same externalId with other content; or the organization makes its receipts itself (translator mode: only corrections here)',
        },
      },
    },
    auth,
    async (ctx) => {
      const input = await jsonBody(ctx, createReceiptSchema, d.bodyLimit);
      const org = pickOrganization(ctx, input.organization);
      const { receipt, created } = await createRegistrarReceipt(d, org, input);
      ctx.status = created ? 201 : 200;
      ctx.body = receiptView(receipt);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/v1/receipts/:id',
      summary: 'A receipt: status, lines, fiscal attributes',
      tag: 'receipts',
      auth: 'site',
      responses: { 200: { description: 'The receipt', schema: receiptViewSchema } },
    },
    auth,
    async (ctx) => {
      const r = await getReceipt(d.store.db, ctx.params.id);
      if (!r || !ctx.state.orgs!.has(r.organization_id)) throw notFound('receipt');
      ctx.body = receiptView(r);
    },
  );
}
