import { matchStatementLines, type MatchDecision, type OpenInvoice } from '../../domain/statement-matching';
import { newId } from '../../domain/ids';
import type { Kopecks } from '../../domain/money';
import type { StatementMatchState } from '../../store/schema';
import { annulledInvoices } from '../../store/onec-invoices';
import { linesToMatch, saveStatementMatches, type LineToMatch, type StatementMatchUpdate } from '../../store/statements';
import { ALERTS } from '../alerts/catalog';
import type { FlowDeps } from '../deps';
import { reviewAnnulled } from './annulled';

/** Invoices annulled within the last year and a bit are looked for in purposes. */
function yearAgo(): string {
  return new Date(Date.now() - 400 * 86_400_000).toISOString().slice(0, 10);
}

export interface MatchRun {
  lines: number;
  matched: number;
  partial: number;
  overpaid: number;
  review: number;
}

const STATE: Record<MatchDecision['outcome'], StatementMatchState> = {
  matched: 'matched',
  partial: 'partial',
  overpaid: 'overpaid',
  review: 'review',
};

export function toUpdate(row: Pick<LineToMatch, 'id'>, d: MatchDecision): StatementMatchUpdate {
  if (d.outcome === 'review')
    return { id: row.id, match_state: 'review', match_note: d.reason.slice(0, 1000), allocations: null, advance: 0, flags: null };
  return {
    id: row.id,
    match_state: STATE[d.outcome],
    match_note: null,
    allocations: JSON.stringify(d.allocations),
    advance: d.advance,
    flags: d.flags.length ? JSON.stringify(d.flags) : null,
  };
}

/**
 * Matches the organization's incoming lines not matched yet against its open invoices, and writes
 * every decision with the alerts they call for (lines to review, overpayments) in one transaction.
 */
export async function matchStoredLines(
  d: Pick<FlowDeps, 'store' | 'alerts'>,
  organizationId: string,
  invoices: readonly OpenInvoice[],
  /** Filled with the seconds each step took, when given (for the benchmark). */
  timings?: { read: number; match: number; write: number },
): Promise<MatchRun> {
  return d.store.db.transaction().execute(async (trx) => {
    let t = performance.now();
    const lap = () => {
      const s = (performance.now() - t) / 1000;
      t = performance.now();
      return s;
    };
    const rows = await linesToMatch(trx, organizationId);
    if (timings) timings.read = lap();
    const decisions = matchStatementLines(
      rows.map((r) => ({
        id: r.id,
        amount: r.amount,
        date: r.bank_date ?? r.doc_date,
        payerInn: r.payer_inn,
        payerKpp: r.payer_kpp,
        purpose: r.purpose,
        uip: r.uip,
      })),
      invoices,
    );
    // a line naming an invoice annulled since (in 1C, or cancelled here) is not paid: it goes to review
    const annulled = rows.length > 0 ? reviewAnnulled(rows, decisions, await annulledInvoices(trx, organizationId, yearAgo())) : [];
    const run: MatchRun = { lines: rows.length, matched: 0, partial: 0, overpaid: 0, review: 0 };
    const updates: StatementMatchUpdate[] = [];
    const toReview: string[] = [];
    const overpaid: { number: string; payer: string; advance: number }[] = [];
    for (const r of rows) {
      const dec = decisions.get(r.id)!;
      run[dec.outcome]++;
      updates.push(toUpdate(r, dec));
      if (dec.outcome === 'review' && toReview.length < 5)
        toReview.push(`п/п №${r.number} от ${r.doc_date} (${r.payer_name}): ${dec.reason}`);
      if (dec.outcome === 'overpaid') overpaid.push({ number: r.number, payer: r.payer_name, advance: dec.advance });
    }
    if (timings) timings.match = lap();
    await saveStatementMatches(trx, d.store.dialect, updates);
    const runId = newId();
    if (run.review > 0) await d.alerts.raise(trx, ALERTS.statementLinesToReview(organizationId, runId, run.review, toReview));
    if (overpaid.length > 0) await d.alerts.raise(trx, ALERTS.statementOverpayments(organizationId, runId, overpaid));
    for (const hit of annulled) {
      const r = rows.find((x) => x.id === hit.lineId)!;
      await d.alerts.raise(
        trx,
        ALERTS.annulledInvoicePaid(
          organizationId,
          { id: r.id, number: r.number, date: r.doc_date, payer: r.payer_name, amount: r.amount as Kopecks },
          hit.invoice,
        ),
      );
    }
    if (timings) timings.write = lap();
    return run;
  });
}
