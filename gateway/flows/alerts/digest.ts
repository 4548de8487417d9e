import { defineJob, type ScheduleDefinition } from '../../jobs/types';
import { digestWaiting, markDigested } from '../../store/alerts';
import { nowIso } from '../../store/db';
import type { FlowDeps } from '../deps';
import { ALERTS } from './catalog';

/** Moscow's date and wall time of a moment: `2026-12-04`, `09:00`. */
export function moscowClock(now: Date): { day: string; time: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Moscow',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  return { day: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

/**
 * The day's digest: every alert routed to `digest` and not in a digest yet, grouped by kind with
 * counts, sent as one alert to `alerts.digest.channels`. The job's key is the day, so it runs once a
 * day whichever process queues it and however often; the alerts it took are marked in the same
 * transaction, so none is in two digests.
 */
export async function sendDigest(d: FlowDeps, day: string, before = nowIso()): Promise<number> {
  const cfg = d.config.alerts.digest;
  if (!cfg) return 0;
  const n = await d.store.db.transaction().execute(async (trx) => {
    const rows = await digestWaiting(trx, before);
    if (rows.length === 0) return 0;
    const kinds = new Map<string, Map<string, { title: string; severity: string; count: number }>>();
    for (const r of rows) {
      const kind = r.kind.split('.')[0]!;
      const byTitle = kinds.get(kind) ?? new Map();
      kinds.set(kind, byTitle);
      const item = byTitle.get(r.title) ?? { title: r.title, severity: r.severity, count: 0 };
      item.count++;
      if (r.severity === 'critical') item.severity = 'critical';
      byTitle.set(r.title, item);
    }
    const groups = [...kinds.entries()]
      .map(([kind, items]) => ({ kind, items: [...items.values()].sort((a, b) => b.count - a.count) }))
      .sort((a, b) => b.items.reduce((s, i) => s + i.count, 0) - a.items.reduce((s, i) => s + i.count, 0));
    await markDigested(
      trx,
      rows.map((r) => r.id),
    );
    await d.alerts.dispatch(trx, ALERTS.digest(day, groups, rows.length), cfg.channels);
    return rows.length;
  });
  if (n > 0) d.jobs.kick();
  return n;
}

export const digestJob = defineJob('alert.digest', async (d: FlowDeps, p: { day: string }) => void (await sendDigest(d, p.day)), {
  maxAttempts: 8,
});

/** Checks every minute whether the digest's time has come today (Moscow time); the day's job is queued once. */
export function digestSchedule(d: FlowDeps): ScheduleDefinition | null {
  const cfg = d.config.alerts.digest;
  if (!cfg) return null;
  return {
    name: 'alerts.digest',
    everyMs: 60_000,
    handler: async () => {
      const { day, time } = moscowClock(new Date());
      if (time < cfg.at) return;
      const queued = await d.store.db
        .transaction()
        .execute((trx) => d.jobs.enqueue(trx, digestJob, { day }, { key: `alert-digest:${day}` }));
      if (queued) d.jobs.kick();
    },
  };
}
