import { checkMonitors, monitorKey, type MonitorState } from '../../../../gateway/flows/monitoring/check';
import { MONITOR_RULES } from '../../../../gateway/flows/monitoring/rules';
import { newId } from '../../../../gateway/domain/ids';
import { nowIso } from '../../../../gateway/store/db';
import { insertReceipt, newReceiptRow } from '../../../../gateway/store/receipts';
import { insertStatementLines, newStatementLineRow } from '../../../../gateway/store/statements';
import { getSyncState } from '../../../../gateway/store/sync-state';
import { OneCError } from '../../../../gateway/ports';
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
  for (const p of payments.slice(1))
    await b.store.db
      .insertInto('payment_events')
      .values({
        id: newId(),
        organization_id: 'main',
        provider: 'sber',
        attempt_id: p.attempt.id,
        kind: 'callback',
        dedupe_key: `cb-${p.attempt.id}`,
        payload: '{}',
        outcome: 'paid',
        received_at: ago(4),
      })
      .execute();
  const [after] = await checkMonitors(b.d, new Date(), rule('callbacks_silent_percent'));
  expect(after).toMatchObject({ value: 20, firing: false });
  expect((await sentAlerts()).map((a) => a.title)).toEqual([
    'Банк не присылает уведомления об оплате',
    'Решено: Банк не присылает уведомления об оплате',
  ]);
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
