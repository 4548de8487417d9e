import { reviewOperationsPage, reviewStatementLinesPage, type Key } from '../../store/reports';
import { moscowDay, paged, PAGE, type Column, type Report, type ReportContext, type ReportInput, type Row } from './types';

export const REVIEW_COLUMNS: Column[] = [
  { key: 'source', title: 'Откуда', type: 'text' },
  { key: 'id', title: 'Запись', type: 'text' },
  { key: 'date', title: 'Дата операции', type: 'date' },
  { key: 'organization', title: 'Организация', type: 'text' },
  { key: 'provider', title: 'Банк / счёт', type: 'text' },
  { key: 'document', title: 'Документ', type: 'text' },
  { key: 'amount', title: 'Сумма', type: 'money' },
  { key: 'payer', title: 'Плательщик', type: 'text' },
  { key: 'purpose', title: 'Назначение', type: 'text' },
  { key: 'state', title: 'Состояние', type: 'text' },
  { key: 'note', title: 'Причина', type: 'text' },
  { key: 'ageDays', title: 'Дней в разборе', type: 'count' },
];

const STATE_TITLES: Record<string, string> = {
  review: 'на разборе',
  unmatched: 'не найден заказ',
  ambiguous: 'подходит несколько заказов',
  mismatch: 'не сходится с заказом',
};

/**
 * The review list: the incoming statement lines waiting for support and the provider operations that
 * could not be tied to an order (unmatched, ambiguous, mismatch), those dated up to the end of the
 * period, each with its age — whole days since it reached the gateway.
 */
export async function reviewReport(c: ReportContext, input: ReportInput): Promise<Report> {
  const r = input.range;
  const now = input.now.getTime();
  const age = (createdAt: string) => Math.max(0, Math.floor((now - Date.parse(createdAt)) / 86_400_000));
  const totals: Row = { source: 'Итого', amount: 0, ageDays: null };
  const add = (x: Row): Row => {
    totals.amount = (totals.amount as number) + (x.amount as number);
    return x;
  };
  async function* rows(): AsyncIterable<Row> {
    for await (const s of paged(
      (k: Key | null) => reviewStatementLinesPage(c.db, r.toDay, r.organization, k, PAGE),
      (x) => ({ at: x.doc_date, id: x.id }),
    )) {
      yield add({
        source: 'Выписка банка',
        id: s.id,
        date: s.doc_date,
        organization: s.organization_id,
        provider: `счёт ${s.account}`,
        document: `п/п № ${s.number}`,
        amount: s.amount,
        payer: `${s.payer_name}${s.payer_inn ? `, ИНН ${s.payer_inn}` : ''}`,
        purpose: s.purpose,
        state: STATE_TITLES[s.match_state] ?? s.match_state,
        note: s.match_note,
        ageDays: age(s.created_at),
      });
    }
    for await (const o of paged(
      (k: Key | null) => reviewOperationsPage(c.db, r.to, r.organization, k, PAGE),
      (x) => ({ at: x.occurred_at, id: x.id }),
    )) {
      yield add({
        source: o.kind === 'refund' ? 'Реестр банка: возврат' : 'Реестр банка: оплата',
        id: o.id,
        date: moscowDay(o.occurred_at),
        organization: o.organization_id,
        provider: o.provider,
        document: o.order_number ? `${o.provider_ref} (заказ ${o.order_number})` : o.provider_ref,
        amount: o.amount,
        payer: o.payer_bank,
        purpose: o.purpose,
        state: STATE_TITLES[o.match_state] ?? o.match_state,
        note: o.match_note,
        ageDays: age(o.created_at),
      });
    }
  }
  return {
    report: 'review',
    title: 'Требуют разбора',
    from: r.fromDay,
    to: r.toDay,
    columns: REVIEW_COLUMNS,
    rows: rows(),
    totals: () => totals,
  };
}
