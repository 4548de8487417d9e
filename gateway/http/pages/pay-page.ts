import { formatRub } from '../../domain/money';
import type { OrderItem } from '../../domain/order';
import type { OrganizationConfig } from '../../config';
import type { OrderRow, PaymentRow } from '../../store/schema';

/**
 * The hosted payment page `/pay/{token}` and its printable QR view: plain HTML and a little
 * script, Russian text, no framework. The same page works on a phone (the bank-app button) and on
 * a desktop (the QR to scan); it follows the payment by itself.
 */

export const PAYMENT_TEXT: Record<string, string> = {
  pending: 'Ждём подтверждения банка…',
  paid: 'Оплата прошла. Спасибо!',
  declined: 'Банк отклонил оплату. Попробуйте ещё раз или другим способом.',
  expired: 'Время на оплату истекло. Получите новый QR-код или оплатите картой.',
  cancelled: 'Платёж не состоялся. Попробуйте ещё раз.',
  refunded: 'Оплата возвращена.',
  partially_refunded: 'Оплата частично возвращена.',
};

export const ORDER_TEXT: Record<string, string> = {
  awaiting_payment: 'Ожидает оплаты',
  paid: 'Заказ оплачен. Спасибо!',
  partially_refunded: 'Оплачен, частично возвращён',
  refunded: 'Оплата возвращена',
  cancelled: 'Заказ отменён',
};

export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const TIME = new Intl.DateTimeFormat('ru-RU', { timeZone: 'Europe/Moscow', hour: '2-digit', minute: '2-digit' });
const DAY = new Intl.DateTimeFormat('ru-RU', { timeZone: 'Europe/Moscow', day: 'numeric', month: 'long' });

/** "14:35" or "14:35 2 декабря" (another day) in Moscow time: when a QR stops working. */
export function moscowTime(iso: string, now = new Date()): string {
  const at = new Date(iso);
  return DAY.format(at) === DAY.format(now) ? TIME.format(at) : `${TIME.format(at)} ${DAY.format(at)}`;
}

/** A pending СБП payment the customer can still pay: its link and when it stops working. */
export interface LiveQr {
  paymentId: string;
  payload: string;
  expiresAt: string;
}

export interface PageModel {
  org: OrganizationConfig;
  order: OrderRow;
  last?: PaymentRow;
  qr?: LiveQr;
  methods: { card: boolean; sbp: boolean };
  /** The invoice still to be paid by bank transfer, when the last payment is one. */
  invoice?: { number: string; date: string; url: string };
  error?: string;
  /** This response's CSP nonce. */
  nonce: string;
}

const STYLE = `
:root{color-scheme:light;--accent:#1a7f37;--sbp:#5b2ee0;--muted:#59636e;--line:#d1d9e0}
*{box-sizing:border-box}body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}
main{max-width:40rem;margin:0 auto;padding:1.25rem}
.card{background:#fff;border:1px solid var(--line);border-radius:12px;padding:1.25rem;margin-bottom:1rem}
h1{font-size:1.35rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:0 0 .75rem}.org{color:var(--muted);font-size:.95rem}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:.45rem .3rem;border-bottom:1px solid #eef1f4;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.85rem}.n{text-align:right;white-space:nowrap}
.total{display:flex;justify-content:space-between;font-size:1.2rem;font-weight:700;margin-top:1rem}
button,.button{display:block;width:100%;font:inherit;font-weight:600;padding:.9rem 1rem;border-radius:10px;border:0;background:var(--accent);color:#fff;cursor:pointer;text-align:center;text-decoration:none}
.sbp button,.sbp .button{background:var(--sbp)}
button:focus-visible,.button:focus-visible,a:focus-visible{outline:3px solid #0969da;outline-offset:2px}
form+form{margin-top:.75rem}
.status{padding:.8rem 1rem;border-radius:10px;background:#ddf4ff;margin-bottom:1rem}
.status.paid{background:#dafbe1}.status.bad{background:#ffebe9}
.qr{text-align:center}.qr img{width:min(18rem,80vw);height:auto;image-rendering:pixelated;border:1px solid #eef1f4;border-radius:8px}
.qr img.big{width:min(22rem,85vw)}.total.center{justify-content:center}
.muted{color:var(--muted);font-size:.9rem}.links{display:flex;gap:1rem;justify-content:center;flex-wrap:wrap;margin-top:.75rem}
.qr-phone{display:none}
@media (max-width:40rem),(pointer:coarse){.qr-desktop{display:none}.qr-phone{display:block}}
@media (max-width:40rem){main{padding:.75rem}.card{padding:1rem}.price{display:none}td,th{padding:.4rem .2rem}}
details summary{cursor:pointer;color:#0969da;margin-top:.75rem}
@media print{button,.button,.noprint{display:none!important}body{background:#fff}.card{border:0}.qr-desktop{display:block!important}}
`;

/** The page's one style and its scripts carry the response's nonce: the CSP allows nothing inline without it. */
function head(title: string, nonce: string): string {
  return `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style nonce="${esc(nonce)}">${STYLE}</style></head>`;
}

function lines(order: OrderRow): string {
  const rows = (JSON.parse(order.items) as OrderItem[])
    .map(
      (it) =>
        `<tr><td>${esc(it.name)}</td><td class="n">${esc(it.quantity)}</td><td class="n price">${formatRub(it.price)}</td><td class="n">${formatRub(it.amount)}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th>Товар</th><th class="n">Кол-во</th><th class="n price">Цена</th><th class="n">Сумма</th></tr></thead><tbody>${rows}</tbody></table>
<div class="total"><span>Итого</span><span>${formatRub(order.total)}</span></div>`;
}

function qrBlock(token: string, qr: LiveQr): string {
  const img = `<img src="/pay/${esc(token)}/qr.svg?payment=${esc(qr.paymentId)}" alt="QR-код для оплаты через СБП" width="288" height="288">`;
  return `<section class="card sbp" id="sbp" aria-labelledby="sbp-title">
<h2 id="sbp-title">Оплата через СБП</h2>
<div class="qr qr-desktop" data-testid="qr-desktop">${img}
<p>Отсканируйте QR-код камерой телефона или в приложении банка и подтвердите оплату.</p></div>
<div class="qr-phone" data-testid="qr-phone">
<a class="button" id="bank-app" href="${esc(qr.payload)}">Оплатить в приложении банка</a>
<p class="muted">Откроется приложение вашего банка с суммой к оплате.</p>
<details><summary>Показать QR-код</summary><div class="qr">${img}</div></details></div>
<p class="muted" id="qr-expiry" data-expires="${esc(qr.expiresAt)}">Код действует до ${esc(moscowTime(qr.expiresAt))} (МСК).</p>
<div class="links noprint"><a href="/pay/${esc(token)}/qr">Распечатать или отправить QR-код</a></div>
</section>`;
}

function invoiceBlock(inv: { number: string; date: string; url: string }): string {
  return `<section class="card" id="invoice" aria-labelledby="invoice-title">
<h2 id="invoice-title">Счёт на оплату № ${esc(inv.number)} от ${esc(inv.date.split('-').reverse().join('.'))}</h2>
<p>Оплатите счёт переводом со счёта организации: реквизиты и QR-код для приложения банка — в счёте.</p>
<div class="links"><a class="button" id="invoice-download" href="${esc(inv.url)}?format=pdf" download>Скачать счёт</a></div>
</section>`;
}

/** The page: the order, what to pay with, the QR while one is live, the status as it changes. */
export function payPage(m: PageModel): string {
  const { org, order, last, qr } = m;
  const token = order.pay_token!;
  const payable = order.status === 'awaiting_payment';
  const statusText = payable ? (last ? PAYMENT_TEXT[last.status] : '') : ORDER_TEXT[order.status];
  const statusClass = !payable ? (order.status === 'cancelled' ? 'bad' : 'paid') : last && last.status !== 'pending' ? 'bad' : '';
  const hidden = payable && (!last || (qr && last.id === qr.paymentId));
  const buttons = [
    m.methods.sbp && !qr
      ? `<form class="sbp" method="post" action="/pay/${esc(token)}/sbp"><button type="submit" id="pay-sbp">Оплатить по СБП</button></form>`
      : '',
    m.methods.card
      ? `<form method="post" action="/pay/${esc(token)}/card"><button type="submit" id="pay-card">Оплатить картой</button></form>`
      : '',
  ].join('');
  return `${head(`Оплата заказа №${order.number} — ${org.name}`, m.nonce)}
<body><main>
<div class="card">
<div class="org">${esc(org.name)}${org.inn ? `, ИНН ${esc(org.inn)}` : ''}</div>
<h1>Заказ №${esc(order.number)}</h1>
<div id="status" class="status ${statusClass}" role="status" aria-live="polite" data-testid="status"${hidden ? ' hidden' : ''}>${esc(statusText)}</div>
${m.error ? `<div class="status bad" role="alert">${esc(m.error)}</div>` : ''}
${lines(order)}
</div>
${payable && m.invoice ? invoiceBlock(m.invoice) : ''}
${payable && qr ? qrBlock(token, qr) : ''}
${payable && buttons ? `<div class="card noprint" id="methods">${buttons}</div>` : ''}
</main>
<script nonce="${esc(m.nonce)}">
(function(){
  var box=document.getElementById('status'), done=${JSON.stringify(!payable)}, qr=${JSON.stringify(qr?.paymentId ?? null)};
  if(done) return;
  function poll(){
    fetch('/pay/${esc(token)}/status',{cache:'no-store'}).then(function(r){return r.json()}).then(function(s){
      var final=s.orderStatus!=='awaiting_payment';
      if(s.paymentText&&(final||s.paymentId!==qr||s.paymentStatus!=='pending')){box.hidden=false;box.textContent=final?s.orderText:s.paymentText;box.className='status'+(final?(s.orderStatus==='cancelled'?' bad':' paid'):(s.paymentStatus!=='pending'?' bad':''));}
      if(final||(qr&&(s.paymentId!==qr||s.paymentStatus!=='pending'))){setTimeout(function(){location.reload()},final?1200:0);return;}
      setTimeout(poll, 2000);
    }).catch(function(){setTimeout(poll,5000)});
  }
  setTimeout(poll, 1500);
})();
</script>
</body></html>`;
}

/** The QR alone, large, to print at the counter or to send through a messenger. */
export function qrSheet(org: OrganizationConfig, order: OrderRow, qr: LiveQr, pageUrl: string, nonce: string): string {
  const token = order.pay_token!;
  return `${head(`QR-код для оплаты заказа №${order.number}`, nonce)}
<body><main>
<div class="card qr">
<div class="org">${esc(org.name)}</div>
<h1>Оплата заказа №${esc(order.number)} через СБП</h1>
<p class="total center">${formatRub(order.total)}</p>
<img class="big" src="/pay/${esc(token)}/qr.svg?payment=${esc(qr.paymentId)}" alt="QR-код для оплаты через СБП" width="320" height="320">
<p>Наведите камеру телефона или откройте приложение банка и отсканируйте код.</p>
<p class="muted">Код действует до ${esc(moscowTime(qr.expiresAt))} (МСК).</p>
<div class="noprint">
<button type="button" id="print">Распечатать</button>
<p></p>
<button type="button" id="share" data-url="${esc(pageUrl)}" data-title="Оплата заказа №${esc(order.number)}">Отправить ссылку на оплату</button>
<p class="muted" id="share-result" role="status" aria-live="polite"></p>
<p><a href="/pay/${esc(token)}">Вернуться к заказу</a> · <a href="/pay/${esc(token)}/qr.png?payment=${esc(qr.paymentId)}" download="qr-${esc(order.number)}.png">Скачать PNG</a></p>
</div></div></main>
<script nonce="${esc(nonce)}">
(function(){
  document.getElementById('print').addEventListener('click',function(){window.print()});
  var b=document.getElementById('share'), out=document.getElementById('share-result');
  b.addEventListener('click',function(){
    var data={title:b.dataset.title,text:b.dataset.title+' — ${esc(formatRub(order.total))}',url:b.dataset.url};
    if(navigator.share){navigator.share(data).catch(function(){});return;}
    if(navigator.clipboard){navigator.clipboard.writeText(data.url).then(function(){out.textContent='Ссылка скопирована: отправьте её в мессенджере.'},function(){out.textContent=data.url});return;}
    out.textContent=data.url;
  });
})();
</script>
</body></html>`;
}
