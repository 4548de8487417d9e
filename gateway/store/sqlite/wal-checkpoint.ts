import { Worker } from 'node:worker_threads';

/**
 * SQLite's WAL checkpoints on a thread of their own. A checkpoint copies the WAL's pages into the
 * database file and syncs it: left to SQLite, the COMMIT that crosses the threshold does that on
 * the event loop and every request waits for the disk (tens of milliseconds under load). The writer
 * runs with `wal_autocheckpoint = 0`; this thread's own connection runs PASSIVE checkpoints (they
 * never block the writer or the readers) at most every `everyMs` while commits come.
 *
 * Durability does not depend on it: a commit is on disk once its WAL frames are synced (WalSync),
 * and a checkpoint syncs the WAL before it copies anything.
 */
export class WalCheckpointer {
  /** Commits counted by the writer, read by the thread: no message per commit. */
  private readonly commits = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(file: string, everyMs = 200) {
    this.worker = new Worker(THREAD, {
      eval: true,
      workerData: { file, everyMs, commits: this.commits, sqlite: require.resolve('better-sqlite3') },
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    // a checkpoint that fails (the disk) leaves the WAL growing, nothing lost: the next one tries again
    this.worker.on('error', () => undefined);
    this.worker.unref();
  }

  /** Call after each COMMIT. */
  committed(): void {
    Atomics.add(this.commits, 0, 1);
  }

  /** Stops the thread (a checkpoint under way finishes first) and closes its connection. */
  async close(): Promise<void> {
    // waiting for the thread must keep the process alive (a CLI command closes the store and exits)
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}

const THREAD = `
const { workerData, parentPort } = require('node:worker_threads');
const SQLite = require(workerData.sqlite);
const db = new SQLite(workerData.file);
db.pragma('busy_timeout = 0');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
let seen = 0;
const timer = setInterval(() => {
  const now = Atomics.load(workerData.commits, 0);
  if (now === seen) return;
  seen = now;
  try { checkpoint.get(); } catch { seen = -1; }
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;
