import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Every wait of the benchmarks has a deadline: a benchmark either ends or fails loudly, saying what
 * it waited for, how much of it had arrived, and for how long. Deadlines are meant for a slow,
 * busy two-core machine: minutes, not seconds.
 */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;

export interface WaitOptions {
  /** Give up (throw) after this long. */
  timeoutMs: number;
  /** Look again after this long (default 100 ms). */
  everyMs?: number;
}

/** How far a wait got, for the error: `arrived` of `expected`. */
export interface Progress {
  arrived: number;
  expected: number;
}

export class WaitTimeoutError extends Error {
  constructor(what: string, progress: Progress, elapsedMs: number, timeoutMs: number, detail?: string) {
    super(
      `timed out waiting for ${what}: ${progress.arrived} of ${progress.expected} after ${(elapsedMs / 1000).toFixed(1)} s ` +
        `(deadline ${(timeoutMs / 1000).toFixed(0)} s)${detail ? `; ${detail}` : ''}`,
    );
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Polls `check` until it holds: a boolean check until it is true (0 or 1 of 1 arrived), a counting
 * check until its count reaches `expected`. Resolves with the last value; throws a WaitTimeoutError
 * once `timeoutMs` have passed. Errors thrown by `check` are not retried: they end the wait at once.
 */
export async function until(what: string, check: () => Promise<boolean> | boolean, opts: WaitOptions): Promise<void>;
export async function until(what: string, count: () => Promise<number> | number, opts: WaitOptions & { expected: number }): Promise<number>;
export async function until(
  what: string,
  check: () => Promise<boolean | number> | boolean | number,
  opts: WaitOptions & { expected?: number },
): Promise<number | void> {
  const started = performance.now();
  const expected = opts.expected ?? 1;
  for (;;) {
    const value = await check();
    const arrived = typeof value === 'number' ? value : value ? 1 : 0;
    if (arrived >= expected) return typeof value === 'number' ? value : undefined;
    const elapsed = performance.now() - started;
    if (elapsed >= opts.timeoutMs) throw new WaitTimeoutError(what, { arrived, expected }, elapsed, opts.timeoutMs);
    await sleep(Math.min(opts.everyMs ?? 100, Math.max(1, opts.timeoutMs - elapsed)));
  }
}

/**
 * Awaits `work` for at most `timeoutMs`. `progress` tells the error how far the work got (default:
 * 0 of 1); `onTimeout` can stop what is still running (kill a process, stop a load generator). The
 * work itself is not cancelled otherwise: a benchmark that times out ends its process (bench/run.ts).
 */
export async function within<T>(
  what: string,
  work: Promise<T>,
  opts: { timeoutMs: number; progress?: () => Progress; onTimeout?: () => void },
): Promise<T> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        opts.onTimeout?.();
      } finally {
        reject(new WaitTimeoutError(what, opts.progress?.() ?? { arrived: 0, expected: 1 }, performance.now() - started, opts.timeoutMs));
      }
    }, opts.timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a child process has ended (an `exit` listener added after that would wait forever). */
export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Waits for a child process to end; after `timeoutMs` it is killed (SIGKILL) and the wait throws. */
export async function childExit(what: string, child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (exited(child)) return child.exitCode;
  const [code] = (await within(`${what} to exit`, once(child, 'exit'), { timeoutMs, onTimeout: () => child.kill('SIGKILL') })) as [
    number | null,
  ];
  return code;
}

/** Ends a child process: SIGTERM, then its exit awaited for `timeoutMs` (SIGKILL and a throw after that). */
export async function stopChild(what: string, child: ChildProcess, timeoutMs = MINUTE): Promise<void> {
  if (exited(child)) return;
  child.kill('SIGTERM');
  await childExit(what, child, timeoutMs);
}

/**
 * Rejects when `child` ends before `work` settles: a process that crashed is reported at once, not
 * when the deadline of whatever waited for it runs out.
 */
export function unlessExits<T>(what: string, child: ChildProcess, work: Promise<T>): Promise<T> {
  if (exited(child)) return Promise.reject(new Error(`${what} has already exited (code ${child.exitCode}, signal ${child.signalCode})`));
  let onExit: (code: number | null, signal: string | null) => void = () => undefined;
  const died = new Promise<never>((_, reject) => {
    onExit = (code, signal) => reject(new Error(`${what} exited (code ${code}, signal ${signal}) while it was waited for`));
    child.once('exit', onExit);
  });
  return Promise.race([work, died]).finally(() => child.off('exit', onExit));
}
