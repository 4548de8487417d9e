import { formatRub } from '../../domain/money';
import { checkTotals, fitLine } from '../../domain/order';
import { unprocessable } from '../../errors';
import { PermanentJobError, type JobDefinition, type ScheduleDefinition } from '../../jobs/types';
import { OneCError, type OneCOrder, type OneCOrderSource, type OneCPaymentDoc, type OneCSink } from '../../ports';
import { nowIso, type Executor } from '../../store/db';
import { findOrderByExternalId, getOrder, insertOrder } from '../../store/orders';
import { getPayment, getRefund, paymentAttempts } from '../../store/payments';
import type { OrderRow, PaymentRow, RefundRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { canonicalJson, orderRow, sha256 } from '../orders/create';
import { ensurePayLink } from '../orders/pay-links';

export const ONEC_DELIVER = 'onec.deliver';
export const ONEC_WRITE_LINK = 'onec.write-link';

/** The 1C side of each organization: where payments go, where manager-created orders come from. */
export class OneCBases {
  constructor(
    private readonly sinks: Map<string, OneCSink>,
    private readonly sources: Map<string, OneCOrderSource>,
  ) {}
  sink(organizationId: string): OneCSink | undefined {
    return this.sinks.get(organizationId);
  }
  source(organizationId: string): OneCOrderSource | undefined {
    return this.sources.get(organizationId);
  }
  all(): [string, OneCSink][] {
    return [...this.sinks];
  }
}

/** Queues a paid payment (or a refund) for 1C, in the transaction that made it so. */
export async function queueDelivery(
  d: FlowDeps,
  trx: Executor,
  what: { payment: PaymentRow } | { refund: RefundRow; payment: PaymentRow },
): Promise<void> {
  const org = d.orgs.get(what.payment.organization_id);
  if (!org || !d.onec.sink(org.id)) return;
  if ('refund' in what) {
    if (!org.onec.refunds) return;
    await trx.updateTable('refunds').set({ onec_status: 'pending', updated_at: nowIso() }).where('id', '=', what.refund.id).execute();
    await d.jobs.enqueue(trx, ONEC_DELIVER, { refundId: what.refund.id }, { key: `onec:refund:${what.refund.id}` });
    return;
  }
  await trx.updateTable('payments').set({ onec_status: 'pending' }).where('id', '=', what.payment.id).execute();
  await d.jobs.enqueue(trx, ONEC_DELIVER, { paymentId: what.payment.id }, { key: `onec:payment:${what.payment.id}` });
}

async function documentFor(d: FlowDeps, payment: PaymentRow, order: OrderRow, refund?: RefundRow): Promise<OneCPaymentDoc> {
  const attempt = (await paymentAttempts(d.store.db, payment.id)).find(
    (a) => a.provider_state === 'paid' || a.provider_state === 'refunded' || a.provider_state === 'reversed',
  );
  return {
    kind: refund ? 'refund' : 'payment',
    marker: refund ? refund.id : payment.id,
    organizationId: payment.organization_id,
    method: payment.method as OneCPaymentDoc['method'],
    amount: refund ? refund.amount : payment.amount,
    date: refund ? refund.updated_at : (payment.paid_at ?? payment.updated_at),
    order: { id: order.id, number: order.number, externalId: order.external_id, onecRef: order.onec_ref, total: order.total },
    customer: JSON.parse(order.customer),
    provider: payment.provider,
    providerRef: attempt?.provider_ref ?? null,
    ...(refund ? { original: { marker: payment.id, onecRef: payment.onec_document } } : {}),
  };
}

/**
 * Delivers one payment or refund to 1C. Passing failures (network, 5xx, timeouts, locks) are retried
 * on the job's schedule; what needs a person (set-up, rights, mapping, data) stops at once: the
 * payment shows `onec.status = failed` with the reason, support is alerted in Russian, and the dead
 * job is retried from the admin API after the fix.
 */
export function deliverJob(d: FlowDeps): JobDefinition<{ paymentId?: string; refundId?: string }> {
  return {
    name: ONEC_DELIVER,
    // this job raises its own alert, with 1C's reason in it
    alertWhenDead: false,
    handler: async ({ paymentId, refundId }, ctx) => {
      const refund = refundId ? await getRefund(d.store.db, refundId) : undefined;
      const payment = await getPayment(d.store.db, paymentId ?? refund!.payment_id);
      if (!payment) return;
      const table = refund ? 'refunds' : 'payments';
      const id = refund ? refund.id : payment.id;
      if ((refund ?? payment).onec_status === 'delivered') return;
      const order = (await getOrder(d.store.db, payment.order_id))!;
      const sink = d.onec.sink(payment.organization_id);
      if (!sink) return;
      const doc = await documentFor(d, payment, order, refund);
      try {
        const result = await sink.deliver(doc);
        await d.store.db
          .updateTable(table)
          .set({
            onec_status: 'delivered',
            onec_document: result.ref,
            onec_number: result.number ?? null,
            onec_error: null,
            updated_at: nowIso(),
          })
          .where('id', '=', id)
          .execute();
        ctx.log.info({ paymentId: payment.id, refundId, onecRef: result.ref, onecNumber: result.number }, 'delivered to 1C');
      } catch (e) {
        const last = !(e instanceof OneCError) || !e.retryable || ctx.attempt >= ctx.maxAttempts;
        const hint = e instanceof OneCError ? e.hint : (e as Error).message;
        await d.store.db.transaction().execute(async (trx) => {
          await trx
            .updateTable(table)
            .set({ onec_status: last ? 'failed' : 'pending', onec_error: hint.slice(0, 1000), updated_at: nowIso() })
            .where('id', '=', id)
            .execute();
          if (last) {
            await d.alerts.raise(trx, {
              severity: 'critical',
              key: `onec-failed:${id}:${ctx.jobId}:${ctx.attempt}`,
              title: refund ? 'Возврат не попал в 1С' : 'Оплата не попала в 1С',
              text:
                `${refund ? 'Возврат' : 'Оплата'} ${formatRub(doc.amount)} по заказу №${order.number} (${refund ? `возврат ${id}` : `платёж ${id}`}) не записана в 1С. ` +
                `${hint} После исправления повторите задание: POST /api/v1/admin/jobs/${ctx.jobId}/retry`,
              context: {
                paymentId: payment.id,
                refundId: refund?.id ?? null,
                jobId: ctx.jobId,
                kind: e instanceof OneCError ? e.kind : 'error',
              },
            });
          }
        });
        d.jobs.kick();
        if (last && e instanceof OneCError && !e.retryable) throw new PermanentJobError(e.message, { cause: e });
        throw e;
      }
    },
  };
}

/** Writes a manager-created order's payment link back into 1C. */
export function writeLinkJob(d: FlowDeps): JobDefinition<{ orderId: string }> {
  return {
    name: ONEC_WRITE_LINK,
    handler: async ({ orderId }) => {
      const order = await getOrder(d.store.db, orderId);
      if (!order?.onec_ref) return;
      const source = d.onec.source(order.organization_id);
      if (!source) return;
      const { url } = await ensurePayLink(d, order);
      await source.writePaymentLink(order.onec_ref, url);
    },
  };
}

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
  const state = await d.store.db.selectFrom('sync_state').select('value').where('key', '=', key).executeTakeFirst();
  const watermark = state?.value ?? org.onec.pull?.since ?? nowIso(Date.now() - WATERMARK_OVERLAP_MS);
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
  await d.store.db.transaction().execute(async (trx) => {
    const now = nowIso();
    const r = await trx.updateTable('sync_state').set({ value: newest, updated_at: now }).where('key', '=', key).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) await trx.insertInto('sync_state').values({ key, value: newest, updated_at: now }).execute();
  });
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
  opts: { writeLinkBack: boolean },
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
  const row = orderRow({
    organization_id: organizationId,
    external_id: o.ref,
    number: o.number,
    source: 'onec',
    customer: JSON.stringify(o.customer),
    items: JSON.stringify(items),
    total: o.total,
    payment_terms: JSON.stringify({ type: 'prepay' }),
    request_hash: sha256(canonicalJson(content)),
    onec_ref: o.ref,
  });
  try {
    await d.store.db.transaction().execute(async (trx) => {
      await insertOrder(trx, row);
      if (opts.writeLinkBack) await d.jobs.enqueue(trx, ONEC_WRITE_LINK, { orderId: row.id }, { key: `onec-link:${row.id}` });
    });
  } catch (e) {
    const raced = await findOrderByExternalId(d.store.db, organizationId, o.ref);
    if (raced) return { order: raced, created: false };
    throw e;
  }
  d.jobs.kick();
  return { order: row, created: true };
}
