import type { ScheduleDefinition } from '../../jobs/types';
import { nowIso } from '../../store/db';
import { ordersAwaitingShipment } from '../../store/receipts';
import type { FlowDeps } from '../deps';
import { queueShipmentReceipts } from './translator';
import { markShipped } from '../../store/orders';

/**
 * Orders read from 1C over OData for their shipment (the mapping's shipped statuses): an order
 * 1C shipped gets shipped_at and its shipment receipts in one transaction.
 */
export function shipmentsSchedule(d: FlowDeps): ScheduleDefinition | null {
  const orgs = d.config.organizations.filter((o) => o.fiscal.mode === 'translator' && d.onec.source(o.id)?.shipped);
  if (orgs.length === 0) return null;
  return {
    name: 'fiscal.shipments',
    everyMs: Math.min(...orgs.map((o) => o.fiscal.shipmentsEverySeconds)) * 1000,
    handler: async () => {
      for (const org of orgs) await readShipments(d, org.id);
    },
  };
}

export async function readShipments(d: FlowDeps, organizationId: string): Promise<number> {
  const source = d.onec.source(organizationId);
  if (!source?.shipped) return 0;
  let shipped = 0;
  for (const order of await ordersAwaitingShipment(d.store.db, organizationId, 90, 200)) {
    const s = await source.shipped({ ref: order.onec_ref, number: order.number }).catch((e) => {
      d.log.warn({ err: e, orderId: order.id }, 'reading the order status from 1C failed');
      return null;
    });
    if (!s?.shipped) continue;
    await d.store.db.transaction().execute(async (trx) => {
      const now = nowIso();
      if (!(await markShipped(trx, order.id, now, s.status))) return;
      await queueShipmentReceipts(d, trx, { ...order, shipped_at: now, onec_status_text: s.status });
      shipped++;
    });
  }
  if (shipped > 0) {
    d.log.info({ organization: organizationId, shipped }, 'shipments read from 1C');
    d.jobs.kick();
  }
  return shipped;
}
