/**
 * Failed authentications per client address (site, admin and 1C keys, the exchange's password): past
 * `maxFailures` within the window the address is answered 429 until its oldest failure leaves the
 * window, and no key it sends is even checked. Kept in the process: behind several gateway processes
 * each holds its own count, which still bounds a guesser to a few tries a minute per process.
 */
export class AuthThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    /** Addresses tracked at most; past it the oldest are forgotten (a flood of addresses cannot exhaust memory). */
    private readonly maxAddresses = 100_000,
  ) {}

  /** Seconds the address must wait before it may try again; 0 when it may try now. */
  retryAfterSeconds(address: string): number {
    const times = this.recent(address);
    if (times.length < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((times[times.length - this.maxFailures] + this.windowMs - this.now()) / 1000));
  }

  failed(address: string): void {
    const times = this.recent(address);
    times.push(this.now());
    this.failures.delete(address);
    this.failures.set(address, times);
    if (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value!);
  }

  private recent(address: string): number[] {
    const since = this.now() - this.windowMs;
    const times = (this.failures.get(address) ?? []).filter((t) => t > since);
    if (times.length === 0) this.failures.delete(address);
    return times;
  }
}
