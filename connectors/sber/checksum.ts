import { createHash, createHmac, createPublicKey, timingSafeEqual, verify as rsaVerify, type KeyObject } from 'node:crypto';

/** Strings in the byte order of their UTF-8; the same as JS order unless a surrogate or U+E000.. is in play. */
function utf8Order(a: string, b: string): number {
  if (/[\ud800-\uffff]/.test(a) || /[\ud800-\uffff]/.test(b)) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sber (BPC gateway) callback checksums. The signed string: every parameter except `checksum` and
 * `sign_alias`, sorted by name in byte order, each as `name;value;`.
 */
export function signedString(params: Record<string, string>): string {
  let out = '';
  for (const k of Object.keys(params).sort(utf8Order)) if (k !== 'checksum' && k !== 'sign_alias') out += `${k};${params[k]};`;
  return out;
}

/** HMAC-SHA256 of the signed string, hex, upper case (what the bank sends). */
export function symmetricChecksum(params: Record<string, string>, secret: string, signed = signedString(params)): string {
  return createHmac('sha256', secret).update(signed, 'utf8').digest('hex').toUpperCase();
}

export type ChecksumKey = { mode: 'symmetric'; secret: string } | { mode: 'asymmetric'; publicKey: KeyObject };

export function checksumKey(cfg: { mode: 'symmetric'; secret: string } | { mode: 'asymmetric'; publicKey: string }): ChecksumKey {
  return cfg.mode === 'symmetric' ? cfg : { mode: 'asymmetric', publicKey: createPublicKey(cfg.publicKey) };
}

/**
 * Constant-time check of the `checksum` parameter; the hex is compared case-insensitively.
 * `signed` is signedString(params), when the caller has it already.
 */
export function verifyChecksum(params: Record<string, string>, key: ChecksumKey, signed = signedString(params)): boolean {
  const given = params.checksum;
  if (!given || !/^[0-9a-fA-F]+$/.test(given)) return false;
  if (key.mode === 'symmetric') {
    const expected = Buffer.from(symmetricChecksum(params, key.secret, signed), 'latin1');
    const actual = Buffer.from(given.toUpperCase(), 'latin1');
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
  const data = Buffer.from(signed, 'utf8');
  const sig = Buffer.from(given, 'hex');
  // Published examples verify with SHA-512 even when sign_alias names SHA-256; accept either.
  return rsaVerify('sha512', data, key.publicKey, sig) || rsaVerify('sha256', data, key.publicKey, sig);
}

/** A short stable fingerprint of a callback, for de-duplicating re-sends. */
export function fingerprint(params: Record<string, string>, signed = signedString(params)): string {
  return createHash('sha256').update(signed).digest('hex').slice(0, 32);
}
