import { createHash } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import { z } from 'zod';
import { onecOrderOutSchema, onecOrderSchema, onecPaymentSchema } from '../../../schemas/api';
import { badRequest, unauthorized } from '../../errors';
import { createOrderFromOneC } from '../../flows/onec/pull';
import { ensurePayLink } from '../../flows/orders/pay-links';
import { ensureSbpQr } from '../../flows/payments/create';
import { getOrder } from '../../store/orders';
import { paymentAttempts, paymentsChangedSince } from '../../store/payments';
import type { ApiRouter } from '../api';
import type { HttpDeps } from '../deps';
import { jsonBody, parseQuery, pickOrganization } from '../middleware';

const hash = (k: string) => createHash('sha256').update(k).digest('hex');

/** 1C calls with `Authorization: Bearer <key>` or Basic with the key as the password (1C's HTTPСоединение does Basic natively). */
export function onecAuth(d: HttpDeps): Middleware {
  const byHash = new Map<string, Set<string>>();
  for (const org of d.config.organizations) {
    for (const k of org.onec.keys) {
      const h = hash(k);
      if (!byHash.has(h)) byHash.set(h, new Set());
      byHash.get(h)!.add(org.id);
    }
  }
  return async (ctx: Context, next: Next) => {
    const header = ctx.get('authorization');
    let key: string | null = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? null;
    const basic = /^Basic\s+(\S+)\s*$/i.exec(header)?.[1];
    if (!key && basic) key = Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':') || null;
    const orgs = key ? byHash.get(hash(key)) : undefined;
    if (!orgs) throw unauthorized('missing or invalid 1C key: send Authorization: Bearer <key> (or Basic with the key as the password)');
    ctx.state.orgs = orgs;
    ctx.state.keyId = `onec:${hash(key!).slice(0, 16)}`;
    await next();
  };
}

export function onecRoutes(api: ApiRouter, d: HttpDeps): void {
  const auth = onecAuth(d);

  api.route(
    {
      method: 'post',
      path: '/api/v1/onec/orders',
      summary: 'A manager created an order in 1C: the gateway makes it payable and answers with the payment page and its QR',
      tag: '1c',
      auth: 'onec',
      body: onecOrderSchema,
      responses: {
        201: { description: 'Created', schema: onecOrderOutSchema },
        200: { description: 'This 1C order was sent before', schema: onecOrderOutSchema },
      },
    },
    auth,
    async (ctx) => {
      const input = await jsonBody(ctx, onecOrderSchema, d.bodyLimit);
      const org = pickOrganization(ctx, input.organization);
      const { order, created } = await createOrderFromOneC(
        d,
        org,
        {
          ref: input.ref,
          number: input.number,
          date: input.date ?? new Date().toISOString(),
          customer: input.customer,
          items: input.items,
          total: input.total,
        },
        { writeLinkBack: false },
      );
      const link = await ensurePayLink(d, order);
      const sbp = input.sbp && order.status === 'awaiting_payment' ? await ensureSbpQr(d, order) : null;
      ctx.status = created ? 201 : 200;
      ctx.body = {
        orderId: order.id,
        payUrl: link.url,
        qr: link.qr,
        ...(sbp ? { sbp: { paymentId: sbp.payment.id, payload: sbp.qr.payload, image: sbp.qr.image, expiresAt: sbp.qr.expiresAt } } : {}),
      };
    },
  );

  const since = z
    .object({
      since: z.iso.datetime({ offset: true, error: 'an ISO 8601 date-time, e.g. 2026-11-23T00:00:00Z' }).optional(),
      cursor: z.string().max(200).optional().meta({ description: 'The `next` of the previous page' }),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    })
    .refine((q) => q.since || q.cursor, { message: 'give since (first page) or cursor (the next ones)', path: ['since'] });
  api.route(
    {
      method: 'get',
      path: '/api/v1/onec/payments',
      summary:
        'Payments changed since a moment, for bases that pull instead of being written to; pass `next` back as `cursor` (an empty page returns the same cursor)',
      tag: '1c',
      auth: 'onec',
      query: since,
      responses: {
        200: {
          description: 'Payments, oldest change first',
          schema: z.object({ items: z.array(onecPaymentSchema), next: z.string().nullable() }),
        },
      },
    },
    auth,
    async (ctx) => {
      const q = parseQuery(ctx, since);
      const [from, afterId] = q.cursor
        ? Buffer.from(q.cursor, 'base64url').toString('utf8').split('|')
        : [new Date(q.since!).toISOString(), null];
      if (!from || Number.isNaN(Date.parse(from))) throw badRequest('bad_cursor', 'cursor is not one this API gave');
      const rows = await paymentsChangedSince(d.store.db, [...ctx.state.orgs!], from, afterId ?? null, q.limit);
      const items = [];
      for (const p of rows) {
        // a double payment of an order is not one for 1C (the order is paid there once), nor is its refund
        if (p.onec_status === 'skipped') continue;
        const order = (await getOrder(d.store.db, p.order_id))!;
        const attempt = (await paymentAttempts(d.store.db, p.id)).find((a) => a.provider_ref);
        items.push({
          paymentId: p.id,
          orderId: order.id,
          orderRef: order.onec_ref,
          orderNumber: order.number,
          externalId: order.external_id,
          method: p.method,
          provider: p.provider,
          providerRef: attempt?.provider_ref ?? null,
          status: p.status,
          amount: p.amount,
          refunded: p.refunded_amount,
          paidAt: p.paid_at,
          updatedAt: p.updated_at,
          onec: { status: p.onec_status, ...(p.onec_document ? { document: p.onec_document } : {}) },
        });
      }
      const last = rows[rows.length - 1];
      // the next page starts right after the last item: pass it back as `cursor`
      ctx.body = { items, next: last ? Buffer.from(`${last.updated_at}|${last.id}`).toString('base64url') : (q.cursor ?? null) };
    },
  );
}
