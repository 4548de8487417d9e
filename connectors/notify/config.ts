import { z } from 'zod';

/** An alert channel: the gateway's log, a webhook, or a Telegram chat. */
export const webhookChannelConfig = z.object({
  type: z.literal('webhook'),
  url: z.url(),
  /** Signs each alert (`X-Signature: sha256=<HMAC of the body>`). */
  secret: z.string().min(16).optional(),
  timeoutMs: z.number().int().min(100).default(10_000),
});

/** A Telegram chat (a group, a channel, a forum topic) a bot posts alerts to. */
export const telegramChannelConfig = z.object({
  type: z.literal('telegram'),
  /** The bot's token from @BotFather (`123456:ABC…`). */
  token: z.string().regex(/^\d+:[A-Za-z0-9_-]{20,}$/, 'a bot token as @BotFather gives it: <digits>:<letters>'),
  /** A chat id (a group's is negative) or a public channel's @name. */
  chatId: z.union([z.number().int(), z.string().regex(/^@[A-Za-z0-9_]{5,32}$/, 'a chat id or @channelname')]),
  /** A forum topic of a supergroup. */
  threadId: z.number().int().positive().optional(),
  baseUrl: z.url().default('https://api.telegram.org'),
  timeoutMs: z.number().int().min(100).default(10_000),
});

export const alertChannelConfig = z.discriminatedUnion('type', [
  z.object({ type: z.literal('log') }),
  webhookChannelConfig,
  telegramChannelConfig,
]);

export type WebhookChannelConfig = z.infer<typeof webhookChannelConfig>;
export type TelegramChannelConfig = z.infer<typeof telegramChannelConfig>;
export type AlertChannelConfig = z.infer<typeof alertChannelConfig>;
