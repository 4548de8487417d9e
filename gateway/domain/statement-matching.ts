import { formatRub, type Kopecks } from './money';

/**
 * Which open invoices an incoming bank line pays. Pure: the lines and the open invoices in, a
 * decision per line out. The rule is zero wrong matches: whatever is not clear goes to review
 * with the reason in Russian, for support to match by hand.
 *
 * In this order:
 * 1. the УИП the payer copied into field 22 «Код»;
 * 2. invoice or order numbers in the purpose, as payers write them («Оплата по счету № 123 от
 *    01.12.2026», «сч.123», «счет№123», «по сч. 123/1», «Оплата по заказу клиента №ЗК-000123»,
 *    «по счетам №12, №15»), compared as 1C prints them (no prefix, no leading zeros), the date
 *    choosing between equal numbers of different years;
 * 3. the payer's ИНН: its buyer's only open invoice, or
 * 4. among its open invoices, the one due exactly the amount (or all of them, when the amount is
 *    their sum).
 * The payer must be the buyer: a company paying another company's invoice goes to review.
 */

export interface OpenInvoice {
  id: string;
  number: string;
  /** yyyy-mm-dd */
  date: string;
  orderNumber: string | null;
  /** null for an individual without one. */
  buyerInn: string | null;
  buyerKpp: string | null;
  /** What is still due. */
  amountDue: Kopecks;
  /** yyyy-mm-dd */
  dueDate: string;
  uip: string | null;
}

export interface IncomingLine {
  id: string;
  amount: Kopecks;
  /** yyyy-mm-dd */
  date: string;
  payerInn: string | null;
  payerKpp: string | null;
  purpose: string;
  uip: string | null;
}

export interface InvoiceShare {
  invoiceId: string;
  number: string;
  amount: Kopecks;
  /** What stays due on the invoice after this line. */
  remaining: Kopecks;
}

/** `receipt_due`: an individual paid by transfer (a receipt is due in translator mode); `overpayment`: the excess is the customer's advance. */
export type MatchFlag = 'receipt_due' | 'overpayment';

export type MatchDecision =
  | {
      outcome: 'matched' | 'partial' | 'overpaid';
      by: 'uip' | 'number' | 'inn';
      allocations: InvoiceShare[];
      /** Paid beyond what the invoices were due: kept as the customer's advance. */
      advance: Kopecks;
      flags: MatchFlag[];
    }
  | { outcome: 'review'; reason: string; candidates: string[] };

export interface PurposeReference {
  kind: 'invoice' | 'order';
  /** As written, lower case. */
  text: string;
  /** As 1C prints it: no prefix, no leading zeros. */
  printed: string;
  /** yyyy-mm-dd, or with a two-digit year made four. */
  date: string | null;
  /** An amount the purpose names for this number («№12 на сумму 1 000,00»). */
  amount: Kopecks | null;
}

/** 1C's НомерНаПечать: «СЧ00-000123» → «123», «00-000123» → «123», «123/1» stays, «ХИМ-ММР286» stays. */
export function printedNumber(n: string): string {
  const c = n.charCodeAt(0);
  if (c >= 49 && c <= 57 && /^\d+$/.test(n)) return n;
  // the usual «СЧ00-000123»: digits after the last hyphen, their leading zeros dropped
  const dash = n.lastIndexOf('-');
  if (dash >= 0 && dash < n.length - 1) {
    let digits = true;
    for (let i = dash + 1; i < n.length && digits; i++) {
      const d = n.charCodeAt(i);
      digits = d >= 48 && d <= 57;
    }
    if (digits) {
      let k = dash + 1;
      while (k < n.length - 1 && n.charCodeAt(k) === 48) k++;
      return n.slice(k);
    }
  }
  const s = n.trim().toLowerCase().replace(/ё/g, 'е').replace(/\s+/g, '');
  const tail = /^.*-(\d+(?:\/\d+)?)$/.exec(s);
  return (tail ? tail[1] : s).replace(/^0+(?=\d)/, '');
}

// a number runs until a space or punctuation, or until a glued «от01.12.2026»
const TOKEN = String.raw`([a-zа-я0-9](?:(?!от\s*\d{1,2}[./])(?:[a-zа-я0-9/]|-(?=[a-zа-я0-9])))*)`;
const NUMBER_SIGN = String.raw`(?:№|#|n(?=[\s\d])|no\.?(?=[\s\d]))`;
const INVOICE = String.raw`(?:сч(?:ет|ёт)(?:ам|ов|ах|а|у|ом|ы)?(?!\s*-?\s*фактур)(?:\s+на\s+оплату)?|сч\.?(?![а-я])|инвойс[а-я]*|invoice)`;
const ORDER = String.raw`(?:заказ(?:ам|ов|ах|а|у|ом|ы)?(?:\s+(?:клиента|покупателя))?)`;
const DATE = String.raw`(?:\s*от\s*(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})(?!\d)\s*(?:г\.?|года)?)?`;
const AMOUNT = String.raw`(?:\s*(?:на\s+сумму|сумма|—|-|:)\s*(\d[\d\s\u00a0]*(?:[.,-]\d{2}))\s*(?:руб[а-я.]*|р\.|₽)?)?`;

/** Cheap test first: most purposes that name nothing have none of these. */
const MARKERS = /сч|заказ|инвойс|invoice/g;
const LETTER = /[а-яa-z]/;

/** Tried only where a marker word starts (a letter before it makes it part of another word). */
const FIRST = new RegExp(String.raw`(${INVOICE}|${ORDER})\s*${NUMBER_SIGN}?\s*${TOKEN}(?![.,]\d)${DATE}${AMOUNT}`, 'uy');
const NEXT = new RegExp(
  String.raw`\s*(?:,|;|(?<![а-я])и(?![а-я])|\+)\s*(?:(?:сч[а-я]*\.?|заказ[а-я]*)\s*)?(${NUMBER_SIGN})?\s*${TOKEN}(?![.,]\d)${DATE}${AMOUNT}`,
  'uy',
);

function isoDate(d?: string, m?: string, y?: string): string | null {
  if (!d || !m || !y) return null;
  const year = y.length === 2 ? `20${y}` : y;
  return `${year}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`;
}

function kopecks(v?: string): Kopecks | null {
  if (!v) return null;
  const m = /^(\d+)[.,-](\d{2})$/.exec(v.replace(/[\s\u00a0]/g, ''));
  return m ? Number(m[1]) * 100 + Number(m[2]) : null;
}

const hasDigit = (s: string) => /\d/.test(s);

/** Invoice and order numbers a payment purpose names, in the order written. */
export function purposeReferences(purpose: string): PurposeReference[] {
  const text = purpose.toLowerCase().replace(/ё/g, 'е');
  const out: PurposeReference[] = [];
  MARKERS.lastIndex = 0;
  for (let mk = MARKERS.exec(text); mk; mk = MARKERS.exec(text)) {
    if (mk.index > 0 && LETTER.test(text[mk.index - 1])) continue;
    FIRST.lastIndex = mk.index;
    const m = FIRST.exec(text);
    if (!m) continue;
    let end = mk.index + m[0].length;
    MARKERS.lastIndex = end;
    if (!hasDigit(m[2])) continue;
    const kind = m[1].startsWith('заказ') ? 'order' : 'invoice';
    const plural = /(?:ам|ов|ах|ы)$/.test(m[1].replace(/\s+(?:клиента|покупателя|на\s+оплату)$/, ''));
    out.push({ kind, text: m[2], printed: printedNumber(m[2]), date: isoDate(m[3], m[4], m[5]), amount: kopecks(m[6]) });
    // more numbers after the first: «№12, №15», «№ 183 от …, № 211 от …», after a plural «счетам 12, 15 и 17»
    NEXT.lastIndex = end;
    for (let n = NEXT.exec(text); n; n = NEXT.exec(text)) {
      if (!hasDigit(n[2]) || (!n[1] && !plural)) break;
      out.push({ kind, text: n[2], printed: printedNumber(n[2]), date: isoDate(n[3], n[4], n[5]), amount: kopecks(n[6]) });
      end = NEXT.lastIndex;
    }
    MARKERS.lastIndex = end;
  }
  return out;
}

/** An individual (or an ИП): a 12-digit ИНН, or none at all. */
export const isIndividualInn = (inn: string | null): boolean => inn === null || inn.length === 12;

/** An open invoice as matching goes: what is still due on it, its amount due until a line pays some of it. */
class Entry {
  constructor(
    readonly inv: OpenInvoice,
    public due: Kopecks,
  ) {}
}

/** A key's invoices: one (the usual case) kept as itself, several as a list. */
type Slot = Entry | Entry[];

/**
 * Invoices by a key. A key that is a number written plainly (no leading zeros, as printed numbers
 * mostly are) and small enough is kept in a list at that place; any other key in a Map.
 */
class Keyed {
  private readonly small: (Slot | undefined)[];
  private readonly other = new Map<string, Slot>();
  constructor(private readonly limit: number) {
    this.small = new Array<Slot | undefined>(limit);
  }

  /** The key's place in the list, or -1 for a key kept in the Map. */
  private place(k: string): number {
    const n = k.length;
    if (n === 0 || n > 9 || this.limit === 0 || (n > 1 && k.charCodeAt(0) === 48)) return -1;
    let v = 0;
    for (let i = 0; i < n; i++) {
      const c = k.charCodeAt(i);
      if (c < 48 || c > 57) return -1;
      v = v * 10 + (c - 48);
    }
    return v < this.limit ? v : -1;
  }

  add(k: string, e: Entry): void {
    const at = this.place(k);
    const a = at >= 0 ? this.small[at] : this.other.get(k);
    const next = a === undefined ? e : Array.isArray(a) ? (a.push(e), a) : [a, e];
    if (next === a) return;
    if (at >= 0) this.small[at] = next;
    else this.other.set(k, next);
  }

  get(k: string): readonly Entry[] {
    const at = this.place(k);
    const a = at >= 0 ? this.small[at] : this.other.get(k);
    if (a === undefined) return NONE;
    return Array.isArray(a) ? a : [a];
  }
}

class Index {
  readonly byUip = new Keyed(0);
  readonly byNumber: Keyed;
  readonly byOrder: Keyed;
  readonly byInn = new Keyed(0);
  /** The invoices the last settled line pays, in the order of its allocations. */
  settled: Entry[] = [];

  constructor(invoices: readonly OpenInvoice[]) {
    // numbers of a series run from 1: room for those of these invoices, and some
    this.byNumber = new Keyed(2 * invoices.length + 1024);
    this.byOrder = new Keyed(2 * invoices.length + 1024);
    for (const inv of invoices) {
      const e = new Entry(inv, inv.amountDue);
      if (inv.uip) this.byUip.add(inv.uip.trim(), e);
      this.byNumber.add(printedNumber(inv.number), e);
      if (inv.orderNumber) this.byOrder.add(printedNumber(inv.orderNumber), e);
      if (inv.buyerInn) this.byInn.add(inv.buyerInn, e);
    }
  }
}

const NONE: readonly Entry[] = [];

/** Due first, then dated first, then by id: the same order whatever order the invoices came in. */
const byDue = (x: Entry, y: Entry) => {
  const a = x.inv;
  const b = y.inv;
  if (a.dueDate !== b.dueDate) return a.dueDate < b.dueDate ? -1 : 1;
  if (a.date !== b.date) return a.date < b.date ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
};
/** Several invoices due first (`byDue`): the same list whatever order the invoices came in. */
const inOrder = (es: readonly Entry[]) => (es.length > 1 ? [...es].sort(byDue) : es);
const numbers = (es: readonly Entry[]) =>
  inOrder(es)
    .map((e) => `№${e.inv.number}`)
    .join(', ');
const open = (e: Entry) => e.due > 0;

/**
 * Decides every line, oldest first (sorted, stably, by date when they do not come so); what one
 * line pays is no longer due for the next. The invoices are not changed: the amounts still due are
 * kept here.
 */
export function matchStatementLines(lines: readonly IncomingLine[], invoices: readonly OpenInvoice[]): Map<string, MatchDecision> {
  const out = new Map<string, MatchDecision>();
  const matcher = new StatementMatcher(invoices);
  for (const i of oldestFirst(lines)) out.set(lines[i].id, matcher.decide(lines[i]));
  return out;
}

/**
 * The lines' places, oldest line first: 0, 1, 2… when they come so (a store usually gives them
 * so), else sorted, stably, by date.
 */
export function oldestFirst(lines: readonly Pick<IncomingLine, 'date'>[]): Iterable<number> {
  let sorted = true;
  for (let i = 1; i < lines.length && sorted; i++) sorted = lines[i - 1].date <= lines[i].date;
  if (!sorted) return lines.map((_, i) => i).sort((a, b) => (lines[a].date < lines[b].date ? -1 : lines[a].date > lines[b].date ? 1 : 0));
  return {
    *[Symbol.iterator]() {
      for (let i = 0; i < lines.length; i++) yield i;
    },
  };
}

/**
 * Decides lines one after the other against the open invoices it was made with: what a line pays
 * is no longer due for the next. The invoices are not changed: the amounts still due are kept here.
 * Lines are to be given oldest first (`oldestFirst`).
 */
export class StatementMatcher {
  private readonly ix: Index;
  constructor(invoices: readonly OpenInvoice[]) {
    this.ix = new Index(invoices);
  }

  decide(line: IncomingLine): MatchDecision {
    const d = decide(line, this.ix);
    if (d.outcome !== 'review') {
      const paid = this.ix.settled;
      for (let k = 0; k < paid.length; k++) paid[k].due = d.allocations[k].remaining;
    }
    return d;
  }
}

const review = (reason: string, candidates: readonly Entry[] = []): MatchDecision => ({
  outcome: 'review',
  reason,
  candidates: inOrder(candidates).map((c) => c.inv.id),
});

/** The payer is the buyer: the same ИНН; an individual without one may pay an individual's invoice. */
function payerIsBuyer(line: IncomingLine, inv: OpenInvoice): boolean {
  if (line.payerInn === null) return isIndividualInn(inv.buyerInn);
  return line.payerInn === inv.buyerInn;
}

function decide(line: IncomingLine, ix: Index): MatchDecision {
  // 1. the УИП
  if (line.uip) {
    const hit = ix.byUip.get(line.uip.trim());
    if (hit.length === 1) {
      const e = hit[0];
      if (!payerIsBuyer(line, e.inv)) return otherPayer(line, [e]);
      if (!open(e)) return review(`счёт №${e.inv.number} (по УИП ${line.uip}) уже оплачен`, [e]);
      return settle(line, [e], ix, 'uip', null);
    }
    if (hit.length > 1) return review(`УИП ${line.uip} стоит у нескольких счетов: ${numbers(hit)}`, hit);
  }

  // 2. numbers in the purpose
  const refs = purposeReferences(line.purpose);
  if (refs.length > 0) {
    const found: Entry[] = [];
    const named = new Map<Entry, Kopecks | null>();
    let unknown = 0;
    for (const r of refs) {
      let hits = (r.kind === 'order' ? ix.byOrder : ix.byNumber).get(r.printed);
      // an order number written as an invoice's, or the other way round
      if (hits.length === 0) hits = (r.kind === 'order' ? ix.byNumber : ix.byOrder).get(r.printed);
      const date = r.date;
      if (hits.length > 1 && date)
        hits = hits.filter((h) => h.inv.date === date || (r.kind === 'order' && h.inv.date.slice(0, 4) === date.slice(0, 4)));
      if (hits.length > 1) {
        const payers = hits.filter((h) => payerIsBuyer(line, h.inv));
        if (payers.length === 1) hits = payers;
        else if (payers.length > 1 && payers.filter(open).length === 1) hits = payers.filter(open);
      }
      if (hits.length > 1) return review(`номер ${r.text} в назначении платежа подходит к нескольким счетам: ${numbers(hits)}`, hits);
      if (hits.length === 0) {
        unknown++;
        continue;
      }
      const e = hits[0];
      if (!found.includes(e)) {
        found.push(e);
        named.set(e, r.amount);
      }
    }
    if (found.length > 0) {
      const foreign = found.filter((e) => !payerIsBuyer(line, e.inv));
      if (foreign.length) return otherPayer(line, foreign);
      if (unknown > 0)
        return review(
          `в назначении платежа названы счета ${numbers(found)} и номера, которых нет среди открытых счетов: проверьте, за что платёж`,
          found,
        );
      const stillDue = found.filter(open);
      if (stillDue.length === 0) return review(`${found.length > 1 ? 'счета' : 'счёт'} ${numbers(found)} уже оплачен(ы)`, found);
      if (stillDue.length < found.length)
        return review(
          `в назначении платежа есть уже оплаченный счёт ${numbers(found.filter((e) => !open(e)))}: проверьте, не оплачен ли он дважды`,
          found,
        );
      // the purpose names one invoice, the amount is exactly what another of the same buyer is due
      if (found.length === 1) {
        const e = found[0];
        const left = e.due;
        if (line.amount !== left && line.payerInn) {
          const other = ix.byInn.get(line.payerInn).filter((o) => o !== e && open(o) && o.due === line.amount);
          if (other.length > 0)
            return review(
              `в назначении платежа счёт №${e.inv.number} (к оплате ${formatRub(left)}), а сумма ${formatRub(line.amount)} равна долгу по счёту ${numbers(other)}`,
              [e, ...other],
            );
        }
      }
      return settle(line, found, ix, 'number', named);
    }
  }

  // 3–4. the payer's ИНН, then the amount among its open invoices
  if (line.payerInn === null) return review('в платеже нет ИНН плательщика, а в назначении — номера счёта или заказа');
  const own = ix.byInn.get(line.payerInn).filter(open);
  const mentioned = refs.length > 0 ? ` (номер ${refs.map((r) => r.text).join(', ')} из назначения не найден)` : '';
  if (own.length === 0) return review(`у плательщика с ИНН ${line.payerInn} нет открытых счетов${mentioned}`);
  if (line.payerKpp) {
    const sameKpp = own.filter((e) => e.inv.buyerKpp === line.payerKpp);
    if (sameKpp.length > 0 && sameKpp.length < own.length) return byAmount(line, sameKpp, own, ix, mentioned);
  }
  return byAmount(line, own, own, ix, mentioned);
}

function byAmount(line: IncomingLine, pool: Entry[], all: Entry[], ix: Index, mentioned: string): MatchDecision {
  if (pool.length === 1) {
    // the buyer's only open invoice; a number named that is none of ours makes it doubtful
    if (mentioned) return review(`единственный открытый счёт плательщика — №${pool[0].inv.number}${mentioned}`, pool);
    return settle(line, pool, ix, 'inn', null);
  }
  const exact = pool.filter((e) => e.due === line.amount);
  if (exact.length === 1) return settle(line, exact, ix, 'inn', null);
  if (exact.length > 1)
    return review(`сумма ${formatRub(line.amount)} равна долгу по нескольким счетам плательщика: ${numbers(exact)}${mentioned}`, exact);
  const total = pool.reduce((s, e) => s + e.due, 0);
  if (total === line.amount && !mentioned) return settle(line, pool, ix, 'inn', null);
  return review(
    `у плательщика несколько открытых счетов (${numbers(all)}), сумма ${formatRub(line.amount)} не совпадает ни с одним${mentioned}`,
    all,
  );
}

function otherPayer(line: IncomingLine, es: readonly Entry[]): MatchDecision {
  const inv = es[0].inv;
  return review(
    `плательщик (${line.payerInn ? `ИНН ${line.payerInn}` : 'без ИНН'}) не покупатель по счёту №${inv.number} (ИНН ${inv.buyerInn ?? 'нет'}): оплата за третье лицо проверяется вручную`,
    es,
  );
}

/**
 * Spreads the amount over the invoices: by the amounts the purpose names when they fit, else by due
 * date. The invoices it pays are left in `ix.settled`, in the order of the allocations.
 */
function settle(
  line: IncomingLine,
  es: readonly Entry[],
  ix: Index,
  by: 'uip' | 'number' | 'inn',
  named: Map<Entry, Kopecks | null> | null,
): MatchDecision {
  const open = es.filter((e) => e.due > 0);
  const shares: InvoiceShare[] = [];
  let left = line.amount;
  const namedAmounts = named && open.length > 1 ? open.map((e) => named.get(e) ?? null) : null;
  const useNamed =
    namedAmounts !== null &&
    namedAmounts.every((a, k) => a !== null && a <= open[k].due) &&
    namedAmounts.reduce<number>((s, a) => s + a!, 0) <= line.amount;
  const order = useNamed ? open : [...open].sort(byDue);
  order.forEach((e, k) => {
    const owed = e.due;
    const take = useNamed ? namedAmounts![k]! : Math.min(owed, left);
    left -= take;
    shares.push({ invoiceId: e.inv.id, number: e.inv.number, amount: take, remaining: owed - take });
  });
  // named amounts that leave money over: the rest goes in due order before it is an advance
  if (useNamed && left > 0)
    for (const k of order.map((_, k) => k).sort((a, b) => byDue(order[a], order[b]))) {
      const s = shares[k];
      const more = Math.min(s.remaining, left);
      s.amount += more;
      s.remaining -= more;
      left -= more;
    }
  const allocations: InvoiceShare[] = [];
  const settled: Entry[] = [];
  shares.forEach((s, k) => {
    if (s.amount > 0) {
      allocations.push(s);
      settled.push(order[k]);
    }
  });
  ix.settled = settled;
  const flags: MatchFlag[] = [];
  if (isIndividualInn(line.payerInn)) flags.push('receipt_due');
  if (left > 0) flags.push('overpayment');
  return {
    outcome: left > 0 ? 'overpaid' : allocations.some((s) => s.remaining > 0) ? 'partial' : 'matched',
    by,
    allocations,
    advance: left,
    flags,
  };
}
