import { checkMonitors, monitorKey, resolveDeadJobs, type MonitorState } from '../../../../gateway/flows/monitoring/check';
import { authFailureOf } from '../../../../gateway/flows/alerts/auth-failures';
import { devicesSchedule } from '../../../../gateway/flows/fiscal/delivery';
import { registerHealthKey } from '../../../../gateway/flows/fiscal/health';
import { FiscalRegisters } from '../../../../gateway/flows/registries';
import { listAlerts } from '../../../../gateway/store/alerts';
import { getJob } from '../../../../gateway/store/jobs';
import { MONITOR_RULES } from '../../../../gateway/flows/monitoring/rules';
import { newId } from '../../../../gateway/domain/ids';
import { nowIso } from '../../../../gateway/store/db';
import { insertReceipt, newReceiptRow } from '../../../../gateway/store/receipts';
import { insertStatementLines, newStatementLineRow } from '../../../../gateway/store/statements';
import { paidWithoutCallback } from '../../../../gateway/store/monitoring';
import { getSyncState, setSyncState } from '../../../../gateway/store/sync-state';
import { ExternalError, FiscalError, OneCError, type FiscalRegister, type RegisterHealth } from '../../../../gateway/ports';
import { flowBench, seedOrderPayment, seedPayment, type FlowBench } from '../fakes';

/** Each monitoring rule: triggered → one alert to support; cleared → one «решено»; the metric's value kept. */

let b: FlowBench;
beforeEach(async () => {
  b = await flowBench();
});
afterEach(() => b.close());

const rule = (name: string) => MONITOR_RULES.filter((r) => r.name === name);
const ago = (minutes: number) => nowIso(Date.now() - minutes * 60_000);
const sentAlerts = async () =>
  (await b.jobs('alert.send')).map((j) => JSON.parse(j.payload).alert as { key: string; title: string; text: string; severity: string });
const state = async (name: string) => JSON.parse((await getSyncState(b.d.store.db, monitorKey(name)))!) as MonitorState;

/** Checks once with the condition, once more with it still there, once after `clear`: one alert, then one «решено». */
async function firesOnceThenResolves(name: string, clear: () => Promise<unknown>, title: RegExp) {
  const [first] = await checkMonitors(b.d, new Date(), rule(name));
  expect(first).toMatchObject({ rule: name, firing: true });
  await checkMonitors(b.d, new Date(), rule(name));
  let alerts = await sentAlerts();
  expect(alerts).toHaveLength(1);
  expect(alerts[0].title).toMatch(title);
  await clear();
  const [after] = await checkMonitors(b.d, new Date(), rule(name));
  expect(after).toMatchObject({ rule: name, firing: false, since: null });
  alerts = await sentAlerts();
  expect(alerts.map((a) => a.title)).toEqual([alerts[0].title, `Решено: ${alerts[0].title}`]);
  expect(alerts[1]).toMatchObject({ severity: 'info', key: `${alerts[0].key}:resolved` });
  expect(await state(name)).toMatchObject({ firing: false });
  return alerts;
}

test('nothing wrong: every rule checked, none fires, no alert', async () => {
  const states = await checkMonitors(b.d);
  expect(states.map((s) => s.rule)).toEqual(
    expect.arrayContaining(['paid_not_in_1c', 'dead_jobs', 'receipts_stuck', 'callbacks_silent_percent']),
  );
  expect(states.every((s) => !s.firing)).toBe(true);
  expect(await sentAlerts()).toEqual([]);
});

test('paid but not in 1C after 30 minutes', async () => {
  const { payment } = await seedPayment(b);
  await b.store.db
    .updateTable('payments')
    .set({ status: 'paid', paid_at: ago(40), onec_status: 'pending' })
    .where('id', '=', payment.id)
    .execute();
  const alerts = await firesOnceThenResolves(
    'paid_not_in_1c',
    () => b.store.db.updateTable('payments').set({ onec_status: 'delivered' }).where('id', '=', payment.id).execute(),
    /Оплаты не дошли до 1С/,
  );
  expect(alerts[0].text).toContain('дольше 30 мин: 1');
});

test('a payment paid 10 minutes ago and not in 1C yet is no alarm', async () => {
  const { payment } = await seedPayment(b);
  await b.store.db
    .updateTable('payments')
    .set({ status: 'paid', paid_at: ago(10), onec_status: 'pending' })
    .where('id', '=', payment.id)
    .execute();
  expect((await checkMonitors(b.d, new Date(), rule('paid_not_in_1c')))[0]).toMatchObject({ value: 0, firing: false });
});

async function job(status: 'pending' | 'dead', runAt: string) {
  const id = newId();
  await b.store.db
    .insertInto('jobs')
    .values({
      id,
      name: 'onec.deliver',
      dedupe_key: null,
      payload: '{}',
      status,
      attempts: 0,
      max_attempts: 8,
      run_at: runAt,
      locked_until: null,
      locked_by: null,
      last_error: null,
      created_at: runAt,
      updated_at: runAt,
    })
    .execute();
  return id;
}

test('dead jobs', async () => {
  const id = await job('dead', ago(1));
  await firesOnceThenResolves(
    'dead_jobs',
    () => b.store.db.updateTable('jobs').set({ status: 'done' }).where('id', '=', id).execute(),
    /мёртвые задания/,
  );
});

test('the oldest waiting job older than 10 minutes', async () => {
  const id = await job('pending', ago(25));
  const alerts = await firesOnceThenResolves(
    'oldest_waiting_job_minutes',
    () => b.store.db.updateTable('jobs').set({ status: 'done' }).where('id', '=', id).execute(),
    /Очередь заданий стоит/,
  );
  expect(alerts[0].text).toMatch(/ждёт выполнения 2[5-6] мин/);
});

test('a receipt failed, or waiting for the register over 15 minutes', async () => {
  const { order, payment } = await seedPayment(b);
  const row = newReceiptRow({
    organization_id: 'main',
    order_id: order.id,
    payment_id: payment.id,
    refund_id: null,
    register_id: 'web',
    kind: 'payment',
    operation: 'sell',
    external_id: 'r-1',
    total: 150_000,
    body: '{}',
  });
  await insertReceipt(b.store.db, b.store.dialect, { ...row, created_at: ago(20) });
  await firesOnceThenResolves(
    'receipts_stuck',
    () => b.store.db.updateTable('receipts').set({ status: 'done' }).where('id', '=', row.id).execute(),
    /Чеки не пробиты/,
  );
});

test('review items older than a day', async () => {
  const row = newStatementLineRow(
    'main',
    'client-bank-file',
    {
      account: '40702810938000000001',
      direction: 'incoming',
      kind: 'Платежное поручение',
      number: '77',
      date: '2026-12-01',
      amount: 100_00,
      bankDate: '2026-12-01',
      payer: { name: 'ООО «Вектор»', inn: '7701234560', kpp: null, account: null, bankBik: null, bankName: null },
      receiver: { name: 'ООО «Ромашка»', inn: null, kpp: null, account: null, bankBik: null, bankName: null },
      purpose: 'Оплата по договору',
      uip: null,
    },
    ago(2 * 24 * 60),
  );
  await insertStatementLines(b.store.db, b.store.dialect, [{ ...row, match_state: 'review' }]);
  await firesOnceThenResolves(
    'review_items_old',
    () => b.store.db.updateTable('statement_lines').set({ match_state: 'resolved' }).where('id', '=', row.id).execute(),
    /Разбор операций ждёт больше суток/,
  );
});

/** The bank's callback for an attempt, received at `at`. */
async function callbackCame(attemptId: string, at: string) {
  await b.store.db
    .insertInto('payment_events')
    .values({
      id: newId(),
      organization_id: 'main',
      provider: 'sber',
      attempt_id: attemptId,
      kind: 'callback',
      dedupe_key: `cb-${attemptId}`,
      payload: '{}',
      outcome: 'paid',
      received_at: at,
    })
    .execute();
}

test('callbacks silent: most of the last hour’s payments learned without the bank’s callback', async () => {
  const first = await seedPayment(b, 100_00, 'md-cb-0');
  const payments: { payment: { id: string }; attempt: { id: string } }[] = [first];
  for (let i = 1; i < 5; i++) payments.push(await seedOrderPayment(b, first.order, `md-cb-${i}`));
  for (const p of payments)
    await b.store.db
      .updateTable('payments')
      .set({ status: 'paid', paid_at: ago(5) })
      .where('id', '=', p.payment.id)
      .execute();
  const [fired] = await checkMonitors(b.d, new Date(), rule('callbacks_silent_percent'));
  expect(fired).toMatchObject({ value: 100, firing: true });
  expect((await sentAlerts())[0].text).toContain('5 из 5 оплат');
  // the callbacks arrive after all (the URL fixed): 1 of 5 silent is under the threshold
  for (const p of payments.slice(1)) await callbackCame(p.attempt.id, ago(4));
  const [after] = await checkMonitors(b.d, new Date(), rule('callbacks_silent_percent'));
  expect(after).toMatchObject({ value: 20, firing: false });
  expect((await sentAlerts()).map((a) => a.title)).toEqual([
    'Банк не присылает уведомления об оплате',
    'Решено: Банк не присылает уведомления об оплате',
  ]);
});

test('callbacks silent judges the latest paid payments of the hour, however many the hour had', async () => {
  const first = await seedPayment(b, 100_00, 'md-s-0');
  const payments: { payment: { id: string }; attempt: { id: string } }[] = [first];
  for (let i = 1; i < 6; i++) payments.push(await seedOrderPayment(b, first.order, `md-s-${i}`));
  // the three paid earliest came with the bank's callback, the three latest without
  for (const [i, p] of payments.entries()) {
    await b.store.db
      .updateTable('payments')
      .set({ status: 'paid', paid_at: ago(50 - i) })
      .where('id', '=', p.payment.id)
      .execute();
    if (i < 3) await callbackCame(p.attempt.id, ago(50 - i));
  }
  expect(await paidWithoutCallback(b.store.db, ago(60))).toEqual({ paid: 6, silent: 3 });
  expect(await paidWithoutCallback(b.store.db, ago(60), 3)).toEqual({ paid: 3, silent: 3 });
  expect(await paidWithoutCallback(b.store.db, ago(60), 4)).toEqual({ paid: 4, silent: 3 });
  // a payment paid before the hour is not counted at all
  expect(await paidWithoutCallback(b.store.db, ago(47.5))).toEqual({ paid: 3, silent: 3 });
});

test('callbacks silent needs enough payments in the hour to judge', async () => {
  const { payment } = await seedPayment(b, 100_00, 'md-one');
  await b.store.db
    .updateTable('payments')
    .set({ status: 'paid', paid_at: ago(5) })
    .where('id', '=', payment.id)
    .execute();
  expect((await checkMonitors(b.d, new Date(), rule('callbacks_silent_percent')))[0]).toMatchObject({ value: 100, firing: false });
});

test('overdue invoices', async () => {
  const { order, payment } = await seedPayment(b);
  await b.store.db.updateTable('payments').set({ method: 'invoice', provider: 'bank_transfer' }).where('id', '=', payment.id).execute();
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  await b.store.db
    .insertInto('invoices')
    .values({
      id: newId(),
      organization_id: 'main',
      order_id: order.id,
      payment_id: payment.id,
      year: 2026,
      seq: 1,
      number: 'СЧ-1',
      date: '2026-11-01',
      due_date: yesterday,
      due_days_after_shipment: null,
      amount: 150_000,
      token: 'tok-overdue-0123456789',
      bank_number: null,
      bank_date: null,
      paid: 0,
      uip: null,
      created_at: nowIso(),
    })
    .execute();
  await firesOnceThenResolves(
    'overdue_invoices',
    () => b.store.db.updateTable('payments').set({ status: 'paid', paid_at: nowIso() }).where('id', '=', payment.id).execute(),
    /Просроченные счета/,
  );
});

test('the payment history agent not run for 2 hours, where a provider has a registry', async () => {
  const rules = rule('history_silent_hours');
  // no provider with a registry: nothing to read, the rule does not apply
  expect(await checkMonitors(b.d, new Date(), rules)).toEqual([]);
  Object.assign(b.provider, { listOperations: async function* () {} });
  await b.store.db
    .insertInto('schedules')
    .values({ name: 'history', next_run_at: ago(-60), locked_until: null, locked_by: null, last_run_at: ago(180), last_error: null })
    .execute();
  await firesOnceThenResolves(
    'history_silent_hours',
    () => b.store.db.updateTable('schedules').set({ last_run_at: nowIso() }).where('name', '=', 'history').execute(),
    /Агент истории платежей не запускался/,
  );
});

test('a 1C base not answering for 5 minutes (not at once: a blip is no alarm)', async () => {
  const rules = rule('onec_unreachable_minutes');
  b.sink.ping = async () => {
    throw new OneCError('unavailable', 'ECONNREFUSED', 'База 1С не отвечает: проверьте, что публикация запущена.');
  };
  const t0 = new Date();
  expect((await checkMonitors(b.d, t0, rules))[0]).toMatchObject({ value: 0, firing: false });
  expect((await checkMonitors(b.d, new Date(t0.getTime() + 3 * 60_000), rules))[0]).toMatchObject({ value: 3, firing: false });
  expect(await sentAlerts()).toEqual([]);
  expect((await checkMonitors(b.d, new Date(t0.getTime() + 6 * 60_000), rules))[0]).toMatchObject({ value: 6, firing: true });
  const [down] = await sentAlerts();
  expect(down).toMatchObject({ severity: 'critical', title: 'База 1С недоступна' });
  expect(down.text).toContain('публикация запущена');
  b.sink.ping = async () => {};
  expect((await checkMonitors(b.d, new Date(t0.getTime() + 7 * 60_000), rules))[0]).toMatchObject({ value: 0, firing: false });
  expect((await sentAlerts()).map((a) => a.title)).toEqual(['База 1С недоступна', 'Решено: База 1С недоступна']);
  // down again later: a new episode counts from its own start
  b.sink.ping = async () => {
    throw new Error('socket hang up');
  };
  expect((await checkMonitors(b.d, new Date(t0.getTime() + 8 * 60_000), rules))[0]).toMatchObject({ value: 0, firing: false });
});

// ---------------------------------------------------------------- refused logins, registers, «решено» of dead jobs

test('refused logins: a 1C 401 counts, the rule fires once and clears when the window has none', async () => {
  b.sink.ping = async () => {
    throw new OneCError('auth', 'GET $metadata: HTTP 401', '1С не принимает логин или пароль.');
  };
  // the 1C rule's own ping meets the refusal and counts it
  await checkMonitors(b.d, new Date(), rule('onec_unreachable_minutes'));
  b.sink.ping = async () => {};
  expect(await b.store.db.selectFrom('auth_failures').select(['system', 'code']).execute()).toEqual([{ system: '1c', code: 'auth' }]);
  const alerts = await firesOnceThenResolves(
    'auth_failures',
    // 20 minutes later: out of the 15-minute window
    () =>
      b.store.db
        .updateTable('auth_failures')
        .set({ at: ago(20) })
        .execute(),
    /не принимает логин/,
  );
  expect(alerts[0].text).toContain('1С: 1');
  expect(alerts[0].severity).toBe('critical');
});

test('refused logins: what counts (HTTP 401/403, Sber 5, T-Bank 204, ATOL auth) and what does not', () => {
  expect(authFailureOf(new ExternalError('tbank', 'registry: HTTP 403', { retryable: false, code: 'http_403' }))).toMatchObject({
    system: 'tbank',
  });
  expect(
    authFailureOf(new ExternalError('sber', 'register.do: errorCode 5: Access denied', { retryable: false, code: '5' })),
  ).toMatchObject({
    system: 'sber',
  });
  expect(
    authFailureOf(new ExternalError('tbank', 'Init: ErrorCode 204: Неверный токен', { retryable: false, code: '204' })),
  ).not.toBeNull();
  expect(authFailureOf(new FiscalError('atol-online', 'auth', 'getToken: 401', 'АТОЛ Онлайн не принял логин.'))).toMatchObject({
    system: 'atol-online',
  });
  expect(authFailureOf(new OneCError('unavailable', 'ECONNREFUSED', 'не отвечает'))).toBeNull();
  expect(authFailureOf(new ExternalError('sber', 'errorCode 7', { retryable: true, code: '7' }))).toBeNull();
  // Sber's 5 for a bad parameter is no refused login
  expect(authFailureOf(new ExternalError('sber', 'register.do: errorCode 5: Неверная сумма', { retryable: false, code: '5' }))).toBeNull();
  expect(authFailureOf(new Error('HTTP 401'))).toBeNull();
  // a job's permanent failure wrapping the connector's refusal
  expect(
    authFailureOf(new Error('1C refused the document', { cause: new OneCError('access', 'HTTP 403', 'Нет прав на запись.') })),
  ).toMatchObject({ system: '1c', code: 'access' });
});

/** A local register whose state the test sets. */
function fakeDevice() {
  const device = {
    id: 'shop',
    kind: 'atol-driver' as const,
    health: { online: true, problems: [] } as RegisterHealth,
    register: async () => {
      throw new Error('not used');
    },
  };
  b.d.fiscal = new FiscalRegisters(
    [
      {
        organizationId: 'main',
        register: { ...device, health: async () => device.health } as unknown as FiscalRegister,
        config: { type: 'atol-driver', statusEverySeconds: 30 } as never,
      },
    ],
    new Map(),
  );
  return device;
}

test('a register not answering for 5 minutes: one alert, «решено» when it answers again', async () => {
  const device = fakeDevice();
  device.health = {
    online: false,
    problems: [{ key: 'offline', severity: 'critical', title: 'Касса не отвечает', text: 'Касса shop недоступна' }],
  };
  await devicesSchedule(b.d)!.handler();
  // the devices schedule alerts on it no more: the rule does, once it has lasted
  expect(await sentAlerts()).toEqual([]);
  expect((await checkMonitors(b.d, new Date(), rule('register_offline_minutes')))[0]).toMatchObject({ firing: false });
  const key = registerHealthKey('main', 'shop');
  const s = JSON.parse((await getSyncState(b.store.db, key))!);
  await setSyncState(b.store, key, JSON.stringify({ ...s, offlineSince: ago(7) }));
  const alerts = await firesOnceThenResolves(
    'register_offline_minutes',
    async () => {
      device.health = { online: true, problems: [] };
      await devicesSchedule(b.d)!.handler();
    },
    /Касса не отвечает/,
  );
  expect(alerts[0].text).toContain('касса shop («ООО «Ромашка»»)');
});

test('a fiscal storage warning: one alert while it lasts, «решено» when it is gone', async () => {
  const device = fakeDevice();
  device.health = {
    online: true,
    problems: [
      { key: 'fn-replace', severity: 'critical', title: 'Фискальный накопитель пора заменить', text: 'Касса shop: срочно замените ФН.' },
    ],
  };
  await devicesSchedule(b.d)!.handler();
  const alerts = await firesOnceThenResolves(
    'fiscal_storage_warnings',
    async () => {
      device.health = { online: true, problems: [] };
      await devicesSchedule(b.d)!.handler();
    },
    /Предупреждение фискального накопителя/,
  );
  expect(alerts[0].text).toContain('Фискальный накопитель пора заменить');
});

test('out of paper: the register’s own alert, and «решено» once when paper is back', async () => {
  const device = fakeDevice();
  const paper = {
    key: 'paper',
    severity: 'warning' as const,
    title: 'В кассе закончилась бумага',
    text: 'Касса shop: закончилась чековая лента.',
  };
  device.health = { online: true, problems: [paper] };
  await devicesSchedule(b.d)!.handler();
  await devicesSchedule(b.d)!.handler();
  expect((await sentAlerts()).map((a) => a.title)).toEqual(['В кассе закончилась бумага']);
  device.health = { online: true, problems: [] };
  await devicesSchedule(b.d)!.handler();
  await devicesSchedule(b.d)!.handler();
  const alerts = await sentAlerts();
  expect(alerts.map((a) => a.title)).toEqual(['В кассе закончилась бумага', 'Решено: В кассе закончилась бумага']);
  expect(alerts[1]).toMatchObject({ severity: 'info', key: `${alerts[0].key}:resolved` });
  expect((await listAlerts(b.store.db, { open: true })).length).toBe(0);
});

test('a dead job retried by the admin and done: «решено» for its alert, once', async () => {
  const id = await job('dead', ago(1));
  const row = (await getJob(b.store.db, id))!;
  await b.store.db.transaction().execute((trx) => b.d.alerts.deadJob(trx, row, 'HTTP 500'));
  expect(await resolveDeadJobs(b.d)).toBe(0);
  await b.store.db.updateTable('jobs').set({ status: 'done' }).where('id', '=', id).execute();
  expect(await resolveDeadJobs(b.d)).toBe(1);
  expect(await resolveDeadJobs(b.d)).toBe(0);
  const alerts = await sentAlerts();
  expect(alerts.map((a) => a.title)).toEqual(['Задание не выполнено: onec.deliver', 'Решено: Задание не выполнено: onec.deliver']);
  expect(alerts[1].text).toContain('выполнено после повтора');
});
