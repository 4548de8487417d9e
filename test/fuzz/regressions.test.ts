import { orderBody, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';
import { changedTables, snapshotStore } from '../helpers/store-snapshot';

/** What the property tests found, each kept as a plain test. */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

test('a payment refused under an Idempotency-Key leaves no trace; the corrected request then goes through under the same key', async () => {
  const order = await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH);
  expect(order.status).toBe(201);
  const before = await snapshotStore(h.gateway.store);
  const refused = await h.call(
    'POST',
    `/api/v1/orders/${order.body.id}/payments`,
    { method: 'sbp', provider: 'no-such-bank' },
    { ...SITE_AUTH, 'idempotency-key': 'fix-and-retry' },
  );
  expect(refused.status).toBe(422);
  expect(refused.body.error.code).toBe('provider_not_enabled');
  expect(changedTables(before, await snapshotStore(h.gateway.store))).toEqual([]);
  const fixed = await h.call(
    'POST',
    `/api/v1/orders/${order.body.id}/payments`,
    { method: 'card' },
    { ...SITE_AUTH, 'idempotency-key': 'fix-and-retry' },
  );
  expect(fixed.status).toBe(201);
  expect(fixed.body.orderId).toBe(order.body.id);
});
