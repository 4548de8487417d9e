import { Queue, Worker, type Job } from 'bullmq';
import IORedis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log';
import { extendLeases, markQueued, pendingForRelay, reapExpiredLeases, reviveJob, staleQueued, startJob, touchJob } from '../store/jobs';
import type { JobRow } from '../store/schema';
import { JobExecutor, workerId } from './executor';
import type { JobRunner } from './types';

const SCHEDULE_PREFIX = 'schedule.';

/**
 * The distributed runner (REDIS_URL): the `jobs` table stays the outbox and the record of every job;
 * BullMQ carries each attempt to a worker, holds the delay between attempts, and runs the schedules
 * (job schedulers: one run per tick across all processes). Each BullMQ job is one attempt,
 * id `<job id>-<attempt>`, so a relay that adds the same attempt twice adds it once.
 */
export class BullMqJobRunner implements JobRunner {
  readonly kind = 'bullmq' as const;
  private readonly worker = workerId();
  private readonly log: Logger;
  private readonly queueName = 'jobs';
  private queueConn: IORedis;
  private queue: Queue;
  private bullWorker: Worker | null = null;
  private workerConn: IORedis | null = null;
  private running = false;
  private stopping = new AbortController();
  private wake: (() => void) | null = null;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly exec: JobExecutor,
    private readonly redis: { url: string; prefix: string },
  ) {
    this.log = exec.log.child({ runner: 'bullmq', worker: this.worker });
    this.queueConn = new IORedis(redis.url, { maxRetriesPerRequest: 3, lazyConnect: true });
    this.queueConn.on('error', (e) => this.log.warn({ err: e }, 'redis connection error'));
    this.queue = new Queue(this.queueName, { connection: this.queueConn, prefix: redis.prefix });
  }

  async start(opts: { worker?: boolean } = {}): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopping = new AbortController();
    await this.queueConn.connect().catch((e) => {
      if (!/already connect/i.test(String(e?.message))) throw e;
    });
    for (const def of this.exec.schedules.values()) {
      await this.queue.upsertJobScheduler(def.name, { every: def.everyMs }, { name: SCHEDULE_PREFIX + def.name, opts: { removeOnComplete: true, removeOnFail: 100 } });
    }
    this.loops = [this.relayLoop()];
    if (opts.worker !== false) {
      this.workerConn = new IORedis(this.redis.url, { maxRetriesPerRequest: null });
      this.workerConn.on('error', (e) => this.log.warn({ err: e }, 'redis connection error'));
      this.bullWorker = new Worker(this.queueName, (job) => this.process(job), {
        connection: this.workerConn,
        prefix: this.redis.prefix,
        concurrency: this.exec.settings.concurrency,
        lockDuration: this.exec.settings.leaseMs,
        // a stalled attempt is simply run again; the row decides whether it still should
        maxStalledCount: 1000,
      });
      this.bullWorker.on('error', (e) => this.log.error({ err: e }, 'bullmq worker error'));
      this.loops.push(this.leaseLoop());
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping.abort();
    this.kick();
    await Promise.allSettled(this.loops);
    if (this.bullWorker) await this.bullWorker.close();
    await this.queue.close();
    this.workerConn?.disconnect();
    this.queueConn.disconnect();
  }

  kick(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async retry(id: string): Promise<boolean> {
    const ok = await reviveJob(this.exec.store.db, id);
    if (ok) this.kick();
    return ok;
  }

  async runScheduleNow(name: string): Promise<void> {
    const def = this.exec.schedules.get(name);
    if (!def) throw new Error(`no schedule "${name}"`);
    await def.handler();
  }

  async ping(): Promise<void> {
    await this.queueConn.ping();
  }

  private bullId(job: Pick<JobRow, 'id' | 'attempts'>): string {
    return `${job.id}-${job.attempts}`;
  }

  private async process(bull: Job): Promise<void> {
    if (bull.name.startsWith(SCHEDULE_PREFIX)) {
      const def = this.exec.schedules.get(bull.name.slice(SCHEDULE_PREFIX.length));
      if (def) await def.handler();
      return;
    }
    const rowId = String(bull.data.rowId);
    const attempt = Number(bull.data.attempt);
    const row = await startJob(this.exec.store.db, rowId, this.worker, this.exec.settings.leaseMs, attempt);
    if (!row) return; // done, dead, or an older attempt that was superseded
    const outcome = await this.exec.run(row, this.worker, 'pending');
    if (outcome === 'retry') this.kick();
  }

  private async relay(): Promise<number> {
    const rows = await pendingForRelay(this.exec.store.db, 200);
    if (rows.length === 0) return 0;
    const now = Date.now();
    await this.queue.addBulk(
      rows.map((r) => ({
        name: r.name,
        data: { rowId: r.id, attempt: r.attempts },
        opts: { jobId: this.bullId(r), delay: Math.max(0, Date.parse(r.run_at) - now), removeOnComplete: true, removeOnFail: { age: 7 * 86400 } },
      })),
    );
    await markQueued(this.exec.store.db, rows.map((r) => r.id));
    return rows.length;
  }

  /** Redis keeps nothing on disk in some set-ups: an attempt that vanished from it is added again. */
  private async reconcile(): Promise<void> {
    const stale = await staleQueued(this.exec.store.db, Math.max(60_000, this.exec.settings.leaseMs * 2), 200);
    for (const row of stale) {
      const bull = await this.queue.getJob(this.bullId(row));
      if (!bull) {
        this.log.warn({ jobId: row.id }, 'queued job missing from redis, adding it again');
        await this.queue.add(row.name, { rowId: row.id, attempt: row.attempts }, { jobId: this.bullId(row), delay: Math.max(0, Date.parse(row.run_at) - Date.now()), removeOnComplete: true });
      }
      await touchJob(this.exec.store.db, row.id);
    }
  }

  private waitForWork(ms: number): Promise<void> {
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

  private async relayLoop(): Promise<void> {
    let lastReconcile = Date.now();
    while (this.running) {
      let moved = 0;
      try {
        moved = await this.relay();
        if (Date.now() - lastReconcile > 30_000) {
          lastReconcile = Date.now();
          await this.reconcile();
        }
      } catch (e) {
        if (!this.running) break;
        this.log.error({ err: e }, 'moving jobs to redis failed; they stay in the outbox');
        await sleep(1000, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
      if (this.running && moved === 0) await this.waitForWork(this.exec.settings.pollIntervalMs);
    }
  }

  private async leaseLoop(): Promise<void> {
    const { settings, store } = this.exec;
    const every = Math.max(100, Math.floor(settings.leaseMs / 3));
    while (this.running) {
      await sleep(every, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      if (!this.running) break;
      try {
        await extendLeases(store.db, this.worker, settings.leaseMs);
        const { requeued, dead } = await reapExpiredLeases(store.db);
        for (const job of dead) await store.db.transaction().execute((trx) => this.exec.onDead(trx, job, job.last_error ?? 'worker stopped while running the job'));
        if (requeued > 0) this.kick();
      } catch (e) {
        if (this.running) this.log.error({ err: e }, 'lease upkeep failed');
      }
    }
  }
}
