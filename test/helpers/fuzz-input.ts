import fc from 'fast-check';

/**
 * Bad input for the property tests: mutations of a valid JSON value (a field dropped, a wrong type,
 * huge strings, bad amounts, odd unicode, unknown keys) and of the bytes of a request or a file
 * (truncated, flipped, re-encoded, duplicated keys, garbage).
 */

/** How many cases a fuzz test runs (FUZZ_RUNS), and its seed (FUZZ_SEED; random when unset, printed on failure). */
export function fuzzRuns(fallback: number): number {
  const n = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
export function fuzzSeed(): number | undefined {
  const s = Number(process.env.FUZZ_SEED);
  return Number.isInteger(s) ? s : undefined;
}

type Path = (string | number)[];

function pathsOf(v: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push([...prefix, i], ...pathsOf(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push([...prefix, k], ...pathsOf(x, [...prefix, k]));
  return out;
}

function getAt(v: unknown, path: Path): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], v);
}

function withAt(v: unknown, path: Path, f: (parent: any, key: string | number) => void): unknown {
  const copy = structuredClone(v);
  const parent = getAt(copy, path.slice(0, -1)) as any;
  f(parent, path[path.length - 1]);
  return copy;
}

const HUGE_STRING = 'я'.repeat(70_000);
export const OVER_LIMIT_STRING = 'x'.repeat(300 * 1024);

const WEIRD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\u202Eevil\u202C',
  '\u200B\u200B',
  '\uD800',
  '\uDFFF lone',
  '😀👍🏽‍',
  'Ё'.repeat(300),
  '<script>alert(1)</script>',
  "'; drop table orders; --",
  '../../etc/passwd',
  '%00',
  '\r\n\t',
  'null',
  '1e309',
  HUGE_STRING,
];

const BAD_NUMBERS = [
  -1,
  -0,
  0,
  0.5,
  150000.5,
  1.005,
  1e21,
  1e308,
  -1e308,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  1e-7,
];

const WRONG_TYPES: unknown[] = [null, true, false, 0, 1, -1, '', '1', 'RUB', [], [null], {}, { $gt: 0 }];

export type JsonMutation =
  | { kind: 'drop'; at: number }
  | { kind: 'wrongType'; at: number; value: unknown }
  | { kind: 'string'; at: number; value: string }
  | { kind: 'number'; at: number; value: number }
  | { kind: 'extraKey'; at: number; key: string; value: unknown };

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('wrongType' as const), at: fc.nat(), value: fc.constantFrom(...WRONG_TYPES) }),
  fc.record({
    kind: fc.constant('string' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(...WEIRD_STRINGS), fc.string({ unit: 'binary', maxLength: 64 })),
  }),
  fc.record({
    kind: fc.constant('number' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(...BAD_NUMBERS), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()),
  }),
  fc.record({
    kind: fc.constant('extraKey' as const),
    at: fc.nat(),
    key: fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'status', 'paid', 'unexpected'),
    value: fc.constantFrom<unknown>(1, 'x', { polluted: true }, null),
  }),
);

/** A valid value with one mutation applied at the `at`-th of its paths (the root when it has none). */
export function mutateJson(v: unknown, m: JsonMutation): unknown {
  const all = pathsOf(v);
  if (m.kind === 'extraKey') {
    const objects = [[], ...all].filter((p) => {
      const x = getAt(v, p);
      return x && typeof x === 'object' && !Array.isArray(x);
    });
    const p = objects[m.at % objects.length];
    const copy = structuredClone(v);
    // defineProperty: a "__proto__" key is sent as a key, as a hostile client would
    Object.defineProperty(getAt(copy, p), m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
    return copy;
  }
  if (all.length === 0) return m.kind === 'drop' ? undefined : m.value;
  const numbers = all.filter((p) => typeof getAt(v, p) === 'number');
  const strings = all.filter((p) => typeof getAt(v, p) === 'string');
  const pool = m.kind === 'number' && numbers.length ? numbers : m.kind === 'string' && strings.length ? strings : all;
  const path = pool[m.at % pool.length];
  return withAt(v, path, (parent, key) => {
    if (m.kind === 'drop') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else parent[key] = m.value;
  });
}

/** What goes over the wire: the JSON text as is, or broken on the way. */
export type WireMutation =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicateKey'; value: unknown }
  | { kind: 'invalidUtf8'; at: number }
  | { kind: 'trailing'; text: string }
  | { kind: 'empty' }
  | { kind: 'notJson'; text: string }
  | { kind: 'contentType'; type: string | null };

export const wireMutation: fc.Arbitrary<WireMutation> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('duplicateKey' as const), value: fc.constantFrom<unknown>(1, 'dup', null, {}, -5) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('invalidUtf8' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('trailing' as const), text: fc.constantFrom(',', '}', ' {}', '\u0000', 'garbage') }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('notJson' as const),
      text: fc.constantFrom('a=1&b=2', '<xml/>', 'null', '[]', '"s"', '1', 'true', 'NaN', '{'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('contentType' as const),
      type: fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/json; charset=windows-1251',
        'application/problem+json',
        'application/jsonx',
        null,
      ),
    }),
  },
);

/** The body bytes and content type of a JSON value sent with a wire mutation. */
export function toWire(value: unknown, m: WireMutation): { body: Buffer; contentType: string | null } {
  const text = value === undefined ? '' : JSON.stringify(value);
  const json = 'application/json';
  switch (m.kind) {
    case 'none':
      return { body: Buffer.from(text), contentType: json };
    case 'truncate':
      return { body: Buffer.from(text).subarray(0, text.length ? m.at % Buffer.byteLength(text) : 0), contentType: json };
    case 'duplicateKey': {
      const keys = value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
      if (keys.length === 0) return { body: Buffer.from(text), contentType: json };
      // the first key again, after the value the object has: JSON.parse keeps the last
      return { body: Buffer.from(`${text.slice(0, -1)},${JSON.stringify(keys[0])}:${JSON.stringify(m.value)}}`), contentType: json };
    }
    case 'invalidUtf8': {
      const b = Buffer.from(text);
      const at = b.length ? m.at % b.length : 0;
      return {
        body: Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]), b.subarray(at)]),
        contentType: json,
      };
    }
    case 'trailing':
      return { body: Buffer.from(text + m.text), contentType: json };
    case 'empty':
      return { body: Buffer.alloc(0), contentType: json };
    case 'notJson':
      return { body: Buffer.from(m.text), contentType: json };
    case 'contentType':
      return { body: Buffer.from(text), contentType: m.type };
  }
}

/** Byte-level damage to a file. */
export type ByteMutation =
  | { kind: 'flip'; at: number; bits: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number };

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 256 }) }),
);

export function mutateBytes(b: Buffer, m: ByteMutation): Buffer {
  if (b.length === 0) return m.kind === 'insert' ? Buffer.from(m.bytes) : b;
  const at = m.at % b.length;
  switch (m.kind) {
    case 'flip': {
      const copy = Buffer.from(b);
      copy[at] ^= m.bits;
      return copy;
    }
    case 'truncate':
      return b.subarray(0, at);
    case 'insert':
      return Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    case 'delete':
      return Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
    case 'duplicate':
      return Buffer.concat([b.subarray(0, at + m.length), b.subarray(at)]);
  }
}
