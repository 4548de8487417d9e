/** What the accountant reads for each kind of receipt. */
export const RECEIPT_KINDS: Record<string, string> = {
  prepayment: 'предоплата 100 %',
  settlement: 'полный расчёт (зачёт предоплаты)',
  full: 'полный расчёт',
  credit: 'передача в кредит',
  credit_payment: 'оплата кредита',
  refund: 'возврат прихода',
  registrar: 'по запросу учётной системы',
};
