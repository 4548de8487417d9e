import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Context } from 'koa';
import getRawBody from 'raw-body';

/**
 * An emulator of the Telegram Bot API's sendMessage and getMe (`/bot<token>/<method>`, JSON, form or
 * query string). As strict as Telegram: an unknown token is 401 Unauthorized, an unknown chat 400
 * "chat not found", a text over 4096 characters after entities parsing 400 "message is too long",
 * HTML with unbalanced or unsupported tags (or a bare `<` or `&`) 400 "can't parse entities"; more
 * than one message a second in a chat is 429 with `parameters.retry_after`. Knobs force 429s, a
 * migrated group, a kicked bot. Every accepted message, and every refused attempt, is recorded.
 *
 * Stricter than Telegram on one point: Telegram lets a bare `&` through as text, the emulator
 * refuses it, so that an unescaped `&` is caught before it meets a `&lt;`-like sequence.
 */

export interface TelegramBot {
  token: string;
  username: string;
}

export interface TelegramChat {
  /** A numeric id (groups are negative) or a channel's @name. */
  id: number | string;
  type: 'private' | 'group' | 'supergroup' | 'channel';
  title?: string;
  /** Forum topics (message_thread_id) of a supergroup. */
  threads?: number[];
  /** The group became this supergroup: messages to the old id are refused with migrate_to_chat_id. */
  migratedTo?: number;
  /** The bot was removed from the chat. */
  kicked?: boolean;
}

export interface TelegramKnobs {
  /** The next N sendMessage calls answer 429 with `forceRetryAfter` (whatever the pace). */
  force429: number;
  forceRetryAfter: number;
  /** Minimum gap between two messages in one chat, ms (Telegram: about a second). */
  chatIntervalMs: number;
  /** Answers 502 Bad Gateway (an HTML page) to everything. */
  down: boolean;
}

export const DEFAULT_TELEGRAM_KNOBS: TelegramKnobs = { force429: 0, forceRetryAfter: 1, chatIntervalMs: 1000, down: false };

export interface TelegramMessage {
  messageId: number;
  chatId: string;
  threadId: number | null;
  /** The text as sent (HTML source when parse_mode is HTML). */
  text: string;
  /** The text after entities parsing: what the chat shows. */
  shown: string;
  parseMode: string | null;
  disableNotification: boolean;
  at: number;
}

export interface TelegramAttempt {
  method: string;
  chatId: string | null;
  status: number;
  description: string | null;
  at: number;
}

export const TEXT_LIMIT = 4096;
const HTML_TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'a',
  'code',
  'pre',
  'tg-spoiler',
  'span',
  'blockquote',
  'tg-emoji',
]);
const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

class ParseError extends Error {}

const byteOffset = (s: string, i: number) => Buffer.byteLength(s.slice(0, i), 'utf8');

/** Telegram's HTML parse mode: the text shown, or a ParseError worded as Telegram words it. */
export function parseTelegramHtml(html: string): string {
  let out = '';
  const open: { name: string; at: number }[] = [];
  let i = 0;
  while (i < html.length) {
    const ch = html[i]!;
    if (ch === '<') {
      const end = html.indexOf('>', i);
      if (end < 0) throw new ParseError(`Unclosed start tag at byte offset ${byteOffset(html, i)}`);
      const inner = html.slice(i + 1, end);
      if (inner.startsWith('/')) {
        const name = inner.slice(1).trim().toLowerCase();
        const top = open.pop();
        if (!top) throw new ParseError(`Unexpected end tag at byte offset ${byteOffset(html, i)}`);
        if (name !== '' && name !== top.name)
          throw new ParseError(`Unmatched end tag at byte offset ${byteOffset(html, i)}, expected "</${top.name}>", found "</${name}>"`);
      } else {
        const name = (/^[a-z-]*/i.exec(inner)?.[0] ?? '').toLowerCase();
        if (!HTML_TAGS.has(name)) throw new ParseError(`Unsupported start tag "${name}" at byte offset ${byteOffset(html, i)}`);
        open.push({ name, at: i });
      }
      i = end + 1;
    } else if (ch === '&') {
      const m = /^&(?:([a-z]+)|#(\d{1,7})|#x([0-9a-f]{1,6}));/i.exec(html.slice(i, i + 12));
      const decoded = m
        ? m[1] !== undefined
          ? NAMED_ENTITIES[m[1].toLowerCase()]
          : String.fromCodePoint(m[2] !== undefined ? Number(m[2]) : parseInt(m[3]!, 16))
        : undefined;
      if (decoded === undefined)
        throw new ParseError(`Character '&' at byte offset ${byteOffset(html, i)} is not an entity and must be escaped as &amp;`);
      out += decoded;
      i += m![0].length;
    } else {
      out += ch;
      i++;
    }
  }
  const unclosed = open.pop();
  if (unclosed) throw new ParseError(`Can't find end tag corresponding to start tag "${unclosed.name}"`);
  return out;
}

export class TelegramEmulator {
  knobs: TelegramKnobs;
  readonly messages: TelegramMessage[] = [];
  readonly attempts: TelegramAttempt[] = [];
  private readonly lastInChat = new Map<string, number>();
  private server: Server | null = null;
  private nextMessageId = 1;
  url = '';

  constructor(
    readonly bots: TelegramBot[],
    readonly chats: TelegramChat[],
    knobs: Partial<TelegramKnobs> = {},
  ) {
    this.knobs = { ...DEFAULT_TELEGRAM_KNOBS, ...knobs };
  }

  /** Messages accepted in a chat (and a topic), in order. */
  inChat(chatId: number | string, threadId?: number): TelegramMessage[] {
    return this.messages.filter((m) => m.chatId === String(chatId) && (threadId === undefined || m.threadId === threadId));
  }

  setKnobs(k: Partial<TelegramKnobs>): void {
    Object.assign(this.knobs, k);
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    const app = new Koa();
    app.silent = true;
    app.use(async (ctx) => {
      if (this.knobs.down) {
        ctx.status = 502;
        ctx.type = 'text/html';
        ctx.body = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>';
        return;
      }
      const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(ctx.path);
      if (!m) return this.answer(ctx, 404, { ok: false, error_code: 404, description: 'Not Found' });
      const bot = this.bots.find((b) => b.token === decodeURIComponent(m[1]!));
      const method = m[2]!.toLowerCase();
      let params: Record<string, unknown>;
      try {
        params = await this.params(ctx);
      } catch {
        return this.refuse(ctx, method, null, 400, "Bad Request: can't parse request JSON object");
      }
      if (!bot) return this.refuse(ctx, method, params.chat_id, 401, 'Unauthorized');
      if (method === 'getme')
        return this.answer(ctx, 200, {
          ok: true,
          result: {
            id: Number(bot.token.split(':')[0]),
            is_bot: true,
            first_name: bot.username,
            username: bot.username,
            can_join_groups: true,
            can_read_all_group_messages: false,
            supports_inline_queries: false,
          },
        });
      if (method === 'sendmessage') return this.sendMessage(ctx, params);
      return this.refuse(ctx, method, params.chat_id, 404, 'Not Found');
    });
    this.server = await new Promise<Server>((resolve) => {
      const s = app.listen(port, host, () => resolve(s));
    });
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s)
      await new Promise<void>((r) => {
        s.close(() => r());
        s.closeAllConnections();
      });
  }

  private sendMessage(ctx: Context, p: Record<string, unknown>): void {
    const rawChat = p.chat_id;
    if (rawChat === undefined || rawChat === '') return this.refuse(ctx, 'sendmessage', null, 400, 'Bad Request: chat_id is empty');
    const chatId = String(rawChat);
    const chat = this.chats.find((c) => String(c.id) === chatId);
    if (!chat) return this.refuse(ctx, 'sendmessage', chatId, 400, 'Bad Request: chat not found');
    if (chat.migratedTo !== undefined)
      return this.refuse(ctx, 'sendmessage', chatId, 400, 'Bad Request: group chat was upgraded to a supergroup chat', {
        migrate_to_chat_id: chat.migratedTo,
      });
    if (chat.kicked) return this.refuse(ctx, 'sendmessage', chatId, 403, 'Forbidden: bot was kicked from the group chat');
    const text = typeof p.text === 'string' ? p.text : p.text === undefined ? '' : String(p.text);
    const parseMode = p.parse_mode === undefined || p.parse_mode === '' ? null : String(p.parse_mode);
    if (parseMode !== null && !['HTML', 'MarkdownV2', 'Markdown'].includes(parseMode))
      return this.refuse(ctx, 'sendmessage', chatId, 400, 'Bad Request: unsupported parse_mode');
    let shown = text;
    if (parseMode === 'HTML') {
      try {
        shown = parseTelegramHtml(text);
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        return this.refuse(ctx, 'sendmessage', chatId, 400, `Bad Request: can't parse entities: ${e.message}`);
      }
    }
    if (shown.trim() === '') return this.refuse(ctx, 'sendmessage', chatId, 400, 'Bad Request: message text is empty');
    if (shown.length > TEXT_LIMIT) return this.refuse(ctx, 'sendmessage', chatId, 400, 'Bad Request: message is too long');
    let threadId: number | null = null;
    if (p.message_thread_id !== undefined && p.message_thread_id !== '') {
      threadId = Number(p.message_thread_id);
      if (!chat.threads?.includes(threadId)) return this.refuse(ctx, 'sendmessage', chatId, 400, 'Bad Request: message thread not found');
    }
    const now = Date.now();
    if (this.knobs.force429 > 0) {
      this.knobs.force429--;
      return this.tooMany(ctx, chatId, this.knobs.forceRetryAfter);
    }
    const last = this.lastInChat.get(chatId);
    if (last !== undefined && now - last < this.knobs.chatIntervalMs)
      return this.tooMany(ctx, chatId, Math.max(1, Math.ceil((last + this.knobs.chatIntervalMs - now) / 1000)));
    this.lastInChat.set(chatId, now);
    const silent = p.disable_notification === true || p.disable_notification === 'true';
    const message: TelegramMessage = {
      messageId: this.nextMessageId++,
      chatId,
      threadId,
      text,
      shown,
      parseMode,
      disableNotification: silent,
      at: now,
    };
    this.messages.push(message);
    this.attempts.push({ method: 'sendmessage', chatId, status: 200, description: null, at: now });
    this.answer(ctx, 200, {
      ok: true,
      result: {
        message_id: message.messageId,
        ...(threadId !== null ? { message_thread_id: threadId, is_topic_message: true } : {}),
        from: { id: 1, is_bot: true, first_name: 'bot' },
        chat: { id: chat.id, type: chat.type, ...(chat.title ? { title: chat.title } : {}) },
        date: Math.floor(now / 1000),
        text: shown,
      },
    });
  }

  private tooMany(ctx: Context, chatId: string, retryAfter: number): void {
    this.refuse(ctx, 'sendmessage', chatId, 429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });
  }

  private refuse(
    ctx: Context,
    method: string,
    chatId: unknown,
    code: number,
    description: string,
    parameters?: Record<string, number>,
  ): void {
    this.attempts.push({
      method,
      chatId: chatId === undefined || chatId === null ? null : String(chatId),
      status: code,
      description,
      at: Date.now(),
    });
    this.answer(ctx, code, { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) });
  }

  private answer(ctx: Context, status: number, body: unknown): void {
    ctx.status = status;
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(body);
  }

  /** The call's parameters: the query string, then a JSON or form body over it. */
  private async params(ctx: Context): Promise<Record<string, unknown>> {
    const params: Record<string, unknown> = { ...ctx.query };
    if (ctx.method !== 'POST') return params;
    const raw = (await getRawBody(ctx.req, { limit: '1mb' })).toString('utf8');
    if (raw === '') return params;
    const type = String(ctx.get('content-type')).toLowerCase();
    if (type.startsWith('application/json')) {
      const body: unknown = JSON.parse(raw);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
      return { ...params, ...(body as Record<string, unknown>) };
    }
    if (type.startsWith('application/x-www-form-urlencoded')) return { ...params, ...Object.fromEntries(new URLSearchParams(raw)) };
    throw new Error('unsupported body');
  }
}
