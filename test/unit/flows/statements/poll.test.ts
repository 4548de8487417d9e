import { pollStatements, statementPollSchedule } from '../../../../gateway/flows/statements/poll';
import { ExternalError, type StatementLine, type StatementSource } from '../../../../gateway/ports';
import { getSyncState } from '../../../../gateway/store/sync-state';
import { flowBench, type FlowBench } from '../fakes';

/** statements.poll: each organization's statement API read since its watermark, stored once, the watermark kept. */

const ACCOUNT = '40702810610000012345';
const BANK = { name: 'АО «ТБанк»', bic: '044525974', account: ACCOUNT, correspondentAccount: '30101810145250000974' };

function line(n: string, amount: number): StatementLine {
  const party = { name: 'ООО «Вектор»', inn: '7701234560', kpp: null, account: '40702810600000000777', bankBik: null, bankName: null };
  return {
    account: ACCOUNT,
    direction: 'incoming',
    kind: 'Платежное поручение',
    number: n,
    date: '2026-12-01',
    amount,
    bankDate: '2026-12-01',
    payer: party,
    receiver: { ...party, account: ACCOUNT },
    purpose: 'Оплата по договору',
    uip: null,
  };
}

class FakeStatement implements StatementSource {
  readonly name = 'fake-statement';
  readonly asked: (string | null)[] = [];
  fail: Error | null = null;
  constructor(public batches: { lines: StatementLine[]; cursor: string | null }[]) {}
  async incomingSince(cursor: string | null) {
    this.asked.push(cursor);
    if (this.fail) throw this.fail;
    return this.batches.shift() ?? { lines: [], cursor };
  }
}

let b: FlowBench;
beforeEach(async () => {
  b = await flowBench();
});
afterEach(() => b.close());

function withStatementApi(source: StatementSource, everySeconds = 60) {
  b.d.config.organizations[0].payments.invoice = {
    bank: BANK,
    prefix: '',
    payWithinDays: 5,
    uip: false,
    remindDaysBefore: 3,
    statementApi: {
      type: 'tbank',
      baseUrl: 'https://business.tbank.ru/openapi/',
      token: 't',
      accountNumber: ACCOUNT,
      everySeconds,
      overlapHours: 96,
      lookbackDays: 7,
      pageSize: 1000,
      timeoutMs: 1000,
    },
  };
  (b.d as { statementApis: ReadonlyMap<string, StatementSource> }).statementApis = new Map([['main', source]]);
}

test('no statement API configured: no schedule', () => {
  expect(statementPollSchedule(b.d)).toBeNull();
});

test('each read starts at the watermark the previous one left; a line read twice is stored once', async () => {
  const source = new FakeStatement([
    { lines: [line('1', 100_00), line('2', 200_00)], cursor: '2026-12-01T10:00:00.000Z' },
    { lines: [line('2', 200_00), line('3', 300_00)], cursor: '2026-12-01T11:00:00.000Z' },
  ]);
  withStatementApi(source, 30);
  const schedule = statementPollSchedule(b.d)!;
  expect(schedule).toMatchObject({ name: 'statements.poll', everyMs: 30_000 });
  await schedule.handler();
  expect(await getSyncState(b.d.store.db, 'statement:main:fake-statement')).toBe('2026-12-01T10:00:00.000Z');
  const [second] = await pollStatements(b.d);
  expect(second).toMatchObject({ since: '2026-12-01T10:00:00.000Z', seen: 2, stored: 1, cursor: '2026-12-01T11:00:00.000Z' });
  expect(source.asked).toEqual([null, '2026-12-01T10:00:00.000Z']);
  // the stored lines stay for review: nothing here names an invoice
  expect(second).toMatchObject({ matched: 0, paid: 0 });
});

test('a read that fails: the schedule fails naming it, an alert is queued, the watermark stays', async () => {
  const source = new FakeStatement([]);
  source.fail = new ExternalError('tbank', 'Т-Банк не принял токен T-Business (HTTP 401)', { retryable: false, code: 'http_401' });
  withStatementApi(source);
  await expect(statementPollSchedule(b.d)!.handler()).rejects.toThrow('main/fake-statement: Т-Банк не принял токен T-Business (HTTP 401)');
  const alerts = (await b.jobs('alert.send')).map((j) => JSON.parse(j.payload).alert);
  expect(alerts).toEqual([expect.objectContaining({ key: 'statement-api-failed:main:fake-statement', severity: 'critical' })]);
  expect(await getSyncState(b.d.store.db, 'statement:main:fake-statement')).toBeUndefined();
  expect(await b.d.store.db.selectFrom('statement_lines').selectAll().execute()).toEqual([]);
});
