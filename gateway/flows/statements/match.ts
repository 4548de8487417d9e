import { oldestFirst, StatementMatcher, type MatchDecision, type OpenInvoice } from '../../domain/statement-matching';
import { newId } from '../../domain/ids';
import { largeTransaction } from '../../store/db';
import type { Kopecks } from '../../domain/money';
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
import { annulledCheck, type AnnulledInvoice } from './annulled';

/** What matching reads: the invoices still to be paid, and those no longer to be paid that a payer may still name. */
export interface InvoicesToMatch {
  open: OpenInvoice[];
  /** Annulled in 1C or cancelled here, within the last year and a bit. */
  annulled: AnnulledInvoice[];
}

/** Decisions written together. */
const WRITE_EVERY = 4096;
/** The page cache a run of matching may use on SQLite (see largeTransaction). */
const MATCHING_CACHE_MIB = 128;

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

export function toUpdate(row: Pick<LineToMatch, 'id' | 'rowid'>, d: MatchDecision): StatementMatchUpdate {
  if (d.outcome === 'review')
    return {
      id: row.id,
      rowid: row.rowid,
      match_state: 'review',
      match_note: d.reason.slice(0, 1000),
      allocations: null,
      advance: 0,
      flags: null,
    };
  return {
    id: row.id,
    rowid: row.rowid,
    match_state: STATE[d.outcome],
    match_note: null,
    allocations: JSON.stringify(d.allocations),
    advance: d.advance,
    flags: d.flags.length ? JSON.stringify(d.flags) : null,
  };
}

/**
 * Matches the organization's incoming lines not matched yet against its open invoices (those annulled
 * send a line naming them to review), and writes
 * every decision with the alerts they call for (lines to review, overpayments) in one transaction.
 */
export async function matchStoredLines(
  d: Pick<FlowDeps, 'store' | 'alerts'>,
  organizationId: string,
  invoices: InvoicesToMatch,
  /** Filled with the seconds each step took, when given (for the benchmark). */
  timings?: { read: number; match: number; write: number },
): Promise<MatchRun> {
  return largeTransaction(d.store, MATCHING_CACHE_MIB, async (trx) => {
    let t = performance.now();
    const lap = () => {
      const s = (performance.now() - t) / 1000;
      t = performance.now();
      return s;
    };
    const rows = await linesToMatch(trx, d.store.dialect, organizationId);
    if (timings) timings.read = lap();
    const run: MatchRun = { lines: rows.length, matched: 0, partial: 0, overpaid: 0, review: 0 };
    // what the alerts show: the first few lines to review and overpaid ones
    const toReview: { id: string; reason: string }[] = [];
    const overpaid: { id: string; advance: number }[] = [];
    const annulled: { line: LineToMatch; invoice: AnnulledInvoice }[] = [];
    // a line naming an invoice annulled (in 1C, or cancelled here) is not paid: it goes to review
    const check = annulledCheck(invoices.annulled);
    const matcher = new StatementMatcher(invoices.open);
    // the decisions written as they are made, a part at a time: a hundred thousand of them are not
    // all held at once, and what is written is let go while it is young
    let part: StatementMatchUpdate[] = [];
    let writing = 0;
    const write = async () => {
      const w = performance.now();
      await saveStatementMatches(trx, d.store.dialect, part);
      writing += performance.now() - w;
      part = [];
    };
    for (const i of oldestFirst(rows)) {
      const line = rows[i];
      const { decision: dec, invoice } = check(line, matcher.decide(line));
      if (invoice) annulled.push({ line, invoice });
      run[dec.outcome]++;
      part.push(toUpdate(line, dec));
      if (dec.outcome === 'review' && toReview.length < 5) toReview.push({ id: line.id, reason: dec.reason });
      if (dec.outcome === 'overpaid' && overpaid.length < 10) overpaid.push({ id: line.id, advance: dec.advance });
      if (part.length === WRITE_EVERY) await write();
    }
    if (part.length > 0) await write();
    if (timings) {
      timings.match = lap() - writing / 1000;
      t -= writing;
    }
    const runId = newId();
    const heads = await statementLineHeads(trx, [
      ...toReview.map((l) => l.id),
      ...overpaid.map((l) => l.id),
      ...annulled.map((h) => h.line.id),
    ]);
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
    for (const hit of annulled) {
      const r = hit.line;
      const h = head(r.id);
      await d.alerts.raise(
        trx,
        ALERTS.annulledInvoicePaid(
          organizationId,
          { id: r.id, number: h.number, date: h.date, payer: h.payer, amount: r.amount as Kopecks },
          hit.invoice,
        ),
      );
    }
    if (timings) timings.write = lap();
    return run;
  });
}
