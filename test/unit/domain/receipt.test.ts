import type { OrderItem } from '../../../gateway/domain/order';
import {
  allocate,
  dayIn,
  receiptIssues,
  remaining,
  vatAmount,
  vatOnReceipt,
  type ReceiptDoc,
  type ReceiptLine,
} from '../../../gateway/domain/receipt';
import {
  creditAtShipment,
  receiptClient,
  stageAtPayment,
  stageLines,
  stagePaymentType,
  wholeParts,
  type PaymentFacts,
} from '../../../gateway/domain/receipt-rules';
import { loadReceiptRules } from '../../../gateway/flows/fiscal/rules';

const rules = loadReceiptRules('default');
const immediate = loadReceiptRules('immediate');

const items: OrderItem[] = [
  { sku: 'kettle', name: 'Чайник электрический', quantity: 2, price: 150000, amount: 300000, vat: 'vat22', kind: 'goods' },
  { sku: 'dlv', name: 'Доставка', quantity: 1, price: 50000, amount: 50000, vat: 'vat22', kind: 'service' },
  { sku: 'book', name: 'Книга', quantity: 1, price: 70000, amount: 70000, vat: 'vat10' },
];

const pick = (l: ReceiptLine) => [l.name, l.paymentMethod, l.paymentObject, l.vat, l.price, l.quantity, l.amount, l.vatAmount];

describe('VAT per line', () => {
  test.each([
    // amount, code, VAT: amount × rate / (100 + rate), half away from zero, to a kopeck
    [300000, 'vat22', 54098], // 54 098.36 → 54 098
    [300000, 'vat122', 54098],
    [300000, 'vat20', 50000],
    [50000, 'vat22', 9016], // 9 016.39
    [70000, 'vat10', 6364], // 6 363.64
    [61, 'vat22', 11], // 11.000… exactly 11
    [6, 'vat20', 1], // 1.0
    [3, 'vat20', 1], // 0.5 → 1 (half away from zero)
    [2, 'vat20', 0], // 0.333 → 0
    [100000, 'vat0', 0],
    [100000, 'none', 0],
  ] as const)('%i kopecks at %s: %i', (amount, code, vat) => {
    expect(vatAmount(amount, code)).toBe(vat);
  });

  test('the general rate by the receipt’s date: 20 % in 2025, 22 % from 2026 (the 22 % codes from 5 January)', () => {
    const t = rules.generalRate;
    expect(vatOnReceipt('vat22', '2025-12-31', t, false)).toBe('vat20');
    expect(vatOnReceipt('vat20', '2025-06-01', t, true)).toBe('vat120');
    expect(vatOnReceipt('vat22', '2026-01-03', t, false)).toBe('vat20');
    expect(vatOnReceipt('vat20', '2026-01-05', t, false)).toBe('vat22');
    expect(vatOnReceipt('vat22', '2026-12-01', t, true)).toBe('vat122');
    expect(vatOnReceipt('vat10', '2026-12-01', t, true)).toBe('vat110');
    expect(vatOnReceipt('vat10', '2026-12-01', t, false)).toBe('vat10');
    expect(vatOnReceipt('none', '2026-12-01', t, true)).toBe('none');
    expect(vatOnReceipt('vat0', '2026-12-01', t, true)).toBe('vat0');
  });

  test('the receipt’s day is the Moscow day', () => {
    expect(dayIn('2025-12-31T21:30:00Z', 'Europe/Moscow')).toBe('2026-01-01');
    expect(dayIn('2025-12-31T20:59:59Z', 'Europe/Moscow')).toBe('2025-12-31');
  });
});

describe('which receipt, when', () => {
  const person = { type: 'individual' as const };
  const company = { type: 'legal' as const };
  const f = (o: Partial<PaymentFacts>): PaymentFacts => ({
    method: 'card',
    customer: person,
    deferred: false,
    shipped: false,
    credited: false,
    ...o,
  });

  test.each([
    ['paid online, handed over later', 'prepayment', rules, f({})],
    ['paid online, handed over at once', 'full', immediate, f({})],
    ['paid after 1C shipped it (no credit receipt)', 'full', rules, f({ shipped: true })],
    ['paid after a credit receipt', 'credit_payment', rules, f({ deferred: true, shipped: true, credited: true })],
    [
      'a company pays a deferred invoice by bank transfer',
      null,
      rules,
      f({ method: 'invoice', customer: company, deferred: true, shipped: true }),
    ],
    ['a company pays by bank transfer before shipment', null, rules, f({ method: 'invoice', customer: company })],
    ['a company pays by card', 'prepayment', rules, f({ customer: company, deferred: true })],
    ['an individual pays an invoice', 'prepayment', rules, f({ method: 'invoice' })],
  ] as const)('%s → %s', (_name, stage, r, facts) => {
    expect(stageAtPayment(r, facts)).toBe(stage);
  });

  test('credit at shipment: a deferred order with money owed, unless a company is expected to pay by bank transfer', () => {
    expect(creditAtShipment(rules, { deferred: true, unpaid: 1000, customer: person })).toBe(true);
    expect(creditAtShipment(rules, { deferred: true, unpaid: 1000, customer: company })).toBe(false);
    expect(creditAtShipment({ ...rules, receiptForCompanyBankTransfer: true }, { deferred: true, unpaid: 1000, customer: company })).toBe(
      true,
    );
    expect(creditAtShipment(rules, { deferred: true, unpaid: 0, customer: person })).toBe(false);
    expect(creditAtShipment(rules, { deferred: false, unpaid: 1000, customer: person })).toBe(false);
  });

  test('each stage’s payments[].type', () => {
    expect(['prepayment', 'settlement', 'full', 'credit', 'credit_payment'].map((s) => stagePaymentType(rules, s as never))).toEqual([
      1, 2, 1, 3, 1,
    ]);
  });
});

describe('lines of each stage, field by field', () => {
  test('prepayment at 22 %: full_prepayment, the item’s object, the calculated rate 22/122', () => {
    expect(stageLines(rules, 'prepayment', items, wholeParts(items), '2026-12-01').map(pick)).toEqual([
      ['Чайник электрический', 'full_prepayment', 1, 'vat122', 150000, 2, 300000, 54098],
      ['Доставка', 'full_prepayment', 4, 'vat122', 50000, 1, 50000, 9016],
      ['Книга', 'full_prepayment', 1, 'vat110', 70000, 1, 70000, 6364],
    ]);
  });

  test('settlement: full_payment at the rate itself', () => {
    expect(stageLines(rules, 'settlement', items, wholeParts(items), '2026-12-01').map(pick)).toEqual([
      ['Чайник электрический', 'full_payment', 1, 'vat22', 150000, 2, 300000, 54098],
      ['Доставка', 'full_payment', 4, 'vat22', 50000, 1, 50000, 9016],
      ['Книга', 'full_payment', 1, 'vat10', 70000, 1, 70000, 6364],
    ]);
  });

  test('a 2025 sale: 20 %', () => {
    expect(stageLines(rules, 'full', items.slice(0, 1), wholeParts(items.slice(0, 1)), '2025-11-20').map(pick)).toEqual([
      ['Чайник электрический', 'full_payment', 1, 'vat20', 150000, 2, 300000, 50000],
    ]);
  });

  test('credit and credit payment: credit with the goods; credit_payment as a payment (10)', () => {
    expect(
      stageLines(rules, 'credit', items.slice(0, 2), wholeParts(items.slice(0, 2)), '2026-12-01').map((l) => [
        l.paymentMethod,
        l.paymentObject,
        l.vat,
      ]),
    ).toEqual([
      ['credit', 1, 'vat22'],
      ['credit', 4, 'vat22'],
    ]);
    expect(
      stageLines(rules, 'credit_payment', items.slice(0, 2), wholeParts(items.slice(0, 2)), '2026-12-01').map((l) => [
        l.paymentMethod,
        l.paymentObject,
        l.vat,
      ]),
    ).toEqual([
      ['credit_payment', 10, 'vat22'],
      ['credit_payment', 10, 'vat22'],
    ]);
  });

  test('names past 128 characters (from 1C) are cut with an ellipsis', () => {
    const long = [{ ...items[0], name: 'Я'.repeat(200) }];
    const [line] = stageLines(rules, 'full', long, wholeParts(long), '2026-12-01');
    expect(line.name).toHaveLength(128);
    expect(line.name.endsWith('…')).toBe(true);
  });

  test('B2B: the buyer’s name and ИНН; an individual: the contact only', () => {
    expect(receiptClient({ type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', email: 'buh@vector.example' })).toEqual({
      email: 'buh@vector.example',
      name: 'ООО «Вектор»',
      inn: '7701234560',
    });
    expect(receiptClient({ type: 'individual', name: 'Иван', phone: '8 (900) 123-45-67' })).toEqual({ phone: '+79001234567' });
  });
});

describe('units of measure (tag 2108)', () => {
  test('a line counted in kilograms keeps its unit on every stage’s receipt; a line without one is in the rules’ unit (pieces)', () => {
    const items: OrderItem[] = [
      { sku: 'cheese', name: 'Сыр весовой', quantity: 1.25, price: 84000, amount: 105000, vat: 'vat10', measure: 11 },
      { sku: 'bag', name: 'Пакет', quantity: 1, price: 500, amount: 500, vat: 'vat22' },
    ];
    for (const stage of ['prepayment', 'settlement', 'full'] as const) {
      expect(stageLines(rules, stage, items, wholeParts(items), '2026-12-01').map((l) => l.measure)).toEqual([11, 0]);
    }
  });
});

describe('allocation: a part of the lines, sum = price × quantity on each', () => {
  const base = stageLines(rules, 'prepayment', items.slice(0, 2), wholeParts(items.slice(0, 2)), '2026-12-01');

  test('whole lines, then whole units, then the last kopecks as one unit', () => {
    const parts = allocate(
      base,
      base.map((l) => l.amount),
      170000,
    );
    expect(parts.map((p) => [p.name, p.price, p.quantity, p.amount, p.src])).toEqual([
      ['Чайник электрический', 150000, 1, 150000, 0],
      ['Чайник электрический', 20000, 1, 20000, 0],
    ]);
  });

  test('what earlier refunds took is not given again', () => {
    const first = allocate(
      base,
      base.map((l) => l.amount),
      170000,
    );
    const left = remaining(base, first, (l) => l.src);
    expect(left).toEqual([130000, 50000]);
    const second = allocate(base, left, 180000);
    expect(second.map((p) => [p.price, p.quantity, p.amount, p.src])).toEqual([
      [130000, 1, 130000, 0],
      [50000, 1, 50000, 1],
    ]);
    expect(() =>
      allocate(
        base,
        remaining(base, [...first, ...second], (l) => l.src),
        1,
      ),
    ).toThrow(/only 0 of 1/);
  });
});

describe('a receipt the register would refuse is refused here, with the field', () => {
  const good: ReceiptDoc = {
    operation: 'sell',
    date: '2026-12-01T10:00:00.000Z',
    client: { email: 'ivan@example.com' },
    company: { inn: '7707083893', sno: 'osn', paymentAddress: 'https://shop.example' },
    items: stageLines(rules, 'full', items.slice(0, 1), wholeParts(items.slice(0, 1)), '2026-12-01'),
    payments: [{ type: 1, amount: 300000 }],
    total: 300000,
  };

  test('a good one has no issues', () => {
    expect(receiptIssues(good)).toEqual([]);
  });

  test.each<[string, (r: ReceiptDoc) => ReceiptDoc, string, RegExp]>([
    [
      'lines that do not add up to the total',
      (r) => ({ ...r, total: 299999, payments: [{ type: 1, amount: 299999 }] }),
      'total',
      /add up to 300000/,
    ],
    ['payments that do not cover the total', (r) => ({ ...r, payments: [{ type: 1, amount: 200000 }] }), 'payments', /200000/],
    [
      'sum ≠ price × quantity',
      (r) => ({
        ...r,
        items: [{ ...r.items[0], amount: 300001, vatAmount: vatAmount(300001, 'vat22') }],
        total: 300001,
        payments: [{ type: 1, amount: 300001 }],
      }),
      'items[0].amount',
      /price × quantity is 300000/,
    ],
    ['an unknown VAT code', (r) => ({ ...r, items: [{ ...r.items[0], vat: 'vat18' as never }] }), 'items[0].vat', /unknown VAT code vat18/],
    ['a VAT sum that is not the line’s', (r) => ({ ...r, items: [{ ...r.items[0], vatAmount: 1 }] }), 'items[0].vatAmount', /54098/],
    ['no contact of the buyer', (r) => ({ ...r, client: {} }), 'client', /e-mail or phone/],
    ['a name past 128 characters', (r) => ({ ...r, items: [{ ...r.items[0], name: 'x'.repeat(129) }] }), 'items[0].name', /at most 128/],
    ['a correction without its basis', (r) => ({ ...r, operation: 'sell_correction' }), 'correction', /basis/],
    ['the organization without ИНН', (r) => ({ ...r, company: { ...r.company, inn: '' } }), 'company.inn', /ИНН/],
  ])('%s', (_name, change, path, message) => {
    const issues = receiptIssues(change(good));
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)!.message).toMatch(message);
  });
});

describe('rules files', () => {
  test('a broken rules file names the key', () => {
    const { writeFileSync, mkdtempSync } = require('node:fs') as typeof import('node:fs');
    const file = `${mkdtempSync('/tmp/rules-')}/bad.yaml`;
    writeFileSync(file, 'name: x\nhandover: sometimes\nstages: {}\ngeneralRate: []\n');
    expect(() => loadReceiptRules(file)).toThrow(/handover.*(later|immediate)/);
    expect(() => loadReceiptRules('/nonexistent/rules.yaml')).toThrow(/no file/);
  });
});
