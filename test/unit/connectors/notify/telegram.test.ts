import type { Alert } from '../../../../gateway/ports';
import { ExternalError } from '../../../../gateway/ports';
import { escapeHtml, renderAlert, splitHtml, TelegramNotifier } from '../../../../connectors/notify/telegram';
import { telegramChannelConfig } from '../../../../connectors/notify/config';
import { parseTelegramHtml, TelegramEmulator } from '../../../emulators/telegram/server';

const TOKEN = '7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';
const OTHER_TOKEN = '7000000002:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw2';
const FLOODED_TOKEN = '7000000003:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw3';

const alert = (over: Partial<Alert> = {}): Alert => ({
  severity: 'critical',
  title: 'Платёж не записан в 1С',
  text: '1С ответила: «Документ не проведён».',
  key: 'k1',
  ...over,
});

describe('rendering an alert as Telegram HTML', () => {
  test('the title in bold, the text and the context escaped', () => {
    const html = renderAlert(
      alert({
        title: 'Ошибка <1С> & банк',
        text: 'a < b > c & d <script>alert(1)</script>',
        context: { paymentId: 'p&1', amount: 350000 },
      }),
    );
    expect(html).toBe(
      '🔴 <b>Ошибка &lt;1С&gt; &amp; банк</b>\n\na &lt; b &gt; c &amp; d &lt;script&gt;alert(1)&lt;/script&gt;\n\npaymentId: p&amp;1\namount: 350000',
    );
    expect(parseTelegramHtml(html)).toBe(
      '🔴 Ошибка <1С> & банк\n\na < b > c & d <script>alert(1)</script>\n\npaymentId: p&1\namount: 350000',
    );
  });

  test('escapeHtml leaves nothing Telegram would read as markup', () => {
    expect(escapeHtml('&lt;<b>&amp;')).toBe('&amp;lt;&lt;b&gt;&amp;amp;');
  });

  test('a 10 000-character alert with <script>& in it: parts of at most 4096, each valid HTML, together the whole text', () => {
    const line = 'Строка журнала <script>&amp; x&y </script> ';
    const long = Array.from({ length: 200 }, (_, i) => `${i}: ${line}`)
      .join('\n')
      .padEnd(10_000, '&<>');
    expect(long.length).toBe(10_000);
    const html = renderAlert(alert({ text: long }));
    const parts = splitHtml(html);
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect(() => parseTelegramHtml(p)).not.toThrow();
    }
    expect(parts.join('')).toBe(html);
    expect(parts.map(parseTelegramHtml).join('')).toContain(long);
    // cut on line boundaries where there are lines
    expect(parts.slice(0, -1).every((p) => p.endsWith('\n'))).toBe(true);
  });

  test('a single line of 10 000 escaped characters is cut between entities, never inside one', () => {
    const html = renderAlert(alert({ text: '&<>'.repeat(3334).slice(0, 10_000) }));
    const parts = splitHtml(html);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect(() => parseTelegramHtml(p)).not.toThrow();
    }
    expect(parts.join('')).toBe(html);
  });

  test('a cut never splits a surrogate pair', () => {
    const html = 'x' + '😀'.repeat(3000);
    const parts = splitHtml(html);
    expect(parts.join('')).toBe(html);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect(p).toBe(Buffer.from(p, 'utf8').toString('utf8'));
      expect(/[\uD800-\uDBFF]$/.test(p)).toBe(false);
    }
  });

  test('a short alert is one part', () => {
    expect(splitHtml('hello')).toEqual(['hello']);
  });
});

describe('the channel config', () => {
  test('a token and a chat as id or @name; a thread; the default base URL', () => {
    expect(telegramChannelConfig.parse({ type: 'telegram', token: TOKEN, chatId: -1001234567890, threadId: 7 })).toMatchObject({
      baseUrl: 'https://api.telegram.org',
      timeoutMs: 10_000,
    });
    expect(telegramChannelConfig.safeParse({ type: 'telegram', token: TOKEN, chatId: '@shop_alerts' }).success).toBe(true);
    expect(telegramChannelConfig.safeParse({ type: 'telegram', token: 'nope', chatId: 1 }).success).toBe(false);
    expect(telegramChannelConfig.safeParse({ type: 'telegram', token: TOKEN, chatId: 'shop' }).success).toBe(false);
  });
});

describe('the Telegram notifier against the emulated Bot API', () => {
  let tg: TelegramEmulator;
  beforeAll(async () => {
    tg = new TelegramEmulator(
      [
        { token: TOKEN, username: 'shop_alerts_bot' },
        { token: FLOODED_TOKEN, username: 'flooded_bot' },
      ],
      [
        { id: -1001, type: 'supergroup', title: 'Поддержка', threads: [42] },
        { id: -1002, type: 'supergroup' },
        { id: -1003, type: 'supergroup' },
        { id: -1004, type: 'supergroup' },
        { id: -1005, type: 'supergroup' },
        { id: '@shop_channel', type: 'channel' },
        { id: -55, type: 'group', migratedTo: -1009999 },
        { id: -66, type: 'group', kicked: true },
      ],
    );
    await tg.start();
  });
  afterAll(() => tg.stop());
  beforeEach(() => tg.setKnobs({ force429: 0, forceRetryAfter: 1 }));

  const notifier = (over: Record<string, unknown> = {}) =>
    new TelegramNotifier(telegramChannelConfig.parse({ type: 'telegram', token: TOKEN, chatId: -1001, baseUrl: tg.url, ...over }));

  test('an alert reaches the forum topic as HTML; an info alert is silent', async () => {
    await notifier({ threadId: 42 }).send(alert({ title: 'Сбой <обмена>' }));
    await notifier({ threadId: 42 }).send(alert({ severity: 'info', title: 'Сводка' }));
    const got = tg.inChat(-1001, 42);
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ parseMode: 'HTML', disableNotification: false, threadId: 42 });
    expect(got[0]!.shown).toContain('Сбой <обмена>');
    expect(got[0]!.text).toContain('<b>Сбой &lt;обмена&gt;</b>');
    expect(got[1]!.disableNotification).toBe(true);
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  test('a long alert arrives as several messages, a second apart, together the whole text', async () => {
    const long = Array.from({ length: 300 }, (_, i) => `${i} <x> & y`.padEnd(30, '.')).join('\n');
    await notifier({ chatId: -1002 }).send(alert({ text: long }));
    const got = tg.inChat(-1002);
    expect(got.length).toBeGreaterThanOrEqual(3);
    expect(got.map((m) => m.shown).join('')).toContain(long);
    for (let i = 1; i < got.length; i++) expect(got[i]!.at - got[i - 1]!.at).toBeGreaterThanOrEqual(1000);
    expect(tg.attempts.filter((a) => a.chatId === '-1002' && a.status === 429)).toHaveLength(0);
  });

  test('a long alert that failed half-way: the next attempt sends only the parts still missing', async () => {
    const long = Array.from({ length: 300 }, (_, i) => `${i} строка`.padEnd(30, '.')).join('\n');
    let waits = 0;
    const flaky = new TelegramNotifier(
      telegramChannelConfig.parse({ type: 'telegram', token: TOKEN, chatId: -1003, baseUrl: tg.url }),
      (ms) => {
        // Telegram goes down after the first part
        if (++waits === 1) tg.setKnobs({ down: true });
        return new Promise((r) => setTimeout(r, ms));
      },
    );
    try {
      const e = await flaky.send(alert({ key: 'half', text: long })).catch((x) => x);
      expect(e).toMatchObject({ retryable: true });
    } finally {
      tg.setKnobs({ down: false });
    }
    expect(tg.inChat(-1003)).toHaveLength(1);
    await flaky.send(alert({ key: 'half', text: long }));
    const got = tg.inChat(-1003);
    expect(got.length).toBeGreaterThanOrEqual(3);
    expect(got.map((m) => m.shown).join('')).toContain(long);
    expect(new Set(got.map((m) => m.text)).size).toBe(got.length);
    // sent whole, it is sent whole again (the next hour's alert)
    await flaky.send(alert({ key: 'half', text: long }));
    expect(tg.inChat(-1003)).toHaveLength(got.length * 2);
  }, 20_000);

  test('a 429 waits retry_after and tries again: the message arrives once', async () => {
    tg.setKnobs({ force429: 1, forceRetryAfter: 1 });
    const started = Date.now();
    await notifier({ chatId: -1005 }).send(alert());
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(tg.inChat(-1005)).toHaveLength(1);
    expect(tg.attempts.filter((a) => a.chatId === '-1005').map((a) => a.status)).toEqual([429, 200]);
  });

  test('a flood wait longer than the notifier waits in place: a retryable error with retry-after for the job', async () => {
    tg.setKnobs({ force429: 1, forceRetryAfter: 120 });
    const e = await notifier({ chatId: -1004, token: FLOODED_TOKEN })
      .send(alert())
      .catch((x) => x);
    expect(e).toBeInstanceOf(ExternalError);
    expect(e).toMatchObject({ retryable: true, retryAfterMs: 120_000 });
    // the flood wait holds the whole bot: another chat is not tried meanwhile, the job comes back later
    const other = await notifier({ chatId: -1002, token: FLOODED_TOKEN })
      .send(alert())
      .catch((x) => x);
    expect(other).toMatchObject({ retryable: true, code: 'telegram_429' });
    expect(other.retryAfterMs).toBeGreaterThan(100_000);
    expect(tg.attempts.filter((a) => a.chatId === '-1004')).toHaveLength(1);
    expect(tg.inChat(-1004)).toHaveLength(0);
  });

  test('a channel by @name', async () => {
    await notifier({ chatId: '@shop_channel' }).send(alert());
    expect(tg.inChat('@shop_channel')).toHaveLength(1);
  });

  test.each([
    ['a wrong token', { token: OTHER_TOKEN }, 'telegram_401', /401 Unauthorized — the bot token is wrong/],
    ['an unknown chat', { chatId: -777 }, 'telegram_400', /chat not found — check chatId/],
    ['the bot kicked', { chatId: -66 }, 'telegram_403', /kicked/],
    ['an unknown topic', { chatId: -1001, threadId: 9 }, 'telegram_400', /message thread not found/],
  ])('%s: a final error that never names the token', async (_what, over, code, message) => {
    const e = await notifier(over)
      .send(alert())
      .catch((x) => x);
    expect(e).toBeInstanceOf(ExternalError);
    expect(e).toMatchObject({ retryable: false, code });
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain(TOKEN.split(':')[1]);
    expect(e.message).not.toContain(OTHER_TOKEN.split(':')[1]);
  });

  test('a group that became a supergroup: the error names the new chat id', async () => {
    const e = await notifier({ chatId: -55 })
      .send(alert())
      .catch((x) => x);
    expect(e).toMatchObject({ retryable: false, code: 'telegram_400' });
    expect(e.message).toContain('chatId to -1009999');
  });

  test('Telegram unreachable: a retryable error without the token', async () => {
    tg.setKnobs({ down: true });
    try {
      const e = await notifier({ chatId: -1002 })
        .send(alert())
        .catch((x) => x);
      expect(e).toMatchObject({ retryable: true, code: 'http_502' });
      expect(e.message).not.toContain(TOKEN);
      const gone = await new TelegramNotifier(
        telegramChannelConfig.parse({ type: 'telegram', token: TOKEN, chatId: 1, baseUrl: 'http://127.0.0.1:1', timeoutMs: 500 }),
      )
        .send(alert())
        .catch((x) => x);
      expect(gone).toMatchObject({ retryable: true });
      expect(gone.message).not.toContain(TOKEN);
    } finally {
      tg.setKnobs({ down: false });
    }
  });
});

describe('the emulated Bot API', () => {
  let tg: TelegramEmulator;
  beforeAll(async () => {
    tg = new TelegramEmulator([{ token: TOKEN, username: 'shop_alerts_bot' }], [{ id: -1001, type: 'supergroup' }]);
    await tg.start();
  });
  afterAll(() => tg.stop());

  const post = async (path: string, body: string, type = 'application/json') => {
    const r = await fetch(tg.url + path, { method: 'POST', headers: { 'content-type': type }, body });
    return { status: r.status, body: (await r.json()) as any };
  };

  test('getMe, and an unknown token refused as Telegram does', async () => {
    const me = await post(`/bot${TOKEN}/getMe`, '');
    expect(me.body).toMatchObject({ ok: true, result: { is_bot: true, username: 'shop_alerts_bot', id: 7000000001 } });
    expect(await post(`/bot${OTHER_TOKEN}/getMe`, '')).toEqual({
      status: 401,
      body: { ok: false, error_code: 401, description: 'Unauthorized' },
    });
  });

  test('a form body; bad HTML, a too long text and a second message within a second refused, nothing recorded for them', async () => {
    const before = tg.messages.length;
    const bad = await post(
      `/bot${TOKEN}/sendMessage`,
      'chat_id=-1001&parse_mode=HTML&text=' + encodeURIComponent('<b>open'),
      'application/x-www-form-urlencoded',
    );
    expect(bad).toEqual({
      status: 400,
      body: {
        ok: false,
        error_code: 400,
        description: 'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"',
      },
    });
    const amp = await post(`/bot${TOKEN}/sendMessage`, JSON.stringify({ chat_id: -1001, parse_mode: 'HTML', text: 'a & b' }));
    expect(amp.body.description).toMatch(/^Bad Request: can't parse entities: Character '&' at byte offset 2/);
    const script = await post(
      `/bot${TOKEN}/sendMessage`,
      JSON.stringify({ chat_id: -1001, parse_mode: 'HTML', text: '<script>x</script>' }),
    );
    expect(script.body.description).toBe('Bad Request: can\'t parse entities: Unsupported start tag "script" at byte offset 0');
    const long = await post(`/bot${TOKEN}/sendMessage`, JSON.stringify({ chat_id: -1001, text: 'x'.repeat(4097) }));
    expect(long.body).toEqual({ ok: false, error_code: 400, description: 'Bad Request: message is too long' });
    // 4096 after entities parsing is fine, even if the HTML source is longer
    const ok = await post(`/bot${TOKEN}/sendMessage`, JSON.stringify({ chat_id: -1001, parse_mode: 'HTML', text: '&amp;'.repeat(4096) }));
    expect(ok.status).toBe(200);
    const fast = await post(`/bot${TOKEN}/sendMessage`, 'chat_id=-1001&text=again', 'application/x-www-form-urlencoded');
    expect(fast.status).toBe(429);
    expect(fast.body).toMatchObject({
      ok: false,
      error_code: 429,
      description: 'Too Many Requests: retry after 1',
      parameters: { retry_after: 1 },
    });
    const none = await post(`/bot${TOKEN}/sendMessage`, JSON.stringify({ chat_id: -42, text: 'x' }));
    expect(none.body).toEqual({ ok: false, error_code: 400, description: 'Bad Request: chat not found' });
    expect(tg.messages.length - before).toBe(1);
  });
});
