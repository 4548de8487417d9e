import { MAX_KOPECKS, type Kopecks } from './money';

/**
 * A sum in Russian words as an accountant writes it on an invoice or a payment order:
 * the rubles in words, the kopecks in two digits, «Одна тысяча двадцать один рубль 01 копейка».
 */

type Gender = 'm' | 'f';

/** The three forms of a counted noun: one, two–four, five and more (рубль / рубля / рублей). */
type Forms = readonly [string, string, string];

const ONES_M = ['', 'один', 'два', 'три', 'четыре', 'пять', 'шесть', 'семь', 'восемь', 'девять'];
const ONES_F = ['', 'одна', 'две', 'три', 'четыре', 'пять', 'шесть', 'семь', 'восемь', 'девять'];
const TEENS = [
  'десять',
  'одиннадцать',
  'двенадцать',
  'тринадцать',
  'четырнадцать',
  'пятнадцать',
  'шестнадцать',
  'семнадцать',
  'восемнадцать',
  'девятнадцать',
];
const TENS = ['', '', 'двадцать', 'тридцать', 'сорок', 'пятьдесят', 'шестьдесят', 'семьдесят', 'восемьдесят', 'девяносто'];
const HUNDREDS = ['', 'сто', 'двести', 'триста', 'четыреста', 'пятьсот', 'шестьсот', 'семьсот', 'восемьсот', 'девятьсот'];

/** Thousands and up, from the lowest; each with its gender (одна тысяча, один миллион). */
const SCALES: readonly { forms: Forms; gender: Gender }[] = [
  { forms: ['тысяча', 'тысячи', 'тысяч'], gender: 'f' },
  { forms: ['миллион', 'миллиона', 'миллионов'], gender: 'm' },
  { forms: ['миллиард', 'миллиарда', 'миллиардов'], gender: 'm' },
  { forms: ['триллион', 'триллиона', 'триллионов'], gender: 'm' },
];

const RUBLES: Forms = ['рубль', 'рубля', 'рублей'];
const KOPECKS: Forms = ['копейка', 'копейки', 'копеек'];

/** The form of a noun counted by n: 1, 21, 101 → one; 2–4, 22–24 → two; 0, 5–20, 11–14, 111 → five. */
export function pluralForm(n: number, forms: Forms): string {
  const lastTwo = n % 100;
  const last = n % 10;
  if (lastTwo >= 11 && lastTwo <= 14) return forms[2];
  if (last === 1) return forms[0];
  if (last >= 2 && last <= 4) return forms[1];
  return forms[2];
}

/** 1–999 in words. */
function triad(n: number, gender: Gender): string[] {
  const words: string[] = [];
  const h = Math.floor(n / 100);
  const rest = n % 100;
  if (h > 0) words.push(HUNDREDS[h]);
  if (rest >= 10 && rest <= 19) {
    words.push(TEENS[rest - 10]);
  } else {
    const t = Math.floor(rest / 10);
    const o = rest % 10;
    if (t > 0) words.push(TENS[t]);
    if (o > 0) words.push((gender === 'f' ? ONES_F : ONES_M)[o]);
  }
  return words;
}

/** A whole number of rubles in words, lower case, without the word «рублей»: «одна тысяча двадцать один». */
export function integerInWords(n: number, gender: Gender = 'm'): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a whole number of rubles: ${n}`);
  if (n === 0) return 'ноль';
  const words: string[] = [];
  const groups: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 1000)) groups.push(rest % 1000);
  if (groups.length > SCALES.length + 1) throw new RangeError(`too large to write in words: ${n}`);
  for (let i = groups.length - 1; i >= 0; i--) {
    const g = groups[i];
    if (g === 0) continue;
    if (i === 0) {
      words.push(...triad(g, gender));
    } else {
      const scale = SCALES[i - 1];
      words.push(...triad(g, scale.gender), pluralForm(g, scale.forms));
    }
  }
  return words.join(' ');
}

/**
 * «Одна тысяча двадцать один рубль 01 копейка», «Два миллиона рублей 00 копеек», «Ноль рублей 50 копеек».
 * The first letter is a capital; the kopecks are always two digits with their own word form.
 */
export function amountInWords(amount: Kopecks): string {
  if (!Number.isSafeInteger(amount) || amount < 0 || amount > MAX_KOPECKS) {
    throw new RangeError(`not an amount in kopecks between 0 and ${MAX_KOPECKS}: ${amount}`);
  }
  const rubles = Math.floor(amount / 100);
  const kopecks = amount % 100;
  const text = `${integerInWords(rubles)} ${pluralForm(rubles, RUBLES)} ${String(kopecks).padStart(2, '0')} ${pluralForm(kopecks, KOPECKS)}`;
  return text.charAt(0).toUpperCase() + text.slice(1);
}
