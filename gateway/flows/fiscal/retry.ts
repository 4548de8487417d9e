import { receiptIssues, type ReceiptDoc } from '../../domain/receipt';
import { conflict, notFound } from '../../errors';
import { nowIso } from '../../store/db';
import { getReceipt, updateReceipt } from '../../store/receipts';
import type { ReceiptRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { checkReceiptJob, registerReceiptJob } from './delivery';
import { deadJobsMentioning } from '../../store/jobs';

/**
 * Admin: a failed receipt is sent again as a new try (the register sees `<external_id>.<n>`: the
 * failed one was never registered); a pending one whose job died gets its job back; a sent one is
 * asked about now. A done receipt is never sent again.
 */
export async function retryReceipt(d: FlowDeps, retryJob: (jobId: string) => Promise<unknown>, id: string): Promise<ReceiptRow> {
  const r = await getReceipt(d.store.db, id);
  if (!r) throw notFound('receipt');
  if (r.status === 'done')
    throw conflict(
      'receipt_done',
      'the receipt is registered; a registered receipt is never sent again (make a refund or a correction instead)',
    );
  if (r.status === 'failed') {
    const issues = receiptIssues(JSON.parse(r.body) as ReceiptDoc);
    if (issues.length) throw conflict('receipt_invalid', 'the receipt still cannot be registered as it is', issues);
    await d.store.db.transaction().execute(async (trx) => {
      if (
        !(await updateReceipt(trx, r.id, ['failed'], {
          status: 'pending',
          attempt: r.attempt + 1,
          error: null,
          error_code: null,
          provider_uuid: null,
          sent_at: null,
          checks: 0,
        }))
      )
        return;
      await d.jobs.enqueue(trx, registerReceiptJob, { receiptId: r.id }, { key: `fiscal:${r.id}:${r.attempt + 1}` });
    });
  } else if (r.status === 'pending') {
    const dead = await deadJobsMentioning(d.store.db, registerReceiptJob.name, r.id);
    if (dead.length === 0) throw conflict('receipt_in_progress', 'the receipt is on its way to the register already');
    for (const j of dead) await retryJob(j.id);
  } else {
    await d.store.db
      .transaction()
      .execute((trx) => d.jobs.enqueue(trx, checkReceiptJob, { receiptId: r.id }, { key: `fiscal:admin-check:${r.id}:${nowIso()}` }));
  }
  d.jobs.kick();
  return (await getReceipt(d.store.db, r.id))!;
}
