import { randomBytes, randomUUID } from 'node:crypto';

/**
 * Time-ordered UUIDs (RFC 9562 version 7): unique across processes, and they sort by creation
 * time, which keeps index inserts at the end of the b-tree. The 74 random bits come from a version
 * 4 UUID (whose variant bits are those of version 7 too): randomUUID draws from a buffer of
 * entropy, where randomBytes asks the system every time.
 */
export function newId(now: number = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A short random token for URLs (payment pages), 22 url-safe characters = 128 bits. */
export function newToken(): string {
  return randomBytes(16).toString('base64url');
}
