/**
 * What a bank's raw answer may not keep when it is stored (PCI DSS): the cardholder's name and the
 * card's expiry go, a card number is kept as its first 6 and last 4 digits. Everything else of the
 * answer stays as it came, for support and reconciliation.
 */

/** Keys whose values are removed wherever they appear: names, expiry dates, codes. */
const REMOVED = /^(card_?holder(_?name)?|holder_?name|expiration|exp_?date|expiry(_?date)?|exp_?(month|year)|cvc2?|cvv2?|cvn)$/i;
/** Keys holding a card number (full or masked). */
const PAN_KEYS = /^(pan|masked_?pan|card_?number|card_?pan|pan_?masked)$/i;
/** A card number as digits, possibly masked already (12 to 19 characters of digits and masks). */
const PAN = /^[0-9*Xx•]{12,19}$/;

/** The first 6 and the last 4 digits of a card number, the rest masked; a value that is no card number (a masked phone) as it is. */
export function maskPan(value: string): string {
  const compact = value.replace(/[\s-]/g, '');
  if (!PAN.test(compact)) return value;
  return `${compact.slice(0, 6)}${'*'.repeat(compact.length - 10)}${compact.slice(-4)}`;
}

const KEEP = 0;
const REMOVE = 1;
const PAN_KEY = 2;
/** What each key seen so far says, as a provider's answers use the same few dozen keys over and over. */
const verdicts = new Map<string, typeof KEEP | typeof REMOVE | typeof PAN_KEY>();

function verdict(key: string): typeof KEEP | typeof REMOVE | typeof PAN_KEY {
  let v = verdicts.get(key);
  if (v === undefined) {
    v = REMOVED.test(key) ? REMOVE : PAN_KEYS.test(key) ? PAN_KEY : KEEP;
    // keys come from outside too (a callback's parameters): only so many are remembered
    if (verdicts.size < 2000) verdicts.set(key, v);
  }
  return v;
}

/** A copy of `raw` without cardholder data, at any depth. */
export function withoutCardData(raw: unknown): unknown {
  if (Array.isArray(raw)) return raw.map(withoutCardData);
  if (!raw || typeof raw !== 'object') return raw;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(raw)) {
    const v = (raw as Record<string, unknown>)[k];
    switch (verdict(k)) {
      case REMOVE:
        break;
      case PAN_KEY:
        out[k] = typeof v === 'string' ? maskPan(v) : withoutCardData(v);
        break;
      default:
        out[k] = v === null || typeof v !== 'object' ? v : withoutCardData(v);
    }
  }
  return out;
}
