import { conflict, notFound } from '../../../errors';
import { countJobsByStatus, getJob, listJobs } from '../../../store/jobs';
import type { JobStatus } from '../../../store/schema';
import type { AdminKit } from './kit';
import { localBack } from './kit';
import { actionButton, esc, JOB_STATUS_RU, layout, ru, sendPage, table, when } from './layout';

const STATUSES: JobStatus[] = ['pending', 'queued', 'running', 'done', 'dead'];

/** Jobs by status; a dead one can be run again («Повторить»). */
export function jobPages(kit: AdminKit): void {
  const { d } = kit;

  kit.view('/admin/jobs', 'Jobs; dead ones can be retried', async (ctx, s, flash) => {
    const status = STATUSES.includes(ctx.query.status as JobStatus) ? (ctx.query.status as JobStatus) : undefined;
    const name = typeof ctx.query.name === 'string' && /^[a-z0-9.:_-]{1,64}$/i.test(ctx.query.name) ? ctx.query.name : undefined;
    const [jobs, counts] = await Promise.all([listJobs(d.store.db, { status, name, limit: 200 }), countJobsByStatus(d.store.db)]);
    const back = ctx.originalUrl;
    const filters = `<nav class="tabs" aria-label="Статус">${[undefined, ...STATUSES]
      .map((st) => {
        const href = `/admin/jobs${st ? `?status=${st}` : ''}`;
        const label = st ? `${JOB_STATUS_RU[st]} (${counts[st] ?? 0})` : 'все';
        return `<a href="${href}"${st === status ? ' aria-current="true"' : ''}>${esc(label)}</a>`;
      })
      .join('')}</nav>${name ? `<p class="muted">Задания «${esc(name)}» · <a href="/admin/jobs">все</a></p>` : ''}`;
    const rows = jobs.map((j) => {
      let payment = '';
      try {
        const p = JSON.parse(j.payload) as Record<string, unknown>;
        if (typeof p.paymentId === 'string') payment = `<a href="/admin/payments/${esc(p.paymentId)}">платёж</a>`;
      } catch {
        /* not JSON */
      }
      return [
        `<code>${esc(j.name)}</code>`,
        ru(JOB_STATUS_RU, j.status),
        `${j.attempts} / ${j.max_attempts}`,
        esc(when(j.updated_at)),
        `<span class="error-text">${esc((j.last_error ?? '').slice(0, 300))}</span>`,
        payment,
        j.status === 'dead'
          ? actionButton(s, `/admin/jobs/${j.id}/retry`, 'Повторить', `<input type="hidden" name="back" value="${esc(back)}">`)
          : '',
      ];
    });
    sendPage(
      ctx,
      layout({
        title: 'Задания',
        active: '/admin/jobs',
        session: s,
        flash,
        body: `${filters}<section id="jobs">${table(['Задание', 'Статус', 'Попытки', 'Изменено', 'Последняя ошибка', '', ''], rows, 'Заданий нет.')}</section>`,
      }),
    );
  });

  kit.action('/admin/jobs/:id/retry', 'Retry a dead job', async (ctx, s, form) => {
    const job = await getJob(d.store.db, ctx.params.id);
    if (!job) throw notFound('job');
    const revived = await d.runner.retry(job.id);
    if (!revived) throw conflict('job_not_dead', `the job is ${job.status}; only dead jobs can be retried`);
    ctx.state.log.info({ jobId: job.id, job: job.name, keyId: s.keyId }, 'dead job retried by admin');
    return {
      back: localBack(form.get('back'), '/admin/jobs?status=dead'),
      flash: { kind: 'ok', text: `Задание ${job.name} поставлено в очередь заново.` },
    };
  });
}
