import { printedNumber, purposeReferences, type MatchDecision } from '../../domain/statement-matching';
import type { Kopecks } from '../../domain/money';

/** An invoice no longer to be paid: annulled in 1C or cancelled in the gateway. */
export interface AnnulledInvoice {
  id: string;
  number: string;
  /** YYYY-MM-DD */
  date: string;
  uip: string | null;
}

export interface AnnulledHit {
  lineId: string;
  invoice: AnnulledInvoice;
}

const ruDate = (d: string) => d.split('-').reverse().join('.');

/** What support and the review list read: «счёт № 123 от 01.12.2026 аннулирован». */
export function annulledReason(invoice: AnnulledInvoice): string {
  return `счёт № ${invoice.number} от ${ruDate(invoice.date)} аннулирован: оплата по нему не зачтена, верните деньги плательщику или зачтите их вручную`;
}

/**
 * A bank line that names (by its УИП or a number in its purpose) an invoice no longer to be paid is not
 * paid: unless matching found it an open invoice by its УИП or by a number it names too, its decision
 * becomes a review with the reason (a guess by the payer's ИНН and the amount does not pay another
 * invoice instead). Returns the lines changed so.
 */
export function reviewAnnulled(
  lines: readonly { id: string; purpose: string; uip: string | null; amount: Kopecks }[],
  decisions: Map<string, MatchDecision>,
  annulled: readonly AnnulledInvoice[],
): AnnulledHit[] {
  if (annulled.length === 0) return [];
  const byNumber = new Map<string, AnnulledInvoice>();
  const byUip = new Map<string, AnnulledInvoice>();
  for (const a of annulled) {
    byNumber.set(printedNumber(a.number), a);
    if (a.uip) byUip.set(a.uip, a);
  }
  const hits: AnnulledHit[] = [];
  for (const line of lines) {
    const decision = decisions.get(line.id);
    if (!decision) continue;
    // the УИП or a number of an open invoice matched it: that stands; a guess by ИНН and amount does not
    if (decision.outcome !== 'review' && decision.by !== 'inn') continue;
    const named = purposeReferences(line.purpose)
      .filter((r) => r.kind === 'invoice')
      .map((r) => r.printed);
    const invoice = (line.uip ? byUip.get(line.uip) : undefined) ?? named.map((n) => byNumber.get(n)).find((a) => a !== undefined);
    if (!invoice) continue;
    decisions.set(line.id, { outcome: 'review', reason: annulledReason(invoice), candidates: [] });
    hits.push({ lineId: line.id, invoice });
  }
  return hits;
}
