import { defineJob } from '../../jobs/types';
import { OneCError } from '../../ports';
import type { Executor } from '../../store/db';
import { invoiceById, linkOnecInvoice } from '../../store/onec-invoices';
import { getOrder } from '../../store/orders';
import { getPayment, setPaymentAction } from '../../store/payments';
import type { FlowDeps } from '../deps';

const plusDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/**
 * A site order's invoice made in 1C too (organizations[].onec.invoices.create): a posted
 * СчетНаОплатуКлиенту based on the order, once — the connector looks for the order's invoice carrying
 * the gateway's marker first. Waits (retried) while 1C has no order yet; an invoice paid or cancelled
 * meanwhile is not made. With `numberedBy: onec` the gateway's invoice takes 1C's number.
 */
export const createOneCInvoiceJob = defineJob(
  'onec.create-invoice',
  async (d: FlowDeps, { invoiceId }: { invoiceId: string }) => {
    const invoice = await invoiceById(d.store.db, invoiceId);
    if (!invoice || invoice.onec_ref) return;
    const org = d.orgs.get(invoice.organization_id);
    const source = d.onec.invoices(invoice.organization_id);
    if (!org || !source?.createInvoice) return;
    const payment = await getPayment(d.store.db, invoice.payment_id);
    if (payment?.status !== 'pending') return;
    const order = (await getOrder(d.store.db, invoice.order_id))!;
    const dueDate = invoice.due_date ?? plusDays(invoice.date, invoice.due_days_after_shipment ?? org.payments.invoice?.payWithinDays ?? 5);
    const made = await source
      .createInvoice({
        marker: invoice.id,
        order: { ref: order.onec_ref, number: order.number },
        amount: invoice.amount,
        date: invoice.date,
        dueDate,
        uip: invoice.uip,
        number: invoice.number,
      })
      .catch((e: unknown) => {
        // the order reaches 1C later (the exchange, a manager): tried again, not given up
        if (e instanceof OneCError && e.kind === 'order_missing') throw new Error(`${e.message}: the invoice waits for its order in 1C`);
        throw e;
      });
    const renumber = org.onec.invoices.numberedBy === 'onec' && made.number && made.number !== invoice.number;
    await d.store.db.transaction().execute(async (trx) => {
      await linkOnecInvoice(trx, invoice.id, made.ref, renumber ? made.number : undefined);
      if (renumber && payment.action) await setPaymentAction(trx, payment.id, { ...JSON.parse(payment.action), number: made.number });
    });
    d.log.info({ organization: org.id, invoice: invoice.id, onecRef: made.ref, number: made.number }, 'invoice made in 1C');
  },
  { maxAttempts: 30 },
);

/** Queues making the invoice in 1C, when the organization asks for it. */
export async function queueOneCInvoice(d: FlowDeps, trx: Executor, organizationId: string, invoiceId: string): Promise<void> {
  const org = d.orgs.get(organizationId);
  if (!org?.onec.invoices.create || !d.onec.invoices(organizationId)?.createInvoice) return;
  await d.jobs.enqueue(trx, createOneCInvoiceJob, { invoiceId }, { key: `onec-invoice:${invoiceId}` });
}
