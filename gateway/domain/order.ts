import { lineAmount, sum, type Kopecks } from './money';

export const VAT_CODES = [
  'none',
  'vat0',
  'vat5',
  'vat7',
  'vat10',
  'vat20',
  'vat22',
  'vat105',
  'vat107',
  'vat110',
  'vat120',
  'vat122',
] as const;
export type VatCode = (typeof VAT_CODES)[number];

/**
 * Units of measure of ФФД 1.2 (tag 2108, table 100), by code: what a line of a receipt is counted in.
 * Weighed goods go in kilograms (11), not as pieces.
 */
export const MEASURES = {
  0: 'шт.',
  10: 'г',
  11: 'кг',
  12: 'т',
  20: 'см',
  21: 'дм',
  22: 'м',
  30: 'кв. см',
  31: 'кв. дм',
  32: 'кв. м',
  40: 'мл',
  41: 'л',
  42: 'куб. м',
  50: 'кВт·ч',
  51: 'Гкал',
  70: 'сутки',
  71: 'час',
  72: 'мин',
  73: 'с',
  80: 'Кбайт',
  81: 'Мбайт',
  82: 'Гбайт',
  83: 'Тбайт',
  255: 'иная единица',
} as const;
export type MeasureCode = keyof typeof MEASURES;
export const MEASURE_CODES = Object.keys(MEASURES).map(Number) as MeasureCode[];

export interface OrderItem {
  sku: string;
  name: string;
  quantity: number;
  price: Kopecks;
  amount: Kopecks;
  vat: VatCode;
  kind?: 'goods' | 'service';
  /** Unit of measure (ФФД 1.2 tag 2108); pieces when absent. */
  measure?: MeasureCode;
}

export interface Customer {
  type: 'individual' | 'legal';
  name: string;
  email?: string;
  phone?: string;
  inn?: string;
  kpp?: string;
}

export type PaymentTerms = { type: 'prepay' } | { type: 'deferred'; days: number };

export const ORDER_STATUSES = ['awaiting_payment', 'paid', 'partially_refunded', 'refunded', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface Issue {
  path: (string | number)[];
  message: string;
}

/** amount = price × quantity (to a kopeck) on every line, total = Σ amount. */
export function checkTotals(items: readonly OrderItem[], total: Kopecks): Issue[] {
  const issues: Issue[] = [];
  items.forEach((it, i) => {
    const expected = lineAmount(it.price, it.quantity);
    if (it.amount !== expected) {
      issues.push({ path: ['items', i, 'amount'], message: `price × quantity is ${expected}, the line says ${it.amount}` });
    }
  });
  const expectedTotal = sum(items.map((it) => it.amount));
  if (total !== expectedTotal) issues.push({ path: ['total'], message: `the lines add up to ${expectedTotal}, total says ${total}` });
  if (total <= 0) issues.push({ path: ['total'], message: 'must be greater than zero' });
  return issues;
}

export function orderStatusFor(total: Kopecks, paid: Kopecks, refunded: Kopecks, cancelled = false): OrderStatus {
  if (cancelled) return 'cancelled';
  if (paid <= 0 || paid < total) return 'awaiting_payment';
  if (refunded <= 0) return 'paid';
  return refunded >= paid ? 'refunded' : 'partially_refunded';
}

/** What is still to pay on an order (refunds do not reopen it: a refunded order is settled). */
export function outstanding(total: Kopecks, paid: Kopecks): Kopecks {
  return Math.max(0, total - paid);
}

/**
 * A line as 1C has it, where a discount can make Сумма ≠ Цена × Количество: the amount stays,
 * the price is made to fit (what a receipt needs too). When no price in kopecks fits, the line
 * becomes one unit at the whole amount, and says so in its name.
 */
export function fitLine<T extends { name: string; quantity: number; price: Kopecks; amount: Kopecks }>(line: T): T {
  if (lineAmount(line.price, line.quantity) === line.amount) return line;
  const price = Math.round(line.amount / line.quantity);
  if (lineAmount(price, line.quantity) === line.amount) return { ...line, price };
  return { ...line, name: `${line.name} (${line.quantity} × ${line.price / 100} ₽ со скидкой)`, quantity: 1, price: line.amount };
}
