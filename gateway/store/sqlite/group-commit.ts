import type BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';
import type { WalCheckpointer } from './wal-checkpoint';
import type { WalSync } from './wal-sync';

/**
 * SQLite for Kysely (better-sqlite3) with group commit and a separate reading connection.
 *
 * The application's transactions run as savepoints inside one shared transaction on the writing
 * connection, committed as soon as the transactions already in line are done, and the commits are
 * synced to disk off the event loop (`WalSync`, with `synchronous=NORMAL`):
 *  - a transaction's commit resolves only after the shared COMMIT that contains it is on disk, and a
 *    statement outside a transaction that writes resolves only after that too;
 *  - a SELECT outside a transaction runs on a second, read-only connection, which in WAL mode sees
 *    exactly what is committed and never waits for the writer; its rows are handed over only once
 *    everything committed by then is on disk, so nothing not yet durable is ever answered from
 *    (but for a read marked with `unsyncedRead`, whose caller commits before it answers);
 *  - if the COMMIT or the sync fails, every transaction in it fails (none of them was acknowledged).
 * The writing connection has one user at a time (a FIFO lock held from BEGIN to COMMIT).
 */
export class GroupCommitSqliteDialect implements Dialect {
  constructor(
    private readonly writer: BetterSqlite3.Database,
    /** Read-only connection to the same file (omit for :memory:, where reads use the writer). */
    private readonly reader?: BetterSqlite3.Database,
    /** Syncs the file's WAL (omit for :memory:, where nothing is on disk). */
    private readonly wal?: WalSync,
    /** Runs the WAL's checkpoints off the event loop (omit for :memory:). */
    private readonly checkpoints?: WalCheckpointer,
  ) {}
  createAdapter() {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return new GroupCommitDriver(this.writer, this.reader, this.wal, this.checkpoints);
  }
  createIntrospector(db: Kysely<any>) {
    return new SqliteIntrospector(db);
  }
  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }
}

/** A FIFO lock: whoever asked first gets the connection next (the shared COMMIT is not starved). */
class FifoLock {
  private held = false;
  get free(): boolean {
    return !this.held;
  }
  private readonly queue: (() => void)[] = [];
  lock(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }
  unlock(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.held = false;
  }
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

class Lease implements DatabaseConnection {
  inTransaction = false;
  holdsLock = false;
  constructor(private readonly driver: GroupCommitDriver) {}
  executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, q);
  }
  async *streamQuery<R>(q: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const which = this.driver.readerOrWriter(this, q);
    if (which === 'reader') await this.driver.durable();
    for (const row of this.driver.statement(which, q.sql).iterate(q.parameters as unknown[])) yield { rows: [row as R] };
  }
}

class StatementCache {
  private readonly map = new Map<string, BetterSqlite3.Statement>();
  constructor(private readonly db: BetterSqlite3.Database) {}
  get(text: string): BetterSqlite3.Statement {
    let stmt = this.map.get(text);
    if (!stmt) {
      stmt = this.db.prepare(text);
      if (this.map.size >= 1000) this.map.delete(this.map.keys().next().value!);
      this.map.set(text, stmt);
    }
    return stmt;
  }
}

class GroupCommitDriver implements Driver {
  private readonly lock = new FifoLock();
  private readonly writes: StatementCache;
  private readonly reads: StatementCache | null;
  /** The statements of the shared transaction and of the savepoints, prepared once. */
  private readonly tx: Record<'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', BetterSqlite3.Statement>;
  private open = false;
  private waiters: Waiter[] = [];
  private flushQueued = false;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly reader?: BetterSqlite3.Database,
    private readonly wal?: WalSync,
    private readonly checkpoints?: WalCheckpointer,
  ) {
    this.writes = new StatementCache(db);
    this.reads = reader ? new StatementCache(reader) : null;
    this.tx = {
      begin: db.prepare('begin immediate'),
      commit: db.prepare('commit'),
      rollback: db.prepare('rollback'),
      savepoint: db.prepare('savepoint app_tx'),
      release: db.prepare('release app_tx'),
      rollbackTo: db.prepare('rollback to app_tx'),
    };
  }

  async init(): Promise<void> {}

  /** No lock yet: a lone SELECT never needs the writer. The lock is taken by BEGIN or by a write. */
  async acquireConnection(): Promise<DatabaseConnection> {
    return new Lease(this);
  }

  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    const lease = conn as Lease;
    await this.take(lease);
    this.openShared();
    this.tx.savepoint.run();
    lease.inTransaction = true;
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    const lease = conn as Lease;
    this.tx.release.run();
    lease.inTransaction = false;
    await this.handOverAndWait(lease);
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    const lease = conn as Lease;
    // Kysely rolls back after a failed commit too: the savepoint is released by then, and the
    // shared COMMIT that failed has rolled everything back already
    if (!lease.inTransaction) return;
    this.tx.rollbackTo.run();
    this.tx.release.run();
    lease.inTransaction = false;
    this.give(lease);
    this.scheduleFlush();
  }

  async savepoint(_conn: DatabaseConnection, name: string): Promise<void> {
    this.db.exec(`savepoint "${name}"`);
  }

  async rollbackToSavepoint(_conn: DatabaseConnection, name: string): Promise<void> {
    this.db.exec(`rollback to "${name}"`);
  }

  async releaseSavepoint(_conn: DatabaseConnection, name: string): Promise<void> {
    this.db.exec(`release "${name}"`);
  }

  async releaseConnection(conn: DatabaseConnection): Promise<void> {
    this.give(conn as Lease);
  }

  async destroy(): Promise<void> {
    await this.flush();
    await this.checkpoints?.close();
    await this.wal?.close();
    this.reader?.close();
    this.db.close();
  }

  /** Resolves once every commit made so far is on disk. */
  durable(): Promise<void> {
    return this.wal ? this.wal.durable() : Promise.resolve();
  }

  readerOrWriter(lease: Lease, q: CompiledQuery): 'reader' | 'writer' {
    return !lease.inTransaction && this.reads && SelectQueryNode.is(q.query) ? 'reader' : 'writer';
  }

  statement(which: 'reader' | 'writer', text: string): BetterSqlite3.Statement {
    return which === 'reader' ? this.reads!.get(text) : this.writes.get(text);
  }

  async execute<R>(lease: Lease, q: CompiledQuery): Promise<QueryResult<R>> {
    const params = q.parameters as unknown[];
    if (this.readerOrWriter(lease, q) === 'reader') {
      // the writer's page cache stays warm, where the reader's starts cold after every commit: when no
      // transaction is under way, the writer holds only commits and finished transactions
      if (isUnsynced(q)) return { rows: all<R>((this.lock.free ? this.writes : this.reads!).get(q.sql), params, q) };
      const rows = all<R>(this.reads!.get(q.sql), params, q);
      // what was read may include a commit still on its way to the disk
      if (this.wal?.pending) await this.wal.durable();
      return { rows };
    }
    if (lease.inTransaction) return run<R>(this.writes.get(q.sql), params, batchOf(q), q);
    // a statement of its own: it joins the shared transaction and answers once that is on disk
    await this.take(lease);
    let result: QueryResult<R>;
    try {
      this.openShared();
      result = run<R>(this.writes.get(q.sql), params, batchOf(q), q);
    } catch (e) {
      this.give(lease);
      throw e;
    }
    await this.handOverAndWait(lease);
    return result;
  }

  private async take(lease: Lease): Promise<void> {
    if (lease.holdsLock) return;
    await this.lock.lock();
    lease.holdsLock = true;
  }

  private give(lease: Lease): void {
    if (!lease.holdsLock) return;
    lease.holdsLock = false;
    this.lock.unlock();
  }

  private openShared(): void {
    if (this.open) return;
    this.tx.begin.run();
    this.open = true;
  }

  /** Gives the writer to the next in line and resolves once everything so far is on disk. */
  private handOverAndWait(lease: Lease): Promise<void> {
    const durable = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.scheduleFlush();
    this.give(lease);
    return durable;
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => void this.flush());
  }

  /** Waits for the transactions already in line, commits the shared transaction once for all, and syncs it. */
  private async flush(): Promise<void> {
    // one COMMIT per sync of the disk: what arrives while the disk syncs joins the next one (a
    // COMMIT costs about as much for one transaction as for thirty)
    await this.wal?.idle();
    await this.lock.lock();
    this.flushQueued = false;
    const waiters = this.waiters;
    this.waiters = [];
    try {
      if (this.open) {
        this.open = false;
        this.tx.commit.run();
        this.wal?.committedOne();
        this.checkpoints?.committed();
      }
    } catch (e) {
      try {
        if (this.db.inTransaction) this.tx.rollback.run();
      } catch {
        /* the rollback error is secondary */
      }
      for (const w of waiters) w.reject(e);
      return;
    } finally {
      this.lock.unlock();
    }
    // the next transactions go on meanwhile: the writer is free while the disk syncs
    await this.durable().then(
      () => waiters.forEach((w) => w.resolve()),
      (e: unknown) => waiters.forEach((w) => w.reject(e)),
    );
  }
}

/**
 * One statement run for many rows of parameters in one call (an UPDATE by key for each of many rows):
 * SQLite runs it row by row at the speed of a loop, where one statement over a joined list of values
 * would first build that list as a table of its own. Run only by this driver.
 */
export function sqliteBatch(sql: string, rows: readonly unknown[][]): CompiledQuery {
  return { ...CompiledQuery.raw(sql, []), [BATCH]: rows } as CompiledQuery;
}

/**
 * A SELECT outside a transaction whose rows are handed over at once, though they may include what is
 * not on disk yet: commits still being synced, and transactions finished but waiting for their shared
 * COMMIT (never one under way). For a read whose caller answers only after a commit of its own, which
 * is committed and synced with or after everything it read, and whose answer a failed COMMIT (every
 * transaction in it undone) cannot make wrong. Any other dialect runs it as it is.
 */
export function unsyncedRead<R>(q: CompiledQuery<R>): CompiledQuery<R> {
  return { ...q, [UNSYNCED]: true } as CompiledQuery<R>;
}

const UNSYNCED = Symbol('may read what is not yet on disk');
const isUnsynced = (q: CompiledQuery) => (q as CompiledQuery & { [UNSYNCED]?: true })[UNSYNCED] === true;

const BATCH = Symbol('rows of parameters');
const ARRAYS = Symbol('rows as arrays');

/**
 * A SELECT whose rows come as arrays of the selected columns in their order: many thousands of rows
 * are built faster so, and weigh less, than as objects with the columns' names. Run only by this driver.
 */
export function sqliteArrays(q: CompiledQuery): CompiledQuery {
  return { ...q, [ARRAYS]: true } as CompiledQuery;
}

function all<R>(stmt: BetterSqlite3.Statement, params: unknown[], q: CompiledQuery): R[] {
  if (!(q as CompiledQuery & { [ARRAYS]?: boolean })[ARRAYS]) return stmt.all(params) as R[];
  try {
    return stmt.raw(true).all(params) as R[];
  } finally {
    stmt.raw(false);
  }
}
const batchOf = (q: CompiledQuery) => (q as CompiledQuery & { [BATCH]?: readonly unknown[][] })[BATCH];

function run<R>(stmt: BetterSqlite3.Statement, params: unknown[], batch?: readonly unknown[][], q?: CompiledQuery): QueryResult<R> {
  if (batch) {
    let changes = 0;
    for (const p of batch) changes += stmt.run(p).changes;
    return { rows: [], numAffectedRows: BigInt(changes) };
  }
  if (stmt.reader) return { rows: q ? all<R>(stmt, params, q) : (stmt.all(params) as R[]) }; // a SELECT in a transaction, UPDATE ... RETURNING
  const r = stmt.run(params);
  return {
    rows: [],
    numAffectedRows: BigInt(r.changes),
    insertId: r.lastInsertRowid !== undefined ? BigInt(r.lastInsertRowid) : undefined,
  };
}
