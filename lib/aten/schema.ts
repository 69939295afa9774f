/**
 * libtorch's operator schemas, as the running addon's dispatcher registers them (native/ops.cc
 * `schemas()`), read once on first use and indexed by name. Each schema keeps its arguments'
 * parsed types, defaults and the keyword names lib/ accepts (the schema's own snake_case name
 * and its camelCase form), and formats back to the text PyTorch prints
 * (`aten::topk(Tensor self, int k, int dim=-1, ...) -> (Tensor values, Tensor indices)`), which
 * error messages quote.
 */
import { native, NativeArgument, NativeSchema } from '../binding';

/** An argument type, parsed from the schema's spelling ("Tensor?", "int[]", "SymInt[]?"). */
export type ArgType =
  | { kind: 'Tensor' | 'int' | 'float' | 'bool' | 'Scalar' | 'str' | 'Device' | 'Generator' | 'ScalarType' | 'Layout' | 'MemoryFormat' }
  | { kind: 'optional'; elem: ArgType }
  | { kind: 'list'; elem: ArgType }
  | { kind: 'unsupported'; spelling: string };

export interface SchemaArg {
  name: string;
  /** camelCase of name: the key of the options object (`keepdim`, `roundingMode`). */
  key: string;
  type: ArgType;
  spelling: string;
  hasDefault: boolean;
  default: unknown;
  kwargOnly: boolean;
  /** Tensor(a!): the operator writes into this argument (in-place self, out=). */
  writes: boolean;
  /** The fixed length of a list argument (int[2] stride), or 0. */
  n: number;
}

export interface SchemaReturn {
  name: string;
  type: ArgType;
  spelling: string;
  writes: boolean;
}

export interface Schema {
  /** 'aten::topk' */
  name: string;
  /** '' for the default overload */
  overload: string;
  args: SchemaArg[];
  returns: SchemaReturn[];
  vararg: boolean;
  /** The dispatcher index for native.call, looked up on the first call. */
  index: number | null;
}

const BASE: Record<string, ArgType['kind']> = {
  Tensor: 'Tensor', int: 'int', SymInt: 'int', float: 'float', bool: 'bool', Scalar: 'Scalar', str: 'str',
  Device: 'Device', Generator: 'Generator', ScalarType: 'ScalarType', Layout: 'Layout', MemoryFormat: 'MemoryFormat',
};

// libtorch 1.13 spells ScalarType, Layout and MemoryFormat arguments "int": their names tell.
const INT_ENUM_BY_NAME: Record<string, ArgType['kind']> = { dtype: 'ScalarType', layout: 'Layout', memory_format: 'MemoryFormat' };

export function parseType(spelling: string, argName = ''): ArgType {
  if (spelling.endsWith('?')) return { kind: 'optional', elem: parseType(spelling.slice(0, -1), argName) };
  const list = /^(.*)\[\d*\]$/.exec(spelling);
  if (list) return { kind: 'list', elem: parseType(list[1]) };
  const kind = BASE[spelling];
  if (kind === undefined) return { kind: 'unsupported', spelling };
  if (kind === 'int' && INT_ENUM_BY_NAME[argName]) return { kind: INT_ENUM_BY_NAME[argName] } as ArgType;
  return { kind } as ArgType;
}

export function camelCase(name: string): string {
  return name.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function toArg(a: NativeArgument): SchemaArg {
  const [name, spelling, hasDefault, def, kwargOnly, writes, n] = a;
  return { name, key: camelCase(name), type: parseType(spelling, name), spelling, hasDefault, default: def, kwargOnly, writes, n };
}

let byName: Map<string, Schema[]> | null = null;

function build(list: NativeSchema[]): Map<string, Schema[]> {
  const out = new Map<string, Schema[]>();
  for (const [name, overload, args, rets, vararg] of list) {
    const schema: Schema = {
      name,
      overload,
      args: args.map(toArg),
      returns: rets.map(([n, spelling, writes]) => ({ name: n, type: parseType(spelling), spelling, writes })),
      vararg,
      index: null,
    };
    const at = out.get(name);
    if (at) at.push(schema);
    else out.set(name, [schema]);
  }
  // The default overload first, then by name, so that resolution (lib/aten/bind.ts) breaks
  // ties the same way on every run and libtorch line.
  for (const list of out.values()) list.sort((a, b) => (a.overload === '' ? -1 : b.overload === '' ? 1 : a.overload < b.overload ? -1 : a.overload > b.overload ? 1 : 0));
  return out;
}

/** Every overload of `ns::name` (e.g. 'aten::topk'), or an empty list. */
export function overloadsOf(qualified: string): readonly Schema[] {
  byName ??= build(native.schemas());
  return byName.get(qualified) ?? [];
}

/** The names of every registered operator in namespace `ns` ('aten', 'torchrnn', ...). */
export function operatorNames(ns: string): string[] {
  byName ??= build(native.schemas());
  const prefix = `${ns}::`;
  return [...byName.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
}

/** The namespaces that have operators. */
export function namespaces(): string[] {
  byName ??= build(native.schemas());
  return [...new Set([...byName.keys()].map((k) => k.split('::')[0]))];
}

/** The dispatcher index of `schema`, looked up once. */
export function opIndex(schema: Schema): number {
  if (schema.index === null) schema.index = native.op(schema.name, schema.overload);
  return schema.index;
}

function formatDefault(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(formatDefault).join(', ')}]`;
  return String(v);
}

/** The schema's text as PyTorch prints it: `aten::std.dim(Tensor self, int[1]? dim, ...) -> Tensor`. */
export function formatSchema(s: Schema): string {
  const parts: string[] = [];
  let star = false;
  let alias = 0;
  for (const a of s.args) {
    if (a.kwargOnly && !star) {
      parts.push('*');
      star = true;
    }
    let spelling = a.n && a.spelling.includes('[]') ? a.spelling.replace('[]', `[${a.n}]`) : a.spelling;
    const kind = a.type.kind === 'optional' ? a.type.elem.kind : a.type.kind;
    if (kind === 'ScalarType' || kind === 'Layout' || kind === 'MemoryFormat') spelling = spelling.replace(/^int/, kind);
    const type = a.writes ? spelling.replace(/^Tensor/, `Tensor(${String.fromCharCode(97 + alias++)}!)`) : spelling;
    parts.push(`${type} ${a.name}${a.hasDefault ? `=${formatDefault(a.default)}` : ''}`);
  }
  const rets = s.returns.map((r) => (r.name ? `${r.spelling} ${r.name}` : r.spelling));
  const ret = rets.length === 1 && !s.returns[0].name ? rets[0] : `(${rets.join(', ')})`;
  return `${s.name}${s.overload ? `.${s.overload}` : ''}(${parts.join(', ')}) -> ${ret}`;
}

function unsupportedType(t: ArgType): boolean {
  if (t.kind === 'unsupported') return true;
  if (t.kind === 'optional' || t.kind === 'list') return unsupportedType(t.elem);
  return false;
}

/**
 * The overloads the public API (lib/api/) calls: not the out= forms (an argument other than
 * self is written), not the named-tensor (Dimname) forms, none with argument types that have
 * no JavaScript form. torch.ops keeps them all.
 */
export function publicOverloads(list: readonly Schema[]): Schema[] {
  return list.filter((s) =>
    !/(^|_)(out|names|Dimname|dimname|DimnameList)(_|$)/.test(s.overload) &&
    !/Dimname|names_/.test(s.overload) &&
    !s.args.some((a, i) => (a.writes && i > 0) || unsupportedType(a.type)));
}
