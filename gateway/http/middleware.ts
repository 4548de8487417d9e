import { createHash, randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Context, Middleware, Next } from 'koa';
import getRawBody from 'raw-body';
import type { z } from 'zod';
import { formatPath } from '../config';
import { AppError, badRequest, tooLarge, unauthorized, unprocessable } from '../errors';
import type { Logger } from '../log';
import type { AuthThrottle } from './auth-throttle';
import type { Metrics } from './metrics';

declare module 'koa' {
  interface DefaultState {
    log: Logger;
    requestId: string;
    /** Organizations the caller's key may act for. */
    orgs?: ReadonlySet<string>;
    /** A stable, non-secret id of the caller's key (idempotency scope). */
    keyId?: string;
    rawBody?: Buffer;
    paymentId?: string;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What every request starts with; its logger (a pino child carrying the request id) is made when first used. */
class RequestState {
  private child: Logger | undefined;
  constructor(
    private readonly base: Logger,
    readonly requestId: string,
  ) {}
  get log(): Logger {
    return (this.child ??= this.base.child({ requestId: this.requestId }));
  }
}

/** Request id, a child logger carrying it, one access log line per request, metrics. */
export function requestContext(log: Logger, metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state = new RequestState(log, requestId) as RequestState & Koa.DefaultState;
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const route = (ctx as Context & { routerPath?: string; _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      metrics.observeRequest(ctx.method, String(route), ctx.status, ms / 1000);
      // a method the gateway does not serve (405, 501) is a client's guess, not a fault of either side
      const level = ctx.status === 405 || ctx.status === 501 ? 'info' : ctx.status >= 500 ? 'error' : ctx.status >= 400 ? 'warn' : 'info';
      if ((!(ctx.path.startsWith('/health') || ctx.path === '/metrics') || level !== 'info') && log.isLevelEnabled(level)) {
        ctx.state.log[level](
          { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10, paymentId: ctx.state.paymentId },
          'request',
        );
      }
    }
  };
}

export function errorBody(code: string, message: string, details: { path?: string; message: string }[] = []) {
  return { error: { code, message, details } };
}

/** Every error becomes `{error: {code, message, details}}`; an unexpected one is a 500 naming the request id, its text only in the log. */
export function errorHandler(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = errorBody('not_found', `no route for ${ctx.method} ${ctx.path}`);
      } else if (ctx.status === 405 && !ctx.body) {
        ctx.body = errorBody('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`);
      } else if (ctx.status === 501 && !ctx.body) {
        ctx.body = errorBody('not_implemented', `${ctx.method} is not a method the gateway serves`);
      }
    } catch (e) {
      if (e instanceof AppError) {
        ctx.status = e.status;
        ctx.body = e.toBody();
        if (e.status >= 500) ctx.state.log.error({ err: e, internal: e.internal }, e.message);
        return;
      }
      ctx.status = 500;
      ctx.body = errorBody('internal_error', `internal error; quote request id ${ctx.state.requestId} to support`);
      ctx.state.log.error({ err: e }, 'unhandled error');
    }
  };
}

/**
 * Failed authentications per address: a request that ends in 401 counts one, and an address past the
 * limit that sends a key again gets 429 before any key is checked. (A route that tries a site key, then
 * a 1C key, counts once, when both fail.) `except`: paths that answer in a protocol of their own and
 * count their failures themselves (1C's exchange).
 */
export function authFailures(throttle: AuthThrottle, except: readonly string[] = []): Middleware {
  return async (ctx, next) => {
    if (ctx.get('authorization') && !except.includes(ctx.path)) {
      const wait = throttle.retryAfterSeconds(ctx.ip);
      if (wait > 0) {
        ctx.set('Retry-After', String(wait));
        throw new AppError(429, 'too_many_failed_attempts', `too many failed authentications from this address: try again in ${wait} s`);
      }
    }
    try {
      await next();
    } catch (e) {
      if (e instanceof AppError && e.status === 401) throttle.failed(ctx.ip);
      throw e;
    }
  };
}

/** The request body as bytes, read once, with a size limit (413 past it). */
export async function readBody(ctx: Context, limitBytes: number): Promise<Buffer> {
  if (ctx.state.rawBody) return ctx.state.rawBody;
  const declared = Number(ctx.get('content-length') || NaN);
  if (Number.isFinite(declared) && declared > limitBytes) throw tooLarge(limitBytes);
  try {
    ctx.state.rawBody = await getRawBody(ctx.req, { limit: limitBytes, length: Number.isFinite(declared) ? declared : undefined });
  } catch (e) {
    const err = e as { type?: string; status?: number };
    if (err.type === 'entity.too.large') throw tooLarge(limitBytes);
    throw badRequest('bad_body', 'the request body could not be read');
  }
  return ctx.state.rawBody;
}

export function zodDetails(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

/** JSON body → validated value; malformed JSON is 400, a value that does not fit the schema 422 with field paths. */
export async function jsonBody<S extends z.ZodType>(ctx: Context, schema: S, limitBytes: number): Promise<z.infer<S>> {
  const type = ctx.get('content-type');
  if (type && !/^application\/([a-z.+-]*\+)?json\b/i.test(type)) {
    throw new AppError(415, 'unsupported_media_type', 'send the body as application/json');
  }
  const raw = await readBody(ctx, limitBytes);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw badRequest('malformed_json', `the body is not valid JSON: ${(e as Error).message}`);
  }
  const r = schema.safeParse(value);
  if (!r.success) throw unprocessable('validation_failed', 'the request does not match the schema', zodDetails(r.error));
  return r.data;
}

export function parseQuery<S extends z.ZodType>(ctx: Context, schema: S): z.infer<S> {
  const r = schema.safeParse(ctx.query);
  if (!r.success) throw badRequest('bad_query', 'query parameters are not valid', zodDetails(r.error));
  return r.data;
}

const keyHash = (k: string) => createHash('sha256').update(k).digest('hex');

function bearer(ctx: Context): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
  return m ? m[1] : null;
}

/** Site keys → the organizations each may act for. Keys are compared by hash. */
export function siteAuth(keys: Map<string, Set<string>>): Middleware {
  const byHash = new Map([...keys].map(([k, orgs]) => [keyHash(k), orgs]));
  return async (ctx: Context, next: Next) => {
    const token = bearer(ctx);
    const h = token ? keyHash(token) : null;
    const orgs = h ? byHash.get(h) : undefined;
    if (!orgs) throw unauthorized('missing or invalid API key: send Authorization: Bearer <site key>');
    ctx.state.orgs = orgs;
    ctx.state.keyId = `site:${h!.slice(0, 16)}`;
    await next();
  };
}

/** The organization a request acts for: the body's, or the key's only one. */
export function pickOrganization(ctx: Context, requested: string | undefined): string {
  const orgs = ctx.state.orgs!;
  if (requested) {
    if (!orgs.has(requested))
      throw unprocessable('unknown_organization', `organization "${requested}" is unknown or not allowed for this key`, [
        { path: 'organization', message: 'not one of this key’s organizations' },
      ]);
    return requested;
  }
  if (orgs.size === 1) return [...orgs][0];
  throw unprocessable('organization_required', 'this key serves several organizations: name one', [
    { path: 'organization', message: `one of ${[...orgs].join(', ')}` },
  ]);
}
