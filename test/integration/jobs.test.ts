/**
 * The durable job system, end to end on a real SQLite file (and a real Redis for BullMQ): the same
 * tests run against the in-process runner and the BullMQ runner. What is checked is what a user of
 * the gateway relies on (DESIGN.md, principles 2 and 3): a job follows its transaction (outbox),
 * retries with growing backoff, goes dead and alerts support, can be retried by an admin, is deduped
 * by its key, survives a restart and a dead worker, and runs once however many workers there are.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import SQLite from 'better-sqlite3';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import {
  Kysely,
  SqliteDialect,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { Alerts, sendAlertJob } from '../../gateway/flows/alerts/alerts';
import { BullMqJobRunner } from '../../gateway/jobs/bullmq-runner';
import { JobExecutor } from '../../gateway/jobs/executor';
import { LocalJobRunner } from '../../gateway/jobs/local-runner';
import { JobQueue } from '../../gateway/jobs/queue';
import {
  defineJob,
  PermanentJobError,
  type Job,
  type JobOptions,
  type JobRunner,
  type RunnerSettings,
  type ScheduleDefinition,
} from '../../gateway/jobs/types';
import { createLogger } from '../../gateway/log';
import { ExternalError, type Alert, type Notifier } from '../../gateway/ports';
import { openStore, type Store } from '../../gateway/store/db';
import { claimDueJobs, failJob, finishJob, getJob, startJob } from '../../gateway/store/jobs';
import { migrateToLatest } from '../../gateway/store/migrations';
import type { Database, JobRow } from '../../gateway/store/schema';
import { describeWith, redisPrefix, REDIS_URL } from '../helpers/services';

// ------------------------------------------------------------------------------------------ helpers

const SETTINGS: RunnerSettings = { concurrency: 4, maxAttempts: 3, backoffBaseMs: 20, backoffMaxMs: 200, leaseMs: 600, pollIntervalMs: 30 };

/** Retries `check` (which throws or rejects while the condition does not hold) until it passes or time runs out. */
async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await sleep(intervalMs);
  }
}

/** Who called: the whole stack (jest's mock wrappers take the first frames of the default 10). */
function callerStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  return stack;
}

/** Long enough for several polls, relays and lease checks: used only to show that something did NOT happen. */
const QUIET_MS = 500;

class RecordingNotifier implements Notifier {
  readonly name = 'recording';
  readonly sent: Alert[] = [];
  async send(alert: Alert): Promise<void> {
    this.sent.push(alert);
  }
}

/**
 * A store over `file` whose queries wait `delay(query)` ms before they queue for the connection
 * (and so hold nothing while they wait): a slow database for one kind of statement, with
 * everything else running at full speed around it.
 */
function slowStore(file: string, delay: (q: CompiledQuery) => number): Store {
  class LazyConnection implements DatabaseConnection {
    held: DatabaseConnection | null = null;
    constructor(private readonly inner: Driver) {}
    async real(): Promise<DatabaseConnection> {
      if (!this.held) this.held = await this.inner.acquireConnection();
      return this.held;
    }
    async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
      const ms = this.held ? 0 : delay(q);
      if (ms > 0) await sleep(ms);
      return (await this.real()).executeQuery<R>(q);
    }
    async *streamQuery<R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
      yield* (await this.real()).streamQuery<R>(q, chunkSize);
    }
  }
  class DelayingDriver implements Driver {
    constructor(private readonly inner: Driver) {}
    init = () => this.inner.init();
    acquireConnection = async (): Promise<DatabaseConnection> => new LazyConnection(this.inner);
    beginTransaction = async (c: DatabaseConnection, s: TransactionSettings) =>
      this.inner.beginTransaction(await (c as LazyConnection).real(), s);
    commitTransaction = async (c: DatabaseConnection) => this.inner.commitTransaction(await (c as LazyConnection).real());
    rollbackTransaction = async (c: DatabaseConnection) => this.inner.rollbackTransaction(await (c as LazyConnection).real());
    releaseConnection = async (c: DatabaseConnection) => {
      const held = (c as LazyConnection).held;
      if (held) await this.inner.releaseConnection(held);
    };
    destroy = () => this.inner.destroy();
  }
  class DelayingDialect extends SqliteDialect {
    override createDriver(): Driver {
      return new DelayingDriver(super.createDriver());
    }
  }
  const conn = new SQLite(file);
  conn.pragma('journal_mode = WAL');
  conn.pragma('busy_timeout = 10000');
  const db = new Kysely<Database>({ dialect: new DelayingDialect({ database: conn }) });
  return { db, dialect: 'sqlite', describe: `slow sqlite:${file}`, close: () => db.destroy() };
}

/** markQueued(): the relay recording that the rows it just added to Redis are queued. */
const isMarkQueued = (q: CompiledQuery): boolean => q.sql.startsWith('update "jobs" set "status" = ?') && q.parameters[0] === 'queued';

interface RunnerFactory {
  kind: 'local' | 'bullmq';
  make(exec: JobExecutor<any>, prefix: string): JobRunner;
  /** Removes what the test left outside the SQLite file. */
  cleanup(prefix: string): Promise<void>;
}

const localFactory: RunnerFactory = {
  kind: 'local',
  make: (exec) => new LocalJobRunner(exec),
  cleanup: async () => undefined,
};

const bullmqFactory: RunnerFactory = {
  kind: 'bullmq',
  make: (exec, prefix) => new BullMqJobRunner(exec, { url: REDIS_URL, prefix }),
  async cleanup(prefix) {
    const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: 3 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  },
};

/** One gateway process: its executor, queue and runner over a store. */
interface Node {
  store: Store;
  exec: JobExecutor<NodeDeps>;
  queue: JobQueue;
  runner: JobRunner;
}

/** What the jobs of a test node are given: the alerts, as main.ts gives them among the flows' deps. */
interface NodeDeps {
  alerts: Alerts;
}

interface NodeOptions {
  jobs?: Job<any, NodeDeps>[];
  schedules?: ScheduleDefinition[];
  settings?: Partial<RunnerSettings>;
}

/** A handler's record of its runs. */
interface Run {
  jobId: string;
  payload: any;
  attempt: number;
  at: number;
}

function jobSuite(factory: RunnerFactory): void {
  let tmp: string;
  let dbFile: string;
  let prefix: string;
  let notifier: RecordingNotifier;
  let store: Store;
  let stores: Store[];
  let runners: JobRunner[];
  let logLines: any[];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logLines.push(JSON.parse(line));
      done();
    },
  });
  const log = createLogger('warn', sink);

  async function open(): Promise<Store> {
    const s = await openStore('sqlite:' + dbFile);
    await migrateToLatest(s.db);
    stores.push(s);
    return s;
  }

  function node(opts: NodeOptions = {}, on: Store = store): Node {
    // the dead-job hook raises a real alert through the queue, exactly as main.ts wires it
    const settings = { ...SETTINGS, ...opts.settings };
    const queue = new JobQueue(settings.maxAttempts);
    const alerts = new Alerts(queue, [notifier], log);
    const exec = new JobExecutor<NodeDeps>(on, settings, log, { alerts }, alerts.deadJob);
    exec.define(sendAlertJob);
    for (const def of opts.jobs ?? []) exec.define(def);
    for (const def of opts.schedules ?? []) exec.schedule(def);
    const runner = factory.make(exec, prefix);
    queue.runner = runner;
    runners.push(runner);
    return { store: on, exec, queue, runner };
  }

  /** Enqueues in a transaction of its own and kicks the runner after the commit, as flows do. */
  async function enqueue(n: Node, name: string, payload: unknown, opts: { key?: string; runAt?: Date } = {}): Promise<string | null> {
    // the kind as this node defines it (its attempts), or one it does not know at all
    const job = n.exec.jobs.get(name) ?? defineJob(name, async () => undefined);
    const id = await n.store.db.transaction().execute((trx) => n.queue.enqueue(trx, job, payload, opts));
    n.queue.kick();
    return id;
  }

  /** A job kind whose handler records every run and does what `behave` says. */
  function recorded(
    name: string,
    behave: (run: Run) => Promise<void> | void = () => undefined,
    extra: JobOptions = {},
  ): { def: Job<any, unknown>; runs: Run[] } {
    const runs: Run[] = [];
    const def = defineJob(
      name,
      async (_deps: unknown, payload: any, ctx) => {
        const run = { jobId: ctx.jobId, payload, attempt: ctx.attempt, at: Date.now() };
        runs.push(run);
        await behave(run);
      },
      extra,
    );
    return { runs, def };
  }

  async function row(id: string, on: Store = store): Promise<JobRow> {
    const r = await getJob(on.db, id);
    if (!r) throw new Error(`no job ${id}`);
    return r;
  }

  async function untilStatus(id: string, status: JobRow['status'], timeoutMs = 15_000): Promise<JobRow> {
    return eventually(async () => {
      const r = await row(id);
      expect(r.status).toBe(status);
      return r;
    }, timeoutMs);
  }

  /** The critical alerts support got about dead jobs, once their `alert.send` jobs ran. */
  function deadJobAlerts(): Alert[] {
    return notifier.sent.filter((a) => a.key.startsWith('dead-job:'));
  }

  beforeEach(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gw-jobs-'));
    dbFile = join(tmp, 'j.db');
    prefix = redisPrefix();
    notifier = new RecordingNotifier();
    stores = [];
    runners = [];
    logLines = [];
    store = await open();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.allSettled(runners.map((r) => r.stop()));
    await Promise.allSettled(stores.map((s) => s.close()));
    await factory.cleanup(prefix);
    rmSync(tmp, { recursive: true, force: true });
    // the runners never complained about their own machinery (claiming, relaying, leases)
    const broken = logLines.filter((l) => l.level === 'error' && l.msg !== 'job is dead');
    expect(broken).toEqual([]);
  });

  // ------------------------------------------------------------------------------------ outbox

  test('a job enqueued in a committed transaction runs once with its payload; one whose transaction rolled back never runs', async () => {
    const echo = recorded('test.echo');
    const n = node({ jobs: [echo.def] });
    await n.runner.start();

    // the state change the job follows from, in the same transaction
    const order = (id: string) => {
      const now = new Date().toISOString();
      return {
        id,
        organization_id: 'org-1',
        external_id: `ext-${id}`,
        number: id,
        source: 'site' as const,
        customer: '{}',
        items: '[]',
        total: 150_000,
        currency: 'RUB',
        payment_terms: JSON.stringify({ type: 'prepay' }),
        status: 'awaiting_payment' as const,
        paid_amount: 0,
        refunded_amount: 0,
        request_hash: 'h',
        created_at: now,
        updated_at: now,
      };
    };
    const committedId = await n.store.db.transaction().execute(async (trx) => {
      await trx.insertInto('orders').values(order('order-1')).execute();
      return n.queue.enqueue(trx, n.exec.jobs.get('test.echo')!, { orderId: 'order-1', amount: 150_000, note: 'Оплата заказа' });
    });
    n.queue.kick();

    await expect(
      n.store.db.transaction().execute(async (trx) => {
        await trx.insertInto('orders').values(order('order-2')).execute();
        await n.queue.enqueue(trx, n.exec.jobs.get('test.echo')!, { orderId: 'order-2' });
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    n.queue.kick();

    await untilStatus(committedId!, 'done');
    await sleep(QUIET_MS);
    expect(echo.runs.map((r) => r.payload)).toEqual([{ orderId: 'order-1', amount: 150_000, note: 'Оплата заказа' }]);
    expect(echo.runs[0].jobId).toBe(committedId);
    expect(echo.runs[0].attempt).toBe(1);
    // the rolled-back change and its job left no trace at all
    const all = await store.db.selectFrom('jobs').select(['id', 'status']).where('name', '=', 'test.echo').execute();
    expect(all).toEqual([{ id: committedId, status: 'done' }]);
    expect(await store.db.selectFrom('orders').select('id').execute()).toEqual([{ id: 'order-1' }]);
  });

  // ----------------------------------------------------------------------------------- retries

  test('a handler that fails twice then succeeds runs 3 times with growing pauses and ends done', async () => {
    // the jitter is pinned to the middle so that the pauses are 0.75·base·2^(n-1): 113 ms, then 225 ms
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const flaky = recorded('test.flaky', (run) => {
      if (run.attempt < 3) throw new Error(`1C is busy (attempt ${run.attempt})`);
    });
    const n = node({ jobs: [flaky.def], settings: { backoffBaseMs: 150, backoffMaxMs: 5000 } });
    await n.runner.start();
    const id = (await enqueue(n, 'test.flaky', { n: 1 }))!;

    const done = await untilStatus(id, 'done');
    expect(done.attempts).toBe(3);
    expect(done.last_error).toBeNull();
    expect(flaky.runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    const [g1, g2] = [flaky.runs[1].at - flaky.runs[0].at, flaky.runs[2].at - flaky.runs[1].at];
    expect(g1).toBeGreaterThanOrEqual(100); // the backoff is honoured, not just the poll interval
    expect(g2).toBeGreaterThan(g1);
    await sleep(QUIET_MS);
    expect(flaky.runs).toHaveLength(3);
  });

  // The relay adds attempt N to Redis, then records the row as queued. If attempt N already ran,
  // failed fast and put the row back to pending for attempt N+1 before that write lands (held up
  // for 1 s here), the row must stay pending so that attempt N+1 is relayed after its backoff.
  test('a retry after a fast failure is not lost when the outbox write after relaying is slow', async () => {
    await store.close();
    store = slowStore(dbFile, (q) => (isMarkQueued(q) ? 1000 : 0));
    stores.push(store);
    const flaky = recorded('test.fast-fail', (run) => {
      if (run.attempt === 1) throw new Error('1C answered 503');
    });
    const n = node({ jobs: [flaky.def] });
    await n.runner.start();
    const id = (await enqueue(n, 'test.fast-fail', {}))!;
    const done = await untilStatus(id, 'done', 8_000);
    expect(done.attempts).toBe(2);
    expect(flaky.runs.map((r) => r.attempt)).toEqual([1, 2]);
  });

  test('a handler that always fails ends dead after maxAttempts, keeps the error, and support gets exactly one critical alert', async () => {
    const broken = recorded('test.always-fails', () => {
      throw new Error('1C rejected the document: нет прав на проведение');
    });
    const n = node({ jobs: [broken.def] });
    await n.runner.start();
    const id = (await enqueue(n, 'test.always-fails', { orderId: 'order-7' }))!;

    const dead = await untilStatus(id, 'dead');
    expect(dead.attempts).toBe(3);
    expect(dead.last_error).toContain('1C rejected the document: нет прав на проведение');
    expect(broken.runs.map((r) => r.attempt)).toEqual([1, 2, 3]);

    // the alert travels as an `alert.send` job of its own
    await eventually(() => expect(deadJobAlerts()).toHaveLength(1));
    await sleep(QUIET_MS);
    expect(broken.runs).toHaveLength(3);
    expect(notifier.sent).toHaveLength(1);
    const [alert] = notifier.sent;
    expect(alert.severity).toBe('critical');
    expect(alert.title).toContain('test.always-fails');
    expect(alert.text).toContain(id);
    expect(alert.text).toContain('нет прав на проведение');
    const sendJobs = await store.db.selectFrom('jobs').select(['status']).where('name', '=', sendAlertJob.name).execute();
    expect(sendJobs).toEqual([{ status: 'done' }]);
  });

  test("a job kind's own maxAttempts overrides the configured one", async () => {
    const broken = recorded(
      'test.two-tries',
      () => {
        throw new Error('still down');
      },
      { maxAttempts: 2 },
    );
    const n = node({ jobs: [broken.def] });
    await n.runner.start();
    const id = (await enqueue(n, 'test.two-tries', {}))!;
    const dead = await untilStatus(id, 'dead');
    expect(dead.attempts).toBe(2);
    expect(dead.max_attempts).toBe(2);
    expect(broken.runs).toHaveLength(2);
  });

  test('a PermanentJobError makes the job dead after one attempt, with an alert', async () => {
    const refused = recorded('test.permanent', () => {
      throw new PermanentJobError('the mapping has no nomenclature for SKU-42');
    });
    const n = node({ jobs: [refused.def] });
    await n.runner.start();
    const id = (await enqueue(n, 'test.permanent', { sku: 'SKU-42' }))!;

    const dead = await untilStatus(id, 'dead');
    expect(dead.attempts).toBe(1);
    expect(dead.last_error).toContain('the mapping has no nomenclature for SKU-42');
    await eventually(() => expect(deadJobAlerts()).toHaveLength(1));
    expect(deadJobAlerts()[0].title).toContain('test.permanent');
    await sleep(QUIET_MS);
    expect(refused.runs).toHaveLength(1);
  });

  test('an ExternalError that may be retried is retried up to maxAttempts', async () => {
    const flaky = recorded('test.external-retryable', () => {
      throw new ExternalError('onec-odata', 'HTTP 503 from 1C', { retryable: true });
    });
    const n = node({ jobs: [flaky.def] });
    await n.runner.start();
    const id = (await enqueue(n, 'test.external-retryable', {}))!;
    const dead = await untilStatus(id, 'dead');
    expect(dead.attempts).toBe(3);
    expect(dead.last_error).toContain('HTTP 503 from 1C');
  });

  test('an ExternalError that may not be retried ends dead with its message (how many attempts is left to the executor)', async () => {
    const refused = recorded('test.external-final', () => {
      throw new ExternalError('onec-odata', 'HTTP 403: no rights', { retryable: false });
    });
    const n = node({ jobs: [refused.def] });
    await n.runner.start();
    const id = (await enqueue(n, 'test.external-final', {}))!;
    const dead = await untilStatus(id, 'dead');
    expect(dead.last_error).toContain('HTTP 403: no rights');
    expect(refused.runs.length).toBe(dead.attempts);
    await eventually(() => expect(deadJobAlerts()).toHaveLength(1));
  });

  // ------------------------------------------------------------------------------- admin retry

  test('retry() puts a dead job back: after the cause is fixed it runs and ends done; retry() of a done or unknown job is false', async () => {
    let fixed = false;
    const push = recorded('test.push-to-1c', () => {
      if (!fixed) throw new Error('1C base is locked for maintenance');
    });
    const n = node({ jobs: [push.def] });
    await n.runner.start();
    const id = (await enqueue(n, 'test.push-to-1c', { orderId: 'order-9' }))!;
    await untilStatus(id, 'dead');
    expect(push.runs).toHaveLength(3);

    fixed = true;
    expect(await n.runner.retry(id)).toMatchObject({ id, status: 'pending', attempts: 0 });
    const done = await untilStatus(id, 'done');
    expect(done.last_error).toBeNull();
    expect(done.attempts).toBe(1); // a fresh set of attempts
    await sleep(QUIET_MS);
    expect(push.runs).toHaveLength(4);
    expect(push.runs[3].payload).toEqual({ orderId: 'order-9' });
    expect(push.runs[3].attempt).toBe(1);

    expect(await n.runner.retry(id)).toBeNull();
    expect(await n.runner.retry('no-such-job')).toBeNull();
    await sleep(QUIET_MS);
    expect(push.runs).toHaveLength(4);
    expect((await row(id)).status).toBe('done');
  });

  // ------------------------------------------------------------------------------------ dedupe

  test('the same dedupe key enqueued twice is one job and one run, also after it has run', async () => {
    const sync = recorded('test.sync');
    const n = node({ jobs: [sync.def] });
    const first = await enqueue(n, 'test.sync', { v: 1 }, { key: 'sync:attempt-1:0' });
    const second = await enqueue(n, 'test.sync', { v: 2 }, { key: 'sync:attempt-1:0' });
    expect(first).toEqual(expect.any(String));
    expect(second).toBeNull();
    await n.runner.start();
    await untilStatus(first!, 'done');
    expect(await enqueue(n, 'test.sync', { v: 3 }, { key: 'sync:attempt-1:0' })).toBeNull();
    await sleep(QUIET_MS);
    expect(sync.runs.map((r) => r.payload)).toEqual([{ v: 1 }]);
    const rows = await store.db.selectFrom('jobs').select('id').where('name', '=', 'test.sync').execute();
    expect(rows).toHaveLength(1);
  });

  // -------------------------------------------------------------------------------- durability

  test('jobs survive a restart: a new process on the same store (and Redis) runs each exactly once', async () => {
    const before = recorded('test.durable');
    const old = node({ jobs: [before.def] });
    // the old process only moves committed jobs on (BullMQ: into Redis), it executes nothing
    await old.runner.start({ worker: false });
    const relayed = (await enqueue(old, 'test.durable', { which: 'relayed' }))!;
    if (factory.kind === 'bullmq') await untilStatus(relayed, 'queued');
    await old.runner.stop();
    // committed while no runner was running at all
    const waiting = (await enqueue(old, 'test.durable', { which: 'waiting' }))!;
    await store.close();
    expect(before.runs).toHaveLength(0);

    const reopened = await open();
    const after = recorded('test.durable');
    const fresh = node({ jobs: [after.def] }, reopened);
    await fresh.runner.start();
    await eventually(async () => {
      expect((await getJob(reopened.db, relayed))?.status).toBe('done');
      expect((await getJob(reopened.db, waiting))?.status).toBe('done');
    });
    await sleep(QUIET_MS);
    expect(after.runs.map((r) => r.payload.which).sort()).toEqual(['relayed', 'waiting']);
    expect(before.runs).toHaveLength(0);
  });

  test('a worker that died mid-job: once its lease runs out the job runs again on a live worker, and completes once', async () => {
    const work = recorded('test.lease');
    const n = node({ jobs: [work.def] });
    const id = (await enqueue(n, 'test.lease', { orderId: 'order-3' }))!;
    const ghost = 'ghost-host:4242:dead00';
    const ghostLeaseMs = 400;
    if (factory.kind === 'local') {
      const claimed = await claimDueJobs(store.db, store.dialect, ghost, 10, ghostLeaseMs);
      expect(claimed.map((j) => j.id)).toEqual([id]);
    } else {
      // the attempt is in Redis, a worker took it and died before recording anything
      await n.runner.start({ worker: false });
      await untilStatus(id, 'queued');
      expect(await startJob(store.db, id, ghost, ghostLeaseMs, 0)).toBeDefined();
      await n.runner.stop();
    }
    const claimedAt = Date.now();
    expect((await row(id)).status).toBe('running');

    const live = factory.kind === 'local' ? n : node({ jobs: [work.def] });
    await live.runner.start();
    const done = await untilStatus(id, 'done');
    expect(work.runs).toHaveLength(1);
    expect(work.runs[0].at).toBeGreaterThanOrEqual(claimedAt + ghostLeaseMs - 50); // not before the lease ran out
    expect(work.runs[0].attempt).toBe(2); // the lost attempt counts
    expect(done.attempts).toBe(2);
    // the ghost coming back cannot record an outcome over the live run
    expect(await finishJob(store.db, id, ghost)).toBe(false);
    expect(await failJob(store.db, id, ghost, { dead: true, error: 'late', runAt: new Date() })).toBe(false);
    await sleep(QUIET_MS);
    expect(work.runs).toHaveLength(1);
    expect((await row(id)).status).toBe('done');
  });

  test('a run whose outcome could not be written (the store out of reach) is not held by its live worker: it runs again after its lease', async () => {
    let cut = false;
    const work = recorded('test.unrecorded', (run) => {
      if (run.attempt === 1) cut = true;
    });
    const n = node({ jobs: [work.def] });
    // PostgreSQL restarting just as the first run ends: neither "done" nor "failed" can be written
    const updateTable = store.db.updateTable.bind(store.db);
    const transaction = store.db.transaction.bind(store.db);
    const unreachable = () => new Error('Connection terminated unexpectedly');
    // recording the outcome of a run (not the lease upkeep beside it)
    const fromRun = () => /JobExecutor\.run|\[as run\]/.test(callerStack());
    jest.spyOn(store.db, 'updateTable').mockImplementation(((table: any) => {
      if (cut && fromRun()) throw unreachable();
      return updateTable(table);
    }) as typeof store.db.updateTable);
    jest.spyOn(store.db, 'transaction').mockImplementation(() => {
      if (cut && fromRun()) {
        cut = false;
        throw unreachable();
      }
      return transaction();
    });
    await n.runner.start();
    const id = (await enqueue(n, 'test.unrecorded', {}))!;
    await eventually(() => expect(work.runs).toHaveLength(1));
    const done = await untilStatus(id, 'done', 10_000);
    // at least once: the first run's effect may have happened, so the job runs again rather than stay "running"
    expect(work.runs.map((r) => r.attempt)).toEqual([1, 2]);
    expect(done.attempts).toBe(2);
    logLines = logLines.filter((l) => l.msg !== 'recording a job outcome failed; it runs again when its lease expires');
  });

  (factory.kind === 'bullmq' ? test : test.skip)(
    'an attempt BullMQ handed over while the store was out of reach is tried again, not left failed in Redis',
    async () => {
      const work = recorded('test.store-down');
      const n = node({ jobs: [work.def] });
      // PostgreSQL restarting as the worker takes the attempt: starting it fails once
      let down = true;
      const updateTable = store.db.updateTable.bind(store.db);
      jest.spyOn(store.db, 'updateTable').mockImplementation(((table: any) => {
        // taking the attempt (its row marked running), not recording the run's outcome later
        const stack = callerStack();
        if (down && /BullMqJobRunner\.runAttempt/.test(stack) && !/JobExecutor\.run/.test(stack)) {
          down = false;
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        }
        return updateTable(table);
      }) as typeof store.db.updateTable);
      await n.runner.start();
      const id = (await enqueue(n, 'test.store-down', {}))!;
      const done = await untilStatus(id, 'done', 10_000);
      expect(down).toBe(false);
      expect(work.runs).toHaveLength(1);
      expect(done.attempts).toBe(1);
    },
  );

  test('a job whose last attempt was lost with its worker goes dead and alerts support', async () => {
    const work = recorded('test.lease-last');
    const n = node({ jobs: [work.def] });
    const id = (await enqueue(n, 'test.lease-last', {}))!;
    await store.db.updateTable('jobs').set({ attempts: 2 }).where('id', '=', id).execute();
    const claimed = await claimDueJobs(store.db, store.dialect, 'ghost-host:1:dead01', 10, 300);
    expect(claimed.map((j) => j.attempts)).toEqual([3]);
    await n.runner.start();
    const dead = await untilStatus(id, 'dead');
    expect(dead.last_error).toContain('worker stopped');
    await eventually(() => expect(deadJobAlerts()).toHaveLength(1));
    expect(deadJobAlerts()[0].title).toContain('test.lease-last');
    expect(work.runs).toHaveLength(0);
  });

  // ------------------------------------------------------------------------------- concurrency

  test('a kind that may run one at a time (a rate-limited outside system) never takes more than one slot: other work runs beside it', async () => {
    let inFlight = 0;
    let most = 0;
    const slow = recorded(
      'test.rate-limited',
      async () => {
        most = Math.max(most, ++inFlight);
        await sleep(150);
        inFlight--;
      },
      { concurrency: 1 },
    );
    const other = recorded('test.other');
    const n = node({ jobs: [slow.def, other.def], settings: { concurrency: 4 } });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await enqueue(n, 'test.rate-limited', { i }))!);
    const otherId = (await enqueue(n, 'test.other', {}))!;
    await n.runner.start();
    await untilStatus(otherId, 'done');
    // the other kind did not wait for the six to pass one by one
    expect(slow.runs.length).toBeLessThan(6);
    for (const id of ids) await untilStatus(id, 'done');
    expect(most).toBe(1);
    expect(slow.runs).toHaveLength(6);
    // handed back while their kind was busy: no attempt counted for it
    for (const id of ids) expect((await row(id)).attempts).toBe(1);
  });

  test('50 jobs with concurrency 4: each runs exactly once, never more than 4 at a time', async () => {
    let active = 0;
    let maxActive = 0;
    const count = new Map<number, number>();
    const n = node({
      jobs: [
        defineJob('test.many', async (_deps: unknown, p: { i: number }) => {
          active++;
          maxActive = Math.max(maxActive, active);
          count.set(p.i, (count.get(p.i) ?? 0) + 1);
          await sleep(15);
          active--;
        }),
      ],
    });
    await n.runner.start();
    for (let i = 0; i < 50; i++) await enqueue(n, 'test.many', { i });
    await eventually(async () => {
      const left = await store.db.selectFrom('jobs').select('id').where('name', '=', 'test.many').where('status', '!=', 'done').execute();
      expect(left).toHaveLength(0);
    });
    await sleep(QUIET_MS);
    expect(count.size).toBe(50);
    expect([...count.values()].every((c) => c === 1)).toBe(true);
    expect(maxActive).toBeLessThanOrEqual(4);
    expect(maxActive).toBeGreaterThan(1);
  });

  // Two runners with their own worker ids over one Store: a second better-sqlite3 connection in the
  // same process would block the event loop in its busy wait while the first holds a transaction.
  test('two runners on the same store (and Redis) share 50 jobs: each runs exactly once', async () => {
    const count = new Map<number, number>();
    const perNode = [0, 0];
    const def = (k: number) =>
      defineJob('test.shared', async (_deps: unknown, p: { i: number }) => {
        perNode[k]++;
        count.set(p.i, (count.get(p.i) ?? 0) + 1);
        await sleep(5);
      });
    const a = node({ jobs: [def(0)] });
    const b = node({ jobs: [def(1)] });
    await Promise.all([a.runner.start(), b.runner.start()]);
    for (let i = 0; i < 50; i++) await enqueue(i % 2 ? a : b, 'test.shared', { i });
    await eventually(async () => {
      const left = await store.db.selectFrom('jobs').select('id').where('name', '=', 'test.shared').where('status', '!=', 'done').execute();
      expect(left).toHaveLength(0);
    });
    await sleep(QUIET_MS);
    expect(count.size).toBe(50);
    expect([...count.entries()].filter(([, c]) => c !== 1)).toEqual([]);
    expect(perNode[0] + perNode[1]).toBe(50);
  });

  // ---------------------------------------------------------------------------------- shutdown

  test('stop lets a running job finish (its lease kept alive meanwhile) and takes no new one; another worker runs that', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = recorded('test.drain', async (run) => {
      if (run.payload.which === 'running') await gate;
    });
    const a = node({ jobs: [slow.def] });
    await a.runner.start();
    const running = (await enqueue(a, 'test.drain', { which: 'running' }))!;
    await untilStatus(running, 'running');

    const stopped = a.runner.stop(10_000);
    const later = (await enqueue(a, 'test.drain', { which: 'later' }))!;
    // the job outlives its lease (600 ms) while the runner drains: the lease is renewed, nobody takes it over
    await sleep(SETTINGS.leaseMs * 2);
    expect((await row(running)).status).toBe('running');
    release();
    expect(await stopped).toEqual({ handedBack: 0 });
    expect(await row(running)).toMatchObject({ status: 'done', attempts: 1 });
    expect(slow.runs.map((r) => r.payload.which)).toEqual(['running']);
    expect(['pending', 'queued']).toContain((await row(later)).status);

    const b = node({ jobs: [slow.def] });
    await b.runner.start();
    await untilStatus(later, 'done');
    await sleep(QUIET_MS);
    expect(slow.runs.map((r) => r.payload.which)).toEqual(['running', 'later']);
  });

  test('a job still running at the deadline is handed back: stop returns then, another worker runs it at once, the late run records nothing', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const hung = recorded('test.hung', async (run) => {
      if (run.attempt === 1) await gate;
    });
    // a lease far longer than the test: only the hand-back can free the job
    const a = node({ jobs: [hung.def], settings: { leaseMs: 60_000 } });
    await a.runner.start();
    const id = (await enqueue(a, 'test.hung', { orderId: 'order-9' }))!;
    await untilStatus(id, 'running');

    const t0 = Date.now();
    expect(await a.runner.stop(300)).toEqual({ handedBack: 1 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await row(id)).toMatchObject({ status: 'pending', attempts: 1, locked_by: null });
    expect(logLines.some((l) => l.msg.includes('handed back') && l.handedBack === 1)).toBe(true);

    const b = node({ jobs: [hung.def], settings: { leaseMs: 60_000 } });
    await b.runner.start();
    await untilStatus(id, 'done', 5000);
    expect(hung.runs.map((r) => r.attempt)).toEqual([1, 2]);
    // the first run ends after all: its outcome is not recorded over the second's
    release();
    await sleep(QUIET_MS);
    expect(await row(id)).toMatchObject({ status: 'done', attempts: 2 });
    expect(hung.runs).toHaveLength(2);
  });

  // --------------------------------------------------------------------------------- schedules

  test('a schedule every 200 ms runs repeatedly while started and stops with the runner', async () => {
    const at: number[] = [];
    const n = node({ schedules: [{ name: 'test.tick', everyMs: 200, handler: async () => void at.push(Date.now()) }] });
    await n.runner.start();
    await eventually(() => expect(at.length).toBeGreaterThanOrEqual(4));
    await n.runner.stop();
    const runs = at.length;
    // not a busy loop: on average no faster than the period (a little slack for the first tick)
    expect(at[at.length - 1] - at[0]).toBeGreaterThanOrEqual((at.length - 2) * 200 - 50);
    await sleep(QUIET_MS);
    expect(at.length).toBe(runs);
  });

  test('two runners with the same schedule never run it at the same time', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const tick = (): ScheduleDefinition => ({
      name: 'test.exclusive',
      everyMs: 200,
      handler: async () => {
        active++;
        runs++;
        maxActive = Math.max(maxActive, active);
        await sleep(50);
        active--;
      },
    });
    const a = node({ schedules: [tick()] });
    const b = node({ schedules: [tick()] });
    const startedAt = Date.now();
    await Promise.all([a.runner.start(), b.runner.start()]);
    await eventually(() => expect(runs).toBeGreaterThanOrEqual(5));
    await Promise.all([a.runner.stop(), b.runner.stop()]);
    expect(maxActive).toBe(1);
    // and not once per process per period either
    expect(runs).toBeLessThanOrEqual(Math.ceil((Date.now() - startedAt) / 200) + 2);
  });

  // A BullMQ job scheduler adds a tick every period whatever the previous run is doing: the run
  // still takes the schedule's lease, so ticks that find it running are skipped.
  test('a schedule run that takes longer than its period does not overlap the next run', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const n = node({
      schedules: [
        {
          name: 'test.slow-tick',
          everyMs: 100,
          handler: async () => {
            active++;
            runs++;
            maxActive = Math.max(maxActive, active);
            await sleep(300); // longer than the period, well within the lease
            active--;
          },
        },
      ],
    });
    await n.runner.start();
    await eventually(() => expect(runs).toBeGreaterThanOrEqual(4));
    await n.runner.stop();
    expect(maxActive).toBe(1);
  });

  // A run longer than the lease keeps it by renewing it, and only its holder can free it.
  test('a schedule run that outlives the lease does not overlap a run in another runner', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const slow = (): ScheduleDefinition => ({
      name: 'test.statement-import',
      everyMs: 100,
      handler: async () => {
        active++;
        runs++;
        maxActive = Math.max(maxActive, active);
        await sleep(900); // leaseMs is 600
        active--;
      },
    });
    const a = node({ schedules: [slow()] });
    const b = node({ schedules: [slow()] });
    await Promise.all([a.runner.start(), b.runner.start()]);
    await eventually(() => expect(runs).toBeGreaterThanOrEqual(5));
    await Promise.all([a.runner.stop(), b.runner.stop()]);
    expect(maxActive).toBe(1);
  });

  (factory.kind === 'bullmq' ? test : test.skip)('a schedule a restarted Redis lost is set up again: it keeps running', async () => {
    const runs: number[] = [];
    const n = node({ schedules: [{ name: 'test.tick', everyMs: 200, handler: async () => void runs.push(Date.now()) }] });
    await n.runner.start();
    await eventually(() => expect(runs.length).toBeGreaterThan(0));
    // Redis came back empty (no persistence): the job scheduler and its next tick are gone
    const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: 3 });
    const queue = new Queue('jobs', { connection: redis, prefix });
    try {
      expect(await queue.removeJobScheduler('test.tick')).toBe(true);
      await sleep(QUIET_MS);
      const after = runs.length;
      await sleep(QUIET_MS);
      expect(runs.length).toBeLessThanOrEqual(after + 1);
      await eventually(() => expect(runs.length).toBeGreaterThan(after + 2), 10_000);
      expect(await queue.getJobScheduler('test.tick')).toBeDefined();
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });

  test('runScheduleNow runs the handler at once, in this process, and reports its failure', async () => {
    let runs = 0;
    let fail = false;
    const n = node({
      schedules: [
        {
          name: 'test.hourly',
          everyMs: 3_600_000,
          handler: async () => {
            runs++;
            if (fail) throw new Error('statement import failed');
          },
        },
      ],
    });
    // BullMQ: relay only, so no worker of this test takes the schedule's own tick
    await n.runner.start({ worker: false });
    await n.runner.runScheduleNow('test.hourly');
    expect(runs).toBe(1);
    fail = true;
    await expect(n.runner.runScheduleNow('test.hourly')).rejects.toThrow('statement import failed');
    expect(runs).toBe(2);
    await expect(n.runner.runScheduleNow('no-such-schedule')).rejects.toThrow('no schedule');
  });
}

describe.each([localFactory])('jobs on the $kind runner', jobSuite);

describeWith('redis', 'jobs on the BullMQ runner', () => {
  describe.each([bullmqFactory])('jobs on the $kind runner', jobSuite);
});
