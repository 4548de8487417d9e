import { sql } from 'kysely';
import type { Executor } from './db';
import { page } from './sql';

/** What the monitoring rules measure, each in one query. */

const count = (r: { n: number | string | bigint } | undefined): number => Number(r?.n ?? 0);

/** Payments paid before `before` whose document is not in 1C yet (waiting, retrying or failed). */
export async function paidNotInOneC(db: Executor, before: string): Promise<number> {
  return count(
    await db
      .selectFrom('payments')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('status', 'in', ['paid', 'partially_refunded', 'refunded'])
      .where('onec_status', 'in', ['pending', 'failed', 'waiting_for_order'])
      .where('paid_at', '<', before)
      .executeTakeFirst(),
  );
}

export async function deadJobs(db: Executor): Promise<number> {
  return count(
    await db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('status', '=', 'dead')
      .executeTakeFirst(),
  );
}

/** When the job waiting longest to run was due (null: none waits). */
export async function oldestWaitingJob(db: Executor, now: string): Promise<string | null> {
  const row = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.min('run_at').as('due'))
    .where('status', '=', 'pending')
    .where('run_at', '<=', now)
    .executeTakeFirst();
  return (row?.due as string | null | undefined) ?? null;
}

/** Receipts the register refused, and those waiting for it since before `before`. */
export async function receiptsStuck(db: Executor, before: string): Promise<number> {
  return count(
    await db
      .selectFrom('receipts')
      .select((eb) => eb.fn.countAll().as('n'))
      .where((eb) => eb.or([eb('status', '=', 'failed'), eb.and([eb('status', 'in', ['pending', 'sent']), eb('created_at', '<', before)])]))
      .executeTakeFirst(),
  );
}

/** Review items (bank lines, provider operations) waiting since before `before`. */
export async function reviewItemsOlderThan(db: Executor, before: string): Promise<number> {
  const lines = await db
    .selectFrom('statement_lines')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('match_state', '=', 'review')
    .where('created_at', '<', before)
    .executeTakeFirst();
  const operations = await db
    .selectFrom('payment_operations')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('match_state', 'in', ['unmatched', 'ambiguous', 'mismatch'])
    .where('created_at', '<', before)
    .executeTakeFirst();
  return count(lines) + count(operations);
}

/** When a schedule last ran (null: never). */
export async function scheduleLastRun(db: Executor, name: string): Promise<string | null> {
  const row = await db.selectFrom('schedules').select('last_run_at').where('name', '=', name).executeTakeFirst();
  return row?.last_run_at ?? null;
}

/** Paid payments of the last hour the silent-callbacks rule looks at, the latest first: enough to judge, and a read of the same size however busy the hour. */
export const SILENT_SAMPLE = 500;

/**
 * Card and СБП payments paid since `since` — the latest `sample` of them at most — and of those the ones
 * the bank's callback never told about (the janitor or the history agent found them paid). Bounded: a
 * shop taking thousands of payments an hour is judged by its latest ones, in a read of the same size
 * every time (on SQLite it runs on the event loop).
 */
export async function paidWithoutCallback(db: Executor, since: string, sample = SILENT_SAMPLE): Promise<{ paid: number; silent: number }> {
  const latest = page(
    db,
    db.selectFrom('payments').select('id').where('method', 'in', ['card', 'sbp']).where('paid_at', '>=', since).orderBy('paid_at', 'desc'),
    sample,
  );
  const rows = await db
    .selectFrom(latest.as('p'))
    .select((eb) => [
      eb.fn.countAll().as('paid'),
      eb.fn
        .sum(
          sql<number>`case when exists (select 1 from payment_events e join payment_attempts a on a.id = e.attempt_id where a.payment_id = p.id and e.kind = 'callback') then 0 else 1 end`,
        )
        .as('silent'),
    ])
    .executeTakeFirst();
  return { paid: Number(rows?.paid ?? 0), silent: Number(rows?.silent ?? 0) };
}
