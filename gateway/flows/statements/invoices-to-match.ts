import type { AnnulledInvoiceRow, InvoiceToMatchRow } from '../../store/invoices';
import { invoicesToMatchOf } from '../../store/invoices';
import type { FlowDeps } from '../deps';
import { dueDateFrom } from '../invoices/due';
import type { InvoicesToMatch } from './decide';

export type { InvoicesToMatch } from './decide';

/** Invoices annulled since this day (the last year and a bit) are looked for in purposes. */
export function annulledSince(): string {
  return new Date(Date.now() - 400 * 86_400_000).toISOString().slice(0, 10);
}

/** The organization's invoices as matching sees them (one query). */
export async function invoicesToMatch(d: Pick<FlowDeps, 'store'>, organizationId: string): Promise<InvoicesToMatch> {
  return withDueDates(await invoicesToMatchOf(d.store.db, d.store.dialect, organizationId, annulledSince()));
}

/** The invoices as the store gives them, each open one with the day it is due. */
export function withDueDates(rows: { open: InvoiceToMatchRow[]; annulled: AnnulledInvoiceRow[] }): InvoicesToMatch {
  for (const r of rows.open)
    if (r.dueDate === null)
      // a deferral still counting from a shipment to come is due last
      r.dueDate = dueDateFrom(null, r.dueDaysAfterShipment, r.shippedAt) ?? '9999-12-31';
  return rows as InvoicesToMatch;
}
