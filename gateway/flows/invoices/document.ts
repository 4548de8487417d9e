import type { InvoiceDocument, InvoiceVatCode } from '../../domain/invoice-document';
import { INVOICE_VAT_CODES } from '../../domain/invoice-document';
import { toRubleString, type Kopecks } from '../../domain/money';
import { MEASURES, type Customer, type OrderItem } from '../../domain/order';
import { notFound, unprocessable } from '../../errors';
import { invoiceByToken } from '../../store/invoices';
import { getOrder } from '../../store/orders';
import type { FlowDeps } from '../deps';
import { addDays, moscowDate } from '../payments/invoice';

const ru = (d: string) => d.split('-').reverse().join('.');

/**
 * The «Счет на оплату» behind an invoice's link: the organization as supplier with the bank account of
 * `payments.invoice`, the order's buyer and lines, the number, date and due date (or the days after a
 * shipment still to come).
 */
export async function invoiceDocumentFor(d: FlowDeps, token: string): Promise<InvoiceDocument> {
  const invoice = await invoiceByToken(d.store.db, token);
  if (!invoice) throw notFound('invoice');
  const order = (await getOrder(d.store.db, invoice.order_id))!;
  const org = d.orgs.get(invoice.organization_id)!;
  const settings = org.payments.invoice;
  if (!settings) throw notFound('invoice'); // the organization no longer issues invoices
  const customer = JSON.parse(order.customer) as Customer;
  const items = JSON.parse(order.items) as OrderItem[];
  const lines = items.map((it, i) => {
    if (!(INVOICE_VAT_CODES as readonly string[]).includes(it.vat))
      throw unprocessable('invoice_not_printable', `line ${i + 1}: VAT code ${it.vat} cannot be printed on an invoice`, [
        { path: `items[${i}].vat`, message: `one of ${INVOICE_VAT_CODES.join(', ')}` },
      ]);
    return {
      name: it.name,
      quantity: it.quantity,
      unit: it.kind === 'service' && it.measure === undefined ? 'усл.' : MEASURES[it.measure ?? 0],
      price: it.price,
      amount: it.amount,
      vat: it.vat as InvoiceVatCode,
    };
  });
  const dueDate =
    invoice.due_date ??
    (invoice.due_days_after_shipment !== null && order.shipped_at
      ? addDays(moscowDate(order.shipped_at), invoice.due_days_after_shipment)
      : undefined);
  const paid = order.total - invoice.amount;
  return {
    number: invoice.number,
    date: invoice.date,
    ...(dueDate ? { dueDate } : invoice.due_days_after_shipment !== null ? { dueDaysAfterShipment: invoice.due_days_after_shipment } : {}),
    supplier: { name: org.name, inn: org.inn, kpp: org.kpp, address: settings.address },
    bank: settings.bank,
    buyer: { name: customer.name, inn: customer.inn, kpp: customer.kpp, phone: customer.phone },
    basis: `Заказ №${order.number} от ${ru(moscowDate(order.created_at))}`,
    lines,
    ...(invoice.uip ? { paymentId: invoice.uip } : {}),
    ...(settings.signatures ? { signatures: settings.signatures } : {}),
    ...(paid > 0
      ? { note: `По заказу уже оплачено ${toRubleString(paid as Kopecks).replace('.', ',')} руб.; к оплате по счёту остаток.` }
      : {}),
  } satisfies InvoiceDocument;
}
