import fc from 'fast-check';
import { errorSchema } from '../../schemas/api';
import type { Harness } from './harness';
import { changedTables, StoreSnapshots, type StoreSnapshot } from './store-snapshot';

/** One edge of the gateway under the property tests: the cases it is fed and the check of each. */
export interface FuzzEdge<C> {
  name: string;
  arbitrary: fc.Arbitrary<C>;
  /** Sends one case; throws (with the reason) when a property does not hold. */
  check(c: C): Promise<void>;
  /** How the cases were answered: "201", "422 validation_failed", … → count. */
  outcomes: Map<string, number>;
  close(): Promise<void>;
}

/**
 * What holds for every case on every edge: no unhandled rejection or uncaught exception anywhere in
 * the process, no error logged by the gateway, and a refused case leaves every table (but `except`)
 * as it was. One snapshot per case: the one after a case is the one before the next.
 */
export class Invariants {
  private readonly faults: string[] = [];
  private logsSeen = 0;
  private before: StoreSnapshot | undefined;
  private snapshots: StoreSnapshots | undefined;
  private readonly onRejection = (e: unknown) => this.faults.push(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`);
  private readonly onException = (e: unknown) => this.faults.push(`uncaught exception: ${(e as Error)?.stack ?? String(e)}`);

  constructor(
    private readonly h: Harness,
    private readonly except: readonly string[] = [],
  ) {
    process.on('unhandledRejection', this.onRejection);
    process.on('uncaughtException', this.onException);
  }

  async start(): Promise<void> {
    this.snapshots = new StoreSnapshots(this.h.gateway.store);
    this.before = this.snapshots.take(this.except);
    this.logsSeen = this.h.logs.length;
  }

  /** After one case: `refused` says whether the gateway turned it down. */
  async after(refused: boolean, what: string): Promise<void> {
    const after = this.snapshots!.take(this.except);
    const changed = refused ? changedTables(this.before!, after) : [];
    this.before = after;
    const errors = this.h.logs
      .slice(this.logsSeen)
      .filter((l) => /"level":"(error|fatal)"/.test(l))
      .map((l) => l.slice(0, 2000));
    this.logsSeen = this.h.logs.length;
    const faults = this.faults.splice(0);
    if (changed.length) throw new Error(`${what}: refused, yet the store changed: ${changed.join(', ')}`);
    if (errors.length) throw new Error(`${what}: the gateway logged an error:\n${errors.join('\n')}`);
    if (faults.length) throw new Error(`${what}: ${faults.join('\n')}`);
  }

  close(): void {
    this.snapshots?.close();
    process.off('unhandledRejection', this.onRejection);
    process.off('uncaughtException', this.onException);
  }
}

/** An answer of the REST API's error shape: `{error: {code, message, details}}` as JSON. */
export function errorShapeProblem(status: number, contentType: string | null, text: string): string | null {
  if (!/^application\/json/.test(contentType ?? '')) return `${status} answered as ${contentType}, not JSON: ${text.slice(0, 200)}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `${status} with a body that is not JSON: ${text.slice(0, 200)}`;
  }
  const r = errorSchema.safeParse(body);
  return r.success ? null : `${status} with a body not of the error shape: ${text.slice(0, 300)}`;
}

export function count(outcomes: Map<string, number>, key: string): void {
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}

/** Runs an edge's property `numRuns` times; the result as fast-check reports it. */
export async function runEdge<C>(edge: FuzzEdge<C>, numRuns: number, seed?: number) {
  return fc.check(
    fc.asyncProperty(edge.arbitrary, (c) => edge.check(c)),
    { numRuns, seed },
  );
}
