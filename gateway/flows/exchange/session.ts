import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { CmlError, type CmlVersion } from '../../../connectors/commerceml/types';
import type { GatewayConfig } from '../../config';
import { newToken } from '../../domain/ids';
import { nowIso } from '../../store/db';
import type { ExchangeSessionsTable } from '../../store/schema';
import { deleteStaleSessions, getSession, insertSession, updateSession } from '../../store/exchange';
import type { FlowDeps } from '../deps';

export type ExchangeBase = GatewayConfig['exchange']['bases'][number];

const SESSION_TTL_MS = 24 * 3600_000;
const SAFE_NAME = /^[\p{L}\p{N}_.\- ]{1,200}$/u;

/** A file name 1C sends: a plain name, no folders, nothing that climbs out of the session's folder. */
export function safeFileName(name: string): string {
  if (!SAFE_NAME.test(name) || name.includes('..') || name.startsWith('.')) {
    throw new CmlError(`Недопустимое имя файла «${name.slice(0, 80)}»: ожидается простое имя без папок.`);
  }
  return name;
}

export function basesOf(config: GatewayConfig): Map<string, ExchangeBase> {
  return new Map(config.exchange.bases.map((b) => [b.id, b]));
}

export function organizationsOf(d: FlowDeps, base: ExchangeBase): string[] {
  return base.organizations ?? d.config.organizations.map((o) => o.id);
}

/**
 * УТ finds an order it loaded before only by the site's number, looked up through a String(11)
 * column (ОбменССайтом.ЗагрузитьЗаказы): a longer number never matches, and 1C makes a new order at
 * every exchange. Orders of an organization a CommerceML base serves keep their number within it.
 */
export const SITE_NUMBER_MAX = 11;

export const numberLength = (number: string): number => Array.from(number).length;

/** True when some `exchange.bases[]` entry serves the organization. */
export function servedByExchange(config: GatewayConfig, organizationId: string): boolean {
  return config.exchange.bases.some((b) => !b.organizations || b.organizations.includes(organizationId));
}

export async function openSession(d: FlowDeps, base: ExchangeBase): Promise<ExchangeSessionsTable> {
  const now = nowIso();
  const row: ExchangeSessionsTable = {
    id: newToken(),
    base_id: base.id,
    version: null,
    query_at: null,
    query_orders: null,
    created_at: now,
    last_seen_at: now,
  };
  await insertSession(d.store.db, row);
  // sessions and files of a day ago are gone
  for (const id of await deleteStaleSessions(d.store.db, nowIso(Date.now() - SESSION_TTL_MS))) {
    rmSync(sessionDir(d, id), { recursive: true, force: true });
  }
  return row;
}

export async function findSession(d: FlowDeps, base: ExchangeBase, id: string | undefined): Promise<ExchangeSessionsTable | null> {
  if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) return null;
  const s = await getSession(d.store.db, base.id, id);
  if (!s || Date.parse(s.last_seen_at) < Date.now() - SESSION_TTL_MS) return null;
  await updateSession(d.store.db, s.id, { last_seen_at: nowIso() });
  return s;
}

export async function setSessionVersion(d: FlowDeps, session: ExchangeSessionsTable, version: CmlVersion): Promise<void> {
  await updateSession(d.store.db, session.id, { version });
}

export function sessionDir(d: FlowDeps, sessionId: string): string {
  return resolve(d.config.exchange.dir, sessionId);
}
