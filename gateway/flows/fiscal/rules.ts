import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { VAT_CODES } from '../../domain/order';
import { PAYMENT_METHODS, PAYMENT_TYPES } from '../../domain/receipt';
import { STAGES, type ReceiptRules } from '../../domain/receipt-rules';

/** Receipt rules are data (mappings/receipts/*.yaml): loaded and checked here, with the key path in every error. */

export const RECEIPT_RULES_DIR = resolve(__dirname, '../../../mappings/receipts');

const stage = z.object({
  paymentMethod: z.enum(PAYMENT_METHODS),
  paymentObject: z.enum(['item', 'payment']),
  vat: z.enum(['item', 'calculated']),
  payment: z.enum(Object.keys(PAYMENT_TYPES) as [keyof typeof PAYMENT_TYPES, ...(keyof typeof PAYMENT_TYPES)[]]),
});

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD');

export const receiptRulesSchema = z.object({
  name: z.string().min(1),
  handover: z.enum(['later', 'immediate']),
  receiptForCompanyBankTransfer: z.boolean().default(false),
  stages: z.object(Object.fromEntries(STAGES.map((s) => [s, stage])) as Record<(typeof STAGES)[number], typeof stage>),
  generalRate: z.array(z.object({ from: day, code: z.enum(VAT_CODES), calculated: z.enum(VAT_CODES) })).min(1),
  paymentObjects: z
    .object({ goods: z.number().int().min(1).max(33), service: z.number().int().min(1).max(33) })
    .default({ goods: 1, service: 4 }),
  measure: z.number().int().min(0).max(255).default(0),
  nameMax: z.number().int().min(16).max(128).default(128),
});

/** Loads rules by name (`default`: a file in mappings/receipts/) or by path. */
export function loadReceiptRules(nameOrPath: string): ReceiptRules {
  const builtIn = join(RECEIPT_RULES_DIR, `${nameOrPath}.yaml`);
  const file = existsSync(builtIn) ? builtIn : isAbsolute(nameOrPath) ? nameOrPath : resolve(nameOrPath);
  if (!existsSync(file)) throw new Error(`receipt rules "${nameOrPath}": no file ${file} (built in: default, immediate)`);
  const r = receiptRulesSchema.safeParse(parseYaml(readFileSync(file, 'utf8')));
  if (!r.success) throw new Error(`receipt rules ${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}
