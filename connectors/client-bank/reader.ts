import iconv from 'iconv-lite';
import type { Kopecks } from '../../gateway/domain/money';
import { StatementFormatError, type StatementLine, type StatementParty } from '../../gateway/ports';
import { FIRST_LINE, FLAGS, KNOWN_TAGS, VERSIONS, upper, type RawFields } from './types';

/**
 * Reads a 1CClientBankExchange file (a bank statement exported for 1C, or a file of payment
 * orders 1C sends to the bank) into canonical values. A file that is not one, is cut short,
 * has a section left open, or a document with no positive amount is refused whole, naming the line.
 *
 * Encoding: the header says `Кодировка=Windows` (windows-1251) or `DOS` (cp866), but real files
 * lie (UTF-8 under `Windows`), so the bytes decide: valid UTF-8 is UTF-8; otherwise whichever of
 * windows-1251 and cp866 makes the tags readable (the header's choice when both would). A single
 * UTF-8 line in a single-byte file (1C's own exports end so) is read as UTF-8.
 */

export type ClientBankEncoding = 'utf-8' | 'windows-1251' | 'cp866';

export interface StatementAccount {
  account: string;
  from: string | null;
  to: string | null;
  opening: Kopecks | null;
  credited: Kopecks | null;
  debited: Kopecks | null;
  closing: Kopecks | null;
}

export interface ClientBankStatement {
  version: string;
  encoding: ClientBankEncoding;
  declaredEncoding: string | null;
  sender: string | null;
  receiver: string | null;
  from: string | null;
  to: string | null;
  /** The organization's accounts the statement covers (header `РасчСчет` and the account sections). */
  accounts: StatementAccount[];
  documents: StatementLine[];
}

export interface ReadOptions {
  /** The organization's own accounts; by default the accounts the statement names. */
  ownAccounts?: readonly string[];
}

interface Line {
  no: number;
  text: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function validUtf8(b: Uint8Array): boolean {
  try {
    UTF8.decode(b);
    return true;
  } catch {
    return false;
  }
}

function splitLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0a) {
      out.push(buf.subarray(start, i > start && buf[i - 1] === 0x0d ? i - 1 : i));
      start = i + 1;
    }
  }
  if (start < buf.length) out.push(buf.subarray(start, buf[buf.length - 1] === 0x0d ? buf.length - 1 : buf.length));
  return out;
}

const hasHigh = (b: Buffer) => b.some((x) => x >= 0x80);

function decodeLine(b: Buffer, enc: ClientBankEncoding): string {
  if (enc === 'utf-8' || (hasHigh(b) && validUtf8(b))) return b.toString('utf8');
  return iconv.decode(b, enc);
}

/** How many lines read as a known tag or section marker in this encoding. */
function score(lines: Buffer[], enc: ClientBankEncoding): number {
  let n = 0;
  for (const b of lines) {
    if (!hasHigh(b)) continue;
    const t = decodeLine(b, enc);
    const eq = t.indexOf('=');
    const key = upper((eq < 0 ? t : t.slice(0, eq)).trim());
    if (KNOWN_TAGS.has(key) || (Object.values(FLAGS) as string[]).includes(key)) n++;
  }
  return n;
}

function declared(lines: Buffer[]): string | null {
  for (const b of lines.slice(0, 40))
    for (const enc of ['windows-1251', 'cp866'] as const) {
      // «Кодировка» in whichever encoding the file is in; its value is ASCII
      const m = /^\s*Кодировка\s*=\s*(.*)$/i.exec(decodeLine(b, enc));
      if (m) return m[1].trim();
    }
  return null;
}

function chooseEncoding(buf: Buffer, lines: Buffer[]): { encoding: ClientBankEncoding; declaredEncoding: string | null } {
  const declaredEncoding = declared(lines);
  if (validUtf8(buf)) return { encoding: 'utf-8', declaredEncoding };
  const dos = declaredEncoding !== null && /^dos$/i.test(declaredEncoding);
  const win = score(lines, 'windows-1251');
  const cp866 = score(lines, 'cp866');
  if (win === cp866) return { encoding: dos ? 'cp866' : 'windows-1251', declaredEncoding };
  return { encoding: win > cp866 ? 'windows-1251' : 'cp866', declaredEncoding };
}

const DATE = /^(\d{2})\.(\d{2})\.(\d{4})$/;

function parseDate(v: string, no: number, tag: string): string {
  const m = DATE.exec(v);
  if (m) {
    const [, d, mo, y] = m;
    const iso = `${y}-${mo}-${d}`;
    const t = new Date(`${iso}T00:00:00Z`);
    if (!Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === iso) return iso;
  }
  throw new StatementFormatError('bad_date', no, `${tag}=${v}: дата должна быть в виде ДД.ММ.ГГГГ`);
}

const AMOUNT = /^(-?)(\d{1,15})(?:[.,](\d{1,2}))?$/;

/** «12354.00», «700», «18026,52» → kopecks (a sign kept; the caller decides what a negative means). */
function parseAmount(v: string, no: number, tag: string): Kopecks {
  const m = AMOUNT.exec(v.replace(/[\s\u00a0]/g, ''));
  if (!m) throw new StatementFormatError('bad_amount', no, `${tag}=${v}: сумма должна быть числом рублей с копейками через точку`);
  const k = Number(m[2]) * 100 + Number((m[3] ?? '0').padEnd(2, '0'));
  return m[1] ? -k : k;
}

/** «ИНН 6672307097 ООО "Услуги инфо"», «7777777777, ООО "…"»: the ИНН and the name a bank put into one field. */
function splitNameField(v: string | undefined): { inn: string | null; name: string } {
  if (!v) return { inn: null, name: '' };
  const m = /^\s*(?:ИНН\s*)?(\d{10}|\d{12})\s*[,;]?\s*(.*)$/iu.exec(v);
  return m ? { inn: m[1], name: m[2].trim() } : { inn: null, name: v.trim() };
}

function party(f: RawFields, p: 'Плательщик' | 'Получатель'): StatementParty {
  const combined = splitNameField(f.get(p));
  const kpp = f.get(`${p}КПП`) ?? null;
  return {
    name: f.get(`${p}1`) ?? combined.name,
    inn: f.get(`${p}ИНН`) ?? combined.inn,
    kpp: kpp && !/^0+$/.test(kpp) ? kpp : null,
    account: f.get(`${p}Счет`) ?? f.get(`${p}РасчСчет`) ?? null,
    bankBik: f.get(`${p}БИК`) ?? null,
    bankName: f.get(`${p}Банк1`) ?? null,
  };
}

interface OpenSection {
  kind: 'account' | 'document';
  openedAt: number;
  docKind: string;
  fields: RawFields;
  lineOf: Map<string, number>;
}

export function readClientBankExchange(buf: Buffer, opts: ReadOptions = {}): ClientBankStatement {
  let bytes = buf;
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)))
    throw new StatementFormatError(
      'wrong_encoding',
      1,
      'файл в кодировке UTF-16; выписка 1CClientBankExchange бывает в windows-1251 (Кодировка=Windows) или cp866 (Кодировка=DOS)',
    );
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  const raw = splitLines(bytes);
  if (raw.length === 0 || raw[0].toString('latin1').trim().toLowerCase() !== FIRST_LINE.toLowerCase())
    throw new StatementFormatError('not_client_bank_exchange', 1, `это не файл обмена с банком: первая строка должна быть «${FIRST_LINE}»`);

  const { encoding, declaredEncoding } = chooseEncoding(bytes, raw);
  const firstCyrillic = raw.findIndex((b) => hasHigh(b));
  if (firstCyrillic >= 0 && score(raw, encoding) === 0)
    throw new StatementFormatError(
      'wrong_encoding',
      firstCyrillic + 1,
      'ни один тег не читается ни в windows-1251, ни в cp866, ни в UTF-8: файл в другой кодировке',
    );
  const lines: Line[] = raw.map((b, i) => ({ no: i + 1, text: decodeLine(b, encoding) }));

  const header: RawFields = new Map();
  const headerAccounts: string[] = [];
  const accounts: StatementAccount[] = [];
  const docs: { fields: RawFields; lineOf: Map<string, number>; openedAt: number; docKind: string }[] = [];
  let open: OpenSection | null = null;
  let ended = false;

  for (const { no, text } of lines.slice(1)) {
    const t = text.trim();
    if (t === '') continue;
    const eq = t.indexOf('=');
    const rawKey = (eq < 0 ? t : t.slice(0, eq)).trim();
    const key = upper(rawKey);
    const value = eq < 0 ? '' : t.slice(eq + 1).trim();

    if (key === FLAGS.fileEnd) {
      if (open)
        throw new StatementFormatError(
          'section_not_closed',
          open.openedAt,
          `секция, открытая здесь, не закрыта (${open.kind === 'document' ? 'нет КонецДокумента' : 'нет КонецРасчСчет'}) до КонецФайла в строке ${no}`,
        );
      ended = true;
      break;
    }
    if (key === FLAGS.accountSection || key === FLAGS.documentSection) {
      if (open)
        throw new StatementFormatError(
          'section_not_closed',
          open.openedAt,
          `секция, открытая здесь, не закрыта (${open.kind === 'document' ? 'нет КонецДокумента' : 'нет КонецРасчСчет'}) до новой секции в строке ${no}`,
        );
      open = {
        kind: key === FLAGS.accountSection ? 'account' : 'document',
        openedAt: no,
        docKind: value || header.get('Документ') || '',
        fields: new Map(),
        lineOf: new Map(),
      };
      continue;
    }
    if (key === FLAGS.accountSectionEnd || key === FLAGS.documentEnd) {
      const want = key === FLAGS.accountSectionEnd ? 'account' : 'document';
      if (!open || open.kind !== want)
        throw new StatementFormatError(
          'section_not_closed',
          no,
          `${rawKey} без открытой секции ${want === 'account' ? 'СекцияРасчСчет' : 'СекцияДокумент'}`,
        );
      if (open.kind === 'account') accounts.push(accountSection(open));
      else docs.push(open);
      open = null;
      continue;
    }
    const tag = KNOWN_TAGS.get(key);
    if (!tag) {
      // letters only: a tag this reader does not use (1C skips them too); anything else is text decoded wrong
      if (!/^[\p{L}\p{N}_ ]+$/u.test(rawKey) || eq < 0)
        throw new StatementFormatError(
          eq < 0 ? 'bad_line' : 'wrong_encoding',
          no,
          eq < 0
            ? `«${t.slice(0, 60)}» — не пара Ключ=Значение и не метка секции`
            : `«${rawKey.slice(0, 40)}» не читается как тег в кодировке ${encoding}: файл сохранён в другой кодировке?`,
        );
      continue;
    }
    if (value === '') continue;
    if (open) {
      if (!open.fields.has(tag)) {
        open.fields.set(tag, value);
        open.lineOf.set(tag, no);
      }
    } else if (tag === 'РасчСчет') headerAccounts.push(value);
    else if (!header.has(tag)) header.set(tag, value);
  }

  if (open)
    throw new StatementFormatError(
      'section_not_closed',
      open.openedAt,
      `файл обрывается: секция, открытая здесь, не закрыта (${open.kind === 'document' ? 'нет КонецДокумента' : 'нет КонецРасчСчет'}) и нет КонецФайла`,
    );
  if (!ended) throw new StatementFormatError('truncated', lines.length, 'файл обрывается: нет строки КонецФайла');

  const version = header.get('ВерсияФормата');
  if (!version) throw new StatementFormatError('missing_field', 2, 'в заголовке нет ВерсияФормата');
  if (!(VERSIONS as readonly string[]).includes(version))
    throw new StatementFormatError('unsupported_version', 2, `ВерсияФормата=${version}: читаются версии ${VERSIONS.join(', ')}`);

  const own = new Set(opts.ownAccounts ?? [...headerAccounts, ...accounts.map((a) => a.account)]);
  const documents = docs.map((d) => document(d, own));

  return {
    version,
    encoding,
    declaredEncoding,
    sender: header.get('Отправитель') ?? null,
    receiver: header.get('Получатель') ?? null,
    from: optionalDate(header, 'ДатаНачала'),
    to: optionalDate(header, 'ДатаКонца'),
    accounts: accounts.length ? accounts : headerAccounts.map((account) => emptyAccount(account)),
    documents,
  };
}

function optionalDate(f: RawFields, tag: string, lineOf?: Map<string, number>): string | null {
  const v = f.get(tag);
  return v ? parseDate(v, lineOf?.get(tag) ?? 2, tag) : null;
}

const emptyAccount = (account: string): StatementAccount => ({
  account,
  from: null,
  to: null,
  opening: null,
  credited: null,
  debited: null,
  closing: null,
});

function accountSection(s: OpenSection): StatementAccount {
  const account = s.fields.get('РасчСчет');
  if (!account) throw new StatementFormatError('missing_field', s.openedAt, 'в секции СекцияРасчСчет нет РасчСчет');
  const money = (tag: string) => {
    const v = s.fields.get(tag);
    return v === undefined ? null : parseAmount(v, s.lineOf.get(tag)!, tag);
  };
  return {
    account,
    from: optionalDate(s.fields, 'ДатаНачала', s.lineOf),
    to: optionalDate(s.fields, 'ДатаКонца', s.lineOf),
    opening: money('НачальныйОстаток'),
    credited: money('ВсегоПоступило'),
    debited: money('ВсегоСписано'),
    closing: money('КонечныйОстаток'),
  };
}

function document(
  d: { fields: RawFields; lineOf: Map<string, number>; openedAt: number; docKind: string },
  own: Set<string>,
): StatementLine {
  const f = d.fields;
  const number = f.get('Номер');
  if (!number) throw new StatementFormatError('missing_field', d.openedAt, 'у документа, начатого здесь, нет Номер');
  const sumText = f.get('Сумма');
  if (sumText === undefined)
    throw new StatementFormatError('missing_field', d.openedAt, `у документа № ${number}, начатого здесь, нет Сумма`);
  const amount = parseAmount(sumText, d.lineOf.get('Сумма')!, 'Сумма');
  if (amount <= 0)
    throw new StatementFormatError(
      'amount_not_positive',
      d.lineOf.get('Сумма')!,
      `Сумма=${sumText} у документа № ${number}: сумма платежа должна быть больше нуля`,
    );
  const debitedOn = optionalDate(f, 'ДатаСписано', d.lineOf);
  const creditedOn = optionalDate(f, 'ДатаПоступило', d.lineOf);
  // 1C takes the bank's date when the document's own is empty
  const date = optionalDate(f, 'Дата', d.lineOf) ?? debitedOn ?? creditedOn;
  if (!date) throw new StatementFormatError('missing_field', d.openedAt, `у документа № ${number}, начатого здесь, нет Дата`);
  const payer = party(f, 'Плательщик');
  const receiver = party(f, 'Получатель');
  const mine = (p: 'Плательщик' | 'Получатель') =>
    [f.get(`${p}Счет`), f.get(`${p}РасчСчет`)].find((a): a is string => a !== undefined && own.has(a)) ?? null;
  const payerOwn = mine('Плательщик');
  const receiverOwn = mine('Получатель');
  // 1C УТ: ours on the payer's side is outgoing; ours on both sides, outgoing once the bank debited it
  const direction: StatementLine['direction'] =
    payerOwn && receiverOwn ? (debitedOn ? 'outgoing' : 'incoming') : payerOwn ? 'outgoing' : receiverOwn ? 'incoming' : 'other';
  const purpose =
    f.get('НазначениеПлатежа') ??
    [1, 2, 3, 4, 5, 6]
      .map((i) => f.get(`НазначениеПлатежа${i}`))
      .filter((s): s is string => !!s)
      .join(' ');
  const code = f.get('Код') ?? null;
  return {
    account: (direction === 'outgoing' ? payerOwn : receiverOwn) ?? receiver.account ?? '',
    direction,
    kind: d.docKind,
    number,
    date,
    amount,
    bankDate: direction === 'outgoing' ? debitedOn : direction === 'incoming' ? creditedOn : (creditedOn ?? debitedOn),
    payer,
    receiver,
    purpose,
    uip: code && !/^0+$/.test(code) ? code : null,
  };
}
