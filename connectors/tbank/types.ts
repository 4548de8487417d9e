/** Wire types of T-Bank internet acquiring (`/v2/`) and of the T-Business OpenAPI registry of operations. */

// ---------------------------------------------------------------- acquiring API v2

/** Every answer carries these; `ErrorCode` is a string, "0" on success. */
export interface TbankResponse {
  Success?: boolean;
  ErrorCode?: string;
  Message?: string;
  Details?: string;
  TerminalKey?: string;
}

export interface InitResponse extends TbankResponse {
  Status?: string;
  /** A string here, a number in notifications and in GetQr's answer. */
  PaymentId?: string | number;
  OrderId?: string;
  Amount?: number;
  PaymentURL?: string;
}

export interface GetQrResponse extends TbankResponse {
  OrderId?: string;
  PaymentId?: string | number;
  /** The NSPK link (DataType PAYLOAD) or an SVG (IMAGE). */
  Data?: string;
  RequestKey?: string;
}

export interface GetStateResponse extends TbankResponse {
  Status?: string;
  PaymentId?: string | number;
  OrderId?: string;
  /** Kopecks; after a partial refund or reversal, what is left of the payment. */
  Amount?: number;
  Params?: { Key: string; Value: string }[];
}

export interface CancelResponse extends TbankResponse {
  Status?: string;
  PaymentId?: string | number;
  OrderId?: string;
  OriginalAmount?: number;
  NewAmount?: number;
}

export interface CheckOrderResponse extends TbankResponse {
  OrderId?: string;
  Payments?: {
    PaymentId?: string | number;
    Amount?: number;
    Status?: string;
    RRN?: string;
    Success?: boolean;
    ErrorCode?: string;
    Message?: string;
  }[];
}

/** Payment statuses of the v2 API, in the order a payment passes them. */
export const PAYMENT_STATUSES = [
  'NEW',
  'FORM_SHOWED',
  'AUTHORIZING',
  '3DS_CHECKING',
  '3DS_CHECKED',
  'AUTHORIZED',
  'CONFIRMING',
  'CONFIRMED',
  'REVERSING',
  'PARTIAL_REVERSED',
  'REVERSED',
  'REFUNDING',
  'PARTIAL_REFUNDED',
  'REFUNDED',
  'CANCELED',
  'DEADLINE_EXPIRED',
  'REJECTED',
  'AUTH_FAIL',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export function isPaymentStatus(s: unknown): s is PaymentStatus {
  return typeof s === 'string' && (PAYMENT_STATUSES as readonly string[]).includes(s);
}

/** A payment notification (POST JSON to NotificationURL), as far as the gateway reads it. */
export interface TbankNotification {
  TerminalKey: string;
  OrderId: string;
  Success: boolean;
  Status: PaymentStatus;
  PaymentId: number;
  ErrorCode: string;
  Amount: number;
  /** Cards: the card's id and masked number; СБП: the payer's masked phone in Pan. */
  CardId?: number;
  Pan?: string;
  ExpDate?: string;
  RebillId?: number;
  /** Nested objects never enter the Token; real notifications carry the payment's DATA as `Data`. */
  Data?: Record<string, string>;
  Token: string;
}

// ---------------------------------------------------------------- T-Business OpenAPI: the registry

/**
 * `GET api/v1/tacq/operations/terminal/{terminalKey}?from&till&limit` answers with this. The published
 * method description names the endpoint, its limits and that amounts are kopecks, but not the body. Public clients read
 * `operations[]` with `rrn`, `transactionDate`, `amount`, `cardNumber`, `type` (Debit | Credit) and a
 * top-level `lastTransactionDate`; the ids that tie an operation to a payment (`id`, `paymentId`,
 * `orderId`) and `paymentMethod`, `payerBank`, `description` are not confirmed: they are defined here
 * as such a registry must carry them, in the API's camelCase. The connector reads all of it leniently.
 */
export interface OperationsResponse {
  operations: RegistryOperation[];
  /** The time of the newest operation the registry holds for the terminal (ISO 8601 with offset). */
  lastTransactionDate?: string | null;
}

export interface RegistryOperation {
  /** The operation's own id: a refund has one of its own, apart from the payment's. */
  id: string;
  /** The acquiring PaymentId the operation belongs to. */
  paymentId: string;
  /** The OrderId given at Init (anybody's: the site, a 1C manager, a QR at the front desk). */
  orderId: string | null;
  /** Debit: money taken from the payer (a payment); Credit: money returned (a refund). */
  type: 'Debit' | 'Credit';
  /** CARD | SBP (T-Pay, SberPay and others may appear). */
  paymentMethod: string;
  /** Kopecks. */
  amount: number;
  currency: string;
  /** ISO 8601 with the offset, e.g. 2026-01-15T10:30:00+03:00. */
  transactionDate: string;
  rrn: string | null;
  /** Masked card number (cards only). */
  cardNumber: string | null;
  /** The payer's bank (СБП) or the card's issuer. */
  payerBank: string | null;
  /** The payment's description given at Init. */
  description: string | null;
}

/** How the T-Business OpenAPI describes an error. */
export interface OpenApiError {
  errorId?: string;
  errorCode?: string;
  errorMessage?: string;
  errorDetails?: unknown;
}

/** The registry's documented limits. */
export const REGISTRY_LIMITS = {
  /** Operations per request at most; more is an error. */
  maxOperations: 1000,
  /** Period per request at most. */
  maxPeriodMs: 24 * 3_600_000,
  /** Operations may appear this late. */
  lateness: 2 * 3_600_000,
  /** Requests per second. */
  requestsPerSecond: 1,
} as const;

// ---------------------------------------------------------------- T-Business OpenAPI: the account statement

/**
 * `GET api/v1/statement?accountNumber&from&to&operationStatus&limit&cursor` answers with this: the
 * account's operations, oldest first, and `nextCursor` while there are more (passed back as `cursor`).
 * `balances` come with `withBalances=true`, in the first page only. Names as the public method page
 * and public clients show them; amounts are rubles (a JSON number with up to two decimals), dates
 * ISO 8601 in UTC.
 */
export interface StatementResponse {
  operations: StatementOperation[];
  nextCursor?: string | null;
  balances?: { balanceBegin?: number; balanceEnd?: number };
}

/** One side of a statement operation. */
export interface StatementPartyWire {
  acct?: string;
  inn?: string;
  /** "0" when the party has none (an ИП). */
  kpp?: string;
  name?: string;
  bicRu?: string;
  bicSwift?: string;
  bankName?: string;
  corAcct?: string;
}

export interface StatementOperation {
  operationId: string;
  /** The balance date for a Transaction, the authorization date for an Authorization (UTC). */
  operationDate: string;
  /** Authorization: money held, the balance not moved yet; Transaction: posted. */
  operationStatus?: 'Transaction' | 'Authorization';
  accountNumber?: string;
  bic?: string;
  /** Credit: money in; Debit: money out. */
  typeOfOperation: 'Credit' | 'Debit';
  category?: string;
  trxnPostDate?: string;
  authorizationDate?: string;
  /** «Списано со сч. плат.» */
  drawDate?: string;
  /** «Поступило в банк плат.» on our side: when our account was credited. */
  chargeDate?: string;
  /** The payment document's date: the Moscow calendar day, written as its start in UTC (…T21:00:00Z the day before). */
  docDate?: string;
  documentNumber?: string;
  /** The document kind («payment-order», «bank-order», …). */
  payVo?: string;
  /** Its code (01 платёжное поручение, 16 платёжный ордер, 17 банковский ордер, …). */
  vo?: string;
  priority?: number;
  operationAmount: number;
  operationCurrencyDigitalCode?: string;
  accountAmount: number;
  accountCurrencyDigitalCode?: string;
  rubleAmount?: number;
  description?: string;
  payPurpose?: string;
  payer?: StatementPartyWire;
  receiver?: StatementPartyWire;
  counterParty?: {
    account?: string;
    inn?: string;
    kpp?: string;
    name?: string;
    bankName?: string;
    bankBic?: string;
    corrAccount?: string;
  };
  /**
   * Field 22 «Код» (УИН/УИП) of the payment order. Not confirmed in published material: the name is
   * the one T-Business uses for it when a payment is sent; read when present.
   */
  uin?: string;
}

/** The statement method's limits. */
export const STATEMENT_LIMITS = {
  /** Operations per page at most (`limit`). */
  maxLimit: 5000,
  /** Requests per second per token. */
  requestsPerSecond: 20,
} as const;
