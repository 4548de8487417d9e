import type { ScheduleDefinition } from '../../jobs/types';
import { noteAuthFailure } from '../alerts/auth-failures';
import { getSyncState, setSyncState } from '../../store/sync-state';
import type { FlowDeps } from '../deps';
import type { ProviderOperation } from '../../ports';
import { ingestOperations, type IngestResult } from './operations';
import { syncAttempt } from '../payments/sync';
import { ALERTS } from '../alerts/catalog';

export const HISTORY_SCHEDULE = 'history';

/**
 * Operations stored a transaction per this many: a crash loses at most the page being stored, and
 * the next run reads it again (the window moves on only after a whole run).
 */
export const INGEST_PAGE = 500;

export interface HistoryRun {
  organization: string;
  provider: string;
  from: string;
  to: string;
  seen: number;
  recorded: number;
  review: number;
  recovered: number;
  error?: string;
}

/**
 * Reads every registry over a window reaching back `overlapMinutes` before the previous run's
 * end, so operations a provider lists late are still seen; every operation is stored once.
 */
export async function runHistory(d: FlowDeps, only?: { organization?: string; provider?: string }): Promise<HistoryRun[]> {
  const runs: HistoryRun[] = [];
  const h = d.config.history;
  for (const org of d.config.organizations) {
    if (only?.organization && only.organization !== org.id) continue;
    for (const name of Object.keys(org.providers)) {
      if (only?.provider && only.provider !== name) continue;
      const provider = d.providers.get(org.id, name);
      if (!provider?.listOperations) continue;
      const key = `history:${org.id}:${name}`;
      const mark = await getSyncState(d.store.db, key);
      const to = new Date();
      const from = mark ? new Date(Date.parse(mark) - h.overlapMinutes * 60_000) : new Date(to.getTime() - h.lookbackHours * 3_600_000);
      const run: HistoryRun = {
        organization: org.id,
        provider: name,
        from: from.toISOString(),
        to: to.toISOString(),
        seen: 0,
        recorded: 0,
        review: 0,
        recovered: 0,
      };
      runs.push(run);
      const into: IngestResult = { recorded: 0, review: 0, recover: new Set() };
      let page: ProviderOperation[] = [];
      const flush = async () => {
        const ops = page;
        page = [];
        await ingestOperations(d, org.id, name, ops, into);
      };
      let failure: unknown = null;
      try {
        for await (const op of provider.listOperations({ from, to })) {
          run.seen++;
          page.push(op);
          if (page.length >= INGEST_PAGE) await flush();
        }
      } catch (e) {
        failure = e;
      }
      // what was read before the registry failed is stored all the same
      try {
        await flush();
      } catch (e) {
        failure ??= e;
      }
      if (failure !== null) {
        const e = failure;
        run.error = (e as Error).message;
        d.log.warn({ err: e, organization: org.id, provider: name }, 'reading the registry of operations failed');
        await noteAuthFailure(d.store.db, e);
        await d.store.db
          .transaction()
          .execute((trx) =>
            d.alerts.raise(
              trx,
              ALERTS.historyFailed({ organizationId: org.id, organizationName: org.name, provider: name, error: run.error! }),
            ),
          );
        d.jobs.kick();
      }
      for (const attemptId of into.recover) {
        try {
          await syncAttempt(d, attemptId, { poll: true });
          run.recovered++;
        } catch (e) {
          d.log.warn({ err: e, attemptId }, 'confirming a payment found in the registry failed; the janitor retries');
        }
      }
      Object.assign(run, { recorded: into.recorded, review: into.review });
      if (!run.error) await setSyncState(d.store, key, run.to);
      d.log.info(run, 'registry of operations read');
    }
  }
  return runs;
}

const LAST_RUNS = 'history:last-runs';

/** What the agent's last run found, per organization and provider. */
export async function lastHistoryRuns(d: FlowDeps): Promise<HistoryRun[]> {
  const r = await getSyncState(d.store.db, LAST_RUNS);
  return r ? (JSON.parse(r) as HistoryRun[]) : [];
}

/** The agent, hourly by default; one run at a time across every process (the schedule's lease). */
export function historySchedule(d: FlowDeps): ScheduleDefinition | null {
  const any = d.config.organizations.some((o) => Object.keys(o.providers).some((p) => d.providers.get(o.id, p)?.listOperations));
  if (!any) return null;
  return {
    name: HISTORY_SCHEDULE,
    everyMs: d.config.history.everyMinutes * 60_000,
    handler: async () => {
      const runs = await runHistory(d);
      await setSyncState(d.store, LAST_RUNS, JSON.stringify(runs));
      const failed = runs.filter((r) => r.error);
      if (failed.length) throw new Error(failed.map((r) => `${r.organization}/${r.provider}: ${r.error}`).join('; '));
    },
  };
}
