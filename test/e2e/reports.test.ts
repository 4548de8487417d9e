import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { openStore } from '../../gateway/store/db';
import { migrateToLatest } from '../../gateway/store/migrations';
import { ADMIN_AUTH, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';
import { seedReportsStore } from '../unit/flows/reports/seed';

/** Reports through the admin API: the contract, and the same numbers as JSON, CSV and XLSX. */

const NOVEMBER = 'from=2026-11-01&to=2026-11-30';
const REPORTS = ['payments', 'reconciliation', 'receipts', 'ageing', 'review'] as const;

interface Column {
  key: string;
  title: string;
  type: 'text' | 'money' | 'count' | 'date';
}

async function get(h: Harness, path: string, headers: Record<string, string> = ADMIN_AUTH) {
  const res = await fetch(`${h.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** CSV as Russian Excel writes it: `;`, CRLF, cells quoted when they hold `;`, `"` or a line break. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') ((cell += '"'), i++);
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ';') (row.push(cell), (cell = ''));
    else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

const ruDate = (iso: string) => iso.split('-').reverse().join('.');

describe('reports API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await seedReportsStore(h.gateway.store.db);
  });
  afterAll(() => h.close());

  test('admin only: no key is 401, the site key is 401; an unknown report is 404', async () => {
    expect((await get(h, `/api/v1/admin/reports/payments?${NOVEMBER}`, {})).status).toBe(401);
    expect((await get(h, `/api/v1/admin/reports/payments?${NOVEMBER}`, SITE_AUTH)).status).toBe(401);
    const missing = await get(h, `/api/v1/admin/reports/profits?${NOVEMBER}`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.bytes.toString())).toEqual({ error: { code: 'not_found', message: 'report not found', details: [] } });
  });

  test.each([
    ['from=2026-11-31&to=2026-12-01', 'bad_date'],
    ['from=2026-11-10&to=2026-11-01', 'bad_period'],
    ['from=2025-01-01&to=2026-11-30', 'period_too_long'],
    ['asOf=yesterday', 'bad_date'],
    ['format=pdf', 'bad_query'],
    ['organization=nobody', 'unknown_organization'],
  ])('bad input %s: 400 %s, and nothing changes', async (q, code) => {
    const before = await h.gateway.store.db
      .selectFrom('payments')
      .select((e) => e.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const res = await get(h, `/api/v1/admin/reports/payments?${q}`);
    expect(res.status).toBe(400);
    const body = JSON.parse(res.bytes.toString());
    expect(body.error).toMatchObject({ code, message: expect.any(String), details: expect.any(Array) });
    const after = await h.gateway.store.db
      .selectFrom('payments')
      .select((e) => e.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  test('JSON: the heading, columns, rows in kopecks and totals', async () => {
    const res = await get(h, `/api/v1/admin/reports/payments?${NOVEMBER}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(res.bytes.toString());
    expect(body).toMatchObject({ report: 'payments', title: 'Реестр платежей', from: '2026-11-01', to: '2026-11-30' });
    expect(body.columns[5]).toEqual({ key: 'paid', title: 'Оплачено', type: 'money' });
    expect(body.rows).toHaveLength(10);
    expect(body.rows[0]).toMatchObject({ date: '2026-11-02', paid: 100_000, fee: 2_500 });
    expect(body.totals).toMatchObject({ count: 8, paid: 650_000, refunded: 35_000, net: 615_000, fee: 3_750 });
  });

  test.each(REPORTS)('%s: CSV and XLSX downloads carry the same numbers as JSON', async (name) => {
    const q = name === 'ageing' ? 'asOf=2026-11-30' : NOVEMBER;
    const json = JSON.parse((await get(h, `/api/v1/admin/reports/${name}?${q}`)).bytes.toString()) as {
      from: string;
      to: string;
      columns: Column[];
      rows: Record<string, unknown>[];
      totals?: Record<string, unknown>;
    };
    const lines = [...json.rows, ...(json.totals ? [json.totals] : [])];
    expect(json.rows.length).toBeGreaterThan(0);

    const csv = await get(h, `/api/v1/admin/reports/${name}?${q}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="${name}-${json.from}-${json.to}.csv"`);
    expect([...csv.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = csv.bytes.subarray(3).toString('utf8');
    expect(text.endsWith('\r\n')).toBe(true);
    const table = parseCsv(text);
    expect(table[0]).toEqual(json.columns.map((c) => c.title));
    expect(table).toHaveLength(lines.length + 1);

    const xlsx = await get(h, `/api/v1/admin/reports/${name}?${q}&format=xlsx`);
    expect(xlsx.status).toBe(200);
    expect(xlsx.headers.get('content-disposition')).toBe(`attachment; filename="${name}-${json.from}-${json.to}.xlsx"`);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.bytes as unknown as ArrayBuffer);
    const ws = wb.worksheets[0];
    expect(ws.getRow(1).values).toEqual([undefined, ...json.columns.map((c) => c.title)]);
    expect(ws.rowCount).toBe(lines.length + 1);

    lines.forEach((line, i) => {
      json.columns.forEach((c, j) => {
        const v = line[c.key];
        const cell = table[i + 1][j];
        const x = ws.getRow(i + 2).getCell(j + 1);
        if (v === null || v === undefined || v === '') {
          expect(cell).toBe('');
          expect(x.value ?? null).toBeNull();
        } else if (c.type === 'money') {
          expect(Math.round(Number(cell.replace(',', '.')) * 100)).toBe(v);
          expect(cell).toMatch(/^-?\d+,\d\d$/);
          expect(typeof x.value).toBe('number');
          expect(Math.round((x.value as number) * 100)).toBe(v);
          expect(x.numFmt).toBe('#,##0.00');
        } else if (c.type === 'count') {
          expect(Number(cell)).toBe(v);
          expect(x.value).toBe(v);
        } else if (c.type === 'date') {
          expect(cell).toBe(ruDate(v as string));
          expect((x.value as Date).toISOString().slice(0, 10)).toBe(v);
        } else {
          expect(cell).toBe(String(v));
          expect(x.value).toBe(v);
        }
      });
    });
  });

  test('a year of a store is read a page at a time: every payment once, across pages and ties', async () => {
    // 4,500 more payments paid at the same instant: three pages of the store, the pages cut inside one timestamp
    const db = h.gateway.store.db;
    const ids = Array.from({ length: 4_500 }, (_, i) => `bulk-${String(i).padStart(5, '0')}`);
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const at = '2026-06-15T12:00:00.000Z';
      await db
        .insertInto('orders')
        .values(
          chunk.map((id) => ({
            id: `o-${id}`,
            organization_id: 'bulk',
            customer_inn: null,
            external_id: id,
            number: id,
            source: 'site' as const,
            customer: '{"type":"individual","name":"Покупатель"}',
            items: '[]',
            total: 1_000,
            currency: 'RUB',
            payment_terms: '{"type":"prepay"}',
            status: 'paid' as const,
            paid_amount: 1_000,
            refunded_amount: 0,
            request_hash: 'h',
            onec_ref: null,
            pay_token: null,
            exported_at: null,
            onec_number: null,
            onec_status_text: null,
            onec_paid_number: null,
            onec_paid_at: null,
            shipped_at: null,
            onec_shipment_number: null,
            cancelled_at: null,
            cancel_reason: null,
            created_at: at,
            updated_at: at,
          })),
        )
        .execute();
      await db
        .insertInto('payments')
        .values(
          chunk.map((id) => ({
            id,
            order_id: `o-${id}`,
            organization_id: 'bulk',
            method: 'card',
            provider: 'sber',
            amount: 1_000,
            status: 'paid' as const,
            status_reason: null,
            refunded_amount: 0,
            paid_at: at,
            return_url: null,
            fail_url: null,
            action: null,
            onec_status: 'not_configured' as const,
            onec_document: null,
            onec_number: null,
            onec_error: null,
            created_at: at,
            updated_at: at,
          })),
        )
        .execute();
    }
    const res = await get(h, `/api/v1/admin/reports/receipts?from=2025-12-01&to=2026-11-30&format=csv`);
    expect(res.status).toBe(200);
    const table = parseCsv(res.bytes.subarray(3).toString('utf8'));
    // the heading, the 10 lines of the seeded payments of the year (p9 falls on 1 December), the bulk, the totals
    expect(table).toHaveLength(1 + 10 + 4_500 + 1);
    const bulk = table.map((r) => r[3]).filter((id) => id.startsWith('bulk-'));
    expect(new Set(bulk).size).toBe(4_500);
    expect(table[table.length - 1][5]).toBe('52100,00'); // 7 100,00 ₽ seeded (with p8) + 4 500 × 10,00 ₽
  });
});

describe('reports.databaseUrl', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-replica-'));
    const replica = await openStore(`sqlite:${dir}/replica.db`);
    await migrateToLatest(replica.db);
    await seedReportsStore(replica.db);
    await replica.close();
    h = await startHarness({ overrides: (raw) => (raw.reports = { databaseUrl: `sqlite:${dir}/replica.db` }) });
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('reports read the reporting database, not the main store', async () => {
    expect(await h.gateway.store.db.selectFrom('payments').select('id').where('id', '=', 'p1').executeTakeFirst()).toBeUndefined();
    const res = await get(h, `/api/v1/admin/reports/payments?${NOVEMBER}`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.bytes.toString()).totals).toMatchObject({ count: 8, paid: 650_000 });
  });

  test('the reporting database is opened read-only', async () => {
    const replica = h.gateway.deps.reportsStore!.db;
    // better-sqlite3's native part keeps the error class of the first test file that loaded it in this
    // worker, so its errors are not `instanceof Error` here: the refusal is read from its message
    const refused = await replica
      .insertInto('sync_state')
      .values({ key: 'k', value: 'v', updated_at: '2026-12-01T00:00:00.000Z' })
      .execute()
      .then(
        () => 'written',
        (e: { message?: string }) => e.message,
      );
    expect(refused).toMatch(/readonly/i);
    expect(await replica.selectFrom('sync_state').select('key').where('key', '=', 'k').executeTakeFirst()).toBeUndefined();
  });
});
