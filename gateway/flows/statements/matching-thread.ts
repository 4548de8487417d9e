import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LineToMatch } from '../../store/statements';
import type { Decided, Decisions } from './decide';

/** The invoices' query for the thread to run (compiled here), with the day annulled invoices count from. */
export interface InvoicesQuery {
  sql: string;
  parameters: readonly unknown[];
  annulledSince: string;
}

/** Messages from the thread: parts of the decisions, then the run's outcome, or what failed. */
export type FromThread = { ready: true } | { part: Decided[] } | { done: Decisions; invoices: number; match: number } | { error: string };

/** Messages to the thread: a run's invoices to read, then its lines. */
export type ToThread = { invoices: InvoicesQuery } | { lines: LineColumns[] };

/** A line as it crosses to the thread: what deciding reads of it, as an array (arrays cross cheaper than objects). */
export type LineColumns = [
  amount: number,
  date: string,
  payerInn: string | null,
  payerKpp: string | null,
  purpose: string,
  uip: string | null,
];

/**
 * Statement matching on a thread of its own, for a store in an SQLite file. A run of 100 000 lines
 * has four steps of about equal weight: the invoices read, the lines read, the decisions made, and
 * written back. Here they overlap two by two: the thread reads the invoices on a read-only connection
 * of its own while the transaction here reads the lines; then the thread decides, handing the
 * decisions over a part at a time, while they are written here, in the same transaction as the lines
 * were read (and the alerts raised). The event loop is free meanwhile but for the writing.
 *
 * The invoices are read as committed when the run begins (on the event loop they are read outside the
 * transaction too). Started at the first run, kept for the next ones; a run that fails stops the
 * thread (the next run starts another) and its transaction is rolled back.
 */
export class MatchingThread {
  private worker: Worker | undefined;
  private started: Promise<void> | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string) {}

  /**
   * One run: the thread reads the invoices at once; `lines` reads the lines here; `write` writes each
   * part of the decisions as it comes (one at a time, in order). Runs wait for one another.
   */
  decide(
    invoices: InvoicesQuery,
    lines: () => Promise<LineToMatch[]>,
    write: (part: Decided[]) => Promise<void>,
  ): Promise<{ decisions: Decisions; invoices: number; match: number }> {
    const run = this.running.then(() => this.run(invoices, lines, write));
    this.running = run.catch(() => undefined);
    return run;
  }

  private run(
    invoices: InvoicesQuery,
    lines: () => Promise<LineToMatch[]>,
    write: (part: Decided[]) => Promise<void>,
  ): Promise<{ decisions: Decisions; invoices: number; match: number }> {
    const worker = this.start();
    return new Promise((resolve, reject) => {
      const parts: Decided[][] = [];
      let done: Extract<FromThread, { done: unknown }> | undefined;
      let writing = false;
      let over = false;
      const finish = (e?: unknown) => {
        if (over) return;
        over = true;
        worker.off('message', onMessage).off('error', finish).off('exit', onExit);
        worker.unref();
        if (e === undefined) return resolve({ decisions: done!.done, invoices: done!.invoices, match: done!.match });
        // what it would still send belongs to a run that failed: a new thread for the next
        void this.stop();
        reject(e instanceof Error ? e : new Error(String(e)));
      };
      const pump = async () => {
        if (writing || over) return;
        writing = true;
        try {
          for (let p = parts.shift(); p && !over; p = parts.shift()) await write(p);
        } catch (e) {
          return finish(e);
        } finally {
          writing = false;
        }
        if (done) finish();
      };
      const onMessage = (m: FromThread) => {
        if ('part' in m) parts.push(m.part);
        else if ('done' in m) done = m;
        else if ('ready' in m) return;
        else return finish(new Error(`statement matching failed on its thread: ${m.error}`));
        void pump();
      };
      const onExit = (code: number) => finish(new Error(`the statement matching thread stopped (exit code ${code})`));
      worker.on('message', onMessage).on('error', finish).on('exit', onExit);
      worker.ref();
      worker.postMessage({ invoices } satisfies ToThread);
      lines().then((rows) => {
        if (over) return;
        const columns = new Array<LineColumns>(rows.length);
        for (let i = 0; i < rows.length; i++) {
          const l = rows[i];
          columns[i] = [l.amount, l.date, l.payerInn, l.payerKpp, l.purpose, l.uip];
        }
        worker.postMessage({ lines: columns } satisfies ToThread);
      }, finish);
    });
  }

  /**
   * Starts the thread ahead of the first run, resolving once it is ready (its sources loaded, its
   * connection open). A run starts it too when it is not running.
   */
  ready(): Promise<void> {
    this.start();
    return this.started!;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(`require(${JSON.stringify(TSX)}); require(${JSON.stringify(BODY)});`, {
      eval: true,
      workerData: { file: this.file },
    });
    worker.unref();
    this.started = new Promise((resolve, reject) => {
      const onMessage = (m: FromThread) => {
        if (!('ready' in m)) return;
        worker.off('message', onMessage);
        resolve();
      };
      worker.on('message', onMessage).once('exit', (code) => {
        worker.off('message', onMessage);
        if (this.worker === worker) this.worker = undefined;
        reject(new Error(`the statement matching thread stopped (exit code ${code})`));
      });
    });
    // nobody may be waiting for it: a run hears of the thread's end itself
    this.started.catch(() => undefined);
    // a thread that fails between runs is replaced at the next run
    worker.on('error', () => undefined);
    this.worker = worker;
    return worker;
  }

  private async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  /** Stops the thread, a run under way with it (its transaction is rolled back). */
  async close(): Promise<void> {
    await this.stop();
  }
}

/** The thread runs the TypeScript sources as the gateway does (tsx), under any runner. */
const TSX = require.resolve('tsx/cjs');
const BODY = join(__dirname, 'matching-thread.body.ts');
