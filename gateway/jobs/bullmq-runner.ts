import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import IORedis from 'ioredis';
import { ensureSchedule, markQueued, pendingForRelay, staleQueued, startJob, touchJob } from '../store/jobs';
import type { JobRow } from '../store/schema';
import type { JobExecutor } from './executor';
import { RunnerBase } from './runner-base';
import type { JobRunner, ScheduleDefinition } from './types';

const SCHEDULE_PREFIX = 'schedule.';

/**
 * The distributed runner (REDIS_URL): the `jobs` table stays the outbox and the record of every job;
 * BullMQ carries each attempt to a worker and holds the delay between attempts; its job schedulers
 * give the ticks of the schedules (a run still takes the schedule's lease in the store, so runs never
 * overlap). Each BullMQ job is one attempt, id `<job id>-<attempt>`, so a relay that adds the same
 * attempt twice adds it once.
 */
export class BullMqJobRunner extends RunnerBase implements JobRunner {
  readonly kind = 'bullmq' as const;
  private readonly queueName = 'jobs';
  private conns: IORedis[] = [];
  private queue: Queue | null = null;
  private bullWorker: Worker | null = null;
  private loops: Promise<void>[] = [];
  private leases: Promise<void> = Promise.resolve();
  /** Aborted once a stopping runner has handed back what still runs: the BullMQ jobs stop waiting for it. */
  private abandon = new AbortController();

  constructor(
    exec: JobExecutor<any>,
    private readonly redis: { url: string; prefix: string },
  ) {
    super(exec, 'bullmq');
  }

  private connect(opts: { maxRetriesPerRequest: number | null }): IORedis {
    const c = new IORedis(this.redis.url, opts);
    c.on('error', (e) => this.log.warn({ err: e }, 'redis connection error'));
    this.conns.push(c);
    return c;
  }

  async start(opts: { worker?: boolean } = {}): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopping = new AbortController();
    this.abandon = new AbortController();
    this.queue = new Queue(this.queueName, { connection: this.connect({ maxRetriesPerRequest: 3 }), prefix: this.redis.prefix });
    // Redis out of reach: without a listener BullMQ prints every failed reconnect to stderr as a bare stack
    this.queue.on('error', (e) => this.log.warn({ err: e }, 'redis connection error'));
    for (const def of this.exec.schedules.values()) {
      await ensureSchedule(this.exec.store.db, this.exec.store.dialect, def.name);
      await this.upsertScheduler(def);
    }
    this.leasing = new AbortController();
    this.loops = [this.relayLoop()];
    if (opts.worker !== false) {
      this.bullWorker = new Worker(this.queueName, (job, token) => this.process(job, token), {
        connection: this.connect({ maxRetriesPerRequest: null }),
        prefix: this.redis.prefix,
        concurrency: this.exec.settings.concurrency,
        lockDuration: this.exec.settings.leaseMs,
        // a stalled attempt is simply run again; the row decides whether it still should
        maxStalledCount: 1000,
      });
      this.bullWorker.on('error', (e) => this.log.error({ err: e }, 'bullmq worker error'));
      this.leases = this.leaseLoop();
    }
  }

  /**
   * Takes no more jobs (worker.close() stops fetching and waits for the active ones, with no limit
   * of its own), waits up to `timeoutMs`, then hands back the jobs still running: their rows wait
   * again and the relay of another process queues their next attempt. Their BullMQ jobs end here
   * without a result, so the close completes and Redis is left without a stalled job to recover.
   */
  async stop(timeoutMs = 25_000): Promise<{ handedBack: number }> {
    if (!this.running) return { handedBack: 0 };
    this.running = false;
    this.stopping.abort();
    this.kick();
    await Promise.allSettled(this.loops);
    const closing = this.bullWorker?.close() ?? Promise.resolve();
    const handedBack = await this.drain(closing, timeoutMs);
    this.abandon.abort();
    await closing.catch((e) => this.log.warn({ err: e }, 'closing the bullmq worker failed'));
    await this.leases;
    await this.queue?.close();
    for (const c of this.conns) c.disconnect();
    this.bullWorker = null;
    this.queue = null;
    this.conns = [];
    return { handedBack };
  }

  async ping(): Promise<void> {
    if (!this.queue || this.conns.length === 0) throw new Error('the BullMQ runner is not started');
    await this.conns[0].ping();
  }

  private upsertScheduler(def: ScheduleDefinition) {
    return this.queue!.upsertJobScheduler(
      def.name,
      { every: def.everyMs },
      { name: SCHEDULE_PREFIX + def.name, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
  }

  private bullId(job: Pick<JobRow, 'id' | 'attempts'>): string {
    return `${job.id}-${job.attempts}`;
  }

  /** One BullMQ job; it ends early (its run goes on unobserved) when the runner gives it up at shutdown. */
  private async process(bull: Job, token?: string): Promise<void> {
    const { signal } = this.abandon;
    if (signal.aborted) return;
    let givenUp!: () => void;
    const given = new Promise<void>((resolve) => (givenUp = resolve));
    signal.addEventListener('abort', givenUp, { once: true });
    try {
      await Promise.race([this.attempt(bull, token), given]);
    } finally {
      signal.removeEventListener('abort', givenUp);
    }
  }

  private async attempt(bull: Job, token?: string): Promise<void> {
    if (bull.name.startsWith(SCHEDULE_PREFIX)) {
      const def = this.exec.schedules.get(bull.name.slice(SCHEDULE_PREFIX.length));
      // a tick that finds the previous run still going (or comes much too early) is skipped
      if (def) await this.exec.runSchedule(def, this.worker, { earlyMs: def.everyMs / 2 });
      return;
    }
    if (!this.enterKind(bull.name)) {
      // its kind runs as many as it may here: back to the queue for a moment, the slot free for other work
      await bull.moveToDelayed(Date.now() + 250 + Math.floor(Math.random() * 500), token);
      throw new DelayedError();
    }
    try {
      await this.runAttempt(bull);
    } finally {
      this.leaveKind(bull.name);
    }
  }

  private async runAttempt(bull: Job): Promise<void> {
    const row = await startJob(
      this.exec.store.db,
      String(bull.data.rowId),
      this.worker,
      this.exec.settings.leaseMs,
      Number(bull.data.attempt),
    );
    if (!row) return; // done, dead, or an older attempt that was superseded
    this.held.add(row.id);
    try {
      if ((await this.exec.run(row, this.worker)) === 'retry') this.kick();
    } finally {
      this.held.delete(row.id);
    }
  }

  private add(rows: JobRow[]) {
    const now = Date.now();
    return this.queue!.addBulk(
      rows.map((r) => ({
        name: r.name,
        data: { rowId: r.id, attempt: r.attempts },
        opts: {
          jobId: this.bullId(r),
          delay: Math.max(0, Date.parse(r.run_at) - now),
          removeOnComplete: true,
          removeOnFail: { age: 7 * 86400 },
          // a run's own failures are recorded on its row; what fails the attempt here is the store out
          // of reach (PostgreSQL restarting): try it again soon rather than leave it failed in Redis
          attempts: 30,
          backoff: { type: 'fixed', delay: 2000 },
        },
      })),
    );
  }

  private async relay(): Promise<number> {
    const rows = await pendingForRelay(this.exec.store.db, 200);
    if (rows.length === 0) return 0;
    await this.add(rows);
    await markQueued(this.exec.store.db, rows);
    return rows.length;
  }

  /**
   * Redis keeps nothing on disk in some set-ups: an attempt that vanished from it is added again, one
   * that failed there (the store out of reach for longer than its retries) is tried again, and the
   * job schedulers a restarted Redis lost are set up again.
   */
  private async reconcile(): Promise<void> {
    const stale = await staleQueued(this.exec.store.db, Math.max(60_000, this.exec.settings.leaseMs * 2), 200);
    for (const row of stale) {
      const bull = await this.queue!.getJob(this.bullId(row));
      if (!bull) {
        this.log.warn({ jobId: row.id }, 'queued job missing from redis, adding it again');
        await this.add([row]);
      } else if (await bull.isFailed()) {
        this.log.warn({ jobId: row.id, reason: bull.failedReason }, 'queued job failed in redis, trying it again');
        await bull.retry();
      }
      await touchJob(this.exec.store.db, row.id);
    }
    for (const def of this.exec.schedules.values()) {
      if (await this.queue!.getJobScheduler(def.name)) continue;
      this.log.warn({ schedule: def.name }, 'schedule missing from redis, setting it up again');
      await this.upsertScheduler(def);
    }
  }

  private async relayLoop(): Promise<void> {
    let lastReconcile = Date.now();
    while (this.running) {
      let moved = 0;
      try {
        moved = await this.relay();
        // every 30 s (sooner with short leases)
        if (Date.now() - lastReconcile > Math.min(30_000, this.exec.settings.leaseMs * 5)) {
          lastReconcile = Date.now();
          await this.reconcile();
        }
      } catch (e) {
        if (!this.running) break;
        this.log.error({ err: e }, 'moving jobs to redis failed; they stay in the outbox');
        await this.pause(1000);
      }
      if (this.running && moved === 0) await this.waitForWork(this.exec.settings.pollIntervalMs);
    }
  }
}
