import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import { InvoiceDocumentRenderer } from '../../../../connectors/invoice-document';
import { prepareInvoice, InvoiceDocumentError, type InvoiceDocument } from '../../../../gateway/domain/invoice-document';
import { invoiceOf, sampleInvoice } from './sample';

/**
 * The PDF as a person gets it: poppler's pdftoppm draws the page (as a viewer or a printer would),
 * pdftotext reads its text, and the QR is decoded from the drawn page the way a phone camera does.
 */

const renderer = new InvoiceDocumentRenderer();
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'invoice-pdf-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
async function renderToFile(doc: InvoiceDocument): Promise<string> {
  const file = join(dir, `invoice-${++seq}.pdf`);
  writeFileSync(file, await renderer.pdf(doc));
  return file;
}

/** pdftotext -layout, with non-breaking spaces as plain ones and runs of spaces as one. */
function textOf(file: string): string {
  return execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-'], { encoding: 'utf8' }).replace(/\u00a0/g, ' ');
}

function linesOf(file: string): string[] {
  return textOf(file)
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
}

function pageCount(file: string): number {
  const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
  return Number(/Pages:\s+(\d+)/.exec(info)![1]);
}

/** pdftoppm draws the first page at 200 dpi as PNG; the QR is looked for on the whole page, its bytes read as UTF-8 (ST00012). */
function qrOfFirstPage(file: string): string | null {
  const prefix = join(dir, `page-${++seq}`);
  execFileSync('pdftoppm', ['-r', '200', '-png', '-f', '1', '-l', '1', '-singlefile', file, prefix]);
  const png = PNG.sync.read(readFileSync(`${prefix}.png`));
  const found = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
  return found ? Buffer.from(found.binaryData).toString('utf8') : null;
}

describe('«Счет на оплату» as PDF, read back with poppler', () => {
  let file: string;
  let lines: string[];
  let text: string;

  beforeAll(async () => {
    file = await renderToFile(sampleInvoice());
    text = textOf(file).replace(/\s+/g, ' ');
    lines = linesOf(file);
  });

  test('is one A4 page whose fonts are embedded (no system font needed to show it)', () => {
    expect(readFileSync(file).subarray(0, 5).toString()).toBe('%PDF-');
    expect(pageCount(file)).toBe(1);
    const fonts = execFileSync('pdffonts', [file], { encoding: 'utf8' });
    expect(fonts).toMatch(/DejaVuSans\s/);
    expect(fonts).toMatch(/DejaVuSans-Bold/);
    expect(
      fonts
        .split('\n')
        .slice(2)
        .filter(Boolean)
        .every((l) => /\syes\s+yes\s/.test(l)),
    ).toBe(true);
  });

  test('the bank details on top: bank, БИК, к/с, ИНН, КПП, recipient, р/с', () => {
    expect(lines).toContain('ПАО СБЕРБАНК г. Москва БИК 044525225');
    expect(lines).toContain('Банк получателя Сч. № 30101810400000000225');
    expect(lines).toContain('ИНН 7701234560 КПП 770001001 Сч. № 40702810938000012345');
    expect(lines).toContain('ООО «Ромашка»');
    expect(lines).toContain('Получатель');
  });

  test('the title, supplier, buyer and basis', () => {
    expect(lines).toContain('Счет на оплату № 123 от 1 декабря 2026 г.');
    // the labels «(Исполнитель):» and «(Заказчик):» wrap onto a second line beside the details: read around them
    const parties = text.replace(' (Исполнитель):', '').replace(' (Заказчик):', '');
    expect(parties).toContain(
      'Поставщик ООО «Ромашка», ИНН 7701234560, КПП 770001001, 123456, г. Москва, ул. Ленина, д. 1, тел.: +7 495 000-00-00 Покупатель',
    );
    expect(parties).toContain('Покупатель ООО «Василёк», ИНН 5001007329, КПП 500101001, 141400, г. Химки, ул. Заводская, д. 3 Основание:');
    expect(lines).toContain('Основание: Договор поставки № 17 от 10.01.2026');
  });

  test('each line: number, name, quantity, unit, price, VAT rate, VAT amount, amount', () => {
    expect(lines).toContain('№ Товары (работы, услуги) Кол-во Ед. Цена НДС Сумма НДС Сумма');
    expect(lines).toContain('1 Кресло офисное «Директор» 2 шт. 10 000,00 22% 3 606,56 20 000,00');
    expect(lines).toContain('2 Доставка 1 усл. 1 500,00 22% 270,49 1 500,00');
    expect(lines).toContain('3 Книга «Учёт в 1С» 3 шт. 550,00 10% 150,00 1 650,00');
    expect(lines).toContain('4 Гречка ядрица 2,5 кг 120,01 0% 0,00 300,03');
    expect(lines).toContain('5 Консультация 1 час 1 000,00 Без НДС — 1 000,00');
  });

  test('the totals: Итого, VAT per rate, без НДС, Всего к оплате, the count and the amount in words', () => {
    const totals = lines.slice(lines.indexOf('Итого: 24 450,03'), lines.indexOf('Итого: 24 450,03') + 6);
    expect(totals).toEqual([
      'Итого: 24 450,03',
      'В том числе НДС 22%: 3 877,05',
      'В том числе НДС 10%: 150,00',
      'В том числе НДС 0%: 0,00',
      'Без налога (НДС): —',
      'Всего к оплате: 24 450,03',
    ]);
    expect(lines).toContain('Всего наименований 5, на сумму 24 450,03 руб.');
    expect(lines).toContain('Двадцать четыре тысячи четыреста пятьдесят рублей 03 копейки');
  });

  test('the purpose with the invoice number and the УИП, the УИП for field 22, the due date, the note', () => {
    expect(text).toContain(
      'Назначение платежа: Оплата по счету № 123 от 01.12.2026, УИП 10000000000001234567, в т.ч. НДС 22% - 3877.05 руб., НДС 10% - 150.00 руб., НДС 0% - 0.00 руб.',
    );
    expect(lines).toContain('УИП (поле 22 «Код» платежного поручения): 10000000000001234567');
    expect(lines).toContain('Оплатить не позднее 15.12.2026');
    expect(lines).toContain('Отсрочка платежа 14 календарных дней с даты отгрузки.');
  });

  test('the signatures block: руководитель and бухгалтер with their names', () => {
    expect(lines).toContain('Руководитель Иванов И. И. Бухгалтер Петрова А. А.');
  });

  test('the QR decoded from the rendered page is the ГОСТ Р 56042-2014 string of the invoice', () => {
    const decoded = qrOfFirstPage(file);
    expect(decoded).toBe(prepareInvoice(sampleInvoice()).qrPayload);
    expect(decoded).toBe(
      'ST00012|Name=ООО «Ромашка»|PersonalAcc=40702810938000012345|BankName=ПАО СБЕРБАНК|BIC=044525225|CorrespAcc=30101810400000000225|' +
        'Sum=2445003|Purpose=Оплата по счету № 123 от 01.12.2026, УИП 10000000000001234567, в т.ч. НДС 22% - 3877.05 руб., НДС 10% - 150.00 руб., НДС 0% - 0.00 руб.|' +
        'PayeeINN=7701234560|PayerINN=5001007329|KPP=770001001|uin=10000000000001234567',
    );
  });
});

/** The number of the first page whose text has `s`, 0 when none has it. */
function pageOf(file: string, s: string): number {
  for (let p = 1; p <= pageCount(file); p++) {
    if (execFileSync('pdftotext', ['-f', String(p), '-l', String(p), file, '-'], { encoding: 'utf8' }).includes(s)) return p;
  }
  return 0;
}

describe('the totals, the terms and the signatures stay together', () => {
  test.each([18, 20, 21, 23])('%i lines and a long note: on one page, with no blank pages', async (n) => {
    const lines = Array.from({ length: n }, (_, i) => ({
      name: `Позиция номер ${i + 1}`,
      quantity: 1,
      unit: 'шт.',
      price: 100_00,
      amount: 100_00,
      vat: 'vat22' as const,
    }));
    const note = 'Условия поставки и оплаты. '.repeat(25).trim();
    const file = await renderToFile(sampleInvoice({ lines, note }));
    const totals = pageOf(file, 'Всего к оплате');
    expect(pageCount(file)).toBeLessThanOrEqual(2);
    expect(pageOf(file, 'Условия поставки')).toBe(totals);
    expect(pageOf(file, 'Руководитель')).toBe(totals);
  });
});

describe('a long official name', () => {
  test('is printed whole as the recipient in the bank details (what the payer copies), and in full in the QR', async () => {
    const name = 'ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ «ТОРГОВЫЙ ДОМ СЕВЕРО-ЗАПАДНЫЙ ЛЕС»';
    const doc = sampleInvoice({ supplier: { ...sampleInvoice().supplier, name } });
    const lines = linesOf(await renderToFile(doc));
    // a line broken after a hyphen («СЕВЕРО-» / «ЗАПАДНЫЙ») is read back joined
    const bankBlock = lines.slice(0, lines.indexOf('Счет на оплату № 123 от 1 декабря 2026 г.')).join(' ').replace(/- /g, '-');
    expect(bankBlock).toContain(`${name} Получатель`);
    expect(prepareInvoice(doc).qrPayload).toContain(`|Name=${name}|`);
  });
});

describe('a download', () => {
  test('the same invoice gives the same file byte for byte, whenever it is drawn (dated by the invoice, not the clock)', async () => {
    const first = await renderer.pdf(sampleInvoice());
    await new Promise((r) => setTimeout(r, 1100));
    const second = await renderer.pdf(sampleInvoice());
    expect(second.equals(first)).toBe(true);
    expect(second.equals(await renderer.pdf(sampleInvoice({ number: '124' })))).toBe(false);
  });
});

describe('the amount in words and the QR sum for tricky totals', () => {
  test.each([
    [1_021_01, '1 021,01', 'Одна тысяча двадцать один рубль 01 копейка', '102101'],
    [2_000_000_00, '2 000 000,00', 'Два миллиона рублей 00 копеек', '200000000'],
    [11_00, '11,00', 'Одиннадцать рублей 00 копеек', '1100'],
    [50, '0,50', 'Ноль рублей 50 копеек', '50'],
  ])('%i kopecks: «Всего к оплате: %s», «%s», QR Sum=%s', async (amount, printed, words, qrSum) => {
    const file = await renderToFile(invoiceOf(amount));
    const lines = linesOf(file);
    expect(lines).toContain(`Всего к оплате: ${printed}`);
    expect(lines).toContain(`Всего наименований 1, на сумму ${printed} руб.`);
    expect(lines).toContain(words);
    // the page's QR is this payload (decoded off the page above); here only its sum is looked at
    expect(prepareInvoice(invoiceOf(amount)).qrPayload).toContain(`|Sum=${qrSum}|`);
  });
});

describe('the due date of a deferral counted from shipment', () => {
  test.each([
    [14, 'Оплатить в течение 14 календарных дней с даты отгрузки'],
    [21, 'Оплатить в течение 21 календарного дня с даты отгрузки'],
    [1, 'Оплатить в течение 1 календарного дня с даты отгрузки'],
  ])('before shipment, %i days: «%s»', async (days, line) => {
    const file = await renderToFile(sampleInvoice({ dueDate: undefined, dueDaysAfterShipment: days }));
    const lines = linesOf(file);
    expect(lines).toContain(line);
    expect(lines.some((l) => l.startsWith('Оплатить не позднее'))).toBe(false);
  });
});

describe('a long invoice', () => {
  test('goes on to a second page that names the invoice and repeats the table header; the totals and signatures follow the last line', async () => {
    const many = Array.from({ length: 60 }, (_, i) => ({
      name: `Позиция номер ${i + 1}`,
      quantity: 1,
      unit: 'шт.',
      price: 100_00,
      amount: 100_00,
      vat: 'vat22' as const,
    }));
    const file = await renderToFile(sampleInvoice({ lines: many }));
    expect(pageCount(file)).toBe(2);
    const lines = linesOf(file);
    expect(lines.filter((l) => l === '№ Товары (работы, услуги) Кол-во Ед. Цена НДС Сумма НДС Сумма')).toHaveLength(2);
    expect(lines).toContain('Счет на оплату № 123 от 1 декабря 2026 г. (продолжение)');
    const last = lines.indexOf('60 Позиция номер 60 1 шт. 100,00 22% 18,03 100,00');
    expect(last).toBeGreaterThan(0);
    expect(lines.indexOf('Всего к оплате: 6 000,00')).toBeGreaterThan(last);
    expect(lines.indexOf('Шесть тысяч рублей 00 копеек')).toBeGreaterThan(last);
    expect(lines[lines.length - 1]).toBe('Руководитель Иванов И. И. Бухгалтер Петрова А. А.');
  });
});

describe('a wrong invoice: a clear error and no PDF', () => {
  test.each<[string, Partial<InvoiceDocument>, RegExp]>([
    ['no bank details', { bank: undefined as never }, /не указаны банковские реквизиты поставщика/],
    [
      'a negative line',
      { lines: [{ name: 'Возврат', quantity: 1, unit: 'шт.', price: -100_00, amount: -100_00, vat: 'vat22' }] },
      /строка 1: цена — целое число копеек, не меньше нуля/,
    ],
    [
      'an ИНН of wrong length',
      { supplier: { name: 'ООО «Ромашка»', inn: '77000000001', kpp: '770001001' } },
      /ИНН должен содержать 10 цифр \(организация\) или 12 \(ИП, физическое лицо\): поставщик, «77000000001» — 11/,
    ],
  ])('%s', async (_what, change, message) => {
    const toBuffer = jest.spyOn(QRCode, 'toBuffer');
    try {
      await expect(renderer.pdf(sampleInvoice(change))).rejects.toThrow(InvoiceDocumentError);
      await expect(renderer.pdf(sampleInvoice(change))).rejects.toThrow(message);
      // refused before anything was drawn: not even the QR image was made
      expect(toBuffer).not.toHaveBeenCalled();
    } finally {
      toBuffer.mockRestore();
    }
  });
});
