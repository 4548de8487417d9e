import type { ScheduleDefinition } from '../../jobs/types';
import { nowIso } from '../../store/db';
import { attemptsDueForCheck, updateAttempt } from '../../store/payments';
import type { FlowDeps } from '../deps';
import { syncAttemptJob } from './sync';

/**
 * The janitor: attempts that are still open when their next check comes (a callback lost, the
 * bank's answer to registration lost, a customer who never came back) get a status check as a
 * job; the check expires and cancels the ones too old to be paid.
 */
export function janitorSchedule(d: FlowDeps): ScheduleDefinition {
  return {
    name: 'janitor',
    everyMs: d.config.janitor.everySeconds * 1000,
    handler: async () => {
      await runJanitor(d);
    },
  };
}

export async function runJanitor(d: FlowDeps): Promise<number> {
  const due = await attemptsDueForCheck(d.store.db, 500);
  for (const attempt of due) {
    await d.store.db.transaction().execute(async (trx) => {
      await d.jobs.enqueue(trx, syncAttemptJob, { attemptId: attempt.id, poll: true }, { key: `sync:${attempt.id}:${attempt.checks}` });
      // not due again until the check has had time to run
      await updateAttempt(trx, attempt.id, { next_check_at: nowIso(Date.now() + 5 * 60_000) });
    });
  }
  if (due.length > 0) {
    d.log.info({ attempts: due.length }, 'janitor queued status checks');
    d.jobs.kick();
  }
  return due.length;
}
