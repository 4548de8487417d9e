import type { StatementSource } from '../../ports';
import { insertStatementLines, newStatementLineRow } from '../../store/statements';
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
  d: Pick<FlowDeps, 'store'>,
  organizationId: string,
  source: StatementSource,
  cursor: string | null = null,
): Promise<IngestedStatement> {
  const batch = await source.incomingSince(cursor);
  const rows = batch.lines.map((l) => newStatementLineRow(organizationId, source.name, l));
  const stored = await d.store.db.transaction().execute((trx) => insertStatementLines(trx, d.store.dialect, rows));
  return { seen: rows.length, stored, cursor: batch.cursor };
}
