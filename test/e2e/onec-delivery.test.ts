import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  ADMIN_AUTH,
  eventually,
  orderBody,
  ONEC_KEY,
  SITE_AUTH,
  startHarness,
  type Harness,
  type HarnessOptions,
} from '../helpers/harness';
import { configurationOf } from '../emulators/onec/metadata';

/**
 * Paid orders land in 1C exactly once: a site order that exists in the (emulated) base is paid by
 * card, and the base then holds one posted payment document that settles it, with the right amount
 * and the gateway's marker — over OData (УТ 11.5, an older УТ release, УНФ: the same code, another
 * mapping), a SOAP web service and an HTTP service.
 */

const MAPPINGS = resolve(__dirname, '../../mappings');

/** The УТ 11.5 mapping switched to settling by the order itself, as releases before 11.5 need. */
function legacyMapping(): string {
  const m = parse(readFileSync(join(MAPPINGS, 'ut11.yaml'), 'utf8'));
  m.settlement.by = 'order';
  const file = join(mkdtempSync(join(tmpdir(), 'map-')), 'ut11-legacy.yaml');
  writeFileSync(file, stringify(m));
  return file;
}

const orderLines = (total: number) => ({
  items: [{ sku: 'kettle-01', name: 'Чайник', quantity: 1, price: total, amount: total, vat: 'vat22' }],
  total,
});

async function payOrder(h: Harness, orderId: string) {
  const payment = (
    await h.call(
      'POST',
      `/api/v1/orders/${orderId}/payments`,
      { method: 'card' },
      { ...SITE_AUTH, 'idempotency-key': `pay-${orderId}-${Math.random()}` },
    )
  ).body;
  expect(payment.status).toBe('pending');
  await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
  return payment;
}

async function onecState(
  h: Harness,
  paymentId: string,
  until: (s: string) => boolean = (s) => s === 'delivered' || s === 'failed',
  timeoutMs = 10_000,
) {
  return eventually(async () => {
    const p = (await h.call('GET', `/api/v1/payments/${paymentId}`, undefined, SITE_AUTH)).body;
    return until(p.onec.status) ? p : null;
  }, timeoutMs);
}

const variants: [string, NonNullable<HarnessOptions['onec']>][] = [
  ['УТ 11.5 over OData', { configuration: 'ut11' }],
  ['УТ 11, an older release (settles by the order), over OData', { configuration: 'ut11-legacy', mapping: 'LEGACY' }],
  ['УНФ over OData', { configuration: 'unf' }],
  ['УТ 11.5 over a SOAP web service', { configuration: 'ut11', transport: 'soap' }],
  ['УТ 11.5 over an HTTP service', { configuration: 'ut11', transport: 'http' }],
];

describe.each(variants)('%s', (_name, onec) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ onec: { ...onec, mapping: onec.mapping === 'LEGACY' ? legacyMapping() : onec.mapping } });
  });
  afterAll(() => h?.close());

  test('a site order that exists in 1C → card payment → one posted document settling it, with the amount and the marker', async () => {
    const number = `ЗК-${Math.floor(Math.random() * 1e6)}`;
    const inBase = h.onec!.seedCustomerOrder({ number, total: 3500 });
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, ...orderLines(350000) }), SITE_AUTH)).body;
    const payment = await payOrder(h, order.id);
    const p = await onecState(h, payment.id);
    expect(p.onec).toMatchObject({ status: 'delivered' });
    const docs = h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key);
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({
      ref: p.onec.document,
      posted: true,
      deletionMark: false,
      amount: 3500,
      marker: h.onec!.marker(payment.id),
    });
    expect(h.onec!.snapshot().orders.find((o) => o.ref === inBase.Ref_Key)!.paid).toBe(3500);
  });

  test('a refund becomes the return document', async () => {
    const number = `ЗК-${Math.floor(Math.random() * 1e6)}`;
    const inBase = h.onec!.seedCustomerOrder({ number, total: 1200 });
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, ...orderLines(120000) }), SITE_AUTH)).body;
    const payment = await payOrder(h, order.id);
    await onecState(h, payment.id);
    const refund = (
      await h.call(
        'POST',
        `/api/v1/payments/${payment.id}/refunds`,
        { amount: 20000 },
        { ...SITE_AUTH, 'idempotency-key': `r-${payment.id}` },
      )
    ).body;
    const delivered = await eventually(async () => {
      const p = (await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body;
      return p.refunds.find((r: any) => r.id === refund.id && r.onec.status === 'delivered');
    }, 10_000);
    const back = h.onec!.paymentDocuments().find((d) => d.ref === delivered.onec.document)!;
    expect(back).toMatchObject({ posted: true, amount: 200 });
    expect(back.operation).toMatch(/Возврат/);
    expect(h.onec!.snapshot().orders.find((o) => o.ref === inBase.Ref_Key)!.paid).toBe(1000);
  });

  test('a manager creates an order in 1C and sends it: payment link → paid on the page → the document in 1C', async () => {
    const number = `ЗК-${Math.floor(Math.random() * 1e6)}`;
    const inBase = h.onec!.seedCustomerOrder({ number, total: 990 });
    const pushed = await h.call(
      'POST',
      '/api/v1/onec/orders',
      {
        ref: inBase.Ref_Key,
        number,
        customer: { type: 'individual', name: 'Мария' },
        items: [{ sku: 'tea', name: 'Чай', quantity: 3, price: 33000, amount: 99000, vat: 'vat22' }],
        total: 99000,
      },
      { authorization: `Bearer ${ONEC_KEY}` },
    );
    expect(pushed.status).toBe(201);
    const form = await fetch(`${pushed.body.payUrl}/card`, { method: 'POST', redirect: 'manual' });
    expect(form.status).toBe(303);
    const mdOrder = new URL(form.headers.get('location')!).searchParams.get('mdOrder')!;
    h.sber.complete(mdOrder, 'paid');
    const payment = await eventually(async () =>
      (await h.call('GET', `/api/v1/orders/${pushed.body.orderId}`, undefined, SITE_AUTH)).body.payments.find(
        (p: any) => p.status === 'paid',
      ),
    );
    const p = await onecState(h, payment.id);
    expect(p.onec.status).toBe('delivered');
    expect(h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key)).toHaveLength(1);
  });
});

describe('1C is slow, flaky and down for a minute', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      onec: { configuration: 'ut11', knobs: { latencyMs: 30 } },
      overrides: (raw) => (raw.jobs = { ...raw.jobs, maxAttempts: 30, backoffBaseMs: 300, backoffMaxMs: 4000 }),
    });
  });
  afterAll(() => h?.close());

  test('with 30 % of requests failing and the base down for 60 s in the middle, every payment lands exactly once', async () => {
    h.onec!.setKnobs({ failRate: 0.3 });
    const orders = [];
    for (let i = 0; i < 8; i++) {
      const number = `FL-${i}-${Math.floor(Math.random() * 1e6)}`;
      const inBase = h.onec!.seedCustomerOrder({ number, total: 100 + i });
      const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, ...orderLines((100 + i) * 100) }), SITE_AUTH)).body;
      orders.push({ inBase, order, payment: await payOrder(h, order.id) });
      if (i === 3) h.onec!.setKnobs({ downUntil: Date.now() + 60_000 });
    }
    for (const o of orders) await onecState(h, o.payment.id, (s) => s === 'delivered', 110_000);
    for (const o of orders) {
      const docs = h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === o.inBase.Ref_Key && !d.deletionMark);
      expect(docs).toHaveLength(1);
      expect(docs[0]).toMatchObject({ posted: true, amount: o.order.total / 100 });
    }
    expect(h.onec!.paymentDocuments().filter((d) => !d.deletionMark)).toHaveLength(orders.length);
  }, 150_000);
});

describe('what needs a person: a clear reason, an alert, nothing half-written, and a retry after the fix', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ onec: { configuration: 'ut11', concurrency: 2, knobs: { latencyMs: 20 } } });
  });
  afterAll(() => h?.close());
  beforeEach(() => h.onec!.setKnobs({ rejectPosting: null, denyWrites: [], latencyMs: 20 }));

  async function paidSiteOrder(total = 500, seed: { total?: number } | null = {}) {
    const number = `BAD-${Math.floor(Math.random() * 1e7)}`;
    const inBase = seed ? h.onec!.seedCustomerOrder({ number, total: seed.total ?? total }) : null;
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, ...orderLines(total * 100) }), SITE_AUTH)).body;
    const payment = await payOrder(h, order.id);
    return { inBase, order, payment };
  }

  const deadJob = async (paymentId: string) =>
    eventually(async () =>
      (await h.call('GET', '/api/v1/admin/jobs?status=dead&name=onec.deliver&limit=100', undefined, ADMIN_AUTH)).body.items.find(
        (j: any) => j.payload.paymentId === paymentId,
      ),
    );

  test('1C refuses to post (business logic): failed with 1C’s words, alerted; posted after the fix and the admin retry', async () => {
    h.onec!.setKnobs({
      rejectPosting: { entity: 'Document_ОперацияПоПлатежнойКарте', message: 'Не указан договор эквайринга для терминала' },
    });
    const { inBase, payment } = await paidSiteOrder();
    const p = await onecState(h, payment.id);
    expect(p.onec.status).toBe('failed');
    expect(p.onec.error).toContain('Не указан договор эквайринга');
    await eventually(async () => h.logs.some((l) => l.includes('Оплата не попала в 1С') && l.includes(payment.id)));
    const job = await deadJob(payment.id);
    expect(job.attempts).toBe(1); // no pointless retries of a refusal
    // the document stays unposted in 1C for the accountant to see; nothing posted
    expect(
      h
        .onec!.paymentDocuments()
        .filter((d) => d.settles?.orderRef === inBase!.Ref_Key)
        .map((d) => d.posted),
    ).toEqual([false]);

    h.onec!.setKnobs({ rejectPosting: null });
    expect((await h.call('POST', `/api/v1/admin/jobs/${job.id}/retry`, undefined, ADMIN_AUTH)).status).toBe(200);
    expect((await onecState(h, payment.id, (s) => s === 'delivered')).onec.status).toBe('delivered');
    const docs = h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase!.Ref_Key);
    expect(docs.map((d) => d.posted)).toEqual([true]);
  });

  test('an order 1C does not have yet: the payment waits for it, no alert; once the order is there it is delivered', async () => {
    const { payment, order } = await paidSiteOrder(500, null);
    const p = await onecState(h, payment.id, (s) => ['waiting_for_order', 'delivered', 'failed'].includes(s));
    expect(p.onec).toMatchObject({ status: 'waiting_for_order' });
    expect(p.onec.error).toMatch(/ещё не загружен в 1С/);
    expect(h.onec!.paymentDocuments().filter((d) => d.marker === h.onec!.marker(payment.id))).toHaveLength(0);
    expect(h.logs.some((l) => l.includes('Оплата не попала в 1С') && l.includes(payment.id))).toBe(false);
    // the exchange brings the order to 1C; the next round of the waiting schedule delivers the payment
    h.onec!.seedCustomerOrder({ number: order.number, total: 500 });
    expect((await h.call('POST', '/api/v1/admin/schedules/onec.waiting-orders/run', undefined, ADMIN_AUTH)).status).toBe(200);
    expect((await onecState(h, payment.id, (s) => s === 'delivered')).onec.status).toBe('delivered');
    expect(h.onec!.paymentDocuments().filter((d) => d.marker === h.onec!.marker(payment.id))).toHaveLength(1);
  });

  test('an amount that differs between the 1C order and the payment', async () => {
    const { inBase, payment } = await paidSiteOrder(500, { total: 450 });
    const p = await onecState(h, payment.id);
    expect(p.onec.status).toBe('failed');
    expect(p.onec.error).toContain('отличается');
    expect(h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase!.Ref_Key)).toHaveLength(0);
  });

  test('an order already fully paid in 1C (someone typed the payment in by hand)', async () => {
    const number = `PD-${Math.floor(Math.random() * 1e7)}`; // 1C numbers are 11 characters at most
    const inBase = h.onec!.seedCustomerOrder({ number, total: 700 });
    const by = h.onec!.refs;
    h.onec!.seed('Document_ОперацияПоПлатежнойКарте', {
      Posted: true,
      Организация_Key: by.organization,
      ХозяйственнаяОперация: 'ПоступлениеОплатыОтКлиента',
      ЭквайринговыйТерминал_Key: by.acquiringTerminal,
      СуммаДокумента: 700,
      РасшифровкаПлатежа: [{ LineNumber: 1, ОбъектРасчетов_Key: inBase.ОбъектРасчетов_Key, Сумма: 700 }],
    });
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, ...orderLines(70000) }), SITE_AUTH)).body;
    const payment = await payOrder(h, order.id);
    const p = await onecState(h, payment.id);
    expect(p.onec.status).toBe('failed');
    expect(p.onec.error).toContain('уже оплачен в 1С');
    expect(h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key)).toHaveLength(1);
  });

  test('no rights to write the document', async () => {
    h.onec!.setKnobs({ denyWrites: ['Document_ОперацияПоПлатежнойКарте'] });
    const { payment } = await paidSiteOrder();
    const p = await onecState(h, payment.id);
    expect(p.onec.status).toBe('failed');
    expect(p.onec.error).toMatch(/нет прав/);
  });

  test('bounded concurrency: never more requests in flight to the base than configured', async () => {
    h.onec!.resetStats();
    h.onec!.setKnobs({ latencyMs: 80 });
    const payments = [];
    for (let i = 0; i < 6; i++) payments.push((await paidSiteOrder(100 + i)).payment);
    for (const p of payments) await onecState(h, p.id, (s) => s === 'delivered', 30_000);
    expect(h.onec!.stats().maxConcurrent).toBeLessThanOrEqual(2);
    expect(h.onec!.stats().maxConcurrent).toBe(2);
  }, 40_000);
});

describe('set-up errors name what to fix', () => {
  test('an object not published in the OData composition', async () => {
    const h = await startHarness({ onec: { configuration: 'ut11', published: ['Document_ЗаказКлиента', 'Catalog_ОбъектыРасчетов'] } });
    try {
      const number = `UNPUB-${Math.floor(Math.random() * 1e5)}`; // within the 11 characters 1C finds an exchanged order by
      h.onec!.seedCustomerOrder({ number, total: 500 });
      const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, ...orderLines(50000) }), SITE_AUTH)).body;
      const payment = await payOrder(h, order.id);
      const p = await onecState(h, payment.id);
      expect(p.onec.status).toBe('failed');
      expect(p.onec.error).toMatch(/Document_ОперацияПоПлатежнойКарте: .*не опубликован/);
      const ready = (await h.call('GET', '/health/ready')).body;
      expect(ready.checks.onec.main).toMatchObject({ ok: true, transport: 'odata' });
    } finally {
      await h.close();
    }
  });

  test("a 1C base slow to answer does not hold the readiness probe: degraded within a kubelet probe's second", async () => {
    const h = await startHarness({ onec: { configuration: 'ut11', knobs: { latencyMs: 3000 } } });
    try {
      const started = Date.now();
      const ready = await h.call('GET', '/health/ready');
      expect(Date.now() - started).toBeLessThan(1500);
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({
        status: 'degraded',
        checks: { store: { ok: true }, onec: { main: { ok: false, error: 'no answer in 900 ms' } } },
      });
    } finally {
      await h.close();
    }
  });

  test('wrong credentials (1C answers its login page with 200)', async () => {
    const h = await startHarness({ onec: { configuration: 'ut11' }, overrides: (raw) => (raw.organizations[0].onec.password = 'wrong') });
    try {
      const number = `AUTH-${Math.floor(Math.random() * 1e6)}`;
      h.onec!.seedCustomerOrder({ number, total: 500 });
      const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, ...orderLines(50000) }), SITE_AUTH)).body;
      const payment = await payOrder(h, order.id);
      const p = await onecState(h, payment.id);
      expect(p.onec.status).toBe('failed');
      expect(p.onec.error).toMatch(/не принимает логин или пароль/);
      const ready = await h.call('GET', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'degraded', checks: { onec: { main: { ok: false } } } });
    } finally {
      await h.close();
    }
  });

  test('a mapping naming a field the base does not have: checked at start and alerted, nothing written, the line to fix named', async () => {
    const m = parse(readFileSync(join(MAPPINGS, 'ut11.yaml'), 'utf8'));
    m.documents.card.fields.ПодразделениеКассы_Key = '{{refs.organization}}';
    const file = join(mkdtempSync(join(tmpdir(), 'map-')), 'ut11-extra.yaml');
    writeFileSync(file, stringify(m));
    const line =
      readFileSync(file, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('ПодразделениеКассы_Key')) + 1;
    const h = await startHarness({ onec: { configuration: 'ut11', mapping: file } });
    try {
      // the start-time check tells support before any payment
      await eventually(async () => h.logs.some((l) => l.includes('Сопоставление не подходит к базе 1С') && l.includes(`${file}:${line}`)));
      const number = `MAP-${Math.floor(Math.random() * 1e6)}`;
      const inBase = h.onec!.seedCustomerOrder({ number, total: 500 });
      const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, ...orderLines(50000) }), SITE_AUTH)).body;
      const payment = await payOrder(h, order.id);
      const p = await onecState(h, payment.id);
      expect(p.onec.status).toBe('failed');
      expect(p.onec.error).toContain(`${file}:${line} documents.card.fields.ПодразделениеКассы_Key`);
      expect(h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key)).toEqual([]);
      expect(h.onec!.stats().writes).toBe(0);
    } finally {
      await h.close();
    }
  });

  test('card payments into УНФ need only the card document published (no ПоступлениеНаСчет)', async () => {
    const published = configurationOf('unf')
      .entities.map((e) => e.name)
      .filter((n) => n !== 'Document_ПоступлениеНаСчет');
    const h = await startHarness({ onec: { configuration: 'unf', published } });
    try {
      const number = `UNF-${Math.floor(Math.random() * 1e6)}`;
      const inBase = h.onec!.seedCustomerOrder({ number, total: 500 });
      const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, ...orderLines(50000) }), SITE_AUTH)).body;
      const payment = await payOrder(h, order.id);
      expect((await onecState(h, payment.id, (s) => s === 'delivered' || s === 'failed')).onec).toMatchObject({ status: 'delivered' });
      const docs = h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key);
      expect(docs.map((d) => [d.entity, d.operation, d.posted])).toEqual([
        ['Document_ОперацияПоПлатежнымКартам', 'ПоступлениеОплатыОтПокупателя', true],
      ]);
    } finally {
      await h.close();
    }
  });

  test('the mapping can move the 1C order on once it is paid (Статус = КОтгрузке)', async () => {
    const m = parse(readFileSync(join(MAPPINGS, 'ut11.yaml'), 'utf8'));
    m.order.paidStatus = 'КОтгрузке';
    const file = join(mkdtempSync(join(tmpdir(), 'map-')), 'ut11-status.yaml');
    writeFileSync(file, stringify(m));
    const h = await startHarness({ onec: { configuration: 'ut11', mapping: file } });
    try {
      const number = `ST-${Math.floor(Math.random() * 1e6)}`;
      const inBase = h.onec!.seedCustomerOrder({ number, total: 500, status: 'КОбеспечению' });
      const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, ...orderLines(50000) }), SITE_AUTH)).body;
      const payment = await payOrder(h, order.id);
      expect((await onecState(h, payment.id)).onec.status).toBe('delivered');
      expect(h.onec!.get('Document_ЗаказКлиента', inBase.Ref_Key as string)!.Статус).toBe('КОтгрузке');
    } finally {
      await h.close();
    }
  });
});
