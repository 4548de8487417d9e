import { z } from 'zod';

/** A register group in ATOL Online (organizations[].fiscal.registers[] of type atol-online). */
export const atolOnlineConfig = z.object({
  /** v5 (ФФД 1.2); the test stand is https://testonline.atol.ru/possystem/v5/ */
  baseUrl: z.url().default('https://online.atol.ru/possystem/v5/'),
  login: z.string().min(1),
  password: z.string().min(1),
  /** The register group (group_code) in the ATOL account. */
  groupCode: z.string().min(1).max(64),
  timeoutMs: z.number().int().min(1000).default(30_000),
  /** Ask for the report when no callback came within this (ATOL's advice: 300 s). */
  reportAfterSeconds: z.number().min(1).default(300),
  /** Then ask again every so often while the receipt waits. */
  pollEverySeconds: z.number().min(1).default(30),
  /** Send service.callback_url with each receipt (off: reports are polled only). */
  callbacks: z.boolean().default(true),
});

export type AtolOnlineOptions = z.infer<typeof atolOnlineConfig>;
