import type { InvoiceShare } from '../../domain/statement-matching';
import { nowIso } from '../../store/db';
import { newId } from '../../domain/ids';
import { formatRub, type Kopecks } from '../../domain/money';
import { ALERTS } from '../alerts/catalog';
import { addInvoicePaid, recordTransfer, transferApplied } from '../../store/invoices';
import { addOrderMoney } from '../../store/orders';
import { getPayment, insertPayment, movePayment, newPaymentRow, setOnecDelivery, shrinkPendingPayment } from '../../store/payments';
import type { PaymentRow } from '../../store/schema';
import { linesToApply, markLineApplied, onecDocumentOfLine } from '../../store/statements';
import type { FlowDeps } from '../deps';
import { queuePaymentReceipt } from '../fiscal/translator';
import { queueDelivery } from '../onec/delivery';
import { notifySite } from '../payments/site-notify';
import { matchStoredLines, type MatchRun } from './match';

/**
 * Each matched line's shares pay their invoices, each share once (the line and invoice pair is recorded
 * with the payment it made). A share that pays what is left makes the invoice's payment paid; a smaller
 * one (a partial payment) is split off as a paid payment of its own, for the share's amount, and the
 * invoice's payment keeps the rest, still pending and due. Either way, as with a card payment: the
 * order's money, the site's webhook, the payment into 1C (one bank receipt per transfer, with the payment
 * order's number and date), the receipt where the law wants one. A share for an invoice no longer
 * pending (paid otherwise, cancelled) is left alone.
 */
export async function applyMatchedLines(d: FlowDeps, organizationId: string): Promise<{ paid: string[]; parts: string[] }> {
  const paid: string[] = [];
  const parts: string[] = [];
  for (const line of await linesToApply(d.store.db, organizationId)) {
    // shares whose invoice was paid or cancelled meanwhile: their money is the customer's advance
    const skipped: string[] = [];
    let advance = 0;
    for (const share of JSON.parse(line.allocations ?? '[]') as InvoiceShare[]) {
      if (share.amount <= 0) continue;
      await d.store.db
        .transaction()
        .execute(async (trx) => {
          if (await transferApplied(trx, line.id, share.invoiceId)) return;
          const invoice = await trx.selectFrom('invoices').selectAll().where('id', '=', share.invoiceId).executeTakeFirst();
          if (!invoice) return;
          const payment = await getPayment(trx, invoice.payment_id);
          if (!payment || payment.status !== 'pending') {
            skipped.push(
              `счёт № ${invoice.number} уже не к оплате (${payment?.status ?? 'нет платежа'}): ${formatRub(share.amount)} — аванс покупателя`,
            );
            advance += share.amount;
            return;
          }
          const now = nowIso();
          const whole = share.amount >= payment.amount;
          const paying: PaymentRow = whole
            ? { ...payment, status: 'paid', paid_at: now, status_reason: null }
            : {
                ...newPaymentRow(
                  {
                    id: newId(),
                    order_id: payment.order_id,
                    organization_id: payment.organization_id,
                    method: payment.method,
                    provider: payment.provider,
                    amount: share.amount,
                    return_url: payment.return_url,
                    fail_url: payment.fail_url,
                  },
                  now,
                ),
                status: 'paid',
                paid_at: now,
                action: payment.action,
              };
          if (whole) {
            if (!(await movePayment(trx, payment.id, 'pending', { status: 'paid', paid_at: now, status_reason: null })))
              throw new Error(`payment ${payment.id} moved while its invoice was being paid`);
            // the payment order 1C knows the last transfer by (НомерВходящегоДокумента, ДатаВходящегоДокумента)
            await trx
              .updateTable('invoices')
              .set({ bank_number: line.number, bank_date: line.doc_date })
              .where('id', '=', invoice.id)
              .execute();
          } else {
            if (!(await shrinkPendingPayment(trx, payment.id, payment.amount, payment.amount - paying.amount)))
              throw new Error(`payment ${payment.id} moved while its invoice was being paid`);
            await insertPayment(trx, paying);
            await notifySite(
              d,
              trx,
              { ...payment, amount: payment.amount - paying.amount },
              'payment.partially_paid',
              `partial:${paying.id}`,
            );
          }
          const transfer = {
            statement_line_id: line.id,
            invoice_id: invoice.id,
            payment_id: paying.id,
            amount: paying.amount,
            bank_number: line.number,
            bank_date: line.doc_date,
            created_at: now,
          };
          // applied meanwhile by another run: this one's changes roll back
          if (!(await recordTransfer(trx, transfer))) throw new AlreadyApplied();
          await addInvoicePaid(trx, invoice.id, paying.amount);
          await addOrderMoney(trx, payment.order_id, { paid: paying.amount });
          await notifySite(d, trx, paying, 'payment.paid', 'paid');
          // a line read from 1C's own bank receipts: that document is the payment in 1C, none is written
          const inOneC = d.onec.sink(organizationId) ? await onecDocumentOfLine(trx, line.id) : null;
          if (inOneC)
            await setOnecDelivery(trx, 'payments', paying.id, {
              onec_status: 'delivered',
              onec_document: inOneC.ref,
              onec_number: inOneC.number,
              onec_error: null,
            });
          else await queueDelivery(d, trx, { payment: paying });
          await queuePaymentReceipt(d, trx, paying);
          (whole ? paid : parts).push(paying.id);
        })
        .catch((e: unknown) => {
          if (!(e instanceof AlreadyApplied)) throw e;
        });
    }
    await d.store.db.transaction().execute(async (trx) => {
      await markLineApplied(trx, line.id, skipped.length ? skipped.join('; ') : undefined);
      if (advance > 0)
        await d.alerts.raise(
          trx,
          ALERTS.statementOverpayments(organizationId, line.id, [
            { number: line.number, payer: line.payer_name, advance: advance as Kopecks },
          ]),
        );
    });
  }
  if (paid.length || parts.length) {
    d.jobs.kick();
    d.log.info({ organizationId, paid: paid.length, parts: parts.length }, 'invoices paid by bank transfer');
  }
  return { paid, parts };
}

class AlreadyApplied extends Error {}

/** Matches the stored lines against the open invoices, then applies what was matched. */
export async function matchAndApply(d: FlowDeps, organizationId: string): Promise<MatchRun & { paid: number; parts: number }> {
  const run = await matchStoredLines(d, organizationId);
  const { paid, parts } = await applyMatchedLines(d, organizationId);
  return { ...run, paid: paid.length, parts: parts.length };
}
