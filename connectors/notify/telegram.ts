import { createHash } from 'node:crypto';
import { type Alert, ExternalError, type Notifier } from '../../gateway/ports';
import { HttpTransport, NoAnswerError } from '../shared/http';
import type { TelegramChannelConfig } from './config';

/** Telegram's limit on one message's text. */
export const TELEGRAM_TEXT_LIMIT = 4096;
/** At most one message per second in a chat (the Bot FAQ). */
const CHAT_INTERVAL_MS = 1000;
/** A 429 is waited out in place this many times, and only when it asks for this long at most; beyond, the job retries later. */
const FLOOD_RETRIES = 3;
const FLOOD_WAIT_MAX_MS = 30_000;

/** A title longer than this is cut (it is one line in bold). */
const TITLE_MAX = 256;

const SEVERITY_MARK: Record<Alert['severity'], string> = { critical: '🔴', warning: '🟠', info: 'ℹ️' };

/** `<`, `>` and `&` as HTML entities: all Telegram's HTML mode asks for outside tags. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The alert as Telegram HTML: the title in bold, the text, then the context one `key: value` a line. */
export function renderAlert(alert: Alert): string {
  const lines = [`${SEVERITY_MARK[alert.severity]} <b>${escapeHtml(cutTitle(alert.title))}</b>`, '', escapeHtml(alert.text)];
  const context = Object.entries(alert.context ?? {});
  if (context.length > 0) {
    lines.push('');
    for (const [k, v] of context) lines.push(`${escapeHtml(k)}: ${escapeHtml(String(v))}`);
  }
  return lines.join('\n');
}

function cutTitle(title: string): string {
  const oneLine = title.replace(/\s+/g, ' ').trim();
  return oneLine.length <= TITLE_MAX ? oneLine : `${oneLine.slice(0, TITLE_MAX - 1)}…`;
}

/**
 * Rendered HTML cut into parts of at most `limit` UTF-16 units whose concatenation is the whole. A cut
 * falls after a line break where one is in reach, else between two characters: never inside an entity,
 * a tag or a surrogate pair, and never while a tag is open (the only tag, the title's `<b>`, is short).
 */
export function splitHtml(html: string, limit: number = TELEGRAM_TEXT_LIMIT): string[] {
  const parts: string[] = [];
  let rest = html;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf('\n', limit - 1) + 1;
    if (cut < limit / 2) cut = safeCut(rest, limit);
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest.length > 0 || parts.length === 0) parts.push(rest);
  return parts;
}

/** The largest cut ≤ limit that is outside a tag, an entity, an open `<b>…</b>` and a surrogate pair. */
function safeCut(s: string, limit: number): number {
  let cut = limit;
  const amp = s.lastIndexOf('&', cut - 1);
  if (amp >= 0 && s.indexOf(';', amp) >= cut) cut = amp;
  const lt = s.lastIndexOf('<', cut - 1);
  if (lt >= 0) {
    const gt = s.indexOf('>', lt);
    if (gt >= cut) cut = lt;
    else if (s[lt + 1] !== '/') {
      // an opening tag before the cut: cut before it unless it is closed before the cut too
      const close = s.indexOf('</', gt);
      if (close < 0 || close + s.slice(close).indexOf('>') + 1 > cut) cut = lt;
    }
  }
  const c = s.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--;
  if (cut <= 0) throw new Error('an alert line cannot be cut for Telegram');
  return cut;
}

/** Telegram's answer to a Bot API call. */
interface BotAnswer {
  ok: boolean;
  result?: unknown;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

/** The next free sending moment of each chat in this process (one queue per bot and chat). */
const chatSlots = new Map<string, Promise<number>>();
/** A bot under flood wait is paused for all its chats, until this moment. */
const botPausedUntil = new Map<string, number>();
/**
 * The parts of an alert already in the chat while the rest failed: the job's next attempt (in this
 * process) sends only what is missing. Telegram has no idempotency key; forgotten after an hour.
 */
const partsSent = new Map<string, { parts: Set<number>; at: number }>();
const PARTS_SENT_TTL_MS = 3600_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Alerts to a Telegram chat (or a forum topic) through the Bot API's sendMessage: HTML, split at
 * 4096 characters, info alerts silent. At most one message a second per chat; a 429 is waited out
 * (retry_after) a few times before the job is left to retry. A refused token or chat is a final
 * error whose text never carries the token.
 */
export class TelegramNotifier implements Notifier {
  readonly name = 'telegram';
  private readonly http: HttpTransport;
  private readonly bot: string;
  private readonly chatKey: string;

  constructor(
    private readonly cfg: TelegramChannelConfig,
    private readonly waitFor: (ms: number) => Promise<unknown> = sleep,
  ) {
    this.http = new HttpTransport(cfg.baseUrl, { timeoutMs: cfg.timeoutMs, connections: 2 });
    this.bot = cfg.token.split(':')[0]!;
    this.chatKey = `${this.bot}:${cfg.chatId}`;
  }

  async send(alert: Alert): Promise<void> {
    const html = renderAlert(alert);
    const parts = splitHtml(html);
    const now = Date.now();
    for (const [k, v] of partsSent) if (now - v.at > PARTS_SENT_TTL_MS) partsSent.delete(k);
    const marker = `${this.chatKey}:${this.cfg.threadId ?? ''}:${createHash('sha256').update(html).digest('hex')}`;
    const sent = partsSent.get(marker)?.parts ?? new Set<number>();
    for (let i = 0; i < parts.length; i++) {
      if (sent.has(i) || parts[i]!.trim() === '') continue;
      try {
        await this.inTurn(() => this.sendPart(parts[i]!, alert.severity === 'info'));
      } catch (e) {
        if (sent.size > 0) partsSent.set(marker, { parts: sent, at: Date.now() });
        throw e;
      }
      sent.add(i);
    }
    partsSent.delete(marker);
  }

  /** Runs `fn` when the chat's turn comes: a second after the chat's previous message. */
  private async inTurn(fn: () => Promise<void>): Promise<void> {
    const previous = chatSlots.get(this.chatKey) ?? Promise.resolve(0);
    let release!: (at: number) => void;
    const mine = new Promise<number>((r) => (release = r));
    chatSlots.set(this.chatKey, mine);
    const lastAt = await previous;
    let sentAt = lastAt;
    try {
      const paused = (botPausedUntil.get(this.bot) ?? 0) - Date.now();
      if (paused > FLOOD_WAIT_MAX_MS)
        throw new ExternalError('telegram', `bot ${this.bot} is under Telegram's flood wait for ${Math.ceil(paused / 1000)} s more`, {
          retryable: true,
          code: 'telegram_429',
          retryAfterMs: paused,
        });
      const wait = Math.max(lastAt + CHAT_INTERVAL_MS - Date.now(), paused);
      if (wait > 0) await this.waitFor(wait);
      await fn();
      sentAt = Date.now();
    } finally {
      release(sentAt);
    }
  }

  private async sendPart(text: string, silent: boolean): Promise<void> {
    const body: Record<string, unknown> = {
      chat_id: this.cfg.chatId,
      text,
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
    };
    if (this.cfg.threadId !== undefined) body.message_thread_id = this.cfg.threadId;
    if (silent) body.disable_notification = true;
    for (let attempt = 0; ; attempt++) {
      const answer = await this.post('sendMessage', body);
      if (answer.ok) return;
      const retryAfterMs = (answer.parameters?.retry_after ?? 1) * 1000;
      if (answer.error_code === 429) {
        botPausedUntil.set(this.bot, Date.now() + retryAfterMs);
        if (attempt < FLOOD_RETRIES && retryAfterMs <= FLOOD_WAIT_MAX_MS) {
          await this.waitFor(retryAfterMs);
          continue;
        }
        throw this.error(answer, { retryable: true, retryAfterMs });
      }
      throw this.error(answer, { retryable: (answer.error_code ?? 0) >= 500 });
    }
  }

  /** A Bot API call; its answer's `ok` says how it went, whatever the status. */
  private async post(method: string, body: Record<string, unknown>): Promise<BotAnswer> {
    const what = `${method} (bot ${this.bot})`;
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.http.request({
        method: 'POST',
        path: `bot${this.cfg.token}/${method}`,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(body),
      }));
    } catch (e) {
      const reason = e instanceof NoAnswerError ? e.message : 'no answer';
      throw new ExternalError('telegram', this.scrub(`${what}: ${reason}`), { retryable: true });
    }
    let answer: BotAnswer;
    try {
      answer = JSON.parse(text) as BotAnswer;
    } catch {
      throw new ExternalError('telegram', `${what}: HTTP ${status}, the answer is not Bot API JSON`, {
        retryable: status >= 500 || status === 429,
        code: `http_${status}`,
      });
    }
    if (typeof answer.ok !== 'boolean') answer.ok = status >= 200 && status < 300;
    if (!answer.ok && answer.error_code === undefined) answer.error_code = status;
    return answer;
  }

  private error(answer: BotAnswer, opts: { retryable: boolean; retryAfterMs?: number }): ExternalError {
    const code = answer.error_code ?? 0;
    const description = this.scrub(answer.description ?? 'no description');
    const chat = `chat ${this.cfg.chatId}${this.cfg.threadId !== undefined ? `, topic ${this.cfg.threadId}` : ''}`;
    let message = `sendMessage to ${chat} (bot ${this.bot}): ${code} ${description}`;
    const migrated = answer.parameters?.migrate_to_chat_id;
    if (migrated !== undefined)
      message = `the Telegram group became a supergroup: set the alert channel's chatId to ${migrated} (was ${this.cfg.chatId}); ${description}`;
    else if (code === 401) message += ' — the bot token is wrong or revoked';
    else if (code === 403) message += ' — the bot is not a member of the chat or was blocked';
    else if (code === 400 && /chat not found/i.test(description)) message += ' — check chatId, and that the bot was added to the chat';
    return new ExternalError('telegram', message, { ...opts, code: `telegram_${code}` });
  }

  /** Whatever a text holds, the token is not left in it. */
  private scrub(s: string): string {
    return s.split(this.cfg.token).join('bot<token>');
  }
}
