/**
 * The runtime of the generated public API (lib/api/generated/, written by
 * scripts/gen-api/generate.ts): each generated function or Tensor method is one of these,
 * bound to an aten operator name. The overloads are the running libtorch's own (lib/aten/), so
 * both lines share one TypeScript API; a name or option that only the other line has throws
 * ERR_UNSUPPORTED naming the version that has it.
 *
 * Calling convention (PyTorch's, in JavaScript): Python's positional arguments stay positional;
 * keyword arguments go in one trailing options object with camelCase keys:
 * `torch.topk(x, 3, { dim: 1, largest: false })`, `x.std({ dim: [0, 1], keepdim: true })`.
 */
import { invalidArg, TorchError } from '../errors';
import { libtorchVersion, libtorchLine } from '../compat';
import { bind, run, runAsync } from '../aten/bind';
import { isOptions } from '../aten/python-args';
import { overloadsOf, publicOverloads, Schema } from '../aten/schema';
import { Tensor } from '../tensor';

/** Marks generated functions, so that the generator tells them from hand-written ones. */
export const GENERATED = Symbol.for('torchrnn.generated');

/** Where a name or option exists on one libtorch line only: { '2.6': ['correction'] }. */
export interface Availability {
  /** The lines that have the operator; absent: every line. */
  lines?: string[];
  /** Option keys (camelCase) that only some lines have, by line. */
  keys?: Record<string, string[]>;
}

export interface PythonSignature {
  /** Python's parameter names (snake_case) in order; positional arguments map onto them. */
  params: string[];
  /** Python's first parameter is called `input` where the schema says `self`, and the like. */
  renames?: Record<string, string>;
  /** Parameters Python keeps only for compatibility (size_average, reduce): dropped when given. */
  dropped?: string[];
  /** `reduction: 'none' | 'mean' | 'sum'` becomes the schema's int (at::Reduction). */
  reduction?: boolean;
  /** `inplace: true` calls this operator (relu_) instead. */
  inplaceOp?: string;
  /** Python's `*tensors`: positional tensors from this index on are passed as one list. */
  packFrom?: number;
  /** Python's defaults where the operator has none (F.dropout: p 0.5, training true). */
  defaults?: Record<string, unknown>;
  /** `return_indices: true` calls this operator instead (F.max_pool2d → max_pool2d_with_indices). */
  indicesOp?: string;
  /** The operator returns (output, indices); Python returns the output alone unless return_indices. */
  indicesResult?: boolean;
}

const cache = new Map<string, Schema[]>();

function overloads(aten: string): Schema[] {
  let list = cache.get(aten);
  if (!list) cache.set(aten, (list = publicOverloads(overloadsOf(aten.includes('::') ? aten : `aten::${aten}`))));
  return list;
}

function missing(label: string, avail: Availability): never {
  const other = avail.lines?.length ? `; libtorch ${avail.lines.join(' and ')} has it` : '';
  throw new TorchError(`${label} is not available in libtorch ${libtorchVersion}${other}`, 'ERR_UNSUPPORTED');
}

function checkKeys(label: string, avail: Availability, args: unknown[]): void {
  if (!avail.keys) return;
  const last = args[args.length - 1];
  if (!isOptions(last)) return;
  for (const [line, keys] of Object.entries(avail.keys)) {
    if (line === libtorchLine) continue;
    for (const k of Object.keys(last)) {
      const mine = avail.keys[libtorchLine] ?? [];
      if (keys.includes(k) && !mine.includes(k) && (last as Record<string, unknown>)[k] !== undefined) {
        throw new TorchError(`options.${k} of ${label} is not available in libtorch ${libtorchVersion}; libtorch ${line} has it`, 'ERR_UNSUPPORTED');
      }
    }
  }
}

const REDUCTION: Record<string, number> = { none: 0, mean: 1, sum: 2 };

/**
 * Python's functions pass None on as "the default" where the operator's argument takes no None
 * (F.max_pool2d's stride=None is the operator's stride=[], that is the kernel size): such a
 * null is dropped, so the operator's default applies.
 */
function dropNoneForDefaults(list: readonly Schema[], named: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(named)) {
    if (v !== null) continue;
    const args = list.map((s) => s.args.find((a) => a.name === k)).filter((a) => a !== undefined);
    if (args.length && args.every((a) => a!.hasDefault && a!.type.kind !== 'optional')) delete named[k];
  }
}

/** Python-signature functions (nn.functional and the like): every argument goes by name. */
function adapt(args: unknown[], py: PythonSignature, label: string): { args: unknown[]; inplace: boolean; indices: boolean } {
  let positional = args;
  let options: Record<string, unknown> = {};
  const last = args[args.length - 1];
  if (args.length && isOptions(last)) {
    options = { ...(last as Record<string, unknown>) };
    positional = args.slice(0, -1);
  }
  if (py.packFrom !== undefined && positional.length > py.packFrom && !Array.isArray(positional[py.packFrom])) {
    positional = [...positional.slice(0, py.packFrom), positional.slice(py.packFrom)];
  }
  if (positional.length > py.params.length) {
    throw new TorchError(`Expected at most ${py.params.length} positional arguments for ${label} but received ${positional.length}`, 'ERR_INVALID_ARG');
  }
  const named: Record<string, unknown> = {};
  positional.forEach((v, i) => {
    if (v !== undefined) named[py.params[i]] = v;
  });
  for (const [k, v] of Object.entries(options)) {
    const snake = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (snake in named) throw new TorchError(`Expected argument '${snake}' of ${label} once but received it both positionally and as options.${k}`, 'ERR_INVALID_ARG');
    named[snake] = v;
  }
  let inplace = false;
  let indices = false;
  if ((py.indicesOp !== undefined || py.indicesResult) && 'return_indices' in named) {
    indices = named.return_indices === true;
    delete named.return_indices;
  }
  for (const [k, v] of Object.entries(py.defaults ?? {})) if (!(k in named) || named[k] === undefined) named[k] = v;
  for (const d of py.dropped ?? []) delete named[d];
  if ('inplace' in named && py.inplaceOp !== undefined) {
    inplace = named.inplace === true;
    delete named.inplace;
  }
  if (py.reduction && 'reduction' in named) {
    const r = named.reduction;
    if (typeof r !== 'string' || !(r in REDUCTION)) throw new TorchError(`Expected one of 'none', 'mean', 'sum' for reduction of ${label} but received ${JSON.stringify(r)}`, 'ERR_INVALID_ARG');
    named.reduction = REDUCTION[r];
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(named)) out[py.renames?.[k] ?? k] = v;
  return { args: [out], inplace, indices };
}

type Fn = ((...args: unknown[]) => unknown) & { [GENERATED]?: true };

/**
 * Python's factory functions take `requires_grad`, which their schemas lack (torch.empty,
 * torch.full, torch.randn...): taken out of the options here and set on the result.
 */
function takeRequiresGrad(list: readonly Schema[], args: unknown[]): boolean | undefined {
  const last = args[args.length - 1];
  if (!isOptions(last)) return undefined;
  const opts = last;
  const key = 'requiresGrad' in opts ? 'requiresGrad' : 'requires_grad' in opts ? 'requires_grad' : null;
  if (key === null || list.some((s) => s.args.some((a) => a.name === 'requires_grad'))) return undefined;
  const value = opts[key];
  if (value !== undefined && typeof value !== 'boolean') invalidArg('a boolean', `options.${key}`, value);
  const rest = { ...opts };
  delete rest[key];
  args[args.length - 1] = rest;
  return value as boolean | undefined;
}

interface Prepared {
  bound: ReturnType<typeof bind>;
  finish(out: unknown): unknown;
}

/** Everything a call does before the operator runs: Python's signature, overload, requiresGrad. */
function prepare(aten: string, label: string, avail: Availability, py: PythonSignature | undefined, args: unknown[]): Prepared {
  let list = overloads(aten);
  let call = args;
  let firstOnly = false;
  if (py) {
    const a = adapt(args, py, label);
    call = a.args;
    if (a.inplace) {
      list = overloads(py.inplaceOp!);
      // the in-place operator names its tensor `self` where the functional one says `input`
      // (aten::dropout_ vs aten::dropout)
      const o = call[0] as Record<string, unknown>;
      if ('input' in o && list.length && list.every((s) => !s.args.some((x) => x.name === 'input') && s.args.some((x) => x.name === 'self'))) {
        o.self = o.input;
        delete o.input;
      }
    }
    if (a.indices && py.indicesOp) list = overloads(py.indicesOp);
    firstOnly = !!py.indicesResult && !a.indices;
  } else {
    checkKeys(label, avail, args);
  }
  if (list.length === 0) missing(label, avail);
  if (py) dropNoneForDefaults(list, call[0] as Record<string, unknown>);
  const requiresGrad = takeRequiresGrad(list, call);
  return {
    bound: bind(list, call, label),
    finish(out) {
      if (firstOnly) {
        const [first, ...unused] = out as Tensor[];
        unused.forEach((t) => t.dispose()); // the indices Python's function drops
        out = first;
      }
      if (requiresGrad !== undefined && out instanceof Tensor) out.requiresGrad_(requiresGrad);
      return out;
    },
  };
}

/** `torch.<name>` and the like: a free function over the aten operator `aten`. */
export function fn(aten: string, label: string, avail: Availability = {}, py?: PythonSignature): Fn {
  const f: Fn = (...args: unknown[]) => {
    const p = prepare(aten, label, avail, py, args);
    return p.finish(run(p.bound));
  };
  f[GENERATED] = true;
  Object.defineProperty(f, 'name', { value: label.slice(label.lastIndexOf('.') + 1) });
  return f;
}

/**
 * `torch.<name>Async`: the same call as a job on the executor thread (heavy operators:
 * decompositions, convolutions, sorts): a Promise of the same results. Bad arguments reject
 * before anything is queued.
 */
export function fnAsync(aten: string, label: string, avail: Availability = {}, py?: PythonSignature): Fn {
  const f: Fn = (...args: unknown[]) => {
    let p: Prepared;
    try {
      p = prepare(aten, label, avail, py, args);
    } catch (err) {
      return Promise.reject(err);
    }
    return runAsync(p.bound).then((out) => p.finish(out));
  };
  f[GENERATED] = true;
  Object.defineProperty(f, 'name', { value: `${label.slice(label.lastIndexOf('.') + 1)}Async` });
  return f;
}

/** `Tensor.prototype.<name>`: the same, with the tensor as the operator's `self`. */
export function method(aten: string, label: string, avail: Availability = {}): Fn {
  const f: Fn = function (this: Tensor, ...args: unknown[]) {
    const list = overloads(aten);
    if (list.length === 0) missing(label, avail);
    checkKeys(label, avail, args);
    return run(bind(list, [this, ...args], label));
  };
  f[GENERATED] = true;
  return f;
}

/** Installs generated methods on Tensor.prototype, never over a hand-written one. */
export function installMethods(methods: Record<string, Fn>): void {
  const proto = Tensor.prototype as unknown as Record<string, unknown>;
  for (const [name, f] of Object.entries(methods)) {
    if (Object.prototype.hasOwnProperty.call(proto, name)) continue;
    Object.defineProperty(proto, name, { value: f, writable: true, configurable: true, enumerable: false });
  }
}
