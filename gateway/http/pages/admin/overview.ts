import { MONITOR_RULES } from '../../../flows/monitoring/rules';
import type { MonitorState } from '../../../flows/monitoring/check';
import { failedReceiptsCount, paidSince } from '../../../store/admin-queries';
import { listAlerts } from '../../../store/alerts';
import { nowIso } from '../../../store/db';
import { deadJobs, paidNotInOneC, reviewItemsOlderThan } from '../../../store/monitoring';
import { syncStatesWithPrefix } from '../../../store/sync-state';
import type { HttpDeps } from '../../deps';
import type { AdminKit } from './kit';
import { dataIsland, esc, layout, METHOD_RU, moscowDay, moscowDayStart, rub, sendPage, table, when } from './layout';

/** An alert support has not seen end yet. */
export interface OpenAlert {
  title: string;
  severity: 'critical' | 'warning' | 'info';
  since: string | null;
  detail?: string;
}

/** How long an alert no «решено» can follow (an advance kept, a one-off failure) stays on the overview. */
const OPEN_ALERT_DAYS = 7;

/**
 * The overview's list of open alerts: the alerts raised in the last days whose problem has not cleared,
 * each with the channels that failed to deliver it; and the monitoring rules firing now that have no
 * record (raised before the records began, or their alert still on its way).
 */
export async function openAlerts(d: HttpDeps, now = Date.now()): Promise<OpenAlert[]> {
  const since = new Date(now - OPEN_ALERT_DAYS * 86_400_000).toISOString();
  const records = (await listAlerts(d.store.db, { open: true, limit: 100 })).filter((a) => a.raised_at >= since);
  const listed: OpenAlert[] = records.map((a) => {
    const failed = a.deliveries.filter((x) => x.status === 'failed');
    return {
      title: a.title,
      severity: a.severity,
      since: a.raised_at,
      ...(failed.length ? { detail: failed.map((x) => `не доставлено в канал ${x.channel}: ${x.last_error ?? 'ошибка'}`).join('; ') } : {}),
    };
  });
  const kinds = new Set(records.map((a) => a.kind));
  const states = (await syncStatesWithPrefix(d.store.db, 'monitor:')).map((r) => JSON.parse(r.value) as MonitorState);
  const firing = states
    .filter((s) => s.firing && !kinds.has(`monitor.${s.rule}`))
    .map((s) => {
      const rule = MONITOR_RULES.find((r) => r.name === s.rule);
      return { title: rule?.title ?? s.rule, severity: rule?.severity ?? 'warning', since: s.since, detail: `Значение: ${s.value}` };
    });
  return [...firing, ...listed];
}

const CHANNELS = ['card', 'sbp', 'invoice'] as const;

/** Paid amounts by Moscow day and channel over the last `days` days, today last. */
export async function takings(d: HttpDeps, days = 7, now = Date.now()) {
  const labels = Array.from({ length: days }, (_, i) => moscowDay(now - (days - 1 - i) * 86_400_000));
  const rows = await paidSince(d.store.db, moscowDayStart(labels[0]));
  const sums: Record<string, number[]> = Object.fromEntries(CHANNELS.map((c) => [c, labels.map(() => 0)]));
  const counts: Record<string, number[]> = Object.fromEntries(CHANNELS.map((c) => [c, labels.map(() => 0)]));
  for (const r of rows) {
    const i = labels.indexOf(moscowDay(Date.parse(r.paid_at)));
    if (i < 0) continue;
    const c = sums[r.method] ? r.method : 'card';
    sums[c][i] += r.amount;
    counts[c][i] += 1;
  }
  return { labels, sums, counts };
}

export function overviewPage(kit: AdminKit): void {
  const { d } = kit;
  kit.view('/admin', 'Overview: takings, open alerts, stuck items', async (ctx, s, flash) => {
    const now = nowIso();
    const [t, alerts, dead, notInOneC, failedReceipts, review] = await Promise.all([
      takings(d),
      openAlerts(d),
      deadJobs(d.store.db),
      paidNotInOneC(d.store.db, now),
      failedReceiptsCount(d.store.db),
      reviewItemsOlderThan(d.store.db, now),
    ]);
    const last = t.labels.length - 1;
    const byChannel = (i: number | null) =>
      CHANNELS.map((c) => {
        const idx = i === null ? t.labels.map((_, k) => k) : [i];
        const sum = idx.reduce((a, k) => a + t.sums[c][k], 0);
        const n = idx.reduce((a, k) => a + t.counts[c][k], 0);
        return [esc(METHOD_RU[c]), String(n), rub(sum)];
      });
    const stuck: [string, number, string][] = [
      ['Мёртвые задания', dead, '/admin/jobs?status=dead'],
      ['Оплачено, но не записано в 1С', notInOneC, '/admin/payments?onec=stuck'],
      ['Чеки с ошибкой', failedReceipts, '/admin/receipts?status=failed'],
      ['На ручном разборе', review, '/admin/review'],
    ];
    const chart = {
      labels: t.labels,
      series: CHANNELS.map((c) => ({ label: METHOD_RU[c], values: t.sums[c].map((k) => k / 100) })),
    };
    const body = `
<section class="grid">
<div class="card"><h2>Сегодня</h2>${table(['Канал', 'Оплат', 'Сумма'], byChannel(last))}</div>
<div class="card"><h2>За 7 дней</h2>${table(['Канал', 'Оплат', 'Сумма'], byChannel(null))}</div>
</section>
<section class="card"><h2>Оплаты по дням и каналам, ₽</h2>
<div class="chart" id="takings-chart" data-chart="takings-data" role="img" aria-label="График оплат за 7 дней по каналам"></div>
${dataIsland('takings-data', chart)}</section>
<section class="grid">
<div class="card" id="stuck"><h2>Что застряло</h2><ul class="stuck">${stuck
      .map(
        ([label, n, href]) =>
          `<li class="${n > 0 ? 'bad' : 'ok'}"><a href="${esc(href)}">${esc(label)}</a><span class="count" data-testid="stuck-count">${n}</span></li>`,
      )
      .join('')}</ul></div>
<div class="card" id="alerts"><h2>Открытые тревоги</h2>${
      alerts.length
        ? `<ul class="alerts">${alerts
            .map(
              (a) =>
                `<li class="${a.severity}"><strong>${esc(a.title)}</strong> <span class="muted">с ${esc(when(a.since))}${a.detail ? ` · ${esc(a.detail)}` : ''}</span></li>`,
            )
            .join('')}</ul>`
        : '<p class="muted">Тревог нет.</p>'
    }</div>
</section>`;
    sendPage(ctx, layout({ title: 'Обзор', active: '/admin', session: s, flash, body, charts: true }));
  });
}
