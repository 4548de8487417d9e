import { paidByHour, refundedByHour } from '../../store/reports';
import { methodTitle, moscowDayOfHour, type Column, type Report, type ReportContext, type ReportInput, type Row } from './types';

export const PAYMENTS_COLUMNS: Column[] = [
  { key: 'date', title: 'Дата', type: 'date' },
  { key: 'organization', title: 'Организация', type: 'text' },
  { key: 'method', title: 'Способ оплаты', type: 'text' },
  { key: 'provider', title: 'Банк / провайдер', type: 'text' },
  { key: 'count', title: 'Оплат', type: 'count' },
  { key: 'paid', title: 'Оплачено', type: 'money' },
  { key: 'refundCount', title: 'Возвратов', type: 'count' },
  { key: 'refunded', title: 'Возвращено', type: 'money' },
  { key: 'net', title: 'Итого за вычетом возвратов', type: 'money' },
  { key: 'fee', title: 'Комиссия банка', type: 'money' },
];

interface Group {
  date: string;
  organization: string;
  method: string;
  provider: string;
  count: number;
  paid: number;
  refundCount: number;
  refunded: number;
  fee: number | null;
}

const addFee = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : a + b);

/**
 * The payments register: per Moscow day, organization, method and provider, the payments paid that day
 * (count and sum), the refunds made that day (count and sum), the net, and the fee the bank withheld
 * where it reports one (empty where it reports none). Payments are counted on the day they were paid,
 * refunds on the day they were made, each under its payment's method and provider.
 */
export async function paymentsReport(c: ReportContext, input: ReportInput): Promise<Report> {
  const [paid, refunded] = await Promise.all([paidByHour(c.db, input.range), refundedByHour(c.db, input.range)]);
  const groups = new Map<string, Group>();
  const groupOf = (hour: string, organization: string, method: string, provider: string): Group => {
    const date = moscowDayOfHour(hour);
    const key = `${date}\u0000${organization}\u0000${method}\u0000${provider}`;
    let g = groups.get(key);
    if (!g) {
      g = { date, organization, method, provider, count: 0, paid: 0, refundCount: 0, refunded: 0, fee: null };
      groups.set(key, g);
    }
    return g;
  };
  for (const p of paid) {
    const g = groupOf(p.hour, p.organization_id, p.method, p.provider);
    g.count += p.count;
    g.paid += p.paid;
    g.fee = addFee(g.fee, p.fee);
  }
  for (const r of refunded) {
    const g = groupOf(r.hour, r.organization_id, r.method, r.provider);
    g.refundCount += r.count;
    g.refunded += r.refunded;
  }
  const sorted = [...groups.values()].sort(
    (a, b) =>
      a.date.localeCompare(b.date) ||
      a.organization.localeCompare(b.organization) ||
      a.method.localeCompare(b.method) ||
      a.provider.localeCompare(b.provider),
  );
  const totals: Row = {
    date: null,
    organization: 'Итого',
    method: null,
    provider: null,
    count: 0,
    paid: 0,
    refundCount: 0,
    refunded: 0,
    net: 0,
    fee: null,
  };
  const rows: Row[] = sorted.map((g) => {
    totals.count = (totals.count as number) + g.count;
    totals.paid = (totals.paid as number) + g.paid;
    totals.refundCount = (totals.refundCount as number) + g.refundCount;
    totals.refunded = (totals.refunded as number) + g.refunded;
    totals.net = (totals.net as number) + g.paid - g.refunded;
    totals.fee = addFee(totals.fee as number | null, g.fee);
    return { ...g, method: methodTitle(g.method), net: g.paid - g.refunded };
  });
  return {
    report: 'payments',
    title: 'Реестр платежей',
    from: input.range.fromDay,
    to: input.range.toDay,
    columns: PAYMENTS_COLUMNS,
    rows: (async function* () {
      yield* rows;
    })(),
    totals: () => totals,
  };
}
