import type { Middleware } from 'koa';
import { z } from 'zod';
import { jobViewSchema, receiptViewSchema } from '../../../schemas/api';
import { notFound, conflict } from '../../errors';
import { retryReceipt } from '../../flows/fiscal/retry';
import { receiptView } from '../../flows/views';
import { countJobsByStatus, getJob, listJobs } from '../../store/jobs';
import { listReceipts } from '../../store/receipts';
import type { JobRow } from '../../store/schema';
import type { ApiRouter } from '../api';
import type { HttpDeps } from '../deps';
import { parseQuery } from '../middleware';

function jobView(j: JobRow) {
  return {
    id: j.id,
    name: j.name,
    status: j.status,
    attempts: j.attempts,
    maxAttempts: j.max_attempts,
    runAt: j.run_at,
    ...(j.last_error ? { lastError: j.last_error } : {}),
    payload: JSON.parse(j.payload),
    createdAt: j.created_at,
    updatedAt: j.updated_at,
  };
}

const jobsQuery = z.object({
  status: z.enum(['pending', 'queued', 'running', 'done', 'dead']).optional(),
  name: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const receiptsQuery = z.object({
  status: z.enum(['pending', 'sent', 'done', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export function adminRoutes(api: ApiRouter, d: HttpDeps, auth: Middleware): void {
  api.route(
    {
      method: 'get',
      path: '/api/v1/admin/receipts',
      summary: 'Receipts, newest first; `status=failed` lists the ones to fix and retry',
      tag: 'admin',
      auth: 'admin',
      query: receiptsQuery,
      responses: { 200: { description: 'Receipts', schema: z.object({ items: z.array(receiptViewSchema) }) } },
    },
    auth,
    async (ctx) => {
      const q = parseQuery(ctx, receiptsQuery);
      ctx.body = { items: (await listReceipts(d.store.db, q)).map(receiptView) };
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/v1/admin/receipts/:id/retry',
      summary:
        'Send a failed receipt again (a new try: nothing was registered), revive its dead job, or ask the register about a sent one now',
      tag: 'admin',
      auth: 'admin',
      responses: {
        200: { description: 'On its way again', schema: receiptViewSchema },
        409: { description: 'Registered already, on its way already, or still invalid' },
      },
    },
    auth,
    async (ctx) => {
      const r = await retryReceipt(d, (id) => d.runner.retry(id), ctx.params.id);
      ctx.state.log.info({ receiptId: r.id }, 'receipt retried by admin');
      ctx.body = receiptView(r);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/v1/admin/jobs',
      summary: 'Jobs, newest first; `status=dead` lists the dead letters',
      tag: 'admin',
      auth: 'admin',
      query: jobsQuery,
      responses: {
        200: {
          description: 'Jobs and counts by status',
          schema: z.object({ items: z.array(jobViewSchema), counts: z.record(z.string(), z.number()) }),
        },
      },
    },
    auth,
    async (ctx) => {
      const q = parseQuery(ctx, jobsQuery);
      const [items, counts] = await Promise.all([listJobs(d.store.db, q), countJobsByStatus(d.store.db)]);
      ctx.body = { items: items.map(jobView), counts };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/v1/admin/jobs/:id',
      summary: 'One job',
      tag: 'admin',
      auth: 'admin',
      responses: { 200: { description: 'The job', schema: jobViewSchema } },
    },
    auth,
    async (ctx) => {
      const job = await getJob(d.store.db, ctx.params.id);
      if (!job) throw notFound('job');
      ctx.body = jobView(job);
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/v1/admin/jobs/:id/retry',
      summary: 'Run a dead job again with a fresh set of attempts (after fixing the cause)',
      tag: 'admin',
      auth: 'admin',
      responses: { 200: { description: 'Queued again', schema: jobViewSchema }, 409: { description: 'The job is not dead' } },
    },
    auth,
    async (ctx) => {
      const job = await getJob(d.store.db, ctx.params.id);
      if (!job) throw notFound('job');
      // the job as it was queued again: a runner may take it up before this answer is sent
      const revived = await d.runner.retry(job.id);
      if (!revived) throw conflict('job_not_dead', `the job is ${job.status}; only dead jobs can be retried`);
      ctx.state.log.info({ jobId: job.id, job: job.name }, 'dead job retried by admin');
      ctx.body = jobView(revived);
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/v1/admin/schedules/:name/run',
      summary: 'Run a periodic task now (e.g. `janitor`)',
      tag: 'admin',
      auth: 'admin',
      responses: { 200: { description: 'Done', schema: z.object({ ok: z.boolean() }) } },
    },
    auth,
    async (ctx) => {
      try {
        await d.runner.runScheduleNow(ctx.params.name);
      } catch (e) {
        if (/no schedule/.test(String((e as Error).message))) throw notFound('schedule');
        throw e;
      }
      ctx.body = { ok: true };
    },
  );
}
