import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log';
import type { Store, Executor } from '../store/db';
import type { JobRow } from '../store/schema';
import { claimSchedule, extendLeases, extendSchedule, failJob, finishJob, reapExpiredLeases, releaseSchedule } from '../store/jobs';
import { ExternalError } from '../ports';
import { backoffMs } from './backoff';
import { PermanentJobError, type Job, type RunnerSettings, type ScheduleDefinition } from './types';

export type DeadJobHook = (trx: Executor, job: JobRow, error: string) => Promise<void>;
/** Told of every failed run (after its outcome is recorded); its own failure is only logged. */
export type JobErrorHook = (job: JobRow, error: unknown) => Promise<unknown>;

export function workerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/**
 * What both runners share: the handler registry, running one job, and recording the outcome.
 * `deps` is what every handler is given (the flows' dependencies).
 */
export class JobExecutor<D = unknown> {
  readonly jobs = new Map<string, Job<any, D>>();
  readonly schedules = new Map<string, ScheduleDefinition>();

  constructor(
    readonly store: Store,
    readonly settings: RunnerSettings,
    readonly log: Logger,
    readonly deps: D,
    readonly onDead: DeadJobHook,
    readonly onError?: JobErrorHook,
  ) {}

  define(job: Job<any, D>): void {
    if (this.jobs.has(job.name)) throw new Error(`job "${job.name}" is defined twice`);
    this.jobs.set(job.name, job);
  }

  schedule(def: ScheduleDefinition): void {
    if (this.schedules.has(def.name)) throw new Error(`schedule "${def.name}" is defined twice`);
    this.schedules.set(def.name, def);
  }

  /**
   * Runs a job this worker holds (status running, locked_by = worker) and records the outcome:
   * done, back to pending after a backoff, or dead (attempts used up, or a permanent error).
   */
  async run(job: JobRow, worker: string): Promise<'done' | 'retry' | 'dead' | 'lost'> {
    const def = this.jobs.get(job.name);
    const log = this.log.child({ jobId: job.id, job: job.name, attempt: job.attempts });
    let error: unknown;
    if (!def) {
      error = new PermanentJobError(`no handler for job "${job.name}" in this version of the gateway`);
    } else {
      try {
        await def.handler(this.deps, JSON.parse(job.payload), { jobId: job.id, attempt: job.attempts, maxAttempts: job.max_attempts, log });
        const ok = await finishJob(this.store.db, job.id, worker);
        if (!ok) log.warn('job finished after its lease was taken over; the other run records the outcome');
        return ok ? 'done' : 'lost';
      } catch (e) {
        error = e;
      }
    }
    // trying again cannot help: a permanent error, or an outside system that refused for good (set-up, rights, validation)
    const permanent = error instanceof PermanentJobError || (error instanceof ExternalError && !error.retryable);
    const dead = permanent || job.attempts >= job.max_attempts;
    const text = errorText(error);
    // a system that said when to come back (Retry-After) is not asked sooner
    const wait = Math.max(backoffMs(job.attempts, this.settings), error instanceof ExternalError ? (error.retryAfterMs ?? 0) : 0);
    const runAt = new Date(Date.now() + wait);
    let recorded = false;
    await this.store.db.transaction().execute(async (trx) => {
      recorded = await failJob(trx, job.id, worker, { dead, error: text, runAt });
      if (recorded && dead && def?.alertWhenDead !== false) await this.onDead(trx, { ...job, last_error: text }, text);
    });
    if (this.onError) await this.onError(job, error).catch((e) => log.warn({ err: e }, 'recording the failure failed'));
    if (dead) log.error({ err: error }, 'job is dead');
    else log.warn({ err: error, retryAt: runAt.toISOString() }, 'job failed, will retry');
    if (!recorded) return 'lost';
    return dead ? 'dead' : 'retry';
  }

  /** Lease upkeep of a worker: renew the leases of the jobs it runs now, put back (or bury) the jobs of vanished workers. */
  async upkeep(worker: string, running: string[]): Promise<number> {
    await extendLeases(this.store.db, worker, this.settings.leaseMs, running);
    const { requeued } = await reapExpiredLeases(this.store.db, (trx, job) =>
      this.onDead(trx, job, job.last_error ?? 'worker stopped while running the job'),
    );
    if (requeued > 0) this.log.warn({ requeued }, 'jobs of a stopped worker put back to run');
    return requeued;
  }

  /**
   * Runs a schedule if this worker wins its run: never two runs at once across processes. The lease
   * is renewed while the handler runs. `earlyMs`: how early a tick may come (BullMQ's timer);
   * `force`: run now whatever the due time (admin), waiting up to `waitMs` for a run in progress.
   */
  async runSchedule(
    def: ScheduleDefinition,
    worker: string,
    opts: { earlyMs?: number; force?: boolean; waitMs?: number } = {},
  ): Promise<boolean> {
    const { store, settings } = this;
    const claim = { everyMs: def.everyMs, leaseMs: settings.leaseMs, earlyMs: opts.earlyMs, force: opts.force };
    const until = Date.now() + (opts.waitMs ?? 0);
    while (!(await claimSchedule(store.db, def.name, worker, claim))) {
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    const heartbeat = setInterval(
      () => {
        extendSchedule(store.db, def.name, worker, settings.leaseMs).catch((e) =>
          this.log.warn({ err: e, schedule: def.name }, 'renewing a schedule lease failed'),
        );
      },
      Math.max(100, Math.floor(settings.leaseMs / 3)),
    );
    try {
      await def.handler();
      await releaseSchedule(store.db, def.name, worker, null);
      return true;
    } catch (e) {
      await releaseSchedule(store.db, def.name, worker, errorText(e)).catch(() => undefined);
      throw e;
    } finally {
      clearInterval(heartbeat);
    }
  }
}
