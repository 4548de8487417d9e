import type { Middleware } from 'koa';
import { z } from 'zod';
import { operationViewSchema } from '../../../schemas/api';
import { HISTORY_SCHEDULE, lastHistoryRuns } from '../../flows/history/agent';
import { matchOperation, resolveOperation } from '../../flows/history/operations';
import { conflict, notFound } from '../../errors';
import { findOperations, getOperation } from '../../store/operations';
import type { MatchState, OperationRow } from '../../store/schema';
import type { ApiRouter } from '../api';
import type { HttpDeps } from '../deps';
import { jsonBody, parseQuery } from '../middleware';

export function operationView(o: OperationRow) {
  return {
    id: o.id,
    organization: o.organization_id,
    provider: o.provider,
    kind: o.kind,
    providerRef: o.provider_ref,
    orderNumber: o.order_number,
    method: o.method,
    amount: o.amount,
    occurredAt: o.occurred_at,
    payerBank: o.payer_bank,
    purpose: o.purpose,
    channel: o.channel,
    source: o.source,
    paymentId: o.payment_id,
    orderId: o.order_id,
    match: { state: o.match_state, ...(o.match_note ? { note: o.match_note } : {}) },
    lines: o.lines ? (JSON.parse(o.lines) as { line: number; sku: string; name: string; amount: number }[]) : [],
    createdAt: o.created_at,
  };
}

const STATES = ['matched', 'unmatched', 'ambiguous', 'mismatch', 'resolved'] as const;
const operationsQuery = z.object({
  state: z
    .string()
    .default('review')
    .transform((v) => (v === 'review' ? ['unmatched', 'ambiguous', 'mismatch'] : v === 'all' ? [] : v.split(',')))
    .pipe(z.array(z.enum(STATES)))
    .meta({ description: '`review` (default: unmatched, ambiguous, mismatch), `all`, or a comma-separated list of states' }),
  organization: z.string().max(64).optional(),
  orderId: z.string().max(64).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const matchBody = z.object({ orderId: z.string().min(1).max(64), note: z.string().max(300).optional() }).meta({ id: 'MatchOperation' });
const resolveBody = z.object({ note: z.string().trim().min(1).max(300) }).meta({ id: 'ResolveOperation' });

/** The payment history for support and accounting: the review list, matching by hand, the agent on demand. */
export function historyRoutes(api: ApiRouter, d: HttpDeps, auth: Middleware): void {
  api.route(
    {
      method: 'get',
      path: '/api/v1/admin/operations',
      summary: 'The payment history: every operation a provider reported, with its order and lines; by default the review list',
      tag: 'admin',
      auth: 'admin',
      query: operationsQuery,
      responses: { 200: { description: 'Operations, newest first', schema: z.object({ items: z.array(operationViewSchema) }) } },
    },
    auth,
    async (ctx) => {
      const q = parseQuery(ctx, operationsQuery);
      const organizations = q.organization ? [q.organization] : d.config.organizations.map((o) => o.id);
      const items = await findOperations(d.store.db, {
        organizations,
        states: q.state as MatchState[],
        orderId: q.orderId,
        from: q.from,
        to: q.to,
        limit: q.limit,
      });
      ctx.body = { items: items.map(operationView) };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/v1/admin/operations/:id',
      summary: 'One operation of the history',
      tag: 'admin',
      auth: 'admin',
      responses: { 200: { description: 'The operation', schema: operationViewSchema } },
    },
    auth,
    async (ctx) => {
      const op = await getOperation(d.store.db, ctx.params.id);
      if (!op) throw notFound('operation');
      ctx.body = operationView(op);
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/v1/admin/operations/:id/match',
      summary: 'Link an operation from the review list to its order (its lines are allocated as usual)',
      tag: 'admin',
      auth: 'admin',
      body: matchBody,
      responses: {
        200: { description: 'Linked', schema: operationViewSchema },
        409: { description: 'The operation is not in the review list' },
      },
    },
    auth,
    async (ctx) => {
      const { orderId, note } = await jsonBody(ctx, matchBody, 4096);
      const op = await matchOperation(d, ctx.params.id, orderId, note);
      ctx.state.log.info({ operationId: op.id, orderId }, 'operation matched by hand');
      ctx.body = operationView(op);
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/v1/admin/operations/:id/resolve',
      summary: 'Close a review item that belongs to no order, with a note',
      tag: 'admin',
      auth: 'admin',
      body: resolveBody,
      responses: {
        200: { description: 'Closed', schema: operationViewSchema },
        409: { description: 'The operation is not in the review list' },
      },
    },
    auth,
    async (ctx) => {
      const { note } = await jsonBody(ctx, resolveBody, 4096);
      const op = await resolveOperation(d, ctx.params.id, note);
      ctx.state.log.info({ operationId: op.id }, 'operation closed by hand');
      ctx.body = operationView(op);
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/v1/admin/history/run',
      summary: 'Read every provider’s registry of operations now (one run at a time across processes); answers with what each read found',
      tag: 'admin',
      auth: 'admin',
      responses: { 200: { description: 'The runs', schema: z.object({ runs: z.array(z.record(z.string(), z.unknown())) }) } },
    },
    auth,
    async (ctx) => {
      try {
        await d.runner.runScheduleNow(HISTORY_SCHEDULE);
      } catch (e) {
        const message = String((e as Error).message);
        if (/no schedule/.test(message)) throw notFound('registry of operations (no provider has one configured)');
        if (/still running elsewhere/.test(message))
          throw conflict('history_running', 'the agent is reading the registries in another process; try again in a minute');
        // a registry that could not be read: the runs below say which and why
      }
      ctx.body = { runs: await lastHistoryRuns(d) };
    },
  );
}
