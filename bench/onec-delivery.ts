import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../gateway/log';
import { createGateway, type Gateway } from '../gateway/main';
import { OneCEmulator, type OneCKnobs } from '../test/emulators/onec/server';
import { SberEmulator } from '../test/emulators/sber/server';
import { freePort } from '../test/helpers/harness';
import { onecOrgConfig, sandboxConfig, SANDBOX } from '../test/sandbox/config';
import { MINUTE, SECOND, until, within } from './wait';

/**
 * Delivery to 1C. (1) Throughput against an emulated base answering each request in 200 ms with
 * 4 requests allowed in flight: the theoretical ceiling is 4 / 0.2 s = 20 requests/s, i.e. 20
 * documents/s for a transport that needs one request per document (an HTTP or SOAP service) and
 * 20 / k for OData, which needs k (lookup, order, checks, create, read-back, post, read-back). The
 * baseline is that ceiling; the ratio says how much of it the job runner actually uses.
 * (2) A backlog of 5 000 paid payments drains with no loss and no duplicate in 1C.
 *
 * Each measurement starts from an outbox holding the deliveries of `n` paid payments and one worker
 * started on it. To get there, a producer gateway takes the payments through the real path (order,
 * card payment, the bank's signed callback confirmed and committed with its payment.apply job, that
 * job run by the producer's worker, which queues the delivery) while 1C refuses the producer's
 * password: each delivery goes dead at its first request, before 1C writes anything. The producer
 * stops; the drainer (right password) puts the dead deliveries back to run, as an admin retry does
 * (fresh attempts, due now), and only then starts its worker and the clock. The 1C emulator's
 * counters are reset in between, so requests/doc counts the drain's requests only.
 */

const CONCURRENCY = 4;
const LATENCY_MS = 200;
/** What the producer's gateway tells 1C instead of the password: the emulated base refuses it. */
const WRONG_PASSWORD = 'bench-not-the-password';

/** Deadlines: generous for a slow, busy two-core machine, and growing with the number of payments. */
const PRODUCE_MS = (n: number) => 3 * MINUTE + n * 100;
const THROUGHPUT_DRAIN_MS = (n: number) => 3 * MINUTE + n * 2 * SECOND;
const BACKLOG_DRAIN_MS = (n: number) => 3 * MINUTE + n * 100;
const STOP_MS = 2 * MINUTE;

interface Setup {
  gateway: Gateway;
  sber: SberEmulator;
  onec: OneCEmulator;
  dir: string;
}

/**
 * A gateway (not started yet) on the store in `reuse.dir`, or on a new one with a new emulated bank
 * and base. `producer`: the bank's callbacks are applied (http and worker roles), but the gateway
 * signs in to 1C with a wrong password, so 1C refuses every delivery at its first request, before
 * anything is written: each delivery job goes dead at once, with its payment left for 1C.
 * `drainer`: the worker that delivers them, with the right password.
 */
async function setup(transport: 'odata' | 'http', role: 'producer' | 'drainer', reuse?: Omit<Setup, 'gateway'>): Promise<Setup> {
  const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), 'bench-1c-'));
  let sber = reuse?.sber;
  if (!sber) {
    sber = new SberEmulator([
      {
        userName: SANDBOX.sber.userName,
        password: SANDBOX.sber.password,
        callbackSecret: SANDBOX.sber.callbackSecret,
        callbackMode: 'symmetric',
      },
    ]);
    await sber.start();
  }
  let onec = reuse?.onec;
  if (!onec) {
    onec = new OneCEmulator({ configuration: 'ut11' });
    await onec.start();
  }
  const config = sandboxConfig({
    // a real port: the bank's callbacks come back to it
    port: await freePort(),
    databaseUrl: `sqlite:${dir}/gateway.db`,
    sberRestUrl: sber.restUrl,
    overrides: (raw) => {
      raw.log.level = 'warn';
      raw.janitor = { everySeconds: 3600, pollPendingAfterSeconds: 3600 };
      raw.jobs = { ...raw.jobs, concurrency: 16, maxAttempts: 20 };
      raw.organizations[0].onec = {
        ...onecOrgConfig(onec!, { configuration: 'ut11', transport, concurrency: CONCURRENCY }),
        ...(role === 'producer' ? { password: WRONG_PASSWORD } : {}),
      };
    },
  });
  // the producer's refused deliveries would each log a dead job and a critical alert
  const logger = createLogger(role === 'producer' ? 'fatal' : 'error');
  const gateway = await createGateway(config, { logger, roles: { http: true, worker: true } });
  return { gateway, sber, onec, dir };
}

/** The `n` of a `count(*) as n` query. */
async function count(query: { executeTakeFirstOrThrow(): Promise<{ n: number }> }): Promise<number> {
  return Number((await query.executeTakeFirstOrThrow()).n);
}
const counting = (g: Gateway, table: 'payments' | 'jobs') => g.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
const paid = (g: Gateway) => count(counting(g, 'payments').where('status', '=', 'paid'));
const delivered = (g: Gateway) => count(counting(g, 'payments').where('onec_status', '=', 'delivered'));
const refused = (g: Gateway) => count(counting(g, 'jobs').where('name', '=', 'onec.deliver').where('status', '=', 'dead'));
const jobs = (g: Gateway) => count(counting(g, 'jobs'));
const finishedJobs = (g: Gateway) => count(counting(g, 'jobs').where('status', 'in', ['done', 'dead']));

/**
 * `n` site orders that exist in 1C, paid by card, the bank's callbacks applied by the producer's
 * worker (payment.apply) and every delivery to 1C refused (see setup). Returns the payment ids.
 */
async function producePayments(s: Setup, url: string, n: number): Promise<string[]> {
  const auth = { authorization: `Bearer ${SANDBOX.siteKey}`, 'content-type': 'application/json' };
  const ids: string[] = [];
  const run = `${Date.now() % 100000}`;
  const deadline = PRODUCE_MS(n);
  const create = async () => {
    for (let start = 0; start < n; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, n - start) }, async (_, k) => {
          const number = `B${run}-${start + k}`.slice(0, 11);
          s.onec.seedCustomerOrder({ number, total: 100 });
          const order: any = await (
            await fetch(`${url}/api/v1/orders`, {
              method: 'POST',
              headers: auth,
              body: JSON.stringify({
                externalId: number,
                number,
                customer: { type: 'individual', name: 'Bench' },
                items: [{ sku: 's', name: 'Товар', quantity: 1, price: 10000, amount: 10000, vat: 'vat22' }],
                total: 10000,
              }),
            })
          ).json();
          const payment: any = await (
            await fetch(`${url}/api/v1/orders/${order.id}/payments`, {
              method: 'POST',
              headers: { ...auth, 'idempotency-key': number },
              body: JSON.stringify({ method: 'card' }),
            })
          ).json();
          s.sber.complete(new URL(payment.action.url).searchParams.get('mdOrder')!, 'paid');
          ids.push(payment.id);
        }),
      );
    }
  };
  await within('card payments created and paid at the bank', create(), {
    timeoutMs: deadline,
    progress: () => ({ arrived: ids.length, expected: n }),
  });
  await within("the bank's callbacks to be answered", s.sber.settle(), { timeoutMs: deadline });
  const g = s.gateway;
  const wait = { expected: n, timeoutMs: deadline, everyMs: 100 };
  await until('payments paid (the payment.apply jobs of their callbacks run)', () => paid(g), wait);
  await until('deliveries refused by 1C (dead onec.deliver jobs)', () => refused(g), wait);
  // the alerts about the refusals too: nothing of the producer's may be left for the drainer to run
  await until("the producer's jobs to finish (done or dead)", () => finishedJobs(g), { ...wait, expected: await jobs(g) });
  return ids;
}

/**
 * The outbox every measurement starts from: `n` paid payments with their deliveries queued, due now,
 * no attempt made, and a drainer (not started) to work on it against 1C turned by `knobs`. The
 * refused delivery jobs are put back to run the way an admin's retry does (JobRunner.retry: fresh
 * attempts, due now); the 1C emulator's counters start from zero.
 */
async function queued(transport: 'odata' | 'http', n: number, knobs: Partial<OneCKnobs>) {
  const producer = await setup(transport, 'producer');
  const { url } = await producer.gateway.start();
  const ids = await producePayments(producer, url, n);
  await within('the producer gateway to stop', producer.gateway.stop(), { timeoutMs: STOP_MS });
  producer.onec.resetStats();
  producer.onec.setKnobs(knobs);
  const drainer = await setup(transport, 'drainer', producer);
  const dead = await drainer.gateway.store.db
    .selectFrom('jobs')
    .select('id')
    .where('name', '=', 'onec.deliver')
    .where('status', '=', 'dead')
    .execute();
  let revived = 0;
  for (const job of dead) if (await drainer.gateway.runner.retry(job.id)) revived++;
  if (revived !== n) throw new Error(`expected ${n} refused deliveries to put back in the queue, put back ${revived} of ${dead.length}`);
  return { drainer, ids };
}

async function teardown(s: Setup) {
  await within('the drainer gateway to stop', s.gateway.stop(), { timeoutMs: STOP_MS });
  await within('the bank emulator to stop', s.sber.stop(), { timeoutMs: STOP_MS });
  await within('the 1C emulator to stop', s.onec.stop(), { timeoutMs: STOP_MS });
  rmSync(s.dir, { recursive: true, force: true });
}

/** Queues `n` deliveries with no worker able to make them, then starts one and times the drain. */
async function throughput(transport: 'odata' | 'http', n: number) {
  const { drainer } = await queued(transport, n, { latencyMs: LATENCY_MS });
  const started = performance.now();
  await drainer.gateway.start();
  await until(`payments delivered to 1C (${transport}, ${LATENCY_MS} ms per request)`, () => delivered(drainer.gateway), {
    expected: n,
    timeoutMs: THROUGHPUT_DRAIN_MS(n),
    everyMs: 50,
  });
  const seconds = (performance.now() - started) / 1000;
  const stats = drainer.onec.stats();
  const requestsPerDoc = stats.requests / n;
  await teardown(drainer);
  const ceiling = CONCURRENCY / (LATENCY_MS / 1000) / requestsPerDoc;
  return { docsPerSecond: n / seconds, ceiling, requestsPerDoc, maxConcurrent: stats.maxConcurrent };
}

async function backlog(n: number) {
  const { drainer, ids } = await queued('http', n, { latencyMs: 5, failRate: 0.05 });
  const started = performance.now();
  await drainer.gateway.start();
  await until('backlog payments delivered to 1C (5 % of requests failing)', () => delivered(drainer.gateway), {
    expected: n,
    timeoutMs: BACKLOG_DRAIN_MS(n),
    everyMs: 200,
  });
  const seconds = (performance.now() - started) / 1000;
  const docs = drainer.onec.paymentDocuments().filter((d) => d.posted && !d.deletionMark);
  const markers = new Set(docs.map((d) => d.marker));
  const expected = new Set(ids.map((id) => drainer.onec.marker(id)));
  const lost = [...expected].filter((m) => !markers.has(m)).length;
  const duplicates = docs.length - markers.size;
  const deliveredCount = await delivered(drainer.gateway);
  await teardown(drainer);
  return { n, seconds, documents: docs.length, lost, duplicates, delivered: deliveredCount };
}

export async function main(): Promise<void> {
  const n = Number(process.env.BENCH_DELIVERIES ?? 200);
  const http = await throughput('http', n);
  const odata = await throughput('odata', Math.max(40, Math.round(n / 4)));
  const line = (name: string, r: typeof http) =>
    `${name.padEnd(36)} ${r.docsPerSecond.toFixed(1).padStart(6)} docs/s   ceiling ${r.ceiling.toFixed(1).padStart(5)} docs/s (${r.requestsPerDoc.toFixed(1)} requests/doc)   ratio ${(r.docsPerSecond / r.ceiling).toFixed(3)}   max in flight ${r.maxConcurrent}`;
  const b = await backlog(Number(process.env.BENCH_BACKLOG ?? 5000));
  process.stdout.write(
    [
      `delivery to 1C (${LATENCY_MS} ms per request, ${CONCURRENCY} in flight: ceiling ${CONCURRENCY / (LATENCY_MS / 1000)} requests/s)`,
      line('HTTP service (one request per doc)', http),
      line('OData (lookup, checks, create, post)', odata),
      `backlog: ${b.n} paid payments drained in ${b.seconds.toFixed(1)} s with 5 % of 1C requests failing: ${b.documents} posted documents, ${b.delivered} delivered, ${b.lost} lost, ${b.duplicates} duplicates`,
      '',
    ].join('\n'),
  );
}
