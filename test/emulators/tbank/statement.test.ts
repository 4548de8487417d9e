import { TbankStatementSource, type TbankStatementSourceConfig } from '../../../connectors/tbank/statement';
import { ExternalError } from '../../../gateway/ports';
import { TbankEmulator } from './server';

/** The emulated T-Business statement (GET /openapi/api/v1/statement), and the gateway's source reading it. */

const ACCOUNT = '40702810110000012345';
const OTHER = '40702810210000054321';
const TOKEN = 'statement-token-1';
const HOLDER = { name: 'ООО «Ромашка»', inn: '7707083893', kpp: '773601001' };
const PAYER = { name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001', account: '40702810100000000777', bic: '044525593' };

let bank: TbankEmulator;
const sources: TbankStatementSource[] = [];

beforeAll(async () => {
  bank = new TbankEmulator([{ terminalKey: 'Shop', password: 'shop-password', businessToken: 'acquiring-token' }], {}, [
    { accountNumber: ACCOUNT, token: TOKEN, holder: HOLDER },
    { accountNumber: OTHER, token: 'another-client-token', holder: { name: 'ООО «Лютик»', inn: '7736207543' } },
  ]);
  await bank.start();
});
afterAll(async () => {
  for (const s of sources) await s.close();
  await bank.stop();
});
beforeEach(() => {
  bank.statement.entries.length = 0;
  bank.statement.requests.length = 0;
  bank.statement.resetRate();
  Object.assign(bank.knobs, { statementDown: false, statementFailNext: 0, statementRequestsPerSecond: 20 });
});

function source(over: Partial<TbankStatementSourceConfig> = {}): TbankStatementSource {
  const s = new TbankStatementSource({
    baseUrl: bank.operationsUrl,
    token: TOKEN,
    accountNumber: ACCOUNT,
    timeoutMs: 5000,
    overlapHours: 96,
    lookbackDays: 7,
    pageSize: 1000,
    rateLimitBackoffMs: 50,
    ...over,
  });
  sources.push(s);
  return s;
}

const get = (query: string, token: string | null = TOKEN) =>
  fetch(`${bank.operationsUrl}api/v1/statement?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const from = () => new Date(Date.now() - 86_400_000).toISOString();

describe('GET /openapi/api/v1/statement', () => {
  test('auth: no token or an unknown one 401, a token of another client 403; the error is the API’s shape', async () => {
    for (const token of [null, 'guessed']) {
      const r = await get(`accountNumber=${ACCOUNT}&from=${from()}`, token);
      expect(r.status).toBe(401);
      expect(await r.json()).toEqual({ errorId: expect.any(String), errorCode: 'UNAUTHORIZED', errorMessage: expect.any(String) });
    }
    expect((await get(`accountNumber=${ACCOUNT}&from=${from()}`, 'another-client-token')).status).toBe(403);
    expect((await get(`accountNumber=${ACCOUNT}&from=${from()}`, 'acquiring-token')).status).toBe(403);
  });

  test('the parameters: 20-digit known account, from a zoned date-time, limit up to 5000, a readable cursor', async () => {
    expect((await get(`accountNumber=4070281011&from=${from()}`)).status).toBe(400);
    expect((await get(`accountNumber=40702810110000099999&from=${from()}`)).status).toBe(404);
    expect((await get(`accountNumber=${ACCOUNT}`)).status).toBe(400);
    expect((await get(`accountNumber=${ACCOUNT}&from=2026-01-01`)).status).toBe(400);
    expect((await get(`accountNumber=${ACCOUNT}&from=2026-01-01T00:00:00`)).status).toBe(400);
    expect((await get(`accountNumber=${ACCOUNT}&from=${from()}&limit=5001`)).status).toBe(400);
    expect((await get(`accountNumber=${ACCOUNT}&from=${from()}&cursor=nonsense`)).status).toBe(400);
    const ok = await get(`accountNumber=${ACCOUNT}&from=${from()}&to=${new Date().toISOString()}&limit=5000`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ operations: [] });
  });

  test('operations in UTC, rubles, oldest first; pages joined by nextCursor; the last page has none', async () => {
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 5; i++) bank.statement.add({ amount: 100_050 + i, purpose: `п ${i}`, counterparty: PAYER, at: t0 + i * 1000 });
    const pages: any[] = [];
    let cursor = '';
    for (;;) {
      const r = await get(`accountNumber=${ACCOUNT}&from=${from()}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const body = (await r.json()) as any;
      pages.push(body);
      if (!body.nextCursor) break;
      cursor = body.nextCursor;
    }
    expect(pages.map((p) => p.operations.length)).toEqual([2, 2, 1]);
    const ops = pages.flatMap((p) => p.operations);
    expect(ops.map((o: any) => o.payPurpose)).toEqual(['п 0', 'п 1', 'п 2', 'п 3', 'п 4']);
    expect(ops[0]).toMatchObject({ typeOfOperation: 'Credit', accountAmount: 1000.5, operationStatus: 'Transaction' });
    expect(ops[0].operationDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ops[0].docDate).toMatch(/T21:00:00Z$/);
  });

  test('20 requests a second per token, the 21st 429 with Retry-After', async () => {
    const all = await Promise.all(Array.from({ length: 21 }, () => get(`accountNumber=${ACCOUNT}&from=${from()}`)));
    const statuses = all.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    const limited = all.find((r) => r.status === 429)!;
    expect(limited.headers.get('retry-after')).toBe('1');
  });
});

describe('the gateway’s source (tbank-statement) against it', () => {
  test('every page read; only the posted credits leave, in kopecks; the cursor is the newest operation time seen', async () => {
    const t0 = Date.now() - 3_600_000;
    bank.statement.add({ amount: 350_000, purpose: 'Оплата по счету СЧ-1', counterparty: PAYER, at: t0 });
    bank.statement.add({ type: 'Debit', amount: 10_000, purpose: 'Комиссия', counterparty: { name: 'АО «ТБанк»' }, at: t0 + 1000 });
    bank.statement.add({ amount: 20_000, purpose: 'Холд', counterparty: PAYER, at: t0 + 2000, status: 'Authorization' });
    for (let i = 0; i < 4; i++) bank.statement.add({ amount: 1_00 + i, purpose: `мелочь ${i}`, counterparty: PAYER, at: t0 + 3000 + i });
    const debitLast = bank.statement.add({ type: 'Debit', amount: 500, purpose: 'Последняя', at: t0 + 10_000 });
    const batch = await source({ pageSize: 2 }).incomingSince(null);
    expect(batch.lines.map((l) => l.amount)).toEqual([350_000, 100, 101, 102, 103]);
    expect(batch.lines[0]).toMatchObject({
      direction: 'incoming',
      account: ACCOUNT,
      purpose: 'Оплата по счету СЧ-1',
      payer: { inn: PAYER.inn },
    });
    expect(batch.cursor).toBe(new Date(Date.parse(debitLast.operationDate)).toISOString());
    const asked = bank.statement.requests;
    expect(asked.length).toBe(4);
    expect(asked.every((r) => r.limit === '2' && r.status === 200)).toBe(true);
    expect(asked.slice(1).every((r) => r.cursor !== '')).toBe(true);
  });

  test('the next read starts overlapHours before the watermark', async () => {
    await source({ overlapHours: 2 }).incomingSince('2026-06-01T12:00:00.000Z');
    expect(bank.statement.requests[0].from).toBe('2026-06-01T10:00:00.000Z');
  });

  test('a wrong token: an ExternalError with the Russian hint, not retried', async () => {
    const e = await source({ token: 'revoked' })
      .incomingSince(null)
      .catch((x) => x);
    expect(e).toBeInstanceOf(ExternalError);
    expect(e).toMatchObject({ code: 'http_401', retryable: false });
    expect(e.message).toMatch(/Т-Банк не принял токен T-Business .*Счета и выписки/);
    expect(e.message).not.toContain('revoked');
    const other = await source({ accountNumber: OTHER })
      .incomingSince(null)
      .catch((x) => x);
    expect(other).toMatchObject({ code: 'http_403' });
    expect(other.message).toContain('отказал в доступе');
  });

  test('429 is waited out (Retry-After) and the page asked again', async () => {
    bank.statement.add({ amount: 777, purpose: 'после 429', counterparty: PAYER });
    bank.knobs.statementRequestsPerSecond = 1;
    await get(`accountNumber=${ACCOUNT}&from=${from()}`);
    const t = Date.now();
    const batch = await source().incomingSince(null);
    expect(batch.lines.map((l) => l.amount)).toEqual([777]);
    expect(bank.statement.requests.map((r) => r.status)).toEqual([200, 429, 200]);
    expect(Date.now() - t).toBeGreaterThanOrEqual(900);
  });

  test('a bank outage: a retryable ExternalError', async () => {
    bank.knobs.statementDown = true;
    await expect(source().incomingSince(null)).rejects.toMatchObject({ code: 'http_503', retryable: true });
  });
});
