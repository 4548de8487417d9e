import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { InvoiceDocumentRenderer } from '../../../../connectors/invoice-document';
import { InvoiceDocumentError, prepareInvoice, type InvoiceDocument } from '../../../../gateway/domain/invoice-document';
import { sampleInvoice } from './sample';

const renderer = new InvoiceDocumentRenderer();

/** The page's text as a browser shows it: tags out, entities back, spaces collapsed. */
function visibleText(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/, '')
    .replace(/<title>[\s\S]*?<\/title>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/[\s\u00a0]+/g, ' ');
}

function decodeInlineQr(html: string): string | null {
  const m = /<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/.exec(html);
  if (!m) return null;
  const png = PNG.sync.read(Buffer.from(m[1], 'base64'));
  const found = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
  return found ? Buffer.from(found.binaryData).toString('utf8') : null;
}

describe('«Счет на оплату» as an HTML page', () => {
  let html: string;
  let text: string;

  beforeAll(async () => {
    html = await renderer.html(sampleInvoice());
    text = visibleText(html);
  });

  test('is a self-contained Russian page: no script, nothing loaded from elsewhere', () => {
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="ru">/);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).not.toMatch(/<script|<link|src="http|url\(/i);
  });

  test('holds the same fields as the PDF', () => {
    for (const field of [
      'ПАО СБЕРБАНК г. Москва Банк получателя БИК 044525225',
      'Сч. № 30101810400000000225',
      'ИНН 7701234560 КПП 770001001 Сч. № 40702810938000012345',
      'ООО «Ромашка» Получатель',
      'Счет на оплату № 123 от 1 декабря 2026 г.',
      'Поставщик (Исполнитель): ООО «Ромашка», ИНН 7701234560, КПП 770001001, 123456, г. Москва, ул. Ленина, д. 1, тел.: +7 495 000-00-00',
      'Покупатель (Заказчик): ООО «Василёк», ИНН 5001007329, КПП 500101001, 141400, г. Химки, ул. Заводская, д. 3',
      'Основание: Договор поставки № 17 от 10.01.2026',
      '№ Товары (работы, услуги) Кол-во Ед. Цена НДС Сумма НДС Сумма',
      '1 Кресло офисное «Директор» 2 шт. 10 000,00 22% 3 606,56 20 000,00',
      '2 Доставка 1 усл. 1 500,00 22% 270,49 1 500,00',
      '3 Книга «Учёт в 1С» 3 шт. 550,00 10% 150,00 1 650,00',
      '4 Гречка ядрица 2,5 кг 120,01 0% 0,00 300,03',
      '5 Консультация 1 час 1 000,00 Без НДС — 1 000,00',
      'Итого: 24 450,03 В том числе НДС 22%: 3 877,05 В том числе НДС 10%: 150,00 В том числе НДС 0%: 0,00 Без налога (НДС): — Всего к оплате: 24 450,03',
      'Всего наименований 5, на сумму 24 450,03 руб. Двадцать четыре тысячи четыреста пятьдесят рублей 03 копейки',
      'Назначение платежа: Оплата по счету № 123 от 01.12.2026, УИП 10000000000001234567, в т.ч. НДС 22% - 3877.05 руб., НДС 10% - 150.00 руб., НДС 0% - 0.00 руб.',
      'УИП (поле 22 «Код» платежного поручения): 10000000000001234567',
      'Оплатить не позднее 15.12.2026',
      'Руководитель Иванов И. И. Бухгалтер Петрова А. А.',
    ]) {
      expect(text).toContain(field);
    }
  });

  test('the QR is an inline PNG image that decodes to the ГОСТ string of the invoice', () => {
    expect(decodeInlineQr(html)).toBe(prepareInvoice(sampleInvoice()).qrPayload);
  });

  test('names with markup are shown as text, never as markup', async () => {
    const page = await renderer.html(
      sampleInvoice({ buyer: { name: 'ООО "Тест" <script>alert(1)</script> & Co', inn: '5001007329', kpp: '500101001' } }),
    );
    expect(page).not.toContain('<script>');
    expect(page).toContain('ООО &quot;Тест&quot; &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
    expect(visibleText(page)).toContain('Покупатель (Заказчик): ООО "Тест" <script>alert(1)</script> & Co, ИНН 5001007329');
  });

  test.each<[string, Partial<InvoiceDocument>]>([
    ['no bank details', { bank: undefined as never }],
    ['a negative line', { lines: [{ name: 'Возврат', quantity: 1, unit: 'шт.', price: -1, amount: -1, vat: 'none' }] }],
    ['an ИНН of wrong length', { buyer: { name: 'ООО «Василёк»', inn: '500100732' } }],
  ])('%s: the same clear error, no page', async (_what, change) => {
    await expect(renderer.html(sampleInvoice(change))).rejects.toThrow(InvoiceDocumentError);
  });
});
