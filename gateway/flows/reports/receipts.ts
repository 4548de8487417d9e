import { paymentReceiptsPage, type Key, type PaymentReceipts, type ReceiptBrief } from '../../store/reports';
import { moscowDay, methodTitle, PAGE, rubText, type Column, type Report, type ReportContext, type ReportInput, type Row } from './types';

export const RECEIPTS_COLUMNS: Column[] = [
  { key: 'date', title: 'Дата оплаты', type: 'date' },
  { key: 'organization', title: 'Организация', type: 'text' },
  { key: 'orderNumber', title: 'Заказ', type: 'text' },
  { key: 'paymentId', title: 'Платёж', type: 'text' },
  { key: 'method', title: 'Способ оплаты', type: 'text' },
  { key: 'amount', title: 'Сумма платежа', type: 'money' },
  { key: 'refunded', title: 'Возвращено', type: 'money' },
  { key: 'receiptKind', title: 'Чек', type: 'text' },
  { key: 'receiptStatus', title: 'Состояние чека', type: 'text' },
  { key: 'receiptTotal', title: 'Сумма чека', type: 'money' },
  { key: 'fiscalDate', title: 'Дата чека', type: 'date' },
  { key: 'fn', title: 'ФН', type: 'text' },
  { key: 'fd', title: 'ФД', type: 'text' },
  { key: 'fpd', title: 'ФПД', type: 'text' },
  { key: 'missing', title: 'Нет чека', type: 'count' },
  { key: 'note', title: 'Замечание', type: 'text' },
];

const KIND_TITLES: Record<string, string> = {
  prepayment: 'Предоплата 100%',
  advance: 'Аванс',
  settlement: 'Зачёт предоплаты',
  full: 'Полный расчёт',
  credit: 'Передача в кредит',
  credit_payment: 'Оплата кредита',
  refund: 'Возврат прихода',
  registrar: 'От сайта или 1С',
};

const STATUS_TITLES: Record<string, string> = { pending: 'в очереди', sent: 'отправлен', done: 'пробит', failed: 'ошибка' };

/**
 * The receipts register: each payment paid in the period (by the day it was paid) with every receipt
 * it has (its own and its refunds'), and a line for each receipt missing — a payment that needs one
 * (its organization registers receipts and it was paid by card or СБП) with none that is not failed, a
 * refund made with none.
 */
export async function receiptsReport(c: ReportContext, input: ReportInput): Promise<Report> {
  const r = input.range;
  const totals: Row = { date: null, organization: 'Итого', amount: 0, refunded: 0, receiptTotal: 0, missing: 0 };
  async function* rows(): AsyncIterable<Row> {
    // the pages read here, not through `paged`: one async step less for each of the many rows
    let key: Key | null = null;
    for (;;) {
      const payments = await paymentReceiptsPage(c.db, r, key, PAGE);
      yield* payments.flatMap(rowsOf);
      if (payments.length < PAGE) return;
      key = { at: payments[payments.length - 1].paid_at, id: payments[payments.length - 1].id };
    }
  }
  /** A line of the register: every column set, in one shape (many thousands of them are made). */
  function line(p: PaymentReceipts, day: string, method: string, x: ReceiptBrief | null, missing: number, note: string | null): Row {
    return {
      date: day,
      organization: p.organization_id,
      orderNumber: p.order_number,
      paymentId: p.id,
      method,
      amount: p.amount,
      refunded: p.refunded_amount,
      receiptKind: x ? `${KIND_TITLES[x.kind] ?? x.kind}${x.refund_id && x.kind !== 'refund' ? ' (возврат)' : ''}` : null,
      receiptStatus: x ? (STATUS_TITLES[x.status] ?? x.status) : null,
      receiptTotal: x ? x.total : null,
      fiscalDate: x?.fiscal_datetime ? moscowDay(x.fiscal_datetime) : null,
      fn: x ? x.fn_number : null,
      fd: x?.fiscal_document_number == null ? null : String(x.fiscal_document_number),
      fpd: x?.fiscal_document_attribute == null ? null : String(x.fiscal_document_attribute),
      missing,
      note,
    };
  }
  function rowsOf(p: PaymentReceipts): Row[] {
    const out: Row[] = [];
    const mine = p.receipts;
    const day = moscowDay(p.paid_at);
    const method = methodTitle(p.method);
    totals.amount = (totals.amount as number) + p.amount;
    totals.refunded = (totals.refunded as number) + p.refunded_amount;
    for (const x of mine) {
      totals.receiptTotal = (totals.receiptTotal as number) + (x.status === 'failed' ? 0 : x.total);
      out.push(line(p, day, method, x, 0, x.status === 'failed' ? (x.error ?? 'чек не пробит').slice(0, 300) : null));
    }
    if (!c.fiscalOrganizations.has(p.organization_id) || p.method === 'invoice') {
      if (mine.length === 0) out.push(line(p, day, method, null, 0, 'чек не требуется'));
      return out;
    }
    const missing = (note: string): Row => {
      totals.missing = (totals.missing as number) + 1;
      return line(p, day, method, null, 1, note);
    };
    let ownDone = false;
    for (const x of mine) if (x.refund_id === null && x.status !== 'failed') ownDone = true;
    if (!ownDone)
      out.push(missing(mine.some((x) => x.refund_id === null) ? 'чек прихода не пробит: только ошибочный' : 'нет чека прихода'));
    for (const f of p.refunds) {
      const theirs = mine.filter((x) => x.refund_id === f.id);
      if (!theirs.some((x) => x.status !== 'failed'))
        out.push(
          missing(
            `${theirs.length ? 'чек возврата не пробит' : 'нет чека возврата'} на ${rubText(f.amount)} от ${moscowDay(f.created_at)}`,
          ),
        );
    }
    return out;
  }
  return {
    report: 'receipts',
    title: 'Реестр чеков',
    from: r.fromDay,
    to: r.toDay,
    columns: RECEIPTS_COLUMNS,
    rows: rows(),
    totals: () => totals,
  };
}
