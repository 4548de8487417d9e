import { randomUUID } from 'node:crypto';
import {
  configurationOf,
  EMPTY_DATE,
  EMPTY_REF,
  UNDEFINED_TYPE,
  type Configuration,
  type EntityDef,
  type FieldType,
  type Fields,
  type Profile,
} from './metadata';

/**
 * The infobase's data: objects kept in the form the OData interface sends them (refs as lower-case
 * GUID strings, LineNumber as a string, dates without a zone), with 1C's write semantics — a property
 * the object does not have or an enumeration value it does not know refused, long strings cut,
 * references to missing objects stored, fill checks (the configuration's required attributes) only
 * on posting.
 */

export type Obj = Record<string, unknown>;

/** An error 1C answers with `{"odata.error": {code, message}}` (the HTTP/SOAP services turn it into their own). */
export class OneCFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** 1C's answer to data it cannot take (a row without LineNumber, a value of the wrong type). */
export const unexplained = () => new OneCFailure(500, '-1', 'Неизвестная ошибка');
export const notFound = (set: string, ref: string) => new OneCFailure(404, '9', `Не найден объект ${set}(guid'${ref}')`);
/** A property the entity does not have, in a body, $select or $orderby. */
export const unknownProperty = (type: string, name: string) =>
  new OneCFailure(400, '15', `Не найдено свойство "${name}" у типа "StandardODATA.${type}"`);

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The server's local time as 1C sends it: `2026-11-23T13:45:07`. */
export function localDateTime(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A date as 1C stores it: an ISO value with a zone becomes server local time; one without a zone is kept. */
export function toOneCDate(v: string): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2})(:\d{2})?(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(v.trim());
  if (!m) return null;
  if (m[5]) {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : localDateTime(d);
  }
  return `${m[1]}T${m[2] ?? '00:00'}${m[3] ?? ':00'}`;
}

function emptyValue(t: FieldType): unknown {
  switch (t.kind) {
    case 'number':
      return 0;
    case 'boolean':
      return false;
    case 'ref':
      return EMPTY_REF;
    case 'datetime':
      return EMPTY_DATE;
    default:
      return '';
  }
}

function coerce(t: FieldType, v: unknown, name: string): unknown {
  if (v === null || v === undefined) return emptyValue(t);
  switch (t.kind) {
    case 'string': {
      const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
      if (s === null) throw unexplained();
      return t.length ? s.slice(0, t.length) : s;
    }
    case 'number': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n)) throw unexplained();
      return n;
    }
    case 'int64': {
      const n = Number(v);
      if (!Number.isInteger(n)) throw unexplained();
      return String(n);
    }
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      throw unexplained();
    case 'ref':
      if (typeof v !== 'string' || !GUID.test(v)) throw unexplained();
      return v.toLowerCase();
    case 'datetime': {
      const d = typeof v === 'string' ? toOneCDate(v) : null;
      if (!d) throw unexplained();
      return d;
    }
    case 'enum':
      if (typeof v !== 'string') throw unexplained();
      if (v !== '' && t.values && !t.values.includes(v))
        throw new OneCFailure(400, '-1', `Неверное значение свойства "${name}": в перечислении ${t.enum} нет значения "${v}"`);
      return v;
    case 'composite':
      if (typeof v !== 'string') throw unexplained();
      return GUID.test(v) ? v.toLowerCase() : v;
  }
}

/**
 * Copies the fields of `input` into `target`, converted. A property the type does not have is refused
 * (the navigation links and annotations 1C itself sends back are let through).
 */
function assignFields(type: string, fields: Fields, input: Obj, target: Obj, skip: Set<string>, sections: object = {}): void {
  for (const [k, v] of Object.entries(input)) {
    if (skip.has(k) || k in sections || k.includes('@') || k.startsWith('odata.')) continue;
    const t = fields[k];
    if (t) target[k] = coerce(t, v, k);
    else if (k.endsWith('_Type') && fields[k.slice(0, -5)]?.kind === 'composite')
      target[k] = v == null || v === '' ? UNDEFINED_TYPE : String(v);
    else throw unknownProperty(type, k);
  }
}

function blank(fields: Fields): Obj {
  const o: Obj = {};
  for (const [k, t] of Object.entries(fields)) {
    o[k] = emptyValue(t);
    if (t.kind === 'composite') o[`${k}_Type`] = UNDEFINED_TYPE;
  }
  return o;
}

const clone = <T>(v: T): T => structuredClone(v);

export class Store {
  readonly entities: Map<string, EntityDef>;
  readonly profile: Profile;
  private readonly data = new Map<string, Map<string, Obj>>();
  private readonly numbers = new Map<string, number>();
  private version = 0;

  constructor(readonly configuration: Configuration) {
    const c = configurationOf(configuration);
    this.entities = new Map(c.entities.map((e) => [e.name, e]));
    this.profile = c.profile;
    for (const e of c.entities) this.data.set(e.name, new Map());
  }

  def(set: string): EntityDef | undefined {
    return this.entities.get(set);
  }

  private table(set: string): Map<string, Obj> {
    const t = this.data.get(set);
    if (!t) throw new Error(`the ${this.configuration} configuration has no ${set}`);
    return t;
  }

  /** The stored object itself (no copy): for in-process reads that do not escape. */
  raw(set: string, ref: string): Obj | undefined {
    return this.data.get(set)?.get(String(ref).toLowerCase());
  }

  get(set: string, ref: string): Obj | undefined {
    const o = this.raw(set, ref);
    return o && clone(o);
  }

  list(set: string): Obj[] {
    return [...this.table(set).values()].map(clone);
  }

  /** Iterates the stored objects without copying. */
  scan(set: string): Iterable<Obj> {
    return this.table(set).values();
  }

  private nextVersion(): string {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(++this.version, 0);
    return b.toString('base64');
  }

  private nextNumber(set: string): string {
    const n = (this.numbers.get(set) ?? 0) + 1;
    this.numbers.set(set, n);
    return `${this.profile.numberPrefix}${String(n).padStart(6, '0')}`;
  }

  /** Replaces a tabular section: every row needs a LineNumber (else the unexplained 500); rows get the owner's Ref_Key. */
  private rows(type: string, fields: Fields, input: unknown, owner: string): Obj[] {
    if (!Array.isArray(input)) throw unexplained();
    const rows = input.map((r) => {
      if (
        !r ||
        typeof r !== 'object' ||
        (r as Obj).LineNumber === undefined ||
        (r as Obj).LineNumber === null ||
        (r as Obj).LineNumber === ''
      )
        throw unexplained();
      const row = blank(fields);
      assignFields(type, fields, r as Obj, row, new Set(['Ref_Key']));
      row.Ref_Key = owner;
      return row;
    });
    rows.sort((a, b) => Number(a.LineNumber) - Number(b.LineNumber));
    rows.forEach((r, i) => {
      if (Number(r.LineNumber) < 1 || (i > 0 && r.LineNumber === rows[i - 1].LineNumber)) throw unexplained();
      r.LineNumber = String(i + 1);
    });
    return rows;
  }

  /**
   * Creates an object as OData POST does. `trusted` (seeding) also accepts Posted.
   * Nothing is stored if any value is refused.
   */
  create(set: string, input: Obj, trusted = false): Obj {
    const def = this.def(set);
    if (!def) throw new Error(`the ${this.configuration} configuration has no ${set}`);
    const obj = blank(def.fields);
    const ref =
      typeof input.Ref_Key === 'string' && GUID.test(input.Ref_Key) && input.Ref_Key !== EMPTY_REF
        ? input.Ref_Key.toLowerCase()
        : randomUUID();
    if (this.table(set).has(ref)) throw new OneCFailure(500, '-1', `Объект с идентификатором ${ref} уже существует`);
    assignFields(set, def.fields, input, obj, new Set(['Ref_Key', 'DataVersion', ...(trusted ? [] : ['Posted'])]), def.sections);
    for (const [s, f] of Object.entries(def.sections)) obj[s] = s in input ? this.rows(`${set}_${s}_RowType`, f, input[s], ref) : [];
    obj.Ref_Key = ref;
    if (def.kind === 'Document') {
      if (!obj.Number) obj.Number = this.nextNumber(set);
      if (!('Date' in input) || obj.Date === EMPTY_DATE) obj.Date = localDateTime();
    }
    this.beforeWrite(set, obj);
    obj.DataVersion = this.nextVersion();
    this.table(set).set(ref, obj);
    this.afterCreate(set, obj);
    return clone(obj);
  }

  /** PATCH: the fields sent change; a tabular section sent replaces the whole section. */
  update(set: string, ref: string, input: Obj): Obj {
    const def = this.def(set)!;
    const cur = this.raw(set, ref);
    if (!cur) throw notFound(set, ref);
    const next = clone(cur);
    assignFields(set, def.fields, input, next, new Set(['Ref_Key', 'DataVersion', 'Posted']), def.sections);
    for (const [s, f] of Object.entries(def.sections))
      if (s in input) next[s] = this.rows(`${set}_${s}_RowType`, f, input[s], cur.Ref_Key as string);
    this.beforeWrite(set, next);
    if (def.kind === 'Document' && next.DeletionMark === true && cur.DeletionMark !== true) next.Posted = false; // marking unposts
    next.DataVersion = this.nextVersion();
    this.table(set).set(cur.Ref_Key as string, next);
    return clone(next);
  }

  remove(set: string, ref: string): void {
    if (!this.raw(set, ref)) throw notFound(set, ref);
    this.table(set).delete(String(ref).toLowerCase());
  }

  /** Posting: runs the fill checks (ОбработкаПроверкиЗаполнения), then the posting handler. */
  post(set: string, ref: string, reject?: { entity: string; message: string } | null): Obj {
    const def = this.def(set)!;
    const cur = this.raw(set, ref);
    if (!cur) throw notFound(set, ref);
    if (def.kind !== 'Document') throw new OneCFailure(400, '-1', `Объект ${set} не является документом`);
    if (cur.DeletionMark === true)
      throw new OneCFailure(
        500,
        '-1',
        `Ошибка при выполнении обработчика - 'ОбработкаПроведения'\nПомеченный на удаление документ не может быть проведен`,
      );
    const problems = this.fillCheck(set, cur);
    if (problems.length)
      throw new OneCFailure(500, '-1', `Ошибка при выполнении обработчика - 'ОбработкаПроверкиЗаполнения'\n${problems.join('\n')}`);
    if (reject && (reject.entity === set || `Document_${reject.entity}` === set)) {
      throw new OneCFailure(500, '-1', `Ошибка при выполнении обработчика - 'ОбработкаПроведения'\n${reject.message}`);
    }
    cur.Posted = true;
    cur.DataVersion = this.nextVersion();
    return clone(cur);
  }

  unpost(set: string, ref: string): Obj {
    const cur = this.raw(set, ref);
    if (!cur) throw notFound(set, ref);
    cur.Posted = false;
    cur.DataVersion = this.nextVersion();
    return clone(cur);
  }

  /**
   * The messages 1C's fill check would give before posting (empty when it may be posted): every
   * attribute the configuration marks as required (FillChecking = ShowError) and the object module
   * keeps for this operation, row columns included, and a payment's rows adding up to its total.
   */
  fillCheck(set: string, o: Obj): string[] {
    const def = this.def(set)!;
    const p = this.profile;
    const out: string[] = [];
    const empty = (t: FieldType | undefined, v: unknown) =>
      t?.kind !== 'boolean' && (v === EMPTY_REF || v === EMPTY_DATE || v === '' || v == null || (t?.kind === 'number' && Number(v) === 0));
    for (const k of def.required.fields) if (empty(def.fields[k], o[k])) out.push(`Поле "${def.titles[k] ?? k}" не заполнено`);
    for (const s of def.required.sections)
      if (((o[s] as Obj[]) ?? []).length === 0) out.push(`Не введено ни одной строки в список "${def.titles[s] ?? s}"`);
    for (const [s, cols] of Object.entries(def.required.rows)) {
      ((o[s] as Obj[]) ?? []).forEach((r, i) => {
        for (const c of cols)
          if (empty(def.sections[s][c], r[c]))
            out.push(`Не заполнена колонка "${def.titles[`${s}.${c}`] ?? c}" в строке ${i + 1} списка "${def.titles[s] ?? s}"`);
      });
    }
    if (set === p.card || set === p.bank) {
      const rows = (o[p.paymentRows] as Obj[]) ?? [];
      const kop = (v: unknown) => Math.round(Number(v) * 100);
      const sum = rows.reduce((s, r) => s + kop(r[p.rowAmount]), 0);
      if (rows.length && sum !== kop(o.СуммаДокумента)) out.push(`Сумма документа не совпадает с суммой по строкам расшифровки платежа`);
    }
    return out;
  }

  /**
   * What the documents' ПередЗаписью does to the fields the gateway reads: УТ's card operation and bank
   * receipt get ИдентификаторДокумента (a new UUID) only when it is empty (ОбщегоНазначенияУТ
   * .ЗаполнитьИдентификаторыДокумента: a document the accountant imported has one too), and the card
   * operation НомерПлатежнойКарты "0" when empty.
   */
  private beforeWrite(set: string, o: Obj): void {
    if (this.configuration === 'unf' || (set !== this.profile.card && set !== this.profile.bank)) return;
    if (!o.ИдентификаторДокумента) o.ИдентификаторДокумента = randomUUID();
    if (set === this.profile.card && !o.НомерПлатежнойКарты) o.НомерПлатежнойКарты = '0';
  }

  /** УТ 11.5 creates the order's Catalog_ОбъектыРасчетов item when the order is first written. */
  private afterCreate(set: string, obj: Obj): void {
    if (this.profile.settlement !== 'object' || set !== this.profile.order.set || obj.ОбъектРасчетов_Key !== EMPTY_REF) return;
    const [d, t] = String(obj.Date).split('T');
    const item = this.create('Catalog_ОбъектыРасчетов', {
      Description: `Заказ клиента ${obj.Number} от ${d.split('-').reverse().join('.')} ${t}`,
      Объект: obj.Ref_Key,
      Объект_Type: this.profile.order.type,
    });
    obj.ОбъектРасчетов_Key = item.Ref_Key;
  }

  /** The order a payment row settles (through ОбъектРасчетов in 11.5, Заказ/Заказ_Type elsewhere). */
  orderOfRow(row: Obj): string | null {
    const p = this.profile;
    let ref: unknown;
    let type: unknown;
    if (p.settlement === 'object') {
      const so = this.raw('Catalog_ОбъектыРасчетов', String(row.ОбъектРасчетов_Key ?? ''));
      if (!so) return null;
      ref = so.Объект;
      type = so.Объект_Type;
    } else {
      ref = row.Заказ;
      type = row.Заказ_Type;
    }
    return type === p.order.type && typeof ref === 'string' && ref !== EMPTY_REF && ref !== '' ? ref : null;
  }
}
