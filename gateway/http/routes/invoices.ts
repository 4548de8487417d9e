import type { Middleware } from 'koa';
import { z } from 'zod';
import { invoiceListSchema } from '../../../schemas/api';
import { daysBetween, dueDateOf } from '../../flows/invoices/due';
import { moscowDate } from '../../flows/payments/invoice';
import { openInvoices } from '../../store/invoices';
import type { ApiRouter } from '../api';
import type { HttpDeps } from '../deps';
import { parseQuery } from '../middleware';

const invoicesQuery = z.object({
  state: z.enum(['open', 'overdue']).default('open'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** B2B invoices still to be paid, for the accountant and support: all open ones, or the overdue. */
export function invoiceRoutes(api: ApiRouter, d: HttpDeps, auth: Middleware): void {
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
            amount: o.amount,
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
