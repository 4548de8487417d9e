import { decideTransition, type ObservedStatus, type PaymentSnapshot, type PaymentStatus } from '../../../gateway/domain/payment-state';

const AMOUNT = 150000;

function snap(status: PaymentStatus, refundedAmount = 0): PaymentSnapshot {
  return { status, amount: AMOUNT, refundedAmount };
}

function obs(state: ObservedStatus['state'], over: Partial<ObservedStatus> = {}): ObservedStatus {
  const took = state === 'paid' || state === 'refunded';
  return { state, amount: AMOUNT, paidAmount: took ? AMOUNT : 0, refundedAmount: state === 'refunded' ? AMOUNT : 0, ...over };
}

describe('decideTransition from pending', () => {
  test('paid → paid, not late', () => {
    expect(decideTransition(snap('pending'), obs('paid'))).toEqual({ kind: 'paid', late: false });
  });

  test('declined / expired / reversed-unpaid → failed with the matching status', () => {
    expect(decideTransition(snap('pending'), obs('declined', { reason: 'Отказ банка' }))).toEqual({
      kind: 'failed',
      status: 'declined',
      reason: 'Отказ банка',
    });
    expect(decideTransition(snap('pending'), obs('expired'))).toMatchObject({ kind: 'failed', status: 'expired' });
    expect(decideTransition(snap('pending'), obs('reversed'))).toMatchObject({ kind: 'failed', status: 'cancelled' });
  });

  test('still pending or only authorized → none', () => {
    expect(decideTransition(snap('pending'), obs('pending')).kind).toBe('none');
    expect(decideTransition(snap('pending'), obs('authorized')).kind).toBe('none');
  });

  test('provider took a different amount → mismatch, never paid', () => {
    const t = decideTransition(snap('pending'), obs('paid', { paidAmount: 100000 }));
    expect(t.kind).toBe('mismatch');
    if (t.kind === 'mismatch') expect(t.reason).toContain('100000');
  });

  test('observed refunded while pending → paid first; fed back, the second step refunds', () => {
    const first = decideTransition(snap('pending'), obs('refunded'));
    expect(first).toEqual({ kind: 'paid', late: false });
    const second = decideTransition(snap('paid'), obs('refunded'));
    expect(second).toEqual({ kind: 'refunded', status: 'refunded', refundedAmount: AMOUNT });
  });
});

describe('decideTransition: duplicates and out-of-order observations', () => {
  test('paid, then observed pending → none', () => {
    expect(decideTransition(snap('paid'), obs('pending')).kind).toBe('none');
  });

  test('paid, then observed paid again → none', () => {
    expect(decideTransition(snap('paid'), obs('paid')).kind).toBe('none');
  });

  test('declined, then declined again or pending → none', () => {
    expect(decideTransition(snap('declined'), obs('declined')).kind).toBe('none');
    expect(decideTransition(snap('declined'), obs('pending')).kind).toBe('none');
  });
});

describe('decideTransition: money after the attempt was given up', () => {
  test('late payment after expired → paid with late=true', () => {
    expect(decideTransition(snap('expired'), obs('paid'))).toEqual({ kind: 'paid', late: true });
  });

  test('late payment after cancelled → paid with late=true', () => {
    expect(decideTransition(snap('cancelled'), obs('paid'))).toEqual({ kind: 'paid', late: true });
  });

  test('late payment of a wrong amount → mismatch', () => {
    expect(decideTransition(snap('expired'), obs('paid', { paidAmount: AMOUNT + 1 })).kind).toBe('mismatch');
  });
});

describe('decideTransition after payment: refunds only move upwards', () => {
  test('paid → partially_refunded → refunded', () => {
    const partial = decideTransition(snap('paid'), obs('refunded', { refundedAmount: 50000 }));
    expect(partial).toEqual({ kind: 'refunded', status: 'partially_refunded', refundedAmount: 50000 });
    const full = decideTransition(snap('partially_refunded', 50000), obs('refunded', { refundedAmount: AMOUNT }));
    expect(full).toEqual({ kind: 'refunded', status: 'refunded', refundedAmount: AMOUNT });
  });

  test('a stale smaller refund amount does not move it back', () => {
    expect(decideTransition(snap('partially_refunded', 80000), obs('refunded', { refundedAmount: 50000 })).kind).toBe('none');
    expect(decideTransition(snap('partially_refunded', 80000), obs('paid')).kind).toBe('none');
    expect(decideTransition(snap('refunded', AMOUNT), obs('refunded', { refundedAmount: 50000 })).kind).toBe('none');
  });

  test('refunded amount is capped at the payment amount', () => {
    expect(decideTransition(snap('paid'), obs('refunded', { refundedAmount: AMOUNT * 2 }))).toEqual({
      kind: 'refunded',
      status: 'refunded',
      refundedAmount: AMOUNT,
    });
  });

  test('reversed after paid → refunded in full', () => {
    expect(decideTransition(snap('paid'), obs('reversed', { paidAmount: AMOUNT }))).toEqual({
      kind: 'refunded',
      status: 'refunded',
      refundedAmount: AMOUNT,
    });
    expect(decideTransition(snap('paid'), obs('reversed'))).toEqual({ kind: 'refunded', status: 'refunded', refundedAmount: AMOUNT });
  });
});
