import { withoutCardData } from '../../domain/card-data';
import { newId } from '../../domain/ids';
import { allocatePayment, allocateRefund, owedPerLine, settledPerLine, type LineShare } from '../../domain/matching';
import { formatRub } from '../../domain/money';
import type { OrderItem } from '../../domain/order';
import type { ObservedStatus } from '../../domain/payment-state';
import type { ProviderOperation } from '../../ports';
import { nowIso, type Executor } from '../../store/db';
import { insertIgnore } from '../../store/sql';
import { conflict, notFound, unprocessable } from '../../errors';
import { operationsOfOrder, operationsOfRef, setOperationMatch, upsertOperation, getOperation } from '../../store/operations';
import { getOrder, ordersByNumbers } from '../../store/orders';
import { findAttemptByRef, getPayment, findAttemptByOrderNumber } from '../../store/payments';
import type { AttemptRow, MatchState, OperationRow, OrderRow, PaymentOperationsTable, PaymentRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { ALERTS } from '../alerts/catalog';

/**
 * The payment history: every operation a provider reports — its registry (read by the agent in
 * history.ts), a confirmed callback, a status answer — stored once under a key every source
 * derives the same way, linked to its order and to the order lines it pays. Operations that fit
 * no order, or several, wait in the review list of the admin API and raise an alert.
 */

type Source = 'callback' | 'status' | 'registry';

const PAID_STATES = new Set(['paid', 'partially_refunded', 'refunded']);

/** The key of an operation: the provider's payment, and for refunds the refund's own id or the total returned after it. */
export function operationKey(
  provider: string,
  providerRef: string,
  op: { kind: 'payment' } | { kind: 'refund'; refundId?: string; totalAfter?: number },
): string {
  if (op.kind === 'payment') return `${provider}:${providerRef}:payment`;
  return op.refundId ? `${provider}:${providerRef}:refund:${op.refundId}` : `${provider}:${providerRef}:refund-total:${op.totalAfter}`;
}

interface Link {
  attempt: AttemptRow | null;
  payment: PaymentRow | null;
  order: OrderRow | null;
  state: MatchState;
  note: string | null;
  lines: LineShare[];
}

const items = (o: OrderRow) => JSON.parse(o.items) as OrderItem[];

/** Which lines of the order a payment of `amount` pays, after what earlier operations settled. */
async function paymentLines(
  db: Executor,
  order: OrderRow,
  amount: number,
  exceptKey: string,
): Promise<{ lines: LineShare[]; excess: number }> {
  const lines = items(order).map((i) => ({ sku: i.sku, name: i.name, amount: i.amount }));
  const earlier = (await operationsOfOrder(db, order.id))
    .filter((o) => o.op_key !== exceptKey && o.lines && o.match_state !== 'mismatch')
    .map((o) => ({ sign: (o.kind === 'payment' ? 1 : -1) as 1 | -1, lines: JSON.parse(o.lines!) as LineShare[] }));
  const a = allocatePayment(lines, owedPerLine(lines, settledPerLine(lines.length, earlier)), amount);
  return { lines: a.lines, excess: a.excess };
}

/** Which lines a refund takes back: those its payment paid, last first; the order's lines when the payment is not on record. */
async function refundLines(db: Executor, order: OrderRow, ofRef: OperationRow[], amount: number, exceptKey: string): Promise<LineShare[]> {
  const paidOp = ofRef.find((o) => o.kind === 'payment' && o.lines);
  const paid: LineShare[] = paidOp
    ? JSON.parse(paidOp.lines!)
    : items(order).map((i, line) => ({ line, sku: i.sku, name: i.name, amount: i.amount }));
  const returned: number[] = [];
  for (const o of ofRef)
    if (o.kind === 'refund' && o.op_key !== exceptKey && o.lines)
      for (const s of JSON.parse(o.lines) as LineShare[]) returned[s.line] = (returned[s.line] ?? 0) + s.amount;
  return allocateRefund(paid, returned, amount).lines;
}

/** Orders an operation from elsewhere may be for: its order number, or a number named in its purpose. */
async function candidateOrders(
  db: Executor,
  organizationId: string,
  op: Pick<ProviderOperation, 'orderNumber' | 'purpose'>,
): Promise<OrderRow[]> {
  const numbers = new Set<string>();
  if (op.orderNumber) numbers.add(op.orderNumber);
  for (const m of (op.purpose ?? '').matchAll(/(?:заказ\S*|№|#)\s*№?\s*([0-9A-Za-zА-Яа-яЁё][0-9A-Za-zА-Яа-яЁё\-/]*)/giu)) numbers.add(m[1]);
  if (numbers.size === 0) return [];
  return ordersByNumbers(db, organizationId, [...numbers]);
}

/** An operation of one of the gateway's own attempts: its payment's order and the lines it pays. */
async function linkOwn(
  trx: Executor,
  attempt: AttemptRow,
  payment: PaymentRow,
  op: Pick<ProviderOperation, 'kind' | 'providerRef' | 'amount'>,
  key: string,
): Promise<Link> {
  const order = (await getOrder(trx, payment.order_id))!;
  if (op.kind === 'refund') {
    return {
      attempt,
      payment,
      order,
      state: 'matched',
      note: null,
      lines: await refundLines(
        trx,
        order,
        await operationsOfRef(trx, attempt.organization_id, attempt.provider, op.providerRef),
        op.amount,
        key,
      ),
    };
  }
  if (op.amount !== payment.amount) {
    return {
      attempt,
      payment,
      order,
      state: 'mismatch',
      note: `банк сообщает ${formatRub(op.amount)}, платёж выставлен на ${formatRub(payment.amount)}`,
      lines: [],
    };
  }
  const { lines } = await paymentLines(trx, order, op.amount, key);
  return { attempt, payment, order, state: 'matched', note: null, lines };
}

/** Finds what an operation belongs to: the gateway's attempt (by the provider's id or our order number), else an order it names. */
async function link(
  trx: Executor,
  organizationId: string,
  provider: string,
  op: Pick<ProviderOperation, 'kind' | 'providerRef' | 'orderNumber' | 'purpose' | 'amount'>,
  key: string,
): Promise<Link> {
  let attempt = (await findAttemptByRef(trx, organizationId, provider, op.providerRef)) ?? null;
  if (!attempt && op.orderNumber) {
    attempt = (await findAttemptByOrderNumber(trx, organizationId, provider, op.orderNumber)) ?? null;
  }
  if (attempt) return linkOwn(trx, attempt, (await getPayment(trx, attempt.payment_id))!, op, key);

  // started outside the gateway (a QR at the front desk, another site on the same terminal)
  if (op.kind === 'refund') {
    const payOp = (await operationsOfRef(trx, organizationId, provider, op.providerRef)).find((o) => o.kind === 'payment' && o.order_id);
    const order = payOp ? ((await getOrder(trx, payOp.order_id!)) ?? null) : null;
    if (order)
      return {
        attempt: null,
        payment: null,
        order,
        state: 'matched',
        note: null,
        lines: await refundLines(trx, order, await operationsOfRef(trx, organizationId, provider, op.providerRef), op.amount, key),
      };
    return {
      attempt: null,
      payment: null,
      order: null,
      state: 'unmatched',
      note: 'возврат по платежу, который не сопоставлен с заказом',
      lines: [],
    };
  }
  const candidates = await candidateOrders(trx, organizationId, op);
  if (candidates.length === 0)
    return {
      attempt: null,
      payment: null,
      order: null,
      state: 'unmatched',
      note: 'ни один заказ не подходит по номеру и назначению платежа',
      lines: [],
    };
  if (candidates.length > 1) {
    return {
      attempt: null,
      payment: null,
      order: null,
      state: 'ambiguous',
      note: `подходят заказы ${candidates.map((o) => o.number).join(', ')}`,
      lines: [],
    };
  }
  const order = candidates[0];
  const { lines, excess } = await paymentLines(trx, order, op.amount, key);
  if (excess > 0)
    return {
      attempt: null,
      payment: null,
      order,
      state: 'mismatch',
      note: `оплата больше, чем осталось оплатить по заказу, на ${formatRub(excess)}`,
      lines,
    };
  return { attempt: null, payment: null, order, state: 'matched', note: null, lines };
}

function row(
  organizationId: string,
  provider: string,
  key: string,
  op: Omit<ProviderOperation, 'refundId' | 'refundedTotal'>,
  l: Link,
  source: Source,
): PaymentOperationsTable {
  const now = nowIso();
  return {
    id: newId(),
    organization_id: organizationId,
    provider,
    op_key: key,
    kind: op.kind,
    provider_ref: op.providerRef,
    order_number: op.orderNumber,
    method: op.method,
    amount: op.amount,
    occurred_at: op.occurredAt,
    payer_bank: op.payerBank?.slice(0, 200) ?? null,
    purpose: op.purpose?.slice(0, 500) ?? null,
    channel: l.attempt ? (l.order?.source ?? 'site') : 'external',
    source,
    attempt_id: l.attempt?.id ?? null,
    payment_id: l.payment?.id ?? null,
    order_id: l.order?.id ?? null,
    match_state: l.state,
    match_note: l.note,
    lines: l.lines.length ? JSON.stringify(l.lines) : null,
    raw: op.raw === undefined ? null : JSON.stringify(withoutCardData(op.raw)),
    ...(op.fee !== undefined ? { fee: op.fee } : {}),
    created_at: now,
    updated_at: now,
  };
}

/** Writes one operation (once) and, the first time, raises the review alert it calls for. */
async function store(
  d: FlowDeps,
  trx: Executor,
  r: PaymentOperationsTable,
  alert: boolean,
): Promise<{ inserted: boolean; row: OperationRow }> {
  const result = await upsertOperation(trx, d.store.dialect, r);
  if (
    result.inserted &&
    alert &&
    (r.match_state === 'unmatched' || r.match_state === 'ambiguous' || (r.match_state === 'mismatch' && !r.attempt_id))
  ) {
    await d.alerts.raise(trx, ALERTS.operationToReview(result.row.id, r));
  }
  return result;
}

/**
 * A payment the status API just confirmed as paid (after a callback, the janitor, the agent):
 * recorded in the history in the same transaction that moved it. Refunds come from the registry.
 */
export async function recordConfirmedPayment(
  d: FlowDeps,
  trx: Executor,
  attempt: AttemptRow,
  payment: PaymentRow,
  observed: ObservedStatus,
  source: Source,
): Promise<void> {
  if (!attempt.provider_ref || observed.paidAmount <= 0 || !PAID_STATES.has(payment.status)) return;
  const key = operationKey(attempt.provider, attempt.provider_ref, { kind: 'payment' });
  const op = {
    kind: 'payment' as const,
    providerRef: attempt.provider_ref,
    orderNumber: attempt.order_number,
    method: attempt.method,
    amount: observed.paidAmount,
    occurredAt: observed.paidAt ?? payment.paid_at ?? nowIso(),
    payerBank: observed.payerBank ?? null,
    purpose: null,
    raw: undefined,
  };
  // the registry may have listed it first: then the row stands as it is
  await insertIgnore(
    trx,
    d.store.dialect,
    'payment_operations',
    row(attempt.organization_id, attempt.provider, key, op, await linkOwn(trx, attempt, payment, op, key), source),
    ['organization_id', 'op_key'],
  );
}

export interface IngestResult {
  recorded: number;
  review: number;
  /** Attempts whose payment the gateway has not seen in the state the provider reports (lost callbacks). */
  recover: Set<string>;
}

/** One operation of a registry: its payment, and its refunds (listed one by one, or as a total). */
export async function ingestOperation(
  d: FlowDeps,
  organizationId: string,
  provider: string,
  op: ProviderOperation,
  into: IngestResult,
): Promise<void> {
  await ingestOperations(d, organizationId, provider, [op], into);
}

/**
 * A page of a registry's operations, in one transaction: all of them stored, or (a crash, an error)
 * none — the agent has not moved its window on, so it reads the page again and the operation key
 * keeps each operation once. What the page found is added to `into` once it is committed.
 */
export async function ingestOperations(
  d: FlowDeps,
  organizationId: string,
  provider: string,
  ops: readonly ProviderOperation[],
  into: IngestResult,
): Promise<void> {
  if (ops.length === 0) return;
  const page: IngestResult = { recorded: 0, review: 0, recover: new Set() };
  await d.store.db.transaction().execute(async (trx) => {
    for (const op of ops) await ingestIn(d, trx, organizationId, provider, op, page);
  });
  into.recorded += page.recorded;
  into.review += page.review;
  for (const attemptId of page.recover) into.recover.add(attemptId);
  d.jobs.kick();
}

async function ingestIn(
  d: FlowDeps,
  trx: Executor,
  organizationId: string,
  provider: string,
  op: ProviderOperation,
  into: IngestResult,
): Promise<void> {
  const put = async (key: string, o: Omit<ProviderOperation, 'refundId' | 'refundedTotal'>) => {
    const l = await link(trx, organizationId, provider, o, key);
    const r = await store(d, trx, row(organizationId, provider, key, o, l, 'registry'), true);
    if (r.inserted) into.recorded++;
    if (r.inserted && (r.row.match_state === 'unmatched' || r.row.match_state === 'ambiguous')) into.review++;
    // the gateway has not seen what the provider reports: the callback was lost, or the refund not confirmed
    if (l.attempt && l.payment && (o.kind === 'payment' ? !PAID_STATES.has(l.payment.status) : r.inserted)) into.recover.add(l.attempt.id);
  };
  if (op.kind === 'refund') return put(operationKey(provider, op.providerRef, { kind: 'refund', refundId: op.refundId }), op);
  await put(operationKey(provider, op.providerRef, { kind: 'payment' }), op);
  // refunds the registry reports only as a total: what is not on record yet is one more refund
  if (op.refundedTotal !== undefined && op.refundedTotal > 0) {
    const recorded = (await operationsOfRef(trx, organizationId, provider, op.providerRef))
      .filter((o) => o.kind === 'refund')
      .reduce((s, o) => s + o.amount, 0);
    if (op.refundedTotal > recorded) {
      await put(operationKey(provider, op.providerRef, { kind: 'refund', totalAfter: op.refundedTotal }), {
        ...op,
        kind: 'refund',
        amount: op.refundedTotal - recorded,
        occurredAt: nowIso(),
      });
    }
  }
}

const REVIEW: ReadonlySet<MatchState> = new Set(['unmatched', 'ambiguous', 'mismatch']);

/** Support links an operation from the review list to the order it pays; its lines are allocated as for any other. */
export async function matchOperation(d: FlowDeps, operationId: string, orderId: string, note?: string): Promise<OperationRow> {
  return d.store.db.transaction().execute(async (trx) => {
    const op = await getOperation(trx, operationId);
    if (!op) throw notFound('operation');
    if (!REVIEW.has(op.match_state))
      throw conflict(
        'operation_not_in_review',
        `the operation is ${op.match_state}; only unmatched, ambiguous or mismatched ones are matched by hand`,
      );
    const order = await getOrder(trx, orderId);
    if (!order) throw notFound('order');
    if (order.organization_id !== op.organization_id) {
      throw unprocessable('organization_mismatch', 'the order belongs to another organization than the operation', [
        { path: 'orderId', message: `the operation is of ${op.organization_id}` },
      ]);
    }
    const lines =
      op.kind === 'payment'
        ? (await paymentLines(trx, order, op.amount, op.op_key)).lines
        : await refundLines(trx, order, await operationsOfRef(trx, op.organization_id, op.provider, op.provider_ref), op.amount, op.op_key);
    const set = {
      order_id: order.id,
      lines: lines.length ? JSON.stringify(lines) : null,
      match_state: 'resolved' as const,
      match_note: `сопоставлено вручную${note ? `: ${note}` : ''}`,
    };
    await setOperationMatch(trx, op.id, set);
    return { ...op, ...set };
  });
}

/** Support closes a review item that belongs to no order (not the shop's money, settled elsewhere). */
export async function resolveOperation(d: FlowDeps, operationId: string, note: string): Promise<OperationRow> {
  return d.store.db.transaction().execute(async (trx) => {
    const op = await getOperation(trx, operationId);
    if (!op) throw notFound('operation');
    if (!REVIEW.has(op.match_state))
      throw conflict(
        'operation_not_in_review',
        `the operation is ${op.match_state}; only unmatched, ambiguous or mismatched ones are closed by hand`,
      );
    const set = { match_state: 'resolved' as const, match_note: `закрыто вручную: ${note}` };
    await setOperationMatch(trx, op.id, set);
    return { ...op, ...set };
  });
}
