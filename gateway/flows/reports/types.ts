import type { Executor } from '../../store/db';
import type { ReportRange } from '../../store/reports';

export type ColumnType = 'text' | 'money' | 'count' | 'date';

export interface Column {
  key: string;
  /** What the accountant reads, in Russian. */
  title: string;
  type: ColumnType;
}

/** One line of a report: money in kopecks, counts as numbers, dates as YYYY-MM-DD (or an ISO instant), null for "not known". */
export type Row = Record<string, string | number | null>;

export const REPORT_NAMES = ['payments', 'reconciliation', 'receipts', 'ageing', 'review'] as const;
export type ReportName = (typeof REPORT_NAMES)[number];

/** A report being read: its heading, then its rows as they come (read a page at a time), then its totals. */
export interface Report {
  report: ReportName;
  title: string;
  from: string;
  to: string;
  columns: Column[];
  rows: AsyncIterable<Row>;
  /** The totals line, known once every row has been read; undefined when the report has none. */
  totals(): Row | undefined;
}

export interface ReportInput {
  range: ReportRange;
  /** Ageing: the day the debts are counted at (YYYY-MM-DD). */
  asOf: string;
  /** Now, for ages. */
  now: Date;
}

export interface ReportContext {
  db: Executor;
  /** Organizations whose receipts are registered (fiscal.mode is not off). */
  fiscalOrganizations: ReadonlySet<string>;
}

/** How many rows one query reads at a time. */
export const PAGE = 2000;

/** Every row of a keyset-paged query, a page at a time. */
export async function* paged<T, K>(read: (key: K | null) => Promise<T[]>, keyOf: (row: T) => K, size = PAGE): AsyncIterable<T> {
  let key: K | null = null;
  for (;;) {
    const rows = await read(key);
    for (const r of rows) yield r;
    if (rows.length < size) return;
    key = keyOf(rows[rows.length - 1]);
  }
}

export const METHOD_TITLES: Record<string, string> = { card: 'Карта', sbp: 'СБП', invoice: 'Счёт (безнал)' };
export const methodTitle = (m: string | null): string => (m ? (METHOD_TITLES[m] ?? m) : '');

const MOSCOW_MS = 3 * 3_600_000;

/** The UTC hour (YYYY-MM-DDTHH) whose Moscow day was asked last, and that day: reports ask in order. */
let lastHour = '-';
let lastDay = '';

/** The Moscow day (YYYY-MM-DD) of an ISO instant (Moscow is UTC+3 all year). */
export function moscowDay(iso: string): string {
  // an instant as the store keeps it (YYYY-MM-DDTHH:MM:SS.mmmZ): the day of its hour, as for the last one
  const utc = iso.length === 24 && iso.charCodeAt(23) === 90;
  if (utc && iso.startsWith(lastHour)) return lastDay;
  const day = new Date(Date.parse(iso) + MOSCOW_MS).toISOString().slice(0, 10);
  if (utc) {
    lastHour = iso.slice(0, 13);
    lastDay = day;
  }
  return day;
}

/** The Moscow day of a UTC hour given as YYYY-MM-DDTHH. */
export function moscowDayOfHour(hour: string): string {
  return moscowDay(`${hour}:00:00.000Z`);
}

/** The first instant (ISO UTC) of a Moscow day. */
export function moscowDayStart(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) - MOSCOW_MS).toISOString();
}

/** The day after (YYYY-MM-DD). */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** Whole days from one day to another (YYYY-MM-DD). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00.000Z`) - Date.parse(`${from}T00:00:00.000Z`)) / 86_400_000);
}

/** Kopecks as Russian text reads them: 39000 → "390,00 ₽". */
export function rubText(kopecks: number): string {
  const a = Math.abs(kopecks);
  return `${kopecks < 0 ? '-' : ''}${Math.floor(a / 100)},${String(a % 100).padStart(2, '0')} ₽`;
}
