// Constraint errors are checked by their message: better-sqlite3 builds its errors in the realm that
// first loaded it, so `toThrow()` (an instanceof check) misjudges them when jest reuses a worker.
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { newId } from '../../gateway/domain/ids';
import { largeTransaction, nowIso, openStore, type Db, type Dialect, type Executor, type Store } from '../../gateway/store/db';
import { beginIdempotent, completeIdempotent, releaseIdempotent } from '../../gateway/store/idempotency';
import {
  claimDueJobs,
  claimSchedule,
  countJobsByStatus,
  enqueueJob,
  ensureSchedule,
  extendSchedule,
  failJob,
  finishJob,
  getJob,
  reapExpiredLeases,
  releaseSchedule,
  reviveJob,
} from '../../gateway/store/jobs';
import { migrateToLatest } from '../../gateway/store/migrations';
import { addOrderMoney, findOrderByExternalId, getOrder, insertOrder } from '../../gateway/store/orders';
import {
  attemptEvents,
  findCallbackTarget,
  getPayment,
  getRefund,
  insertAttempt,
  insertPayment,
  insertRefund,
  movePayment,
  newAttemptRow,
  recordEvent,
  setOnecDelivery,
} from '../../gateway/store/payments';
import type { NewOrder, PaymentEventsTable, NewPayment, NewRefund } from '../../gateway/store/schema';
import { insertIgnore } from '../../gateway/store/sql';
import { describeWith, freshPgSchema } from '../helpers/services';

// ---------------------------------------------------------------- backends

interface Opened {
  store: Store;
  cleanup(): Promise<void>;
}

interface Backend {
  name: 'sqlite' | 'postgres';
  /** How the suite is declared: PostgreSQL goes through describeWith, so a missing DATABASE_URL_PG is loud. */
  declare(name: string, fn: () => void): void;
  open(): Promise<Opened>;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    declare: (name, fn) => describe(name, fn),
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'store-test-'));
      const store = await openStore(`sqlite:${join(dir, 'x.db')}`);
      return {
        store,
        async cleanup() {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    declare: (name, fn) => describeWith('postgres', name, fn),
    async open() {
      const schema = await freshPgSchema();
      const store = await openStore(schema.url);
      return {
        store,
        async cleanup() {
          await store.close();
          await schema.drop();
        },
      };
    },
  },
];

// ---------------------------------------------------------------- rows

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(2);
  }
}

function orderRow(over: Partial<NewOrder> = {}): NewOrder {
  const now = nowIso();
  return {
    id: newId(),
    organization_id: 'org-1',
    external_id: `ext-${newId()}`,
    number: 'СЗ-000123',
    source: 'site',
    customer: JSON.stringify({ type: 'individual', name: 'Иван Петров' }),
    items: '[]',
    total: 10000,
    currency: 'RUB',
    payment_terms: JSON.stringify({ type: 'prepay' }),
    status: 'awaiting_payment',
    paid_amount: 0,
    refunded_amount: 0,
    request_hash: 'hash',
    created_at: now,
    updated_at: now,
    ...over,
  };
}

function paymentRow(orderId: string, over: Partial<NewPayment> = {}): NewPayment {
  const now = nowIso();
  return {
    id: newId(),
    order_id: orderId,
    organization_id: 'org-1',
    method: 'card',
    provider: 'sber',
    amount: 10000,
    status: 'pending',
    status_reason: null,
    refunded_amount: 0,
    paid_at: null,
    return_url: null,
    fail_url: null,
    action: null,
    created_at: now,
    updated_at: now,
    ...over,
  };
}

function eventRow(dedupeKey: string, over: Partial<PaymentEventsTable> = {}): PaymentEventsTable {
  return {
    id: newId(),
    organization_id: 'org-1',
    provider: 'sber',
    attempt_id: null,
    kind: 'callback',
    dedupe_key: dedupeKey,
    payload: JSON.stringify({ mdOrder: 'abc', status: 1 }),
    outcome: null,
    received_at: nowIso(),
    ...over,
  };
}

/**
 * Runs `first` and `second` in two transactions that are open at the same time. On PostgreSQL the
 * first one does its work and keeps its transaction open until the second is seen blocked by it
 * (pg_blocking_pids), so the two really contend for the same rows. SQLite has one connection and
 * one writer: the transactions simply run one after the other.
 */
async function contendingTransactions<A, B>(
  db: Db,
  dialect: Dialect,
  first: (trx: Executor) => Promise<A>,
  second: (trx: Executor) => Promise<B>,
): Promise<[A, B]> {
  if (dialect !== 'postgres') return Promise.all([db.transaction().execute(first), db.transaction().execute(second)]);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let firstReady!: (pid: number) => void;
  let firstFailed!: (e: unknown) => void;
  const ready = new Promise<number>((res, rej) => {
    firstReady = res;
    firstFailed = rej;
  });
  const p1 = db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
    const r = await first(trx);
    firstReady(rows[0].pid);
    await gate;
    return r;
  });
  p1.catch(firstFailed);
  const pid = await ready;
  const p2 = db.transaction().execute(second);
  p2.catch(() => undefined);
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await sql<{
        n: number;
      }>`select count(*)::int as n from pg_stat_activity where ${pid}::int = any(pg_blocking_pids(pid))`.execute(db);
      if (rows[0].n > 0) break;
      if (Date.now() > deadline) throw new Error('the second transaction was never blocked by the first');
      await sleep(5);
    }
  } finally {
    release();
  }
  return Promise.all([p1, p2]);
}

// ---------------------------------------------------------------- the suite

describe.each(backends)('store on $name', (backend) => {
  backend.declare(`store repositories on ${backend.name}`, () => {
    let opened: Opened;
    let db: Db;
    let dialect: Dialect;
    let firstMigration: string[];

    beforeAll(async () => {
      opened = await backend.open();
      db = opened.store.db;
      dialect = opened.store.dialect;
      firstMigration = await migrateToLatest(db);
    });

    afterAll(async () => {
      await opened?.cleanup();
    });

    beforeEach(async () => {
      // claimDueJobs / reapExpiredLeases act on every row: each test starts with no jobs.
      await db.deleteFrom('jobs').execute();
    });

    test('the store speaks the dialect of its URL', () => {
      expect(dialect).toBe(backend.name);
    });

    test('migrateToLatest applies every migration once, then has nothing to do', async () => {
      expect(firstMigration).toEqual([
        '0001_init',
        '0002_onec',
        '0003_exchange',
        '0004_sbp_history',
        '0005_fiscal',
        '0006_onec_waiting',
        '0007_exchange_exports',
        '0008_statement_lines',
        '0009_invoices',
        '0010_customers',
        '0011_invoice_transfers',
        '0012_statement_onec',
        '0013_onec_invoices',
        '0014_invoice_match_fields',
        '0015_reports',
        '0016_alerts',
        '0017_admin_sessions',
        '0018_rate_limits',
        '0019_statement_state_index',
      ]);
      expect(await migrateToLatest(db)).toEqual([]);
      // the tables are there and empty
      expect(await db.selectFrom('schedules').selectAll().execute()).toEqual([]);
    });

    if (backend.name === 'sqlite') {
      test('a callback finds its attempt through the provider_ref index, whatever other indexes exist', async () => {
        const plan = await sql<{
          detail: string;
        }>`explain query plan select * from payment_attempts where provider = 'sber' and provider_ref = 'x' and organization_id = 'main'`.execute(
          db,
        );
        expect(plan.rows.map((r) => r.detail).join(' ')).toContain('payment_attempts_provider_ref');
      });

      test('statement lines to match and to apply are found through the one state index', async () => {
        const plan = async (q: string) =>
          (await sql<{ detail: string }>`explain query plan ${sql.raw(q)}`.execute(db)).rows.map((r) => r.detail).join(' ');
        expect(await plan(`select id from statement_lines where organization_id = 'shop' and match_state = 'new'`)).toContain(
          'statement_lines_state_applied',
        );
        expect(
          await plan(
            `select id from statement_lines where organization_id = 'shop' and applied_at is null and match_state in ('matched', 'partial', 'overpaid')`,
          ),
        ).toContain('statement_lines_state_applied (organization_id=? AND match_state=? AND applied_at=?)');
      });

      test('the SQLite file is in WAL mode with synchronous = NORMAL (the driver syncs the WAL itself)', async () => {
        const mode = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(db);
        expect(mode.rows[0].journal_mode.toLowerCase()).toBe('wal');
        const sync = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(db);
        expect(sync.rows[0].synchronous).toBe(1); // 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
        const fk = await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(db);
        expect(fk.rows[0].foreign_keys).toBe(1);
      });

      test('a large transaction has a larger page cache while it runs, the usual one after it, whether it commits or fails', async () => {
        const cache = async (e: Executor) => (await sql<{ cache_size: number }>`PRAGMA cache_size`.execute(e)).rows[0].cache_size;
        expect(await cache(db)).toBe(-65_536);
        const order = orderRow();
        const seen = await largeTransaction(opened.store, 128, async (trx) => {
          await insertOrder(trx, order);
          return cache(trx);
        });
        expect(seen).toBe(-131_072);
        expect(await cache(db)).toBe(-65_536);
        expect(await getOrder(db, order.id)).toMatchObject({ id: order.id });

        const undone = orderRow();
        await expect(
          largeTransaction(opened.store, 128, async (trx) => {
            await insertOrder(trx, undone);
            throw new Error('refused');
          }),
        ).rejects.toThrow('refused');
        expect(await cache(db)).toBe(-65_536);
        expect(await getOrder(db, undone.id)).toBeUndefined();
      });

      test('nothing is acknowledged before the WAL is synced: a commit, a lone write and a read of committed rows all wait for fdatasync', async () => {
        const walPath = `${opened.store.describe.slice('sqlite:'.length)}-wal`;
        const held: (() => void)[] = [];
        const real = fs.fdatasync;
        const spy = jest.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => {
          held.push(() => real(fd, cb));
        }) as typeof fs.fdatasync);
        try {
          const order = orderRow();
          let committed = false;
          const trx = db
            .transaction()
            .execute((t) => insertOrder(t, order))
            .then(() => (committed = true));
          await until(() => held.length === 1);
          expect(committed).toBe(false);
          // the row is committed (the reading connection sees it) but not yet on disk: the read waits
          let read = false;
          const reading = getOrder(db, order.id).then((r) => ((read = true), r));
          let wrote = false;
          const writing = db
            .updateTable('orders')
            .set({ number: 'СЗ-1' })
            .where('id', '=', order.id)
            .execute()
            .then(() => (wrote = true));
          await sleep(20);
          expect([committed, read, wrote]).toEqual([false, false, false]);
          // one sync covers the first commit (and what was committed before it started)
          held.shift()!();
          await trx;
          expect(await reading).toMatchObject({ id: order.id });
          expect(wrote).toBe(false);
          await until(() => held.length === 1);
          held.shift()!();
          await writing;
          expect(fs.readFileSync(walPath).length).toBeGreaterThan(0);
        } finally {
          spy.mockRestore();
          held.forEach((release) => release());
        }
      });

      test('a callback finds its attempt without waiting for the disk (its own commit is synced after); a callback seen before waits, as it is answered at once', async () => {
        const order = orderRow();
        const payment = paymentRow(order.id);
        const attempt = {
          ...newAttemptRow({
            id: newId(),
            payment_id: payment.id,
            organization_id: 'org-1',
            provider: 'sber',
            method: 'card',
            amount: 10000,
            order_number: `n-${newId()}`,
            expires_at: null,
            next_check_at: null,
          }),
          provider_ref: `md-${newId()}`,
        };
        await insertOrder(db, order);
        await insertPayment(db, payment);
        await insertAttempt(db, attempt);
        const held: (() => void)[] = [];
        const real = fs.fdatasync;
        const spy = jest.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => {
          held.push(() => real(fd, cb));
        }) as typeof fs.fdatasync);
        try {
          const key = `sber:${attempt.provider_ref}:1`;
          // a commit that is not on disk yet: the next callback of the attempt is still found at once
          const recorded = db
            .transaction()
            .execute((t) => recordEvent(t, eventRow(`sber:${attempt.provider_ref}:0`, { attempt_id: attempt.id })));
          await until(() => held.length === 1);
          const found = await Promise.race([
            findCallbackTarget(db, 'org-1', 'sber', attempt.provider_ref, key),
            sleep(2000).then(() => 'still waiting for the disk'),
          ]);
          expect(found).toMatchObject({ attempt: { id: attempt.id, payment_id: payment.id }, paymentAmount: 10000, seen: false });
          expect(held).toHaveLength(1);
          held.shift()!();
          await recorded;
          // a transaction under way is never seen: neither the attempt it adds nor the callback it records
          const other = { ...attempt, id: newId(), order_number: `n-${newId()}`, provider_ref: `md-${newId()}` };
          let finish!: () => void;
          const underWay = db.transaction().execute(async (t) => {
            await insertAttempt(t, other);
            await recordEvent(t, eventRow(key, { attempt_id: attempt.id }));
            await new Promise<void>((resolve) => (finish = resolve));
            throw new Error('rolled back');
          });
          await until(() => finish !== undefined);
          expect(await findCallbackTarget(db, 'org-1', 'sber', other.provider_ref, `sber:${other.provider_ref}:1`)).toBeUndefined();
          expect(await findCallbackTarget(db, 'org-1', 'sber', attempt.provider_ref, key)).toMatchObject({ seen: false });
          finish();
          await expect(underWay).rejects.toThrow('rolled back');
          expect(await findCallbackTarget(db, 'org-1', 'sber', other.provider_ref, `sber:${other.provider_ref}:1`)).toBeUndefined();
          // the same callback recorded, not yet on disk: "seen" is answered only once it is
          const again = db.transaction().execute((t) => recordEvent(t, eventRow(key, { attempt_id: attempt.id })));
          await until(() => held.length === 1);
          let answered = false;
          const seen = findCallbackTarget(db, 'org-1', 'sber', attempt.provider_ref, key).then((r) => ((answered = true), r));
          await sleep(20);
          expect(answered).toBe(false);
          held.shift()!();
          await again;
          expect(await seen).toMatchObject({ attempt: { id: attempt.id }, seen: true });
        } finally {
          spy.mockRestore();
          held.forEach((release) => release());
        }
      });

      test('checkpoints run off the event loop: the writer never checkpoints, a thread of its own moves the WAL into the database file', async () => {
        const scratch = mkdtempSync(join(tmpdir(), 'store-checkpoint-'));
        const file = join(scratch, 'x.db');
        const store = await openStore(`sqlite:${file}`);
        try {
          const auto = await sql<{ wal_autocheckpoint: number }>`PRAGMA wal_autocheckpoint`.execute(store.db);
          expect(auto.rows[0].wal_autocheckpoint).toBe(0);
          await migrateToLatest(store.db);
          // in WAL mode the database file grows only when a checkpoint copies pages into it
          const before = fs.statSync(file).size;
          const rows = Array.from({ length: 400 }, () => orderRow({ customer: JSON.stringify({ name: 'Покупатель '.repeat(60) }) }));
          await Promise.all(rows.map((r) => store.db.transaction().execute((t) => insertOrder(t, r))));
          await until(() => fs.statSync(file).size > before + 400 * 1000, 5000);
          expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);
          // and everything written reads back
          expect(await getOrder(store.db, rows[399].id)).toMatchObject({ id: rows[399].id });
        } finally {
          await store.close();
          rmSync(scratch, { recursive: true, force: true });
        }
      });

      test('a failed sync fails the commits waiting for it, and every write after it', async () => {
        const scratch = mkdtempSync(join(tmpdir(), 'store-sync-'));
        const store = await openStore(`sqlite:${join(scratch, 'x.db')}`);
        try {
          await migrateToLatest(store.db);
          const spy = jest
            .spyOn(fs, 'fdatasync')
            .mockImplementation(((_fd: number, cb: (e: NodeJS.ErrnoException | null) => void) =>
              cb(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }))) as typeof fs.fdatasync);
          try {
            await expect(store.db.transaction().execute((t) => insertOrder(t, orderRow()))).rejects.toThrow(/EIO/);
            spy.mockRestore();
            await expect(insertOrder(store.db, orderRow())).rejects.toThrow(/EIO/);
          } finally {
            spy.mockRestore();
          }
        } finally {
          await store.close().catch(() => undefined);
          rmSync(scratch, { recursive: true, force: true });
        }
      });
    }

    // ------------------------------------------------------------ insertIgnore

    test('insertIgnore inserts once, then reports false for the same unique key and keeps the first row', async () => {
      const key = `sber:cb:${newId()}`;
      const first = eventRow(key, { payload: '{"n":1}' });
      const second = eventRow(key, { payload: '{"n":2}' });
      expect(await insertIgnore(db, dialect, 'payment_events', first, ['dedupe_key'])).toBe(true);
      expect(await insertIgnore(db, dialect, 'payment_events', second, ['dedupe_key'])).toBe(false);
      const rows = await db.selectFrom('payment_events').selectAll().where('dedupe_key', '=', key).execute();
      expect(rows).toHaveLength(1);
      expect(rows[0].id).toBe(first.id);
      expect(rows[0].payload).toBe('{"n":1}');
    });

    // ------------------------------------------------------------ enqueueJob

    test('enqueueJob with the same key twice makes one job; the second call returns null', async () => {
      const key = `push-order:${newId()}`;
      const id = await enqueueJob(db, 'push-order', { orderId: 'o1' }, { key, maxAttempts: 5 });
      expect(typeof id).toBe('string');
      expect(await enqueueJob(db, 'push-order', { orderId: 'o1', again: true }, { key, maxAttempts: 5 })).toBeNull();
      const rows = await db.selectFrom('jobs').selectAll().where('dedupe_key', '=', key).execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        id,
        name: 'push-order',
        status: 'pending',
        attempts: 0,
        max_attempts: 5,
        payload: '{"orderId":"o1"}',
      });
    });

    test('enqueueJob without a key makes a job every time; many NULL dedupe keys are allowed', async () => {
      const a = await enqueueJob(db, 'alert', { n: 1 }, { maxAttempts: 3 });
      const b = await enqueueJob(db, 'alert', { n: 1 }, { maxAttempts: 3 });
      const c = await enqueueJob(db, 'alert', { n: 1 }, { maxAttempts: 3 });
      expect(new Set([a, b, c]).size).toBe(3);
      const rows = await db.selectFrom('jobs').selectAll().where('name', '=', 'alert').execute();
      expect(rows).toHaveLength(3);
      expect(rows.every((r) => r.dedupe_key === null)).toBe(true);
    });

    test('the unique index on jobs.dedupe_key is real: a plain insert of a duplicate key is refused', async () => {
      const key = `k:${newId()}`;
      await enqueueJob(db, 'x', null, { key, maxAttempts: 1 });
      const now = nowIso();
      await expect(
        db
          .insertInto('jobs')
          .values({
            id: newId(),
            name: 'x',
            dedupe_key: key,
            payload: 'null',
            status: 'pending',
            attempts: 0,
            max_attempts: 1,
            run_at: now,
            locked_until: null,
            locked_by: null,
            last_error: null,
            created_at: now,
            updated_at: now,
          })
          .execute(),
      ).rejects.toHaveProperty('message', expect.stringMatching(/UNIQUE constraint failed|duplicate key value/));
    });

    // ------------------------------------------------------------ claimDueJobs

    test('two workers claiming at once never take the same job; attempts becomes 1; future jobs stay', async () => {
      const past = new Date(Date.now() - 60_000);
      const due: string[] = [];
      for (let i = 0; i < 8; i++) due.push((await enqueueJob(db, 'work', { i }, { maxAttempts: 3, runAt: past }))!);
      const future: string[] = [];
      for (let i = 0; i < 2; i++)
        future.push((await enqueueJob(db, 'later', { i }, { maxAttempts: 3, runAt: new Date(Date.now() + 3_600_000) }))!);

      const [w1, w2] = await Promise.all([
        claimDueJobs(db, dialect, 'worker-1', 5, 60_000),
        claimDueJobs(db, dialect, 'worker-2', 5, 60_000),
      ]);

      expect(w1.length).toBeLessThanOrEqual(5);
      expect(w2.length).toBeLessThanOrEqual(5);
      const ids1 = w1.map((j) => j.id);
      const ids2 = w2.map((j) => j.id);
      expect(ids1.filter((id) => ids2.includes(id))).toEqual([]);
      // between them they took every due job and nothing else
      expect([...ids1, ...ids2].sort()).toEqual([...due].sort());

      for (const [worker, claimed] of [
        ['worker-1', w1],
        ['worker-2', w2],
      ] as const) {
        for (const job of claimed) {
          expect(job).toMatchObject({ status: 'running', locked_by: worker, attempts: 1 });
          expect(job.locked_until! > nowIso()).toBe(true);
          const row = await getJob(db, job.id);
          expect(row).toMatchObject({ status: 'running', locked_by: worker, attempts: 1 });
        }
      }
      for (const id of future) expect(await getJob(db, id)).toMatchObject({ status: 'pending', attempts: 0, locked_by: null });

      // nothing is due any more
      expect(await claimDueJobs(db, dialect, 'worker-3', 5, 60_000)).toEqual([]);
      expect(await countJobsByStatus(db)).toEqual({ running: 8, pending: 2 });
    });

    // ------------------------------------------------------------ finishJob / failJob

    test('finishJob succeeds only for the worker holding the lease', async () => {
      const id = (await enqueueJob(db, 'work', null, { maxAttempts: 3 }))!;
      const [claimed] = await claimDueJobs(db, dialect, 'owner', 1, 60_000);
      expect(claimed.id).toBe(id);
      const before = await getJob(db, id);

      expect(await finishJob(db, id, 'intruder')).toBe(false);
      expect(await getJob(db, id)).toEqual(before);

      expect(await finishJob(db, id, 'owner')).toBe(true);
      expect(await getJob(db, id)).toMatchObject({ status: 'done', locked_by: null, locked_until: null, last_error: null, attempts: 1 });
      // done is final: the owner cannot finish it twice
      expect(await finishJob(db, id, 'owner')).toBe(false);
    });

    test('failJob succeeds only for the worker holding the lease; it reschedules or buries the job', async () => {
      const id = (await enqueueJob(db, 'work', null, { maxAttempts: 3 }))!;
      await claimDueJobs(db, dialect, 'owner', 1, 60_000);
      const before = await getJob(db, id);
      const runAt = new Date(Date.now() + 30_000);

      expect(await failJob(db, id, 'intruder', { dead: false, error: 'nope', runAt })).toBe(false);
      expect(await getJob(db, id)).toEqual(before);

      expect(await failJob(db, id, 'owner', { dead: false, error: '1C timed out', runAt })).toBe(true);
      expect(await getJob(db, id)).toMatchObject({
        status: 'pending',
        run_at: runAt.toISOString(),
        last_error: '1C timed out',
        locked_by: null,
        locked_until: null,
        attempts: 1,
      });
      // not running any more: a second failJob is refused
      expect(await failJob(db, id, 'owner', { dead: true, error: 'again', runAt })).toBe(false);
      // not due yet
      expect(await claimDueJobs(db, dialect, 'owner', 5, 60_000)).toEqual([]);

      const id2 = (await enqueueJob(db, 'work', null, { maxAttempts: 1 }))!;
      await claimDueJobs(db, dialect, 'owner', 5, 60_000);
      expect(await failJob(db, id2, 'owner', { dead: true, error: 'x'.repeat(3000), runAt })).toBe(true);
      const dead = await getJob(db, id2);
      expect(dead).toMatchObject({ status: 'dead', locked_by: null });
      expect(dead!.last_error).toHaveLength(2000);
    });

    // ------------------------------------------------------------ reapExpiredLeases

    test('reapExpiredLeases puts a job whose lease ran out back to pending, or to dead when its attempts are used up', async () => {
      const retry = (await enqueueJob(db, 'work', null, { maxAttempts: 3 }))!;
      const last = (await enqueueJob(db, 'work', null, { maxAttempts: 1 }))!;
      const alive = (await enqueueJob(db, 'work', null, { maxAttempts: 1 }))!;
      expect(await claimDueJobs(db, dialect, 'vanished', 10, 60_000)).toHaveLength(3);
      const past = nowIso(Date.now() - 1_000);
      await db.updateTable('jobs').set({ locked_until: past }).where('id', 'in', [retry, last]).execute();

      const buried: string[] = [];
      const r = await reapExpiredLeases(db, async (trx, job) => {
        // runs inside the transaction that buries the job: what it writes commits with it
        expect((await trx.selectFrom('jobs').select('status').where('id', '=', job.id).executeTakeFirst())?.status).toBe('dead');
        buried.push(job.id);
      });
      expect(r).toEqual({ requeued: 1, dead: 1 });
      expect(buried).toEqual([last]);

      expect(await getJob(db, retry)).toMatchObject({
        status: 'pending',
        locked_by: null,
        locked_until: null,
        attempts: 1,
        last_error: 'worker stopped while running the job',
      });
      expect(await getJob(db, last)).toMatchObject({ status: 'dead', locked_by: null, locked_until: null, attempts: 1 });
      // a lease that has not run out is left alone
      expect(await getJob(db, alive)).toMatchObject({ status: 'running', locked_by: 'vanished' });

      // the requeued job runs again, counting a second attempt
      const again = await claimDueJobs(db, dialect, 'next', 10, 60_000);
      expect(again.map((j) => [j.id, j.attempts])).toEqual([[retry, 2]]);
      // reaping again finds nothing
      expect(await reapExpiredLeases(db, async () => undefined)).toEqual({ requeued: 0, dead: 0 });
    });

    // ------------------------------------------------------------ reviveJob

    test('reviveJob acts on dead jobs only and gives them a fresh set of attempts', async () => {
      const id = (await enqueueJob(db, 'work', null, { maxAttempts: 1 }))!;
      expect(await reviveJob(db, id)).toBeNull(); // pending
      await claimDueJobs(db, dialect, 'w', 1, 60_000);
      expect(await reviveJob(db, id)).toBeNull(); // running
      expect(await getJob(db, id)).toMatchObject({ status: 'running', attempts: 1 });
      await failJob(db, id, 'w', { dead: true, error: 'gave up', runAt: new Date(Date.now() + 3_600_000) });
      expect(await getJob(db, id)).toMatchObject({ status: 'dead', attempts: 1 });

      expect(await reviveJob(db, id)).toMatchObject({ id, status: 'pending', attempts: 0 });
      const revived = await getJob(db, id);
      expect(revived).toMatchObject({ status: 'pending', attempts: 0 });
      expect(revived!.run_at <= nowIso()).toBe(true); // due now, not at the old retry time
      expect(await reviveJob(db, id)).toBeNull();
      expect(await reviveJob(db, newId())).toBeNull();

      const [claimed] = await claimDueJobs(db, dialect, 'w', 1, 60_000);
      expect(claimed).toMatchObject({ id, attempts: 1 });
    });

    // ------------------------------------------------------------ claimSchedule

    test('claimSchedule: of two concurrent claims exactly one wins; not due again until everyMs has passed; only the holder renews or releases', async () => {
      const name = `poll-${newId()}`;
      await ensureSchedule(db, dialect, name);
      await ensureSchedule(db, dialect, name); // idempotent
      expect(await db.selectFrom('schedules').selectAll().where('name', '=', name).execute()).toHaveLength(1);

      const everyMs = 400;
      const claim = (worker: string, extra: { force?: boolean } = {}) =>
        claimSchedule(db, name, worker, { everyMs, leaseMs: 60_000, ...extra });
      const results = await Promise.all([claim('a'), claim('b')]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const holder = results[0] ? 'a' : 'b';
      const other = holder === 'a' ? 'b' : 'a';
      const claimedAt = Date.now();

      // the other worker can neither renew nor free the run it does not hold
      expect(await extendSchedule(db, name, other, 60_000)).toBe(false);
      await releaseSchedule(db, name, other, null);
      expect(await claim(other, { force: true })).toBe(false);
      expect(await extendSchedule(db, name, holder, 60_000)).toBe(true);

      await releaseSchedule(db, name, holder, null);
      expect(await claim('a')).toBe(false); // not due yet
      expect(await claim('a', { force: true })).toBe(true); // an admin's "run now" is
      const forcedAt = Date.now(); // the forced run set the next one to everyMs after it
      await releaseSchedule(db, name, 'a', null);

      await sleep(Math.max(everyMs - (Date.now() - claimedAt), everyMs - (Date.now() - forcedAt)) + 50);
      expect(await claim('c')).toBe(true);
      // held by the lease now
      expect(await claim('d')).toBe(false);
      await releaseSchedule(db, name, 'c', 'boom');
      expect(
        await db.selectFrom('schedules').select(['last_error', 'locked_until', 'locked_by']).where('name', '=', name).executeTakeFirst(),
      ).toEqual({ last_error: 'boom', locked_until: null, locked_by: null });
    });

    // ------------------------------------------------------------ idempotency

    test('beginIdempotent: started, in progress, mismatch, then replay of the stored answer', async () => {
      const scope = 'site:POST /api/v1/orders';
      const key = `idem-${newId()}`;
      expect(await beginIdempotent(db, dialect, scope, key, 'hash-a', 60_000)).toEqual({ kind: 'started' });
      expect(await beginIdempotent(db, dialect, scope, key, 'hash-a', 60_000)).toEqual({ kind: 'in_progress' });
      expect(await beginIdempotent(db, dialect, scope, key, 'hash-b', 60_000)).toEqual({ kind: 'mismatch' });
      // the same key in another scope is another key
      expect(await beginIdempotent(db, dialect, 'other-scope', key, 'hash-b', 60_000)).toEqual({ kind: 'started' });

      await completeIdempotent(db, scope, key, 201, '{"id":"ord-1"}');
      expect(await beginIdempotent(db, dialect, scope, key, 'hash-a', 60_000)).toEqual({
        kind: 'replay',
        status: 201,
        body: '{"id":"ord-1"}',
      });
      expect(await beginIdempotent(db, dialect, scope, key, 'hash-b', 60_000)).toEqual({ kind: 'mismatch' });
      // a finished key is not released
      await releaseIdempotent(db, scope, key);
      expect(await beginIdempotent(db, dialect, scope, key, 'hash-a', 60_000)).toEqual({
        kind: 'replay',
        status: 201,
        body: '{"id":"ord-1"}',
      });
    });

    test('beginIdempotent: a key whose lock has run out is taken over; a released key starts again', async () => {
      const scope = 'site';
      const key = `idem-${newId()}`;
      expect(await beginIdempotent(db, dialect, scope, key, 'h', 1)).toEqual({ kind: 'started' });
      await sleep(10);
      expect(await beginIdempotent(db, dialect, scope, key, 'h', 60_000)).toEqual({ kind: 'started' });
      // the takeover holds the key again
      expect(await beginIdempotent(db, dialect, scope, key, 'h', 60_000)).toEqual({ kind: 'in_progress' });
      // a different request still may not take it over
      expect(await beginIdempotent(db, dialect, scope, key, 'other', 60_000)).toEqual({ kind: 'mismatch' });

      await releaseIdempotent(db, scope, key);
      expect(await beginIdempotent(db, dialect, scope, key, 'other', 60_000)).toEqual({ kind: 'started' });
    });

    test('beginIdempotent: two concurrent first requests with one key — exactly one starts', async () => {
      const key = `idem-${newId()}`;
      const results = await Promise.all([
        beginIdempotent(db, dialect, 'site', key, 'h', 60_000),
        beginIdempotent(db, dialect, 'site', key, 'h', 60_000),
      ]);
      expect(results.map((r) => r.kind).sort()).toEqual(['in_progress', 'started']);
    });

    // ------------------------------------------------------------ orders

    test('addOrderMoney: two increments in two concurrent transactions both count and the status is recomputed', async () => {
      const order = orderRow({ total: 10000 });
      await insertOrder(db, order);
      const [a, b] = await contendingTransactions(
        db,
        dialect,
        (trx) => addOrderMoney(trx, order.id, { paid: 4000 }),
        (trx) => addOrderMoney(trx, order.id, { paid: 6000 }),
      );
      const row = await getOrder(db, order.id);
      expect(row).toMatchObject({ paid_amount: 10000, refunded_amount: 0, status: 'paid' });
      // the one that committed last saw the sum and reported the new status
      expect(a.after.paid_amount).toBe(4000);
      expect(a.after.status).toBe('awaiting_payment');
      expect(b.after).toMatchObject({ paid_amount: 10000, status: 'paid' });
    });

    test('addOrderMoney: concurrent calls without a transaction both count', async () => {
      const order = orderRow({ total: 9000 });
      await insertOrder(db, order);
      await Promise.all([1, 2, 3].map(() => addOrderMoney(db, order.id, { paid: 3000 })));
      expect(await getOrder(db, order.id)).toMatchObject({ paid_amount: 9000, status: 'paid' });
    });

    test('addOrderMoney: refunds move the status to partially_refunded, then refunded; a missing order throws', async () => {
      const order = orderRow({ total: 10000 });
      await insertOrder(db, order);
      const paid = await addOrderMoney(db, order.id, { paid: 10000 });
      expect(paid.before).toMatchObject({ paid_amount: 0, status: 'awaiting_payment' });
      expect(paid.after).toMatchObject({ paid_amount: 10000, status: 'paid' });
      const part = await addOrderMoney(db, order.id, { refunded: 2500 });
      expect(part.after).toMatchObject({ refunded_amount: 2500, status: 'partially_refunded' });
      const all = await addOrderMoney(db, order.id, { refunded: 7500 });
      expect(all.after).toMatchObject({ refunded_amount: 10000, status: 'refunded' });
      expect(await getOrder(db, order.id)).toMatchObject({ paid_amount: 10000, refunded_amount: 10000, status: 'refunded' });
      await expect(addOrderMoney(db, newId(), { paid: 1 })).rejects.toThrow(/vanished/);
    });

    // A flow (gateway/flows/sync.ts) raises the "Повторная оплата заказа" alert when
    // `before.paid_amount >= before.total`. `before` is read without a lock before the increment,
    // so on PostgreSQL the second of two payments settling at once reports the order as unpaid
    // although its increment was applied on top of the first: neither flow sees the double payment.
    if (backend.name === 'postgres') {
      test('addOrderMoney: of two full payments settling at once, one sees in `before` that the order was already paid', async () => {
        const order = orderRow({ total: 10000 });
        await insertOrder(db, order);
        const [a, b] = await contendingTransactions(
          db,
          dialect,
          (trx) => addOrderMoney(trx, order.id, { paid: 10000 }),
          (trx) => addOrderMoney(trx, order.id, { paid: 10000 }),
        );
        expect(await getOrder(db, order.id)).toMatchObject({ paid_amount: 20000 });
        expect([a.before.paid_amount, b.before.paid_amount].sort((x, y) => x - y)).toEqual([0, 10000]);
      });
    }

    test('orders are unique per organization and external id', async () => {
      const order = orderRow();
      await insertOrder(db, order);
      expect(await findOrderByExternalId(db, 'org-1', order.external_id)).toMatchObject({ id: order.id });
      expect(await findOrderByExternalId(db, 'org-2', order.external_id)).toBeUndefined();
      await expect(insertOrder(db, orderRow({ external_id: order.external_id }))).rejects.toHaveProperty(
        'message',
        expect.stringMatching(/UNIQUE constraint failed|duplicate key value/),
      );
      await insertOrder(db, orderRow({ organization_id: 'org-2', external_id: order.external_id }));
    });

    // ------------------------------------------------------------ payments, events, money types

    test('money columns come back as exact JS numbers, and text round-trips (Cyrillic included)', async () => {
      const big = 12345678901; // > 2^31 kopecks
      const order = orderRow({ total: big, customer: JSON.stringify({ type: 'legal', name: 'ООО «Ромашка»' }) });
      await insertOrder(db, order);
      const o = (await getOrder(db, order.id))!;
      expect(o.total).toBe(big);
      expect(typeof o.total).toBe('number');
      expect(o.paid_amount).toBe(0);
      expect(typeof o.paid_amount).toBe('number');
      expect(typeof o.refunded_amount).toBe('number');
      expect(JSON.parse(o.customer).name).toBe('ООО «Ромашка»');
      expect(o.number).toBe('СЗ-000123');

      const payment = paymentRow(order.id, { amount: big });
      await insertPayment(db, payment);
      const p = (await getPayment(db, payment.id))!;
      // a payment starts with no 1C delivery
      expect(p).toEqual({ ...payment, onec_status: 'not_configured', onec_document: null, onec_number: null, onec_error: null });
      expect(typeof p.amount).toBe('number');

      const now = nowIso();
      const refund: NewRefund = {
        id: newId(),
        payment_id: payment.id,
        amount: big - 1,
        status: 'pending',
        refunded_before: big - 2,
        error: null,
        created_at: now,
        updated_at: now,
      };
      await insertRefund(db, refund);
      expect(await getRefund(db, refund.id)).toEqual({
        ...refund,
        onec_status: 'not_configured',
        onec_document: null,
        onec_number: null,
        onec_error: null,
      });

      const after = await addOrderMoney(db, order.id, { paid: big });
      expect(after.after).toMatchObject({ paid_amount: big, status: 'paid' });
      expect((await getOrder(db, order.id))!.paid_amount).toBe(big);

      const counts = await countJobsByStatus(db);
      expect(counts).toEqual({});
      await enqueueJob(db, 'x', null, { maxAttempts: 2 });
      const counted = await countJobsByStatus(db);
      expect(counted).toEqual({ pending: 1 });
      expect(typeof (await getJob(db, (await db.selectFrom('jobs').select('id').executeTakeFirstOrThrow()).id))!.attempts).toBe('number');
    });

    test('recordEvent records a callback once; the duplicate is reported and not stored', async () => {
      const order = orderRow();
      await insertOrder(db, order);
      const payment = paymentRow(order.id);
      await insertPayment(db, payment);
      const attemptId = newId();
      const now = nowIso();
      await db
        .insertInto('payment_attempts')
        .values({
          id: attemptId,
          payment_id: payment.id,
          organization_id: 'org-1',
          provider: 'sber',
          method: 'card',
          provider_extra: null,
          expires_at: null,
          order_number: `n-${newId()}`,
          provider_ref: 'ref',
          state: 'active',
          provider_state: null,
          next_check_at: null,
          checks: 0,
          error: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      const key = `sber:${attemptId}:deposited`;
      expect(await recordEvent(db, eventRow(key, { attempt_id: attemptId }))).toBe(true);
      expect(await recordEvent(db, eventRow(key, { attempt_id: attemptId, payload: '{"dup":true}' }))).toBe(false);
      expect(await recordEvent(db, eventRow(`${key}:2`, { attempt_id: attemptId }))).toBe(true);
      const events = await attemptEvents(db, attemptId);
      expect(events.map((e) => e.dedupe_key).sort()).toEqual([key, `${key}:2`].sort());
      expect(events.some((e) => e.payload === '{"dup":true}')).toBe(false);
    });

    test('a payment’s 1C status holds waiting_for_order (longer than the 16 characters the column had)', async () => {
      const order = orderRow();
      await insertOrder(db, order);
      const payment = paymentRow(order.id);
      await insertPayment(db, payment);
      await setOnecDelivery(db, 'payments', payment.id, { onec_status: 'waiting_for_order' });
      expect((await getPayment(db, payment.id))!.onec_status).toBe('waiting_for_order');
    });

    test('movePayment is a compare-and-set: of two concurrent moves from one state exactly one wins', async () => {
      const order = orderRow();
      await insertOrder(db, order);
      const payment = paymentRow(order.id);
      await insertPayment(db, payment);
      const results = await Promise.all([
        movePayment(db, payment.id, 'pending', { status: 'paid', paid_at: nowIso() }),
        movePayment(db, payment.id, 'pending', { status: 'declined', status_reason: 'declined' }),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const p = (await getPayment(db, payment.id))!;
      expect(p.status).toBe(results[0] ? 'paid' : 'declined');
      expect(await movePayment(db, payment.id, 'pending', { status: 'cancelled' })).toBe(false);
    });

    test('a payment must point at an existing order', async () => {
      await expect(insertPayment(db, paymentRow(newId()))).rejects.toHaveProperty(
        'message',
        expect.stringMatching(/FOREIGN KEY constraint failed|violates foreign key/),
      );
    });
  });
});
