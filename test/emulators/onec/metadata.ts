import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The metadata of the emulated infobases, read from the real configurations' own object definitions
 * (test/fixtures/onec-metadata: УТ 11.5.18 and УНФ 3.0.8, condensed from 1C's dumps; see SOURCES.md
 * there). Entity sets, properties with their OData names and types, string lengths, enumerations
 * with their values, the attributes the configuration marks as required (FillChecking = ShowError),
 * and the synonyms 1C names them by in its messages.
 */

export type Configuration = 'ut11' | 'ut11-legacy' | 'unf';

export type FieldType =
  /** Edm.String; `length` is the max length (undefined = unlimited): longer values are cut silently. */
  | { kind: 'string'; length?: number }
  /** Edm.Double (sums, quantities, prices). */
  | { kind: 'number' }
  /** Edm.Int64: arrives as a JSON string ("1"). */
  | { kind: 'int64' }
  | { kind: 'boolean' }
  /** Edm.Guid reference (`X_Key`); `target` is the entity set it points at (for navigation in $filter). */
  | { kind: 'ref'; target?: string }
  /** Edm.DateTime without time zone. */
  | { kind: 'datetime' }
  /** An enumeration, sent as the value's name; `values` undefined = the enumeration is not in the fixtures. */
  | { kind: 'enum'; enum: string; values?: string[] }
  /** A composite-type field: `X` (Edm.String, the value) + `X_Type` (Edm.String, `StandardODATA.<set>`). */
  | { kind: 'composite' };

export type Fields = Record<string, FieldType>;

export interface EntityDef {
  name: string;
  kind: 'Catalog' | 'Document';
  fields: Fields;
  sections: Record<string, Fields>;
  /** OData property (or section, or `Section.Property`) → the synonym 1C's messages use. */
  titles: Record<string, string>;
  /** Properties checked when a document is posted (`Section.Property` for rows); sections that must have rows. */
  required: { fields: string[]; rows: Record<string, string[]>; sections: string[] };
}

export const EMPTY_REF = '00000000-0000-0000-0000-000000000000';
export const EMPTY_DATE = '0001-01-01T00:00:00';
export const UNDEFINED_TYPE = 'StandardODATA.Undefined';

// ------------------------------------------------------------------ the fixtures, as dumped

interface RawAttribute {
  name: string;
  synonym?: string;
  type: string[];
  required?: boolean;
  odata: string[];
}
interface RawObject {
  kind: 'Catalog' | 'Document' | 'Enum';
  name: string;
  synonym?: string;
  odataEntity: string;
  code?: { type: 'String' | 'Number'; length: number };
  descriptionLength?: number;
  hierarchical?: boolean;
  owners?: string[];
  number?: { type: 'String' | 'Number'; length: number };
  attributes?: RawAttribute[];
  tabularSections?: { name: string; synonym?: string; required?: boolean; attributes: RawAttribute[] }[];
  values?: string[];
}
interface RawConfig {
  config: string;
  definedTypes: Record<string, string[]>;
  objects: Record<string, RawObject>;
}

const FIXTURES = join(__dirname, '../../fixtures/onec-metadata');

const loaded = new Map<string, RawConfig>();
function raw(file: string): RawConfig {
  let c = loaded.get(file);
  if (!c) {
    c = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as RawConfig;
    loaded.set(file, c);
  }
  return c;
}

function typeOf(cfg: RawConfig, a: RawAttribute): Record<string, FieldType> {
  let types = a.type;
  if (types.length === 1 && types[0].startsWith('cfg:DefinedType.')) types = cfg.definedTypes[types[0].slice(16)] ?? ['xs:string(0)'];
  const [name, second] = a.odata;
  if (second) return { [name]: { kind: 'composite' } };
  if (name.endsWith('_Key')) {
    const m = /^cfg:(Catalog|Document|ChartOfCharacteristicTypes|ChartOfAccounts)Ref\.(.+)$/.exec(types[0]);
    return { [name]: { kind: 'ref', target: m ? `${m[1]}_${m[2]}` : undefined } };
  }
  const t = types[0];
  const s = /^xs:string\((\d+)/.exec(t);
  if (s) return { [name]: { kind: 'string', length: Number(s[1]) || undefined } };
  if (t.startsWith('xs:decimal')) return { [name]: { kind: 'number' } };
  if (t === 'xs:boolean') return { [name]: { kind: 'boolean' } };
  if (t.startsWith('xs:dateTime')) return { [name]: { kind: 'datetime' } };
  const e = /^cfg:EnumRef\.(.+)$/.exec(t);
  if (e) return { [name]: { kind: 'enum', enum: e[1], values: cfg.objects[`Enum.${e[1]}`]?.values } };
  return { [name]: { kind: 'string' } }; // v8:UUID, v8:ValueStorage…
}

/** The property that carries an attribute's value over OData (`Контрагент` → `Контрагент_Key`). */
function odataName(a: RawAttribute): string {
  return a.odata[0];
}

/**
 * What the object modules drop from the static required list when the gateway's documents are
 * posted (the list in the metadata is an upper bound; see reference/onec-real-objects.md):
 * УТ's ОперацияПоПлатежнойКарте skips ЗаявкаНаРасходованиеДенежныхСредств, СтатьяРасходов,
 * АналитикаРасходов and Сторнируемый/ИсправляемыйДокумент for a receipt (its ObjectModule), and the
 * bank documents check only the attributes of their operation.
 */
const NOT_CHECKED: Record<string, string[]> = {
  'ut-11.5.18/Document.ОперацияПоПлатежнойКарте': [
    'ЗаявкаНаРасходованиеДенежныхСредств',
    'СтатьяРасходов',
    'АналитикаРасходов',
    'СторнируемыйДокумент',
    'ИсправляемыйДокумент',
  ],
  // ПоступлениеОплатыОтКлиента: the sender account, cash desk, conversion, payroll, loans, rent, taxes and
  // the cash-flow item of the header belong to other operations
  'ut-11.5.18/Document.ПоступлениеБезналичныхДенежныхСредств': [
    'БанковскийСчетОтправитель',
    'КассаОтправитель',
    'СтатьяДвиженияДенежныхСредств',
    'ДокументВыдачи',
    'ВалютаКонвертации',
    'КурсКонвертации',
    'ПодотчетноеЛицо',
    'ДатаПроведенияБанком',
    'СуммаКонвертации',
    'ПодтверждениеЗачисленияЗарплаты',
    'КратностьКурсаКонвертации',
    'ДоговорЭквайринга',
    'СтатьяРасходов',
    'АналитикаРасходов',
    'СторнируемыйДокумент',
    'ИсправляемыйДокумент',
    'СтатьяЦелевыхСредств',
    'ТипНалога',
    'РасшифровкаПлатежа.СтатьяДоходов',
    'РасшифровкаПлатежа.АналитикаДоходов',
    'РасшифровкаПлатежа.Подразделение',
    'РасшифровкаПлатежа.ДоговорКредитаДепозита',
    'РасшифровкаПлатежа.ДоговорЗаймаСотруднику',
    'РасшифровкаПлатежа.ТипСуммыКредитаДепозита',
    'РасшифровкаПлатежа.ДоговорАренды',
    'РасшифровкаПлатежа.ТипПлатежаПоАренде',
    'РасшифровкаПлатежа.РасчетныйДокументПоАренде',
    'РасшифровкаПлатежа.СтатьяЦелевыхСредств',
  ],
  // ОтПокупателя: taxes, loans, accountable persons, correspondence, acquiring belong to other operations
  'unf-3.0.8/Document.ПоступлениеНаСчет': [
    'ВидНалога',
    'ДоговорДляЗачетаАвансаСПомощником',
    'ДоговорКредитаЗайма',
    'Документ',
    'Корреспонденция',
    'Подотчетник',
    'ЭквайринговыйТерминал',
    'РасшифровкаПлатежа.ТипСуммы',
    'ЭквайринговыеОперации',
    'РасшифровкаПлатежаОтАгента',
  ],
};

function entityOf(cfg: RawConfig, o: RawObject): EntityDef {
  const titles: Record<string, string> = {};
  const fields: Fields = { Ref_Key: { kind: 'ref' }, DataVersion: { kind: 'string' }, DeletionMark: { kind: 'boolean' } };
  if (o.kind === 'Document') {
    fields.Number = o.number?.type === 'Number' ? { kind: 'number' } : { kind: 'string', length: o.number?.length ?? 11 };
    fields.Date = { kind: 'datetime' };
    fields.Posted = { kind: 'boolean' };
    titles.Date = 'Дата';
  } else {
    fields.Description = { kind: 'string', length: o.descriptionLength || undefined };
    if (o.code?.length) fields.Code = o.code.type === 'Number' ? { kind: 'number' } : { kind: 'string', length: o.code.length };
    if (o.hierarchical) {
      fields.Parent_Key = { kind: 'ref', target: o.odataEntity };
      fields.IsFolder = { kind: 'boolean' };
    }
    if (o.owners?.length === 1) {
      const [k, n] = o.owners[0].split('.');
      fields.Owner_Key = { kind: 'ref', target: `${k}_${n}` };
    } else if (o.owners?.length) fields.Owner = { kind: 'composite' };
    fields.Predefined = { kind: 'boolean' };
    fields.PredefinedDataName = { kind: 'string' };
  }
  const byName = new Map<string, string>();
  for (const a of o.attributes ?? []) {
    Object.assign(fields, typeOf(cfg, a));
    titles[odataName(a)] = a.synonym ?? a.name;
    byName.set(a.name, odataName(a));
  }
  const sections: Record<string, Fields> = {};
  const rowNames = new Map<string, Map<string, string>>();
  for (const t of o.tabularSections ?? []) {
    const f: Fields = { Ref_Key: { kind: 'ref' }, LineNumber: { kind: 'int64' } };
    const names = new Map<string, string>();
    for (const a of t.attributes) {
      Object.assign(f, typeOf(cfg, a));
      titles[`${t.name}.${odataName(a)}`] = a.synonym ?? a.name;
      names.set(a.name, odataName(a));
    }
    sections[t.name] = f;
    titles[t.name] = t.synonym ?? t.name;
    rowNames.set(t.name, names);
  }
  const required: EntityDef['required'] = { fields: [], rows: {}, sections: [] };
  if (o.kind === 'Document') {
    const skip = new Set(NOT_CHECKED[`${cfg.config}/${o.kind}.${o.name}`] ?? []);
    for (const a of o.attributes ?? []) if (a.required && !skip.has(a.name)) required.fields.push(odataName(a));
    for (const t of o.tabularSections ?? []) {
      if (skip.has(t.name)) continue;
      // a section the gateway never writes (Товары of a payment, services of an order) is not checked for rows
      if (t.required) required.sections.push(t.name);
      const cols = t.attributes.filter((a) => a.required && !skip.has(`${t.name}.${a.name}`)).map(odataName);
      if (cols.length) required.rows[t.name] = cols;
    }
  }
  return { name: o.odataEntity, kind: o.kind === 'Document' ? 'Document' : 'Catalog', fields, sections, titles, required };
}

function entitiesOf(file: string): EntityDef[] {
  const cfg = raw(file);
  return Object.values(cfg.objects)
    .filter((o) => o.kind !== 'Enum')
    .map((o) => entityOf(cfg, o));
}

/** The enumerations of a configuration: `Enum_X` → its values, in metadata order. */
export function enumsOf(configuration: Configuration): Record<string, string[]> {
  const cfg = raw(FILES[configuration]);
  return Object.fromEntries(
    Object.values(cfg.objects)
      .filter((o) => o.kind === 'Enum')
      .map((o) => [o.name, o.values ?? []]),
  );
}

const FILES: Record<Configuration, string> = { ut11: 'ut-11.5.18.json', 'ut11-legacy': 'ut-11.5.18.json', unf: 'unf-3.0.8.json' };

/**
 * A release before 11.5 (and КА/ERP of that age) settles a payment row against the order itself
 * (`Заказ` + `Заказ_Type`) and has no ОбъектРасчетов. No dump of such a release is among the fixtures:
 * this is 11.5.18 with exactly that difference.
 */
function legacy(defs: EntityDef[]): EntityDef[] {
  return defs
    .filter((d) => d.name !== 'Catalog_ОбъектыРасчетов')
    .map((d) => {
      const out = structuredClone(d);
      delete out.fields.ОбъектРасчетов_Key;
      for (const [s, f] of Object.entries(out.sections)) {
        if (!('ОбъектРасчетов_Key' in f)) continue;
        delete f.ОбъектРасчетов_Key;
        f.Заказ = { kind: 'composite' };
        out.titles[`${s}.Заказ`] = 'Заказ';
      }
      return out;
    });
}

// ------------------------------------------------------------------ profiles

/** Which objects play which part in a configuration (what the HTTP/SOAP services and snapshot() use). */
export interface Profile {
  order: { set: string; rows: string; status: string; type: string };
  /** card/СБП documents and bank-transfer documents */
  card: string;
  bank: string;
  paymentRows: string;
  /** The row field holding the amount paid (checked against СуммаДокумента on posting). */
  rowAmount: string;
  operationField: string;
  operations: { payment: string; refund: string };
  /** The bank document's operation for a customer's payment. */
  bankOperation: string;
  /** The header field holding the gateway's payment id in each document, and its length. */
  marker: { card: string; bank: string };
  markerLength: { card: number; bank: number };
  /** How a payment row points at the order: through Catalog_ОбъектыРасчетов (11.5) or Заказ/Заказ_Type. */
  settlement: 'object' | 'order';
  numberPrefix: string;
}

const UT_PROFILE = {
  order: { set: 'Document_ЗаказКлиента', rows: 'Товары', status: 'Статус', type: 'StandardODATA.Document_ЗаказКлиента' },
  card: 'Document_ОперацияПоПлатежнойКарте',
  bank: 'Document_ПоступлениеБезналичныхДенежныхСредств',
  paymentRows: 'РасшифровкаПлатежа',
  rowAmount: 'Сумма',
  operationField: 'ХозяйственнаяОперация',
  operations: { payment: 'ПоступлениеОплатыОтКлиента', refund: 'ВозвратОплатыКлиенту' },
  bankOperation: 'ПоступлениеОплатыОтКлиента',
  marker: { card: 'ИдентификаторДокумента', bank: 'ИдентификаторДокумента' },
  markerLength: { card: 36, bank: 36 },
  numberPrefix: 'ЭК00-',
};

function build(configuration: Configuration): { entities: EntityDef[]; profile: Profile } {
  if (configuration === 'unf') {
    return {
      entities: entitiesOf(FILES.unf),
      profile: {
        order: {
          set: 'Document_ЗаказПокупателя',
          rows: 'Запасы',
          status: 'СостояниеЗаказа',
          type: 'StandardODATA.Document_ЗаказПокупателя',
        },
        card: 'Document_ОперацияПоПлатежнымКартам',
        bank: 'Document_ПоступлениеНаСчет',
        paymentRows: 'РасшифровкаПлатежа',
        rowAmount: 'СуммаПлатежа',
        operationField: 'ВидОперации',
        operations: { payment: 'ПоступлениеОплатыОтПокупателя', refund: 'ВозвратОплатыПокупателю' },
        bankOperation: 'ОтПокупателя',
        marker: { card: 'ИдентификаторПлатежнойСистемы', bank: 'НомерВходящегоДокумента' },
        markerLength: { card: 36, bank: 20 },
        settlement: 'order',
        numberPrefix: 'ЭК00-',
      },
    };
  }
  const ut = entitiesOf(FILES.ut11);
  return configuration === 'ut11'
    ? { entities: ut, profile: { ...UT_PROFILE, settlement: 'object' } }
    : { entities: legacy(ut), profile: { ...UT_PROFILE, settlement: 'order' } };
}

const built = new Map<Configuration, { entities: EntityDef[]; profile: Profile }>();

/** The entities and roles of a configuration (built once per process from the fixtures). */
export function configurationOf(configuration: Configuration): { entities: EntityDef[]; profile: Profile } {
  let c = built.get(configuration);
  if (!c) {
    c = build(configuration);
    built.set(configuration, c);
  }
  return c;
}

/** The Edm type of a field in $metadata. */
export function edmType(t: FieldType): string {
  switch (t.kind) {
    case 'number':
      return 'Edm.Double';
    case 'int64':
      return 'Edm.Int64';
    case 'boolean':
      return 'Edm.Boolean';
    case 'ref':
      return 'Edm.Guid';
    case 'datetime':
      return 'Edm.DateTime';
    default:
      return 'Edm.String';
  }
}
