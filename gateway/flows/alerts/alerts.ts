import type { JobQueue } from '../../jobs/queue';
import { defineJob } from '../../jobs/types';
import type { Logger } from '../../log';
import { ALERTS } from './catalog';
import { type Alert, type AlertSeverity, ExternalError, type Notifier } from '../../ports';
import { alertsByKey, deliveriesOf, insertAlert, insertDeliveries, resolveAlertsByKey, setDelivery } from '../../store/alerts';
import type { Db, Executor, Store } from '../../store/db';
import type { JobRow } from '../../store/schema';

/** The pseudo-channel of routes that collects alerts for the daily digest. */
export const DIGEST = 'digest';

export interface AlertRoute {
  severity?: AlertSeverity[];
  kinds?: string[];
  channels: string[];
}

/** How alerts are routed: the channels' names (as the config names them) and the routes (none: every alert to every channel). */
export interface AlertRouting {
  names: string[];
  routes?: AlertRoute[];
}

/** What routes match: the alert's own kind, else its key up to the first `:`. */
export const alertKind = (alert: Alert): string => alert.kind ?? alert.key.split(':')[0]!;

/** A route's kind matches the alert's kind itself and the kinds under it (`monitor` matches `monitor.dead_jobs`). */
const kindMatches = (kind: string, wanted: string) => kind === wanted || kind.startsWith(`${wanted}.`);

/** The channels (and `digest`) an alert is routed to. */
export function routeAlert(alert: Alert, routing: AlertRouting): string[] {
  if (!routing.routes) return [...routing.names];
  const kind = alertKind(alert);
  const out = new Set<string>();
  for (const r of routing.routes) {
    if (r.severity && !r.severity.includes(alert.severity)) continue;
    if (r.kinds && !r.kinds.some((k) => kindMatches(kind, k))) continue;
    for (const c of r.channels) out.add(c);
  }
  return [...out];
}

/** Channels without configured names: their type, numbered when it repeats (as the config names them). */
function defaultNames(types: string[]): string[] {
  const seen = new Map<string, number>();
  return types.map((t) => {
    const n = (seen.get(t) ?? 0) + 1;
    seen.set(t, n);
    return types.filter((x) => x === t).length > 1 ? `${t}-${n}` : t;
  });
}

interface SendPayload {
  /** The channel's name (older jobs: its index in the configuration). */
  channel: string | number;
  alert: Alert;
  /** The alert's row in the record. */
  alertId?: string;
}

/**
 * Alerts are jobs like everything else: raised inside the transaction that found the problem,
 * recorded, routed by severity and kind, and sent to each channel by its own job, at most once per
 * key and hour. A channel that fails for good hands the alert to the other channels; a «решено»
 * notice goes where the alert it resolves went.
 */
export class Alerts {
  private readonly routing: AlertRouting;

  constructor(
    private readonly queue: JobQueue,
    private readonly channels: Notifier[],
    private readonly log: Logger,
    routing?: Partial<AlertRouting>,
  ) {
    this.routing = { names: routing?.names ?? defaultNames(channels.map((c) => c.name)), routes: routing?.routes };
  }

  async raise(trx: Executor, alert: Alert): Promise<void> {
    const hour = new Date().toISOString().slice(0, 13);
    let targets: string[] | null = null;
    if (alert.resolves) {
      const originals = await alertsByKey(trx, alert.resolves);
      if (originals.length > 0) {
        // «решено» once: whoever closes the alert sends it
        if ((await resolveAlertsByKey(trx, alert.resolves)) === 0) return;
        const delivered = await deliveriesOf(
          trx,
          originals.map((o) => o.id),
        );
        const set = new Set(delivered.map((d) => d.channel));
        if (originals.some((o) => o.digest !== null)) set.add(DIGEST);
        targets = [...set];
      }
    }
    targets ??= routeAlert(alert, this.routing);
    await this.dispatch(trx, alert, targets, hour);
  }

  /** Records the alert and queues it to `targets` (channels, or `digest`); nothing when this key was raised this hour. */
  async dispatch(trx: Executor, alert: Alert, targets: string[], hour = new Date().toISOString().slice(0, 13)): Promise<void> {
    const channels = targets.filter((t) => t !== DIGEST && this.routing.names.includes(t));
    const id = await insertAlert(
      trx,
      {
        key: alert.key,
        kind: alertKind(alert),
        severity: alert.severity,
        title: alert.title,
        text: alert.text,
        context: alert.context ?? null,
        channels: targets,
        digest: targets.includes(DIGEST) ? 'waiting' : null,
        resolved: alert.resolves !== undefined,
      },
      hour,
    );
    if (id === null) return;
    if (targets.length === 0)
      this.log.warn({ alert: { key: alert.key, severity: alert.severity, title: alert.title } }, 'alert matches no route: recorded only');
    await insertDeliveries(trx, id, channels);
    for (const channel of channels) await this.enqueueSend(trx, id, channel, alert, hour);
  }

  private async enqueueSend(trx: Executor, alertId: string, channel: string, alert: Alert, hour: string): Promise<void> {
    await this.queue.enqueue(trx, sendAlertJob, { channel, alert, alertId }, { key: `alert:${alert.key}:${channel}:${hour}` });
  }

  /**
   * The problem of the open alert `key` cleared: «Решено: <its title>» goes where it went, once.
   * False when no such alert is open.
   */
  async resolve(trx: Executor, key: string, text: string, context: Alert['context'] = {}): Promise<boolean> {
    const open = (await alertsByKey(trx, key)).filter((a) => a.resolved_at === null);
    const last = open[open.length - 1];
    if (!last) return false;
    await this.raise(trx, ALERTS.resolved({ key, kind: last.kind, title: last.title }, text, context));
    return true;
  }

  /** A job used up its attempts. */
  deadJob = (trx: Executor, job: JobRow, error: string): Promise<void> => this.raise(trx, ALERTS.deadJob(job, error));

  /**
   * Sends an alert to one channel (the send job) and records how it went. The other channels have
   * jobs of their own; when this one gives up (refused for good, or the last attempt), the alert
   * goes to the log with why, and to the channels it was not routed to.
   */
  async send(
    payload: SendPayload,
    attempt: { attempt: number; maxAttempts: number } = { attempt: 1, maxAttempts: 1 },
    db?: Db,
  ): Promise<void> {
    const { alert, alertId } = payload;
    const index = typeof payload.channel === 'number' ? payload.channel : this.routing.names.indexOf(payload.channel);
    const name = typeof payload.channel === 'number' ? (this.routing.names[index] ?? String(index)) : payload.channel;
    const notifier = this.channels[index];
    if (!notifier) {
      this.log.warn({ alert }, 'alert channel removed from the configuration; alert written to the log only');
      if (db && alertId)
        await setDelivery(db, alertId, name, {
          status: 'failed',
          error: 'channel removed from the configuration',
          attempt: attempt.attempt,
        });
      return;
    }
    try {
      await notifier.send(alert);
    } catch (e) {
      const final = (e instanceof ExternalError && !e.retryable) || attempt.attempt >= attempt.maxAttempts;
      const error = (e as Error).message;
      if (db && alertId) {
        await setDelivery(db, alertId, name, { status: final ? 'failed' : 'retrying', error, attempt: attempt.attempt });
        if (final) await this.fallBack(db, alertId, name, alert);
      }
      if (final)
        this.log.error(
          {
            alert: { severity: alert.severity, title: alert.title, text: alert.text, context: alert.context },
            channel: name,
            err: e,
          },
          `alert not delivered to the ${name} channel: ${error}; the alert is written here`,
        );
      throw e;
    }
    if (db && alertId) await setDelivery(db, alertId, name, { status: 'sent', error: null, attempt: attempt.attempt });
  }

  /** A channel failed for good: the alert goes to every channel it has not been sent to yet. */
  private async fallBack(db: Db, alertId: string, failed: string, alert: Alert): Promise<void> {
    const hour = new Date().toISOString().slice(0, 13);
    const added = await db.transaction().execute(async (trx) => {
      const others = this.routing.names.filter((n) => n !== failed);
      const fresh = await insertDeliveries(trx, alertId, others, true);
      for (const channel of fresh) await this.enqueueSend(trx, alertId, channel, alert, hour);
      return fresh;
    });
    if (added.length > 0) {
      this.log.warn({ alert: { key: alert.key }, failed, fallback: added }, 'alert handed to the other channels');
      this.queue.kick();
    }
  }
}

/** One alert to one channel; a dead alert job raises no alert of its own. */
export const sendAlertJob = defineJob(
  'alert.send',
  (d: { alerts: Alerts; store?: Store }, p: SendPayload, ctx) => d.alerts.send(p, ctx, d.store?.db),
  { maxAttempts: 8, alertWhenDead: false },
);
