import type { CreateOrderInput } from '../../../schemas/api';
import { creditRefusal, type UnpaidOrder } from '../../domain/credit';
import type { Kopecks } from '../../domain/money';
import { unprocessable } from '../../errors';
import { getCustomer, unpaidOrdersOf } from '../../store/customers';
import type { OneCContractTerms } from '../../ports';
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

/** How long a buyer's contract read from 1C is used before it is read again. */
const CONTRACT_TTL_MS = 60_000;
/** 1C unreachable: the answer (none) is kept this long, so the next orders do not wait for it again. */
const CONTRACT_FAILURE_TTL_MS = 30_000;
/** An order does not wait longer than this for 1C: past it, the gateway's own terms apply. */
const CONTRACT_WAIT_MS = 5_000;

type CachedTerms = { until: number; terms: OneCContractTerms | null };
const contractCache = new WeakMap<object, Map<string, CachedTerms>>();

/**
 * The buyer's terms from its contract in 1C, when the organization's base is connected and its mapping
 * describes contracts; kept a minute. 1C unreachable (or slower than a few seconds): none, with a
 * warning in the log — the gateway's own terms apply (prepay for an order that names none).
 */
export async function contractTermsOf(
  d: FlowDeps,
  organizationId: string,
  buyer: { inn: string; kpp?: string | null },
): Promise<OneCContractTerms | null> {
  const source = d.onec.contracts(organizationId);
  if (!source) return null;
  let cache = contractCache.get(d.onec);
  if (!cache) contractCache.set(d.onec, (cache = new Map()));
  const key = `${organizationId}:${buyer.inn}:${buyer.kpp ?? ''}`;
  const hit = cache.get(key);
  if (hit && hit.until > Date.now()) return hit.terms;
  let timer: NodeJS.Timeout | undefined;
  try {
    const terms = await Promise.race([
      source.termsOf(buyer),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from 1C in ${CONTRACT_WAIT_MS} ms`)), CONTRACT_WAIT_MS);
      }),
    ]);
    cache.set(key, { until: Date.now() + CONTRACT_TTL_MS, terms });
    return terms;
  } catch (e) {
    d.log.warn(
      { organization: organizationId, inn: buyer.inn, err: (e as Error).message },
      'the buyer’s contract could not be read from 1C: the gateway’s own terms apply',
    );
    cache.set(key, { until: Date.now() + CONTRACT_FAILURE_TTL_MS, terms: null });
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The terms a new site order gets: its own `paymentTerms`, else the customer's from the customers
 * API, else those of the buyer's contract in 1C (when a base is connected), else prepay. Deferred terms
 * are refused (422 with a reason a site can show, nothing created) for an individual when the
 * organization does not defer for individuals, past the customer's credit limit, or while an invoice of
 * the customer is overdue — the limit and the overdue block being the customers API's, else the 1C
 * contract's (УТ: ОграничиватьСуммуЗадолженности/ДопустимаяСуммаЗадолженности,
 * ЗапрещаетсяПросроченнаяЗадолженность; УНФ has neither: no limit, overdue blocks).
 */
export async function termsFor(d: FlowDeps, organizationId: string, input: CreateOrderInput): Promise<Terms> {
  const inn = input.customer.inn;
  const record = inn ? await getCustomer(d.store.db, organizationId, inn) : undefined;
  const contract =
    inn && !record && input.paymentTerms?.type !== 'prepay'
      ? await contractTermsOf(d, organizationId, { inn, kpp: input.customer.kpp })
      : null;
  const terms: Terms =
    input.paymentTerms ??
    (record?.deferred_days
      ? { type: 'deferred', days: record.deferred_days, from: record.deferred_from ?? 'shipment' }
      : contract?.deferredDays
        ? { type: 'deferred', days: contract.deferredDays, from: 'shipment' }
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
  const credit = record
    ? { creditLimit: (record.credit_limit ?? null) as Kopecks | null, blockOverdue: record.block_overdue === 1 }
    : { creditLimit: contract?.creditLimit ?? null, blockOverdue: contract?.blockOverdue ?? true };
  const refusal = creditRefusal(
    credit,
    await unpaidDeferred(d, organizationId, inn),
    input.total as Kopecks,
    moscowDate(new Date().toISOString()),
  );
  if (refusal) {
    const where = record ? 'the customers API' : contract ? `the 1C contract «${contract.contract}»` : 'the gateway’s defaults';
    throw unprocessable(refusal.code, refusal.message, [{ path: 'paymentTerms', message: `${refusal.detail} (terms of ${where})` }]);
  }
  return terms;
}
