import { Alerts, sendAlertJob } from '../../../../gateway/flows/alerts/alerts';
import { ALERTS } from '../../../../gateway/flows/alerts/catalog';
import { digestJob, digestSchedule, moscowClock, sendDigest } from '../../../../gateway/flows/alerts/digest';
import { createLogger } from '../../../../gateway/log';
import { ExternalError, type Alert, type Notifier } from '../../../../gateway/ports';
import { listAlerts } from '../../../../gateway/store/alerts';
import { flowBench, type FlowBench } from '../fakes';

/** Alerts as support meets them: routed by severity and kind, recorded with each channel's delivery, collected into a daily digest. */

class Channel implements Notifier {
  readonly sent: Alert[] = [];
  fail: Error | null = null;
  constructor(readonly name: string) {}
  async send(alert: Alert): Promise<void> {
    if (this.fail) throw this.fail;
    this.sent.push(alert);
  }
}

let b: FlowBench;
let telegram: Channel;
let email: Channel;
let log: Channel;

/** Support's set-up: critical alerts to Telegram and e-mail, warnings into the daily digest by e-mail, info only recorded. */
async function bench(routes = true) {
  b = await flowBench();
  telegram = new Channel('telegram');
  email = new Channel('email');
  log = new Channel('log');
  b.d.alerts = new Alerts(b.d.jobs, [telegram, email, log], createLogger('silent'), {
    names: ['support-tg', 'mail', 'log'],
    routes: routes
      ? [
          { severity: ['critical'], channels: ['support-tg', 'mail'] },
          { severity: ['warning'], channels: ['digest'] },
          { kinds: ['monitor'], channels: ['log'] },
        ]
      : undefined,
  });
  b.d.config.alerts.digest = { at: '09:00', channels: ['mail'] };
}
afterEach(() => b.close());

const raise = (a: Alert) => b.store.db.transaction().execute((trx) => b.d.alerts.raise(trx, a));
const critical = (key: string, title = 'Оплата не попала в 1С'): Alert => ({ severity: 'critical', key, title, text: 'Проверьте 1С.' });
const warning = (key: string, title: string): Alert => ({ severity: 'warning', key, title, text: 'Разберите.' });
/** The send jobs queued: channel → alert title. */
const queued = async () => (await b.jobs(sendAlertJob.name)).map((j) => [JSON.parse(j.payload).channel, JSON.parse(j.payload).alert.title]);
/** Runs every queued send job once (attempt `attempt` of 8). */
async function runSends(attempt = 1) {
  for (const j of await b.jobs(sendAlertJob.name)) {
    if (j.status !== 'pending') continue;
    await b.store.db.updateTable('jobs').set({ status: 'done' }).where('id', '=', j.id).execute();
    await b.run(sendAlertJob, j, { attempt, maxAttempts: 8 }).catch(() => undefined);
  }
}

test('without routes every alert goes to every channel (as before)', async () => {
  await bench(false);
  await raise(critical('onec-failed:p1'));
  await raise({ severity: 'info', key: 'x:1', title: 'Сведения', text: '…' });
  expect((await queued()).map(([c, t]) => `${t} → ${c}`).sort()).toEqual([
    'Оплата не попала в 1С → log',
    'Оплата не попала в 1С → mail',
    'Оплата не попала в 1С → support-tg',
    'Сведения → log',
    'Сведения → mail',
    'Сведения → support-tg',
  ]);
});

test('routes: critical to Telegram and e-mail, warnings wait for the digest, an alert no route matches is only recorded', async () => {
  await bench();
  await raise(critical('onec-failed:p1'));
  await raise(warning('operation-review:o1', 'Операция банка не сопоставлена с заказом'));
  await raise({ severity: 'info', key: 'statement-overpaid:1', title: 'Переплата по счетам', text: '…' });
  expect((await queued()).map(([c]) => c).sort()).toEqual(['mail', 'support-tg']);
  // raised within the same millisecond: compared by title
  const all = (await listAlerts(b.store.db)).sort((x, y) => x.title.localeCompare(y.title));
  expect(all.map((a) => [a.title, a.channels, a.digest])).toEqual([
    ['Операция банка не сопоставлена с заказом', ['digest'], 'waiting'],
    ['Оплата не попала в 1С', ['support-tg', 'mail'], null],
    ['Переплата по счетам', [], null],
  ]);
  expect(all[1]).toMatchObject({ kind: 'onec-failed', severity: 'critical', resolved_at: null });
});

test('routes by kind: a monitoring rule’s alert matches `monitor`', async () => {
  await bench();
  await raise(
    ALERTS.monitorFiring({ name: 'review_items_old', title: 'Разбор ждёт', severity: 'warning' }, '2026-12-04T10:00:00.000Z', '…', 3),
  );
  expect(await queued()).toEqual([['log', 'Разбор ждёт']]);
  expect((await listAlerts(b.store.db))[0]).toMatchObject({
    kind: 'monitor.review_items_old',
    channels: ['digest', 'log'],
    digest: 'waiting',
  });
});

test('the same key within the hour is one alert, one message per channel', async () => {
  await bench();
  await raise(critical('onec-failed:p1'));
  await raise(critical('onec-failed:p1'));
  expect(await queued()).toHaveLength(2);
  expect(await listAlerts(b.store.db)).toHaveLength(1);
});

test('each channel’s delivery is recorded; a wrong Telegram token: the failure is on the alert, and the alert falls back to the other channels', async () => {
  await bench();
  telegram.fail = new ExternalError(
    'telegram',
    'sendMessage to chat -100 (bot 7000): 401 Unauthorized — the bot token is wrong or revoked',
    {
      retryable: false,
      code: 'telegram_401',
    },
  );
  await raise(critical('onec-failed:p1'));
  await runSends();
  let [a] = await listAlerts(b.store.db, { open: true });
  expect(a.deliveries).toEqual([
    expect.objectContaining({ channel: 'log', status: 'pending', fallback: true }),
    expect.objectContaining({ channel: 'mail', status: 'sent', fallback: false, last_error: null }),
    expect.objectContaining({ channel: 'support-tg', status: 'failed', last_error: expect.stringContaining('the bot token is wrong') }),
  ]);
  await runSends();
  [a] = await listAlerts(b.store.db, { failed: true });
  expect(a.deliveries.find((d) => d.channel === 'log')).toMatchObject({ status: 'sent', fallback: true });
  expect(log.sent.map((x) => x.title)).toEqual(['Оплата не попала в 1С']);
  expect(email.sent).toHaveLength(1);
  // no token in what is recorded
  expect(JSON.stringify(a)).not.toMatch(/\d+:AA/);
});

test('a channel failing for now: retrying, with its last error, then sent', async () => {
  await bench();
  email.fail = new ExternalError('smtp', 'SMTP 127.0.0.1:25: ECONNREFUSED', { retryable: true });
  await raise(critical('onec-failed:p1'));
  const [job] = (await b.jobs(sendAlertJob.name)).filter((j) => JSON.parse(j.payload).channel === 'mail');
  await expect(b.run(sendAlertJob, job, { attempt: 1, maxAttempts: 8 })).rejects.toThrow('ECONNREFUSED');
  expect((await listAlerts(b.store.db))[0].deliveries.find((d) => d.channel === 'mail')).toMatchObject({
    status: 'retrying',
    attempts: 1,
    last_error: 'SMTP 127.0.0.1:25: ECONNREFUSED',
  });
  email.fail = null;
  await b.run(sendAlertJob, job, { attempt: 2, maxAttempts: 8 });
  expect((await listAlerts(b.store.db))[0].deliveries.find((d) => d.channel === 'mail')).toMatchObject({
    status: 'sent',
    attempts: 2,
    last_error: null,
  });
  // a retry that went through hands nothing to the other channels
  expect((await listAlerts(b.store.db))[0].deliveries.map((d) => d.channel)).toEqual(['mail', 'support-tg']);
});

test('«решено» goes to the channels the alert went to (its fallbacks too), once, and closes it', async () => {
  await bench();
  telegram.fail = new ExternalError('telegram', '400 Bad Request: chat not found', { retryable: false, code: 'telegram_400' });
  await raise(critical('onec-failed:p1'));
  await runSends();
  telegram.fail = null;
  const resolve = () =>
    b.store.db.transaction().execute((trx) => b.d.alerts.resolve(trx, 'onec-failed:p1', 'Оплата записана в 1С.', { paymentId: 'p1' }));
  expect(await resolve()).toBe(true);
  expect(await resolve()).toBe(false);
  const sends = (await queued()).filter(([, title]) => title.startsWith('Решено'));
  expect(sends.map(([c]) => c).sort()).toEqual(['log', 'mail', 'support-tg']);
  expect(sends[0][1]).toBe('Решено: Оплата не попала в 1С');
  expect(await listAlerts(b.store.db, { open: true })).toEqual([]);
});

test('the daily digest: the day’s warnings grouped by kind with counts, one message, once a day', async () => {
  await bench();
  for (let i = 0; i < 17; i++) await raise(warning(`operation-review:o${i}`, 'Операция банка не сопоставлена с заказом'));
  await raise(warning('invoice-overdue:p1:2026-12-01', 'Просрочена оплата счёта'));
  await raise(warning('invoice-overdue:p2:2026-12-01', 'Просрочена оплата счёта'));
  expect(await queued()).toEqual([]);
  expect(await sendDigest(b.d, '2026-12-04')).toBe(19);
  expect(await sendDigest(b.d, '2026-12-04')).toBe(0);
  const sends = await b.jobs(sendAlertJob.name);
  expect(sends).toHaveLength(1);
  const { channel, alert } = JSON.parse(sends[0].payload);
  expect(channel).toBe('mail');
  expect(alert.title).toBe('Сводка оповещений за 04.12.2026: 19');
  expect(alert.text).toContain('Операции банков на разборе:\n• Операция банка не сопоставлена с заказом ×17');
  expect(alert.text).toContain('Просроченные счета:\n• Просрочена оплата счёта ×2');
  expect(alert.text.indexOf('×17')).toBeLessThan(alert.text.indexOf('×2'));
  expect((await listAlerts(b.store.db)).filter((a) => a.digest === 'waiting')).toEqual([]);
});

test('the digest’s schedule queues one job a day, at the configured Moscow time and after', async () => {
  await bench();
  const { time } = moscowClock(new Date());
  b.d.config.alerts.digest = { at: '23:59', channels: ['mail'] };
  // before the time: nothing
  if (time < '23:59') {
    await digestSchedule(b.d)!.handler();
    expect(await b.jobs(digestJob.name)).toEqual([]);
  }
  b.d.config.alerts.digest = { at: '00:00', channels: ['mail'] };
  await digestSchedule(b.d)!.handler();
  await digestSchedule(b.d)!.handler();
  const jobs = await b.jobs(digestJob.name);
  expect(jobs).toHaveLength(1);
  expect(JSON.parse(jobs[0].payload)).toEqual({ day: moscowClock(new Date()).day });
  expect(jobs[0].dedupe_key).toBe(`alert-digest:${moscowClock(new Date()).day}`);
});

test('Moscow time of a moment', () => {
  expect(moscowClock(new Date('2026-12-04T21:30:00Z'))).toEqual({ day: '2026-12-05', time: '00:30' });
  expect(moscowClock(new Date('2026-12-04T05:59:00Z'))).toEqual({ day: '2026-12-04', time: '08:59' });
});
