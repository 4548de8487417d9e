import { z } from 'zod';

/** organizations[].siteWebhook: where payment status changes are posted for the website. */
export const siteWebhookConfig = z.object({
  url: z.url(),
  /** Signs each event (`X-Signature: sha256=<HMAC of the body>`). */
  secret: z.string().min(16),
  timeoutMs: z.number().int().min(100).default(10_000),
});

export type SiteWebhookConfig = z.infer<typeof siteWebhookConfig>;
