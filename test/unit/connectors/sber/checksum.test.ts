import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checksumKey, signedString, symmetricChecksum, verifyChecksum } from '../../../../connectors/sber/checksum';

interface Vector {
  secret: string;
  query: string;
  signedString: string;
  checksum: string;
  valid: boolean;
}

const vector = JSON.parse(readFileSync('/work/shared/fixtures/vectors/sber-callback-symmetric.json', 'utf8')) as Vector;
const params = (): Record<string, string> => Object.fromEntries(new URLSearchParams(vector.query));

describe('symmetric checksum: the published vector', () => {
  const key = checksumKey({ mode: 'symmetric', secret: vector.secret });

  test('signed string: checksum dropped, names sorted, each name;value;', () => {
    expect(signedString(params())).toBe(vector.signedString);
  });

  test('HMAC-SHA256 hex upper case equals the published checksum', () => {
    expect(symmetricChecksum(params(), vector.secret)).toBe(vector.checksum);
  });

  test('the callback verifies', () => {
    expect(vector.valid).toBe(true);
    expect(verifyChecksum(params(), key)).toBe(true);
  });

  test('a lowercase checksum also verifies', () => {
    const p = params();
    p.checksum = p.checksum.toLowerCase();
    expect(verifyChecksum(p, key)).toBe(true);
  });

  test('sign_alias is not part of the signed string', () => {
    const p = { ...params(), sign_alias: 'SHA-256' };
    expect(signedString(p)).toBe(vector.signedString);
    expect(verifyChecksum(p, key)).toBe(true);
  });

  test('one changed parameter fails', () => {
    const p = params();
    p.orderNumber = '2004';
    expect(verifyChecksum(p, key)).toBe(false);
  });

  test('the wrong secret fails', () => {
    expect(verifyChecksum(params(), checksumKey({ mode: 'symmetric', secret: 'another-secret' }))).toBe(false);
  });

  test('a checksum of the wrong length fails without throwing', () => {
    const p = params();
    p.checksum = vector.checksum.slice(0, 10);
    expect(() => verifyChecksum(p, key)).not.toThrow();
    expect(verifyChecksum(p, key)).toBe(false);
    p.checksum = vector.checksum + 'AB';
    expect(verifyChecksum(p, key)).toBe(false);
  });

  test('missing or non-hex checksum fails', () => {
    const p = params();
    p.checksum = 'Z'.repeat(64);
    expect(verifyChecksum(p, key)).toBe(false);
    delete p.checksum;
    expect(verifyChecksum(p, key)).toBe(false);
  });
});

describe('signedString ordering', () => {
  test('sorted by byte order (upper case before lower case), not locale', () => {
    expect(signedString({ b: '2', a: '1', Z: '3' })).toBe('Z;3;a;1;b;2;');
  });

  test('byte order of the UTF-8, also where it differs from JS string order (beyond the BMP)', () => {
    // UTF-8: U+E000 is EE 80 80, U+10000 is F0 90 80 80; in UTF-16 U+10000 (D800 DC00) comes first
    expect(signedString({ '\u{10000}': '1', '\u{E000}': '2', я: '3' })).toBe('я;3;\u{E000};2;\u{10000};1;');
  });
});

describe('asymmetric checksum (RSA PKCS#1 v1.5)', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const key = checksumKey({ mode: 'asymmetric', publicKey: pem });
  const base = { mdOrder: '06cf5599-3f17-7c86-bdbc-bd7d00a8b38b', orderNumber: '2003', operation: 'deposited', status: '1' };

  function signed(hash: 'sha512' | 'sha256'): Record<string, string> {
    const sig = sign(hash, Buffer.from(signedString(base), 'utf8'), privateKey)
      .toString('hex')
      .toUpperCase();
    return { ...base, checksum: sig, sign_alias: 'SHA-256' };
  }

  test('a SHA-512 signature verifies', () => {
    expect(verifyChecksum(signed('sha512'), key)).toBe(true);
  });

  test('a SHA-256 signature verifies', () => {
    expect(verifyChecksum(signed('sha256'), key)).toBe(true);
  });

  test('a tampered parameter fails', () => {
    expect(verifyChecksum({ ...signed('sha512'), status: '0' }, key)).toBe(false);
    expect(verifyChecksum({ ...signed('sha256'), orderNumber: '2004' }, key)).toBe(false);
  });

  test('a signature by another key fails', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sig = sign('sha512', Buffer.from(signedString(base), 'utf8'), other.privateKey).toString('hex');
    expect(verifyChecksum({ ...base, checksum: sig }, key)).toBe(false);
  });

  test('a short checksum fails without throwing', () => {
    const p = { ...base, checksum: 'ABCD' };
    expect(() => verifyChecksum(p, key)).not.toThrow();
    expect(verifyChecksum(p, key)).toBe(false);
  });
});
