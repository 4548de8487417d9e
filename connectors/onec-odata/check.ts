import { SaxesParser } from 'saxes';
import type { DocumentSpec, Mapping } from './mapping';

/**
 * A mapping checked against what a base really has: its `$metadata` (the entity sets of the OData
 * composition, their properties with types, string lengths and enumerations). Every entity, field
 * and enumeration value a mapping names, and the marker's type and length, with the mapping line to
 * fix — the mismatches integrators otherwise find one refused payment at a time.
 */

export interface EdmProperty {
  /** Edm.String, Edm.Guid, Edm.Double, … or StandardODATA.Enum_X */
  type: string;
  maxLength?: number;
  /** A composite-type value (`X` with `X_Type`): a ref or another value. */
  composite?: boolean;
}
export interface EdmEntity {
  properties: Map<string, EdmProperty>;
  /** tabular sections: name → the row type's properties */
  sections: Map<string, Map<string, EdmProperty>>;
}
export interface EdmModel {
  /** The published entity sets. */
  sets: Map<string, EdmEntity>;
  /** Enumerations the metadata lists with their members (`Enum_X` → values). */
  enums: Map<string, string[]>;
  /** Whether the metadata states string lengths at all (MaxLength on some property). */
  statesLengths: boolean;
}

/** Reads an EDMX document (OData v3, as 1C publishes it). */
export function parseMetadata(xml: string): EdmModel {
  const types = new Map<string, Map<string, EdmProperty>>();
  const collections = new Map<string, Map<string, string>>(); // entity type → section → row type
  const setTypes = new Map<string, string>();
  const enums = new Map<string, string[]>();
  let statesLengths = false;
  let current: { name: string; props: Map<string, EdmProperty>; sections: Map<string, string> } | null = null;
  let currentEnum: string[] | null = null;
  const p = new SaxesParser({ xmlns: false });
  const local = (n: string) => n.slice(n.indexOf(':') + 1);
  const strip = (t: string) => t.replace(/^StandardODATA\./, '');
  p.on('opentag', (tag) => {
    const name = local(tag.name);
    const a = tag.attributes as Record<string, string>;
    if (name === 'EntityType' || name === 'ComplexType') {
      current = { name: a.Name, props: new Map(), sections: new Map() };
      types.set(a.Name, current.props);
      collections.set(a.Name, current.sections);
    } else if (name === 'Property' && current) {
      const coll = /^Collection\((.+)\)$/.exec(a.Type ?? '');
      if (coll) current.sections.set(a.Name, strip(coll[1]));
      else {
        const maxLength = a.MaxLength && /^\d+$/.test(a.MaxLength) ? Number(a.MaxLength) : undefined;
        if (maxLength !== undefined) statesLengths = true;
        current.props.set(a.Name, { type: a.Type ?? 'Edm.String', maxLength });
      }
    } else if (name === 'EnumType') {
      currentEnum = [];
      enums.set(a.Name, currentEnum);
    } else if (name === 'Member' && currentEnum) currentEnum.push(a.Name);
    else if (name === 'EntitySet') setTypes.set(a.Name, strip(a.EntityType ?? a.Name));
  });
  p.on('closetag', (tag) => {
    const name = local(tag.name);
    if (name === 'EntityType' || name === 'ComplexType') current = null;
    if (name === 'EnumType') currentEnum = null;
  });
  p.write(xml).close();
  const sets = new Map<string, EdmEntity>();
  for (const [set, type] of setTypes) {
    const sections = new Map<string, Map<string, EdmProperty>>();
    for (const [s, row] of collections.get(type) ?? []) sections.set(s, types.get(row) ?? new Map());
    sets.set(set, { properties: types.get(type) ?? new Map(), sections });
  }
  return { sets, enums, statesLengths };
}

export interface MappingProblem {
  /** The mapping key, e.g. `documents.card.marker`. */
  path: string;
  /** The line of that key in the mapping file, when known. */
  line?: number;
  /** What is wrong, in Russian (an integrator reads it). */
  message: string;
  /** `warning`: a document this organization does not use. */
  severity: 'error' | 'warning';
}

export type DocumentKind = keyof Mapping['documents'];

/** What a template yields: a 1C ref, a number, a date, or text. */
function templateKind(v: unknown): 'ref' | 'number' | 'date' | 'boolean' | 'text' | 'const' {
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v !== 'string') return 'const';
  const whole = /^\{\{\s*([A-Za-z0-9_.| ]+?)\s*\}\}$/.exec(v);
  if (!whole) return /\{\{/.test(v) ? 'text' : 'const';
  const first = whole[1].split('||')[0].trim();
  if (first.startsWith('refs.') || /^(order|original)\.ref$/.test(first)) return 'ref';
  if (/^order\.(partner|counterparty|organization|agreement|settlementObject)$/.test(first)) return 'ref';
  if (first === 'payment.amount' || first === 'order.total' || first === 'invoice.amount') return 'number';
  if (first === 'payment.date' || first === 'order.date') return 'date';
  return 'text';
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length];
}

function suggestion(name: string, known: Iterable<string>): string {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const dd = distance(name.toLowerCase(), k.toLowerCase());
    if (dd < bestD) [best, bestD] = [k, dd];
  }
  return best && bestD <= Math.max(2, Math.floor(name.length / 4)) ? ` (возможно, «${best}»)` : '';
}

const MIN_MARKER = 16;
const MARKER_LENGTH = 36; // a payment id (UUID) as it is

export interface CheckOptions {
  /** The documents this organization writes (others are only warned about). Default: all. */
  documents?: DocumentKind[];
  /** The line of a mapping key (from `mappingLines`). */
  line?: (path: (string | number)[]) => number | undefined;
}

/** Everything in `mapping` that `model` does not have, or that does not fit it. */
export function checkMapping(mapping: Mapping, model: EdmModel, opts: CheckOptions = {}): MappingProblem[] {
  const problems: MappingProblem[] = [];
  const add = (path: (string | number)[], message: string, severity: MappingProblem['severity'] = 'error') =>
    problems.push({ path: path.join('.'), line: opts.line?.(path), message, severity });

  const entity = (path: (string | number)[], set: string, severity: MappingProblem['severity'] = 'error'): EdmEntity | null => {
    const e = model.sets.get(set);
    if (!e)
      add(
        path,
        `${set}: объекта нет в составе стандартного интерфейса OData этой базы (не опубликован или нет в конфигурации)${suggestion(set, model.sets.keys())}`,
        severity,
      );
    return e ?? null;
  };
  const property = (
    path: (string | number)[],
    where: string,
    props: Map<string, EdmProperty>,
    name: string,
    severity: MappingProblem['severity'] = 'error',
  ): EdmProperty | null => {
    const p = props.get(name);
    if (p) return props.has(`${name}_Type`) ? { ...p, composite: true } : p;
    if (name.endsWith('_Type') && props.has(name.slice(0, -5))) return { type: 'Edm.String' };
    add(path, `у ${where} нет свойства «${name}»${suggestion(name, props.keys())}`, severity);
    return null;
  };
  const enumValue = (path: (string | number)[], where: string, prop: EdmProperty, value: string, severity: MappingProblem['severity']) => {
    const m = /^StandardODATA\.(Enum_.+)$/.exec(prop.type);
    const values = m ? model.enums.get(m[1]) : undefined;
    if (values && value !== '' && !values.includes(value))
      add(
        path,
        `«${value}» — не значение перечисления ${m![1].slice(5)} (${where}); есть: ${values.slice(0, 12).join(', ')}${values.length > 12 ? ', …' : ''}`,
        severity,
      );
  };
  /** `Name eq 'value'` pairs of a filter: the names must exist, the values of enumerations be members. */
  const filter = (
    path: (string | number)[],
    where: string,
    props: Map<string, EdmProperty>,
    src: string,
    severity: MappingProblem['severity'],
  ) => {
    for (const m of src.matchAll(/([\p{L}_][\p{L}\p{N}_]*)\s+(?:eq|ne)\s+'((?:[^']|'')*)'/gu)) {
      const p = property(path, where, props, m[1], severity);
      if (p) enumValue(path, where, p, m[2].replace(/''/g, "'"), severity);
    }
  };
  const value = (path: (string | number)[], where: string, prop: EdmProperty, v: unknown, severity: MappingProblem['severity']) => {
    const kind = templateKind(v);
    const t = prop.type;
    if (prop.composite) return;
    if (t === 'Edm.Guid' && kind !== 'ref' && !(kind === 'const' && /^[0-9a-f-]{36}$/i.test(String(v))))
      add(path, `${where}: ссылочное поле (Edm.Guid), а в сопоставлении не ссылка 1С (${JSON.stringify(v)})`, severity);
    else if (t !== 'Edm.Guid' && kind === 'ref')
      add(path, `${where}: поле типа ${t}, а в сопоставлении ссылка (${String(v)}); для ссылки нужно свойство «…_Key»`, severity);
    else if (t === 'Edm.Double' && (kind === 'text' || kind === 'date' || (kind === 'const' && Number.isNaN(Number(v)))))
      add(path, `${where}: числовое поле, а в сопоставлении ${JSON.stringify(v)}`, severity);
    else if (t === 'Edm.Boolean' && kind !== 'boolean')
      add(path, `${where}: поле «Булево», а в сопоставлении ${JSON.stringify(v)}`, severity);
    else if (kind === 'const' && typeof v === 'string') enumValue(path, where, prop, v, severity);
  };

  // the order
  const o = mapping.order;
  const order = entity(['order', 'entity'], o.entity);
  if (order) {
    property(['order', 'lookupBy'], o.entity, order.properties, o.lookupBy);
    for (const [k, f] of Object.entries(o.fields)) {
      // a release that settles by the order itself has no ОбъектРасчетов, and the mapping does not use it then
      if (!f || (k === 'settlementObject' && mapping.settlement.by !== 'object')) continue;
      property(['order', 'fields', k], o.entity, order.properties, f);
    }
    const rows = order.sections.get(o.rows.section);
    if (!rows)
      add(
        ['order', 'rows', 'section'],
        `у ${o.entity} нет табличной части «${o.rows.section}»${suggestion(o.rows.section, order.sections.keys())}`,
      );
    else
      for (const [k, f] of Object.entries(o.rows))
        if (k !== 'section' && f) property(['order', 'rows', k], `${o.entity}.${o.rows.section}`, rows, f);
    const status = o.fields.status ? order.properties.get(o.fields.status) : undefined;
    if (status && o.paidStatus) enumValue(['order', 'paidStatus'], `${o.entity}.${o.fields.status}`, status, o.paidStatus, 'error');
    if (status)
      o.shippedStatuses.forEach((s, i) => enumValue(['order', 'shippedStatuses', i], `${o.entity}.${o.fields.status}`, status, s, 'error'));
    if (o.paymentLinkField) {
      const p = property(['order', 'paymentLinkField'], o.entity, order.properties, o.paymentLinkField);
      if (p && p.type !== 'Edm.String') add(['order', 'paymentLinkField'], `${o.entity}.${o.paymentLinkField}: не строка (${p.type})`);
    }
    if (o.pullFilter) filter(['order', 'pullFilter'], o.entity, order.properties, o.pullFilter, 'error');
  }

  // catalogs
  const cp = entity(['counterparty', 'entity'], mapping.counterparty.entity);
  if (cp)
    for (const [k, f] of Object.entries(mapping.counterparty.fields))
      if (f) property(['counterparty', 'fields', k], mapping.counterparty.entity, cp.properties, f);
  const item = entity(['item', 'entity'], mapping.item.entity);
  if (item)
    for (const [k, f] of Object.entries(mapping.item.fields))
      if (f) property(['item', 'fields', k], mapping.item.entity, item.properties, f);
  if (mapping.vatRate) {
    const vr = entity(['vatRate', 'entity'], mapping.vatRate.entity);
    if (vr) property(['vatRate', 'field'], mapping.vatRate.entity, vr.properties, mapping.vatRate.field);
  }

  // the payment documents
  const used = new Set<DocumentKind>(opts.documents ?? (Object.keys(mapping.documents) as DocumentKind[]));
  for (const [kind, spec] of Object.entries(mapping.documents) as [DocumentKind, DocumentSpec | undefined][]) {
    if (!spec) continue;
    const sev: MappingProblem['severity'] = used.has(kind) ? 'error' : 'warning';
    const base = ['documents', kind];
    const doc = entity([...base, 'entity'], spec.entity, sev);
    if (!doc) continue;
    const marker = property([...base, 'marker'], spec.entity, doc.properties, spec.marker, sev);
    if (marker) {
      if (marker.type !== 'Edm.String')
        add([...base, 'marker'], `${spec.entity}.${spec.marker}: отметка шлюза должна быть строкой, а поле типа ${marker.type}`, sev);
      else if (model.statesLengths) {
        const len = marker.maxLength;
        if (len === undefined)
          add(
            [...base, 'marker'],
            `${spec.entity}.${spec.marker}: строка неограниченной длины — 1С не сравнивает такие строки в запросах, документ не найти по отметке; выберите строку ограниченной длины`,
            sev,
          );
        else if (len < MIN_MARKER)
          add(
            [...base, 'marker'],
            `${spec.entity}.${spec.marker}: строка длиной ${len}, а отметке шлюза нужно не меньше ${MIN_MARKER} символов`,
            sev,
          );
        else if (spec.markerLength > len)
          add(
            [...base, 'markerLength'],
            `markerLength ${spec.markerLength}, а поле ${spec.entity}.${spec.marker} вмещает ${len}: 1С обрежет отметку и не найдёт документ; укажите markerLength: ${Math.min(len, MARKER_LENGTH)}`,
            sev,
          );
      }
    }
    property([...base, 'amountField'], spec.entity, doc.properties, spec.amountField, sev);
    const inc = spec.incoming;
    if (inc)
      for (const k of ['number', 'date', 'counterparty', 'purpose', 'uip', 'account'] as const)
        if (inc[k]) property([...base, 'incoming', k], spec.entity, doc.properties, inc[k], sev);
    if (inc?.account && inc.accountEntity) {
      // without it a line read from 1C has no account number: a warning, not a stop
      const accounts = entity([...base, 'incoming', 'accountEntity'], inc.accountEntity, 'warning');
      if (accounts) property([...base, 'incoming', 'accountNumber'], inc.accountEntity, accounts.properties, inc.accountNumber, 'warning');
    }
    if (spec.kindFilter) filter([...base, 'kindFilter'], spec.entity, doc.properties, spec.kindFilter, sev);
    for (const [f, v] of Object.entries(spec.fields)) {
      const p = property([...base, 'fields', f], spec.entity, doc.properties, f, sev);
      if (p) value([...base, 'fields', f], `${spec.entity}.${f}`, p, v, sev);
    }
    const rows = doc.sections.get(spec.rows.section);
    if (!rows) {
      add(
        [...base, 'rows', 'section'],
        `у ${spec.entity} нет табличной части «${spec.rows.section}»${suggestion(spec.rows.section, doc.sections.keys())}`,
        sev,
      );
      continue;
    }
    const where = `${spec.entity}.${spec.rows.section}`;
    property([...base, 'rows', 'amountField'], where, rows, spec.rows.amountField, sev);
    for (const [f, v] of Object.entries(spec.rows.fields)) {
      const p = property([...base, 'rows', 'fields', f], where, rows, f, sev);
      if (p) value([...base, 'rows', 'fields', f], `${where}.${f}`, p, v, sev);
    }
    const s = mapping.settlement;
    for (const [f, v] of Object.entries(s[s.by] ?? {})) {
      const p = property(['settlement', s.by, f], where, rows, f, sev);
      if (p && !f.endsWith('_Type')) value(['settlement', s.by, f], `${where}.${f}`, p, v, sev);
    }
  }

  // managers' invoices and buyers' contracts (optional features: what they lack is a warning)
  const inv = mapping.invoiceSource;
  if (inv) {
    const base = ['invoiceSource'];
    const doc = entity([...base, 'entity'], inv.entity, 'warning');
    if (doc) {
      for (const [k, f] of Object.entries(inv.fields)) if (f) property([...base, 'fields', k], inv.entity, doc.properties, f, 'warning');
      if (inv.pullFilter) filter([...base, 'pullFilter'], inv.entity, doc.properties, inv.pullFilter, 'warning');
      for (const [key, section, cols] of [
        ['schedule', inv.schedule?.section, inv.schedule ? [inv.schedule.date] : []],
        ['rows', inv.rows?.section, inv.rows ? Object.values(inv.rows).filter((c) => c !== inv.rows!.section) : []],
      ] as [string, string | undefined, string[]][]) {
        if (!section) continue;
        const rows = doc.sections.get(section);
        if (!rows)
          add(
            [...base, key, 'section'],
            `у ${inv.entity} нет табличной части «${section}»${suggestion(section, doc.sections.keys())}`,
            'warning',
          );
        else for (const c of cols) property([...base, key], `${inv.entity}.${section}`, rows, c, 'warning');
      }
      if (inv.create) {
        property([...base, 'create', 'marker'], inv.entity, doc.properties, inv.create.marker, 'warning');
        for (const [f, v] of Object.entries(inv.create.fields)) {
          const p = property([...base, 'create', 'fields', f], inv.entity, doc.properties, f, 'warning');
          if (p) value([...base, 'create', 'fields', f], `${inv.entity}.${f}`, p, v, 'warning');
        }
      }
    }
  }
  const ct = mapping.contract;
  if (ct) {
    const doc = entity(['contract', 'entity'], ct.entity, 'warning');
    if (doc) {
      property(['contract', 'counterparty'], ct.entity, doc.properties, ct.counterparty, 'warning');
      if (ct.orderBy) property(['contract', 'orderBy'], ct.entity, doc.properties, ct.orderBy, 'warning');
      if (ct.validFilter) filter(['contract', 'validFilter'], ct.entity, doc.properties, ct.validFilter, 'warning');
      for (const [k, f] of Object.entries(ct.fields)) if (f) property(['contract', 'fields', k], ct.entity, doc.properties, f, 'warning');
    }
  }
  return problems;
}

/** `path:line key: message` lines, errors first. */
export function formatProblems(file: string, problems: MappingProblem[]): string[] {
  return [...problems]
    .sort((a, b) => (a.severity === b.severity ? (a.line ?? 0) - (b.line ?? 0) : a.severity === 'error' ? -1 : 1))
    .map((p) => `${p.severity === 'error' ? '✗' : '!'} ${file}${p.line ? `:${p.line}` : ''} ${p.path}: ${p.message}`);
}
