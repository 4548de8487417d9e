/** Wire types of the Sber / BPC `.do` REST API (what the bank sends; every field optional in practice). */

export interface SberError {
  errorCode?: string | number;
  errorMessage?: string;
}

export interface RegisterResponse extends SberError {
  orderId?: string;
  formUrl?: string;
}

export interface PaymentAmountInfo {
  paymentState?: string;
  approvedAmount?: number;
  depositedAmount?: number;
  refundedAmount?: number;
  feeAmount?: number;
}

export interface OrderStatusExtendedResponse extends SberError {
  orderNumber?: string;
  orderStatus?: number;
  actionCode?: number;
  actionCodeDescription?: string;
  amount?: number;
  currency?: string;
  date?: number;
  orderDescription?: string;
  merchantOrderParams?: { name: string; value: string }[];
  attributes?: { name: string; value: string }[];
  cardAuthInfo?: { maskedPan?: string; expiration?: string; cardholderName?: string; approvalCode?: string; paymentSystem?: string };
  authDateTime?: number;
  paymentAmountInfo?: PaymentAmountInfo;
  refunds?: { date?: string; referenceNumber?: string; actionCode?: number; amount?: number }[];
  /** How it was paid: CARD, SBP_C2B, ... */
  paymentWay?: string;
  /** The card's issuer (for СБП: the payer's bank). */
  bankInfo?: { bankName?: string; bankCountryCode?: string; bankCountryName?: string };
}

/** sbp/c2b/qr/dynamic/get.do */
export interface SbpQrResponse extends SberError {
  qrId?: string;
  /** The NSPK link the QR encodes. */
  payload?: string;
  /** The QR as an image (base64), when asked for. */
  renderedQr?: string;
  qrStatus?: string;
}

/** getLastOrdersForMerchants.do: the merchant's orders over a period, a page at a time. */
export interface LastOrdersResponse extends SberError {
  orderStatuses?: (OrderStatusExtendedResponse & { errorCode?: string | number })[];
  totalCount?: number;
  page?: number;
  pageSize?: number;
}

/** orderStatus codes of getOrderStatusExtended.do. */
export const ORDER_STATUS = {
  REGISTERED: 0,
  HELD: 1,
  DEPOSITED: 2,
  REVERSED: 3,
  REFUNDED: 4,
  ACS_STARTED: 5,
  DECLINED: 6,
} as const;

/** actionCode the bank uses when the payment session timed out. */
export const ACTION_SESSION_TIMEOUT = -2007;

/** Callback `operation` values a merchant can receive. */
export const CALLBACK_OPERATIONS = new Set([
  'approved',
  'deposited',
  'reversed',
  'refunded',
  'declinedByTimeout',
  'declinedCardPresent',
  'declined',
]);
