/**
 * Replays PyTorch's own operator test database (op_db samples exported by scripts/opdb/export.py into
 * test/fixtures/torch-<line>/opdb/) through torchrnn, and says per OpInfo whether torchrnn reproduces
 * PyTorch: every exported sample's outputs (values, shapes, dtypes) and, where the fixture has them, its
 * input gradients.
 *
 * Usage: npx tsx scripts/opdb/replay.ts [DIR] [--only a,b] [--report docs/opdb-report-<line>.md]
 *                                       [--write-expected [FILE]] [--verbose] [--trace]
 *   DIR               the fixture folder (default test/fixtures/torch-<libtorch line>/opdb)
 *   --only            OpInfo names (topk, linalg.norm, nn.functional.conv2d) or op keys (div.trunc_rounding)
 *   --report          writes a markdown report: the summary and every failing op, grouped by reason
 *   --write-expected  writes the failing ops and their reasons (default DIR/expected-failures.json), the list
 *                     test/17.tensor.opdb.test.ts holds the replay to
 *   --verbose         prints every failing sample with its call
 *   --trace           prints each sample to stderr before running it (to find one that crashes the process)
 *
 * How a sample is called:
 * - the callable: the public API first (torch.<camel>, torch.linalg/special/fft.<camel>,
 *   torch.nn.functional.<camel>, or the Tensor method when fn is torch.Tensor.<name>), else
 *   torch.ops.aten.<the OpInfo's aten name> (linalg.x -> linalg_x, special.x -> special_x, fft.x -> fft_x,
 *   nn.functional.x -> x). Lambdas and wrappers (fn '<lambda>' / '<wrapper>': PyTorch called them with the
 *   sample's arguments, which need not be the public function's) are tried through the op's public name, as a
 *   torch.* function, a Tensor method and a Tensor getter (x.T), else the aten operator; when none reproduces
 *   the output they fail with the reason of the first, prefixed '<lambda> via <callable>'. They run after
 *   torch.manualSeed(42): op_db wraps its RNG ops (randn, dropout, bernoulli ...) in wrapper_set_seed, which
 *   seeds 42 right before the call, so their outputs are reproducible and compared.
 * - the arguments: input and args positional, kwargs as one trailing options object with camelCase keys;
 *   tuples become arrays, dtypes their names, nan/inf numbers.
 * - the gradients: torch.autograd.grad(floating outputs that require grad, inputs requiring grad,
 *   { gradOutputs, allowUnused: true }); a null gradient equals an all-zero expected one. The fixture does not
 *   record which input tensors required grad, only one gradient per such tensor: when the floating input tensors
 *   are more than the gradients, every assignment of gradients to inputs that fits by shape and dtype is tried
 *   (at most 8) and the sample passes when one reproduces the gradients.
 * - comparisons: |got - expected| <= atol + rtol * |expected| with the sample's rtol/atol (float32 gradients: rtol at
 *   least CROSS_CPU_RTOL for the LAPACK-backed ops, since the fixture's CPU may not be this one's: see there), NaN
 *   equals NaN, an
 *   infinity wants the same infinity, integers and booleans exactly; "random" samples (RNG-dependent outputs)
 *   compare shapes and dtypes only, for outputs and gradients. A named tuple (torch.return_types) wants an array
 *   that carries the same names. A dtype mismatch where the sample passed an integral Python float (2.0, which
 *   JavaScript cannot tell from 2) says so. Each sample runs after torch.manualSeed(sample.seed) (lambdas: 42),
 *   inside torch.tidy (no tensor outlives its sample).
 *
 * Per op (OpInfo name plus variant: 'div.trunc_rounding'): pass when every exported sample passes; the reason is
 * the first failing sample's. Ops with no exported sample are not counted.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../../lib';
import { Tensor } from '../../lib';
import { camelCase } from '../../lib/aten/schema';
import { libtorchLine, libtorchVersion } from '../../lib/compat';
import type { DType } from '../../lib/dtype';

// ---- the fixture ---------------------------------------------------------------------------------

export interface TensorMeta { offset: number; dtype: string; shape: number[] }
/** An encoded value of index.json (export.py's docstring), with {"$float": "2.0"} for integral floats. */
export type Value = unknown;

export interface Sample {
  op: string;
  variant: string;
  aten: string;
  fn: string;
  dtype: string;
  index: number;
  input: Value;
  args: Value[];
  kwargs: Record<string, Value>;
  output: Value;
  seed: number;
  random: boolean;
  gradOutputs: Value[] | null;
  grads: Value[] | null;
  gradError?: string;
  rtol: number;
  atol: number;
}

export interface OpEntry {
  name: string; variant: string; aten: string; fn: string; method: boolean; inplace: boolean; autograd: boolean;
  dtypes: string[]; samples: number; skipped: number;
}

export interface Opdb {
  dir: string;
  torch: string;
  mode: string;
  tensors: TensorMeta[];
  samples: Sample[];
  ops: OpEntry[];
  /** tensors.bin, in its own ArrayBuffer (offset 0, so that typed views are aligned). */
  data: Uint8Array;
}

/** The default fixture folder of the running libtorch line. */
export function defaultDir(): string {
  return path.join(__dirname, '..', '..', 'test', 'fixtures', `torch-${libtorchLine}`, 'opdb');
}

/**
 * Python writes floats with a '.' or an exponent ("2.0", "1e+20") and ints without; JSON.parse gives both
 * as the same JS number. Integral floats become {"$float": "2.0"} so that a dtype mismatch can say when the
 * int/float distinction was lost (strings are matched first, so their contents are left alone).
 */
function markIntegralFloats(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (tok) => {
    if (tok[0] === '"' || !/[.eE]/.test(tok)) return tok;
    return Number.isInteger(Number(tok)) ? `{"$float":"${tok}"}` : tok;
  });
}

/** Reads index.json and tensors.bin of an opdb fixture folder. */
export function loadOpdb(dir: string = defaultDir()): Opdb {
  const index = JSON.parse(markIntegralFloats(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'))) as Omit<Opdb, 'dir' | 'data'>;
  const file = fs.readFileSync(path.join(dir, 'tensors.bin'));
  const data = new Uint8Array(file.byteLength);
  data.set(file);
  for (const s of index.samples) {
    s.rtol = plainNumber(s.rtol);
    s.atol = plainNumber(s.atol);
  }
  return { ...index, dir, data };
}

function plainNumber(v: Value): number {
  if (v !== null && typeof v === 'object' && '$float' in v) return Number((v as { $float: string }).$float);
  if (v !== null && typeof v === 'object' && '$f' in v) return decodeF((v as { $f: string }).$f);
  return v as number;
}

function decodeF(f: string): number {
  return f === 'nan' ? NaN : f === 'inf' ? Infinity : -Infinity;
}

/** The op's key: its OpInfo name, with the variant after a dot ('div.trunc_rounding'). */
export function opKey(s: { op?: string; name?: string; variant: string }): string {
  const name = s.op ?? s.name!;
  return s.variant ? `${name}.${s.variant}` : name;
}

const FLOAT_DTYPES = new Set(['float32', 'float64', 'float16', 'bfloat16', 'complex64', 'complex128']);
const INT_DTYPES = new Set(['int64', 'int32', 'int16', 'int8', 'uint8']);

function isTensorRef(v: Value): v is { $t: number } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && '$t' in v;
}
function isTuple(v: Value): v is { $tuple: Value[]; fields?: string[] } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && '$tuple' in v;
}

/** Tensor references of a value in export.py's walking order (dict values in sorted key order). */
function refsIn(v: Value, out: number[] = []): number[] {
  if (isTensorRef(v)) out.push(v.$t);
  else if (Array.isArray(v)) v.forEach((x) => refsIn(x, out));
  else if (isTuple(v)) v.$tuple.forEach((x) => refsIn(x, out));
  else if (v !== null && typeof v === 'object' && !('$f' in v) && !('$dtype' in v) && !('$float' in v) && !('$memoryFormat' in v)) {
    const o = v as Record<string, Value>;
    Object.keys(o).sort().forEach((k) => refsIn(o[k], out));
  }
  return out;
}

function f16(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
function bf16(bits: number): number {
  U32[0] = bits << 16;
  return F32[0];
}

/** A typed array's values as numbers (int64 through Number; float16/bfloat16 bits decoded). */
function numbers(a: ArrayLike<number | bigint>, dtype: string): number[] {
  if (dtype === 'float16') return Array.from(a as ArrayLike<number>, f16);
  if (dtype === 'bfloat16') return Array.from(a as ArrayLike<number>, bf16);
  return Array.from(a, Number);
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const ARRAY: Record<string, { new(b: ArrayBuffer, o: number, n: number): ArrayLike<number | bigint>; BYTES_PER_ELEMENT: number }> = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, bfloat16: Uint16Array, int64: BigInt64Array,
  int32: Int32Array, int16: Int16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
  complex64: Float32Array, complex128: Float64Array,
};

/** How many numbers a fixture tensor's data holds: complex elements are two (real, imaginary). */
function count(m: TensorMeta): number {
  return numel(m.shape) * (m.dtype.startsWith('complex') ? 2 : 1);
}

/** The values of a fixture tensor, as numbers. */
export function fixtureValues(fx: Opdb, i: number): number[] {
  const m = fx.tensors[i];
  const A = ARRAY[m.dtype];
  if (!A) throw new Error(`opdb: unknown tensor dtype ${m.dtype}`);
  return numbers(new A(fx.data.buffer as ArrayBuffer, fx.data.byteOffset + m.offset, count(m)), m.dtype);
}

/** A new torchrnn tensor holding fixture tensor i. */
export function fixtureTensor(fx: Opdb, i: number): Tensor {
  const m = fx.tensors[i];
  const A = ARRAY[m.dtype];
  if (!A) throw new Error(`opdb: unknown tensor dtype ${m.dtype}`);
  const bytes = Buffer.from(fx.data.subarray(m.offset, m.offset + count(m) * A.BYTES_PER_ELEMENT));
  return torch.tensor(bytes, { dtype: m.dtype as DType, shape: m.shape });
}

// ---- decoding the arguments ------------------------------------------------------------------------

interface Args {
  input: unknown;
  args: unknown[];
  /** camelCase keys; null when the sample has no kwargs. */
  options: Record<string, unknown> | null;
  /** Input tensors in walking order (input, args, kwargs values in sorted key order). */
  tensors: Tensor[];
  /** The sample's arguments hold an integral Python float (2.0), which JavaScript cannot tell from 2. */
  integralFloat: boolean;
}

function decodeArgs(fx: Opdb, s: Sample, requiresGrad: Set<number>): Args {
  const tensors: Tensor[] = [];
  let integralFloat = false;
  const dec = (v: Value): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map(dec);
    if (isTensorRef(v)) {
      const t = fixtureTensor(fx, v.$t);
      if (requiresGrad.has(tensors.length)) t.requiresGrad_(true);
      tensors.push(t);
      return t;
    }
    if (isTuple(v)) return v.$tuple.map(dec);
    const o = v as Record<string, Value>;
    if ('$f' in o) return decodeF(o.$f as string);
    if ('$float' in o) { integralFloat = true; return Number(o.$float); }
    if ('$dtype' in o) return o.$dtype;
    if ('$memoryFormat' in o) return o.$memoryFormat;
    throw new Error(`opdb: cannot decode ${JSON.stringify(v).slice(0, 80)}`);
  };
  const input = dec(s.input);
  const args = s.args.map(dec);
  const keys = Object.keys(s.kwargs).sort();
  let options: Record<string, unknown> | null = null;
  if (keys.length) {
    options = {};
    for (const k of keys) options[k.startsWith('_') ? k : camelCase(k)] = dec(s.kwargs[k]);
  }
  return { input, args, options, tensors, integralFloat };
}

/**
 * Which input tensors (positions among the input tensors in walking order) required grad: the floating ones,
 * or, when those outnumber the gradients, each assignment that fits the gradients' shapes and dtypes.
 */
function gradAssignments(fx: Opdb, s: Sample): number[][] {
  if (!s.grads) return [[]];
  const refs = refsIn([s.input, s.args, s.kwargs]);
  const floating = refs.map((r, i) => [r, i]).filter(([r]) => FLOAT_DTYPES.has(fx.tensors[r].dtype));
  const g = s.grads.length;
  if (floating.length <= g) return [floating.slice(0, g).map(([, i]) => i)];
  const fits = (k: number, r: number) => {
    const e = s.grads![k];
    if (!isTensorRef(e)) return true;
    const a = fx.tensors[e.$t];
    const b = fx.tensors[r];
    return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, j) => d === b.shape[j]);
  };
  const out: number[][] = [];
  const pick = (k: number, from: number, chosen: number[]) => {
    if (out.length >= 8) return;
    if (k === g) { out.push(chosen.map((j) => floating[j][1])); return; }
    for (let j = from; j <= floating.length - (g - k); j++) {
      if (fits(k, floating[j][0])) pick(k + 1, j + 1, [...chosen, j]);
    }
  };
  pick(0, 0, []);
  return out.length ? out : [floating.slice(0, g).map(([, i]) => i)];
}

// ---- resolving the callable ------------------------------------------------------------------------

export interface Callable {
  /** How it was reached: 'torch.topk', 'Tensor.topk', 'torch.ops.aten.topk'. */
  label: string;
  kind: 'public' | 'aten';
  call(a: Args): unknown;
}

type AnyFn = (...args: unknown[]) => unknown;
const NAMESPACES: Record<string, () => unknown> = {
  '': () => torch,
  linalg: () => torch.linalg,
  special: () => torch.special,
  fft: () => torch.fft,
  'nn.functional': () => torch.nn.functional,
};

function jsName(py: string): string {
  return py.startsWith('__') ? py : camelCase(py);
}

function withOptions(a: Args): unknown[] {
  return a.options ? [...a.args, a.options] : a.args;
}

/** torch.<ns>.<name> for a dotted Python name under torch ('linalg.norm', 'nn.functional.relu', 'topk'). */
function publicFunction(dotted: string): Callable | null {
  const parts = dotted.split('.');
  const name = jsName(parts.pop()!);
  const ns = NAMESPACES[parts.join('.')];
  const f = ns ? (ns() as Record<string, unknown>)[name] : undefined;
  if (typeof f !== 'function') return null;
  const label = `torch.${parts.length ? `${parts.join('.')}.` : ''}${name}`;
  return { label, kind: 'public', call: (a) => (f as AnyFn)(a.input, ...withOptions(a)) };
}

/** A Tensor getter ('T', 'mT', 'H'): what lambdas like `lambda x: x.T` read. */
function tensorGetter(py: string): Callable | null {
  const d = Object.getOwnPropertyDescriptor(Tensor.prototype, py);
  if (!d?.get) return null;
  return {
    label: `Tensor.${py}`,
    kind: 'public',
    call: (a) => {
      if (!(a.input instanceof Tensor) || a.args.length || a.options) throw new Error(`Tensor.${py}: a getter takes no arguments`);
      return (a.input as unknown as Record<string, unknown>)[py];
    },
  };
}

function tensorMethod(py: string): Callable | null {
  const name = jsName(py);
  // the descriptor, not the property: a getter (x.T) run on the prototype itself throws
  if (typeof Object.getOwnPropertyDescriptor(Tensor.prototype, name)?.value !== 'function') return null;
  return {
    label: `Tensor.${name}`,
    kind: 'public',
    call: (a) => {
      if (!(a.input instanceof Tensor)) throw new Error(`Tensor.${name}: the sample's input is not a tensor`);
      return (a.input as unknown as Record<string, AnyFn>)[name](...withOptions(a));
    },
  };
}

/** The aten operator of an OpInfo's aten name: linalg.x -> linalg_x, nn.functional.x -> x. */
export function atenName(aten: string): string {
  for (const [prefix, to] of [['linalg.', 'linalg_'], ['special.', 'special_'], ['fft.', 'fft_'], ['nn.functional.', '']]) {
    if (aten.startsWith(prefix)) return to + aten.slice(prefix.length);
  }
  return aten;
}

function atenOp(aten: string): Callable | null {
  const name = atenName(aten);
  if (!/^[A-Za-z_]\w*$/.test(name) || !(name in torch.ops.aten)) return null;
  return { label: `torch.ops.aten.${name}`, kind: 'aten', call: (a) => torch.ops.aten[name](a.input, ...withOptions(a)) };
}

/** The callables to try for a sample, in order (empty: not callable). */
export function resolve(s: Pick<Sample, 'fn' | 'op' | 'aten'>): Callable[] {
  let pub: (Callable | null)[];
  if (isLambda(s)) {
    pub = [publicFunction(s.op), ...(s.op.includes('.') ? [] : [tensorMethod(s.op), tensorGetter(s.op)])];
  } else if (s.fn.startsWith('torch.Tensor.')) {
    pub = [tensorMethod(s.fn.slice('torch.Tensor.'.length))];
  } else if (s.fn.startsWith('torch.')) {
    pub = [publicFunction(s.fn.slice('torch.'.length))];
  } else {
    pub = [];
  }
  const found = pub.filter((c): c is Callable => c !== null);
  if (found.length) return found;
  const a = atenOp(s.aten);
  return a ? [a] : [];
}

// ---- comparing ---------------------------------------------------------------------------------------

interface Tol { rtol: number; atol: number; random: boolean }

function short(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+(e|$)/, '$1');
}

function describeValue(v: unknown): string {
  if (v instanceof Tensor) return v.isDisposed ? 'a disposed Tensor' : `a ${v.dtype} Tensor [${v.shape.join(', ')}]`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v;
}

function closeEnough(a: number, b: number, tol: Tol, exact: boolean): boolean {
  if (Number.isNaN(b)) return Number.isNaN(a);
  if (exact || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol.atol + tol.rtol * Math.abs(b);
}

/**
 * A tensor's values. Gradients are read through a copy: autograd returns libtorch's storage-less "efficient
 * zero tensors" for some backward formulas (sgn of a real input), and dataSync() on one crashes the process
 * (segfault, libtorch 1.13; a copy has storage).
 */
function valuesOf(t: Tensor, grad: boolean): number[] {
  if (!grad) return numbers(t.dataSync() as ArrayLike<number | bigint>, t.dtype);
  const copy = t.clone();
  try {
    return numbers(copy.dataSync() as ArrayLike<number | bigint>, t.dtype);
  } finally {
    copy.dispose();
  }
}

/** Compares a torchrnn tensor with fixture tensor i: null when equal, else the reason. */
function compareTensor(fx: Opdb, got: Tensor, i: number, where: string, tol: Tol, integralFloat: boolean): string | null {
  const m = fx.tensors[i];
  if (got.dtype !== m.dtype) {
    const lost = integralFloat && INT_DTYPES.has(got.dtype) && FLOAT_DTYPES.has(m.dtype);
    return `dtype ${got.dtype} vs ${m.dtype} at ${where}${lost ? ' (JS numbers carry no int/float distinction)' : ''}`;
  }
  if (got.shape.length !== m.shape.length || got.shape.some((d, j) => d !== m.shape[j])) {
    return `shape [${got.shape.join(', ')}] vs [${m.shape.join(', ')}] at ${where}`;
  }
  if (tol.random) return null;
  const a = valuesOf(got, where.startsWith('grads'));
  const b = fixtureValues(fx, i);
  const exact = !FLOAT_DTYPES.has(m.dtype);
  let first = -1;
  let bad = 0;
  for (let k = 0; k < b.length; k++) {
    if (!closeEnough(a[k], b[k], tol, exact)) {
      if (first < 0) first = k;
      bad++;
    }
  }
  if (first < 0) return null;
  return `value mismatch at ${where}[${first}]: got ${short(a[first])}, expected ${short(b[first])} (${bad} of ${b.length} differ)`;
}

/** Compares a result with an encoded expected value: null when equal, else the reason. */
function compareValue(fx: Opdb, got: unknown, want: Value, where: string, tol: Tol, integralFloat: boolean): string | null {
  if (want === null) return got === null || got === undefined ? null : `${where}: expected None, got ${describeValue(got)}`;
  if (isTensorRef(want)) {
    if (!(got instanceof Tensor)) return `${where}: expected a Tensor, got ${describeValue(got)}`;
    return compareTensor(fx, got, want.$t, where, tol, integralFloat);
  }
  if (Array.isArray(want) || isTuple(want)) {
    const items = Array.isArray(want) ? want : want.$tuple;
    if (!Array.isArray(got)) return `${where}: expected a sequence of ${items.length}, got ${describeValue(got)}`;
    if (got.length !== items.length) return `${where}: expected ${items.length} results, got ${got.length}`;
    for (let k = 0; k < items.length; k++) {
      const r = compareValue(fx, got[k], items[k], `${where}[${k}]`, tol, integralFloat);
      if (r) return r;
    }
    const fields = isTuple(want) ? want.fields : undefined;
    const missing = (fields ?? []).filter((f, k) => (got as unknown as Record<string, unknown>)[f] !== got[k]);
    if (missing.length) return `result names: ${where} has no .${missing.join(', .')} (a named tuple in PyTorch)`;
    return null;
  }
  if (typeof want === 'object') {
    const o = want as Record<string, string>;
    if ('$dtype' in o) return got === o.$dtype ? null : `${where}: expected dtype ${o.$dtype}, got ${describeValue(got)}`;
    const n = '$f' in o ? decodeF(o.$f) : Number(o.$float);
    if (typeof got !== 'number') return `${where}: expected the number ${short(n)}, got ${describeValue(got)}`;
    return tol.random || closeEnough(got, n, tol, false) ? null : `value mismatch at ${where}: got ${short(got)}, expected ${short(n)}`;
  }
  if (typeof want === 'number') {
    if (typeof got !== 'number') return `${where}: expected the number ${short(want)}, got ${describeValue(got)}`;
    return tol.random || closeEnough(got, want, tol, false) ? null : `value mismatch at ${where}: got ${short(got)}, expected ${short(want)}`;
  }
  return got === want ? null : `${where}: expected ${JSON.stringify(want)}, got ${describeValue(got)}`;
}

function tensorsOf(v: unknown, out: Tensor[] = []): Tensor[] {
  if (v instanceof Tensor) out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => tensorsOf(x, out));
  return out;
}

function allZero(fx: Opdb, i: number): boolean {
  return fixtureValues(fx, i).every((x) => x === 0);
}

/**
 * PyTorch's tolerances assume one machine. The fixtures come from another CPU, whose OpenBLAS/LAPACK kernels sum
 * and pivot in another order: float32 gradients of the LAPACK-backed ops (matrix_exp, householder_product, lstsq
 * on ill-conditioned 5x5 matrices) came out up to 2e-4 apart (relative; -1.02217 against -1.02237) on an Intel
 * Xeon against fixtures made on an AMD EPYC, while every other op's matched at PyTorch's tolerances. So the
 * float32 gradients of those ops are compared at a relative 1e-3 at least; a wrong formula is off by far more.
 * Outputs, float64 and the other ops keep PyTorch's tolerances.
 */
const CROSS_CPU_RTOL = 1e-3;
const LAPACK_OPS = /^(linalg\.|matrix_exp|lu|cholesky|qr|svd|pinverse|det|logdet|slogdet|inverse|triangular_solve|lstsq|ormqr|geqrf)/;
/**
 * Ops whose gradients depend on the CPU's LAPACK path, not only in rounding: linalg.det.singular's gradient at a
 * singular matrix is 0 or PyTorch's value depending on the LU's pivots (0 on an Intel Xeon, 0.396 on the
 * fixture's AMD EPYC, the same Debian OpenBLAS). Their gradients are compared by shape and dtype only, as random
 * samples' are.
 */
const CPU_DEPENDENT_GRADS = new Set(['linalg.det.singular']);

function compareGrads(fx: Opdb, s: Sample, result: unknown, a: Args, chosen: number[], tolIn: Tol): string | null {
  const tol: Tol = CPU_DEPENDENT_GRADS.has(opKey(s)) ? { ...tolIn, random: true } : tolIn;
  const gradOutputs = s.gradOutputs!;
  const expected = s.grads!;
  const floats = tensorsOf(result).filter((t) => FLOAT_DTYPES.has(t.dtype));
  if (floats.length !== gradOutputs.length) return `grad mismatch: ${floats.length} floating outputs, PyTorch had ${gradOutputs.length}`;
  const outs: Tensor[] = [];
  const gouts: Tensor[] = [];
  floats.forEach((t, k) => {
    if (t.requiresGrad) {
      outs.push(t);
      gouts.push(fixtureTensor(fx, (gradOutputs[k] as { $t: number }).$t));
    }
  });
  const inputs = chosen.map((j) => a.tensors[j]);
  let grads: (Tensor | null)[];
  if (outs.length === 0 || inputs.length === 0) {
    grads = inputs.map(() => null);
  } else {
    try {
      grads = torch.autograd.grad(outs, inputs, { gradOutputs: gouts, allowUnused: true });
    } catch (err) {
      return `grad error: ${errorReason(err)}`;
    }
  }
  for (let k = 0; k < expected.length; k++) {
    const want = expected[k];
    const got = grads[k] ?? null;
    const where = `grads[${k}]`;
    if (!isTensorRef(want)) {
      if (got !== null && valuesOf(got, true).some((x) => x !== 0)) return `grad mismatch at ${where}: got a nonzero gradient, PyTorch none`;
      continue;
    }
    if (got === null) {
      if (allZero(fx, want.$t)) continue;
      return `grad mismatch at ${where}: got none${outs.length === 0 ? ' (no output requires grad)' : ''}, expected a nonzero gradient`;
    }
    const gradTol = got.dtype === 'float32' && LAPACK_OPS.test(opKey(s)) ? { ...tol, rtol: Math.max(tol.rtol, CROSS_CPU_RTOL) } : tol;
    const r = compareTensor(fx, got, want.$t, where, gradTol, a.integralFloat);
    if (r) return r.startsWith('value mismatch') ? `grad mismatch${r.slice('value mismatch'.length)}` : `grad mismatch: ${r}`;
  }
  return null;
}

function errorReason(err: unknown): string {
  const e = err as { code?: string; name?: string; message?: string };
  // the operator's schema, which messages of lib/aten/bind.ts quote in full, shortened to its name
  const msg = String(e?.message ?? err).split('\n')[0].trim()
    .replace(/(aten::[\w.]+)\((?:[^()]|\([^()]*\))*\) -> (?:\((?:[^()]|\([^()]*\))*\)|[\w[\]?]+(?:\([^()]*\))?)/g, '$1(…)');
  const text = `${e?.code ?? e?.name ?? 'Error'}: ${msg}`;
  return text.length > 240 ? `${text.slice(0, 239)}…` : text;
}

// ---- replaying -------------------------------------------------------------------------------------

export interface SampleResult {
  pass: boolean;
  /** Why not; null when it passes. */
  reason: string | null;
  /** The callable used ('torch.topk', 'Tensor.expand', 'torch.ops.aten.topk'), or null when none. */
  via: string | null;
  /** Whether the comparison covered gradients. */
  checkedGrads: boolean;
}

function attempt(fx: Opdb, s: Sample, c: Callable, chosen: number[]): { reason: string | null } {
  return torch.tidy(() => {
    const a = decodeArgs(fx, s, new Set(chosen));
    const tol: Tol = { rtol: s.rtol, atol: s.atol, random: s.random };
    // op_db's lambdas for RNG ops (wrapper_set_seed) call torch.manual_seed(42) right before the op
    torch.manualSeed(isLambda(s) ? 42 : BigInt(s.seed));
    let result: unknown;
    try {
      result = c.call(a);
    } catch (err) {
      return { reason: errorReason(err) };
    }
    const r = compareValue(fx, result, s.output, 'output', tol, a.integralFloat);
    if (r) return { reason: r };
    if (!s.grads || !s.gradOutputs) return { reason: null };
    return { reason: compareGrads(fx, s, result, a, chosen, tol) };
  });
}

function isLambda(s: Pick<Sample, 'fn'>): boolean {
  return s.fn === '<lambda>' || s.fn === '<wrapper>';
}

/** Replays one sample: null reason when torchrnn reproduces it. */
export function replaySample(fx: Opdb, s: Sample): SampleResult {
  const callables = resolve(s);
  if (callables.length === 0) return { pass: false, reason: 'not callable', via: null, checkedGrads: false };
  const lambda = isLambda(s);
  // op_db's lambdas often only put the sample's input in another place (lambda x, n:
  // torch.polygamma(n, x); lambda tensors, eq: torch.einsum(eq, tensors)): after the direct
  // call, the public function is tried with the input and the first argument swapped
  if (lambda) {
    for (const c of callables.filter((x) => x.kind === 'public')) {
      callables.push({ ...c, label: `${c.label} (input and first argument swapped)`, call: (a) => c.call({ ...a, input: a.args[0], args: [a.input, ...a.args.slice(1)] }) });
    }
  }
  const assignments = gradAssignments(fx, s);
  let first: { reason: string; via: string } | null = null;
  for (const c of callables) {
    for (const chosen of assignments) {
      const r = attempt(fx, s, c, chosen);
      if (r.reason === null) return { pass: true, reason: null, via: c.label, checkedGrads: !!s.grads };
      first ??= { reason: r.reason, via: c.label };
    }
  }
  const reason = lambda ? `${s.fn} via ${first!.via}: ${first!.reason}` : first!.reason;
  return { pass: false, reason, via: first!.via, checkedGrads: !!s.grads };
}

export interface OpResult {
  op: string;
  pass: boolean;
  samples: number;
  failed: number;
  /** The first failing sample's reason. */
  reason: string | null;
  /** Its group (the reason without details), for the report. */
  group: string | null;
  /** The first failing sample ('float32 #3': dtype and index in the op's sample list) and its call. */
  sample: string | null;
  call: string | null;
  via: string | null;
  fn: string;
}

export interface Report {
  torch: string;
  libtorch: string;
  mode: string;
  ops: OpResult[];
  /** Ops not counted: Python-only surfaces (Tensor dunders such as __radd__), which the issue excludes. */
  excluded: string[];
  opsPassing: number;
  samples: number;
  samplesPassing: number;
  seconds: number;
}

export interface ReplayOptions {
  /** OpInfo names or op keys. */
  only?: string[];
  /** Called after each failing sample. */
  onFailure?: (s: Sample, r: SampleResult) => void;
  /** Called before each sample (to find one that crashes the process). */
  onSample?: (s: Sample) => void;
}

/** Replays every sample of the fixture (or of `only`) and sums up per op. */
export function replay(fx: Opdb, opts: ReplayOptions = {}): Report {
  const t0 = Date.now();
  const only = opts.only?.length ? new Set(opts.only) : null;
  const byOp = new Map<string, OpResult>();
  const excluded = new Set<string>();
  let samples = 0;
  let samplesPassing = 0;
  const rng = torch.getRngState(); // the samples reseed the default generator: the caller's stream goes on after
  try {
    for (const s of fx.samples) {
      const key = opKey(s);
      if (only && !only.has(key) && !only.has(s.op)) continue;
      if (s.op.startsWith('__')) {
        excluded.add(key);
        continue;
      }
      let o = byOp.get(key);
      if (!o) byOp.set(key, (o = { op: key, pass: true, samples: 0, failed: 0, reason: null, group: null, sample: null, call: null, via: null, fn: s.fn }));
      opts.onSample?.(s);
      const r = replaySample(fx, s);
      samples++;
      o.samples++;
      o.via ??= r.via;
      if (r.pass) {
        samplesPassing++;
        continue;
      }
      o.failed++;
      if (o.pass) {
        Object.assign(o, {
          pass: false, reason: r.reason, group: reasonGroup(r.reason!, s.fn), sample: `${s.dtype} #${s.index}`,
          call: describeCall(fx, s, r.via), via: r.via,
        });
      }
      opts.onFailure?.(s, r);
    }
  } finally {
    torch.setRngState(rng);
    rng.dispose();
  }
  const ops = [...byOp.values()];
  return {
    torch: fx.torch, libtorch: libtorchVersion, mode: fx.mode, ops, excluded: [...excluded],
    opsPassing: ops.filter((o) => o.pass).length, samples, samplesPassing, seconds: (Date.now() - t0) / 1000,
  };
}

/** The reason without its details, to group failing ops by. */
export function reasonGroup(reason: string, fn = ''): string {
  if (fn === '<lambda>' || fn === '<wrapper>') return `${fn}: not reproduced through the public name`;
  if (reason === 'not callable') return reason;
  if (reason.startsWith('value mismatch')) return 'value mismatch';
  if (reason.startsWith('grad mismatch')) return reason.includes('dtype') ? 'grad dtype mismatch' : 'grad mismatch';
  if (reason.startsWith('grad error: ')) return `grad error: ${reasonGroup(reason.slice('grad error: '.length))}`;
  if (reason.startsWith('result names')) return 'result names missing';
  let m = /^dtype (\S+) vs (\S+) at [^ ]+( \(.*\))?$/.exec(reason);
  if (m) return `dtype ${m[1]} vs ${m[2]}${m[3] ?? ''}`;
  if (reason.startsWith('shape ')) return 'shape mismatch';
  if (/^output[^:]*: expected/.test(reason)) return reason.replace(/^output[^:]*/, 'output').replace(/got .*/, 'got …').replace(/\d+/g, 'N');
  m = /^(\w+): (.*)$/.exec(reason);
  if (!m) return reason;
  let msg = m[2];
  if (m[1] === 'ERR_INVALID_ARG') {
    if (/^Expected an option of /.test(msg)) return 'ERR_INVALID_ARG: an option the operator does not have';
    if (/^Expected at most \d+ positional arguments/.test(msg)) return 'ERR_INVALID_ARG: too many positional arguments';
    if (/but received nothing$/.test(msg)) return 'ERR_INVALID_ARG: a required argument is missing';
    const e = /^Expected (.+?) for argument '[^']*' of /.exec(msg);
    if (e) return `ERR_INVALID_ARG: Expected ${e[1]} for an argument`;
  }
  if (m[1] === 'ERR_TORCH') {
    msg = msg.replace(/\d+/g, 'N').slice(0, 70);
  } else {
    msg = msg
      .replace(/ (of|for) (aten::|torch\.|Tensor\.)\S*(\(.*?\) -> .*?)?( but| \(|$)/g, ' $1 …$4')
      .replace(/'[^']*'/g, "'…'")
      .replace(/received .*/, 'received …')
      .replace(/\d+/g, 'N')
      .slice(0, 90);
  }
  return `${m[1]}: ${msg}`;
}

function describeArg(fx: Opdb, v: Value): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map((x) => describeArg(fx, x)).join(', ')}]`;
  if (isTensorRef(v)) {
    const m = fx.tensors[v.$t];
    const n = numel(m.shape);
    if (n > 0 && n <= 4) {
      const vals = fixtureValues(fx, v.$t).map(short).join(', ');
      return `tensor([${vals}], '${m.dtype}'${m.shape.length === 1 ? '' : `, [${m.shape.join(', ')}]`})`;
    }
    return `<${m.dtype} [${m.shape.join(', ')}]>`;
  }
  if (isTuple(v)) return `[${v.$tuple.map((x) => describeArg(fx, x)).join(', ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, string>;
    if ('$f' in o) return o.$f === 'nan' ? 'NaN' : o.$f === 'inf' ? 'Infinity' : '-Infinity';
    if ('$float' in o) return o.$float;
    if ('$dtype' in o) return `'${o.$dtype}'`;
    if ('$memoryFormat' in o) return `'${o.$memoryFormat}'`;
  }
  if (typeof v === 'string') return `'${v}'`;
  return String(v);
}

/** The call a sample makes, in JavaScript ('torch.topk(<float32 [3, 4]>, 3, { dim: 1 })'). */
export function describeCall(fx: Opdb, s: Sample, via: string | null): string {
  const args = s.args.map((a) => describeArg(fx, a));
  const keys = Object.keys(s.kwargs).sort();
  if (keys.length) args.push(`{ ${keys.map((k) => `${camelCase(k)}: ${describeArg(fx, s.kwargs[k])}`).join(', ')} }`);
  const input = describeArg(fx, s.input);
  if (via?.startsWith('Tensor.')) return `${input}.${via.slice('Tensor.'.length)}(${args.join(', ')})`;
  return `${via ?? s.fn}(${[input, ...args].join(', ')})`;
}

// ---- output ------------------------------------------------------------------------------------------

function pct(a: number, b: number): string {
  return b ? `${((100 * a) / b).toFixed(1)}%` : '-';
}

/** The one-line summary. */
export function summaryLine(r: Report): string {
  return `opdb replay (PyTorch ${r.torch} ${r.mode}, libtorch ${r.libtorch}): ${r.opsPassing}/${r.ops.length} ops pass (${pct(r.opsPassing, r.ops.length)}), ` +
    `${r.samplesPassing}/${r.samples} samples pass (${pct(r.samplesPassing, r.samples)}) in ${r.seconds.toFixed(1)} s` +
    (r.excluded.length ? `; ${r.excluded.length} Python-only ops (Tensor dunders) not counted` : '');
}

function cell(s: string | null): string {
  return (s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The failing ops grouped by reason, biggest group first. */
export function failureGroups(r: Report): [string, OpResult[]][] {
  const groups = new Map<string, OpResult[]>();
  for (const o of r.ops) if (!o.pass) (groups.get(o.group!) ?? groups.set(o.group!, []).get(o.group!)!).push(o);
  return [...groups].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
}

/** The markdown report. */
export function markdownReport(r: Report): string {
  const lines = [
    '# op_db replay',
    '',
    'PyTorch\'s operator test database (op_db samples, exported by `scripts/opdb/export.py`) replayed through',
    'torchrnn by `npx tsx scripts/opdb/replay.ts --report docs/opdb-report-<line>.md` (how a sample is called and',
    'compared: the top of scripts/opdb/replay.ts). An op passes when every exported sample reproduces PyTorch\'s',
    'outputs and gradients; ops with no exported sample are not counted. "dtype A vs B": torchrnn gave A, PyTorch B.',
    '',
    `**${summaryLine(r).replace(/ in [\d.]+ s$/, '')}**`,
    '',
  ];
  const via = new Map<string, { ops: number; pass: number }>();
  for (const o of r.ops) {
    const k = o.via === null ? 'not callable' : o.via.startsWith('torch.ops.aten.') ? 'torch.ops.aten' : o.via.startsWith('Tensor.') ? 'Tensor method' : 'public function';
    const e = via.get(k) ?? via.set(k, { ops: 0, pass: 0 }).get(k)!;
    e.ops++;
    if (o.pass) e.pass++;
  }
  lines.push('| called through | ops | passing |', '|---|---:|---:|');
  for (const [k, e] of [...via].sort((a, b) => b[1].ops - a[1].ops)) lines.push(`| ${k} | ${e.ops} | ${e.pass} |`);
  lines.push('', '## Failing ops by reason', '');
  const groups = failureGroups(r);
  lines.push('| reason | ops |', '|---|---:|');
  for (const [g, ops] of groups) lines.push(`| ${cell(g)} | ${ops.length} |`);
  for (const [g, ops] of groups) {
    lines.push('', `### ${cell(g)} (${ops.length})`, '', '| op | failed samples | first failure | call |', '|---|---:|---|---|');
    for (const o of ops.sort((a, b) => a.op.localeCompare(b.op))) {
      lines.push(`| ${cell(o.op)} | ${o.failed}/${o.samples} | ${cell(o.reason)} | \`${cell(o.call)}\` |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export interface ExpectedFailures {
  comment: string;
  torch: string;
  failures: Record<string, string>;
}

/** The list test/17.tensor.opdb.test.ts holds the replay to: every failing op with its reason. */
export function expectedFailures(r: Report): ExpectedFailures {
  const failures: Record<string, string> = {};
  for (const o of [...r.ops].sort((a, b) => a.op.localeCompare(b.op))) if (!o.pass) failures[o.op] = o.reason!;
  return {
    comment: 'Ops of this opdb fixture that torchrnn does not reproduce yet, with the first failing sample\'s reason. ' +
      'Written by `npx tsx scripts/opdb/replay.ts --write-expected`; test/17.tensor.opdb.test.ts fails when an op not listed here fails.',
    torch: r.torch,
    failures,
  };
}

function main(argv: string[]): void {
  let dir: string | null = null;
  let only: string[] | undefined;
  let report: string | null = null;
  let writeExpected: string | null = null;
  let verbose = false;
  let trace = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') only = argv[++i].split(',').map((x) => x.trim()).filter(Boolean);
    else if (a === '--report') report = argv[++i];
    else if (a === '--write-expected') writeExpected = argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : '';
    else if (a === '--verbose') verbose = true;
    else if (a === '--trace') trace = true;
    else if (a === '--help' || a === '-h') { console.log(/^ \* (Usage:[^]*?)\n \*\n/m.exec(fs.readFileSync(__filename, 'utf8'))![1].replace(/^ \* ?/gm, '')); return; }
    else if (a.startsWith('--')) throw new Error(`replay.ts: unknown option ${a}`);
    else dir = a;
  }
  const fx = loadOpdb(dir ?? defaultDir());
  const before = torch.memory().tensors;
  const r = replay(fx, {
    only,
    onSample: trace ? (s) => fs.writeSync(2, `${opKey(s)} ${s.dtype} #${s.index}\n`) : undefined,
    onFailure: verbose ? (s, res) => console.log(`FAIL ${opKey(s)} ${s.dtype} #${s.index}: ${res.reason}\n     ${describeCall(fx, s, res.via)}`) : undefined,
  });
  const leaked = torch.memory().tensors - before;
  console.log(summaryLine(r));
  if (leaked !== 0) console.log(`warning: ${leaked} tensors outlived the replay`);
  if (report) {
    fs.mkdirSync(path.dirname(path.resolve(report)), { recursive: true });
    fs.writeFileSync(report, markdownReport(r));
    console.log(`report: ${report}`);
  }
  if (writeExpected !== null) {
    if (only) throw new Error('replay.ts: --write-expected lists the failures of the whole fixture; drop --only');
    const file = writeExpected || path.join(fx.dir, 'expected-failures.json');
    fs.writeFileSync(file, `${JSON.stringify(expectedFailures(r), null, 1)}\n`);
    console.log(`expected failures: ${file} (${Object.keys(expectedFailures(r).failures).length} ops)`);
  }
}

if (require.main === module) main(process.argv.slice(2));
