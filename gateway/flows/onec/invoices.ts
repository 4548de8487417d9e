import { randomBytes } from 'node:crypto';
import { newId } from '../../domain/ids';
import type { OneCInvoice, PaymentAction } from '../../ports';
import type { ScheduleDefinition } from '../../jobs/types';
import { nowIso } from '../../store/db';
import { insertInvoice, nextInvoiceSeq } from '../../store/invoices';
import { invoiceById, invoiceByOnecRef, linkOnecInvoice, openOnecInvoiceRefs, updateOnecInvoice } from '../../store/onec-invoices';
import type { InvoicesTable } from '../../store/schema';
import { getPayment, insertPayment, movePayment, newPaymentRow, setPaymentAction } from '../../store/payments';
import { getSyncState, setSyncState } from '../../store/sync-state';
import type { FlowDeps } from '../deps';
import { addDays } from '../payments/invoice';
import { notifySite } from '../payments/site-notify';
import { createOrderFromOneC } from './pull';

const WATERMARK_OVERLAP_MS = 24 * 3600_000;
const PAGE = 200;
/** What the pull re-reads each run of the 1C invoices still to be paid (annulled? amount changed?). */
const RECHECK = 500;

/** Why a payment stops being payable when 1C annuls its invoice (what support reads on the payment). */
export const ANNULLED_IN_ONEC = 'счёт аннулирован в 1С';

/**
 * Pull: every organization reading from 1C whose mapping describes invoices gets the invoices its
 * managers made (since its own watermark, a day of overlap), and the ones it already has re-read.
 */
export function invoicePullSchedule(d: FlowDeps): ScheduleDefinition | null {
  const orgs = d.config.organizations.filter((o) => o.onec.pull && d.onec.invoices(o.id));
  if (orgs.length === 0) return null;
  return {
    name: 'onec.pull-invoices',
    everyMs: Math.min(...orgs.map((o) => o.onec.pull!.everySeconds)) * 1000,
    handler: async () => {
      for (const org of orgs) await pullInvoices(d, org.id);
    },
  };
}

export interface InvoicePull {
  created: number;
  updated: number;
  annulled: number;
}

const running = new WeakMap<object, Map<string, Promise<unknown>>>();

/** One pull of an organization's invoices at a time in this process (the schedule and a call by hand). */
export async function pullInvoices(d: FlowDeps, organizationId: string): Promise<InvoicePull> {
  let byOrg = running.get(d.onec);
  if (!byOrg) running.set(d.onec, (byOrg = new Map()));
  const before = byOrg.get(organizationId) ?? Promise.resolve();
  const run = before.catch(() => undefined).then(() => pullInvoicesNow(d, organizationId));
  byOrg.set(organizationId, run);
  try {
    return await run;
  } finally {
    if (byOrg.get(organizationId) === run) byOrg.delete(organizationId);
  }
}

async function pullInvoicesNow(d: FlowDeps, organizationId: string): Promise<InvoicePull> {
  const org = d.orgs.get(organizationId)!;
  const source = d.onec.invoices(organizationId);
  const run: InvoicePull = { created: 0, updated: 0, annulled: 0 };
  if (!source) return run;
  const key = `onec:pull-invoices:${organizationId}`;
  const watermark = (await getSyncState(d.store.db, key)) ?? org.onec.pull?.since ?? nowIso(Date.now() - WATERMARK_OVERLAP_MS);
  const since = nowIso(Date.parse(watermark) - WATERMARK_OVERLAP_MS);
  let newest = watermark;
  const count = (r: Outcome) => {
    if (r !== 'unchanged') run[r]++;
  };
  // an invoice the gateway cannot take (its order's lines do not add up…) is logged and tried again next
  // time: the watermark stays at its date
  let stuck: string | null = null;
  for (let skip = 0; ; skip += PAGE) {
    const page = await source.newInvoices(since, { limit: PAGE, skip });
    for (const inv of page) {
      const day = `${inv.date}T00:00:00.000Z`;
      try {
        count(await upsertInvoiceFromOneC(d, organizationId, inv));
      } catch (e) {
        d.log.error({ organization: organizationId, onecRef: inv.ref, number: inv.number, err: e }, 'an invoice from 1C was not taken');
        if (stuck === null || day < stuck) stuck = day;
      }
      if (day > newest) newest = day;
    }
    if (page.length < PAGE) break;
  }
  await setSyncState(d.store, key, stuck !== null && stuck < newest ? stuck : newest);
  // the ones already here: 1C may have annulled them or changed the amount since
  for (const { ref } of await openOnecInvoiceRefs(d.store.db, organizationId, RECHECK)) {
    const now = await source.invoice(ref);
    count(now ? await upsertInvoiceFromOneC(d, organizationId, now) : await annulOnecInvoice(d, organizationId, ref));
  }
  if (run.created + run.updated + run.annulled > 0) d.log.info({ organization: organizationId, ...run }, 'invoices picked up from 1C');
  return run;
}

type Outcome = 'created' | 'updated' | 'annulled' | 'unchanged';

/**
 * A 1C invoice becomes (once) the gateway's order — the one made from its base order, or that order
 * made now — with an invoice payment and an invoice row carrying 1C's number, date, amount and due
 * date: matching a bank statement and the printed invoice work on it as on the gateway's own. The
 * same invoice again changes nothing; an annulled one stops being payable; a changed amount, due
 * date or number is taken while it is still to be paid.
 */
export async function upsertInvoiceFromOneC(d: FlowDeps, organizationId: string, inv: OneCInvoice): Promise<Outcome> {
  const existing = (await invoiceByOnecRef(d.store.db, organizationId, inv.ref)) ?? (await madeByGateway(d, organizationId, inv));
  if (existing) {
    if (inv.annulled) return annulOnecInvoice(d, organizationId, inv.ref);
    const payment = await getPayment(d.store.db, existing.payment_id);
    if (payment?.status !== 'pending') return 'unchanged';
    // an invoice the gateway had 1C make keeps the gateway's number and date unless 1C numbers them
    if (inv.gatewayInvoiceId === existing.id && d.orgs.get(organizationId)!.onec.invoices.numberedBy !== 'onec')
      inv = { ...inv, number: existing.number, date: existing.date };
    const dueDate = inv.dueDate ?? existing.due_date;
    const same =
      existing.amount === inv.amount &&
      existing.due_date === dueDate &&
      existing.number === inv.number &&
      existing.date === inv.date &&
      (existing.uip ?? null) === inv.uip;
    if (same) return 'unchanged';
    if (inv.amount <= existing.paid) {
      d.log.warn(
        { organization: organizationId, invoice: existing.id, onecRef: inv.ref, amount: inv.amount, paid: existing.paid },
        'the invoice’s amount in 1C is no more than what is already paid on it: left as it is',
      );
      return 'unchanged';
    }
    await d.store.db.transaction().execute(async (trx) => {
      await updateOnecInvoice(trx, existing, { amount: inv.amount, due_date: dueDate, number: inv.number, date: inv.date, uip: inv.uip });
    });
    d.log.info({ organization: organizationId, invoice: existing.id, onecRef: inv.ref }, 'invoice changed in 1C');
    return 'updated';
  }
  if (inv.annulled) return 'unchanged';

  const org = d.orgs.get(organizationId)!;
  const dueDate = inv.dueDate ?? addDays(inv.date, org.payments.invoice?.payWithinDays ?? 5);
  const days = Math.max(0, Math.round((Date.parse(dueDate) - Date.parse(inv.date)) / 86_400_000));
  const { order } = await createOrderFromOneC(d, organizationId, inv.order, {
    writeLinkBack: false,
    terms: { type: 'deferred', days, from: 'invoice' },
  });
  const paymentId = newId();
  const now = nowIso();
  const year = Number(inv.date.slice(0, 4));
  const token = randomBytes(24).toString('base64url');
  try {
    await d.store.db.transaction().execute(async (trx) => {
      await insertPayment(
        trx,
        newPaymentRow(
          {
            id: paymentId,
            order_id: order.id,
            organization_id: organizationId,
            method: 'invoice',
            provider: 'bank_transfer',
            amount: inv.amount,
            return_url: null,
            fail_url: null,
          },
          now,
        ),
      );
      // 1C numbers these: they take places in a series of their own (negative), never the gateway's numbers
      const seq = -(await nextInvoiceSeq(trx, organizationId, -year));
      await insertInvoice(trx, {
        id: newId(),
        organization_id: organizationId,
        order_id: order.id,
        payment_id: paymentId,
        year,
        seq,
        number: inv.number,
        date: inv.date,
        due_date: dueDate,
        due_days_after_shipment: null,
        amount: inv.amount,
        token,
        bank_number: null,
        bank_date: null,
        paid: 0,
        uip: inv.uip,
        created_at: now,
        onec_ref: inv.ref,
      });
      const action: PaymentAction = {
        type: 'invoice',
        number: inv.number,
        date: inv.date,
        dueDate,
        document: `${d.config.server.publicUrl.replace(/\/$/, '')}/invoices/${token}`,
      };
      await setPaymentAction(trx, paymentId, action);
    });
  } catch (e) {
    // another run made it meanwhile
    if (await invoiceByOnecRef(d.store.db, organizationId, inv.ref)) return 'unchanged';
    throw e;
  }
  d.jobs.kick();
  d.log.info({ organization: organizationId, paymentId, orderId: order.id, onecRef: inv.ref, number: inv.number }, 'invoice from 1C');
  return 'created';
}

/** The gateway's own invoice a 1C invoice was made for (its marker), now linked to it. */
async function madeByGateway(d: FlowDeps, organizationId: string, inv: OneCInvoice): Promise<InvoicesTable | undefined> {
  if (!inv.gatewayInvoiceId) return undefined;
  const own = await invoiceById(d.store.db, inv.gatewayInvoiceId);
  if (!own || own.organization_id !== organizationId || (own.onec_ref && own.onec_ref !== inv.ref)) return undefined;
  if (!own.onec_ref) await linkOnecInvoice(d.store.db, own.id, inv.ref);
  return { ...own, onec_ref: inv.ref };
}

/** 1C annulled the invoice (or no longer has it): its payment is cancelled, a statement line naming it goes to review. */
async function annulOnecInvoice(d: FlowDeps, organizationId: string, ref: string): Promise<Outcome> {
  const invoice = await invoiceByOnecRef(d.store.db, organizationId, ref);
  if (!invoice) return 'unchanged';
  const moved = await d.store.db.transaction().execute(async (trx) => {
    const payment = await getPayment(trx, invoice.payment_id);
    if (!payment || !(await movePayment(trx, payment.id, 'pending', { status: 'cancelled', status_reason: ANNULLED_IN_ONEC })))
      return false;
    await notifySite(d, trx, payment, 'payment.cancelled', 'cancelled');
    return true;
  });
  if (!moved) return 'unchanged';
  d.jobs.kick();
  d.log.info({ organization: organizationId, invoice: invoice.id, number: invoice.number, onecRef: ref }, 'invoice annulled in 1C');
  return 'annulled';
}
