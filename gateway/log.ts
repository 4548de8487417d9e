import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, at any depth. */
const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|api[-_]?key|checksum|signature|^pan$|card.?number|cvc|cvv|^key$/i;
/** `password=...`, `token=...` inside URLs, form bodies and messages. */
const SECRET_IN_TEXT = /\b(password|pass|token|secret|userName|api_?key|checksum)=([^&\s"']+)/gi;
const CARD_NUMBER = /\b(\d{6})\d{6,9}(\d{4})\b/g;

export function scrubText(s: string): string {
  return s.replace(SECRET_IN_TEXT, '$1=[redacted]').replace(CARD_NUMBER, '$1******$2');
}

export function scrub(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (typeof value === 'string') return scrubText(value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value instanceof Error) {
    return {
      type: value.name,
      message: scrubText(value.message),
      stack: value.stack ? scrubText(value.stack) : undefined,
      ...(scrub({ ...value }, depth + 1) as object),
    };
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = SECRET_KEY.test(k) && v !== null && v !== undefined ? '[redacted]' : scrub(v, depth + 1);
    return out;
  }
  return value;
}

export function createLogger(level: string = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'onec-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => scrub(obj) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          // messages are scrubbed too: an error text may quote a URL with credentials. pino makes an
          // error's own message the line's message when none is given: give it the scrubbed one.
          let a: unknown[] = args;
          const first = a[0] as { err?: unknown } | undefined;
          if (first instanceof Error) a = [{ err: first }, first.message, ...a.slice(1)];
          else if (first && typeof first === 'object' && first.err instanceof Error && typeof a[1] !== 'string')
            a = [first, first.err.message, ...a.slice(1)];
          method.apply(this, a.map((x) => (typeof x === 'string' ? scrubText(x) : x)) as Parameters<typeof method>);
        },
      },
      serializers: { err: (e: unknown) => scrub(e) },
    },
    destination,
  );
}
