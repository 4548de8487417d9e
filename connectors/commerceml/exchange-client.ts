import { open, type FileHandle } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { XMLValidator } from 'fast-xml-parser';
import iconv from 'iconv-lite';
import { checkOrdersPackage, describeProblem } from './package-limits';

/**
 * A client that drives the sale side of 1C's "Обмен с сайтом" (CommerceML 2, the Bitrix protocol)
 * the way УТ 11 and УНФ do (their ОбменССайтом module): loading orders is checkauth (Basic) →
 * query → success, with no `init` before the query; uploading 1C's orders is a new checkauth → init
 * → file (chunks of `file_limit`) → import (called again while `progress`). Like 1C it never follows
 * a redirect, refuses HTML pages and non-200 answers, reads text answers by their first line
 * (`success` / `progress` / `failure`), takes an `init` answer of exactly two lines only, and takes
 * the orders document only when it starts with `<?xml`, its prolog, HTTP charset and bytes agree and
 * every `Документ` fits 1C's CommerceML 2.08 package (one that does not makes 1C reject the whole
 * answer). Used by the tests, the sandbox and `onec-gateway exchange-test`.
 */

export type ExchangeMode = 'checkauth' | 'init' | 'query' | 'success' | 'file' | 'import' | 'info';
export type ExchangeEncoding = 'windows-1251' | 'utf-8';

export interface ExchangeClientOptions {
  /** The exchange URL as entered in 1C, e.g. http://host/exchange/1c or …/bitrix/admin/1c_exchange.php. */
  url: string;
  user: string;
  password: string;
  /** Sent as `version` at init (some set-ups do); the answer must still be exactly two lines. Omit to not send it. */
  version?: string;
  /** Default '1C+Enterprise/8.3'. */
  userAgent?: string;
  /** Upload chunk size; overrides the site's `file_limit`. */
  chunkBytes?: number;
  /** Per request; default 60 s (the gateway itself holds `mode=import` up to 20 s). */
  timeoutMs?: number;
}

export interface InitResult {
  zip: boolean;
  fileLimit: number;
  /** Both lines of the answer. */
  lines: string[];
}

export interface XmlAnswer {
  bytes: Buffer;
  /** The encoding the document was decoded with (prolog, header and bytes agree on it). */
  encoding: ExchangeEncoding;
  /** The decoded document, without a BOM. */
  text: string;
  bom: boolean;
  /** What the bytes are: ASCII only (both encodings read it alike), valid UTF-8, or 8-bit windows-1251. */
  bytesEncoding: 'ascii' | ExchangeEncoding;
  /** The `encoding` of the XML prolog as written, if any. */
  prolog?: string;
  /** The charset of Content-Type as sent, if any. */
  header?: string;
  contentType?: string;
  /** The root element's `ВерсияСхемы`. */
  version?: string;
  /** How many `Документ` elements the document holds. */
  documents: number;
  /** Things that worked here but are known to break some 1C set-ups. */
  warnings: string[];
}

export type QueryResult = XmlAnswer;

export interface UploadResult {
  chunks: number;
  bytes: number;
  /** Note lines after `success` of every chunk, in order. */
  notes: string[];
}

export interface ImportOptions {
  /** How many times `mode=import` is called at most while the site answers `progress` (default 100). */
  maxPolls?: number;
  /** Pause between calls after a `progress` (default 1000 ms). */
  pollDelayMs?: number;
}

export type ExchangeStep =
  { step: ExchangeMode; file?: string; ok: true; lines: string[] } | { step: ExchangeMode; file?: string; ok: false; error: string };

export interface ExchangeRunOptions extends ImportOptions {
  /** Called as each step ends (the CLI prints them as they come). */
  onStep?: (step: ExchangeStep) => void;
}

/** A step of the exchange failed: `mode` is the failing step, `reason` the site's text (or ours). */
export class ExchangeError extends Error {
  override readonly name = 'ExchangeError';
  constructor(
    readonly mode: ExchangeMode,
    readonly reason: string,
    /** The HTTP status, when an answer came. */
    readonly status?: number,
  ) {
    super(`mode=${mode}: ${reason}`);
  }
}

/** 1C's message when the answer to mode=query cannot be read. */
export const PARSE_FAILED = 'Не удалось разобрать данные, загруженные с сервера';

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: Buffer;
}

const ROOT = 'КоммерческаяИнформация';

/** windows-1251 / utf-8 under any of their usual spellings; anything else undefined. */
export function normalizeCharset(name: string | undefined): ExchangeEncoding | undefined {
  if (!name) return undefined;
  const n = name
    .trim()
    .replace(/^["']|["']$/g, '')
    .toLowerCase();
  if (n === 'utf-8' || n === 'utf8') return 'utf-8';
  if (n === 'windows-1251' || n === 'cp1251' || n === 'win1251' || n === 'x-cp1251' || n === 'cp-1251') return 'windows-1251';
  return undefined;
}

function charsetOf(contentType: string | undefined): string | undefined {
  return contentType ? /;\s*charset\s*=\s*("?)([^";\s]+)\1/i.exec(contentType)?.[2] : undefined;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function hasBom(b: Buffer): boolean {
  return b.length >= 3 && b.subarray(0, 3).equals(UTF8_BOM);
}

/** 'ascii' when every byte is < 0x80 (both encodings read it alike), else what the bytes are. */
function bytesKind(b: Buffer): 'ascii' | 'utf-8' | 'not-utf-8' {
  if (!b.some((c) => c >= 0x80)) return 'ascii';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return 'utf-8';
  } catch {
    return 'not-utf-8';
  }
}

function decodeAs(b: Buffer, enc: ExchangeEncoding): string {
  const body = hasBom(b) ? b.subarray(3) : b;
  return enc === 'utf-8' ? body.toString('utf8') : iconv.decode(body, 'win1251');
}

function looksHtml(contentType: string | undefined, head: string): boolean {
  return /text\/html|application\/xhtml/i.test(contentType ?? '') || /^\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])/i.test(head);
}

function htmlSummary(html: string): string {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1];
  const text = (title ?? html.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' '))
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.slice(0, 200) || '(empty page)';
}

/** The lines of a text answer: `\r\n` or `\n`, trailing blanks and empty tail lines dropped. */
function linesOf(text: string): string[] {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((l) => l.trimEnd());
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class ExchangeClient {
  readonly url: URL;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  /** `name=value` from checkauth. */
  cookie: { name: string; value: string } | null = null;
  sessid: string | undefined;
  timestamp: number | undefined;
  initResult: InitResult | null = null;

  constructor(readonly options: ExchangeClientOptions) {
    try {
      this.url = new URL(options.url);
    } catch {
      throw new Error(`not a URL: ${options.url}`);
    }
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') throw new Error(`not an http(s) URL: ${options.url}`);
    if (options.chunkBytes !== undefined && (!Number.isInteger(options.chunkBytes) || options.chunkBytes < 1))
      throw new Error(`chunkBytes must be a positive integer, not ${options.chunkBytes}`);
    this.userAgent = options.userAgent ?? '1C+Enterprise/8.3';
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  // ------------------------------------------------------------------ the steps

  /** `GET ?type=sale&mode=checkauth` with Basic auth: `success\n<cookie name>\n<cookie value>[\nsessid=…][\ntimestamp=…]`. */
  async checkauth(): Promise<string[]> {
    const basic = Buffer.from(`${this.options.user}:${this.options.password}`, 'utf8').toString('base64');
    const lines = this.expect('checkauth', await this.call('checkauth', 'GET', {}, undefined, { authorization: `Basic ${basic}` }), [
      'success',
    ]);
    const [, name, value, ...rest] = lines;
    if (!name || !value)
      throw new ExchangeError(
        'checkauth',
        `the answer has no cookie name and value after "success" (got ${JSON.stringify(lines.join('\n').slice(0, 200))})`,
        200,
      );
    if (/[=;,\s]/.test(name.trim()) || /[;,\s]/.test(value.trim())) {
      throw new ExchangeError(
        'checkauth',
        `the cookie name or value is not usable in a Cookie header: ${JSON.stringify(`${name}=${value}`.slice(0, 200))}`,
        200,
      );
    }
    this.cookie = { name: name.trim(), value: value.trim() };
    this.sessid = undefined;
    this.timestamp = undefined;
    for (const l of rest) {
      const m = /^([A-Za-z_]+)=(.*)$/.exec(l.trim());
      if (m?.[1] === 'sessid' && m[2]) this.sessid = m[2];
      if (m?.[1] === 'timestamp' && /^\d+$/.test(m[2])) this.timestamp = Number(m[2]);
    }
    return lines.slice(1);
  }

  /** `GET ?type=sale&mode=init[&version=…][&sessid=…]`: exactly `zip=yes|no` and `file_limit=<bytes>`. */
  async init(): Promise<InitResult> {
    this.needCookie('init');
    const params: Record<string, string> = {};
    if (this.options.version) params.version = this.options.version;
    const raw = await this.call('init', 'GET', params);
    const lines = this.textLines('init', raw);
    const first = lines[0]?.trim().toLowerCase();
    if (first === 'failure') throw new ExchangeError('init', lines.slice(1).join('\n').trim() || '(failure without a reason)', raw.status);
    // 1C aborts the upload unless the answer has exactly two lines (ОбменССайтом.ВыгрузитьНаСайт)
    if (lines.length !== 2)
      throw new ExchangeError(
        'init',
        `1C needs exactly two lines ("zip=…" and "file_limit=…"), got ${lines.length}: ${JSON.stringify(lines.join('\n').slice(0, 200))}`,
        raw.status,
      );
    // line 1 is compared with zip=yes, line 2 read as file_limit=<bytes>; nothing else is read
    const zip = /^\s*zip\s*=\s*(.*?)\s*$/i.exec(lines[0])?.[1].toLowerCase();
    const limit = /^\s*file_limit\s*=\s*(.*?)\s*$/i.exec(lines[1])?.[1];
    if (zip !== 'yes' && zip !== 'no')
      throw new ExchangeError(
        'init',
        `the first line is not "zip=yes" or "zip=no" (got ${JSON.stringify(lines.join('\n').slice(0, 200))})`,
        raw.status,
      );
    if (limit === undefined || !/^\d+$/.test(limit) || Number(limit) < 1) {
      throw new ExchangeError(
        'init',
        `the second line is not a usable "file_limit=<bytes>" (got ${JSON.stringify(lines.join('\n').slice(0, 200))})`,
        raw.status,
      );
    }
    const result: InitResult = { zip: zip === 'yes', fileLimit: Number(limit), lines };
    this.initResult = result;
    return result;
  }

  /** `GET ?type=sale&mode=query`: the orders document, decoded after the prolog/header/bytes check. */
  async query(): Promise<QueryResult> {
    this.needCookie('query');
    return this.xmlAnswer('query', await this.call('query', 'GET'), true);
  }

  /** `GET ?type=sale&mode=success`: 1C confirms it took the orders. Resolves with the note lines. */
  async success(): Promise<string[]> {
    this.needCookie('success');
    return this.expect('success', await this.call('success', 'GET'), ['success']).slice(1);
  }

  /** `POST ?type=sale&mode=file&filename=X`, in chunks of file_limit (or chunkBytes), each answered `success`. */
  async upload(filename: string, content: Buffer): Promise<UploadResult> {
    return this.postChunks(filename, content.length, async (at, len) => content.subarray(at, at + len));
  }

  /** Like `upload`, reading the file at `path` one chunk at a time (a big file never sits in memory whole). */
  async uploadStream(filename: string, path: string): Promise<UploadResult> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new ExchangeError('file', `cannot read ${path}: ${(e as Error).message}`);
    }
    try {
      const { size } = await fh.stat();
      return await this.postChunks(filename, size, async (at, len) => {
        const buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, at);
        if (bytesRead !== len) throw new ExchangeError('file', `${path} changed while it was being sent`);
        return buf;
      });
    } finally {
      await fh.close();
    }
  }

  private async postChunks(filename: string, total: number, chunkAt: (at: number, len: number) => Promise<Buffer>): Promise<UploadResult> {
    this.needCookie('file');
    const size = this.options.chunkBytes ?? this.initResult?.fileLimit;
    if (!size) throw new ExchangeError('file', 'no chunk size: call init() first (it tells file_limit) or set chunkBytes');
    const notes: string[] = [];
    let chunks = 0;
    // an empty file is still one (empty) POST, as 1C sends it
    for (let at = 0; at < total || chunks === 0; at += size) {
      const chunk = await chunkAt(at, Math.min(size, total - at));
      const lines = this.expect('file', await this.call('file', 'POST', { filename }, chunk), ['success']);
      notes.push(...lines.slice(1));
      chunks += 1;
    }
    return { chunks, bytes: total, notes };
  }

  /** `GET ?type=sale&mode=import&filename=X`, called again while `progress`. Resolves with the notes after `success`. */
  async import(filename: string, opts: ImportOptions = {}): Promise<string[]> {
    this.needCookie('import');
    const maxPolls = opts.maxPolls ?? 100;
    const delay = opts.pollDelayMs ?? 1000;
    let last: string[] = [];
    for (let i = 0; i < maxPolls; i++) {
      const lines = this.expect('import', await this.call('import', 'GET', { filename }), ['success', 'progress']);
      if (lines[0].trim().toLowerCase() === 'success') return lines.slice(1);
      last = lines.slice(1);
      if (i + 1 < maxPolls) await pause(delay);
    }
    throw new ExchangeError('import', `still "progress" after ${maxPolls} calls${last.length ? ` (last: ${last.join(' ')})` : ''}`, 200);
  }

  /** `GET ?type=sale&mode=info` (Bitrix): the XML list of statuses, payment systems and delivery services. */
  async info(): Promise<XmlAnswer> {
    this.needCookie('info');
    return this.xmlAnswer('info', await this.call('info', 'GET'), false);
  }

  /**
   * The whole sale exchange as 1C runs it (ОбменССайтом.ВыполнитьОбменЗаказами): checkauth → query →
   * success (no init: 1C loads the site's orders first); then, when it has files to send, a new
   * checkauth → init → for each file upload and import until `success`. Stops at the first failed
   * step, like 1C; the log says why.
   */
  async exchange(files: { name: string; content: Buffer }[], opts: ExchangeRunOptions = {}): Promise<ExchangeStep[]> {
    const log: ExchangeStep[] = [];
    const run = async (step: ExchangeMode, file: string | undefined, fn: () => Promise<string[]>): Promise<boolean> => {
      let entry: ExchangeStep;
      try {
        entry = { step, ...(file !== undefined ? { file } : {}), ok: true, lines: await fn() };
      } catch (e) {
        entry = {
          step,
          ...(file !== undefined ? { file } : {}),
          ok: false,
          error: e instanceof ExchangeError ? e.reason : (e as Error).message,
        };
      }
      log.push(entry);
      opts.onStep?.(entry);
      return entry.ok;
    };
    const login = () =>
      run('checkauth', undefined, async () => {
        await this.checkauth();
        return [
          `cookie ${this.cookie!.name}`,
          ...(this.sessid ? ['sessid received'] : []),
          ...(this.timestamp !== undefined ? [`timestamp=${this.timestamp}`] : []),
        ];
      });
    const ok =
      (await login()) &&
      (await run('query', undefined, async () => describeXml(await this.query()))) &&
      (await run('success', undefined, () => this.success()));
    if (!ok || files.length === 0) return log;
    const ready =
      (await login()) &&
      (await run('init', undefined, async () => {
        const r = await this.init();
        return [`zip=${r.zip ? 'yes' : 'no'}`, `file_limit=${r.fileLimit}`];
      }));
    if (!ready) return log;
    for (const f of files) {
      const uploaded = await run('file', f.name, async () => {
        const r = await this.upload(f.name, f.content);
        return [`${r.bytes} bytes in ${r.chunks} chunk${r.chunks === 1 ? '' : 's'}`, ...r.notes];
      });
      if (!uploaded) return log;
      if (!(await run('import', f.name, () => this.import(f.name, opts)))) return log;
    }
    return log;
  }

  // ------------------------------------------------------------------ answers

  /** A text answer whose first line must be one of `allowed`; `failure` throws with the site's reason. */
  private expect(mode: ExchangeMode, raw: RawAnswer, allowed: ('success' | 'progress')[]): string[] {
    const lines = this.textLines(mode, raw);
    const first = (lines[0] ?? '').trim().toLowerCase();
    if (first === 'failure') throw new ExchangeError(mode, lines.slice(1).join('\n').trim() || '(failure without a reason)', raw.status);
    if (!(allowed as string[]).includes(first)) {
      const got = lines.join('\n').trim();
      throw new ExchangeError(
        mode,
        `unexpected answer, expected ${allowed.map((a) => `"${a}"`).join(' or ')} on the first line: ${got ? JSON.stringify(got.slice(0, 200)) : '(empty answer)'}`,
        raw.status,
      );
    }
    return lines;
  }

  /** A text answer decoded per its charset (or, without one, its BOM / bytes), split into lines. */
  private textLines(mode: ExchangeMode, raw: RawAnswer): string[] {
    const contentType = raw.headers['content-type'];
    const declared = charsetOf(contentType);
    let enc = normalizeCharset(declared);
    if (declared && !enc)
      throw new ExchangeError(mode, `unsupported charset "${declared}" in Content-Type (1C reads windows-1251 or utf-8)`, raw.status);
    if (!enc) enc = hasBom(raw.bytes) || bytesKind(raw.bytes) !== 'not-utf-8' ? 'utf-8' : 'windows-1251';
    const text = decodeAs(raw.bytes, enc);
    if (looksHtml(contentType, text.slice(0, 512)))
      throw new ExchangeError(mode, `the site answered an HTML page instead of the exchange protocol: ${htmlSummary(text)}`, raw.status);
    return linesOf(text);
  }

  /** The orders document (or the info list): prolog, header and bytes must agree, the XML must be well-formed. */
  private xmlAnswer(mode: ExchangeMode, raw: RawAnswer, orders: boolean): XmlAnswer {
    const b = raw.bytes;
    const contentType = raw.headers['content-type'];
    const bom = hasBom(b);
    const head = b.subarray(bom ? 3 : 0, 512).toString('latin1');
    if (b.length === 0 || head.trim() === '') throw new ExchangeError(mode, `${PARSE_FAILED}: the answer is empty`, raw.status);
    if (looksHtml(contentType, head))
      throw new ExchangeError(
        mode,
        `the site answered an HTML page instead of the exchange protocol: ${htmlSummary(decodeAs(b, normalizeCharset(charsetOf(contentType)) ?? 'utf-8'))}`,
        raw.status,
      );
    if (/^\s*(failure|success|progress)\s*(\r?\n|$)/i.test(head)) {
      // a text answer where the document was expected
      const lines = this.textLines(mode, raw);
      if (lines[0].trim().toLowerCase() === 'failure')
        throw new ExchangeError(mode, lines.slice(1).join('\n').trim() || '(failure without a reason)', raw.status);
      throw new ExchangeError(
        mode,
        `${PARSE_FAILED}: expected an XML document, got ${JSON.stringify(lines.join('\n').slice(0, 200))}`,
        raw.status,
      );
    }
    if (b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff)))
      throw new ExchangeError(mode, `${PARSE_FAILED}: the document is UTF-16 (1C reads windows-1251 or utf-8)`, raw.status);

    if (orders && b.subarray(0, 2).toString('latin1') === 'PK')
      throw new ExchangeError(
        mode,
        `${PARSE_FAILED}: the orders came as a zip archive; 1C passes the answer through a text string and the archive arrives broken: send plain XML`,
        raw.status,
      );
    // 1C loads the answer only when it begins with "<?xml" (or "PK"); anything else, even a blank line, loads nothing
    if (orders && !head.startsWith('<?xml'))
      throw new ExchangeError(
        mode,
        `${PARSE_FAILED}: the answer does not begin with "<?xml" (${JSON.stringify(head.slice(0, 20))}): 1C loads nothing from it`,
        raw.status,
      );
    const prologMatch = /^\s*<\?xml\b([^?]*)\?>/.exec(head);
    const prolog = prologMatch ? /\bencoding\s*=\s*["']([^"']+)["']/.exec(prologMatch[1])?.[1] : undefined;
    const header = charsetOf(contentType);
    const prologEnc = prolog ? normalizeCharset(prolog) : 'utf-8'; // XML without an encoding declaration is UTF-8
    const headerEnc = normalizeCharset(header);
    const kind = bytesKind(b.subarray(bom ? 3 : 0));
    const problems: string[] = [];
    if (prolog && !prologEnc) problems.push(`the XML prolog declares an unsupported encoding "${prolog}" (1C reads windows-1251 or utf-8)`);
    if (header && !headerEnc) problems.push(`Content-Type declares an unsupported charset "${header}"`);
    const said = prolog ? `the XML prolog declares encoding="${prolog}"` : 'the XML has no encoding declaration (so UTF-8)';
    if (prologEnc && headerEnc && prologEnc !== headerEnc) problems.push(`${said} but Content-Type says charset=${header}`);
    if (prologEnc === 'windows-1251' && bom) problems.push(`${said} but the bytes start with a UTF-8 BOM`);
    if (prologEnc === 'windows-1251' && kind === 'utf-8') problems.push(`${said} but the bytes are UTF-8`);
    if (prologEnc === 'utf-8' && kind === 'not-utf-8') problems.push(`${said} but the bytes are not valid UTF-8 (windows-1251?)`);
    if (!prologEnc && headerEnc === 'utf-8' && kind === 'not-utf-8')
      problems.push(`Content-Type says charset=${header} but the bytes are not valid UTF-8`);
    if (problems.length > 0 || !prologEnc) throw new ExchangeError(mode, `${PARSE_FAILED}: ${problems.join('; ')}`, raw.status);

    const text = decodeAs(b, prologEnc);
    const valid = XMLValidator.validate(text);
    if (valid !== true)
      throw new ExchangeError(
        mode,
        `${PARSE_FAILED}: the XML is not well-formed: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`,
        raw.status,
      );
    const rootTag = /<([^\s>/?!]+)([^>]*)>/.exec(text.replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>/g, ''));
    const rootName = rootTag?.[1].replace(/^[^:]*:/, '');
    if (orders && rootName !== ROOT)
      throw new ExchangeError(mode, `${PARSE_FAILED}: the root element is <${rootTag?.[1] ?? '?'}>, not <${ROOT}>`, raw.status);
    if (orders) {
      // 1C reads the answer with its CommerceML 2.08 package: one document out of it and the whole batch is refused
      const { problems } = checkOrdersPackage(text);
      if (problems.length > 0) {
        const listed = problems
          .slice(0, 5)
          .map((p) => `Документ ${p.document}${p.number !== undefined ? ` №${p.number}` : ''}: ${describeProblem(p, 'en')}`);
        throw new ExchangeError(
          mode,
          `1C's CommerceML 2.08 package refuses the answer (every order of it is lost, no success is sent): ${listed.join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
          raw.status,
        );
      }
    }
    const version = rootName === ROOT ? /(?:^|\s)ВерсияСхемы\s*=\s*["']([^"']*)["']/u.exec(rootTag![2])?.[1] : undefined;
    const documents = (text.match(/<(?:[^\s<>/:]+:)?Документ[\s>/]/gu) ?? []).length;
    const warnings: string[] = [];
    if (prologEnc === 'utf-8' && !bom && kind === 'utf-8')
      warnings.push('UTF-8 without a BOM: a real УТ 8.3 set-up failed to read such answers (a BOM or windows-1251 worked)');
    if (!header) warnings.push('Content-Type has no charset');
    return {
      bytes: b,
      encoding: prologEnc,
      text: text.replace(/^\uFEFF/, ''),
      bom,
      bytesEncoding: kind === 'not-utf-8' ? 'windows-1251' : kind,
      ...(prolog ? { prolog } : {}),
      ...(header ? { header } : {}),
      ...(contentType ? { contentType } : {}),
      ...(version ? { version } : {}),
      documents,
      warnings,
    };
  }

  // ------------------------------------------------------------------ HTTP

  private needCookie(mode: ExchangeMode): void {
    if (!this.cookie) throw new ExchangeError(mode, 'no session: call checkauth() first');
  }

  private urlFor(mode: ExchangeMode, params: Record<string, string>): URL {
    const u = new URL(this.url.href);
    u.searchParams.delete('type');
    u.searchParams.delete('mode');
    u.searchParams.append('type', 'sale');
    u.searchParams.append('mode', mode);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    if (mode !== 'checkauth' && this.sessid && !u.searchParams.has('sessid')) u.searchParams.set('sessid', this.sessid);
    return u;
  }

  private call(
    mode: ExchangeMode,
    method: 'GET' | 'POST',
    params: Record<string, string> = {},
    body?: Buffer,
    extra: Record<string, string> = {},
  ): Promise<RawAnswer> {
    const u = this.urlFor(mode, params);
    const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: '*/*', ...extra };
    if (mode !== 'checkauth' && this.cookie) headers.cookie = `${this.cookie.name}=${this.cookie.value}`;
    if (body) {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = String(body.length);
    }
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<RawAnswer>((resolve, reject) => {
      const req = send(u, { method, headers, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(new ExchangeError(mode, `the answer broke off: ${e.message}`, res.statusCode)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const bytes = Buffer.concat(chunks);
          if (status >= 300 && status < 400) {
            const to = res.headers.location ? ` to ${res.headers.location}` : '';
            reject(
              new ExchangeError(
                mode,
                `сайт перенаправил запрос обмена: HTTP ${status}${to}. 1C does not follow redirects (a 301 turns its POST into GET): enter the final URL in 1C`,
                status,
              ),
            );
            return;
          }
          if (status !== 200) {
            reject(new ExchangeError(mode, `HTTP ${status}: ${statusBody(res.headers['content-type'], bytes)}`, status));
            return;
          }
          resolve({ status, headers: res.headers, bytes });
        });
      });
      req.on('timeout', () => req.destroy(new ExchangeError(mode, `no answer from ${u.origin} in ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(e instanceof ExchangeError ? e : new ExchangeError(mode, `cannot reach ${u.origin}: ${e.message}`)));
      req.end(body);
    });
  }
}

/** What an answer that is not 200 said, briefly: the page title, the failure reason or the first line. */
function statusBody(contentType: string | undefined, bytes: Buffer): string {
  if (bytes.length === 0) return '(empty answer)';
  const enc = normalizeCharset(charsetOf(contentType)) ?? (bytesKind(bytes) === 'not-utf-8' ? 'windows-1251' : 'utf-8');
  const text = decodeAs(bytes, enc);
  if (looksHtml(contentType, text.slice(0, 512))) return `an HTML page: ${htmlSummary(text)}`;
  const lines = linesOf(text);
  if (lines[0]?.trim().toLowerCase() === 'failure') return lines.slice(1).join('\n').trim() || 'failure';
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/** The query step's summary lines: documents, version, encoding and the prolog/header/bytes check. */
export function describeXml(r: XmlAnswer): string[] {
  const bytes = `${r.bytesEncoding === 'ascii' ? 'ASCII' : r.bytesEncoding}${r.bom ? ' with a BOM' : ''}`;
  return [
    `${r.documents} Документ`,
    `version ${r.version ?? '(none)'}`,
    `encoding ${r.encoding}: prolog ${r.prolog ?? '(none, UTF-8)'}, header ${r.header ?? '(none)'}, bytes ${bytes}: agree`,
    ...r.warnings.map((w) => `warning: ${w}`),
  ];
}
