import { z } from 'zod';

/** organizations[].providers.tbank: a terminal of T-Bank's internet acquiring (cards and СБП). */
export const tbankConfig = z.object({
  baseUrl: z.url().default('https://securepay.tinkoff.ru/v2/'),
  terminalKey: z.string().min(1),
  /** The terminal's password: signs every request and every notification (Token). */
  password: z.string().min(1),
  timeoutMs: z.number().int().min(100).default(15000),
  /**
   * The registry of operations in the T-Business OpenAPI (`GET api/v1/tacq/operations/terminal/{terminalKey}`),
   * read by the history agent; without it the agent skips this provider (the janitor still asks GetState).
   */
  operations: z.object({ baseUrl: z.url().default('https://business.tbank.ru/openapi/'), token: z.string().min(1) }).optional(),
});

export type TbankConfig = z.infer<typeof tbankConfig>;
