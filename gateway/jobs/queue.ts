import type { Executor } from '../store/db';
import { enqueueJob } from '../store/jobs';
import type { Job, JobRunner } from './types';

export interface EnqueueOptions {
  /** A stable key: a second job with the same key is not added (null is returned). */
  key?: string;
  runAt?: Date;
}

/** What flows use to add jobs: always inside the transaction of the change they follow from. */
export class JobQueue {
  runner: JobRunner | null = null;
  /** `maxAttempts`: for the kinds of job that do not set their own. */
  constructor(private readonly maxAttempts: number) {}

  /** Adds a job of kind `job`; its payload is checked against the job's handler where it is queued. */
  enqueue<P>(trx: Executor, job: Job<P, never>, payload: NoInfer<P>, opts: EnqueueOptions = {}): Promise<string | null> {
    const maxAttempts = Math.max(job.minAttempts ?? 0, job.maxAttempts ?? this.maxAttempts);
    return enqueueJob(trx, job.name, payload, { ...opts, maxAttempts });
  }

  /** Call after the transaction committed: the runner looks at once. */
  kick(): void {
    this.runner?.kick();
  }
}
