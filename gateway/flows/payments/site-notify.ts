import { defineJob } from '../../jobs/types';
import type { Executor } from '../../store/db';
import { getPayment } from '../../store/payments';
import type { PaymentRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { loadPaymentView } from '../views';

/** Queues the site's webhook for a payment event, once per (payment, event): only where the organization has one. */
export async function notifySite(d: FlowDeps, trx: Executor, payment: PaymentRow, event: string, keyPart: string): Promise<void> {
  if (!d.sites.has(payment.organization_id)) return;
  await d.jobs.enqueue(trx, notifySiteJob, { paymentId: payment.id, event }, { key: `site:${payment.id}:${keyPart}` });
}

/** The site's webhook for one payment event; `Idempotency-Key` is the job id, the same on every retry. */
export const notifySiteJob = defineJob(
  'payment.notify-site',
  async (d: FlowDeps, { paymentId, event }: { paymentId: string; event: string }, ctx) => {
    const payment = await getPayment(d.store.db, paymentId);
    if (!payment) return;
    const site = d.sites.get(payment.organization_id);
    if (!site) return;
    await site.send({ event, payment: await loadPaymentView(d.store.db, payment), sentAt: new Date().toISOString() }, ctx.jobId);
  },
);
