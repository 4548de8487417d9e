import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import { AppError, unauthorized } from '../../../errors';
import { nowIso } from '../../../store/db';
import {
  deleteAdminSession,
  insertAdminSession,
  liveAdminSession,
  purgeAdminSessions,
  touchAdminSession,
} from '../../../store/admin-sessions';
import type { HttpDeps } from '../../deps';

/**
 * The /admin pages' sessions. Signing in with an admin key makes a session: a random cookie value
 * (only its sha256 is stored, in the gateway's database, so every gateway process knows it and it
 * survives a restart) and a CSRF token that every form and every changing API call must carry.
 * The cookie is HttpOnly and SameSite=Strict, and Secure when the gateway is reached over https
 * (`server.publicUrl` is https, or the request came over TLS — through a proxy only when
 * `server.trustProxy` lets X-Forwarded-Proto say so).
 */

export const SESSION_COOKIE = 'gw_admin';
/** Ties the sign-in form to the browser that loaded it (a forged sign-in from another site is refused). */
export const LOGIN_COOKIE = 'gw_admin_login';
export const FLASH_COOKIE = 'gw_admin_flash';
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export interface AdminSession {
  /** The stored hash of the cookie. */
  id: string;
  csrf: string;
  keyId: string;
}

declare module 'koa' {
  interface DefaultState {
    adminSession?: AdminSession;
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();
const hex = (s: string) => sha256(s).toString('hex');

/** Equal strings, in time that does not depend on where they differ. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** The id of the admin key that `candidate` is (every key compared, in constant time), or null. */
export function matchAdminKey(keys: readonly string[], candidate: string): string | null {
  let found: string | null = null;
  for (const k of keys) if (sameSecret(k, candidate) && found === null) found = k;
  return found === null ? null : `admin:${hex(found).slice(0, 16)}`;
}

interface CookieOptions {
  maxAgeSeconds?: number;
  secure: boolean;
  path?: string;
}

function cookie(name: string, value: string, o: CookieOptions): string {
  return [
    `${name}=${value}`,
    `Path=${o.path ?? '/'}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(o.secure ? ['Secure'] : []),
    ...(o.maxAgeSeconds !== undefined ? [`Max-Age=${o.maxAgeSeconds}`] : []),
  ].join('; ');
}

export class AdminSessions {
  private readonly idleMs: number;
  private readonly maxMs: number;

  constructor(private readonly d: HttpDeps) {
    this.idleMs = d.config.admin.sessionIdleMinutes * 60_000;
    this.maxMs = d.config.admin.sessionHours * 3_600_000;
  }

  secure(ctx: Context): boolean {
    return ctx.secure || this.d.config.server.publicUrl.startsWith('https:');
  }

  setCookie(ctx: Context, name: string, value: string, maxAgeSeconds?: number): void {
    ctx.append('Set-Cookie', cookie(name, value, { secure: this.secure(ctx), maxAgeSeconds }));
  }

  clearCookie(ctx: Context, name: string): void {
    ctx.append('Set-Cookie', cookie(name, '', { secure: this.secure(ctx), maxAgeSeconds: 0 }));
  }

  /** A new session for the key: the cookie is set on the response; sessions that ended are forgotten. */
  async create(ctx: Context, keyId: string): Promise<AdminSession> {
    const now = Date.now();
    await purgeAdminSessions(this.d.store.db, nowIso(now), nowIso(now - this.idleMs));
    const token = randomBytes(32).toString('base64url');
    const session = { id: hex(token), csrf: randomBytes(32).toString('base64url'), keyId };
    await insertAdminSession(this.d.store.db, {
      id: session.id,
      csrf: session.csrf,
      key_id: keyId,
      created_at: nowIso(now),
      last_seen_at: nowIso(now),
      expires_at: nowIso(now + this.maxMs),
    });
    this.setCookie(ctx, SESSION_COOKIE, token, Math.floor(this.maxMs / 1000));
    return session;
  }

  /** The request's live session (its idle time restarts), or null. */
  async load(ctx: Context): Promise<AdminSession | null> {
    const token = ctx.cookies.get(SESSION_COOKIE);
    if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const now = Date.now();
    const row = await liveAdminSession(this.d.store.db, hex(token), nowIso(now), nowIso(now - this.idleMs));
    if (!row) return null;
    // one write a minute at most per session
    if (Date.parse(row.last_seen_at) < now - 60_000) await touchAdminSession(this.d.store.db, row.id, nowIso(now));
    return { id: row.id, csrf: row.csrf, keyId: row.key_id };
  }

  async destroy(ctx: Context, session: AdminSession): Promise<void> {
    await deleteAdminSession(this.d.store.db, session.id);
    this.clearCookie(ctx, SESSION_COOKIE);
  }
}

export function csrfValid(session: AdminSession, token: unknown): boolean {
  return typeof token === 'string' && token.length > 0 && token.length <= 256 && sameSecret(session.csrf, token);
}

const SAFE = new Set(['GET', 'HEAD']);

/**
 * The admin API's access: an admin key (`Authorization: Bearer`), or the session of the /admin pages
 * (its cookie), which must also carry its CSRF token (header `X-CSRF-Token`) on anything but GET.
 */
export function adminApiAuth(keys: readonly string[], sessions: AdminSessions): Middleware {
  return async (ctx: Context, next: Next) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
    if (m || ctx.get('authorization')) {
      const keyId = m ? matchAdminKey(keys, m[1]) : null;
      if (!keyId) throw unauthorized('missing or invalid admin key');
      ctx.state.keyId = keyId;
      return next();
    }
    const session = await sessions.load(ctx);
    if (!session) throw unauthorized('missing or invalid admin key');
    if (!SAFE.has(ctx.method) && !csrfValid(session, ctx.get(CSRF_HEADER)))
      throw new AppError(403, 'csrf_failed', 'the session’s CSRF token is missing or wrong: send it in X-CSRF-Token');
    ctx.state.keyId = session.keyId;
    ctx.state.adminSession = session;
    return next();
  };
}
