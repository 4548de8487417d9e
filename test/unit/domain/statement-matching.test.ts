import {
  matchStatementLines,
  printedNumber,
  purposeReferences,
  type IncomingLine,
  type OpenInvoice,
} from '../../../gateway/domain/statement-matching';

const refs = (p: string) => purposeReferences(p).map((r) => [r.kind, r.printed, r.date, r.amount]);

describe('numbers in a payment purpose, as payers write them', () => {
  test.each([
    ['Оплата по счету № 123 от 01.12.2026', [['invoice', '123', '2026-12-01', null]]],
    ['Оплата сч.123 за товар', [['invoice', '123', null, null]]],
    ['счет№123, НДС не облагается', [['invoice', '123', null, null]]],
    ['Оплата по сч. 123/1 без НДС', [['invoice', '123/1', null, null]]],
    ['Оплата по заказу клиента №ЗК-000123, НДС не облагается', [['order', '123', null, null]]],
    ['Оплата по счёту 305 за услуги', [['invoice', '305', null, null]]],
    ['Оплата по счету N 1024 от 01.01.23г 18026,52', [['invoice', '1024', '2023-01-01', null]]],
    [
      'Оплата по сч.№ 183 от 31.05.2022 г, № 211 от 30.06.2022 г за медицинские услуги, без НДС',
      [
        ['invoice', '183', '2022-05-31', null],
        ['invoice', '211', '2022-06-30', null],
      ],
    ],
    [
      'Оплата по счетам №12 на сумму 1 000,00, №15 на сумму 500-00',
      [
        ['invoice', '12', null, 100_000],
        ['invoice', '15', null, 50_000],
      ],
    ],
    [
      'по счетам 12, 15 и 17',
      [
        ['invoice', '12', null, null],
        ['invoice', '15', null, null],
        ['invoice', '17', null, null],
      ],
    ],
    ['По сч.№678от30.11.2021 г. за никель по Спец.№07от15.09.2021г. к дог.№ 321-03/18', [['invoice', '678', '2021-11-30', null]]],
    ['Оплата по счету № 706/3 от 22.10.2021 по Дог. № 571 от 27.10.2014 Акт № 109/2021', [['invoice', '706/3', '2021-10-22', null]]],
    ['ОПЛАТА ПО СЧЕТУ № 141086 ОТ 5 НОЯБРЯ 2025 Г. СУММА 60571-00', [['invoice', '141086', null, null]]],
    ['Оплата по счету INV-000021', [['invoice', '21', null, null]]],
  ])('%s', (purpose, expected) => {
    expect(refs(purpose)).toEqual(expected);
  });

  test.each([
    'Оплата за товар по договору 7 от 01.06.2026',
    'Оплата по счету от 01.12.2026',
    'Оплата по счету-фактуре № 55 от 01.12.2026',
    'Комиссия за безналичный перевод за период с 20.08.2018 по 20.08.2018',
    "Плата за выдачу наличных к чеку № '8442800' от '02/12/2021'",
    'Оплата по договору № 45 от 12.02.2026, УПД № 5 от16.04.2026',
    'ЛС: 50133547364',
  ])('no invoice number in «%s»', (purpose) => {
    expect(refs(purpose)).toEqual([]);
  });

  test('numbers are compared as 1C prints them', () => {
    expect(printedNumber('СЧ00-000123')).toBe('123');
    expect(printedNumber('00-000123')).toBe('123');
    expect(printedNumber('123/1')).toBe('123/1');
    expect(printedNumber('ХИМ-ММР286')).toBe('хим-ммр286');
  });
});

const ACME = '7701234567';
const BETA = '7709876543';

function inv(id: string, number: string, amountDue: number, more: Partial<OpenInvoice> = {}): OpenInvoice {
  return {
    id,
    number,
    date: '2026-11-20',
    orderNumber: null,
    buyerInn: ACME,
    buyerKpp: '770101001',
    amountDue,
    dueDate: '2026-12-20',
    uip: null,
    ...more,
  };
}

function line(purpose: string, amount: number, more: Partial<IncomingLine> = {}): IncomingLine {
  return { id: 'l1', amount, date: '2026-12-01', payerInn: ACME, payerKpp: null, purpose, uip: null, ...more };
}

const one = (l: IncomingLine, invoices: OpenInvoice[]) => matchStatementLines([l], invoices).get(l.id)!;

describe('matching a line to open invoices', () => {
  test('the УИП comes first, whatever the purpose says', () => {
    const d = one(line('Оплата по счету 2', 100_000, { uip: '0123456789012345678901234' }), [
      inv('a', '1', 100_000, { uip: '0123456789012345678901234' }),
      inv('b', '2', 100_000),
    ]);
    expect(d).toMatchObject({ outcome: 'matched', by: 'uip', allocations: [{ invoiceId: 'a', amount: 100_000, remaining: 0 }] });
  });

  test('a partial payment leaves the rest due; the next line pays it', () => {
    const invoices = [inv('a', '123', 100_000)];
    const r = matchStatementLines(
      [line('сч.123', 40_000, { id: 'x' }), line('сч.123 доплата', 60_000, { id: 'y', date: '2026-12-02' })],
      invoices,
    );
    expect(r.get('x')).toMatchObject({ outcome: 'partial', allocations: [{ invoiceId: 'a', amount: 40_000, remaining: 60_000 }] });
    expect(r.get('y')).toMatchObject({ outcome: 'matched', allocations: [{ invoiceId: 'a', amount: 60_000, remaining: 0 }] });
  });

  test('an overpayment is matched, the excess kept as an advance and flagged', () => {
    expect(one(line('Оплата по счету № 123', 150_000), [inv('a', '123', 100_000)])).toMatchObject({
      outcome: 'overpaid',
      advance: 50_000,
      flags: ['overpayment'],
      allocations: [{ invoiceId: 'a', amount: 100_000, remaining: 0 }],
    });
  });

  test('one payment for several invoices: by the amounts named, else by due date', () => {
    const invoices = [inv('a', '12', 100_000, { dueDate: '2026-12-25' }), inv('b', '15', 80_000, { dueDate: '2026-12-10' })];
    expect(one(line('по счетам №12 на сумму 600-00, №15 на сумму 500-00', 110_000), invoices)).toMatchObject({
      outcome: 'partial',
      allocations: [
        { invoiceId: 'a', amount: 60_000, remaining: 40_000 },
        { invoiceId: 'b', amount: 50_000, remaining: 30_000 },
      ],
    });
    expect(one(line('по счетам №12, №15', 110_000), invoices)).toMatchObject({
      outcome: 'partial',
      allocations: [
        { invoiceId: 'b', amount: 80_000, remaining: 0 },
        { invoiceId: 'a', amount: 30_000, remaining: 70_000 },
      ],
    });
  });

  test('a payer ИНН other than the buyer’s goes to review, with the reason in Russian', () => {
    const d = one(line('Оплата по счету № 123', 100_000, { payerInn: BETA }), [inv('a', '123', 100_000)]);
    expect(d).toMatchObject({ outcome: 'review', candidates: ['a'] });
    expect(d.outcome === 'review' && d.reason).toMatch(/плательщик \(ИНН 7709876543\) не покупатель по счёту №123/);
  });

  test('an individual paying by transfer is matched and flagged for a receipt', () => {
    const person = '500100732259';
    expect(
      one(line('Оплата заказа №ЗК-000777', 250_000, { payerInn: null }), [
        inv('a', '77', 250_000, { buyerInn: null, orderNumber: 'ЗК-000777' }),
      ]),
    ).toMatchObject({
      outcome: 'matched',
      flags: ['receipt_due'],
    });
    expect(one(line('сч 9', 1_000, { payerInn: person }), [inv('a', '9', 1_000, { buyerInn: person })])).toMatchObject({
      outcome: 'matched',
      flags: ['receipt_due'],
    });
  });

  test('the payer’s ИНН and the amount when the purpose names nothing', () => {
    const invoices = [inv('a', '1', 100_000), inv('b', '2', 70_000)];
    expect(one(line('Оплата за товар', 70_000), invoices)).toMatchObject({
      outcome: 'matched',
      by: 'inn',
      allocations: [{ invoiceId: 'b' }],
    });
    expect(one(line('Оплата за товар', 170_000), invoices)).toMatchObject({ outcome: 'matched', by: 'inn' });
    expect(one(line('Оплата за товар', 50_000), invoices)).toMatchObject({ outcome: 'review' });
  });

  test('two invoices of the buyer due the same amount, nothing named: review', () => {
    expect(one(line('Оплата', 70_000), [inv('a', '1', 70_000), inv('b', '2', 70_000)])).toMatchObject({
      outcome: 'review',
      candidates: ['a', 'b'],
    });
  });

  test('a number of one invoice with the exact amount of another of the same buyer: review', () => {
    expect(one(line('сч.1', 70_000), [inv('a', '1', 100_000), inv('b', '2', 70_000)])).toMatchObject({ outcome: 'review' });
  });

  test('equal numbers of different years are told apart by the date in the purpose', () => {
    const invoices = [inv('old', '5', 10_000, { date: '2025-03-01' }), inv('new', '5', 10_000, { date: '2026-03-01' })];
    expect(one(line('Оплата по счету №5 от 01.03.2026', 10_000), invoices)).toMatchObject({
      outcome: 'matched',
      allocations: [{ invoiceId: 'new' }],
    });
    expect(one(line('Оплата по счету №5', 10_000), invoices)).toMatchObject({ outcome: 'review' });
  });

  test('several invoices named, one of them paid already: review, not an advance', () => {
    const r = matchStatementLines(
      [line('сч.1', 100_000, { id: 'x' }), line('Оплата по счетам №1, №2', 150_000, { id: 'y', date: '2026-12-02' })],
      [inv('a', '1', 100_000), inv('b', '2', 50_000)],
    );
    expect(r.get('x')).toMatchObject({ outcome: 'matched' });
    const y = r.get('y')!;
    expect(y).toMatchObject({ outcome: 'review', candidates: ['a', 'b'] });
    expect(y.outcome === 'review' && y.reason).toBe('в назначении платежа есть уже оплаченный счёт №1: проверьте, не оплачен ли он дважды');
  });

  test('an invoice paid already, a number nobody has, no ИНН at all: review', () => {
    const r = matchStatementLines(
      [line('сч.1', 100_000, { id: 'x' }), line('сч.1', 100_000, { id: 'y', date: '2026-12-02' })],
      [inv('a', '1', 100_000)],
    );
    expect(r.get('y')).toMatchObject({ outcome: 'review' });
    expect(one(line('сч.999', 100_000, { payerInn: BETA }), [inv('a', '1', 100_000)])).toMatchObject({ outcome: 'review' });
    expect(one(line('Перевод', 100_000, { payerInn: null }), [inv('a', '1', 100_000, { buyerInn: null })])).toMatchObject({
      outcome: 'review',
    });
  });
});
