import type { IncomingLine, OpenInvoice } from '../../gateway/domain/statement-matching';

/**
 * A seeded corpus of incoming bank lines and open invoices with the answer known for every line:
 * which invoices it pays and how much of it goes to each, or that a person has to look at it.
 * Built from independent scenarios (each with buyers, invoices and lines of its own, numbers
 * never reused by accident), the adversarial ones included: typos in numbers, another invoice
 * of the same buyer, two buyers due the same amount, a third party paying, partial payments,
 * one payment for several invoices, overpayments, individuals, dates that look like numbers,
 * contract numbers next to invoice numbers, equal numbers of two years, invoices paid twice,
 * invoices paid in instalments.
 */

export type Expected =
  | { kind: 'match'; outcome: 'matched' | 'partial' | 'overpaid'; allocations: { invoiceId: string; amount: number }[]; advance: number }
  | { kind: 'review' };

export interface CorpusLine extends IncomingLine {
  scenario: string;
  expected: Expected;
}

export interface Corpus {
  invoices: OpenInvoice[];
  lines: CorpusLine[];
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * How often an invoice is paid in instalments (several lines for one invoice). The other scenarios
 * bring more invoices than lines (the decoys next to the invoice paid); at this weight the corpus
 * reaches as many invoices as lines, as a statement of a shop whose buyers pay in parts does.
 */
const INSTALMENTS_WEIGHT = 36;
const pad = (n: number, w: number) => String(n).padStart(w, '0');
const rub = (k: number) => `${Math.trunc(k / 100)}-${pad(k % 100, 2)}`;

export function generateCorpus(seed: number, want: { invoices: number; lines: number }): Corpus {
  const rand = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
  const invoices: OpenInvoice[] = [];
  const lines: CorpusLine[] = [];
  let seq = 0;
  let innSeq = 0;
  let lineSeq = 0;
  const usedAmounts = new Set<number>();

  const companyInn = () => `77${pad(10_000_000 + innSeq++, 8)}`;
  const personInn = () => `50${pad(1_000_000_000 + innSeq++, 10)}`;
  /** An amount no other invoice of the corpus is due (so amount-only answers stay known). */
  const amount = () => {
    for (;;) {
      const a = int(1_000, 5_000_000) * 10 + int(0, 9);
      if (!usedAmounts.has(a)) {
        usedAmounts.add(a);
        return a;
      }
    }
  };
  const day = (n: number) => `2026-${pad(1 + (n % 11), 2)}-${pad(1 + (n % 28), 2)}`;

  function invoice(buyerInn: string | null, more: Partial<OpenInvoice> = {}): OpenInvoice {
    const n = ++seq;
    const inv: OpenInvoice = {
      id: `inv-${n}`,
      number: `СЧ00-${pad(n, 6)}`,
      date: day(n),
      orderNumber: rand() < 0.5 ? `ЗК-${pad(n, 6)}` : null,
      buyerInn,
      buyerKpp: buyerInn && buyerInn.length === 10 ? `${buyerInn.slice(0, 4)}01001` : null,
      amountDue: amount(),
      dueDate: `2026-12-${pad(int(1, 28), 2)}`,
      uip: rand() < 0.3 ? `${pad(int(0, 999_999_999), 9)}${pad(n, 16)}` : null,
      ...more,
    };
    invoices.push(inv);
    return inv;
  }

  const LATER = new Set(['partial-rest', 'paid-twice']);
  function line(
    scenario: string,
    payerInn: string | null,
    amountPaid: number,
    purpose: string,
    expected: Expected,
    uip: string | null = null,
    // what follows another line of its scenario (the rest of a partial payment, a second payment) comes a day later
    date = LATER.has(scenario) ? '2026-12-02' : '2026-12-01',
  ) {
    lines.push({
      id: `line-${++lineSeq}`,
      scenario,
      amount: amountPaid,
      date,
      payerInn,
      payerKpp: null,
      purpose,
      uip,
      expected,
    });
  }

  const printed = (inv: OpenInvoice) => String(Number(inv.number.split('-')[1]));
  const written = (inv: OpenInvoice): string => {
    const n = printed(inv);
    const d = inv.date.split('-').reverse().join('.');
    return pick([
      `Оплата по счету № ${n} от ${d}`,
      `Оплата по сч.${n} за товар, НДС не облагается`,
      `счет№${n}`,
      `Оплата по сч. ${n} в т.ч. НДС 22% ${rub((Math.round(inv.amountDue * 22) / 122) | 0)}`,
      `ОПЛАТА ПО СЧЕТУ № ${n} ОТ ${d} Г. СУММА ${rub(inv.amountDue)}`,
      `Оплата по счёту N ${n} от ${d.slice(0, 6)}${d.slice(8)}г`,
      `За товары, по счету №${inv.number} на сумму ${rub(inv.amountDue)}`,
      `По сч.№${n}от${d} г. за комплектующие к дог.№ 321-03/18 от 16.03.2018г.`,
      `Оплата по счету на оплату № ${n} от ${d} по договору № ${int(1, 99)} от 01.02.2025`,
    ]);
  };
  const paid = (inv: OpenInvoice, amountPaid = inv.amountDue): Expected => ({
    kind: 'match',
    outcome: amountPaid < inv.amountDue ? 'partial' : amountPaid > inv.amountDue ? 'overpaid' : 'matched',
    allocations: [{ invoiceId: inv.id, amount: Math.min(amountPaid, inv.amountDue) }],
    advance: Math.max(0, amountPaid - inv.amountDue),
  });
  const REVIEW: Expected = { kind: 'review' };

  /** Each scenario: its buyers, invoices and lines, with the answers. */
  const scenarios: [number, () => void][] = [
    // the УИП copied into «Код», the purpose saying anything
    [
      8,
      () => {
        const b = companyInn();
        const inv = invoice(b, { uip: `${pad(int(0, 999_999_999), 9)}${pad(seq + 1, 16)}` });
        invoice(b);
        line('uip', b, inv.amountDue, pick(['Оплата за товар', 'Оплата по счету', `Оплата по сч. ${printed(inv)}`]), paid(inv), inv.uip);
      },
    ],
    // a number as payers write it
    [
      20,
      () => {
        const b = companyInn();
        const inv = invoice(b);
        invoice(b);
        line('number', b, inv.amountDue, written(inv), paid(inv));
      },
    ],
    // the order number, as 1C's default purpose has it
    [
      8,
      () => {
        const b = companyInn();
        const inv = invoice(b);
        inv.orderNumber = `ЗК-${pad(seq, 6)}`;
        line(
          'order',
          b,
          inv.amountDue,
          pick([`Оплата по заказу клиента №${inv.orderNumber}, НДС не облагается`, `Оплата заказа № ${seq}`]),
          paid(inv),
        );
      },
    ],
    // partial, then the rest
    [
      8,
      () => {
        const b = companyInn();
        const inv = invoice(b);
        const part = Math.floor(inv.amountDue / int(2, 5));
        line('partial', b, part, written(inv), paid(inv, part));
        line('partial-rest', b, inv.amountDue - part, `Доплата по сч. ${printed(inv)}`, {
          kind: 'match',
          outcome: 'matched',
          allocations: [{ invoiceId: inv.id, amount: inv.amountDue - part }],
          advance: 0,
        });
      },
    ],
    // paid in instalments, a day apart, the last one paying the rest
    [
      INSTALMENTS_WEIGHT,
      () => {
        const b = companyInn();
        const inv = invoice(b);
        const count = int(2, 4);
        let left = inv.amountDue;
        for (let k = 1; k <= count; k++) {
          const part = k === count ? left : Math.max(1, Math.floor(inv.amountDue / count));
          left -= part;
          line(
            'instalments',
            b,
            part,
            k === 1 ? written(inv) : pick([`Частичная оплата по сч. ${printed(inv)}`, `Оплата ${k}-й части по счету № ${printed(inv)}`]),
            { kind: 'match', outcome: k === count ? 'matched' : 'partial', allocations: [{ invoiceId: inv.id, amount: part }], advance: 0 },
            null,
            `2026-12-${pad(k, 2)}`,
          );
        }
      },
    ],
    // overpayment: the excess is an advance
    [
      6,
      () => {
        const b = companyInn();
        const inv = invoice(b);
        const more = inv.amountDue + int(1, 500_000);
        line('overpayment', b, more, written(inv), paid(inv, more));
      },
    ],
    // one payment for several invoices: named amounts, or by due date
    [
      8,
      () => {
        const b = companyInn();
        const invs = [invoice(b), invoice(b), ...(rand() < 0.4 ? [invoice(b)] : [])];
        if (rand() < 0.5) {
          const total = invs.reduce((s, i) => s + i.amountDue, 0);
          const list = invs.map((i) => `№${printed(i)}`).join(', ');
          line('split-due-date', b, total, `Оплата по счетам ${list}`, {
            kind: 'match',
            outcome: 'matched',
            allocations: invs.map((i) => ({ invoiceId: i.id, amount: i.amountDue })),
            advance: 0,
          });
        } else {
          const parts = invs.map((i) => Math.max(1, Math.floor(i.amountDue / 2)));
          const list = invs.map((i, k) => `№${printed(i)} на сумму ${rub(parts[k])}`).join(', ');
          line(
            'split-named',
            b,
            parts.reduce((s, p) => s + p, 0),
            `Оплата по счетам ${list}`,
            {
              kind: 'match',
              outcome: 'partial',
              allocations: invs.map((i, k) => ({ invoiceId: i.id, amount: parts[k] })),
              advance: 0,
            },
          );
        }
      },
    ],
    // the payer's ИНН and the amount: no number in the purpose
    [
      8,
      () => {
        const b = companyInn();
        const invs = [invoice(b), invoice(b), invoice(b)];
        const inv = pick(invs);
        line(
          'inn-amount',
          b,
          inv.amountDue,
          pick(['Оплата за товар', 'Оплата по договору поставки', 'Предоплата за товар, НДС не облагается']),
          paid(inv),
        );
      },
    ],
    // the buyer's only open invoice, a part of it
    [
      4,
      () => {
        const b = companyInn();
        const inv = invoice(b);
        const part = Math.floor(inv.amountDue / 3);
        line('inn-only-invoice', b, part, 'Оплата за товар', paid(inv, part));
      },
    ],
    // an individual paying by transfer: matched (a receipt is due)
    [
      6,
      () => {
        const person = rand() < 0.5 ? personInn() : null;
        const inv = invoice(person);
        inv.orderNumber = `ЗК-${pad(seq, 6)}`;
        line('individual', person, inv.amountDue, pick([`Оплата по заказу клиента №${inv.orderNumber}`, written(inv)]), paid(inv));
      },
    ],
    // a date in the purpose that looks like an invoice number of the same buyer
    [
      4,
      () => {
        const b = companyInn();
        const intended = invoice(b);
        const decoy = invoice(b);
        const d = `${printed(decoy)}.${pad(int(1, 12), 2)}.2026`;
        // «Оплата по счету от 12.11.2026»: the number is a date; the amount tells which invoice
        if (Number(printed(decoy)) <= 28)
          line('date-like-number', b, intended.amountDue, `Оплата по счету от ${d} за товар`, paid(intended));
        else line('date-like-number', b, intended.amountDue, `Оплата по счету от ${pad(int(1, 28), 2)}.11.2026`, paid(intended));
      },
    ],
    // a contract number equal to another invoice's number, next to the right one
    [
      4,
      () => {
        const b = companyInn();
        const intended = invoice(b);
        const other = invoice(b);
        line(
          'contract-number',
          b,
          intended.amountDue,
          `Оплата по договору № ${printed(other)} от 01.02.2025, счет № ${printed(intended)}`,
          paid(intended),
        );
      },
    ],
    // equal numbers of two years, the date telling them apart
    [
      3,
      () => {
        const b = companyInn();
        const now = invoice(b, { date: '2026-03-02' });
        invoice(b, { number: `СЧ00-${now.number.split('-')[1]}`, date: '2025-03-02' });
        line('number-year', b, now.amountDue, `Оплата по счету № ${printed(now)} от 02.03.2026`, paid(now));
      },
    ],

    // ---- ambiguous: a person decides
    // a typo: a number nobody has, two invoices of the buyer due the same amount
    [
      4,
      () => {
        const b = companyInn();
        const a = invoice(b);
        invoice(b, { amountDue: a.amountDue });
        line('typo-twin-amounts', b, a.amountDue, `Оплата по счету № ${9_000_000 + seq}`, REVIEW);
      },
    ],
    // a typo that is the number of another invoice of the same buyer (and its amount is the intended one's)
    [
      4,
      () => {
        const b = companyInn();
        const intended = invoice(b);
        const other = invoice(b);
        line('typo-other-invoice', b, intended.amountDue, `Оплата по счету № ${printed(other)}`, REVIEW);
      },
    ],
    // a third party pays: the payer's ИНН is not the buyer's
    [
      5,
      () => {
        const buyer = companyInn();
        const payer = companyInn();
        const inv = invoice(buyer);
        line('other-payer', payer, inv.amountDue, written(inv), REVIEW, rand() < 0.3 ? inv.uip : null);
      },
    ],
    // two buyers due the same amount, the payer is neither and names nothing
    [
      4,
      () => {
        const a = invoice(companyInn());
        invoice(companyInn(), { amountDue: a.amountDue });
        line('same-amount-two-buyers', companyInn(), a.amountDue, 'Оплата за товар', REVIEW);
      },
    ],
    // nothing named, the buyer has several invoices and the amount fits none
    [
      4,
      () => {
        const b = companyInn();
        const a = invoice(b);
        const c = invoice(b);
        line('inn-no-amount', b, a.amountDue + c.amountDue + int(1, 999), 'Оплата за товар', REVIEW);
      },
    ],
    // equal numbers of two years, no date
    [
      2,
      () => {
        const b = companyInn();
        const now = invoice(b, { date: '2026-04-03' });
        invoice(b, { number: `СЧ00-${now.number.split('-')[1]}`, date: '2025-04-03' });
        line('number-year-no-date', b, now.amountDue, `Оплата по счету № ${printed(now)}`, REVIEW);
      },
    ],
    // paid twice
    [
      3,
      () => {
        const b = companyInn();
        const inv = invoice(b);
        invoice(b);
        line('paid', b, inv.amountDue, written(inv), paid(inv));
        line('paid-twice', b, inv.amountDue, written(inv), REVIEW);
      },
    ],
    // an individual without ИНН naming nothing
    [
      3,
      () => {
        invoice(null);
        line('individual-nothing', null, amount(), 'Перевод средств', REVIEW);
      },
    ],
    // not the shop's money: bank orders, refunds of suppliers, strangers
    [
      3,
      () => {
        line(
          'stranger',
          companyInn(),
          amount(),
          pick([
            'Возврат излишне уплаченных средств по договору 7',
            'Оплата стоимости пакета услуг "Всё по делу" за период с 01/01/2026 по 31/12/2026',
            `Оплата по счету № ${9_500_000 + seq} от 01.12.2026`,
          ]),
          REVIEW,
        );
      },
    ],
  ];
  const weights = scenarios.reduce((s, [w]) => s + w, 0);

  while (invoices.length < want.invoices || lines.length < want.lines) {
    let r = rand() * weights;
    for (const [w, make] of scenarios) {
      r -= w;
      if (r < 0) {
        make();
        break;
      }
    }
  }
  return { invoices, lines };
}
