import {
  Kysely,
  MssqlAdapter,
  MssqlIntrospector,
  MssqlQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
} from 'kysely';
import { beginIdempotent, completeIdempotent, releaseIdempotent } from '../../../gateway/store/idempotency';
import {
  claimDueJobs,
  claimSchedule,
  countJobsByStatus,
  enqueueJob,
  ensureSchedule,
  failJob,
  finishJob,
  listJobs,
  pendingForRelay,
  reapExpiredLeases,
  reviveJob,
  staleQueued,
} from '../../../gateway/store/jobs';
import { migrations } from '../../../gateway/store/migrations';
import { paymentDifferencesPage, paymentReceiptsPage } from '../../../gateway/store/reports';
import { addOrderMoney, getOrder } from '../../../gateway/store/orders';
import { attemptsDueForCheck, getPayment, movePayment, recordEvent } from '../../../gateway/store/payments';
import {
  insertReceipt,
  listReceipts,
  markReceiptDone,
  ordersAwaitingShipment,
  receiptsDueForCheck,
  unsentBefore,
  updateReceipt,
} from '../../../gateway/store/receipts';
import {
  authFailuresSince,
  insertAlert,
  insertDeliveries,
  listAlerts,
  openAlertsOfKind,
  resolveAlertsByKey,
  setDelivery,
} from '../../../gateway/store/alerts';
import type { Database, JobRow, OrderRow, ReceiptRow } from '../../../gateway/store/schema';
import { insertIgnore } from '../../../gateway/store/sql';
import { findOperations, upsertOperation } from '../../../gateway/store/operations';

/**
 * No SQL Server here: a Kysely with the MS SQL adapter and query compiler and a driver that records
 * every compiled statement and answers with what the test scripts (by default: no rows, nothing
 * affected). What is proven is that the store compiles to SQL Server's dialect, not that it runs.
 */

type Responder = (q: CompiledQuery) => Partial<QueryResult<any>> | undefined;

class Recorder {
  readonly queries: CompiledQuery[] = [];
  respond: Responder = () => undefined;

  get sql(): string[] {
    return this.queries.map((q) => q.sql);
  }

  /** One line of all recorded SQL, whitespace collapsed, for readable matching. */
  get text(): string {
    return this.sql.map(flat).join('\n');
  }

  reset(respond: Responder = () => undefined): void {
    this.queries.length = 0;
    this.respond = respond;
  }

  driver(): Driver {
    const conn: DatabaseConnection = {
      executeQuery: async <R>(q: CompiledQuery): Promise<QueryResult<R>> => {
        this.queries.push(q);
        // a runaway loop in code under test must not eat the machine
        if (this.queries.length > 200) throw new Error('recorder: more than 200 statements');
        const r = this.respond(q) ?? {};
        return { rows: [], numAffectedRows: 0n, ...r } as QueryResult<R>;
      },
      // eslint-disable-next-line require-yield
      streamQuery: async function* () {
        throw new Error('recorder: streaming not supported');
      },
    };
    return {
      init: async () => undefined,
      acquireConnection: async () => conn,
      beginTransaction: async () => undefined,
      commitTransaction: async () => undefined,
      rollbackTransaction: async () => undefined,
      releaseConnection: async () => undefined,
      destroy: async () => undefined,
    };
  }
}

const flat = (s: string) => s.replace(/\s+/g, ' ').trim();

const rec = new Recorder();
const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new MssqlAdapter(),
    createDriver: () => rec.driver(),
    createQueryCompiler: () => new MssqlQueryCompiler(),
    createIntrospector: (d) => new MssqlIntrospector(d),
  },
});

/** Calls the store; an error thrown because the recorder returned no row is expected and ignored. */
async function attempt<T>(fn: () => Promise<T>): Promise<T | Error> {
  try {
    return await fn();
  } catch (e) {
    return e as Error;
  }
}

const isInsert = (q: CompiledQuery) => /^\s*insert\b/i.test(q.sql);
const isUpdate = (q: CompiledQuery) => /^\s*update\b/i.test(q.sql);

/** Nothing SQL Server lacks: no RETURNING, no ON CONFLICT, no LIMIT, no backticks. */
function expectNoForeignSyntax(statements: string[]): void {
  for (const s of statements) {
    expect(s).not.toMatch(/\breturning\b/i);
    expect(s).not.toMatch(/\bon conflict\b/i);
    expect(s).not.toMatch(/\blimit\b/i);
    expect(s).not.toContain('`');
  }
}

afterAll(async () => {
  await db.destroy();
});

// ---------------------------------------------------------------- migration

describe('0001_init on MS SQL Server', () => {
  let ddl: string[];

  beforeAll(async () => {
    rec.reset();
    await migrations['0001_init'].up(db);
    ddl = rec.sql.map(flat);
  });

  const tables = ['orders', 'payments', 'payment_attempts', 'payment_events', 'refunds', 'idempotency_keys', 'jobs', 'schedules'];

  function createTable(name: string): string {
    const found = ddl.filter((s) => s.startsWith(`create table "${name}" (`));
    expect(found).toHaveLength(1);
    return found[0];
  }

  test.each(tables)('creates table %s', (name) => {
    createTable(name);
  });

  test('creates nothing but those tables and their indexes', () => {
    const created = ddl.filter((s) => s.startsWith('create table')).map((s) => /^create table "([^"]+)"/.exec(s)![1]);
    expect(created).toEqual(tables);
    expect(ddl.every((s) => /^create (table|index|unique index) /.test(s))).toBe(true);
  });

  test('DDL is sent without parameters (SQL Server does not accept parameters in DDL)', () => {
    for (const q of rec.queries) expect(q.parameters).toEqual([]);
    expect(ddl.join('\n')).toContain('"paid_amount" bigint default 0 not null');
  });

  test('identifiers are quoted (Kysely\'s MS SQL compiler uses "..." — valid with QUOTED_IDENTIFIER ON, the tedious default)', () => {
    expect(createTable('orders')).toMatch(
      /^create table "orders" \("id" varchar\(36\) primary key, "organization_id" varchar\(64\) not null/,
    );
    expect(ddl.join('\n')).not.toContain('`');
  });

  test('long text columns are nvarchar(max), never text', () => {
    const orders = createTable('orders');
    for (const col of ['customer', 'items', 'payment_terms']) expect(orders).toContain(`"${col}" nvarchar(max) not null`);
    expect(createTable('payments')).toContain('"action" nvarchar(max)');
    expect(createTable('payment_events')).toContain('"payload" nvarchar(max) not null');
    expect(createTable('jobs')).toContain('"payload" nvarchar(max) not null');
    expect(createTable('idempotency_keys')).toContain('"response_body" nvarchar(max)');
    for (const s of ddl) expect(s).not.toMatch(/ text\b/);
  });

  test('human strings are nvarchar(n) (Cyrillic); codes and ids stay varchar', () => {
    const orders = createTable('orders');
    expect(orders).toContain('"external_id" nvarchar(128) not null');
    expect(orders).toContain('"number" nvarchar(64) not null');
    expect(orders).toContain('"status" varchar(32) not null');
    expect(orders).toContain('"currency" varchar(3) not null');
    expect(createTable('payments')).toContain('"status_reason" nvarchar(500)');
    expect(createTable('payments')).toContain('"return_url" nvarchar(2000)');
    expect(createTable('payment_attempts')).toContain('"error" nvarchar(1000)');
    expect(createTable('payment_events')).toContain('"outcome" nvarchar(200)');
    expect(createTable('jobs')).toContain('"dedupe_key" nvarchar(255)');
    expect(createTable('jobs')).toContain('"last_error" nvarchar(2000)');
    expect(createTable('schedules')).toContain('"last_error" nvarchar(2000)');
  });

  test('money is bigint; timestamps are varchar(32)', () => {
    const orders = createTable('orders');
    expect(orders).toContain('"total" bigint not null');
    expect(orders).toContain('"refunded_amount" bigint default 0 not null');
    expect(createTable('payments')).toContain('"amount" bigint not null');
    expect(createTable('refunds')).toContain('"refunded_before" bigint not null');
    expect(createTable('jobs')).toContain('"run_at" varchar(32) not null');
  });

  test('keys and constraints', () => {
    expect(createTable('orders')).toContain('constraint "orders_org_external_id" unique ("organization_id", "external_id")');
    expect(createTable('payments')).toContain('"order_id" varchar(36) not null references "orders" ("id")');
    expect(createTable('payment_events')).toContain('"dedupe_key" varchar(200) not null unique');
    expect(createTable('idempotency_keys')).toContain('constraint "idempotency_keys_pk" primary key ("scope", "key")');
    expect(createTable('schedules')).toContain('"name" varchar(64) primary key');
  });

  test('jobs.dedupe_key has a filtered unique index (many NULLs allowed, as SQL Server needs a WHERE for that)', () => {
    expect(ddl).toContain('create unique index "jobs_dedupe_key" on "jobs" ("dedupe_key") where "dedupe_key" is not null');
    expect(ddl).toContain('create index "jobs_status_run_at" on "jobs" ("status", "run_at")');
  });

  test('down() drops every table, children first', async () => {
    rec.reset();
    await migrations['0001_init'].down!(db);
    expect(rec.sql).toEqual(
      ['schedules', 'jobs', 'idempotency_keys', 'refunds', 'payment_events', 'payment_attempts', 'payments', 'orders'].map(
        (t) => `drop table "${t}"`,
      ),
    );
  });
});

// ---------------------------------------------------------------- repositories

describe('store functions compile to SQL Server syntax', () => {
  beforeEach(() => rec.reset());

  const now = '2025-01-01T00:00:00.000Z';
  const event = {
    id: 'e1',
    organization_id: 'org',
    provider: 'sber',
    attempt_id: null,
    kind: 'callback' as const,
    dedupe_key: 'sber:cb:1',
    payload: '{}',
    outcome: null,
    received_at: now,
  };

  test('insertIgnore: INSERT ... SELECT ... WHERE NOT EXISTS on the unique columns; true when a row went in', async () => {
    rec.reset((q) => (isInsert(q) ? { numAffectedRows: 1n } : undefined));
    expect(await insertIgnore(db, 'mssql', 'payment_events', event, ['dedupe_key'])).toBe(true);
    expect(rec.queries).toHaveLength(1);
    const [q] = rec.queries;
    expect(flat(q.sql)).toBe(
      'insert into "payment_events" ("id", "organization_id", "provider", "attempt_id", "kind", "dedupe_key", "payload", "outcome", "received_at") ' +
        'select @1, @2, @3, @4, @5, @6, @7, @8, @9 where not exists (select 1 from "payment_events" with \(updlock, holdlock\) where "dedupe_key" = @10)',
    );
    expect(q.parameters).toEqual(['e1', 'org', 'sber', null, 'callback', 'sber:cb:1', '{}', null, now, 'sber:cb:1']);
    expectNoForeignSyntax(rec.sql);

    rec.reset(); // nothing affected: the row was there
    expect(await insertIgnore(db, 'mssql', 'payment_events', event, ['dedupe_key'])).toBe(false);
  });

  test('insertIgnore on a composite key joins the conditions with and', async () => {
    await insertIgnore(
      db,
      'mssql',
      'idempotency_keys',
      {
        scope: 's',
        key: 'k',
        request_hash: 'h',
        state: 'running',
        response_status: null,
        response_body: null,
        locked_until: now,
        created_at: now,
      },
      ['scope', 'key'],
    );
    expect(rec.text).toMatch(
      /where not exists \(select 1 from "idempotency_keys" with \(updlock, holdlock\) where "scope" = @9 and "key" = @10\)$/,
    );
  });

  test('recordEvent goes through the same INSERT ... WHERE NOT EXISTS', async () => {
    expect(await recordEvent(db, event)).toBe(false);
    expect(rec.text).toMatch(
      /^insert into "payment_events" .* select .* where not exists \(select 1 from "payment_events" with \(updlock, holdlock\) where "dedupe_key" = @10\)$/,
    );
  });

  test('enqueueJob with a key: INSERT ... WHERE NOT EXISTS on dedupe_key; null when nothing went in', async () => {
    rec.reset((q) => (isInsert(q) ? { numAffectedRows: 1n } : undefined));
    const id = await enqueueJob(db, 'push-order', { orderId: 'o1' }, { key: 'push:o1', maxAttempts: 5 });
    expect(typeof id).toBe('string');
    expect(rec.text).toMatch(
      /^insert into "jobs" \("id", "name", "dedupe_key", .*\) select @1, .* where not exists \(select 1 from "jobs" with \(updlock, holdlock\) where "dedupe_key" = @14\)$/,
    );
    expect(rec.queries[0].parameters).toContain('push:o1');
    expect(rec.queries[0].parameters).toContain('{"orderId":"o1"}');
    expectNoForeignSyntax(rec.sql);

    rec.reset();
    expect(await enqueueJob(db, 'push-order', { orderId: 'o1' }, { key: 'push:o1', maxAttempts: 5 })).toBeNull();
  });

  test('enqueueJob without a key is a plain INSERT ... VALUES', async () => {
    await enqueueJob(db, 'alert', null, { maxAttempts: 3 });
    expect(rec.text).toMatch(/^insert into "jobs" \(.*\) values \(@1, .*@13\)$/);
    expectNoForeignSyntax(rec.sql);
  });

  test('claimDueJobs: the oldest due jobs through a TOP ... ORDER BY CTE WITH (UPDLOCK, READPAST, ROWLOCK), OUTPUT inserted.*; the output rows are returned', async () => {
    const row = { id: 'j1', status: 'running', attempts: 1 } as JobRow;
    rec.reset((q) => (/^\s*with due\b/i.test(q.sql) ? { rows: [row], numAffectedRows: 1n } : undefined));
    const claimed = await claimDueJobs(db, 'mssql', 'worker-1', 5, 60_000);
    expect(claimed).toEqual([row]);
    expect(rec.queries).toHaveLength(1);
    const s = flat(rec.queries[0].sql);
    expect(s).toMatch(
      /^with due as \(select top \(@1\) \* from jobs with \(updlock, readpast, rowlock\) where status = 'pending' and run_at <= @2 order by run_at\) update due set status = 'running', locked_by = @3, locked_until = @4, updated_at = @5, attempts = attempts \+ 1 output inserted\.\*$/,
    );
    expect(rec.queries[0].parameters[0]).toBe(5);
    expect(rec.queries[0].parameters[2]).toBe('worker-1');
    expectNoForeignSyntax(rec.sql);
  });

  test('beginIdempotent: a new key is claimed with INSERT ... WHERE NOT EXISTS', async () => {
    rec.reset((q) => (isInsert(q) ? { numAffectedRows: 1n } : undefined));
    expect(await beginIdempotent(db, 'mssql', 'site', 'k1', 'h', 60_000)).toEqual({ kind: 'started' });
    expect(rec.text).toMatch(
      /^insert into "idempotency_keys" .* select .* where not exists \(select 1 from "idempotency_keys" with \(updlock, holdlock\) where "scope" = @9 and "key" = @10\)$/,
    );
  });

  test('beginIdempotent: an existing key is read back, and an expired one is taken over with a guarded UPDATE', async () => {
    const existing = {
      scope: 'site',
      key: 'k1',
      request_hash: 'h',
      state: 'running',
      response_status: null,
      response_body: null,
      locked_until: '2000-01-01T00:00:00.000Z',
      created_at: now,
    };
    rec.reset((q) => {
      if (/^select/.test(q.sql)) return { rows: [existing] };
      if (isUpdate(q)) return { numAffectedRows: 1n };
      return undefined;
    });
    expect(await beginIdempotent(db, 'mssql', 'site', 'k1', 'h', 60_000)).toEqual({ kind: 'started' });
    const s = rec.sql.map(flat);
    expect(s).toHaveLength(3);
    expect(s[1]).toBe('select * from "idempotency_keys" where "scope" = @1 and "key" = @2');
    expect(s[2]).toBe(
      'update "idempotency_keys" set "locked_until" = @1 where "scope" = @2 and "key" = @3 and "state" = @4 and "locked_until" = @5',
    );
    expect(rec.queries[2].parameters.slice(1)).toEqual(['site', 'k1', 'running', '2000-01-01T00:00:00.000Z']);

    rec.reset((q) => (/^select/.test(q.sql) ? { rows: [{ ...existing, request_hash: 'other' }] } : undefined));
    expect(await beginIdempotent(db, 'mssql', 'site', 'k1', 'h', 60_000)).toEqual({ kind: 'mismatch' });

    rec.reset((q) =>
      /^select/.test(q.sql) ? { rows: [{ ...existing, state: 'done', response_status: 201, response_body: '{}' }] } : undefined,
    );
    expect(await beginIdempotent(db, 'mssql', 'site', 'k1', 'h', 60_000)).toEqual({ kind: 'replay', status: 201, body: '{}' });
    expectNoForeignSyntax(rec.sql);
  });

  test('completeIdempotent / releaseIdempotent', async () => {
    await completeIdempotent(db, 'site', 'k1', 200, '{}');
    await releaseIdempotent(db, 'site', 'k1');
    expect(rec.sql.map(flat)).toEqual([
      'update "idempotency_keys" set "state" = @1, "response_status" = @2, "response_body" = @3 where "scope" = @4 and "key" = @5',
      'delete from "idempotency_keys" where "scope" = @1 and "key" = @2 and "state" = @3',
    ]);
  });

  test('getPayment / getOrder', async () => {
    expect(await getPayment(db, 'p1')).toBeUndefined();
    expect(await getOrder(db, 'o1')).toBeUndefined();
    expect(rec.sql.map(flat)).toEqual(['select * from "payments" where "id" = @1', 'select * from "orders" where "id" = @1']);
  });

  test('movePayment is a guarded UPDATE', async () => {
    expect(await movePayment(db, 'p1', 'pending', { status: 'paid' })).toBe(false);
    expect(rec.text).toBe('update "payments" set "status" = @1, "updated_at" = @2 where "id" = @3 and "status" = @4');
  });

  test('addOrderMoney increments in SQL and reads the money back through OUTPUT inserted', async () => {
    const after = { id: 'o1', total: 100, paid_amount: 100, refunded_amount: 0, status: 'awaiting_payment' } as OrderRow;
    rec.reset((q) => (/^update "orders" set "paid_amount"/.test(q.sql) ? { rows: [after] } : undefined));
    const { before } = await addOrderMoney(db, 'o1', { paid: 100 });
    const s = rec.sql.map(flat);
    expect(s[0]).toBe(
      'update "orders" set "paid_amount" = paid_amount + @1, "refunded_amount" = refunded_amount + @2, "updated_at" = @3 output "inserted"."id", "inserted"."total", "inserted"."paid_amount", "inserted"."refunded_amount", "inserted"."status" where "id" = @4',
    );
    expect(rec.queries[0].parameters.slice(0, 2)).toEqual([100, 0]);
    expect(s[1]).toBe('update "orders" set "status" = @1 where "id" = @2');
    expect(rec.queries[1].parameters).toEqual(['paid', 'o1']);
    expect(before).toMatchObject({ paid_amount: 0, status: 'awaiting_payment' });
  });

  test('claimSchedule: a guarded UPDATE; true only when a row was updated', async () => {
    const opts = { everyMs: 1000, leaseMs: 60_000 };
    expect(await claimSchedule(db, 'poll', 'w1', opts)).toBe(false);
    expect(rec.text).toBe(
      'update "schedules" set "next_run_at" = @1, "locked_until" = @2, "locked_by" = @3, "last_run_at" = @4 where "name" = @5 and ("locked_until" is null or "locked_until" < @6) and "next_run_at" <= @7',
    );
    rec.reset((q) => (isUpdate(q) ? { numAffectedRows: 1n } : undefined));
    expect(await claimSchedule(db, 'poll', 'w1', opts)).toBe(true);
  });

  test('ensureSchedule: INSERT ... WHERE NOT EXISTS', async () => {
    await ensureSchedule(db, 'mssql', 'poll');
    expect(rec.text).toMatch(
      /^insert into "schedules" \("name", "next_run_at", "locked_until", "locked_by", "last_run_at", "last_error"\) select @1, @2, @3, @4, @5, @6 where not exists \(select 1 from "schedules" with \(updlock, holdlock\) where "name" = @7\)$/,
    );
  });

  test('finishJob, failJob, reviveJob, reapExpiredLeases, countJobsByStatus', async () => {
    expect(await finishJob(db, 'j1', 'w')).toBe(false);
    expect(await failJob(db, 'j1', 'w', { dead: false, error: 'e', runAt: new Date(0) })).toBe(false);
    // the job is read first: dead, so it is put back (the recorder then reports no row updated: it moved on meanwhile)
    rec.respond = (q) => (q.sql.startsWith('select * from "jobs" where "id"') ? { rows: [{ id: 'j1', status: 'dead' }] } : undefined);
    expect(await reviveJob(db, 'j1')).toBeNull();
    rec.respond = () => undefined;
    expect(await reapExpiredLeases(db, async () => undefined)).toEqual({ requeued: 0, dead: 0 });
    expect(await countJobsByStatus(db)).toEqual({});
    const s = rec.sql.map(flat);
    expect(s[0]).toBe(
      'update "jobs" set "status" = @1, "locked_by" = @2, "locked_until" = @3, "updated_at" = @4, "last_error" = @5 where "id" = @6 and "locked_by" = @7 and "status" = @8',
    );
    expect(s[1]).toMatch(
      /^update "jobs" set "status" = @1, "run_at" = @2, "last_error" = @3, .* where "id" = @7 and "locked_by" = @8 and "status" = @9$/,
    );
    expect(s[2]).toBe('select * from "jobs" where "id" = @1');
    expect(s[3]).toBe(
      'update "jobs" set "status" = @1, "attempts" = @2, "run_at" = @3, "updated_at" = @4 where "id" = @5 and "status" = @6',
    );
    expect(s[4]).toBe('select * from "jobs" where "status" = @1 and "locked_until" < @2');
    expect(s[5]).toBe('select "status", count(*) as "n" from "jobs" group by "status"');
    expectNoForeignSyntax(rec.sql);
  });

  // ------------------------------------------------------------ paging
  //
  // SQL Server has no LIMIT. Kysely's MS SQL compiler renders .limit(n) as "limit @n" (and
  // .offset(n) as "offset @n rows"); SQL Server needs TOP (n) or ORDER BY ... OFFSET n ROWS FETCH
  // NEXT m ROWS ONLY (Kysely: .top() or .offset().fetch()). These functions use .limit(), so on
  // SQL Server every one of them is a syntax error.

  test('listJobs compiles to a query', async () => {
    expect(await attempt(() => listJobs(db, { status: 'dead', limit: 50, offset: 100 }))).toEqual([]);
    expect(rec.text).toMatch(/^select \* from "jobs" where "status" = @1 order by "updated_at" desc, "id" desc /);
  });

  const paged: [string, () => Promise<unknown>][] = [
    ['listJobs', () => listJobs(db, { status: 'dead', limit: 50, offset: 100 })],
    ['pendingForRelay', () => pendingForRelay(db, 200)],
    ['staleQueued', () => staleQueued(db, 60_000, 200)],
    ['attemptsDueForCheck', () => attemptsDueForCheck(db, 500)],
  ];

  test.each(paged)('%s pages with TOP or OFFSET ... FETCH NEXT, not LIMIT', async (_name, call) => {
    await attempt(call);
    expect(rec.queries).toHaveLength(1);
    const s = flat(rec.queries[0].sql);
    expect(s).not.toMatch(/\blimit\b/i);
    expect(s).toMatch(/^select top\(@?\d+\)|offset @\d+ rows fetch next @\d+ rows only$/);
  });
});

describe('0014_invoice_match_fields on MS SQL Server', () => {
  test("the invoices get their order's number and buyer by json_value, without parameters; down() names the index's table", async () => {
    rec.reset();
    await migrations['0014_invoice_match_fields'].up(db);
    const up = rec.sql.map(flat);
    expect(up.slice(0, 3)).toEqual([
      'alter table "invoices" add "order_number" nvarchar(64)',
      'alter table "invoices" add "buyer_inn" varchar(12)',
      'alter table "invoices" add "buyer_kpp" varchar(9)',
    ]);
    expect(up[3]).toBe(
      'update invoices set order_number = (select o.number from orders o where o.id = invoices.order_id), ' +
        "buyer_inn = (select json_value(o.customer, '$.inn') from orders o where o.id = invoices.order_id), " +
        "buyer_kpp = (select json_value(o.customer, '$.kpp') from orders o where o.id = invoices.order_id)",
    );
    expect(up[4]).toBe('create index "invoices_org_id" on "invoices" ("organization_id", "id")');
    expect(rec.queries.every((q) => q.parameters.length === 0)).toBe(true);
    rec.reset();
    await migrations['0014_invoice_match_fields'].down!(db);
    expect(rec.sql.map(flat)[0]).toBe('drop index "invoices_org_id" on "invoices"');
  });
});

describe('0004_sbp_history and the payment history on MS SQL Server', () => {
  beforeEach(() => rec.reset());

  test('the history table: Cyrillic text as nvarchar, money as bigint, the key unique per organization; attempts get their method, amount, extras and expiry', async () => {
    await migrations['0004_sbp_history'].up(db);
    const ddl = rec.sql.map(flat);
    const table = ddl.find((s) => s.startsWith('create table "payment_operations" ('))!;
    expect(table).toContain('"purpose" nvarchar(500)');
    expect(table).toContain('"payer_bank" nvarchar(200)');
    expect(table).toContain('"amount" bigint not null');
    expect(table).toContain('"lines" nvarchar(max)');
    expect(table).toMatch(/constraint "payment_operations_key" unique \("organization_id", "op_key"\)/);
    expect(ddl).toContain('alter table "payment_attempts" add "expires_at" varchar(32)');
    expect(ddl.some((s) => s.startsWith('alter table "payment_attempts" add "method" varchar(16) default'))).toBe(true);
    expect(rec.queries.every((q) => q.parameters.length === 0)).toBe(true);
  });

  test('an operation is written with INSERT ... WHERE NOT EXISTS on its key, then read back; the list pages with TOP', async () => {
    const now = '2026-12-01T00:00:00.000Z';
    const row = {
      id: 'o1',
      organization_id: 'org',
      provider: 'sber',
      op_key: 'sber:m:payment',
      kind: 'payment' as const,
      provider_ref: 'm',
      order_number: null,
      method: 'sbp',
      amount: 100,
      occurred_at: now,
      payer_bank: 'ВТБ',
      purpose: null,
      channel: 'external',
      source: 'registry',
      attempt_id: null,
      payment_id: null,
      order_id: null,
      match_state: 'unmatched' as const,
      match_note: null,
      lines: null,
      raw: null,
      created_at: now,
      updated_at: now,
    };
    rec.reset((q) => (isInsert(q) ? { numAffectedRows: 1n } : /^select/.test(q.sql) ? { rows: [row] } : undefined));
    expect((await upsertOperation(db, 'mssql', row)).inserted).toBe(true);
    expect(rec.text).toMatch(
      /insert into "payment_operations" .* where not exists \(select 1 from "payment_operations" with \(updlock, holdlock\) where "organization_id" = @\d+ and "op_key" = @\d+\)/,
    );
    rec.reset();
    await attempt(() => findOperations(db, { organizations: ['org'], states: ['unmatched', 'ambiguous'], limit: 100 }));
    expect(flat(rec.queries[0].sql)).toMatch(
      /^select top\(100\) \* from "payment_operations" where "organization_id" in \(@1\) and "match_state" in \(@2, @3\) order by "occurred_at" desc, "id"/,
    );
    expectNoForeignSyntax(rec.sql);
  });
});

// ---------------------------------------------------------------- receipts

describe('0006_onec_waiting on MS SQL Server', () => {
  test('onec_status grows to varchar(32), staying not null (its default constraint allows a longer length)', async () => {
    rec.reset();
    await migrations['0006_onec_waiting'].up(db);
    expect(rec.sql.map(flat)).toEqual([
      'alter table "payments" alter column onec_status varchar(32) not null',
      'alter table "refunds" alter column onec_status varchar(32) not null',
    ]);
  });
});

describe('0005_fiscal and the receipts store on MS SQL Server', () => {
  test('the receipts table: nvarchar(max) body, a unique external_id, money as bigint, DDL without parameters', async () => {
    rec.reset();
    await migrations['0005_fiscal'].up(db);
    const ddl = rec.sql.map(flat);
    expect(rec.queries.every((q) => q.parameters.length === 0)).toBe(true);
    const table = ddl.find((x) => x.startsWith('create table "receipts" ('))!;
    expect(table).toContain('"body" nvarchar(max) not null');
    expect(table).toContain('"external_id" varchar(128) not null unique');
    expect(table).toContain('"total" bigint not null');
    expect(table).toContain('"error" nvarchar(1000)');
    expect(ddl.filter((x) => x.startsWith('create index')).length).toBe(4);
  });

  const receipt = { id: 'r1', organization_id: 'main', register_id: 'web', created_at: '2026-12-01T00:00:00.000Z' } as ReceiptRow;
  const calls: [string, () => Promise<unknown>][] = [
    ['insertReceipt', () => insertReceipt(db, 'mssql', { ...receipt, external_id: 'pp-1' } as ReceiptRow)],
    ['unsentBefore', () => unsentBefore(db, receipt, 50)],
    ['receiptsDueForCheck', () => receiptsDueForCheck(db, 500)],
    ['listReceipts', () => listReceipts(db, { status: 'failed', limit: 50, offset: 50 })],
    ['ordersAwaitingShipment', () => ordersAwaitingShipment(db, 'main', 90, 200)],
    ['updateReceipt', () => updateReceipt(db, 'r1', ['pending'], { status: 'sent' })],
    [
      'markReceiptDone',
      () =>
        markReceiptDone(db, 'r1', 'u1', {
          fnNumber: '1',
          documentNumber: 1,
          documentAttribute: 1,
          datetime: 'x',
          registrationNumber: '1',
          shiftNumber: 1,
        }),
    ],
  ];

  test.each(calls)('%s compiles to SQL Server syntax', async (_name, call) => {
    rec.reset();
    await attempt(call);
    expect(rec.queries.length).toBeGreaterThan(0);
    expectNoForeignSyntax(rec.sql);
  });

  test('insertReceipt: INSERT ... WHERE NOT EXISTS on external_id', async () => {
    rec.reset();
    await attempt(() => insertReceipt(db, 'mssql', { ...receipt, external_id: 'pp-1' } as ReceiptRow));
    expect(rec.text).toMatch(/where not exists \(select 1 from "receipts" with \(updlock, holdlock\) where "external_id" = @\d+\)/);
  });
});

// ---------------------------------------------------------------- alerts

describe('0016_alerts and the alerts store on MS SQL Server', () => {
  test('the migration: nvarchar texts, the dedupe unique, the deliveries’ key', async () => {
    rec.reset();
    await migrations['0016_alerts'].up(db);
    const ddl = rec.text;
    expect(ddl).toMatch(/create table "alerts" \(.*"title" nvarchar\(500\) not null.*"text" nvarchar\(max\) not null/);
    expect(ddl).toMatch(/"dedupe" varchar\(64\) not null unique/);
    expect(ddl).toMatch(/constraint "alert_deliveries_pk" primary key \("alert_id", "channel"\)/);
    expect(ddl).toContain('create table "auth_failures"');
  });

  const calls: [string, () => Promise<unknown>][] = [
    ['listAlerts', () => listAlerts(db, { open: true, failed: true, limit: 50 })],
    ['listAlerts (a page)', () => listAlerts(db, { limit: 50, offset: 50 })],
    ['openAlertsOfKind', () => openAlertsOfKind(db, 'dead-job')],
    ['resolveAlertsByKey', () => resolveAlertsByKey(db, 'register:main:shop:paper')],
    ['setDelivery', () => setDelivery(db, 'a1', 'telegram', { status: 'failed', error: 'x', attempt: 1 })],
    ['authFailuresSince', () => authFailuresSince(db, '2026-12-04T00:00:00.000Z')],
  ];
  test.each(calls)('%s compiles to SQL Server syntax', async (_name, call) => {
    rec.reset();
    await attempt(call);
    expect(rec.queries.length).toBeGreaterThan(0);
    expectNoForeignSyntax(rec.sql);
  });

  test('insertAlert and insertDeliveries: INSERT ... WHERE NOT EXISTS', async () => {
    rec.reset();
    await attempt(() =>
      insertAlert(
        db,
        { key: 'k', kind: 'k', severity: 'info', title: 't', text: 'x', context: null, channels: [], digest: null },
        '2026-12-04T10',
      ),
    );
    await attempt(() => insertDeliveries(db, 'a1', ['telegram']));
    expect(rec.text).toMatch(/where not exists \(select 1 from "alerts" with \(updlock, holdlock\) where "dedupe" = @\d+\)/);
    expect(rec.text).toMatch(
      /where not exists \(select 1 from "alert_deliveries" with \(updlock, holdlock\) where "alert_id" = @\d+ and "channel" = @\d+\)/,
    );
  });
});

describe('0015_reports on MS SQL Server', () => {
  test('the fee column is bigint; the period indexes are plain indexes sent without parameters', async () => {
    rec.reset();
    await migrations['0015_reports'].up(db);
    const ddl = rec.sql.map(flat);
    expect(rec.queries.every((q) => q.parameters.length === 0)).toBe(true);
    expect(ddl[0]).toBe('alter table "payment_operations" add "fee" bigint');
    expect(ddl.slice(1)).toEqual([
      'create index "payments_paid_at" on "payments" ("paid_at", "id", "status", "organization_id", "method", "provider", "amount")',
      'create index "refunds_created_at" on "refunds" ("created_at")',
      'create index "payment_operations_payment" on "payment_operations" ("payment_id", "kind", "amount", "fee", "occurred_at")',
      'create index "payment_operations_occurred" on "payment_operations" ("occurred_at", "id")',
      'create index "invoice_transfers_bank_date" on "invoice_transfers" ("bank_date", "invoice_id")',
      'create index "statement_lines_doc_date" on "statement_lines" ("doc_date", "id")',
    ]);
  });
});

describe('the reports read a page at a time on MS SQL Server', () => {
  const june = { from: '2026-05-31T21:00:00.000Z', to: '2026-06-30T21:00:00.000Z', fromDay: '2026-06-01', toDay: '2026-06-30' };

  test('the payments that differ: one statement, TOP of the page, the period entered at the key', async () => {
    rec.reset();
    await paymentDifferencesPage(db, june, { at: '2026-06-10T00:00:00.000Z', id: 'p-1' }, 2000);
    expect(rec.sql).toHaveLength(1);
    const text = flat(rec.sql[0]);
    expect(text).toMatch(/^select top\(2000\) "x"\.\*/);
    expect(text).not.toMatch(/ limit /);
    expect(text).toMatch(/"p"\."paid_at" >= @\d+ and \("p"\."paid_at" > @\d+ or "p"\."id" > @\d+\) and "p"\."paid_at" < @\d+/);
    expect(text).toMatch(/order by "x"\."paid_at", "x"\."id"$/);
  });

  test('the payments with their receipts: the page of payments is a TOP derived table joined to the receipts', async () => {
    rec.reset();
    await paymentReceiptsPage(db, june, null, 2000);
    const text = flat(rec.sql[0]);
    expect(text).toMatch(/from \(select top\(2000\) "p"\."id",/);
    expect(text).toMatch(/order by "p"\."paid_at", "p"\."id"\) as "x" left join "receipts" as "rc" on "rc"\."payment_id" = "x"\."id"/);
    expect(text).not.toMatch(/ limit /);
  });
});
