import type { OrganizationConfig } from '../../../../gateway/config';
import { buildReport, reportInput, type ReportName, type Row } from '../../../../gateway/flows/reports';
import { openStore, type Store } from '../../../../gateway/store/db';
import { migrateToLatest } from '../../../../gateway/store/migrations';
import { describeWith, freshPgSchema } from '../../../helpers/services';
import { seedReportsStore } from './seed';

/** Every report over a store seeded by hand, on SQLite and PostgreSQL: each number is the one worked out by hand. */

const orgs = new Map([
  ['shop', { id: 'shop', fiscal: { mode: 'translator' } }],
  ['other', { id: 'other', fiscal: { mode: 'off' } }],
]) as unknown as Map<string, OrganizationConfig>;

const NOW = new Date('2026-12-01T10:00:00.000Z');

async function read(store: Store, name: ReportName, q: Record<string, string>) {
  const report = await buildReport({ orgs, store }, name, reportInput({ orgs }, q, NOW));
  const rows: Row[] = [];
  for await (const r of report.rows) rows.push(r);
  return { report, rows, totals: report.totals() };
}

const pick = (rows: Row[], keys: string[]) => rows.map((r) => keys.map((k) => r[k] ?? null));

function suite(open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ store, cleanup } = await open());
    await migrateToLatest(store.db);
    await seedReportsStore(store.db);
  });
  afterAll(() => cleanup());
  const november = { from: '2026-11-01', to: '2026-11-30' };

  test('payments register: per Moscow day, method, provider and organization; refunds on the day made; fee only where the bank reported one', async () => {
    const { report, rows, totals } = await read(store, 'payments', november);
    expect(report).toMatchObject({ report: 'payments', title: 'Реестр платежей', from: '2026-11-01', to: '2026-11-30' });
    expect(report.columns.map((c) => c.key)).toEqual([
      'date',
      'organization',
      'method',
      'provider',
      'count',
      'paid',
      'refundCount',
      'refunded',
      'net',
      'fee',
    ]);
    expect(pick(rows, ['date', 'organization', 'method', 'provider', 'count', 'paid', 'refundCount', 'refunded', 'net', 'fee'])).toEqual([
      ['2026-11-02', 'shop', 'Карта', 'sber', 1, 100_000, 0, 0, 100_000, 2_500],
      ['2026-11-03', 'shop', 'Карта', 'sber', 1, 50_000, 0, 0, 50_000, 1_250],
      ['2026-11-03', 'shop', 'СБП', 'tbank', 1, 30_000, 0, 0, 30_000, null],
      ['2026-11-04', 'shop', 'Карта', 'sber', 2, 110_000, 0, 0, 110_000, null],
      ['2026-11-05', 'shop', 'Карта', 'sber', 0, 0, 1, 20_000, -20_000, null],
      ['2026-11-06', 'shop', 'Счёт (безнал)', 'bank_transfer', 1, 200_000, 0, 0, 200_000, null],
      ['2026-11-07', 'shop', 'Счёт (безнал)', 'bank_transfer', 1, 150_000, 0, 0, 150_000, null],
      ['2026-11-08', 'shop', 'Карта', 'sber', 0, 0, 1, 5_000, -5_000, null],
      ['2026-11-09', 'shop', 'Карта', 'sber', 0, 0, 1, 10_000, -10_000, null],
      ['2026-11-10', 'other', 'Карта', 'sber', 1, 10_000, 0, 0, 10_000, null],
    ]);
    expect(totals).toMatchObject({ count: 8, paid: 650_000, refundCount: 3, refunded: 35_000, net: 615_000, fee: 3_750 });

    const other = await read(store, 'payments', { ...november, organization: 'other' });
    expect(pick(other.rows, ['date', 'organization', 'paid'])).toEqual([['2026-11-10', 'other', 10_000]]);
    // one day: 3 November in Moscow starts at 21:00 UTC on the 2nd
    const day = await read(store, 'payments', { from: '2026-11-03', to: '2026-11-03' });
    expect(pick(day.rows, ['provider', 'paid'])).toEqual([
      ['sber', 50_000],
      ['tbank', 30_000],
    ]);
  });

  test('reconciliation finds each planted difference and nothing else', async () => {
    const { rows, totals } = await read(store, 'reconciliation', november);
    expect(pick(rows, ['kind', 'paymentId', 'orderNumber', 'gatewayAmount', 'bankAmount', 'date'])).toEqual([
      ['paid_here_not_at_bank', 'p4', 'N-p4', 70_000, null, '2026-11-04'],
      ['amount_differs', 'p5', 'N-p5', 40_000, 39_000, '2026-11-04'],
      ['missing_in_1c', 'p5', 'N-p5', 40_000, 39_000, '2026-11-04'],
      ['paid_here_not_at_bank', 'p7', 'N-p7', 150_000, null, '2026-11-07'],
      ['missing_in_1c', 'p7', 'N-p7', 150_000, null, '2026-11-07'],
      ['at_bank_not_here', 'p11', 'N-p11', null, 25_000, '2026-11-12'],
      ['at_bank_not_here', null, null, null, 33_000, '2026-11-15'],
      ['at_bank_not_here', null, null, null, 45_000, '2026-11-20'],
    ]);
    expect(rows[1].description).toBe('в шлюзе 400,00 ₽, в банке 390,00 ₽, разница 10,00 ₽');
    expect(rows[2].description).toContain('Не заполнен договор');
    expect(rows[7].bankDocument).toBe('п/п № 720 от 2026-11-20');
    expect(totals?.description).toBe(
      'Оплачено в шлюзе, нет в банке: 2; Есть в банке, нет в шлюзе: 3; Нет документа в 1С: 2; Суммы расходятся: 1',
    );
    // the same store for October: P8 agrees (its 1C document is there, the bank has no registry row: listed), the October line not looked at
    const october = await read(store, 'reconciliation', { from: '2026-10-01', to: '2026-10-31' });
    expect(pick(october.rows, ['kind', 'paymentId', 'bankAmount'])).toEqual([
      ['paid_here_not_at_bank', 'p8', null],
      ['at_bank_not_here', null, 8_000],
    ]);
  });

  test('receipts register: every receipt of each payment, and a line for each one missing', async () => {
    const { rows, totals } = await read(store, 'receipts', november);
    expect(pick(rows, ['paymentId', 'receiptKind', 'receiptStatus', 'receiptTotal', 'fd', 'fpd', 'missing', 'note'])).toEqual([
      ['p1', 'Предоплата 100%', 'пробит', 100_000, '101', '2882717411', 0, null],
      ['p2', 'Предоплата 100%', 'пробит', 50_000, '102', '1111111111', 0, null],
      ['p2', 'Возврат прихода', 'пробит', 20_000, '103', '2222222222', 0, null],
      ['p3', null, null, null, null, null, 1, 'нет чека прихода'],
      ['p4', 'Предоплата 100%', 'ошибка', 70_000, null, null, 0, 'ККТ: неверный ИНН'],
      ['p4', null, null, null, null, null, 1, 'чек прихода не пробит: только ошибочный'],
      ['p5', 'Предоплата 100%', 'пробит', 40_000, '105', '5555555555', 0, null],
      ['p5', null, null, null, null, null, 1, 'нет чека возврата на 100,00 ₽ от 2026-11-09'],
      ['p6', null, null, null, null, null, 0, 'чек не требуется'],
      ['p7', null, null, null, null, null, 0, 'чек не требуется'],
      ['p10', null, null, null, null, null, 0, 'чек не требуется'],
    ]);
    expect(rows[0]).toMatchObject({
      date: '2026-11-02',
      orderNumber: 'N-p1',
      amount: 100_000,
      fn: '9999078900012345',
      fiscalDate: '2026-11-02',
    });
    expect(totals).toMatchObject({ amount: 650_000, refunded: 30_000, receiptTotal: 210_000, missing: 3 });
  });

  test('ageing as of a day: open invoices by buyer and days overdue, with the credit limit and what is left of it', async () => {
    const { report, rows, totals } = await read(store, 'ageing', { asOf: '2026-11-30' });
    expect(report).toMatchObject({ from: '2026-11-30', to: '2026-11-30' });
    expect(rows).toEqual([
      {
        organization: 'shop',
        inn: '7700000002',
        name: 'ИП Петров',
        invoices: 2,
        notDue: 10_000,
        overdue1to30: 0,
        overdue31to60: 0,
        overdueOver60: 40_000,
        total: 50_000,
        creditLimit: null,
        creditLeft: null,
        oldestDue: '2026-09-15',
      },
      {
        organization: 'shop',
        inn: '7700000001',
        name: 'ООО Альфа',
        invoices: 3,
        notDue: 100_000,
        overdue1to30: 50_000,
        overdue31to60: 60_000,
        overdueOver60: 0,
        total: 210_000,
        creditLimit: 500_000,
        creditLeft: 290_000,
        oldestDue: '2026-10-01',
      },
    ]);
    expect(totals).toMatchObject({
      invoices: 5,
      notDue: 110_000,
      overdue1to30: 50_000,
      overdue31to60: 60_000,
      overdueOver60: 40_000,
      total: 260_000,
    });
    // on 3 December: a3 was paid the day before, a1 is 2 days overdue, c3 is issued and not due
    const later = await read(store, 'ageing', { asOf: '2026-12-03' });
    expect(pick(later.rows, ['name', 'invoices', 'notDue', 'overdue1to30', 'overdue31to60', 'overdueOver60', 'total'])).toEqual([
      ['ИП Петров', 3, 25_000, 0, 0, 40_000, 65_000],
      ['ООО Альфа', 2, 0, 150_000, 0, 0, 150_000],
    ]);
  });

  test('review list: statement lines and provider operations waiting for support, with their age in days', async () => {
    const { rows, totals } = await read(store, 'review', november);
    expect(pick(rows, ['source', 'date', 'amount', 'state', 'ageDays'])).toEqual([
      ['Выписка банка', '2026-11-20', 45_000, 'на разборе', 11],
      ['Реестр банка: оплата', '2026-11-15', 33_000, 'не найден заказ', 16],
    ]);
    expect(totals).toMatchObject({ amount: 78_000 });
  });
}

describe('reports on SQLite', () => {
  suite(async () => {
    const store = await openStore(':memory:');
    return { store, cleanup: () => store.close() };
  });
});

describeWith('postgres', 'reports on PostgreSQL', () => {
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
  });
});

describe('report periods', () => {
  const input = (q: Record<string, string>) => reportInput({ orgs }, q, NOW);
  test('days are Moscow days: the period runs from 21:00 UTC the day before', () => {
    expect(input({ from: '2026-11-01', to: '2026-11-30' }).range).toEqual({
      from: '2026-10-31T21:00:00.000Z',
      to: '2026-11-30T21:00:00.000Z',
      fromDay: '2026-11-01',
      toDay: '2026-11-30',
    });
    // default: this month so far, and ageing as of today (Moscow: 1 December 13:00)
    expect(input({})).toMatchObject({ range: { fromDay: '2026-12-01', toDay: '2026-12-01' }, asOf: '2026-12-01' });
  });
  test.each([
    [{ from: '2026-11-31' }, 'bad_date', 'from'],
    [{ to: '01.11.2026' }, 'bad_date', 'to'],
    [{ asOf: '2026-13-01' }, 'bad_date', 'asOf'],
    [{ from: '2026-11-02', to: '2026-11-01' }, 'bad_period', 'from'],
    [{ from: '2025-11-01', to: '2026-11-02' }, 'period_too_long', 'to'],
    [{ organization: 'nope' }, 'unknown_organization', 'organization'],
  ])('%j is refused: %s', (q, code, path) => {
    expect(() => input(q)).toThrow(expect.objectContaining({ status: 400, code, details: [expect.objectContaining({ path })] }));
  });
  test('a full year (366 days) is allowed', () => {
    expect(input({ from: '2025-12-01', to: '2026-12-01' }).range.fromDay).toBe('2025-12-01');
  });
});
