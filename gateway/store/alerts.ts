import { createHash } from 'node:crypto';
import { newId } from '../domain/ids';
import { nowIso, type Executor } from './db';
import type { AlertDeliveryRow, AlertRow, AlertsTable } from './schema';
import { insertIgnoreQuery, page } from './sql';

/** The record of alerts: every alert raised, the channels it went to and how each delivery went. */

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
export const alertKeyHash = (key: string): string => sha(key);

export interface NewAlert {
  key: string;
  kind: string;
  severity: AlertsTable['severity'];
  title: string;
  text: string;
  context: Record<string, unknown> | null;
  channels: string[];
  digest: AlertsTable['digest'];
  /** A «решено» notice is closed when raised. */
  resolved?: boolean;
}

/**
 * Records an alert unless one of the same key was recorded this hour (`hour`: YYYY-MM-DDTHH);
 * returns its id, or null when it was already there.
 */
export async function insertAlert(db: Executor, a: NewAlert, hour: string, now = nowIso()): Promise<string | null> {
  const id = newId();
  const row: AlertsTable = {
    id,
    dedupe: sha(`${a.key}\n${hour}`),
    key_hash: sha(a.key),
    key: a.key.slice(0, 1000),
    kind: a.kind.slice(0, 128),
    severity: a.severity,
    title: a.title.slice(0, 500),
    text: a.text,
    context: a.context ? JSON.stringify(a.context) : null,
    channels: JSON.stringify(a.channels),
    digest: a.digest,
    raised_at: now,
    resolved_at: a.resolved ? now : null,
  };
  const r = await db.executeQuery(insertIgnoreQuery(db, 'alerts', row, ['dedupe']).compile(db));
  return Number(r.numAffectedRows ?? 0) > 0 ? id : null;
}

/** One delivery row per channel the alert is to reach (`pending` until its job reports). */
export async function insertDeliveries(db: Executor, alertId: string, channels: string[], fallback = false): Promise<string[]> {
  const added: string[] = [];
  const now = nowIso();
  for (const channel of channels) {
    const r = await db.executeQuery(
      insertIgnoreQuery(
        db,
        'alert_deliveries',
        { alert_id: alertId, channel, status: 'pending', fallback: fallback ? 1 : 0, attempts: 0, last_error: null, updated_at: now },
        ['alert_id', 'channel'],
      ).compile(db),
    );
    if (Number(r.numAffectedRows ?? 0) > 0) added.push(channel);
  }
  return added;
}

/** What a channel's send job did: sent, failed and to be retried, or failed for good. */
export async function setDelivery(
  db: Executor,
  alertId: string,
  channel: string,
  outcome: { status: AlertDeliveryRow['status']; error?: string | null; attempt: number },
): Promise<void> {
  await db
    .updateTable('alert_deliveries')
    .set({
      status: outcome.status,
      attempts: outcome.attempt,
      ...(outcome.error !== undefined ? { last_error: outcome.error === null ? null : outcome.error.slice(0, 1000) } : {}),
      updated_at: nowIso(),
    })
    .where('alert_id', '=', alertId)
    .where('channel', '=', channel)
    .execute();
}

export async function deliveriesOf(db: Executor, alertIds: string[]): Promise<AlertDeliveryRow[]> {
  if (alertIds.length === 0) return [];
  return db.selectFrom('alert_deliveries').selectAll().where('alert_id', 'in', alertIds).orderBy('channel').execute();
}

/** The alerts recorded under a key (one a row per hour it was raised in), oldest first. */
export async function alertsByKey(db: Executor, key: string): Promise<AlertRow[]> {
  return db.selectFrom('alerts').selectAll().where('key_hash', '=', sha(key)).orderBy('raised_at').execute();
}

/** Closes the open alerts of a key; the number closed (0: none open, e.g. another process resolved it first). */
export async function resolveAlertsByKey(db: Executor, key: string, at = nowIso()): Promise<number> {
  const r = await db
    .updateTable('alerts')
    .set({ resolved_at: at })
    .where('key_hash', '=', sha(key))
    .where('resolved_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows ?? 0);
}

/** Open alerts of a kind (what a sweep checks again for «решено»). */
export async function openAlertsOfKind(db: Executor, kind: string, limit = 500): Promise<AlertRow[]> {
  return page(
    db,
    db.selectFrom('alerts').selectAll().where('kind', '=', kind).where('resolved_at', 'is', null).orderBy('raised_at'),
    limit,
  ).execute();
}

/** The alerts waiting for the daily digest, raised by `before` (its millisecond included), oldest first. */
export async function digestWaiting(db: Executor, before: string): Promise<AlertRow[]> {
  return db
    .selectFrom('alerts')
    .selectAll()
    .where('digest', '=', 'waiting')
    .where('raised_at', '<=', before)
    .orderBy('raised_at')
    .execute();
}

export async function markDigested(db: Executor, ids: string[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const r = await db
      .updateTable('alerts')
      .set({ digest: 'sent' })
      .where('id', 'in', ids.slice(i, i + 500))
      .where('digest', '=', 'waiting')
      .executeTakeFirst();
    n += Number(r.numUpdatedRows ?? 0);
  }
  return n;
}

/**
 * An alert as the admin lists it: the row (its context parsed, `channels` the channels it was routed to,
 * `digest` its place in the daily digest) and each channel's delivery with its last error.
 */
export interface AlertRecord extends Omit<AlertRow, 'context' | 'channels' | 'dedupe' | 'key_hash'> {
  context: Record<string, unknown> | null;
  channels: string[];
  deliveries: {
    channel: string;
    status: AlertDeliveryRow['status'];
    fallback: boolean;
    attempts: number;
    last_error: string | null;
    updated_at: string;
  }[];
}

/**
 * The newest alerts first. `open: true`: only those whose problem has not cleared; `open: false`:
 * only cleared ones. `failed: true`: only those a channel failed to deliver for good.
 */
export async function listAlerts(
  db: Executor,
  opts: { open?: boolean; failed?: boolean; limit?: number; offset?: number } = {},
): Promise<AlertRecord[]> {
  let q = db.selectFrom('alerts').selectAll();
  if (opts.open === true) q = q.where('resolved_at', 'is', null);
  if (opts.open === false) q = q.where('resolved_at', 'is not', null);
  if (opts.failed)
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('alert_deliveries as d')
          .select('d.alert_id')
          .whereRef('d.alert_id', '=', 'alerts.id')
          .where('d.status', '=', 'failed'),
      ),
    );
  const rows = await page(
    db,
    q.orderBy('raised_at', 'desc').orderBy('id', 'desc'),
    Math.min(opts.limit ?? 100, 1000),
    opts.offset ?? 0,
  ).execute();
  const deliveries = await deliveriesOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map(({ dedupe: _d, key_hash: _k, ...r }) => ({
    ...r,
    context: r.context ? (JSON.parse(r.context) as Record<string, unknown>) : null,
    channels: JSON.parse(r.channels) as string[],
    deliveries: deliveries
      .filter((d) => d.alert_id === r.id)
      .map((d) => ({
        channel: d.channel,
        status: d.status,
        fallback: d.fallback === 1,
        attempts: d.attempts,
        last_error: d.last_error,
        updated_at: d.updated_at,
      })),
  }));
}

// ---------------------------------------------------------------- refused credentials

export async function recordAuthFailure(db: Executor, f: { system: string; code: string; message: string }, at = nowIso()): Promise<void> {
  await db
    .insertInto('auth_failures')
    .values({ id: newId(), system: f.system.slice(0, 32), code: f.code.slice(0, 64), message: f.message.slice(0, 500), at })
    .execute();
}

/** Refused logins since `since`, per system, with the last one's message. */
export async function authFailuresSince(db: Executor, since: string): Promise<{ system: string; count: number; last: string }[]> {
  const rows = await db.selectFrom('auth_failures').select(['system', 'message', 'at']).where('at', '>=', since).orderBy('at').execute();
  const by = new Map<string, { system: string; count: number; last: string }>();
  for (const r of rows) {
    const e = by.get(r.system) ?? { system: r.system, count: 0, last: '' };
    e.count++;
    e.last = r.message;
    by.set(r.system, e);
  }
  return [...by.values()];
}

/** Forgets refused logins older than `before` (they only matter within the monitoring window). */
export async function pruneAuthFailures(db: Executor, before: string): Promise<void> {
  await db.deleteFrom('auth_failures').where('at', '<', before).execute();
}

/** Alerts about one payment (its id in the alert's context: the payment's own, or a dead job's payload), oldest first. */
export async function alertsMentioning(db: Executor, id: string, limit = 50): Promise<AlertRow[]> {
  return page(
    db,
    db
      .selectFrom('alerts')
      .selectAll()
      .where('context', 'like', `%"${id.replace(/[%_"\\]/g, '')}"%`)
      .orderBy('raised_at', 'asc')
      .orderBy('id', 'asc'),
    limit,
  ).execute();
}
