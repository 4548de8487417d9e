import type { Kopecks } from './domain/money';
import type { ObservedStatus } from './domain/payment-state';

/**
 * The interfaces outside systems are reached through. Connectors implement them;
 * flows call them. Nothing here does I/O.
 */

/** A failure talking to an outside system. `retryable` tells a job whether trying later can help. */
export class ExternalError extends Error {
  readonly system: string;
  readonly retryable: boolean;
  readonly code?: string;
  constructor(system: string, message: string, opts: { retryable: boolean; code?: string; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = 'ExternalError';
    this.system = system;
    this.retryable = opts.retryable;
    this.code = opts.code;
  }
}

/** The provider does not know the thing asked about (an order number it never registered). */
export class ProviderNotFoundError extends ExternalError {
  constructor(system: string, message: string) {
    super(system, message, { retryable: false, code: 'not_found' });
    this.name = 'ProviderNotFoundError';
  }
}

// ---------------------------------------------------------------- acquiring

export type ProviderName = 'sber';

/** What the customer is to do next. */
export type PaymentAction =
  | { type: 'redirect'; url: string }
  | { type: 'qr'; payload: string; image: string; expiresAt: string }
  | { type: 'invoice'; number: string; dueDate: string; document: string };

/** One attempt at the provider, as the provider knows it. */
export interface AttemptRef {
  /** The provider's id (Sber `orderId` = `mdOrder`); absent until registration answered. */
  providerRef?: string | null;
  /** Our unique number for this attempt at the provider (Sber `orderNumber`). */
  orderNumber: string;
}

export interface InitiateInput {
  attemptId: string;
  orderNumber: string;
  amount: Kopecks;
  description: string;
  returnUrl: string;
  failUrl: string;
  callbackUrl: string;
  customer?: { email?: string; phone?: string };
}

export interface InitiateResult {
  providerRef: string;
  action: PaymentAction;
  /** True when the provider already had this attempt (a retry after a lost answer). */
  adopted?: boolean;
}

export interface RefundInput {
  amount: Kopecks;
  /** The whole payment is returned, on the day it was paid: a cancellation may be possible instead. */
  fullSameDay: boolean;
}

/** A verified, parsed inbound notification. */
export interface WebhookEvent {
  /** Which attempt it is about. */
  ref: Partial<AttemptRef>;
  /** Stable across re-sends of the same notification. */
  dedupeKey: string;
  /** Provider's operation name and success flag, for the record only: the status API decides. */
  operation: string;
  success: boolean;
  /** Amount the notification names, when it names one. */
  amount?: Kopecks;
}

export type WebhookResult = { ok: true; event: WebhookEvent } | { ok: false; reason: string };

export interface InboundWebhook {
  method: string;
  /** Query and form parameters together, as strings. */
  params: Record<string, string>;
  rawBody: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export interface AcquiringProvider {
  readonly name: ProviderName;
  initiate(input: InitiateInput): Promise<InitiateResult>;
  /** The attempt's state at the provider (with the provider's id when asked by order number). */
  status(ref: AttemptRef): Promise<ObservedStatus & { providerRef?: string }>;
  refund(ref: AttemptRef, input: RefundInput): Promise<void>;
  /** Gives an unpaid attempt up at the provider (so it cannot be paid later). */
  cancel(ref: AttemptRef): Promise<void>;
  /** Verifies and parses a notification; pure, no I/O. */
  verifyWebhook(req: InboundWebhook): WebhookResult;
}

// ---------------------------------------------------------------- alerts

export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface Alert {
  severity: AlertSeverity;
  /** Short Russian title a support person reads first. */
  title: string;
  /** Russian text with what happened and what to do. */
  text: string;
  /** Stable key: the same problem raised twice is one alert. */
  key: string;
  context?: Record<string, string | number | boolean | null>;
}

export interface Notifier {
  readonly name: string;
  send(alert: Alert): Promise<void>;
}
