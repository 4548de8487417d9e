import { ExternalError, FiscalError, OneCError } from '../../ports';
import { recordAuthFailure } from '../../store/alerts';
import type { Executor } from '../../store/db';

/**
 * A bank's own answer to a wrong login: Sber's errorCode 5 saying access is denied (5 also means a bad
 * parameter, told apart by its message), T-Bank's ErrorCodes for a wrong token or terminal (202
 * terminal blocked, 204 wrong token, 205 terminal not found).
 */
const PROVIDER_AUTH: Record<string, (code: string, message: string) => boolean> = {
  sber: (code, message) => code === '5' && /доступ запрещ|access denied|логин|парол|password|login/i.test(message),
  tbank: (code) => code === '202' || code === '204' || code === '205',
};

/**
 * An outside system refusing the gateway's credentials, as the connectors classify it: 1C's
 * `auth`/`access` (HTTP 401/403, a login page), a register's `auth` (ATOL's refused token), HTTP
 * 401/403 of any connector, a bank's auth error code. Null for any other failure.
 */
export function authFailureOf(e: unknown, depth = 0): { system: string; code: string; message: string } | null {
  // a job that wraps the connector's error (a permanent failure) keeps it as its cause
  if (!(e instanceof ExternalError)) return e instanceof Error && e.cause && depth < 3 ? authFailureOf(e.cause, depth + 1) : null;
  const code = e.code ?? '';
  const auth =
    (e instanceof OneCError && (e.kind === 'auth' || e.kind === 'access')) ||
    (e instanceof FiscalError && e.kind === 'auth') ||
    code === 'http_401' ||
    code === 'http_403' ||
    (PROVIDER_AUTH[e.system]?.(code, e.message) ?? false);
  return auth ? { system: e.system, code: code || 'auth', message: e.message } : null;
}

/** Counts a refused login (the monitoring rule `auth_failures` reads them); true when it was one. */
export async function noteAuthFailure(db: Executor, e: unknown): Promise<boolean> {
  const f = authFailureOf(e);
  if (!f) return false;
  await recordAuthFailure(db, f);
  return true;
}
