import { receiptIssues, type ReceiptDoc } from '../../domain/receipt';
import { conflict, forbidden, notFound } from '../../errors';
import type { ScheduleDefinition } from '../../jobs/types';
import { nowIso } from '../../store/db';
import { getReceipt, ordersAwaitingShipment, updateReceipt } from '../../store/receipts';
import type { ReceiptRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { FISCAL_CHECK, FISCAL_REGISTER, queueShipmentReceipts } from './translator';

/** ATOL's callback for one receipt: the signature in its URL verified, then the result asked for (never taken from the callback). */
export async function handleRegisterCallback(
  d: FlowDeps,
  organizationId: string,
  params: Record<string, string>,
): Promise<'queued' | 'final'> {
  if (!d.orgs.has(organizationId)) throw notFound('organization');
  const r = params.receipt ? await getReceipt(d.store.db, params.receipt) : undefined;
  const reg = r && r.organization_id === organizationId ? d.fiscal.get(organizationId, r.register_id) : undefined;
  if (!r || !reg?.verifyCallback || reg.verifyCallback(params) !== r.id) {
    d.log.warn({ organization: organizationId, receipt: params.receipt?.slice(0, 40) }, 'register callback rejected');
    throw forbidden('invalid_signature', 'the callback signature does not verify');
  }
  if (r.status !== 'sent') return 'final';
  await d.store.db
    .transaction()
    .execute((trx) => d.jobs.enqueue(trx, FISCAL_CHECK, { receiptId: r.id }, { key: `fiscal:callback:${r.id}:${r.attempt}:${r.checks}` }));
  d.jobs.kick();
  return 'queued';
}

/**
 * Admin: a failed receipt is sent again as a new try (the register sees `<external_id>.<n>`: the
 * failed one was never registered); a pending one whose job died gets its job back; a sent one is
 * asked about now. A done receipt is never sent again.
 */
export async function retryReceipt(d: FlowDeps, retryJob: (jobId: string) => Promise<boolean>, id: string): Promise<ReceiptRow> {
  const r = await getReceipt(d.store.db, id);
  if (!r) throw notFound('receipt');
  if (r.status === 'done')
    throw conflict(
      'receipt_done',
      'the receipt is registered; a registered receipt is never sent again (make a refund or a correction instead)',
    );
  if (r.status === 'failed') {
    const issues = receiptIssues(JSON.parse(r.body) as ReceiptDoc);
    if (issues.length) throw conflict('receipt_invalid', 'the receipt still cannot be registered as it is', issues);
    await d.store.db.transaction().execute(async (trx) => {
      if (
        !(await updateReceipt(trx, r.id, ['failed'], {
          status: 'pending',
          attempt: r.attempt + 1,
          error: null,
          error_code: null,
          provider_uuid: null,
          sent_at: null,
          checks: 0,
        }))
      )
        return;
      await d.jobs.enqueue(trx, FISCAL_REGISTER, { receiptId: r.id }, { key: `fiscal:${r.id}:${r.attempt + 1}` });
    });
  } else if (r.status === 'pending') {
    const dead = await d.store.db
      .selectFrom('jobs')
      .select('id')
      .where('name', '=', FISCAL_REGISTER)
      .where('status', '=', 'dead')
      .where('payload', 'like', `%${r.id}%`)
      .execute();
    if (dead.length === 0) throw conflict('receipt_in_progress', 'the receipt is on its way to the register already');
    for (const j of dead) await retryJob(j.id);
  } else {
    await d.store.db
      .transaction()
      .execute((trx) => d.jobs.enqueue(trx, FISCAL_CHECK, { receiptId: r.id }, { key: `fiscal:admin-check:${r.id}:${nowIso()}` }));
  }
  d.jobs.kick();
  return (await getReceipt(d.store.db, r.id))!;
}

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
      const r = await trx
        .updateTable('orders')
        .set({ shipped_at: now, onec_status_text: s.status, updated_at: now })
        .where('id', '=', order.id)
        .where('shipped_at', 'is', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return;
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
