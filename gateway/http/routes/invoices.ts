import { createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { invoiceListSchema } from '../../../schemas/api';
import { daysBetween, dueDateOf } from '../../flows/invoices/due';
import { invoiceDocumentFor } from '../../flows/invoices/document';
import { InvoiceDocumentError } from '../../domain/invoice-document';
import { StatementFormatError } from '../../ports';
import { matchAndApply } from '../../flows/statements/apply';
import { ingestStatement } from '../../flows/statements/ingest';
import { notFound, unprocessable } from '../../errors';
import { moscowDate } from '../../flows/payments/invoice';
import { openInvoices } from '../../store/invoices';
import type { ApiRouter } from '../api';
import type { HttpDeps } from '../deps';
import { jsonBody, parseQuery, readBody } from '../middleware';
import { matchLineByHand, resolveLineByHand } from '../../flows/statements/review';
import { findStatementLines } from '../../store/statements';
import type { StatementLineRow, StatementMatchState } from '../../store/schema';

const invoicesQuery = z.object({
  state: z.enum(['open', 'overdue']).default('open'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

const documentQuery = z.object({ format: z.enum(['pdf', 'html']).optional() });
const statementQuery = z.object({ organization: z.string().optional() });

const LINE_STATES = ['new', 'matched', 'partial', 'overpaid', 'review', 'resolved'] as const;
const statementLinesQuery = z.object({
  state: z
    .string()
    .default('review')
    .transform((v) => (v === 'all' ? [] : v.split(',')))
    .pipe(z.array(z.enum(LINE_STATES)))
    .meta({ description: '`review` (default), `all`, or a comma-separated list of states' }),
  organization: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const statementLineSchema = z
  .object({
    id: z.string(),
    organization: z.string(),
    source: z.string().meta({ description: 'A statement file, a bank’s statement API, 1C’s own bank documents' }),
    account: z.string(),
    kind: z.string(),
    number: z.string(),
    date: z.string(),
    bankDate: z.string().nullable(),
    amount: z.number().int(),
    payer: z.object({ name: z.string(), inn: z.string().nullable(), kpp: z.string().nullable(), account: z.string().nullable() }),
    purpose: z.string(),
    uip: z.string().nullable(),
    match: z.object({
      state: z.enum(LINE_STATES),
      note: z.string().optional().meta({ description: 'Why it is in review, or what support wrote' }),
      invoices: z.array(z.object({ number: z.string(), amount: z.number().int(), remaining: z.number().int() })),
      advance: z.number().int().meta({ description: 'Paid beyond the invoices: the customer’s advance' }),
    }),
  })
  .meta({ id: 'StatementLine' });
const matchLineBody = z
  .object({
    invoices: z
      .array(z.string().trim().min(1).max(32))
      .min(1)
      .max(50)
      .meta({ description: 'Invoice numbers, in the order the amount goes to them' }),
    note: z.string().max(300).optional(),
  })
  .meta({ id: 'MatchStatementLine' });
const resolveLineBody = z.object({ note: z.string().trim().min(1).max(300) }).meta({ id: 'ResolveStatementLine' });

function statementLineView(l: StatementLineRow) {
  const shares = JSON.parse(l.allocations ?? '[]') as { number: string; amount: number; remaining: number }[];
  return {
    id: l.id,
    organization: l.organization_id,
    source: l.source,
    account: l.account,
    kind: l.kind,
    number: l.number,
    date: l.doc_date,
    bankDate: l.bank_date,
    amount: l.amount,
    payer: { name: l.payer_name, inn: l.payer_inn, kpp: l.payer_kpp, account: l.payer_account },
    purpose: l.purpose,
    uip: l.uip,
    match: {
      state: l.match_state,
      ...(l.match_note ? { note: l.match_note } : {}),
      invoices: shares.map((s) => ({ number: s.number, amount: s.amount, remaining: s.remaining })),
      advance: l.advance,
    },
  };
}
const statementRunSchema = z.object({
  seen: z.number().int().meta({ description: 'Incoming lines in the file' }),
  stored: z.number().int().meta({ description: 'Of them, lines not stored before' }),
  lines: z.number().int().meta({ description: 'Lines matched in this run (the new ones and any left before)' }),
  matched: z.number().int(),
  partial: z.number().int(),
  overpaid: z.number().int(),
  review: z.number().int(),
  paid: z.number().int().meta({ description: 'Invoices that became paid' }),
  parts: z
    .number()
    .int()
    .meta({ description: 'Partial transfers recorded as paid payments of their own (the rest of the invoice stays due)' }),
});

/** An invoice the document refuses (the organization's settings, the order's lines) is a 422 naming each problem. */
async function printable<T>(render: () => Promise<T>): Promise<T> {
  try {
    return await render();
  } catch (e) {
    if (!(e instanceof InvoiceDocumentError)) throw e;
    throw unprocessable(
      'invoice_not_printable',
      e.message,
      e.issues.map((i) => ({ path: i.path, message: i.message })),
    );
  }
}

/**
 * The printed «Счет на оплату» at its link (the token is the secret): a PDF, or the same invoice as a
 * page when a browser asks for HTML (`?format=` decides otherwise); and, for the accountant and
 * support, the invoices still to be paid: all open ones, or the overdue.
 */
export function invoiceRoutes(api: ApiRouter, d: HttpDeps, auth: Middleware): void {
  api.route(
    {
      method: 'get',
      path: '/invoices/:token',
      summary: 'The invoice («Счет на оплату»): PDF, or HTML for a browser (`format=pdf|html`)',
      tag: 'customer',
      auth: 'none',
      query: documentQuery,
      responses: {
        200: { description: 'The invoice', contentType: 'application/pdf' },
        404: { description: 'No such invoice' },
      },
    },
    async (ctx) => {
      if (!/^[A-Za-z0-9_-]{32}$/.test(ctx.params.token)) throw notFound('invoice');
      const q = parseQuery(ctx, documentQuery);
      const doc = await invoiceDocumentFor(d, ctx.params.token);
      const wantsHtml = q.format ? q.format === 'html' : ctx.accepts('application/pdf', 'text/html') === 'text/html';
      ctx.set('Cache-Control', 'private, no-store');
      ctx.set('X-Frame-Options', 'DENY');
      const file = `schet-${doc.number.replace(/[^0-9A-Za-z-]/g, '_')}`;
      if (wantsHtml) {
        const page = await printable(() => d.invoiceDocuments.html(doc));
        // the page's one style block, by its hash; no script, nothing from outside
        const style = /<style>([\s\S]*?)<\/style>/.exec(page)?.[1] ?? '';
        const hash = createHash('sha256').update(style).digest('base64');
        ctx.set(
          'Content-Security-Policy',
          `default-src 'none'; style-src 'sha256-${hash}'; img-src data:; base-uri 'none'; frame-ancestors 'none'`,
        );
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = page;
        return;
      }
      ctx.type = 'application/pdf';
      ctx.set('Content-Disposition', `inline; filename="${file}.pdf"`);
      ctx.body = await printable(() => d.invoiceDocuments.pdf(doc));
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/v1/admin/statements',
      summary:
        'Upload a bank statement (1CClientBankExchange, as the bank exports it for 1C): its incoming lines stored once, matched to the open invoices, the invoices paid in full made paid',
      tag: 'admin',
      auth: 'admin',
      query: statementQuery,
      responses: {
        200: { description: 'What the statement brought', schema: statementRunSchema },
        422: { description: 'Not a statement, or broken: nothing stored (the error names the line)' },
      },
    },
    auth,
    async (ctx) => {
      const q = parseQuery(ctx, statementQuery);
      const orgs = d.config.organizations.map((o) => o.id);
      const org = q.organization ?? (orgs.length === 1 ? orgs[0] : undefined);
      if (!org || !orgs.includes(org))
        throw unprocessable(
          q.organization ? 'unknown_organization' : 'organization_required',
          'name the organization whose account the statement is of',
          [{ path: 'organization', message: `one of ${orgs.join(', ')}` }],
        );
      const file = await readBody(ctx, 50 * 1024 * 1024);
      let stored;
      try {
        stored = await ingestStatement(d, org, d.statementFile(file));
      } catch (e) {
        if (!(e instanceof StatementFormatError)) throw e;
        throw unprocessable('statement_refused', `the statement is refused, nothing stored: ${e.message}`, [
          { path: `line ${e.line}`, message: e.message },
        ]);
      }
      const run = await matchAndApply(d, org);
      ctx.body = { seen: stored.seen, stored: stored.stored, ...run };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/v1/admin/statement-lines',
      summary: 'Incoming bank lines; by default the review list (unmatched, ambiguous, a payer other than the buyer, an annulled invoice)',
      tag: 'admin',
      auth: 'admin',
      query: statementLinesQuery,
      responses: { 200: { description: 'Lines, newest first', schema: z.object({ items: z.array(statementLineSchema) }) } },
    },
    auth,
    async (ctx) => {
      const q = parseQuery(ctx, statementLinesQuery);
      const organizations = q.organization ? [q.organization] : d.config.organizations.map((o) => o.id);
      const items = await findStatementLines(d.store.db, { organizations, states: q.state as StatementMatchState[], limit: q.limit });
      ctx.body = { items: items.map(statementLineView) };
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/v1/admin/statement-lines/:id/match',
      summary: 'Match a line from the review list to the invoices it pays (by number, the amount going to them in that order)',
      tag: 'admin',
      auth: 'admin',
      body: matchLineBody,
      responses: {
        200: { description: 'Matched and applied', schema: statementLineSchema },
        409: { description: 'The line is not in the review list' },
        422: { description: 'An invoice unknown or not to be paid: nothing changed' },
      },
    },
    auth,
    async (ctx) => {
      const body = await jsonBody(ctx, matchLineBody, 8192);
      const line = await matchLineByHand(d, ctx.params.id, body);
      ctx.state.log.info({ lineId: line.id, invoices: body.invoices }, 'statement line matched by hand');
      ctx.body = statementLineView(line);
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/v1/admin/statement-lines/:id/resolve',
      summary: 'Close a line of the review list that pays no invoice, with a note',
      tag: 'admin',
      auth: 'admin',
      body: resolveLineBody,
      responses: {
        200: { description: 'Closed', schema: statementLineSchema },
        409: { description: 'The line is not in the review list' },
      },
    },
    auth,
    async (ctx) => {
      const { note } = await jsonBody(ctx, resolveLineBody, 4096);
      const line = await resolveLineByHand(d, ctx.params.id, note);
      ctx.state.log.info({ lineId: line.id }, 'statement line closed by hand');
      ctx.body = statementLineView(line);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/v1/admin/invoices',
      summary: 'Invoices still to be paid (`state=overdue`: past their due date), the most overdue first',
      tag: 'admin',
      auth: 'admin',
      query: invoicesQuery,
      responses: { 200: { description: 'Invoices', schema: invoiceListSchema } },
    },
    auth,
    async (ctx) => {
      const q = parseQuery(ctx, invoicesQuery);
      const today = moscowDate(new Date().toISOString());
      const items = [];
      let after = '';
      for (;;) {
        const page = await openInvoices(d.store.db, 1000, after);
        if (page.length === 0) break;
        after = page[page.length - 1].invoice.id;
        for (const o of page) {
          const dueDate = dueDateOf(o);
          const overdue = dueDate !== null && dueDate < today;
          if (q.state === 'overdue' && !overdue) continue;
          const customer = JSON.parse(o.customer) as { name: string; inn?: string };
          items.push({
            organization: o.invoice.organization_id,
            number: o.invoice.number,
            date: o.invoice.date,
            dueDate,
            daysOverdue: overdue ? daysBetween(dueDate, today) : 0,
            amount: o.invoice.amount,
            paid: o.invoice.paid,
            left: o.amount,
            orderId: o.invoice.order_id,
            orderNumber: o.orderNumber,
            paymentId: o.invoice.payment_id,
            customer: { name: customer.name, inn: customer.inn ?? null },
          });
        }
      }
      items.sort((a, b) => b.daysOverdue - a.daysOverdue || (a.dueDate ?? '9').localeCompare(b.dueDate ?? '9'));
      ctx.body = { items: items.slice(0, q.limit) };
    },
  );
}
