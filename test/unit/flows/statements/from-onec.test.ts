import { onecStatementSchedule } from '../../../../gateway/flows/statements/from-onec';
import { OneCBases } from '../../../../gateway/flows/registries';
import { OneCError, type StatementSource } from '../../../../gateway/ports';
import { getSyncState } from '../../../../gateway/store/sync-state';
import { flowBench, type FlowBench } from '../fakes';

/** statements.onec: a 1C base whose bank receipts cannot be read alerts support, changes nothing, and is read again later. */

const BANK = { name: 'ПАО Сбербанк', bic: '044525225', account: '40702810938000000001', correspondentAccount: '30101810400000000225' };

let b: FlowBench;
beforeEach(async () => {
  b = await flowBench();
});
afterEach(() => b.close());

test('1C out of reach: a critical alert naming 1C’s reason; nothing stored, the cursor kept', async () => {
  const source: StatementSource = {
    name: 'onec-bank-receipts',
    incomingSince: async () => {
      throw new OneCError('auth', '401 from 1C', 'Пользователь 1С не прошёл проверку: проверьте логин и пароль публикации.');
    },
  };
  b.d.config.organizations[0].payments.invoice = {
    bank: BANK,
    prefix: '',
    payWithinDays: 5,
    uip: false,
    remindDaysBefore: 3,
    statementsFrom1C: { everySeconds: 60, firstDays: 3, overlapDays: 3 },
  };
  (b.d as { onec: OneCBases }).onec = new OneCBases(new Map(), new Map(), new Map([['main', source]]));
  const schedule = onecStatementSchedule(b.d)!;
  expect(schedule).toMatchObject({ name: 'statements.onec', everyMs: 60_000 });
  await schedule.handler();

  const alerts = (await b.jobs('alert.send')).map((j) => JSON.parse(j.payload).alert);
  expect(alerts).toEqual([
    expect.objectContaining({
      severity: 'critical',
      key: 'statement-api-failed:main:документы поступления в 1С',
      title: 'Не удалось прочитать выписку банка',
    }),
  ]);
  expect(alerts[0].text).toContain('Пользователь 1С не прошёл проверку');
  expect(await b.d.store.db.selectFrom('statement_lines').selectAll().execute()).toEqual([]);
  expect(await getSyncState(b.d.store.db, 'statements.onec:main')).toBeUndefined();
});
