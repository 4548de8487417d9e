import fc from 'fast-check';
import type { z } from 'zod';

/**
 * A fast-check arbitrary of the values a zod 4 schema describes, read from the schema's definition:
 * objects, arrays, strings (lengths, email, URL, GUID, regex), numbers (integer, bounds), enums,
 * literals, unions, optional, nullable and default. Custom refinements (ИНН check digits, totals)
 * are not known here, so some values are refused by them: both sides get exercised.
 */

interface Def {
  type: string;
  [k: string]: any;
}
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;
const checksOf = (d: Def): Def[] => (d.checks ?? []).map((c: unknown) => defOf(c));

const MAX_STRING = 40;
const MAX_ARRAY = 4;

function bounds(d: Def): { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean; int: boolean } {
  const b: ReturnType<typeof bounds> = { int: false };
  for (const c of checksOf(d)) {
    if (c.check === 'number_format') b.int = true;
    if (c.check === 'greater_than' && (b.min === undefined || c.value > b.min)) {
      b.min = Number(c.value);
      b.minExclusive = !c.inclusive;
    }
    if (c.check === 'less_than' && (b.max === undefined || c.value < b.max)) {
      b.max = Number(c.value);
      b.maxExclusive = !c.inclusive;
    }
  }
  return b;
}

function lengths(d: Def): { min: number; max: number } {
  let min = 0;
  let max = Infinity;
  for (const c of checksOf(d)) {
    if (c.check === 'min_length') min = Math.max(min, c.minimum);
    if (c.check === 'max_length') max = Math.min(max, c.maximum);
    if (c.check === 'length_equals') min = max = c.length;
  }
  return { min, max };
}

function stringArb(d: Def): fc.Arbitrary<string> {
  const regex = checksOf(d).find((c) => c.check === 'string_format' && c.format === 'regex')?.pattern as RegExp | undefined;
  if (d.format === 'email') return fc.emailAddress();
  if (d.format === 'url') return fc.webUrl();
  if (d.format === 'guid' || d.format === 'uuid') return fc.uuid();
  if (regex) return fc.stringMatching(regex);
  const { min, max } = lengths(d);
  return fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.min(max, Math.max(min, MAX_STRING)) });
}

function numberArb(d: Def): fc.Arbitrary<number> {
  const b = bounds(d);
  if (b.int) {
    const min = b.min === undefined ? Number.MIN_SAFE_INTEGER : Math.ceil(b.min) + (b.minExclusive && Number.isInteger(b.min) ? 1 : 0);
    const max = b.max === undefined ? Number.MAX_SAFE_INTEGER : Math.floor(b.max) - (b.maxExclusive && Number.isInteger(b.max) ? 1 : 0);
    return fc.oneof(fc.integer({ min, max }), fc.integer({ min, max: Math.min(max, min + 1000) }));
  }
  return fc.double({
    min: b.min,
    max: b.max,
    minExcluded: b.minExclusive,
    maxExcluded: b.maxExclusive,
    noNaN: true,
    noDefaultInfinity: true,
  });
}

export function zodArbitrary(schema: z.ZodType): fc.Arbitrary<unknown> {
  const d = defOf(schema);
  switch (d.type) {
    case 'string':
      return stringArb(d);
    case 'number':
      return numberArb(d);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'enum':
      return fc.constantFrom(...(Object.values(d.entries) as string[]));
    case 'literal':
      return fc.constantFrom(...(d.values as unknown[]));
    case 'optional':
      return fc.option(zodArbitrary(d.innerType), { nil: undefined });
    case 'nullable':
      return fc.option(zodArbitrary(d.innerType), { nil: null });
    case 'default':
    case 'prefault':
      return fc.option(zodArbitrary(d.innerType), { nil: undefined });
    case 'array': {
      const { min, max } = lengths(d);
      return fc.array(zodArbitrary(d.element), { minLength: min, maxLength: Math.min(max, Math.max(min, MAX_ARRAY)) });
    }
    case 'union':
      return fc.oneof(...(d.options as z.ZodType[]).map(zodArbitrary));
    case 'pipe':
      return zodArbitrary(d.in);
    case 'object': {
      const shape = d.shape as Record<string, z.ZodType>;
      const fields = Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, zodArbitrary(v)]));
      // an optional field's undefined is left out, as JSON would
      return fc
        .record(fields)
        .map((o) => Object.fromEntries(Object.entries(o as Record<string, unknown>).filter(([, v]) => v !== undefined)));
    }
    default:
      throw new Error(`zodArbitrary: no arbitrary for a zod ${d.type}`);
  }
}
