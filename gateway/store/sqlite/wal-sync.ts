import { close, fdatasync, open } from 'node:fs';

/**
 * Durability of SQLite commits without blocking the event loop. With `synchronous=NORMAL` a WAL
 * commit is written to the `-wal` file but not synced; this syncs that file on the libuv thread
 * pool, so the event loop keeps serving while the disk works. One fdatasync covers every commit
 * made before it started; commits made meanwhile wait for the next one.
 *
 * The file stays the same while the gateway holds its connections: SQLite rewrites a WAL from the
 * start after a checkpoint (syncing its header itself) and deletes it only when the last connection
 * closes. A checkpoint syncs the WAL before copying it, so a commit is on disk either way.
 */
export class WalSync {
  private committed = 0;
  private synced = 0;
  private running: Promise<void> | null = null;
  private fd: number | null = null;
  /** A failed sync leaves unknown what reached the disk: nothing is acknowledged after it. */
  private failure: Error | null = null;

  constructor(private readonly walPath: string) {}

  /** Call right after each COMMIT. */
  committedOne(): void {
    this.committed++;
  }

  /** True when some commit is not known to be on disk yet. */
  get pending(): boolean {
    return this.synced < this.committed;
  }

  /** Resolves when no sync is under way (a failed one included). */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** Resolves once every commit made so far is on disk. */
  durable(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.synced >= this.committed ? Promise.resolve() : this.until(this.committed);
  }

  async close(): Promise<void> {
    await this.durable().catch(() => undefined);
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) await new Promise((resolve) => close(fd, resolve));
  }

  private async until(target: number): Promise<void> {
    while (this.synced < target) {
      if (this.failure) throw this.failure;
      this.running ??= this.syncOnce().finally(() => (this.running = null));
      await this.running;
    }
  }

  private async syncOnce(): Promise<void> {
    const upTo = this.committed;
    try {
      this.fd ??= await new Promise<number>((resolve, reject) => open(this.walPath, 'r', (e, fd) => (e ? reject(e) : resolve(fd))));
      const fd = this.fd;
      await new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
    } catch (e) {
      this.failure = new Error(`syncing ${this.walPath} failed: ${(e as Error).message}`, { cause: e });
      throw this.failure;
    }
    if (upTo > this.synced) this.synced = upTo;
  }
}
