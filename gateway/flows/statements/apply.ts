import type { OpenInvoice as InvoiceToMatch, InvoiceShare } from '../../domain/statement-matching';
import { nowIso } from '../../store/db';
import { invoicesToMatchOf } from '../../store/invoices';
import { addOrderMoney } from '../../store/orders';
import { getPayment, movePayment } from '../../store/payments';
import { statementLinesIn } from '../../store/statements';
import type { FlowDeps } from '../deps';
import { queuePaymentReceipt } from '../fiscal/translator';
import { dueDateFrom } from '../invoices/due';
import { queueDelivery } from '../onec/delivery';
import { notifySite } from '../payments/site-notify';
import { matchStoredLines, type MatchRun } from './match';

/** The organization's invoices still to be paid, as matching sees them (one query; the rows are the invoices). */
export async function invoicesToMatch(d: Pick<FlowDeps, 'store'>, organizationId: string): Promise<InvoiceToMatch[]> {
  const rows = await invoicesToMatchOf(d.store.db, d.store.dialect, organizationId);
  for (const r of rows)
    if (r.dueDate === null)
      // a deferral still counting from a shipment to come is due last
      r.dueDate = dueDateFrom(null, r.dueDaysAfterShipment, r.shippedAt) ?? '9999-12-31';
  return rows as InvoiceToMatch[];
}

/**
 * Each matched line's shares that pay an invoice in full make the invoice's payment paid — once: the
 * move from pending is the guard, so running this again changes nothing. As with a card payment: the
 * order's money, the site's webhook, the payment into 1C (a bank receipt), the receipt where the law
 * wants one. A share smaller than the invoice stays a partial payment on the line (the rest is due).
 */
export async function applyMatchedLines(d: FlowDeps, organizationId: string): Promise<{ paid: string[] }> {
  const paid: string[] = [];
  for (const line of await statementLinesIn(d.store.db, organizationId, ['matched', 'overpaid', 'partial'])) {
    for (const share of JSON.parse(line.allocations ?? '[]') as InvoiceShare[]) {
      if (share.remaining > 0) continue;
      await d.store.db.transaction().execute(async (trx) => {
        const invoice = await trx.selectFrom('invoices').selectAll().where('id', '=', share.invoiceId).executeTakeFirst();
        if (!invoice) return;
        const payment = await getPayment(trx, invoice.payment_id);
        if (!payment || payment.status !== 'pending' || share.amount < payment.amount) return;
        const set = { status: 'paid' as const, paid_at: nowIso(), status_reason: null };
        if (!(await movePayment(trx, payment.id, 'pending', set))) return;
        // the payment order 1C will know the transfer by (НомерВходящегоДокумента, ДатаВходящегоДокумента)
        await trx
          .updateTable('invoices')
          .set({ bank_number: line.number, bank_date: line.doc_date })
          .where('id', '=', invoice.id)
          .execute();
        await addOrderMoney(trx, payment.order_id, { paid: payment.amount });
        await notifySite(d, trx, payment, 'payment.paid', 'paid');
        await queueDelivery(d, trx, { payment });
        await queuePaymentReceipt(d, trx, { ...payment, ...set });
        paid.push(payment.id);
      });
    }
  }
  if (paid.length) {
    d.jobs.kick();
    d.log.info({ organizationId, paid: paid.length }, 'invoices paid by bank transfer');
  }
  return { paid };
}

/** Matches the stored lines against the open invoices, then applies what was matched. */
export async function matchAndApply(d: FlowDeps, organizationId: string): Promise<MatchRun & { paid: number }> {
  const run = await matchStoredLines(d, organizationId, await invoicesToMatch(d, organizationId));
  const { paid } = await applyMatchedLines(d, organizationId);
  return { ...run, paid: paid.length };
}
