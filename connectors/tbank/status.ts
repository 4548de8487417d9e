import type { Kopecks } from '../../gateway/domain/money';
import type { ObservedStatus } from '../../gateway/domain/payment-state';
import type { GetStateResponse } from './types';

/**
 * GetState in canonical terms.
 *
 * Amounts: after a partial refund (or reversal) T-Bank's `Amount` is what is LEFT of the payment, not
 * what it was registered for, so the registered amount (`registered`, kept with the attempt) is the
 * base: refunded = registered − Amount (a payment confirmed for less than its hold is not told apart:
 * the gateway never confirms partially). CONFIRMED has had no return yet, so there Amount is what was
 * taken. Without the registered amount the reported Amount is all there is, and a partial
 * refund cannot be told apart from a smaller payment: the reason says so.
 *
 * The *-ING states are the bank working on a request. Before money moved (AUTHORIZING, 3DS_*) they are
 * pending. After it moved they keep the meaning of the state they left, since the operation may still
 * fail and the money then stays where it is: CONFIRMING (capture of a hold under way) and REVERSING
 * (release of a hold under way) are still `authorized`; REFUNDING (a return under way) is still `paid`
 * with what was returned before. Reading REFUNDING as pending would hide that money was taken from an
 * attempt whose CONFIRMED notification was lost.
 */
export function toObserved(r: GetStateResponse, registered?: Kopecks): ObservedStatus {
  const reported = typeof r.Amount === 'number' && Number.isSafeInteger(r.Amount) && r.Amount >= 0 ? r.Amount : 0;
  const amount = registered ?? reported;
  const left = Math.min(reported, amount);
  const returned = amount - left;
  const unknownBase =
    registered === undefined ? 'the registered amount is unknown: refunds cannot be told from the remaining amount' : undefined;
  const reason = r.Message && r.Message !== 'OK' && r.Message !== 'None' ? r.Message : undefined;
  const base = { amount, paidAmount: 0, refundedAmount: 0, reason, raw: r };
  switch (r.Status) {
    case 'NEW':
    case 'FORM_SHOWED':
    case 'AUTHORIZING':
    case '3DS_CHECKING':
    case '3DS_CHECKED':
      return { ...base, state: 'pending' };
    case 'AUTHORIZED':
    case 'CONFIRMING':
    case 'REVERSING':
      return { ...base, state: 'authorized' };
    case 'CONFIRMED':
      // nothing returned yet (a return makes it PARTIAL_REFUNDED); a hold confirmed for less reports what was taken
      return { ...base, state: 'paid', paidAmount: typeof r.Amount === 'number' ? left : amount };
    case 'REFUNDING':
    case 'PARTIAL_REFUNDED':
      return { ...base, state: 'paid', paidAmount: amount, refundedAmount: returned, reason: unknownBase ?? reason };
    case 'REFUNDED':
      return { ...base, state: 'refunded', paidAmount: amount, refundedAmount: amount, reason: unknownBase ?? reason };
    case 'PARTIAL_REVERSED':
    case 'REVERSED':
      // a hold released (all or part of it): nothing was taken
      return { ...base, state: 'reversed' };
    case 'CANCELED':
      // given up before it was paid
      return { ...base, state: 'reversed' };
    case 'REJECTED':
    case 'AUTH_FAIL':
      return { ...base, state: 'declined', reason: reason ?? declineReason(r) };
    case 'DEADLINE_EXPIRED':
      return { ...base, state: 'expired' };
    default:
      return { ...base, state: 'pending', reason: `unknown T-Bank status ${String(r.Status).slice(0, 40)}` };
  }
}

function declineReason(r: GetStateResponse): string | undefined {
  return r.ErrorCode && r.ErrorCode !== '0' ? `ErrorCode ${r.ErrorCode}` : undefined;
}
