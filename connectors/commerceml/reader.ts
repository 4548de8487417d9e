import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { decodeEntities, parseDocument } from './document';
import { CmlError, type CmlEncoding, type ImportedDocument } from './types';

/**
 * A CommerceML file from 1C (mode=file), read document by document with flat memory.
 *
 * The bytes are decoded as they come (UTF-8 checked as it is decoded, windows-1251 through
 * iconv-lite) into a rolling text buffer. A string scanner (indexOf) finds each outermost
 * `Документ` — at any depth (Bitrix 3.x wraps them in `Контейнер`), with or without a namespace
 * prefix, matched by local name — and only that document's text goes to the XML parser (saxes). The
 * buffer holds at most one document plus one read-ahead batch: never the whole file.
 *
 * Each document is handed to `onDocument` (and awaited) as soon as it is complete. When the file
 * turns out to be broken later (truncated, wrong bytes further on), the documents already handed
 * over STAY handed over — nothing is taken back; the error comes after them. 1C sends the whole
 * file again after the `failure`, so a caller that applies only what changed is not harmed; one
 * that must be all-or-nothing collects the documents and applies them after readDocuments resolves.
 *
 * Refused with a CmlError (a Russian text for the 1C operator): a DTD or entity declaration (XXE,
 * "billion laughs": nothing is ever expanded), bytes that do not match the declared encoding, a
 * document over `maxDocumentBytes`, a file that ends before its root is closed, and anything that
 * is not XML with a `КоммерческаяИнформация` root.
 */
export interface ReadOptions {
  /** Largest single `Документ`, in bytes of the file (16 MB by default). */
  maxDocumentBytes?: number;
  /**
   * Parse documents on a worker thread while this thread splits the text and the caller applies
   * what was parsed (large files: the XML parse is most of the work). Documents still arrive in order.
   */
  parallel?: boolean;
}

export interface ReadResult {
  /** `ВерсияСхемы` of the root. */
  version?: string;
  encoding: CmlEncoding;
  /** Top-level documents handed to `onDocument`. */
  documents: number;
}

export const DEFAULT_MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

const ROOT = 'КоммерческаяИнформация';
const DOC = 'Документ';
const DOC_LEN = DOC.length;
/** The head read before decoding: the prolog, the root tag and the encoding check. */
const HEAD_BYTES = 64 * 1024;
/**
 * Smallest read-ahead batch of decoded text. Small enough that the text buffers stay ordinary heap
 * objects (V8 puts strings over 128 KB in its large-object space, collected only by a full GC:
 * hundreds of them make the heap balloon during a big import).
 */
const BATCH_CHARS = 32 * 1024;

const MSG = {
  empty: 'Файл обмена пуст.',
  notXml: 'Файл обмена не является XML-файлом CommerceML.',
  dtd: 'Файл содержит DTD или сущности: такие файлы не принимаются.',
  // (documents handed over before a truncation stay handed over: see above)
  truncatedDoc: 'Файл обмена оборван: он закончился посреди документа. Выгрузите файл ещё раз.',
  truncatedRoot: `Файл обмена оборван: нет закрывающего тега ${ROOT}. Выгрузите файл ещё раз.`,
  utf8: 'Кодировка файла обмена не совпадает с объявленной: в заголовке указана UTF-8, а байты файла — не UTF-8 (возможно, windows-1251).',
  cp1251: 'Кодировка файла обмена не совпадает с объявленной: в заголовке указана windows-1251, а файл записан в UTF-8.',
  utf16: 'Файл обмена в кодировке UTF-16 не принимается: ожидается UTF-8 или windows-1251.',
};

// ---------------------------------------------------------------- bytes → text

interface TextDecoderLike {
  write(b: Buffer): string;
  end(): string;
}

/** Where an incomplete UTF-8 sequence at the end of `b` starts (b.length when there is none). */
function utf8CompleteLength(b: Buffer): number {
  const n = b.length;
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const c = b[i];
    if ((c & 0xc0) === 0x80) continue; // continuation byte: look further back
    if (c < 0x80) return n;
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return n - i < need ? i : n;
  }
  return n;
}

/** UTF-8, every byte checked as it is decoded (a fatal streaming TextDecoder: simdutf, ~500 MB/s). */
class Utf8Decoder implements TextDecoderLike {
  private readonly d = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  write(chunk: Buffer): string {
    try {
      return this.d.decode(chunk, { stream: true });
    } catch {
      throw new CmlError(MSG.utf8, 'bytes are not UTF-8');
    }
  }

  end(): string {
    try {
      return this.d.decode();
    } catch {
      // the input ends inside a character: a cut file, which the scanner reports as such
      return '';
    }
  }
}

class Cp1251Decoder implements TextDecoderLike {
  private readonly d = iconv.getDecoder('win1251');

  write(chunk: Buffer): string {
    return this.d.write(chunk);
  }

  end(): string {
    return this.d.end() ?? '';
  }
}

/** A windows-1251 declaration on bytes that are UTF-8 Cyrillic (`D0/D1 xx` pairs, all valid UTF-8). */
function isMisdeclaredUtf8(head: Buffer): boolean {
  let pairs = 0;
  for (let i = 0; i + 1 < head.length; i++) {
    const c = head[i];
    if ((c === 0xd0 || c === 0xd1) && (head[i + 1] & 0xc0) === 0x80) pairs++;
  }
  if (pairs === 0) return false;
  return isUtf8(head.subarray(0, utf8CompleteLength(head)));
}

function encodingOf(declared: string | undefined): CmlEncoding {
  if (declared === undefined) return 'utf-8';
  const e = declared.trim().toLowerCase().replace(/_/g, '-');
  if (e === 'utf-8' || e === 'utf8') return 'utf-8';
  if (e === 'windows-1251' || e === 'cp1251' || e === 'win1251' || e === 'cp-1251' || e === 'x-cp1251') return 'windows-1251';
  if (e.startsWith('utf-16') || e === 'ucs-2') throw new CmlError(MSG.utf16);
  throw new CmlError(`Кодировка «${declared.slice(0, 40)}» файла обмена не поддерживается: ожидается UTF-8 или windows-1251.`);
}

function isSpaceByte(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\n' || c === '\r' || c === '\t';
}

// ---------------------------------------------------------------- input

type Input = AsyncIterable<Buffer> | NodeJS.ReadableStream;

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('readDocuments: the input must yield Buffers');
}

// ---------------------------------------------------------------- the reader

export async function readDocuments(
  input: Input,
  onDocument: (doc: ImportedDocument) => Promise<void> | void,
  opts: ReadOptions = {},
): Promise<ReadResult> {
  const maxDocumentBytes = opts.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  const iterable = input as Partial<AsyncIterable<unknown>>;
  if (typeof iterable[Symbol.asyncIterator] !== 'function')
    throw new TypeError('readDocuments: the input must be a readable stream or an async iterable of Buffers');
  const source = (input as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  try {
    if (!opts.parallel) return await new Scanner(source, onDocument, maxDocumentBytes).run();
    const pool = new ParseWorker(onDocument);
    try {
      const result = await new Scanner(source, (xml, n) => pool.add(xml, n), maxDocumentBytes, true).run();
      await pool.drain();
      return result;
    } finally {
      await pool.close();
    }
  } finally {
    // stop (and destroy) the source when we stop early
    await source.return?.().catch(() => undefined);
  }
}

class Scanner {
  private text = '';
  private pos = 0;
  private eof = false;
  private decoder!: TextDecoderLike;
  private encoding: CmlEncoding = 'utf-8';
  private version: string | undefined;
  private documents = 0;
  // the next `<!` at or after bangFrom (-1: none before bangTo)
  private bangFrom = 0;
  private bangAt = -1;
  private bangTo = 0;

  constructor(
    private readonly source: AsyncIterator<unknown>,
    private readonly onDocument: ((doc: ImportedDocument) => Promise<void> | void) | ((xml: string, n: number) => Promise<void> | void),
    private readonly maxDocumentBytes: number,
    /** Hand over the document's text (to be parsed elsewhere) instead of the parsed document. */
    private readonly raw = false,
  ) {}

  async run(): Promise<ReadResult> {
    await this.start();
    await this.prolog();
    await this.body();
    return { version: this.version, encoding: this.encoding, documents: this.documents };
  }

  // ------------------------------------------------------------ bytes

  private async nextBytes(): Promise<Buffer | null> {
    for (;;) {
      const r = await this.source.next();
      if (r.done) return null;
      const b = toBuffer(r.value);
      if (b.length > 0) return b;
    }
  }

  /** The head: BOM, prolog, the declared encoding checked against the bytes. */
  private async start(): Promise<void> {
    const parts: Buffer[] = [];
    let size = 0;
    while (size < HEAD_BYTES) {
      const b = await this.nextBytes();
      if (!b) {
        this.eof = true;
        break;
      }
      parts.push(b);
      size += b.length;
    }
    let head = Buffer.concat(parts);
    if (head.length === 0) throw new CmlError(MSG.empty);
    if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) throw new CmlError(MSG.utf16);

    if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) {
      this.encoding = 'utf-8';
      head = head.subarray(3);
    } else {
      let i = 0;
      while (i < head.length && isSpaceByte(head[i])) i++;
      if (head[i] !== 0x3c /* < */) throw new CmlError(MSG.notXml, 'no markup at the start');
      if (head.subarray(i, i + 5).toString('latin1') === '<?xml') {
        const end = head.indexOf('?>', i);
        if (end < 0) throw new CmlError(MSG.notXml, 'unterminated XML declaration');
        const decl = head.subarray(i, end).toString('latin1');
        const m = /\sencoding\s*=\s*(["'])([^"']*)\1/.exec(decl);
        this.encoding = encodingOf(m?.[2]);
      }
    }
    if (this.encoding === 'windows-1251') {
      if (isMisdeclaredUtf8(head)) throw new CmlError(MSG.cp1251, 'declared windows-1251, the bytes are UTF-8');
      this.decoder = new Cp1251Decoder();
    } else {
      this.decoder = new Utf8Decoder();
    }
    this.text = this.decoder.write(head);
    if (this.eof) this.text += this.decoder.end();
  }

  /**
   * Appends decoded text: at least BATCH_CHARS or as much as is already buffered (geometric, so a
   * large document is not re-flattened once per small chunk). The text before `pos` is dropped:
   * returns how far indices moved (callers subtract it from theirs), or -1 at the end of the input.
   */
  private async more(): Promise<number> {
    if (this.eof) return -1;
    const keep = this.pos;
    const want = Math.max(BATCH_CHARS, this.text.length - keep);
    const pieces: string[] = [];
    let got = 0;
    while (got < want) {
      const b = await this.nextBytes();
      if (!b) {
        this.eof = true;
        const tail = this.decoder.end();
        if (tail) pieces.push(tail);
        break;
      }
      const s = this.decoder.write(b);
      pieces.push(s);
      got += s.length;
    }
    this.text = (keep > 0 ? this.text.slice(keep) : this.text) + pieces.join('');
    this.pos = 0;
    if (this.bangAt >= 0 && this.bangAt < keep) {
      // the cached `<!` is gone with the dropped text: search afresh next time
      this.bangFrom = 0;
      this.bangAt = -1;
      this.bangTo = 0;
    } else {
      this.bangFrom = Math.max(0, this.bangFrom - keep);
      this.bangTo = Math.max(0, this.bangTo - keep);
      if (this.bangAt >= 0) this.bangAt -= keep;
    }
    return keep;
  }

  // ------------------------------------------------------------ markup helpers
  // Every helper keeps the text from this.pos on and reports the shift of indices it caused.

  /** Reads until text[i] exists or the input ends; returns the shift (check the length after). */
  private async need(i: number): Promise<number> {
    let shift = 0;
    while (i - shift >= this.text.length) {
      const s = await this.more();
      if (s < 0) break;
      shift += s;
    }
    return shift;
  }

  /** Whether text[i] exists, reading more as needed; this.pos stays the anchor (indices shift with it). */
  private async has(offsetFromPos: number): Promise<boolean> {
    await this.need(this.pos + offsetFromPos);
    return this.pos + offsetFromPos < this.text.length;
  }

  /** Index just after `needle` found at or after `from` (-1 at the end of the input), and the shift. */
  private async findEnd(needle: string, from: number): Promise<{ at: number; shift: number }> {
    let shift = 0;
    let searchFrom = from;
    for (;;) {
      const i = this.text.indexOf(needle, searchFrom);
      if (i >= 0) return { at: i + needle.length, shift };
      searchFrom = Math.max(searchFrom, this.text.length - needle.length + 1);
      const s = await this.more();
      if (s < 0) return { at: -1, shift };
      shift += s;
      searchFrom -= s;
    }
  }

  /** The end (index after `>`) of the tag whose `<` is at `lt`, quotes respected; -1 at the end. */
  private async tagEnd(lt: number): Promise<{ at: number; shift: number }> {
    let shift = 0;
    let i = lt + 1;
    let quote = '';
    for (;;) {
      const t = this.text;
      for (; i < t.length; i++) {
        const c = t[i];
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') return { at: i + 1, shift };
      }
      const s = await this.more();
      if (s < 0) return { at: -1, shift };
      shift += s;
      i -= s;
    }
  }

  /** `<!…` at `lt`: a comment or CDATA is skipped (index after it); a DTD or an entity is refused. */
  private async skipBang(lt: number): Promise<{ at: number; shift: number }> {
    const shift = await this.need(lt + 8); // a short tail is decided below on what there is
    lt -= shift;
    const t = this.text;
    if (t.startsWith('<!--', lt)) {
      const r = await this.findEnd('-->', lt + 4);
      return { at: r.at, shift: shift + r.shift };
    }
    if (t.startsWith('<![CDATA[', lt)) {
      const r = await this.findEnd(']]>', lt + 9);
      return { at: r.at, shift: shift + r.shift };
    }
    if (t.length - lt < 9 && ('<!--'.startsWith(t.slice(lt)) || '<![CDATA['.startsWith(t.slice(lt)))) return { at: -1, shift };
    throw new CmlError(MSG.dtd, `markup declaration: ${t.slice(lt, lt + 20)}`);
  }

  // ------------------------------------------------------------ prolog

  private rootOpen = false;

  private async prolog(): Promise<void> {
    for (;;) {
      const t = this.text;
      while (this.pos < t.length && isSpace(t[this.pos])) this.pos++;
      if (this.pos >= t.length) {
        if ((await this.more()) < 0) throw new CmlError(MSG.notXml, 'no root element');
        continue;
      }
      if (t[this.pos] !== '<') throw new CmlError(MSG.notXml, 'text before the root element');
      if (!(await this.has(1))) throw new CmlError(MSG.notXml, 'no root element');
      const next = this.text[this.pos + 1];
      if (next === '?') {
        const r = await this.findEnd('?>', this.pos + 2);
        if (r.at < 0) throw new CmlError(MSG.notXml, 'unterminated processing instruction');
        this.pos = r.at;
        continue;
      }
      if (next === '!') {
        const r = await this.skipBang(this.pos);
        if (r.at < 0) throw new CmlError(MSG.notXml, 'unterminated comment');
        this.pos = r.at;
        continue;
      }
      const r = await this.tagEnd(this.pos);
      if (r.at < 0) throw new CmlError(MSG.truncatedRoot, 'the root tag is cut');
      const tag = this.text.slice(this.pos, r.at);
      const name = /^<([^\s/>]+)/.exec(tag)?.[1] ?? '';
      const localName = name.slice(name.indexOf(':') + 1);
      if (localName !== ROOT) {
        throw new CmlError(`Файл обмена не является файлом CommerceML: корневой элемент «${localName.slice(0, 60)}», а не «${ROOT}».`);
      }
      const v = /\s(?:[^\s=:]+:)?ВерсияСхемы\s*=\s*(["'])([^"']*)\1/.exec(tag);
      if (v) this.version = decodeEntities(v[2].trim());
      this.pos = r.at;
      this.rootOpen = !tag.endsWith('/>');
      return;
    }
  }

  // ------------------------------------------------------------ body

  /** Between documents: tag by tag, counting depth until the root closes. */
  private async body(): Promise<void> {
    if (!this.rootOpen) return;
    let depth = 1;
    for (;;) {
      const lt = this.text.indexOf('<', this.pos);
      if (lt < 0) {
        this.pos = this.text.length;
        if ((await this.more()) < 0) throw new CmlError(MSG.truncatedRoot);
        continue;
      }
      this.pos = lt; // from here on this.pos is the tag's `<`
      if (!(await this.has(1))) throw new CmlError(MSG.truncatedRoot);
      const next = this.text[this.pos + 1];
      if (next === '!') {
        const r = await this.skipBang(this.pos);
        if (r.at < 0) throw new CmlError(MSG.truncatedRoot);
        this.pos = r.at;
        continue;
      }
      if (next === '?') {
        const r = await this.findEnd('?>', this.pos + 2);
        if (r.at < 0) throw new CmlError(MSG.truncatedRoot);
        this.pos = r.at;
        continue;
      }
      const r = await this.tagEnd(this.pos);
      if (r.at < 0) throw new CmlError(next !== '/' && this.isDocName(this.pos + 1) ? MSG.truncatedDoc : MSG.truncatedRoot);
      const end = r.at;
      if (next === '/') {
        this.pos = end;
        if (--depth === 0) return; // the root is closed: whatever follows is ignored
        continue;
      }
      const selfClosing = this.text[end - 2] === '/';
      if (this.isDocName(this.pos + 1)) {
        const docEnd = selfClosing ? end : await this.documentEnd(end);
        await this.emit(docEnd);
        continue;
      }
      if (!selfClosing) depth++;
      this.pos = end;
    }
  }

  /** Whether the tag name starting at `i` (just after `<`) has the local name Документ. */
  private isDocName(i: number): boolean {
    const t = this.text;
    let j = i;
    const limit = Math.min(t.length, i + 200);
    for (let k = i; k < limit; k++) {
      const c = t[k];
      if (c === ':') {
        j = k + 1;
        break;
      }
      if (c === '>' || c === '/' || isSpace(c)) break;
    }
    if (!t.startsWith(DOC, j)) return false;
    const after = t[j + DOC_LEN];
    return after === '>' || after === '/' || isSpace(after);
  }

  /** The next `<!` at or after `from`, cached so that the same text is never searched twice. */
  private nextBang(from: number): number {
    if (from >= this.bangFrom && (this.bangAt >= from || (this.bangAt < 0 && this.bangTo >= this.text.length))) {
      return this.bangAt;
    }
    const start = this.bangAt < 0 && from >= this.bangFrom ? Math.max(from, this.bangTo - 1) : from;
    this.bangFrom = from;
    this.bangAt = this.text.indexOf('<!', start);
    this.bangTo = this.text.length;
    return this.bangAt;
  }

  /**
   * The end (index after `>`) of the document whose `<` is at this.pos and whose start tag ends at
   * `from`. Документ tags are counted (a nested one does not end it early); names that merely
   * contain "Документ" (ПодчиненныйДокумент, ПодчиненныеДокументы) are not tags of it; comments
   * and CDATA are skipped.
   */
  private async documentEnd(from: number): Promise<number> {
    let nest = 1;
    let scan = from;
    for (;;) {
      const t = this.text;
      const k = t.indexOf(DOC, scan);
      const bang = this.nextBang(scan);
      if (bang >= 0 && (k < 0 || bang < k)) {
        const r = await this.skipBang(bang);
        if (r.at < 0) throw new CmlError(MSG.truncatedDoc);
        scan = r.at;
        continue;
      }
      if (k < 0 || k + DOC_LEN >= t.length) {
        if (t.length - this.pos > this.maxDocumentBytes) this.tooBig();
        const resume = k >= 0 ? k : Math.max(scan, t.length - DOC_LEN);
        const s = await this.more();
        if (s < 0) throw new CmlError(MSG.truncatedDoc);
        scan = resume - s;
        continue;
      }
      scan = k + DOC_LEN;
      const after = t[k + DOC_LEN];
      if (!(after === '>' || after === '/' || isSpace(after))) continue;
      // what precedes the name: `<`, `</`, or a prefix: `<p:`, `</p:`
      let p = k - 1;
      if (t[p] === ':') {
        p--;
        while (p > this.pos && NAME_CHAR.test(t[p])) p--;
      }
      const closing = t[p] === '/' && t[p - 1] === '<';
      const opening = t[p] === '<';
      if (!closing && !opening) continue;
      const r = await this.tagEnd(closing ? p - 1 : p);
      if (r.at < 0) throw new CmlError(MSG.truncatedDoc);
      scan = r.at;
      if (closing) {
        if (--nest === 0) return r.at;
      } else if (this.text[r.at - 2] !== '/') nest++;
    }
  }

  private tooBig(): never {
    const mb = (this.maxDocumentBytes / 1024 / 1024).toFixed(this.maxDocumentBytes % (1024 * 1024) === 0 ? 0 : 2);
    throw new CmlError(
      `Документ в файле обмена больше допустимых ${mb} МБ; такие файлы не принимаются.`,
      `document over ${this.maxDocumentBytes} bytes`,
    );
  }

  /** The document from this.pos to `end`: parsed, mapped, handed over. */
  private async emit(end: number): Promise<void> {
    const xml = this.text.slice(this.pos, end);
    const bytes = this.encoding === 'utf-8' ? Buffer.byteLength(xml, 'utf8') : xml.length;
    if (bytes > this.maxDocumentBytes) this.tooBig();
    this.pos = end;
    const n = this.documents + 1;
    if (this.raw) {
      this.documents = n;
      await (this.onDocument as (xml: string, n: number) => Promise<void> | void)(xml, n);
      return;
    }
    let doc: ImportedDocument;
    try {
      doc = parseDocument(xml);
    } catch (e) {
      if (e instanceof CmlError) throw e;
      throw new CmlError(`Документ №${n} в файле обмена не разобран: некорректный XML.`, `document ${n}: ${(e as Error).message}`);
    }
    this.documents = n;
    await (this.onDocument as (doc: ImportedDocument) => Promise<void> | void)(doc);
  }
}

/** Documents per batch sent to a worker, at most. */
const BATCH_DOCUMENTS = 32;
/** Batches each worker has in hand, at most: enough that it never waits for this thread. */
const IN_FLIGHT = 4;

/**
 * Worker threads parsing batches of documents, round robin; a few batches in flight, so this thread
 * splits the next ones while the workers parse and the caller applies what came back, in order.
 */
class ParseWorker {
  private readonly workers: Worker[] = [];
  private batch: { xml: string; n: number }[] = [];
  private batchChars = 0;
  private spare: ArrayBuffer[] = [];
  private readonly inFlight: Promise<ParsedBatch>[] = [];
  private readonly waiting = new Map<number, (b: ParsedBatch) => void>();
  private seq = 0;
  private failed: Error | null = null;

  constructor(private readonly onDocument: (doc: ImportedDocument) => Promise<void> | void) {
    // one parser: a second gains little on two cores and costs its heap (the import must stay small)
    const count = 1;
    for (let i = 0; i < count; i++) {
      // the sources are TypeScript run through tsx: the worker registers its loader before loading
      // small heaps: a worker holds a few batches of documents at a time, and must not grow past that
      const w = new Worker(`require('tsx/cjs'); require(${JSON.stringify(join(__dirname, 'parse-worker.ts'))});`, {
        eval: true,
        resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 96 },
      });
      w.on('message', (m: ParsedBatch) => this.waiting.get(m.id)?.(m));
      w.on('error', (e) => {
        this.failed = e;
        for (const resolve of this.waiting.values()) resolve({ id: -1, docs: new ArrayBuffer(0), length: 0 });
      });
      this.workers.push(w);
    }
  }

  async add(xml: string, n: number): Promise<void> {
    this.batch.push({ xml, n });
    this.batchChars += xml.length;
    // batches small enough that their answer (one JSON text) stays an ordinary heap object
    if (this.batch.length >= BATCH_DOCUMENTS || this.batchChars >= BATCH_CHARS * 2) await this.send();
  }

  private async send(): Promise<void> {
    const id = ++this.seq;
    const texts = this.batch;
    this.batch = [];
    this.batchChars = 0;
    this.inFlight.push(new Promise<ParsedBatch>((resolve) => this.waiting.set(id, resolve)));
    // the buffers of answers already read go back with it, to carry the next answers
    const spare = this.spare;
    this.spare = [];
    this.workers[id % this.workers.length].postMessage(
      { id, texts: texts.map((t) => t.xml), first: texts[0].n, spare } satisfies ParseRequest,
      spare,
    );
    if (this.inFlight.length > IN_FLIGHT * this.workers.length) await this.handOver();
  }

  private async handOver(): Promise<void> {
    const b = await this.inFlight.shift()!;
    this.waiting.delete(b.id);
    if (this.failed) throw new CmlError('Файл обмена не разобран: ошибка разбора.', this.failed.message);
    const docs = b.length > 0 ? (JSON.parse(Buffer.from(b.docs, 0, b.length).toString('utf16le')) as ImportedDocument[]) : [];
    this.spare.push(b.docs);
    for (const doc of docs) await this.onDocument(doc);
    const f = b.failure;
    if (f) throw new CmlError(f.text ?? `Документ №${f.n} в файле обмена не разобран: некорректный XML.`, `document ${f.n}: ${f.error}`);
  }

  async drain(): Promise<void> {
    if (this.batch.length > 0) await this.send();
    while (this.inFlight.length > 0) await this.handOver();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Documents for the worker to parse; `spare`: buffers it may write its answers into. */
export type ParseRequest = { id: number; texts: string[]; first: number; spare: ArrayBuffer[] };

/**
 * A batch parsed by the worker: the documents up to the first that failed, if one did, as the
 * UTF-16 bytes of the JSON of an ImportedDocument[] (the first `length` bytes of `docs`).
 */
export type ParsedBatch = { id: number; docs: ArrayBuffer; length: number; failure?: { n: number; error: string; text?: string } };

/** Characters of an XML name (as far as telling a prefix from the text before it needs). */
const NAME_CHAR = /[\w.\-\u00b7\u0400-\u04ff]/;
