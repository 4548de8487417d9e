import type { Kopecks } from './money';

/**
 * The payment QR of ГОСТ Р 56042-2014 (`ST00012|Name=…|PersonalAcc=…|…`), which bank apps read to
 * fill in a payment order. Always UTF-8 (encoding digit 2), as 1C prints it: the QR encoder is then
 * given the string itself, no recoding.
 *
 * Rules kept (see the reference on the format):
 * - the separator is `|`; a `|` inside a value is removed (what 1C does), line breaks and tabs
 *   become spaces;
 * - the mandatory block comes first in its order: Name, PersonalAcc, BankName, BIC, CorrespAcc
 *   (`0` when the bank has no correspondent account), and is at most 300 bytes;
 * - then the additional tags in 1C's order: Sum (kopecks, digits only), Purpose, PayeeINN, PayerINN,
 *   KPP, and `uin` (field 22 «Код» of the payment order, where the УИП goes);
 * - Name ≤ 160 characters, BankName ≤ 45, Purpose ≤ 160 (the stricter of the limits readers apply).
 */

/** The service block: format `ST`, version `0001`, encoding `2` = UTF-8. */
export const GOST_QR_HEADER = 'ST00012';
export const GOST_QR_SEPARATOR = '|';
export const GOST_QR_MANDATORY_MAX_BYTES = 300;
export const GOST_QR_NAME_MAX = 160;
export const GOST_QR_BANK_NAME_MAX = 45;
export const GOST_QR_PURPOSE_MAX = 160;

export interface GostQrPayment {
  /** Recipient name (Name). */
  name: string;
  /** Recipient account, 20 characters (PersonalAcc). */
  account: string;
  bankName: string;
  bic: string;
  /** The bank's correspondent account; absent → `0`. */
  correspondentAccount?: string;
  /** Kopecks (Sum). */
  sum?: Kopecks;
  purpose?: string;
  payeeInn?: string;
  payerInn?: string;
  /** The recipient's КПП (KPP). */
  kpp?: string;
  /** The УИП for field 22 «Код» (tag `uin`). */
  paymentId?: string;
}

export interface GostQrIssue {
  field: string;
  message: string;
}

export class GostQrError extends Error {
  readonly issues: readonly GostQrIssue[];
  constructor(issues: readonly GostQrIssue[]) {
    super(`QR-код для оплаты не построен: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
    this.name = 'GostQrError';
    this.issues = issues;
  }
}

/** A value as it may stand in the payload: no separator, no line breaks, no outer spaces. */
export function gostQrValue(v: string): string {
  return v
    .replace(/\|/g, '')
    .replace(/[\r\n\t]+/g, ' ')
    .trim();
}

const ACCOUNT_RE = /^[1-9]\d{4}[0-9ABCEHKMPTX]\d{14}$/;
const BIC_RE = /^\d{9}$/;
const CORR_RE = /^\d{20}$/;
const INN_RE = /^(\d{10}|\d{12})$/;
const KPP_RE = /^\d{4}[0-9A-Z]{2}\d{3}$/;
const UTF8 = new TextEncoder();
const PAYMENT_ID_RE = /^[0-9A-Za-zА-Яа-яЁё]{1,25}$/;

/** Every rule `payload` breaks; empty when the QR can be built. */
export function gostQrIssues(p: GostQrPayment): GostQrIssue[] {
  const issues: GostQrIssue[] = [];
  const add = (field: string, message: string) => issues.push({ field, message });
  const name = gostQrValue(p.name ?? '');
  const bankName = gostQrValue(p.bankName ?? '');
  if (!name) add('Name', 'не указан получатель');
  else if ([...name].length > GOST_QR_NAME_MAX) add('Name', `наименование получателя длиннее ${GOST_QR_NAME_MAX} символов`);
  if (!ACCOUNT_RE.test(p.account ?? '')) add('PersonalAcc', 'счет получателя — 20 знаков, например 40702810…');
  if (!bankName) add('BankName', 'не указан банк получателя');
  else if ([...bankName].length > GOST_QR_BANK_NAME_MAX) add('BankName', `наименование банка длиннее ${GOST_QR_BANK_NAME_MAX} символов`);
  if (!BIC_RE.test(p.bic ?? '')) add('BIC', 'БИК — 9 цифр');
  if (p.correspondentAccount !== undefined && p.correspondentAccount !== '0' && !CORR_RE.test(p.correspondentAccount))
    add('CorrespAcc', 'корреспондентский счет — 20 цифр');
  if (p.sum !== undefined && (!Number.isSafeInteger(p.sum) || p.sum <= 0 || String(p.sum).length > 18))
    add('Sum', 'сумма — целое положительное число копеек, не больше 18 цифр');
  if (p.purpose !== undefined) {
    const purpose = gostQrValue(p.purpose);
    if (!purpose) add('Purpose', 'пустое назначение платежа');
    else if ([...purpose].length > GOST_QR_PURPOSE_MAX) add('Purpose', `назначение платежа длиннее ${GOST_QR_PURPOSE_MAX} символов`);
  }
  if (p.payeeInn !== undefined && !INN_RE.test(p.payeeInn)) add('PayeeINN', 'ИНН получателя — 10 или 12 цифр');
  if (p.payerInn !== undefined && !INN_RE.test(p.payerInn)) add('PayerINN', 'ИНН плательщика — 10 или 12 цифр');
  if (p.kpp !== undefined && !KPP_RE.test(p.kpp)) add('KPP', 'КПП — 9 знаков');
  if (p.paymentId !== undefined && (!PAYMENT_ID_RE.test(p.paymentId) || /^0+$/.test(p.paymentId))) add('uin', 'УИП — до 25 цифр и букв');
  if (issues.length === 0) {
    const bytes = UTF8.encode(mandatoryBlock(p)).length;
    if (bytes > GOST_QR_MANDATORY_MAX_BYTES)
      add('Name', `обязательные реквизиты занимают ${bytes} байт, больше ${GOST_QR_MANDATORY_MAX_BYTES}: сократите наименования`);
  }
  return issues;
}

function mandatoryBlock(p: GostQrPayment): string {
  return [
    ['Name', gostQrValue(p.name)],
    ['PersonalAcc', p.account],
    ['BankName', gostQrValue(p.bankName)],
    ['BIC', p.bic],
    ['CorrespAcc', p.correspondentAccount || '0'],
  ]
    .map(([k, v]) => `${GOST_QR_SEPARATOR}${k}=${v}`)
    .join('');
}

/**
 * The payload string to encode in the QR. Throws GostQrError naming every broken rule, so no QR
 * with wrong details is ever printed.
 */
export function gostQrPayload(p: GostQrPayment): string {
  const issues = gostQrIssues(p);
  if (issues.length > 0) throw new GostQrError(issues);
  const extra: [string, string | undefined][] = [
    ['Sum', p.sum === undefined ? undefined : String(p.sum)],
    ['Purpose', p.purpose === undefined ? undefined : gostQrValue(p.purpose)],
    ['PayeeINN', p.payeeInn],
    ['PayerINN', p.payerInn],
    ['KPP', p.kpp],
    ['uin', p.paymentId],
  ];
  return (
    GOST_QR_HEADER +
    mandatoryBlock(p) +
    extra
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => `${GOST_QR_SEPARATOR}${k}=${v}`)
      .join('')
  );
}

/** The tags of a payload, as a bank app reads them (`ST0001x` and the separator after it first). */
export function parseGostQr(payload: string): Record<string, string> {
  if (!/^ST0001[123]/.test(payload)) throw new GostQrError([{ field: 'ST', message: 'это не QR-код платежа по ГОСТ Р 56042-2014' }]);
  const sep = payload.charAt(7);
  const out: Record<string, string> = {};
  for (const part of payload.slice(8).split(sep)) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}
