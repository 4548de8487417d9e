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

/**
 * organizations[].payments.invoice.statementApi with `type: tbank`: the account's statement read from
 * the T-Business OpenAPI (`GET api/v1/statement`, scope «Счета и выписки»), polled every `everySeconds`.
 */
export const tbankStatementConfig = z.object({
  type: z.literal('tbank'),
  baseUrl: z.url().default('https://business.tbank.ru/openapi/'),
  /** The T-Business API token (Bearer). */
  token: z.string().min(1),
  /** The account read: the one the invoices ask to pay into. */
  accountNumber: z.string().regex(/^\d{20}$/, '20 digits'),
  everySeconds: z.number().min(1).max(86_400).default(300),
  /**
   * Each read starts this long before the newest operation seen: the bank may list an operation
   * later than its date (its final status takes days), and lines already stored are not stored again.
   */
  overlapHours: z
    .number()
    .min(0)
    .max(24 * 31)
    .default(96),
  /** The first read (nothing read before) goes this far back. */
  lookbackDays: z.number().int().min(0).max(365).default(7),
  /** Operations per page (the API takes at most 5000). */
  pageSize: z.number().int().min(1).max(5000).default(1000),
  timeoutMs: z.number().int().min(100).default(15000),
});

export type TbankStatementConfig = z.infer<typeof tbankStatementConfig>;
