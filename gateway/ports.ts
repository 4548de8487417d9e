import type { Kopecks } from './domain/money';
import type { InvoiceDocument } from './domain/invoice-document';
import type { Customer, OrderItem } from './domain/order';
import type { ObservedStatus } from './domain/payment-state';
import type { ReceiptDoc } from './domain/receipt';

/**
 * The interfaces outside systems are reached through. Connectors implement them;
 * flows call them. Nothing here does I/O.
 */

/** A failure talking to an outside system. `retryable` tells a job whether trying later can help. */
export class ExternalError extends Error {
  readonly system: string;
  readonly retryable: boolean;
  readonly code?: string;
  /** How long the system asked to be left alone (a 429's Retry-After): the job waits at least this. */
  readonly retryAfterMs?: number;
  constructor(system: string, message: string, opts: { retryable: boolean; code?: string; retryAfterMs?: number; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = 'ExternalError';
    this.system = system;
    this.retryable = opts.retryable;
    this.code = opts.code;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
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

export type ProviderName = 'sber' | 'tbank';

/** The methods an acquirer serves (invoices are paid by bank transfer, not through an acquirer). */
export type ProviderMethod = 'card' | 'sbp';

/** What the customer is to do next. */
export type PaymentAction =
  | { type: 'redirect'; url: string }
  | { type: 'qr'; payload: string; image: string; expiresAt: string }
  /** dueDate null: payable `dueDaysAfterShipment` days after the goods are shipped (the date is not known yet). */
  | {
      type: 'invoice';
      number: string;
      date: string;
      dueDate: string | null;
      dueDaysAfterShipment?: number;
      /** The УИП the payer puts in field 22 «Код», when the organization prints one. */
      uip?: string;
      document: string;
    };

/** What a provider hands back for the customer; the gateway draws QR images from the payload itself. */
export type ProviderAction = { type: 'redirect'; url: string } | { type: 'qr'; payload: string; expiresAt: string };

/** One attempt at the provider, as the provider knows it. */
export interface AttemptRef {
  /** The provider's id (Sber `orderId` = `mdOrder`, T-Bank `PaymentId`); absent until registration answered. */
  providerRef?: string | null;
  /** Our unique number for this attempt at the provider (Sber `orderNumber`, T-Bank `OrderId`). */
  orderNumber: string;
  method?: ProviderMethod;
  /** The amount the attempt was registered for (T-Bank reports what is left after refunds). */
  amount?: Kopecks;
  /** Provider-specific ids kept with the attempt (Sber: the СБП `qrId`). */
  extra?: Record<string, string>;
}

export interface InitiateInput {
  attemptId: string;
  orderNumber: string;
  method: ProviderMethod;
  amount: Kopecks;
  description: string;
  returnUrl: string;
  failUrl: string;
  callbackUrl: string;
  /** When the customer can no longer pay this attempt (the bank's form session, the QR's lifetime). */
  expiresAt: string;
  customer?: { email?: string; phone?: string };
}

export interface InitiateResult {
  providerRef: string;
  action: ProviderAction;
  /** Provider-specific ids to keep with the attempt (passed back in AttemptRef.extra). */
  extra?: Record<string, string>;
  /** True when the provider already had this attempt (a retry after a lost answer). */
  adopted?: boolean;
  /** Something odd in the provider's answer that does not stop the payment (a QR link whose crc does not check). */
  warnings?: string[];
}

/**
 * One operation in the provider's registry of operations, whatever channel started it (the site,
 * a 1C manager, a QR at the front desk). The same operation listed twice is the same object.
 */
export interface ProviderOperation {
  kind: 'payment' | 'refund';
  /** The provider's id of the payment the operation belongs to (mdOrder, PaymentId). */
  providerRef: string;
  /** The merchant's order number given at registration: ours for the gateway's attempts, anybody's otherwise. */
  orderNumber: string | null;
  method: ProviderMethod | null;
  /** Money moved by this operation (a payment: taken; a refund: returned). */
  amount: Kopecks;
  occurredAt: string;
  /** The payer's bank (СБП) or the card's issuer, as the provider names it. */
  payerBank: string | null;
  /** The payment's purpose or description as the provider holds it. */
  purpose: string | null;
  /** Refunds: the provider's own id of this refund, when it lists refunds one by one. */
  refundId?: string;
  /** Payments: what has been returned of it so far, when the provider reports refunds only as a total. */
  refundedTotal?: Kopecks;
  /** Payments: the acquirer's fee withheld from it, when the provider reports one. */
  fee?: Kopecks;
  raw: unknown;
}

export interface OperationWindow {
  from: Date;
  to: Date;
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

/**
 * A refused notification: `signature` when it cannot be shown to come from the provider (no or a wrong
 * signature, nothing readable to check), `content` when it is signed but says something the gateway does
 * not take (an unknown operation or status, a missing id, another terminal).
 */
export type WebhookResult = { ok: true; event: WebhookEvent } | { ok: false; refused: 'signature' | 'content'; reason: string };

export interface InboundWebhook {
  method: string;
  /** Query and form parameters together, as strings. */
  params: Record<string, string>;
  rawBody: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * What giving up an unpaid attempt came to: `cancelled` when the bank took the cancellation (or the
 * attempt was already given up there), otherwise the bank's reason for keeping it (paid, in 3-D Secure, held).
 */
export type CancelResult = { cancelled: true } | { cancelled: false; reason: string };

export interface AcquiringProvider {
  readonly name: ProviderName;
  initiate(input: InitiateInput): Promise<InitiateResult>;
  /** The attempt's state at the provider (with the provider's id when asked by order number). */
  status(ref: AttemptRef): Promise<ObservedStatus & { providerRef?: string }>;
  refund(ref: AttemptRef, input: RefundInput): Promise<void>;
  /**
   * Gives an unpaid attempt up at the provider (so it cannot be paid later), where the provider allows
   * it; never returns money. Throws ExternalError when the provider could not be asked.
   */
  cancel(ref: AttemptRef): Promise<CancelResult>;
  /** Verifies and parses a notification; pure, no I/O. */
  verifyWebhook(req: InboundWebhook): WebhookResult;
  /** The smallest amount the provider takes for a method, when it has one (T-Bank СБП: 10 ₽). */
  minAmount?(method: ProviderMethod): Kopecks;
  /** The provider's registry of operations over a window (the history agent's safety net); absent when the provider has none. */
  listOperations?(window: OperationWindow): AsyncIterable<ProviderOperation>;
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
  /** What routes match; default: the key up to its first `:` (`dead-job`, `register`, …). */
  kind?: string;
  /** A «решено» notice: the key of the alert whose problem cleared (it goes where that one went, once). */
  resolves?: string;
}

export interface Notifier {
  readonly name: string;
  send(alert: Alert): Promise<void>;
}

/** A message to a buyer (an invoice's reminder), in Russian. */
export interface BuyerMessage {
  organizationId: string;
  to: { name: string; email?: string; phone?: string };
  subject: string;
  text: string;
  /** Stable over retries of one message (an e-mail's Message-ID is made of it). */
  id?: string;
  /** A link the message points to (the invoice to pay); a channel that cannot show links leaves it out. */
  link?: { text: string; url: string };
  /** Files sent with the message (the invoice's PDF). */
  attachments?: BuyerAttachment[];
}

export interface BuyerAttachment {
  filename: string;
  content: Buffer;
  contentType: string;
}

/** Where messages to buyers go: e-mail where an organization has it set up, the log otherwise. */
export interface BuyerMessenger {
  readonly name: string;
  send(message: BuyerMessage): Promise<void>;
  /** Whether a message to this organization's buyers carries files (the invoice's PDF is drawn only then). */
  carriesAttachments?(organizationId: string): boolean;
}

// ---------------------------------------------------------------- the shop's site

/** A payment event as the site's webhook receives it. */
export interface SiteEvent {
  event: string;
  payment: unknown;
  sentAt: string;
}

/** The shop's site, told about payment events. `idempotencyKey` is the same on every retry of one event. */
export interface SiteNotifier {
  send(event: SiteEvent, idempotencyKey: string): Promise<void>;
}

// ---------------------------------------------------------------- 1C

/** Bounds the calls in flight to one outside system (a 1C base has few licences). */
export interface Limiter {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

/** A payment or a refund as 1C is to record it. */
export interface OneCPaymentDoc {
  kind: 'payment' | 'refund';
  /** The gateway's payment (or refund) id: the marker that makes the write idempotent in 1C. */
  marker: string;
  organizationId: string;
  method: 'card' | 'sbp' | 'invoice';
  amount: Kopecks;
  /** When the money moved (ISO 8601, UTC). */
  date: string;
  order: { id: string; number: string; externalId: string; onecRef: string | null; total: Kopecks };
  customer: Customer;
  provider: string;
  /** The bank's id of the operation (a bank transfer: the number of the payment order). */
  providerRef: string | null;
  /** A bank transfer: the payment order's date (YYYY-MM-DD), for the incoming document's date in 1C. */
  bankDate?: string;
  /** Refunds: the payment being returned and its 1C document. */
  original?: { marker: string; onecRef: string | null };
}

export interface OneCDocumentRef {
  /** Ref_Key (GUID) or the service's own id of the document. */
  ref: string;
  entity: string;
  number?: string;
  posted: boolean;
}

/**
 * Why 1C refused. `unavailable`, `timeout` and `lock` pass (retry); `internal`, a 500 that names no
 * reason («внутренняя ошибка»), is tried a few times (the marker lookup makes that safe), then given up;
 * `order_missing`, no order of that number in 1C yet (a site order paid before the exchange took it), makes
 * the delivery wait for it. The rest need a person: credentials, rights, publication of the OData
 * composition, the mapping, the data.
 */
export type OneCErrorKind =
  | 'unavailable'
  | 'timeout'
  | 'lock'
  | 'internal'
  | 'auth'
  | 'access'
  | 'not_published'
  | 'not_found'
  | 'order_missing'
  | 'rejected'
  | 'mapping'
  | 'data';

export class OneCError extends ExternalError {
  readonly kind: OneCErrorKind;
  /** What a 1C operator or support reads, in Russian. */
  readonly hint: string;
  constructor(kind: OneCErrorKind, message: string, hint: string, opts: { cause?: unknown; code?: string; retryAfterMs?: number } = {}) {
    super('1c', message, {
      retryable: kind === 'unavailable' || kind === 'timeout' || kind === 'lock' || kind === 'internal',
      cause: opts.cause,
      code: opts.code ?? kind,
      retryAfterMs: opts.retryAfterMs,
    });
    this.name = 'OneCError';
    this.kind = kind;
    this.hint = hint;
  }
}

/** Where paid payments land in 1C: the same contract over OData, a SOAP web service or an HTTP service. */
export interface OneCSink {
  readonly transport: 'odata' | 'soap' | 'http';
  /** Records the document in 1C exactly once (the marker is looked up first), posted. */
  deliver(doc: OneCPaymentDoc): Promise<OneCDocumentRef>;
  /** Throws when the base cannot be reached with these credentials. */
  ping(): Promise<void>;
  /**
   * What the base lacks of what the mapping names (OData: read from its `$metadata`), as lines naming
   * the mapping line to fix; `errors` stop deliveries into the base. Transports without a mapping have none.
   */
  verify?(): Promise<OneCCheck>;
}

export interface OneCCheck {
  errors: string[];
  /** Mismatches in documents the organization does not write. */
  warnings: string[];
}

/** An order a manager created in 1C. */
export interface OneCOrder {
  ref: string;
  number: string;
  date: string;
  customer: Customer;
  items: OrderItem[];
  total: Kopecks;
  /** 1C's own timestamp of the document, for the pull watermark. */
  version?: string;
}

/** Reads manager-created orders from 1C and writes the payment link back (pull mode). */
export interface OneCOrderSource {
  /** Orders dated at or after `since` that match the configured filter, oldest first, a page at a time. */
  newOrders(since: string, page: { limit: number; skip: number }): Promise<OneCOrder[]>;
  writePaymentLink(orderRef: string, url: string): Promise<void>;
  /**
   * Whether 1C has shipped the order (its status is one of the mapping's shipped statuses); null
   * when the mapping names none or the order is not found.
   */
  shipped?(order: { ref: string | null; number: string }): Promise<{ shipped: boolean; status: string } | null>;
}

/** A manager's invoice in 1C (УТ СчетНаОплатуКлиенту, УНФ СчетНаОплату) as the gateway keeps it. */
export interface OneCInvoice {
  ref: string;
  /** 1C's number, kept as 1C prints it. */
  number: string;
  /** YYYY-MM-DD, 1C's local date of the document. */
  date: string;
  amount: Kopecks;
  /** YYYY-MM-DD of the last stage of its payment schedule; null when it has none. */
  dueDate: string | null;
  /** The УИП (ИдентификаторПлатежа), when 1C gave one. */
  uip: string | null;
  /** Annulled (УТ Аннулирован), marked for deletion or unposted: no longer to be paid. */
  annulled: boolean;
  /** The order it is for: its ДокументОснование (the order's own lines in УТ, the invoice's goods in УНФ). */
  order: OneCOrder;
  /** The gateway's invoice it was made for (its marker), when the gateway created it in 1C. */
  gatewayInvoiceId?: string | null;
}

/** An invoice the gateway has 1C make for a site order (ДокументОснование = the order). */
export interface OneCInvoiceRequest {
  /** The gateway's invoice id: how the 1C invoice is found again (created once). */
  marker: string;
  order: { ref: string | null; number: string };
  amount: Kopecks;
  /** YYYY-MM-DD */
  date: string;
  /** YYYY-MM-DD: the payment schedule's one stage. */
  dueDate: string;
  uip: string | null;
  /** The gateway's number, when the gateway numbers invoices (printed in the purpose). */
  number: string;
}

/** Invoices managers make in 1C (OData pull). */
export interface OneCInvoiceSource {
  /** Posted, not annulled invoices dated at or after `since`, oldest first, a page at a time. */
  newInvoices(since: string, page: { limit: number; skip: number }): Promise<OneCInvoice[]>;
  /** Where a known invoice stands now (annulled, amount); null when 1C no longer has it. */
  invoice(ref: string): Promise<OneCInvoice | null>;
  /**
   * Has 1C make a posted invoice for the order, once (an invoice of the order carrying the marker is
   * looked up first); 1C's ref, number and date. OneCError `order_missing` while 1C has no such order.
   */
  createInvoice?(req: OneCInvoiceRequest): Promise<{ ref: string; number: string; date: string }>;
}

/** A buyer's terms from its contract in 1C (УТ/УНФ Catalog_ДоговорыКонтрагентов). */
export interface OneCContractTerms {
  /** The contract, as 1C names it (for logs and messages). */
  contract: string;
  /** Deferral in days (УТ СрокОплаты when УстановленСрокОплаты; УНФ СрокОплатыПокупателя); null: none. */
  deferredDays: number | null;
  /** УТ ДопустимаяСуммаЗадолженности when ОграничиватьСуммуЗадолженности; null: no limit (УНФ has none). */
  creditLimit: Kopecks | null;
  /** УТ ЗапрещаетсяПросроченнаяЗадолженность; null when the configuration has no such attribute. */
  blockOverdue: boolean | null;
}

/** Reads buyers' contracts from 1C. */
export interface OneCContractSource {
  /** The terms of the buyer's valid contract (the Контрагент found by ИНН and, when given, КПП); null: no such buyer or contract. */
  termsOf(buyer: { inn: string; kpp?: string | null }): Promise<OneCContractTerms | null>;
}

// ---------------------------------------------------------------- fiscal registers

/** What the fiscal storage gave a registered receipt (what the accountant checks against the ОФД). */
export interface FiscalAttributes {
  /** ФН serial (tag 1041). */
  fnNumber: string;
  /** ФД number (tag 1040). */
  documentNumber: number;
  /** ФПД, the fiscal sign (tag 1077). */
  documentAttribute: number;
  /** When the ФН registered it (ISO 8601). */
  datetime: string;
  /** РН ККТ (tag 1037). */
  registrationNumber: string;
  shiftNumber: number;
  /** Number in the shift (tag 1042). */
  receiptNumber?: number;
  /** Where the buyer sees it at the ОФД, when the register says. */
  ofdUrl?: string;
}

/** Where a receipt stands at a register. `failed`: refused for good, nothing was registered. */
export type FiscalState =
  | { state: 'wait'; uuid: string }
  | { state: 'done'; uuid: string; fiscal: FiscalAttributes }
  | { state: 'failed'; uuid?: string; code: string; message: string; hint: string }
  /** The register has no record of it: it never arrived (safe to send). */
  | { state: 'unknown' };

export interface FiscalRequest {
  /** Stable for the receipt (and its retry number): what makes registering idempotent. */
  externalId: string;
  receipt: ReceiptDoc;
  /** Where the register reports the result (ATOL Online). */
  callbackUrl?: string;
}

/** A register's device: what support must hear about (paper, fiscal storage, a blocked device). */
export interface RegisterHealth {
  online: boolean;
  shift?: 'opened' | 'closed' | 'expired';
  problems: { key: string; severity: AlertSeverity; title: string; text: string }[];
}

/**
 * Why a register refused: `unavailable` passes (retry); `validation` (ATOL 32) needs the data fixed;
 * `auth` and `config` need the set-up fixed.
 */
export type FiscalErrorKind = 'unavailable' | 'validation' | 'auth' | 'config';

export class FiscalError extends ExternalError {
  readonly kind: FiscalErrorKind;
  /** What support or an accountant reads, in Russian. */
  readonly hint: string;
  constructor(
    system: string,
    kind: FiscalErrorKind,
    message: string,
    hint: string,
    opts: { cause?: unknown; code?: string; retryAfterMs?: number } = {},
  ) {
    super(system, message, {
      retryable: kind === 'unavailable',
      cause: opts.cause,
      code: opts.code ?? kind,
      retryAfterMs: opts.retryAfterMs,
    });
    this.name = 'FiscalError';
    this.kind = kind;
    this.hint = hint;
  }
}

/** A cash register: ATOL Online (cloud) or the ATOL driver's web server (a local device). */
export interface FiscalRegister {
  readonly id: string;
  readonly kind: 'atol-online' | 'atol-driver';
  /** Registers the receipt once: sending the same externalId again adopts the first registration. */
  register(req: FiscalRequest): Promise<FiscalState>;
  /** The result of a receipt sent before (never sends it again). */
  check(ref: { externalId: string; uuid: string | null }): Promise<FiscalState>;
  /** The device's state, where the register has a device of ours to watch. */
  health?(): Promise<RegisterHealth>;
  /** Where the register calls back with a receipt's result, signed for that receipt (ATOL Online). */
  callbackUrl?(receiptId: string): string | undefined;
  /** The receipt a callback is about, when the signature in its URL verifies; null otherwise. */
  verifyCallback?(params: Record<string, string>): string | null;
}

// ---------------------------------------------------------------- printed documents

/** «Счет на оплату» as the buyer gets it: a PDF to download, and an HTML page with the same fields. */
export interface InvoiceRenderer {
  /** Checks the document first (prepareInvoice): InvoiceDocumentError, and nothing drawn, when it is wrong. */
  pdf(doc: InvoiceDocument): Promise<Buffer>;
  html(doc: InvoiceDocument): Promise<string>;
}

// ---------------------------------------------------------------- bank statements

/** One side of a bank document: who paid, or who received. */
export interface StatementParty {
  name: string;
  /** 10 digits for a company, 12 for an individual or an ИП; null when the bank left it empty. */
  inn: string | null;
  kpp: string | null;
  account: string | null;
  bankBik: string | null;
  bankName: string | null;
}

/**
 * One document of a bank statement (a payment order, a bank order, …) in canonical terms.
 * `direction` is relative to the organization's own accounts: money in, money out, or a line
 * where neither side is ours.
 */
export interface StatementLine {
  /** The organization's account the line moves money on (the receiver's for incoming lines). */
  account: string;
  direction: 'incoming' | 'outgoing' | 'other';
  /** The document kind as the bank names it («Платежное поручение», «Банковский ордер», …). */
  kind: string;
  number: string;
  /** The document's date, yyyy-mm-dd. */
  date: string;
  amount: Kopecks;
  /** When the bank credited our account (incoming) or debited it (outgoing), yyyy-mm-dd. */
  bankDate: string | null;
  payer: StatementParty;
  receiver: StatementParty;
  purpose: string;
  /** Field 22 «Код»: the УИП the payer copied from the invoice, when any. */
  uip: string | null;
  /**
   * A line read from 1C's own bank documents (the accountant imported the statement there): the
   * document, which already settles the money in 1C, so the gateway writes none for it.
   */
  onec?: OneCBankDocument;
}

/** A bank receipt 1C holds, as a statement line carries it. */
export interface OneCBankDocument {
  ref: string;
  /** The document's own number in 1C. */
  number: string | null;
  /**
   * The gateway's payment or refund id the document's marker field may hold (all of it, or as many
   * leading characters as the field kept): a document the gateway wrote itself is no statement line.
   * Null when the field cannot hold a marker.
   */
  markerId: string | null;
}

/** What a source gives for one read: the incoming lines, and the cursor to read from next time. */
export interface StatementBatch {
  lines: StatementLine[];
  /** Opaque to the caller; null when the source cannot say where it stopped. */
  cursor: string | null;
}

/**
 * Where incoming bank lines come from: a 1CClientBankExchange file, a bank's statement API, 1C's
 * own bank documents. Only incoming lines leave a source; the same line may come again (daily
 * statements overlap), and the store keeps it once.
 */
export interface StatementSource {
  readonly name: string;
  incomingSince(cursor: string | null): Promise<StatementBatch>;
}

/** A statement refused as a whole: what is wrong, and on which line of the file (1-based). */
export class StatementFormatError extends Error {
  readonly code:
    | 'not_client_bank_exchange'
    | 'wrong_encoding'
    | 'truncated'
    | 'section_not_closed'
    | 'unsupported_version'
    | 'bad_line'
    | 'bad_amount'
    | 'amount_not_positive'
    | 'bad_date'
    | 'missing_field';
  readonly line: number;
  constructor(code: StatementFormatError['code'], line: number, message: string) {
    super(`строка ${line}: ${message}`);
    this.name = 'StatementFormatError';
    this.code = code;
    this.line = line;
  }
}
