import { claimDueJobs, ensureSchedule, releaseJob } from '../store/jobs';
import type { JobExecutor } from './executor';
import { RunnerBase } from './runner-base';
import type { JobRunner } from './types';

/**
 * The default runner: the `jobs` table is the queue. Any number of processes may run it against the
 * same database; each claims due jobs with a lease it keeps renewing, so a killed process's jobs
 * run again once the lease runs out.
 */
export class LocalJobRunner extends RunnerBase implements JobRunner {
  readonly kind = 'local' as const;
  private readonly inFlight = new Set<Promise<unknown>>();
  private loops: Promise<void>[] = [];
  private leases: Promise<void> = Promise.resolve();

  constructor(exec: JobExecutor<any>) {
    super(exec, 'local');
  }

  async start(opts: { worker?: boolean } = {}): Promise<void> {
    if (this.running) return;
    for (const name of this.exec.schedules.keys()) await ensureSchedule(this.exec.store.db, this.exec.store.dialect, name);
    if (opts.worker === false) return;
    this.running = true;
    this.stopping = new AbortController();
    this.leasing = new AbortController();
    this.loops = [this.jobLoop(), this.scheduleLoop()];
    this.leases = this.leaseLoop();
  }

  /**
   * Takes no more jobs, waits up to `timeoutMs` for the ones running (and a schedule's run), then
   * hands back what is left: those jobs wait again, due now, for another worker.
   */
  async stop(timeoutMs = 25_000): Promise<{ handedBack: number }> {
    if (!this.running) return { handedBack: 0 };
    this.running = false;
    this.stopping.abort();
    this.kick();
    const [jobs, schedules] = this.loops;
    // the job loop ends at once; what it started is in inFlight by then
    const work = Promise.all([jobs.then(() => Promise.allSettled([...this.inFlight])), schedules]);
    const handedBack = await this.drain(work, timeoutMs);
    await this.leases;
    return { handedBack };
  }

  async ping(): Promise<void> {
    // the queue is the database, which /health/ready checks on its own
  }

  private async jobLoop(): Promise<void> {
    const { settings, store } = this.exec;
    while (this.running) {
      const free = settings.concurrency - this.inFlight.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const jobs = await claimDueJobs(store.db, store.dialect, this.worker, free, settings.leaseMs);
          claimed = jobs.length;
          for (const job of jobs) {
            if (!this.enterKind(job.name)) {
              // its kind runs as many as it may here: back in the queue, behind what is due now
              await releaseJob(store.db, job.id, this.worker, new Date(Date.now() + 250 + Math.floor(Math.random() * 500)));
              continue;
            }
            this.held.add(job.id);
            const p = this.exec
              .run(job, this.worker)
              .catch((e) =>
                this.log.error({ err: e, jobId: job.id }, 'recording a job outcome failed; it runs again when its lease expires'),
              )
              .finally(() => {
                this.leaveKind(job.name);
                this.held.delete(job.id);
                this.inFlight.delete(p);
                this.kick();
              });
            this.inFlight.add(p);
          }
        } catch (e) {
          if (!this.running) break;
          this.log.error({ err: e }, 'claiming jobs failed');
          await this.pause(Math.min(5000, settings.pollIntervalMs * 4));
        }
      }
      if (this.running && (claimed === 0 || this.inFlight.size >= settings.concurrency)) await this.waitForWork(settings.pollIntervalMs);
    }
  }

  private async scheduleLoop(): Promise<void> {
    const { schedules } = this.exec;
    if (schedules.size === 0) return;
    const tick = Math.max(50, Math.min(1000, ...[...schedules.values()].map((s) => s.everyMs / 2)));
    const runs = new Map<string, Promise<unknown>>();
    while (this.running) {
      for (const def of schedules.values()) {
        if (runs.has(def.name)) continue;
        const p = this.exec
          .runSchedule(def, this.worker)
          .catch((e) => this.running && this.log.error({ err: e, schedule: def.name }, 'scheduled task failed'))
          .finally(() => runs.delete(def.name));
        runs.set(def.name, p);
      }
      await this.pause(tick);
    }
    await Promise.allSettled([...runs.values()]);
  }
}
