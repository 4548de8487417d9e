import { nowIso, type Dialect, type Executor } from './db';
import type { AttemptRow, AttemptState, NewPayment, NewRefund, PaymentAttemptsTable, PaymentEventsTable, PaymentRow, PaymentsTable, RefundRow } from './schema';
import { insertIgnore, page } from './sql';

// ---------------------------------------------------------------- payments

export async function insertPayment(db: Executor, row: NewPayment): Promise<void> {
  await db.insertInto('payments').values(row).execute();
}

export async function getPayment(db: Executor, id: string): Promise<PaymentRow | undefined> {
  return db.selectFrom('payments').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listOrderPayments(db: Executor, orderId: string): Promise<PaymentRow[]> {
  return db.selectFrom('payments').selectAll().where('order_id', '=', orderId).orderBy('created_at').execute();
}

/** Moves a payment from exactly `from` to a new state; false when somebody else moved it first. */
export async function movePayment(db: Executor, id: string, from: string, set: Partial<Pick<PaymentsTable, 'status' | 'status_reason' | 'paid_at' | 'refunded_amount' | 'action'>>): Promise<boolean> {
  const r = await db
    .updateTable('payments')
    .set({ ...set, updated_at: nowIso() })
    .where('id', '=', id)
    .where('status', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Payments of the given organizations changed after a point (`since`, or the exact position
 * `since` + `afterId` a previous page ended at), oldest change first.
 */
export async function paymentsChangedSince(db: Executor, organizations: string[], since: string, afterId: string | null, limit: number): Promise<PaymentRow[]> {
  let q = db.selectFrom('payments').selectAll().where('organization_id', 'in', organizations);
  q = afterId
    ? q.where((eb) => eb.or([eb('updated_at', '>', since), eb.and([eb('updated_at', '=', since), eb('id', '>', afterId)])]))
    : q.where('updated_at', '>=', since);
  return page(db, q.orderBy('updated_at').orderBy('id'), limit).execute();
}

export async function setPaymentAction(db: Executor, id: string, action: unknown): Promise<void> {
  await db.updateTable('payments').set({ action: JSON.stringify(action), updated_at: nowIso() }).where('id', '=', id).execute();
}

// ---------------------------------------------------------------- attempts

export async function insertAttempt(db: Executor, row: PaymentAttemptsTable): Promise<void> {
  await db.insertInto('payment_attempts').values(row).execute();
}

export async function getAttempt(db: Executor, id: string): Promise<AttemptRow | undefined> {
  return db.selectFrom('payment_attempts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findAttemptByRef(db: Executor, organizationId: string, provider: string, providerRef: string): Promise<AttemptRow | undefined> {
  return db
    .selectFrom('payment_attempts')
    .selectAll()
    .where('provider', '=', provider)
    .where('provider_ref', '=', providerRef)
    .where('organization_id', '=', organizationId)
    .executeTakeFirst();
}

export async function paymentAttempts(db: Executor, paymentId: string): Promise<AttemptRow[]> {
  return db.selectFrom('payment_attempts').selectAll().where('payment_id', '=', paymentId).orderBy('created_at').execute();
}

export async function updateAttempt(
  db: Executor,
  id: string,
  set: Partial<Pick<PaymentAttemptsTable, 'state' | 'provider_ref' | 'provider_state' | 'next_check_at' | 'checks' | 'error' | 'provider_extra' | 'expires_at'>>,
): Promise<void> {
  await db.updateTable('payment_attempts').set({ ...set, updated_at: nowIso() }).where('id', '=', id).execute();
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

/** Records an inbound callback or status answer; false when the same one was recorded before. */
export async function recordEvent(db: Executor, dialect: Dialect, row: PaymentEventsTable): Promise<boolean> {
  return insertIgnore(db, dialect, 'payment_events', row, ['dedupe_key']);
}

export async function attemptEvents(db: Executor, attemptId: string) {
  return db.selectFrom('payment_events').selectAll().where('attempt_id', '=', attemptId).orderBy('received_at').execute();
}

// ---------------------------------------------------------------- refunds

export async function insertRefund(db: Executor, row: NewRefund): Promise<void> {
  await db.insertInto('refunds').values(row).execute();
}

export async function getRefund(db: Executor, id: string): Promise<RefundRow | undefined> {
  return db.selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function paymentRefunds(db: Executor, paymentId: string): Promise<RefundRow[]> {
  return db.selectFrom('refunds').selectAll().where('payment_id', '=', paymentId).orderBy('created_at').execute();
}

export async function setRefundStatus(db: Executor, id: string, from: RefundRow['status'], status: RefundRow['status'], error: string | null = null): Promise<boolean> {
  const r = await db.updateTable('refunds').set({ status, error, updated_at: nowIso() }).where('id', '=', id).where('status', '=', from).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
