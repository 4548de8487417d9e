import { formatRub, type Kopecks } from '../../domain/money';
import { defineJob, type ScheduleDefinition } from '../../jobs/types';
import type { Customer } from '../../domain/order';
import { getPayment } from '../../store/payments';
import { invoiceOfPayment, openInvoices, type OpenInvoice } from '../../store/invoices';
import type { BuyerAttachment } from '../../ports';
import { invoiceDocumentFor } from './document';
import { ALERTS } from '../alerts/catalog';
import type { FlowDeps } from '../deps';
import { addDays, moscowDate } from '../payments/invoice';

const ruDate = (d: string) => d.split('-').reverse().join('.');

/** The day an open invoice is due: its own date, or N days after the shipment a deferral counts from. */
export function dueDateOf(o: OpenInvoice): string | null {
  return dueDateFrom(o.invoice.due_date, o.invoice.due_days_after_shipment, o.shippedAt);
}

/** The same, from the invoice's due date, its deferral counted from shipment, and the order's shipment. */
export function dueDateFrom(dueDate: string | null, daysAfterShipment: number | null, shippedAt: string | null): string | null {
  if (dueDate) return dueDate;
  if (daysAfterShipment !== null && shippedAt) return addDays(moscowDate(shippedAt), daysAfterShipment);
  return null;
}

type Reminder = 'before' | 'due';

/** A reminder to the buyer of an invoice, sent once (the job's key), while the invoice is still to pay. */
export const remindBuyerJob = defineJob(
  'invoice.remind',
  async (
    d: FlowDeps,
    p: {
      invoiceId: string;
      paymentId: string;
      reminder: Reminder;
      number: string;
      date: string;
      dueDate: string;
      amount: number;
      organizationId: string;
      customer: Customer;
    },
    ctx,
  ) => {
    const payment = await getPayment(d.store.db, p.paymentId);
    if (!payment || payment.status !== 'pending') return; // paid (or cancelled) meanwhile: nothing to remind of
    const org = d.orgs.get(p.organizationId)!;
    const invoice = await invoiceOfPayment(d.store.db, p.paymentId);
    const attachments: BuyerAttachment[] = [];
    if (invoice && p.customer.email && d.buyers.carriesAttachments?.(p.organizationId)) {
      try {
        const doc = await invoiceDocumentFor(d, invoice.token);
        const file = `schet-${doc.number.replace(/[^0-9A-Za-z-]/g, '_')}.pdf`;
        attachments.push({ filename: file, content: await d.invoiceDocuments.pdf(doc), contentType: 'application/pdf' });
      } catch (e) {
        // a document that cannot be printed: the reminder still goes, with the link
        ctx.log.warn({ err: e, invoiceId: p.invoiceId }, 'invoice PDF not attached to the reminder');
      }
    }
    const what = `счёт № ${p.number} от ${ruDate(p.date)} на ${formatRub(p.amount as Kopecks)}`;
    const title = `счёта № ${p.number} от ${ruDate(p.date)}`;
    await d.buyers.send({
      id: `invoice-remind:${p.invoiceId}:${p.reminder}:${p.dueDate}`,
      organizationId: p.organizationId,
      to: { name: p.customer.name, email: p.customer.email, phone: p.customer.phone },
      subject: p.reminder === 'due' ? `Сегодня срок оплаты ${title}` : `Напоминание об оплате ${title}`,
      text:
        (p.reminder === 'due'
          ? `Сегодня, ${ruDate(p.dueDate)}, истекает срок оплаты: ${what}.`
          : `Напоминаем: ${what} нужно оплатить до ${ruDate(p.dueDate)}.`) +
        (attachments.length ? ' Счёт во вложении.' : '') +
        ` Если счёт уже оплачен, не обращайте внимания на это письмо. ${org.name}`,
      ...(invoice
        ? {
            link: { text: 'Счёт и реквизиты для оплаты', url: `${d.config.server.publicUrl.replace(/\/$/, '')}/invoices/${invoice.token}` },
          }
        : {}),
      ...(attachments.length ? { attachments } : {}),
    });
  },
  { maxAttempts: 5 },
);

/** An invoice past its day: support hears of it once (the job's key), unless it was paid meanwhile. */
export const invoiceOverdueJob = defineJob(
  'invoice.overdue',
  async (
    d: FlowDeps,
    p: {
      paymentId: string;
      number: string;
      date: string;
      dueDate: string;
      amount: number;
      organizationId: string;
      orderNumber: string;
      customer: Customer;
      /** The day the invoice was found overdue. */
      seenOn: string;
    },
  ) => {
    const payment = await getPayment(d.store.db, p.paymentId);
    if (!payment || payment.status !== 'pending') return;
    const today = p.seenOn;
    await d.store.db
      .transaction()
      .execute((trx) =>
        d.alerts.raise(
          trx,
          ALERTS.invoiceOverdue({ ...p, customerName: p.customer.name, inn: p.customer.inn, daysOverdue: daysBetween(p.dueDate, today) }),
        ),
      );
  },
  { maxAttempts: 5 },
);

/**
 * Every hour: each open invoice's buyer is reminded `remindDaysBefore` days before it is due and on
 * the day (once each, even when the gateway was down that day and catches up); an invoice past its
 * day is overdue: support is alerted once and it shows in the admin API's overdue list.
 */
export async function checkInvoicesDue(d: FlowDeps, today = moscowDate(new Date().toISOString())): Promise<void> {
  let after = '';
  for (;;) {
    const page = await openInvoices(d.store.db, 500, after);
    if (page.length === 0) break;
    after = page[page.length - 1].invoice.id;
    await d.store.db.transaction().execute(async (trx) => {
      for (const o of page) {
        const due = dueDateOf(o);
        const settings = d.orgs.get(o.invoice.organization_id)?.payments.invoice;
        if (!due || !settings) continue;
        const base = {
          invoiceId: o.invoice.id,
          paymentId: o.invoice.payment_id,
          number: o.invoice.number,
          date: o.invoice.date,
          dueDate: due,
          amount: o.amount,
          organizationId: o.invoice.organization_id,
          customer: JSON.parse(o.customer) as Customer,
        };
        if (today > due) {
          await d.jobs.enqueue(
            trx,
            invoiceOverdueJob,
            { ...base, orderNumber: o.orderNumber, seenOn: today },
            { key: `invoice-overdue:${o.invoice.id}:${due}` },
          );
        } else if (today === due) {
          await d.jobs.enqueue(trx, remindBuyerJob, { ...base, reminder: 'due' }, { key: `invoice-remind:${o.invoice.id}:due:${due}` });
        } else if (settings.remindDaysBefore > 0 && today >= addDays(due, -settings.remindDaysBefore)) {
          await d.jobs.enqueue(
            trx,
            remindBuyerJob,
            { ...base, reminder: 'before' },
            { key: `invoice-remind:${o.invoice.id}:before:${due}` },
          );
        }
      }
    });
  }
  d.jobs.kick();
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

export function invoicesDueSchedule(d: FlowDeps): ScheduleDefinition | null {
  if (!d.config.organizations.some((o) => o.payments.invoice)) return null;
  return { name: 'invoices.due', everyMs: 60 * 60 * 1000, handler: () => checkInvoicesDue(d) };
}
