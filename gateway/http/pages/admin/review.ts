import { unprocessable } from '../../../errors';
import { matchOperation, resolveOperation } from '../../../flows/history/operations';
import { matchLineByHand, resolveLineByHand } from '../../../flows/statements/review';
import { findOperations, getOperation } from '../../../store/operations';
import { ordersByNumbers } from '../../../store/orders';
import { findStatementLines } from '../../../store/statements';
import type { AdminKit } from './kit';
import { csrfField, esc, layout, rub, sendPage, table, when } from './layout';

const BACK = '/admin/review';

const MATCH_RU: Record<string, string> = {
  unmatched: 'не найден заказ',
  ambiguous: 'подходит несколько заказов',
  mismatch: 'сумма не сходится',
};

/** The review list: bank lines and providers' operations the gateway could not tie by itself; match or close them. */
export function reviewPages(kit: AdminKit): void {
  const { d } = kit;
  const organizations = () => d.config.organizations.map((o) => o.id);
  const note = (form: URLSearchParams, required: boolean) => {
    const n = (form.get('note') ?? '').trim().slice(0, 300);
    if (required && !n) throw unprocessable('note_required', 'write why the item is closed');
    return n;
  };

  kit.view('/admin/review', 'The review list: statement lines and operations', async (ctx, s, flash) => {
    const [lines, operations] = await Promise.all([
      findStatementLines(d.store.db, { organizations: organizations(), states: ['review'], limit: 200 }),
      findOperations(d.store.db, { organizations: organizations(), states: ['unmatched', 'ambiguous', 'mismatch'], limit: 200 }),
    ]);
    const lineRows = lines.map((l) => [
      esc(l.doc_date),
      `№ ${esc(l.number)}`,
      rub(l.amount),
      `${esc(l.payer_name)}${l.payer_inn ? `<br><span class="muted">ИНН ${esc(l.payer_inn)}</span>` : ''}`,
      `${esc(l.purpose)}${l.match_note ? `<br><span class="muted">${esc(l.match_note)}</span>` : ''}`,
      `<form method="post" action="/admin/review/lines/${esc(l.id)}/match" class="stack">${csrfField(s)}
<input name="invoices" placeholder="№ счетов через запятую" aria-label="Номера счетов" required maxlength="500">
<input name="note" placeholder="Комментарий" aria-label="Комментарий" maxlength="300"><button type="submit">Сопоставить</button></form>
<form method="post" action="/admin/review/lines/${esc(l.id)}/resolve" class="stack">${csrfField(s)}
<input name="note" placeholder="Почему закрыть" aria-label="Причина" required maxlength="300"><button type="submit">Закрыть</button></form>`,
    ]);
    const opRows = operations.map((o) => [
      esc(when(o.occurred_at)),
      `${esc(o.provider)}<br><span class="muted">${esc(o.provider_ref)}</span>`,
      rub(o.amount),
      `${esc(o.order_number ?? '—')}${o.purpose ? `<br><span class="muted">${esc(o.purpose)}</span>` : ''}`,
      `${esc(MATCH_RU[o.match_state] ?? o.match_state)}${o.match_note ? `<br><span class="muted">${esc(o.match_note)}</span>` : ''}`,
      `<form method="post" action="/admin/review/operations/${esc(o.id)}/match" class="stack">${csrfField(s)}
<input name="order" placeholder="№ заказа" aria-label="Номер заказа" required maxlength="64">
<input name="note" placeholder="Комментарий" aria-label="Комментарий" maxlength="300"><button type="submit">Сопоставить</button></form>
<form method="post" action="/admin/review/operations/${esc(o.id)}/resolve" class="stack">${csrfField(s)}
<input name="note" placeholder="Почему закрыть" aria-label="Причина" required maxlength="300"><button type="submit">Закрыть</button></form>`,
    ]);
    const body = `<section class="card" id="review-lines"><h2>Банковские строки (${lines.length})</h2>
${table(['Дата', 'Документ', 'Сумма', 'Плательщик', 'Назначение', 'Действие'], lineRows, 'Строк на разборе нет.')}</section>
<section class="card" id="review-operations"><h2>Операции банков (${operations.length})</h2>
${table(['Когда', 'Банк', 'Сумма', 'Заказ', 'Почему на разборе', 'Действие'], opRows, 'Операций на разборе нет.')}</section>`;
    sendPage(ctx, layout({ title: 'Ручной разбор', active: '/admin/review', session: s, flash, body }));
  });

  kit.action('/admin/review/lines/:id/match', 'Match a statement line to invoices', async (ctx, s, form) => {
    const invoices = (form.get('invoices') ?? '')
      .split(/[,;\s]+/)
      .map((v) => v.replace(/^№/, '').trim())
      .filter(Boolean)
      .slice(0, 20);
    if (invoices.length === 0) throw unprocessable('invoices_required', 'name at least one invoice');
    const line = await matchLineByHand(d, ctx.params.id, { invoices, note: note(form, false) || undefined });
    ctx.state.log.info({ lineId: line.id, invoices, keyId: s.keyId }, 'statement line matched by hand');
    return { back: BACK, flash: { kind: 'ok', text: `Строка № ${line.number} сопоставлена со счетами ${invoices.join(', ')}.` } };
  });

  kit.action('/admin/review/lines/:id/resolve', 'Close a statement line with a note', async (ctx, s, form) => {
    const line = await resolveLineByHand(d, ctx.params.id, note(form, true));
    ctx.state.log.info({ lineId: line.id, keyId: s.keyId }, 'statement line closed by hand');
    return { back: BACK, flash: { kind: 'ok', text: `Строка № ${line.number} закрыта.` } };
  });

  kit.action('/admin/review/operations/:id/match', 'Match an operation to an order (by its number)', async (ctx, s, form) => {
    const wanted = (form.get('order') ?? '').trim().slice(0, 64);
    if (!wanted) throw unprocessable('order_required', 'name the order');
    const op = await getOperation(d.store.db, ctx.params.id);
    const byNumber = op ? await ordersByNumbers(d.store.db, op.organization_id, [wanted]) : [];
    const orderId = byNumber.length === 1 ? byNumber[0].id : wanted;
    const matched = await matchOperation(d, ctx.params.id, orderId, note(form, false) || undefined);
    ctx.state.log.info({ operationId: matched.id, orderId, keyId: s.keyId }, 'operation matched by hand');
    return { back: BACK, flash: { kind: 'ok', text: `Операция сопоставлена с заказом ${wanted}.` } };
  });

  kit.action('/admin/review/operations/:id/resolve', 'Close an operation with a note', async (ctx, s, form) => {
    const op = await resolveOperation(d, ctx.params.id, note(form, true));
    ctx.state.log.info({ operationId: op.id, keyId: s.keyId }, 'operation closed by hand');
    return { back: BACK, flash: { kind: 'ok', text: 'Операция закрыта.' } };
  });
}
