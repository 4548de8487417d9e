import type { ScheduleDefinition } from '../../jobs/types';
import { noteAuthFailure } from '../alerts/auth-failures';
import { getSyncState, setSyncState } from '../../store/sync-state';
import { ALERTS } from '../alerts/catalog';
import type { FlowDeps } from '../deps';
import { matchAndApply } from './apply';
import { ingestStatement } from './ingest';

export const STATEMENT_POLL = 'statements.poll';

export interface StatementPoll {
  organization: string;
  source: string;
  /** Where the read started from: the watermark kept from the previous read (null: the first read). */
  since: string | null;
  seen: number;
  stored: number;
  matched: number;
  paid: number;
  cursor: string | null;
  error?: string;
}

const watermarkKey = (organizationId: string, source: string) => `statement:${organizationId}:${source}`;

/**
 * Reads each organization's statement API since its watermark, stores the incoming lines (each once),
 * keeps the new watermark, and matches and applies at once. A read that fails raises an alert, keeps
 * the watermark where it was and changes nothing; the other organizations are read all the same.
 */
export async function pollStatements(d: FlowDeps, only?: string[]): Promise<StatementPoll[]> {
  const polls: StatementPoll[] = [];
  for (const org of d.config.organizations) {
    if (only && !only.includes(org.id)) continue;
    const source = d.statementApis.get(org.id);
    if (!source) continue;
    const key = watermarkKey(org.id, source.name);
    const since = (await getSyncState(d.store.db, key)) ?? null;
    const poll: StatementPoll = {
      organization: org.id,
      source: source.name,
      since,
      seen: 0,
      stored: 0,
      matched: 0,
      paid: 0,
      cursor: since,
    };
    polls.push(poll);
    try {
      const read = await ingestStatement(d, org.id, source, since);
      Object.assign(poll, { seen: read.seen, stored: read.stored });
      if (read.cursor && read.cursor !== since) {
        await setSyncState(d.store, key, read.cursor);
        poll.cursor = read.cursor;
      }
    } catch (e) {
      poll.error = (e as Error).message;
      d.log.warn({ err: e, organization: org.id, source: source.name }, 'reading the bank statement failed');
      await noteAuthFailure(d.store.db, e);
      await d.store.db
        .transaction()
        .execute((trx) =>
          d.alerts.raise(
            trx,
            ALERTS.statementApiFailed({ organizationId: org.id, organizationName: org.name, source: source.name, error: poll.error! }),
          ),
        );
      d.jobs.kick();
      continue;
    }
    const run = await matchAndApply(d, org.id);
    Object.assign(poll, { matched: run.matched, paid: run.paid });
    d.log.info(poll, 'bank statement read');
  }
  return polls;
}

/**
 * Every `everySeconds` of each organization's statement API (the schedule ticks at the smallest of
 * them and reads the organizations that are due). A failed read fails the run, after the others.
 */
export function statementPollSchedule(d: FlowDeps): ScheduleDefinition | null {
  const every = new Map<string, number>();
  for (const org of d.config.organizations) {
    const c = org.payments.invoice?.statementApi;
    if (c && d.statementApis.has(org.id)) every.set(org.id, c.everySeconds * 1000);
  }
  if (every.size === 0) return null;
  const dueAt = new Map<string, number>();
  return {
    name: STATEMENT_POLL,
    everyMs: Math.min(...every.values()),
    handler: async () => {
      const now = Date.now();
      // a little early counts as due: the ticks of the schedule are not exact
      const due = [...every].filter(([org, ms]) => (dueAt.get(org) ?? 0) <= now + ms / 10).map(([org]) => org);
      for (const org of due) dueAt.set(org, now + every.get(org)!);
      const failed = (await pollStatements(d, due)).filter((p) => p.error);
      if (failed.length) throw new Error(failed.map((p) => `${p.organization}/${p.source}: ${p.error}`).join('; '));
    },
  };
}
