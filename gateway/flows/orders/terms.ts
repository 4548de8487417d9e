import type { CreateOrderInput } from '../../../schemas/api';
import { creditRefusal, type UnpaidOrder } from '../../domain/credit';
import type { Kopecks } from '../../domain/money';
import { unprocessable } from '../../errors';
import { getCustomer, unpaidOrdersOf } from '../../store/customers';
import type { FlowDeps } from '../deps';
import { addDays, moscowDate } from '../payments/invoice';

type Terms = NonNullable<CreateOrderInput['paymentTerms']>;

/** A customer's deferred orders not paid in full, each with the date it is due by (when known). */
export async function unpaidDeferred(d: FlowDeps, organizationId: string, inn: string): Promise<UnpaidOrder[]> {
  const out: UnpaidOrder[] = [];
  for (const { order, invoice } of await unpaidOrdersOf(d.store.db, organizationId, inn)) {
    const terms = JSON.parse(order.payment_terms) as Terms;
    if (terms.type !== 'deferred') continue;
    const dueDate =
      invoice?.due_date ?? (terms.from !== 'invoice' && order.shipped_at ? addDays(moscowDate(order.shipped_at), terms.days) : null);
    out.push({
      number: order.number,
      due: (order.total - order.paid_amount) as Kopecks,
      dueDate,
      ...(invoice ? { invoice: { number: invoice.number, date: invoice.date } } : {}),
    });
  }
  return out;
}

/**
 * The terms a new site order gets: its own `paymentTerms`, else the customer's from the customers
 * API, else prepay. Deferred terms are refused (422 with a reason a site can show, nothing created)
 * for an individual when the organization does not defer for individuals, past the customer's
 * credit limit, or while an invoice of the customer is overdue.
 */
export async function termsFor(d: FlowDeps, organizationId: string, input: CreateOrderInput): Promise<Terms> {
  const inn = input.customer.inn;
  const record = inn ? await getCustomer(d.store.db, organizationId, inn) : undefined;
  const terms: Terms =
    input.paymentTerms ??
    (record?.deferred_days
      ? { type: 'deferred', days: record.deferred_days, from: record.deferred_from ?? 'shipment' }
      : { type: 'prepay' });
  if (terms.type !== 'deferred') return terms;
  const org = d.orgs.get(organizationId)!;
  const individual = input.customer.type === 'individual' || inn?.length === 12;
  if (individual && !org.deferredForIndividuals) {
    throw unprocessable('deferred_not_allowed', 'Отсрочка платежа для физических лиц и ИП не предоставляется: оплатите заказ сразу.', [
      { path: 'paymentTerms', message: 'organizations[].deferredForIndividuals is off for this organization' },
    ]);
  }
  if (!inn) return terms;
  const refusal = creditRefusal(
    { creditLimit: (record?.credit_limit ?? null) as Kopecks | null, blockOverdue: record ? record.block_overdue === 1 : true },
    await unpaidDeferred(d, organizationId, inn),
    input.total as Kopecks,
    moscowDate(new Date().toISOString()),
  );
  if (refusal) throw unprocessable(refusal.code, refusal.message, [{ path: 'paymentTerms', message: refusal.detail }]);
  return terms;
}
