import { checkTotals, fitLine } from '../../domain/order';
import { unprocessable } from '../../errors';
import { defineJob, type ScheduleDefinition } from '../../jobs/types';
import { type OneCOrder } from '../../ports';
import { nowIso } from '../../store/db';
import { findOrderByExternalId, getOrder, insertOrder, newOrderRow } from '../../store/orders';
import type { OrderRow } from '../../store/schema';
import { getSyncState, setSyncState } from '../../store/sync-state';
import type { FlowDeps } from '../deps';
import { canonicalJson, sha256 } from '../orders/create';
import { ensurePayLink } from '../orders/pay-links';

/** Writes a manager-created order's payment link back into 1C. */
export const writePayLinkJob = defineJob('onec.write-link', async (d: FlowDeps, { orderId }: { orderId: string }) => {
  const order = await getOrder(d.store.db, orderId);
  if (!order?.onec_ref) return;
  const source = d.onec.source(order.organization_id);
  if (!source) return;
  const { url } = await ensurePayLink(d, order);
  await source.writePaymentLink(order.onec_ref, url);
});

const WATERMARK_OVERLAP_MS = 24 * 3600_000;

/**
 * Pull: every organization reading orders from 1C gets the new ones (since its watermark, with a
 * day of overlap: a backdated document is still seen), each with a payment link written back.
 */
export function pullSchedule(d: FlowDeps): ScheduleDefinition | null {
  const orgs = d.config.organizations.filter((o) => o.onec.pull && d.onec.source(o.id));
  if (orgs.length === 0) return null;
  return {
    name: 'onec.pull-orders',
    everyMs: Math.min(...orgs.map((o) => o.onec.pull!.everySeconds)) * 1000,
    handler: async () => {
      for (const org of orgs) await pullOrders(d, org.id);
    },
  };
}

export async function pullOrders(d: FlowDeps, organizationId: string): Promise<number> {
  const org = d.orgs.get(organizationId)!;
  const source = d.onec.source(organizationId)!;
  const key = `onec:pull:${organizationId}`;
  const watermark = (await getSyncState(d.store.db, key)) ?? org.onec.pull?.since ?? nowIso(Date.now() - WATERMARK_OVERLAP_MS);
  const since = nowIso(Date.parse(watermark) - WATERMARK_OVERLAP_MS);
  let created = 0;
  let newest = watermark;
  for (let skip = 0; ; skip += 200) {
    const orders = await source.newOrders(since, { limit: 200, skip });
    for (const o of orders) {
      if ((await createOrderFromOneC(d, organizationId, o, { writeLinkBack: true })).created) created++;
      if (o.date > newest) newest = o.date;
    }
    if (orders.length < 200) break;
  }
  await setSyncState(d.store, key, newest);
  if (created > 0) d.log.info({ organization: organizationId, created }, 'orders picked up from 1C');
  return created;
}

/**
 * An order a manager created in 1C (pushed by 1C or pulled from it): its 1C ref is its external id.
 * The same ref again returns the order already made. Lines keep 1C's amounts (a discounted line's
 * price is made to fit). `writeLinkBack` queues writing the payment link into the 1C order.
 */
export async function createOrderFromOneC(
  d: FlowDeps,
  organizationId: string,
  o: OneCOrder,
  opts: { writeLinkBack: boolean; terms?: { type: 'prepay' } | { type: 'deferred'; days: number; from: 'invoice' | 'shipment' } },
): Promise<{ order: OrderRow; created: boolean }> {
  const existing = await findOrderByExternalId(d.store.db, organizationId, o.ref);
  if (existing) return { order: existing, created: false };
  const items = o.items.map(fitLine);
  const issues = checkTotals(items, o.total);
  if (issues.length > 0) {
    throw unprocessable(
      'totals_mismatch',
      `order ${o.number} from 1C: the lines do not add up to the total`,
      issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const content = { number: o.number, customer: o.customer, items, total: o.total };
  const row = newOrderRow({
    organization_id: organizationId,
    external_id: o.ref,
    number: o.number,
    source: 'onec',
    customer: JSON.stringify(o.customer),
    items: JSON.stringify(items),
    total: o.total,
    payment_terms: JSON.stringify(opts.terms ?? { type: 'prepay' }),
    request_hash: sha256(canonicalJson(content)),
    onec_ref: o.ref,
  });
  try {
    await d.store.db.transaction().execute(async (trx) => {
      await insertOrder(trx, row);
      if (opts.writeLinkBack) await d.jobs.enqueue(trx, writePayLinkJob, { orderId: row.id }, { key: `onec-link:${row.id}` });
    });
  } catch (e) {
    const raced = await findOrderByExternalId(d.store.db, organizationId, o.ref);
    if (raced) return { order: raced, created: false };
    throw e;
  }
  d.jobs.kick();
  return { order: row, created: true };
}
