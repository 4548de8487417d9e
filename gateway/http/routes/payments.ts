import type { Middleware } from 'koa';
import { z } from 'zod';
import { createRefundSchema, paymentViewSchema, refundViewSchema } from '../../../schemas/api';
import { createRefund } from '../../flows/payments/refunds';
import { syncAttempt } from '../../flows/payments/sync';
import { loadPaymentView, refundView } from '../../flows/views';
import { notFound } from '../../errors';
import { getPayment, paymentAttempts } from '../../store/payments';
import type { ApiRouter } from '../api';
import type { HttpDeps } from '../deps';
import { idempotent } from '../idempotency';
import { jsonBody, parseQuery } from '../middleware';

export function paymentRoutes(api: ApiRouter, d: HttpDeps, auth: Middleware): void {
  api.route(
    {
      method: 'get',
      path: '/api/v1/payments/:id',
      summary: 'A payment’s status, refunds, 1C delivery and receipts',
      tag: 'payments',
      auth: 'site',
      responses: { 200: { description: 'The payment', schema: paymentViewSchema } },
    },
    auth,
    async (ctx) => {
      const p = await getPayment(d.store.db, ctx.params.id);
      if (!p || !ctx.state.orgs!.has(p.organization_id)) throw notFound('payment');
      ctx.state.paymentId = p.id;
      ctx.body = await loadPaymentView(d.store.db, p);
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/v1/payments/:id/refunds',
      summary: 'Refund all or part of a paid payment',
      tag: 'payments',
      auth: 'site',
      body: createRefundSchema,
      idempotencyKey: 'required',
      responses: {
        201: {
          description: 'Accepted; the refund is executed at the provider right away (status pending → succeeded)',
          schema: refundViewSchema,
        },
        409: { description: 'The payment is not paid' },
      },
    },
    auth,
    async (ctx) => {
      const { amount } = await jsonBody(ctx, createRefundSchema, d.bodyLimit);
      ctx.state.paymentId = ctx.params.id;
      await idempotent(ctx, d.store, async () => ({
        status: 201,
        body: refundView(await createRefund(d, ctx.state.orgs!, ctx.params.id, amount)),
      }));
    },
  );

  const returnQuery = z.object({ result: z.enum(['success', 'fail']).default('success') });
  api.route(
    {
      method: 'get',
      path: '/return/:paymentId',
      summary:
        'Where the bank sends the customer back: asks the bank for the status (never trusts the return itself) and redirects to the site',
      tag: 'customer',
      auth: 'none',
      query: returnQuery,
      responses: {
        302: { description: 'To the site’s returnUrl / failUrl with paymentId and status' },
        200: { description: 'A status page when the site gave no URL', contentType: 'text/html' },
      },
    },
    async (ctx) => {
      const { result } = parseQuery(ctx, returnQuery);
      let payment = await getPayment(d.store.db, ctx.params.paymentId);
      if (!payment) throw notFound('payment');
      ctx.state.paymentId = payment.id;
      const open = (await paymentAttempts(d.store.db, payment.id)).filter((a) => a.state === 'active');
      for (const a of open) {
        payment = await syncAttempt(d, a.id).catch((e) => {
          ctx.state.log.warn({ err: e }, 'status check on return failed; the janitor will retry');
          return payment!;
        });
      }
      const target = result === 'fail' ? payment.fail_url : payment.return_url;
      if (target) {
        const url = new URL(target);
        url.searchParams.set('paymentId', payment.id);
        url.searchParams.set('status', payment.status);
        ctx.redirect(url.toString());
        return;
      }
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = statusPage(payment.status);
    },
  );
}

const STATUS_TEXT: Record<string, string> = {
  paid: 'Оплата прошла. Спасибо!',
  pending: 'Ждём подтверждения оплаты от банка. Обновите страницу через минуту.',
  declined: 'Банк отклонил оплату.',
  expired: 'Время на оплату истекло.',
  cancelled: 'Платёж отменён.',
  refunded: 'Платёж возвращён.',
  partially_refunded: 'Платёж частично возвращён.',
};

function statusPage(status: string): string {
  return `<!doctype html><html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Статус оплаты</title></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem"><h1>${STATUS_TEXT[status] ?? status}</h1></body></html>`;
}
