import type { Alert } from '../../gateway/ports';
import { listAlerts } from '../../gateway/store/alerts';
import { ADMIN_AUTH, eventually, receiver, startHarness, type Harness } from '../helpers/harness';
import { TelegramEmulator } from '../emulators/telegram/server';
import { get, signIn } from '../helpers/admin-session';

/** Alerts to support's Telegram chat: they arrive (in the forum topic), flood control is honoured, a wrong token harms no other channel. */

const TOKEN = '7100000001:AAE-sandboxTelegramBotTokenForAlerts01';
const WRONG_TOKEN = '7100000001:AAE-revokedTelegramBotTokenForAlerts9';
const CHAT = -1001700000001;
const TOPIC = 17;

async function raise(h: Harness, alert: Alert): Promise<void> {
  await h.gateway.store.db.transaction().execute((trx) => h.gateway.deps.alerts.raise(trx, alert));
  h.gateway.deps.jobs.kick();
}

const alert = (key: string, over: Partial<Alert> = {}): Alert => ({
  severity: 'critical',
  title: 'Платёж не записан в 1С',
  text: '1С ответила: «Поле <Сумма> не заполнено» & документ не проведён.',
  key,
  context: { paymentId: key },
  ...over,
});

describe('alerts to a Telegram chat', () => {
  let h: Harness;
  let tg: TelegramEmulator;
  beforeAll(async () => {
    tg = new TelegramEmulator([{ token: TOKEN, username: 'shop_support_bot' }], [{ id: CHAT, type: 'supergroup', threads: [TOPIC] }]);
    await tg.start();
    h = await startHarness({
      overrides: (raw) => {
        raw.alerts = { channels: [{ type: 'log' }, { type: 'telegram', token: TOKEN, chatId: CHAT, threadId: TOPIC, baseUrl: tg.url }] };
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await tg.stop();
  });

  test('an alert raised in the gateway reaches the chat’s topic, escaped, the title in bold', async () => {
    await raise(h, alert('tg-1'));
    const msg = await eventually(async () => tg.inChat(CHAT, TOPIC).find((m) => m.shown.includes('tg-1')));
    expect(msg).toMatchObject({ parseMode: 'HTML', threadId: TOPIC, disableNotification: false });
    expect(msg.text).toContain('<b>Платёж не записан в 1С</b>');
    expect(msg.shown).toContain('1С ответила: «Поле <Сумма> не заполнено» & документ не проведён.');
    expect(msg.shown).toContain('paymentId: tg-1');
  });

  test('a 429 with retry_after 1 is honoured: the message arrives once, a second later at the earliest', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    tg.setKnobs({ force429: 1, forceRetryAfter: 1 });
    const raisedAt = Date.now();
    await raise(h, alert('tg-429', { severity: 'info', title: 'Сводка за день' }));
    const msg = await eventually(async () => tg.inChat(CHAT).find((m) => m.shown.includes('tg-429')));
    expect(msg.at - raisedAt).toBeGreaterThanOrEqual(1000);
    expect(msg.disableNotification).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(tg.inChat(CHAT).filter((m) => m.shown.includes('tg-429'))).toHaveLength(1);
    expect(tg.attempts.filter((a) => a.status === 429)).toHaveLength(1);
  });
});

describe('a wrong Telegram token', () => {
  let h: Harness;
  let tg: TelegramEmulator;
  let hook: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    tg = new TelegramEmulator([{ token: TOKEN, username: 'shop_support_bot' }], [{ id: CHAT, type: 'supergroup' }]);
    await tg.start();
    hook = await receiver();
    h = await startHarness({
      overrides: (raw) => {
        raw.alerts = {
          channels: [
            { type: 'telegram', token: WRONG_TOKEN, chatId: CHAT, baseUrl: tg.url },
            { type: 'webhook', url: hook.url },
          ],
        };
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await tg.stop();
    await hook.close();
  });

  test('the webhook still gets the alert; the Telegram job fails for good with a visible reason; the token is in no log line', async () => {
    await raise(h, alert('tg-wrong'));
    const got = await eventually(async () => hook.received.find((r) => r.body?.key === 'tg-wrong'));
    expect(got.body).toMatchObject({ severity: 'critical', title: 'Платёж не записан в 1С' });

    const dead = await eventually(async () => {
      const r = await h.call('GET', '/api/v1/admin/jobs?status=dead&name=alert.send', undefined, ADMIN_AUTH);
      return r.body.items.find((j: any) => j.payload.alert.key === 'tg-wrong');
    });
    // refused for good: one attempt, not eight
    expect(dead).toMatchObject({ status: 'dead', attempts: 1, payload: { channel: 'telegram' } });
    expect(dead.lastError).toContain('401 Unauthorized');
    expect(dead.lastError).toContain('the bot token is wrong or revoked');
    expect(tg.messages).toHaveLength(0);
    expect(tg.attempts.map((a) => a.status)).toEqual([401]);

    const line = await eventually(async () => h.logs.find((l) => l.includes('job is dead') && l.includes('alert.send')));
    expect(line).toContain('401 Unauthorized');
    // the alert Telegram did not take is in the log, with why
    const fallback = JSON.parse(h.logs.find((l) => l.includes('alert not delivered to the telegram channel'))!);
    expect(fallback).toMatchObject({
      level: 'error',
      channel: 'telegram',
      alert: { title: 'Платёж не записан в 1С', context: { paymentId: 'tg-wrong' } },
    });
    // the alert's record shows the channel's failure (what /admin lists), the webhook's delivery beside it
    const record = await eventually(async () => {
      const [r] = await listAlerts(h.gateway.store.db, { failed: true });
      return r?.deliveries.every((d) => d.status !== 'pending') ? r : null;
    });
    expect(record).toMatchObject({ key: 'tg-wrong', resolved_at: null });
    expect(record.deliveries).toEqual([
      expect.objectContaining({
        channel: 'telegram',
        status: 'failed',
        last_error: expect.stringContaining('the bot token is wrong or revoked'),
      }),
      expect.objectContaining({ channel: 'webhook', status: 'sent' }),
    ]);
    // support sees it on /admin: the open alert, and the channel that did not take it, with why
    const { b } = await signIn(h);
    const overview = (await get(h, b, '/admin')).text;
    const alerts = overview.slice(overview.indexOf('id="alerts"'));
    expect(alerts).toContain('Платёж не записан в 1С');
    expect(alerts).toContain('не доставлено в канал telegram');
    expect(alerts).toContain('the bot token is wrong or revoked');
    const secret = WRONG_TOKEN.split(':')[1]!;
    expect(overview).not.toContain(secret);
    expect(h.logs.join('\n')).not.toContain(secret);
    expect(JSON.stringify(dead)).not.toContain(secret);
    expect(JSON.stringify(record)).not.toContain(secret);
  });
});
