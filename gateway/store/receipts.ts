import { newId } from '../domain/ids';
import type { FiscalAttributes } from '../ports';
import { nowIso, type Dialect, type Executor } from './db';
import type { OrderRow, ReceiptRow, ReceiptsTable, ReceiptStatus } from './schema';
import { insertIgnore, page } from './sql';

/** Records a receipt unless one with its external_id exists; true when this call created it. */
export async function insertReceipt(db: Executor, dialect: Dialect, row: ReceiptsTable): Promise<boolean> {
  return insertIgnore(db, dialect, 'receipts', row, ['external_id']);
}

export async function getReceipt(db: Executor, id: string): Promise<ReceiptRow | undefined> {
  return db.selectFrom('receipts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findReceiptByExternalId(db: Executor, externalId: string): Promise<ReceiptRow | undefined> {
  return db.selectFrom('receipts').selectAll().where('external_id', '=', externalId).executeTakeFirst();
}

/** A payment's receipts (its refunds' too), oldest first. */
export async function paymentReceipts(db: Executor, paymentId: string): Promise<ReceiptRow[]> {
  return db.selectFrom('receipts').selectAll().where('payment_id', '=', paymentId).orderBy('created_at').orderBy('id').execute();
}

export async function orderReceipts(db: Executor, orderId: string): Promise<ReceiptRow[]> {
  return db.selectFrom('receipts').selectAll().where('order_id', '=', orderId).orderBy('created_at').orderBy('id').execute();
}

/** Receipts of a register not yet sent that were made before this one: they go first. */
export async function unsentBefore(
  db: Executor,
  r: Pick<ReceiptRow, 'organization_id' | 'register_id' | 'created_at' | 'id'>,
  limit: number,
): Promise<ReceiptRow[]> {
  const q = db
    .selectFrom('receipts')
    .selectAll()
    .where('organization_id', '=', r.organization_id)
    .where('register_id', '=', r.register_id)
    .where('status', '=', 'pending')
    .where((eb) => eb.or([eb('created_at', '<', r.created_at), eb.and([eb('created_at', '=', r.created_at), eb('id', '<', r.id)])]))
    .orderBy('created_at')
    .orderBy('id');
  return page(db, q, limit).execute();
}

/** Sent receipts whose result is due to be asked for. */
export async function receiptsDueForCheck(db: Executor, limit: number): Promise<ReceiptRow[]> {
  const q = db
    .selectFrom('receipts')
    .selectAll()
    .where('status', '=', 'sent')
    .where('next_check_at', '<=', nowIso())
    .orderBy('next_check_at');
  return page(db, q, limit).execute();
}

export async function listReceipts(
  db: Executor,
  filter: { status?: ReceiptStatus; organizations?: string[]; limit: number; offset?: number },
): Promise<ReceiptRow[]> {
  let q = db.selectFrom('receipts').selectAll();
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.organizations) q = q.where('organization_id', 'in', filter.organizations);
  return page(db, q.orderBy('created_at', 'desc').orderBy('id', 'desc'), filter.limit, filter.offset ?? 0).execute();
}

type Settable = Partial<
  Pick<ReceiptsTable, 'status' | 'attempt' | 'provider_uuid' | 'error' | 'error_code' | 'checks' | 'next_check_at' | 'sent_at' | 'done_at'>
>;

/** Moves a receipt on from one of `from`; false when it had moved already (another run got there first). */
export async function updateReceipt(db: Executor, id: string, from: ReceiptStatus[], set: Settable): Promise<boolean> {
  const r = await db
    .updateTable('receipts')
    .set({ ...set, updated_at: nowIso() })
    .where('id', '=', id)
    .where('status', 'in', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function markReceiptDone(db: Executor, id: string, uuid: string, f: FiscalAttributes): Promise<boolean> {
  const now = nowIso();
  const r = await db
    .updateTable('receipts')
    .set({
      status: 'done',
      provider_uuid: uuid,
      fn_number: f.fnNumber,
      fiscal_document_number: f.documentNumber,
      fiscal_document_attribute: f.documentAttribute,
      fiscal_datetime: f.datetime,
      ecr_registration_number: f.registrationNumber,
      shift_number: f.shiftNumber,
      ofd_receipt_url: f.ofdUrl ?? null,
      error: null,
      error_code: null,
      next_check_at: null,
      done_at: now,
      updated_at: now,
    })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'sent'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Orders 1C has not shipped yet that a shipment would give a receipt: prepaid ones (a prepayment
 * receipt and no settlement) and deferred ones made in the last `days`.
 */
export async function ordersAwaitingShipment(db: Executor, organizationId: string, days: number, limit: number): Promise<OrderRow[]> {
  const since = nowIso(Date.now() - days * 86_400_000);
  const q = db
    .selectFrom('orders')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('shipped_at', 'is', null)
    .where('status', '!=', 'cancelled')
    .where((eb) =>
      eb.or([
        eb.exists(
          eb
            .selectFrom('receipts')
            .select('receipts.id')
            .whereRef('receipts.order_id', '=', 'orders.id')
            .where('receipts.kind', '=', 'prepayment')
            .where('receipts.status', '!=', 'failed'),
        ),
        eb.and([eb('orders.payment_terms', 'like', '%"deferred"%'), eb('orders.created_at', '>=', since)]),
      ]),
    )
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('receipts')
            .select('receipts.id')
            .whereRef('receipts.order_id', '=', 'orders.id')
            .where('receipts.kind', '=', 'settlement'),
        ),
      ),
    )
    .orderBy('orders.created_at');
  return page(db, q, limit).execute();
}

/** A sent receipt is not due for a check again before `at` (its check is queued). */
export async function postponeReceiptCheck(db: Executor, id: string, at: string): Promise<void> {
  await db.updateTable('receipts').set({ next_check_at: at }).where('id', '=', id).where('status', '=', 'sent').execute();
}

/** What a new receipt is made of; the rest starts empty (no attempt, no fiscal attributes). */
export type NewReceiptFields = Pick<
  ReceiptRow,
  'organization_id' | 'order_id' | 'payment_id' | 'refund_id' | 'register_id' | 'kind' | 'operation' | 'external_id' | 'total' | 'body'
> &
  Partial<Pick<ReceiptRow, 'request_hash' | 'mirrors' | 'status' | 'error' | 'error_code'>>;

/** A receipt row as a new receipt has it. */
export function newReceiptRow(r: NewReceiptFields): ReceiptRow {
  const now = nowIso();
  return {
    id: newId(),
    request_hash: null,
    attempt: 0,
    status: 'pending',
    mirrors: null,
    provider_uuid: null,
    fn_number: null,
    fiscal_document_number: null,
    fiscal_document_attribute: null,
    fiscal_datetime: null,
    ecr_registration_number: null,
    shift_number: null,
    ofd_receipt_url: null,
    error: null,
    error_code: null,
    checks: 0,
    next_check_at: null,
    sent_at: null,
    done_at: null,
    created_at: now,
    updated_at: now,
    ...r,
  };
}
