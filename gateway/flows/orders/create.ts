import { createHash } from 'node:crypto';
import type { CreateOrderInput } from '../../../schemas/api';
import { checkTotals } from '../../domain/order';
import { conflict, notFound, unprocessable } from '../../errors';
import { findOrderByExternalId, getOrder, insertOrder, newOrderRow } from '../../store/orders';
import type { OrderRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { numberLength, servedByExchange, SITE_NUMBER_MAX } from '../exchange/session';
import { orderReceiptIssues } from '../fiscal/translator';
import { termsFor } from './terms';

/** JSON with sorted keys: the same content hashes the same whatever the key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Creates an order, or returns the existing one when the same externalId comes again with the
 * same content (a site retrying); the same externalId with other content is a conflict.
 */
export async function createOrder(
  d: FlowDeps,
  organizationId: string,
  input: CreateOrderInput,
  source: 'site' | 'onec' = 'site',
): Promise<{ order: OrderRow; created: boolean }> {
  const issues = checkTotals(input.items, input.total);
  if (issues.length > 0) {
    throw unprocessable(
      'totals_mismatch',
      'order amounts do not add up',
      issues.map((i) => ({
        path: i.path
          .map((p) => (typeof p === 'number' ? `[${p}]` : p))
          .join('.')
          .replace(/\.\[/g, '['),
        message: i.message,
      })),
    );
  }
  if (source === 'site' && numberLength(input.number) > SITE_NUMBER_MAX && servedByExchange(d.config, organizationId)) {
    throw unprocessable(
      'order_number_too_long_for_1c',
      `the order number must be at most ${SITE_NUMBER_MAX} characters: 1C ("Обмен с сайтом") finds a site order again only by its number, kept in ${SITE_NUMBER_MAX} characters, and would create a new order at every exchange`,
      [{ path: 'number', message: `${numberLength(input.number)} characters, at most ${SITE_NUMBER_MAX}` }],
    );
  }
  const { organization: _org, ...content } = input;
  const hash = sha256(canonicalJson(content));
  const existing = await findOrderByExternalId(d.store.db, organizationId, input.externalId);
  if (existing) return sameOrConflict(existing, hash);
  orderReceiptIssues(d, organizationId, input);
  // 1C keeps its own credit control over the orders it makes
  const paymentTerms = source === 'site' ? await termsFor(d, organizationId, input) : (input.paymentTerms ?? { type: 'prepay' });

  const row = newOrderRow({
    organization_id: organizationId,
    external_id: input.externalId,
    number: input.number,
    source,
    customer: JSON.stringify(input.customer),
    items: JSON.stringify(input.items),
    total: input.total,
    payment_terms: JSON.stringify(paymentTerms),
    request_hash: hash,
    onec_ref: input.onecRef ?? null,
  });
  try {
    await insertOrder(d.store.db, row);
  } catch (e) {
    // two requests with the same externalId at once: the unique constraint decides
    const raced = await findOrderByExternalId(d.store.db, organizationId, input.externalId);
    if (raced) return sameOrConflict(raced, hash);
    throw e;
  }
  return { order: row, created: true };
}

function sameOrConflict(existing: OrderRow, hash: string): { order: OrderRow; created: boolean } {
  if (existing.request_hash === hash) return { order: existing, created: false };
  throw conflict('external_id_conflict', `an order with externalId "${existing.external_id}" already exists with different content`, [
    { path: 'externalId', message: `belongs to order ${existing.id}` },
  ]);
}

export async function getOrderFor(d: FlowDeps, organizations: ReadonlySet<string>, id: string): Promise<OrderRow> {
  const order = await getOrder(d.store.db, id);
  if (!order || !organizations.has(order.organization_id)) throw notFound('order');
  return order;
}
