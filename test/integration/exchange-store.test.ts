import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../gateway/store/db';
import { exportMark, markExported, ordersToExport, setExportMark, updateOrderFields } from '../../gateway/store/exchange';
import { migrateToLatest } from '../../gateway/store/migrations';
import { insertInvoice } from '../../gateway/store/invoices';
import { insertOrder, newOrderRow } from '../../gateway/store/orders';
import { insertPayment, newPaymentRow } from '../../gateway/store/payments';
import type { OrderRow } from '../../gateway/store/schema';
import { describeWith, freshPgSchema } from '../helpers/services';

/** The exchange's export marks, per 1C base, on SQLite and PostgreSQL (the queries the query flow relies on). */

function order(number: string, source: 'site' | 'onec' = 'site'): OrderRow {
  return newOrderRow({
    organization_id: 'shop',
    external_id: `ext-${number}`,
    number,
    source,
    customer: JSON.stringify({ type: 'individual', name: 'Иван Петров' }),
    items: '[]',
    total: 10000,
    payment_terms: JSON.stringify({ type: 'prepay' }),
    request_hash: 'hash',
    onec_ref: null,
  });
}

function suite(open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await open());
    await migrateToLatest(store.db);
  });
  afterEach(() => cleanup());

  const numbers = async (base: string) => (await ordersToExport(store.db, base, ['shop'])).map((o) => o.number);

  test('each base has its own marks; a change after a mark sends the order again; orders from 1C never go', async () => {
    const a = order('1001');
    const b = order('1002');
    await insertOrder(store.db, a);
    await insertOrder(store.db, b);
    await insertOrder(store.db, order('ЗК-1', 'onec'));
    expect(await numbers('ut')).toEqual(['1001', '1002']);
    await markExported(store.db, 'ut', [
      [a.id, a.updated_at],
      [b.id, b.updated_at],
    ]);
    expect(await numbers('ut')).toEqual([]);
    expect(await numbers('unf')).toEqual(['1001', '1002']);
    expect(await exportMark(store.db, 'ut', a)).toBe(a.updated_at);
    expect(await exportMark(store.db, 'unf', a)).toBeNull();

    await new Promise((r) => setTimeout(r, 5));
    const changed = await updateOrderFields(store.db, a.id, { onec_status_text: 'Отгружен' });
    expect(await numbers('ut')).toEqual(['1001']);
    // marking it again (the same base) updates its row instead of adding one
    await setExportMark(store.db, 'ut', a.id, changed);
    expect(await numbers('ut')).toEqual([]);
    expect(
      Number(
        (
          await store.db
            .selectFrom('exchange_exports')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
    ).toBe(2);
  });

  test("an order's number or buyer changed: its invoice keeps the new ones, as statement matching reads them", async () => {
    const o = order('1003');
    await insertOrder(store.db, o);
    const payment = newPaymentRow(
      {
        id: '00000000-0000-7000-8000-000000000001',
        order_id: o.id,
        organization_id: 'shop',
        method: 'invoice',
        provider: 'bank_transfer',
        amount: 10000,
        return_url: null,
        fail_url: null,
      },
      '2026-06-01T09:00:00.000Z',
    );
    await insertPayment(store.db, payment);
    await insertInvoice(store.db, {
      id: '10000000-0000-7000-8000-000000000001',
      organization_id: 'shop',
      order_id: o.id,
      payment_id: payment.id,
      year: 2026,
      seq: 1,
      number: 'СЧ-1',
      date: '2026-06-01',
      due_date: '2026-06-06',
      due_days_after_shipment: null,
      amount: 10000,
      token: 'token-1',
      bank_number: null,
      bank_date: null,
      created_at: '2026-06-01T09:00:00.000Z',
      paid: 0,
      uip: null,
    });
    const kept = () => store.db.selectFrom('invoices').select(['order_number', 'buyer_inn', 'buyer_kpp']).executeTakeFirstOrThrow();
    expect(await kept()).toEqual({ order_number: '1003', buyer_inn: null, buyer_kpp: null });
    await updateOrderFields(store.db, o.id, {
      number: '1003-A',
      customer: JSON.stringify({ type: 'legal', name: 'ООО Вектор', inn: '7700000004', kpp: '770001001' }),
    });
    expect(await kept()).toEqual({ order_number: '1003-A', buyer_inn: '7700000004', buyer_kpp: '770001001' });
    // other fields leave the invoice alone
    await updateOrderFields(store.db, o.id, { onec_status_text: 'Отгружен' });
    expect(await kept()).toEqual({ order_number: '1003-A', buyer_inn: '7700000004', buyer_kpp: '770001001' });
  });

  test('an order marked before marks were kept per base keeps that mark for a base with none of its own', async () => {
    const a = order('1003');
    await insertOrder(store.db, a);
    await store.db.updateTable('orders').set({ exported_at: a.updated_at }).where('id', '=', a.id).execute();
    expect(await numbers('ut')).toEqual([]);
    expect(await exportMark(store.db, 'ut', { ...a, exported_at: a.updated_at })).toBe(a.updated_at);
  });
}

describe('exchange marks on SQLite', () =>
  suite(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exchange-store-'));
    const store = await openStore(`sqlite:${join(dir, 'x.db')}`);
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }));

describeWith('postgres', 'exchange marks on PostgreSQL', () =>
  suite(async () => {
    const schema = await freshPgSchema();
    const store = await openStore(schema.url);
    return {
      store,
      cleanup: async () => {
        await store.close();
        await schema.drop();
      },
    };
  }),
);
