import { formatRub, type Kopecks } from './money';

/**
 * Whether a customer may take one more order on deferred terms: not past its credit limit (what it
 * owes on deferred orders, this one included), and nothing overdue when overdue debt blocks it.
 */

export interface UnpaidOrder {
  number: string;
  /** What is left to pay, in kopecks. */
  due: Kopecks;
  /** YYYY-MM-DD it had to be paid by; null while not known (a deferral counting from a shipment to come). */
  dueDate: string | null;
  /** The invoice, when one was issued. */
  invoice?: { number: string; date: string };
}

export interface CreditTerms {
  creditLimit: Kopecks | null;
  blockOverdue: boolean;
}

export interface CreditRefusal {
  code: 'credit_limit_exceeded' | 'overdue_debt';
  /** What the site can show the buyer, in Russian. */
  message: string;
  detail: string;
}

const ruDate = (d: string) => d.split('-').reverse().join('.');

export function creditRefusal(terms: CreditTerms, unpaid: UnpaidOrder[], total: Kopecks, today: string): CreditRefusal | null {
  if (terms.blockOverdue) {
    const overdue = unpaid.filter((o) => o.dueDate !== null && o.dueDate < today).sort((a, b) => (a.dueDate! < b.dueDate! ? -1 : 1));
    if (overdue.length > 0) {
      const o = overdue[0];
      const what = o.invoice ? `счёт ${o.invoice.number} от ${ruDate(o.invoice.date)}` : `заказ №${o.number}`;
      const more = overdue.length > 1 ? ` и ещё ${overdue.length - 1}` : '';
      return {
        code: 'overdue_debt',
        message: `Есть просроченная задолженность: ${what} на ${formatRub(o.due)}, срок оплаты ${ruDate(o.dueDate!)}${more}. Новый заказ с отсрочкой платежа возможен после оплаты.`,
        detail: `${overdue.length} overdue, the oldest due ${o.dueDate}`,
      };
    }
  }
  if (terms.creditLimit !== null) {
    const owed = unpaid.reduce((s, o) => s + o.due, 0);
    if (owed + total > terms.creditLimit) {
      const available = Math.max(0, terms.creditLimit - owed) as Kopecks;
      return {
        code: 'credit_limit_exceeded',
        message: `Превышен кредитный лимит: доступно ${formatRub(available)}`,
        detail: `limit ${terms.creditLimit}, owed ${owed}, this order ${total}`,
      };
    }
  }
  return null;
}
