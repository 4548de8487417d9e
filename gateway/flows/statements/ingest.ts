import type { StatementLine, StatementSource } from '../../ports';
import { insertStatementLines, newStatementLineRow, onecLinesBetween } from '../../store/statements';
import type { FlowDeps } from '../deps';

export interface IngestedStatement {
  /** Incoming lines the source gave. */
  seen: number;
  /** Of them, lines not stored before. */
  stored: number;
  cursor: string | null;
}

/**
 * Reads a statement source and stores its incoming lines, each once: all of them in one
 * transaction, or none (a refused file leaves the store as it was).
 */
export async function ingestStatement(
  d: Pick<FlowDeps, 'store'> & Partial<Pick<FlowDeps, 'onec'>>,
  organizationId: string,
  source: StatementSource,
  cursor: string | null = null,
): Promise<IngestedStatement> {
  const batch = await source.incomingSince(cursor);
  const lines = d.onec?.statements(organizationId) ? await withoutLinesFrom1C(d, organizationId, batch.lines) : batch.lines;
  const rows = lines.map((l) => newStatementLineRow(organizationId, source.name, l));
  const stored = await d.store.db.transaction().execute((trx) => insertStatementLines(trx, d.store.dialect, rows));
  return { seen: batch.lines.length, stored, cursor: batch.cursor };
}

/**
 * Where the accountant imports the statements into 1C and the gateway reads them from there too, a
 * payment order already stored from 1C's bank receipt (the same date, number and amount, the payer's
 * ИНН where both know it) is not stored again from a file or the bank: its invoice is paid already.
 */
async function withoutLinesFrom1C(d: Pick<FlowDeps, 'store'>, organizationId: string, lines: StatementLine[]): Promise<StatementLine[]> {
  if (lines.length === 0) return lines;
  const dates = lines.map((l) => l.date).sort();
  const known = await onecLinesBetween(d.store.db, organizationId, dates[0], dates[dates.length - 1]);
  if (known.length === 0) return lines;
  const key = (date: string, number: string, amount: number) => `${date}|${number}|${amount}`;
  const inns = new Map<string, (string | null)[]>();
  for (const k of known)
    inns.set(key(k.doc_date, k.number, k.amount), [...(inns.get(key(k.doc_date, k.number, k.amount)) ?? []), k.payer_inn]);
  return lines.filter((l) => {
    const payers = inns.get(key(l.date, l.number.trim().slice(0, 64), l.amount));
    return !payers?.some((inn) => !inn || !l.payer.inn || inn === l.payer.inn);
  });
}
