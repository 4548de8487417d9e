import { nowIso, type Dialect, type Executor } from './db';
import type { IdempotencyKeysTable } from './schema';
import { insertIgnore } from './sql';

export type Begin = { kind: 'started' } | { kind: 'replay'; status: number; body: string } | { kind: 'mismatch' } | { kind: 'in_progress' };

/**
 * Claims an idempotency key for a request. The same key with the same request hash replays the
 * stored answer; with another hash it is a client error; while the first request still runs, a
 * conflict. A request whose process died frees its key when `lockMs` has passed.
 */
export async function beginIdempotent(
  db: Executor,
  dialect: Dialect,
  scope: string,
  key: string,
  requestHash: string,
  lockMs: number,
  tries = 3,
): Promise<Begin> {
  const now = Date.now();
  const row: IdempotencyKeysTable = {
    scope,
    key,
    request_hash: requestHash,
    state: 'running',
    response_status: null,
    response_body: null,
    locked_until: nowIso(now + lockMs),
    created_at: nowIso(now),
  };
  if (await insertIgnore(db, dialect, 'idempotency_keys', row, ['scope', 'key'])) return { kind: 'started' };
  const existing = await db.selectFrom('idempotency_keys').selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
  if (!existing) {
    // released between our insert and our read: try again, a few times
    if (tries > 1) return beginIdempotent(db, dialect, scope, key, requestHash, lockMs, tries - 1);
    return { kind: 'in_progress' };
  }
  if (existing.request_hash !== requestHash) return { kind: 'mismatch' };
  if (existing.state === 'done') return { kind: 'replay', status: existing.response_status ?? 200, body: existing.response_body ?? '' };
  if (existing.locked_until > nowIso(now)) return { kind: 'in_progress' };
  const r = await db
    .updateTable('idempotency_keys')
    .set({ locked_until: nowIso(now + lockMs) })
    .where('scope', '=', scope)
    .where('key', '=', key)
    .where('state', '=', 'running')
    .where('locked_until', '=', existing.locked_until)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0 ? { kind: 'started' } : { kind: 'in_progress' };
}

export async function completeIdempotent(db: Executor, scope: string, key: string, status: number, body: string): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ state: 'done', response_status: status, response_body: body })
    .where('scope', '=', scope)
    .where('key', '=', key)
    .execute();
}

/** Frees a key whose request failed on our side, so the client may try again with it. */
export async function releaseIdempotent(db: Executor, scope: string, key: string): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('scope', '=', scope).where('key', '=', key).where('state', '=', 'running').execute();
}
