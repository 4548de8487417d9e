import type { PutCustomerInput } from '../../../schemas/api';
import { getCustomer, putCustomer } from '../../store/customers';
import type { FlowDeps } from '../deps';
import { moscowDate } from '../payments/invoice';
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
