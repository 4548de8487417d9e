import { PAYMENT_STATUSES, type PaymentStatus } from '../../../domain/payment-state';
import { notFound } from '../../../errors';
import { jobsMentioning, searchPayments } from '../../../store/admin-queries';
import { alertsMentioning } from '../../../store/alerts';
import { invoiceOfPayment } from '../../../store/invoices';
import { operationsOfOrder } from '../../../store/operations';
import { getOrder } from '../../../store/orders';
import { getPayment, paymentAttempts, paymentRefunds, paymentTimeline } from '../../../store/payments';
import { paymentReceipts } from '../../../store/receipts';
import type { AdminKit } from './kit';
import {
  actionButton,
  esc,
  JOB_STATUS_RU,
  layout,
  METHOD_RU,
  moscowDayStart,
  ONEC_STATUS_RU,
  PAYMENT_STATUS_RU,
  RECEIPT_KIND_RU,
  RECEIPT_OPERATION_RU,
  RECEIPT_STATUS_RU,
  ru,
  rub,
  sendPage,
  table,
  when,
} from './layout';

/** Payment search and one payment's whole story. */

/** «1 500,00», «1500.5», «1500» (rubles) → kopecks; null when it is not an amount. */
export function parseRubles(input: string): number | null {
  const s = input.replace(/[\s\u00a0₽]|руб\.?/g, '').replace(',', '.');
  if (!/^\d{1,12}(\.\d{1,2})?$/.test(s)) return null;
  const [r, c = ''] = s.split('.');
  return Number(r) * 100 + Number(c.padEnd(2, '0'));
}

const ATTEMPT_RU: Record<string, string> = {
  registering: 'регистрируется',
  active: 'ждёт оплаты',
  closed: 'завершена',
  failed: 'не удалась',
};
const MATCH_RU: Record<string, string> = {
  matched: 'сопоставлена',
  unmatched: 'не найден заказ',
  ambiguous: 'несколько заказов',
  mismatch: 'сумма не сходится',
  resolved: 'закрыта вручную',
};
const REFUND_RU: Record<string, string> = { pending: 'выполняется', succeeded: 'выполнен', failed: 'ошибка' };

const EVENT_RU: Record<string, string> = {
  callback: 'Уведомление банка',
  status: 'Ответ банка на запрос статуса',
  return: 'Возврат покупателя с формы банка',
  cancel: 'Попытка отменена в банке',
  double_payment: 'Повторная оплата заказа',
};

interface Entry {
  at: string;
  kind: string;
  title: string;
  detail: string;
}

function pre(v: string | null | undefined): string {
  if (!v) return '';
  let text = v;
  try {
    text = JSON.stringify(JSON.parse(v), null, 2);
  } catch {
    /* as it came */
  }
  return `<details><summary>Данные</summary><pre>${esc(text.slice(0, 20_000))}</pre></details>`;
}

export function paymentPages(kit: AdminKit): void {
  const { d } = kit;

  kit.view('/admin/payments', 'Payment search', async (ctx, s, flash) => {
    const q = (k: string) => (typeof ctx.query[k] === 'string' ? (ctx.query[k] as string).trim().slice(0, 100) : '');
    const number = q('number');
    const amountText = q('amount');
    const date = q('date');
    const status = q('status');
    const stuck = q('onec') === 'stuck';
    const errors: string[] = [];
    const amount = amountText ? parseRubles(amountText) : undefined;
    if (amount === null) errors.push('Сумма — в рублях, например 1 500,00.');
    if (date && !/^\d{4}-\d{2}-\d{2}$/.test(date)) errors.push('Дата — в виде ГГГГ-ММ-ДД.');
    if (status && !PAYMENT_STATUSES.includes(status as PaymentStatus)) errors.push('Неизвестный статус.');
    const searched = Boolean(number || amountText || date || status || stuck);
    const rows =
      errors.length === 0
        ? await searchPayments(d.store.db, {
            orderNumber: number || undefined,
            amount: amount ?? undefined,
            ...(date
              ? { from: moscowDayStart(date), to: moscowDayStart(new Date(Date.parse(date) + 86_400_000).toISOString().slice(0, 10)) }
              : {}),
            status: (status || undefined) as PaymentStatus | undefined,
            notInOneC: stuck,
            limit: 100,
          })
        : [];
    const form = `<form method="get" action="/admin/payments" class="filters" id="payment-search">
<label>Номер заказа<input name="number" value="${esc(number)}" placeholder="A-1024"></label>
<label>Сумма, ₽<input name="amount" value="${esc(amountText)}" placeholder="1 500,00" inputmode="decimal"></label>
<label>Дата<input name="date" type="date" value="${esc(date)}"></label>
<label>Статус<select name="status"><option value="">любой</option>${PAYMENT_STATUSES.map(
      (st) => `<option value="${st}"${st === status ? ' selected' : ''}>${esc(PAYMENT_STATUS_RU[st])}</option>`,
    ).join('')}</select></label>
${stuck ? '<input type="hidden" name="onec" value="stuck">' : ''}
<button type="submit">Найти</button></form>
${stuck ? '<p class="muted">Показаны оплаченные платежи, ещё не записанные в 1С.</p>' : ''}
${errors.map((e) => `<p class="flash error" role="alert">${esc(e)}</p>`).join('')}`;
    const list = table(
      ['Создан', 'Заказ', 'Способ', 'Сумма', 'Статус', '1С'],
      rows.map((p) => [
        esc(when(p.created_at)),
        `<a href="/admin/payments/${esc(p.id)}">${esc(p.order_number)}</a>`,
        ru(METHOD_RU, p.method),
        rub(p.amount),
        ru(PAYMENT_STATUS_RU, p.status),
        ru(ONEC_STATUS_RU, p.onec_status),
      ]),
      searched ? 'Ничего не найдено.' : 'Платежей ещё нет.',
    );
    sendPage(
      ctx,
      layout({ title: 'Платежи', active: '/admin/payments', session: s, flash, body: `${form}<section id="results">${list}</section>` }),
    );
  });

  kit.view('/admin/payments/:id', 'One payment’s timeline', async (ctx, s, flash) => {
    const p = /^[A-Za-z0-9-]{1,64}$/.test(ctx.params.id) ? await getPayment(d.store.db, ctx.params.id) : undefined;
    if (!p) throw notFound('payment');
    const [order, attempts, events, receipts, refunds, jobs, invoice, alerts] = await Promise.all([
      getOrder(d.store.db, p.order_id),
      paymentAttempts(d.store.db, p.id),
      paymentTimeline(d.store.db, p.id),
      paymentReceipts(d.store.db, p.id),
      paymentRefunds(d.store.db, p.id),
      jobsMentioning(d.store.db, p.id),
      invoiceOfPayment(d.store.db, p.id),
      alertsMentioning(d.store.db, p.id),
    ]);
    const operations = (await operationsOfOrder(d.store.db, p.order_id)).filter((o) => o.payment_id === p.id);
    const back = `/admin/payments/${p.id}`;
    const entries: Entry[] = [
      {
        at: p.created_at,
        kind: 'created',
        title: 'Платёж создан',
        detail: `${esc(METHOD_RU[p.method] ?? p.method)}, ${esc(p.provider)}, ${rub(p.amount)}`,
      },
      ...attempts.map((a) => ({
        at: a.created_at,
        kind: 'attempt',
        title: `Попытка в банке № ${esc(a.order_number)}`,
        detail: `состояние: ${ru(ATTEMPT_RU, a.state)}${a.provider_state ? `, у банка: ${esc(a.provider_state)}` : ''}${a.provider_ref ? `, id в банке ${esc(a.provider_ref)}` : ''}${a.error ? `, ошибка: ${esc(a.error)}` : ''}`,
      })),
      ...events.map((e) => ({
        at: e.received_at,
        kind: `event-${e.kind}`,
        title: esc(EVENT_RU[e.kind] ?? e.kind),
        detail: `${e.outcome ? `итог: ${esc(e.outcome)}` : ''}${pre(e.payload)}`,
      })),
      ...(p.paid_at ? [{ at: p.paid_at, kind: 'paid', title: 'Оплачен', detail: rub(p.amount) }] : []),
      ...operations.map((o) => ({
        at: o.created_at,
        kind: 'operation',
        title: 'Операция в истории банка',
        detail: `${esc(o.provider)} ${esc(o.provider_ref)}, ${rub(o.amount)}, сопоставление: ${ru(MATCH_RU, o.match_state)}${o.match_note ? ` (${esc(o.match_note)})` : ''}`,
      })),
      ...jobs.map((j) => ({
        at: j.created_at,
        kind: 'job',
        title: `Задание ${esc(j.name)}`,
        detail: `${ru(JOB_STATUS_RU, j.status)}, попыток ${j.attempts} из ${j.max_attempts}${j.last_error ? `, ошибка: ${esc(j.last_error)}` : ''} · <a href="/admin/jobs?name=${encodeURIComponent(j.name)}">задания</a>${
          j.status === 'dead'
            ? ` ${actionButton(s, `/admin/jobs/${j.id}/retry`, 'Повторить', `<input type="hidden" name="back" value="${esc(back)}">`)}`
            : ''
        }`,
      })),
      ...(p.onec_status !== 'not_configured'
        ? [
            {
              at: p.updated_at,
              kind: 'onec',
              title: 'Документ 1С',
              detail: `${ru(ONEC_STATUS_RU, p.onec_status)}${p.onec_number ? `, № <span data-testid="onec-number">${esc(p.onec_number)}</span>` : ''}${
                p.onec_document ? `, ссылка ${esc(p.onec_document)}` : ''
              }${p.onec_error ? `, ошибка: ${esc(p.onec_error)}` : ''}`,
            },
          ]
        : []),
      ...receipts.map((r) => ({
        at: r.created_at,
        kind: 'receipt',
        title: `Чек: ${ru(RECEIPT_KIND_RU, r.kind)} (${ru(RECEIPT_OPERATION_RU, r.operation)})`,
        detail: `${ru(RECEIPT_STATUS_RU, r.status)}, ${rub(r.total)}${r.fiscal_document_number ? `, ФД № ${r.fiscal_document_number}, ФП ${r.fiscal_document_attribute ?? '—'}` : ''}${
          r.error ? `, ошибка: ${esc(r.error)}` : ''
        }${r.ofd_receipt_url ? ` · <a href="${esc(r.ofd_receipt_url)}" rel="noreferrer">чек в ОФД</a>` : ''}${
          r.status === 'failed'
            ? ` ${actionButton(s, `/admin/receipts/${r.id}/retry`, 'Повторить', `<input type="hidden" name="back" value="${esc(back)}">`)}`
            : ''
        }`,
      })),
      ...alerts.map((a) => ({
        at: a.raised_at,
        kind: 'alert',
        title: `Тревога: ${esc(a.title)}`,
        detail: `${esc(a.text)}${a.resolved_at ? ` · решено ${esc(when(a.resolved_at))}` : ''}`,
      })),
      ...refunds.map((r) => ({
        at: r.created_at,
        kind: 'refund',
        title: 'Возврат',
        detail: `${rub(r.amount)}, ${ru(REFUND_RU, r.status)}${r.error ? `, ошибка: ${esc(r.error)}` : ''}, 1С: ${ru(ONEC_STATUS_RU, r.onec_status)}`,
      })),
    ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const summary = `<dl class="summary">
<dt>Заказ</dt><dd>№ ${esc(order?.number ?? p.order_id)}${order ? ` (${esc(order.source === 'onec' ? 'из 1С' : 'с сайта')}), итого ${rub(order.total)}` : ''}</dd>
<dt>Организация</dt><dd>${esc(d.orgs.get(p.organization_id)?.name ?? p.organization_id)}</dd>
<dt>Сумма</dt><dd>${rub(p.amount)}${p.refunded_amount ? `, возвращено ${rub(p.refunded_amount)}` : ''}</dd>
<dt>Статус</dt><dd data-testid="payment-status">${ru(PAYMENT_STATUS_RU, p.status)}${p.status_reason ? ` (${esc(p.status_reason)})` : ''}</dd>
<dt>Способ</dt><dd>${ru(METHOD_RU, p.method)}, ${esc(p.provider)}</dd>
<dt>Оплачен</dt><dd>${esc(when(p.paid_at))}</dd>
<dt>1С</dt><dd>${ru(ONEC_STATUS_RU, p.onec_status)}${p.onec_number ? `, документ № ${esc(p.onec_number)}` : ''}</dd>
${invoice ? `<dt>Счёт</dt><dd>№ ${esc(invoice.number)} от ${esc(invoice.date)}</dd>` : ''}
<dt>Id</dt><dd><code>${esc(p.id)}</code></dd></dl>`;
    const timeline = `<ol class="timeline" id="timeline">${entries
      .map(
        (e) =>
          `<li class="${esc(e.kind)}" data-kind="${esc(e.kind)}"><time>${esc(when(e.at))}</time><strong>${e.title}</strong><div>${e.detail}</div></li>`,
      )
      .join('')}</ol>`;
    sendPage(
      ctx,
      layout({
        title: `Платёж по заказу № ${order?.number ?? ''}`,
        active: '/admin/payments',
        session: s,
        flash,
        body: `<section class="card">${summary}</section><section class="card"><h2>История</h2>${timeline}</section>`,
      }),
    );
  });
}
