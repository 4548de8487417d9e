import { SaxesParser } from 'saxes';
import type { Kopecks } from '../../gateway/domain/money';
import { CmlError, type ImportedDocument } from './types';

/**
 * One CommerceML `Документ` (its text, as the reader cut it out of the file) → ImportedDocument.
 * On its own so that the parsing worker loads only this.
 */

const DOC = 'Документ';

/** An element of a document: its local name, its child elements, and its own text. */
interface El {
  name: string;
  kids: El[];
  /** The element's own text pieces, each trimmed, joined; CDATA as written. Entities are decoded. */
  text: string;
}

/** Reference errors saxes reports and reads on from: the reference stays as written, as 1C's files are read. */
const LENIENT = /entity/;

/**
 * saxes (a strict, non-validating XML parser) over one document's text, building only elements and
 * their text: the mapping below reads nothing else. Nothing is ever expanded: DTDs are refused
 * before a document gets here, saxes knows only the five predefined entities and character
 * references, and an unknown or malformed reference stays as written. Namespace prefixes are
 * dropped (names are matched by local name). Anything not well-formed is refused.
 */
class DocumentParser {
  private sax!: SaxesParser;
  private readonly top: El = { name: '', kids: [], text: '' };
  private stack: El[] = [];
  private depth = 0;

  constructor() {
    this.reset();
  }

  /** A fresh saxes: one that threw is left in the middle of its input. */
  private reset(): void {
    const sax = new SaxesParser({ position: false });
    sax.on('opentag', (tag) => {
      const name = tag.name;
      const colon = name.indexOf(':');
      const el: El = { name: colon < 0 ? name : name.slice(colon + 1), kids: [], text: '' };
      this.stack[this.depth].kids.push(el);
      this.stack[++this.depth] = el;
    });
    sax.on('closetag', () => void this.depth--);
    sax.on('text', (t) => {
      const v = t.trim();
      if (v !== '') this.stack[this.depth].text += v;
    });
    sax.on('cdata', (t) => void (this.stack[this.depth].text += t));
    sax.on('error', (e) => {
      if (!LENIENT.test(e.message)) throw e;
    });
    this.sax = sax;
  }

  parse(xml: string): El {
    this.top.kids = [];
    this.stack = [this.top];
    this.depth = 0;
    try {
      this.sax.write(xml).close();
    } catch (e) {
      this.reset();
      throw e;
    }
    return this.top.kids[0];
  }
}

let documentParser: DocumentParser | null = null;

/** The first child element `name` among `list`. */
function child(list: El[], name: string): El | undefined {
  for (const e of list) if (e.name === name) return e;
  return undefined;
}

/** Every child element `name` among `list`. */
function children(list: El[], name: string): El[] {
  const out: El[] = [];
  for (const e of list) if (e.name === name) out.push(e);
  return out;
}

/** The children of every `inner` inside every `outer` wrapper: Товары/Товар, Оплаты/Оплата... */
function nested(list: El[], outer: string, inner: string): El[][] {
  const out: El[][] = [];
  for (const w of list) if (w.name === outer) for (const e of w.kids) if (e.name === inner) out.push(e.kids);
  return out;
}

const ENTITY = /&(?:#(\d+)|#x([0-9a-fA-F]+)|(lt|gt|amp|quot|apos));/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** The five predefined entities and character references; anything else stays as written. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (all, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (name) return NAMED[name];
    const cp = dec !== undefined ? Number(dec) : parseInt(hex as string, 16);
    return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : all;
  });
}

/** The text of child element `name` (undefined when there is no such element). */
function text(list: El[], name: string): string | undefined {
  return child(list, name)?.text;
}

function nonEmpty(list: El[], name: string): string | undefined {
  const t = text(list, name);
  return t === undefined || t === '' ? undefined : t;
}

/**
 * A 1C date (and time) as `yyyy-MM-dd` or `yyyy-MM-ddTHH:mm:ss`, padded: `2021-02-18T9:49:02` →
 * `2021-02-18T09:49:02`; `T`, empty and 1C's empty date 0001-01-01 → undefined; `dd.MM.yyyy` is
 * turned around; anything else is kept as written.
 */
const pad = (x: string | undefined) => (x ?? '0').padStart(2, '0');

export function normalizeDate(date: string | undefined, time?: string): string | undefined {
  const d = (date ?? '').trim();
  const tm = (time ?? '').trim();
  if (d === '' || d === 'T') return undefined;
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(\.\d+)?)?T?$/.exec(d);
  let ymd: string;
  let hms: string | undefined;
  if (m) {
    ymd = `${m[1]}-${pad(m[2])}-${pad(m[3])}`;
    if (m[4] !== undefined) hms = `${pad(m[4])}:${pad(m[5])}:${pad(m[6])}`;
  } else if ((m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$/.exec(d))) {
    ymd = `${m[3]}-${pad(m[2])}-${pad(m[1])}`;
    if (m[4] !== undefined) hms = `${pad(m[4])}:${pad(m[5])}:${pad(m[6])}`;
  } else {
    return d;
  }
  if (ymd === '0001-01-01') return undefined;
  if (hms === undefined && tm !== '' && tm !== 'T') {
    const t = /^T?(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?/.exec(tm);
    if (t) hms = `${pad(t[1])}:${pad(t[2])}:${pad(t[3])}`;
  }
  return hms === undefined ? ymd : `${ymd}T${hms}`;
}

/**
 * Rubles as written (`1 500,50`, `231.7400`, `-12.5`) → kopecks, from the decimal string (no float
 * arithmetic); a third decimal rounds half up. Empty → undefined; anything else is refused.
 */
export function parseKopecks(raw: string | undefined, where: string): Kopecks | undefined {
  if (raw === undefined) return undefined;
  const s = raw.replace(/[\s\u00a0\u202f']/g, '').replace(',', '.');
  if (s === '') return undefined;
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new CmlError(`Некорректная сумма «${raw.slice(0, 40)}» в ${where}.`);
  const whole = m[2] === '' ? '0' : m[2];
  const frac = (m[3] ?? '').padEnd(3, '0');
  const up = frac.charCodeAt(2) - 48 >= 5 ? 1 : 0;
  let k: number;
  if (whole.length <= 13) {
    k = Number(whole) * 100 + Number(frac.slice(0, 2)) + up;
  } else {
    const big = BigInt(whole) * 100n + BigInt(frac.slice(0, 2)) + BigInt(up);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new CmlError(`Некорректная сумма «${raw.slice(0, 40)}» в ${where}.`);
    k = Number(big);
  }
  return m[1] === '-' && k !== 0 ? -k : k;
}

function parseQuantity(raw: string | undefined, where: string): number {
  if (raw === undefined) return 0;
  const s = raw.replace(/[\s\u00a0\u202f']/g, '').replace(',', '.');
  if (s === '') return 0;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(s)) throw new CmlError(`Некорректное количество «${raw.slice(0, 40)}» в ${where}.`);
  return Number(s);
}

const TRUE = /^(true|1|да|истина)$/i;

/** One `ЗначениеРеквизита` into `out`: name → value as written; several Значение (the XSD allows it) are joined. */
function addRequisite(out: Record<string, string>, e: El[]): void {
  const name = text(e, 'Наименование')?.trim();
  if (!name) return;
  const values = children(e, 'Значение');
  out[name] = values.length <= 1 ? (values[0]?.text ?? '') : values.map((v) => v.text).join(', ');
}

/** `ЗначениеРеквизита` elements, in the `ЗначенияРеквизитов` wrapper or bare: name → value as written. */
function requisitesOf(list: El[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of nested(list, 'ЗначенияРеквизитов', 'ЗначениеРеквизита')) addRequisite(out, e);
  for (const e of children(list, 'ЗначениеРеквизита')) addRequisite(out, e.kids);
  return out;
}

function customerOf(doc: El[]): ImportedDocument['customer'] {
  const all = nested(doc, 'Контрагенты', 'Контрагент');
  if (all.length === 0) return undefined;
  const c = all.find((x) => text(x, 'Роль')?.trim() === 'Покупатель') ?? all[0];
  const fullName = nonEmpty(c, 'ПолноеНаименование') ?? nonEmpty(c, 'ОфициальноеНаименование');
  const customer: NonNullable<ImportedDocument['customer']> = { name: nonEmpty(c, 'Наименование') ?? fullName ?? '' };
  const id = nonEmpty(c, 'Ид');
  if (id !== undefined) customer.id = id;
  if (fullName !== undefined) customer.fullName = fullName;
  const inn = nonEmpty(c, 'ИНН');
  if (inn !== undefined) customer.inn = inn;
  const kpp = nonEmpty(c, 'КПП');
  if (kpp !== undefined) customer.kpp = kpp;
  for (const k of nested(c, 'Контакты', 'Контакт')) {
    const type = (text(k, 'Тип') ?? text(k, 'Вид') ?? '').toLowerCase();
    const value = nonEmpty(k, 'Значение') ?? nonEmpty(k, 'Представление');
    if (!value) continue;
    if (customer.email === undefined && (type.includes('почт') || type.includes('mail'))) customer.email = value;
    else if (customer.phone === undefined && type.includes('телефон')) customer.phone = value;
  }
  return customer;
}

function vatRateOf(item: El[]): string | undefined {
  for (const r of nested(item, 'СтавкиНалогов', 'СтавкаНалога')) {
    const v = nonEmpty(r, 'Ставка');
    if (v !== undefined) return v;
  }
  for (const r of nested(item, 'Налоги', 'Налог')) {
    const v = nonEmpty(r, 'Ставка');
    if (v !== undefined) return v;
  }
  return undefined;
}

function itemsOf(doc: El[], where: string): ImportedDocument['items'] {
  const items: ImportedDocument['items'] = [];
  for (const t of nested(doc, 'Товары', 'Товар')) {
    const name = text(t, 'Наименование') ?? '';
    const at = `строке «${name.slice(0, 60)}» ${where}`;
    const quantity = parseQuantity(text(t, 'Количество'), at);
    const amount = parseKopecks(text(t, 'Сумма'), at);
    let price = parseKopecks(text(t, 'ЦенаЗаЕдиницу') ?? text(t, 'Цена'), at);
    if (price === undefined) price = amount !== undefined && quantity > 0 ? Math.round(amount / quantity) : 0;
    const item: ImportedDocument['items'][number] = { id: text(t, 'Ид')?.trim() ?? '', name, quantity, price, amount: amount ?? 0 };
    const vatRate = vatRateOf(t);
    if (vatRate !== undefined) item.vatRate = vatRate;
    const req = requisitesOf(t);
    const kinds = [req['ВидНоменклатуры'], req['ТипНоменклатуры']].filter((x): x is string => x !== undefined && x.trim() !== '');
    if (kinds.length > 0) item.kind = kinds.some((k) => k.trim().toLowerCase() === 'услуга') ? 'service' : 'goods';
    items.push(item);
  }
  return items;
}

function paymentsOf(doc: El[], where: string): ImportedDocument['payments'] {
  const out: ImportedDocument['payments'] = [];
  for (const p of nested(doc, 'Оплаты', 'Оплата')) {
    const payment: ImportedDocument['payments'][number] = {};
    const number = nonEmpty(p, 'НомерДокумента');
    if (number !== undefined) payment.number = number;
    const transaction = nonEmpty(p, 'НомерТранзакции');
    if (transaction !== undefined) payment.transaction = transaction;
    const date = normalizeDate(text(p, 'ДатаОплаты'));
    if (date !== undefined) payment.date = date;
    const amount = parseKopecks(text(p, 'СуммаОплаты'), `оплате ${where}`);
    if (amount !== undefined) payment.amount = amount;
    const method = nonEmpty(p, 'СпособОплаты');
    if (method !== undefined) payment.method = method;
    out.push(payment);
  }
  return out;
}

/** One `Документ` (or `ПодчиненныйДокумент`): its child nodes → ImportedDocument, leniently. */
function mapDocument(d: El[]): ImportedDocument {
  const number = text(d, 'Номер')?.trim() ?? '';
  // where an error is, in its message (a string: closures cost more than the concatenation)
  const where = `документе №${number.slice(0, 40)}`;
  const requisites = requisitesOf(d);
  const deletedMark = text(d, 'ПометкаУдаления') ?? requisites['ПометкаУдаления'];
  const doc: ImportedDocument = {
    id: text(d, 'Ид')?.trim() ?? '',
    number,
    operation: text(d, 'ХозОперация') ?? '',
    deleted: deletedMark !== undefined && TRUE.test(deletedMark.trim()),
    items: itemsOf(d, where),
    requisites,
    payments: paymentsOf(d, where),
    subordinates: nested(d, 'ПодчиненныеДокументы', 'ПодчиненныйДокумент').map(mapDocument),
  };
  const number1C = nonEmpty(d, 'Номер1С')?.trim() ?? (requisites['Номер по 1С']?.trim() || undefined);
  if (number1C !== undefined) doc.number1C = number1C;
  const date = normalizeDate(text(d, 'Дата'), text(d, 'Время'));
  if (date !== undefined) doc.date = date;
  const role = nonEmpty(d, 'Роль');
  if (role !== undefined) doc.role = role;
  const currency = nonEmpty(d, 'Валюта');
  if (currency !== undefined) doc.currency = currency;
  const total = parseKopecks(text(d, 'Сумма'), where);
  if (total !== undefined) doc.total = total;
  const comment = nonEmpty(d, 'Комментарий');
  if (comment !== undefined) doc.comment = comment;
  const customer = customerOf(d);
  if (customer) doc.customer = customer;
  const basis = nonEmpty(d, 'Основание')?.trim();
  if (basis) doc.basis = basis;
  return doc;
}

/** Parses one document's text (`<Документ …>…</Документ>`, any prefix) into an ImportedDocument. */
export function parseDocument(xml: string): ImportedDocument {
  const root = (documentParser ??= new DocumentParser()).parse(xml);
  return mapDocument(root.name === DOC ? root.kids : []);
}
