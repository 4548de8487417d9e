import { printedNumber, purposeReferences, type MatchDecision } from '../../domain/statement-matching';
import type { AnnulledInvoiceRow } from '../../store/invoices';

/** An invoice no longer to be paid: annulled in 1C or cancelled in the gateway. */
export type AnnulledInvoice = AnnulledInvoiceRow;

const ruDate = (d: string) => d.split('-').reverse().join('.');

/** What support and the review list read: «счёт № 123 от 01.12.2026 аннулирован». */
export function annulledReason(invoice: AnnulledInvoice): string {
  return `счёт № ${invoice.number} от ${ruDate(invoice.date)} аннулирован: оплата по нему не зачтена, верните деньги плательщику или зачтите их вручную`;
}

type Line = { purpose: string; uip: string | null };

/**
 * A bank line that names (by its УИП or a number in its purpose) an invoice no longer to be paid is not
 * paid: unless matching found it an open invoice by its УИП or by a number it names too, its decision
 * becomes a review with the reason (a guess by the payer's ИНН and the amount does not pay another
 * invoice instead). Made once for the invoices; then asked for each line with its decision: the
 * decision to keep, and the annulled invoice when the line named one.
 */
export function annulledCheck(
  annulled: readonly AnnulledInvoice[],
): (line: Line, decision: MatchDecision) => { decision: MatchDecision; invoice?: AnnulledInvoice } {
  const byNumber = new Map<string, AnnulledInvoice>();
  const byUip = new Map<string, AnnulledInvoice>();
  for (const a of annulled) {
    byNumber.set(printedNumber(a.number), a);
    if (a.uip) byUip.set(a.uip, a);
  }
  return (line, decision) => {
    // the УИП or a number of an open invoice matched it: that stands; a guess by ИНН and amount does not
    if (annulled.length === 0 || (decision.outcome !== 'review' && decision.by !== 'inn')) return { decision };
    let invoice = line.uip ? byUip.get(line.uip) : undefined;
    if (!invoice)
      for (const r of purposeReferences(line.purpose)) {
        invoice = r.kind === 'invoice' ? byNumber.get(r.printed) : undefined;
        if (invoice) break;
      }
    if (!invoice) return { decision };
    return { decision: { outcome: 'review', reason: annulledReason(invoice), candidates: [] }, invoice };
  };
}
