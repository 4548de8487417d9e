import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * What several gateway processes on one PostgreSQL use to share a limit on an outside system: slots
 * held as session advisory locks (they die with the connection, so a killed process frees its own)
 * and a row per rate-limited key holding the next free instant.
 */

/** The lock id of one slot: 64 bits of a hash of the limit's key and the slot's number. */
export function slotLockId(key: string, slot: number): string {
  return BigInt.asIntN(64, BigInt('0x' + createHash('sha256').update(`${key}\n${slot}`).digest('hex').slice(0, 16))).toString();
}

/** Takes the slot's session lock if nobody holds it; never waits. */
export async function tryLockSlot(conn: pg.PoolClient, lockId: string): Promise<boolean> {
  const r = await conn.query<{ ok: boolean }>('select pg_try_advisory_lock($1::bigint) as ok', [lockId]);
  return r.rows[0]?.ok === true;
}

export async function unlockSlot(conn: pg.PoolClient, lockId: string): Promise<void> {
  await conn.query('select pg_advisory_unlock($1::bigint)', [lockId]);
}

/**
 * Takes the next free instant of `key` (`intervalMs` after the one taken before, and not in the
 * past) and answers how long the caller waits for it. The database's clock decides, so processes on
 * machines whose clocks differ still keep the spacing.
 */
export async function reserveRateSlot(db: pg.Pool | pg.PoolClient, key: string, intervalMs: number): Promise<number> {
  const { rows } = await db.query<{ wait_ms: string }>(
    `with clock as (select (extract(epoch from clock_timestamp()) * 1000)::bigint as now_ms)
     insert into rate_limits (key, next_at) select $1, now_ms + $2 from clock
     on conflict (key) do update set next_at = greatest(rate_limits.next_at, (select now_ms from clock)) + $2
     returning next_at - $2 - (select now_ms from clock) as wait_ms`,
    [key, Math.round(intervalMs)],
  );
  return Math.max(0, Number(rows[0]?.wait_ms ?? 0));
}
