/**
 * Payment notifications as T-Bank sends them: a JSON POST to NotificationURL; only HTTP 200 with the
 * body `OK` counts as received, anything else is sent again: hourly for a day, then daily for a month
 * (both the intervals and the counts are knobs).
 */

export interface NotifierKnobs {
  /** off: notifications are never sent (lost). */
  callbacks: 'on' | 'off';
  /** Extra copies of every notification. */
  duplicateCallbacks: number;
  /** Each notification leaves this late. */
  callbackDelayMs: number;
  /** Re-sends of the first phase (the real one: hourly, 24 times). */
  resendIntervalMs: number;
  resendLimit: number;
  /** Re-sends of the second phase (the real one: daily, for a month). */
  resendDailyIntervalMs: number;
  resendDailyLimit: number;
}

export interface NotificationDelivery {
  url: string;
  body: Record<string, unknown>;
  /** 1 for the first send, 2 for the first re-send... */
  attempt: number;
  status: number | null;
  /** The first characters of what the merchant answered. */
  answer: string | null;
  /** Received: HTTP 200 and the body OK. */
  ok: boolean;
  error?: string;
  at: number;
}

interface Scheduled {
  dueAt: number;
  promise: Promise<void>;
  timer: NodeJS.Timeout | null;
  resolve: () => void;
}

export class Notifier {
  readonly deliveries: NotificationDelivery[] = [];
  private readonly scheduled = new Set<Scheduled>();
  /** The last first-send per payment: notifications of one payment leave in the order of its statuses. */
  private readonly chains = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly knobs: () => NotifierKnobs) {}

  send(url: string, body: Record<string, unknown>): void {
    const k = this.knobs();
    if (k.callbacks === 'off' || this.stopped) return;
    for (let copy = 0; copy <= k.duplicateCallbacks; copy++) this.schedule(url, body, 1, k.callbackDelayMs, String(body.PaymentId));
  }

  /** Waits for the notifications in flight and those due within `horizonMs` (re-sends included). */
  async settle(horizonMs = 10_000): Promise<void> {
    for (;;) {
      const due = [...this.scheduled].filter((s) => s.dueAt <= Date.now() + horizonMs);
      if (due.length === 0) return;
      await Promise.allSettled(due.map((s) => s.promise));
    }
  }

  /** Notifications waiting to be sent (first sends and re-sends). */
  get waiting(): number {
    return this.scheduled.size;
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.scheduled) {
      if (s.timer) clearTimeout(s.timer);
      s.resolve();
    }
    this.scheduled.clear();
  }

  private schedule(url: string, body: Record<string, unknown>, attempt: number, delayMs: number, chain?: string): void {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    const entry: Scheduled = { dueAt: Date.now() + delayMs, promise, timer: null, resolve };
    const before = chain ? this.chains.get(chain) : undefined;
    if (chain) this.chains.set(chain, promise);
    const fire = async (): Promise<void> => {
      entry.timer = null;
      try {
        await before;
        await this.deliver(url, body, attempt);
      } finally {
        this.scheduled.delete(entry);
        if (chain && this.chains.get(chain) === promise) this.chains.delete(chain);
        resolve();
      }
    };
    this.scheduled.add(entry);
    entry.timer = setTimeout(() => void fire(), Math.max(0, delayMs));
    entry.timer.unref();
  }

  private async deliver(url: string, body: Record<string, unknown>, attempt: number): Promise<void> {
    if (this.stopped) return;
    const record: NotificationDelivery = { url, body, attempt, status: null, answer: null, ok: false, at: Date.now() };
    this.deliveries.push(record);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      record.status = res.status;
      record.answer = (await res.text().catch(() => '')).slice(0, 100);
      record.ok = res.status === 200 && record.answer.trim() === 'OK';
    } catch (e) {
      record.error = (e as Error).message;
    }
    if (record.ok || this.stopped) return;
    const k = this.knobs();
    const next =
      attempt <= k.resendLimit ? k.resendIntervalMs : attempt <= k.resendLimit + k.resendDailyLimit ? k.resendDailyIntervalMs : null;
    if (next !== null) this.schedule(url, body, attempt + 1, next);
  }
}
