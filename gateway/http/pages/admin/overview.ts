import { MONITOR_RULES } from '../../../flows/monitoring/rules';
import type { MonitorState } from '../../../flows/monitoring/check';
import { failedReceiptsCount, paidSince } from '../../../store/admin-queries';
import { nowIso } from '../../../store/db';
import { deadJobs, paidNotInOneC, reviewItemsOlderThan } from '../../../store/monitoring';
import { syncStatesWithPrefix } from '../../../store/sync-state';
import type { HttpDeps } from '../../deps';
import type { AdminKit } from './kit';
import { dataIsland, esc, layout, METHOD_RU, moscowDay, moscowDayStart, rub, sendPage, table, when } from './layout';

/** An alert support has not seen end yet. */
export interface OpenAlert {
  title: string;
  severity: 'critical' | 'warning';
  since: string | null;
  detail?: string;
}

/**
 * The overview's list of open alerts: the monitoring rules firing now (their last check). This is the
 * one place the overview reads open alerts from.
 */
export async function openAlerts(d: HttpDeps): Promise<OpenAlert[]> {
  const states = (await syncStatesWithPrefix(d.store.db, 'monitor:')).map((r) => JSON.parse(r.value) as MonitorState);
  return states
    .filter((s) => s.firing)
    .map((s) => {
      const rule = MONITOR_RULES.find((r) => r.name === s.rule);
      return { title: rule?.title ?? s.rule, severity: rule?.severity ?? 'warning', since: s.since, detail: `Значение: ${s.value}` };
    });
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
