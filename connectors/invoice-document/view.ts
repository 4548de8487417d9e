import { dayDotted, dayInWords, invoiceVatLabel, type InvoiceParty, type PreparedInvoice } from '../../gateway/domain/invoice-document';
import { pluralForm } from '../../gateway/domain/amount-in-words';
import { toRubleString, type Kopecks } from '../../gateway/domain/money';

/**
 * Every text the printed invoice shows, made once from the prepared document: the PDF and the HTML
 * page draw the same strings, so they cannot disagree.
 */

const NBSP = '\u00a0';

/** 12200000 → «122 000,00»: rubles grouped by thousands, a comma before the kopecks, as accounting prints. */
export function formatAmount(k: Kopecks): string {
  const [r, c] = toRubleString(k).split('.');
  return `${r.replace(/\B(?=(\d{3})+(?!\d))/g, NBSP)},${c}`;
}

/** 2.5 → «2,5»; 1 → «1»; 0.125 → «0,125». */
export function formatQuantity(q: number): string {
  return String(Math.round(q * 1000) / 1000).replace('.', ',');
}

/** «ООО «Ромашка», ИНН 7700000000, КПП 770001001, 123456, г. Москва, …, тел.: …» */
export function partyLine(p: InvoiceParty): string {
  return [
    p.name.trim(),
    p.inn ? `ИНН ${p.inn}` : '',
    p.kpp ? `КПП ${p.kpp}` : '',
    p.address?.trim() ?? '',
    p.phone?.trim() ? `тел.: ${p.phone.trim()}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

export interface InvoiceView {
  title: string;
  bank: { bankLine: string; bic: string; correspondentAccount: string; account: string; inn: string; kpp: string; recipient: string };
  supplier: string;
  buyer: string;
  basis?: string;
  columns: readonly string[];
  rows: { no: string; name: string; quantity: string; unit: string; price: string; vat: string; vatAmount: string; amount: string }[];
  totals: { label: string; value: string }[];
  countLine: string;
  inWords: string;
  purpose: string;
  paymentId?: string;
  due?: string;
  note?: string;
  signatures: { role: string; name: string }[];
  qrPayload: string;
  qrCaption: string;
}

/** «Оплатить не позднее 15.12.2026», or before shipment «Оплатить в течение 21 календарного дня с даты отгрузки». */
export function dueLine(dueDate: string | undefined, daysAfterShipment: number | undefined): string | undefined {
  if (dueDate) return `Оплатить не позднее ${dayDotted(dueDate)}`;
  if (daysAfterShipment === undefined) return undefined;
  const days = pluralForm(daysAfterShipment, ['календарного дня', 'календарных дней', 'календарных дней']);
  return `Оплатить в течение ${daysAfterShipment} ${days} с даты отгрузки`;
}

export const COLUMNS = ['№', 'Товары (работы, услуги)', 'Кол-во', 'Ед.', 'Цена', 'НДС', 'Сумма НДС', 'Сумма'] as const;

export function invoiceView(p: PreparedInvoice): InvoiceView {
  const { doc } = p;
  const totals: InvoiceView['totals'] = [{ label: 'Итого:', value: formatAmount(p.total) }];
  for (const t of p.vatTotals) {
    if (t.vat === 'none') totals.push({ label: 'Без налога (НДС):', value: '—' });
    else totals.push({ label: `В том числе НДС ${t.label}:`, value: formatAmount(t.vatAmount) });
  }
  totals.push({ label: 'Всего к оплате:', value: formatAmount(p.total) });
  const bankLine = [doc.bank.name.trim(), doc.bank.city?.trim()].filter(Boolean).join(' ');
  return {
    title: `Счет на оплату № ${doc.number} от ${dayInWords(doc.date)}`,
    bank: {
      bankLine,
      bic: doc.bank.bic,
      correspondentAccount: doc.bank.correspondentAccount ?? '',
      account: doc.bank.account,
      inn: `ИНН ${doc.supplier.inn ?? ''}`,
      kpp: doc.supplier.kpp ? `КПП ${doc.supplier.kpp}` : 'КПП',
      recipient: doc.supplier.name.trim(),
    },
    supplier: partyLine(doc.supplier),
    buyer: partyLine(doc.buyer),
    basis: doc.basis?.trim() || undefined,
    columns: COLUMNS,
    rows: p.lines.map((l, i) => ({
      no: String(i + 1),
      name: l.name.trim(),
      quantity: formatQuantity(l.quantity),
      unit: l.unit.trim(),
      price: formatAmount(l.price),
      vat: invoiceVatLabel(l.vat),
      vatAmount: l.vat === 'none' ? '—' : formatAmount(l.vatAmount),
      amount: formatAmount(l.amount),
    })),
    totals,
    countLine: `Всего наименований ${p.lines.length}, на сумму ${formatAmount(p.total)} руб.`,
    inWords: p.totalInWords,
    purpose: p.purpose,
    paymentId: doc.paymentId,
    due: dueLine(doc.dueDate, doc.dueDaysAfterShipment),
    note: doc.note?.trim() || undefined,
    signatures: [
      { role: doc.signatures?.headTitle?.trim() || 'Руководитель', name: doc.signatures?.head?.trim() ?? '' },
      { role: 'Бухгалтер', name: doc.signatures?.accountant?.trim() ?? '' },
    ],
    qrPayload: p.qrPayload,
    qrCaption: 'QR-код для оплаты в банковском приложении',
  };
}
