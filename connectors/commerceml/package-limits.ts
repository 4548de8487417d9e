import { SaxesParser } from 'saxes';

/**
 * The limits 1C's own CommerceML 2.08 XDTO package (CML208, what УТ 11 and УНФ read the answer to
 * `mode=query` with) puts on the orders document. 1C reads the whole answer at once: a single
 * `Документ` that breaks one of them makes 1C reject the whole answer (and roll back every order of
 * the batch), so no order of that exchange is loaded and `mode=success` is never called.
 *
 * - `Ид` at most 40 characters; `Номер` at most 255;
 * - `Дата` an xs:date (`yyyy-MM-dd`), `Время` an xs:time (`HH:mm:ss`);
 * - `Валюта` present and exactly 3 characters; every `Сумма` a decimal of at most 18 digits, 2 after the point;
 * - every `ЗначениеРеквизита/Значение` at most 1000 characters;
 * - `ХозОперация` present and «Заказ товара» (in any case).
 *
 * Lengths are counted in characters (code points), as XDTO counts them.
 */

export type PackageRule = 'id' | 'number' | 'date' | 'time' | 'currency' | 'amount' | 'value' | 'operation';

export interface PackageProblem {
  /** 1-based position of the `Документ` in the answer. */
  document: number;
  /** The document's `Ид` and `Номер` as written (clipped to 80 characters), when present. */
  id?: string;
  number?: string;
  rule: PackageRule;
  /** The offending value (clipped to 80 characters); undefined when the element is missing. */
  value?: string;
}

export const LIMITS = { id: 40, number: 255, value: 1000, currency: 3, amountDigits: 18, amountFraction: 2 } as const;

const DATE = /^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(Z|[+-]\d{2}:\d{2})?$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;
const DECIMAL = /^[+-]?(\d*)(?:\.(\d*))?$/;

const chars = (s: string) => Array.from(s).length;
const short = (s: string) => (chars(s) > 80 ? `${Array.from(s).slice(0, 80).join('')}…` : s);

/** True when `s` is a decimal of at most 18 digits with at most 2 after the point. */
export function fitsAmount(s: string): boolean {
  const m = DECIMAL.exec(s.trim());
  if (!m || (!m[1] && !m[2])) return false;
  const whole = m[1].replace(/^0+/, '');
  const fraction = (m[2] ?? '').replace(/0+$/, '');
  return fraction.length <= LIMITS.amountFraction && whole.length + fraction.length <= LIMITS.amountDigits;
}

interface OpenDocument {
  index: number;
  /** Direct children's text, by local name. */
  fields: Map<string, string>;
  problems: PackageProblem[];
}

const local = (name: string) => name.slice(name.indexOf(':') + 1);

/**
 * Every place where an orders document breaks 1C's package limits, in document order; an empty
 * list when 1C can read it. Throws when the text is not well-formed XML (1C cannot read it at all).
 */
export function checkOrdersPackage(xml: string): { documents: number; problems: PackageProblem[] } {
  const parser = new SaxesParser({ xmlns: false });
  const path: string[] = [];
  let text = '';
  let documents = 0;
  let doc: OpenDocument | null = null;
  let docDepth = -1;
  const problems: PackageProblem[] = [];
  const add = (d: OpenDocument, rule: PackageRule, value?: string) =>
    d.problems.push({ document: d.index, rule, ...(value !== undefined ? { value: short(value) } : {}) });

  parser.on('opentag', (tag) => {
    const name = local(tag.name);
    path.push(name);
    text = '';
    if (name === 'Документ' && !doc) {
      documents += 1;
      doc = { index: documents, fields: new Map(), problems: [] };
      docDepth = path.length;
    }
  });
  parser.on('text', (t) => (text += t));
  parser.on('cdata', (t) => (text += t));
  parser.on('closetag', (tag) => {
    const name = local(tag.name);
    const value = text;
    text = '';
    if (doc) {
      const depth = path.length;
      if (depth === docDepth + 1) doc.fields.set(name, value);
      if (name === 'Сумма' && !fitsAmount(value)) add(doc, 'amount', value);
      if (name === 'Значение' && path[depth - 2] === 'ЗначениеРеквизита' && chars(value) > LIMITS.value) add(doc, 'value', value);
      if (depth === docDepth) {
        const f = doc.fields;
        const id = f.get('Ид');
        const number = f.get('Номер');
        if (id !== undefined && chars(id) > LIMITS.id) add(doc, 'id', id);
        if (number !== undefined && chars(number) > LIMITS.number) add(doc, 'number', number);
        const date = f.get('Дата');
        if (date !== undefined && !DATE.test(date.trim())) add(doc, 'date', date);
        const time = f.get('Время');
        if (time !== undefined && !TIME.test(time.trim())) add(doc, 'time', time);
        const currency = f.get('Валюта');
        if (currency === undefined || chars(currency) !== LIMITS.currency) add(doc, 'currency', currency);
        const op = f.get('ХозОперация');
        if (op === undefined || op.trim().toLowerCase() !== 'заказ товара') add(doc, 'operation', op);
        for (const p of doc.problems) {
          if (id !== undefined) p.id = short(id);
          if (number !== undefined) p.number = short(number);
          problems.push(p);
        }
        doc = null;
        docDepth = -1;
      }
    }
    path.pop();
  });
  parser.write(xml.replace(/^\uFEFF/, '')).close();
  return { documents, problems };
}

const EN: Record<PackageRule, string> = {
  id: `Ид longer than ${LIMITS.id} characters`,
  number: `Номер longer than ${LIMITS.number} characters`,
  date: 'Дата is not a date (yyyy-MM-dd)',
  time: 'Время is not a time (HH:mm:ss)',
  currency: `Валюта missing or not ${LIMITS.currency} characters`,
  amount: `Сумма not a number of at most ${LIMITS.amountDigits} digits, ${LIMITS.amountFraction} after the point`,
  value: `a requisite's Значение longer than ${LIMITS.value} characters`,
  operation: 'ХозОперация missing or not «Заказ товара»',
};

const RU: Record<PackageRule, string> = {
  id: `Ид длиннее ${LIMITS.id} символов`,
  number: `Номер длиннее ${LIMITS.number} символов`,
  date: 'Дата не в формате ГГГГ-ММ-ДД',
  time: 'Время не в формате ЧЧ:ММ:СС',
  currency: `Валюта не указана или не из ${LIMITS.currency} символов`,
  amount: `Сумма не число из не более чем ${LIMITS.amountDigits} цифр (${LIMITS.amountFraction} после запятой)`,
  value: `значение реквизита длиннее ${LIMITS.value} символов`,
  operation: 'ХозОперация не указана или не «Заказ товара»',
};

/** One problem in words: English for the exchange-test tool, Russian for the 1C operator and support. */
export function describeProblem(p: PackageProblem, lang: 'en' | 'ru'): string {
  const rule = (lang === 'en' ? EN : RU)[p.rule];
  const value = p.value !== undefined ? ` («${p.value}»)` : '';
  return `${rule}${value}`;
}
