import type { Executor } from '../store/db';
import { enqueueJob } from '../store/jobs';
import type { JobExecutor } from './executor';
import type { JobRunner } from './types';

/** What flows use to add jobs: always inside the transaction of the change they follow from. */
export class JobQueue {
  runner: JobRunner | null = null;
  constructor(private readonly exec: JobExecutor) {}

  enqueue(trx: Executor, name: string, payload: unknown, opts: { key?: string; runAt?: Date } = {}): Promise<string | null> {
    return enqueueJob(trx, name, payload, { ...opts, maxAttempts: this.exec.maxAttemptsFor(name) });
  }

  /** Call after the transaction committed: the runner looks at once. */
  kick(): void {
    this.runner?.kick();
  }
}
