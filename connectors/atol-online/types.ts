/** Wire types of ATOL Online v5 (ФФД 1.2): what goes out and what comes back. Sums are rubles. */

export interface AtolError {
  error_id?: string;
  code: number;
  text: string;
  /** system | agent | unknown */
  type?: string;
}

export interface AtolTokenResponse {
  error: AtolError | null;
  token?: string;
  timestamp?: string;
}

export interface AtolOperationResponse {
  uuid?: string;
  status?: 'wait' | 'done' | 'fail';
  error: AtolError | null;
  timestamp?: string;
}

export interface AtolReportPayload {
  fiscal_receipt_number: number;
  shift_number: number;
  /** dd.mm.yyyy HH:MM:SS, the register's local time */
  receipt_datetime: string;
  total: number;
  fn_number: string;
  ecr_registration_number: string;
  fiscal_document_number: number;
  fiscal_document_attribute: number;
  fns_site?: string;
  ofd_inn?: string;
  ofd_receipt_url?: string;
}

export interface AtolReport {
  uuid: string;
  status: 'wait' | 'done' | 'fail';
  error: AtolError | null;
  payload: AtolReportPayload | null;
  timestamp?: string;
  group_code?: string;
  daemon_code?: string;
  device_code?: string;
  external_id?: string;
  callback_url?: string;
}

export interface AtolItem {
  name: string;
  price: number;
  quantity: number;
  sum: number;
  measure: number;
  payment_method: string;
  payment_object: number;
  vat: { type: string; sum?: number };
}

export interface AtolClient {
  email?: string;
  phone?: string;
  name?: string;
  inn?: string;
}

export interface AtolCompany {
  email?: string;
  sno: string;
  inn: string;
  payment_address: string;
}

export interface AtolReceipt {
  client: AtolClient;
  company: AtolCompany;
  items: AtolItem[];
  payments: { type: number; sum: number }[];
  total: number;
}

export interface AtolCorrection extends AtolReceipt {
  correction_info: { type: 'self' | 'instruction'; base_date: string; base_number?: string };
}

export interface AtolDocumentBody {
  external_id: string;
  /** dd.mm.yyyy HH:MM:SS */
  timestamp: string;
  service?: { callback_url: string };
  receipt?: AtolReceipt;
  correction?: AtolCorrection;
}

/** Error codes the gateway acts on. */
export const ATOL_CODES = {
  /** The token has expired: get a new one and send again. */
  EXPIRED_TOKEN: 11,
  /** The receipt does not pass validation: fix it, never resend as is. */
  VALIDATION: 32,
  /** This external_id is registered already: the answer carries the first uuid. */
  EXISTS: 33,
  /** The report is not ready: ask later, never resend. */
  NOT_READY: 34,
} as const;
