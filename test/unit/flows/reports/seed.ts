import type { Executor } from '../../../../gateway/store/db';
import type { PaymentStatus } from '../../../../gateway/domain/payment-state';
import type { OneCStatus } from '../../../../gateway/store/schema';

/**
 * A small store with one of everything the reports read, each value chosen by hand (November 2026,
 * Moscow time): the test compares the reports with the numbers written out in its own assertions.
 *
 * Organization `shop` registers receipts, `other` does not.
 */

const T0 = '2026-10-01T00:00:00.000Z';

async function order(
  db: Executor,
  id: string,
  number: string,
  org = 'shop',
  customer: { name: string; inn?: string } = { name: 'Иванов' },
) {
  await db
    .insertInto('orders')
    .values({
      id,
      organization_id: org,
      customer_inn: customer.inn ?? null,
      external_id: `ext-${id}`,
      number,
      source: 'site',
      customer: JSON.stringify({ type: customer.inn ? 'legal' : 'individual', ...customer }),
      items: '[]',
      total: 0,
      currency: 'RUB',
      payment_terms: '{"type":"prepay"}',
      status: 'paid',
      paid_amount: 0,
      refunded_amount: 0,
      request_hash: 'h',
      onec_ref: null,
      pay_token: null,
      exported_at: null,
      onec_number: null,
      onec_status_text: null,
      onec_paid_number: null,
      onec_paid_at: null,
      shipped_at: null,
      onec_shipment_number: null,
      cancelled_at: null,
      cancel_reason: null,
      created_at: T0,
      updated_at: T0,
    })
    .execute();
}

interface P {
  id: string;
  org?: string;
  method: 'card' | 'sbp' | 'invoice';
  provider: string;
  amount: number;
  status?: PaymentStatus;
  paidAt: string | null;
  refunded?: number;
  onec?: OneCStatus;
  onecDocument?: string | null;
  onecError?: string;
  customer?: { name: string; inn?: string };
}

async function payment(db: Executor, p: P) {
  await order(db, `o-${p.id}`, `N-${p.id}`, p.org, p.customer);
  await db
    .insertInto('payments')
    .values({
      id: p.id,
      order_id: `o-${p.id}`,
      organization_id: p.org ?? 'shop',
      method: p.method,
      provider: p.provider,
      amount: p.amount,
      status: p.status ?? 'paid',
      status_reason: null,
      refunded_amount: p.refunded ?? 0,
      paid_at: p.paidAt,
      return_url: null,
      fail_url: null,
      action: null,
      onec_status: p.onec ?? 'delivered',
      onec_document: p.onecDocument === undefined ? ((p.onec ?? 'delivered') === 'delivered' ? `doc-${p.id}` : null) : p.onecDocument,
      onec_number: null,
      onec_error: p.onecError ?? null,
      created_at: p.paidAt ?? T0,
      updated_at: p.paidAt ?? T0,
    })
    .execute();
}

async function refund(
  db: Executor,
  id: string,
  paymentId: string,
  amount: number,
  at: string,
  status: 'succeeded' | 'failed' = 'succeeded',
) {
  await db
    .insertInto('refunds')
    .values({
      id,
      payment_id: paymentId,
      amount,
      status,
      refunded_before: 0,
      error: null,
      onec_status: 'delivered',
      onec_document: null,
      onec_number: null,
      onec_error: null,
      created_at: at,
      updated_at: '2026-12-20T00:00:00.000Z',
    })
    .execute();
}

let opSeq = 0;
let invoiceSeq = 0;
async function operation(
  db: Executor,
  o: {
    paymentId: string | null;
    amount: number;
    at: string;
    fee?: number | null;
    state?: string;
    kind?: 'payment' | 'refund';
    provider?: string;
  },
) {
  const id = `op-${++opSeq}`;
  await db
    .insertInto('payment_operations')
    .values({
      id,
      organization_id: 'shop',
      provider: o.provider ?? 'sber',
      op_key: id,
      kind: o.kind ?? 'payment',
      provider_ref: `ref-${id}`,
      order_number: o.paymentId ? `N-${o.paymentId}` : null,
      method: 'card',
      amount: o.amount,
      occurred_at: o.at,
      payer_bank: null,
      purpose: null,
      channel: 'site',
      source: 'registry',
      attempt_id: null,
      payment_id: o.paymentId,
      order_id: o.paymentId ? `o-${o.paymentId}` : null,
      match_state: (o.state ?? 'matched') as 'matched',
      match_note: null,
      lines: null,
      raw: null,
      fee: o.fee ?? null,
      created_at: o.at,
      updated_at: o.at,
    })
    .execute();
  return id;
}

async function receipt(
  db: Executor,
  r: {
    id: string;
    paymentId: string;
    refundId?: string;
    kind: string;
    status: 'done' | 'failed';
    total: number;
    fd?: number;
    fpd?: number;
  },
) {
  await db
    .insertInto('receipts')
    .values({
      id: r.id,
      organization_id: 'shop',
      order_id: `o-${r.paymentId}`,
      payment_id: r.paymentId,
      refund_id: r.refundId ?? null,
      register_id: 'reg',
      kind: r.kind,
      operation: r.kind === 'refund' ? 'sell_refund' : 'sell',
      external_id: r.id,
      request_hash: null,
      attempt: 1,
      status: r.status,
      total: r.total,
      body: '{}',
      mirrors: null,
      provider_uuid: null,
      fn_number: r.status === 'done' ? '9999078900012345' : null,
      fiscal_document_number: r.fd ?? null,
      fiscal_document_attribute: r.fpd ?? null,
      fiscal_datetime: r.status === 'done' ? '2026-11-02T10:01:00.000Z' : null,
      ecr_registration_number: null,
      shift_number: null,
      ofd_receipt_url: null,
      error: r.status === 'failed' ? 'ККТ: неверный ИНН' : null,
      error_code: null,
      checks: 0,
      next_check_at: null,
      sent_at: null,
      done_at: null,
      created_at: T0,
      updated_at: T0,
    })
    .execute();
}

async function statementLine(db: Executor, s: { id: string; amount: number; docDate: string; state: string; createdAt?: string }) {
  await db
    .insertInto('statement_lines')
    .values({
      id: s.id,
      organization_id: 'shop',
      line_key: s.id,
      source: 'file',
      account: '40702810000000000001',
      kind: 'Платежное поручение',
      number: s.id.replace(/\D/g, '') || '1',
      doc_date: s.docDate,
      bank_date: s.docDate,
      amount: s.amount,
      payer_name: 'ООО Ромашка',
      payer_inn: '7700000009',
      payer_kpp: null,
      payer_account: null,
      payer_bik: null,
      purpose: 'Оплата по счёту без номера',
      uip: null,
      match_state: s.state as 'review',
      match_note: s.state === 'review' ? 'счёт не найден' : null,
      allocations: null,
      advance: 0,
      flags: null,
      applied_at: null,
      created_at: s.createdAt ?? `${s.docDate}T10:00:00.000Z`,
      updated_at: s.createdAt ?? `${s.docDate}T10:00:00.000Z`,
    })
    .execute();
}

async function invoice(
  db: Executor,
  i: { id: string; paymentId: string; amount: number; date: string; due: string | null; paid?: number },
) {
  await db
    .insertInto('invoices')
    .values({
      id: i.id,
      organization_id: 'shop',
      order_id: `o-${i.paymentId}`,
      payment_id: i.paymentId,
      year: 2026,
      seq: ++invoiceSeq,
      number: `СЧ-${i.id}`,
      date: i.date,
      due_date: i.due,
      due_days_after_shipment: null,
      amount: i.amount,
      token: `t-${i.id}`,
      bank_number: null,
      bank_date: null,
      paid: i.paid ?? 0,
      uip: null,
      created_at: T0,
    })
    .execute();
}

async function transfer(db: Executor, invoiceId: string, paymentId: string, amount: number, bankDate: string, number: string) {
  await db
    .insertInto('invoice_transfers')
    .values({
      statement_line_id: `sl-${invoiceId}-${bankDate}`,
      invoice_id: invoiceId,
      payment_id: paymentId,
      amount,
      bank_number: number,
      bank_date: bankDate,
      created_at: T0,
    })
    .execute();
}

/** Everything the reports of November 2026 read. */
export async function seedReportsStore(db: Executor): Promise<void> {
  opSeq = 0;
  invoiceSeq = 0;
  // P1: card, agrees everywhere, fee reported
  await payment(db, { id: 'p1', method: 'card', provider: 'sber', amount: 100_000, paidAt: '2026-11-02T10:00:00.000Z' });
  await operation(db, { paymentId: 'p1', amount: 100_000, at: '2026-11-02T10:00:05.000Z', fee: 2_500 });
  await receipt(db, { id: 'r1', paymentId: 'p1', kind: 'prepayment', status: 'done', total: 100_000, fd: 101, fpd: 2882717411 });
  // P2: paid 22:30 UTC = 01:30 on 3 November in Moscow; 200 ₽ returned on 5 November, with its receipt
  await payment(db, {
    id: 'p2',
    method: 'card',
    provider: 'sber',
    amount: 50_000,
    paidAt: '2026-11-02T22:30:00.000Z',
    status: 'partially_refunded',
    refunded: 20_000,
  });
  await operation(db, { paymentId: 'p2', amount: 50_000, at: '2026-11-02T22:30:04.000Z', fee: 1_250 });
  await operation(db, { paymentId: 'p2', amount: 20_000, at: '2026-11-05T09:00:03.000Z', kind: 'refund' });
  await refund(db, 'rf2', 'p2', 20_000, '2026-11-05T09:00:00.000Z');
  await receipt(db, { id: 'r2', paymentId: 'p2', kind: 'prepayment', status: 'done', total: 50_000, fd: 102, fpd: 1111111111 });
  await receipt(db, {
    id: 'r2r',
    paymentId: 'p2',
    refundId: 'rf2',
    kind: 'refund',
    status: 'done',
    total: 20_000,
    fd: 103,
    fpd: 2222222222,
  });
  // P3: СБП at T-Bank (no fee reported), no receipt
  await payment(db, { id: 'p3', method: 'sbp', provider: 'tbank', amount: 30_000, paidAt: '2026-11-03T08:00:00.000Z' });
  await operation(db, { paymentId: 'p3', amount: 30_000, at: '2026-11-03T08:00:02.000Z', provider: 'tbank' });
  // P4: paid here, the bank's registry does not have it; only a failed receipt
  await payment(db, { id: 'p4', method: 'card', provider: 'sber', amount: 70_000, paidAt: '2026-11-04T12:00:00.000Z' });
  await receipt(db, { id: 'r4', paymentId: 'p4', kind: 'prepayment', status: 'failed', total: 70_000 });
  // P5: the bank took 390 ₽ of 400 ₽; 1C refused the document; 100 ₽ returned on 9 November without a receipt
  await payment(db, {
    id: 'p5',
    method: 'card',
    provider: 'sber',
    amount: 40_000,
    paidAt: '2026-11-04T13:00:00.000Z',
    onec: 'failed',
    onecError: 'Не заполнен договор',
    status: 'partially_refunded',
    refunded: 10_000,
  });
  await operation(db, { paymentId: 'p5', amount: 39_000, at: '2026-11-04T13:00:03.000Z' });
  await receipt(db, { id: 'r5', paymentId: 'p5', kind: 'prepayment', status: 'done', total: 40_000, fd: 105, fpd: 5555555555 });
  await refund(db, 'rf5', 'p5', 10_000, '2026-11-09T12:00:00.000Z');
  await refund(db, 'rf5x', 'p5', 7_000, '2026-11-09T13:00:00.000Z', 'failed');
  // P6: an invoice paid by a bank transfer of the same amount
  await payment(db, {
    id: 'p6',
    method: 'invoice',
    provider: 'bank_transfer',
    amount: 200_000,
    paidAt: '2026-11-06T07:00:00.000Z',
    customer: { name: 'ООО Бета', inn: '7700000003' },
  });
  await invoice(db, { id: 'i6', paymentId: 'p6', amount: 200_000, date: '2026-11-01', due: '2026-11-10', paid: 200_000 });
  await transfer(db, 'i6', 'p6', 200_000, '2026-11-06', '611');
  await statementLine(db, { id: 'sl611', amount: 200_000, docDate: '2026-11-06', state: 'matched' });
  // P7: marked paid with no bank transfer; not in 1C yet
  await payment(db, {
    id: 'p7',
    method: 'invoice',
    provider: 'bank_transfer',
    amount: 150_000,
    paidAt: '2026-11-07T09:00:00.000Z',
    onec: 'pending',
  });
  // P8, P9: paid just outside November in Moscow time; P8 gets 50 ₽ back on 8 November
  await payment(db, { id: 'p8', method: 'card', provider: 'sber', amount: 60_000, paidAt: '2026-10-31T20:00:00.000Z' });
  await refund(db, 'rf8', 'p8', 5_000, '2026-11-08T10:00:00.000Z');
  await payment(db, { id: 'p9', method: 'card', provider: 'sber', amount: 80_000, paidAt: '2026-11-30T21:30:00.000Z' });
  // P10: another organization (no receipts there, no 1C)
  await payment(db, {
    id: 'p10',
    org: 'other',
    method: 'card',
    provider: 'sber',
    amount: 10_000,
    paidAt: '2026-11-10T10:00:00.000Z',
    onec: 'not_configured',
  });
  await operation(db, { paymentId: 'p10', amount: 10_000, at: '2026-11-10T10:00:01.000Z' });
  // P11: the bank took 250 ₽ on a payment still pending here
  await payment(db, {
    id: 'p11',
    method: 'card',
    provider: 'sber',
    amount: 25_000,
    paidAt: null,
    status: 'pending',
    onec: 'not_configured',
  });
  await operation(db, { paymentId: 'p11', amount: 25_000, at: '2026-11-12T10:00:00.000Z' });
  // operations tied to no order: one waits for support, one support closed, one after the period
  await operation(db, { paymentId: null, amount: 33_000, at: '2026-11-15T10:00:00.000Z', state: 'unmatched' });
  await operation(db, { paymentId: null, amount: 12_000, at: '2026-11-16T10:00:00.000Z', state: 'resolved' });
  await operation(db, { paymentId: null, amount: 9_000, at: '2026-12-05T10:00:00.000Z', state: 'ambiguous' });
  // bank lines: one in review in November, one not looked at in October
  await statementLine(db, { id: 'sl720', amount: 45_000, docDate: '2026-11-20', state: 'review' });
  await statementLine(db, { id: 'sl915', amount: 8_000, docDate: '2026-10-15', state: 'new' });

  // B2B invoices for the ageing as of 30 November 2026
  await db
    .insertInto('customers')
    .values({
      organization_id: 'shop',
      inn: '7700000001',
      kpp: null,
      name: 'ООО Альфа',
      deferred_days: 30,
      deferred_from: 'invoice',
      credit_limit: 500_000,
      block_overdue: 1,
      updated_at: T0,
    })
    .execute();
  const alfa = { name: 'Альфа (из заказа)', inn: '7700000001' };
  const petrov = { name: 'ИП Петров', inn: '7700000002' };
  const open = async (
    id: string,
    customer: { name: string; inn: string },
    amount: number,
    date: string,
    due: string | null,
    paid = 0,
    status: PaymentStatus = 'pending',
  ) => {
    await payment(db, {
      id: `pay-${id}`,
      method: 'invoice',
      provider: 'bank_transfer',
      amount,
      paidAt: null,
      status,
      onec: 'not_configured',
      customer,
    });
    await invoice(db, { id, paymentId: `pay-${id}`, amount, date, due, paid });
  };
  await open('a1', alfa, 100_000, '2026-11-01', '2026-12-01'); // not due
  await open('a2', alfa, 80_000, '2026-10-01', '2026-11-10', 30_000); // 20 days overdue, 300 ₽ paid
  await transfer(db, 'a2', 'pay-a2', 30_000, '2026-11-05', '505');
  await open('a3', alfa, 60_000, '2026-09-01', '2026-10-01', 60_000, 'paid'); // 60 days overdue on the 30th, paid on 2 December
  await transfer(db, 'a3', 'pay-a3', 60_000, '2026-12-02', '702');
  await open('b1', petrov, 40_000, '2026-08-15', '2026-09-15'); // 76 days overdue
  await open('b2', petrov, 10_000, '2026-11-20', null); // counted from a shipment not made yet
  await open('c1', petrov, 70_000, '2026-10-01', '2026-10-15', 70_000, 'paid'); // paid in full on 3 November
  await transfer(db, 'c1', 'pay-c1', 70_000, '2026-11-03', '303');
  await open('c2', petrov, 90_000, '2026-10-01', '2026-10-15', 0, 'cancelled'); // cancelled
  await open('c3', petrov, 15_000, '2026-12-01', '2026-12-15'); // issued after the day asked
}
