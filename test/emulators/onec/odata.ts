import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { checkPaths, compileFilter, FilterError, parseOrderBy, sortKey, compareValues, type EvalEnv } from './filter';
import { edmType, enumsOf, type EntityDef } from './metadata';
import { OneCFailure, notFound, unknownProperty, type Obj, type Store } from './store';

/**
 * 1C's standard OData interface (v3) over the store: `<base>/odata/standard.odata/<Resource>`.
 * JSON only with `$format=json` (Atom otherwise), 1C's error bodies and codes, PATCH semantics,
 * Post/Unpost with fill checks.
 */

export interface ODataHost {
  store: Store;
  odataUrl: string;
  isPublished(set: string): boolean;
  /** True when the user has no right to change the set (a read-only user, or knobs.denyWrites). */
  writeDenied(user: string, set: string): boolean;
  lockConflict(): boolean;
  rejectPosting(): { entity: string; message: string } | null | undefined;
  countWrite(): void;
}

export const LOCK_CONFLICT_TEXT =
  'Конфликт блокировок при выполнении транзакции:\nMicrosoft SQL Server Native Client 11.0: Lock request time out period exceeded.\nHRESULT=80040E31, SQLSrvr: SQLSTATE=HYT00, state=1, Severity=10, native=1222, line=1';

/** Query parameters decoded as 1C does: percent-decoding as UTF-8, and `+` stays a plus. */
export function parseQuery(qs: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of qs.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    try {
      out[decodeURIComponent(k)] = decodeURIComponent(v);
    } catch {
      throw new OneCFailure(400, '-1', `Неверная кодировка параметра ${k}`);
    }
  }
  return out;
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function isJson(q: Record<string, string>): boolean {
  const f = q.$format?.toLowerCase();
  return f === 'json' || (f?.startsWith('application/json') ?? false);
}

export function sendError(ctx: Context, json: boolean, e: OneCFailure): void {
  ctx.status = e.status;
  if (json) {
    ctx.type = 'application/json;charset=utf-8';
    ctx.body = JSON.stringify({ 'odata.error': { code: e.code, message: { lang: 'ru', value: e.message } } });
  } else {
    ctx.type = 'application/xml;charset=utf-8';
    ctx.body = `<?xml version="1.0" encoding="utf-8"?>\n<m:error xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><m:code>${xmlEscape(e.code)}</m:code><m:message xml:lang="ru">${xmlEscape(e.message)}</m:message></m:error>`;
  }
}

export async function handleOData(ctx: Context, host: ODataHost, resource: string, user: string): Promise<void> {
  let json = false;
  try {
    const q = parseQuery(ctx.querystring);
    json = isJson(q);
    await dispatch(ctx, host, resource, user, q, json);
  } catch (e) {
    if (e instanceof OneCFailure) sendError(ctx, json, e);
    else if (e instanceof FilterError) sendError(ctx, json, new OneCFailure(400, '14', `Ошибка разбора параметра $filter: ${e.message}`));
    else throw e;
  }
}

async function dispatch(
  ctx: Context,
  host: ODataHost,
  resource: string,
  user: string,
  q: Record<string, string>,
  json: boolean,
): Promise<void> {
  const { store } = host;
  if (resource === '') return serviceDocument(ctx, host, json);
  if (resource === '$metadata') return metadata(ctx, host);
  const m = /^([^(/]+)(?:\(([^)]*)\))?(?:\/(.+))?$/.exec(resource);
  const set = m?.[1] ?? resource;
  const section = sectionSet(store, set);
  const def = store.def(section?.owner.name ?? set);
  if (!m || !def || !host.isPublished(def.name)) throw new OneCFailure(404, '6', `Не найден сегмент URL "${set}"`);
  if (section) {
    if (ctx.method !== 'GET' || m[2])
      throw new OneCFailure(400, '13', 'Создание и изменение строк табличной части напрямую не поддерживается');
    return collection(ctx, host, set, section.fields, sectionRows(store, section.owner, section.name), q, json, m[3]);
  }
  let ref: string | undefined;
  if (m[2] !== undefined) {
    const k = /^(?:Ref_Key=)?guid'([0-9a-fA-F-]{36})'$/.exec(m[2].trim());
    if (!k) throw new OneCFailure(400, '-1', `Неверный ключ "${m[2]}"`);
    ref = k[1].toLowerCase();
  }
  const tail = m[3];
  const write = (fn: () => void) => {
    if (host.writeDenied(user, set)) throw new OneCFailure(403, '20', `Недостаточно прав для выполнения операции над объектом ${set}`);
    if (host.lockConflict()) throw new OneCFailure(500, '-1', LOCK_CONFLICT_TEXT);
    fn();
    host.countWrite();
  };

  if (!ref) {
    if (ctx.method === 'GET') return collection(ctx, host, set, def.fields, [...store.scan(set)], q, json, tail, def);
    if (ctx.method === 'POST' && !tail) {
      const body = await readBody(ctx);
      return write(() => entity(ctx, host, set, store.create(set, body), json, 201));
    }
  } else if (!tail) {
    if (ctx.method === 'GET') {
      checkSelect(def, set, q.$select);
      const o = store.get(set, ref);
      if (!o) throw notFound(set, ref);
      return entity(ctx, host, set, select(o, def, q.$select), json, 200);
    }
    if (ctx.method === 'PATCH' || ctx.method === 'MERGE') {
      const body = await readBody(ctx); // If-Match is not looked at: live bases ignore it
      return write(() => entity(ctx, host, set, store.update(set, ref, body), json, 200));
    }
    if (ctx.method === 'DELETE') {
      return write(() => {
        store.remove(set, ref);
        ctx.status = 204;
      });
    }
  } else if ((tail === 'Post' || tail === 'Unpost') && ctx.method === 'POST') {
    return write(() => {
      if (tail === 'Post') store.post(set, ref, host.rejectPosting());
      else store.unpost(set, ref);
      ctx.status = 200;
      ctx.body = '';
    });
  }
  throw new OneCFailure(400, '-1', `Операция ${ctx.method} ${resource} не поддерживается`);
}

async function readBody(ctx: Context): Promise<Obj> {
  const text = ((ctx.state.rawBody as Buffer | undefined) ?? (await getRawBody(ctx.req, { limit: '10mb' }))).toString('utf8');
  if (!text.trim()) return {};
  try {
    const v = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
  } catch {
    /* below */
  }
  throw new OneCFailure(400, '-1', 'Ошибка разбора тела запроса');
}

function sectionSet(store: Store, set: string): { owner: EntityDef; name: string; fields: EntityDef['sections'][string] } | null {
  for (const def of store.entities.values()) {
    for (const [name, fields] of Object.entries(def.sections)) if (set === `${def.name}_${name}`) return { owner: def, name, fields };
  }
  return null;
}

function sectionRows(store: Store, owner: EntityDef, name: string): Obj[] {
  return [...store.scan(owner.name)].flatMap((o) => (o[name] as Obj[]) ?? []);
}

function env(store: Store): EvalEnv {
  return { entity: (n) => store.def(n), find: (s, r) => store.raw(s, r) };
}

function collection(
  ctx: Context,
  host: ODataHost,
  set: string,
  fields: EntityDef['fields'],
  all: Obj[],
  q: Record<string, string>,
  json: boolean,
  tail?: string,
  def?: EntityDef,
): void {
  if (tail && tail !== '$count') throw new OneCFailure(400, '-1', `Сегмент "${tail}" не поддерживается`);
  const d: EntityDef = def ?? {
    name: set,
    kind: 'Catalog',
    fields,
    sections: {},
    titles: {},
    required: { fields: [], rows: {}, sections: [] },
  };
  checkSelect(d, set, q.$select);
  let rows = all;
  if (q.$filter) {
    const test = compileFilter(q.$filter, d, env(host.store));
    rows = rows.filter(test);
  }
  if (tail === '$count') {
    ctx.type = 'text/plain;charset=utf-8';
    ctx.body = String(rows.length);
    return;
  }
  if (q.$orderby) {
    let keys: ReturnType<typeof parseOrderBy>;
    try {
      keys = parseOrderBy(q.$orderby);
      for (const k of keys) checkPaths(k.node, d, env(host.store));
    } catch (e) {
      throw new OneCFailure(400, '14', `Ошибка разбора параметра $orderby: ${(e as Error).message}`);
    }
    const e = env(host.store);
    rows = [...rows].sort((a, b) => {
      for (const k of keys) {
        const c = compareValues(sortKey(k.node, a, d, e), sortKey(k.node, b, d, e)) ?? 0;
        if (c !== 0) return k.desc ? -c : c;
      }
      return 0;
    });
  }
  const total = rows.length;
  const skip = q.$skip !== undefined ? Number(q.$skip) : 0;
  const top = q.$top !== undefined ? Number(q.$top) : Infinity;
  if (!(skip >= 0) || !(top >= 0)) throw new OneCFailure(400, '-1', 'Неверное значение $top или $skip');
  rows = rows.slice(skip, skip + top).map((o) => select(structuredClone(o), d, q.$select));
  if (!json) return atom(ctx, host, set, rows, d);
  ctx.type = 'application/json;charset=utf-8';
  const body: Obj = { 'odata.metadata': `${host.odataUrl}$metadata#${set}` };
  if (q.$inlinecount === 'allpages') body['odata.count'] = String(total);
  body.value = def ? rows.map((o) => withLinks(set, o, d)) : rows;
  ctx.body = JSON.stringify(body);
}

/** Every name in `$select` must be a property, a composite's `_Type` or a tabular section (`Section/Field`: of that section). */
function checkSelect(def: EntityDef, set: string, sel?: string): void {
  if (!sel) return;
  for (const raw of sel.split(',')) {
    const [name, sub] = raw.trim().split('/');
    const known =
      name in def.fields ||
      (name.endsWith('_Type') && def.fields[name.slice(0, -5)]?.kind === 'composite') ||
      (name in def.sections && (!sub || sub in def.sections[name]));
    if (!known) throw unknownProperty(set, raw.trim());
  }
}

/** `$select=A,B`: only those properties (a composite X brings X_Type; `Section/Field` brings the section). */
function select(o: Obj, def: EntityDef, sel?: string): Obj {
  if (!sel) return o;
  const out: Obj = {};
  for (const raw of sel.split(',')) {
    const name = raw.trim().split('/')[0];
    if (name in o) out[name] = o[name];
    if (def.fields[name]?.kind === 'composite') out[`${name}_Type`] = o[`${name}_Type`];
  }
  return out;
}

/** 1C adds a navigation link after each reference property it sends. */
function withLinks(set: string, o: Obj, def: EntityDef): Obj {
  if (typeof o.Ref_Key !== 'string') return o;
  const out: Obj = { ...o };
  for (const [k, t] of Object.entries(def.fields)) {
    if (t.kind === 'ref' && t.target && k in o && k.endsWith('_Key')) {
      const nav = k.slice(0, -4);
      out[`${nav}@navigationLinkUrl`] = `${set}(guid'${o.Ref_Key}')/${nav}`;
    }
  }
  return out;
}

function entity(ctx: Context, host: ODataHost, set: string, o: Obj, json: boolean, status: number): void {
  const def = host.store.def(set)!;
  ctx.status = status;
  if (!json) return atom(ctx, host, set, [o], def, true);
  ctx.type = 'application/json;charset=utf-8';
  ctx.body = JSON.stringify({ 'odata.metadata': `${host.odataUrl}$metadata#${set}/@Element`, ...withLinks(set, o, def) });
}

function atomProps(o: Obj): string {
  return Object.entries(o)
    .filter(([, v]) => !Array.isArray(v))
    .map(([k, v]) => `<d:${k}>${xmlEscape(String(v))}</d:${k}>`)
    .join('');
}

/** Without `$format=json` 1C answers Atom: a minimal feed (or entry). */
function atom(ctx: Context, host: ODataHost, set: string, rows: Obj[], def: EntityDef, single = false): void {
  ctx.type = `application/atom+xml;${single ? 'type=entry;' : ''}charset=utf-8`;
  const now = new Date().toISOString();
  const entry = (o: Obj) =>
    `<entry><id>${xmlEscape(`${host.odataUrl}${set}(guid'${o.Ref_Key}')`)}</id><category term="StandardODATA.${xmlEscape(def.name)}" scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"/><title/><updated>${now}</updated><author/><content type="application/xml"><m:properties>${atomProps(o)}</m:properties></content></entry>`;
  const ns = `xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xml:base="${xmlEscape(host.odataUrl)}"`;
  ctx.body = single
    ? `<?xml version="1.0" encoding="UTF-8"?>\n${entry(rows[0]).replace('<entry>', `<entry ${ns}>`)}`
    : `<?xml version="1.0" encoding="UTF-8"?>\n<feed ${ns}><id>${xmlEscape(host.odataUrl + set)}</id><title type="text">${xmlEscape(set)}</title><updated>${now}</updated>${rows.map(entry).join('')}</feed>`;
}

function publishedDefs(host: ODataHost): EntityDef[] {
  return [...host.store.entities.values()].filter((d) => host.isPublished(d.name));
}

function serviceDocument(ctx: Context, host: ODataHost, json: boolean): void {
  const sets = publishedDefs(host).map((d) => d.name);
  if (json) {
    ctx.type = 'application/json;charset=utf-8';
    ctx.body = JSON.stringify({ 'odata.metadata': `${host.odataUrl}$metadata`, value: sets.map((s) => ({ name: s, url: s })) });
    return;
  }
  ctx.type = 'application/atomsvc+xml;charset=utf-8';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<service xmlns="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom" xml:base="${xmlEscape(host.odataUrl)}"><workspace><atom:title>Default</atom:title>${sets
    .map((s) => `<collection href="${xmlEscape(s)}"><atom:title>${xmlEscape(s)}</atom:title></collection>`)
    .join('')}</workspace></service>`;
}

/**
 * The EDMX: entity types with their properties (a limited string with its MaxLength, an enumeration
 * typed as its EnumType with the members), row types as complex types, the entity sets.
 */
function metadata(ctx: Context, host: ODataHost): void {
  const defs = publishedDefs(host);
  const used = new Set<string>();
  const prop = (k: string, type: string, extra = '') => `<Property Name="${xmlEscape(k)}" Type="${type}" Nullable="true"${extra}/>`;
  const props = (fields: EntityDef['fields']) =>
    Object.entries(fields)
      .map(([k, t]) => {
        if (t.kind === 'composite') return prop(k, 'Edm.String') + prop(`${k}_Type`, 'Edm.String');
        if (t.kind === 'string' && t.length) return prop(k, 'Edm.String', ` MaxLength="${t.length}"`);
        if (t.kind === 'enum' && t.values) {
          used.add(t.enum);
          return prop(k, `StandardODATA.Enum_${xmlEscape(t.enum)}`);
        }
        return prop(k, edmType(t));
      })
      .join('');
  const types = defs
    .map((d) => {
      const rows = Object.entries(d.sections)
        .map(([s, f]) => `<ComplexType Name="${xmlEscape(`${d.name}_${s}_RowType`)}">${props(f)}</ComplexType>`)
        .join('');
      const sections = Object.keys(d.sections)
        .map(
          (s) =>
            `<Property Name="${xmlEscape(s)}" Type="Collection(StandardODATA.${xmlEscape(`${d.name}_${s}_RowType`)})" Nullable="false"/>`,
        )
        .join('');
      return `<EntityType Name="${xmlEscape(d.name)}"><Key><PropertyRef Name="Ref_Key"/></Key>${props(d.fields)}${sections}</EntityType>${rows}`;
    })
    .join('');
  const enums = Object.entries(enumsOf(host.store.configuration))
    .filter(([name]) => used.has(name))
    .map(
      ([name, values]) =>
        `<EnumType Name="Enum_${xmlEscape(name)}" UnderlyingType="Edm.Int32">${values.map((v, i) => `<Member Name="${xmlEscape(v)}" Value="${i}"/>`).join('')}</EnumType>`,
    )
    .join('');
  const sets = defs.map((d) => `<EntitySet Name="${xmlEscape(d.name)}" EntityType="StandardODATA.${xmlEscape(d.name)}"/>`).join('');
  ctx.type = 'application/xml;charset=utf-8';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0"><edmx:DataServices xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" m:DataServiceVersion="3.0"><Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" Namespace="StandardODATA">${enums}${types}<EntityContainer Name="EnterpriseV8" m:IsDefaultEntityContainer="true">${sets}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`;
}
