import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { Column, Report, Row } from './types';

export type ReportFormat = 'json' | 'csv' | 'xlsx';

export const CONTENT_TYPES: Record<ReportFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** `payments-2026-11-01-2026-11-30.xlsx` */
export function reportFileName(r: Pick<Report, 'report' | 'from' | 'to'>, format: ReportFormat): string {
  return `${r.report}-${r.from}-${r.to}.${format}`;
}

/** Kopecks as rubles with two decimals and a decimal comma (what Russian Excel reads as a number): 150000 → "1500,00". */
export function rublesText(kopecks: number): string {
  const sign = kopecks < 0 ? '-' : '';
  const a = Math.abs(kopecks);
  return `${sign}${Math.floor(a / 100)},${String(a % 100).padStart(2, '0')}`;
}

/** YYYY-MM-DD → DD.MM.YYYY */
const ruDate = (v: string): string => (/^\d{4}-\d{2}-\d{2}/.test(v) ? `${v.slice(8, 10)}.${v.slice(5, 7)}.${v.slice(0, 4)}` : v);

function csvCell(c: Column, v: Row[string] | undefined): string {
  if (v === null || v === undefined || v === '') return '';
  let s: string;
  if (c.type === 'money' && typeof v === 'number') s = rublesText(v);
  else if (c.type === 'date' && typeof v === 'string') s = ruDate(v);
  else s = String(v);
  // a text cell that a spreadsheet would take for a formula is kept as text
  if (c.type === 'text' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[";\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const csvLine = (columns: Column[], row: Row): string => `${columns.map((c) => csvCell(c, row[c.key])).join(';')}\r\n`;

/** The report as CSV the way Russian Excel opens it: UTF-8 with a BOM, `;` between cells, CRLF, Russian headings; written as its rows are read. */
export function csvStream(r: Report): Readable {
  async function* lines(): AsyncIterable<string> {
    yield `\ufeff${r.columns.map((c) => csvCell({ ...c, type: 'text' }, c.title)).join(';')}\r\n`;
    let chunk = '';
    for await (const row of r.rows) {
      chunk += csvLine(r.columns, row);
      if (chunk.length >= 64 * 1024) {
        yield chunk;
        chunk = '';
      }
    }
    const totals = r.totals();
    if (totals) chunk += csvLine(r.columns, totals);
    if (chunk) yield chunk;
  }
  return Readable.from(lines(), { objectMode: false });
}

/** The report as JSON (money in kopecks), written as its rows are read. */
export function jsonStream(r: Report): Readable {
  async function* parts(): AsyncIterable<string> {
    yield `{"report":${JSON.stringify(r.report)},"title":${JSON.stringify(r.title)},"from":${JSON.stringify(r.from)},"to":${JSON.stringify(r.to)},"columns":${JSON.stringify(r.columns)},"rows":[`;
    let chunk = '';
    let first = true;
    for await (const row of r.rows) {
      chunk += (first ? '' : ',') + JSON.stringify(row);
      first = false;
      if (chunk.length >= 64 * 1024) {
        yield chunk;
        chunk = '';
      }
    }
    const totals = r.totals();
    yield `${chunk}]${totals ? `,"totals":${JSON.stringify(totals)}` : ''}}`;
  }
  return Readable.from(parts(), { objectMode: false });
}

const MONEY_FORMAT = '#,##0.00';
const DATE_FORMAT = 'dd.mm.yyyy';

function xlsxValue(c: Column, v: Row[string] | undefined): ExcelJS.CellValue {
  if (v === null || v === undefined) return null;
  if (c.type === 'money' && typeof v === 'number') return v / 100;
  if (c.type === 'date' && typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return new Date(`${v}T00:00:00.000Z`);
  return v;
}

/** A worksheet's name: at most 31 characters, none of []:*?/\ */
const sheetName = (title: string): string =>
  title
    .replace(/[[\]:*?/\\]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 31);

/**
 * The report as an XLSX workbook through exceljs's streaming writer: one sheet, the headings in the
 * first row, money as numbers in rubles with the `#,##0.00` format, dates as dates; each row is
 * committed (written out) as it is read.
 */
export function xlsxStream(r: Report): Readable {
  const out = new PassThrough();
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const ws = wb.addWorksheet(sheetName(r.title));
  ws.columns = r.columns.map((c) => ({
    header: c.title,
    key: c.key,
    width: c.type === 'text' ? 24 : c.type === 'date' ? 12 : 16,
    ...(c.type === 'money' ? { style: { numFmt: MONEY_FORMAT } } : c.type === 'date' ? { style: { numFmt: DATE_FORMAT } } : {}),
  }));
  ws.getRow(1).font = { bold: true };
  const write = (row: Row, bold = false) => {
    const added = ws.addRow(r.columns.map((c) => xlsxValue(c, row[c.key])));
    if (bold) added.font = { bold: true };
    added.commit();
  };
  void (async () => {
    let n = 0;
    for await (const row of r.rows) {
      write(row);
      // a reader slower than the store: wait for it rather than hold the workbook in memory
      if (++n % 500 === 0 && out.writableLength > out.writableHighWaterMark * 16) await once(out, 'drain');
    }
    const totals = r.totals();
    if (totals) write(totals, true);
    ws.commit();
    await wb.commit();
  })().catch((e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))));
  return out;
}

/** The report in the format asked for, as a stream of bytes. */
export function reportStream(r: Report, format: ReportFormat): Readable {
  return format === 'csv' ? csvStream(r) : format === 'xlsx' ? xlsxStream(r) : jsonStream(r);
}
