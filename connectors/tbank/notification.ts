import { createHash } from 'node:crypto';
import type { InboundWebhook, WebhookResult } from '../../gateway/ports';
import { signedFieldsOfJson, tokenSource, verifyTbankToken } from './token';
import { isPaymentStatus } from './types';

/** Statuses whose notification names the money taken; refund notifications carry other amounts. */
const AMOUNT_STATUSES = new Set(['AUTHORIZED', 'CONFIRMED']);

/**
 * Verifies a payment notification: a JSON POST signed like a request (Token over the root scalars;
 * nested objects such as Data and Receipt never enter it). Pure: the status API decides what happened.
 */
export function verifyNotification(req: InboundWebhook, terminalKey: string, password: string): WebhookResult {
  const text = req.rawBody.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, refused: 'signature', reason: 'the body is not JSON' };
  }
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return { ok: false, refused: 'signature', reason: 'the body is not a JSON object' };
  const fields = signedFieldsOfJson(text);
  if (!fields) return { ok: false, refused: 'signature', reason: 'the body is not a JSON object' };
  const n = body as Record<string, unknown>;
  if (typeof n.Token !== 'string' || !n.Token) return { ok: false, refused: 'signature', reason: 'no Token' };
  if (!verifyTbankToken(text, password)) return { ok: false, refused: 'signature', reason: 'Token does not verify' };
  if (n.TerminalKey !== terminalKey)
    return { ok: false, refused: 'content', reason: `TerminalKey ${String(n.TerminalKey).slice(0, 40)} is not ours` };
  if (!isPaymentStatus(n.Status)) return { ok: false, refused: 'content', reason: `unknown Status ${String(n.Status).slice(0, 40)}` };
  // the literal text: PaymentId may have more digits than a JavaScript number keeps
  const paymentId = fields.get('PaymentId');
  if (!paymentId || !/^\d{1,20}$/.test(paymentId)) return { ok: false, refused: 'content', reason: 'PaymentId missing or not a number' };
  if (typeof n.OrderId !== 'string' || !n.OrderId) return { ok: false, refused: 'content', reason: 'OrderId missing' };
  const success = n.Success === true || n.Success === 'true';
  const amount =
    AMOUNT_STATUSES.has(n.Status) && typeof n.Amount === 'number' && Number.isSafeInteger(n.Amount) && n.Amount >= 0 ? n.Amount : undefined;
  // the signed content without the password, field order and whitespace aside: the same for every re-send
  const fingerprint = createHash('sha256').update(tokenSource(fields, '')).digest('hex').slice(0, 24);
  return {
    ok: true,
    event: {
      ref: { providerRef: paymentId, orderNumber: n.OrderId },
      dedupeKey: `tbank:${paymentId}:${n.Status}:${fingerprint}`,
      operation: n.Status,
      success,
      amount,
    },
  };
}
