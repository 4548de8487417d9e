import type { InvoiceDocument } from '../../gateway/domain/invoice-document';
import type { InvoiceRenderer } from '../../gateway/ports';
import { renderInvoiceHtml } from './html';
import { renderInvoicePdf } from './pdf';

/** «Счет на оплату» as PDF (pdfkit, DejaVu Sans shipped in node_modules) and as an HTML page, from one input. */
export class InvoiceDocumentRenderer implements InvoiceRenderer {
  pdf(doc: InvoiceDocument): Promise<Buffer> {
    return renderInvoicePdf(doc);
  }

  html(doc: InvoiceDocument): Promise<string> {
    return renderInvoiceHtml(doc);
  }
}
