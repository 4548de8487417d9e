import type { InvoiceShare } from '../../domain/statement-matching';
import type { Kopecks } from '../../domain/money';
import { conflict, notFound, unprocessable } from '../../errors';
import { invoiceByNumber } from '../../store/invoices';
import type { StatementLineRow } from '../../store/schema';
import { getStatementLine, settleReviewedLine } from '../../store/statements';
import type { FlowDeps } from '../deps';
import { applyMatchedLines } from './apply';

async function lineInReview(d: Pick<FlowDeps, 'store'>, id: string): Promise<StatementLineRow> {
  const line = await getStatementLine(d.store.db, id);
  if (!line) throw notFound('statement line');
  if (line.match_state !== 'review') throw conflict('not_in_review', `the line is ${line.match_state}, not in the review list`);
  return line;
}

/**
 * Support matches a line from the review list to the invoices it pays, by their numbers: the line's
 * amount goes to them in the order given, each up to what is left on it; an amount beyond them is the
 * customer's advance. Then the line is applied as an automatic match is (the invoices paid in full
 * become paid, a smaller share is a partial payment). An invoice that is unknown, or no longer to be
 * paid, refuses the match and nothing changes.
 */
export async function matchLineByHand(d: FlowDeps, id: string, input: { invoices: string[]; note?: string }): Promise<StatementLineRow> {
  const line = await lineInReview(d, id);
  let rest = line.amount;
  const allocations: InvoiceShare[] = [];
  for (const [i, number] of input.invoices.entries()) {
    const invoice = await invoiceByNumber(d.store.db, line.organization_id, number);
    if (!invoice)
      throw unprocessable('unknown_invoice', `no invoice № ${number}`, [{ path: `invoices[${i}]`, message: 'no such invoice' }]);
    if (invoice.payment_status !== 'pending')
      throw unprocessable('invoice_not_open', `invoice № ${number} is ${invoice.payment_status}, nothing to pay on it`, [
        { path: `invoices[${i}]`, message: `the invoice is ${invoice.payment_status}` },
      ]);
    if (allocations.some((a) => a.invoiceId === invoice.id))
      throw unprocessable('duplicate_invoice', `invoice № ${number} is named twice`, [{ path: `invoices[${i}]`, message: 'named twice' }]);
    if (rest === 0)
      throw unprocessable('nothing_left', `the line’s amount is used up before invoice № ${number}`, [
        { path: `invoices[${i}]`, message: 'nothing left of the line for it' },
      ]);
    const amount = Math.min(rest, invoice.left);
    rest -= amount;
    allocations.push({
      invoiceId: invoice.id,
      number: invoice.number,
      amount: amount as Kopecks,
      remaining: (invoice.left - amount) as Kopecks,
    });
  }
  const state = rest > 0 ? 'overpaid' : allocations.some((a) => a.remaining > 0) ? 'partial' : 'matched';
  const moved = await settleReviewedLine(d.store.db, line.id, {
    match_state: state,
    match_note: `сопоставлено вручную${input.note ? `: ${input.note}` : ''}`.slice(0, 1000),
    allocations: JSON.stringify(allocations),
    advance: rest,
    flags: rest > 0 ? JSON.stringify(['overpayment']) : null,
  });
  if (!moved) throw conflict('not_in_review', 'the line left the review list meanwhile');
  await applyMatchedLines(d, line.organization_id);
  return (await getStatementLine(d.store.db, line.id))!;
}

/** Support closes a line of the review list that pays no invoice (a refund from a supplier, a loan), with a note. */
export async function resolveLineByHand(d: FlowDeps, id: string, note: string): Promise<StatementLineRow> {
  const line = await lineInReview(d, id);
  const moved = await settleReviewedLine(d.store.db, line.id, {
    match_state: 'resolved',
    match_note: note.slice(0, 1000),
    allocations: null,
    advance: 0,
    flags: null,
  });
  if (!moved) throw conflict('not_in_review', 'the line left the review list meanwhile');
  return (await getStatementLine(d.store.db, line.id))!;
}
