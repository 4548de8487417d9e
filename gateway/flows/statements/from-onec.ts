import type { ScheduleDefinition } from '../../jobs/types';
import { OneCError, type StatementLine } from '../../ports';
import type { StatementLinesTable } from '../../store/schema';
import { documentsWrittenByGateway } from '../../store/payments';
import {
  insertStatementLines,
  newStatementLineRow,
  setStatementLinesOnec,
  statementLineKey,
  statementLinesBetween,
} from '../../store/statements';
import { getSyncState, setSyncState } from '../../store/sync-state';
import type { FlowDeps } from '../deps';
import { ALERTS } from '../alerts/catalog';
import { matchAndApply } from './apply';

/** How support reads where the statement came from. */
const ONEC_SOURCE = 'документы поступления в 1С';

export interface OneCStatementRun {
  /** Posted bank receipts 1C gave. */
  seen: number;
  /** Of them, written by the gateway itself (not a statement line). */
  own: number;
  /** Lines stored for the first time. */
  stored: number;
  matched: number;
  paid: number;
}

const cursorKey = (organizationId: string) => `statements.onec:${organizationId}`;

/**
 * Reads the organization's bank receipts in 1C since the last read (the accountant's statement
 * imports) and stores each as a statement line once, with the document it came from; the documents
 * the gateway wrote itself, and payment orders already stored from a file or the bank, are left out.
 * Then matches and applies: an invoice paid by such a line is paid as usual (order, site, receipt),
 * and its payment is recorded in 1C as that very document — no second one is written.
 */
export async function readOneCStatement(d: FlowDeps, organizationId: string): Promise<OneCStatementRun | null> {
  const source = d.onec.statements(organizationId);
  if (!source) return null;
  const cursor = (await getSyncState(d.store.db, cursorKey(organizationId))) ?? null;
  const batch = await source.incomingSince(cursor);
  // what is stored already (this read overlaps the last) is left out first: the checks below ask the store per document
  const dates = batch.lines.map((l) => l.date).sort();
  const known = dates.length ? await statementLinesBetween(d.store.db, organizationId, dates[0], dates[dates.length - 1]) : [];
  const keys = new Set(known.map((k) => k.line_key));
  const unseen = batch.lines.filter((l) => !keys.has(statementLineKey(l)));
  const own = await documentsWrittenByGateway(
    d.store.db,
    organizationId,
    unseen.flatMap((l) => (l.onec ? [{ ref: l.onec.ref, markerId: l.onec.markerId }] : [])),
  );
  const fresh: { row: StatementLinesTable; onec: StatementLine['onec'] }[] = [];
  for (const l of unseen) {
    if (l.onec && own.has(l.onec.ref.toLowerCase())) continue;
    // the same payment order from a file or the bank: its invoice is paid from that line already
    const elsewhere = known.some(
      (k) =>
        k.source !== source.name &&
        k.doc_date === l.date &&
        k.number === l.number.trim().slice(0, 64) &&
        k.amount === l.amount &&
        (!k.payer_inn || !l.payer.inn || k.payer_inn === l.payer.inn),
    );
    if (elsewhere) continue;
    fresh.push({ row: newStatementLineRow(organizationId, source.name, l), onec: l.onec });
  }
  const stored = await d.store.db.transaction().execute(async (trx) => {
    const n = await insertStatementLines(
      trx,
      d.store.dialect,
      fresh.map((f) => f.row),
    );
    await setStatementLinesOnec(
      trx,
      organizationId,
      fresh.flatMap((f) => (f.onec ? [{ lineKey: f.row.line_key, ref: f.onec.ref, number: f.onec.number }] : [])),
    );
    return n;
  });
  if (batch.cursor && batch.cursor !== cursor) await setSyncState(d.store, cursorKey(organizationId), batch.cursor);
  const run = await matchAndApply(d, organizationId);
  if (stored > 0) d.log.info({ organizationId, seen: batch.lines.length, stored }, 'bank receipts read from 1C');
  return { seen: batch.lines.length, own: own.size, stored, matched: run.matched, paid: run.paid + run.parts };
}

/** Every organization reading its bank receipts from 1C, each at its own period (the shortest sets the beat). */
export function onecStatementSchedule(d: FlowDeps): ScheduleDefinition | null {
  const orgs = d.config.organizations.filter((o) => o.payments.invoice?.statementsFrom1C && d.onec.statements(o.id));
  if (orgs.length === 0) return null;
  const everyMs = Math.min(...orgs.map((o) => o.payments.invoice!.statementsFrom1C!.everySeconds)) * 1000;
  const last = new Map<string, number>();
  return {
    name: 'statements.onec',
    everyMs,
    handler: async () => {
      for (const o of orgs) {
        const period = o.payments.invoice!.statementsFrom1C!.everySeconds * 1000;
        if (Date.now() - (last.get(o.id) ?? 0) < period - 1000) continue;
        last.set(o.id, Date.now());
        try {
          await readOneCStatement(d, o.id);
        } catch (e) {
          // one base out of reach keeps the others read; this one is asked again next period, and support knows
          const error = e instanceof OneCError ? e.hint : (e as Error).message;
          d.log.warn({ organizationId: o.id, err: (e as Error).message }, 'bank receipts not read from 1C');
          await d.store.db
            .transaction()
            .execute((trx) =>
              d.alerts.raise(
                trx,
                ALERTS.statementApiFailed({ organizationId: o.id, organizationName: o.name, source: ONEC_SOURCE, error }),
              ),
            );
          d.jobs.kick();
        }
      }
    },
  };
}
