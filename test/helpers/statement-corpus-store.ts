import { randomBytes } from 'node:crypto';
import { newId } from '../../gateway/domain/ids';
import type { OpenInvoice } from '../../gateway/domain/statement-matching';
import type { StatementLine } from '../../gateway/ports';
import { nowIso, type Store } from '../../gateway/store/db';
import { buyerOf } from '../../gateway/store/invoices';
import { newOrderRow } from '../../gateway/store/orders';
import { newPaymentRow } from '../../gateway/store/payments';
import type { InvoicesTable, OrderRow, PaymentRow } from '../../gateway/store/schema';
import type { CorpusLine } from './statement-corpus';

/** A generated corpus in a store: its invoices as the gateway stores them, its lines as a bank gives them. */

/** The buyer as the site sends it: a company with its ИНН and КПП, an individual with or without one. */
function customerOf(inv: OpenInvoice): string {
  if (inv.buyerInn && inv.buyerInn.length === 10)
    return JSON.stringify({
      type: 'legal',
      name: `ООО Покупатель ${inv.buyerInn}`,
      inn: inv.buyerInn,
      ...(inv.buyerKpp ? { kpp: inv.buyerKpp } : {}),
    });
  return JSON.stringify({
    type: 'individual',
    name: 'Покупатель',
    email: 'buyer@example.ru',
    ...(inv.buyerInn ? { inn: inv.buyerInn } : {}),
  });
}

export interface Seeded {
  /** Rows of every table, counted. */
  orders: number;
  other: number;
  paid: number;
  cancelled: number;
}

/**
 * Every corpus invoice as `createInvoicePayment` leaves it: an order of the site (its buyer in
 * `customer`), a pending payment by invoice with the invoice as its action, the invoice of the
 * organization's series. Around them, what a real database holds too: the same number of another
 * organization's invoices (the same numbers and buyers: a leak would show as wrong matches) and the
 * shop's invoices already paid, and some cancelled. Bulk inserted, a transaction per table chunk: setup, not timed.
 */
export async function seedInvoices(
  store: Store,
  org: string,
  corpus: readonly OpenInvoice[],
  extra: number,
  cancelled: number,
): Promise<Seeded> {
  const now = nowIso();
  const orders: OrderRow[] = [];
  const payments: PaymentRow[] = [];
  const invoices: InvoicesTable[] = [];
  let seq = 0;
  const add = (organizationId: string, inv: OpenInvoice, status: 'pending' | 'paid' | 'cancelled', k: number) => {
    const order = newOrderRow({
      organization_id: organizationId,
      external_id: `site-${organizationId}-${k}`,
      // a corpus invoice without an order number in its purpose still has an order: a site's own number
      number: inv.orderNumber ?? `W${organizationId}${k}`,
      source: 'site',
      customer: customerOf(inv),
      items: JSON.stringify([{ sku: 'A-1', name: 'Товар', price: inv.amountDue, quantity: 1, amount: inv.amountDue, vat: 'vat22' }]),
      total: inv.amountDue,
      payment_terms: JSON.stringify({ type: 'prepay' }),
      request_hash: 'bench',
      onec_ref: null,
    });
    const payment = newPaymentRow(
      {
        id: newId(),
        order_id: order.id,
        organization_id: organizationId,
        method: 'invoice',
        provider: 'bank_transfer',
        amount: inv.amountDue,
        return_url: null,
        fail_url: null,
      },
      now,
    );
    payment.action = JSON.stringify({
      type: 'invoice',
      number: inv.number,
      date: inv.date,
      dueDate: inv.dueDate,
      document: `https://shop.example/invoices/t${k}`,
    });
    if (status === 'paid') Object.assign(payment, { status: 'paid', paid_at: now });
    if (status === 'cancelled') payment.status = 'cancelled';
    const id = newId();
    orders.push(order);
    payments.push(payment);
    invoices.push({
      id,
      organization_id: organizationId,
      order_id: order.id,
      payment_id: payment.id,
      year: Number(inv.date.slice(0, 4)),
      seq: ++seq,
      number: inv.number,
      date: inv.date,
      due_date: inv.dueDate,
      due_days_after_shipment: null,
      amount: inv.amountDue,
      token: `${organizationId}-${k}-${randomBytes(12).toString('base64url')}`,
      bank_number: status === 'paid' ? String(k) : null,
      bank_date: status === 'paid' ? inv.date : null,
      created_at: now,
      paid: 0,
      uip: inv.uip,
      // as insertInvoice keeps them
      order_number: order.number,
      ...buyerOf(order.customer),
    });
  };
  corpus.forEach((inv, k) => add(org, inv, 'pending', k));
  for (let k = 0; k < extra; k++) add('other', corpus[k % corpus.length], 'pending', k);
  for (let k = 0; k < extra; k++) add(org, corpus[(k * 7) % corpus.length], 'paid', corpus.length + k);
  // cancelled (annulled) ones under numbers no line names: matching reads them, and looks for them in every line it could not match otherwise
  for (let k = 0; k < cancelled; k++)
    add(org, { ...corpus[(k * 13) % corpus.length], number: `СЧ00-${5_000_000 + k}`, uip: null }, 'cancelled', corpus.length + extra + k);
  await bulkInsert(store, 'orders', orders);
  await bulkInsert(store, 'payments', payments);
  await bulkInsert(store, 'invoices', invoices);
  return { orders: orders.length, other: extra, paid: extra, cancelled };
}

/** The corpus invoice's id → the gateway invoice's id: the k-th corpus invoice is the organization's under token `<org>-k-…`. */
export async function corpusInvoiceIds(store: Store, org: string, corpus: readonly OpenInvoice[]): Promise<Map<string, string>> {
  const rows = await store.db.selectFrom('invoices').select(['id', 'token']).where('organization_id', '=', org).execute();
  const ids = new Map<string, string>();
  for (const r of rows) {
    const k = Number(r.token.split('-')[1]);
    if (k < corpus.length) ids.set(corpus[k].id, r.id);
  }
  return ids;
}

export function asStatementLine(l: CorpusLine): StatementLine {
  return {
    account: '40702810000000000001',
    direction: 'incoming',
    kind: 'Платежное поручение',
    number: l.id.slice(5),
    date: l.date,
    amount: l.amount,
    bankDate: l.date,
    payer: {
      name: `Плательщик ${l.payerInn ?? 'без ИНН'}`,
      inn: l.payerInn,
      kpp: l.payerKpp,
      account: `40702810${l.id.slice(5).padStart(12, '0')}`,
      bankBik: '044525225',
      bankName: null,
    },
    receiver: { name: 'ООО Магазин', inn: '7700000001', kpp: null, account: '40702810000000000001', bankBik: null, bankName: null },
    purpose: l.purpose,
    uip: l.uip,
  };
}

/** Rows bulk-inserted in one transaction, as many to a statement as SQLite's parameters allow. */
export async function bulkInsert(
  store: Store,
  table: 'orders' | 'payments' | 'invoices' | 'payment_attempts',
  rows: readonly object[],
): Promise<void> {
  const chunk = Math.floor(30_000 / Object.keys(rows[0]).length);
  await store.db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += chunk)
      await trx
        .insertInto(table)
        .values(rows.slice(i, i + chunk) as never)
        .execute();
  });
}
