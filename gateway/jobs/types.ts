import type { Logger } from '../log';
import type { JobRow } from '../store/schema';

export interface JobContext {
  jobId: string;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
  log: Logger;
}

export interface JobOptions {
  /** Overrides the configured maximum for this kind of job. */
  maxAttempts?: number;
  /** At least this many attempts, or the configured maximum when that is higher. */
  minAttempts?: number;
  /** A dead job of this kind raises an alert (default true; the alert job itself does not). */
  alertWhenDead?: boolean;
  /**
   * At most this many jobs of this kind run at once in one process: a kind that waits on an outside
   * system's rate limit would otherwise fill every slot and hold up all other work. The others wait in
   * the queue (BullMQ: delayed a moment), not in a slot.
   */
  concurrency?: number;
}

export type JobHandler<P, D> = (deps: D, payload: P, ctx: JobContext) => Promise<void>;

/**
 * A kind of job: its name, what it does and how it is retried. Made once by defineJob, next to its
 * handler; code that queues it passes the handle, and the payload is checked against the handler's.
 */
export interface Job<P, D> extends JobOptions {
  readonly name: string;
  readonly handler: JobHandler<P, D>;
}

/**
 * `defineJob('payment.sync', async (d: FlowDeps, p: SyncPayload, ctx) => …, { maxAttempts: 8 })`:
 * the payload and dependency types are read off the handler's parameters.
 */
export function defineJob<P, D>(name: string, handler: JobHandler<P, D>, options: JobOptions = {}): Job<P, D> {
  return { name, handler, ...options };
}

/** A periodic task: runs at most once at a time across every process sharing the store or Redis. */
export interface ScheduleDefinition {
  name: string;
  everyMs: number;
  handler: () => Promise<void>;
}

/** Thrown by a handler when trying again cannot help (a set-up error, a rejected document): the job goes dead at once. */
export class PermanentJobError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'PermanentJobError';
  }
}

export interface JobRunner {
  readonly kind: 'local' | 'bullmq';
  /** `worker: false` = only move committed jobs on (BullMQ relay); nothing is executed in this process. */
  start(opts?: { worker?: boolean }): Promise<void>;
  /**
   * Takes no more work and waits up to `timeoutMs` (default 25 s) for the jobs running here; those
   * still running then are handed back to wait for another worker. Answers how many were.
   */
  stop(timeoutMs?: number): Promise<{ handedBack: number }>;
  /** Something was committed to the outbox: look now instead of at the next poll. */
  kick(): void;
  /** Puts a dead job back to run (admin). False when there is no dead job with that id. */
  retry(id: string): Promise<JobRow | null>;
  /** Runs a schedule's handler now, in this process (admin, tests). */
  runScheduleNow(name: string): Promise<void>;
  /** Throws when the queue cannot be used. */
  ping(): Promise<void>;
}

export interface RunnerSettings {
  concurrency: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  leaseMs: number;
  pollIntervalMs: number;
}
