import {
  bankOnlyOperationsPage,
  paymentDifferencesPage,
  unsettledStatementLinesPage,
  type ReconciledPaymentRow,
  type Key,
} from '../../store/reports';
import {
  moscowDay,
  methodTitle,
  paged,
  PAGE,
  rubText,
  type Column,
  type Report,
  type ReportContext,
  type ReportInput,
  type Row,
} from './types';

export type DifferenceKind = 'paid_here_not_at_bank' | 'at_bank_not_here' | 'missing_in_1c' | 'amount_differs';

export const DIFFERENCE_TITLES: Record<DifferenceKind, string> = {
  paid_here_not_at_bank: 'Оплачено в шлюзе, нет в банке',
  at_bank_not_here: 'Есть в банке, нет в шлюзе',
  missing_in_1c: 'Нет документа в 1С',
  amount_differs: 'Суммы расходятся',
};

export const RECONCILIATION_COLUMNS: Column[] = [
  { key: 'kind', title: 'Вид расхождения', type: 'text' },
  { key: 'description', title: 'Описание', type: 'text' },
  { key: 'date', title: 'Дата', type: 'date' },
  { key: 'organization', title: 'Организация', type: 'text' },
  { key: 'method', title: 'Способ оплаты', type: 'text' },
  { key: 'provider', title: 'Банк / провайдер', type: 'text' },
  { key: 'orderNumber', title: 'Заказ', type: 'text' },
  { key: 'paymentId', title: 'Платёж', type: 'text' },
  { key: 'gatewayAmount', title: 'Сумма в шлюзе', type: 'money' },
  { key: 'bankAmount', title: 'Сумма в банке', type: 'money' },
  { key: 'bankDate', title: 'Дата в банке', type: 'date' },
  { key: 'bankDocument', title: 'Документ банка', type: 'text' },
  { key: 'onecStatus', title: 'Статус в 1С', type: 'text' },
  { key: 'onecDocument', title: 'Документ 1С', type: 'text' },
];

/** Where a payment's 1C document is missing though it should be there (1C is connected and the payment is to be sent). */
const ONEC_MISSING = new Set(['pending', 'waiting_for_order', 'failed']);

const ONEC_TITLES: Record<string, string> = {
  not_configured: '1С не подключена',
  pending: 'ожидает отправки',
  waiting_for_order: 'ждёт заказ в 1С',
  delivered: 'проведён',
  failed: 'ошибка',
  skipped: 'не отправлялся',
};

function row(kind: DifferenceKind, r: Omit<Row, 'kind'>): Row {
  return { kind, ...r };
}

/** The differences of one payment paid here: with the bank's side, and with 1C. */
export function paymentDifferences(p: ReconciledPaymentRow): Row[] {
  const out: Row[] = [];
  const invoice = p.method === 'invoice';
  const bankAmount = invoice ? p.transfer_amount : p.bank_amount;
  const bankDate = invoice ? p.transfer_date : p.bank_at ? moscowDay(p.bank_at) : null;
  const bankDocument = invoice ? (p.transfer_number ? `п/п № ${p.transfer_number}` : null) : p.bank_ref;
  const base = {
    date: moscowDay(p.paid_at),
    organization: p.organization_id,
    method: methodTitle(p.method),
    provider: p.provider,
    orderNumber: p.order_number,
    paymentId: p.id,
    gatewayAmount: p.amount,
    bankAmount,
    bankDate,
    bankDocument,
    onecStatus: ONEC_TITLES[p.onec_status] ?? p.onec_status,
    onecDocument: p.onec_number ?? p.onec_document,
  };
  if (bankAmount === null) {
    out.push(
      row('paid_here_not_at_bank', {
        ...base,
        description: invoice ? 'оплата счёта без строки банковской выписки' : 'в реестре операций банка нет этой оплаты',
      }),
    );
  } else if (bankAmount !== p.amount) {
    out.push(
      row('amount_differs', {
        ...base,
        description: `в шлюзе ${rubText(p.amount)}, в банке ${rubText(bankAmount)}, разница ${rubText(p.amount - bankAmount)}`,
      }),
    );
  }
  if (ONEC_MISSING.has(p.onec_status) || (p.onec_status === 'delivered' && !p.onec_document)) {
    out.push(
      row('missing_in_1c', {
        ...base,
        description: `документа оплаты в 1С нет: ${ONEC_TITLES[p.onec_status] ?? p.onec_status}${p.onec_error ? ` (${p.onec_error.slice(0, 200)})` : ''}`,
      }),
    );
  }
  return out;
}

/**
 * The three-way reconciliation of a period: each payment paid here in the period against the bank's
 * side (the provider's registry of operations for cards and СБП, the statement lines applied to it for
 * invoices) and against 1C (the payment document it should have there); then what the bank holds for
 * the period that no paid payment here stands for (provider operations tied to nothing or to a payment
 * not paid here, incoming statement lines not settled). One row per difference; a payment that agrees
 * everywhere is not listed.
 */
export async function reconciliationReport(c: ReportContext, input: ReportInput): Promise<Report> {
  const r = input.range;
  const counts: Record<DifferenceKind, number> = { paid_here_not_at_bank: 0, at_bank_not_here: 0, missing_in_1c: 0, amount_differs: 0 };
  const totals: Row = { kind: 'Итого', description: '' };
  async function* rows(): AsyncIterable<Row> {
    const count = (x: Row): Row => {
      counts[x.kind as DifferenceKind] += 1;
      return x;
    };
    for await (const p of paged(
      (k: Key | null) => paymentDifferencesPage(c.db, r, k, PAGE),
      (x) => ({ at: x.paid_at, id: x.id }),
    ))
      for (const d of paymentDifferences(p)) yield count(d);
    for await (const o of paged(
      (k: Key | null) => bankOnlyOperationsPage(c.db, r, k, PAGE),
      (x) => ({ at: x.occurred_at, id: x.id }),
    )) {
      yield count(
        row('at_bank_not_here', {
          description: o.payment_id
            ? `оплата в банке, а платёж в шлюзе в статусе ${o.payment_status}`
            : `оплата в банке не связана с заказом${o.match_note ? `: ${o.match_note}` : ''}`,
          date: moscowDay(o.occurred_at),
          organization: o.organization_id,
          method: methodTitle(o.method),
          provider: o.provider,
          orderNumber: o.order_number,
          paymentId: o.payment_id,
          gatewayAmount: null,
          bankAmount: o.amount,
          bankDate: moscowDay(o.occurred_at),
          bankDocument: o.provider_ref,
          onecStatus: null,
          onecDocument: null,
        }),
      );
    }
    for await (const s of paged(
      (k: Key | null) => unsettledStatementLinesPage(c.db, r, k, PAGE),
      (x) => ({ at: x.doc_date, id: x.id }),
    )) {
      yield count(
        row('at_bank_not_here', {
          description:
            `поступление по выписке не разнесено: ${s.payer_name}${s.payer_inn ? `, ИНН ${s.payer_inn}` : ''}; ${s.purpose}`.slice(0, 500),
          date: s.doc_date,
          organization: s.organization_id,
          method: methodTitle('invoice'),
          provider: `счёт ${s.account}`,
          orderNumber: null,
          paymentId: null,
          gatewayAmount: null,
          bankAmount: s.amount,
          bankDate: s.bank_date ?? s.doc_date,
          bankDocument: `п/п № ${s.number} от ${s.doc_date}`,
          onecStatus: null,
          onecDocument: null,
        }),
      );
    }
    totals.description = Object.entries(counts)
      .map(([k, n]) => `${DIFFERENCE_TITLES[k as DifferenceKind]}: ${n}`)
      .join('; ');
  }
  return {
    report: 'reconciliation',
    title: 'Сверка: шлюз — банк — 1С',
    from: r.fromDay,
    to: r.toDay,
    columns: RECONCILIATION_COLUMNS,
    rows: rows(),
    totals: () => totals,
  };
}
