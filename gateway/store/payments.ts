import { withoutCardData } from '../domain/card-data';
import { newId } from '../domain/ids';
import type { PaymentStatus } from '../domain/payment-state';
import { nowIso, type Executor } from './db';
import { prepared } from './prepared';
import type {
  AttemptRow,
  AttemptState,
  NewPayment,
  NewRefund,
  OneCStatus,
  PaymentAttemptsTable,
  PaymentEventsTable,
  PaymentRow,
  PaymentsTable,
  RefundRow,
} from './schema';
import { insertIgnoreQuery, page } from './sql';

// ---------------------------------------------------------------- payments

/** A new payment: pending, nothing paid, refunded or sent to 1C yet. */
export function newPaymentRow(
  p: Pick<PaymentRow, 'id' | 'order_id' | 'organization_id' | 'method' | 'provider' | 'amount' | 'return_url' | 'fail_url'>,
  now: string = nowIso(),
): PaymentRow {
  return {
    status: 'pending',
    status_reason: null,
    refunded_amount: 0,
    paid_at: null,
    action: null,
    onec_status: 'not_configured',
    onec_document: null,
    onec_number: null,
    onec_error: null,
    created_at: now,
    updated_at: now,
    ...p,
  };
}

export async function insertPayment(db: Executor, row: NewPayment): Promise<void> {
  await db.insertInto('payments').values(row).execute();
}

const selectPayment = prepared((db, p: { id: string }) => db.selectFrom('payments').selectAll().where('id', '=', p.id));

export async function getPayment(db: Executor, id: string): Promise<PaymentRow | undefined> {
  return (await selectPayment(db, { id })).rows[0];
}

export async function listOrderPayments(db: Executor, orderId: string): Promise<PaymentRow[]> {
  return db.selectFrom('payments').selectAll().where('order_id', '=', orderId).orderBy('created_at').execute();
}

type PaymentMove = Partial<Pick<PaymentsTable, 'status' | 'status_reason' | 'paid_at' | 'refunded_amount' | 'action'>>;

const updatePaymentFrom = prepared((db, { id, from, ...set }: PaymentMove & { updated_at: string; id: string; from: PaymentStatus }) =>
  db.updateTable('payments').set(set).where('id', '=', id).where('status', '=', from),
);

/** Moves a payment from exactly `from` to a new state; false when somebody else moved it first. */
export async function movePayment(db: Executor, id: string, from: PaymentStatus, set: PaymentMove): Promise<boolean> {
  const r = await updatePaymentFrom(db, { ...set, updated_at: nowIso(), id, from });
  return Number(r.numAffectedRows) > 0;
}

/**
 * Payments of the given organizations changed after a point (`since`, or the exact position
 * `since` + `afterId` a previous page ended at), oldest change first.
 */
export async function paymentsChangedSince(
  db: Executor,
  organizations: string[],
  since: string,
  afterId: string | null,
  limit: number,
): Promise<PaymentRow[]> {
  let q = db.selectFrom('payments').selectAll().where('organization_id', 'in', organizations);
  q = afterId
    ? q.where((eb) => eb.or([eb('updated_at', '>', since), eb.and([eb('updated_at', '=', since), eb('id', '>', afterId)])]))
    : q.where('updated_at', '>=', since);
  return page(db, q.orderBy('updated_at').orderBy('id'), limit).execute();
}

export async function setPaymentAction(db: Executor, id: string, action: unknown): Promise<void> {
  await db
    .updateTable('payments')
    .set({ action: JSON.stringify(action), updated_at: nowIso() })
    .where('id', '=', id)
    .execute();
}

// ---------------------------------------------------------------- attempts

/** A new attempt, registering at its provider: no provider id or state yet. */
export function newAttemptRow(
  a: Pick<
    AttemptRow,
    'id' | 'payment_id' | 'organization_id' | 'provider' | 'method' | 'amount' | 'order_number' | 'expires_at' | 'next_check_at'
  >,
  now: string = nowIso(),
): AttemptRow {
  return {
    provider_ref: null,
    provider_extra: null,
    state: 'registering',
    provider_state: null,
    checks: 0,
    error: null,
    created_at: now,
    updated_at: now,
    ...a,
  };
}

export async function insertAttempt(db: Executor, row: PaymentAttemptsTable): Promise<void> {
  await db.insertInto('payment_attempts').values(row).execute();
}

export async function getAttempt(db: Executor, id: string): Promise<AttemptRow | undefined> {
  return db.selectFrom('payment_attempts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findAttemptByRef(
  db: Executor,
  organizationId: string,
  provider: string,
  providerRef: string,
): Promise<AttemptRow | undefined> {
  return db
    .selectFrom('payment_attempts')
    .selectAll()
    .where('provider', '=', provider)
    .where('provider_ref', '=', providerRef)
    .where('organization_id', '=', organizationId)
    .executeTakeFirst();
}

/** What of an attempt handling its callback needs: whom to ask, and where the answer goes. */
const CALLBACK_ATTEMPT = [
  'id',
  'payment_id',
  'organization_id',
  'provider',
  'method',
  'amount',
  'order_number',
  'provider_ref',
  'provider_extra',
] as const satisfies readonly (keyof AttemptRow)[];

/** The attempt a callback is about, its payment's amount, and whether this very callback was recorded before. */
export interface CallbackTarget {
  attempt: Pick<AttemptRow, (typeof CALLBACK_ATTEMPT)[number]>;
  paymentAmount: number;
  seen: boolean;
}

const callbackTargetQuery = (db: Executor, p: { dedupeKey: string; provider: string; providerRef: string; organizationId: string }) =>
  db
    .selectFrom('payment_attempts as a')
    .innerJoin('payments as p', 'p.id', 'a.payment_id')
    .leftJoin('payment_events as e', (join) => join.on('e.dedupe_key', '=', p.dedupeKey))
    .select(CALLBACK_ATTEMPT.map((c) => `a.${c}` as const))
    .select(['p.amount as payment_amount', 'e.id as seen_event'])
    .where('a.provider', '=', p.provider)
    .where('a.provider_ref', '=', p.providerRef)
    .where('a.organization_id', '=', p.organizationId);
const selectCallbackTarget = prepared(callbackTargetQuery);
const selectCallbackTargetUnsynced = prepared(callbackTargetQuery, { unsynced: true });

/**
 * One read for what handling a callback needs before it asks the provider. It does not wait for
 * the disk: a callback is acknowledged only after a commit of its own, synced after everything read
 * here; but a callback seen before is acknowledged at once, so that answer is read again once what
 * it matched is on disk.
 */
export async function findCallbackTarget(
  db: Executor,
  organizationId: string,
  provider: string,
  providerRef: string,
  dedupeKey: string,
): Promise<CallbackTarget | undefined> {
  const values = { dedupeKey, provider, providerRef, organizationId };
  let r = await selectCallbackTargetUnsynced(db, values);
  if ((r.rows[0] as { seen_event?: string | null } | undefined)?.seen_event != null) r = await selectCallbackTarget(db, values);
  const row = r.rows[0] as (CallbackTarget['attempt'] & { payment_amount: number; seen_event: string | null }) | undefined;
  if (!row) return undefined;
  const { payment_amount, seen_event, ...attempt } = row;
  return { attempt, paymentAmount: payment_amount, seen: seen_event !== null };
}

export async function paymentAttempts(db: Executor, paymentId: string): Promise<AttemptRow[]> {
  return db.selectFrom('payment_attempts').selectAll().where('payment_id', '=', paymentId).orderBy('created_at').execute();
}

type AttemptChange = Partial<
  Pick<
    PaymentAttemptsTable,
    'state' | 'provider_ref' | 'provider_state' | 'next_check_at' | 'checks' | 'error' | 'provider_extra' | 'expires_at'
  >
>;

const updateAttemptRow = prepared((db, { id, ...set }: AttemptChange & { updated_at: string; id: string }) =>
  db.updateTable('payment_attempts').set(set).where('id', '=', id),
);

export async function updateAttempt(db: Executor, id: string, set: AttemptChange): Promise<void> {
  await updateAttemptRow(db, { ...set, updated_at: nowIso(), id });
}

/** Attempts not yet final whose next check is due: lost callbacks, unanswered registrations. */
export async function attemptsDueForCheck(db: Executor, limit: number): Promise<AttemptRow[]> {
  const q = db
    .selectFrom('payment_attempts')
    .selectAll()
    .where('state', 'in', ['registering', 'active'] satisfies AttemptState[])
    .where('next_check_at', '<=', nowIso())
    .orderBy('next_check_at');
  return page(db, q, limit).execute();
}

// ---------------------------------------------------------------- events

const insertEvent = prepared((db, row: PaymentEventsTable) => insertIgnoreQuery(db, 'payment_events', row, ['dedupe_key']));

/**
 * What a provider said about an attempt (a callback, a status answer), under the key that makes it one
 * event. The payload is stored as it came, but for cardholder data (no name, no expiry, the card number as 6+4).
 */
export function paymentEventRow(
  attempt: Pick<AttemptRow, 'id' | 'organization_id' | 'provider'>,
  e: Pick<PaymentEventsTable, 'kind' | 'dedupe_key' | 'outcome'> & { payload: unknown },
): PaymentEventsTable {
  return {
    id: newId(),
    organization_id: attempt.organization_id,
    provider: attempt.provider,
    attempt_id: attempt.id,
    received_at: nowIso(),
    kind: e.kind,
    dedupe_key: e.dedupe_key,
    outcome: e.outcome,
    payload: JSON.stringify(withoutCardData(e.payload)),
  };
}

/** Records an inbound callback or status answer; false when the same one was recorded before. */
export async function recordEvent(db: Executor, row: PaymentEventsTable): Promise<boolean> {
  const r = await insertEvent(db, row);
  return Number(r.numAffectedRows ?? 0) > 0;
}

/** What happened to a payment, oldest first: every event of each of its attempts. */
export async function paymentTimeline(db: Executor, paymentId: string): Promise<PaymentEventsTable[]> {
  return db
    .selectFrom('payment_events as e')
    .innerJoin('payment_attempts as a', 'a.id', 'e.attempt_id')
    .selectAll('e')
    .where('a.payment_id', '=', paymentId)
    .orderBy('e.received_at')
    .orderBy('e.id')
    .execute();
}

/** The attempts of an order's other pending payments that the bank may still take money on. */
export async function openAttemptsOfOrder(db: Executor, orderId: string, exceptPaymentId: string): Promise<AttemptRow[]> {
  return db
    .selectFrom('payment_attempts as a')
    .innerJoin('payments as p', 'p.id', 'a.payment_id')
    .selectAll('a')
    .where('p.order_id', '=', orderId)
    .where('p.id', '!=', exceptPaymentId)
    .where('p.status', '=', 'pending')
    .where('a.state', 'in', ['registering', 'active'] satisfies AttemptState[])
    .orderBy('a.created_at')
    .execute();
}

export async function attemptEvents(db: Executor, attemptId: string) {
  return db.selectFrom('payment_events').selectAll().where('attempt_id', '=', attemptId).orderBy('received_at').execute();
}

// ---------------------------------------------------------------- refunds

/** A new refund, pending at the provider, not yet in 1C. */
export function newRefundRow(r: Pick<RefundRow, 'payment_id' | 'amount' | 'refunded_before'>): RefundRow {
  const now = nowIso();
  return {
    id: newId(),
    status: 'pending',
    error: null,
    onec_status: 'not_configured',
    onec_document: null,
    onec_number: null,
    onec_error: null,
    created_at: now,
    updated_at: now,
    ...r,
  };
}

export async function insertRefund(db: Executor, row: NewRefund): Promise<void> {
  await db.insertInto('refunds').values(row).execute();
}

export async function getRefund(db: Executor, id: string): Promise<RefundRow | undefined> {
  return db.selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function paymentRefunds(db: Executor, paymentId: string): Promise<RefundRow[]> {
  return db.selectFrom('refunds').selectAll().where('payment_id', '=', paymentId).orderBy('created_at').execute();
}

export async function setRefundStatus(
  db: Executor,
  id: string,
  from: RefundRow['status'],
  status: RefundRow['status'],
  error: string | null = null,
): Promise<boolean> {
  const r = await db
    .updateTable('refunds')
    .set({ status, error, updated_at: nowIso() })
    .where('id', '=', id)
    .where('status', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Where a payment or a refund stands with 1C: queued, delivered (1C's document), or failed (the reason). */
export interface OnecDelivery {
  onec_status: OneCStatus;
  onec_document?: string | null;
  onec_number?: string | null;
  onec_error?: string | null;
  updated_at?: string;
}

export async function setOnecDelivery(db: Executor, of: 'payments' | 'refunds', id: string, set: OnecDelivery): Promise<void> {
  await db.updateTable(of).set(set).where('id', '=', id).execute();
}

/** The attempt that has our order number at the provider (an operation the provider lists without its own id). */
export async function findAttemptByOrderNumber(
  db: Executor,
  organizationId: string,
  provider: string,
  orderNumber: string,
): Promise<AttemptRow | undefined> {
  return db
    .selectFrom('payment_attempts')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('provider', '=', provider)
    .where('order_number', '=', orderNumber)
    .executeTakeFirst();
}

/** Payments and refunds whose delivery to 1C waits for their order to appear there, oldest first. */
export async function waitingForOrder(db: Executor, limit: number): Promise<{ of: 'payments' | 'refunds'; id: string }[]> {
  const payments = await page(
    db,
    db.selectFrom('payments').select('id').where('onec_status', '=', 'waiting_for_order').orderBy('updated_at'),
    limit,
  ).execute();
  const refunds = await page(
    db,
    db.selectFrom('refunds').select('id').where('onec_status', '=', 'waiting_for_order').orderBy('updated_at'),
    limit,
  ).execute();
  return [...payments.map((p) => ({ of: 'payments' as const, id: p.id })), ...refunds.map((r) => ({ of: 'refunds' as const, id: r.id }))];
}

/**
 * What is left to pay on a pending payment, from `from` to `to` kopecks: false when the payment is no
 * longer pending or its amount moved meanwhile (another transfer applied first).
 */
export async function shrinkPendingPayment(db: Executor, id: string, from: number, to: number): Promise<boolean> {
  const r = await db
    .updateTable('payments')
    .set({ amount: to, updated_at: nowIso() })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('amount', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Of these 1C documents, the ones the gateway wrote itself: recorded as a payment's or refund's 1C
 * document, or holding a payment's or refund's id (or its leading characters) in the marker field.
 */
export async function documentsWrittenByGateway(
  db: Executor,
  organizationId: string,
  docs: readonly { ref: string; markerId: string | null }[],
): Promise<Set<string>> {
  const own = new Set<string>();
  if (docs.length === 0) return own;
  for (let i = 0; i < docs.length; i += 200) {
    const part = docs.slice(i, i + 200);
    const refs = part.map((d) => d.ref.toLowerCase());
    const delivered = await db
      .selectFrom('payments')
      .select('onec_document as ref')
      .where('organization_id', '=', organizationId)
      .where('onec_document', 'in', refs)
      .union(
        db
          .selectFrom('refunds')
          .innerJoin('payments', 'payments.id', 'refunds.payment_id')
          .select('refunds.onec_document as ref')
          .where('payments.organization_id', '=', organizationId)
          .where('refunds.onec_document', 'in', refs),
      )
      .execute();
    for (const r of delivered) if (r.ref) own.add(r.ref.toLowerCase());
  }
  for (const d of docs) {
    if (!d.markerId || own.has(d.ref.toLowerCase())) continue;
    const id = d.markerId.toLowerCase();
    const full = id.length === 36;
    const hit =
      (await db
        .selectFrom('payments')
        .select('id')
        .where('organization_id', '=', organizationId)
        .where('id', full ? '=' : 'like', full ? id : `${id}%`)
        .executeTakeFirst()) ??
      (await db
        .selectFrom('refunds')
        .select('id')
        .where('id', full ? '=' : 'like', full ? id : `${id}%`)
        .executeTakeFirst());
    if (hit) own.add(d.ref.toLowerCase());
  }
  return own;
}
