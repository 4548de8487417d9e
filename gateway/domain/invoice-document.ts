import { amountInWords } from './amount-in-words';
import { GostQrError, gostQrPayload, GOST_QR_PURPOSE_MAX } from './gost-qr';
import { innProblem } from './inn';
import { lineAmount, quantityThousandths, sum, toRubleString, type Kopecks } from './money';
import { vatAmount } from './receipt';

/**
 * «Счет на оплату»: the canonical input every rendering (PDF, HTML) is made from, its checks and
 * its sums. Prices and amounts include VAT, as on the shop's orders; the VAT of each line is taken
 * out of its amount per line (as 1C and registers do), then added up per rate.
 */

/** The rates a line of an invoice can carry: 22 % (from 2026), 20 % (earlier), the reduced ones, 0 %, без НДС. */
export const INVOICE_VAT_CODES = ['vat22', 'vat20', 'vat10', 'vat7', 'vat5', 'vat0', 'none'] as const;
export type InvoiceVatCode = (typeof INVOICE_VAT_CODES)[number];

export interface InvoiceParty {
  name: string;
  /** 10 digits for an organization, 12 for an entrepreneur or a person. */
  inn?: string;
  /** Organizations only (a 10-digit ИНН). */
  kpp?: string;
  address?: string;
  phone?: string;
}

export interface InvoiceBankDetails {
  /** «ПАО СБЕРБАНК»; the city is printed after it. */
  name: string;
  city?: string;
  bic: string;
  /** к/с; absent for a bank without one (the QR then says CorrespAcc=0). */
  correspondentAccount?: string;
  /** р/с of the supplier. */
  account: string;
}

export interface InvoiceLine {
  name: string;
  quantity: number;
  /** «шт.», «кг», «усл. ед.» */
  unit: string;
  /** Kopecks, VAT included. */
  price: Kopecks;
  /** price × quantity, kopecks, VAT included. */
  amount: Kopecks;
  vat: InvoiceVatCode;
}

export interface InvoiceDocument {
  number: string;
  /** YYYY-MM-DD */
  date: string;
  /** YYYY-MM-DD: «Оплатить не позднее». */
  dueDate?: string;
  /**
   * A deferral counted from a shipment still to come (no date yet): «Оплатить в течение N
   * календарных дней с даты отгрузки». Printed when there is no dueDate.
   */
  dueDaysAfterShipment?: number;
  supplier: InvoiceParty;
  bank: InvoiceBankDetails;
  buyer: InvoiceParty;
  /** «Основание»: the contract or the order the invoice is for. */
  basis?: string;
  lines: InvoiceLine[];
  /** The payment purpose; built from the number, date, УИП and VAT when absent. */
  purpose?: string;
  /** The УИП: field 22 «Код» of the payment order, and the QR's `uin`. */
  paymentId?: string;
  signatures?: { head?: string; headTitle?: string; accountant?: string };
  /** Printed under the totals: terms of the deferral, delivery, and the like. */
  note?: string;
}

export interface InvoiceVatTotal {
  vat: InvoiceVatCode;
  /** «22%», «0%», «Без НДС». */
  label: string;
  /** The lines' amounts at this rate, VAT included. */
  amount: Kopecks;
  /** The VAT in them; 0 for 0 % and без НДС. */
  vatAmount: Kopecks;
}

export interface PreparedInvoice {
  doc: InvoiceDocument;
  lines: (InvoiceLine & { vatAmount: Kopecks })[];
  /** Per rate, in the order 22, 20, 10, 7, 5, 0 %, без НДС; only the rates the lines use. */
  vatTotals: InvoiceVatTotal[];
  total: Kopecks;
  vatTotal: Kopecks;
  totalInWords: string;
  purpose: string;
  /** The ГОСТ Р 56042-2014 string of the QR. */
  qrPayload: string;
}

export interface InvoiceIssue {
  path: string;
  message: string;
}

export class InvoiceDocumentError extends Error {
  readonly issues: readonly InvoiceIssue[];
  constructor(issues: readonly InvoiceIssue[]) {
    super(`Счет на оплату не сформирован: ${issues.map((i) => i.message).join('; ')}`);
    this.name = 'InvoiceDocumentError';
    this.issues = issues;
  }
}

const VAT_LABEL: Record<InvoiceVatCode, string> = {
  vat22: '22%',
  vat20: '20%',
  vat10: '10%',
  vat7: '7%',
  vat5: '5%',
  vat0: '0%',
  none: 'Без НДС',
};

export function invoiceVatLabel(code: InvoiceVatCode): string {
  return VAT_LABEL[code];
}

const MONTHS = ['января', 'февраля', 'марта', 'апреля', 'мая', 'июня', 'июля', 'августа', 'сентября', 'октября', 'ноября', 'декабря'];

function isDay(s: unknown): s is string {
  if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** 2026-12-01 → «01.12.2026». */
export function dayDotted(day: string): string {
  const [y, m, d] = day.split('-');
  return `${d}.${m}.${y}`;
}

/** 2026-12-01 → «1 декабря 2026 г.», as the header of a printed invoice has it. */
export function dayInWords(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  return `${d} ${MONTHS[m - 1]} ${y} г.`;
}

/** «в т.ч. НДС 22% - 2200.00 руб.» per rate, or «НДС не облагается» (НК РФ ст. 168 п. 4). */
export function vatPhrase(totals: readonly InvoiceVatTotal[]): string {
  const taxed = totals.filter((t) => t.vat !== 'none');
  if (taxed.length === 0) return 'НДС не облагается';
  return `в т.ч. ${taxed.map((t) => `НДС ${t.label} - ${toRubleString(t.vatAmount)} руб.`).join(', ')}`;
}

/** «Оплата по счету № 123 от 01.12.2026, УИП …, в т.ч. НДС 22% - 2200.00 руб.» */
export function defaultInvoicePurpose(
  doc: Pick<InvoiceDocument, 'number' | 'date' | 'paymentId'>,
  totals: readonly InvoiceVatTotal[],
): string {
  const uip = doc.paymentId ? `, УИП ${doc.paymentId}` : '';
  return `Оплата по счету № ${doc.number} от ${dayDotted(doc.date)}${uip}, ${vatPhrase(totals)}`;
}

const BIC_RE = /^\d{9}$/;
const ACCOUNT_RE = /^\d{20}$/;
const KPP_RE = /^\d{4}[0-9A-Z]{2}\d{3}$/;
const PAYMENT_ID_RE = /^[0-9A-Za-zА-Яа-яЁё]{1,25}$/;

/**
 * The control key of a Russian bank account (Банк России, weights 7-1-3 over 23 digits): for a
 * р/с the last three digits of the БИК go first, for a к/с «0» and the БИК's 5th and 6th digits.
 * A typo in one digit of the account always breaks it.
 */
export function accountKeyValid(bic: string, account: string, kind: 'settlement' | 'correspondent'): boolean {
  if (!BIC_RE.test(bic) || !ACCOUNT_RE.test(account)) return false;
  const prefix = kind === 'settlement' ? bic.slice(6, 9) : `0${bic.slice(4, 6)}`;
  const digits = prefix + account;
  const weights = [7, 1, 3];
  let s = 0;
  for (let i = 0; i < digits.length; i++) s += Number(digits[i]) * weights[i % 3];
  return s % 10 === 0;
}

function partyIssues(p: InvoiceParty | undefined, path: string, who: string, innRequired: boolean, add: (p: string, m: string) => void) {
  if (!p || typeof p !== 'object') {
    add(path, `не указан ${who}`);
    return;
  }
  if (typeof p.name !== 'string' || !p.name.trim()) add(`${path}.name`, `не указано наименование: ${who}`);
  else if (p.name.length > 500) add(`${path}.name`, `наименование длиннее 500 символов: ${who}`);
  if (typeof p.address === 'string' && p.address.length > 500) add(`${path}.address`, `адрес длиннее 500 символов: ${who}`);
  if (p.inn === undefined || p.inn === '') {
    if (innRequired) add(`${path}.inn`, `не указан ИНН: ${who}`);
  } else if (typeof p.inn !== 'string' || !/^\d+$/.test(p.inn)) {
    add(`${path}.inn`, `ИНН состоит только из цифр: ${who}, «${String(p.inn)}»`);
  } else if (p.inn.length !== 10 && p.inn.length !== 12) {
    add(`${path}.inn`, `ИНН должен содержать 10 цифр (организация) или 12 (ИП, физическое лицо): ${who}, «${p.inn}» — ${p.inn.length}`);
  } else if (innProblem(p.inn) !== null) {
    add(`${path}.inn`, `контрольные цифры ИНН не сходятся, проверьте его: ${who}, «${p.inn}»`);
  }
  if (p.kpp !== undefined && p.kpp !== '') {
    if (typeof p.kpp !== 'string' || !KPP_RE.test(p.kpp)) add(`${path}.kpp`, `КПП — 9 знаков: ${who}, «${String(p.kpp)}»`);
    else if (typeof p.inn === 'string' && p.inn.length === 12) add(`${path}.kpp`, `у ИП и физического лица нет КПП: ${who}`);
  } else if (innRequired && typeof p.inn === 'string' && p.inn.length === 10) {
    add(`${path}.kpp`, `не указан КПП организации: ${who}`);
  }
}

function bankIssues(b: InvoiceBankDetails | undefined, add: (p: string, m: string) => void) {
  if (!b || typeof b !== 'object') {
    add('bank', 'не указаны банковские реквизиты поставщика (банк, БИК, расчетный счет)');
    return;
  }
  if (typeof b.name !== 'string' || !b.name.trim()) add('bank.name', 'не указан банк получателя');
  const bicOk = typeof b.bic === 'string' && BIC_RE.test(b.bic);
  if (!bicOk) add('bank.bic', `БИК — 9 цифр: «${String(b.bic ?? '')}»`);
  if (typeof b.account !== 'string' || !ACCOUNT_RE.test(b.account))
    add('bank.account', `расчетный счет — 20 цифр: «${String(b.account ?? '')}»`);
  else if (bicOk && !accountKeyValid(b.bic, b.account, 'settlement'))
    add('bank.account', `расчетный счет ${b.account} не сходится с БИК ${b.bic} (контрольный ключ): проверьте цифры`);
  if (b.correspondentAccount !== undefined && b.correspondentAccount !== '') {
    if (typeof b.correspondentAccount !== 'string' || !/^30101\d{15}$/.test(b.correspondentAccount))
      add('bank.correspondentAccount', `корреспондентский счет — 20 цифр, начинается с 30101: «${String(b.correspondentAccount)}»`);
    else if (bicOk && !accountKeyValid(b.bic, b.correspondentAccount, 'correspondent'))
      add('bank.correspondentAccount', `корреспондентский счет ${b.correspondentAccount} не сходится с БИК ${b.bic}: проверьте цифры`);
  }
}

function lineIssues(lines: InvoiceLine[] | undefined, add: (p: string, m: string) => void) {
  if (!Array.isArray(lines) || lines.length === 0) {
    add('lines', 'в счете нет ни одной строки');
    return;
  }
  lines.forEach((l, i) => {
    const p = `lines[${i}]`;
    const n = `строка ${i + 1}`;
    if (typeof l.name !== 'string' || !l.name.trim()) add(`${p}.name`, `${n}: не указано наименование`);
    else if (l.name.length > 1000) add(`${p}.name`, `${n}: наименование длиннее 1000 символов`);
    if (typeof l.unit !== 'string' || !l.unit.trim()) add(`${p}.unit`, `${n}: не указана единица измерения`);
    const qOk = typeof l.quantity === 'number' && quantityThousandths(l.quantity) !== null;
    if (!qOk) add(`${p}.quantity`, `${n}: количество должно быть больше нуля, не больше трех знаков после запятой`);
    const priceOk = Number.isSafeInteger(l.price) && l.price >= 0;
    const amountOk = Number.isSafeInteger(l.amount) && l.amount >= 0;
    if (!priceOk) add(`${p}.price`, `${n}: цена — целое число копеек, не меньше нуля`);
    if (!amountOk) add(`${p}.amount`, `${n}: сумма — целое число копеек, не меньше нуля`);
    if (qOk && priceOk && amountOk && lineAmount(l.price, l.quantity) !== l.amount)
      add(
        `${p}.amount`,
        `${n}: сумма ${toRubleString(l.amount)} не равна цене ${toRubleString(l.price)} × количество ${l.quantity} = ${toRubleString(lineAmount(l.price, l.quantity))}`,
      );
    if (!(INVOICE_VAT_CODES as readonly string[]).includes(l.vat))
      add(`${p}.vat`, `${n}: ставка НДС «${String(l.vat)}» не из списка: ${INVOICE_VAT_CODES.join(', ')}`);
  });
}

/** Per rate, in the order of INVOICE_VAT_CODES. */
export function invoiceVatTotals(lines: readonly InvoiceLine[]): InvoiceVatTotal[] {
  return INVOICE_VAT_CODES.flatMap((code) => {
    const at = lines.filter((l) => l.vat === code);
    if (at.length === 0) return [];
    return [
      { vat: code, label: VAT_LABEL[code], amount: sum(at.map((l) => l.amount)), vatAmount: sum(at.map((l) => vatAmount(l.amount, code))) },
    ];
  });
}

/**
 * Checks the invoice and computes everything printed on it. Throws InvoiceDocumentError listing
 * every problem in Russian (what a manager fixes in the supplier's details or the order), so a
 * renderer never starts on a document it cannot finish.
 */
export function prepareInvoice(doc: InvoiceDocument): PreparedInvoice {
  const issues: InvoiceIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  if (!doc || typeof doc !== 'object') throw new InvoiceDocumentError([{ path: '', message: 'нет данных счета' }]);
  if (typeof doc.number !== 'string' || !doc.number.trim()) add('number', 'не указан номер счета');
  else if (doc.number.length > 30) add('number', 'номер счета длиннее 30 символов');
  if (!isDay(doc.date)) add('date', `дата счета — ГГГГ-ММ-ДД: «${String(doc.date ?? '')}»`);
  if (doc.dueDate !== undefined) {
    if (!isDay(doc.dueDate)) add('dueDate', `срок оплаты — ГГГГ-ММ-ДД: «${String(doc.dueDate)}»`);
    else if (isDay(doc.date) && doc.dueDate < doc.date)
      add('dueDate', `срок оплаты ${dayDotted(doc.dueDate)} раньше даты счета ${dayDotted(doc.date)}`);
  }
  if (doc.dueDaysAfterShipment !== undefined) {
    const days = doc.dueDaysAfterShipment;
    if (!Number.isInteger(days) || days < 1 || days > 365)
      add('dueDaysAfterShipment', `отсрочка с даты отгрузки — от 1 до 365 дней: «${String(days)}»`);
  }
  partyIssues(doc.supplier, 'supplier', 'поставщик', true, add);
  bankIssues(doc.bank, add);
  partyIssues(doc.buyer, 'buyer', 'покупатель', false, add);
  lineIssues(doc.lines, add);
  if (typeof doc.basis === 'string' && doc.basis.length > 300) add('basis', 'основание длиннее 300 символов');
  if (typeof doc.note === 'string' && doc.note.length > 1000) add('note', 'примечание длиннее 1000 символов');
  if (
    doc.paymentId !== undefined &&
    (typeof doc.paymentId !== 'string' || !PAYMENT_ID_RE.test(doc.paymentId) || /^0+$/.test(doc.paymentId))
  )
    add('paymentId', `УИП — до 25 цифр и букв: «${String(doc.paymentId)}»`);
  if (issues.length > 0) throw new InvoiceDocumentError(issues);

  const lines = doc.lines.map((l) => ({ ...l, vatAmount: vatAmount(l.amount, l.vat) }));
  const vatTotals = invoiceVatTotals(doc.lines);
  const total = sum(lines.map((l) => l.amount));
  if (total <= 0) throw new InvoiceDocumentError([{ path: 'lines', message: 'сумма счета равна нулю: платить нечего' }]);
  // a default purpose too long with the УИП goes without it: the УИП still reaches field «Код» through the QR and the print
  let purpose = doc.purpose?.trim() || defaultInvoicePurpose(doc, vatTotals);
  if (!doc.purpose?.trim() && [...purpose].length > GOST_QR_PURPOSE_MAX)
    purpose = defaultInvoicePurpose({ ...doc, paymentId: undefined }, vatTotals);
  if ([...purpose].length > GOST_QR_PURPOSE_MAX)
    throw new InvoiceDocumentError([
      { path: 'purpose', message: `назначение платежа длиннее ${GOST_QR_PURPOSE_MAX} символов: банковские приложения его не прочтут` },
    ]);

  let qrPayload: string;
  try {
    qrPayload = gostQrPayload({
      name: doc.supplier.name,
      account: doc.bank.account,
      bankName: doc.bank.name,
      bic: doc.bank.bic,
      correspondentAccount: doc.bank.correspondentAccount || undefined,
      sum: total,
      purpose,
      payeeInn: doc.supplier.inn,
      payerInn: doc.buyer.inn || undefined,
      kpp: doc.supplier.kpp || undefined,
      paymentId: doc.paymentId,
    });
  } catch (e) {
    if (e instanceof GostQrError)
      throw new InvoiceDocumentError(e.issues.map((i) => ({ path: `qr.${i.field}`, message: `QR-код: ${i.message}` })));
    throw e;
  }

  return {
    doc,
    lines,
    vatTotals,
    total,
    vatTotal: sum(vatTotals.map((t) => t.vatAmount)),
    totalInWords: amountInWords(total),
    purpose,
    qrPayload,
  };
}
