import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Real PostgreSQL and Redis for the tests. DATABASE_URL_PG / REDIS_URL point at them (`.ci/run`
 * sets both). Where a variable is missing the suites that need it are skipped LOUDLY on a
 * developer's machine; with CI set, a missing service fails the run instead.
 */

export const PG_URL = process.env.DATABASE_URL_PG ?? '';
export const REDIS_URL = process.env.REDIS_URL ?? '';
const CI = Boolean(process.env.CI);

function warnSkip(what: string, variable: string): void {
  const msg = `\n  !!! SKIPPED: ${what} — ${variable} is not set. Set it (see README, "Tests") to run these tests. !!!\n`;
  if (CI) throw new Error(`${variable} must be set in CI: ${what} cannot be skipped`);
  process.stderr.write(msg);
}

/** describe() when the services are configured; describe.skip with a loud warning otherwise. */
export function describeWith(services: 'postgres' | 'redis' | ('postgres' | 'redis')[], name: string, fn: () => void): void {
  const missing = ([] as ('postgres' | 'redis')[])
    .concat(services)
    .filter((s) => !(s === 'postgres' ? PG_URL : REDIS_URL))
    .map((s) => (s === 'postgres' ? 'DATABASE_URL_PG' : 'REDIS_URL'));
  if (missing.length === 0) describe(name, fn);
  else {
    warnSkip(name, missing.join(' and '));
    describe.skip(name, fn);
  }
}

/** A schema of its own for one test file: a URL whose connections see only it, and a drop(). */
export async function freshPgSchema(): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  if (!PG_URL) throw new Error('DATABASE_URL_PG is not set');
  const schema = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: u.toString(),
    schema,
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    },
  };
}

/** A Redis key prefix of its own for one test. */
export function redisPrefix(): string {
  return `test-${randomBytes(5).toString('hex')}`;
}
