import { type Compilable, type CompiledQuery, type QueryResult, type RawBuilder } from 'kysely';
import type { Executor } from './db';
import { unsyncedRead } from './sqlite/group-commit';

/** Stands for a value while a prepared query is built. */
class Slot {
  constructor(readonly field: string) {}
  toString(): never {
    throw new Error(`prepared query: "${this.field}" is used outside a value position`);
  }
}

interface Template {
  compiled: CompiledQuery;
  /** For each parameter: the field whose value it takes, or null for a constant of the query. */
  fields: (string | null)[];
}

/**
 * A query built and compiled once per dialect and set of fields, then run with new values. On the
 * paths that run most (a callback runs a dozen statements), building and compiling the Kysely query
 * cost more than SQLite running it.
 *
 * `build` gets a placeholder for each field of the values it is first called with, and must use
 * them as values only (a placeholder turned into a string throws). What it builds may depend on
 * which fields there are, never on their values: the same fields always run the same SQL. Every
 * field is a value to bind: null, not undefined.
 */
export function prepared<P extends object, R = unknown>(
  build: (db: Executor, p: P) => Compilable<R> | RawBuilder<R>,
  /** `unsynced`: a read that may answer from commits not yet on disk (see unsyncedRead). */
  opts: { unsynced?: boolean } = {},
): (db: Executor, values: P) => Promise<QueryResult<R>> {
  // per adapter (one per store, shared by its transactions), then per set of fields
  const templates = new WeakMap<object, Map<string, Template>>();
  return (db, values) => {
    const adapter = db.getExecutor().adapter;
    let byShape = templates.get(adapter);
    if (!byShape) templates.set(adapter, (byShape = new Map()));
    const names = Object.keys(values);
    const shape = names.join();
    let t = byShape.get(shape);
    if (!t) byShape.set(shape, (t = compileTemplate(db, names, build)));
    const row = values as Record<string, unknown>;
    const parameters = t.fields.map((field, i) => (field === null ? t.compiled.parameters[i] : row[field]));
    const q = { ...t.compiled, parameters } as CompiledQuery<R>;
    return db.executeQuery<R>(opts.unsynced ? unsyncedRead(q) : q);
  };
}

function compileTemplate<P, R>(db: Executor, names: string[], build: (db: Executor, p: P) => Compilable<R> | RawBuilder<R>): Template {
  const slots = Object.fromEntries(names.map((n) => [n, new Slot(n)]));
  const query = build(db, slots as P);
  // a raw query compiles against an executor; a query builder knows its own
  const compiled = 'isRawBuilder' in query ? query.compile(db) : query.compile();
  const fields = compiled.parameters.map((p) => (p instanceof Slot ? p.field : null));
  const unused = names.filter((n) => !fields.includes(n));
  if (unused.length > 0) throw new Error(`prepared query: ${unused.join(', ')} not used as values`);
  return { compiled, fields };
}
