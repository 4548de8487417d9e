import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AtolOnlineEmulator } from '../emulators/atol-online/server';
import { OneCEmulator } from '../emulators/onec/server';
import { SberEmulator } from '../emulators/sber/server';
import { TbankEmulator } from '../emulators/tbank/server';
import { orderBody, SITE_AUTH } from '../helpers/harness';
import { onecOrgConfig, sandboxConfig, SANDBOX, SANDBOX_ACCOUNT } from '../sandbox/config';
import { Balancer } from './balancer';
import { Instance, runCli } from './fleet';
import { OwnPostgres, OwnRedis } from './services';
import { SiteReceiver } from './site';

/**
 * The chaos run: 2 gateways (HTTP) and 2 workers on a PostgreSQL and a Redis of their own, the banks,
 * 1C, ATOL and the shop's site emulated in this process. Orders are paid while processes are
 * SIGKILLed and restarted, Redis is lost for a while, PostgreSQL restarts, 1C fails and goes down and
 * ATOL times out; then the queues drain and what the outside systems hold is counted.
 */

export interface ChaosOptions {
  payments: number;
  /** Payments started per second. */
  rate: number;
  killEveryMs: number;
  /** When each fault starts, in ms from the first payment; how long the 1C outage and ATOL's timeouts last. */
  redisAt: number;
  redisDownMs: number;
  postgresAt: number;
  onecDownAt: number;
  onecDownMs: number;
  atolAt: number;
  atolMs: number;
  /** How long the queues may take to drain once the load and the faults stopped. */
  drainMs: number;
  keepDir?: boolean;
  say?: (line: string) => void;
}

export function chaosOptions(payments: number): ChaosOptions {
  const short = payments <= 500;
  // receipts are bounded by ATOL's reports (1 a second per worker): the long run pays at a pace they can follow
  const rate = short ? 6 : 4;
  const span = (payments / rate) * 1000;
  return {
    payments,
    rate,
    killEveryMs: 5000,
    redisAt: span * 0.2,
    redisDownMs: 10_000,
    postgresAt: span * 0.55,
    onecDownAt: span * 0.35,
    onecDownMs: short ? 15_000 : 60_000,
    atolAt: span * 0.1,
    atolMs: short ? 12_000 : 30_000,
    // ATOL's reports, one a second for the whole account, bound the drain: at least a second a receipt
    drainMs: short ? 420_000 : Math.max(1_200_000, payments * 1_200),
  };
}

export interface ChaosReport {
  payments: number;
  paid: number;
  byKind: Record<string, number>;
  kills: number;
  restarts: { processes: number; redis: number; postgres: number };
  unexpectedExits: number;
  callbacks: { sent: number; replayed: number };
  documents: { total: number; perPaymentOne: number; extra: number; deletionMarked: number };
  receipts: { total: number; perPaymentOne: number; registrations: number };
  webhooks: { deliveries: number; paymentsNotified: number; unstableIds: number; refusedBySite: number; badSignatures: number };
  jobs: { dead: { name: string; error: string | null }[]; unfinished: number };
  bankPaidTwice: number;
  /** Report requests ATOL got less than a second after the previous one (its limit is one a second). */
  atolReportRateViolations: number;
  lost: number;
  duplicated: number;
  problems: string[];
  seconds: { drive: number; drain: number };
  dir: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)];

type Kind = 'sber-card' | 'sber-sbp' | 'tbank-card' | 'tbank-sbp' | 'invoice';
const KINDS: Kind[] = ['sber-card', 'sber-sbp', 'tbank-card', 'tbank-sbp'];
/** Every tenth order is a company's, paid by invoice and bank transfer (seen in the T-Business statement). */
const kindOf = (i: number): Kind => (i % 10 === 0 ? 'invoice' : KINDS[i % KINDS.length]);
const BUYER = { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001', email: 'buh@vector.example' };
const PAYER = {
  name: BUYER.name,
  inn: BUYER.inn,
  kpp: BUYER.kpp,
  account: '40702810600000000777',
  bic: '044525593',
  bankName: 'АО «Альфа-Банк»',
};
const ruDate = (d: string) => d.split('-').reverse().join('.');

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const say = o.say ?? ((l: string) => process.stdout.write(`${l}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'onec-chaos-'));
  chmodSync(dir, 0o755); // PostgreSQL's own user reaches its folder inside
  const logDir = join(dir, 'logs');
  mkdirSync(logDir);
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s`;
  const note = (l: string) => say(`[${elapsed()}] ${l}`);

  const postgres = new OwnPostgres(join(dir, 'pg'));
  const redis = new OwnRedis();
  const sber = new SberEmulator(
    [
      {
        userName: SANDBOX.sber.userName,
        password: SANDBOX.sber.password,
        callbackSecret: SANDBOX.sber.callbackSecret,
        callbackMode: 'symmetric',
      },
    ],
    { resendIntervalMs: 2000, resendLimit: 1000 },
  );
  const tbank = new TbankEmulator(
    [{ terminalKey: SANDBOX.tbank.terminalKey, password: SANDBOX.tbank.password, businessToken: SANDBOX.tbank.businessToken }],
    { resendIntervalMs: 2000, resendLimit: 1000, minRedirectDueMs: 0 },
    [SANDBOX_ACCOUNT],
  );
  const onec = new OneCEmulator({ configuration: 'ut11', knobs: { latencyMs: 10 } });
  const atol = new AtolOnlineEmulator([SANDBOX.atol], { processingMs: 200 });
  const site = new SiteReceiver(SANDBOX.siteWebhookSecret);
  const instances: Instance[] = [];
  const gateways = () => instances.filter((i) => i.role === 'gateway' && i.alive && !i.restarting).map((i) => i.url);
  const balancer = new Balancer(gateways);
  let db: pg.Pool | null = null;
  const stoppers: (() => Promise<unknown>)[] = [];
  try {
    note(`PostgreSQL and Redis of our own in ${dir}`);
    await postgres.start();
    stoppers.push(() => postgres.stop());
    await redis.start();
    stoppers.push(() => redis.stop());
    for (const e of [sber, tbank, onec, atol]) {
      await e.start();
      stoppers.push(() => e.stop());
    }
    await site.start();
    stoppers.push(() => site.stop());
    await balancer.start();
    stoppers.push(() => balancer.stop());

    const config = sandboxConfig({
      port: 0,
      databaseUrl: postgres.url,
      redisUrl: redis.url,
      sberRestUrl: sber.restUrl,
      tbank: { apiUrl: tbank.apiUrl, operationsUrl: tbank.operationsUrl },
      siteWebhook: { url: site.url, secret: SANDBOX.siteWebhookSecret },
      fiscal: { atolUrl: atol.baseUrl },
      invoices: { statementUrl: tbank.operationsUrl, everySeconds: 2 },
      exchangeDir: join(dir, 'exchange'),
      overrides: (raw) => {
        // callbacks, ATOL's answers and the customer's return all come through the balancer
        raw.server.publicUrl = balancer.url;
        raw.log.level = 'info';
        raw.redis = { url: redis.url, prefix: 'chaos' };
        // 1C down for a minute and failing a third of the time meanwhile: retried, never given up
        raw.jobs = { ...raw.jobs, maxAttempts: 40, backoffBaseMs: 500, backoffMaxMs: 8000, leaseMs: 10_000 };
        raw.janitor = { everySeconds: 5, pollPendingAfterSeconds: 20, expireAfterMinutes: 60 };
        raw.organizations[0].onec = onecOrgConfig(onec, { configuration: 'ut11', concurrency: 4 });
      },
    });
    const configFile = join(dir, 'gateway.config.yaml');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    note(await runCli(['migrate'], configFile).then((s) => s.trim()));
    db = new pg.Pool({ connectionString: postgres.url, max: 4 });
    db.on('error', () => undefined); // PostgreSQL restarts under us: idle connections die, the next query reconnects

    for (const [name, role] of [
      ['gateway-1', 'gateway'],
      ['gateway-2', 'gateway'],
      ['worker-1', 'worker'],
      ['worker-2', 'worker'],
    ] as const)
      instances.push(new Instance(name, role, configFile, logDir));
    await Promise.all(instances.map((i) => i.start()));
    stoppers.push(() => Promise.all(instances.map((i) => i.stop())));
    note(`fleet up: ${instances.map((i) => `${i.name}${i.port ? `:${i.port}` : ''}`).join(', ')}; balancer ${balancer.url}`);

    // ---------------------------------------------------------------- faults
    let unexpectedExits = 0;
    let faultsOn = true;
    const restart = async (inst: Instance, why: string) => {
      inst.restarting = true;
      try {
        for (let tries = 1; ; tries++) {
          try {
            await inst.start();
            return;
          } catch (e) {
            note(`${inst.name} failed to start (${why}, try ${tries}): ${(e as Error).message.split('\n')[0].slice(0, 300)}`);
            await sleep(1000);
          }
        }
      } finally {
        inst.restarting = false;
      }
    };
    const supervisor = (async () => {
      while (faultsOn || instances.some((i) => !i.alive)) {
        for (const inst of instances) {
          if (!inst.alive && !inst.restarting && !inst.killing) {
            unexpectedExits++;
            note(`${inst.name} exited on its own: restarting it`);
            await restart(inst, 'exited');
          }
        }
        await sleep(500);
        if (!faultsOn && instances.every((i) => i.alive)) break;
      }
    })();
    const killer = (async () => {
      while (faultsOn) {
        await sleep(o.killEveryMs * (0.5 + Math.random()));
        if (!faultsOn) break;
        const inst = pick(instances.filter((i) => i.alive && !i.restarting && !i.killing));
        if (!inst) continue;
        inst.killing = true;
        await inst.kill();
        note(`kill -9 ${inst.name}`);
        inst.killing = false;
        await restart(inst, 'killed');
      }
    })();
    const at = async (ms: number, what: string, fn: () => Promise<void>) => {
      await sleep(ms);
      note(what);
      await fn();
    };
    onec.setKnobs({ failRate: 0.3 });
    balancer.replayRate = 0.2;
    const driveStart = Date.now();
    const faults = Promise.all([
      at(o.redisAt, `Redis down for ${o.redisDownMs / 1000} s`, async () => {
        await redis.restartAfter(o.redisDownMs);
        note('Redis is back (empty)');
      }),
      at(o.postgresAt, 'PostgreSQL restart (-m fast)', async () => {
        await postgres.restart('fast');
        note('PostgreSQL is back');
      }),
      at(o.onecDownAt, `1C down for ${o.onecDownMs / 1000} s`, async () => {
        onec.setKnobs({ down: true });
        await sleep(o.onecDownMs);
        onec.setKnobs({ down: false });
        note('1C is back (still failing 30 %)');
      }),
      at(o.atolAt, `ATOL answers after 8 s (timeouts) for ${o.atolMs / 1000} s`, async () => {
        atol.knobs.answerDelayMs = 8000;
        await sleep(o.atolMs);
        atol.knobs.answerDelayMs = 0;
        note('ATOL answers at once again');
      }),
    ]);

    // ---------------------------------------------------------------- load
    const created: { i: number; kind: Kind; paymentId: string; amount: number }[] = [];
    const failures: string[] = [];
    const api = async (method: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
      const until = Date.now() + 120_000;
      for (;;) {
        const target = pick(gateways());
        try {
          if (!target) throw new Error('no gateway up');
          const r = await fetch(target + path, {
            method,
            headers: { 'content-type': 'application/json', ...SITE_AUTH, ...headers },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(20_000),
          });
          const text = await r.text();
          // 5xx (PostgreSQL restarting), 409 (the same request still in flight on another gateway): again
          if (r.status < 300) return JSON.parse(text);
          if (r.status < 500 && r.status !== 409) throw Object.assign(new Error(`${method} ${path}: ${r.status} ${text}`), { final: true });
        } catch (e) {
          if ((e as { final?: boolean }).final || Date.now() > until) throw e;
        }
        await sleep(300);
      }
    };
    const attemptOf = async (paymentId: string): Promise<{ provider: string; provider_ref: string }> => {
      for (;;) {
        try {
          const r = await db!.query(
            `select provider, provider_ref from payment_attempts where payment_id = $1 and provider_ref is not null order by created_at`,
            [paymentId],
          );
          if (r.rows.length) return r.rows[r.rows.length - 1];
        } catch {
          /* PostgreSQL restarting */
        }
        await sleep(200);
      }
    };
    const onePayment = async (i: number) => {
      const kind = kindOf(i);
      const [provider, method] = kind === 'invoice' ? [undefined, 'invoice'] : kind.split('-');
      const number = `CH-${String(i).padStart(5, '0')}`;
      const rubles = 1000 + (i % 50) * 10;
      onec.seedCustomerOrder({ number, total: rubles, paymentForm: 'ПлатежнаяКарта' });
      const kop = rubles * 100;
      const order = await api(
        'POST',
        '/api/v1/orders',
        orderBody({
          externalId: `chaos-${i}`,
          number,
          items: [{ sku: 'kettle-01', name: 'Чайник электрический', quantity: 1, price: kop, amount: kop, vat: 'vat22' }],
          total: kop,
          ...(kind === 'invoice' ? { customer: BUYER } : {}),
        }),
      );
      const payment = await api(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method, provider },
        { 'idempotency-key': `chaos-pay-${i}` },
      );
      created.push({ i, kind, paymentId: payment.id, amount: kop });
      if (kind === 'invoice') {
        // the company's accountant pays a little later; the bank's statement shows the credit
        await sleep(Math.random() * 3000);
        tbank.statement.add({
          amount: kop,
          purpose: `Оплата по счету № ${payment.action.number} от ${ruDate(payment.action.date)} за товар. В т.ч. НДС 22%`,
          counterparty: PAYER,
          documentNumber: String(i),
        });
        return;
      }
      // the customer pays what the bank shows (the attempt the gateway registered)
      const attempt = await attemptOf(payment.id);
      await sleep(Math.random() * 1000);
      if (attempt.provider === 'sber') sber.complete(attempt.provider_ref, 'paid');
      else tbank.complete(attempt.provider_ref, 'paid');
    };
    const inFlight = new Set<Promise<void>>();
    for (let i = 1; i <= o.payments; i++) {
      const due = driveStart + ((i - 1) * 1000) / o.rate;
      if (due > Date.now()) await sleep(due - Date.now());
      while (inFlight.size >= 40) await Promise.race(inFlight);
      const p = onePayment(i)
        .catch((e) => void failures.push(`payment ${i}: ${(e as Error).message}`))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (i % 100 === 0) note(`${i} payments started, ${created.length} created`);
    }
    await Promise.all(inFlight);
    await faults;
    faultsOn = false;
    await killer;
    await supervisor;
    onec.setKnobs({ failRate: 0, down: false });
    balancer.replayRate = 0;
    const driveSeconds = (Date.now() - driveStart) / 1000;
    note(`load and faults over: ${created.length} payments created in ${driveSeconds.toFixed(0)} s; draining`);

    // ---------------------------------------------------------------- drain
    const drainStart = Date.now();
    const ids = created.map((c) => c.paymentId);
    // what needs a receipt: the card and СБП payments of people (a company's bank transfer is no cash settlement)
    const needReceipt = created.filter((c) => c.kind !== 'invoice').map((c) => c.paymentId);
    const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> => {
      for (let tries = 0; ; tries++) {
        try {
          return (await db!.query<R>(sql, params)).rows;
        } catch (e) {
          if (tries > 20) throw e;
          await sleep(500);
        }
      }
    };
    const outstanding = async () => {
      const [p] = await query<{ unpaid: string; undelivered: string }>(
        `select count(*) filter (where status <> 'paid') as unpaid, count(*) filter (where onec_status <> 'delivered') as undelivered
           from payments where id = any($1)`,
        [ids],
      );
      const [r] = await query<{ n: string }>(
        `select count(*) as n from receipts where payment_id = any($1) and status = 'done' and kind = 'prepayment'`,
        [needReceipt],
      );
      const [j] = await query<{ n: string }>(`select count(*) as n from jobs where status in ('pending', 'queued', 'running')`);
      const notified = new Set(site.deliveries.filter((d) => d.event === 'payment.paid').map((d) => d.paymentId));
      return {
        unpaid: Number(p.unpaid),
        undelivered: Number(p.undelivered),
        noReceipt: needReceipt.length - Number(r.n),
        notNotified: ids.filter((id) => !notified.has(id)).length,
        jobs: Number(j.n),
      };
    };
    let last = await outstanding();
    let lastSaid = 0;
    while (Date.now() - drainStart < o.drainMs) {
      last = await outstanding();
      if (!last.unpaid && !last.undelivered && !last.noReceipt && !last.notNotified && !last.jobs) break;
      if (Date.now() - lastSaid > 10_000) {
        lastSaid = Date.now();
        note(`draining: ${JSON.stringify(last)}`);
      }
      await sleep(1000);
    }
    // what was replayed or resent late has had its time to arrive twice
    await sleep(3000);
    const drainSeconds = (Date.now() - drainStart) / 1000;
    note(`drained in ${drainSeconds.toFixed(0)} s: ${JSON.stringify(await outstanding())}`);

    // ---------------------------------------------------------------- count
    const problems: string[] = [...failures];
    const payments = await query<{ id: string; status: string; onec_status: string; amount: number }>(
      `select id, status, onec_status, amount from payments where id = any($1)`,
      [ids],
    );
    const paid = payments.filter((p) => p.status === 'paid');
    // the bank's side: each payment taken once, on one attempt
    const attempts = await query<{ payment_id: string; provider: string; provider_ref: string | null }>(
      `select payment_id, provider, provider_ref from payment_attempts where payment_id = any($1)`,
      [ids],
    );
    const takenAtBank = new Map<string, number>();
    for (const a of attempts) {
      if (!a.provider_ref) continue;
      const taken =
        a.provider === 'sber'
          ? (sber.orders.get(a.provider_ref)?.depositedAmount ?? 0) > 0
          : tbank.payments.get(a.provider_ref)?.status === 'CONFIRMED';
      if (taken) takenAtBank.set(a.payment_id, (takenAtBank.get(a.payment_id) ?? 0) + 1);
    }
    const invoices = created.filter((c) => c.kind === 'invoice');
    const ordersPaid = await query<{ payment_id: string; paid_amount: number; total: number }>(
      `select p.id as payment_id, o.paid_amount, o.total from payments p join orders o on o.id = p.order_id where p.id = any($1)`,
      [invoices.map((c) => c.paymentId)],
    );
    // a transfer is taken once when its order is paid exactly its total (applied twice, it would be paid double)
    for (const r of ordersPaid) {
      const [paidKop, total] = [Number(r.paid_amount), Number(r.total)];
      if (paidKop > 0) takenAtBank.set(r.payment_id, paidKop === total ? 1 : Math.max(2, Math.round(paidKop / total)));
    }
    const bankPaidTwice = [...takenAtBank.values()].filter((n) => n > 1).length;
    for (const c of created)
      if ((takenAtBank.get(c.paymentId) ?? 0) !== 1)
        problems.push(`payment ${c.paymentId}: taken ${takenAtBank.get(c.paymentId) ?? 0} times at the bank`);
    for (const p of payments) if (p.status !== 'paid') problems.push(`payment ${p.id}: ${p.status} in the gateway`);

    // 1C: exactly one live document per paid payment, keyed by the payment
    const docs = onec.paymentDocuments();
    const live = new Map<string, number>();
    for (const d of docs) if (!d.deletionMark) live.set(d.marker, (live.get(d.marker) ?? 0) + 1);
    const isInvoice = new Set(invoices.map((c) => c.paymentId));
    const markerOf = (id: string) => onec.marker(id, isInvoice.has(id) ? 'bank' : 'card');
    let docsOne = 0;
    let docsExtra = 0;
    for (const p of paid) {
      const n = live.get(markerOf(p.id)) ?? 0;
      if (n === 1) docsOne++;
      else problems.push(`payment ${p.id}: ${n} documents in 1C`);
      if (n > 1) docsExtra += n - 1;
    }
    const markers = new Set(paid.map((p) => markerOf(p.id)));
    for (const [m, n] of live) if (!markers.has(m)) problems.push(`1C holds ${n} document(s) of no paid payment (${m})`);
    const unposted = docs.filter((d) => !d.deletionMark && !d.posted).length;
    if (unposted) problems.push(`${unposted} documents in 1C not posted`);

    // ATOL: one prepayment receipt per payment, registered once
    const receipts = await query<{ payment_id: string; kind: string; external_id: string; status: string }>(
      `select payment_id, kind, external_id, status from receipts where payment_id = any($1)`,
      [ids],
    );
    const registered = [...atol.documents.values()].filter((d) => d.status === 'done');
    const regByExt = new Map<string, number>();
    for (const d of registered) {
      const base = d.externalId.replace(/\.\d+$/, '');
      regByExt.set(base, (regByExt.get(base) ?? 0) + 1);
    }
    let receiptsOne = 0;
    for (const p of paid) {
      const mine = receipts.filter((r) => r.payment_id === p.id);
      if (isInvoice.has(p.id)) {
        if (mine.length) problems.push(`invoice payment ${p.id}: receipts ${JSON.stringify(mine.map((r) => [r.kind, r.status]))}`);
        continue;
      }
      const pre = mine.filter((r) => r.kind === 'prepayment');
      const regs = pre.reduce((s, r) => s + (regByExt.get(r.external_id) ?? 0), 0);
      if (pre.length === 1 && pre[0].status === 'done' && regs === 1 && mine.length === 1) receiptsOne++;
      else
        problems.push(
          `payment ${p.id}: receipts ${JSON.stringify(mine.map((r) => [r.kind, r.status]))}, registered at ATOL ${regs} time(s)`,
        );
    }
    if (registered.length !== receiptsOne) problems.push(`ATOL registered ${registered.length} receipts for ${receiptsOne} payments`);

    // the site: every event delivered, every delivery of one event under one id
    const byEvent = new Map<string, Set<string>>();
    for (const d of site.deliveries) {
      const k = `${d.paymentId} ${d.event}`;
      if (!byEvent.has(k)) byEvent.set(k, new Set());
      byEvent.get(k)!.add(d.key);
    }
    const unstable = [...byEvent.entries()].filter(([, keys]) => keys.size > 1);
    for (const [k, keys] of unstable) problems.push(`site event ${k} came under ${keys.size} ids`);
    const notified = new Set(site.deliveries.filter((d) => d.event === 'payment.paid').map((d) => d.paymentId));
    for (const p of paid) if (!notified.has(p.id)) problems.push(`payment ${p.id}: the site was never told it is paid`);

    const dead = await query<{ name: string; last_error: string | null }>(`select name, last_error from jobs where status = 'dead'`);
    for (const j of dead) problems.push(`dead job ${j.name}: ${j.last_error}`);
    const [unfinished] = await query<{ n: string }>(`select count(*) as n from jobs where status in ('pending', 'queued', 'running')`);
    if (Number(unfinished.n)) problems.push(`${unfinished.n} jobs never finished`);
    if (unexpectedExits) problems.push(`${unexpectedExits} process exit(s) nobody asked for (see ${logDir})`);

    // lost: a payment never paid (or never created), a paid one 1C, ATOL or the site never heard of
    const lostTotal =
      o.payments -
      paid.length +
      paid.filter((p) => (live.get(markerOf(p.id)) ?? 0) === 0).length +
      paid.filter((p) => !isInvoice.has(p.id) && !receipts.some((r) => r.payment_id === p.id && r.status === 'done')).length +
      paid.filter((p) => !notified.has(p.id)).length;
    const duplicated = docsExtra + bankPaidTwice + unstable.length + Math.max(0, registered.length - receiptsOne);
    const byKind: Record<string, number> = {};
    for (const c of created) byKind[c.kind] = (byKind[c.kind] ?? 0) + 1;
    return {
      payments: created.length,
      paid: paid.length,
      byKind,
      kills: instances.reduce((s, i) => s + i.kills, 0),
      restarts: { processes: instances.reduce((s, i) => s + i.starts - 1, 0), redis: redis.restarts, postgres: postgres.restarts },
      unexpectedExits,
      callbacks: { sent: balancer.stats.requests, replayed: balancer.stats.replays },
      documents: {
        total: docs.length,
        perPaymentOne: docsOne,
        extra: docsExtra,
        deletionMarked: docs.filter((d) => d.deletionMark).length,
      },
      receipts: { total: receipts.length, perPaymentOne: receiptsOne, registrations: registered.length },
      webhooks: {
        deliveries: site.deliveries.length,
        paymentsNotified: notified.size,
        unstableIds: unstable.length,
        refusedBySite: site.refused,
        badSignatures: site.badSignatures,
      },
      jobs: { dead: dead.map((j) => ({ name: j.name, error: j.last_error })), unfinished: Number(unfinished.n) },
      bankPaidTwice,
      atolReportRateViolations: atol.stats.reportRateViolations,
      lost: lostTotal,
      duplicated,
      problems,
      seconds: { drive: driveSeconds, drain: drainSeconds },
      dir,
    };
  } finally {
    await db?.end().catch(() => undefined);
    for (const s of stoppers.reverse()) await s().catch(() => undefined);
    if (!o.keepDir) rmSync(dir, { recursive: true, force: true });
  }
}

export function formatReport(r: ChaosReport): string {
  const lines = [
    '',
    '  chaos run',
    `  payments         ${r.payments} created, ${r.paid} paid (${Object.entries(r.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')})`,
    `  kills            ${r.kills} (kill -9), ${r.restarts.processes} process restarts, ${r.unexpectedExits} unexpected exits`,
    `  restarts         Redis ${r.restarts.redis} (empty after it), PostgreSQL ${r.restarts.postgres}`,
    `  callbacks        ${r.callbacks.sent} through the balancer, ${r.callbacks.replayed} replayed (duplicates, out of order)`,
    `  1C documents     ${r.documents.total} (${r.documents.perPaymentOne} payments with exactly one, ${r.documents.extra} extra, ${r.documents.deletionMarked} deletion-marked)`,
    `  receipts         ${r.receipts.total} in the store, ${r.receipts.registrations} registered at ATOL, ${r.receipts.perPaymentOne} payments with exactly one`,
    `  webhooks         ${r.webhooks.deliveries} delivered for ${r.webhooks.paymentsNotified} paid payments, ${r.webhooks.unstableIds} events under more than one id, ${r.webhooks.refusedBySite} refused by the site (503) and sent again`,
    `  jobs             ${r.jobs.dead.length} dead, ${r.jobs.unfinished} unfinished`,
    `  duplicates       ${r.duplicated} (bank taken twice ${r.bankPaidTwice})`,
    `  ATOL             ${r.atolReportRateViolations} report requests within a second of the previous one (not asserted)`,
    `  lost             ${r.lost}`,
    `  time             load ${r.seconds.drive.toFixed(0)} s, drain ${r.seconds.drain.toFixed(0)} s`,
    ...(r.problems.length ? ['', `  problems (${r.problems.length}):`, ...r.problems.slice(0, 40).map((p) => `    - ${p}`)] : []),
    '',
  ];
  return lines.join('\n');
}
