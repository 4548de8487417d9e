import { PermanentJobError, defineJob, type ScheduleDefinition } from '../../jobs/types';
import { OneCError, type OneCPaymentDoc } from '../../ports';
import { nowIso, type Executor } from '../../store/db';
import { invoiceOfPayment, transferOfPayment } from '../../store/invoices';
import { getOrder } from '../../store/orders';
import { getPayment, getRefund, paymentAttempts, setOnecDelivery, waitingForOrder } from '../../store/payments';
import type { OrderRow, PaymentRow, RefundRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { ALERTS } from '../alerts/catalog';

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
    await setOnecDelivery(trx, 'refunds', what.refund.id, { onec_status: 'pending', updated_at: nowIso() });
    await d.jobs.enqueue(trx, deliverToOneCJob, { refundId: what.refund.id }, { key: `onec:refund:${what.refund.id}` });
    return;
  }
  await setOnecDelivery(trx, 'payments', what.payment.id, { onec_status: 'pending' });
  await d.jobs.enqueue(trx, deliverToOneCJob, { paymentId: what.payment.id }, { key: `onec:payment:${what.payment.id}` });
}

async function documentFor(d: FlowDeps, payment: PaymentRow, order: OrderRow, refund?: RefundRow): Promise<OneCPaymentDoc> {
  const attempt = (await paymentAttempts(d.store.db, payment.id)).find(
    (a) => a.provider_state === 'paid' || a.provider_state === 'refunded' || a.provider_state === 'reversed',
  );
  // a bank transfer is known by the payment order that made it (from the statement)
  const transfer = payment.method === 'invoice' ? await transferOfPayment(d.store.db, payment.id) : undefined;
  const invoice = payment.method === 'invoice' && !transfer ? await invoiceOfPayment(d.store.db, payment.id) : undefined;
  const bank = transfer
    ? { number: transfer.bank_number, date: transfer.bank_date }
    : { number: invoice?.bank_number, date: invoice?.bank_date };
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
    providerRef: attempt?.provider_ref ?? bank.number ?? null,
    ...(bank.date ? { bankDate: bank.date } : {}),
    ...(refund ? { original: { marker: payment.id, onecRef: payment.onec_document } } : {}),
  };
}

/** A 500 that names no reason is tried this many times before it is taken for a refusal. */
const INTERNAL_ERROR_TRIES = 3;

/**
 * Delivers one payment or refund to 1C. Passing failures (network, 5xx, timeouts, locks) are retried
 * on the job's schedule; what needs a person (set-up, rights, mapping, data) stops at once: the
 * payment shows `onec.status = failed` with the reason, support is alerted in Russian, and the dead
 * job is retried from the admin API after the fix. An order 1C does not have yet is no failure: the
 * payment shows `waiting_for_order` and is delivered once the order is there (the waiting schedule asks
 * again); only past `onec.waitForOrder.hours` is it given up and alerted.
 */
// this job raises its own alert, with 1C's reason in it
export const deliverToOneCJob = defineJob(
  'onec.deliver',
  async (d: FlowDeps, { paymentId, refundId }: { paymentId?: string; refundId?: string }, ctx) => {
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
      await setOnecDelivery(d.store.db, table, id, {
        onec_status: 'delivered',
        onec_document: result.ref,
        onec_number: result.number ?? null,
        onec_error: null,
        updated_at: nowIso(),
      });
      ctx.log.info({ paymentId: payment.id, refundId, onecRef: result.ref, onecNumber: result.number }, 'delivered to 1C');
    } catch (e) {
      if (e instanceof OneCError && e.kind === 'order_missing') {
        const since = Date.parse(refund ? refund.created_at : (payment.paid_at ?? payment.updated_at));
        if (Date.now() - since < d.orgs.get(payment.organization_id)!.onec.waitForOrder.hours * 3_600_000) {
          await setOnecDelivery(d.store.db, table, id, {
            onec_status: 'waiting_for_order',
            onec_error: `Заказ №${order.number} ещё не загружен в 1С (обмен с сайтом его не забрал). ${refund ? 'Возврат' : 'Оплата'} будет записан${refund ? '' : 'а'}, как только заказ появится.`,
            updated_at: nowIso(),
          });
          ctx.log.info({ paymentId: payment.id, refundId, orderNumber: order.number }, 'the order is not in 1C yet: waiting for it');
          return;
        }
      }
      const last =
        !(e instanceof OneCError) ||
        !e.retryable ||
        ctx.attempt >= ctx.maxAttempts ||
        (e.kind === 'internal' && ctx.attempt >= Math.min(INTERNAL_ERROR_TRIES, ctx.maxAttempts));
      const hint = e instanceof OneCError ? e.hint : (e as Error).message;
      await d.store.db.transaction().execute(async (trx) => {
        await setOnecDelivery(trx, table, id, {
          onec_status: last ? 'failed' : 'pending',
          onec_error: hint.slice(0, 1000),
          updated_at: nowIso(),
        });
        if (last) {
          await d.alerts.raise(
            trx,
            ALERTS.onecFailed({
              id,
              paymentId: payment.id,
              refundId: refund?.id ?? null,
              amount: doc.amount,
              orderNumber: order.number,
              hint,
              jobId: ctx.jobId,
              attempt: ctx.attempt,
              kind: e instanceof OneCError ? e.kind : 'error',
            }),
          );
        }
      });
      d.jobs.kick();
      if (last && e instanceof OneCError && (!e.retryable || e.kind === 'internal')) throw new PermanentJobError(e.message, { cause: e });
      throw e;
    }
  },
  { alertWhenDead: false },
);

/**
 * Payments and refunds waiting for their order in 1C: their delivery is queued again every
 * `onec.waitForOrder.recheckSeconds` (one job per round), until the order is there or the wait runs out.
 */
export function waitingSchedule(d: FlowDeps): ScheduleDefinition | null {
  const orgs = d.config.organizations.filter((o) => d.onec.sink(o.id));
  if (orgs.length === 0) return null;
  const everyMs = Math.min(...orgs.map((o) => o.onec.waitForOrder.recheckSeconds)) * 1000;
  return {
    name: 'onec.waiting-orders',
    everyMs,
    handler: async () => {
      const round = Math.floor(Date.now() / everyMs);
      const waiting = await waitingForOrder(d.store.db, 500);
      if (waiting.length === 0) return;
      await d.store.db.transaction().execute(async (trx) => {
        for (const w of waiting) {
          const payload = w.of === 'refunds' ? { refundId: w.id } : { paymentId: w.id };
          await d.jobs.enqueue(trx, deliverToOneCJob, payload, { key: `onec:${w.of}:${w.id}:waiting:${round}` });
        }
      });
      d.jobs.kick();
    },
  };
}
