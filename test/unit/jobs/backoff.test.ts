import { backoffMs } from '../../../gateway/jobs/backoff';

const s = { backoffBaseMs: 1000, backoffMaxMs: 60_000 };

describe('backoffMs', () => {
  test('grows exponentially from the base (upper end of the jitter)', () => {
    const top = () => 1;
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, s, top))).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  test('lower end of the jitter is half the exponential', () => {
    const bottom = () => 0;
    expect([1, 2, 3].map((n) => backoffMs(n, s, bottom))).toEqual([500, 1000, 2000]);
  });

  test('capped at backoffMaxMs, also for huge attempt numbers', () => {
    expect(backoffMs(7, s, () => 1)).toBe(60_000);
    expect(backoffMs(1000, s, () => 1)).toBe(60_000);
    expect(backoffMs(1000, s, () => 0)).toBe(30_000);
  });

  test('always within [exp/2, exp]', () => {
    for (const r of [0, 0.1, 0.5, 0.999999]) {
      for (let attempt = 1; attempt <= 30; attempt++) {
        const exp = Math.min(s.backoffMaxMs, s.backoffBaseMs * 2 ** (attempt - 1));
        const v = backoffMs(attempt, s, () => r);
        expect(v).toBeGreaterThanOrEqual(exp / 2);
        expect(v).toBeLessThanOrEqual(exp);
      }
    }
  });

  test('the random function actually moves the delay', () => {
    expect(backoffMs(3, s, () => 0.5)).toBe(3000);
  });
});
