import { z } from 'zod';
import { ping } from '../../store/db';
import { openApiDocument, type ApiRouter } from '../api';
import type { HttpDeps } from '../deps';

async function check(fn: () => Promise<unknown>, timeoutMs = 3000): Promise<{ ok: boolean; error?: string }> {
  try {
    await Promise.race([
      fn(),
      new Promise((_, rej) => setTimeout(() => rej(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

export interface Readiness {
  status: 'ok' | 'degraded' | 'unavailable';
  checks: {
    store: { ok: boolean; error?: string; dialect: string };
    queue: { ok: boolean; error?: string; runner: string };
    onec: Record<string, { ok: boolean; error?: string; transport: string }>;
  };
}

/**
 * What the probe waits for a 1C base: its answer only colours the status (`degraded`), so a base slow to
 * answer — or its requests all taken by deliveries in flight — must not hold the probe past a
 * kubelet's default timeout of 1 s (a probe that times out takes the process out of service).
 */
export const PROBE_ONEC_TIMEOUT_MS = 900;

/** What /health/ready answers (and the /admin health page shows): the store, the job queue, each 1C base. */
export async function readiness(d: HttpDeps, onecTimeoutMs = 10_000): Promise<Readiness> {
  const bases = d.onec.all();
  const [store, queue, ...onec] = await Promise.all([
    check(() => ping(d.store)),
    check(() => d.runner.ping()),
    ...bases.map(([, sink]) => check(() => sink.ping(), onecTimeoutMs)),
  ]);
  const checks = {
    store: { ...store, dialect: d.store.dialect },
    queue: { ...queue, runner: d.runner.kind },
    onec: Object.fromEntries(bases.map(([org, sink], i) => [org, { ...onec[i], transport: sink.transport }])),
  };
  // 1C being down does not stop the gateway taking payments (deliveries wait as jobs): degraded, not unavailable
  const ok = store.ok && queue.ok;
  return { status: !ok ? 'unavailable' : onec.every((c) => c.ok) ? 'ok' : 'degraded', checks };
}

export function opsRoutes(api: ApiRouter, d: HttpDeps): void {
  api.route(
    {
      method: 'get',
      path: '/health/live',
      summary: 'The process answers',
      tag: 'operations',
      auth: 'none',
      responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
    },
    async (ctx) => {
      ctx.body = { status: 'ok' };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/health/ready',
      summary:
        'The store and the job queue answer (503 naming what does not); each 1C base is checked too (`degraded` when one does not answer). 503 `stopping` at once from the moment shutdown begins',
      tag: 'operations',
      auth: 'none',
      responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready, or stopping' } },
    },
    async (ctx) => {
      if (d.lifecycle.draining) {
        ctx.status = 503;
        ctx.body = { status: 'stopping' };
        return;
      }
      const r = await readiness(d, PROBE_ONEC_TIMEOUT_MS);
      ctx.status = r.status === 'unavailable' ? 503 : 200;
      ctx.body = r;
    },
  );

  api.route(
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics',
      tag: 'operations',
      auth: 'none',
      responses: { 200: { description: 'Metrics', contentType: 'text/plain' } },
    },
    async (ctx) => {
      ctx.type = d.metrics.registry.contentType;
      ctx.body = await d.metrics.registry.metrics();
    },
  );

  api.route(
    {
      method: 'get',
      path: '/openapi.json',
      summary: 'This document',
      tag: 'operations',
      auth: 'none',
      responses: { 200: { description: 'OpenAPI 3.1' } },
    },
    async (ctx) => {
      ctx.body = openApiDocument(api.docs, { version: d.version, serverUrl: d.config.server.publicUrl });
    },
  );
}
