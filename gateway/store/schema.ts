import type { Generated, Insertable, Selectable } from 'kysely';
import type { OrderStatus } from '../domain/order';
import type { PaymentStatus } from '../domain/payment-state';

/**
 * The tables. Timestamps are ISO-8601 UTC strings with milliseconds (they sort as text on every
 * dialect); money is bigint kopecks; JSON is text; booleans are 0/1.
 */
export interface Database {
  orders: OrdersTable;
  payments: PaymentsTable;
  payment_attempts: PaymentAttemptsTable;
  payment_events: PaymentEventsTable;
  refunds: RefundsTable;
  payment_operations: PaymentOperationsTable;
  sync_state: SyncStateTable;
  exchange_sessions: ExchangeSessionsTable;
  exchange_files: ExchangeFilesTable;
  exchange_exports: ExchangeExportsTable;
  idempotency_keys: IdempotencyKeysTable;
  jobs: JobsTable;
  schedules: SchedulesTable;
  receipts: ReceiptsTable;
  invoices: InvoicesTable;
  invoice_series: InvoiceSeriesTable;
  invoice_transfers: InvoiceTransfersTable;
  customers: CustomersTable;
  statement_lines: StatementLinesTable;
  alerts: AlertsTable;
  alert_deliveries: AlertDeliveriesTable;
  auth_failures: AuthFailuresTable;
  admin_sessions: AdminSessionsTable;
  rate_limits: RateLimitsTable;
}

/** A B2B customer of an organization, by ИНН, with the terms the gateway gives it. */
export interface CustomersTable {
  organization_id: string;
  inn: string;
  kpp: string | null;
  name: string;
  /** Deferred terms: days to pay, counted from `deferred_from`; null: prepay. */
  deferred_days: number | null;
  deferred_from: 'shipment' | 'invoice' | null;
  /** The most the customer may owe on deferred orders, in kopecks; null: no limit. */
  credit_limit: number | null;
  /** 1: no new deferred order while an invoice is overdue. */
  block_overdue: number;
  updated_at: string;
}

/** A B2B invoice («Счёт на оплату»): the document a company pays by bank transfer. */
export interface InvoicesTable {
  id: string;
  organization_id: string;
  order_id: string;
  /** The payment (method invoice) the money of the invoice is recorded on. */
  payment_id: string;
  year: number;
  /** Its place in the organization's series of the year. */
  seq: number;
  /** As printed: the series' prefix and `seq`. */
  number: string;
  /** YYYY-MM-DD */
  date: string;
  /** YYYY-MM-DD; null while a deferral counts from a shipment that has not happened. */
  due_date: string | null;
  /** Deferred terms counted from shipment: how many days. */
  due_days_after_shipment: number | null;
  amount: number;
  /** The secret part of the invoice's links (PDF, HTML). */
  token: string;
  /** The bank document (payment order) that paid it, from the statement: its number and date (YYYY-MM-DD). */
  bank_number: string | null;
  bank_date: string | null;
  /** Paid so far, in kopecks: the transfers applied to it (the rest is due). */
  paid: number;
  /** The payment identifier (УИП) printed on it for field 22 «Код», when the organization prints one. */
  uip: string | null;
  created_at: string;
  /** The 1C invoice it is (a manager's СчетНаОплатуКлиенту / СчетНаОплату); null for the gateway's own. */
  onec_ref?: string | null;
  /** Of its order, as statement matching reads them: the order's number, the buyer's ИНН and КПП (set by insertInvoice). */
  order_number?: string | null;
  buyer_inn?: string | null;
  buyer_kpp?: string | null;
}

/** A bank transfer applied to an invoice: one statement line's share, and the payment it made paid. */
export interface InvoiceTransfersTable {
  statement_line_id: string;
  invoice_id: string;
  payment_id: string;
  amount: number;
  /** The payment order: its number and date (YYYY-MM-DD), 1C's НомерВходящегоДокумента / ДатаВходящегоДокумента. */
  bank_number: string;
  bank_date: string;
  created_at: string;
  /** The 1C invoice it is (a manager's СчетНаОплатуКлиенту / СчетНаОплату); null for the gateway's own. */
  onec_ref?: string | null;
}

export interface InvoiceSeriesTable {
  organization_id: string;
  year: number;
  last: number;
}

export interface OrdersTable {
  id: string;
  organization_id: string;
  /** The buyer's ИНН (from customer), by which a B2B customer's debt is found. */
  customer_inn: string | null;
  external_id: string;
  number: string;
  source: 'site' | 'onec';
  customer: string;
  items: string;
  total: number;
  currency: string;
  payment_terms: string;
  status: OrderStatus;
  paid_amount: number;
  refunded_amount: number;
  request_hash: string;
  onec_ref: string | null;
  pay_token: string | null;
  /** CommerceML: when 1C last confirmed it took the order (`mode=success`). */
  exported_at: string | null;
  /** What 1C said about the order (CommerceML uploads). */
  onec_number: string | null;
  onec_status_text: string | null;
  onec_paid_number: string | null;
  onec_paid_at: string | null;
  shipped_at: string | null;
  onec_shipment_number: string | null;
  cancelled_at: string | null;
  cancel_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface ExchangeSessionsTable {
  id: string;
  base_id: string;
  version: string | null;
  query_at: string | null;
  /** JSON: ids of the orders the last `query` sent, confirmed by `success`. */
  query_orders: string | null;
  created_at: string;
  last_seen_at: string;
}

/** The state of an order (its `updated_at`) a 1C base last confirmed taking at `mode=success`. */
export interface ExchangeExportsTable {
  base_id: string;
  order_id: string;
  exported_at: string;
}

export interface ExchangeFilesTable {
  session_id: string;
  filename: string;
  bytes: number;
  /** uploading → importing → done | failed */
  state: 'uploading' | 'importing' | 'done' | 'failed';
  /** JSON: the notes (done) or the reason (failed). */
  result: string | null;
  updated_at: string;
}

/** Where a payment or refund stands in 1C. */
/** `waiting_for_order`: 1C does not have the order yet (the exchange has not taken it); delivered once it does. */
// `skipped`: never sent (a double payment of an order, and its refund: 1C has the order paid once)
export type OneCStatus = 'not_configured' | 'pending' | 'waiting_for_order' | 'delivered' | 'failed' | 'skipped';

interface OneCColumns {
  onec_status: Generated<OneCStatus>;
  onec_document: string | null;
  onec_number: string | null;
  onec_error: string | null;
}

export interface SyncStateTable {
  key: string;
  value: string;
  updated_at: string;
}

export interface PaymentsTable extends OneCColumns {
  id: string;
  order_id: string;
  organization_id: string;
  method: string;
  provider: string;
  amount: number;
  status: PaymentStatus;
  status_reason: string | null;
  refunded_amount: number;
  paid_at: string | null;
  return_url: string | null;
  fail_url: string | null;
  action: string | null;
  created_at: string;
  updated_at: string;
}

export type AttemptState = 'registering' | 'active' | 'closed' | 'failed';

export interface PaymentAttemptsTable {
  id: string;
  payment_id: string;
  organization_id: string;
  provider: string;
  method: 'card' | 'sbp';
  /** What the attempt was registered for at the provider. */
  amount: number | null;
  order_number: string;
  provider_ref: string | null;
  /** JSON: provider-specific ids of the attempt (Sber: the СБП qrId). */
  provider_extra: string | null;
  /** When the customer can no longer pay it (the form's session, the QR's lifetime). */
  expires_at: string | null;
  state: AttemptState;
  provider_state: string | null;
  next_check_at: string | null;
  checks: number;
  error: string | null;
  created_at: string;
  updated_at: string;
}

export interface PaymentEventsTable {
  id: string;
  organization_id: string;
  provider: string;
  attempt_id: string | null;
  /** `cancel`: the attempt given up at the bank for a newer payment; `double_payment`: the order was paid already. */
  kind: 'callback' | 'status' | 'return' | 'cancel' | 'double_payment';
  dedupe_key: string;
  payload: string;
  outcome: string | null;
  received_at: string;
}

export interface RefundsTable extends OneCColumns {
  id: string;
  payment_id: string;
  amount: number;
  status: 'pending' | 'succeeded' | 'failed';
  /** What the provider had refunded on this payment before this refund: lets a retry see whether it already happened. */
  refunded_before: number;
  error: string | null;
  created_at: string;
  updated_at: string;
}

/** How an operation from a provider relates to the orders. */
export type MatchState = 'matched' | 'unmatched' | 'ambiguous' | 'mismatch' | 'resolved';

/**
 * The payment history: every operation a provider reported (its registry, a callback, a status
 * answer), whatever channel started it, once (`op_key` is stable across every source).
 */
export interface PaymentOperationsTable {
  id: string;
  organization_id: string;
  provider: string;
  op_key: string;
  kind: 'payment' | 'refund';
  provider_ref: string;
  /** The merchant's order number at the provider (ours for the gateway's attempts). */
  order_number: string | null;
  method: string | null;
  amount: number;
  occurred_at: string;
  payer_bank: string | null;
  purpose: string | null;
  /** site, onec (a manager's order) or external (started outside the gateway). */
  channel: string | null;
  /** callback, status or registry: who told us first. */
  source: string;
  attempt_id: string | null;
  payment_id: string | null;
  order_id: string | null;
  match_state: MatchState;
  match_note: string | null;
  /** JSON: [{line, sku, name, amount}] — the order lines this operation pays (or returns). */
  lines: string | null;
  raw: string | null;
  created_at: string;
  updated_at: string;
  /** The acquirer's fee withheld from this operation, in kopecks, where the bank reports one; null: not reported. */
  fee?: number | null;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  request_hash: string;
  state: 'running' | 'done';
  response_status: number | null;
  response_body: string | null;
  locked_until: string;
  created_at: string;
}

export type JobStatus = 'pending' | 'queued' | 'running' | 'done' | 'dead';

export interface JobsTable {
  id: string;
  name: string;
  dedupe_key: string | null;
  payload: string;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  run_at: string;
  locked_until: string | null;
  locked_by: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

/** The next free instant of a rate-limited outside call, shared by every process (epoch ms). */
export interface RateLimitsTable {
  key: string;
  next_at: number;
}

export interface SchedulesTable {
  name: string;
  next_run_at: string;
  locked_until: string | null;
  locked_by: string | null;
  last_run_at: string | null;
  last_error: string | null;
}

/** Where a receipt stands: pending (to send), sent (the register has it, result awaited), done, failed. */
export type ReceiptStatus = 'pending' | 'sent' | 'done' | 'failed';

export interface ReceiptsTable {
  id: string;
  organization_id: string;
  order_id: string | null;
  payment_id: string | null;
  refund_id: string | null;
  register_id: string;
  /** prepayment, settlement, full, credit, credit_payment, refund; registrar: sent by the site or 1C. */
  kind: string;
  operation: string;
  /** Unique and stable: derived from the event (payment, refund, order) or the caller's id. */
  external_id: string;
  /** Registrar: the hash of what the caller sent (the same id with another body is a conflict). */
  request_hash: string | null;
  /** Resends after a failure: the register sees `<external_id>.<attempt>` from the second on. */
  attempt: number;
  status: ReceiptStatus;
  total: number;
  /** JSON: the receipt as sent (domain/receipt.ts ReceiptDoc). */
  body: string;
  /** The receipt a refund mirrors. */
  mirrors: string | null;
  provider_uuid: string | null;
  fn_number: string | null;
  fiscal_document_number: number | null;
  fiscal_document_attribute: number | null;
  fiscal_datetime: string | null;
  ecr_registration_number: string | null;
  shift_number: number | null;
  ofd_receipt_url: string | null;
  error: string | null;
  error_code: string | null;
  checks: number;
  next_check_at: string | null;
  sent_at: string | null;
  done_at: string | null;
  created_at: string;
  updated_at: string;
}

export type ReceiptRow = Selectable<ReceiptsTable>;

export type OrderRow = Selectable<OrdersTable>;
export type PaymentRow = Selectable<PaymentsTable>;
export type AttemptRow = Selectable<PaymentAttemptsTable>;
export type RefundRow = Selectable<RefundsTable>;
export type NewOrder = Insertable<OrdersTable>;
export type NewPayment = Insertable<PaymentsTable>;
export type NewRefund = Insertable<RefundsTable>;
export type JobRow = Selectable<JobsTable>;
export type OperationRow = Selectable<PaymentOperationsTable>;
export type NewJob = Insertable<JobsTable>;

/** Where a bank line stands: not looked at yet, settled (wholly, partly, with an excess), waiting for support, or closed by hand. */
export type StatementMatchState = 'new' | 'matched' | 'partial' | 'overpaid' | 'review' | 'resolved';

/** An incoming bank line, stored once per organization under its key (account, date, number, amount, payer account). */
export interface StatementLinesTable {
  id: string;
  organization_id: string;
  line_key: string;
  /** Where it came from: a statement file, a bank API, 1C's own documents. */
  source: string;
  account: string;
  kind: string;
  number: string;
  doc_date: string;
  bank_date: string | null;
  amount: number;
  payer_name: string;
  payer_inn: string | null;
  payer_kpp: string | null;
  payer_account: string | null;
  payer_bik: string | null;
  purpose: string;
  uip: string | null;
  match_state: StatementMatchState;
  /** Why it is in review, or what support wrote, in Russian. */
  match_note: string | null;
  /** JSON: the invoices it pays and how much of it goes to each. */
  allocations: string | null;
  /** What was left over for the customer's advance. */
  advance: number;
  /** JSON: flags for what follows (an individual's payment needs a receipt, an overpayment an alert). */
  flags: string | null;
  /** A line read from 1C's own bank documents: the document (Ref_Key) and its number in 1C. */
  onec_ref?: string | null;
  onec_number?: string | null;
  /** When its shares were applied to their invoices; null while matched and not applied yet. */
  applied_at: string | null;
  created_at: string;
  updated_at: string;
}
export type StatementLineRow = Selectable<StatementLinesTable>;

/** An alert raised: what support read, where it was routed, and when its problem cleared. */
export interface AlertsTable {
  id: string;
  /** sha256 of the key and the hour: the same problem is one alert an hour. */
  dedupe: string;
  key_hash: string;
  key: string;
  /** What routes match (`dead-job`, `register`, `monitor.onec_unreachable_minutes`, …). */
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  title: string;
  text: string;
  /** JSON */
  context: string | null;
  /** JSON: the channels it was routed to (its deliveries, fallbacks included, are in alert_deliveries). */
  channels: string;
  /** `waiting`: for the next daily digest; `sent`: in a digest; null: not for a digest. */
  digest: 'waiting' | 'sent' | null;
  raised_at: string;
  /** When its problem cleared («решено» sent); a «решено» notice itself is resolved when raised. */
  resolved_at: string | null;
}
export type AlertRow = Selectable<AlertsTable>;

/** One alert to one channel: sent, being retried, or failed for good (with the channel's last error). */
export interface AlertDeliveriesTable {
  alert_id: string;
  channel: string;
  status: 'pending' | 'sent' | 'retrying' | 'failed';
  /** 1: sent here because a channel it was routed to failed for good. */
  fallback: number;
  attempts: number;
  last_error: string | null;
  updated_at: string;
}
export type AlertDeliveryRow = Selectable<AlertDeliveriesTable>;

/** An outside system refusing the gateway's credentials (HTTP 401/403, a bank's or register's auth error code). */
export interface AuthFailuresTable {
  id: string;
  /** `1c`, `sber`, `tbank`, `atol-online`, `atol-driver`, … */
  system: string;
  code: string;
  message: string;
  at: string;
}

/** A signed-in session of the /admin pages: stored by the hash of its cookie, with its CSRF token. */
export interface AdminSessionsTable {
  /** sha256 (hex) of the cookie's value: the value itself is never stored. */
  id: string;
  /** The synchronizer token every form and API call of the session carries. */
  csrf: string;
  /** A stable, non-secret id of the admin key that signed in. */
  key_id: string;
  created_at: string;
  last_seen_at: string;
  /** The absolute end of the session, whatever its activity. */
  expires_at: string;
}
export type AdminSessionRow = Selectable<AdminSessionsTable>;
