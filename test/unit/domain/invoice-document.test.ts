import {
  accountKeyValid,
  dayInWords,
  InvoiceDocumentError,
  prepareInvoice,
  type InvoiceDocument,
} from '../../../gateway/domain/invoice-document';
import { parseGostQr } from '../../../gateway/domain/gost-qr';
import { invoiceOf, sampleInvoice } from '../connectors/invoice-document/sample';

describe('prepareInvoice: the sums printed on the invoice', () => {
  test('VAT is taken out of each line and added up per rate; the total and its words', () => {
    const p = prepareInvoice(sampleInvoice());
    expect(p.total).toBe(24_450_03);
    expect(p.vatTotals).toEqual([
      { vat: 'vat22', label: '22%', amount: 21_500_00, vatAmount: 3_877_05 },
      { vat: 'vat10', label: '10%', amount: 1_650_00, vatAmount: 150_00 },
      { vat: 'vat0', label: '0%', amount: 300_03, vatAmount: 0 },
      { vat: 'none', label: 'Без НДС', amount: 1_000_00, vatAmount: 0 },
    ]);
    // 20 000,00 × 22/122 = 3 606,557… → 3 606,56 and 1 500,00 × 22/122 = 270,49: per line, then summed
    expect(p.lines.map((l) => l.vatAmount)).toEqual([3_606_56, 270_49, 150_00, 0, 0]);
    expect(p.vatTotal).toBe(4_027_05);
    expect(p.totalInWords).toBe('Двадцать четыре тысячи четыреста пятьдесят рублей 03 копейки');
  });

  test('20 % lines of an invoice dated before 2026 are printed as 20 %', () => {
    const p = prepareInvoice(
      sampleInvoice({
        date: '2025-12-20',
        dueDate: '2026-01-10',
        lines: [{ name: 'Стол', quantity: 1, unit: 'шт.', price: 12_000_00, amount: 12_000_00, vat: 'vat20' }],
      }),
    );
    expect(p.vatTotals).toEqual([{ vat: 'vat20', label: '20%', amount: 12_000_00, vatAmount: 2_000_00 }]);
    expect(p.purpose).toContain('в т.ч. НДС 20% - 2000.00 руб.');
  });

  test('the default purpose names the invoice number, its date, the УИП and the VAT of each rate', () => {
    expect(prepareInvoice(sampleInvoice()).purpose).toBe(
      'Оплата по счету № 123 от 01.12.2026, УИП 10000000000001234567, в т.ч. НДС 22% - 3877.05 руб., НДС 10% - 150.00 руб., НДС 0% - 0.00 руб.',
    );
  });

  test('without УИП and without VAT: «НДС не облагается»', () => {
    const doc = sampleInvoice({
      paymentId: undefined,
      lines: [{ name: 'Услуга', quantity: 1, unit: 'усл.', price: 5_000_00, amount: 5_000_00, vat: 'none' }],
    });
    expect(prepareInvoice(doc).purpose).toBe('Оплата по счету № 123 от 01.12.2026, НДС не облагается');
  });

  test('a default purpose that would pass 160 characters with the УИП leaves the УИП to field «Код» and the QR', () => {
    const line = (vat: 'vat22' | 'vat10' | 'vat7' | 'vat5' | 'vat0') => ({
      name: vat,
      quantity: 1,
      unit: 'шт.',
      price: 105_00,
      amount: 105_00,
      vat,
    });
    const p = prepareInvoice(sampleInvoice({ lines: [line('vat22'), line('vat10'), line('vat7'), line('vat5'), line('vat0')] }));
    expect(p.purpose).toBe(
      'Оплата по счету № 123 от 01.12.2026, в т.ч. НДС 22% - 18.93 руб., НДС 10% - 9.55 руб., НДС 7% - 6.87 руб., НДС 5% - 5.00 руб., НДС 0% - 0.00 руб.',
    );
    expect(parseGostQr(p.qrPayload).uin).toBe('10000000000001234567');
  });

  test('a purpose given by 1C is printed as it is', () => {
    const purpose = 'Оплата по заказу клиента №123, в т.ч. НДС 22% - 3877.05 руб.';
    expect(prepareInvoice(sampleInvoice({ purpose })).purpose).toBe(purpose);
  });

  test('the QR carries the supplier details, the total in kopecks, the purpose, both ИНН, the КПП and the УИП', () => {
    const p = prepareInvoice(sampleInvoice());
    expect(p.qrPayload.startsWith('ST00012|Name=ООО «Ромашка»|PersonalAcc=40702810938000012345|BankName=ПАО СБЕРБАНК|BIC=044525225|')).toBe(
      true,
    );
    expect(parseGostQr(p.qrPayload)).toEqual({
      Name: 'ООО «Ромашка»',
      PersonalAcc: '40702810938000012345',
      BankName: 'ПАО СБЕРБАНК',
      BIC: '044525225',
      CorrespAcc: '30101810400000000225',
      Sum: '2445003',
      Purpose: p.purpose,
      PayeeINN: '7701234560',
      PayerINN: '5001007329',
      KPP: '770001001',
      uin: '10000000000001234567',
    });
  });

  test('an entrepreneur supplier (12-digit ИНН) has no КПП, a buyer without ИНН is allowed', () => {
    const p = prepareInvoice(
      sampleInvoice({ supplier: { name: 'ИП Сидоров Петр Петрович', inn: '500100732259' }, buyer: { name: 'Смирнова Анна Сергеевна' } }),
    );
    const tags = parseGostQr(p.qrPayload);
    expect(tags.KPP).toBeUndefined();
    expect(tags.PayerINN).toBeUndefined();
    expect(tags.PayeeINN).toBe('500100732259');
  });

  test('dates in words for the header', () => {
    expect(dayInWords('2026-12-01')).toBe('1 декабря 2026 г.');
    expect(dayInWords('2027-03-15')).toBe('15 марта 2027 г.');
  });
});

describe('accountKeyValid (Банк России control key)', () => {
  test('Sber’s real correspondent account passes with its БИК, a changed digit does not', () => {
    expect(accountKeyValid('044525225', '30101810400000000225', 'correspondent')).toBe(true);
    expect(accountKeyValid('044525225', '30101810400000000226', 'correspondent')).toBe(false);
  });

  test('a settlement account is checked with the last three digits of the БИК', () => {
    expect(accountKeyValid('044525225', '40702810938000012345', 'settlement')).toBe(true);
    expect(accountKeyValid('044525225', '40702810938000012354', 'settlement')).toBe(false);
  });
});

describe('prepareInvoice refuses a wrong invoice with a clear Russian error, and the input is left as it was', () => {
  function refusal(doc: InvoiceDocument): InvoiceDocumentError {
    const before = JSON.stringify(doc);
    let error: unknown;
    try {
      prepareInvoice(doc);
    } catch (e) {
      error = e;
    }
    expect(JSON.stringify(doc)).toBe(before);
    expect(error).toBeInstanceOf(InvoiceDocumentError);
    return error as InvoiceDocumentError;
  }

  test('no bank details', () => {
    const e = refusal(sampleInvoice({ bank: undefined as never }));
    expect(e.issues).toEqual([{ path: 'bank', message: 'не указаны банковские реквизиты поставщика (банк, БИК, расчетный счет)' }]);
    expect(e.message).toMatch(/^Счет на оплату не сформирован: не указаны банковские реквизиты поставщика/);
  });

  test('a bank without БИК and account', () => {
    const e = refusal(sampleInvoice({ bank: { name: 'ПАО СБЕРБАНК', bic: '', account: '' } }));
    expect(e.issues.map((i) => i.path)).toEqual(['bank.bic', 'bank.account']);
  });

  test('a negative line', () => {
    const e = refusal(
      sampleInvoice({ lines: [{ name: 'Скидка', quantity: 1, unit: 'шт.', price: -500_00, amount: -500_00, vat: 'vat22' }] }),
    );
    expect(e.issues).toEqual([
      { path: 'lines[0].price', message: 'строка 1: цена — целое число копеек, не меньше нуля' },
      { path: 'lines[0].amount', message: 'строка 1: сумма — целое число копеек, не меньше нуля' },
    ]);
  });

  test('a negative quantity', () => {
    const e = refusal(sampleInvoice({ lines: [{ name: 'Стол', quantity: -1, unit: 'шт.', price: 100_00, amount: 100_00, vat: 'vat22' }] }));
    expect(e.issues.map((i) => i.path)).toEqual(['lines[0].quantity']);
  });

  test('a supplier ИНН of wrong length', () => {
    const e = refusal(sampleInvoice({ supplier: { name: 'ООО «Ромашка»', inn: '770000000', kpp: '770001001' } }));
    expect(e.issues).toEqual([
      {
        path: 'supplier.inn',
        message: 'ИНН должен содержать 10 цифр (организация) или 12 (ИП, физическое лицо): поставщик, «770000000» — 9',
      },
    ]);
  });

  test('a buyer ИНН of wrong length', () => {
    const e = refusal(sampleInvoice({ buyer: { name: 'ООО «Василёк»', inn: '50010073221' } }));
    expect(e.issues.map((i) => i.path)).toEqual(['buyer.inn']);
    expect(e.message).toContain('покупатель, «50010073221» — 11');
  });

  test('a supplier or buyer ИНН whose check digits do not match (a typo)', () => {
    const supplier = refusal(sampleInvoice({ supplier: { name: 'ООО «Ромашка»', inn: '7701234561', kpp: '770101001' } }));
    expect(supplier.issues).toEqual([
      { path: 'supplier.inn', message: 'контрольные цифры ИНН не сходятся, проверьте его: поставщик, «7701234561»' },
    ]);
    const buyer = refusal(sampleInvoice({ buyer: { name: 'ИП Сидоров', inn: '500100732258' } }));
    expect(buyer.issues.map((i) => i.path)).toEqual(['buyer.inn']);
  });

  test('a КПП given for an entrepreneur', () => {
    const e = refusal(sampleInvoice({ buyer: { name: 'ИП Сидоров', inn: '500100732259', kpp: '500101001' } }));
    expect(e.issues).toEqual([{ path: 'buyer.kpp', message: 'у ИП и физического лица нет КПП: покупатель' }]);
  });

  test('an organization supplier without КПП', () => {
    const e = refusal(sampleInvoice({ supplier: { name: 'ООО «Ромашка»', inn: '7701234560' } }));
    expect(e.issues.map((i) => i.path)).toEqual(['supplier.kpp']);
  });

  test('a settlement account with a mistyped digit', () => {
    const e = refusal(sampleInvoice({ bank: { ...sampleInvoice().bank, account: '40702810938000012354' } }));
    expect(e.issues).toEqual([
      {
        path: 'bank.account',
        message: 'расчетный счет 40702810938000012354 не сходится с БИК 044525225 (контрольный ключ): проверьте цифры',
      },
    ]);
  });

  test('an amount that is not price × quantity', () => {
    const e = refusal(sampleInvoice({ lines: [{ name: 'Стол', quantity: 3, unit: 'шт.', price: 33_33, amount: 100_00, vat: 'vat22' }] }));
    expect(e.issues).toEqual([{ path: 'lines[0].amount', message: 'строка 1: сумма 100.00 не равна цене 33.33 × количество 3 = 99.99' }]);
  });

  test('an unknown VAT rate (a calculated rate 22/122 is not printed on an invoice)', () => {
    const e = refusal(
      sampleInvoice({ lines: [{ name: 'Стол', quantity: 1, unit: 'шт.', price: 100_00, amount: 100_00, vat: 'vat122' as never }] }),
    );
    expect(e.issues.map((i) => i.path)).toEqual(['lines[0].vat']);
  });

  test('no lines, and a total of zero', () => {
    expect(refusal(sampleInvoice({ lines: [] })).issues.map((i) => i.path)).toEqual(['lines']);
    expect(refusal(invoiceOf(0)).message).toContain('сумма счета равна нулю');
  });

  test('a due date before the invoice date, and a date that does not exist', () => {
    expect(refusal(sampleInvoice({ dueDate: '2026-11-30' })).message).toContain('срок оплаты 30.11.2026 раньше даты счета 01.12.2026');
    expect(refusal(sampleInvoice({ date: '2026-02-30' })).issues.map((i) => i.path)).toEqual(['date']);
  });

  test('a deferral from shipment of 0 or 1 000 days', () => {
    for (const days of [0, 1000, 2.5])
      expect(refusal(sampleInvoice({ dueDate: undefined, dueDaysAfterShipment: days })).issues).toEqual([
        { path: 'dueDaysAfterShipment', message: `отсрочка с даты отгрузки — от 1 до 365 дней: «${days}»` },
      ]);
  });

  test('a purpose longer than bank apps read in the QR (160 characters)', () => {
    expect(refusal(sampleInvoice({ purpose: 'О'.repeat(161) })).issues.map((i) => i.path)).toEqual(['purpose']);
  });

  test('a bank name the QR cannot hold (over 45 characters) is named as a QR problem', () => {
    const e = refusal(sampleInvoice({ bank: { ...sampleInvoice().bank, name: 'Б'.repeat(46) } }));
    expect(e.issues).toEqual([{ path: 'qr.BankName', message: 'QR-код: наименование банка длиннее 45 символов' }]);
  });

  test('texts past what a page holds: an address over 500 characters, a line name or a note over 1 000, a basis over 300', () => {
    const e = refusal(
      sampleInvoice({
        note: 'у'.repeat(1001),
        buyer: { name: 'ООО «Василёк»', address: 'а'.repeat(501) },
        basis: 'д'.repeat(301),
        lines: [{ name: 'т'.repeat(1001), quantity: 1, unit: 'шт.', price: 100_00, amount: 100_00, vat: 'vat22' }],
      }),
    );
    expect(e.issues).toEqual([
      { path: 'buyer.address', message: 'адрес длиннее 500 символов: покупатель' },
      { path: 'lines[0].name', message: 'строка 1: наименование длиннее 1000 символов' },
      { path: 'basis', message: 'основание длиннее 300 символов' },
      { path: 'note', message: 'примечание длиннее 1000 символов' },
    ]);
  });

  test('every problem is listed at once', () => {
    const e = refusal(
      sampleInvoice({
        number: '',
        supplier: { name: '', inn: '77' },
        bank: undefined as never,
        lines: [{ name: '', quantity: 1, unit: '', price: -1, amount: 1, vat: 'vat22' }],
      }),
    );
    expect(e.issues.map((i) => i.path)).toEqual([
      'number',
      'supplier.name',
      'supplier.inn',
      'bank',
      'lines[0].name',
      'lines[0].unit',
      'lines[0].price',
    ]);
  });
});
