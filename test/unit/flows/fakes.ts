import type { ObservedStatus } from '../../../gateway/domain/payment-state';
import { parseConfig } from '../../../gateway/config';
import { Alerts } from '../../../gateway/flows/alerts/alerts';
import type { FlowDeps } from '../../../gateway/flows/deps';
import { FiscalRegisters, OneCBases, Providers } from '../../../gateway/flows/registries';
import { JobQueue } from '../../../gateway/jobs/queue';
import type { Job, JobContext } from '../../../gateway/jobs/types';
import { createLogger } from '../../../gateway/log';
import type {
  BuyerMessage,
  AcquiringProvider,
  Alert,
  AttemptRef,
  CancelResult,
  InboundWebhook,
  InitiateInput,
  InitiateResult,
  Notifier,
  OneCDocumentRef,
  OneCPaymentDoc,
  OneCSink,
  ProviderName,
  WebhookResult,
} from '../../../gateway/ports';
import { newId } from '../../../gateway/domain/ids';
import { nowIso, openStore, type Store } from '../../../gateway/store/db';
import { insertOrder, newOrderRow } from '../../../gateway/store/orders';
import { insertAttempt, insertPayment, newAttemptRow, newPaymentRow } from '../../../gateway/store/payments';
import type { JobRow } from '../../../gateway/store/schema';
import { migrateToLatest } from '../../../gateway/store/migrations';

/**
 * Flows with fake ports: a real store (SQLite in memory, migrated), hand-made connectors that say
 * what a test tells them to and record what they were asked. No HTTP, no emulator, no runner: a
 * test calls the use case, then reads the store and the outbox, and runs a queued job itself.
 */

/**
 * A provider whose signatures are `ok`/`bad`, and whose status API answers what `status` holds (or throws it);
 * `statusOf` answers for one attempt (by its provider id) instead. It registers every attempt (`md-<n>`, a
 * redirect to the form), cancels with what `cancel_` holds, and records what it was asked.
 */
export class FakeProvider implements AcquiringProvider {
  readonly name: ProviderName = 'sber';
  status_: ObservedStatus | Error = { state: 'pending', amount: 0, paidAmount: 0, refundedAmount: 0 };
  readonly statusOf = new Map<string, ObservedStatus>();
  readonly statusCalls: AttemptRef[] = [];
  readonly initiateCalls: InitiateInput[] = [];
  cancel_: CancelResult | Error = { cancelled: true };
  readonly cancelCalls: AttemptRef[] = [];
  readonly refundCalls: { ref: AttemptRef; amount: number }[] = [];
  event: Partial<Extract<WebhookResult, { ok: true }>['event']> = {};

  async initiate(input: InitiateInput): Promise<InitiateResult> {
    this.initiateCalls.push(input);
    const providerRef = `md-new-${this.initiateCalls.length}`;
    return { providerRef, action: { type: 'redirect', url: `https://bank.invalid/form?mdOrder=${providerRef}` } };
  }
  async status(ref: AttemptRef): Promise<ObservedStatus> {
    this.statusCalls.push(ref);
    const own = ref.providerRef ? this.statusOf.get(ref.providerRef) : undefined;
    if (own) return own;
    if (this.status_ instanceof Error) throw this.status_;
    return this.status_;
  }
  async refund(ref: AttemptRef, input: { amount: number }): Promise<void> {
    this.refundCalls.push({ ref, amount: input.amount });
  }
  async cancel(ref: AttemptRef): Promise<CancelResult> {
    this.cancelCalls.push(ref);
    if (this.cancel_ instanceof Error) throw this.cancel_;
    return this.cancel_;
  }
  verifyWebhook(req: InboundWebhook): WebhookResult {
    if (req.params.signature !== 'ok') return { ok: false, refused: 'signature', reason: 'checksum does not verify' };
    if (req.params.operation === 'mystery') return { ok: false, refused: 'content', reason: 'unknown operation mystery' };
    return {
      ok: true,
      event: {
        ref: { providerRef: req.params.ref, orderNumber: req.params.orderNumber },
        dedupeKey: `cb:${req.params.ref}:${req.params.operation ?? 'deposited'}`,
        operation: req.params.operation ?? 'deposited',
        success: true,
        ...(req.params.amount ? { amount: Number(req.params.amount) } : {}),
        ...this.event,
      },
    };
  }
}

/** A 1C base that takes documents, or throws what `fail` holds; `delivered` is what it holds. */
export class FakeSink implements OneCSink {
  readonly transport = 'http' as const;
  readonly delivered: OneCPaymentDoc[] = [];
  fail: Error | null = null;
  async deliver(doc: OneCPaymentDoc): Promise<OneCDocumentRef> {
    if (this.fail) throw this.fail;
    this.delivered.push(doc);
    return {
      ref: `ref-${this.delivered.length}`,
      entity: 'hs',
      number: `ОП-${String(this.delivered.length).padStart(5, '0')}`,
      posted: true,
    };
  }
  async ping(): Promise<void> {}
}

export class RecordingNotifier implements Notifier {
  readonly name = 'recording';
  readonly sent: Alert[] = [];
  async send(alert: Alert): Promise<void> {
    this.sent.push(alert);
  }
}

export interface FlowBench {
  d: FlowDeps;
  store: Store;
  provider: FakeProvider;
  sink: FakeSink;
  /** What was sent to buyers. */
  buyerMessages: BuyerMessage[];
  close(): Promise<void>;
  /** The jobs in the outbox, oldest first. */
  jobs(name?: string): Promise<JobRow[]>;
  /** Runs a queued job's handler as the runner would (attempt 1 of its maximum unless told). */
  run<P>(job: Job<P, FlowDeps>, row: JobRow, ctx?: Partial<JobContext>): Promise<void>;
}

export async function flowBench(): Promise<FlowBench> {
  const config = parseConfig(
    {
      database: { url: 'sqlite::memory:' },
      log: { level: 'silent' },
      organizations: [
        {
          id: 'main',
          name: 'ООО «Ромашка»',
          siteKeys: ['site-key-0123456789'],
          payments: { card: { provider: 'sber' } },
          providers: { sber: { userName: 'api', password: 'secret', callback: { mode: 'symmetric', secret: 'callback-secret' } } },
          onec: { transport: 'http', baseUrl: 'http://1c.invalid/ut', user: 'gateway', password: 'password' },
        },
      ],
    },
    {},
  );
  const store = await openStore(config.database.url);
  await migrateToLatest(store.db);
  const log = createLogger('silent');
  const queue = new JobQueue(config.jobs.maxAttempts);
  const provider = new FakeProvider();
  const sink = new FakeSink();
  const buyerMessages: BuyerMessage[] = [];
  const d: FlowDeps = {
    config,
    orgs: new Map(config.organizations.map((o) => [o.id, o])),
    store,
    jobs: queue,
    providers: new Providers(new Map([['main', new Map([['sber', provider]])]])),
    alerts: new Alerts(queue, [new RecordingNotifier()], log),
    onec: new OneCBases(new Map([['main', sink]]), new Map()),
    fiscal: new FiscalRegisters([], new Map()),
    sites: new Map(),
    buyers: { name: 'recording', send: async (m) => void buyerMessages.push(m) },
    invoiceDocuments: { pdf: async () => Buffer.from('%PDF-'), html: async () => '<html></html>' },
    statementFile: () => ({ name: 'none', incomingSince: async () => ({ lines: [], cursor: null }) }),
    statementApis: new Map(),
    log,
  };
  return {
    buyerMessages,
    d,
    store,
    provider,
    sink,
    close: () => store.close(),
    jobs: (name) => {
      let q = store.db.selectFrom('jobs').selectAll().orderBy('created_at').orderBy('id');
      if (name) q = q.where('name', '=', name);
      return q.execute();
    },
    run: (job, row, ctx = {}) =>
      job.handler(d, JSON.parse(row.payload), { jobId: row.id, attempt: 1, maxAttempts: row.max_attempts, log, ...ctx }),
  };
}

/** A site order of `amount` with a card payment whose attempt is registered at the bank as `providerRef`. */
export async function seedPayment(b: FlowBench, amount = 150_000, providerRef = 'md-0001') {
  const order = newOrderRow({
    organization_id: 'main',
    external_id: `site-${providerRef}`,
    number: `1${providerRef.replace(/\D/g, '')}`,
    source: 'site',
    customer: JSON.stringify({ type: 'individual', name: 'Иван Петров', email: 'ivan@example.ru' }),
    items: JSON.stringify([{ sku: 'A-1', name: 'Чайник', quantity: 1, price: amount, amount, vat: 'vat22' }]),
    total: amount,
    payment_terms: JSON.stringify({ type: 'prepay' }),
    request_hash: 'h',
    onec_ref: null,
  });
  await insertOrder(b.store.db, order);
  const payment = newPaymentRow({
    id: newId(),
    order_id: order.id,
    organization_id: 'main',
    method: 'card',
    provider: 'sber',
    amount,
    return_url: null,
    fail_url: null,
  });
  await insertPayment(b.store.db, payment);
  const attempt = {
    ...newAttemptRow({
      id: newId(),
      payment_id: payment.id,
      organization_id: 'main',
      provider: 'sber',
      method: 'card',
      amount,
      order_number: `${order.number}-a1b2c3`,
      expires_at: nowIso(Date.now() + 20 * 60_000),
      next_check_at: nowIso(Date.now() + 60_000),
    }),
    state: 'active' as const,
    provider_ref: providerRef,
  };
  await insertAttempt(b.store.db, attempt);
  return { order, payment, attempt };
}

/** Another pending card payment of the same order, its attempt registered at the bank as `providerRef`. */
export async function seedOrderPayment(b: FlowBench, order: { id: string; number: string; total: number }, providerRef: string) {
  const payment = newPaymentRow({
    id: newId(),
    order_id: order.id,
    organization_id: 'main',
    method: 'card',
    provider: 'sber',
    amount: order.total,
    return_url: null,
    fail_url: null,
  });
  await insertPayment(b.store.db, payment);
  const attempt = {
    ...newAttemptRow({
      id: newId(),
      payment_id: payment.id,
      organization_id: 'main',
      provider: 'sber',
      method: 'card',
      amount: order.total,
      order_number: `${order.number}-${providerRef.replace(/\W/g, '')}`.slice(0, 32),
      expires_at: nowIso(Date.now() + 20 * 60_000),
      next_check_at: nowIso(Date.now() + 60_000),
    }),
    state: 'active' as const,
    provider_ref: providerRef,
  };
  await insertAttempt(b.store.db, attempt);
  return { payment, attempt };
}
