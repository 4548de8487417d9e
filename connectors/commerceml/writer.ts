import { createHash } from 'node:crypto';
import iconv from 'iconv-lite';
import { quantityThousandths, toRubleString, type Kopecks } from '../../gateway/domain/money';
import type { VatCode } from '../../gateway/domain/order';
import type { CmlVersion, ExportOrder, WriteOptions } from './types';

/** What is written is checked against 1C's own CommerceML 2.08 package before it is sent. */
export { checkOrdersPackage, describeProblem, type PackageProblem } from './package-limits';

/**
 * The answer to `mode=query`: the site's orders for 1C, one `КоммерческаяИнформация` with one
 * `Документ` per order.
 *
 * Two layouts:
 * - up to 2.05: what 1C-Bitrix writes for 2.05 (the layout 1C's old loaders were built against):
 *   no namespace, Bitrix's format attributes on the root, a line's `ЦенаЗаЕдиницу`/`Количество`/
 *   `Сумма` right after its `БазоваяЕдиница`, then its `ЗначенияРеквизитов`, then its VAT.
 *   There is no official 2.05 schema to check it against; 2.08's puts a line's elements in another
 *   order, so a 2.05 file does not validate against it as is. The tests check its structure
 *   against Bitrix's real file, and validate it against 2.08 with only its lines reordered.
 * - 2.06 and later: strictly valid against the official XSD (2.08, 2.09, 2.10 are checked by the
 *   tests with xmllint): namespace `urn:1C.ru:commerceml_2`, the XSD's element order, the
 *   required `БазоваяЕдиница` plus `Единица` (the unit's code) and `Коэффициент`; 2.09 also gets
 *   the document-level `Оплаты` block when the order is paid with a known payment document.
 *
 * Values are clipped to the XSD's lengths (names 255, comments 3000, requisite values 1000); an
 * `Ид` longer than the XSD allows (40, a line's 80) is shortened to a stable prefix + hash, so the
 * same long id always gives the same `Ид`. An ИНН that is not 10 or 12 digits, or a КПП that is
 * not 9 characters, is left out rather than make 1C reject the whole file. Characters windows-1251 lacks are written as
 * character references (`&#8381;`); characters XML forbids are dropped.
 */
export function writeOrders(orders: ExportOrder[], opts: WriteOptions): Buffer {
  const w = new Writer(opts);
  w.root(orders);
  const text = w.text();
  if (opts.encoding === 'windows-1251') {
    return iconv.encode(`<?xml version="1.0" encoding="windows-1251"?>\n${toCp1251Safe(text)}`, 'win1251');
  }
  // UTF-8 WITH a BOM: UTF-8 without it failed on a real УТ 8.3 base.
  return Buffer.from(`\ufeff<?xml version="1.0" encoding="UTF-8"?>\n${text}`, 'utf8');
}

// ---------------------------------------------------------------- versions

const NAMESPACE = 'urn:1C.ru:commerceml_2';

/** ≤ 2.05: the Bitrix layout. */
function isLegacy(version: CmlVersion): boolean {
  return versionNumber(version) <= 205;
}

function versionNumber(version: string): number {
  const m = /^(\d+)\.(\d+)$/.exec(version);
  if (!m) throw new RangeError(`unknown CommerceML version ${version}`);
  return Number(m[1]) * 100 + Number(m[2]);
}

// ---------------------------------------------------------------- VAT

const VAT_RATE: Record<VatCode, number | null> = {
  none: null,
  vat0: 0,
  vat5: 5,
  vat7: 7,
  vat10: 10,
  vat20: 20,
  vat22: 22,
  // calculated rates (5/105, 10/110...) are the same rate seen from the gross amount
  vat105: 5,
  vat107: 7,
  vat110: 10,
  vat120: 20,
  vat122: 22,
};

/** The VAT rate 1C reads: the number, or "Без налога". */
export function vatRateText(vat: VatCode): string {
  const r = VAT_RATE[vat];
  if (r === undefined) throw new RangeError(`unknown VAT code ${vat}`);
  return r === null ? 'Без налога' : String(r);
}

/** VAT included in a gross amount, rounded half up to a kopeck, in integers. */
function vatIncluded(amount: Kopecks, rate: number): Kopecks {
  if (rate <= 0) return 0;
  const a = BigInt(amount);
  const r = BigInt(rate);
  const d = 100n + r;
  const neg = a < 0n;
  const abs = neg ? -a : a;
  const v = (abs * r * 2n + d) / (2n * d);
  return Number(neg ? -v : v);
}

// ---------------------------------------------------------------- dates

const formatters = new Map<string, Intl.DateTimeFormat>();

/** `yyyy-MM-dd` and `HH:mm:ss` of an instant in the base's zone (1C's dates carry no zone). */
function local(value: string | Date, timeZone: string, what: string): { date: string; time: string } {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw new RangeError(`${what}: not a date: ${String(value)}`);
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(d)) p[part.type] = part.value;
  return { date: `${p.year.padStart(4, '0')}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}:${p.second}` };
}

// ---------------------------------------------------------------- text

// Characters XML 1.0 does not allow (C0 controls but tab/newline/return, lone surrogates, U+FFFE/U+FFFF).
// eslint-disable-next-line no-control-regex
const FORBIDDEN =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text content and attribute values, escaped. */
export function escapeXml(s: string): string {
  return s.replace(FORBIDDEN, '').replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

/** At most `max` characters (code points, as the XSD counts them). */
function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  const cps = Array.from(s);
  return cps.length <= max ? s : cps.slice(0, max).join('');
}

/** An id within the XSD's length: as is, or a stable prefix + hash of the whole. */
function fitId(id: string, max: number): string {
  const cps = Array.from(id);
  if (cps.length <= max) return id;
  const hash = createHash('sha1').update(id).digest('hex').slice(0, 16);
  return `${cps.slice(0, max - hash.length - 1).join('')}~${hash}`;
}

let cp1251Chars: Set<number> | null = null;

/** Characters windows-1251 cannot hold become character references: 1C reads them back exactly. */
function toCp1251Safe(s: string): string {
  if (!cp1251Chars) {
    const all = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    cp1251Chars = new Set(Array.from(iconv.decode(all, 'win1251'), (c) => c.codePointAt(0) as number));
    cp1251Chars.delete(0xfffd);
  }
  const set = cp1251Chars;
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    const cp = s.codePointAt(i) as number;
    if (set.has(cp)) continue;
    out += `${s.slice(from, i)}&#${cp};`;
    if (cp > 0xffff) i++;
    from = i + 1;
  }
  return from === 0 ? s : out + s.slice(from);
}

function quantityText(q: number, what: string): string {
  const t = quantityThousandths(q);
  if (t === null) throw new RangeError(`${what}: quantity ${q} is not positive or has more than 3 decimal places`);
  const whole = Math.trunc(t / 1000);
  const frac = t % 1000;
  return frac === 0 ? String(whole) : `${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
}

function money(k: Kopecks, what: string): string {
  if (!Number.isSafeInteger(k)) throw new RangeError(`${what}: ${k} is not a whole number of kopecks`);
  return toRubleString(k);
}

// ---------------------------------------------------------------- the document

const LIMIT = { id: 40, itemId: 80, name: 255, comment: 3000, value: 1000, string: 255, number: 255, paymentMethodId: 20 } as const;

class Writer {
  private readonly out: string[] = [];
  private readonly legacy: boolean;
  private readonly v: number;

  constructor(private readonly opts: WriteOptions) {
    this.legacy = isLegacy(opts.version);
    this.v = versionNumber(opts.version);
  }

  text(): string {
    return this.out.join('');
  }

  private line(depth: number, s: string): void {
    this.out.push('\t'.repeat(depth), s, '\n');
  }

  private leaf(depth: number, name: string, value: string): void {
    this.line(depth, value === '' ? `<${name}/>` : `<${name}>${escapeXml(value)}</${name}>`);
  }

  private open(depth: number, name: string): void {
    this.line(depth, `<${name}>`);
  }

  private close(depth: number, name: string): void {
    this.line(depth, `</${name}>`);
  }

  private requisites(depth: number, values: [string, string][]): void {
    if (values.length === 0) return;
    this.open(depth, 'ЗначенияРеквизитов');
    for (const [name, value] of values) {
      this.open(depth + 1, 'ЗначениеРеквизита');
      this.leaf(depth + 2, 'Наименование', clip(name, LIMIT.name));
      this.leaf(depth + 2, 'Значение', clip(value, LIMIT.value));
      this.close(depth + 1, 'ЗначениеРеквизита');
    }
    this.close(depth, 'ЗначенияРеквизитов');
  }

  root(orders: ExportOrder[]): void {
    const { version, generatedAt, timeZone } = this.opts;
    const at = local(generatedAt, timeZone, 'generatedAt');
    const attrs = [`ВерсияСхемы="${escapeXml(version)}"`, `ДатаФормирования="${at.date}T${at.time}"`];
    if (this.legacy) {
      // Bitrix's format attributes (1C's 2.05 loaders know them; the 2.08+ XSDs do not allow them)
      attrs.push(
        'ФорматДаты="ДФ=yyyy-MM-dd; ДЛФ=DT"',
        'ФорматВремени="ДФ=ЧЧ:мм:сс; ДЛФ=T"',
        'РазделительДатаВремя="T"',
        'ФорматСуммы="ЧЦ=18; ЧДЦ=2; ЧРД=."',
        'ФорматКоличества="ЧЦ=18; ЧДЦ=3; ЧРД=."',
      );
    } else {
      attrs.unshift(`xmlns="${NAMESPACE}"`);
    }
    this.line(0, `<КоммерческаяИнформация ${attrs.join(' ')}>`);
    for (const o of orders) this.document(1, o);
    this.line(0, '</КоммерческаяИнформация>');
  }

  private document(d: number, o: ExportOrder): void {
    const what = `order ${o.number}`;
    const tz = this.opts.timeZone;
    const created = local(o.createdAt, tz, `${what}: createdAt`);
    const r = o.requisites;

    this.open(d, 'Документ');
    this.leaf(d + 1, 'Ид', fitId(o.id, LIMIT.id));
    this.leaf(d + 1, 'Номер', clip(o.number, LIMIT.number));
    this.leaf(d + 1, 'Дата', created.date);
    this.leaf(d + 1, 'ХозОперация', 'Заказ товара');
    this.leaf(d + 1, 'Роль', 'Продавец');
    this.leaf(d + 1, 'Валюта', 'RUB');
    this.leaf(d + 1, 'Курс', '1');
    this.leaf(d + 1, 'Сумма', money(o.total, `${what}: total`));
    this.customer(d + 1, o);
    if (this.v === 209 && r.paid && r.paidAt && r.paymentDocumentNumber) {
      // 2.09 only (2.10 dropped it): the site's payment, all of ОплатаСайт's required fields
      const paidAt = local(r.paidAt, tz, `${what}: paidAt`);
      this.open(d + 1, 'Оплаты');
      this.open(d + 2, 'Оплата');
      this.leaf(d + 3, 'НомерДокумента', clip(r.paymentDocumentNumber, LIMIT.number));
      this.leaf(d + 3, 'НомерТранзакции', clip(r.paymentDocumentNumber, LIMIT.number));
      this.leaf(d + 3, 'ДатаОплаты', `${paidAt.date}T${paidAt.time}`);
      this.leaf(d + 3, 'СуммаОплаты', money(o.total, `${what}: total`));
      this.leaf(d + 3, 'СпособОплаты', clip(r.paymentMethod, LIMIT.string));
      if (r.paymentMethodId && r.paymentMethodId.length <= LIMIT.paymentMethodId) this.leaf(d + 3, 'ИдСпособаОплаты', r.paymentMethodId);
      this.close(d + 2, 'Оплата');
      this.close(d + 1, 'Оплаты');
    }
    this.leaf(d + 1, 'Время', created.time);
    this.leaf(d + 1, 'Комментарий', clip(o.comment ?? '', LIMIT.comment));

    let vatTotal = 0;
    let taxed = false;
    for (const it of o.items) {
      const rate = VAT_RATE[it.vat];
      if (rate === undefined) throw new RangeError(`${what}: unknown VAT code ${it.vat}`);
      if (rate !== null) {
        taxed = true;
        vatTotal += vatIncluded(it.amount, rate);
      }
    }
    if (taxed) {
      this.open(d + 1, 'Налоги');
      this.open(d + 2, 'Налог');
      this.leaf(d + 3, 'Наименование', 'НДС');
      this.leaf(d + 3, 'УчтеноВСумме', 'true');
      this.leaf(d + 3, 'Сумма', money(vatTotal, `${what}: VAT`));
      this.close(d + 2, 'Налог');
      this.close(d + 1, 'Налоги');
    }

    this.open(d + 1, 'Товары');
    for (const it of o.items) this.item(d + 2, o, it);
    this.close(d + 1, 'Товары');

    const req: [string, string][] = [];
    const date = (v: string, field: string) => {
      const l = local(v, tz, `${what}: ${field}`);
      return `${l.date} ${l.time}`;
    };
    if (r.paymentMethod) req.push(['Метод оплаты', r.paymentMethod]);
    if (r.paymentMethodId) req.push(['Метод оплаты ИД', r.paymentMethodId]);
    if (r.paid !== undefined) req.push(['Заказ оплачен', String(r.paid)]);
    if (r.paidAt) req.push(['Дата оплаты', date(r.paidAt, 'paidAt')]);
    if (r.paymentDocumentNumber) req.push(['Номер платежного документа', r.paymentDocumentNumber]);
    if (r.deliveryAllowed !== undefined) req.push(['Доставка разрешена', String(r.deliveryAllowed)]);
    req.push(['Отменен', String(r.cancelled)]);
    if (r.cancelledAt) req.push(['Дата отмены заказа', date(r.cancelledAt, 'cancelledAt')]);
    if (r.cancelReason) req.push(['Причина отмены', r.cancelReason]);
    if (r.status) req.push(['Статус заказа', r.status]);
    if (r.statusId) req.push(['Статуса заказа ИД', r.statusId]);
    if (r.statusChangedAt) req.push(['Дата изменения статуса', date(r.statusChangedAt, 'statusChangedAt')]);
    if (r.site) req.push(['Сайт', r.site]);
    this.requisites(d + 1, req);
    this.close(d, 'Документ');
  }

  private customer(d: number, o: ExportOrder): void {
    const c = o.customer;
    const name = clip(c.name, LIMIT.name);
    const inn = c.inn && /^\d{10}(\d{2})?$/.test(c.inn.trim()) ? c.inn.trim() : undefined;
    const kpp = c.kpp && c.kpp.trim().length === 9 ? c.kpp.trim() : undefined;
    const address = c.address ? clip(c.address, LIMIT.name) : undefined;

    this.open(d, 'Контрагенты');
    this.open(d + 1, 'Контрагент');
    this.leaf(d + 2, 'Ид', fitId(c.id, LIMIT.id));
    this.leaf(d + 2, 'Наименование', name);
    // The XSD makes these a choice: ПолноеНаименование is the individual's, ОфициальноеНаименование
    // the legal entity's (a file with both does not validate)
    if (c.type === 'legal') {
      // РеквизитыЮрЛица: ОфициальноеНаименование, ЮридическийАдрес, ИНН, КПП
      this.leaf(d + 2, 'ОфициальноеНаименование', name);
      if (address) {
        this.open(d + 2, 'ЮридическийАдрес');
        this.leaf(d + 3, 'Представление', address);
        this.close(d + 2, 'ЮридическийАдрес');
      }
      if (inn) this.leaf(d + 2, 'ИНН', inn);
      if (kpp) this.leaf(d + 2, 'КПП', kpp);
    } else {
      // РеквизитыФизЛица: ПолноеНаименование, ИНН, АдресРегистрации
      this.leaf(d + 2, 'ПолноеНаименование', name);
      if (inn) this.leaf(d + 2, 'ИНН', inn);
      if (address) {
        this.open(d + 2, 'АдресРегистрации');
        this.leaf(d + 3, 'Представление', address);
        this.close(d + 2, 'АдресРегистрации');
      }
    }
    const contacts: [string, string][] = [];
    if (c.email) contacts.push(['Почта', c.email]);
    if (c.phone) contacts.push(['Телефон рабочий', c.phone]);
    if (contacts.length > 0) {
      this.open(d + 2, 'Контакты');
      for (const [type, value] of contacts) {
        this.open(d + 3, 'Контакт');
        this.leaf(d + 4, 'Тип', type);
        this.leaf(d + 4, 'Значение', clip(value, LIMIT.string));
        this.close(d + 3, 'Контакт');
      }
      this.close(d + 2, 'Контакты');
    }
    this.leaf(d + 2, 'Роль', 'Покупатель');
    this.close(d + 1, 'Контрагент');
    this.close(d, 'Контрагенты');
  }

  private item(d: number, o: ExportOrder, it: ExportOrder['items'][number]): void {
    const what = `order ${o.number}, line ${it.name}`;
    const rate = VAT_RATE[it.vat];
    const kind = it.delivery || it.kind === 'service' ? 'Услуга' : 'Товар';
    const unit = () =>
      this.line(d + 1, '<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>');
    const rates = () => {
      this.open(d + 1, 'СтавкиНалогов');
      this.open(d + 2, 'СтавкаНалога');
      this.leaf(d + 3, 'Наименование', 'НДС');
      this.leaf(d + 3, 'Ставка', vatRateText(it.vat));
      this.close(d + 2, 'СтавкаНалога');
      this.close(d + 1, 'СтавкиНалогов');
    };
    const taxes = () => {
      if (rate === null || rate === 0) return;
      this.open(d + 1, 'Налоги');
      this.open(d + 2, 'Налог');
      this.leaf(d + 3, 'Наименование', 'НДС');
      this.leaf(d + 3, 'УчтеноВСумме', 'true');
      this.leaf(d + 3, 'Сумма', money(vatIncluded(it.amount, rate), `${what}: VAT`));
      this.leaf(d + 3, 'Ставка', String(rate));
      this.close(d + 2, 'Налог');
      this.close(d + 1, 'Налоги');
    };
    const figures = () => {
      this.leaf(d + 1, 'ЦенаЗаЕдиницу', money(it.price, `${what}: price`));
      this.leaf(d + 1, 'Количество', quantityText(it.quantity, what));
      this.leaf(d + 1, 'Сумма', money(it.amount, `${what}: amount`));
    };
    const kindRequisites = (): [string, string][] => [
      ['ВидНоменклатуры', kind],
      ['ТипНоменклатуры', kind],
    ];

    this.open(d, 'Товар');
    this.leaf(d + 1, 'Ид', it.delivery ? 'ORDER_DELIVERY' : fitId(it.id, LIMIT.itemId));
    this.leaf(d + 1, 'Наименование', clip(it.name, LIMIT.name));
    unit();
    if (this.legacy) {
      // Bitrix 2.05: figures, requisites, then the VAT
      figures();
      this.requisites(d + 1, kindRequisites());
      rates();
      taxes();
    } else {
      // the XSD: base Товар (…, СтавкиНалогов, …, ЗначенияРеквизитов), then the document line's own
      // ЦенаЗаЕдиницу, Количество, Сумма, Единица, Коэффициент, …, Налоги
      rates();
      this.requisites(d + 1, kindRequisites());
      figures();
      this.leaf(d + 1, 'Единица', '796');
      this.leaf(d + 1, 'Коэффициент', '1');
      taxes();
    }
    this.close(d, 'Товар');
  }
}
