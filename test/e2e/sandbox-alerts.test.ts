import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventually, freePort } from '../helpers/harness';

/**
 * `npm run sandbox` as support meets an outage: 1C goes down → a Telegram message in support's chat
 * (the emulated Bot API, answering 429 once) and an e-mail (the sandbox's SMTP server) within the
 * threshold; 1C back → «Решено» in both, once each.
 */

const ROOT = resolve(__dirname, '../..');
/** The monitoring checks every second; 1C counts as down after 3 s (0.05 min). */
const MONITORING = { everySeconds: 1, onecUnreachableMinutes: 0.05 };
const THRESHOLD_MS = 3000;
/** Time for the check, the send jobs, Telegram's retry_after and SMTP, on a busy machine. */
const MARGIN_MS = 25_000;
const RETRY_AFTER_S = 2;
const TITLE = 'База 1С недоступна';

describe('sandbox: 1C down → Telegram and e-mail → «Решено»', () => {
  let child: ChildProcess;
  let base: string;
  let output = '';

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn('npm', ['run', 'sandbox', '--silent'], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        LOG_LEVEL: 'warn',
        DATABASE_URL: '',
        REDIS_URL: '',
        SANDBOX_DATA_DIR: mkdtempSync(join(tmpdir(), 'gw-sandbox-alerts-')),
        SANDBOX_MONITORING: JSON.stringify(MONITORING),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    await eventually(async () => output.includes('sandbox is running') && (await fetch(`${base}/health/ready`)).ok, 60_000, 100);
  }, 70_000);

  afterAll(async () => {
    if (child.pid) process.kill(-child.pid, 'SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });

  const get = async (path: string) => (await (await fetch(base + path)).json()) as any;
  const post = async (path: string, body: unknown) =>
    (await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
  const chat = async (title: string): Promise<any[]> =>
    (await get('/sandbox/telegram')).items.filter((m: any) => m.shown.split('\n')[0].replace(/^\S+ /, '') === title);
  const mails = async (subject: string): Promise<any[]> => (await get('/sandbox/email')).items.filter((m: any) => m.subject === subject);

  test('prints where support’s mailbox is', () => {
    expect(output).toContain(`GET ${base}/sandbox/email`);
  });

  test('1C down: a Russian alert in Telegram (after one 429, waited out) and by e-mail; 1C back: «Решено» in both, once', async () => {
    await post('/sandbox/telegram/knobs', { force429: 1, forceRetryAfter: RETRY_AFTER_S });
    const t0 = Date.now();
    await post('/sandbox/onec/knobs', { down: true });

    const [message] = await eventually(async () => ((await chat(TITLE)).length > 0 ? chat(TITLE) : null), THRESHOLD_MS + MARGIN_MS, 200);
    expect(message.shown).toContain(TITLE);
    expect(message.shown).toMatch(/Не отвечает дольше 3 с: «ООО «Ромашка»»: .+ \(\d+ с\)/);
    expect(message.shown).toContain('Оплаты ждут и будут записаны, когда база ответит');
    expect(message).toMatchObject({ chatId: '-1001000000001', parseMode: 'HTML', disableNotification: false });
    const [mail] = await eventually(
      async () => ((await mails(`[critical] ${TITLE}`)).length > 0 ? mails(`[critical] ${TITLE}`) : null),
      THRESHOLD_MS + MARGIN_MS,
      200,
    );
    expect(mail.to).toBe('support@romashka.example');
    expect(mail.from).toContain('alerts@romashka.example');
    expect(mail.text).toContain('Не отвечает дольше');
    // not before 1C had been down for the threshold
    expect(message.at - t0).toBeGreaterThanOrEqual(THRESHOLD_MS);

    // the 429 was answered with retry_after, and the next message came no sooner than that
    const telegram = await get('/sandbox/telegram');
    const refused = telegram.refused.filter(
      (a: any) => a.status === 429 && a.description === `Too Many Requests: retry after ${RETRY_AFTER_S}`,
    );
    expect(refused).toHaveLength(1);
    const next = telegram.items.find((m: any) => m.at >= refused[0].at);
    expect(next.at - refused[0].at).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);

    await post('/sandbox/onec/knobs', { down: false });
    const resolved = `Решено: ${TITLE}`;
    await eventually(async () => (await chat(resolved)).length > 0, MARGIN_MS, 200);
    await eventually(async () => (await mails(`[info] ${resolved}`)).length > 0, MARGIN_MS, 200);
    // several more checks with 1C up: nothing more
    await new Promise((r) => setTimeout(r, 4000));
    expect(await chat(TITLE)).toHaveLength(1);
    expect(await chat(resolved)).toHaveLength(1);
    expect(await mails(`[critical] ${TITLE}`)).toHaveLength(1);
    expect(await mails(`[info] ${resolved}`)).toHaveLength(1);
    const [done] = await mails(`[info] ${resolved}`);
    expect(done.text).toContain('больше не наблюдается');
    // the e-mail client threads «Решено» under the alert
    expect(done.inReplyTo).toBeTruthy();
  }, 90_000);
});
