import type { PaymentStatus } from '../../../connectors/tbank/types';

export interface EmulatedPayment {
  paymentId: string;
  terminalKey: string;
  orderId: string | null;
  /** The amount the payment was registered for. */
  amount: number;
  description: string | null;
  status: PaymentStatus;
  twoStage: boolean;
  /** card | sbp, once the payer chose (a QR was asked for, or the form was paid). */
  method: 'card' | 'sbp' | null;
  data: Record<string, string>;
  notificationUrl: string | null;
  successUrl: string | null;
  failUrl: string | null;
  redirectDueAt: number;
  createdAt: number;
  formCode: string;
  qr: { qrId: string; payload: string } | null;
  /** Held on the card (two-stage), taken, returned. */
  held: number;
  taken: number;
  refunded: number;
  failedAttempts: number;
  errorCode: string;
  payerBank: string | null;
  /** Made through another channel (a QR at the front desk), not through Init. */
  external: boolean;
}
