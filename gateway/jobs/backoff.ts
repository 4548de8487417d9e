import type { RunnerSettings } from './types';

/** Exponential backoff with jitter: base·2^(n-1) capped, then a random point in its upper half. */
export function backoffMs(
  attempt: number,
  s: Pick<RunnerSettings, 'backoffBaseMs' | 'backoffMaxMs'>,
  random: () => number = Math.random,
): number {
  const exp = Math.min(s.backoffMaxMs, s.backoffBaseMs * 2 ** Math.max(0, Math.min(attempt - 1, 40)));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
