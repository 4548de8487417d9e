import { z } from 'zod';

/** A cash register behind the ATOL driver's web server (organizations[].fiscal.registers[] of type atol-driver). */
export const atolDriverConfig = z.object({
  /** The driver's web server (ДТО 10): http://<host>:16732 */
  url: z.url().default('http://127.0.0.1:16732'),
  user: z.string().optional(),
  password: z.string().optional(),
  /** The device of the web server (header deviceID), when it serves several. */
  deviceId: z.string().optional(),
  /** Who the receipt names as the cashier (tags 1021, 1203). */
  operator: z
    .object({
      name: z.string().min(1).max(64),
      vatin: z
        .string()
        .regex(/^\d{12}$/, '12 digits')
        .optional(),
    })
    .default({ name: 'Кассир' }),
  timeoutMs: z.number().int().min(1000).default(15_000),
  /** How often the device is asked for its status (paper, fiscal storage). */
  statusEverySeconds: z.number().min(1).default(60),
});

export type AtolDriverOptions = z.infer<typeof atolDriverConfig>;
