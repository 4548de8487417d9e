import { forbidden, notFound } from '../../errors';
import { getReceipt } from '../../store/receipts';
import type { FlowDeps } from '../deps';
import { checkReceiptJob } from './delivery';

/** ATOL's callback for one receipt: the signature in its URL verified, then the result asked for (never taken from the callback). */
export async function handleRegisterCallback(
  d: FlowDeps,
  organizationId: string,
  params: Record<string, string>,
): Promise<'queued' | 'final'> {
  if (!d.orgs.has(organizationId)) throw notFound('organization');
  const r = params.receipt ? await getReceipt(d.store.db, params.receipt) : undefined;
  const reg = r && r.organization_id === organizationId ? d.fiscal.get(organizationId, r.register_id) : undefined;
  if (!r || !reg?.verifyCallback || reg.verifyCallback(params) !== r.id) {
    d.log.warn({ organization: organizationId, receipt: params.receipt?.slice(0, 40) }, 'register callback rejected');
    throw forbidden('invalid_signature', 'the callback signature does not verify');
  }
  if (r.status !== 'sent') return 'final';
  await d.store.db
    .transaction()
    .execute((trx) =>
      d.jobs.enqueue(trx, checkReceiptJob, { receiptId: r.id }, { key: `fiscal:callback:${r.id}:${r.attempt}:${r.checks}` }),
    );
  d.jobs.kick();
  return 'queued';
}
