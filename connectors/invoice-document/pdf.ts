import { dirname, join } from 'node:path';
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';
import { prepareInvoice, type InvoiceDocument } from '../../gateway/domain/invoice-document';
import { COLUMNS, invoiceView, type InvoiceView } from './view';

/**
 * «Счет на оплату» as an A4 PDF, in the layout Russian accounting expects (the one 1C prints): the
 * bank details of the payment order on top with the ГОСТ QR beside them, the title, supplier and
 * buyer, the lines, the totals with the amount in words, the purpose, the due date, the signatures.
 * The font is DejaVu Sans from the dejavu-fonts-ttf package (Cyrillic; its licence allows shipping
 * it), read from node_modules: nothing of the system is used.
 */

const FONT_DIR = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
export const FONT_REGULAR = join(FONT_DIR, 'DejaVuSans.ttf');
export const FONT_BOLD = join(FONT_DIR, 'DejaVuSans-Bold.ttf');

const PAGE = { width: 595.28, height: 841.89 };
const M = { left: 34, right: 28, top: 28, bottom: 34 };
const WIDTH = PAGE.width - M.left - M.right;
const COLUMN_WIDTHS = [22, 199, 46, 32, 70, 44, 60, 60.28];
const QR_SIZE = 100;
const LINE_COLOR = '#000000';

type Doc = PDFKit.PDFDocument;

function box(pdf: Doc, x: number, y: number, w: number, h: number) {
  pdf.lineWidth(0.5).strokeColor(LINE_COLOR).rect(x, y, w, h).stroke();
}

function text(pdf: Doc, s: string, x: number, y: number, w: number, o: PDFKit.Mixins.TextOptions & { bold?: boolean; size?: number } = {}) {
  const { bold, size, ...opts } = o;
  pdf
    .font(bold ? 'bold' : 'regular')
    .fontSize(size ?? 8.5)
    .fillColor('#000000')
    .text(s, x, y, { width: w, lineGap: 0.5, ...opts });
}

/** Height of `s` set in the regular face at `size` in a cell `w` wide. */
function textHeight(pdf: Doc, s: string, w: number, size = 8.5): number {
  return pdf.font('regular').fontSize(size).heightOfString(s, { width: w, lineGap: 0.5 });
}

function bankBlock(pdf: Doc, v: InvoiceView, x: number, y: number, qr: Buffer): number {
  const left = 235;
  const label = 45;
  const value = 415 - left - label;
  const innRow = 16;
  // the cells grow with the bank's and the recipient's names: the payer copies them whole
  const rowA = Math.max(40, textHeight(pdf, v.bank.bankLine, left - 6) + 16);
  const recipient = Math.max(42, textHeight(pdf, v.bank.recipient, left - 6) + 16);
  // bank of the recipient, its БИК and к/с
  box(pdf, x, y, left, rowA);
  text(pdf, v.bank.bankLine, x + 3, y + 3, left - 6);
  text(pdf, 'Банк получателя', x + 3, y + rowA - 11, left - 6, { size: 7 });
  box(pdf, x + left, y, label, 20);
  text(pdf, 'БИК', x + left + 3, y + 5, label - 6);
  box(pdf, x + left + label, y, value, 20);
  text(pdf, v.bank.bic, x + left + label + 3, y + 5, value - 6);
  box(pdf, x + left, y + 20, label, rowA - 20);
  text(pdf, 'Сч. №', x + left + 3, y + 25, label - 6);
  box(pdf, x + left + label, y + 20, value, rowA - 20);
  text(pdf, v.bank.correspondentAccount, x + left + label + 3, y + 25, value - 6);
  // the recipient: ИНН, КПП, name, and its р/с
  const y1 = y + rowA;
  box(pdf, x, y1, left / 2, innRow);
  text(pdf, v.bank.inn, x + 3, y1 + 4, left / 2 - 6);
  box(pdf, x + left / 2, y1, left / 2, innRow);
  text(pdf, v.bank.kpp, x + left / 2 + 3, y1 + 4, left / 2 - 6);
  box(pdf, x, y1 + innRow, left, recipient);
  text(pdf, v.bank.recipient, x + 3, y1 + innRow + 3, left - 6);
  text(pdf, 'Получатель', x + 3, y1 + innRow + recipient - 11, left - 6, { size: 7 });
  box(pdf, x + left, y1, label, innRow + recipient);
  text(pdf, 'Сч. №', x + left + 3, y1 + 4, label - 6);
  box(pdf, x + left + label, y1, value, innRow + recipient);
  text(pdf, v.bank.account, x + left + label + 3, y1 + 4, value - 6);
  // the QR beside the details, as a bank app scans it off the page
  const qrX = x + WIDTH - QR_SIZE;
  pdf.image(qr, qrX, y, { width: QR_SIZE, height: QR_SIZE });
  text(pdf, v.qrCaption, qrX - 10, y + QR_SIZE + 2, QR_SIZE + 10, { size: 6, align: 'center' });
  return Math.max(y1 + innRow + recipient, y + QR_SIZE + 12);
}

function rowHeight(pdf: Doc, cells: readonly string[], bold: boolean): number {
  pdf.font(bold ? 'bold' : 'regular').fontSize(8);
  let h = 0;
  cells.forEach((c, i) => {
    h = Math.max(h, pdf.heightOfString(c, { width: COLUMN_WIDTHS[i] - 6, lineGap: 0.5 }));
  });
  return h + 6;
}

function tableRow(pdf: Doc, cells: readonly string[], y: number, header: boolean): number {
  const h = rowHeight(pdf, cells, header);
  let x = M.left;
  cells.forEach((c, i) => {
    const w = COLUMN_WIDTHS[i];
    box(pdf, x, y, w, h);
    const align = header ? 'center' : i === 1 || i === 3 ? 'left' : i === 0 ? 'center' : 'right';
    text(pdf, c, x + 3, y + 3, w - 6, { size: 8, bold: header, align });
    x += w;
  });
  return y + h;
}

/** Breaks the page when `need` points do not fit, naming the invoice on the new page; returns the y to go on from. */
function ensureRoom(pdf: Doc, v: InvoiceView, y: number, need: number): number {
  if (y + need <= PAGE.height - M.bottom) return y;
  pdf.addPage();
  text(pdf, `${v.title} (продолжение)`, M.left, M.top, WIDTH, { size: 7.5 });
  return pdf.y + 4;
}

function draw(pdf: Doc, v: InvoiceView, qr: Buffer) {
  let y = bankBlock(pdf, v, M.left, M.top, qr) + 14;

  text(pdf, v.title, M.left, y, WIDTH, { bold: true, size: 13 });
  y = pdf.y + 4;
  pdf
    .lineWidth(1.5)
    .moveTo(M.left, y)
    .lineTo(M.left + WIDTH, y)
    .stroke();
  y += 8;

  const party = (label: string, value: string) => {
    text(pdf, label, M.left, y, 78, { size: 8.5 });
    const labelBottom = pdf.y;
    text(pdf, value, M.left + 82, y, WIDTH - 82, { bold: true, size: 8.5 });
    y = Math.max(pdf.y, labelBottom) + 6;
  };
  party('Поставщик (Исполнитель):', v.supplier);
  party('Покупатель (Заказчик):', v.buyer);
  if (v.basis) party('Основание:', v.basis);
  y += 4;

  y = tableRow(pdf, COLUMNS, y, true);
  for (const r of v.rows) {
    const cells = [r.no, r.name, r.quantity, r.unit, r.price, r.vat, r.vatAmount, r.amount];
    const h = rowHeight(pdf, cells, false);
    const next = ensureRoom(pdf, v, y, h);
    if (next !== y) y = tableRow(pdf, COLUMNS, next, true);
    y = tableRow(pdf, cells, y, false);
  }
  y += 6;

  // the totals, the amount in words, the terms and the signatures are measured first and kept on one page
  const tail: { s: string; bold?: boolean; size: number; gap: number }[] = [
    { s: v.countLine, size: 9, gap: 1 },
    { s: v.inWords, bold: true, size: 9, gap: 8 },
    { s: `Назначение платежа: ${v.purpose}`, size: 8.5, gap: 3 },
    ...(v.paymentId ? [{ s: `УИП (поле 22 «Код» платежного поручения): ${v.paymentId}`, bold: true, size: 8.5, gap: 3 }] : []),
    ...(v.due ? [{ s: v.due, bold: true, size: 8.5, gap: 3 }] : []),
    ...(v.note ? [{ s: v.note, size: 8, gap: 3 }] : []),
  ];
  const signaturesHeight = 4 + 26 + 12;
  const tailHeight =
    v.totals.length * 13 +
    6 +
    tail.reduce(
      (h, t) =>
        h +
        pdf
          .font(t.bold ? 'bold' : 'regular')
          .fontSize(t.size)
          .heightOfString(t.s, { width: WIDTH, lineGap: 0.5 }) +
        t.gap,
      0,
    ) +
    signaturesHeight;
  y = ensureRoom(pdf, v, y, tailHeight);
  for (const t of v.totals) {
    text(pdf, t.label, M.left + 240, y, WIDTH - 240 - 90, { bold: true, size: 9, align: 'right' });
    text(pdf, t.value, M.left + WIDTH - 88, y, 88, { bold: true, size: 9, align: 'right' });
    y += 13;
  }
  y += 6;
  for (const t of tail) {
    text(pdf, t.s, M.left, y, WIDTH, { bold: t.bold, size: t.size });
    y = pdf.y + t.gap;
  }
  y += 4;
  pdf
    .lineWidth(1.5)
    .moveTo(M.left, y)
    .lineTo(M.left + WIDTH, y)
    .stroke();
  y += 26;

  const half = WIDTH / 2;
  v.signatures.forEach((s, i) => {
    const x = M.left + i * half;
    text(pdf, s.role, x, y - 9, 80, { bold: true, size: 9 });
    pdf
      .lineWidth(0.5)
      .moveTo(x + 82, y)
      .lineTo(x + half - 12, y)
      .stroke();
    text(pdf, s.name, x + 82, y - 10, half - 94, { size: 8.5, align: 'right' });
  });
}

/** A PNG of the ГОСТ string, large enough for a phone camera off paper (the same QR library the payment page uses). */
export function qrPng(payload: string): Promise<Buffer> {
  return QRCode.toBuffer(payload, { type: 'png', errorCorrectionLevel: 'M', margin: 1, width: 600 });
}

export async function renderInvoicePdf(doc: InvoiceDocument): Promise<Buffer> {
  const prepared = prepareInvoice(doc);
  const view = invoiceView(prepared);
  const qr = await qrPng(view.qrPayload);
  const created = new Date(`${doc.date}T00:00:00Z`);
  const pdf = new PDFDocument({
    size: 'A4',
    margins: M,
    font: FONT_REGULAR,
    info: { Title: view.title, Author: doc.supplier.name, Subject: 'Счет на оплату', CreationDate: created, ModDate: created },
  });
  pdf.registerFont('regular', FONT_REGULAR);
  pdf.registerFont('bold', FONT_BOLD);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('data', (c: Buffer) => chunks.push(c));
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });
  draw(pdf, view, qr);
  pdf.end();
  return done;
}
