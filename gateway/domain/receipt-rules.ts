import type { Kopecks } from './money';
import type { Customer, OrderItem } from './order';
import {
  fitName,
  normalizePhone,
  PAYMENT_TYPES,
  vatAmount,
  vatOnReceipt,
  type GeneralRate,
  type PaymentMethodTag,
  type PaymentTypeName,
  type ReceiptClient,
  type ReceiptLine,
} from './receipt';

/**
 * Which receipts the law wants, when (54-ФЗ, tag 1214), as data of an organization
 * (mappings/receipts/*.yaml) and pure decisions over it.
 */

/**
 * prepayment: at payment, goods handed over later (full_prepayment); settlement: at hand-over,
 * offsetting the prepayment (full_payment); full: paid and handed over at once (full_payment);
 * credit: handed over before payment (credit); credit_payment: the later payment (credit_payment).
 */
export const STAGES = ['prepayment', 'settlement', 'full', 'credit', 'credit_payment'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageRule {
  paymentMethod: PaymentMethodTag;
  /** item: the line's own object (goods 1, service 4); or a fixed name (payment = 10). */
  paymentObject: 'item' | 'payment';
  /** item: the line's rate; calculated: its calculated form (20/120, 22/122...). */
  vat: 'item' | 'calculated';
  /** How the money of this receipt is paid (payments[].type). */
  payment: PaymentTypeName;
}

export interface ReceiptRules {
  name: string;
  /** later: a prepayment receipt at payment and a settlement receipt when 1C ships; immediate: one full receipt. */
  handover: 'later' | 'immediate';
  /** A company paying a deferred invoice by bank transfer needs no receipt (п. 9 ст. 2 54-ФЗ) unless this is true. */
  receiptForCompanyBankTransfer: boolean;
  stages: Record<Stage, StageRule>;
  /** The general rate by date (newest first): 20 % until 2025, 22 % from 2026. */
  generalRate: GeneralRate[];
  paymentObjects: { goods: number; service: number };
  /** Tag 2108 for every line (0 = шт). */
  measure: number;
  /** Names are cut to this (ATOL: 128). */
  nameMax: number;
}

export interface PaymentFacts {
  method: 'card' | 'sbp' | 'invoice';
  customer: Pick<Customer, 'type'>;
  deferred: boolean;
  shipped: boolean;
  /** A credit receipt exists for the order (goods were handed over on credit). */
  credited: boolean;
}

/** A company's bank transfer for goods taken on deferral: exempt unless the rules say otherwise. */
export function exemptCompanyTransfer(rules: ReceiptRules, f: Pick<PaymentFacts, 'method' | 'customer'>): boolean {
  return f.method === 'invoice' && f.customer.type === 'legal' && !rules.receiptForCompanyBankTransfer;
}

/** The receipt a payment needs when it becomes paid, or null. */
export function stageAtPayment(rules: ReceiptRules, f: PaymentFacts): Stage | null {
  if (exemptCompanyTransfer(rules, f)) return null;
  if (f.credited) return 'credit_payment';
  if (f.shipped || rules.handover === 'immediate') return 'full';
  return 'prepayment';
}

/**
 * At hand-over: each prepaid payment gets its settlement; what is still unpaid on a deferred order
 * is handed over on credit, unless the buyer is a company expected to pay by bank transfer.
 */
export function creditAtShipment(
  rules: ReceiptRules,
  f: { deferred: boolean; unpaid: Kopecks; customer: Pick<Customer, 'type'> },
): boolean {
  if (!f.deferred || f.unpaid <= 0) return false;
  return !(f.customer.type === 'legal' && !rules.receiptForCompanyBankTransfer);
}

/** The buyer on the receipt: where it is sent, and (B2B) the buyer's name and ИНН. */
export function receiptClient(c: Customer): ReceiptClient {
  return {
    ...(c.email ? { email: c.email } : {}),
    ...(!c.email && c.phone ? { phone: normalizePhone(c.phone) } : {}),
    ...(c.type === 'legal' ? { name: c.name, ...(c.inn ? { inn: c.inn } : {}) } : {}),
  };
}

/** A part of an order line: all of it, some units, or some kopecks of it (`ref` = the line's index). */
export interface LinePart {
  ref?: number;
  src?: number;
  price: Kopecks;
  quantity: number;
  amount: Kopecks;
}

/** Every line of an order, whole. */
export function wholeParts(items: readonly OrderItem[]): LinePart[] {
  return items.map((it, ref) => ({ ref, price: it.price, quantity: it.quantity, amount: it.amount }));
}

/**
 * Parts of order lines as lines of a stage's receipt dated `day` (YYYY-MM-DD, Moscow): the stage's
 * payment method and object, and the VAT code in force that day (calculated for prepayments).
 */
export function stageLines(
  rules: ReceiptRules,
  stage: Stage,
  items: readonly OrderItem[],
  parts: readonly LinePart[],
  day: string,
): ReceiptLine[] {
  const rule = rules.stages[stage];
  return parts.map((p) => {
    const it = p.ref === undefined ? undefined : items[p.ref];
    if (!it) throw new RangeError(`the order has no line ${String(p.ref)}`);
    const vat = vatOnReceipt(it.vat, day, rules.generalRate, rule.vat === 'calculated');
    const object = it.kind === 'service' ? rules.paymentObjects.service : rules.paymentObjects.goods;
    return {
      name: fitName(it.name, rules.nameMax),
      price: p.price,
      quantity: p.quantity,
      amount: p.amount,
      measure: it.measure ?? rules.measure,
      paymentMethod: rule.paymentMethod,
      paymentObject: rule.paymentObject === 'payment' ? 10 : object,
      vat,
      vatAmount: vatAmount(p.amount, vat),
      ref: p.ref,
      ...(p.src !== undefined ? { src: p.src } : {}),
    };
  });
}

/** Lines mirrored for a refund: the original's method, object and VAT code, the VAT recomputed for the amount. */
export function mirrorLines(lines: readonly ReceiptLine[]): ReceiptLine[] {
  return lines.map((l) => ({ ...l, vatAmount: vatAmount(l.amount, l.vat) }));
}

export function stagePaymentType(rules: ReceiptRules, stage: Stage): (typeof PAYMENT_TYPES)[PaymentTypeName] {
  return PAYMENT_TYPES[rules.stages[stage].payment];
}
