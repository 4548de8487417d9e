import { INGEST_PAGE, runHistory } from '../../../../gateway/flows/history/agent';
import type { ProviderOperation } from '../../../../gateway/ports';
import { newOrderRow } from '../../../../gateway/store/orders';
import { flowBench, type FlowBench } from '../fakes';

/**
 * The history agent stores a registry's operations a page (a transaction) at a time: a page that
 * fails is stored not at all, the window does not move on, and the next run stores every operation
 * once, the page that failed included.
 */

let b: FlowBench;
let listed: ProviderOperation[];
beforeEach(async () => {
  b = await flowBench();
  listed = [];
  Object.assign(b.provider, {
    listOperations: async function* () {
      for (const op of listed) {
        if (op.raw === 'the registry breaks here') throw new Error('getLastOrdersForMerchants.do: 503');
        yield op;
      }
    },
  });
});
afterEach(() => b.close());

const COUNT = INGEST_PAGE * 2 + 200;

async function seedOrders() {
  const rows = Array.from({ length: COUNT }, (_, i) =>
    newOrderRow({
      organization_id: 'main',
      external_id: `site-${i}`,
      number: `H-${i}`,
      source: 'site',
      customer: JSON.stringify({ type: 'individual', name: 'Покупатель' }),
      items: JSON.stringify([{ sku: 'A-1', name: 'Чайник', quantity: 1, price: 10_000 + i, amount: 10_000 + i, vat: 'vat22' }]),
      total: 10_000 + i,
      payment_terms: JSON.stringify({ type: 'prepay' }),
      request_hash: 'h',
      onec_ref: null,
    }),
  );
  for (let i = 0; i < rows.length; i += 100)
    await b.store.db
      .insertInto('orders')
      .values(rows.slice(i, i + 100))
      .execute();
}

const op = (i: number, raw: unknown = { id: i }): ProviderOperation => ({
  kind: 'payment',
  providerRef: `md-${String(i).padStart(6, '0')}`,
  orderNumber: `H-${i}`,
  method: 'sbp',
  amount: 10_000 + i,
  occurredAt: new Date(Date.UTC(2026, 11, 1) + i * 1000).toISOString(),
  payerBank: 'Сбербанк',
  purpose: null,
  raw,
});

const stored = async () =>
  (
    await b.store.db.selectFrom('payment_operations').select(['provider_ref', 'match_state', 'order_id']).orderBy('provider_ref').execute()
  ).map((r) => r.provider_ref);

test('a page that cannot be stored is stored not at all; the next run stores every operation once', async () => {
  await seedOrders();
  // an operation the store refuses (its raw answer cannot be written) in the second page
  const bad = INGEST_PAGE + 17;
  listed = Array.from({ length: COUNT }, (_, i) => op(i, i === bad ? { id: BigInt(i) } : { id: i }));
  const [first] = await runHistory(b.d);
  expect(first.error).toMatch(/BigInt/);
  expect(first.seen).toBe(INGEST_PAGE * 2);
  expect(first.recorded).toBe(INGEST_PAGE);
  // the first page, whole; nothing of the page that failed
  expect(await stored()).toEqual(listed.slice(0, INGEST_PAGE).map((o) => o.providerRef));

  listed[bad] = op(bad);
  const [second] = await runHistory(b.d);
  expect(second.error).toBeUndefined();
  expect(second).toMatchObject({ seen: COUNT, recorded: COUNT - INGEST_PAGE, review: 0 });
  expect(await stored()).toEqual(listed.map((o) => o.providerRef));
  const states = await b.store.db.selectFrom('payment_operations').select('match_state').distinct().execute();
  expect(states).toEqual([{ match_state: 'matched' }]);

  // a third run finds nothing new
  expect((await runHistory(b.d))[0]).toMatchObject({ seen: COUNT, recorded: 0 });
  expect(await stored()).toHaveLength(COUNT);
});

test('what the registry listed before it failed is stored, the failure is reported', async () => {
  await seedOrders();
  listed = [...Array.from({ length: INGEST_PAGE + 30 }, (_, i) => op(i)), { ...op(COUNT - 1), raw: 'the registry breaks here' }];
  const [run] = await runHistory(b.d);
  expect(run).toMatchObject({ seen: INGEST_PAGE + 30, recorded: INGEST_PAGE + 30, error: 'getLastOrdersForMerchants.do: 503' });
  expect(await stored()).toHaveLength(INGEST_PAGE + 30);
  const alerts = await b.jobs();
  expect(alerts.some((j) => j.payload.includes('getLastOrdersForMerchants.do: 503'))).toBe(true);
});
