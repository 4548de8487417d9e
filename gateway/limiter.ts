import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Limiter } from './ports';
import { dialectOf, survivesRestarts } from './store/db';
import { reserveRateSlot, slotLockId, tryLockSlot, unlockSlot } from './store/limits';

/** At most `max` calls at once; the others wait in order. */
export class Semaphore implements Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new RangeError('a semaphore needs at least one slot');
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * At most `max` calls at once across every process on one PostgreSQL: a call holds one of `max`
 * session advisory locks on a connection of its own while it runs. A process killed mid-call loses
 * its connection and with it the lock. Waiting is a short backoff between tries, with no connection
 * held; within a process the calls queue in order first, so a process never holds more than `max`.
 */
export class AdvisorySlots implements Limiter {
  private readonly local: Semaphore;
  private readonly locks: string[];

  constructor(
    readonly key: string,
    readonly max: number,
    private readonly pool: () => pg.Pool,
    private readonly backoffMs = { min: 20, max: 250 },
  ) {
    this.local = new Semaphore(max);
    this.locks = Array.from({ length: max }, (_, i) => slotLockId(key, i));
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.local.run(async () => {
      for (let attempt = 0; ; attempt++) {
        const conn = await this.pool().connect();
        let held: string | null;
        try {
          held = await this.take(conn);
        } catch (e) {
          conn.release(e as Error);
          throw e;
        }
        if (held === null) {
          conn.release();
          const cap = Math.min(this.backoffMs.max, this.backoffMs.min * 2 ** attempt);
          await sleep(cap / 2 + Math.random() * (cap / 2));
          continue;
        }
        const lock = held;
        try {
          return await fn();
        } finally {
          // a connection that cannot say unlock is closed instead: its locks go with it
          await unlockSlot(conn, lock).then(
            () => conn.release(),
            (e: Error) => conn.release(e),
          );
        }
      }
    });
  }

  /** The first free slot, starting at a random one so that processes do not all queue on slot 0. */
  private async take(conn: pg.PoolClient): Promise<string | null> {
    const start = Math.floor(Math.random() * this.max);
    for (let i = 0; i < this.max; i++) {
      const lock = this.locks[(start + i) % this.max];
      if (await tryLockSlot(conn, lock)) return lock;
    }
    return null;
  }
}

/**
 * Calls at least `intervalMs` apart (start to start) across every process on one PostgreSQL: each
 * call takes the next free instant of its key in one statement and sleeps until then.
 */
export class SharedRate implements Limiter {
  constructor(
    readonly key: string,
    readonly intervalMs: number,
    private readonly pool: () => pg.Pool,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const wait = await reserveRateSlot(this.pool(), this.key, this.intervalMs);
    if (wait > 0) await sleep(wait);
    return fn();
  }
}

/** The limits on outside systems that every gateway process on one database keeps together. */
export interface Limits {
  /** At most `max` calls at once to what `key` names (a 1C base: its licences). */
  concurrency(key: string, max: number): Limiter;
  /**
   * Calls to what `key` names at least `intervalMs` apart (a bank's 1 request/s). Undefined where
   * the limits are in-process: the connector's own pacing is the limit then.
   */
  rate(key: string, intervalMs: number): Limiter | undefined;
  close(): Promise<void>;
}

/** Limits that one process keeps by itself. */
export function inProcessLimits(): Limits {
  return { concurrency: (_key, max) => new Semaphore(max), rate: () => undefined, close: async () => undefined };
}

/**
 * The limits for the gateway's database. PostgreSQL: shared by every process (advisory locks, a
 * row per rate), on connections of their own, opened at the first call. SQLite (one process) and
 * SQL Server: in-process.
 */
export function openLimits(databaseUrl: string): Limits {
  if (dialectOf(databaseUrl) !== 'postgres') return inProcessLimits();
  // each slot a process can hold on a connection of its own, and one for taking rate slots
  let size = 1;
  let pool: pg.Pool | null = null;
  const open = (): pg.Pool => {
    if (pool) return pool;
    const { Pool } = require('pg') as typeof import('pg');
    pool = new Pool({ connectionString: databaseUrl, max: size, application_name: 'onec-gateway limits' });
    // one holding a slot when it died says so to its next query (the unlock), which closes it
    survivesRestarts(pool);
    return pool;
  };
  return {
    concurrency(key, max) {
      if (pool) throw new Error('every concurrency limit is set up before the first call');
      size += max;
      return new AdvisorySlots(key, max, open);
    },
    rate: (key, intervalMs) => new SharedRate(key, intervalMs, open),
    async close() {
      const p = pool;
      pool = null;
      await p?.end();
    },
  };
}
