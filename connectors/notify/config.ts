import { z } from 'zod';

/** An alert channel: the gateway's log, or a webhook. */
export const webhookChannelConfig = z.object({
  type: z.literal('webhook'),
  url: z.url(),
  /** Signs each alert (`X-Signature: sha256=<HMAC of the body>`). */
  secret: z.string().min(16).optional(),
  timeoutMs: z.number().int().min(100).default(10_000),
});

export const alertChannelConfig = z.discriminatedUnion('type', [z.object({ type: z.literal('log') }), webhookChannelConfig]);

export type WebhookChannelConfig = z.infer<typeof webhookChannelConfig>;
export type AlertChannelConfig = z.infer<typeof alertChannelConfig>;
