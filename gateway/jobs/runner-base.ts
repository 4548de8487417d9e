import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log';
import type { JobRow } from '../store/schema';
import { ensureSchedule, handBackJobs, releaseSchedulesOf, reviveJob } from '../store/jobs';
import { JobExecutor, workerId } from './executor';

/** What both runners do the same way: waking up, lease upkeep, admin retries, schedules on demand. */
export abstract class RunnerBase {
  protected readonly worker = workerId();
  protected readonly log: Logger;
  protected running = false;
  protected stopping = new AbortController();
  /** Lease upkeep goes on while a stopping runner waits for its jobs: it ends after them. */
  protected leasing = new AbortController();
  private wake: (() => void) | null = null;
  /** The jobs this process is running now: only their leases are renewed. */
  protected readonly held = new Set<string>();
  /** How many jobs of each kind this process is running now (for kinds with a `concurrency` of their own). */
  private readonly runningKinds = new Map<string, number>();

  constructor(
    protected readonly exec: JobExecutor<any>,
    kind: string,
  ) {
    this.log = exec.log.child({ runner: kind, worker: this.worker });
  }

  /** Takes a slot of the job's kind; false when the kind already runs its `concurrency` here. Release with leaveKind. */
  protected enterKind(name: string): boolean {
    const cap = this.exec.jobs.get(name)?.concurrency;
    const now = this.runningKinds.get(name) ?? 0;
    if (cap !== undefined && now >= cap) return false;
    this.runningKinds.set(name, now + 1);
    return true;
  }

  protected leaveKind(name: string): void {
    this.runningKinds.set(name, Math.max(0, (this.runningKinds.get(name) ?? 1) - 1));
  }

  kick(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async retry(id: string): Promise<JobRow | null> {
    const revived = await reviveJob(this.exec.store.db, id);
    if (revived) this.kick();
    return revived;
  }

  async runScheduleNow(name: string): Promise<void> {
    const def = this.exec.schedules.get(name);
    if (!def) throw new Error(`no schedule "${name}"`);
    await ensureSchedule(this.exec.store.db, this.exec.store.dialect, name);
    if (!(await this.exec.runSchedule(def, this.worker, { force: true, waitMs: 60_000 })))
      throw new Error(`schedule "${name}" is still running elsewhere`);
  }

  /** Sleeps until `ms` pass or kick() is called. */
  protected waitForWork(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Sleeps `ms`, or less when the runner stops. */
  protected pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }

  /** Renews this worker's leases and puts back the jobs of workers that vanished; until `leasing` is aborted. */
  protected async leaseLoop(): Promise<void> {
    const every = Math.max(100, Math.floor(this.exec.settings.leaseMs / 3));
    const { signal } = this.leasing;
    while (!signal.aborted) {
      await sleep(every, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      try {
        if ((await this.exec.upkeep(this.worker, [...this.held])) > 0) this.kick();
      } catch (e) {
        if (!signal.aborted) this.log.error({ err: e }, 'lease upkeep failed');
      }
    }
  }

  /**
   * Waits for `work` (the runs in progress) up to `timeoutMs`. What is still running then is handed
   * back: its jobs wait again for another worker, its schedules are let go. Answers how many jobs.
   */
  protected async drain(work: Promise<unknown>, timeoutMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      work.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs)))),
    ]);
    clearTimeout(timer);
    let handedBack = 0;
    try {
      if (!finished) {
        handedBack = await handBackJobs(this.exec.store.db, this.worker);
        await releaseSchedulesOf(this.exec.store.db, this.worker);
        this.log.warn({ handedBack, timeoutMs }, 'jobs still running at the shutdown deadline were handed back to other workers');
      }
    } catch (e) {
      // the leases run out on their own and other workers take the jobs then
      this.log.error({ err: e }, 'handing back the running jobs failed');
    } finally {
      this.leasing.abort();
    }
    return handedBack;
  }
}
