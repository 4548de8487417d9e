import { oldestFirst, StatementMatcher, type IncomingLine, type MatchDecision, type OpenInvoice } from '../../domain/statement-matching';
import type { StatementMatchState } from '../../store/schema';
import { annulledCheck, type AnnulledInvoice } from './annulled';

/** How lines are decided, here and on the matching thread alike. */

/** What matching reads: the invoices still to be paid, and those no longer to be paid that a payer may still name. */
export interface InvoicesToMatch {
  open: OpenInvoice[];
  /** Annulled in 1C or cancelled here, within the last year and a bit. */
  annulled: AnnulledInvoice[];
}

/** Decisions handed over, and written, together. */
export const DECISIONS_PER_PART = 4096;

export interface MatchRun {
  lines: number;
  matched: number;
  partial: number;
  overpaid: number;
  review: number;
}

/**
 * A line's decision as it is written back: the line's place among the lines matched, then the
 * columns (state, note, allocations as JSON, advance, flags as JSON). An array: parts of them cross
 * from the matching thread, and arrays cross cheaper than objects.
 */
export type Decided = [
  index: number,
  state: StatementMatchState,
  note: string | null,
  allocations: string | null,
  advance: number,
  flags: string | null,
];

/** What a run decided besides each line's decision: the counts, and what the alerts show. */
export interface Decisions {
  run: MatchRun;
  /** The first few lines to review, by their places. */
  toReview: { index: number; reason: string }[];
  /** The first few overpaid lines. */
  overpaid: { index: number; advance: number }[];
  /** Every line that named an invoice no longer to be paid. */
  annulled: { index: number; invoice: AnnulledInvoice }[];
}

const STATE: Record<MatchDecision['outcome'], StatementMatchState> = {
  matched: 'matched',
  partial: 'partial',
  overpaid: 'overpaid',
  review: 'review',
};

function decided(index: number, d: MatchDecision): Decided {
  if (d.outcome === 'review') return [index, 'review', d.reason.slice(0, 1000), null, 0, null];
  return [index, STATE[d.outcome], null, JSON.stringify(d.allocations), d.advance, d.flags.length ? JSON.stringify(d.flags) : null];
}

/**
 * Decides the lines (as the store gives them) against the invoices, oldest line first, and hands the
 * decisions over `size` at a time, to be written as they come: a hundred thousand of them are not
 * all held at once, and what is written is let go while it is young. Returns what the run decided.
 * The same here and on the matching thread.
 */
export function* decideInParts(invoices: InvoicesToMatch, lines: readonly IncomingLine[], size: number): Generator<Decided[], Decisions> {
  const out: Decisions = {
    run: { lines: lines.length, matched: 0, partial: 0, overpaid: 0, review: 0 },
    toReview: [],
    overpaid: [],
    annulled: [],
  };
  // a line naming an invoice annulled (in 1C, or cancelled here) is not paid: it goes to review
  const check = annulledCheck(invoices.annulled);
  const matcher = new StatementMatcher(invoices.open);
  let part: Decided[] = [];
  for (const i of oldestFirst(lines)) {
    const line = lines[i];
    const { decision: dec, invoice } = check(line, matcher.decide(line));
    if (invoice) out.annulled.push({ index: i, invoice });
    out.run[dec.outcome]++;
    part.push(decided(i, dec));
    if (dec.outcome === 'review' && out.toReview.length < 5) out.toReview.push({ index: i, reason: dec.reason });
    if (dec.outcome === 'overpaid' && out.overpaid.length < 10) out.overpaid.push({ index: i, advance: dec.advance });
    if (part.length === size) {
      yield part;
      part = [];
    }
  }
  if (part.length > 0) yield part;
  return out;
}
