import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import yazl from 'yazl';
import { readDocuments } from '../../connectors/commerceml/reader';
import type { ImportedDocument } from '../../connectors/commerceml/types';
import { ExchangeClient, ExchangeError } from '../../connectors/commerceml/exchange-client';
import { matchAndApply } from '../../gateway/flows/statements/apply';
import { ingestStatement } from '../../gateway/flows/statements/ingest';
import type { Kopecks } from '../../gateway/domain/money';
import type { StatementLine } from '../../gateway/ports';
import { alerts } from '../helpers/fiscal';
import { eventually, orderBody, SITE_AUTH, startHarness, type Harness, type HarnessOptions } from '../helpers/harness';
import { SANDBOX } from '../sandbox/config';

/**
 * 1C's standard "Обмен с сайтом" against the gateway, driven as 1C drives it: the real files 1C and
 * sites produce, the orders document 1C reads (valid against the official XSDs, and read back into
 * the same orders), a round trip, and every bad input an exchange can bring.
 */

const FIXTURES = '/work/shared/fixtures/commerceml';
const XSD = (v: string) => join(FIXTURES, 'xsd', `commerceml-${v}.xsd`);
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;

async function exchangeHarness(base: Record<string, unknown> = {}, extra: HarnessOptions = {}): Promise<Harness> {
  return startHarness({
    ...extra,
    overrides: (raw) => {
      Object.assign(raw.exchange.bases[0], base);
      extra.overrides?.(raw);
    },
  });
}

function client(h: Harness, opts: { version?: string; chunkBytes?: number; path?: string } = {}): ExchangeClient {
  return new ExchangeClient({
    url: `${h.url}${opts.path ?? '/exchange/1c'}`,
    user: SANDBOX.onecUser,
    password: SANDBOX.onecPassword,
    version: opts.version,
    chunkBytes: opts.chunkBytes ?? 4096,
    timeoutMs: 30_000,
  });
}

async function readAll(bytes: Buffer): Promise<ImportedDocument[]> {
  const docs: ImportedDocument[] = [];
  await readDocuments(Readable.from([bytes]), (d) => void docs.push(d));
  return docs;
}

const orderOf = async (h: Harness, externalId: string) => {
  const row = await h.gateway.store.db.selectFrom('orders').select('id').where('external_id', '=', externalId).executeTakeFirstOrThrow();
  return (await h.call('GET', `/api/v1/orders/${row.id}`, undefined, SITE_AUTH)).body;
};

/** A site order matching a 1C document: same number, the document's Ид as externalId, its total. */
async function siteOrderFor(h: Harness, id: string, number: string, total: number) {
  const r = await h.call(
    'POST',
    '/api/v1/orders',
    orderBody({
      externalId: id,
      number,
      items: [{ sku: 'x', name: 'Товар', quantity: 1, price: total, amount: total, vat: 'vat20' }],
      total,
    }),
    SITE_AUTH,
  );
  expect(r.status).toBe(201);
  return r.body;
}

describe('the real files go through the whole exchange', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await exchangeHarness();
  });
  afterAll(() => h?.close());

  test('from-1c-2.08-bom.xml (УТ: paid and shipped, with 1C numbers and dates)', async () => {
    await siteOrderFor(h, 'site-13838', '13838', 151500);
    const notes = await uploadFixture(h, 'from-1c-2.08-bom.xml');
    expect(notes[0]).toMatch(/Обработано документов: 1, изменено заказов: 1/);
    const o = await orderOf(h, 'site-13838');
    expect(o.status).toBe('paid');
    expect(o.onec).toEqual({
      number: 'СА-013838',
      status: 'Отправлен',
      paid: { number: 'НФНФ-000001', date: '2021-02-18T06:49:02.000Z' }, // 09:49:02 Moscow, written unpadded by 1C
      shipped: { number: 'НФНФ-000001', date: '2021-02-18T06:49:02.000Z' },
    });
    expect(o.paidAmount).toBe(0); // no money went through the gateway: 1C's payment is shown, not counted
  });

  test('from-1c-ut11-2.09.xml (two orders: one paid and shipped, one paid)', async () => {
    await siteOrderFor(h, '142', '142', 818684);
    await siteOrderFor(h, '235', '235', 410000);
    const notes = await uploadFixture(h, 'from-1c-ut11-2.09.xml');
    expect(notes[0]).toMatch(/Обработано документов: 2, изменено заказов: 2/);
    const a = await orderOf(h, '142');
    expect(a.onec).toEqual({
      number: 'ТДЦУ-000001',
      status: null,
      paid: { number: 'ТДЦУ-000001', date: '2015-06-29T12:39:10.000Z' },
      shipped: { number: 'ТДЦУ-000003', date: '2015-06-29T14:32:27.000Z' },
    }); // Moscow: UTC+3
    const b = await orderOf(h, '235');
    expect(b.onec).toEqual({
      number: 'ТДЦУ-000002',
      status: null,
      paid: { number: 'ТДЦУ-000002', date: '2015-06-29T13:36:25.000Z' },
      shipped: null,
    });
    expect(b.status).toBe('paid');
  });

  test('official-to-site-2.03-cp1251.xml (the standard’s example, windows-1251: paid, delivered)', async () => {
    await siteOrderFor(h, '20', '20', 968342);
    await uploadFixture(h, 'official-to-site-2.03-cp1251.xml');
    const o = await orderOf(h, '20');
    expect(o.status).toBe('paid');
    expect(o.onec).toEqual({
      number: null,
      status: '[F] Доставлен',
      paid: { number: 'ТК000000026', date: '2007-10-16T11:44:47.000Z' } /* Moscow summer time then: UTC+4 */,
      shipped: null,
    });
  });

  test('official-from-site-2.03-cp1251.xml (an unpaid order sent back): only its status moves', async () => {
    await siteOrderFor(h, '36', '36', 673447);
    await uploadFixture(h, 'official-from-site-2.03-cp1251.xml');
    const o = await orderOf(h, '36');
    expect(o).toMatchObject({ status: 'awaiting_payment', onec: { status: '[N] Принят', paid: null, shipped: null } });
  });

  test('to-1c-bitrix-2.05-cp1251.xml (orders the gateway never had): taken in as orders from 1C, with payment links', async () => {
    const notes = await uploadFixture(h, 'to-1c-bitrix-2.05-cp1251.xml');
    const created = await h.gateway.store.db
      .selectFrom('orders')
      .selectAll()
      .where('source', '=', 'onec')
      .where('number', 'in', ['132', '133'])
      .execute();
    for (const number of ['132', '133']) {
      const o = created.find((c) => c.number === number);
      if (o) {
        expect(o).toMatchObject({ external_id: number, onec_ref: number, status: 'awaiting_payment' });
        expect(notes.join('\n')).toMatch(new RegExp(`Заказ №${number} принят; ссылка на оплату: ${h.url}/pay/`));
      } else {
        // lines that do not add up to the document's sum: refused with a reason, never half-taken
        expect(notes.join('\n')).toMatch(new RegExp(`Заказ №${number} из 1С не принят`));
      }
    }
    expect(created.length + notes.filter((n) => /не принят/.test(n)).length).toBe(2);
  });

  async function uploadFixture(hh: Harness, name: string): Promise<string[]> {
    const c = client(hh, { chunkBytes: 1500 });
    await c.checkauth();
    await c.init();
    await c.query();
    await c.success();
    const up = await c.upload(name, readFileSync(join(FIXTURES, name)));
    expect(up.chunks).toBeGreaterThan(1);
    return c.import(name, { pollDelayMs: 100 });
  }
});

describe('the orders document 1C reads (mode=query)', () => {
  test.each([
    ['2.05', 'windows-1251'],
    ['2.08', 'windows-1251'],
    ['2.09', 'utf-8'],
    ['2.10', 'utf-8'],
  ] as const)('version %s in %s: valid against the XSD and read back into the same orders', async (version, encoding) => {
    const h = await exchangeHarness({ encoding, version });
    try {
      const legal = (
        await h.call(
          'POST',
          '/api/v1/orders',
          orderBody({
            customer: { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001', email: 'buh@vector.example' },
          }),
          SITE_AUTH,
        )
      ).body;
      const person = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
      const payment = (
        await h.call(
          'POST',
          `/api/v1/orders/${person.id}/payments`,
          { method: 'card' },
          { ...SITE_AUTH, 'idempotency-key': `q-${person.id}` },
        )
      ).body;
      await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
      await eventually(async () => (await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status === 'paid');

      // as 1C loads orders: checkauth, then query (no init before it)
      const c = client(h);
      await c.checkauth();
      const q = await c.query();
      expect(q.version).toBe(version);
      expect(q.encoding).toBe(encoding);
      if (encoding === 'utf-8') expect(q.bytes.subarray(0, 3).toString('hex')).toBe('efbbbf');
      else expect(q.bytes.toString('latin1')).toMatch(/^<\?xml version="1.0" encoding="windows-1251"\?>/);

      const file = join(mkdtempSync(join(tmpdir(), 'q-')), 'orders.xml');
      writeFileSync(file, q.bytes);
      if (!hasXmllint && process.env.CI) throw new Error('xmllint is missing (libxml2-utils)');
      if (hasXmllint) {
        if (version === '2.05') execFileSync('xmllint', ['--noout', file]);
        else execFileSync('xmllint', ['--noout', '--schema', XSD(version), file], { stdio: 'pipe' });
      }

      const docs = await readAll(q.bytes);
      const byId = new Map(docs.map((d) => [d.id, d]));
      for (const o of [legal, person]) {
        const d = byId.get(o.externalId)!;
        expect(d).toMatchObject({ number: o.number, operation: 'Заказ товара', total: o.total });
        expect(d.items.map((i) => [i.id, i.quantity, i.price, i.amount])).toEqual(
          o.items.map((i: any) => [i.sku === 'DELIVERY' ? 'ORDER_DELIVERY' : i.sku, i.quantity, i.price, i.amount]),
        );
      }
      expect(byId.get(legal.externalId)!.customer).toMatchObject({ inn: '7701234560', kpp: '770101001' });
      expect(byId.get(person.externalId)!.requisites).toMatchObject({ 'Заказ оплачен': 'true', 'Метод оплаты': 'Банковская карта' });
      expect(byId.get(legal.externalId)!.requisites['Заказ оплачен']).toBe('false');

      // confirmed: not sent again; a change afterwards: sent again
      await c.success();
      expect((await c.query()).documents).toBe(0);
      await h.call(
        'POST',
        `/api/v1/payments/${payment.id}/refunds`,
        { amount: 1000 },
        { ...SITE_AUTH, 'idempotency-key': `r-${payment.id}` },
      );
      await eventually(
        async () => (await h.call('GET', `/api/v1/orders/${person.id}`, undefined, SITE_AUTH)).body.status === 'partially_refunded',
      );
      expect((await readAll((await c.query()).bytes)).map((d) => d.id)).toEqual([person.externalId]);
    } finally {
      await h.close();
    }
  });

  test('a query never confirmed sends the same orders again', async () => {
    const h = await exchangeHarness();
    try {
      const o = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
      const first = client(h);
      await first.checkauth();
      await first.init();
      expect((await readAll((await first.query()).bytes)).map((d) => d.id)).toContain(o.externalId);
      // 1C failed before success; the next exchange gets the order again
      const second = client(h);
      await second.checkauth();
      await second.init();
      expect((await readAll((await second.query()).bytes)).map((d) => d.id)).toContain(o.externalId);
    } finally {
      await h.close();
    }
  });
});

describe('what 1C gets from query, and what it would refuse', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await exchangeHarness();
  });
  afterAll(() => h?.close());

  /** One loading of orders as 1C runs it: checkauth → query → success; the documents 1C read. */
  async function load(): Promise<ImportedDocument[]> {
    const c = client(h);
    await c.checkauth();
    const q = await c.query(); // the client checks the answer against 1C's 2.08 package, as 1C does
    await c.success();
    return readAll(q.bytes);
  }
  const count = async () =>
    Number(
      (
        await h.gateway.store.db
          .selectFrom('orders')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  test('an order number over 11 characters is refused at creation (УТ would make a new order at every exchange); one made before is left out with an alert', async () => {
    const before = await count();
    const long = orderBody({ number: 'SITE-0000001' }); // 12 characters
    const r = await h.call('POST', '/api/v1/orders', long, SITE_AUTH);
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'order_number_too_long_for_1c' });
    expect(r.body.error.message).toMatch(/11 characters/);
    expect(r.body.error.details).toEqual([{ path: 'number', message: expect.stringMatching(/11/) }]);
    expect(await count()).toBe(before);
    // 11 characters is fine
    const ok = await h.call('POST', '/api/v1/orders', orderBody({ number: 'SITE-000001' }), SITE_AUTH);
    expect(ok.status).toBe(201);

    // an order made before the number limit (or under another set-up) is not sent: 1C could never find it again
    const old = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    await h.gateway.store.db.updateTable('orders').set({ number: 'LEGACY-00000001' }).where('id', '=', old.id).execute();
    const docs = await load();
    expect(docs.map((d) => d.number)).toContain('SITE-000001');
    expect(docs.map((d) => d.number)).not.toContain('LEGACY-00000001');
    const raised = await alerts(h);
    expect(raised.map((a) => a.text).join('\n')).toMatch(/Заказ №LEGACY-00000001 не передан в 1С: номер длиннее 11 символов/);
  });

  test('orders that came from 1C are never sent back to 1C', async () => {
    const c = client(h);
    await c.checkauth();
    await c.init();
    await c.upload('v8_from_1c.xml', readFileSync(join(FIXTURES, 'to-1c-bitrix-2.05-cp1251.xml')));
    await c.import('v8_from_1c.xml', { pollDelayMs: 100 });
    const fromOneC = await h.gateway.store.db.selectFrom('orders').select('number').where('source', '=', 'onec').execute();
    expect(fromOneC.length).toBeGreaterThan(0);
    const sent = (await load()).map((d) => d.number);
    for (const o of fromOneC) expect(sent).not.toContain(o.number);
  });

  test('an order 1C’s package could not take is left out with an alert; the other orders of the batch still go', async () => {
    const good = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    const bad = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    // a line whose quantity has 4 decimals (CommerceML quantities have 3): stored by an older version
    const items = JSON.parse(
      (await h.gateway.store.db.selectFrom('orders').select('items').where('id', '=', bad.id).executeTakeFirstOrThrow()).items,
    );
    items[0].quantity = 1.0005;
    await h.gateway.store.db
      .updateTable('orders')
      .set({ items: JSON.stringify(items) })
      .where('id', '=', bad.id)
      .execute();
    const docs = await load();
    expect(docs.map((d) => d.number)).toContain(good.number);
    expect(docs.map((d) => d.number)).not.toContain(bad.number);
    const raised = await alerts(h);
    expect(raised.map((a) => a.text).join('\n')).toMatch(new RegExp(`Заказ №${bad.number} не передан в 1С`));
    // confirmed: the good one is not sent again; the bad one stays waiting (sent once it is fixed)
    const again = await load();
    expect(again.map((d) => d.number)).not.toContain(good.number);
    items[0].quantity = 1;
    await h.gateway.store.db
      .updateTable('orders')
      .set({ items: JSON.stringify(items), updated_at: new Date().toISOString() })
      .where('id', '=', bad.id)
      .execute();
    expect((await load()).map((d) => d.number)).toContain(bad.number);
  });
});

describe('export marks: per 1C base, and what 1C itself uploaded', () => {
  const SECOND = { user: '1c-unf', password: 'unf-password' };
  let h: Harness;
  beforeAll(async () => {
    h = await exchangeHarness(
      {},
      {
        overrides: (raw) =>
          raw.exchange.bases.push({ id: 'unf', user: SECOND.user, password: SECOND.password, encoding: 'utf-8', version: '2.08' }),
      },
    );
  });
  afterAll(() => h?.close());

  async function load(who: { user: string; password: string } = { user: SANDBOX.onecUser, password: SANDBOX.onecPassword }) {
    const c = new ExchangeClient({ url: `${h.url}/exchange/1c`, ...who, timeoutMs: 30_000 });
    await c.checkauth();
    const q = await c.query();
    await c.success();
    return (await readAll(q.bytes)).map((d) => d.number);
  }

  /** 1C uploads the order with its own number for it (what УТ sends back after loading an order). */
  async function upload(order: { externalId: string; number: string }, onecNumber: string): Promise<void> {
    const c = client(h);
    await c.checkauth();
    await c.init();
    const xml = `${'<?xml version="1.0" encoding="UTF-8"?>'}
<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="2026-12-01T10:00:00"><Документ><Ид>9f1c2d3e-0000-4000-8000-00000000${onecNumber.slice(-4)}</Ид><Номер>${order.number}</Номер><Дата>2026-12-01</Дата><ХозОперация>Заказ товара</ХозОперация><Валюта>RUB</Валюта><Сумма>3500.00</Сумма>
<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Номер по 1С</Наименование><Значение>${onecNumber}</Значение></ЗначениеРеквизита><ЗначениеРеквизита><Наименование>Проведен</Наименование><Значение>true</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Документ></КоммерческаяИнформация>`;
    const name = `documents___${onecNumber}.xml`;
    await c.upload(name, Buffer.from(xml));
    const notes = await c.import(name, { pollDelayMs: 100 });
    expect(notes[0]).toMatch(/изменено заказов: 1/);
  }

  async function pay(order: { id: string }) {
    const payment = (
      await h.call('POST', `/api/v1/orders/${order.id}/payments`, { method: 'card' }, { ...SITE_AUTH, 'idempotency-key': `m-${order.id}` })
    ).body;
    await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
    await eventually(async () => (await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body.status === 'paid');
  }

  test('two 1C bases serving one organization each get every order, and each confirms for itself', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    expect(await load()).toContain(order.number);
    expect(await load(SECOND)).toContain(order.number);
    // each base's success marks only its own
    expect(await load()).not.toContain(order.number);
    expect(await load(SECOND)).not.toContain(order.number);
    // a change on the site goes to both
    await pay(order);
    expect(await load(SECOND)).toContain(order.number);
    expect(await load()).toContain(order.number);
  });

  test('what 1C uploaded is not sent back to it at the next query, unless the site changed the order since', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    expect(await load()).toContain(order.number);
    await upload(order, 'ЗК00-000101');
    expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body.onec.number).toBe('ЗК00-000101');
    expect(await load()).not.toContain(order.number);
    // the other base did not upload it: it gets the order with 1C's news like any change
    expect(await load(SECOND)).toContain(order.number);

    // the site changes it after 1C's upload: sent again
    await pay(order);
    await upload(order, 'ЗК00-000102');
    expect(await load()).toContain(order.number);

    // the site changed it (paid) before 1C's upload and 1C had not taken that yet: still sent
    const other = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    expect(await load()).toContain(other.number);
    await pay(other);
    await upload(other, 'ЗК00-000103');
    const docs = await load();
    expect(docs).toContain(other.number);
  });
});

describe('one writer of payments per 1C base', () => {
  async function paidOrderDocument(base: Record<string, unknown>): Promise<{ doc: ImportedDocument; text: string }> {
    const h = await exchangeHarness(base);
    try {
      const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
      const payment = (
        await h.call(
          'POST',
          `/api/v1/orders/${order.id}/payments`,
          { method: 'card' },
          { ...SITE_AUTH, 'idempotency-key': `w-${order.id}` },
        )
      ).body;
      await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
      await eventually(async () => (await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body.status === 'paid');
      const c = client(h);
      await c.checkauth();
      const q = await c.query();
      const doc = (await readAll(q.bytes)).find((d) => d.number === order.number)!;
      return { doc, text: q.text };
    } finally {
      await h.close();
    }
  }

  test('1C writes them (no transport): the exchange carries «Заказ оплачен», «Дата оплаты», «Номер платежного документа»', async () => {
    const { doc } = await paidOrderDocument({ version: '2.09', encoding: 'utf-8' });
    expect(doc.requisites).toMatchObject({ 'Заказ оплачен': 'true', 'Метод оплаты': 'Банковская карта' });
    expect(doc.requisites['Дата оплаты']).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(doc.requisites['Номер платежного документа']).toBeTruthy();
    expect(doc.payments).toHaveLength(1);
  });

  test('an invoice paid by bank transfer: «Заказ оплачен» only once paid in full, with the payment order’s number', async () => {
    const h = await exchangeHarness(
      { version: '2.09', encoding: 'utf-8' },
      {
        overrides: (raw) => {
          raw.organizations[0].payments.invoice = {
            bank: { name: 'ПАО Сбербанк', bic: '044525225', account: '40702810938000000001', correspondentAccount: '30101810400000000225' },
          };
        },
      },
    );
    try {
      const buyer = { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001' };
      const order = (await h.call('POST', '/api/v1/orders', orderBody({ customer: buyer }), SITE_AUTH)).body;
      const invoice = (
        await h.call(
          'POST',
          `/api/v1/orders/${order.id}/payments`,
          { method: 'invoice' },
          { ...SITE_AUTH, 'idempotency-key': `i-${order.id}` },
        )
      ).body.action;
      const transfer = (number: string, amount: number): StatementLine => ({
        account: '40702810938000000001',
        direction: 'incoming',
        kind: 'Платежное поручение',
        number,
        date: invoice.date,
        amount: amount as Kopecks,
        bankDate: invoice.date,
        payer: { name: buyer.name, inn: buyer.inn, kpp: buyer.kpp, account: '40702810100000000777', bankBik: '044525593', bankName: null },
        receiver: {
          name: 'ООО «Ромашка»',
          inn: '7707083893',
          kpp: null,
          account: '40702810938000000001',
          bankBik: '044525225',
          bankName: null,
        },
        purpose: `Оплата по счету № ${invoice.number} от ${invoice.date.split('-').reverse().join('.')}`,
        uip: null,
      });
      const pay = async (line: StatementLine) => {
        await ingestStatement(h.gateway.deps, 'main', { name: 'test', incomingSince: async () => ({ lines: [line], cursor: null }) });
        await matchAndApply(h.gateway.deps, 'main');
      };
      const documentOf = async () => {
        const c = client(h);
        await c.checkauth();
        return (await readAll((await c.query()).bytes)).find((d) => d.number === order.number)!;
      };

      await pay(transfer('301', 100000));
      const part = await documentOf();
      expect(part.requisites['Заказ оплачен']).toBe('false');
      expect(part.requisites['Номер платежного документа']).toBeUndefined();

      await pay(transfer('302', 250000));
      const whole = await documentOf();
      expect(whole.requisites).toMatchObject({ 'Заказ оплачен': 'true', 'Метод оплаты': 'Счёт', 'Номер платежного документа': '302' });
    } finally {
      await h.close();
    }
  });

  test('the gateway writes them: the exchange leaves out what makes УТ or УНФ create a payment document of their own', async () => {
    const { doc, text } = await paidOrderDocument({ version: '2.09', encoding: 'utf-8', paymentsWrittenBy: 'gateway' });
    expect(doc.requisites['Заказ оплачен']).toBeUndefined();
    expect(doc.requisites['Дата оплаты']).toBeUndefined();
    expect(doc.requisites['Номер платежного документа']).toBeUndefined();
    expect(doc.payments).toEqual([]);
    expect(text).not.toContain('<Оплаты>');
    // what the order is stays readable: its status and payment method
    expect(doc.requisites).toMatchObject({ 'Статус заказа': '[P] Оплачен', 'Метод оплаты': 'Банковская карта' });
  });
});

describe('a round trip', () => {
  test('site order → query (windows-1251, 2.05) → 1C marks it paid and shipped → import: the order shows 1C’s payment and shipment', async () => {
    const h = await exchangeHarness();
    try {
      const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
      const c = client(h, { chunkBytes: 700 });
      await c.checkauth();
      await c.init();
      const q = await c.query();
      expect(q.encoding).toBe('windows-1251');
      await c.success();
      // 1C answers with the same document, its own number and the payment and shipment requisites
      const text = iconv.decode(q.bytes, 'win1251');
      const start = text.indexOf('<Документ>', text.indexOf(`<Ид>${order.externalId}</Ид>`) - 40);
      const doc = text.slice(start, text.indexOf('</Документ>', start) + '</Документ>'.length);
      const answer = `<?xml version="1.0" encoding="windows-1251"?>
<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="2026-11-23T12:00:00">
${doc.replace(
  /<ЗначенияРеквизитов>(?![\s\S]*<ЗначенияРеквизитов>)/,
  `<ЗначенияРеквизитов>
<ЗначениеРеквизита><Наименование>Номер по 1С</Наименование><Значение>ЗК00-000777</Значение></ЗначениеРеквизита>
<ЗначениеРеквизита><Наименование>Оплачен</Наименование><Значение>true</Значение></ЗначениеРеквизита>
<ЗначениеРеквизита><Наименование>Номер оплаты по 1С</Наименование><Значение>ПО00-000123</Значение></ЗначениеРеквизита>
<ЗначениеРеквизита><Наименование>Дата оплаты по 1С</Наименование><Значение>2026-11-23T9:05:00</Значение></ЗначениеРеквизита>
<ЗначениеРеквизита><Наименование>Отгружен</Наименование><Значение>true</Значение></ЗначениеРеквизита>
<ЗначениеРеквизита><Наименование>Номер отгрузки по 1С</Наименование><Значение>РТ00-000045</Значение></ЗначениеРеквизита>
<ЗначениеРеквизита><Наименование>Дата отгрузки по 1С</Наименование><Значение>2026-11-23T14:30:00</Значение></ЗначениеРеквизита>`,
)}
</КоммерческаяИнформация>`;
      const file = `documents___${order.id}.xml`;
      await c.upload(file, iconv.encode(answer, 'win1251'));
      await c.import(file, { pollDelayMs: 100 });
      const after = (await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body;
      expect(after.onec).toEqual({
        number: 'ЗК00-000777',
        status: '[N] Принят',
        paid: { number: 'ПО00-000123', date: '2026-11-23T06:05:00.000Z' },
        shipped: { number: 'РТ00-000045', date: '2026-11-23T11:30:00.000Z' },
      });
      expect(after.status).toBe('paid');
    } finally {
      await h.close();
    }
  });
});

describe('bad input: a clear failure, nothing changed', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await exchangeHarness({ maxUploadMb: 1, zip: true, maxZipEntries: 5, maxZipRatio: 50 });
  });
  afterAll(() => h?.close());

  const raw = async (path: string, headers: Record<string, string> = {}, method = 'GET', body?: Buffer) => {
    const r = await fetch(`${h.url}${path}`, { method, headers, body, redirect: 'manual' });
    return {
      status: r.status,
      type: r.headers.get('content-type') ?? '',
      text: iconv.decode(Buffer.from(await r.arrayBuffer()), /1251/.test(r.headers.get('content-type') ?? '') ? 'win1251' : 'utf8'),
    };
  };
  const session = async () => {
    const c = client(h);
    await c.checkauth();
    await c.init();
    return c;
  };
  const expectFailure = (r: { status: number; type: string; text: string }, reason: RegExp) => {
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain/);
    expect(r.text.split('\n')[0]).toBe('failure');
    expect(r.text).toMatch(reason);
    expect(r.text).not.toMatch(/<html/i);
  };
  const orderCount = async () =>
    Number(
      (
        await h.gateway.store.db
          .selectFrom('orders')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  test('wrong credentials, no credentials', async () => {
    expectFailure(
      await raw('/exchange/1c?type=sale&mode=checkauth', { authorization: `Basic ${Buffer.from('1c:nope').toString('base64')}` }),
      /Неверный логин или пароль/,
    );
    expectFailure(await raw('/1c_exchange.php?type=sale&mode=checkauth'), /Authorization/);
  });

  test('a missing or stale cookie; modes out of order; unknown mode or type', async () => {
    expectFailure(await raw('/exchange/1c?type=sale&mode=query'), /Сеанс обмена не найден/);
    expectFailure(
      await raw('/exchange/1c?type=sale&mode=query', { cookie: 'ONEC_GATEWAY_SESSID=aaaaaaaaaaaaaaaaaaaaaa' }),
      /Сеанс обмена не найден/,
    );
    const c = await session();
    const cookie = { cookie: `${c.cookie!.name}=${c.cookie!.value}` };
    expectFailure(await raw('/exchange/1c?type=sale&mode=success', cookie), /Нечего подтверждать/);
    expectFailure(await raw('/exchange/1c?type=sale&mode=import&filename=never.xml', cookie), /не загружался/);
    expectFailure(await raw('/exchange/1c?type=sale&mode=rocket', cookie), /Неизвестный режим/);
    expectFailure(await raw('/exchange/1c?type=catalog&mode=init', cookie), /только обмен заказами/);
    expectFailure(
      await raw('/exchange/1c?type=sale&mode=file&filename=../../etc/passwd', cookie, 'POST', Buffer.from('x')),
      /Недопустимое имя файла/,
    );
  });

  async function refused(name: string, content: Buffer, reason: RegExp) {
    const before = await orderCount();
    const c = await session();
    await c.upload(name, content).catch(() => undefined);
    const e = await c.import(name, { pollDelayMs: 100 }).then(
      () => null,
      (err) => err,
    );
    expect(e).toBeInstanceOf(ExchangeError);
    expect((e as ExchangeError).reason).toMatch(reason);
    expect(await orderCount()).toBe(before);
  }

  const head =
    '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="2026-11-23T10:00:00">\n';
  const docXml = (n: string) =>
    `<Документ><Ид>${n}</Ид><Номер>${n}</Номер><Дата>2026-11-23</Дата><ХозОперация>Заказ товара</ХозОперация><Сумма>10.00</Сумма><Товары><Товар><Ид>a</Ид><Наименование>Товар</Наименование><ЦенаЗаЕдиницу>10</ЦенаЗаЕдиницу><Количество>1</Количество><Сумма>10</Сумма></Товар></Товары></Документ>\n`;

  test('truncated XML', async () => {
    await refused('cut.xml', Buffer.from(head + docXml('T-1').slice(0, 90)), /оборван/);
  });

  test('a wrongly declared encoding', async () => {
    await refused('enc.xml', iconv.encode(head + docXml('E-1') + '</КоммерческаяИнформация>', 'win1251'), /кодировк/i);
  });

  test('an XML bomb (entities) and an external entity (XXE)', async () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><КоммерческаяИнформация ВерсияСхемы="2.08"><Документ><Ид>&lol2;</Ид></Документ></КоммерческаяИнформация>`;
    await refused('bomb.xml', Buffer.from(bomb), /DTD или сущности/);
    const xxe = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><КоммерческаяИнформация ВерсияСхемы="2.08"><Документ><Ид>&xxe;</Ид></Документ></КоммерческаяИнформация>`;
    await refused('xxe.xml', Buffer.from(xxe), /DTD или сущности/);
  });

  function zip(entries: { name: string; content: Buffer }[]): Promise<Buffer> {
    return new Promise((resolve) => {
      const z = new yazl.ZipFile();
      for (const e of entries) z.addBuffer(e.content, e.name);
      const chunks: Buffer[] = [];
      z.outputStream.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks)));
      z.end();
    });
  }

  test('zip archives: several files are all imported; a path traversal name, too many entries and a zip bomb are refused', async () => {
    const ok = await zip([
      { name: 'orders-1.xml', content: Buffer.from(head + docXml('Z-1') + '</КоммерческаяИнформация>') },
      { name: 'orders-2.xml', content: Buffer.from(head + docXml('Z-2') + '</КоммерческаяИнформация>') },
    ]);
    const c = await session();
    await c.upload('v8_3B8F_3e.zip', ok);
    const notes = await c.import('v8_3B8F_3e.zip', { pollDelayMs: 100 });
    expect(notes.join('\n')).toMatch(/Заказ №Z-1 принят/);
    expect(notes.join('\n')).toMatch(/Заказ №Z-2 принят/);

    const evil = await zip([{ name: 'ok.xml', content: Buffer.from(head + '</КоммерческаяИнформация>') }]);
    // rename the entry to climb out of the folder (same length keeps the archive valid)
    const traversal = Buffer.from(evil.toString('latin1').split('ok.xml').join('../a.x'), 'latin1');
    await refused('trav.zip', traversal, /Недопустимое имя файла в архиве|Архив/);
    await refused(
      'many.zip',
      await zip(Array.from({ length: 6 }, (_, i) => ({ name: `f${i}.xml`, content: Buffer.from(head + '</КоммерческаяИнформация>') }))),
      /файлов, допустимо не больше 5/,
    );
    await refused('bomb.zip', await zip([{ name: 'big.xml', content: Buffer.alloc(900_000, 0x20) }]), /zip-бомб|больше допустимых/);
  });

  test('a zip with one bad entry changes nothing, not even the orders of its good entries (every entry is checked first)', async () => {
    const good = { name: 'orders-1.xml', content: Buffer.from(head + docXml('ZG-1') + '</КоммерческаяИнформация>') };
    // a bomb after a good entry
    await refused(
      'late-bomb.zip',
      await zip([good, { name: 'big.xml', content: Buffer.alloc(900_000, 0x20) }]),
      /zip-бомб|больше допустимых/,
    );
    // a climbing name after a good entry (same length as "ok.xml" keeps the archive valid)
    const named = await zip([good, { name: 'ok.xml', content: Buffer.from(head + '</КоммерческаяИнформация>') }]);
    await refused('late-name.zip', Buffer.from(named.toString('latin1').split('ok.xml').join('../a.x'), 'latin1'), /Недопустимое имя/);
    // a broken XML after a good entry
    await refused(
      'late-cut.zip',
      await zip([good, { name: 'orders-2.xml', content: Buffer.from(head + docXml('ZG-2').slice(0, 90)) }]),
      /оборван/,
    );
    const made = await h.gateway.store.db.selectFrom('orders').select('number').where('number', 'in', ['ZG-1', 'ZG-2']).execute();
    expect(made).toEqual([]);
  });

  test('an XML file broken after hundreds of good documents changes nothing', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    const status = `<Документ><Ид>${order.externalId}</Ид><Номер>${order.number}</Номер><ХозОперация>Заказ товара</ХозОперация><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Статус заказа</Наименование><Значение>[F] Выполнен</Значение></ЗначениеРеквизита><ЗначениеРеквизита><Наименование>Номер по 1С</Наименование><Значение>ЗК00-000900</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Документ>\n`;
    const file = head + status.repeat(300) + docXml('CUT-1').slice(0, 90);
    await refused('late-cut.xml', Buffer.from(file), /оборван/);
    const after = (await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body;
    expect(after.onec).toMatchObject({ number: null, status: null });
  });

  test('an upload past the size limit is refused and not kept (no 500 MB reaches the disk)', async () => {
    const c = await session();
    const e = await c.upload('huge.xml', Buffer.alloc(1_200_000, 0x20)).then(
      () => null,
      (err) => err,
    );
    expect(e).toBeInstanceOf(ExchangeError);
    expect((e as ExchangeError).reason).toMatch(/больше допустимых 1 МБ/);
    // a client that announces 500 MB is refused before it sends them
    const announced = await new Promise<string>((resolve) => {
      const req = request(
        `${h.url}/exchange/1c?type=sale&mode=file&filename=big.xml`,
        { method: 'POST', headers: { cookie: `${c.cookie!.name}=${c.cookie!.value}`, 'content-length': String(500 * 1024 * 1024) } },
        (res) => {
          let t = '';
          res.on('data', (d) => (t += d));
          res.on('end', () => resolve(iconv.decode(Buffer.from(t, 'latin1'), 'win1251')));
        },
      );
      req.on('error', () => resolve('connection closed'));
      req.write(Buffer.alloc(1024));
    });
    expect(announced).toMatch(/failure|connection closed/);
  });

  test('a document for an unknown order (only a status): a note and an alert, nothing created', async () => {
    const before = await orderCount();
    const c = await session();
    const only = `${head}<Документ><Ид>nope-1</Ид><Номер>NOPE-1</Номер><ХозОперация>Заказ товара</ХозОперация><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Статус заказа</Наименование><Значение>Отгружен</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Документ></КоммерческаяИнформация>`;
    await c.upload('unknown.xml', Buffer.from(only));
    const notes = await c.import('unknown.xml', { pollDelayMs: 100 });
    expect(notes.join('\n')).toMatch(/Заказ №NOPE-1 .* не найден на сайте/);
    expect(await orderCount()).toBe(before);
    await eventually(async () => h.logs.some((l) => l.includes('Заказ из 1С не найден на сайте')));
  });

  test('an order paid online that 1C marks unpaid, or cancels: a note and an alert, nothing overwritten', async () => {
    const order = (
      await h.call(
        'POST',
        '/api/v1/orders',
        orderBody({ items: [{ sku: 'a', name: 'Товар', quantity: 1, price: 1000, amount: 1000, vat: 'vat22' }], total: 1000 }),
        SITE_AUTH,
      )
    ).body;
    const payment = (
      await h.call('POST', `/api/v1/orders/${order.id}/payments`, { method: 'card' }, { ...SITE_AUTH, 'idempotency-key': `u-${order.id}` })
    ).body;
    await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
    await eventually(async () => (await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body.status === 'paid');
    const c = await session();
    const file = `${head}<Документ><Ид>${order.externalId}</Ид><Номер>${order.number}</Номер><ХозОперация>Заказ товара</ХозОперация><Сумма>10.00</Сумма><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Оплачен</Наименование><Значение>false</Значение></ЗначениеРеквизита><ЗначениеРеквизита><Наименование>Отменен</Наименование><Значение>true</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Документ></КоммерческаяИнформация>`;
    await c.upload('paid.xml', Buffer.from(file));
    const notes = (await c.import('paid.xml', { pollDelayMs: 100 })).join('\n');
    expect(notes).toMatch(/оплачен на сайте .* как неоплаченный/);
    expect(notes).toMatch(/отменён в 1С, но на сайте он оплачен/);
    expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body).toMatchObject({
      status: 'paid',
      paidAmount: 1000,
    });
  });

  test('amounts in the answers of a windows-1251 base are written in «руб.» (₽ has no windows-1251 code and would arrive as «?»)', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    const c = await session();
    const file = `${head}<Документ><Ид>${order.externalId}</Ид><Номер>${order.number}</Номер><ХозОперация>Заказ товара</ХозОперация><Сумма>3400.00</Сумма></Документ></КоммерческаяИнформация>`;
    await c.upload('total.xml', Buffer.from(file));
    const notes = (await c.import('total.xml', { pollDelayMs: 100 })).join('\n');
    expect(notes).toMatch(/сумма в 1С 3\u00a0400,00\u00a0руб\., на сайте 3\u00a0500,00\u00a0руб\./);
    expect(notes).not.toMatch(/\?|₽/);
  });

  test('never an HTML page or a redirect, whatever the request', async () => {
    for (const path of ['/exchange/1c', '/1c_exchange.php', '/bitrix/admin/1c_exchange.php']) {
      const r = await raw(`${path}?type=sale&mode=init`);
      expectFailure(r, /Сеанс обмена/);
    }
  });
});
