import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { badRequest, conflict, unprocessable } from '../errors';
import type { Store } from '../store/db';
import { beginIdempotent, completeIdempotent, releaseIdempotent } from '../store/idempotency';

const KEY = /^[\x21-\x7e]{1,255}$/;
const LOCK_MS = 60_000;

/**
 * Runs a POST under its `Idempotency-Key`: same key and same body → the stored answer (with
 * `Idempotent-Replayed: true`); same key, other body → 422; same key while the first still runs → 409.
 * Only what was done is stored: a refusal (4xx, nothing happened) and our own failure free the key, so
 * the store is as it was and the client can send the corrected request again under the same key.
 */
export async function idempotent(ctx: Context, store: Store, run: () => Promise<{ status: number; body: unknown }>): Promise<void> {
  const key = ctx.get('idempotency-key');
  if (!key) throw badRequest('idempotency_key_required', 'send an Idempotency-Key header (any unique string up to 255 characters)');
  if (!KEY.test(key)) throw badRequest('bad_idempotency_key', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
  const scope = ctx.state.keyId ?? 'anonymous';
  const hash = createHash('sha256')
    .update(`${ctx.method} ${ctx.path}\n`)
    .update(ctx.state.rawBody ?? Buffer.alloc(0))
    .digest('hex');

  const begin = await beginIdempotent(store.db, store.dialect, scope, key, hash, LOCK_MS);
  if (begin.kind === 'mismatch') throw unprocessable('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
  if (begin.kind === 'in_progress')
    throw conflict('request_in_progress', 'a request with this Idempotency-Key is still being processed; retry later');
  if (begin.kind === 'replay') {
    ctx.status = begin.status;
    ctx.body = JSON.parse(begin.body);
    ctx.set('Idempotent-Replayed', 'true');
    return;
  }
  let result: { status: number; body: unknown };
  try {
    result = await run();
  } catch (e) {
    await releaseIdempotent(store.db, scope, key).catch(() => undefined);
    throw e;
  }
  await completeIdempotent(store.db, scope, key, result.status, JSON.stringify(result.body));
  ctx.status = result.status;
  ctx.body = result.body;
}
