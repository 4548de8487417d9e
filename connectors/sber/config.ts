import { z } from 'zod';

/** How the bank signs its callbacks: an HMAC with a shared secret, or RSA with the bank's key. */
const callback = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('symmetric'), secret: z.string().min(8) }),
  z.object({
    mode: z.literal('asymmetric'),
    /** The bank's public key or certificate, PEM. */
    publicKey: z.string().includes('-----BEGIN', { message: 'a PEM public key or certificate' }),
  }),
]);

/** organizations[].providers.sber: a merchant of Sber's acquiring (cards and СБП). */
export const sberConfig = z
  .object({
    baseUrl: z.url().default('https://securepayments.sberbank.ru/payment/rest/'),
    userName: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    callback,
    /** Pass our callback URL with every order (`dynamicCallbackUrl`); off when the bank has it fixed in the merchant settings. */
    dynamicCallbackUrl: z.boolean().default(true),
    timeoutMs: z.number().int().min(100).default(15000),
  })
  .refine((s) => Boolean(s.token) || (Boolean(s.userName) && Boolean(s.password)), {
    message: 'either token, or userName and password',
  });

export type SberConfig = z.infer<typeof sberConfig>;
