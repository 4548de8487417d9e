import { ExchangeClient } from '../../connectors/commerceml/exchange-client';
import { eventually, orderBody, SITE_AUTH, type Harness } from './harness';
import { SANDBOX } from '../sandbox/config';

/** What the fiscal tests do again and again: pay an order, ship it over CommerceML, read receipts and alerts. */

export async function newOrder(h: Harness, overrides: Record<string, unknown> = {}) {
  const r = await h.call('POST', '/api/v1/orders', orderBody(overrides), SITE_AUTH);
  if (r.status !== 201) throw new Error(`order: ${r.status} ${r.text}`);
  return r.body;
}

export async function pay(h: Harness, orderId: string, method: 'card' | 'sbp' = 'card') {
  const p = await h.call(
    'POST',
    `/api/v1/orders/${orderId}/payments`,
    { method },
    { ...SITE_AUTH, 'idempotency-key': `pay-${orderId}-${Math.random()}` },
  );
  if (p.status !== 201) throw new Error(`payment: ${p.status} ${p.text}`);
  await h.call('POST', `/sandbox/payments/${p.body.id}/complete`, { outcome: 'paid' });
  await eventually(async () => (await paymentView(h, p.body.id)).status === 'paid', 10_000);
  return p.body as { id: string; amount: number };
}

export async function paymentView(h: Harness, id: string) {
  return (await h.call('GET', `/api/v1/payments/${id}`, undefined, SITE_AUTH)).body;
}

/** The payment's receipts once `n` of them exist and none is on its way any more. */
export async function settledReceipts(h: Harness, paymentId: string, n: number, timeoutMs = 15_000): Promise<any[]> {
  return eventually(
    async () => {
      const r = (await paymentView(h, paymentId)).receipts as any[];
      return r.length === n && r.every((x) => x.status === 'done' || x.status === 'failed') && r;
    },
    timeoutMs,
    100,
  );
}

/** What a user checks on a receipt: operation, kind, status, and per line method, object, VAT; payments; totals. */
export function fields(r: any) {
  return {
    operation: r.operation,
    kind: r.kind,
    status: r.status,
    total: r.total,
    items: r.items.map((i: any) => [i.name, i.paymentMethod, i.paymentObject, i.vat, i.price, i.quantity, i.amount, i.vatAmount]),
    payments: r.payments.map((p: any) => [p.type, p.amount]),
  };
}

/** 1C's "Обмен с сайтом" uploads the order marked shipped (Отгружен, Дата отгрузки по 1С). */
export async function shipOverCommerceML(h: Harness, order: { externalId: string; number: string; total: number }): Promise<string[]> {
  const c = new ExchangeClient({ url: `${h.url}/exchange/1c`, user: SANDBOX.onecUser, password: SANDBOX.onecPassword, timeoutMs: 30_000 });
  await c.checkauth();
  await c.init();
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="2026-12-01T10:00:00">
<Документ><Ид>${order.externalId}</Ид><Номер>${order.number}</Номер><Дата>2026-12-01</Дата><ХозОперация>Заказ товара</ХозОперация><Сумма>${(order.total / 100).toFixed(2)}</Сумма>
<ЗначенияРеквизитов>
<ЗначениеРеквизита><Наименование>Отгружен</Наименование><Значение>true</Значение></ЗначениеРеквизита>
<ЗначениеРеквизита><Наименование>Номер отгрузки по 1С</Наименование><Значение>РТ00-000045</Значение></ЗначениеРеквизита>
</ЗначенияРеквизитов></Документ>
</КоммерческаяИнформация>`;
  const file = `documents___${order.externalId}.xml`;
  await c.upload(file, Buffer.from(xml));
  return c.import(file, { pollDelayMs: 100 });
}

/** Alerts raised so far (their jobs), newest last. */
export async function alerts(h: Harness): Promise<{ title: string; text: string; key: string; severity: string }[]> {
  const rows = await h.gateway.store.db
    .selectFrom('jobs')
    .select(['payload', 'created_at'])
    .where('name', '=', 'alert.send')
    .orderBy('created_at')
    .execute();
  return rows.map((r) => JSON.parse(r.payload).alert);
}

export async function receiptRows(h: Harness) {
  return h.gateway.store.db.selectFrom('receipts').selectAll().orderBy('created_at').orderBy('id').execute();
}
