/**
 * torch.* functions that PyTorch writes in Python (torch/functional.py: no single aten operator
 * of their name and signature, so scripts/gen-api/ cannot generate them), by hand with PyTorch's
 * semantics: unique, broadcastShapes, lu, nonzero (asTuple), tensordot and norm, and the Tensor
 * methods PyTorch has for them (x.unique(), x.lu(), x.nonzero({ asTuple }), x.norm(...)), which
 * replace the generated ones on Tensor.prototype.
 *
 * Each validates its arguments, then calls the libtorch operators PyTorch's Python calls
 * (aten::_unique2 / unique_dim, linalg_lu_factor_ex, nonzero / nonzero_numpy, tensordot, and
 * for norm what the running line's torch.norm calls: aten::norm, frobenius_norm and nuclear_norm
 * on 1.13, linalg_vector_norm and linalg_matrix_norm on 2.x).
 *
 * Calling convention (PyTorch's): positional arguments in Python's order, keyword arguments in
 * one trailing options object with camelCase keys; null and undefined both stand for None.
 */
import { checkDType, DType } from '../dtype';
import { libtorchAtLeast } from '../compat';
import { invalidArg, TorchError } from '../errors';
import { checkTensor, Tensor, tidy } from '../tensor';
import { ops } from '../aten/ops-namespace';
import { none, pyArgs, warnOnce } from '../aten/python-args';
import { checkBool, checkDim } from '../validate';
import { GENERATED } from './public-op';

/* eslint-disable @typescript-eslint/no-explicit-any */
const aten = ops.aten as any;
/* eslint-enable @typescript-eslint/no-explicit-any */

function optBool(value: unknown, name: string, dflt: boolean): boolean {
  return none(value) ? dflt : checkBool(value, name);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

// ---- unique ----------------------------------------------------------------------------------

export interface UniqueOptions {
  /** Sort the unique elements ascending. Default true. */
  sorted?: boolean;
  /** Also return, for each input element, the index of its unique element. Default false. */
  returnInverse?: boolean;
  /** Also return how many times each unique element occurs. Default false. */
  returnCounts?: boolean;
  /** Unique slices along this dimension instead of unique elements. Default: null (elements of the flattened input). */
  dim?: number | null;
}

function uniqueImpl(label: string, args: unknown[], method: boolean): Tensor | Tensor[] {
  const a = pyArgs(label, args, ['input', 'sorted', 'returnInverse', 'returnCounts', 'dim'], [], method);
  const x = checkTensor(a.input, method ? 'self' : 'input');
  const sorted = optBool(a.sorted, 'sorted', true);
  const inverse = optBool(a.returnInverse, 'returnInverse', false);
  const counts = optBool(a.returnCounts, 'returnCounts', false);
  const dim = none(a.dim) ? null : checkDim(a.dim, 'dim', x.dim());
  return tidy(() => {
    const [output, inv, cnt] = (dim === null ? aten._unique2(x, sorted, inverse, counts) : aten.unique_dim(x, dim, sorted, inverse, counts)) as Tensor[];
    return pick(output, inv, cnt, inverse, counts);
  });
}

/**
 * The unique elements of input (or unique slices along dim), PyTorch's torch.unique (through
 * aten::_unique2, or aten::unique_dim with dim). Returns a Tensor, or [output, inverse] /
 * [output, counts] / [output, inverse, counts] when returnInverse or returnCounts ask for them,
 * as Python returns its tuple. Defaults: sorted true, returnInverse false, returnCounts false,
 * dim null.
 * @example
 * const u = torch.unique(torch.tensor([3, 1, 3, 2]));                        // [1, 2, 3]
 * const [v, inverse, counts] = torch.unique(x, { returnInverse: true, returnCounts: true });
 */
export function unique<D extends DType>(input: Tensor<D>, opts?: UniqueOptions & { returnInverse?: false; returnCounts?: false }): Tensor<D>;
export function unique<D extends DType>(input: Tensor<D>, opts: UniqueOptions & { returnInverse: true; returnCounts: true }): [Tensor<D>, Tensor<'int64'>, Tensor<'int64'>];
export function unique<D extends DType>(input: Tensor<D>, opts: UniqueOptions & ({ returnInverse: true } | { returnCounts: true })): [Tensor<D>, Tensor<'int64'>];
export function unique(input: Tensor, sorted?: boolean, returnInverse?: boolean, returnCounts?: boolean, dim?: number | null): Tensor | Tensor[];
export function unique(input: Tensor, opts?: UniqueOptions): Tensor | Tensor[];
export function unique(...args: unknown[]): Tensor | Tensor[] {
  return uniqueImpl('torch.unique', args, false);
}

/** Python's selection of results: the output, then inverse and counts where asked for. */
function pick(output: Tensor, inv: Tensor, cnt: Tensor, inverse: boolean, counts: boolean): Tensor | Tensor[] {
  if (inverse && counts) return [output, inv, cnt];
  if (inverse) return [output, inv];
  if (counts) return [output, cnt];
  return output;
}

function uniqueConsecutiveImpl(label: string, args: unknown[], method: boolean): Tensor | Tensor[] {
  const a = pyArgs(label, args, ['input', 'returnInverse', 'returnCounts', 'dim'], [], method);
  const x = checkTensor(a.input, method ? 'self' : 'input');
  const inverse = optBool(a.returnInverse, 'returnInverse', false);
  const counts = optBool(a.returnCounts, 'returnCounts', false);
  const dim = none(a.dim) ? null : checkDim(a.dim, 'dim', x.dim());
  return tidy(() => {
    const [output, inv, cnt] = aten.unique_consecutive(x, inverse, counts, dim) as Tensor[];
    return pick(output, inv, cnt, inverse, counts);
  });
}

/**
 * The input with each run of equal consecutive elements (or slices along dim) reduced to one,
 * PyTorch's torch.unique_consecutive. Returns a Tensor, or [output, inverse] / [output, counts]
 * / [output, inverse, counts] when asked, as Python does. Defaults: returnInverse false,
 * returnCounts false, dim null (the flattened input).
 * @example torch.uniqueConsecutive(torch.tensor([1, 1, 2, 2, 3, 1])) // [1, 2, 3, 1]
 */
export function uniqueConsecutive(input: Tensor, opts?: Omit<UniqueOptions, 'sorted'>): Tensor | Tensor[];
export function uniqueConsecutive(input: Tensor, returnInverse?: boolean, returnCounts?: boolean, dim?: number | null): Tensor | Tensor[];
export function uniqueConsecutive(...args: unknown[]): Tensor | Tensor[] {
  return uniqueConsecutiveImpl('torch.unique_consecutive', args, false);
}

// ---- broadcastShapes ---------------------------------------------------------------------------

/**
 * The shape tensors of these shapes broadcast to, PyTorch's torch.broadcast_shapes (computed in
 * JavaScript; no tensor is made). Each shape is an array of sizes or one integer (a 1-D shape).
 * A negative size or shapes that do not broadcast throw ERR_TORCH with PyTorch's messages.
 * @example torch.broadcastShapes([5, 1], [1, 3], 3) // [5, 3]
 */
export function broadcastShapes(...shapes: (number | readonly number[])[]): number[] {
  const list = shapes.map((s, i): readonly number[] => {
    if (isInt(s)) return [s];
    if (Array.isArray(s) && s.every(isInt)) return s;
    return invalidArg('an integer or an array of integers (a shape)', `shapes[${i}]`, s);
  });
  const result = new Array<number>(Math.max(0, ...list.map((s) => s.length))).fill(1);
  const n = result.length;
  for (const shape of list) {
    for (let i = -1; i >= -shape.length; i--) {
      const size = shape[shape.length + i];
      if (size < 0) throw new TorchError(`Trying to create tensor with negative dimension (${size}): (${size})`, 'ERR_TORCH');
      if (size === 1 || size === result[n + i]) continue;
      if (result[n + i] !== 1) throw new TorchError('Shape mismatch: objects cannot be broadcast to a single shape', 'ERR_TORCH');
      result[n + i] = size;
    }
  }
  return result;
}

// ---- lu ------------------------------------------------------------------------------------------

export interface LuOptions {
  /** Partial pivoting (false works on CUDA only, as in PyTorch). Default true. */
  pivot?: boolean;
  /** Also return the LAPACK infos (> 0 where a factor is singular) instead of ignoring them. Default false. */
  getInfos?: boolean;
}

function luImpl(label: string, args: unknown[], method: boolean): Tensor[] {
  const a = pyArgs(label, args, ['A', 'pivot', 'getInfos'], [], method);
  const A = checkTensor(a.A, method ? 'self' : 'A');
  const pivot = optBool(a.pivot, 'pivot', true);
  const getInfos = optBool(a.getInfos, 'getInfos', false);
  if (A.dim() < 2) invalidArg('a tensor of matrices [..., M, N]', method ? 'self' : 'A', A);
  warnOnce('torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will be removed in a future PyTorch release.\n'
    + 'LU, pivots = torch.lu(A, compute_pivots)\nshould be replaced with\nLU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\n'
    + 'LU, pivots, info = torch.lu(A, compute_pivots, get_infos=True)\nshould be replaced with\nLU, pivots, info = torch.linalg.lu_factor_ex(A, compute_pivots)');
  return tidy(() => {
    // torch._lu_with_info: linalg_lu_factor_ex, whose infos PyTorch does not check (check_errors=False)
    const [LU, pivots, infos] = aten.linalg_lu_factor_ex(A, { pivot, checkErrors: false }) as Tensor[];
    return getInfos ? [LU, pivots, infos] : [LU, pivots];
  });
}

/**
 * The LU factorization of a matrix or batch of matrices with partial pivoting, PyTorch's
 * deprecated torch.lu (aten::linalg_lu_factor_ex, as torch._lu_with_info): [LU, pivots], or
 * [LU, pivots, infos] with getInfos. pivots are 1-based int32 row swaps. Defaults: pivot true,
 * getInfos false. PyTorch's deprecation warning is emitted once.
 * @example const [LU, pivots] = torch.lu(A);
 */
export function lu<D extends DType>(A: Tensor<D>, opts?: LuOptions & { getInfos?: false }): [Tensor<D>, Tensor<'int32'>];
export function lu<D extends DType>(A: Tensor<D>, opts: LuOptions & { getInfos: true }): [Tensor<D>, Tensor<'int32'>, Tensor<'int32'>];
export function lu(A: Tensor, pivot?: boolean, getInfos?: boolean): Tensor[];
export function lu(A: Tensor, opts?: LuOptions): Tensor[];
export function lu(...args: unknown[]): Tensor[] {
  return luImpl('torch.lu', args, false);
}

// ---- nonzero -------------------------------------------------------------------------------------

export interface NonzeroOptions {
  /** Return one 1-D index tensor per dimension (for x.index(...)) instead of one [n, ndim] tensor. Default false. */
  asTuple?: boolean;
  /** Where to write the result (Python's out=; not with asTuple). */
  out?: Tensor | null;
}

function nonzeroImpl(label: string, args: unknown[], method: boolean): Tensor | Tensor[] {
  const a = pyArgs(label, args, ['input'], method ? ['asTuple'] : ['asTuple', 'out'], method);
  const x = checkTensor(a.input, method ? 'self' : 'input');
  const asTuple = optBool(a.asTuple, 'asTuple', false);
  const out = none(a.out) ? null : checkTensor(a.out, 'out');
  if (asTuple && out !== null) invalidArg('null (out= does not apply with asTuple)', 'out', out);
  if (asTuple) return aten.nonzero_numpy(x);
  return out === null ? aten.nonzero(x) : aten.nonzero(x, { out });
}

/**
 * The indices of the nonzero elements, PyTorch's torch.nonzero: an int64 tensor [n, ndim], or with
 * asTuple one 1-D int64 tensor per dimension (aten::nonzero_numpy; a 0-D input counts as 1-D).
 * @example const [rows, cols] = torch.nonzero(mask, { asTuple: true });
 */
export function nonzero(input: Tensor, opts?: NonzeroOptions & { asTuple?: false }): Tensor<'int64'>;
export function nonzero(input: Tensor, opts: NonzeroOptions & { asTuple: true }): Tensor<'int64'>[];
export function nonzero(input: Tensor, opts?: NonzeroOptions): Tensor<'int64'> | Tensor<'int64'>[];
export function nonzero(...args: unknown[]): Tensor | Tensor[] {
  return nonzeroImpl('torch.nonzero', args, false);
}

// ---- tensordot -----------------------------------------------------------------------------------

/** tensordot's dims: a count, [dims of a, dims of b], or a tensor holding either. */
export type TensordotDims = number | [number | number[], number | number[]] | Tensor;

/**
 * Contracts a and b over several dimensions, PyTorch's torch.tensordot (aten::tensordot). dims: an
 * integer d (the last d dimensions of a with the first d of b), a pair [dimsOfA, dimsOfB], or a
 * tensor holding either (a 2-D [2, k] tensor of pairs, or one integer). Default dims 2.
 * @example torch.tensordot(a, b, [[1, 0], [0, 1]]); torch.tensordot(a, b, { dims: 1 });
 */
export function tensordot(a: Tensor, b: Tensor, dims?: TensordotDims, opts?: { out?: Tensor | null }): Tensor;
export function tensordot(a: Tensor, b: Tensor, opts?: { dims?: TensordotDims; out?: Tensor | null }): Tensor;
export function tensordot(...args: unknown[]): Tensor {
  const p = pyArgs('torch.tensordot', args, ['a', 'b', 'dims', 'out']);
  const a = checkTensor(p.a, 'a');
  const b = checkTensor(p.b, 'b');
  const out = none(p.out) ? null : checkTensor(p.out, 'out');
  let dims: unknown = none(p.dims) ? 2 : p.dims;
  const what = 'an integer >= 0, a pair of dimension lists [dimsOfA, dimsOfB], or a tensor holding either';
  let dimsA: number[];
  let dimsB: number[];
  if (dims instanceof Tensor) {
    const t = checkTensor(dims, 'dims');
    if (t.numel() > 1) {
      if (t.shape[0] !== 2) invalidArg('a tensor of 2 rows [dimsOfA, dimsOfB]', 'dims', t);
      dims = tidy(() => [t.select(0, 0), t.select(0, 1)].map((r) => Array.from(r.dataSync() as ArrayLike<number | bigint>, Number)));
    } else {
      if (t.numel() === 0) invalidArg(what, 'dims', t);
      dims = Number(t.item());
      if (!isInt(dims)) invalidArg(what, 'dims', t);
    }
  }
  if (isInt(dims)) {
    const limit = Math.min(a.dim(), b.dim());
    if (dims < 0 || dims > limit) invalidArg(`an integer in [0, ${limit}] (at most the smaller rank of a and b)`, 'dims', dims);
    dimsA = Array.from({ length: dims }, (_, i) => i - dims);
    dimsB = Array.from({ length: dims }, (_, i) => i);
  } else if (Array.isArray(dims) && dims.length === 2) {
    const list = (v: unknown): number[] => (isInt(v) ? [v] : Array.isArray(v) && v.every(isInt) ? Array.from(v) : invalidArg(what, 'dims', dims));
    dimsA = list(dims[0]);
    dimsB = list(dims[1]);
    if (dimsA.length !== dimsB.length) invalidArg('two dimension lists of the same length', 'dims', dims);
  } else {
    return invalidArg(what, 'dims', dims);
  }
  return out === null ? aten.tensordot(a, b, dimsA, dimsB) : aten.tensordot(a, b, dimsA, dimsB, { out });
}

// ---- norm ------------------------------------------------------------------------------------------

/** torch.norm's p: a number (Infinity included), 'fro' or 'nuc', or null (2). */
export type NormOrd = number | 'fro' | 'nuc' | null;

export interface NormOptions {
  /** Default 'fro'. */
  p?: NormOrd;
  /** The dimension or dimensions reduced. Default: all. */
  dim?: number | number[] | null;
  /** Keep the reduced dimensions with size 1. Default false. */
  keepdim?: boolean;
  /** Compute in this dtype (not with 'fro' or 'nuc' on libtorch 1.13). Default: the input's. */
  dtype?: DType | null;
  /** Where to write the result (Python's out=). */
  out?: Tensor | null;
}

function normImpl(a: Record<string, unknown>, method: boolean): Tensor {
  const x = checkTensor(a.input, method ? 'self' : 'input');
  const p = a.p === undefined ? 'fro' : a.p;
  if (p !== null && typeof p !== 'number' && p !== 'fro' && p !== 'nuc') invalidArg("a number, 'fro', 'nuc' or null", 'p', p);
  let dims: number[] | null = null;
  let dimIsInt = false;
  if (!none(a.dim)) {
    if (isInt(a.dim)) {
      dims = [checkDim(a.dim, 'dim', x.dim())];
      dimIsInt = true;
    } else if (Array.isArray(a.dim)) {
      dims = a.dim.map((d) => checkDim(d, 'dim', x.dim()));
    } else {
      invalidArg('an integer or an array of integers', 'dim', a.dim);
    }
  }
  const keepdim = optBool(a.keepdim, 'keepdim', false);
  const dtype = none(a.dtype) ? undefined : checkDType(a.dtype);
  const out = none(a.out) ? undefined : checkTensor(a.out, 'out');
  const all = () => Array.from({ length: x.dim() }, (_, i) => i);
  const kw = { dtype, out };
  if (libtorchAtLeast(2, 0)) {
    // torch.norm of 2.x: linalg.vector_norm, or linalg.matrix_norm for 'nuc' (and 'fro' over more than 2 dims)
    if (p === 'fro' && (dims === null || dimIsInt || dims.length <= 2)) return aten.linalg_vector_norm(x, 2, dims, keepdim, kw);
    if (typeof p === 'string') return aten.linalg_matrix_norm(x, p, dims ?? all(), keepdim, kw);
    return aten.linalg_vector_norm(x, p ?? 2, dims, keepdim, kw);
  }
  // torch.norm of 1.13: aten::norm, frobenius_norm, nuclear_norm
  if (typeof p === 'string') {
    if (dtype !== undefined) invalidArg(`null (dtype is not supported with p '${p}' on libtorch 1.13)`, 'dtype', dtype);
    if (p === 'fro') return aten.frobenius_norm(x, dims ?? (out === undefined ? [] : all()), keepdim, kw);
    return dims === null ? aten.nuclear_norm(x, keepdim, kw) : aten.nuclear_norm(x, dims, keepdim, kw);
  }
  return aten.norm(x, p, dims ?? all(), keepdim, kw);
}

/**
 * A norm of input, PyTorch's torch.norm with its semantics on the running line: p 'fro' (the
 * 2-norm of all elements, or over dim), 'nuc' (the nuclear norm of a matrix or over 2 dims), or a
 * number (the vector p-norm over dim or all elements; Infinity and -Infinity included). Defaults:
 * p 'fro', dim all, keepdim false, dtype the input's. Positionally as in Python:
 * (input, p, dim, keepdim, out, dtype).
 * @example torch.norm(x); torch.norm(x, 1, 0); torch.norm(x, { p: 'nuc', dim: [1, 2] });
 */
export function norm(input: Tensor, p?: NormOrd, dim?: number | number[] | null, keepdim?: boolean, out?: Tensor | null, dtype?: DType | null): Tensor;
export function norm(input: Tensor, p: NormOrd, dim: number | number[] | null, opts?: Omit<NormOptions, 'p' | 'dim'>): Tensor;
export function norm(input: Tensor, p: NormOrd, opts?: Omit<NormOptions, 'p'>): Tensor;
export function norm(input: Tensor, opts?: NormOptions): Tensor;
export function norm(...args: unknown[]): Tensor {
  return normImpl(pyArgs('torch.norm', args, ['input', 'p', 'dim', 'keepdim', 'out', 'dtype']), false);
}

// ---- Tensor methods ----------------------------------------------------------------------------

declare module '../tensor' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface Tensor<D extends DType = DType> {
    /** torch.unique(x, ...): a Tensor, or [output, inverse?, counts?] when asked. */
    unique(opts?: UniqueOptions & { returnInverse?: false; returnCounts?: false }): Tensor<D>;
    unique(opts: UniqueOptions & { returnInverse: true; returnCounts: true }): [Tensor<D>, Tensor<'int64'>, Tensor<'int64'>];
    unique(opts: UniqueOptions & ({ returnInverse: true } | { returnCounts: true })): [Tensor<D>, Tensor<'int64'>];
    unique(sorted?: boolean, returnInverse?: boolean, returnCounts?: boolean, dim?: number | null): Tensor | Tensor[];
    /** torch.unique_consecutive(x, ...): a Tensor, or [output, inverse?, counts?] when asked. */
    uniqueConsecutive(opts?: Omit<UniqueOptions, 'sorted'>): Tensor | Tensor[];
    uniqueConsecutive(returnInverse?: boolean, returnCounts?: boolean, dim?: number | null): Tensor | Tensor[];
    /** torch.lu(x, ...): [LU, pivots], or [LU, pivots, infos] with getInfos. */
    lu(opts?: LuOptions & { getInfos?: false }): [Tensor<D>, Tensor<'int32'>];
    lu(opts: LuOptions & { getInfos: true }): [Tensor<D>, Tensor<'int32'>, Tensor<'int32'>];
    lu(pivot?: boolean, getInfos?: boolean): Tensor[];
    /** torch.nonzero(x): [n, ndim] indices, or one 1-D tensor per dimension with asTuple. */
    nonzero(opts?: { asTuple?: false }): Tensor<'int64'>;
    nonzero(opts: { asTuple: true }): Tensor<'int64'>[];
    /** torch.norm(x, p, dim, keepdim, { dtype }) with torch.norm's semantics (default p 'fro'). */
    norm(p?: NormOrd, dim?: number | number[] | null, keepdim?: boolean, dtype?: DType | null): Tensor;
    norm(p: NormOrd, dim: number | number[] | null, opts?: { keepdim?: boolean; dtype?: DType | null }): Tensor;
    norm(p: NormOrd, opts?: { dim?: number | number[] | null; keepdim?: boolean; dtype?: DType | null }): Tensor;
    norm(opts?: { p?: NormOrd; dim?: number | number[] | null; keepdim?: boolean; dtype?: DType | null }): Tensor;
  }
}

const METHODS: Record<string, (this: Tensor, ...args: unknown[]) => unknown> = {
  unique(...args) { return uniqueImpl('Tensor.unique', [this, ...args], true); },
  uniqueConsecutive(...args) { return uniqueConsecutiveImpl('Tensor.unique_consecutive', [this, ...args], true); },
  lu(...args) { return luImpl('Tensor.lu', [this, ...args], true); },
  nonzero(...args) { return nonzeroImpl('Tensor.nonzero', [this, ...args], true); },
  norm(...args) { return normImpl(pyArgs('Tensor.norm', [this, ...args], ['input', 'p', 'dim', 'keepdim', 'dtype'], [], true), true); },
};

// Over the generated methods of these names, never over a hand-written one (lib/ops.ts).
const proto = Tensor.prototype as unknown as Record<string, unknown>;
for (const [name, f] of Object.entries(METHODS)) {
  const existing = Object.getOwnPropertyDescriptor(proto, name)?.value as { [GENERATED]?: true } | undefined;
  if (existing !== undefined && !existing[GENERATED]) continue;
  Object.defineProperty(proto, name, { value: f, writable: true, configurable: true, enumerable: false });
}
