import type { Kopecks } from './money';

export const PAYMENT_STATUSES = ['pending', 'paid', 'declined', 'expired', 'cancelled', 'refunded', 'partially_refunded'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** What a provider's status API says about one attempt, already in canonical terms. */
export type ProviderState = 'pending' | 'authorized' | 'paid' | 'declined' | 'expired' | 'reversed' | 'refunded';

export interface ObservedStatus {
  state: ProviderState;
  /** The amount the attempt was registered for. */
  amount: Kopecks;
  /** Money actually taken (deposited). */
  paidAmount: Kopecks;
  /** Money returned so far, all refunds together. */
  refundedAmount: Kopecks;
  /** Provider's own wording or code, for people. */
  reason?: string;
  /** When the money was taken, as the provider says. */
  paidAt?: string;
  /** The payer's bank (СБП) or the card's issuer. */
  payerBank?: string | null;
  /** The provider's answer as it came, for the event log. */
  raw?: unknown;
}

export interface PaymentSnapshot {
  status: PaymentStatus;
  amount: Kopecks;
  refundedAmount: Kopecks;
}

export type Transition =
  | { kind: 'none'; reason?: string }
  | { kind: 'paid'; late: boolean }
  | { kind: 'failed'; status: 'declined' | 'expired' | 'cancelled'; reason?: string }
  | { kind: 'refunded'; status: 'refunded' | 'partially_refunded'; refundedAmount: Kopecks }
  | { kind: 'mismatch'; reason: string };

const FAILED: ReadonlySet<PaymentStatus> = new Set(['declined', 'expired', 'cancelled']);
const SETTLED: ReadonlySet<PaymentStatus> = new Set(['paid', 'partially_refunded', 'refunded']);

export function isFinal(s: PaymentStatus): boolean {
  return s !== 'pending';
}

/**
 * The one place that decides how an observed provider status moves a payment.
 * States only move forward, so duplicate and out-of-order observations are harmless;
 * money actually taken is never ignored, even after the gateway gave the attempt up.
 */
export function decideTransition(current: PaymentSnapshot, observed: ObservedStatus): Transition {
  const tookMoney =
    observed.state === 'paid' || observed.state === 'refunded' || (observed.state === 'reversed' && observed.paidAmount > 0);

  if (tookMoney && observed.paidAmount !== current.amount && observed.paidAmount > 0) {
    if (!SETTLED.has(current.status)) {
      return { kind: 'mismatch', reason: `provider took ${observed.paidAmount} kopecks, the payment is for ${current.amount}` };
    }
  }

  if (current.status === 'pending' || FAILED.has(current.status)) {
    if (tookMoney) {
      if (observed.paidAmount === 0 && observed.state !== 'paid') return { kind: 'none' };
      return { kind: 'paid', late: FAILED.has(current.status) };
    }
    if (current.status !== 'pending') return { kind: 'none' };
    switch (observed.state) {
      case 'declined':
        return { kind: 'failed', status: 'declined', reason: observed.reason };
      case 'expired':
        return { kind: 'failed', status: 'expired', reason: observed.reason };
      case 'reversed':
        return { kind: 'failed', status: 'cancelled', reason: observed.reason };
      default:
        return { kind: 'none' };
    }
  }

  // paid or partly refunded: only refunds move it on, and only upwards.
  const returned = observed.state === 'reversed' ? current.amount : observed.refundedAmount;
  if (returned > current.refundedAmount) {
    const refundedAmount = Math.min(returned, current.amount);
    return { kind: 'refunded', status: refundedAmount >= current.amount ? 'refunded' : 'partially_refunded', refundedAmount };
  }
  return { kind: 'none' };
}

/** The status a payment has after `refunded` kopecks of `amount` went back. */
export function statusAfterRefund(amount: Kopecks, refunded: Kopecks): PaymentStatus {
  return refunded <= 0 ? 'paid' : refunded >= amount ? 'refunded' : 'partially_refunded';
}
