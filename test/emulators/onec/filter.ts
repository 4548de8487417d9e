import type { EntityDef, FieldType, Fields } from './metadata';

/**
 * The subset of OData v3 `$filter` that 1C's standard interface understands: comparisons, and/or/not,
 * parentheses, literals ('text' with '' escapes, numbers, true/false/null, guid'...', datetime'...'),
 * field paths (navigation through `X_Key` references as `X/Field`), cast(guid'...','Document_X') for
 * composite fields, `<Section>/any(d: ...)` / `all(...)` on tabular sections, and substringof /
 * startswith / endswith. Anything else (tolower, indexof, trim, arithmetic...) is a parse error:
 * 1C answers 400 with odata.error code 14.
 */

export class FilterError extends Error {}

type Token = { t: 'str' | 'guid' | 'date' | 'num' | 'id' | 'punc'; v: string };

export type Node =
  | { t: 'lit'; v: Value }
  | { t: 'path'; segs: string[] }
  | { t: 'bin'; op: string; l: Node; r: Node }
  | { t: 'not'; e: Node }
  | { t: 'lambda'; fn: 'any' | 'all'; segs: string[]; v: string; body: Node | null }
  | { t: 'call'; name: string; args: Node[] };

export type Value = string | number | boolean | null | { guid: string } | { date: string } | { composite: { ref: string; type: string } };

const COMPARISONS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = new Set(['substringof', 'startswith', 'endswith', 'cast']);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const quoted = (start: number): [string, number] => {
    let s = '';
    let j = start;
    for (;;) {
      if (j >= src.length) throw new FilterError('незакрытая строковая константа');
      if (src[j] === "'") {
        if (src[j + 1] === "'") {
          s += "'";
          j += 2;
          continue;
        }
        return [s, j + 1];
      }
      s += src[j++];
    }
  };
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      const [s, j] = quoted(i + 1);
      out.push({ t: 'str', v: s });
      i = j;
    } else if ('(),/:'.includes(c)) {
      out.push({ t: 'punc', v: c });
      i++;
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDlLfF]?/.exec(src.slice(i));
      if (!m || m[0] === '-') throw new FilterError(`неожиданный символ "${c}"`);
      out.push({ t: 'num', v: m[0].replace(/[mMdDlLfF]$/, '') });
      i += m[0].length;
    } else if (/[\p{L}_]/u.test(c)) {
      const m = /^[\p{L}_][\p{L}\p{N}_]*/u.exec(src.slice(i))!;
      const word = m[0];
      i += word.length;
      if ((word === 'guid' || word === 'datetime') && src[i] === "'") {
        const [s, j] = quoted(i + 1);
        i = j;
        if (word === 'guid' && !GUID.test(s)) throw new FilterError(`неверный литерал guid'${s}'`);
        if (word === 'datetime' && !DATETIME.test(s)) throw new FilterError(`неверный литерал datetime'${s}'`);
        out.push(word === 'guid' ? { t: 'guid', v: s.toLowerCase() } : { t: 'date', v: normalizeDate(s) });
      } else {
        out.push({ t: 'id', v: word });
      }
    } else {
      throw new FilterError(`неожиданный символ "${c}"`);
    }
  }
  return out;
}

function normalizeDate(s: string): string {
  const base = s.slice(0, 19);
  return base.length === 16 ? `${base}:00` : base;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(k = 0): Token | undefined {
    return this.toks[this.i + k];
  }
  private next(): Token {
    const t = this.toks[this.i++];
    if (!t) throw new FilterError('неожиданный конец выражения');
    return t;
  }
  private isWord(w: string, k = 0): boolean {
    const t = this.peek(k);
    return t?.t === 'id' && t.v === w;
  }
  private isPunc(p: string, k = 0): boolean {
    const t = this.peek(k);
    return t?.t === 'punc' && t.v === p;
  }
  private expect(p: string): void {
    const t = this.next();
    if (t.t !== 'punc' || t.v !== p) throw new FilterError(`ожидался "${p}", получено "${t.v}"`);
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }

  expr(): Node {
    let l = this.and();
    while (this.isWord('or')) {
      this.i++;
      l = { t: 'bin', op: 'or', l, r: this.and() };
    }
    return l;
  }
  private and(): Node {
    let l = this.comparison();
    while (this.isWord('and')) {
      this.i++;
      l = { t: 'bin', op: 'and', l, r: this.comparison() };
    }
    return l;
  }
  private comparison(): Node {
    const l = this.unary();
    const t = this.peek();
    if (t?.t === 'id' && COMPARISONS.has(t.v)) {
      this.i++;
      return { t: 'bin', op: t.v, l, r: this.unary() };
    }
    if (t?.t === 'id' && ['add', 'sub', 'mul', 'div', 'mod'].includes(t.v)) throw new FilterError(`операция "${t.v}" не поддерживается`);
    return l;
  }
  private unary(): Node {
    if (this.isWord('not')) {
      this.i++;
      return { t: 'not', e: this.unary() };
    }
    return this.primary();
  }
  private primary(): Node {
    const t = this.next();
    switch (t.t) {
      case 'str':
        return { t: 'lit', v: t.v };
      case 'num':
        return { t: 'lit', v: Number(t.v) };
      case 'guid':
        return { t: 'lit', v: { guid: t.v } };
      case 'date':
        return { t: 'lit', v: { date: t.v } };
      case 'punc':
        if (t.v !== '(') throw new FilterError(`неожиданный "${t.v}"`);
        {
          const e = this.expr();
          this.expect(')');
          return e;
        }
      case 'id':
        if (t.v === 'true' || t.v === 'false') return { t: 'lit', v: t.v === 'true' };
        if (t.v === 'null') return { t: 'lit', v: null };
        if (this.isPunc('(')) return this.call(t.v);
        return this.path(t.v);
    }
  }
  private call(name: string): Node {
    if (!FUNCTIONS.has(name)) throw new FilterError(`функция "${name}" не поддерживается`);
    this.expect('(');
    const args: Node[] = [];
    if (!this.isPunc(')')) {
      args.push(this.expr());
      while (this.isPunc(',')) {
        this.i++;
        args.push(this.expr());
      }
    }
    this.expect(')');
    if (name === 'cast') {
      const [v, type] = args;
      if (
        args.length !== 2 ||
        v.t !== 'lit' ||
        typeof v.v !== 'object' ||
        !v.v ||
        !('guid' in v.v) ||
        type.t !== 'lit' ||
        typeof type.v !== 'string'
      ) {
        throw new FilterError('cast ожидает guid и имя типа');
      }
      const typeName = type.v.startsWith('StandardODATA.') ? type.v : `StandardODATA.${type.v}`;
      return { t: 'lit', v: { composite: { ref: v.v.guid, type: typeName } } };
    }
    if (args.length !== 2) throw new FilterError(`функция "${name}" ожидает два параметра`);
    return { t: 'call', name, args };
  }
  private path(first: string): Node {
    const segs = [first];
    while (this.isPunc('/')) {
      this.i++;
      const seg = this.next();
      if (seg.t !== 'id') throw new FilterError(`неверный путь к полю после "${segs.join('/')}"`);
      if ((seg.v === 'any' || seg.v === 'all') && this.isPunc('(')) {
        this.i++;
        if (this.isPunc(')')) {
          this.i++;
          return { t: 'lambda', fn: seg.v, segs, v: '', body: null };
        }
        const v = this.next();
        if (v.t !== 'id') throw new FilterError('ожидалась переменная лямбда-выражения');
        this.expect(':');
        const body = this.expr();
        this.expect(')');
        return { t: 'lambda', fn: seg.v, segs, v: v.v, body };
      }
      segs.push(seg.v);
    }
    return { t: 'path', segs };
  }
}

export function parseFilter(src: string): Node {
  const p = new Parser(tokenize(src));
  const e = p.expr();
  if (!p.done()) throw new FilterError('лишние символы в конце выражения');
  return e;
}

/** `$orderby=Date desc,Number` → the paths and directions. */
export function parseOrderBy(src: string): { node: Node; desc: boolean }[] {
  return src.split(',').map((part) => {
    const words = part.trim().split(/\s+/);
    if (words.length > 2 || (words[1] && !/^(asc|desc)$/.test(words[1]))) throw new FilterError(`неверный элемент "${part}"`);
    const node = parseFilter(words[0]);
    if (node.t !== 'path') throw new FilterError(`неверный элемент "${part}"`);
    return { node, desc: words[1] === 'desc' };
  });
}

// ------------------------------------------------------------------ evaluation

export interface EvalEnv {
  entity(name: string): EntityDef | undefined;
  find(set: string, ref: string): Record<string, unknown> | undefined;
}

type Scope = { obj: Record<string, unknown>; fields: Fields; def?: EntityDef };

interface Ctx {
  env: EvalEnv;
  root: Scope;
  vars: Record<string, Scope>;
}

function typed(t: FieldType, raw: unknown, obj: Record<string, unknown>, name: string): Value {
  if (raw === undefined || raw === null) return null;
  switch (t.kind) {
    case 'ref':
      return { guid: String(raw).toLowerCase() };
    case 'datetime':
      return { date: String(raw) };
    case 'int64':
    case 'number':
      return Number(raw);
    case 'composite':
      return { composite: { ref: String(raw).toLowerCase(), type: String(obj[`${name}_Type`] ?? '') } };
    default:
      return raw as Value;
  }
}

function resolvePath(ctx: Ctx, segs: string[]): Value {
  let scope: Scope | undefined = ctx.root;
  let rest = segs;
  if (ctx.vars[segs[0]]) {
    scope = ctx.vars[segs[0]];
    rest = segs.slice(1);
    if (rest.length === 0) throw new FilterError(`переменная "${segs[0]}" без поля`);
  }
  for (let k = 0; k < rest.length; k++) {
    const seg = rest[k];
    if (!scope) return null;
    const last = k === rest.length - 1;
    const f = scope.fields[seg];
    if (f && last) return typed(f, scope.obj[seg], scope.obj, seg);
    if (seg.endsWith('_Type') && scope.fields[seg.slice(0, -5)]?.kind === 'composite' && last) return String(scope.obj[seg] ?? '');
    const nav = scope.fields[`${seg}_Key`];
    if (!last && nav?.kind === 'ref' && nav.target) {
      const target = ctx.env.entity(nav.target);
      if (!target) throw new FilterError(`неизвестный тип "${nav.target}"`);
      const obj = ctx.env.find(nav.target, String(scope.obj[`${seg}_Key`] ?? ''));
      scope = obj ? { obj, fields: target.fields, def: target } : undefined;
      continue;
    }
    throw new FilterError(`не найдено свойство "${seg}"`);
  }
  return null;
}

function asComparable(v: Value): string | number | boolean | null {
  if (v === null || typeof v !== 'object') return v;
  if ('guid' in v) return v.guid;
  if ('date' in v) return v.date;
  return `${v.composite.type}:${v.composite.ref}`;
}

export function compareValues(a: Value, b: Value): number | null {
  const isComposite = (v: Value) => typeof v === 'object' && v !== null && 'composite' in v;
  // a composite field compares only with cast(...): a bare guid never matches it
  if (isComposite(a) !== isComposite(b) && a !== null && b !== null) return null;
  let x = asComparable(a);
  let y = asComparable(b);
  if (x === null || y === null) return x === y ? 0 : null;
  if (typeof x === 'number' && typeof y === 'string' && y.trim() !== '' && !Number.isNaN(Number(y))) y = Number(y);
  if (typeof y === 'number' && typeof x === 'string' && x.trim() !== '' && !Number.isNaN(Number(x))) x = Number(x);
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'boolean' || typeof y === 'boolean') return x === y ? 0 : null;
  const sx = String(x);
  const sy = String(y);
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}

function evaluate(ctx: Ctx, n: Node): Value {
  switch (n.t) {
    case 'lit':
      return n.v;
    case 'path':
      return resolvePath(ctx, n.segs);
    case 'not':
      return !truthy(evaluate(ctx, n.e));
    case 'bin': {
      if (n.op === 'and') return truthy(evaluate(ctx, n.l)) && truthy(evaluate(ctx, n.r));
      if (n.op === 'or') return truthy(evaluate(ctx, n.l)) || truthy(evaluate(ctx, n.r));
      const c = compareValues(evaluate(ctx, n.l), evaluate(ctx, n.r));
      if (n.op === 'eq') return c === 0;
      if (n.op === 'ne') return c !== 0;
      if (c === null) return false;
      return n.op === 'gt' ? c > 0 : n.op === 'ge' ? c >= 0 : n.op === 'lt' ? c < 0 : c <= 0;
    }
    case 'call': {
      const [a, b] = n.args.map((x) => String(asComparable(evaluate(ctx, x)) ?? ''));
      if (n.name === 'substringof') return b.includes(a);
      if (n.name === 'startswith') return a.startsWith(b);
      return a.endsWith(b);
    }
    case 'lambda': {
      const scope = ctx.vars[n.segs[0]] ? undefined : ctx.root;
      const section = n.segs.length === 1 && scope?.def ? scope.def.sections[n.segs[0]] : undefined;
      if (!section) throw new FilterError(`"${n.segs.join('/')}" не является табличной частью`);
      const rows = (scope!.obj[n.segs[0]] as Record<string, unknown>[] | undefined) ?? [];
      if (!n.body) return n.fn === 'any' ? rows.length > 0 : true;
      const test = (row: Record<string, unknown>) =>
        truthy(evaluate({ ...ctx, vars: { ...ctx.vars, [n.v]: { obj: row, fields: section } } }, n.body!));
      return n.fn === 'any' ? rows.some(test) : rows.every(test);
    }
  }
}

function truthy(v: Value): boolean {
  return v === true;
}

/**
 * Every property a parsed expression names must exist, whatever the data: 1C resolves the paths
 * against the metadata before it reads a row (a short-circuited `and` or an empty tabular section
 * does not hide an unknown property).
 */
export function checkPaths(node: Node, def: EntityDef, env: EvalEnv, vars: Record<string, Fields> = {}): void {
  switch (node.t) {
    case 'lit':
      return;
    case 'not':
      return checkPaths(node.e, def, env, vars);
    case 'bin':
      checkPaths(node.l, def, env, vars);
      return checkPaths(node.r, def, env, vars);
    case 'call':
      for (const a of node.args) checkPaths(a, def, env, vars);
      return;
    case 'lambda': {
      const section = node.segs.length === 1 && !vars[node.segs[0]] ? def.sections[node.segs[0]] : undefined;
      if (!section) throw new FilterError(`"${node.segs.join('/')}" не является табличной частью`);
      if (node.body) checkPaths(node.body, def, env, { ...vars, [node.v]: section });
      return;
    }
    case 'path': {
      let fields: Fields = def.fields;
      let segs = node.segs;
      if (vars[segs[0]]) {
        fields = vars[segs[0]];
        segs = segs.slice(1);
      }
      segs.forEach((seg, k) => {
        const last = k === segs.length - 1;
        if (last && (fields[seg] || (seg.endsWith('_Type') && fields[seg.slice(0, -5)]?.kind === 'composite'))) return;
        const nav = fields[`${seg}_Key`];
        if (!last && nav?.kind === 'ref' && nav.target) {
          const target = env.entity(nav.target);
          if (!target) throw new FilterError(`неизвестный тип "${nav.target}"`);
          fields = target.fields;
          return;
        }
        throw new FilterError(`не найдено свойство "${seg}"`);
      });
    }
  }
}

/** Compiles a filter once; throws FilterError on a parse error or an unknown property. */
export function compileFilter(src: string, def: EntityDef, env: EvalEnv): (obj: Record<string, unknown>) => boolean {
  const node = parseFilter(src);
  checkPaths(node, def, env);
  return (obj: Record<string, unknown>) => truthy(evaluate({ env, root: { obj, fields: def.fields, def }, vars: {} }, node));
}

export function sortKey(node: Node, obj: Record<string, unknown>, def: EntityDef, env: EvalEnv): Value {
  return evaluate({ env, root: { obj, fields: def.fields, def }, vars: {} }, node);
}
