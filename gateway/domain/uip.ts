/**
 * The payment identifier (УИП) 1C:Управление торговлей 11 puts on its documents for field 22 «Код» of
 * the payment order, computed as УТ computes it (ОбщегоНазначенияУТ.ПолучитьУникальныйИдентификаторПлатежа):
 * the document kind's prefix (СЧ for an invoice, ЗК for an order), the date as yyMM and the number without
 * «-»; any other character but a digit or a letter becomes «0»; padded on the right with «0» to 19
 * characters (or cut to 19); then a check digit: the sum of each character's value times a weight cycling
 * 1…10, mod 11 — a result of 10 is computed again with the weights starting at 3, and a second 10 is 0.
 * A letter's value is its place in УТ's table, mod 10 (Cyrillic А=1 … Я=28; Latin by likeness: A=1, B=3, C=17 …).
 */

const LETTER_VALUES: Record<string, number> = {
  А: 1, Б: 2, В: 3, Г: 4, Д: 5, Е: 6, Ж: 7, З: 8, И: 9, К: 10, Л: 11, М: 12, Н: 13, О: 14, П: 15, Р: 16, С: 17, Т: 18,
  У: 19, Ф: 20, Х: 21, Ц: 22, Ч: 23, Ш: 24, Щ: 25, Э: 26, Ю: 27, Я: 28, Ъ: 33, Ы: 36, Ь: 46,
  A: 1, B: 3, C: 17, D: 29, E: 6, F: 30, G: 31, H: 13, I: 32, J: 33, K: 10, L: 34, M: 12, N: 35, O: 14, P: 16, Q: 36,
  R: 37, S: 38, T: 18, U: 39, V: 40, W: 41, X: 21, Y: 19, Z: 42,
}; // prettier-ignore

/** The prefixes of УТ's documents. */
export const UIP_PREFIX = { invoice: 'СЧ', order: 'ЗК' } as const;

function value(ch: string): number {
  if (ch >= '0' && ch <= '9') return Number(ch);
  return LETTER_VALUES[ch] % 10;
}

function checkDigit(code: string, shift: number): number {
  let sum = 0;
  let weight = 1 + shift;
  for (const ch of code) {
    sum += weight * value(ch);
    weight = weight === 10 ? 1 : weight + 1;
  }
  const r = sum % 11;
  if (r !== 10) return r;
  return shift === 0 ? checkDigit(code, 2) : 0;
}

/** The 20-character УИП of a document of `date` (YYYY-MM-DD) numbered `number`. */
export function uipOf(prefix: string, date: string, number: string): string {
  const raw = `${prefix}${date.slice(2, 4)}${date.slice(5, 7)}${number.replace(/-/g, '')}`.toUpperCase();
  const cleaned = [...raw].map((ch) => ((ch >= '0' && ch <= '9') || ch in LETTER_VALUES ? ch : '0')).join('');
  const code = cleaned.length < 19 ? cleaned.padEnd(19, '0') : cleaned.slice(0, 19);
  return `${code}${checkDigit(code, 0)}`;
}
