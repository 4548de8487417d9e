import { AuthThrottle } from '../../../gateway/http/auth-throttle';

/** Failed authentications per address, on a clock the test moves. */

let now = 1_000_000;
const clock = () => now;

test('past max failures in the window an address waits until its oldest failure leaves the window', () => {
  const t = new AuthThrottle(3, 60_000, clock);
  for (let i = 0; i < 3; i++) {
    expect(t.retryAfterSeconds('10.0.0.1')).toBe(0);
    t.failed('10.0.0.1');
    now += 10_000;
  }
  // failures at 0, 10 and 20 s; now 30 s: the first leaves the window at 60 s
  expect(t.retryAfterSeconds('10.0.0.1')).toBe(30);
  expect(t.retryAfterSeconds('10.0.0.2')).toBe(0);
  now += 30_001;
  expect(t.retryAfterSeconds('10.0.0.1')).toBe(0);
});

test('the number of addresses kept is bounded: the oldest are forgotten first', () => {
  const t = new AuthThrottle(1, 60_000, clock, 2);
  t.failed('a');
  t.failed('b');
  t.failed('c');
  expect(t.retryAfterSeconds('a')).toBe(0);
  expect(t.retryAfterSeconds('b')).toBeGreaterThan(0);
  expect(t.retryAfterSeconds('c')).toBeGreaterThan(0);
});
