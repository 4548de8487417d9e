import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { z } from 'zod';
import { pageStatusSchema, payLinkSchema } from '../../../schemas/api';
import { AppError, notFound } from '../../errors';
import { getOrderFor } from '../../flows/orders/create';
import { ensurePayLink, payUrl, qrPng, qrSvg } from '../../flows/orders/pay-links';
import { createPayment } from '../../flows/payments/create';
import { getOrderByPayToken } from '../../store/orders';
import { listOrderPayments } from '../../store/payments';
import type { PaymentAction } from '../../ports';
import type { OrderRow, PaymentRow } from '../../store/schema';
import { parseQuery } from '../middleware';
import { ORDER_TEXT, PAYMENT_TEXT, payPage, qrSheet, type LiveQr } from '../pages/pay-page';
import type { Middleware } from 'koa';
import type { ApiRouter, Handler } from '../api';
import type { HttpDeps } from '../deps';

/** A pending card payment younger than this is reused when the customer presses the button again. */
const REUSE_MS = 15 * 60_000;

async function pageState(
  d: HttpDeps,
  order: OrderRow,
): Promise<{ last?: PaymentRow; qr?: LiveQr; invoice?: { number: string; date: string; url: string } }> {
  const payments = await listOrderPayments(d.store.db, order.id);
  const last = payments[payments.length - 1] as PaymentRow | undefined;
  const action = last?.status === 'pending' && last.action ? (JSON.parse(last.action) as PaymentAction) : null;
  const invoice = action?.type === 'invoice' ? { number: action.number, date: action.date, url: action.document } : undefined;
  return { last, qr: last ? liveQr(last) : undefined, invoice };
}

/** The payment's QR while the customer can still pay it. */
function liveQr(p: PaymentRow): LiveQr | undefined {
  const action = p.action ? (JSON.parse(p.action) as PaymentAction) : null;
  if (p.status !== 'pending' || action?.type !== 'qr' || Date.parse(action.expiresAt) <= Date.now()) return undefined;
  return { paymentId: p.id, payload: action.payload, expiresAt: action.expiresAt };
}

function methodsOf(d: HttpDeps, order: OrderRow) {
  const org = d.orgs.get(order.organization_id)!;
  return { card: Boolean(org.payments.card), sbp: Boolean(org.payments.sbp) };
}

/** The hosted payment page of an order (`/pay/{token}`) and the site's call to get its link. */
export function payRoutes(api: ApiRouter, d: HttpDeps, siteAuth: Middleware): void {
  const byToken = async (ctx: Context & { params: Record<string, string> }) => {
    const order = /^[A-Za-z0-9_-]{16,64}$/.test(ctx.params.token) ? await getOrderByPayToken(d.store.db, ctx.params.token) : undefined;
    if (!order) throw notFound('payment page');
    return order;
  };
  /**
   * A page: its style and scripts run only with this response's nonce (nothing else inline does), and
   * no other site may frame it (a payment page in someone's frame is a clickjacking target).
   */
  const html = (ctx: Context, page: (nonce: string) => string, status = 200) => {
    const nonce = randomBytes(16).toString('base64');
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.set(
      'Content-Security-Policy',
      `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src 'self' data:; connect-src 'self'; form-action 'self' https: http:; base-uri 'none'; frame-ancestors 'none'`,
    );
    ctx.set('X-Frame-Options', 'DENY');
    ctx.body = page(nonce);
  };

  api.route(
    {
      method: 'post',
      path: '/api/v1/orders/:id/payment-link',
      summary: 'The hosted payment page of an order, with a QR code of its address',
      tag: 'orders',
      auth: 'site',
      responses: { 200: { description: 'The link', schema: payLinkSchema } },
    },
    siteAuth as Handler,
    async (ctx) => {
      const order = await getOrderFor(d, ctx.state.orgs!, ctx.params.id);
      const { url, qr } = await ensurePayLink(d, order);
      ctx.body = { url, qr };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/pay/:token',
      summary: 'The payment page: lines, total, organization, pay by card, live status',
      tag: 'customer',
      auth: 'none',
      responses: { 200: { description: 'HTML', contentType: 'text/html' } },
    },
    async (ctx) => {
      const order = await byToken(ctx);
      const { last, qr, invoice } = await pageState(d, order);
      html(ctx, (nonce) =>
        payPage({ org: d.orgs.get(order.organization_id)!, order, last, qr, invoice, methods: methodsOf(d, order), nonce }),
      );
    },
  );

  api.route(
    {
      method: 'get',
      path: '/pay/:token/status',
      summary: 'The page’s live status',
      tag: 'customer',
      auth: 'none',
      responses: { 200: { description: 'Status', schema: pageStatusSchema } },
    },
    async (ctx) => {
      const order = await byToken(ctx);
      const { last, qr } = await pageState(d, order);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = {
        orderStatus: order.status,
        orderText: ORDER_TEXT[order.status] ?? order.status,
        paymentId: last?.id ?? null,
        method: last?.method ?? null,
        paymentStatus: last?.status ?? null,
        paymentText: last ? PAYMENT_TEXT[last.status] : null,
        qrExpiresAt: qr?.expiresAt ?? null,
      };
    },
  );

  api.route(
    {
      method: 'post',
      path: '/pay/:token/sbp',
      summary: 'Pay through СБП: a QR (desktop) and a bank-app button (phone) on the page',
      tag: 'customer',
      auth: 'none',
      responses: { 303: { description: 'Back to the page, which shows the QR' } },
    },
    async (ctx) => {
      const order = await byToken(ctx);
      const { last, qr } = await pageState(d, order);
      const back = payUrl(d, order.pay_token!);
      if (order.status !== 'awaiting_payment' || qr) {
        ctx.status = 303;
        return void ctx.redirect(back);
      }
      try {
        const payment = await createPayment(d, new Set([order.organization_id]), order.id, {
          method: 'sbp',
          returnUrl: back,
          failUrl: back,
        });
        ctx.state.paymentId = payment.id;
        ctx.status = 303;
        ctx.redirect(back);
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        ctx.state.log.warn({ err: e }, 'СБП payment from the page failed');
        const message =
          e.code === 'method_not_enabled'
            ? 'Оплата через СБП для этого заказа не подключена.'
            : e.code === 'amount_below_minimum'
              ? 'Сумма слишком мала для оплаты через СБП: оплатите картой.'
              : 'Банк сейчас не выдаёт QR-код. Попробуйте через несколько минут или оплатите картой.';
        html(
          ctx,
          (nonce) => payPage({ org: d.orgs.get(order.organization_id)!, order, last, methods: methodsOf(d, order), error: message, nonce }),
          e.status >= 500 ? 502 : 409,
        );
      }
    },
  );

  const qrQuery = z.object({ payment: z.string().max(64).optional() });
  const qrOf = async (ctx: Context & { params: Record<string, string> }) => {
    const order = await byToken(ctx);
    const { payment } = parseQuery(ctx, qrQuery);
    const { qr } = await pageState(d, order);
    if (!qr || (payment && payment !== qr.paymentId)) throw notFound('live QR code');
    return { order, qr };
  };
  api.route(
    {
      method: 'get',
      path: '/pay/:token/qr',
      summary: 'The СБП QR alone, large: to print at the counter or send through a messenger',
      tag: 'customer',
      auth: 'none',
      responses: { 200: { description: 'HTML', contentType: 'text/html' } },
    },
    async (ctx) => {
      const { order, qr } = await qrOf(ctx);
      html(ctx, (nonce) => qrSheet(d.orgs.get(order.organization_id)!, order, qr, payUrl(d, order.pay_token!), nonce));
    },
  );
  for (const format of ['svg', 'png'] as const) {
    api.route(
      {
        method: 'get',
        path: `/pay/:token/qr.${format}`,
        summary: `The live СБП QR as ${format.toUpperCase()}`,
        tag: 'customer',
        auth: 'none',
        query: qrQuery,
        responses: { 200: { description: 'Image', contentType: format === 'svg' ? 'image/svg+xml' : 'image/png' } },
      },
      async (ctx) => {
        const { qr } = await qrOf(ctx);
        ctx.set('Cache-Control', 'no-store');
        ctx.type = format === 'svg' ? 'image/svg+xml' : 'image/png';
        ctx.body = format === 'svg' ? await qrSvg(qr.payload) : await qrPng(qr.payload);
      },
    );
  }

  api.route(
    {
      method: 'post',
      path: '/pay/:token/card',
      summary: 'Pay by card: to the bank’s form',
      tag: 'customer',
      auth: 'none',
      responses: { 303: { description: 'To the bank’s payment form' } },
    },
    async (ctx) => {
      const order = await byToken(ctx);
      const { last } = await pageState(d, order);
      if (order.status !== 'awaiting_payment') return void ctx.redirect(payUrl(d, order.pay_token!));
      const action = last?.action ? (JSON.parse(last.action) as { type: string; url?: string }) : null;
      if (
        last?.status === 'pending' &&
        last.method === 'card' &&
        action?.type === 'redirect' &&
        Date.now() - Date.parse(last.created_at) < REUSE_MS
      ) {
        ctx.status = 303;
        return void ctx.redirect(action.url!);
      }
      try {
        const back = payUrl(d, order.pay_token!);
        const payment = await createPayment(d, new Set([order.organization_id]), order.id, {
          method: 'card',
          returnUrl: back,
          failUrl: back,
        });
        const next = JSON.parse(payment.action!) as { url: string };
        ctx.state.paymentId = payment.id;
        ctx.status = 303;
        ctx.redirect(next.url);
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        ctx.state.log.warn({ err: e }, 'payment from the page failed');
        const message =
          e.code === 'method_not_enabled'
            ? 'Оплата картой для этого заказа не подключена.'
            : 'Банк сейчас не принимает оплату. Попробуйте через несколько минут.';
        html(
          ctx,
          (nonce) => payPage({ org: d.orgs.get(order.organization_id)!, order, last, methods: methodsOf(d, order), error: message, nonce }),
          e.status >= 500 ? 502 : 409,
        );
      }
    },
  );
}
