import type { InvoiceDocument } from '../../../../gateway/domain/invoice-document';

/**
 * An invoice of a supplier banking with Sber (real БИК and к/с; the р/с is made to pass the
 * control key with that БИК) to a company buyer: lines at 22 %, 10 %, 0 % and без НДС.
 */
export function sampleInvoice(over: Partial<InvoiceDocument> = {}): InvoiceDocument {
  return {
    number: '123',
    date: '2026-12-01',
    dueDate: '2026-12-15',
    supplier: {
      name: 'ООО «Ромашка»',
      inn: '7701234560',
      kpp: '770001001',
      address: '123456, г. Москва, ул. Ленина, д. 1',
      phone: '+7 495 000-00-00',
    },
    bank: {
      name: 'ПАО СБЕРБАНК',
      city: 'г. Москва',
      bic: '044525225',
      correspondentAccount: '30101810400000000225',
      account: '40702810938000012345',
    },
    buyer: { name: 'ООО «Василёк»', inn: '5001007329', kpp: '500101001', address: '141400, г. Химки, ул. Заводская, д. 3' },
    basis: 'Договор поставки № 17 от 10.01.2026',
    lines: [
      { name: 'Кресло офисное «Директор»', quantity: 2, unit: 'шт.', price: 10_000_00, amount: 20_000_00, vat: 'vat22' },
      { name: 'Доставка', quantity: 1, unit: 'усл.', price: 1_500_00, amount: 1_500_00, vat: 'vat22' },
      { name: 'Книга «Учёт в 1С»', quantity: 3, unit: 'шт.', price: 550_00, amount: 1_650_00, vat: 'vat10' },
      { name: 'Гречка ядрица', quantity: 2.5, unit: 'кг', price: 120_01, amount: 300_03, vat: 'vat0' },
      { name: 'Консультация', quantity: 1, unit: 'час', price: 1_000_00, amount: 1_000_00, vat: 'none' },
    ],
    paymentId: '10000000000001234567',
    signatures: { head: 'Иванов И. И.', accountant: 'Петрова А. А.' },
    note: 'Отсрочка платежа 14 календарных дней с даты отгрузки.',
    ...over,
  };
}

/** One line at 22 % for `amount` kopecks: an invoice whose total is exactly that. */
export function invoiceOf(amount: number, over: Partial<InvoiceDocument> = {}): InvoiceDocument {
  return sampleInvoice({
    lines: [{ name: 'Товар', quantity: 1, unit: 'шт.', price: amount, amount, vat: 'vat22' }],
    ...over,
  });
}
