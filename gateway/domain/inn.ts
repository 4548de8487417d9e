/**
 * ИНН and КПП as the tax service issues them: a company's ИНН has 10 digits with one check digit, an
 * individual's (and an individual entrepreneur's) 12 digits with two; the check digits are weighted
 * sums mod 11 mod 10 (Приказ ФНС, the algorithm every 1C configuration checks with). A КПП has 9
 * characters: 4 digits (the tax office), 2 digits or capital Latin letters (the reason), 3 digits.
 */

const W10 = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const W11 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const W12 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

function check(digits: number[], weights: number[]): number {
  return (weights.reduce((s, w, i) => s + w * digits[i], 0) % 11) % 10;
}

/** Why `inn` is not a valid ИНН, or null when it is. */
export function innProblem(inn: string): string | null {
  if (!/^\d{10}(\d{2})?$/.test(inn)) return '10 digits (company) or 12 digits (individual, individual entrepreneur)';
  const d = [...inn].map(Number);
  const ok = d.length === 10 ? check(d, W10) === d[9] : check(d, W11) === d[10] && check(d, W12) === d[11];
  return ok ? null : 'the check digits do not match: not a valid ИНН';
}

/** Why `kpp` is not a valid КПП, or null when it is. */
export function kppProblem(kpp: string): string | null {
  return /^\d{4}[\dA-Z]{2}\d{3}$/.test(kpp) ? null : '9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits';
}
