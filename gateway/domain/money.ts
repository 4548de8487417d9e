/**
 * Money is an integer number of kopecks everywhere inside the gateway.
 * Conversion to rubles happens only at the edges (a provider's API, a printed page).
 */
export type Kopecks = number;

export const MAX_KOPECKS = 1_000_000_000_000_00; // one trillion rubles: far above any real payment, far below 2^53

export function isKopecks(v: unknown): v is Kopecks {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= MAX_KOPECKS;
}

/** A quantity has at most three decimal places (grams of a kilogram); it is kept as thousandths internally. */
export function quantityThousandths(quantity: number): number | null {
  if (!Number.isFinite(quantity) || quantity <= 0) return null;
  const t = Math.round(quantity * 1000);
  if (Math.abs(quantity * 1000 - t) > 1e-6 || !Number.isSafeInteger(t)) return null;
  return t;
}

/**
 * price × quantity rounded to a kopeck, half away from zero (the usual commercial rounding,
 * and what 1C does for line sums). Computed in integers.
 */
export function lineAmount(price: Kopecks, quantity: number): Kopecks {
  const q = quantityThousandths(quantity);
  if (q === null) throw new RangeError(`quantity ${quantity} has more than 3 decimal places or is not positive`);
  const product = BigInt(price) * BigInt(q);
  return Number((product + 500n) / 1000n);
}

export function sum(values: readonly Kopecks[]): Kopecks {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** "1500.00": rubles with two decimals, as ATOL and decimal-money APIs want them. */
export function toRubleString(k: Kopecks): string {
  const sign = k < 0 ? '-' : '';
  const a = Math.abs(k);
  return `${sign}${Math.trunc(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

/** "1 500,00 ₽": for pages and messages read by people. */
export function formatRub(k: Kopecks): string {
  const [r, c] = toRubleString(k).split('.');
  return `${r.replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0')},${c}\u00a0₽`;
}
