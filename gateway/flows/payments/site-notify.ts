import { createHmac } from 'node:crypto';
import { defineJob } from '../../jobs/types';
import { ExternalError } from '../../ports';
import type { Executor } from '../../store/db';
import { getPayment } from '../../store/payments';
import type { PaymentRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { loadPaymentView } from '../views';

/** Queues the site's webhook for a payment event, once per (payment, event): only where the organization has one. */
export async function notifySite(d: FlowDeps, trx: Executor, payment: PaymentRow, event: string, keyPart: string): Promise<void> {
  if (!d.orgs.get(payment.organization_id)?.siteWebhook) return;
  await d.jobs.enqueue(trx, notifySiteJob, { paymentId: payment.id, event }, { key: `site:${payment.id}:${keyPart}` });
}

/**
 * POSTs `{event, payment}` to the site. `X-Signature: sha256=<HMAC of the body>` with the
 * organization's webhook secret; `Idempotency-Key` is the job id, the same on every retry.
 */
export const notifySiteJob = defineJob(
  'payment.notify-site',
  async (d: FlowDeps, { paymentId, event }: { paymentId: string; event: string }, ctx) => {
    const payment = await getPayment(d.store.db, paymentId);
    if (!payment) return;
    const hook = d.orgs.get(payment.organization_id)?.siteWebhook;
    if (!hook) return;
    const body = JSON.stringify({ event, payment: await loadPaymentView(d.store.db, payment), sentAt: new Date().toISOString() });
    const signature = createHmac('sha256', hook.secret).update(body).digest('hex');
    let res: Response;
    try {
      res = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'x-signature': `sha256=${signature}`,
          'idempotency-key': ctx.jobId,
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      throw new ExternalError('site', `webhook ${new URL(hook.url).host}: ${(e as Error).message}`, { retryable: true, cause: e });
    }
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new ExternalError('site', `webhook ${new URL(hook.url).host}: HTTP ${res.status}`, { retryable: true });
  },
);
