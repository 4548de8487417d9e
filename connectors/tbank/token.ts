import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * T-Bank's request and notification signature (`Token`): the root-level scalar fields only (nested
 * objects such as `DATA` and `Receipt`, arrays and nulls never take part, nor `Token` itself), plus
 * `Password`, sorted by key, their VALUES concatenated, SHA-256 over UTF-8, lowercase hex.
 */

/** Root-level scalars of a request or notification as the text T-Bank concatenates. */
export type SignedFields = Map<string, string>;

/** The signed fields of an object about to be sent as JSON: numbers as JSON writes them, booleans as true/false. */
export function signedFields(body: Record<string, unknown>): SignedFields {
  const out: SignedFields = new Map();
  for (const [k, v] of Object.entries(body)) {
    if (typeof v === 'string') out.set(k, v);
    else if (typeof v === 'number' && Number.isFinite(v)) out.set(k, JSON.stringify(v));
    else if (typeof v === 'boolean') out.set(k, v ? 'true' : 'false');
  }
  return out;
}

/**
 * The signed fields of a JSON text, each number exactly as written: `PaymentId` is up to 20 digits,
 * beyond what a JavaScript number holds, so a value re-printed after JSON.parse could differ from what
 * the bank signed. Returns null for a text that is not a JSON object.
 */
export function signedFieldsOfJson(text: string): SignedFields | null {
  const s = new JsonScanner(text);
  try {
    return s.rootObject();
  } catch {
    return null;
  }
}

/** The string that is hashed: the values in key order, with the password among them. Exported for tests. */
export function tokenSource(fields: SignedFields, password: string): string {
  const all = new Map(fields);
  all.delete('Token');
  all.set('Password', password);
  return [...all.keys()]
    .sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))
    .map((k) => all.get(k))
    .join('');
}

export function tokenOf(fields: SignedFields, password: string): string {
  return createHash('sha256').update(tokenSource(fields, password), 'utf8').digest('hex');
}

/** The Token of a request body (its own Token, if any, is ignored). */
export function tbankToken(body: Record<string, unknown>, password: string): string {
  return tokenOf(signedFields(body), password);
}

/**
 * Checks the `Token` a body carries, in constant time. Give the raw JSON text when there is one (a
 * notification): its numbers are then taken exactly as the bank wrote them.
 */
export function verifyTbankToken(body: Record<string, unknown> | string, password: string): boolean {
  const fields = typeof body === 'string' ? signedFieldsOfJson(body) : signedFields(body);
  const given = fields?.get('Token');
  if (!fields || !given || !/^[0-9a-fA-F]{64}$/.test(given)) return false;
  const expected = Buffer.from(tokenOf(fields, password), 'latin1');
  const actual = Buffer.from(given.toLowerCase(), 'latin1');
  return timingSafeEqual(expected, actual);
}

/** Just enough of a JSON reader to collect the root object's scalars verbatim and step over the rest. */
class JsonScanner {
  private i = 0;
  constructor(private readonly t: string) {}

  rootObject(): SignedFields {
    const out: SignedFields = new Map();
    this.ws();
    this.expect('{');
    this.ws();
    if (this.peek() === '}') {
      this.i++;
      return this.end(out);
    }
    for (;;) {
      this.ws();
      const key = this.string();
      this.ws();
      this.expect(':');
      this.ws();
      const c = this.peek();
      if (c === '"') out.set(key, this.string());
      else if (c === '{' || c === '[') {
        this.skipNested();
        out.delete(key);
      } else if (this.t.startsWith('true', this.i)) {
        this.i += 4;
        out.set(key, 'true');
      } else if (this.t.startsWith('false', this.i)) {
        this.i += 5;
        out.set(key, 'false');
      } else if (this.t.startsWith('null', this.i)) {
        this.i += 4;
        out.delete(key);
      } else out.set(key, this.number());
      this.ws();
      const sep = this.t[this.i++];
      if (sep === '}') return this.end(out);
      if (sep !== ',') throw new SyntaxError('expected , or }');
    }
  }

  private end(out: SignedFields): SignedFields {
    this.ws();
    if (this.i !== this.t.length) throw new SyntaxError('text after the object');
    return out;
  }

  private peek(): string | undefined {
    return this.t[this.i];
  }

  private expect(c: string): void {
    if (this.t[this.i] !== c) throw new SyntaxError(`expected ${c}`);
    this.i++;
  }

  private ws(): void {
    while (this.i < this.t.length && ' \t\r\n'.includes(this.t[this.i])) this.i++;
  }

  private string(): string {
    const start = this.i;
    this.expect('"');
    while (this.i < this.t.length) {
      const c = this.t[this.i++];
      if (c === '\\') this.i++;
      else if (c === '"') return JSON.parse(this.t.slice(start, this.i)) as string;
    }
    throw new SyntaxError('unterminated string');
  }

  private number(): string {
    const re = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    re.lastIndex = this.i;
    const m = re.exec(this.t);
    if (!m || m[0].length === 0) throw new SyntaxError('unexpected token');
    this.i += m[0].length;
    return m[0];
  }

  private skipNested(): void {
    let depth = 0;
    while (this.i < this.t.length) {
      const c = this.t[this.i];
      if (c === '"') {
        this.string();
        continue;
      }
      this.i++;
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return;
      }
    }
    throw new SyntaxError('unterminated value');
  }
}
