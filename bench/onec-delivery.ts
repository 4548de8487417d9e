import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../gateway/log';
import { createGateway, type Gateway } from '../gateway/main';
import { OneCEmulator } from '../test/emulators/onec/server';
import { SberEmulator } from '../test/emulators/sber/server';
import { freePort } from '../test/helpers/harness';
import { onecOrgConfig, sandboxConfig, SANDBOX } from '../test/sandbox/config';

/**
 * Delivery to 1C. (1) Throughput against an emulated base answering each request in 200 ms with
 * 4 requests allowed in flight: the theoretical ceiling is 4 / 0.2 s = 20 requests/s, i.e. 20
 * documents/s for a transport that needs one request per document (an HTTP or SOAP service) and
 * 20 / k for OData, which needs k (lookup, order, checks, create, read-back, post, read-back). The
 * baseline is that ceiling; the ratio says how much of it the job runner actually uses.
 * (2) A backlog of 5 000 paid payments drains with no loss and no duplicate in 1C.
 */

const CONCURRENCY = 4;
const LATENCY_MS = 200;

interface Setup {
  gateway: Gateway;
  sber: SberEmulator;
  onec: OneCEmulator;
  url: string;
  dir: string;
}

async function setup(
  transport: 'odata' | 'http',
  worker: boolean,
  dir = mkdtempSync(join(tmpdir(), 'bench-1c-')),
  onec?: OneCEmulator,
  sber?: SberEmulator,
): Promise<Setup> {
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
      raw.organizations[0].onec = onecOrgConfig(onec!, { configuration: 'ut11', transport, concurrency: CONCURRENCY });
    },
  });
  const gateway = await createGateway(config, { logger: createLogger('error'), roles: { http: true, worker } });
  const { url } = await gateway.start();
  return { gateway, sber, onec, url, dir };
}

/** `n` site orders that exist in 1C, paid by card: their deliveries wait in the outbox. */
async function paidPayments(s: Setup, n: number): Promise<string[]> {
  const auth = { authorization: `Bearer ${SANDBOX.siteKey}`, 'content-type': 'application/json' };
  const ids: string[] = [];
  const run = `${Date.now() % 100000}`;
  for (let start = 0; start < n; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - start) }, async (_, k) => {
        const number = `B${run}-${start + k}`.slice(0, 11);
        s.onec.seedCustomerOrder({ number, total: 100 });
        const order: any = await (
          await fetch(`${s.url}/api/v1/orders`, {
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
          await fetch(`${s.url}/api/v1/orders/${order.id}/payments`, {
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
  await s.sber.settle();
  for (;;) {
    const paid = Number(
      (
        await s.gateway.store.db
          .selectFrom('payments')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', '=', 'paid')
          .executeTakeFirstOrThrow()
      ).n,
    );
    if (paid >= n) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return ids;
}

async function delivered(g: Gateway): Promise<number> {
  return Number(
    (
      await g.store.db
        .selectFrom('payments')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('onec_status', '=', 'delivered')
        .executeTakeFirstOrThrow()
    ).n,
  );
}

/** Queues `n` deliveries with no worker, then starts one and times the drain. */
async function throughput(transport: 'odata' | 'http', n: number) {
  const producer = await setup(transport, false);
  await paidPayments(producer, n);
  await producer.gateway.stop();
  producer.onec.resetStats();
  producer.onec.setKnobs({ latencyMs: LATENCY_MS });
  const worker = await setup(transport, true, producer.dir, producer.onec, producer.sber);
  const started = performance.now();
  while ((await delivered(worker.gateway)) < n) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - started) / 1000;
  const stats = worker.onec.stats();
  const requestsPerDoc = stats.requests / n;
  await worker.gateway.stop();
  await worker.sber.stop();
  await worker.onec.stop();
  rmSync(worker.dir, { recursive: true, force: true });
  const ceiling = CONCURRENCY / (LATENCY_MS / 1000) / requestsPerDoc;
  return { docsPerSecond: n / seconds, ceiling, requestsPerDoc, maxConcurrent: stats.maxConcurrent };
}

async function backlog(n: number) {
  const producer = await setup('http', false);
  const ids = await paidPayments(producer, n);
  await producer.gateway.stop();
  producer.onec.setKnobs({ latencyMs: 5, failRate: 0.05 });
  const worker = await setup('http', true, producer.dir, producer.onec, producer.sber);
  const started = performance.now();
  while ((await delivered(worker.gateway)) < n && performance.now() - started < 600_000) await new Promise((r) => setTimeout(r, 200));
  const seconds = (performance.now() - started) / 1000;
  const docs = worker.onec.paymentDocuments().filter((d) => d.posted && !d.deletionMark);
  const markers = new Set(docs.map((d) => d.marker));
  const expected = new Set(ids.map((id) => worker.onec.marker(id)));
  const lost = [...expected].filter((m) => !markers.has(m)).length;
  const duplicates = docs.length - markers.size;
  const deliveredCount = await delivered(worker.gateway);
  await worker.gateway.stop();
  await worker.sber.stop();
  await worker.onec.stop();
  rmSync(worker.dir, { recursive: true, force: true });
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
