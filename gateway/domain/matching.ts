import type { Kopecks } from './money';

/**
 * Which order lines a payment (or a refund) pays, for reconciliation line by line. Pure: the
 * lines of the order with what earlier operations already settled on each, and one amount.
 */

export interface LineToSettle {
  sku: string;
  name: string;
  amount: Kopecks;
}

export interface LineShare {
  /** 0-based index of the order line. */
  line: number;
  sku: string;
  name: string;
  amount: Kopecks;
}

export interface Allocation {
  lines: LineShare[];
  /** Paid beyond what the lines still owed (an overpayment), or returned beyond what was paid. */
  excess: Kopecks;
  /** whole-lines: the amount is exactly a set of whole lines; in-order: the lines in order, the last one partly. */
  rule: 'whole-lines' | 'in-order' | 'none';
}

/** How much each line still owes, given what earlier operations settled on it. */
export function owedPerLine(lines: LineToSettle[], settled: Kopecks[]): Kopecks[] {
  return lines.map((l, i) => Math.max(0, l.amount - (settled[i] ?? 0)));
}

/** The per-line totals of earlier allocations (payments add, refunds subtract). */
export function settledPerLine(count: number, earlier: { sign: 1 | -1; lines: LineShare[] }[]): Kopecks[] {
  const out: Kopecks[] = Array.from({ length: count }, () => 0);
  for (const op of earlier) for (const s of op.lines) if (s.line < count) out[s.line] += op.sign * s.amount;
  return out.map((v) => Math.max(0, v));
}

/** The first set of whole owed lines (in line order) that adds up to `amount` exactly; null if none. */
function wholeLines(owed: Kopecks[], amount: Kopecks): number[] | null {
  const open = owed.map((v, i) => [i, v] as const).filter(([, v]) => v > 0);
  if (open.length === 0) return null;
  // an order has tens of lines at most; the search is bounded all the same
  let budget = 20_000;
  const pick: number[] = [];
  const suffix: Kopecks[] = [];
  for (let k = open.length - 1, acc = 0; k >= 0; k--) suffix[k] = acc += open[k][1];
  const walk = (k: number, left: Kopecks): boolean => {
    if (left === 0) return true;
    if (k >= open.length || left < 0 || suffix[k] < left || --budget <= 0) return false;
    pick.push(open[k][0]);
    if (walk(k + 1, left - open[k][1])) return true;
    pick.pop();
    return walk(k + 1, left);
  };
  return walk(0, amount) ? pick : null;
}

/**
 * A payment of `amount` against lines owing `owed`: a set of whole lines when the amount is
 * exactly that (one payment covering some lines), otherwise the lines in order with the last one
 * partly paid (a partial payment); anything beyond what is owed is the excess.
 */
export function allocatePayment(lines: LineToSettle[], owed: Kopecks[], amount: Kopecks): Allocation {
  const share = (i: number, a: Kopecks): LineShare => ({ line: i, sku: lines[i].sku, name: lines[i].name, amount: a });
  const totalOwed = owed.reduce((s, v) => s + v, 0);
  if (amount <= 0 || totalOwed === 0) return { lines: [], excess: Math.max(0, amount), rule: 'none' };
  if (amount < totalOwed) {
    const whole = wholeLines(owed, amount);
    if (whole) return { lines: whole.map((i) => share(i, owed[i])), excess: 0, rule: 'whole-lines' };
  }
  const out: LineShare[] = [];
  let left = amount;
  for (let i = 0; i < owed.length && left > 0; i++) {
    const a = Math.min(owed[i], left);
    if (a > 0) out.push(share(i, a));
    left -= a;
  }
  return { lines: out, excess: left, rule: amount >= totalOwed ? 'whole-lines' : 'in-order' };
}

/** A refund of `amount` taken back from what a payment paid, last lines first (the reverse of paying). */
export function allocateRefund(paid: LineShare[], alreadyReturned: Kopecks[], amount: Kopecks): Allocation {
  const byLine = new Map<number, LineShare>();
  for (const s of paid) byLine.set(s.line, { ...s, amount: (byLine.get(s.line)?.amount ?? 0) + s.amount });
  const out: LineShare[] = [];
  let left = amount;
  for (const s of [...byLine.values()].sort((a, b) => b.line - a.line)) {
    if (left <= 0) break;
    const room = Math.max(0, s.amount - (alreadyReturned[s.line] ?? 0));
    const a = Math.min(room, left);
    if (a > 0) out.push({ ...s, amount: a });
    left -= a;
  }
  return { lines: out.sort((a, b) => a.line - b.line), excess: Math.max(0, left), rule: out.length ? 'in-order' : 'none' };
}
