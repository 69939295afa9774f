/**
 * Creation functions: shapes are arrays (`zeros([2, 3])`), options carry dtype, device and
 * requiresGrad. Defaults follow PyTorch: float32 for floating values, int64 for integers.
 */
import { atenOp as op, native, TensorHandle } from './binding';
import { allocData, checkDType, DType, dtypeOfArray, isFloating, ITEM_SIZE, SCALAR_TYPE } from './dtype';
import { invalidArg } from './errors';
import { checkTensor, Tensor, wrap } from './tensor';
import { checkBool, checkDevice, checkFinite, checkInt, checkNumber, checkOptions, checkShape, Device } from './validate';

export interface TensorOptions<D extends DType = DType> {
  /** Element type. Default: inferred from the data, else float32. */
  dtype?: D;
  /** Default 'cpu'. */
  device?: Device;
  /** Default false. Only floating-point tensors can require gradients. */
  requiresGrad?: boolean;
}

const OPTION_KEYS = ['dtype', 'device', 'requiresGrad'];

const OP = {
  zeros: op('zeros'), ones: op('ones'), full: op('full'), arange: op('arange', 'start_step'), linspace: op('linspace'),
  eye: op('eye', 'm'), rand: op('rand'), randn: op('randn'), randint: op('randint', 'low'),
  zerosLike: op('zeros_like'), onesLike: op('ones_like'), randnLike: op('randn_like'),
};

interface Resolved { dtype: DType | null; device: Device | null; requiresGrad: boolean }

function resolve(opts: unknown, name = 'options', extra: string[] = []): Resolved & Record<string, unknown> {
  const o = checkOptions<TensorOptions & Record<string, unknown>>(opts, name, [...OPTION_KEYS, ...extra]);
  return {
    ...o,
    dtype: o.dtype === undefined ? null : checkDType(o.dtype),
    device: o.device === undefined ? null : checkDevice(o.device),
    requiresGrad: o.requiresGrad === undefined ? false : checkBool(o.requiresGrad, 'requiresGrad'),
  };
}

/** Applies requiresGrad after creation, with the floating-point check. */
function finish<D extends DType>(h: unknown, r: Resolved): Tensor<D> {
  const t = wrap<D>(h);
  if (r.requiresGrad) {
    if (!isFloating(t.dtype)) {
      t.dispose();
      invalidArg(`a floating-point dtype with requiresGrad (this tensor is ${t.dtype.startsWith('int') ? 'an' : 'a'} ${t.dtype})`, 'requiresGrad', true);
    }
    t.requiresGrad_(true);
  }
  return t;
}

function code(d: DType | null): number | null {
  return d === null ? null : SCALAR_TYPE[d];
}

type Nested = number | boolean | bigint | Nested[];

/**
 * A tensor from nested arrays, a typed array, or a Buffer of raw little-endian bytes.
 * Nested arrays: all booleans give bool, all integers int64, otherwise float32 (as torch.tensor).
 * Typed arrays keep their type (Float32Array → float32, BigInt64Array → int64, …); a
 * Uint16Array needs `dtype: 'float16' | 'bfloat16'` (its elements are the raw bits).
 * A Buffer is reinterpreted as `dtype` (default uint8). `shape` reshapes flat data.
 * @example torch.tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true })
 */
export function tensor<D extends DType = DType>(data: Nested | ArrayBufferView, opts?: TensorOptions<D> & { shape?: number[] }): Tensor<D> {
  const r = resolve(opts, 'options', ['shape']);
  const given = r.shape === undefined ? null : checkShape(r.shape, 'shape');
  let flat: ArrayBufferView;
  let src: DType;
  let shape: number[];
  let dst: DType;
  if (Buffer.isBuffer(data)) {
    src = r.dtype ?? 'uint8';
    if (data.byteLength % ITEM_SIZE[src] !== 0) invalidArg(`a byte length that is a multiple of ${ITEM_SIZE[src]} (the size of ${src})`, 'data', data);
    flat = data;
    shape = given ?? [data.byteLength / ITEM_SIZE[src]];
    dst = src;
  } else if (ArrayBuffer.isView(data)) {
    const own = dtypeOfArray(data);
    if (data instanceof Uint16Array) {
      if (r.dtype !== 'float16' && r.dtype !== 'bfloat16') invalidArg('dtype "float16" or "bfloat16" with a Uint16Array (its elements are 16-bit float bits)', 'dtype', r.dtype ?? undefined);
      src = r.dtype;
    } else if (own === null) {
      return invalidArg('a Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, BigInt64Array, Uint8Array or Uint16Array', 'data', data);
    } else {
      src = own;
    }
    flat = data;
    shape = given ?? [(data as unknown as { length: number }).length];
    dst = r.dtype ?? src;
  } else {
    // Values are gathered as float64 (exact for every JS number), or int64 when bigints appear,
    // then converted natively to the requested dtype, as torch.tensor does from Python floats.
    const inferred = flatten(data);
    shape = given ?? inferred.shape;
    src = inferred.kind === 'bigint' ? 'int64' : 'float64';
    flat = fill(allocData(src, inferred.values.length), inferred.values);
    dst = r.dtype ?? ({ bool: 'bool', int: 'int64', bigint: 'int64', float: 'float32' } as const)[inferred.kind];
  }
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel * ITEM_SIZE[src] !== flat.byteLength) {
    invalidArg(`a shape with ${flat.byteLength / ITEM_SIZE[src]} elements`, 'shape', shape);
  }
  return finish<D>(native.fromData(flat, shape, SCALAR_TYPE[src], SCALAR_TYPE[dst], false, r.device), r);
}

/** Raw little-endian bytes as a tensor of `dtype` and `shape` (a copy). */
export function fromBuffer<D extends DType = 'float32'>(buffer: ArrayBuffer | ArrayBufferView, opts?: { dtype?: D; shape?: number[]; device?: Device; requiresGrad?: boolean }): Tensor<D> {
  const o = checkOptions<{ dtype: D }>(opts, 'options', [...OPTION_KEYS, 'shape']);
  let bytes: Buffer;
  if (buffer instanceof ArrayBuffer) bytes = Buffer.from(buffer);
  else if (ArrayBuffer.isView(buffer)) bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  else return invalidArg('an ArrayBuffer, a Buffer or a typed array', 'buffer', buffer);
  const dtype = checkDType(o.dtype === undefined ? 'float32' : o.dtype) as D; // null is refused, as by every creation function
  const size = ITEM_SIZE[dtype];
  if (bytes.length % size !== 0) invalidArg(`a byte length that is a multiple of ${size} (the size of ${dtype})`, 'buffer', buffer);
  return tensor<D>(bytes, { ...o, dtype });
}

const MAX_DIMS = 64;

function flatten(data: unknown): { values: (number | boolean | bigint)[]; shape: number[]; kind: 'bool' | 'int' | 'bigint' | 'float' } {
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    // libtorch allows at most 64 dimensions; this also stops arrays that contain themselves
    if (shape.length === MAX_DIMS) invalidArg(`a nested array of at most ${MAX_DIMS} dimensions`, 'data', `an array nested deeper than ${MAX_DIMS}`);
    shape.push(probe.length);
    probe = probe[0];
  }
  const values: (number | boolean | bigint)[] = [];
  let allBool = true;
  let allInt = true;
  let anyBig = false;
  const walk = (v: unknown, depth: number, path: number[]) => {
    if (depth < shape.length) {
      if (!Array.isArray(v) || v.length !== shape[depth]) {
        invalidArg(`a rectangular nested array (length ${shape[depth]} at [${path.join('][')}])`, 'data', v);
      }
      for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, [...path, i]); // holes are undefined, not skipped
      return;
    }
    if (typeof v === 'boolean') allInt = false;
    else if (typeof v === 'number') { allBool = false; if (!Number.isInteger(v)) allInt = false; }
    else if (typeof v === 'bigint') {
      if (v < -(2n ** 63n) || v >= 2n ** 63n) invalidArg('integers in the int64 range', `data[${path.join('][')}]`, v);
      allBool = false;
      anyBig = true;
    }
    else invalidArg('numbers, booleans or bigints', path.length ? `data[${path.join('][')}]` : 'data', v);
    values.push(v);
  };
  walk(data, 0, []);
  if (values.length === 0) return { values, shape, kind: 'float' };
  if (anyBig && !allInt) invalidArg('integers only when bigints are mixed in', 'data', data);
  return { values, shape, kind: allBool ? 'bool' : anyBig ? 'bigint' : allInt ? 'int' : 'float' };
}

function fill(out: ArrayBufferView, values: (number | boolean | bigint)[]): ArrayBufferView {
  const arr = out as unknown as { [i: number]: number | bigint };
  const big = out instanceof BigInt64Array;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    arr[i] = big ? BigInt(typeof v === 'boolean' ? Number(v) : v) : Number(v);
  }
  return out;
}

/** Zeros of `shape`. @example torch.zeros([2, 3], { dtype: 'float64' }) */
export function zeros<D extends DType = 'float32'>(shape: number[], opts?: TensorOptions<D>): Tensor<D> {
  const r = resolve(opts);
  return finish(native.call(OP.zeros, checkShape(shape, 'shape'), code(r.dtype), null, r.device), r);
}

/** Ones of `shape`. */
export function ones<D extends DType = 'float32'>(shape: number[], opts?: TensorOptions<D>): Tensor<D> {
  const r = resolve(opts);
  return finish(native.call(OP.ones, checkShape(shape, 'shape'), code(r.dtype), null, r.device), r);
}

/** `shape` filled with `value`. Without dtype: int64 for an integer value, bool for a boolean, else float32. */
export function full<D extends DType = DType>(shape: number[], value: number | boolean, opts?: TensorOptions<D>): Tensor<D> {
  const r = resolve(opts);
  if (typeof value !== 'boolean') checkNumber(value, 'value');
  return finish(native.call(OP.full, checkShape(shape, 'shape'), value, code(r.dtype), null, r.device), r);
}

/**
 * Values from start (inclusive) to end (exclusive) by step: `arange(5)`, `arange(1, 5)`, `arange(0, 1, 0.25)`.
 * int64 when every argument is an integer, else float32.
 */
export function arange<D extends DType = DType>(startOrEnd: number, end?: number | TensorOptions<D>, step?: number | TensorOptions<D>, opts?: TensorOptions<D>): Tensor<D> {
  // arange(end, opts?), arange(start, end, opts?), arange(start, end, step, opts?): the options
  // object is the first object after the first argument, or the fourth argument. An undefined
  // number is one not given (arange(0, 5, undefined, opts) is arange(0, 5, opts)).
  const args: unknown[] = [startOrEnd, end, step, opts];
  let o = 1;
  while (o < 3 && (typeof args[o] !== 'object' || args[o] === null)) o++;
  if (args.slice(o + 1).some((a) => a !== undefined)) invalidArg('no arguments after the options object', 'options', args[o]);
  const nums = args.slice(0, o);
  while (nums.length > 1 && nums[nums.length - 1] === undefined) nums.pop();
  const k = nums.length;
  nums.forEach((n, i) => checkFinite(n, ['start', 'end', 'step'][k === 1 ? 1 : i]));
  const [s, e, st] = k === 1 ? [0, nums[0] as number, 1] : [nums[0] as number, nums[1] as number, (nums[2] as number | undefined) ?? 1];
  if (st === 0) invalidArg('a non-zero number', 'step', st);
  if ((e - s) / st < 0) invalidArg(`an end on the side of start that step ${st} moves towards`, 'end', e);
  const r = resolve(args[o]);
  return finish(native.call(OP.arange, s, e, st, code(r.dtype), null, r.device), r);
}

/** `steps` values evenly spaced from start to end inclusive. */
export function linspace<D extends DType = 'float32'>(start: number, end: number, steps: number, opts?: TensorOptions<D>): Tensor<D> {
  checkFinite(start, 'start');
  checkFinite(end, 'end');
  const r = resolve(opts);
  return finish(native.call(OP.linspace, start, end, checkInt(steps, 'steps', { min: 0 }), code(r.dtype), null, r.device), r);
}

/** The n×m identity matrix (m defaults to n). */
export function eye<D extends DType = 'float32'>(n: number, m?: number | TensorOptions<D>, opts?: TensorOptions<D>): Tensor<D> {
  if (typeof m === 'object') { opts = m; m = undefined; }
  const r = resolve(opts);
  const rows = checkInt(n, 'n', { min: 0 });
  return finish(native.call(OP.eye, rows, m === undefined ? rows : checkInt(m, 'm', { min: 0 }), code(r.dtype), null, r.device), r);
}

function floatOnly(r: Resolved, fn: string): void {
  if (r.dtype !== null && !['float32', 'float64', 'float16', 'bfloat16'].includes(r.dtype)) invalidArg(`a floating-point dtype for ${fn}`, 'dtype', r.dtype);
}

/** Uniform samples in [0, 1). */
export function rand<D extends DType = 'float32'>(shape: number[], opts?: TensorOptions<D>): Tensor<D> {
  const r = resolve(opts);
  floatOnly(r, 'rand');
  return finish(native.call(OP.rand, checkShape(shape, 'shape'), code(r.dtype), null, r.device), r);
}

/** Standard normal samples. */
export function randn<D extends DType = 'float32'>(shape: number[], opts?: TensorOptions<D>): Tensor<D> {
  const r = resolve(opts);
  floatOnly(r, 'randn');
  return finish(native.call(OP.randn, checkShape(shape, 'shape'), code(r.dtype), null, r.device), r);
}

/** Integers uniform in [low, high); default dtype int64. @example torch.randint(0, 10, [32]) */
export function randint<D extends DType = 'int64'>(low: number, high: number, shape: number[], opts?: TensorOptions<D>): Tensor<D> {
  checkInt(low, 'low');
  checkInt(high, 'high', { min: low + 1 });
  const r = resolve(opts);
  return finish(native.call(OP.randint, low, high, checkShape(shape, 'shape'), code(r.dtype) ?? SCALAR_TYPE.int64, null, r.device), r);
}

function like(opIndex: number, input: Tensor, opts: unknown): Tensor {
  const t = checkTensor(input, 'input');
  const r = resolve(opts);
  return finish(native.call(opIndex, t.handle('input'), code(r.dtype), null, r.device), r);
}
/** Zeros with the shape (and by default dtype and device) of `input`. */
export function zerosLike<D extends DType>(input: Tensor<D>, opts?: TensorOptions): Tensor<D> { return like(OP.zerosLike, input, opts) as Tensor<D>; }
export function onesLike<D extends DType>(input: Tensor<D>, opts?: TensorOptions): Tensor<D> { return like(OP.onesLike, input, opts) as Tensor<D>; }
export function randnLike<D extends DType>(input: Tensor<D>, opts?: TensorOptions): Tensor<D> {
  const r = resolve(opts);
  floatOnly({ ...r, dtype: r.dtype ?? checkTensor(input, 'input').dtype }, 'randnLike');
  return like(OP.randnLike, input, opts) as Tensor<D>;
}

export type { TensorHandle };
