import { createReadStream, readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import iconv from 'iconv-lite';
import { readDocuments, type ReadOptions } from '../../../../connectors/commerceml/reader';
import { CmlError, type CmlEncoding, type ImportedDocument } from '../../../../connectors/commerceml/types';

/**
 * The 1C → site reader (mode=file): every real file with orders in the shared fixtures, small
 * made-up files for what the real ones do not show (namespace prefixes, 2.09 Оплаты, 2.10
 * ПодчиненныеДокументы, Bitrix's separate payment and shipment documents, no ЗначенияРеквизитов
 * wrapper, Цена, `T` dates), the inputs it must refuse, and flat memory on a large stream.
 */

const SHARED = '/work/shared/fixtures/commerceml';
const OWN = `${__dirname}/../../../fixtures/commerceml`;

async function* chunksOf(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

interface Read {
  version?: string;
  encoding: CmlEncoding;
  documents: number;
  docs: ImportedDocument[];
}

async function read(input: AsyncIterable<Buffer> | NodeJS.ReadableStream, opts?: ReadOptions): Promise<Read> {
  const docs: ImportedDocument[] = [];
  const r = await readDocuments(
    input,
    (d) => {
      docs.push(d);
    },
    opts,
  );
  expect(r.documents).toBe(docs.length);
  return { ...r, docs };
}

const readBytes = (buf: Buffer, chunk = buf.length || 1, opts?: ReadOptions) => read(chunksOf(buf, chunk), opts);
const readFile = (path: string) => read(createReadStream(path));

/** What a refused input gives: the error and the documents handed over before it. */
async function refused(buf: Buffer, chunk?: number, opts?: ReadOptions): Promise<{ error: CmlError; docs: ImportedDocument[] }> {
  const docs: ImportedDocument[] = [];
  try {
    await readDocuments(
      chunksOf(buf, chunk ?? (buf.length || 1)),
      (d) => {
        docs.push(d);
      },
      opts,
    );
  } catch (e) {
    expect(e).toBeInstanceOf(CmlError);
    return { error: e as CmlError, docs };
  }
  throw new Error('the input was accepted');
}

const cp1251 = (s: string) => iconv.encode(s, 'win1251');
const utf8 = (s: string) => Buffer.from(s, 'utf8');

// ---------------------------------------------------------------- real files

const REAL_WITH_ORDERS = [
  'from-1c-2.08-bom.xml',
  'from-1c-ut11-2.09.xml',
  'official-from-site-2.03-cp1251.xml',
  'official-to-site-2.03-cp1251.xml',
  'to-1c-bitrix-2.05-cp1251.xml',
];
const OWN_FILES = [
  'prefixed-2.08.xml',
  'lenient-2.08.xml',
  'payments-2.09.xml',
  'subordinates-2.10.xml',
  'bitrix-2.10-documents.xml',
  'bitrix-3.1-container.xml',
];

describe('real 1C and site files', () => {
  test('from-1c-2.08-bom.xml: UTF-8 with BOM, xmlns commerceml_210, unpadded time, ПометкаУдаления requisite', async () => {
    const r = await readFile(`${SHARED}/from-1c-2.08-bom.xml`);
    expect(r).toMatchObject({ version: '2.08', encoding: 'utf-8', documents: 1 });
    const [d] = r.docs;
    expect(d).toMatchObject({
      id: '24c82d03-7149-11eb-80c0-7085c2ddb497',
      number: '13838',
      number1C: 'СА-013838', // from "Номер по 1С"
      date: '2021-02-17T00:00:00',
      operation: 'Заказ товара',
      role: 'Продавец',
      currency: 'руб',
      total: 151500,
      deleted: false,
      customer: { id: '81c6c53b-4490-11e8-90de-b06ebf38f0a3', name: 'Александр', fullName: 'Александр' },
      payments: [],
      subordinates: [],
    });
    expect(d.customer?.inn).toBeUndefined();
    expect(d.comment).toMatch(
      /^Способ оплаты: При получении заказа;\n\s+Дата оплаты: нет;[\s\S]*Стоимость доставки: 405 ₽;[\s\S]*Скидка: нет;$/,
    );
    expect(d.items).toEqual([
      { id: 'ORDER_DELIVERY', name: 'Доставка', quantity: 1, price: 40500, amount: 40500, kind: 'service' },
      {
        id: 'f37c0c86-28f7-11e2-8783-001d607b58e2',
        name: 'Логические блоки Дьенеша',
        quantity: 3,
        price: 37000,
        amount: 111000,
        kind: 'goods',
      },
    ]);
    // requisites as written: the unpadded date stays as 1C wrote it
    expect(d.requisites).toEqual({
      'Номер по 1С': 'СА-013838',
      'Дата по 1С': '2021-02-17T22:51:37',
      ПометкаУдаления: 'false',
      Проведен: 'true',
      Оплачен: 'true',
      'Номер оплаты по 1С': 'НФНФ-000001',
      'Дата оплаты по 1С': '2021-02-18T9:49:02',
      Отгружен: 'true',
      'Номер отгрузки по 1С': 'НФНФ-000001',
      'Дата отгрузки по 1С': '2021-02-18T9:49:02',
      'Адрес доставки': 'Москва, Москва, Ленина 1',
      'Метод доставки': 'Самовывоз СДЭК',
      'Способ доставки': 'Пункт выдачи',
      'Стоимость доставки': '405',
      Получатель: 'тест',
      'Статус заказа': 'Отправлен',
      ИнформацияПокупателю: 'Вы можете забирать Ваш заказ',
      ОтветственныйМенеджер: 'Ирина',
    });
  });

  test('from-1c-ut11-2.09.xml: УТ 11 with Номер1С, ПометкаУдаления element, Цена, VAT rates', async () => {
    const r = await readFile(`${SHARED}/from-1c-ut11-2.09.xml`);
    expect(r).toMatchObject({ version: '2.09', encoding: 'utf-8', documents: 2 });
    const [a, b] = r.docs;
    expect(a).toMatchObject({
      id: '142',
      number: '142',
      number1C: 'ТДЦУ-000001',
      date: '2015-06-29T15:39:10',
      operation: 'Заказ товара',
      role: 'Продавец',
      currency: 'RUB',
      total: 818684,
      comment: '[Номер документа на сайте: 142]',
      deleted: false,
      customer: { id: '4a65ecb6-8b1b-11df-be16-e0cb4ed5f70f', name: 'Kikinda (Сербия)', fullName: 'Kikinda (Сербия)' },
      payments: [],
      subordinates: [],
    });
    // empty <ИНН/> and <КПП/> are no ИНН and КПП
    expect(a.customer).toEqual({ id: '4a65ecb6-8b1b-11df-be16-e0cb4ed5f70f', name: 'Kikinda (Сербия)', fullName: 'Kikinda (Сербия)' });
    expect(a.items).toEqual([
      {
        id: 'cbcf493f-55bc-11d9-848a-00112f43529a',
        name: 'Вентилятор BINATONE ALPINE 160вт, напольный ,',
        quantity: 1,
        price: 333800,
        amount: 333800,
        vatRate: '18',
        kind: 'goods',
      },
      {
        id: 'bd72d913-55bc-11d9-848a-00112f43529a#b02e2814-720f-11df-b436-0015e92f2802',
        name: 'Ботинки женские демисезонные (35, 5, натуральная кожа, Бежевый)',
        quantity: 1,
        price: 360000,
        amount: 360000,
        vatRate: '18',
        kind: 'goods',
      },
    ]);
    expect(a.requisites).toEqual({
      Проведен: 'true',
      'Номер оплаты по 1С': 'ТДЦУ-000001',
      'Дата оплаты по 1С': '2015-06-29T15:39:10',
      'Номер отгрузки по 1С': 'ТДЦУ-000003',
      'Дата отгрузки по 1С': '2015-06-29T17:32:27',
      'Статуса заказа ИД': 'P',
    });
    expect(b).toMatchObject({
      id: '235',
      number: '235',
      number1C: 'ТДЦУ-000002',
      date: '2015-06-29T16:36:25',
      total: 410000,
      comment: '[Номер документа на сайте: 235]',
      deleted: false,
    });
    expect(b.items).toHaveLength(2);
    expect(b.items[1]).toEqual({
      id: 'ORDER_DELIVERY',
      name: 'Доставка заказа',
      quantity: 1,
      price: 50000,
      amount: 50000,
      vatRate: '18',
      kind: 'service',
    });
    expect(b.requisites).toEqual({
      Проведен: 'true',
      'Номер оплаты по 1С': 'ТДЦУ-000002',
      'Дата оплаты по 1С': '2015-06-29T16:36:25',
      'Статуса заказа ИД': 'P',
    });
  });

  test('official-from-site-2.03-cp1251.xml: windows-1251, the standard page example', async () => {
    const r = await readFile(`${SHARED}/official-from-site-2.03-cp1251.xml`);
    expect(r).toMatchObject({ version: '2.03', encoding: 'windows-1251', documents: 1 });
    const [d] = r.docs;
    expect(d).toMatchObject({
      id: '36',
      number: '36',
      date: '2007-10-30T15:19:27',
      operation: 'Заказ товара',
      role: 'Продавец',
      currency: 'руб',
      total: 673447,
      deleted: false,
    });
    expect(d.comment).toBeUndefined();
    // the nested Представители/Представитель/Контрагент is not the buyer
    expect(d.customer).toEqual({ id: '1#admin# admin', name: 'admin', fullName: 'admin' });
    expect(d.items).toEqual([
      { id: 'ORDER_DELIVERY', name: 'Доставка заказа', quantity: 1, price: 34000, amount: 34000, kind: 'service' },
      // the file escapes twice (&amp;quot;): one level is XML's, the rest is as written
      {
        id: 'dee6e19a-55bc-11d9-848a-00112f43529a',
        name: 'Телевизор &quot;JVC&quot;',
        quantity: 1,
        price: 639447,
        amount: 639447,
        kind: 'goods',
      },
    ]);
    expect(d.requisites).toEqual({
      'Метод оплаты': 'Наличный расчет',
      'Заказ оплачен': 'false',
      'Доставка разрешена': 'false',
      Отменен: 'false',
      'Финальный статус': 'false',
      'Статус заказа': '[N] Принят',
      'Дата изменения статуса': '2007-10-30 15:19:27',
    });
  });

  test('official-to-site-2.03-cp1251.xml: windows-1251, paid, payment document, trailing tabs after the root', async () => {
    const r = await readFile(`${SHARED}/official-to-site-2.03-cp1251.xml`);
    expect(r).toMatchObject({ version: '2.03', encoding: 'windows-1251', documents: 1 });
    const [d] = r.docs;
    expect(d).toMatchObject({ id: '20', number: '20', date: '2007-10-16T15:40:40', currency: 'RUB', total: 968342, deleted: false });
    expect(d.customer).toEqual({ id: '1#admin#Петров Петр', name: 'Петр Петров', fullName: 'Петр Петров' });
    expect(d.items).toEqual([
      { id: 'ORDER_DELIVERY', name: 'Доставка заказа', quantity: 1, price: 34800, amount: 34800, kind: 'service' },
      {
        id: 'cbcf498f-55bc-11d9-848a-00112f43529a',
        name: 'Комбайн MOULINEX A77 4C',
        quantity: 1,
        price: 933542,
        amount: 933542,
        kind: 'goods',
      },
    ]);
    expect(d.requisites).toEqual({
      'Дата оплаты': '2007-10-16 15:44:47',
      'Номер платежного документа': 'ТК000000026',
      'Метод оплаты': 'Наличный расчет',
      'Дата разрешения доставки': '2007-10-16 15:51:27',
      'Заказ оплачен': 'true',
      'Доставка разрешена': 'true',
      Отменен: 'false',
      'Финальный статус': 'true',
      'Статус заказа': '[F] Доставлен',
      'Дата изменения статуса': '2007-10-16 15:51:58',
    });
  });

  test('to-1c-bitrix-2.05-cp1251.xml: what Bitrix sends 1C, 4-decimal sums, multi-line names', async () => {
    const r = await readFile(`${SHARED}/to-1c-bitrix-2.05-cp1251.xml`);
    expect(r).toMatchObject({ version: '2.05', encoding: 'windows-1251', documents: 2 });
    const [a, b] = r.docs;
    expect(a).toMatchObject({ id: '132', number: '132', date: '2021-02-11T18:45:21', currency: 'руб', total: 23174, deleted: false });
    expect(a.customer).toEqual({ id: '38#catalog_exchange#', name: '' });
    expect(a.items).toEqual([
      {
        id: '910e89e5-205e-4d95-872a-0a0255c42f02',
        name: 'Hello Kitty toothbrush for 3~6 years old,2pcs',
        quantity: 1,
        price: 23174,
        amount: 23174,
        kind: 'goods',
      },
    ]);
    expect(a.requisites).toEqual({
      'Способ доставки': 'Самовывоз',
      'Метод доставки ИД': '5',
      'Метод оплаты': 'При получении наличными или картой',
      'Метод оплаты ИД': '2',
      'Заказ оплачен': 'false',
      'Доставка разрешена': 'false',
      Отменен: 'false',
      'Финальный статус': 'false',
      'Статус заказа': '[N] Принят, ожидается оплата',
      'Статуса заказа ИД': 'N',
      'Дата изменения статуса': '11.02.2021 18:45:21',
      'Комментарии покупателя': 'Я повелитель порошочков',
      Сайт: '[s1] Сайт по умолчанию',
    });
    expect(b).toMatchObject({ id: '133', number: '133', date: '2021-02-12T09:11:04', total: 1438058 });
    expect(b.customer).toEqual({ id: '5#content-manager# Контент менджер', name: '' });
    expect(b.items).toHaveLength(7);
    expect(b.items.reduce((s, i) => s + i.amount, 0)).toBe(1438058);
    expect(b.items[1]).toEqual({
      id: 'decdb692-0ea0-4925-906b-fec25bd1e29b',
      name: 'Kaneyon 5Kg / Dishwashing liquid detergent',
      quantity: 2,
      price: 178896,
      amount: 357792,
      kind: 'goods',
    });
    expect(b.items[3].name).toBe(
      'Концентрированное средство для мытья овощей и фруктов, посуды и кухонных принадлежностей (с\n          апельсиновым маслом) 4 л',
    );
    expect(b.items[5]).toMatchObject({
      name: expect.stringMatching(/^Средство для мытья посуды "Mama Lemon"/),
      quantity: 2,
      price: 94462,
      amount: 188924,
    });
    expect(b.requisites['Метод оплаты']).toBe('Банковской картой онлайн');
    expect(b.requisites['Комментарии покупателя']).toBeUndefined();
  });

  test('catalog-import-ut11-2.07.xml (not orders): read through, no documents', async () => {
    const r = await readFile(`${SHARED}/catalog-import-ut11-2.07.xml`);
    expect(r).toEqual({ version: '2.07', encoding: 'utf-8', documents: 0, docs: [] });
  });

  test.each([...REAL_WITH_ORDERS.map((f) => `${SHARED}/${f}`), ...OWN_FILES.map((f) => `${OWN}/${f}`)])(
    '%s: 7-byte chunks, 1-byte chunks and one chunk read the same',
    async (path) => {
      const bytes = readFileSync(path);
      const whole = await readBytes(bytes);
      expect(whole.docs.length).toBeGreaterThan(0);
      expect(await readBytes(bytes, 7)).toEqual(whole);
      expect(await readBytes(bytes, 1)).toEqual(whole);
      expect(await readFile(path)).toEqual(whole);
    },
  );
});

// ---------------------------------------------------------------- what real files do not show

describe('lenient reading', () => {
  test('a namespace prefix on every element; comments and CDATA that mention Документ', async () => {
    const r = await readFile(`${OWN}/prefixed-2.08.xml`);
    expect(r).toMatchObject({ version: '2.08', encoding: 'utf-8', documents: 2 });
    const [a, b] = r.docs;
    expect(a).toEqual({
      id: 'aa0e8400-e29b-41d4-a716-446655440000',
      number: 'П-0001',
      number1C: 'ЦБ-000017',
      date: '2024-02-29T07:05:09',
      operation: 'Заказ товара',
      role: 'Продавец',
      currency: 'RUB',
      total: 123456,
      comment: 'Позвонить до 18:00; <cml:Документ> & &amp; в CDATA — просто текст',
      deleted: false,
      customer: {
        id: 'inn-7707083893-773601001',
        name: 'ООО «Ромашка»',
        fullName: 'Общество с ограниченной ответственностью «Ромашка»',
        inn: '7707083893',
        kpp: '773601001',
        email: 'buh@romashka.example',
        phone: '+7 495 000-00-00',
      },
      items: [{ id: 'sku-mug', name: 'Кружка "Утро" & блюдце ₽', quantity: 2, price: 61728, amount: 123456, vatRate: '20', kind: 'goods' }],
      requisites: { 'Статус заказа': '[P] Оплачен' },
      payments: [],
      subordinates: [],
    });
    expect(b).toEqual({
      id: 'bb0e8400-e29b-41d4-a716-446655440001',
      number: 'П-0002',
      date: '2024-03-01T23:59:59',
      operation: 'Заказ товара',
      total: 0,
      deleted: true,
      items: [],
      requisites: {},
      payments: [],
      subordinates: [],
    });
  });

  test('no ЗначенияРеквизитов wrapper, Цена, comma decimals, unpadded time, T as an empty date', async () => {
    const r = await readFile(`${OWN}/lenient-2.08.xml`);
    expect(r.docs).toHaveLength(2);
    const [a, b] = r.docs;
    expect(a).toEqual({
      id: 's-7001',
      number: '7001',
      date: '2024-03-01T09:05:07',
      operation: 'Заказ товара',
      role: 'Продавец',
      currency: 'руб',
      total: 1234567,
      deleted: true, // ПометкаУдаления as a requisite
      customer: { name: 'Иванов Иван', fullName: 'Иванов Иван Иванович' },
      items: [
        { id: 'sku-1', name: 'Стол', quantity: 1, price: 1000000, amount: 1000000, kind: 'goods' },
        { id: 'ORDER_DELIVERY', name: 'Доставка', quantity: 1, price: 234567, amount: 234567, kind: 'service' },
      ],
      requisites: { Оплачен: 'false', 'Дата оплаты по 1С': 'T', 'Дата отгрузки по 1С': '2024-03-02T8:00:00', ПометкаУдаления: 'true' },
      payments: [],
      subordinates: [],
    });
    // Дата `T`, Время `T`, empty Сумма
    expect(b).toEqual({
      id: 's-7002',
      number: '7002',
      operation: 'Заказ товара',
      deleted: false,
      items: [],
      requisites: {},
      payments: [],
      subordinates: [],
    });
  });

  test('2.09: the document-level Оплаты', async () => {
    const [d] = (await readFile(`${OWN}/payments-2.09.xml`)).docs;
    expect(d.payments).toEqual([
      { number: 'ПП-101', transaction: '8f2c-0001', date: '2024-04-01T10:15:00', amount: 300000, method: 'Банковская карта' },
      { number: 'ПП-102', transaction: '8f2c-0002', date: '2024-04-02T08:05:00', amount: 200000, method: 'СБП' },
    ]);
    expect(d).toMatchObject({
      number: '8001',
      total: 500000,
      customer: { id: 'email-anna@example.ru', name: 'Анна', fullName: 'Анна Смирнова' },
    });
  });

  test('2.10: ПодчиненныеДокументы read like documents, recursively', async () => {
    const r = await readFile(`${OWN}/subordinates-2.10.xml`);
    expect(r).toMatchObject({ version: '2.10', documents: 1 });
    const [d] = r.docs;
    expect(d).toMatchObject({
      id: 'ord-5001',
      number: '5001',
      date: '2024-05-01T11:30:00',
      total: 300000,
      requisites: { 'Статус заказа': '[F] Выполнен' },
    });
    expect(d.customer).toEqual({ id: 'phone-79001112233', name: 'Пётр', fullName: 'Пётр Сидоров', phone: '+79001112233' });
    expect(d.items).toEqual([{ id: 'sku-lamp', name: 'Лампа', quantity: 2, price: 150000, amount: 300000 }]);
    expect(d.subordinates).toEqual([
      {
        id: 'pay-0007',
        number: 'ПКО-0007',
        date: '2024-05-02T09:15:00',
        operation: 'Выплата безналичных денег',
        role: 'Продавец',
        currency: 'RUB',
        total: 300000,
        deleted: false,
        items: [],
        requisites: { 'Номер оплаты по 1С': 'ПКО-0007' },
        payments: [],
        subordinates: [],
      },
      {
        id: 'ship-0003',
        number: 'РТУ-0003',
        date: '2024-05-03',
        operation: 'Отпуск товара',
        total: 300000,
        deleted: true,
        items: [{ id: 'sku-lamp', name: 'Лампа', quantity: 2, price: 150000, amount: 300000 }],
        requisites: { ПометкаУдаления: 'true' },
        payments: [],
        subordinates: [
          {
            id: 'sf-0001',
            number: 'СФ-0001',
            date: '2024-05-03',
            operation: 'Счет-фактура',
            total: 300000,
            deleted: false,
            items: [],
            requisites: {},
            payments: [],
            subordinates: [],
          },
        ],
      },
    ]);
  });

  test('Bitrix 2.10: payments and shipments as documents of their own, linked by Основание', async () => {
    const r = await readFile(`${OWN}/bitrix-2.10-documents.xml`);
    expect(r).toMatchObject({ version: '2.10', encoding: 'utf-8', documents: 3 });
    const [order, payment, shipment] = r.docs;
    expect(order).toMatchObject({ id: '415', number: '415', operation: 'Заказ товара', total: 189000, deleted: false });
    expect(order.basis).toBeUndefined();
    expect(order.comment).toBeUndefined();
    expect(order.items).toEqual([
      { id: 'sku-tea', name: 'Чай', quantity: 4, price: 44500, amount: 178000 },
      { id: 'ORDER_DELIVERY', name: 'Доставка заказа', quantity: 1, price: 11000, amount: 11000, kind: 'service' },
    ]);
    expect(payment).toEqual({
      id: 'b7e1c1d2-0000-4000-8000-000000000415',
      number: '96',
      date: '2024-06-01T08:12:00',
      operation: 'Эквайринговая операция',
      role: 'Продавец',
      currency: 'RUB',
      total: 189000,
      basis: '415',
      deleted: false,
      items: [],
      requisites: { 'Дата оплаты': '2024-06-01T08:12:00', Отменен: 'false' },
      payments: [],
      subordinates: [],
    });
    expect(shipment).toMatchObject({
      id: '97',
      number: '97',
      operation: 'Отпуск товара',
      basis: '415',
      deleted: true,
      date: '2024-06-02T15:00:00',
      total: 189000,
    });
  });

  test('Bitrix 3.x: documents one level deeper, in Контейнер', async () => {
    const r = await readFile(`${OWN}/bitrix-3.1-container.xml`);
    expect(r).toMatchObject({ version: '3.1', documents: 4 });
    expect(r.docs.map((d) => [d.number, d.operation, d.basis ?? null, d.total])).toEqual([
      ['620', 'Заказ товара', null, 70000],
      ['201', 'Выплата безналичных денег', '620', 70000],
      ['621', 'Заказ товара', null, 9990],
      ['301', 'Отпуск товара', '621', 9990],
    ]);
  });

  test('money: the decimal string, never a float', async () => {
    const doc = (sum: string) =>
      utf8(
        `<КоммерческаяИнформация ВерсияСхемы="2.08"><Документ><Ид>1</Ид><Номер>1</Номер><Сумма>${sum}</Сумма></Документ></КоммерческаяИнформация>`,
      );
    const cases: [string, number | undefined][] = [
      ['0.29', 29], // 0.29 * 100 = 28.999999999999996 in floats
      ['1.005', 101], // a third decimal rounds half up
      ['1.004', 100],
      ['1 500,50', 150050],
      ['1\u00a0500.5', 150050],
      ['231.7400', 23174],
      ['9007199254740.99', 900719925474099],
      ['.5', 50],
      ['-12.30', -1230],
      ['', undefined],
    ];
    for (const [text, kopecks] of cases) expect([text, (await readBytes(doc(text))).docs[0].total]).toEqual([text, kopecks]);
    const bad = await refused(doc('12,3,4'));
    expect(bad.error.text).toMatch(/Некорректная сумма «12,3,4»/);
  });

  test('an unknown entity reference stays as written, nothing is expanded', async () => {
    const r = await readBytes(
      utf8(
        '<КоммерческаяИнформация ВерсияСхемы="2.08"><Документ><Ид>&xxe;</Ид><Номер>&#49;&#x32;&lt;3&gt;</Номер></Документ></КоммерческаяИнформация>',
      ),
    );
    expect(r.docs[0]).toMatchObject({ id: '&xxe;', number: '12<3>' });
  });

  test('a nested Документ (however unlikely) does not end the outer one early', async () => {
    const r = await readBytes(
      utf8(
        '<КоммерческаяИнформация><Документ><Ид>outer</Ид><Вложение><Документ><Ид>inner</Ид></Документ></Вложение><Номер>7</Номер></Документ><Документ/></КоммерческаяИнформация>',
      ),
      3,
    );
    expect(r.docs.map((d) => [d.id, d.number])).toEqual([
      ['outer', '7'],
      ['', ''],
    ]);
  });
});

// ---------------------------------------------------------------- refused

describe('refused inputs', () => {
  const DTD_TEXT = 'Файл содержит DTD или сущности: такие файлы не принимаются.';

  test('XXE: a DOCTYPE with an external entity, refused before any document', async () => {
    const xxe = utf8(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE КоммерческаяИнформация [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<КоммерческаяИнформация ВерсияСхемы="2.08"><Документ><Ид>&xxe;</Ид><Номер>1</Номер></Документ></КоммерческаяИнформация>`);
    for (const chunk of [xxe.length, 7]) {
      const r = await refused(xxe, chunk);
      expect(r.error.text).toBe(DTD_TEXT);
      expect(r.docs).toEqual([]);
    }
  });

  test('billion laughs: refused at once, nothing expanded', async () => {
    const lol = [
      '<!ENTITY lol "lol">',
      ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`),
    ].join('\n');
    const bomb = cp1251(
      `<?xml version="1.0" encoding="windows-1251"?>\n<!DOCTYPE lolz [\n${lol}\n]>\n<КоммерческаяИнформация><Документ><Ид>&lol9;</Ид></Документ></КоммерческаяИнформация>`,
    );
    const started = performance.now();
    const r = await refused(bomb);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(r.error.text).toBe(DTD_TEXT);
    expect(r.docs).toEqual([]);
  });

  test('an ENTITY declaration anywhere, even between documents, is refused', async () => {
    const r = await refused(
      utf8(
        '<КоммерческаяИнформация><Документ><Ид>1</Ид></Документ><!ENTITY x "y"><Документ><Ид>2</Ид></Документ></КоммерческаяИнформация>',
      ),
    );
    expect(r.error.text).toBe(DTD_TEXT);
    // documents before the declaration were already handed over (a DTD can only be in the prolog
    // of a well-formed file; this one is not, and is refused where it is met)
    expect(r.docs.map((d) => d.id)).toEqual(['1']);
  });

  test('truncated inside a document: refused, the documents before it stay handed over', async () => {
    const bytes = readFileSync(`${SHARED}/from-1c-ut11-2.09.xml`);
    const second = bytes.indexOf('<Документ>', bytes.indexOf('</Документ>'));
    // after the start tag, mid-way (a cut inside a character too), inside the closing tag
    for (const cut of [second + Buffer.byteLength('<Документ>'), second + 201, bytes.indexOf('</Документ>', second) + 5]) {
      for (const chunk of [bytes.length, 7]) {
        const r = await refused(bytes.subarray(0, cut), chunk);
        expect(r.error.text).toMatch(/^Файл обмена оборван: он закончился посреди документа/);
        expect(r.docs.map((d) => d.number)).toEqual(['142']);
      }
    }
    const first = await refused(bytes.subarray(0, bytes.indexOf('<Товары>')));
    expect(first.docs).toEqual([]);
    expect(first.error.text).toMatch(/^Файл обмена оборван/);
  });

  test('truncated after the last document (no closing root): refused, both documents handed over', async () => {
    const bytes = readFileSync(`${SHARED}/from-1c-ut11-2.09.xml`);
    const end = bytes.lastIndexOf('</КоммерческаяИнформация>');
    // cut before the closing tag, at its `<`, inside a character of its name
    for (const cut of [end, end + 1, end + 5]) {
      const r = await refused(bytes.subarray(0, cut), 7);
      expect(r.error.text).toBe('Файл обмена оборван: нет закрывающего тега КоммерческаяИнформация. Выгрузите файл ещё раз.');
      expect(r.docs).toHaveLength(2);
    }
  });

  test('declared UTF-8, written in windows-1251', async () => {
    const text = iconv
      .decode(readFileSync(`${SHARED}/official-from-site-2.03-cp1251.xml`), 'win1251')
      .replace('encoding="windows-1251"', 'encoding="UTF-8"');
    for (const chunk of [undefined, 7]) {
      const r = await refused(cp1251(text), chunk);
      expect(r.error.text).toMatch(/^Кодировка файла обмена не совпадает с объявленной: в заголовке указана UTF-8/);
      expect(r.docs).toEqual([]);
    }
    // and without a declaration UTF-8 is assumed, with the same check
    const bare = await refused(cp1251(text.replace(/^<\?xml[^>]*>/, '')));
    expect(bare.error.text).toMatch(/указана UTF-8/);
  });

  test('declared windows-1251, written in UTF-8', async () => {
    const text = readFileSync(`${SHARED}/from-1c-2.08-bom.xml`, 'utf8')
      .replace(/^\ufeff/, '')
      .replace('encoding="UTF-8"', 'encoding="windows-1251"');
    for (const chunk of [undefined, 7]) {
      const r = await refused(utf8(text), chunk);
      expect(r.error.text).toBe(
        'Кодировка файла обмена не совпадает с объявленной: в заголовке указана windows-1251, а файл записан в UTF-8.',
      );
      expect(r.docs).toEqual([]);
    }
  });

  test('not XML, or not CommerceML', async () => {
    const notXml = 'Файл обмена не является XML-файлом CommerceML.';
    expect((await refused(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00]))).error.text).toBe(notXml);
    expect((await refused(utf8('success\nPHPSESSID\n123'))).error.text).toBe(notXml);
    expect((await refused(utf8('{"orders": []}'))).error.text).toBe(notXml);
    expect((await refused(utf8('<?xml version="1.0"?>\n'))).error.text).toBe(notXml);
    expect((await refused(utf8('<?xml version="1.0"?><html><body>502 Bad Gateway</body></html>'))).error.text).toBe(
      'Файл обмена не является файлом CommerceML: корневой элемент «html», а не «КоммерческаяИнформация».',
    );
    expect((await refused(Buffer.alloc(0))).error.text).toBe('Файл обмена пуст.');
    expect((await refused(Buffer.from([0xff, 0xfe, 0x3c, 0x00]))).error.text).toMatch(/UTF-16/);
    expect((await refused(utf8('<?xml version="1.0" encoding="koi8-r"?><КоммерческаяИнформация/>'))).error.text).toMatch(
      /Кодировка «koi8-r» файла обмена не поддерживается/,
    );
  });

  test('an empty root is a file with no documents', async () => {
    expect(await readBytes(utf8('<КоммерческаяИнформация ВерсияСхемы="2.10"/>'))).toEqual({
      version: '2.10',
      encoding: 'utf-8',
      documents: 0,
      docs: [],
    });
  });

  test('a document over maxDocumentBytes', async () => {
    const bytes = readFileSync(`${SHARED}/from-1c-2.08-bom.xml`);
    for (const chunk of [undefined, 7, 4096]) {
      const r = await refused(bytes, chunk, { maxDocumentBytes: 2000 });
      expect(r.error.text).toMatch(/^Документ в файле обмена больше допустимых/);
      expect(r.docs).toEqual([]);
    }
    // the same file with room for it
    expect((await readBytes(bytes, 7, { maxDocumentBytes: 20_000 })).docs).toHaveLength(1);
  });
});

// ---------------------------------------------------------------- memory

describe('a large upload', () => {
  function documentXml(i: number): string {
    const n = String(100000 + i);
    return `  <Документ>
    <Ид>${n}</Ид>
    <ПометкаУдаления>false</ПометкаУдаления>
    <Номер>${n}</Номер>
    <Номер1С>ЗК00-${n}</Номер1С>
    <Дата>2026-11-20</Дата>
    <Время>9:${String(i % 60).padStart(2, '0')}:07</Время>
    <ХозОперация>Заказ товара</ХозОперация>
    <Роль>Продавец</Роль>
    <Валюта>руб</Валюта>
    <Курс>1</Курс>
    <Сумма>3500.00</Сумма>
    <Контрагенты><Контрагент><Ид>c0ffee-${i % 1000}</Ид><Наименование>Иван Петров</Наименование><Роль>Покупатель</Роль><ПолноеНаименование>Петров Иван Сергеевич</ПолноеНаименование></Контрагент></Контрагенты>
    <Товары>
      <Товар><Ид>kettle-01</Ид><Наименование>Чайник электрический</Наименование><ЦенаЗаЕдиницу>1500</ЦенаЗаЕдиницу><Количество>2</Количество><Сумма>3000</Сумма></Товар>
      <Товар><Ид>ORDER_DELIVERY</Ид><Наименование>Доставка заказа</Наименование><ЦенаЗаЕдиницу>500</ЦенаЗаЕдиницу><Количество>1</Количество><Сумма>500</Сумма></Товар>
    </Товары>
    <ЗначенияРеквизитов>
      <ЗначениеРеквизита><Наименование>Оплачен</Наименование><Значение>${i % 3 !== 0}</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Дата оплаты по 1С</Наименование><Значение>${i % 3 !== 0 ? '2026-11-21T9:49:02' : 'T'}</Значение></ЗначениеРеквизита>
    </ЗначенияРеквизитов>
  </Документ>
`;
  }

  /** ~`mb` MB of documents, made as they are read (never held), in 64 KB-ish chunks. */
  function upload(mb: number): { stream: AsyncGenerator<Buffer>; generated: () => number; bytes: () => number } {
    let documents = 0;
    let bytes = 0;
    async function* gen(): AsyncGenerator<Buffer> {
      const head = utf8(
        '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_210" ВерсияСхемы="2.08" ДатаФормирования="2026-11-23T10:00:00">\n',
      );
      bytes += head.length;
      yield head;
      while (bytes < mb * 1024 * 1024) {
        const parts: string[] = [];
        for (let k = 0; k < 40; k++) parts.push(documentXml(documents++));
        const chunk = utf8(parts.join(''));
        bytes += chunk.length;
        yield chunk;
      }
      const tail = utf8('</КоммерческаяИнформация>\n');
      bytes += tail.length;
      yield tail;
    }
    return { stream: gen(), generated: () => documents, bytes: () => bytes };
  }

  test('60 MB streamed: every document read, heap growth stays small', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = 0;
    let samples = 0;
    let seen = 0;
    let paid = 0;
    const file = upload(60);
    const started = performance.now();
    const r = await readDocuments(file.stream, (d) => {
      seen++;
      if (d.requisites['Оплачен'] === 'true') paid++;
      if (seen % 4000 === 0) {
        gc();
        samples++;
        peak = Math.max(peak, process.memoryUsage().heapUsed - base);
      }
    });
    const seconds = (performance.now() - started) / 1000;
    expect(r).toEqual({ version: '2.08', encoding: 'utf-8', documents: file.generated() });
    expect(seen).toBe(file.generated());
    expect(paid).toBe(file.generated() - Math.ceil(file.generated() / 3));
    expect(file.bytes()).toBeGreaterThan(60 * 1024 * 1024);
    // the heap was measured along the way (after a collection it may even be below where it started)
    expect(samples).toBeGreaterThan(5);
    expect(peak).toBeLessThan(50 * 1024 * 1024);
    process.stdout.write(
      `  commerceml reader: ${(file.bytes() / 1048576).toFixed(0)} MB, ${seen} documents in ${seconds.toFixed(1)} s (${(file.bytes() / 1048576 / seconds).toFixed(1)} MB/s under jest), heap growth ≤ ${(peak / 1048576).toFixed(1)} MB\n`,
    );
  }, 120_000);
});
