import { retryReceipt } from '../../../flows/fiscal/retry';
import { listReceipts } from '../../../store/receipts';
import type { ReceiptStatus } from '../../../store/schema';
import type { AdminKit } from './kit';
import { localBack } from './kit';
import {
  actionButton,
  esc,
  layout,
  RECEIPT_KIND_RU,
  RECEIPT_OPERATION_RU,
  RECEIPT_STATUS_RU,
  ru,
  rub,
  sendPage,
  table,
  when,
} from './layout';

const STATUSES: ReceiptStatus[] = ['pending', 'sent', 'done', 'failed'];

/** Receipts by status; a failed one can be sent again («Повторить»). */
export function receiptPages(kit: AdminKit): void {
  const { d } = kit;

  kit.view('/admin/receipts', 'Receipts; failed ones can be retried', async (ctx, s, flash) => {
    const status = STATUSES.includes(ctx.query.status as ReceiptStatus) ? (ctx.query.status as ReceiptStatus) : undefined;
    const receipts = await listReceipts(d.store.db, { status, limit: 200 });
    const back = ctx.originalUrl;
    const filters = `<nav class="tabs" aria-label="Статус">${[undefined, ...STATUSES]
      .map(
        (st) =>
          `<a href="/admin/receipts${st ? `?status=${st}` : ''}"${st === status ? ' aria-current="true"' : ''}>${esc(st ? RECEIPT_STATUS_RU[st] : 'все')}</a>`,
      )
      .join('')}</nav>`;
    const rows = receipts.map((r) => [
      esc(when(r.created_at)),
      `${ru(RECEIPT_KIND_RU, r.kind)} (${ru(RECEIPT_OPERATION_RU, r.operation)})`,
      rub(r.total),
      ru(RECEIPT_STATUS_RU, r.status),
      r.fiscal_document_number ? `ФД № ${r.fiscal_document_number}` : '',
      `<span class="error-text">${esc((r.error ?? '').slice(0, 300))}</span>`,
      r.payment_id ? `<a href="/admin/payments/${esc(r.payment_id)}">платёж</a>` : '',
      r.status === 'failed'
        ? actionButton(s, `/admin/receipts/${r.id}/retry`, 'Повторить', `<input type="hidden" name="back" value="${esc(back)}">`)
        : '',
    ]);
    sendPage(
      ctx,
      layout({
        title: 'Чеки',
        active: '/admin/receipts',
        session: s,
        flash,
        body: `${filters}<section id="receipts">${table(['Создан', 'Чек', 'Сумма', 'Статус', 'Фискальный документ', 'Ошибка', '', ''], rows, 'Чеков нет.')}</section>`,
      }),
    );
  });

  kit.action('/admin/receipts/:id/retry', 'Send a failed receipt again', async (ctx, s, form) => {
    const r = await retryReceipt(d, (id) => d.runner.retry(id), ctx.params.id);
    ctx.state.log.info({ receiptId: r.id, keyId: s.keyId }, 'receipt retried by admin');
    return {
      back: localBack(form.get('back'), '/admin/receipts?status=failed'),
      flash: { kind: 'ok', text: 'Чек отправлен в кассу заново.' },
    };
  });
}
