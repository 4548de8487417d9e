import type { ReceiptDoc } from '../../domain/receipt';
import { PermanentJobError, type JobContext, defineJob, type ScheduleDefinition } from '../../jobs/types';
import { FiscalError, type FiscalRegister, type FiscalState } from '../../ports';
import { nowIso, type Executor } from '../../store/db';
import { getOrder } from '../../store/orders';
import { getReceipt, markReceiptDone, postponeReceiptCheck, receiptsDueForCheck, unsentBefore, updateReceipt } from '../../store/receipts';
import type { ReceiptRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { ALERTS } from '../alerts/catalog';
import { FISCAL_STORAGE_PROBLEMS, registerHealthKey, type RegisterHealthState } from './health';
import { getSyncState, setSyncState } from '../../store/sync-state';

/**
 * Receipts on their way to the register, as durable jobs: `fiscal.register` sends (the register's
 * older unsent receipts first, one send at a time per register), `fiscal.check` asks for a result
 * and never sends again; a schedule asks for the results nobody called back with.
 */

/** What the register is given as the receipt's id: the stable external_id, with the try number after a failure. */
export function registerExternalId(r: Pick<ReceiptRow, 'external_id' | 'attempt'>): string {
  return r.attempt > 0 ? `${r.external_id}.${r.attempt + 1}` : r.external_id;
}

/** How long after sending (or after a `wait`) the result is asked for. */
function nextCheck(d: FlowDeps, r: ReceiptRow, first: boolean): string {
  const cfg = d.fiscal.config(r.organization_id, r.register_id);
  let seconds = 2;
  if (cfg?.type === 'atol-online') seconds = first && cfg.callbacks ? cfg.reportAfterSeconds : cfg.pollEverySeconds;
  return nowIso(Date.now() + seconds * 1000);
}

async function failed(d: FlowDeps, trx: Executor, r: ReceiptRow, code: string, hint: string): Promise<void> {
  if (
    !(await updateReceipt(trx, r.id, ['pending', 'sent'], {
      status: 'failed',
      error: hint.slice(0, 1000),
      error_code: code.slice(0, 32),
      next_check_at: null,
    }))
  )
    return;
  const order = r.order_id ? await getOrder(trx, r.order_id) : undefined;
  await d.alerts.raise(trx, ALERTS.receiptFailed(r, { orderNumber: order?.number, hint, code }));
}

/** Records what the register said about a receipt. */
export async function applyState(d: FlowDeps, r: ReceiptRow, state: FiscalState): Promise<void> {
  const log = d.log.child({ receiptId: r.id, paymentId: r.payment_id, register: r.register_id });
  await d.store.db.transaction().execute(async (trx) => {
    switch (state.state) {
      case 'wait':
        await updateReceipt(trx, r.id, ['pending', 'sent'], {
          status: 'sent',
          provider_uuid: state.uuid,
          sent_at: r.sent_at ?? nowIso(),
          next_check_at: nextCheck(d, r, r.status === 'pending'),
          checks: r.status === 'sent' ? r.checks + 1 : r.checks,
          error: null,
          error_code: null,
        });
        return;
      case 'done':
        if (await markReceiptDone(trx, r.id, state.uuid, state.fiscal))
          log.info({ fn: state.fiscal.fnNumber, fd: state.fiscal.documentNumber }, 'receipt registered');
        return;
      case 'failed':
        log.warn({ code: state.code, reason: state.message }, 'receipt refused by the register');
        await failed(d, trx, r, state.code, state.hint);
        return;
      case 'unknown':
        // the register never got it (the send was lost before it arrived): send it
        await updateReceipt(trx, r.id, ['sent'], { status: 'pending', next_check_at: null });
        await d.jobs.enqueue(trx, registerReceiptJob, { receiptId: r.id }, { key: `fiscal:${r.id}:${r.attempt}:resend:${r.checks}` });
        return;
    }
  });
  d.jobs.kick();
}

function registerOf(d: FlowDeps, r: ReceiptRow): FiscalRegister {
  const reg = d.fiscal.get(r.organization_id, r.register_id);
  if (!reg) throw new PermanentJobError(`register ${r.register_id} of ${r.organization_id} is not configured (any more)`);
  return reg;
}

/** Sends one pending receipt; a refusal for good fails it (and alerts); a passing failure is thrown for the job's retry. */
async function send(d: FlowDeps, r: ReceiptRow, ctx: JobContext): Promise<void> {
  const reg = registerOf(d, r);
  const receipt = JSON.parse(r.body) as ReceiptDoc;
  let state: FiscalState;
  try {
    state = await reg.register({ externalId: registerExternalId(r), receipt, callbackUrl: reg.callbackUrl?.(r.id) });
  } catch (e) {
    if (!(e instanceof FiscalError)) throw e;
    if (e.kind === 'validation') {
      await d.store.db.transaction().execute((trx) => failed(d, trx, r, e.code ?? 'validation', e.hint));
      d.jobs.kick();
      ctx.log.warn({ err: e, receiptId: r.id }, 'receipt refused by the register');
      return;
    }
    const last = !e.retryable || ctx.attempt >= ctx.maxAttempts;
    await d.store.db.transaction().execute(async (trx) => {
      await updateReceipt(trx, r.id, ['pending'], { error: e.hint.slice(0, 1000), error_code: (e.code ?? e.kind).slice(0, 32) });
      if (last) {
        await d.alerts.raise(
          trx,
          ALERTS.receiptStuck(r, {
            jobId: ctx.jobId,
            attempt: ctx.attempt,
            title: e.retryable ? 'Касса долго недоступна' : 'Касса не принимает чеки',
            reason: e.hint,
            waits: true,
          }),
        );
      }
    });
    d.jobs.kick();
    if (!e.retryable) throw new PermanentJobError(e.message, { cause: e });
    throw e;
  }
  await applyState(d, r, state);
}

// a register offline for hours: the receipts wait (backoff capped by jobs.backoffMaxMs)
export const registerReceiptJob = defineJob(
  'fiscal.register',
  async (d: FlowDeps, { receiptId }: { receiptId: string }, ctx) => {
    const r = await getReceipt(d.store.db, receiptId);
    if (!r || r.status !== 'pending') return;
    try {
      registerOf(d, r);
      await sendInOrder(d, r, ctx);
    } catch (e) {
      // failures of the register alert where they happen (send); anything else alerts here when it is final
      const handled = e instanceof FiscalError || (e instanceof PermanentJobError && e.cause instanceof FiscalError);
      if (!handled && (e instanceof PermanentJobError || ctx.attempt >= ctx.maxAttempts)) {
        await d.store.db.transaction().execute((trx) =>
          d.alerts.raise(
            trx,
            ALERTS.receiptStuck(r, {
              jobId: ctx.jobId,
              attempt: ctx.attempt,
              title: 'Чек не отправлен в кассу',
              reason: `${(e as Error).message}.`,
            }),
          ),
        );
        d.jobs.kick();
      }
      throw e;
    }
  },
  // one send at a time per register (the lock in sendInOrder): more would only wait in the worker's slots
  { minAttempts: 30, alertWhenDead: false, concurrency: 2 },
);

/** The register's older unsent receipts first, then this one; one send at a time per register. */
async function sendInOrder(d: FlowDeps, r: ReceiptRow, ctx: JobContext): Promise<void> {
  await d.fiscal.lock(r.organization_id, r.register_id).run(async () => {
    for (const earlier of await unsentBefore(d.store.db, r, 50)) {
      const fresh = await getReceipt(d.store.db, earlier.id);
      try {
        if (fresh?.status === 'pending') await send(d, fresh, ctx);
      } catch (e) {
        // this receipt waits for the earlier one: it says why
        if (e instanceof FiscalError || e instanceof PermanentJobError) {
          const why = e instanceof FiscalError ? e.hint : ((e.cause as FiscalError | undefined)?.hint ?? e.message);
          await updateReceipt(d.store.db, r.id, ['pending'], {
            error: `Ждёт отправки более раннего чека ${earlier.id}: ${why}`.slice(0, 1000),
          });
        }
        throw e;
      }
    }
    const fresh = await getReceipt(d.store.db, r.id);
    if (fresh?.status === 'pending') await send(d, fresh, ctx);
  });
}

export const checkReceiptJob = defineJob(
  'fiscal.check',
  async (d: FlowDeps, { receiptId }: { receiptId: string }) => {
    const r = await getReceipt(d.store.db, receiptId);
    if (!r || r.status !== 'sent') return;
    const state = await registerOf(d, r).check({ externalId: registerExternalId(r), uuid: r.provider_uuid });
    await applyState(d, r, state);
  },
  // ATOL answers one report a second per register: hundreds of checks after an outage would otherwise
  // fill every slot waiting their turn, and hold up payments, 1C and the site's webhooks behind them
  { concurrency: 2 },
);

/** Sent receipts nobody called back about: their result is asked for (a job each, paced per register by the connector). */
export function pollSchedule(d: FlowDeps): ScheduleDefinition | null {
  const orgs = d.config.organizations.filter((o) => o.fiscal.mode !== 'off');
  if (orgs.length === 0) return null;
  return {
    name: 'fiscal.poll',
    everyMs: Math.min(...orgs.map((o) => o.fiscal.pollEverySeconds)) * 1000,
    handler: async () => {
      const due = await receiptsDueForCheck(d.store.db, 500);
      for (const r of due) {
        await d.store.db.transaction().execute(async (trx) => {
          await d.jobs.enqueue(trx, checkReceiptJob, { receiptId: r.id }, { key: `fiscal:check:${r.id}:${r.attempt}:${r.checks}` });
          // not due again until the check has had time to run
          await postponeReceiptCheck(trx, r.id, nowIso(Date.now() + 5 * 60_000));
        });
      }
      if (due.length > 0) d.jobs.kick();
    },
  };
}

/**
 * Local devices are asked for their state, kept for the monitoring rules (`register_offline_minutes`,
 * `fiscal_storage_warnings` alert on a register not answering and on the fiscal storage); paper, the
 * cover, a blocked device alert here, and each sends «решено» when it is gone.
 */
export function devicesSchedule(d: FlowDeps): ScheduleDefinition | null {
  const watched = d.fiscal.all().filter((x) => x.register.health);
  if (watched.length === 0) return null;
  const everySeconds = (organizationId: string, id: string) => {
    const c = d.fiscal.config(organizationId, id);
    return c?.type === 'atol-driver' ? c.statusEverySeconds : 60;
  };
  const every = Math.min(...watched.map((x) => everySeconds(x.organizationId, x.register.id)));
  return {
    name: 'fiscal.devices',
    everyMs: every * 1000,
    handler: async () => {
      for (const { organizationId, register } of watched) {
        const h = await register.health!();
        const key = registerHealthKey(organizationId, register.id);
        const raw = await getSyncState(d.store.db, key);
        const before = raw ? (JSON.parse(raw) as RegisterHealthState) : null;
        const now = nowIso();
        const state: RegisterHealthState = {
          online: h.online,
          offlineSince: h.online ? null : (before?.offlineSince ?? now),
          problems: h.problems.map((p) => ({ key: p.key, title: p.title })),
          checkedAt: now,
        };
        await setSyncState(d.store, key, JSON.stringify(state));
        // the monitoring rules alert on these
        const own = h.problems.filter((p) => p.key !== 'offline' && !FISCAL_STORAGE_PROBLEMS.has(p.key));
        const gone = (before?.problems ?? []).filter(
          (p) => p.key !== 'offline' && !FISCAL_STORAGE_PROBLEMS.has(p.key) && !h.problems.some((q) => q.key === p.key),
        );
        if (own.length === 0 && gone.length === 0) continue;
        await d.store.db.transaction().execute(async (trx) => {
          for (const p of own) {
            await d.alerts.raise(trx, ALERTS.registerProblem({ organizationId, registerId: register.id, problem: p }));
          }
          for (const p of gone) {
            await d.alerts.resolve(
              trx,
              ALERTS.registerProblem({ organizationId, registerId: register.id, problem: { ...p, severity: 'info', text: '' } }).key,
              `Касса ${register.id}: «${p.title}» больше не наблюдается.`,
              { organization: organizationId, register: register.id, problem: p.key },
            );
          }
        });
        if (own.length > 0)
          d.log.warn({ organization: organizationId, register: register.id, problems: own.map((p) => p.key) }, 'register needs attention');
        d.jobs.kick();
      }
    },
  };
}
