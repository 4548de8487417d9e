import { lineAmount, quantityThousandths, sum, type Kopecks } from './money';
import { VAT_CODES, type VatCode } from './order';

/**
 * A 54-ФЗ receipt as the gateway keeps it: money in kopecks, codes as in ФФД 1.2 (and ATOL v5).
 * Connectors turn it into their wire format (rubles, camelCase, words) at their edge.
 */

/** Tag 1054 (признак расчета), as ATOL names the documents. */
export const RECEIPT_OPERATIONS = ['sell', 'sell_refund', 'sell_correction', 'sell_refund_correction'] as const;
export type ReceiptOperation = (typeof RECEIPT_OPERATIONS)[number];

/** Tag 1214 (способ расчета) 1..7. */
export const PAYMENT_METHODS = [
  'full_prepayment',
  'prepayment',
  'advance',
  'full_payment',
  'partial_payment',
  'credit',
  'credit_payment',
] as const;
export type PaymentMethodTag = (typeof PAYMENT_METHODS)[number];

/** Tag 1212 (признак предмета расчета) by name; ФФД 1.2 values 1..33. */
export const PAYMENT_OBJECTS = { goods: 1, excise: 2, job: 3, service: 4, payment: 10, agent_commission: 11, other: 13 } as const;
export type PaymentObjectName = keyof typeof PAYMENT_OBJECTS;

/** payments[].type: 0 cash, 1 cashless, 2 prepayment offset, 3 credit, 4 counter-provision. */
export const PAYMENT_TYPES = { cash: 0, cashless: 1, prepayment: 2, credit: 3, other: 4 } as const;
export type PaymentTypeName = keyof typeof PAYMENT_TYPES;
export type PaymentType = (typeof PAYMENT_TYPES)[PaymentTypeName];

/** The longest item name a register takes (tag 1030: 128 characters). */
export const ITEM_NAME_MAX = 128;
/** ATOL: at most 100 lines and 10 payments per receipt; price and sum at most 42 949 672,95 ₽. */
export const MAX_ITEMS = 100;
export const MAX_PAYMENTS = 10;
export const MAX_LINE_KOPECKS = 4_294_967_295;
export const MAX_QUANTITY = 99_999.999;

export interface ReceiptLine {
  name: string;
  price: Kopecks;
  quantity: number;
  /** price × quantity to a kopeck (tag 1043): the register checks it. */
  amount: Kopecks;
  /** Tag 2108: 0 шт, 11 кг, ... */
  measure: number;
  paymentMethod: PaymentMethodTag;
  paymentObject: number;
  vat: VatCode;
  /** The VAT in `amount`, kopecks (see vatAmount). */
  vatAmount: Kopecks;
  /** Which line of the order this is. */
  ref?: number;
  /** Which line of the receipt it derives from (the prepayment a settlement offsets, the sale a refund returns). */
  src?: number;
}

export interface ReceiptClient {
  email?: string;
  phone?: string;
  /** B2B buyers: tags 1227 and 1228. */
  name?: string;
  inn?: string;
}

export interface ReceiptCompany {
  inn: string;
  /** Taxation system: osn, usn_income, usn_income_outcome, esn, patent. */
  sno: string;
  email?: string;
  /** Where the settlement happens (tag 1187): the site's address for an online shop. */
  paymentAddress: string;
}

export interface ReceiptPayment {
  type: PaymentType;
  amount: Kopecks;
}

export interface CorrectionInfo {
  type: 'self' | 'instruction';
  /** The date of the settlement being corrected, YYYY-MM-DD. */
  baseDate: string;
  /** The tax authority's instruction number (type instruction). */
  baseNumber?: string;
}

export interface ReceiptDoc {
  operation: ReceiptOperation;
  /** When the settlement happened (ISO 8601): the receipt's timestamp, and the date VAT rates are read for. */
  date: string;
  client: ReceiptClient;
  company: ReceiptCompany;
  items: ReceiptLine[];
  payments: ReceiptPayment[];
  total: Kopecks;
  correction?: CorrectionInfo;
}

// ---------------------------------------------------------------- VAT

/** rate / (100 + rate) of each code; null: no VAT. The calculated codes (vat120...) are the same fraction. */
const VAT_FRACTION: Record<VatCode, readonly [number, number] | null> = {
  none: null,
  vat0: [0, 100],
  vat5: [5, 105],
  vat7: [7, 107],
  vat10: [10, 110],
  vat20: [20, 120],
  vat22: [22, 122],
  vat105: [5, 105],
  vat107: [7, 107],
  vat110: [10, 110],
  vat120: [20, 120],
  vat122: [22, 122],
};

/** The calculated counterpart of a rate (prepayments are taxed at the calculated rate, НК РФ ст. 164 п. 4). */
const CALCULATED: Partial<Record<VatCode, VatCode>> = { vat5: 'vat105', vat7: 'vat107', vat10: 'vat110', vat20: 'vat120', vat22: 'vat122' };

export function isVatCode(v: unknown): v is VatCode {
  return typeof v === 'string' && (VAT_CODES as readonly string[]).includes(v);
}

/**
 * The VAT contained in a line's amount: amount × rate / (100 + rate), rounded to a kopeck half
 * away from zero, per line (as cash registers and 1C compute it). Integer arithmetic.
 */
export function vatAmount(amount: Kopecks, code: VatCode): Kopecks {
  const f = VAT_FRACTION[code];
  if (!f || f[0] === 0) return 0;
  const num = BigInt(amount) * BigInt(f[0]);
  const den = BigInt(f[1]);
  return Number((num * 2n + den) / (den * 2n));
}

/** The general rate's codes in force on a date, from the rules' table (newest first). */
export interface GeneralRate {
  /** YYYY-MM-DD, the first day in force. */
  from: string;
  code: VatCode;
  calculated: VatCode;
}

export function generalRateOn(table: readonly GeneralRate[], day: string): GeneralRate {
  const sorted = [...table].sort((a, b) => b.from.localeCompare(a.from));
  return sorted.find((r) => r.from <= day) ?? sorted[sorted.length - 1];
}

const GENERAL = new Set<VatCode>(['vat20', 'vat22']);
const GENERAL_CALCULATED = new Set<VatCode>(['vat120', 'vat122']);

/**
 * The code a line gets on a receipt dated `day`: the general rate (20 % or 22 % in the order) is
 * the one in force on that day; `calculated` turns a rate into its calculated form (prepayments).
 */
export function vatOnReceipt(code: VatCode, day: string, table: readonly GeneralRate[], calculated: boolean): VatCode {
  if (GENERAL.has(code) || GENERAL_CALCULATED.has(code)) {
    const g = generalRateOn(table, day);
    return calculated || GENERAL_CALCULATED.has(code) ? g.calculated : g.code;
  }
  return calculated ? (CALCULATED[code] ?? code) : code;
}

// ---------------------------------------------------------------- validation

export interface ReceiptIssue {
  path: string;
  message: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A phone as registers want it: `+` and digits only (8XXXXXXXXXX becomes +7XXXXXXXXXX). */
export function normalizePhone(phone: string): string {
  let digits = phone.replace(/\D/g, '');
  if (digits.length === 11 && digits.startsWith('8')) digits = `7${digits.slice(1)}`;
  return `+${digits}`;
}

/**
 * What a register would refuse (ATOL error 32), checked before anything is sent: lines that do not
 * add up, sum ≠ price × quantity, a VAT sum that is not the line's, names past 128 characters, no
 * client contact, payments that do not cover the total, a correction without its basis.
 */
export function receiptIssues(r: ReceiptDoc): ReceiptIssue[] {
  const issues: ReceiptIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  if (!(RECEIPT_OPERATIONS as readonly string[]).includes(r.operation)) add('operation', `unknown operation ${String(r.operation)}`);
  if (!r.client.email && !r.client.phone) add('client', 'the buyer’s e-mail or phone is required (tag 1008): the receipt is sent there');
  if (r.client.email && !EMAIL.test(r.client.email)) add('client.email', 'not an e-mail address');
  if (r.client.email && r.client.email.length > 64) add('client.email', 'at most 64 characters');
  if (r.client.phone && !/^\+\d{10,15}$/.test(r.client.phone))
    add('client.phone', 'a phone number with the country code, such as +79001234567');
  if (r.client.inn && !/^(\d{10}|\d{12})$/.test(r.client.inn)) add('client.inn', '10 or 12 digits');
  if (r.client.name && r.client.name.length > 256) add('client.name', 'at most 256 characters');
  if (!/^(\d{10}|\d{12})$/.test(r.company.inn)) add('company.inn', 'the organization’s ИНН (10 or 12 digits) is required');
  if (r.items.length === 0) add('items', 'at least one line');
  if (r.items.length > MAX_ITEMS) add('items', `at most ${MAX_ITEMS} lines`);
  r.items.forEach((it, i) => {
    const p = `items[${i}]`;
    if (!it.name.trim()) add(`${p}.name`, 'must not be empty');
    if (it.name.length > ITEM_NAME_MAX) add(`${p}.name`, `at most ${ITEM_NAME_MAX} characters (tag 1030), the name has ${it.name.length}`);
    if (!Number.isSafeInteger(it.price) || it.price < 0 || it.price > MAX_LINE_KOPECKS) add(`${p}.price`, 'kopecks from 0 to 4294967295');
    if (quantityThousandths(it.quantity) === null || it.quantity > MAX_QUANTITY)
      add(`${p}.quantity`, 'greater than zero, at most 99999.999, at most 3 decimal places');
    else if (Number.isSafeInteger(it.price) && lineAmount(it.price, it.quantity) !== it.amount)
      add(`${p}.amount`, `price × quantity is ${lineAmount(it.price, it.quantity)}, the line says ${it.amount}`);
    if (!Number.isSafeInteger(it.amount) || it.amount < 0 || it.amount > MAX_LINE_KOPECKS)
      add(`${p}.amount`, 'kopecks from 0 to 4294967295');
    if (!isVatCode(it.vat)) add(`${p}.vat`, `unknown VAT code ${String(it.vat)}; one of ${VAT_CODES.join(', ')}`);
    else if (it.vatAmount !== vatAmount(it.amount, it.vat))
      add(`${p}.vatAmount`, `the VAT in ${it.amount} at ${it.vat} is ${vatAmount(it.amount, it.vat)}`);
    if (!(PAYMENT_METHODS as readonly string[]).includes(it.paymentMethod))
      add(`${p}.paymentMethod`, `one of ${PAYMENT_METHODS.join(', ')}`);
    if (!Number.isInteger(it.paymentObject) || it.paymentObject < 1 || it.paymentObject > 33)
      add(`${p}.paymentObject`, 'tag 1212 value 1..33');
  });
  const lines = sum(r.items.map((i) => i.amount));
  if (lines !== r.total) add('total', `the lines add up to ${lines}, total says ${r.total}`);
  if (r.total <= 0) add('total', 'must be greater than zero');
  if (r.payments.length === 0 || r.payments.length > MAX_PAYMENTS) add('payments', `1 to ${MAX_PAYMENTS} payments`);
  const paid = sum(r.payments.map((p) => p.amount));
  if (paid !== r.total) add('payments', `the payments add up to ${paid}, the total is ${r.total}`);
  r.payments.forEach((p, i) => {
    if (![0, 1, 2, 3, 4].includes(p.type)) add(`payments[${i}].type`, 'one of cash, cashless, prepayment, credit, other');
    if (!Number.isSafeInteger(p.amount) || p.amount <= 0) add(`payments[${i}].amount`, 'kopecks greater than zero');
  });
  const correction = r.operation === 'sell_correction' || r.operation === 'sell_refund_correction';
  if (correction && !r.correction) add('correction', 'a correction receipt needs its basis: type (self or instruction) and baseDate');
  if (correction && r.correction?.type === 'instruction' && !r.correction.baseNumber)
    add('correction.baseNumber', 'the instruction’s number is required');
  if (!correction && r.correction) add('correction', 'only correction receipts carry a correction basis');
  return issues;
}

// ---------------------------------------------------------------- lines

/** A name cut to the register's limit, with an ellipsis (1C's own names can be longer). */
export function fitName(name: string, max = ITEM_NAME_MAX): string {
  const n = name.trim();
  return n.length <= max ? n : `${n.slice(0, max - 1)}…`;
}

/**
 * What is left of each base line after earlier receipts took their part: `key` says which base
 * line a taken line came from (its `ref` for lines of the order, its `src` within a receipt).
 */
export function remaining<T extends { amount: Kopecks }>(
  base: readonly { amount: Kopecks }[],
  taken: readonly T[],
  key: (t: T) => number | undefined,
): Kopecks[] {
  const left = base.map((b) => b.amount);
  for (const t of taken) {
    const k = key(t);
    if (k !== undefined && k >= 0 && k < left.length) left[k] = Math.max(0, left[k] - t.amount);
  }
  return left;
}

/**
 * Lines worth exactly `amount`, taken from what is left of the base lines in order: a whole line
 * when all of it fits, else whole units, and the last kopecks as one unit of the same item priced
 * at what remains. Every line keeps sum = price × quantity and says which base line it came from
 * (`src`). Throws when less than `amount` is left.
 */
export function allocate<T extends { price: Kopecks; quantity: number; amount: Kopecks }>(
  base: readonly T[],
  left: readonly Kopecks[],
  amount: Kopecks,
): (T & { src: number })[] {
  const out: (T & { src: number })[] = [];
  let rest = amount;
  base.forEach((line, src) => {
    const available = left[src] ?? 0;
    if (rest <= 0 || available <= 0) return;
    if (available === line.amount && line.amount <= rest) {
      out.push({ ...line, src });
      rest -= line.amount;
      return;
    }
    const cap = Math.min(available, rest);
    const units = line.price > 0 ? Math.min(Math.floor(cap / line.price), Math.floor(line.quantity)) : 0;
    let taken = 0;
    if (units >= 1) {
      taken = lineAmount(line.price, units);
      out.push({ ...line, quantity: units, amount: taken, src });
    }
    const tail = cap - taken;
    if (tail > 0) out.push({ ...line, quantity: 1, price: tail, amount: tail, src });
    rest -= cap;
  });
  if (rest > 0) throw new RangeError(`only ${amount - rest} of ${amount} kopecks are left on the lines`);
  return out;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** YYYY-MM-DD of an instant in a zone (the receipt's date, for the VAT rate in force). */
export function dayIn(iso: string, timeZone: string): string {
  let f = dayFormats.get(timeZone);
  if (!f) dayFormats.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(new Date(iso));
}
