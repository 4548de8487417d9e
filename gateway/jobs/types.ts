import type { Logger } from '../log';

export interface JobContext {
  jobId: string;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
  log: Logger;
}

export interface JobDefinition<P = any> {
  name: string;
  handler: (payload: P, ctx: JobContext) => Promise<void>;
  /** Overrides the configured maximum for this kind of job. */
  maxAttempts?: number;
  /** A dead job of this kind raises an alert (default true; the alert job itself does not). */
  alertWhenDead?: boolean;
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
  stop(): Promise<void>;
  /** Something was committed to the outbox: look now instead of at the next poll. */
  kick(): void;
  /** Puts a dead job back to run (admin). False when there is no dead job with that id. */
  retry(id: string): Promise<boolean>;
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

/** Exponential backoff with jitter: base·2^(n-1) capped, then a random point in its upper half. */
export function backoffMs(
  attempt: number,
  s: Pick<RunnerSettings, 'backoffBaseMs' | 'backoffMaxMs'>,
  random: () => number = Math.random,
): number {
  const exp = Math.min(s.backoffMaxMs, s.backoffBaseMs * 2 ** Math.max(0, Math.min(attempt - 1, 40)));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
