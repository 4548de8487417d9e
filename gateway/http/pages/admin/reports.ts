import type { AdminKit } from './kit';
import { esc, layout, moscowDay, sendPage } from './layout';

/** The reports of the admin API, on a page: a period, a table and a chart drawn from the JSON, and the downloads. */

export const REPORTS: { id: string; title: string; asOf?: boolean }[] = [
  { id: 'payments', title: 'Реестр оплат по каналам' },
  { id: 'reconciliation', title: 'Сверка возмещения эквайринга' },
  { id: 'receipts', title: 'Чеки и фискальные исключения' },
  { id: 'ageing', title: 'Дебиторская задолженность по срокам', asOf: true },
  { id: 'review', title: 'Неразобранные поступления' },
];

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function reportPages(kit: AdminKit): void {
  const { d } = kit;
  kit.view('/admin/reports', 'Reports: period, table, chart, downloads', async (ctx, s, flash) => {
    const q = (k: string) => (typeof ctx.query[k] === 'string' ? (ctx.query[k] as string) : '');
    const report = REPORTS.find((r) => r.id === q('report')) ?? REPORTS[0];
    const today = moscowDay(Date.now());
    const from = DAY.test(q('from')) ? q('from') : moscowDay(Date.now() - 6 * 86_400_000);
    const to = DAY.test(q('to')) ? q('to') : today;
    const asOf = DAY.test(q('asOf')) ? q('asOf') : today;
    const orgs = d.config.organizations;
    const organization = orgs.some((o) => o.id === q('organization')) ? q('organization') : '';
    const params = new URLSearchParams(report.asOf ? { asOf } : { from, to });
    if (organization) params.set('organization', organization);
    const url = (format: string) => `/api/v1/admin/reports/${report.id}?${params.toString()}&format=${format}`;
    const form = `<form method="get" action="/admin/reports" class="filters" id="report-form">
<label>Отчёт<select name="report">${REPORTS.map((r) => `<option value="${r.id}"${r.id === report.id ? ' selected' : ''}>${esc(r.title)}</option>`).join('')}</select></label>
<label>С<input type="date" name="from" value="${esc(from)}"></label>
<label>По<input type="date" name="to" value="${esc(to)}"></label>
<label>На дату (для задолженности)<input type="date" name="asOf" value="${esc(asOf)}"></label>
${
  orgs.length > 1
    ? `<label>Организация<select name="organization"><option value="">все</option>${orgs
        .map((o) => `<option value="${esc(o.id)}"${o.id === organization ? ' selected' : ''}>${esc(o.name)}</option>`)
        .join('')}</select></label>`
    : ''
}
<button type="submit">Показать</button></form>`;
    const body = `${form}
<section class="card" id="report" data-src="${esc(url('json'))}">
<h2>${esc(report.title)}, ${esc(report.asOf ? `на ${asOf}` : `${from} — ${to}`)}</h2>
<p class="downloads"><a id="download-csv" href="${esc(url('csv'))}" download>Скачать CSV</a> <a id="download-xlsx" href="${esc(url('xlsx'))}" download>Скачать XLSX</a></p>
<div class="chart" id="report-chart" role="img" aria-label="График отчёта по дням и каналам"></div>
<div id="report-table" aria-live="polite"><p class="muted">Загрузка…</p></div>
</section>`;
    sendPage(ctx, layout({ title: 'Отчёты', active: '/admin/reports', session: s, flash, body, charts: true }));
  });
}
