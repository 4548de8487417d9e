import type { Middleware } from 'koa';
import { z } from 'zod';
import { notFound } from '../../errors';
import { buildReport, isReportName, reportInput, REPORT_NAMES } from '../../flows/reports';
import { CONTENT_TYPES, reportFileName, reportStream } from '../../flows/reports/export';
import type { ApiRouter } from '../api';
import type { HttpDeps } from '../deps';
import { parseQuery } from '../middleware';

const day = (what: string) =>
  z
    .string()
    .max(10)
    .optional()
    .meta({ description: `${what}: a day as YYYY-MM-DD, Moscow time (UTC+3)` });

const reportQuery = z.object({
  from: day('First day of the period, included; default the first day of the month of `to`'),
  to: day('Last day of the period, included; default today. A period is at most 366 days'),
  asOf: day('`ageing` only: the day debts are counted at; default today'),
  organization: z.string().max(64).optional().meta({ description: 'One organization; default all' }),
  format: z.enum(['json', 'csv', 'xlsx']).default('json').meta({
    description:
      '`json`: money in integer kopecks; `csv`: UTF-8 with BOM, `;`-separated, CRLF, Russian headings, rubles with a decimal comma; `xlsx`: rubles as numbers formatted `#,##0.00`. Downloads are attachments named `<report>-<from>-<to>.<format>`',
  }),
});

const reportSchema = z
  .object({
    report: z.enum(REPORT_NAMES),
    title: z.string(),
    from: z.string(),
    to: z.string(),
    columns: z.array(z.object({ key: z.string(), title: z.string(), type: z.enum(['text', 'money', 'count', 'date']) })),
    rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.null()]))),
    totals: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).optional(),
  })
  .meta({ id: 'Report' });

/** Reports for accounting, read from the reporting store (`reports.databaseUrl`) or the main one. */
export function reportRoutes(api: ApiRouter, d: HttpDeps, auth: Middleware): void {
  api.route(
    {
      method: 'get',
      path: '/api/v1/admin/reports/:report',
      summary:
        'A report for a period of Moscow days: `payments` (the register by day, method, provider and organization), `reconciliation` (gateway vs bank vs 1C, one row per difference), `receipts` (each payment’s receipts and the missing ones), `ageing` (open B2B invoices by buyer and days overdue as of `asOf`), `review` (statement lines and provider operations waiting for support, with their age). JSON, CSV or XLSX, written as it is read',
      tag: 'admin',
      auth: 'admin',
      query: reportQuery,
      responses: {
        200: { description: 'The report (CSV and XLSX as attachments)', schema: reportSchema },
        400: { description: 'A bad day, from after to, a period over 366 days, an unknown organization' },
        404: { description: 'No such report' },
      },
    },
    auth,
    async (ctx) => {
      const name = ctx.params.report;
      if (!isReportName(name)) throw notFound('report');
      const q = parseQuery(ctx, reportQuery);
      const input = reportInput(d, q);
      const report = await buildReport(d, name, input);
      ctx.state.log.info({ report: name, from: report.from, to: report.to, format: q.format }, 'report requested');
      ctx.type = CONTENT_TYPES[q.format];
      if (q.format !== 'json') ctx.set('Content-Disposition', `attachment; filename="${reportFileName(report, q.format)}"`);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = reportStream(report, q.format);
    },
  );
}
