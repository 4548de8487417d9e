import type { AttemptRef } from '../../ports';
import type { AttemptRow } from '../../store/schema';

/** An attempt as its provider knows it: the ids, the method, the registered amount, the provider's own extras. */
export function attemptRef(a: Pick<AttemptRow, 'provider_ref' | 'order_number' | 'method' | 'amount' | 'provider_extra'>): AttemptRef {
  return {
    providerRef: a.provider_ref,
    orderNumber: a.order_number,
    method: a.method,
    ...(a.amount !== null ? { amount: a.amount } : {}),
    ...(a.provider_extra ? { extra: JSON.parse(a.provider_extra) as Record<string, string> } : {}),
  };
}

/** True once the customer can no longer pay it: the form's session ended or the QR's lifetime passed. */
export function attemptExpired(a: Pick<AttemptRow, 'expires_at'>, now = Date.now()): boolean {
  return a.expires_at !== null && Date.parse(a.expires_at) <= now;
}
