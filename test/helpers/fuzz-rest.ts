import fc from 'fast-check';
import {
  createOrderSchema,
  createPaymentSchema,
  createReceiptSchema,
  createRefundSchema,
  onecOrderSchema,
  putCustomerSchema,
} from '../../schemas/api';
import { count, errorShapeProblem, Invariants, type FuzzEdge } from './fuzz-edge';
import { jsonMutation, mutateJson, OVER_LIMIT_STRING, toWire, wireMutation } from './fuzz-input';
import { ADMIN_AUTH, ONEC_KEY, SITE_AUTH, startHarness, type Harness } from './harness';
import { zodArbitrary } from './zod-arbitrary';

/**
 * The REST API's edge: bodies generated from its zod schemas, and valid bodies with one thing broken
 * (a field, a type, an amount, the JSON text, the content type), sent to the gateway on SQLite with
 * no worker (so the store changes only when a request changes it). Ids come from small pools, so a
 * valid body meets its earlier self: the same order again (200), the same externalId with other
 * content (409), the same Idempotency-Key with another body (422).
 */

export interface RestCase {
  label: string;
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  contentType: string | null;
}

const ONEC_AUTH = { authorization: `Bearer ${ONEC_KEY}` };
const EXTERNAL_IDS = Array.from({ length: 12 }, (_, i) => `fz-${i + 1}`);
const REFS = Array.from({ length: 6 }, (_, i) => `6f1c2a4e-0000-4000-8000-00000000000${i}`);
const INNS = ['7736207543', '7707083893', '500100732259', '7736207540', '0000000000', '77362075431', 'abc', '%D0%AF', '7736207543%2F..'];
const IDEMPOTENCY_KEYS = ['k-1', 'k-2', 'k-3', 'k-4', 'k-5', 'k-6'];

const item = fc
  .record({
    sku: fc.constantFrom('kettle-01', 'DELIVERY', 'Ё-1'),
    name: fc.constantFrom('Чайник электрический', 'Доставка', 'Товар «1»'),
    quantity: fc.integer({ min: 1, max: 5 }),
    price: fc.integer({ min: 1, max: 10_000_000 }),
    vat: fc.constantFrom('none', 'vat0', 'vat20', 'vat22', 'vat122'),
    kind: fc.option(fc.constantFrom('goods', 'service'), { nil: undefined }),
  })
  .map((i) => ({ ...i, amount: i.price * i.quantity }));

const customer = fc.oneof(
  fc.constant({ type: 'individual', name: 'Иван Петров', email: 'ivan@example.com', phone: '+79001234567' }),
  fc.constant({ type: 'legal', name: 'ООО «Яндекс»', inn: '7736207543', kpp: '770401001' }),
);

const lines = fc.array(item, { minLength: 1, maxLength: 3 });
const withTotal = <T extends { items: { amount: number }[] }>(o: T) => ({ ...o, total: o.items.reduce((s, i) => s + i.amount, 0) });

/** A valid order body (its externalId from the pool). */
const validOrder = fc
  .record({
    externalId: fc.constantFrom(...EXTERNAL_IDS),
    customer,
    items: lines,
    currency: fc.constant('RUB'),
    paymentTerms: fc.option(fc.constant({ type: 'prepay' }), { nil: undefined }),
  })
  .map((o) => withTotal({ ...o, number: `N-${o.externalId}` }));

const validOnecOrder = fc
  .record({ ref: fc.constantFrom(...REFS), customer, items: lines, sbp: fc.boolean() })
  .map((o) => withTotal({ ...o, number: `ЗК-${o.ref.slice(-1)}` }));

const validCustomer = fc.record({
  name: fc.constantFrom('ООО «Яндекс»', 'ИП Петров'),
  terms: fc.record({
    deferredDays: fc.option(fc.integer({ min: 1, max: 365 }), { nil: null }),
    creditLimit: fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: null }),
    blockOverdue: fc.boolean(),
  }),
});

/** A body: generated from the schema, or a valid one as is or with one mutation. */
function bodyOf(schema: Parameters<typeof zodArbitrary>[0], valid: fc.Arbitrary<unknown>) {
  return fc.oneof(
    zodArbitrary(schema),
    valid,
    fc.tuple(valid, jsonMutation).map(([v, m]) => mutateJson(v, m)),
    fc.tuple(valid, jsonMutation, jsonMutation).map(([v, a, b]) => mutateJson(mutateJson(v, a), b)),
  );
}

interface Targets {
  orderIds: string[];
  paymentIds: string[];
  /** The API's GET routes, from /openapi.json. */
  reads: { path: string; auth: Record<string, string>; query: string[] }[];
}

const QUERY_VALUES = fc.oneof(
  fc.constantFrom(
    '',
    '0',
    '1',
    '-1',
    '50',
    '1e9',
    '2.5',
    'NaN',
    '2026-12-01',
    '2026-13-45',
    '2026-12-01T10:00:00Z',
    'paid',
    'new',
    'csv',
    'xlsx',
    'json',
    'main',
  ),
  fc.constantFrom('%00', '%FF', '%D0', '%E2%80%AE', '..%2F..', 'x'.repeat(5000), '%27%3B--'),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);

/** A GET of the API with path and query parameters from the pools, odd values and repeated names among them. */
function readCase(
  t: Targets,
): fc.Arbitrary<{ label: string; method: 'GET'; path: string; headers: Record<string, string>; body: undefined }> {
  return fc
    .tuple(
      fc.constantFrom(...t.reads),
      fc.array(fc.constantFrom(...t.orderIds, ...t.paymentIds, 'payments', 'orders', 'x', '%20', '..', '0'.repeat(300), '%F0%9F%98%80'), {
        minLength: 2,
        maxLength: 2,
      }),
      fc.array(fc.tuple(fc.nat(), QUERY_VALUES), { maxLength: 5 }),
    )
    .map(([r, ids, params]) => {
      let i = 0;
      const path = r.path.replace(/\{[^}]+\}/g, () => ids[i++ % ids.length]);
      const names = [...r.query, 'unknown'];
      const query = params.map(([n, v]) => `${names[n % names.length]}=${v}`).join('&');
      return { label: `read ${r.path}`, method: 'GET' as const, path: query ? `${path}?${query}` : path, headers: r.auth, body: undefined };
    });
}

function restCase(t: Targets): fc.Arbitrary<RestCase> {
  const request = fc.oneof(
    {
      weight: 4,
      arbitrary: bodyOf(createOrderSchema, validOrder).map((body) => ({
        label: 'create order',
        method: 'POST' as const,
        path: '/api/v1/orders',
        headers: SITE_AUTH,
        body,
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          bodyOf(onecOrderSchema, validOnecOrder),
          fc.constantFrom(ONEC_AUTH, { authorization: `Basic ${Buffer.from(`1c:${ONEC_KEY}`).toString('base64')}` }),
        )
        .map(([body, headers]) => ({ label: '1C order', method: 'POST' as const, path: '/api/v1/onec/orders', headers, body })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(bodyOf(putCustomerSchema, validCustomer), fc.constantFrom(...INNS)).map(([body, inn]) => ({
        label: 'put customer',
        method: 'PUT' as const,
        path: `/api/v1/customers/${inn}`,
        headers: SITE_AUTH,
        body,
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          bodyOf(createPaymentSchema, zodArbitrary(createPaymentSchema)),
          fc.constantFrom(...t.orderIds, 'no-such-order', '..%2F..'),
          fc.option(fc.constantFrom(...IDEMPOTENCY_KEYS, '', ' ', 'x'.repeat(300)), { nil: undefined }),
        )
        .map(([body, id, key]) => ({
          label: 'create payment',
          method: 'POST' as const,
          path: `/api/v1/orders/${id}/payments`,
          headers: { ...SITE_AUTH, ...(key === undefined ? {} : { 'idempotency-key': key }) },
          body,
        })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          bodyOf(createRefundSchema, zodArbitrary(createRefundSchema)),
          fc.constantFrom(...t.paymentIds, 'no-such-payment'),
          fc.option(fc.constantFrom(...IDEMPOTENCY_KEYS), { nil: undefined }),
        )
        .map(([body, id, key]) => ({
          label: 'refund',
          method: 'POST' as const,
          path: `/api/v1/payments/${id}/refunds`,
          headers: { ...SITE_AUTH, ...(key === undefined ? {} : { 'idempotency-key': key }) },
          body,
        })),
    },
    {
      weight: 1,
      arbitrary: bodyOf(createReceiptSchema, zodArbitrary(createReceiptSchema)).map((body) => ({
        label: 'receipt',
        method: 'POST' as const,
        path: '/api/v1/receipts',
        headers: SITE_AUTH,
        body,
      })),
    },
  );
  const writes = fc.tuple(request, wireMutation, fc.nat({ max: 199 })).map(([r, wire, n]): RestCase => {
    // now and then a body past the size limit (413)
    const { body, contentType } = n === 0 ? toWire({ ...(r.body as object), pad: OVER_LIMIT_STRING }, wire) : toWire(r.body, wire);
    return { label: `${r.label} (${wire.kind})`, method: r.method, path: r.path, headers: r.headers, body, contentType };
  });
  const reads = readCase(t).map((r): RestCase => ({ ...r, body: undefined, contentType: null }));
  return fc.oneof({ weight: 4, arbitrary: writes }, { weight: 1, arbitrary: reads });
}

async function send(h: Harness, c: RestCase) {
  const res = await fetch(h.url + c.path, {
    method: c.method,
    headers: { ...c.headers, ...(c.contentType ? { 'content-type': c.contentType } : {}) },
    body: c.body,
    redirect: 'manual',
  });
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}

/** A gateway with an order and a card payment to aim at, and the edge's property. */
export async function restEdge(): Promise<FuzzEdge<RestCase>> {
  // an emulated 1C base, so that 1C's key is one the gateway knows
  const h = await startHarness({ worker: false, onec: { configuration: 'ut11' } });
  const orders: string[] = [];
  for (const externalId of ['target-1', 'target-2']) {
    const r = await h.call('POST', '/api/v1/orders', { ...fc.sample(validOrder, 1)[0], externalId, number: externalId }, SITE_AUTH);
    if (r.status !== 201) throw new Error(`the target order was not created: ${r.text}`);
    orders.push(r.body.id);
  }
  const payment = await h.call(
    'POST',
    `/api/v1/orders/${orders[0]}/payments`,
    { method: 'card' },
    { ...SITE_AUTH, 'idempotency-key': 'target' },
  );
  if (payment.status !== 201) throw new Error(`the target payment was not created: ${payment.text}`);
  const openapi = (await h.call('GET', '/openapi.json')).body as {
    paths: Record<string, Record<string, { security?: Record<string, unknown>[]; parameters?: { in: string; name: string }[] }>>;
  };
  const AUTH: Record<string, Record<string, string>> = { siteKey: SITE_AUTH, adminKey: ADMIN_AUTH, onecKey: ONEC_AUTH };
  const reads = Object.entries(openapi.paths)
    .filter(([path, ops]) => path.startsWith('/api/') && ops.get)
    .map(([path, ops]) => ({
      path,
      auth: AUTH[Object.keys(ops.get.security?.[0] ?? {})[0]] ?? {},
      query: (ops.get.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
    }));
  const inv = new Invariants(h);
  await inv.start();
  const outcomes = new Map<string, number>();
  return {
    name: 'REST API',
    arbitrary: restCase({ orderIds: orders, paymentIds: [payment.body.id], reads }),
    outcomes,
    async check(c) {
      const what = `${c.method} ${c.path} ${c.label}`;
      const r = await send(h, c);
      let code = '';
      if (r.status >= 400) {
        try {
          code = JSON.parse(r.text).error.code;
        } catch {
          /* reported below */
        }
      }
      count(outcomes, `${c.label.replace(/ \(.*/, '')}: ${r.status}${code ? ` ${code}` : ''}`);
      if (r.status >= 500) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 500)}`);
      if (r.status >= 400) {
        const problem = errorShapeProblem(r.status, r.contentType, r.text);
        if (problem) throw new Error(`${what}: ${problem}`);
      }
      await inv.after(r.status >= 400, what);
    },
    async close() {
      inv.close();
      await h.close();
    },
  };
}
