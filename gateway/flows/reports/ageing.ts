import { ageingInvoicesPage } from '../../store/reports';
import { daysBetween, paged, PAGE, type Column, type Report, type ReportContext, type ReportInput, type Row } from './types';

export const AGEING_COLUMNS: Column[] = [
  { key: 'organization', title: 'Организация', type: 'text' },
  { key: 'inn', title: 'ИНН', type: 'text' },
  { key: 'name', title: 'Покупатель', type: 'text' },
  { key: 'invoices', title: 'Счетов', type: 'count' },
  { key: 'notDue', title: 'Срок не наступил', type: 'money' },
  { key: 'overdue1to30', title: 'Просрочено 1–30 дн.', type: 'money' },
  { key: 'overdue31to60', title: 'Просрочено 31–60 дн.', type: 'money' },
  { key: 'overdueOver60', title: 'Просрочено более 60 дн.', type: 'money' },
  { key: 'total', title: 'Всего долг', type: 'money' },
  { key: 'creditLimit', title: 'Кредитный лимит', type: 'money' },
  { key: 'creditLeft', title: 'Остаток лимита', type: 'money' },
  { key: 'oldestDue', title: 'Самый ранний срок оплаты', type: 'date' },
];

const BUCKETS = ['notDue', 'overdue1to30', 'overdue31to60', 'overdueOver60'] as const;

/** The bucket of a debt by the days it is overdue on `asOf` (a deferral not started yet is not due). */
export function bucketOf(dueDate: string | null, asOf: string): (typeof BUCKETS)[number] {
  if (!dueDate) return 'notDue';
  const days = daysBetween(dueDate, asOf);
  if (days <= 0) return 'notDue';
  if (days <= 30) return 'overdue1to30';
  if (days <= 60) return 'overdue31to60';
  return 'overdueOver60';
}

function buyerName(customer: string): string {
  try {
    const c = JSON.parse(customer) as { name?: unknown };
    return typeof c.name === 'string' ? c.name : '';
  } catch {
    return '';
  }
}

/**
 * B2B receivables ageing as of a day: each buyer's (by ИНН) invoices open that day — dated by then and
 * not paid by the bank transfers dated by then — by how long they are overdue: not yet due, 1–30,
 * 31–60, over 60 days; with the credit limit of a customer that has one and what is left of it.
 */
export async function ageingReport(c: ReportContext, input: ReportInput): Promise<Report> {
  const asOf = input.asOf;
  const buyers = new Map<string, Row & { invoices: number }>();
  for await (const i of paged(
    (k: string | null) => ageingInvoicesPage(c.db, asOf, input.range.organization, k, PAGE),
    (x) => x.id,
  )) {
    const open = i.amount - i.paid_as_of;
    if (open <= 0) continue;
    const inn = i.customer_inn ?? '';
    const key = `${i.organization_id}\u0000${inn || `-${buyerName(i.customer)}`}`;
    let b = buyers.get(key);
    if (!b) {
      b = {
        organization: i.organization_id,
        inn: inn || null,
        name: i.customer_name ?? buyerName(i.customer),
        invoices: 0,
        notDue: 0,
        overdue1to30: 0,
        overdue31to60: 0,
        overdueOver60: 0,
        total: 0,
        creditLimit: i.credit_limit,
        creditLeft: null,
        oldestDue: null,
      };
      buyers.set(key, b);
    }
    b.invoices += 1;
    const bucket = bucketOf(i.due_date, asOf);
    b[bucket] = (b[bucket] as number) + open;
    b.total = (b.total as number) + open;
    if (i.due_date && (b.oldestDue === null || i.due_date < (b.oldestDue as string))) b.oldestDue = i.due_date;
  }
  const totals: Row = { organization: 'Итого', invoices: 0, notDue: 0, overdue1to30: 0, overdue31to60: 0, overdueOver60: 0, total: 0 };
  const rows = [...buyers.values()]
    .sort((a, b) => String(a.organization).localeCompare(String(b.organization)) || String(a.name).localeCompare(String(b.name)))
    .map((b) => {
      if (b.creditLimit !== null) b.creditLeft = (b.creditLimit as number) - (b.total as number);
      totals.invoices = (totals.invoices as number) + b.invoices;
      for (const k of [...BUCKETS, 'total'] as const) totals[k] = (totals[k] as number) + (b[k] as number);
      return b as Row;
    });
  return {
    report: 'ageing',
    title: `Дебиторская задолженность по срокам на ${asOf.split('-').reverse().join('.')}`,
    from: asOf,
    to: asOf,
    columns: AGEING_COLUMNS,
    rows: (async function* () {
      yield* rows;
    })(),
    totals: () => totals,
  };
}
