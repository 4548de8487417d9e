import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientBankFileSource } from '../../connectors/client-bank/source';
import type { Alerts } from '../../gateway/flows/alerts/alerts';
import { ingestStatement } from '../../gateway/flows/statements/ingest';
import { matchStoredLines } from '../../gateway/flows/statements/match';
import { openStore, type Store } from '../../gateway/store/db';
import { migrateToLatest, migrations } from '../../gateway/store/migrations';
import { saveStatementMatches, statementLinesIn } from '../../gateway/store/statements';
import { invoicesToMatch } from '../../gateway/flows/statements/invoices-to-match';
import { insertInvoice } from '../../gateway/store/invoices';
import { insertOrder, newOrderRow } from '../../gateway/store/orders';
import { insertPayment, newPaymentRow } from '../../gateway/store/payments';
import { describeWith, freshPgSchema } from '../helpers/services';
import { generateCorpus, type CorpusLine } from '../helpers/statement-corpus';
import type { Alert, StatementLine, StatementSource } from '../../gateway/ports';

/** Incoming bank lines on SQLite and PostgreSQL: each stored once, whatever file brings it again. */

const SHARED = '/work/shared/fixtures/client-bank-exchange';
const OURS = join(__dirname, '../fixtures/client-bank-exchange');
const file = (dir: string, f: string) => new ClientBankFileSource(readFileSync(join(dir, f)));

/** A generated line as a bank gives it: its number is the corpus line's id. */
const asStatementLine = (l: CorpusLine): StatementLine => ({
  account: '40702810000000000001',
  direction: 'incoming',
  kind: 'Платежное поручение',
  number: l.id,
  date: l.date,
  amount: l.amount,
  bankDate: l.date,
  payer: { name: 'Плательщик', inn: l.payerInn, kpp: l.payerKpp, account: null, bankBik: null, bankName: null },
  receiver: { name: 'ООО Магазин', inn: '7700000001', kpp: null, account: '40702810000000000001', bankBik: null, bankName: null },
  purpose: l.purpose,
  uip: l.uip,
});

function suite(open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await open());
    await migrateToLatest(store.db);
  });
  afterEach(() => cleanup());

  const all = () => store.db.selectFrom('statement_lines').selectAll().orderBy('number').execute();

  test('a statement file stores its incoming lines; the same file again doubles nothing', async () => {
    const first = await ingestStatement({ store }, 'shop', file(SHARED, 'bx-shef_vypiska-1c.txt'));
    expect(first).toEqual({ seen: 2, stored: 2, cursor: '2026-06-10' });
    const rows = await all();
    expect(rows.map((r) => [r.number, r.doc_date, r.amount, r.payer_inn, r.payer_account, r.match_state])).toEqual([
      ['11', '2026-06-05', 2_000_000, '7700000003', '40702810000000000888', 'new'],
      ['12', '2026-06-06', 2_500_000, '7700000004', '40702810000000000777', 'new'],
    ]);
    expect(rows[1].purpose).toBe('Оплата по счёту 305 за услуги');

    expect(await ingestStatement({ store }, 'shop', file(SHARED, 'bx-shef_vypiska-1c.txt'))).toEqual({
      seen: 2,
      stored: 0,
      cursor: '2026-06-10',
    });
    // the same statement in another encoding is the same lines
    expect((await ingestStatement({ store }, 'shop', file(OURS, 'dos-cp866_vypiska.txt'))).stored).toBe(0);
    expect(await all()).toEqual(rows);
    // another organization keeps its own
    expect((await ingestStatement({ store }, 'other', file(SHARED, 'bx-shef_vypiska-1c.txt'))).stored).toBe(2);
  });

  test('a refused file stores nothing, and leaves what was stored as it was', async () => {
    await ingestStatement({ store }, 'shop', file(SHARED, 'kilylabs_one_day.txt'));
    const before = await all();
    expect(before).toHaveLength(3);
    for (const bad of ['bad_negative_amount.txt', 'bad_no_end.txt', 'bad_koi8r.txt', 'bad_cut_in_document.txt'])
      await expect(ingestStatement({ store }, 'shop', file(OURS, bad))).rejects.toMatchObject({ name: 'StatementFormatError' });
    expect(await all()).toEqual(before);
  });

  test('matching the stored lines: the invoice named is paid, the rest waits in review with an alert, in one go', async () => {
    await ingestStatement({ store }, 'shop', file(SHARED, 'bx-shef_vypiska-1c.txt'));
    const raised: Alert[] = [];
    const alerts = { raise: async (_trx: unknown, a: Alert) => void raised.push(a) } as unknown as Alerts;
    const invoice = {
      id: 'inv-305',
      number: 'СЧ00-000305',
      date: '2026-06-01',
      orderNumber: null,
      buyerInn: '7700000004',
      buyerKpp: null,
      amountDue: 3_000_000,
      dueDate: '2026-06-30',
      uip: null,
    };
    expect(await matchStoredLines({ store, alerts }, 'shop', { invoices: { open: [invoice], annulled: [] } })).toEqual({
      lines: 2,
      matched: 0,
      partial: 1,
      overpaid: 0,
      review: 1,
    });
    const rows = await statementLinesIn(store.db, 'shop', ['partial', 'review']);
    expect(rows.map((r) => [r.number, r.match_state, r.advance])).toEqual([
      ['11', 'review', 0],
      ['12', 'partial', 0],
    ]);
    expect(JSON.parse(rows[1].allocations!)).toEqual([
      { invoiceId: 'inv-305', number: 'СЧ00-000305', amount: 2_500_000, remaining: 500_000 },
    ]);
    expect(rows[0].match_note).toBe('у плательщика с ИНН 7700000003 нет открытых счетов');
    expect(raised.map((a) => a.title)).toEqual(['Поступления из выписки не сопоставлены со счетами']);
    expect(raised[0].text).toContain('п/п №11 от 2026-06-05 (ООО Клиент)');
    // matched lines are not matched again
    expect(await matchStoredLines({ store, alerts }, 'shop', { invoices: { open: [invoice], annulled: [] } })).toEqual({
      lines: 0,
      matched: 0,
      partial: 0,
      overpaid: 0,
      review: 0,
    });
  });

  test('thousands of lines at once: every one decided and written, each as the corpus knows it', async () => {
    // more lines than matching writes together: the decisions go in several parts of one transaction
    const corpus = generateCorpus(7, { invoices: 9_000, lines: 9_000 });
    const source: StatementSource = {
      name: 'generated',
      incomingSince: async () => ({ lines: corpus.lines.map(asStatementLine), cursor: null }),
    };
    expect((await ingestStatement({ store }, 'shop', source)).stored).toBe(corpus.lines.length);
    const alerts = { raise: async () => undefined } as unknown as Alerts;
    const run = await matchStoredLines({ store, alerts }, 'shop', { invoices: { open: corpus.invoices, annulled: [] } });
    expect(run.lines).toBe(corpus.lines.length);

    const byNumber = new Map(corpus.lines.map((l) => [l.id, l]));
    const rows = await statementLinesIn(store.db, 'shop', ['new', 'matched', 'partial', 'overpaid', 'review']);
    expect(rows).toHaveLength(corpus.lines.length);
    const wrong = rows.filter((r) => {
      const want = byNumber.get(r.number)!.expected;
      if (want.kind === 'review') return r.match_state !== 'review';
      if (r.match_state !== want.outcome || r.advance !== want.advance) return true;
      const got = (JSON.parse(r.allocations!) as { invoiceId: string; amount: number }[]).map((a) => `${a.invoiceId}:${a.amount}`);
      return (
        got.sort().join() !==
        want.allocations
          .map((a) => `${a.invoiceId}:${a.amount}`)
          .sort()
          .join()
      );
    });
    expect(wrong.map((r) => r.number)).toEqual([]);
    expect(rows.filter((r) => r.match_state === 'review').length).toBe(run.review);
  }, 60_000);

  test("the invoices to match: one organization's, still pending, what is left on them, the buyer from the order", async () => {
    const at = '2026-06-01T09:00:00.000Z';
    const add = async (
      k: number,
      o: {
        org?: string;
        customer: object;
        status?: 'pending' | 'paid';
        paid?: number;
        due?: string | null;
        afterShipment?: number;
        shippedAt?: string;
      },
    ) => {
      const order = {
        ...newOrderRow({
          organization_id: o.org ?? 'shop',
          external_id: `site-${k}`,
          number: `ЗК-${k}`,
          source: 'site',
          customer: JSON.stringify(o.customer),
          items: JSON.stringify([{ sku: 'A-1', name: 'Товар', price: 100_000, quantity: 1, amount: 100_000, vat: 'vat22' }]),
          total: 100_000,
          payment_terms: JSON.stringify({ type: 'prepay' }),
          request_hash: 'h',
          onec_ref: null,
        }),
        shipped_at: o.shippedAt ?? null,
      };
      await insertOrder(store.db, order);
      const payment = newPaymentRow(
        {
          id: `00000000-0000-7000-8000-00000000000${k}`,
          order_id: order.id,
          organization_id: o.org ?? 'shop',
          method: 'invoice',
          provider: 'bank_transfer',
          amount: 100_000 - (o.paid ?? 0),
          return_url: null,
          fail_url: null,
        },
        at,
      );
      await insertPayment(store.db, { ...payment, status: o.status ?? 'pending' });
      await insertInvoice(store.db, {
        id: `10000000-0000-7000-8000-00000000000${k}`,
        organization_id: o.org ?? 'shop',
        order_id: order.id,
        payment_id: payment.id,
        year: 2026,
        seq: k,
        number: `СЧ-${k}`,
        date: '2026-06-01',
        due_date: o.due === undefined ? '2026-06-06' : o.due,
        due_days_after_shipment: o.afterShipment ?? null,
        amount: 100_000,
        token: `token-${k}`,
        bank_number: null,
        bank_date: null,
        created_at: at,
        paid: o.paid ?? 0,
        uip: k === 1 ? '0000000001000000000000001' : null,
      });
    };
    await add(1, { customer: { type: 'legal', name: 'ООО Вектор', inn: '7700000004', kpp: '770001001' } });
    await add(2, { customer: { type: 'individual', name: 'Иван Петров', email: 'ivan@example.ru' }, paid: 40_000 });
    await add(3, { customer: { type: 'legal', name: 'ООО Сервис', inn: '7700000005' }, due: null, afterShipment: 10 });
    await add(4, {
      customer: { type: 'legal', name: 'ООО Склад', inn: '7700000006' },
      due: null,
      afterShipment: 5,
      shippedAt: '2026-06-02T22:30:00.000Z',
    });
    await add(5, { customer: { type: 'legal', name: 'ООО Вектор', inn: '7700000004' }, status: 'paid' });
    await add(6, { org: 'other', customer: { type: 'legal', name: 'ООО Вектор', inn: '7700000004' } });
    expect((await invoicesToMatch({ store }, 'shop')).open).toEqual([
      expect.objectContaining({
        id: '10000000-0000-7000-8000-000000000001',
        number: 'СЧ-1',
        date: '2026-06-01',
        orderNumber: 'ЗК-1',
        buyerInn: '7700000004',
        buyerKpp: '770001001',
        amountDue: 100_000,
        dueDate: '2026-06-06',
        uip: '0000000001000000000000001',
      }),
      expect.objectContaining({ number: 'СЧ-2', buyerInn: null, buyerKpp: null, amountDue: 60_000, uip: null }),
      // a deferral counting from a shipment still to come is due last; from one made, N days after its day in Moscow
      expect.objectContaining({ number: 'СЧ-3', buyerInn: '7700000005', buyerKpp: null, dueDate: '9999-12-31' }),
      expect.objectContaining({ number: 'СЧ-4', dueDate: '2026-06-08' }),
    ]);
  });

  test("invoices stored before their order's number and buyer were kept on them get both from the migration", async () => {
    const m = migrations['0014_invoice_match_fields'];
    await m.down!(store.db);
    const at = '2026-06-01T09:00:00.000Z';
    for (const [k, customer] of [
      [1, { type: 'legal', name: 'ООО Вектор', inn: '7700000004', kpp: '770001001' }],
      [2, { type: 'individual', name: 'Иван Петров', email: 'ivan@example.ru' }],
    ] as const) {
      const order = newOrderRow({
        organization_id: 'shop',
        external_id: `site-${k}`,
        number: `ЗК-${k}`,
        source: 'site',
        customer: JSON.stringify(customer),
        items: '[]',
        total: 100_000,
        payment_terms: JSON.stringify({ type: 'prepay' }),
        request_hash: 'h',
        onec_ref: null,
      });
      await insertOrder(store.db, order);
      const payment = newPaymentRow(
        {
          id: `00000000-0000-7000-8000-00000000000${k}`,
          order_id: order.id,
          organization_id: 'shop',
          method: 'invoice',
          provider: 'bank_transfer',
          amount: 100_000,
          return_url: null,
          fail_url: null,
        },
        at,
      );
      await insertPayment(store.db, payment);
      // as an invoice was stored before
      await store.db
        .insertInto('invoices')
        .values({
          id: `10000000-0000-7000-8000-00000000000${k}`,
          organization_id: 'shop',
          order_id: order.id,
          payment_id: payment.id,
          year: 2026,
          seq: k,
          number: `СЧ-${k}`,
          date: '2026-06-01',
          due_date: '2026-06-06',
          due_days_after_shipment: null,
          amount: 100_000,
          token: `token-${k}`,
          bank_number: null,
          bank_date: null,
          created_at: at,
          paid: 0,
          uip: null,
        })
        .execute();
    }
    await m.up(store.db);
    expect((await invoicesToMatch({ store }, 'shop')).open).toEqual([
      expect.objectContaining({ number: 'СЧ-1', orderNumber: 'ЗК-1', buyerInn: '7700000004', buyerKpp: '770001001' }),
      expect.objectContaining({ number: 'СЧ-2', orderNumber: 'ЗК-2', buyerInn: null, buyerKpp: null }),
    ]);
  });

  test('what matching decided is written back line by line', async () => {
    await ingestStatement({ store }, 'shop', file(SHARED, 'bx-shef_vypiska-1c.txt'));
    const [a, b] = await statementLinesIn(store.db, 'shop');
    await saveStatementMatches(store.db, store.dialect, [
      { id: a.id, match_state: 'review', match_note: 'ни один счёт не подходит', allocations: null, advance: 0, flags: null },
      {
        id: b.id,
        match_state: 'overpaid',
        match_note: null,
        allocations: '[{"invoice":"305","amount":2000000}]',
        advance: 500_000,
        flags: '["overpayment"]',
      },
    ]);
    expect(await statementLinesIn(store.db, 'shop')).toEqual([]);
    const after = await statementLinesIn(store.db, 'shop', ['review', 'overpaid']);
    expect(after.map((r) => [r.number, r.match_state, r.match_note, r.allocations, r.advance, r.flags])).toEqual([
      ['11', 'review', 'ни один счёт не подходит', null, 0, null],
      ['12', 'overpaid', null, '[{"invoice":"305","amount":2000000}]', 500_000, '["overpayment"]'],
    ]);
  });
}

describe('statement lines on SQLite', () =>
  suite(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statement-store-'));
    const store = await openStore(`sqlite:${join(dir, 's.db')}`);
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }));

describeWith('postgres', 'statement lines on PostgreSQL', () =>
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
