import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { XMLParser } from 'fast-xml-parser';
import { readDocuments } from '../../../../connectors/commerceml/reader';
import type { CmlEncoding, CmlVersion, ExportOrder, ImportedDocument } from '../../../../connectors/commerceml/types';
import { escapeXml, vatRateText, writeOrders } from '../../../../connectors/commerceml/writer';
import { VAT_CODES } from '../../../../gateway/domain/order';

/**
 * The site → 1C orders file (mode=query): every version and encoding the gateway writes, checked
 * against the official XSD with xmllint (2.08, 2.09, 2.10). 2.05 has no official XSD here; it
 * follows what 1C-Bitrix writes, and 2.08's XSD orders a line's elements differently, so a 2.05
 * file is checked for structure against Bitrix's real file, and — with its lines put in 2.08's
 * order — against the 2.08 XSD (everything else in it is valid 2.08).
 */

const SHARED = '/work/shared/fixtures/commerceml';
const XSD: Record<string, string> = {
  '2.08': `${SHARED}/xsd/commerceml-2.08.xsd`,
  '2.09': `${SHARED}/xsd/commerceml-2.09.xsd`,
  '2.10': `${SHARED}/xsd/commerceml-2.10.xsd`,
};
const TZ = 'Europe/Moscow';
const GENERATED = new Date('2026-11-22T10:00:00Z');

const CI = Boolean(process.env.CI);
const XMLLINT = (() => {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!XMLLINT) {
  const msg = '\n  !!! SKIPPED: CommerceML XSD validation — xmllint is not installed (apt-get install libxml2-utils). !!!\n';
  if (!CI) process.stderr.write(msg);
}
/** Runs with xmllint; without it: skipped loudly on a developer's machine, FAILS in CI. */
const withXmllint = XMLLINT || CI ? test : test.skip;
function requireXmllint(): void {
  if (!XMLLINT) throw new Error('xmllint (libxml2-utils) must be installed in CI: the CommerceML writer cannot be validated without it');
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cml-writer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function xmllint(args: string[]): { ok: boolean; out: string } {
  try {
    const out = execFileSync('xmllint', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { ok: true, out };
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

function validate(file: string, xsd: string): void {
  const r = xmllint(['--noout', '--schema', xsd, file]);
  if (!r.ok) throw new Error(`${file} does not validate against ${xsd}:\n${r.out}`);
  expect(r.out).toBe('');
}

// ---------------------------------------------------------------- the orders

const individual: ExportOrder = {
  id: 'site-1001',
  number: '1001',
  createdAt: '2026-11-20T06:05:04Z', // 09:05:04 in Moscow
  total: 300050,
  comment: 'Позвонить <после 18:00> & «не утром» "лучше" — 100 ₽ скидка 😀',
  customer: {
    id: 'email-ivan@example.ru',
    type: 'individual',
    name: 'Иван Петров',
    email: 'ivan@example.ru',
    phone: '+7 900 123-45-67',
    address: 'Москва, ул. Ленина, 1',
  },
  items: [{ id: 'kettle-01', name: 'Чайник электрический', quantity: 2, price: 150025, amount: 300050, vat: 'vat22', kind: 'goods' }],
  requisites: {
    paymentMethod: 'Банковская карта',
    paymentMethodId: 'card',
    paid: false,
    status: '[N] Принят',
    statusId: 'N',
    statusChangedAt: '2026-11-20T06:05:04Z',
    cancelled: false,
    deliveryAllowed: false,
    site: '[s1] Интернет-магазин',
  },
};

const legal: ExportOrder = {
  id: 'site-1002',
  number: '1002',
  createdAt: '2026-11-20T21:30:00Z', // already the 21st in Moscow
  total: 1250000,
  customer: {
    id: 'inn-7707083893-773601001',
    type: 'legal',
    name: 'ООО "Ромашка" & партнёры',
    inn: '7707083893',
    kpp: '773601001',
    email: 'buh@romashka.example',
  },
  items: [
    {
      id: 'f37c0c86-28f7-11e2-8783-001d607b58e2',
      name: 'Стол <дуб>',
      quantity: 2,
      price: 500000,
      amount: 1000000,
      vat: 'vat20',
      kind: 'goods',
    },
    { id: 'svc-mount', name: 'Монтаж', quantity: 1, price: 200000, amount: 200000, vat: 'none', kind: 'service' },
    { id: 'delivery', name: 'Доставка', quantity: 1, price: 50000, amount: 50000, vat: 'vat122', kind: 'service', delivery: true },
  ],
  requisites: {
    paymentMethod: 'Банковская карта',
    paymentMethodId: 'card',
    paid: true,
    paidAt: '2026-11-20T22:00:00Z',
    paymentDocumentNumber: 'PAY-77',
    status: '[C] Отменен',
    statusId: 'C',
    statusChangedAt: '2026-11-21T08:00:00Z',
    cancelled: true,
    cancelledAt: '2026-11-21T08:00:00Z',
    cancelReason: 'Клиент передумал',
    deliveryAllowed: true,
  },
};

const ORDERS = [individual, legal];

/** Every document requisite, in the exact spelling 1C's loader reads. */
const EXPECTED_REQUISITES: Record<string, Record<string, string>> = {
  '1001': {
    'Метод оплаты': 'Банковская карта',
    'Метод оплаты ИД': 'card',
    'Заказ оплачен': 'false',
    'Доставка разрешена': 'false',
    Отменен: 'false',
    'Статус заказа': '[N] Принят',
    'Статуса заказа ИД': 'N',
    'Дата изменения статуса': '2026-11-20 09:05:04',
    Сайт: '[s1] Интернет-магазин',
  },
  '1002': {
    'Метод оплаты': 'Банковская карта',
    'Метод оплаты ИД': 'card',
    'Заказ оплачен': 'true',
    'Дата оплаты': '2026-11-21 01:00:00',
    'Номер платежного документа': 'PAY-77',
    'Доставка разрешена': 'true',
    Отменен: 'true',
    'Дата отмены заказа': '2026-11-21 11:00:00',
    'Причина отмены': 'Клиент передумал',
    'Статус заказа': '[C] Отменен',
    'Статуса заказа ИД': 'C',
    'Дата изменения статуса': '2026-11-21 11:00:00',
  },
};

function write(version: CmlVersion, encoding: CmlEncoding, orders: ExportOrder[] = ORDERS): Buffer {
  return writeOrders(orders, { version, encoding, generatedAt: GENERATED, timeZone: TZ });
}

function toFile(name: string, bytes: Buffer): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

function textOf(buf: Buffer, encoding: CmlEncoding): string {
  return encoding === 'utf-8' ? buf.subarray(3).toString('utf8') : iconv.decode(buf, 'win1251');
}

async function* oneChunk(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

async function readBack(buf: Buffer): Promise<{ version?: string; encoding: CmlEncoding; docs: ImportedDocument[] }> {
  const docs: ImportedDocument[] = [];
  const r = await readDocuments(oneChunk(buf), (d) => {
    docs.push(d);
  });
  expect(r.documents).toBe(docs.length);
  return { version: r.version, encoding: r.encoding, docs };
}

const CASES: [CmlVersion, CmlEncoding][] = [
  ['2.05', 'windows-1251'],
  ['2.08', 'utf-8'],
  ['2.08', 'windows-1251'],
  ['2.09', 'utf-8'],
  ['2.09', 'windows-1251'],
  ['2.10', 'utf-8'],
  ['2.10', 'windows-1251'],
];

describe.each(CASES)('writeOrders %s %s', (version, encoding) => {
  const buf = () => write(version, encoding);

  test('prolog, encoding and bytes agree', () => {
    const b = buf();
    const word = 'КоммерческаяИнформация';
    if (encoding === 'utf-8') {
      expect([...b.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      const prolog = '<?xml version="1.0" encoding="UTF-8"?>';
      expect(b.subarray(3, 3 + prolog.length).toString('latin1')).toBe(prolog);
      expect(b.includes(Buffer.from(word, 'utf8'))).toBe(true);
      expect(b.subarray(3).toString('utf8')).toContain('Иван Петров');
    } else {
      const prolog = '<?xml version="1.0" encoding="windows-1251"?>';
      expect(b.subarray(0, prolog.length).toString('latin1')).toBe(prolog);
      expect(b.includes(iconv.encode(word, 'win1251'))).toBe(true);
      expect(b.includes(Buffer.from(word, 'utf8'))).toBe(false);
      expect(iconv.decode(b, 'win1251')).toContain('Иван Петров');
      // ₽ and 😀 are not in windows-1251: character references, not "?"
      expect(iconv.decode(b, 'win1251')).toContain('100 &#8381; скидка &#128512;');
    }
  });

  test('root: version, date of generation in the base zone, namespace as the version wants', () => {
    const t = textOf(buf(), encoding);
    const root = /<КоммерческаяИнформация [^>]*>/.exec(t)?.[0] ?? '';
    expect(root).toContain(`ВерсияСхемы="${version}"`);
    expect(root).toContain('ДатаФормирования="2026-11-22T13:00:00"');
    if (version === '2.05') {
      expect(root).not.toContain('xmlns');
      expect(root).toContain('ФорматДаты="ДФ=yyyy-MM-dd; ДЛФ=DT"');
    } else {
      expect(root).toContain('xmlns="urn:1C.ru:commerceml_2"');
    }
    expect(t.match(/<Документ>/g)).toHaveLength(2);
  });

  withXmllint(version === '2.05' ? 'well-formed; structure follows 1C-Bitrix 2.05' : `valid against the official ${version} XSD`, () => {
    requireXmllint();
    const file = toFile(`orders-${version}-${encoding}.xml`, buf());
    if (version !== '2.05') {
      validate(file, XSD[version]);
      return;
    }
    const r = xmllint(['--noout', file]);
    expect(r).toEqual({ ok: true, out: '' });
    assertBitrixStructure(textOf(buf(), encoding));
    // and but for the order of a line's elements it is valid 2.08
    const as208 = toFile(
      'orders-2.05-as-2.08.xml',
      Buffer.from(
        `\ufeff<?xml version="1.0" encoding="UTF-8"?>\n${reorderLinesAs208(textOf(buf(), encoding).replace(/^<\?xml[^>]*>\n/, ''))}`,
        'utf8',
      ),
    );
    validate(as208, XSD['2.08']);
  });

  test('the exact requisite spellings 1C reads', () => {
    const t = textOf(buf(), encoding);
    for (const name of [
      'Метод оплаты',
      'Метод оплаты ИД',
      'Заказ оплачен',
      'Дата оплаты',
      'Номер платежного документа',
      'Доставка разрешена',
      'Отменен',
      'Дата отмены заказа',
      'Причина отмены',
      'Статус заказа',
      'Статуса заказа ИД',
      'Дата изменения статуса',
      'Сайт',
    ]) {
      expect(t).toContain(`<Наименование>${name}</Наименование>`);
    }
    expect(t).toContain('<Наименование>Статуса заказа ИД</Наименование>\n\t\t\t\t<Значение>C</Значение>');
    expect(t).toContain('<Наименование>Заказ оплачен</Наименование>\n\t\t\t\t<Значение>true</Значение>');
    expect(t).toContain('<Наименование>ВидНоменклатуры</Наименование>\n\t\t\t\t\t\t<Значение>Услуга</Значение>');
    expect(t).toContain('<Наименование>ТипНоменклатуры</Наименование>\n\t\t\t\t\t\t<Значение>Товар</Значение>');
    // only requisites with a value: the first order has no payment date, cancellation...
    const first = t.slice(0, t.indexOf('</Документ>'));
    expect(first).not.toContain('Дата оплаты');
    expect(first).not.toContain('Причина отмены');
  });

  test('the unit of a line as the version wants it', () => {
    const t = textOf(buf(), encoding);
    expect(t).toContain('<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>');
    if (version === '2.05') expect(t).not.toContain('<Единица>');
    else expect(t).toContain('<Единица>796</Единица>\n\t\t\t\t<Коэффициент>1</Коэффициент>');
  });

  test('money in rubles with two decimals, VAT rates and totals', () => {
    const t = textOf(buf(), encoding);
    expect(t).toContain('<Сумма>3000.50</Сумма>');
    expect(t).toContain('<ЦенаЗаЕдиницу>1500.25</ЦенаЗаЕдиницу>');
    expect(t).toContain('<Сумма>12500.00</Сумма>');
    expect(t).toContain('<Ставка>Без налога</Ставка>');
    expect(t).toContain('<Ставка>20</Ставка>');
    // vat122 is written as its base rate
    expect(t).not.toContain('<Ставка>122</Ставка>');
    // document VAT = the lines' VAT: 10 000.00 × 20/120 = 1666.67, 500.00 × 22/122 = 90.16
    expect(t).toContain(
      '<Налог>\n\t\t\t\t<Наименование>НДС</Наименование>\n\t\t\t\t<УчтеноВСумме>true</УчтеноВСумме>\n\t\t\t\t<Сумма>1756.83</Сумма>',
    );
    // 3000.50 × 22/122 = 541.07
    expect(t).toContain('<Сумма>541.07</Сумма>');
    expect(t).toContain('<Ид>ORDER_DELIVERY</Ид>');
    expect(t).not.toContain('<Ид>delivery</Ид>');
    expect(t).toContain('Позвонить &lt;после 18:00&gt; &amp; «не утром» &quot;лучше&quot;');
    expect(t).toContain('<Наименование>ООО &quot;Ромашка&quot; &amp; партнёры</Наименование>');
  });

  test('2.09 alone carries the site payment in Оплаты', () => {
    const t = textOf(buf(), encoding);
    if (version === '2.09') {
      expect(t.match(/<Оплаты>/g)).toHaveLength(1); // the paid order only
      expect(t).toContain('<НомерДокумента>PAY-77</НомерДокумента>');
      expect(t).toContain('<ДатаОплаты>2026-11-21T01:00:00</ДатаОплаты>');
      expect(t).toContain('<СуммаОплаты>12500.00</СуммаОплаты>');
    } else {
      expect(t).not.toContain('<Оплаты>');
    }
  });

  test('read back with the reader: the same orders', async () => {
    const r = await readBack(buf());
    expect(r.version).toBe(version);
    expect(r.encoding).toBe(encoding);
    expect(r.docs).toHaveLength(2);
    const [a, b] = r.docs;

    expect(a).toEqual({
      id: 'site-1001',
      number: '1001',
      date: '2026-11-20T09:05:04',
      operation: 'Заказ товара',
      role: 'Продавец',
      currency: 'RUB',
      total: 300050,
      comment: 'Позвонить <после 18:00> & «не утром» "лучше" — 100 ₽ скидка 😀',
      deleted: false,
      customer: {
        id: 'email-ivan@example.ru',
        name: 'Иван Петров',
        fullName: 'Иван Петров',
        email: 'ivan@example.ru',
        phone: '+7 900 123-45-67',
      },
      items: [{ id: 'kettle-01', name: 'Чайник электрический', quantity: 2, price: 150025, amount: 300050, vatRate: '22', kind: 'goods' }],
      requisites: EXPECTED_REQUISITES['1001'],
      payments: [],
      subordinates: [],
    });

    expect(b).toEqual({
      id: 'site-1002',
      number: '1002',
      date: '2026-11-21T00:30:00',
      operation: 'Заказ товара',
      role: 'Продавец',
      currency: 'RUB',
      total: 1250000,
      deleted: false,
      customer: {
        id: 'inn-7707083893-773601001',
        name: 'ООО "Ромашка" & партнёры',
        fullName: 'ООО "Ромашка" & партнёры',
        inn: '7707083893',
        kpp: '773601001',
        email: 'buh@romashka.example',
      },
      items: [
        {
          id: 'f37c0c86-28f7-11e2-8783-001d607b58e2',
          name: 'Стол <дуб>',
          quantity: 2,
          price: 500000,
          amount: 1000000,
          vatRate: '20',
          kind: 'goods',
        },
        { id: 'svc-mount', name: 'Монтаж', quantity: 1, price: 200000, amount: 200000, vatRate: 'Без налога', kind: 'service' },
        { id: 'ORDER_DELIVERY', name: 'Доставка', quantity: 1, price: 50000, amount: 50000, vatRate: '22', kind: 'service' },
      ],
      requisites: EXPECTED_REQUISITES['1002'],
      payments:
        version === '2.09'
          ? [{ number: 'PAY-77', transaction: 'PAY-77', date: '2026-11-21T01:00:00', amount: 1250000, method: 'Банковская карта' }]
          : [],
      subordinates: [],
    });
  });
});

// ---------------------------------------------------------------- 2.05 against Bitrix

type ONode = Record<string, unknown>;
const ordered = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  parseTagValue: false,
  processEntities: false,
  removeNSPrefix: true,
});

function nameOf(n: ONode): string | undefined {
  return Object.keys(n).find((k) => k !== ':@' && k !== '#text');
}

/** Child element names of every element called `parent`, in order (each list separately). */
function childSequences(xml: string, parent: string): string[][] {
  const out: string[][] = [];
  const walk = (nodes: ONode[]) => {
    for (const n of nodes) {
      const name = nameOf(n);
      if (!name) continue;
      const kids = n[name] as ONode[];
      if (name === parent) out.push(kids.map(nameOf).filter((x): x is string => Boolean(x)));
      walk(kids);
    }
  };
  walk(ordered.parse(xml) as ONode[]);
  return out;
}

/** a before b in ours ⇒ a before b in Bitrix's, for every pair both have. */
function expectOrderConsistent(ours: string[], theirs: string[], what: string): void {
  const pos = new Map<string, number>();
  theirs.forEach((n, i) => (pos.has(n) ? undefined : pos.set(n, i)));
  const common = ours.filter((n) => pos.has(n));
  const positions = common.map((n) => pos.get(n) as number);
  expect({ what, positions }).toEqual({ what, positions: [...positions].sort((x, y) => x - y) });
}

function assertBitrixStructure(ours: string): void {
  const bitrix = iconv.decode(readFileSync(`${SHARED}/to-1c-bitrix-2.05-cp1251.xml`), 'win1251');
  for (const parent of ['КоммерческаяИнформация', 'Документ', 'Контрагент', 'Товар', 'ЗначениеРеквизита']) {
    const theirs = childSequences(bitrix, parent)[0];
    for (const seq of childSequences(ours, parent)) expectOrderConsistent(seq, theirs, parent);
  }
  // what Bitrix's real file does not show: its code writes a line's VAT after its requisites,
  // the document's taxes between Комментарий and Товары
  for (const seq of childSequences(ours, 'Товар')) {
    expect(seq.slice(0, 6)).toEqual(['Ид', 'Наименование', 'БазоваяЕдиница', 'ЦенаЗаЕдиницу', 'Количество', 'Сумма']);
    expect(seq[6]).toBe('ЗначенияРеквизитов');
    expect(seq.slice(7).every((n) => n === 'СтавкиНалогов' || n === 'Налоги')).toBe(true);
  }
  for (const seq of childSequences(ours, 'Документ')) {
    const i = seq.indexOf('Налоги');
    if (i >= 0) expect(seq.slice(i - 1, i + 2)).toEqual(['Комментарий', 'Налоги', 'Товары']);
  }
}

const ORDER_208 = [
  'Ид',
  'Наименование',
  'БазоваяЕдиница',
  'СтавкиНалогов',
  'ЗначенияРеквизитов',
  'ЦенаЗаЕдиницу',
  'Количество',
  'Сумма',
  'Налоги',
];

/** The 2.05 text with the namespace 2.08 wants, without Bitrix's root attributes, lines in 2.08's order. */
function reorderLinesAs208(xml: string): string {
  const root = xml
    .replace(/ Формат[^=]*="[^"]*"| РазделительДатаВремя="[^"]*"/g, '')
    .replace('<КоммерческаяИнформация ', '<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ');
  return root.replace(/(\t\t\t<Товар>\n)([\s\S]*?)(\t\t\t<\/Товар>)/g, (_all, open: string, inner: string, close: string) => {
    const blocks = inner.split(/(?=^\t{4}<(?!\/))/m);
    const key = (b: string) => ORDER_208.indexOf(/^\t{4}<([^\s>/]+)/.exec(b)?.[1] ?? '');
    expect(blocks.every((b) => key(b) >= 0)).toBe(true);
    return open + [...blocks].sort((x, y) => key(x) - key(y)).join('') + close;
  });
}

// ---------------------------------------------------------------- details

describe('writeOrders details', () => {
  test('every VAT code: the base rate, "Без налога" for none', () => {
    const expected: Record<string, string> = {
      none: 'Без налога',
      vat0: '0',
      vat5: '5',
      vat7: '7',
      vat10: '10',
      vat20: '20',
      vat22: '22',
      vat105: '5',
      vat107: '7',
      vat110: '10',
      vat120: '20',
      vat122: '22',
    };
    for (const code of VAT_CODES) expect([code, vatRateText(code)]).toEqual([code, expected[code]]);
  });

  test('kopecks become rubles exactly, in integers', async () => {
    const cases: [number, string][] = [
      [150050, '1500.50'],
      [1, '0.01'],
      [10, '0.10'],
      [0, '0.00'],
      [99999999999999, '999999999999.99'],
    ];
    for (const [k, text] of cases) {
      const o: ExportOrder = { ...individual, total: k, items: [{ ...individual.items[0], quantity: 1, price: k, amount: k }] };
      const t = write('2.08', 'utf-8', [o]).toString('utf8');
      expect(t).toContain(`<Сумма>${text}</Сумма>`);
      const back = await readBack(write('2.08', 'utf-8', [o]));
      expect(back.docs[0].total).toBe(k);
    }
  });

  test('fractional quantities and 3-decimal weights', async () => {
    const o: ExportOrder = {
      ...individual,
      items: [{ ...individual.items[0], quantity: 1.255, price: 100000, amount: 125500 }],
      total: 125500,
    };
    const t = write('2.10', 'utf-8', [o]).toString('utf8');
    expect(t).toContain('<Количество>1.255</Количество>');
    expect((await readBack(write('2.10', 'utf-8', [o]))).docs[0].items[0].quantity).toBe(1.255);
    expect(() => write('2.10', 'utf-8', [{ ...o, items: [{ ...o.items[0], quantity: 0.0001 }] }])).toThrow(RangeError);
  });

  test('ids longer than the XSD allows are shortened stably (and still valid)', () => {
    const longId = `email-${'a'.repeat(60)}@example.ru`;
    const o: ExportOrder = { ...individual, customer: { ...individual.customer, id: longId } };
    const t1 = write('2.08', 'utf-8', [o]).toString('utf8');
    const t2 = write('2.08', 'utf-8', [o]).toString('utf8');
    const id = /<Контрагент>\s*<Ид>([^<]*)<\/Ид>/.exec(t1)?.[1] ?? '';
    expect(id.length).toBeLessThanOrEqual(40);
    expect(id.startsWith('email-aaaa')).toBe(true);
    expect(/<Контрагент>\s*<Ид>([^<]*)<\/Ид>/.exec(t2)?.[1]).toBe(id);
    if (XMLLINT) validate(toFile('long-id.xml', Buffer.from(t1, 'utf8')), XSD['2.08']);
  });

  test('characters XML forbids are dropped; an ИНН of a wrong length is left out', () => {
    expect(escapeXml('a\u0000b\u0007c\u001fd\ud800e')).toBe('abcde');
    const o: ExportOrder = { ...legal, customer: { ...legal.customer, inn: '12345', kpp: '1' } };
    const t = write('2.09', 'utf-8', [o]).toString('utf8');
    expect(t).not.toContain('<ИНН>');
    expect(t).not.toContain('<КПП>');
    if (XMLLINT) validate(toFile('bad-inn.xml', Buffer.from(t, 'utf8')), XSD['2.09']);
  });

  test('an unknown version or a bad date is refused loudly', () => {
    expect(() => writeOrders(ORDERS, { version: 'x' as CmlVersion, encoding: 'utf-8', generatedAt: GENERATED, timeZone: TZ })).toThrow(
      RangeError,
    );
    expect(() => write('2.08', 'utf-8', [{ ...individual, createdAt: 'вчера' }])).toThrow(/createdAt/);
  });

  test('no orders: an empty but valid file', async () => {
    const b = write('2.10', 'windows-1251', []);
    expect((await readBack(b)).docs).toEqual([]);
    if (XMLLINT) validate(toFile('empty.xml', b), XSD['2.10']);
  });
});
