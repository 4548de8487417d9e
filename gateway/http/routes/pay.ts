import type { Context } from 'koa';
import { z } from 'zod';
import { payLinkSchema } from '../../../schemas/api';
import { formatRub } from '../../domain/money';
import type { OrderItem } from '../../domain/order';
import { AppError, notFound } from '../../errors';
import { getOrderFor } from '../../flows/orders';
import { ensurePayLink, payUrl } from '../../flows/pay-links';
import { createPayment } from '../../flows/payments';
import { getOrderByPayToken } from '../../store/orders';
import { listOrderPayments } from '../../store/payments';
import type { OrderRow, PaymentRow } from '../../store/schema';
import type { Middleware } from 'koa';
import type { ApiRouter, Handler } from '../api';
import type { HttpDeps } from '../deps';

/** A pending card payment younger than this is reused when the customer presses the button again. */
const REUSE_MS = 15 * 60_000;

const STATUS_TEXT: Record<string, string> = {
  awaiting_payment: 'Ожидает оплаты',
  paid: 'Оплачен',
  partially_refunded: 'Оплачен, частично возвращён',
  refunded: 'Оплата возвращена',
  cancelled: 'Отменён',
};

const PAYMENT_TEXT: Record<string, string> = {
  pending: 'Ждём подтверждения банка…',
  paid: 'Оплата прошла. Спасибо!',
  declined: 'Банк отклонил оплату. Попробуйте ещё раз или другой картой.',
  expired: 'Время на оплату истекло. Попробуйте ещё раз.',
  cancelled: 'Платёж не состоялся. Попробуйте ещё раз.',
  refunded: 'Оплата возвращена.',
  partially_refunded: 'Оплата частично возвращена.',
};

function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

async function pageState(d: HttpDeps, order: OrderRow) {
  const payments = await listOrderPayments(d.store.db, order.id);
  const last = payments[payments.length - 1] as PaymentRow | undefined;
  return { order, last, payable: order.status === 'awaiting_payment' };
}

function page(d: HttpDeps, order: OrderRow, last: PaymentRow | undefined, opts: { error?: string } = {}): string {
  const org = d.orgs.get(order.organization_id)!;
  const items = JSON.parse(order.items) as OrderItem[];
  const payable = order.status === 'awaiting_payment';
  const lastText = last ? PAYMENT_TEXT[last.status] : '';
  const lines = items
    .map((it) => `<tr><td>${esc(it.name)}</td><td class="n">${esc(it.quantity)}</td><td class="n">${formatRub(it.price)}</td><td class="n">${formatRub(it.amount)}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Оплата заказа №${esc(order.number)} — ${esc(org.name)}</title>
<style>
:root{color-scheme:light;--accent:#1a7f37;--muted:#59636e}
*{box-sizing:border-box}body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}
main{max-width:40rem;margin:0 auto;padding:1.25rem}
.card{background:#fff;border:1px solid #d1d9e0;border-radius:12px;padding:1.25rem;margin-bottom:1rem}
h1{font-size:1.35rem;margin:.2rem 0 1rem}.org{color:var(--muted);font-size:.95rem}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:.45rem .3rem;border-bottom:1px solid #eef1f4;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.85rem}.n{text-align:right;white-space:nowrap}
.total{display:flex;justify-content:space-between;font-size:1.2rem;font-weight:700;margin-top:1rem}
button{width:100%;font:inherit;font-weight:600;padding:.9rem 1rem;border-radius:10px;border:0;background:var(--accent);color:#fff;cursor:pointer}
button:focus-visible{outline:3px solid #0969da;outline-offset:2px}
.status{padding:.8rem 1rem;border-radius:10px;background:#ddf4ff;margin-bottom:1rem}
.status.paid{background:#dafbe1}.status.bad{background:#ffebe9}
@media print{button,.noprint{display:none}body{background:#fff}.card{border:0}}
</style></head>
<body><main>
<div class="card">
<div class="org">${esc(org.name)}${org.inn ? `, ИНН ${esc(org.inn)}` : ''}</div>
<h1>Заказ №${esc(order.number)}</h1>
<div id="status" class="status ${order.status === 'awaiting_payment' ? (last && last.status !== 'pending' ? 'bad' : '') : 'paid'}" role="status" aria-live="polite"${!last && payable ? ' hidden' : ''}>${esc(payable ? lastText : STATUS_TEXT[order.status])}</div>
${opts.error ? `<div class="status bad" role="alert">${esc(opts.error)}</div>` : ''}
<table><thead><tr><th>Товар</th><th class="n">Кол-во</th><th class="n">Цена</th><th class="n">Сумма</th></tr></thead><tbody>${lines}</tbody></table>
<div class="total"><span>Итого</span><span>${formatRub(order.total)}</span></div>
</div>
${
  payable
    ? `<form class="card noprint" method="post" action="/pay/${esc(order.pay_token)}/card"><button type="submit">Оплатить картой</button></form>`
    : ''
}
</main>
<script>
(function(){
  var box=document.getElementById('status'), done=${JSON.stringify(!payable)};
  if(done) return;
  function poll(){
    fetch('/pay/${esc(order.pay_token)}/status',{cache:'no-store'}).then(function(r){return r.json()}).then(function(s){
      if(s.paymentText){box.hidden=false;box.textContent=s.paymentText;box.className='status'+(s.orderStatus!=='awaiting_payment'?' paid':(s.paymentStatus&&s.paymentStatus!=='pending'?' bad':''));}
      if(s.orderStatus!=='awaiting_payment'){location.reload();return;}
      setTimeout(poll, 2000);
    }).catch(function(){setTimeout(poll,5000)});
  }
  setTimeout(poll, 1500);
})();
</script>
</body></html>`;
}

/** The hosted payment page of an order (`/pay/{token}`) and the site's call to get its link. */
export function payRoutes(api: ApiRouter, d: HttpDeps, siteAuth: Middleware): void {
  const byToken = async (ctx: Context & { params: Record<string, string> }) => {
    const order = /^[A-Za-z0-9_-]{16,64}$/.test(ctx.params.token) ? await getOrderByPayToken(d.store.db, ctx.params.token) : undefined;
    if (!order) throw notFound('payment page');
    return order;
  };
  const html = (ctx: Context, body: string, status = 200) => {
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self' https: http:; base-uri 'none'");
    ctx.body = body;
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
    { method: 'get', path: '/pay/:token', summary: 'The payment page: lines, total, organization, pay by card, live status', tag: 'customer', auth: 'none', responses: { 200: { description: 'HTML', contentType: 'text/html' } } },
    async (ctx) => {
      const order = await byToken(ctx);
      const { last } = await pageState(d, order);
      html(ctx, page(d, order, last));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/pay/:token/status',
      summary: 'The page’s live status',
      tag: 'customer',
      auth: 'none',
      responses: { 200: { description: 'Status', schema: z.object({ orderStatus: z.string(), paymentStatus: z.string().nullable(), paymentText: z.string().nullable() }) } },
    },
    async (ctx) => {
      const order = await byToken(ctx);
      const { last } = await pageState(d, order);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { orderStatus: order.status, paymentStatus: last?.status ?? null, paymentText: last ? PAYMENT_TEXT[last.status] : null };
    },
  );

  api.route(
    { method: 'post', path: '/pay/:token/card', summary: 'Pay by card: to the bank’s form', tag: 'customer', auth: 'none', responses: { 303: { description: 'To the bank’s payment form' } } },
    async (ctx) => {
      const order = await byToken(ctx);
      const { last } = await pageState(d, order);
      if (order.status !== 'awaiting_payment') return void ctx.redirect(payUrl(d, order.pay_token!));
      const action = last?.action ? (JSON.parse(last.action) as { type: string; url?: string }) : null;
      if (last?.status === 'pending' && last.method === 'card' && action?.type === 'redirect' && Date.now() - Date.parse(last.created_at) < REUSE_MS) {
        ctx.status = 303;
        return void ctx.redirect(action.url!);
      }
      try {
        const back = payUrl(d, order.pay_token!);
        const payment = await createPayment(d, new Set([order.organization_id]), order.id, { method: 'card', returnUrl: back, failUrl: back });
        const next = JSON.parse(payment.action!) as { url: string };
        ctx.state.paymentId = payment.id;
        ctx.status = 303;
        ctx.redirect(next.url);
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        ctx.state.log.warn({ err: e }, 'payment from the page failed');
        const message = e.code === 'method_not_enabled' ? 'Оплата картой для этого заказа не подключена.' : 'Банк сейчас не принимает оплату. Попробуйте через несколько минут.';
        html(ctx, page(d, order, last, { error: message }), e.status >= 500 ? 502 : 409);
      }
    },
  );
}
