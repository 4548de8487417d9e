import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { isAlias, isMap, isScalar, LineCounter, parse as parseYaml, parseDocument, type Document, type YAMLMap } from 'yaml';
import { z } from 'zod';
import { OneCError } from '../../gateway/ports';

/**
 * A mapping says, as data, how the gateway's canonical objects become objects of one 1C
 * configuration: which documents, which fields, how a payment row settles an order. The gateway
 * ships `mappings/ut11.yaml` (УТ 11.5, also КА 2.5 / ERP 2.5) and `mappings/unf.yaml` (УНФ);
 * a base with other names gets its own file, with no change to the code.
 */

/** A field value: a constant, or a text with `{{path}}` placeholders (`{{payment.amount}}`). */
const template = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const fieldMap = z.record(z.string(), template);

const documentSpec = z.object({
  entity: z.string().min(1),
  /** Header field holding the gateway's marker: how the document is found again (idempotency). */
  marker: z.string().min(1),
  /** How long the marker field is (a longer marker would be cut by 1C and never found). */
  markerLength: z.number().int().min(8).default(30),
  /** The document's total (read back and compared). */
  amountField: z.string().default('СуммаДокумента'),
  /** An OData condition that tells this kind of document apart (e.g. its operation). */
  kindFilter: z.string().optional(),
  /**
   * The bank's payment order as a bank receipt holds it (what a statement import into 1C fills): how
   * the accountant's own import of a transfer is found before the gateway writes one, and how 1C's
   * bank receipts are read as a statement.
   */
  incoming: z
    .object({
      number: z.string().min(1),
      date: z.string().min(1),
      /** The payer (a Catalog of counterparties: its ИНН and КПП are read from mapping.counterparty). */
      counterparty: z.string().min(1),
      purpose: z.string().optional(),
      /** The УИП (field 22 «Код»), where the document has one. */
      uip: z.string().optional(),
      /** The organization's account the money came to, and the catalog holding its number. */
      account: z.string().optional(),
      accountEntity: z.string().optional(),
      accountNumber: z.string().default('НомерСчета'),
    })
    .optional(),
  fields: fieldMap,
  rows: z.object({
    section: z.string().min(1),
    /** The row's amount (read back and compared, summed for "already paid"). */
    amountField: z.string().min(1),
    fields: fieldMap,
  }),
});
export type DocumentSpec = z.infer<typeof documentSpec>;

export const mappingSchema = z.object({
  name: z.string(),
  /** 1C's server time zone: OData dates carry none. */
  timeZone: z.string().default('Europe/Moscow'),
  order: z.object({
    entity: z.string(),
    /** How a site order without a 1C ref is found: by this field holding its number. */
    lookupBy: z.string().default('Number'),
    fields: z.object({
      number: z.string().default('Number'),
      date: z.string().default('Date'),
      total: z.string().default('СуммаДокумента'),
      counterparty: z.string(),
      partner: z.string().optional(),
      organization: z.string().optional(),
      agreement: z.string().optional(),
      settlementObject: z.string().optional(),
      status: z.string().optional(),
    }),
    rows: z.object({
      section: z.string(),
      item: z.string(),
      quantity: z.string(),
      price: z.string(),
      amount: z.string(),
      vatRate: z.string().optional(),
      cancelled: z.string().optional(),
    }),
    /** The order's status once paid (e.g. КОтгрузке); null leaves it alone. */
    paidStatus: z.string().nullable().default(null),
    /** Where the payment link of a manager-created order is written back; null: nowhere. */
    paymentLinkField: z.string().nullable().default(null),
    /** Extra OData condition choosing the manager-created orders to pick up (pull). */
    pullFilter: z.string().optional(),
    /** Values of fields.status meaning the goods are handed over (the shipment receipt is then due). */
    shippedStatuses: z.array(z.string()).default([]),
  }),
  /**
   * How a payment row settles the order: `object` (УТ 11.5: the order's ОбъектРасчетов) or `order`
   * (older releases and УНФ: the order itself). Each names the row fields it sets.
   */
  settlement: z.object({
    by: z.enum(['object', 'order']),
    object: fieldMap.optional(),
    order: fieldMap.optional(),
  }),
  counterparty: z.object({
    entity: z.string(),
    fields: z.object({ name: z.string(), fullName: z.string().optional(), inn: z.string().optional(), kpp: z.string().optional() }),
  }),
  item: z.object({ entity: z.string(), fields: z.object({ name: z.string(), sku: z.string().optional() }) }),
  vatRate: z.object({ entity: z.string(), field: z.string() }).optional(),
  /**
   * Invoices managers make in 1C, picked up by the pull (optional): the document, its header fields,
   * the order it is based on, its payment schedule and (УНФ) its own goods.
   */
  invoiceSource: z
    .object({
      entity: z.string(),
      fields: z.object({
        number: z.string().default('Number'),
        date: z.string().default('Date'),
        total: z.string().default('СуммаДокумента'),
        counterparty: z.string(),
        /** The composite ДокументОснование: the order the invoice is for. */
        base: z.string(),
        /** A boolean meaning annulled (УТ Аннулирован); УНФ has none (deletion marks and unposting count). */
        annulled: z.string().optional(),
        uip: z.string().optional(),
      }),
      /** The payment schedule: the last row's date is the due date. */
      schedule: z.object({ section: z.string(), date: z.string() }).optional(),
      /** The invoice's own goods (УНФ Запасы); without them the lines are read from the base order. */
      rows: z
        .object({
          section: z.string(),
          item: z.string(),
          quantity: z.string(),
          price: z.string(),
          amount: z.string(),
          vatRate: z.string().optional(),
        })
        .optional(),
      pullFilter: z.string().optional(),
      /**
       * How the gateway has 1C make an invoice for a site order (optional): the header fields ({{order.*}},
       * {{refs.*}}, {{invoice.*}}), the schedule row's, and the field holding the gateway's marker.
       */
      create: z
        .object({
          marker: z.string(),
          fields: fieldMap,
          scheduleFields: fieldMap.default({}),
        })
        .optional(),
    })
    .optional(),
  /** Buyers' contracts, where the deferral and credit terms live (optional). */
  contract: z
    .object({
      entity: z.string(),
      /** How a contract names its buyer: a Контрагент_Key field, or the owner (`Owner` composite). */
      counterparty: z.string(),
      /** An OData condition a valid contract meets (УТ Статус eq 'Действует', УНФ Недействителен eq false). */
      validFilter: z.string().optional(),
      /** The newest first by this date. */
      orderBy: z.string().optional(),
      fields: z.object({
        name: z.string().default('Description'),
        deferredDays: z.string().optional(),
        deferredSet: z.string().optional(),
        creditLimit: z.string().optional(),
        creditLimitSet: z.string().optional(),
        blockOverdue: z.string().optional(),
      }),
    })
    .optional(),
  documents: z.object({
    card: documentSpec,
    sbp: documentSpec.optional(),
    invoice: documentSpec,
    refundCard: documentSpec,
    refundSbp: documentSpec.optional(),
    refundInvoice: documentSpec.optional(),
  }),
});
export type Mapping = z.infer<typeof mappingSchema>;

export const MAPPINGS_DIR = resolve(__dirname, '../../mappings');

/** The file of a mapping named `ut11`/`unf` (mappings/) or given by its path. */
export function mappingFile(nameOrPath: string): string {
  return existsSync(join(MAPPINGS_DIR, `${nameOrPath}.yaml`))
    ? join(MAPPINGS_DIR, `${nameOrPath}.yaml`)
    : isAbsolute(nameOrPath)
      ? nameOrPath
      : resolve(nameOrPath);
}

/** Loads a mapping by name (`ut11`, `unf`: files in mappings/) or by path; errors name the key. */
export function loadMapping(nameOrPath: string): Mapping {
  const file = mappingFile(nameOrPath);
  if (!existsSync(file)) throw new Error(`mapping "${nameOrPath}": no file ${file} (built in: ut11, unf)`);
  const r = mappingSchema.safeParse(parseYaml(readFileSync(file, 'utf8'), { merge: true }));
  if (!r.success) throw new Error(`mapping ${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const m = r.data;
  if (!m.settlement[m.settlement.by])
    throw new Error(`mapping ${file}: settlement.by is "${m.settlement.by}" but settlement.${m.settlement.by} is not given`);
  return m;
}

/**
 * The line of a key in a mapping file (`['documents', 'card', 'marker']` → 58); a key that comes
 * from a merged anchor (`<<: *card`) is found where the anchor defines it.
 */
export function mappingLines(file: string): (path: (string | number)[]) => number | undefined {
  const lc = new LineCounter();
  const doc: Document = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lc, merge: true });
  const find = (map: YAMLMap, key: string | number): { line?: number; value: unknown } | undefined => {
    for (const pair of map.items) {
      if (isScalar(pair.key) && String(pair.key.value) === String(key))
        return { line: pair.key.range ? lc.linePos(pair.key.range[0]).line : undefined, value: pair.value };
    }
    for (const pair of map.items) {
      if (!isScalar(pair.key) || pair.key.value !== '<<') continue;
      const src = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
      if (isMap(src)) {
        const hit = find(src, key);
        if (hit) return hit;
      }
    }
    return undefined;
  };
  return (path) => {
    let node: unknown = doc.contents;
    let line: number | undefined;
    for (const key of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const hit = find(node, key);
        if (!hit) return line;
        line = hit.line ?? line;
        node = hit.value;
      } else if (node && typeof node === 'object' && 'items' in node && typeof key === 'number') {
        const item = (node as { items: { range?: [number, number, number] }[] }).items[key];
        if (item?.range) line = lc.linePos(item.range[0]).line;
        return line;
      } else return line;
    }
    return line;
  };
}

export type TemplateContext = Record<string, Record<string, unknown> | undefined>;

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.| ]+?)\s*\}\}/g;

const EMPTY = new Set([undefined, null, '', '00000000-0000-0000-0000-000000000000', '0001-01-01T00:00:00']);

/** `a.b` or `a.b || c.d`: the first that has a value (an empty 1C ref or date counts as none). */
function lookup(ctx: TemplateContext, expr: string, field: string): unknown {
  const paths = expr.split('||').map((p) => p.trim());
  for (const path of paths) {
    const [head, ...rest] = path.split('.');
    let v: unknown = ctx[head];
    for (const k of rest) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    if (!EMPTY.has(v as string)) return v;
  }
  const ref = paths.find((p) => p.startsWith('refs.'));
  throw new OneCError(
    'mapping',
    `mapping: ${field} = {{${expr}}} has no value`,
    `Сопоставление (mapping): для поля ${field} нет значения {{${expr}}}.${ref ? ` Укажите organizations[].onec.refs.${ref.slice(5)} в настройках шлюза.` : ''}`,
  );
}

/** Renders every field of a map: a lone placeholder keeps its value's type, anything else is text. */
export function render(fields: Record<string, string | number | boolean | null>, ctx: TemplateContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, t] of Object.entries(fields)) {
    if (typeof t !== 'string') {
      out[field] = t;
      continue;
    }
    const whole = /^\{\{\s*([A-Za-z0-9_.| ]+?)\s*\}\}$/.exec(t);
    out[field] = whole ? lookup(ctx, whole[1], field) : t.replace(PLACEHOLDER, (_m, p: string) => String(lookup(ctx, p, field)));
  }
  return out;
}

/** 1C's local datetime (no zone) for an instant. */
export function onecDate(iso: string, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
}

/** The instant a 1C local datetime means. */
export function fromOnecDate(local: string, timeZone: string): string {
  const guess = new Date(`${local.slice(0, 19)}Z`);
  const shown = onecDate(guess.toISOString(), timeZone);
  const offset = Date.parse(`${shown}Z`) - guess.getTime();
  return new Date(guess.getTime() - offset).toISOString();
}
