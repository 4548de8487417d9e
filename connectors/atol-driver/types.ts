/**
 * Wire types of the ATOL driver's web server (ДТО 10, /api/v2/requests): JSON tasks in camelCase,
 * sums in rubles, enumerations as words.
 */

export interface DriverError {
  code: number;
  description: string;
}

/** wait → inProgress → ready | error (interrupted, blocked, canceled: the task did not run to its end). */
export type TaskStatus = 'wait' | 'inProgress' | 'ready' | 'error' | 'interrupted' | 'blocked' | 'canceled';

export interface TaskResult<R = unknown> {
  status: TaskStatus;
  error?: DriverError;
  result?: R;
}

export interface FiscalParams {
  fiscalDocumentDateTime: string;
  fiscalDocumentNumber: number;
  fiscalDocumentSign: string;
  fiscalReceiptNumber?: number;
  fnNumber: string;
  registrationNumber: string;
  shiftNumber: number;
  total?: number;
  fnsUrl?: string;
}

export interface ShiftStatus {
  shiftStatus: { state: 'closed' | 'opened' | 'expired'; number: number; expiredTime?: string; documentsCount?: number };
}

export interface DeviceStatus {
  deviceStatus: {
    shift: 'closed' | 'opened' | 'expired';
    blocked: boolean;
    coverOpened: boolean;
    paperPresent: boolean;
    fiscal: boolean;
    fnFiscal: boolean;
    fnPresent: boolean;
    cashDrawerOpened?: boolean;
    currentDateTime?: string;
  };
}

export interface FnStatus {
  fnStatus: {
    fiscalDocumentNumber?: number;
    fiscalReceiptNumber?: number;
    warnings: {
      memoryOverflow: boolean;
      needReplacement: boolean;
      ofdTimeout: boolean;
      resourceExhausted: boolean;
      criticalError: boolean;
    };
  };
}

export interface DriverItem {
  type: 'position';
  name: string;
  price: number;
  quantity: number;
  amount: number;
  /** ФФД 1.2: tag 2108 as a number (0 = шт). */
  measurementUnit: number;
  paymentMethod: string;
  paymentObject: string;
  tax: { type: string; sum?: number };
}

export interface DriverReceiptTask {
  type: 'sell' | 'sellReturn' | 'sellCorrection' | 'sellReturnCorrection';
  taxationType: string;
  electronically: boolean;
  ignoreNonFiscalPrintErrors: boolean;
  operator: { name: string; vatin?: string };
  clientInfo: { emailOrPhone: string; name?: string; vatin?: string };
  paymentsPlace?: string;
  items: DriverItem[];
  payments: { type: string; sum: number }[];
  total: number;
  correctionType?: 'self' | 'instruction';
  correctionBaseDate?: string;
  correctionBaseNumber?: string;
}

/** libfptr error codes the gateway acts on. */
export const DRIVER_CODES = {
  NO_CONNECTION: 2,
  NO_PAPER: 44,
  COVER_OPENED: 45,
  BUSY: 55,
  SHIFT_EXPIRED: 68,
  DENIED_IN_CLOSED_SHIFT: 73,
  FN_SHIFT_EXPIRED: 141,
} as const;

/** Errors after which the same receipt can be printed again once the cause is gone (nothing was registered). */
export const TRANSIENT_CODES: ReadonlySet<number> = new Set(Object.values(DRIVER_CODES));
