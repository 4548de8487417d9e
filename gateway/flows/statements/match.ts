import { matchStatementLinesInOrder, type MatchDecision, type OpenInvoice } from '../../domain/statement-matching';
import { newId } from '../../domain/ids';
import type { StatementMatchState } from '../../store/schema';
import {
  linesToMatch,
  saveStatementMatches,
  statementLineHeads,
  type LineToMatch,
  type StatementMatchUpdate,
} from '../../store/statements';
import { ALERTS } from '../alerts/catalog';
import type { FlowDeps } from '../deps';

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
    const decisions = matchStatementLinesInOrder(rows, invoices);
    const run: MatchRun = { lines: rows.length, matched: 0, partial: 0, overpaid: 0, review: 0 };
    const updates = new Array<StatementMatchUpdate>(rows.length);
    // what the alerts show: the first few lines to review and overpaid ones
    const toReview: { id: string; reason: string }[] = [];
    const overpaid: { id: string; advance: number }[] = [];
    for (let i = 0; i < rows.length; i++) {
      const dec = decisions[i];
      run[dec.outcome]++;
      updates[i] = toUpdate(rows[i], dec);
      if (dec.outcome === 'review' && toReview.length < 5) toReview.push({ id: rows[i].id, reason: dec.reason });
      if (dec.outcome === 'overpaid' && overpaid.length < 10) overpaid.push({ id: rows[i].id, advance: dec.advance });
    }
    if (timings) timings.match = lap();
    await saveStatementMatches(trx, d.store.dialect, updates);
    const runId = newId();
    const heads = await statementLineHeads(trx, [...toReview.map((l) => l.id), ...overpaid.map((l) => l.id)]);
    const head = (id: string) => heads.get(id)!;
    if (run.review > 0)
      await d.alerts.raise(
        trx,
        ALERTS.statementLinesToReview(
          organizationId,
          runId,
          run.review,
          toReview.map((l) => `п/п №${head(l.id).number} от ${head(l.id).date} (${head(l.id).payer}): ${l.reason}`),
        ),
      );
    if (run.overpaid > 0)
      await d.alerts.raise(
        trx,
        ALERTS.statementOverpayments(
          organizationId,
          runId,
          overpaid.map((l) => ({ number: head(l.id).number, payer: head(l.id).payer, advance: l.advance })),
          run.overpaid,
        ),
      );
    if (timings) timings.write = lap();
    return run;
  });
}
