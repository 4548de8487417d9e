import { badRequest } from '../../errors';
import type { ReportRange } from '../../store/reports';
import type { FlowDeps } from '../deps';
import { ageingReport } from './ageing';
import { paymentsReport } from './payments';
import { receiptsReport } from './receipts';
import { reconciliationReport } from './reconciliation';
import { reviewReport } from './review';
import {
  moscowDay,
  moscowDayStart,
  nextDay,
  daysBetween,
  REPORT_NAMES,
  type Report,
  type ReportContext,
  type ReportInput,
  type ReportName,
} from './types';

export { REPORT_NAMES, type Report, type ReportName, type Column, type Row } from './types';

/** The longest period a report covers, in days. */
export const MAX_PERIOD_DAYS = 366;

const BUILDERS: Record<ReportName, (c: ReportContext, input: ReportInput) => Promise<Report>> = {
  payments: paymentsReport,
  reconciliation: reconciliationReport,
  receipts: receiptsReport,
  ageing: ageingReport,
  review: reviewReport,
};

export function isReportName(name: string): name is ReportName {
  return (REPORT_NAMES as readonly string[]).includes(name);
}

export interface ReportQuery {
  /** YYYY-MM-DD, Moscow days, both included. Default: the month of `to` from its first day; `to` defaults to today. */
  from?: string;
  to?: string;
  /** Ageing: the day the debts are counted at; default today. */
  asOf?: string;
  organization?: string;
}

function isDay(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const t = Date.parse(`${s}T00:00:00.000Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === s;
}

/**
 * The period and options of a report, checked: real days, from ≤ to, at most a year and a day, a
 * known organization. Bad input is a 400 with the field named.
 */
export function reportInput(d: Pick<FlowDeps, 'orgs'>, q: ReportQuery, now: Date = new Date()): ReportInput {
  const today = moscowDay(now.toISOString());
  for (const k of ['from', 'to', 'asOf'] as const) {
    const v = q[k];
    if (v !== undefined && !isDay(v))
      throw badRequest('bad_date', `${k} must be a day as YYYY-MM-DD`, [{ path: k, message: `not a day: ${v.slice(0, 40)}` }]);
  }
  const toDay = q.to ?? today;
  const fromDay = q.from ?? `${toDay.slice(0, 8)}01`;
  if (fromDay > toDay) throw badRequest('bad_period', 'from is after to', [{ path: 'from', message: `${fromDay} is after ${toDay}` }]);
  const days = daysBetween(fromDay, toDay) + 1;
  if (days > MAX_PERIOD_DAYS)
    throw badRequest('period_too_long', `a report covers at most ${MAX_PERIOD_DAYS} days`, [
      { path: 'to', message: `${days} days from ${fromDay} to ${toDay}` },
    ]);
  if (q.organization !== undefined && !d.orgs.has(q.organization))
    throw badRequest('unknown_organization', 'no such organization', [
      { path: 'organization', message: `unknown: ${q.organization.slice(0, 64)}` },
    ]);
  const range: ReportRange = {
    from: moscowDayStart(fromDay),
    to: moscowDayStart(nextDay(toDay)),
    fromDay,
    toDay,
    ...(q.organization ? { organization: q.organization } : {}),
  };
  return { range, asOf: q.asOf ?? today, now };
}

/** Builds a report: its heading at once, its rows read from the reporting store as they are consumed. */
export async function buildReport(
  d: Pick<FlowDeps, 'orgs' | 'store' | 'reportsStore'>,
  name: ReportName,
  input: ReportInput,
): Promise<Report> {
  const store = d.reportsStore ?? d.store;
  const fiscalOrganizations = new Set([...d.orgs.values()].filter((o) => o.fiscal.mode !== 'off').map((o) => o.id));
  return BUILDERS[name]({ db: store.db, fiscalOrganizations }, input);
}
