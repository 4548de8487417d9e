import { prepareInvoice, type InvoiceDocument } from '../../gateway/domain/invoice-document';
import { qrPng } from './pdf';
import { invoiceView } from './view';

/**
 * The same «Счет на оплату» as one self-contained HTML page (the link a buyer opens in a browser):
 * the same strings as the PDF, the QR as an inline PNG, print styles for A4. No script, no outside
 * resource.
 */

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const STYLE = `
  @page { size: A4; margin: 10mm 10mm 12mm 12mm; }
  body { font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 12px; color: #000; max-width: 190mm; margin: 0 auto; padding: 8px; }
  table { border-collapse: collapse; width: 100%; }
  .top { display: flex; gap: 12px; align-items: flex-start; }
  .bank td { border: 1px solid #000; padding: 3px 4px; vertical-align: top; }
  .bank .caption { font-size: 10px; }
  .qr { text-align: center; font-size: 9px; width: 140px; }
  .qr img { width: 140px; height: 140px; display: block; }
  h1 { font-size: 18px; margin: 16px 0 4px; padding-bottom: 4px; border-bottom: 2px solid #000; }
  .parties td { padding: 3px 0; vertical-align: top; }
  .parties td:first-child { width: 130px; }
  .parties td:last-child { font-weight: bold; }
  .lines { margin-top: 8px; }
  .lines th, .lines td { border: 1px solid #000; padding: 3px 4px; }
  .lines th { text-align: center; }
  .lines td.num { text-align: right; white-space: nowrap; }
  .totals { width: auto; margin-left: auto; margin-top: 6px; font-weight: bold; }
  .totals td { padding: 1px 0 1px 16px; text-align: right; white-space: nowrap; }
  .words { font-weight: bold; }
  .due, .uip { font-weight: bold; }
  .signatures { margin-top: 24px; border-top: 2px solid #000; padding-top: 24px; display: flex; gap: 24px; }
  .signatures div { flex: 1; display: flex; gap: 8px; align-items: flex-end; }
  .signatures b { white-space: nowrap; }
  .signatures span { flex: 1; border-bottom: 1px solid #000; text-align: right; min-height: 1.2em; }
`;

export async function renderInvoiceHtml(doc: InvoiceDocument): Promise<string> {
  const v = invoiceView(prepareInvoice(doc));
  const qr = `data:image/png;base64,${(await qrPng(v.qrPayload)).toString('base64')}`;
  const rows = v.rows
    .map(
      (r) =>
        `<tr><td class="num">${esc(r.no)}</td><td>${esc(r.name)}</td><td class="num">${esc(r.quantity)}</td><td>${esc(r.unit)}</td>` +
        `<td class="num">${esc(r.price)}</td><td class="num">${esc(r.vat)}</td><td class="num">${esc(r.vatAmount)}</td><td class="num">${esc(r.amount)}</td></tr>`,
    )
    .join('\n');
  const totals = v.totals.map((t) => `<tr><td>${esc(t.label)}</td><td>${esc(t.value)}</td></tr>`).join('\n');
  const party = (label: string, value: string) => `<tr><td>${esc(label)}</td><td>${esc(value)}</td></tr>`;
  return `<!DOCTYPE html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(v.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<div class="top">
<table class="bank">
<tr><td colspan="2" rowspan="2">${esc(v.bank.bankLine)}<br><span class="caption">Банк получателя</span></td><td>БИК</td><td>${esc(v.bank.bic)}</td></tr>
<tr><td>Сч. №</td><td>${esc(v.bank.correspondentAccount)}</td></tr>
<tr><td>${esc(v.bank.inn)}</td><td>${esc(v.bank.kpp)}</td><td rowspan="2">Сч. №</td><td rowspan="2">${esc(v.bank.account)}</td></tr>
<tr><td colspan="2">${esc(v.bank.recipient)}<br><span class="caption">Получатель</span></td></tr>
</table>
<div class="qr"><img src="${qr}" alt="${esc(v.qrCaption)}" data-payload="${esc(v.qrPayload)}">${esc(v.qrCaption)}</div>
</div>
<h1>${esc(v.title)}</h1>
<table class="parties">
${party('Поставщик (Исполнитель):', v.supplier)}
${party('Покупатель (Заказчик):', v.buyer)}
${v.basis ? party('Основание:', v.basis) : ''}
</table>
<table class="lines">
<thead><tr>${v.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
<table class="totals">
${totals}
</table>
<p>${esc(v.countLine)}<br><span class="words">${esc(v.inWords)}</span></p>
<p class="purpose">Назначение платежа: ${esc(v.purpose)}</p>
${v.paymentId ? `<p class="uip">УИП (поле 22 «Код» платежного поручения): ${esc(v.paymentId)}</p>` : ''}
${v.due ? `<p class="due">${esc(v.due)}</p>` : ''}
${v.note ? `<p class="note">${esc(v.note)}</p>` : ''}
<div class="signatures">
${v.signatures.map((s) => `<div><b>${esc(s.role)}</b><span>${esc(s.name)}</span></div>`).join('\n')}
</div>
</body>
</html>
`;
}
