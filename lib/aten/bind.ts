/**
 * Calling a libtorch operator by its schema, as Python's argument parser does: positional
 * arguments in the schema's order, then one trailing options object whose keys are the
 * arguments' names (camelCase or the schema's snake_case); the overload is the cheapest one
 * the arguments fit (an exact type over a conversion: a number where a Tensor is expected
 * becomes a wrapped-number tensor, so `pow(x, 2)` takes pow.Tensor_Scalar and `add(x, 2)`
 * add.Tensor, as in Python). The choice is cached per argument signature.
 *
 * Results: a Tensor; an array for several returns that also carries the schema's return names
 * (`const { values, indices } = ...`); the very Tensor objects passed for arguments the operator
 * writes (`add_` returns self, out= returns out); numbers, booleans, strings and arrays as is.
 */
import { native, TensorHandle } from '../binding';
import { SCALAR_TYPE } from '../dtype';
import { describe, TorchError, withCallerStack } from '../errors';
import { Tensor, wrap } from '../tensor';
import { isOptions } from './python-args';
import { ArgType, formatSchema, opIndex, Schema, SchemaArg } from './schema';

const MEMORY_FORMAT: Record<string, number> = { contiguousFormat: 0, preserveFormat: 1, channelsLast: 2, channelsLast3d: 3 };
const LAYOUT: Record<string, number> = { strided: 0 };

/** Why a value does not fit an argument: the `Expected <what>` part of the message. */
type Fit = { cost: number; value: unknown } | { what: string };

function isInt(v: unknown): boolean {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
}

function liveTensor(v: unknown): v is Tensor {
  return v instanceof Tensor && !v.isDisposed;
}

function whatOf(t: ArgType): string {
  switch (t.kind) {
    case 'optional': return `${whatOf(t.elem)} or null`;
    case 'list': return t.elem.kind === 'Tensor' ? 'an array of Tensors' : `an array of ${whatOf(t.elem).replace(/^an? /, '')}s`;
    case 'Tensor': return 'a Tensor';
    case 'int': return 'an integer';
    case 'float': return 'a number';
    case 'bool': return 'a boolean';
    case 'Scalar': return 'a number or boolean';
    case 'str': return 'a string';
    case 'Device': return "a device ('cpu', 'cuda', 'cuda:N')";
    case 'Generator': return 'null (the default generator)';
    case 'ScalarType': return 'a dtype name';
    case 'Layout': return "'strided'";
    case 'MemoryFormat': return `one of ${Object.keys(MEMORY_FORMAT).join(', ')}`;
    case 'unsupported': return `a ${t.spelling} (not supported from JavaScript)`;
  }
}

/** Converts `v` for an argument of type `t`, or says what was expected. */
function fit(v: unknown, t: ArgType, n: number): Fit {
  const no: Fit = { what: whatOf(t) };
  switch (t.kind) {
    case 'optional':
      if (v === null || v === undefined) return { cost: 0, value: null };
      return fit(v, t.elem, n);
    case 'Tensor':
      if (liveTensor(v)) return { cost: 0, value: v._h };
      if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return { cost: 1, value: v };
      return v instanceof Tensor ? { what: 'a live Tensor' } : no;
    case 'int':
      if (isInt(v)) return { cost: 0, value: v };
      if (typeof v === 'boolean') return { cost: 1, value: v };
      return no;
    case 'float':
      if (typeof v === 'number') return { cost: 0, value: v };
      if (typeof v === 'bigint') return { cost: 1, value: Number(v) };
      return no;
    case 'bool':
      return typeof v === 'boolean' ? { cost: 0, value: v } : no;
    case 'Scalar':
      if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return { cost: 0, value: v };
      // A 0-dim tensor where a Scalar is expected, as Python's parser takes it
      if (liveTensor(v) && v.dim() === 0) return { cost: 2, value: v.item() };
      return no;
    case 'str':
      return typeof v === 'string' ? { cost: 0, value: v } : no;
    case 'Device':
      return typeof v === 'string' && /^(cpu|cuda(:\d+)?|meta)$/.test(v) ? { cost: 0, value: v } : no;
    case 'Generator':
      return v === null || v === undefined ? { cost: 0, value: null } : no;
    case 'ScalarType':
      return typeof v === 'string' && v in SCALAR_TYPE ? { cost: 0, value: SCALAR_TYPE[v as keyof typeof SCALAR_TYPE] } : no;
    case 'Layout':
      return typeof v === 'string' && v in LAYOUT ? { cost: 0, value: LAYOUT[v] } : no;
    case 'MemoryFormat':
      return typeof v === 'string' && v in MEMORY_FORMAT ? { cost: 0, value: MEMORY_FORMAT[v] } : no;
    case 'list': {
      // A lone integer where int[N] is expected is N copies of it (kernel_size=2 for int[2]
      // is [2, 2]; dim=1 for int[1] dim is [1]), as Python's argument parser expands it.
      if (!Array.isArray(v)) return n > 0 && t.elem.kind === 'int' && isInt(v) ? { cost: 1, value: new Array(n).fill(v) } : no;
      const out: unknown[] = [];
      let cost = 0;
      for (const e of v) {
        const f = fit(e, t.elem, 0);
        if (!('cost' in f)) return no;
        cost = Math.max(cost, f.cost);
        out.push(f.value);
      }
      return { cost, value: out };
    }
    case 'unsupported':
      return no;
  }
}

export interface Bound {
  schema: Schema;
  /** In schema order; undefined takes the schema's default (native/ops.cc). */
  args: unknown[];
  /** The Tensor objects passed for arguments the operator writes, in schema order. */
  written: Tensor[];
  cost: number;
}

interface Failure {
  schema: Schema;
  /** How far binding got: the failure of the overload that got furthest is reported. */
  progress: number;
  message: string;
}

const positionalCounts = new WeakMap<Schema, number>();
/** How many arguments the schema takes positionally (those before its `*`). */
function positionalCount(schema: Schema): number {
  let n = positionalCounts.get(schema);
  if (n === undefined) {
    const k = schema.args.findIndex((a) => a.kwargOnly);
    positionalCounts.set(schema, (n = k < 0 ? schema.args.length : k));
  }
  return n;
}

/** Binds the call to one overload, or says why not. */
function bindOne(schema: Schema, positional: unknown[], options: Record<string, unknown> | null): Bound | Failure {
  const text = () => formatSchema(schema);
  const params = schema.args;
  const maxPositional = positionalCount(schema);
  let given = positional;
  // Python's varargs int list: x.permute(2, 0, 1), x.view(2, 3), x.repeat(2, 2)
  if (given.length > maxPositional && params.length > 0) {
    const first = params[0].type.kind === 'Tensor' ? 1 : 0;
    const p = params[first];
    if (p && p.type.kind === 'list' && p.type.elem.kind === 'int' && given.slice(first).every(isInt)) {
      given = [...given.slice(0, first), given.slice(first)];
    }
  }
  if (given.length > maxPositional) {
    return { schema, progress: maxPositional, message: `Expected at most ${maxPositional} positional arguments for ${text()} but received ${given.length}` };
  }
  // values[i] === undefined: not given (the schema's default, or None for an optional)
  let values: unknown[] = given;
  if (options) {
    values = given.slice();
    for (const key of Object.keys(options)) {
      if (options[key] === undefined) continue;
      const i = params.findIndex((a) => a.key === key || a.name === key);
      if (i < 0) {
        return { schema, progress: -1, message: `Expected an option of ${text()} (${params.slice(1).map((a) => a.key).join(', ')}) for options.${key} but received ${describe(options[key])}` };
      }
      if (values[i] !== undefined) {
        return { schema, progress: i, message: `Expected argument '${params[i].name}' of ${text()} once but received it both positionally and as options.${key}` };
      }
      values[i] = options[key];
    }
  }
  const args: unknown[] = new Array(params.length);
  const written: Tensor[] = [];
  let cost = 0;
  for (let i = 0; i < params.length; i++) {
    const p: SchemaArg = params[i];
    if (values[i] === undefined) {
      if (p.hasDefault) {
        args[i] = undefined;
        continue;
      }
      if (p.type.kind === 'optional') {
        // An optional with no default (std.correction's dim): None, at a small cost, so an
        // overload that does not need it wins.
        args[i] = null;
        cost += 0.5;
        continue;
      }
      return { schema, progress: i, message: `Expected ${whatOf(p.type)} for argument '${p.name}' of ${text()} but received nothing` };
    }
    const f = fit(values[i], p.type, p.n);
    if (!('cost' in f)) return { schema, progress: i, message: `Expected ${f.what} for argument '${p.name}' of ${text()} but received ${describe(values[i])}` };
    // `self` takes no number: torch.pow(2, x) is pow.Scalar, not a wrapped 2
    if (i === 0 && p.type.kind === 'Tensor' && f.cost > 0) return { schema, progress: i, message: `Expected a Tensor for argument '${p.name}' of ${text()} but received ${describe(values[i])}` };
    if (p.writes && values[i] instanceof Tensor) written.push(values[i] as Tensor);
    args[i] = f.value;
    cost += f.cost;
  }
  return { schema, args, written, cost };
}

/** A key for the resolution cache: what overload a call takes depends only on these. */
function tagOf(v: unknown): string {
  if (v === null || v === undefined) return 'n';
  switch (typeof v) {
    case 'number': return Number.isInteger(v) ? 'i' : 'f';
    case 'bigint': return 'i';
    case 'boolean': return 'b';
    case 'string': return 's';
    default:
      if (v instanceof Tensor) return v.isDisposed ? 'x' : 'T';
      if (Array.isArray(v)) return v.length ? `[${tagOf(v[0])}${v.length}` : '[';
      return 'o';
  }
}

const resolved = new WeakMap<readonly Schema[], Map<string, Schema>>();

/**
 * Splits `args` into positional arguments and a trailing options object, picks the overload and
 * converts. `label` names the function in errors when no overload fits.
 */
export function bind(overloads: readonly Schema[], args: unknown[], label: string): Bound {
  let positional = args;
  let options: Record<string, unknown> | null = null;
  if (args.length > 0 && isOptions(args[args.length - 1])) {
    options = args[args.length - 1] as Record<string, unknown>;
    positional = args.slice(0, -1);
  }
  const key = `${positional.map(tagOf).join(',')}|${options ? Object.keys(options).filter((k) => options![k] !== undefined).join(',') : ''}`;
  let cache = resolved.get(overloads);
  const hit = cache?.get(key);
  if (hit) {
    const b = bindOne(hit, positional, options);
    if ('args' in b) return b;
  }
  let best: Bound | null = null;
  let closest: Failure | null = null;
  for (const s of overloads) {
    const b = bindOne(s, positional, options);
    if ('args' in b) {
      if (!best || b.cost < best.cost) best = b;
    } else if (!closest || b.progress > closest.progress) {
      closest = b;
    }
  }
  if (best) {
    if (!cache) resolved.set(overloads, (cache = new Map()));
    if (cache.size < 64) cache.set(key, best.schema);
    return best;
  }
  if (overloads.length === 1 || !closest) throw new TorchError(closest!.message, 'ERR_INVALID_ARG');
  const all = overloads.map(formatSchema).join('\n  ');
  throw new TorchError(`${closest.message}\n(${label} has ${overloads.length} overloads:\n  ${all})`, 'ERR_INVALID_ARG');
}

function convertResult(v: unknown, t: ArgType): unknown {
  switch (t.kind) {
    case 'Tensor': return v === null ? null : wrap(v as TensorHandle);
    case 'optional': return v === null ? null : convertResult(v, t.elem);
    case 'list': return (v as unknown[]).map((e) => convertResult(e, t.elem));
    default: return v;
  }
}

/** Whether every result is an argument the operator wrote (add_, out=): those are returned. */
function returnsWritten(b: Bound): boolean {
  const rets = b.schema.returns;
  return rets.length > 0 && rets.every((r) => r.writes) && b.written.length >= rets.length;
}

function results(b: Bound, out: unknown): unknown {
  const { schema } = b;
  const rets = schema.returns;
  if (returnsWritten(b)) return rets.length === 1 ? b.written[0] : named(b.written.slice(0, rets.length), schema);
  if (rets.length === 0) return undefined;
  if (rets.length === 1) return convertResult(out, rets[0].type);
  return named((out as unknown[]).map((v, i) => convertResult(v, rets[i].type)), schema);
}

/** Runs a bound call and converts its results (see the top of this file). */
export function run(b: Bound): unknown {
  const index = opIndex(b.schema);
  if (returnsWritten(b)) {
    native.callInPlace(index, ...b.args); // no new handles for tensors JS already has
    for (const t of b.written) t.clearMeta(); // unsqueeze_, t_, resize_ change the shape
    return results(b, undefined);
  }
  return results(b, native.call(index, ...b.args));
}

/** run() as a job on the executor thread; a rejection carries the caller's stack. */
export function runAsync(b: Bound): Promise<unknown> {
  const caller = new Error();
  return withCallerStack(native.callAsync(opIndex(b.schema), ...b.args), caller).then((out) => {
    for (const t of b.written) t.clearMeta();
    return results(b, out);
  });
}

function named(values: unknown[], schema: Schema): unknown[] {
  schema.returns.forEach((r, i) => {
    if (r.name) Object.defineProperty(values, r.name, { value: values[i], enumerable: false });
  });
  return values;
}

/** bind + run: calls the operator with JavaScript arguments. */
export function callOverloads(overloads: readonly Schema[], args: unknown[], label: string): unknown {
  return run(bind(overloads, args, label));
}

/** bind + runAsync. Bad arguments reject (they are checked before anything is queued). */
export function callOverloadsAsync(overloads: readonly Schema[], args: unknown[], label: string): Promise<unknown> {
  try {
    return runAsync(bind(overloads, args, label));
  } catch (err) {
    return Promise.reject(err);
  }
}
