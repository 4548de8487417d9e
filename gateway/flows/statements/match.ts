import { newId } from '../../domain/ids';
import { largeTransaction } from '../../store/db';
import type { Kopecks } from '../../domain/money';
import { invoicesToMatchQuery } from '../../store/invoices';
import {
  hasLinesToMatch,
  linesToMatch,
  saveStatementMatches,
  statementLineHeads,
  type LineToMatch,
  type StatementMatchUpdate,
} from '../../store/statements';
import { ALERTS } from '../alerts/catalog';
import type { FlowDeps } from '../deps';
import type { Decided, Decisions, MatchRun } from './decide';
import { decideInParts, DECISIONS_PER_PART } from './decide';
import { annulledSince, invoicesToMatch, type InvoicesToMatch } from './invoices-to-match';

export type { InvoicesToMatch } from './invoices-to-match';
export type { MatchRun } from './decide';

/** The page cache a run of matching may use on SQLite (see largeTransaction). */
const MATCHING_CACHE_MIB = 128;

function toUpdate(row: Pick<LineToMatch, 'id' | 'rowid'>, d: Decided): StatementMatchUpdate {
  return { id: row.id, rowid: row.rowid, match_state: d[1], match_note: d[2], allocations: d[3], advance: d[4], flags: d[5] };
}

/** Seconds each step of a run took (for the benchmark). On the matching thread, the first two and the next two overlap. */
export interface MatchTimings {
  /** Where the invoices were read and matched: 'thread' (the matching thread) or 'here'. */
  where: 'thread' | 'here';
  /** The lines read (here, in the transaction). */
  lines: number;
  /** The invoices read. */
  invoices: number;
  /** The decisions made, from the moment the invoices and lines were both in. */
  match: number;
  /** The decisions written back, every part together. */
  write: number;
  /** From the last decision written to the end: the alerts raised, the transaction committed and synced. */
  rest: number;
}

/**
 * Matches the organization's incoming lines not matched yet against its open invoices (those annulled
 * send a line naming them to review), and writes every decision with the alerts they call for (lines
 * to review, overpayments) in one transaction. With a matching thread (an SQLite file), the thread
 * reads the invoices and decides while the lines are read and the decisions written here; else all
 * of it here, against `invoices` when given.
 */
export async function matchStoredLines(
  d: Pick<FlowDeps, 'store' | 'alerts' | 'matchingThread'>,
  organizationId: string,
  opts: { invoices?: InvoicesToMatch; timings?: MatchTimings } = {},
): Promise<MatchRun> {
  const thread = opts.invoices ? undefined : d.matchingThread;
  const timings = opts.timings ?? ({} as MatchTimings);
  // the schedule comes every minute, mostly to find nothing new: the invoices are not read then
  if (!(await hasLinesToMatch(d.store.db, organizationId))) return { lines: 0, matched: 0, partial: 0, overpaid: 0, review: 0 };
  let invoices = opts.invoices;
  if (!thread && !invoices) {
    // read outside the transaction, as the thread reads them, and before it: on a store of one
    // connection (:memory:) a read outside it would wait for the transaction to end
    const t = performance.now();
    invoices = await invoicesToMatch(d, organizationId);
    timings.invoices = (performance.now() - t) / 1000;
  }
  let decided = 0;
  const run = await largeTransaction(d.store, MATCHING_CACHE_MIB, async (trx) => {
    let rows: LineToMatch[] = [];
    const readLines = async () => {
      const t = performance.now();
      rows = await linesToMatch(trx, d.store.dialect, organizationId);
      timings.lines = (performance.now() - t) / 1000;
      return rows;
    };
    timings.write = 0;
    const write = async (part: readonly Decided[]) => {
      const t = performance.now();
      const updates = new Array<StatementMatchUpdate>(part.length);
      for (let k = 0; k < part.length; k++) updates[k] = toUpdate(rows[part[k][0]], part[k]);
      await saveStatementMatches(trx, d.store.dialect, updates);
      timings.write += (performance.now() - t) / 1000;
    };
    let decisions: Decisions;
    if (thread) {
      const q = invoicesToMatchQuery(d.store.db, d.store.dialect, organizationId).compile();
      const r = await thread.decide({ sql: q.sql, parameters: q.parameters, annulledSince: annulledSince() }, readLines, write);
      Object.assign(timings, { where: 'thread', invoices: r.invoices, match: r.match });
      decisions = r.decisions;
    } else {
      await readLines();
      const t = performance.now();
      const parts = decideInParts(invoices!, rows, DECISIONS_PER_PART);
      let next = parts.next();
      for (; !next.done; next = parts.next()) await write(next.value);
      decisions = next.value;
      Object.assign(timings, { where: 'here', match: (performance.now() - t) / 1000 - timings.write });
    }
    decided = performance.now();
    await raiseAlerts(d, trx, organizationId, rows, decisions);
    return decisions.run;
  });
  timings.rest = (performance.now() - decided) / 1000;
  return run;
}

async function raiseAlerts(
  d: Pick<FlowDeps, 'alerts'>,
  trx: Parameters<FlowDeps['alerts']['raise']>[0],
  organizationId: string,
  rows: readonly LineToMatch[],
  { run, toReview, overpaid, annulled }: Decisions,
): Promise<void> {
  const runId = newId();
  const heads = await statementLineHeads(trx, [
    ...toReview.map((l) => rows[l.index].id),
    ...overpaid.map((l) => rows[l.index].id),
    ...annulled.map((h) => rows[h.index].id),
  ]);
  const head = (index: number) => heads.get(rows[index].id)!;
  if (run.review > 0)
    await d.alerts.raise(
      trx,
      ALERTS.statementLinesToReview(
        organizationId,
        runId,
        run.review,
        toReview.map((l) => `п/п №${head(l.index).number} от ${head(l.index).date} (${head(l.index).payer}): ${l.reason}`),
      ),
    );
  if (run.overpaid > 0)
    await d.alerts.raise(
      trx,
      ALERTS.statementOverpayments(
        organizationId,
        runId,
        overpaid.map((l) => ({ number: head(l.index).number, payer: head(l.index).payer, advance: l.advance })),
        run.overpaid,
      ),
    );
  for (const hit of annulled) {
    const r = rows[hit.index];
    const h = head(hit.index);
    await d.alerts.raise(
      trx,
      ALERTS.annulledInvoicePaid(
        organizationId,
        { id: r.id, number: h.number, date: h.date, payer: h.payer, amount: r.amount as Kopecks },
        hit.invoice,
      ),
    );
  }
}
