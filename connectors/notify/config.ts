import { z } from 'zod';

/**
 * A channel's name, what `alerts.routes` and `alerts.digest` call it by. Default: its type (`telegram`),
 * or `<type>-<n>` (the n-th of that type, from 1) when there are several of one type.
 */
const channelName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase latin letters, digits, "-" and "_"')
  .refine((n) => n !== 'digest', { message: '"digest" names the daily digest in routes: choose another name' });

/** An alert channel: the gateway's log, a webhook, e-mail, or a Telegram chat. */
export const webhookChannelConfig = z.object({
  type: z.literal('webhook'),
  name: channelName.optional(),
  url: z.url(),
  /** Signs each alert (`X-Signature: sha256=<HMAC of the body>`). */
  secret: z.string().min(16).optional(),
  timeoutMs: z.number().int().min(100).default(10_000),
});

/** An SMTP server the gateway sends e-mail through (one pooled transport per server and account). */
export const smtpConfig = z
  .object({
    host: z.string().min(1),
    /** 465 with `secure: true` (TLS from the start), or 587/25 with STARTTLS when the server offers it. */
    port: z.number().int().min(1).max(65_535).default(587),
    secure: z.boolean().default(false),
    /** Without `secure`: refuse to go on unless STARTTLS succeeds. Default: yes when there is a login to send. */
    requireTLS: z.boolean().optional(),
    user: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** The sender as the reader sees it, e.g. `Шлюз оплат <alerts@shop.example>`. */
    from: z.string().regex(/^(?:[^<>]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/, 'an address, or a name and <address>'),
    timeoutMs: z.number().int().min(100).default(30_000),
    /** Connections kept open to the server. */
    maxConnections: z.number().int().min(1).max(20).default(2),
  })
  .refine((c) => (c.user === undefined) === (c.password === undefined), { message: 'user and password go together', path: ['password'] });

/** Alerts by e-mail to support's addresses. */
export const emailChannelConfig = z.object({
  type: z.literal('email'),
  name: channelName.optional(),
  smtp: smtpConfig,
  to: z.array(z.email()).min(1),
});

/** Messages to an organization's buyers (invoice reminders with the invoice attached) by e-mail. */
export const buyerEmailConfig = z.object({
  smtp: smtpConfig,
  /** Where buyers' answers go (the accountant), when not to `from`. */
  replyTo: z.email().optional(),
});

/** A Telegram chat (a group, a channel, a forum topic) a bot posts alerts to. */
export const telegramChannelConfig = z.object({
  type: z.literal('telegram'),
  name: channelName.optional(),
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
  z.object({ type: z.literal('log'), name: channelName.optional() }),
  webhookChannelConfig,
  emailChannelConfig,
  telegramChannelConfig,
]);

export type WebhookChannelConfig = z.infer<typeof webhookChannelConfig>;
export type SmtpConfig = z.infer<typeof smtpConfig>;
export type EmailChannelConfig = z.infer<typeof emailChannelConfig>;
export type BuyerEmailConfig = z.infer<typeof buyerEmailConfig>;
export type TelegramChannelConfig = z.infer<typeof telegramChannelConfig>;
export type AlertChannelConfig = z.infer<typeof alertChannelConfig>;

/** Each channel's name as routes call it: its own, else its type, numbered when the type repeats. */
export function alertChannelNames(channels: readonly { type: string; name?: string }[]): string[] {
  const ofType = (t: string) => channels.filter((c) => c.type === t).length;
  const seen = new Map<string, number>();
  return channels.map((c) => {
    const n = (seen.get(c.type) ?? 0) + 1;
    seen.set(c.type, n);
    return c.name ?? (ofType(c.type) > 1 ? `${c.type}-${n}` : c.type);
  });
}
