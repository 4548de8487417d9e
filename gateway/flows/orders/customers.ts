import type { PutCustomerInput } from '../../../schemas/api';
import { getCustomer, putCustomer } from '../../store/customers';
import { invoicesOfCustomer } from '../../store/onec-invoices';
import { getOrder } from '../../store/orders';
import type { FlowDeps } from '../deps';
import { moscowDate } from '../payments/invoice';
import { ensurePayLink } from './pay-links';
import { unpaidDeferred } from './terms';

/** Records a customer's terms (the gateway's own, for a base without 1C contracts to read them from). */
export async function putCustomerTerms(d: FlowDeps, organizationId: string, inn: string, input: PutCustomerInput): Promise<void> {
  const t = input.terms;
  await putCustomer(d.store.db, {
    organization_id: organizationId,
    inn,
    kpp: input.kpp ?? null,
    name: input.name,
    deferred_days: t.deferredDays,
    deferred_from: t.deferredDays ? t.from : null,
    credit_limit: t.creditLimit,
    block_overdue: t.blockOverdue ? 1 : 0,
  });
}

/** A customer's terms, what it owes on deferred orders, what is overdue. */
export async function customerView(d: FlowDeps, organizationId: string, inn: string) {
  const c = await getCustomer(d.store.db, organizationId, inn);
  const unpaid = await unpaidDeferred(d, organizationId, inn);
  const today = moscowDate(new Date().toISOString());
  const owed = unpaid.reduce((s, o) => s + o.due, 0);
  const limit = c?.credit_limit ?? null;
  return {
    inn,
    kpp: c?.kpp ?? null,
    name: c?.name ?? null,
    terms: {
      deferredDays: c?.deferred_days ?? null,
      from: c?.deferred_from ?? 'shipment',
      creditLimit: limit,
      blockOverdue: c ? c.block_overdue === 1 : true,
    },
    owed,
    available: limit === null ? null : Math.max(0, limit - owed),
    unpaid: unpaid.map((o) => ({
      orderNumber: o.number,
      due: o.due,
      dueDate: o.dueDate,
      overdue: o.dueDate !== null && o.dueDate < today,
      invoice: o.invoice ?? null,
    })),
  };
}

/**
 * A customer's invoices for its B2B cabinet: the gateway's own and those made in 1C (with 1C's
 * number), each with what is paid, its state, the printed invoice and, while something is left to
 * pay, the order's payment page.
 */
export async function customerInvoices(d: FlowDeps, organizationId: string, inn: string) {
  const today = moscowDate(new Date().toISOString());
  const base = d.config.server.publicUrl.replace(/\/$/, '');
  const out = [];
  for (const r of await invoicesOfCustomer(d.store.db, organizationId, inn)) {
    const i = r.invoice;
    const paid = r.paymentStatus === 'paid' || r.paymentStatus === 'refunded' || r.paymentStatus === 'partially_refunded';
    const open = r.paymentStatus === 'pending';
    const state = paid ? 'paid' : !open ? 'annulled' : i.due_date !== null && i.due_date < today ? 'overdue' : 'open';
    let payUrl: string | null = null;
    if (open) {
      const order = await getOrder(d.store.db, r.orderId);
      if (order) payUrl = (await ensurePayLink(d, order)).url;
    }
    out.push({
      id: i.id,
      number: i.number,
      date: i.date,
      amount: i.amount,
      paid: paid ? i.amount : i.paid,
      dueDate: i.due_date,
      state,
      // a manager's 1C invoice counts in a series of its own (negative); the gateway's may be mirrored in 1C
      source: i.seq < 0 ? 'onec' : 'gateway',
      orderId: r.orderId,
      orderNumber: r.orderNumber,
      paymentId: i.payment_id,
      document: `${base}/invoices/${i.token}`,
      payUrl,
    } as const);
  }
  return { inn, invoices: out };
}
