import { sql, type Insertable } from 'kysely';
import { newId } from '../domain/ids';
import { nowIso, type Db, type Dialect, type Executor } from './db';
import { prepared } from './prepared';
import type { JobRow, JobStatus, JobsTable } from './schema';
import { insertIgnore, insertIgnoreQuery, page } from './sql';

export interface EnqueueOptions {
  /** The same key twice is one job: the second enqueue is a no-op. Derive it from stable ids. */
  key?: string;
  runAt?: Date;
  maxAttempts: number;
}

/**
 * The transactional outbox: called inside the transaction that makes the change the job follows
 * from, so both commit or neither does. Returns the job id, or null when the key already existed.
 */
export async function enqueueJob(db: Executor, name: string, payload: unknown, opts: EnqueueOptions): Promise<string | null> {
  const now = nowIso();
  const id = newId();
  const row = {
    id,
    name,
    dedupe_key: opts.key ?? null,
    payload: JSON.stringify(payload ?? null),
    status: 'pending' as const,
    attempts: 0,
    max_attempts: opts.maxAttempts,
    run_at: opts.runAt ? opts.runAt.toISOString() : now,
    locked_until: null,
    locked_by: null,
    last_error: null,
    created_at: now,
    updated_at: now,
  };
  const r = await (opts.key ? insertKeyedJob : insertJob)(db, row);
  return Number(r.numAffectedRows ?? 0) > 0 ? id : null;
}

const insertJob = prepared((db, row: Insertable<JobsTable>) => db.insertInto('jobs').values(row));
const insertKeyedJob = prepared((db, row: Insertable<JobsTable>) => insertIgnoreQuery(db, 'jobs', row, ['dedupe_key']));

export async function getJob(db: Executor, id: string): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listJobs(
  db: Executor,
  filter: { status?: JobStatus; name?: string; limit: number; offset?: number },
): Promise<JobRow[]> {
  let q = db.selectFrom('jobs').selectAll();
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.name) q = q.where('name', '=', filter.name);
  return page(db, q.orderBy('updated_at', 'desc').orderBy('id', 'desc'), filter.limit, filter.offset ?? 0).execute();
}

export async function countJobsByStatus(db: Executor): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('jobs')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/**
 * Claims up to `limit` due jobs for `worker`: they become `running` with a lease. Each attempt is
 * counted when it starts, so a job that kills its process every time still ends dead.
 */
export async function claimDueJobs(db: Executor, dialect: Dialect, worker: string, limit: number, leaseMs: number): Promise<JobRow[]> {
  const now = Date.now();
  const set = {
    status: 'running' as const,
    locked_by: worker,
    locked_until: nowIso(now + leaseMs),
    updated_at: nowIso(now),
    attempts: sql<number>`attempts + 1`,
  };
  if (dialect === 'postgres') {
    return db
      .updateTable('jobs')
      .set(set)
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('jobs')
          .select('id')
          .where('status', '=', 'pending')
          .where('run_at', '<=', nowIso(now))
          .orderBy('run_at')
          .limit(limit)
          .modifyEnd(sql`for update skip locked`),
      )
      .returningAll()
      .execute();
  }
  if (dialect === 'mssql') {
    // the oldest due jobs, skipping rows other workers hold (UPDATE TOP cannot order: a CTE can)
    const r = await sql<JobRow>`with due as (select top (${limit}) * from jobs with (updlock, readpast, rowlock)
        where status = 'pending' and run_at <= ${nowIso(now)} order by run_at)
      update due set status = 'running', locked_by = ${worker}, locked_until = ${set.locked_until}, updated_at = ${set.updated_at}, attempts = attempts + 1
      output inserted.*`.execute(db);
    return r.rows;
  }
  // SQLite: one writer at a time, so select-then-update inside the statement is race-free.
  return db
    .updateTable('jobs')
    .set(set)
    .where('id', 'in', (eb) =>
      eb.selectFrom('jobs').select('id').where('status', '=', 'pending').where('run_at', '<=', nowIso(now)).orderBy('run_at').limit(limit),
    )
    .returningAll()
    .execute();
}

/** A BullMQ worker takes attempt `attemptsBefore + 1` of a job; undefined when the row has moved past it (done, dead, or a newer attempt). */
export async function startJob(
  db: Executor,
  id: string,
  worker: string,
  leaseMs: number,
  attemptsBefore: number,
): Promise<JobRow | undefined> {
  const now = Date.now();
  const r = await db
    .updateTable('jobs')
    .set({
      status: 'running',
      locked_by: worker,
      locked_until: nowIso(now + leaseMs),
      updated_at: nowIso(now),
      attempts: sql<number>`attempts + 1`,
    })
    .where('id', '=', id)
    .where('attempts', '=', attemptsBefore)
    .where('status', 'in', ['queued', 'pending', 'running'])
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return undefined;
  return getJob(db, id);
}

/** A claimed job handed back unrun (its kind runs as many as it may in this process): due again at `runAt`, the attempt not counted. */
export async function releaseJob(db: Executor, id: string, worker: string, runAt: Date): Promise<void> {
  await db
    .updateTable('jobs')
    .set({
      status: 'pending',
      locked_by: null,
      locked_until: null,
      run_at: nowIso(runAt.getTime()),
      updated_at: nowIso(),
      attempts: sql<number>`attempts - 1`,
    })
    .where('id', '=', id)
    .where('locked_by', '=', worker)
    .where('status', '=', 'running')
    .execute();
}

export async function finishJob(db: Executor, id: string, worker: string): Promise<boolean> {
  const r = await db
    .updateTable('jobs')
    .set({ status: 'done', locked_by: null, locked_until: null, updated_at: nowIso(), last_error: null })
    .where('id', '=', id)
    .where('locked_by', '=', worker)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** After a failed run: back to pending at `runAt`, or dead. */
export async function failJob(
  db: Executor,
  id: string,
  worker: string,
  outcome: { dead: boolean; error: string; runAt: Date },
): Promise<boolean> {
  const r = await db
    .updateTable('jobs')
    .set({
      status: outcome.dead ? 'dead' : 'pending',
      run_at: outcome.runAt.toISOString(),
      last_error: outcome.error.slice(0, 2000),
      locked_by: null,
      locked_until: null,
      updated_at: nowIso(),
    })
    .where('id', '=', id)
    .where('locked_by', '=', worker)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Renews the leases of the jobs `worker` is running now (`ids`), and only those: a row left running by
 * a run whose outcome could not be recorded (the store was unreachable) must see its lease run out,
 * or it would stay running for as long as the process lives.
 */
export async function extendLeases(db: Executor, worker: string, leaseMs: number, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('jobs')
    .set({ locked_until: nowIso(Date.now() + leaseMs) })
    .where('id', 'in', ids)
    .where('locked_by', '=', worker)
    .where('status', '=', 'running')
    .execute();
}

/**
 * A stopping worker gives back the jobs it still runs: they wait again, due now, for another
 * worker (the attempt stays counted). Answers how many; a run that ends later records nothing.
 */
export async function handBackJobs(db: Executor, worker: string): Promise<number> {
  const now = nowIso();
  const r = await db
    .updateTable('jobs')
    .set({ status: 'pending', run_at: now, locked_by: null, locked_until: null, updated_at: now })
    .where('locked_by', '=', worker)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Jobs whose worker vanished (lease ran out) run again, or go dead when their attempts are used up;
 * `onDead` runs in the transaction that marks one dead (its alert commits with it).
 */
export async function reapExpiredLeases(
  db: Db,
  onDead: (trx: Executor, job: JobRow) => Promise<void>,
): Promise<{ requeued: number; dead: number }> {
  const now = nowIso();
  const expired = await db.selectFrom('jobs').selectAll().where('status', '=', 'running').where('locked_until', '<', now).execute();
  let requeued = 0;
  let dead = 0;
  for (const job of expired) {
    const isDead = job.attempts >= job.max_attempts;
    const lastError = job.last_error ?? 'worker stopped while running the job';
    await db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('jobs')
        .set({ status: isDead ? 'dead' : 'pending', locked_by: null, locked_until: null, updated_at: now, last_error: lastError })
        .where('id', '=', job.id)
        .where('status', '=', 'running')
        .where('locked_until', '<', now)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return;
      if (!isDead) return void requeued++;
      dead++;
      await onDead(trx, { ...job, status: 'dead', locked_by: null, locked_until: null, last_error: lastError });
    });
  }
  return { requeued, dead };
}

/** Queues a dead job again with fresh attempts; answers the row as it was queued (a runner may take it up at once). */
export async function reviveJob(db: Executor, id: string): Promise<JobRow | null> {
  const now = nowIso();
  const dead = await getJob(db, id);
  if (dead?.status !== 'dead') return null;
  const r = await db
    .updateTable('jobs')
    .set({ status: 'pending', attempts: 0, run_at: now, updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'dead')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0 ? { ...dead, status: 'pending', attempts: 0, run_at: now, updated_at: now } : null;
}

export async function pendingForRelay(db: Executor, limit: number): Promise<JobRow[]> {
  return page(db, db.selectFrom('jobs').selectAll().where('status', '=', 'pending').orderBy('run_at'), limit).execute();
}

/** The relayed attempts are now in the queue: rows that moved on meanwhile (ran, failed, came back) are left alone. */
export async function markQueued(db: Executor, relayed: Pick<JobRow, 'id' | 'attempts'>[]): Promise<void> {
  const now = nowIso();
  for (const r of relayed) {
    await db
      .updateTable('jobs')
      .set({ status: 'queued', updated_at: now })
      .where('id', '=', r.id)
      .where('attempts', '=', r.attempts)
      .where('status', '=', 'pending')
      .execute();
  }
}

export async function staleQueued(db: Executor, olderThanMs: number, limit: number): Promise<JobRow[]> {
  const before = nowIso(Date.now() - olderThanMs);
  return page(
    db,
    db
      .selectFrom('jobs')
      .selectAll()
      .where('status', '=', 'queued')
      .where('updated_at', '<', before)
      .where('run_at', '<', before)
      .orderBy('run_at'),
    limit,
  ).execute();
}

export async function touchJob(db: Executor, id: string): Promise<void> {
  await db.updateTable('jobs').set({ updated_at: nowIso() }).where('id', '=', id).execute();
}

// ---------------------------------------------------------------- schedules

export async function ensureSchedule(db: Executor, dialect: Dialect, name: string): Promise<void> {
  await insertIgnore(
    db,
    dialect,
    'schedules',
    { name, next_run_at: nowIso(), locked_until: null, locked_by: null, last_run_at: null, last_error: null },
    ['name'],
  );
}

/**
 * Takes a schedule's run for `worker` if nobody holds it and it is due (`earlyMs` early at most;
 * `force` ignores the due time). True when this worker won; it then holds a lease it must renew.
 */
export async function claimSchedule(
  db: Executor,
  name: string,
  worker: string,
  opts: { everyMs: number; leaseMs: number; earlyMs?: number; force?: boolean },
): Promise<boolean> {
  const now = Date.now();
  let q = db
    .updateTable('schedules')
    .set({ next_run_at: nowIso(now + opts.everyMs), locked_until: nowIso(now + opts.leaseMs), locked_by: worker, last_run_at: nowIso(now) })
    .where('name', '=', name)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', nowIso(now))]));
  if (!opts.force) q = q.where('next_run_at', '<=', nowIso(now + (opts.earlyMs ?? 0)));
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Keeps a running schedule's lease alive; false when it was lost. */
export async function extendSchedule(db: Executor, name: string, worker: string, leaseMs: number): Promise<boolean> {
  const r = await db
    .updateTable('schedules')
    .set({ locked_until: nowIso(Date.now() + leaseMs) })
    .where('name', '=', name)
    .where('locked_by', '=', worker)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Ends a run; only the holder can (a run that lost its lease does not free somebody else's). */
export async function releaseSchedule(db: Executor, name: string, worker: string, error: string | null): Promise<void> {
  await db
    .updateTable('schedules')
    .set({ locked_until: null, locked_by: null, last_error: error })
    .where('name', '=', name)
    .where('locked_by', '=', worker)
    .execute();
}

/** A stopping worker lets go of the schedule runs it holds (their next run stays where the claim put it). */
export async function releaseSchedulesOf(db: Executor, worker: string): Promise<void> {
  await db.updateTable('schedules').set({ locked_until: null, locked_by: null }).where('locked_by', '=', worker).execute();
}

/** Dead jobs of a kind whose payload mentions `id` (a receipt whose register job died). */
export async function deadJobsMentioning(db: Executor, name: string, id: string): Promise<Pick<JobRow, 'id'>[]> {
  return db
    .selectFrom('jobs')
    .select('id')
    .where('name', '=', name)
    .where('status', '=', 'dead')
    .where('payload', 'like', `%${id}%`)
    .execute();
}
