import { conflict, notFound, unprocessable } from '../../errors';
import { getPayment, insertRefund, newRefundRow, paymentRefunds } from '../../store/payments';
import type { RefundRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { executeRefundJob } from './sync';

// the job lives with the state machine it ends in (a double payment queues it from there too)
export { executeRefundJob };

/** Records a refund and queues its execution at the provider. */
export async function createRefund(d: FlowDeps, organizations: ReadonlySet<string>, paymentId: string, amount: number): Promise<RefundRow> {
  const refund = await d.store.db.transaction().execute(async (trx) => {
    const payment = await getPayment(trx, paymentId);
    if (!payment || !organizations.has(payment.organization_id)) throw notFound('payment');
    if (payment.method === 'invoice') {
      throw unprocessable(
        'refund_not_supported',
        'a bank transfer is returned by the organization’s own payment order, not through the gateway',
        [{ path: 'paymentId', message: 'the payment was made by bank transfer against an invoice' }],
      );
    }
    if (payment.status !== 'paid' && payment.status !== 'partially_refunded') {
      throw conflict('payment_not_refundable', `a payment in status ${payment.status} cannot be refunded`, [
        { path: 'paymentId', message: `status is ${payment.status}` },
      ]);
    }
    const refunds = await paymentRefunds(trx, paymentId);
    const sum = (status: RefundRow['status']) => refunds.reduce((s, r) => s + (r.status === status ? r.amount : 0), 0);
    const inFlight = sum('pending');
    // a refund marked done reaches refunded_amount only with the bank's next answer, in a transaction of its own
    const refunded = Math.max(payment.refunded_amount, sum('succeeded'));
    const available = payment.amount - refunded - inFlight;
    if (amount > available) {
      throw unprocessable('refund_exceeds_payment', `at most ${available} kopecks can be refunded`, [
        { path: 'amount', message: `paid ${payment.amount}, refunded ${refunded}, in progress ${inFlight}` },
      ]);
    }
    const row = newRefundRow({ payment_id: paymentId, amount, refunded_before: refunded + inFlight });
    await insertRefund(trx, row);
    await d.jobs.enqueue(trx, executeRefundJob, { refundId: row.id }, { key: `refund:${row.id}` });
    return row;
  });
  d.jobs.kick();
  return refund;
}
