import type { ScheduleDefinition } from '../../jobs/types';
import { getSyncState, setSyncState } from '../../store/sync-state';
import { openAlertsOfKind } from '../../store/alerts';
import { getJob } from '../../store/jobs';
import { ALERTS } from '../alerts/catalog';
import type { FlowDeps } from '../deps';
import { MONITOR_RULES, type MonitorRule } from './rules';

/** A rule's last check, kept between runs (and read by /metrics in any process). */
export interface MonitorState {
  rule: string;
  value: number;
  firing: boolean;
  /** When it started firing (the alert's key), while it fires. */
  since: string | null;
  checkedAt: string;
}

export const monitorKey = (rule: string) => `monitor:${rule}`;

/**
 * Checks every rule: one past its threshold alerts support once (the alert's key is the rule and when it
 * began), and when it clears, support gets «решено» for it. What each found is kept for the metrics.
 */
export async function checkMonitors(d: FlowDeps, now = new Date(), rules: readonly MonitorRule[] = MONITOR_RULES): Promise<MonitorState[]> {
  const out: MonitorState[] = [];
  for (const rule of rules) {
    let m;
    try {
      m = await rule.measure(d, now);
    } catch (e) {
      d.log.warn({ rule: rule.name, err: (e as Error).message }, 'monitoring rule not checked');
      continue;
    }
    if (!m) continue;
    const raw = await getSyncState(d.store.db, monitorKey(rule.name));
    const before = raw ? (JSON.parse(raw) as MonitorState) : null;
    const since = m.firing ? (before?.firing && before.since ? before.since : now.toISOString()) : null;
    const state: MonitorState = { rule: rule.name, value: m.value, firing: m.firing, since, checkedAt: now.toISOString() };
    if (m.firing && !before?.firing) {
      await d.store.db.transaction().execute((trx) => d.alerts.raise(trx, ALERTS.monitorFiring(rule, since!, m.detail, m.value)));
      d.jobs.kick();
    } else if (!m.firing && before?.firing && before.since) {
      await d.store.db.transaction().execute((trx) => d.alerts.raise(trx, ALERTS.monitorResolved(rule, before.since!, m.value)));
      d.jobs.kick();
    }
    await setSyncState(d.store, monitorKey(rule.name), JSON.stringify(state));
    out.push(state);
  }
  try {
    await resolveDeadJobs(d);
  } catch (e) {
    d.log.warn({ err: (e as Error).message }, 'dead jobs not checked for «решено»');
  }
  return out;
}

/** A dead job's alert is resolved once the job is done (an admin's retry succeeded): «решено» where the alert went. */
export async function resolveDeadJobs(d: FlowDeps): Promise<number> {
  let n = 0;
  for (const a of await openAlertsOfKind(d.store.db, 'dead-job')) {
    const jobId = a.context ? (JSON.parse(a.context) as { jobId?: string }).jobId : undefined;
    const job = jobId ? await getJob(d.store.db, jobId) : undefined;
    if (job?.status !== 'done') continue;
    const done = await d.store.db
      .transaction()
      .execute((trx) =>
        d.alerts.resolve(trx, a.key, `Задание ${job.name} (${job.id}) выполнено после повтора.`, { jobId: job.id, job: job.name }),
      );
    if (done) n++;
  }
  if (n > 0) d.jobs.kick();
  return n;
}

export function monitoringSchedule(d: FlowDeps): ScheduleDefinition {
  return { name: 'monitoring', everyMs: d.config.monitoring.everySeconds * 1000, handler: async () => void (await checkMonitors(d)) };
}
