import { sql } from 'kysely';
import { newId } from '../domain/ids';
import type { StatementLine } from '../ports';
import { nowIso, type Dialect, type Executor } from './db';
import type { StatementLineRow, StatementLinesTable, StatementMatchState } from './schema';
import { insertIgnore, isMssql, page, rowsAsArrays } from './sql';
import { sqliteBatch } from './sqlite/group-commit';

/**
 * Incoming bank lines. A line is stored once per organization under the key a bank line keeps in
 * every statement it appears in (daily statements overlap; a file comes twice): our account, the
 * document's date, number, amount and the payer's account.
 */

export function statementLineKey(l: Pick<StatementLine, 'account' | 'date' | 'number' | 'amount' | 'payer'>): string {
  return [l.account, l.date, l.number.trim(), l.amount, l.payer.account ?? ''].join('|');
}

export function newStatementLineRow(organizationId: string, source: string, l: StatementLine, now = nowIso()): StatementLinesTable {
  return {
    id: newId(),
    organization_id: organizationId,
    line_key: statementLineKey(l),
    source,
    account: l.account,
    kind: l.kind.slice(0, 64),
    number: l.number.slice(0, 64),
    doc_date: l.date,
    bank_date: l.bankDate,
    amount: l.amount,
    payer_name: l.payer.name.slice(0, 500),
    payer_inn: l.payer.inn,
    payer_kpp: l.payer.kpp,
    payer_account: l.payer.account,
    payer_bik: l.payer.bankBik,
    purpose: l.purpose.slice(0, 1000),
    uip: l.uip?.slice(0, 25) ?? null,
    match_state: 'new',
    match_note: null,
    allocations: null,
    advance: 0,
    flags: null,
    applied_at: null,
    created_at: now,
    updated_at: now,
  };
}

/** Stores the lines not stored yet; returns how many were new. Many rows per statement where the dialect allows. */
export async function insertStatementLines(db: Executor, dialect: Dialect, rows: readonly StatementLinesTable[]): Promise<number> {
  let inserted = 0;
  if (dialect === 'mssql') {
    for (const r of rows) if (await insertIgnore(db, dialect, 'statement_lines', r, ['organization_id', 'line_key'])) inserted++;
    return inserted;
  }
  // the same key twice in one batch: the first one stands, as it would one by one
  const seen = new Set<string>();
  const unique = rows.filter((r) => {
    const k = `${r.organization_id}\u0000${r.line_key}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  for (let i = 0; i < unique.length; i += 500) {
    const r = await db
      .insertInto('statement_lines')
      .values(unique.slice(i, i + 500))
      .onConflict((oc) => oc.columns(['organization_id', 'line_key']).doNothing())
      .executeTakeFirst();
    inserted += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  return inserted;
}

export async function getStatementLine(db: Executor, id: string): Promise<StatementLineRow | undefined> {
  return db.selectFrom('statement_lines').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Lines of the organizations in these states, oldest first (by default: not matched yet). */
export async function statementLinesIn(
  db: Executor,
  organizationId: string,
  states: StatementMatchState[] = ['new'],
): Promise<StatementLineRow[]> {
  return db
    .selectFrom('statement_lines')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('match_state', 'in', states)
    .orderBy('doc_date')
    .orderBy('id')
    .execute();
}

/** What matching reads of a line: its amount, date (the bank's, else the document's), payer, purpose and УИП. */
export interface LineToMatch {
  id: string;
  amount: number;
  date: string;
  payerInn: string | null;
  payerKpp: string | null;
  purpose: string;
  uip: string | null;
  /** On SQLite, the line's rowid: what is decided is written back by it (see saveStatementMatches). */
  rowid?: number;
}

/** Whether the organization has lines not matched yet (one look-up in the state's index). */
export async function hasLinesToMatch(db: Executor, organizationId: string): Promise<boolean> {
  const query = db
    .selectFrom('statement_lines')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('match_state', '=', 'new');
  const row = await page(db, query, 1).executeTakeFirst();
  return row !== undefined;
}

/** The organization's lines not matched yet, oldest first, with what matching needs of them and no more. */
export async function linesToMatch(db: Executor, dialect: Dialect, organizationId: string): Promise<LineToMatch[]> {
  const query = db
    .selectFrom('statement_lines')
    .select((eb) => [
      'id',
      'amount',
      eb.fn.coalesce('bank_date', 'doc_date').as('date'),
      'payer_inn',
      'payer_kpp',
      'purpose',
      'uip',
      'doc_date',
      ...(dialect === 'sqlite' ? [sql<number>`rowid`.as('rowid')] : []),
    ])
    .where('organization_id', '=', organizationId)
    .where('match_state', '=', 'new');
  const rows = await rowsAsArrays(db, query);
  // oldest first (by the payment order's date, then id), sorted here: the lines come by the state's
  // index in the order they were stored, mostly the statements' order already, which this sort walks
  // through at once where the database would sort them all over again
  rows.sort((a, b) => compare(a[7] as string, b[7] as string) || compare(a[0] as string, b[0] as string));
  const out = new Array<LineToMatch>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    out[i] = {
      id: r[0] as string,
      // PostgreSQL hands bigint over as a string
      amount: Number(r[1]),
      date: r[2] as string,
      payerInn: r[3] as string | null,
      payerKpp: r[4] as string | null,
      purpose: r[5] as string,
      uip: r[6] as string | null,
      rowid: r.length > 8 ? (r[8] as number) : undefined,
    };
  }
  return out;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** How support knows a line: the payment order's number and date, and the payer. */
export async function statementLineHeads(
  db: Executor,
  ids: readonly string[],
): Promise<Map<string, { number: string; date: string; payer: string }>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('statement_lines')
    .select(['id', 'number', 'doc_date', 'payer_name'])
    .where('id', 'in', [...ids])
    .execute();
  return new Map(rows.map((r) => [r.id, { number: r.number, date: r.doc_date, payer: r.payer_name }]));
}

export interface StatementMatchUpdate {
  id: string;
  /** The line's rowid, when it was read with one (SQLite) in the transaction that writes it. */
  rowid?: number;
  match_state: StatementMatchState;
  match_note: string | null;
  allocations: string | null;
  advance: number;
  flags: string | null;
}

/**
 * Writes what matching decided, many lines per statement: on SQLite one prepared UPDATE run for
 * every line in one call of the driver (by rowid when the lines were read with it, in this same
 * transaction), elsewhere as a list of values joined by id.
 */
export async function saveStatementMatches(db: Executor, dialect: Dialect, updates: readonly StatementMatchUpdate[]): Promise<void> {
  if (updates.length === 0) return;
  const now = nowIso();
  const mssql = dialect === 'mssql' || isMssql(db);
  const values = (part: readonly StatementMatchUpdate[]) =>
    sql.join(part.map((u) => sql`(${u.id}, ${u.match_state}, ${u.match_note}, ${u.allocations}, ${u.advance}, ${u.flags})`));
  if (dialect === 'sqlite') {
    const set = 'update statement_lines set match_state = ?, match_note = ?, allocations = ?, advance = ?, flags = ?, updated_at = ?';
    let byRowid = true;
    let inOrder = true;
    for (let i = 0; i < updates.length && byRowid; i++) {
      byRowid = updates[i].rowid !== undefined;
      if (i > 0 && inOrder) inOrder = updates[i].rowid! > updates[i - 1].rowid!;
    }
    // lines read with their rowid are written by it in its order, the table's pages one after the
    // other (they mostly come in it already: lines are stored in the statements' order)
    const ordered = byRowid && !inOrder ? [...updates].sort((a, b) => a.rowid! - b.rowid!) : updates;
    const rows = new Array<unknown[]>(ordered.length);
    for (let i = 0; i < ordered.length; i++) {
      const u = ordered[i];
      rows[i] = [u.match_state, u.match_note, u.allocations, u.advance, u.flags, now, byRowid ? u.rowid : u.id];
    }
    await db.executeQuery(sqliteBatch(`${set} where ${byRowid ? 'rowid' : 'id'} = ?`, rows));
    return;
  }
  // SQL Server takes at most 2100 parameters a statement
  const chunk = mssql ? 300 : 2000;
  for (let i = 0; i < updates.length; i += chunk) {
    const part = values(updates.slice(i, i + chunk));
    if (mssql) {
      await sql`update s set match_state = v.st, match_note = v.note, allocations = v.alloc, advance = cast(v.adv as bigint), flags = v.fl, updated_at = ${now}
        from statement_lines s join (values ${part}) as v(id, st, note, alloc, adv, fl) on s.id = v.id`.execute(db);
    } else {
      await sql`with v(id, st, note, alloc, adv, fl) as (values ${part})
        update statement_lines set match_state = v.st, match_note = v.note, allocations = v.alloc, advance = cast(v.adv as bigint), flags = v.fl, updated_at = ${now}
        from v where statement_lines.id = v.id`.execute(db);
    }
  }
}

/** Lines for support: in these states (all when empty), newest first. */
export async function findStatementLines(
  db: Executor,
  q: { organizations: string[]; states: StatementMatchState[]; limit: number },
): Promise<StatementLineRow[]> {
  let query = db.selectFrom('statement_lines').selectAll().where('organization_id', 'in', q.organizations);
  if (q.states.length) query = query.where('match_state', 'in', q.states);
  return page(db, query.orderBy('doc_date', 'desc').orderBy('id', 'desc'), q.limit).execute();
}

/** Moves a line out of review (matched by hand, or closed); false when it is not in review any more. */
export async function settleReviewedLine(db: Executor, id: string, set: Omit<StatementMatchUpdate, 'id'>): Promise<boolean> {
  const r = await db
    .updateTable('statement_lines')
    .set({ ...set, updated_at: nowIso() })
    .where('id', '=', id)
    .where('match_state', '=', 'review')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Records, on the organization's stored lines (by key), the 1C documents they were read from. */
export async function setStatementLinesOnec(
  db: Executor,
  organizationId: string,
  docs: readonly { lineKey: string; ref: string; number: string | null }[],
): Promise<void> {
  for (const d of docs)
    await db
      .updateTable('statement_lines')
      .set({ onec_ref: d.ref, onec_number: d.number?.slice(0, 32) ?? null })
      .where('organization_id', '=', organizationId)
      .where('line_key', '=', d.lineKey)
      .where('onec_ref', 'is', null)
      .execute();
}

/** The 1C document a line was read from (null for a line from a file or a bank). */
export async function onecDocumentOfLine(db: Executor, lineId: string): Promise<{ ref: string; number: string | null } | null> {
  const r = await db.selectFrom('statement_lines').select(['onec_ref', 'onec_number']).where('id', '=', lineId).executeTakeFirst();
  return r?.onec_ref ? { ref: r.onec_ref, number: r.onec_number ?? null } : null;
}

/** The organization's lines with payment order dates in [from, to]: what a new read is checked against. */
export async function statementLinesBetween(
  db: Executor,
  organizationId: string,
  from: string,
  to: string,
): Promise<Pick<StatementLineRow, 'source' | 'line_key' | 'doc_date' | 'number' | 'amount' | 'payer_inn'>[]> {
  return db
    .selectFrom('statement_lines')
    .select(['source', 'line_key', 'doc_date', 'number', 'amount', 'payer_inn'])
    .where('organization_id', '=', organizationId)
    .where('doc_date', '>=', from)
    .where('doc_date', '<=', to)
    .execute();
}

/** The organization's matched lines whose shares are not applied to their invoices yet, oldest first. */
export async function linesToApply(db: Executor, organizationId: string): Promise<StatementLineRow[]> {
  return (
    db
      .selectFrom('statement_lines')
      .selectAll()
      .where('organization_id', '=', organizationId)
      // written as the index of the lines to apply is, so that every database takes it
      .where(sql<boolean>`applied_at is null and match_state in ('matched', 'partial', 'overpaid')`)
      .orderBy('doc_date')
      .orderBy('id')
      .execute()
  );
}

export async function markLineApplied(db: Executor, id: string, note?: string): Promise<void> {
  await db
    .updateTable('statement_lines')
    .set({ applied_at: nowIso(), ...(note ? { match_note: note.slice(0, 1000) } : {}) })
    .where('id', '=', id)
    .execute();
}

/** The organization's lines read from 1C's own bank receipts with payment order dates in [from, to]: what a file or the bank gives again. */
export async function onecLinesBetween(
  db: Executor,
  organizationId: string,
  from: string,
  to: string,
): Promise<Pick<StatementLineRow, 'doc_date' | 'number' | 'amount' | 'payer_inn'>[]> {
  return db
    .selectFrom('statement_lines')
    .select(['doc_date', 'number', 'amount', 'payer_inn'])
    .where('organization_id', '=', organizationId)
    .where('source', '=', 'onec')
    .where('doc_date', '>=', from)
    .where('doc_date', '<=', to)
    .execute();
}
