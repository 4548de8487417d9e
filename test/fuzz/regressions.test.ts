import iconv from 'iconv-lite';
import yazl from 'yazl';
import { orderBody, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';
import { SANDBOX } from '../sandbox/config';
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
  const before = snapshotStore(h.gateway.store);
  const refused = await h.call(
    'POST',
    `/api/v1/orders/${order.body.id}/payments`,
    { method: 'sbp', provider: 'no-such-bank' },
    { ...SITE_AUTH, 'idempotency-key': 'fix-and-retry' },
  );
  expect(refused.status).toBe(422);
  expect(refused.body.error.code).toBe('provider_not_enabled');
  expect(changedTables(before, snapshotStore(h.gateway.store))).toEqual([]);
  const fixed = await h.call(
    'POST',
    `/api/v1/orders/${order.body.id}/payments`,
    { method: 'card' },
    { ...SITE_AUTH, 'idempotency-key': 'fix-and-retry' },
  );
  expect(fixed.status).toBe(201);
  expect(fixed.body.orderId).toBe(order.body.id);
});

/** One file through 1C's exchange (checkauth, file, import): the answer's lines. */
async function upload(name: string, body: Buffer | string): Promise<string[]> {
  const login = await fetch(`${h.url}/exchange/1c?type=sale&mode=checkauth`, {
    headers: { authorization: `Basic ${Buffer.from(`${SANDBOX.onecUser}:${SANDBOX.onecPassword}`).toString('base64')}` },
  });
  const [, cookie, value] = (await login.text()).split('\n');
  const exchange = async (mode: string, bytes?: Buffer | string) => {
    const res = await fetch(`${h.url}/exchange/1c?type=sale&mode=${mode}&filename=${name}`, {
      method: bytes ? 'POST' : 'GET',
      headers: { cookie: `${cookie}=${value}` },
      body: bytes,
    });
    const charset = /windows-1251/.test(res.headers.get('content-type') ?? '') ? 'win1251' : 'utf8';
    return iconv.decode(Buffer.from(await res.arrayBuffer()), charset).split('\n');
  };
  const sent = await exchange('file', body);
  return sent[0] === 'success' ? exchange('import') : sent;
}

test('a CommerceML order whose «Дата оплаты по 1С» is no date (9999-99-99) is taken, paid as of the document’s date', async () => {
  const order = await h.call('POST', '/api/v1/orders', orderBody({ externalId: 'cml-date', number: 'CML-DATE' }), SITE_AUTH);
  expect(order.status).toBe(201);
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="2026-12-01T10:00:00"><Документ><Ид>cml-date</Ид><Номер>CML-DATE</Номер>
<Дата>2026-12-01</Дата><ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль><Валюта>руб</Валюта><Сумма>3500.00</Сумма>
<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Заказ оплачен</Наименование><Значение>true</Значение></ЗначениеРеквизита>
<ЗначениеРеквизита><Наименование>Дата оплаты по 1С</Наименование><Значение>9999-99-99</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>
</Документ></КоммерческаяИнформация>`;
  expect((await upload('date.xml', xml))[0]).toBe('success');
  const row = await h.gateway.store.db.selectFrom('orders').selectAll().where('external_id', '=', 'cml-date').executeTakeFirstOrThrow();
  expect(row).toMatchObject({ status: 'paid', onec_paid_at: '2026-11-30T21:00:00.000Z' });
});

test('a zip whose central directory is damaged is refused as a damaged archive, in Russian, and changes nothing', async () => {
  const archive = await new Promise<Buffer>((resolve) => {
    const z = new yazl.ZipFile();
    z.addBuffer(Buffer.from('<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация ВерсияСхемы="2.08"/>'), 'orders.xml');
    const chunks: Buffer[] = [];
    z.outputStream.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks)));
    z.end();
  });
  // the central directory's entry loses its signature (PK\x01\x02)
  archive[archive.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 2] = 0xb5;
  const before = snapshotStore(h.gateway.store, ['exchange_sessions', 'exchange_files']);
  const answer = await upload('damaged.zip', archive);
  expect(answer[0]).toBe('failure');
  expect(answer[1]).toMatch(/^Архив повреждён: /);
  expect(changedTables(before, snapshotStore(h.gateway.store, ['exchange_sessions', 'exchange_files']))).toEqual([]);
});
