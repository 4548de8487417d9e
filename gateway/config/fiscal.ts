import { z } from 'zod';
import { atolDriverConfig } from '../../connectors/atol-driver/config';
import { atolOnlineConfig } from '../../connectors/atol-online/config';

/**
 * organizations[].fiscal: how the organization's receipts are made (translator: the gateway makes
 * them for the payments it relays; registrar: the site or 1C sends each one) and which cash
 * registers take them.
 */

const registerId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'lowercase latin letters, digits, "-" and "_" (at most 32)');

const atolOnline = atolOnlineConfig.extend({ id: registerId, type: z.literal('atol-online') });
const atolDriver = atolDriverConfig.extend({ id: registerId, type: z.literal('atol-driver') });

const register = z.discriminatedUnion('type', [atolOnline, atolDriver]);

const route = z.object({
  register: registerId,
  method: z.enum(['card', 'sbp', 'invoice']).optional(),
  source: z.enum(['site', 'onec']).optional(),
  /** Registrar requests name their point of sale. */
  pointOfSale: z.string().optional(),
});

export const fiscalSchema = z
  .object({
    mode: z.enum(['off', 'translator', 'registrar']).default('off'),
    /** `default`, `immediate` (mappings/receipts/) or the path of rules of one's own. */
    rules: z.string().default('default'),
    /** Taxation system (tag 1055). */
    sno: z.enum(['osn', 'usn_income', 'usn_income_outcome', 'esn', 'patent']).default('osn'),
    /** The organization's e-mail on the receipt (tag 1117). */
    email: z.email().optional(),
    /** Where the settlement happens (tag 1187): the site's address. Default: server.publicUrl. */
    paymentAddress: z.string().min(1).max(256).optional(),
    /** The zone of the receipts' dates (ATOL's timestamp, the VAT rate's date). */
    timeZone: z.string().default('Europe/Moscow'),
    registers: z.array(register).default([]),
    /** The first route that matches a receipt chooses its register; none matching: the first register. */
    routes: z.array(route).default([]),
    /** Orders read from 1C over OData for shipment (status in the mapping's shippedStatuses), this often. */
    shipmentsEverySeconds: z.number().min(1).default(300),
    /** Receipts waiting for a result are looked at this often. */
    pollEverySeconds: z.number().min(0.2).default(5),
  })
  .superRefine((f, ctx) => {
    if (f.mode !== 'off' && f.registers.length === 0)
      ctx.addIssue({ code: 'custom', path: ['registers'], message: `mode ${f.mode} needs at least one register` });
    const ids = new Set<string>();
    f.registers.forEach((r, i) => {
      if (ids.has(r.id)) ctx.addIssue({ code: 'custom', path: ['registers', i, 'id'], message: `duplicate register id "${r.id}"` });
      ids.add(r.id);
    });
    f.routes.forEach((r, i) => {
      if (!ids.has(r.register))
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'register'], message: `no register "${r.register}" under registers` });
    });
  });

export type FiscalConfig = z.infer<typeof fiscalSchema>;
export type RegisterConfig = FiscalConfig['registers'][number];
export type AtolOnlineConfig = Extract<RegisterConfig, { type: 'atol-online' }>;
export type AtolDriverConfig = Extract<RegisterConfig, { type: 'atol-driver' }>;

export const FISCAL_OFF: FiscalConfig = {
  mode: 'off',
  rules: 'default',
  sno: 'osn',
  timeZone: 'Europe/Moscow',
  registers: [],
  routes: [],
  shipmentsEverySeconds: 300,
  pollEverySeconds: 5,
};
