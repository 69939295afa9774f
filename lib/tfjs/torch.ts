/**
 * libtorch access for the tfjs backend: aten operators through torchrnn's dispatcher binding
 * (native/ops.cc: schema-driven argument conversion, numbers become Python-like scalars), and
 * the per-kernel scope that frees every intermediate tensor a kernel made.
 *
 * Ownership: a handle returned by `aten()` inside a kernel belongs to the kernel's scope and is
 * disposed when the kernel returns, unless `adopt()` claimed it (a kernel output). Outside a
 * kernel scope the caller owns what `aten()` returns. JS thread only.
 *
 * Asynchronous mode (the `TORCH_ASYNC_KERNELS` flag, read when a kernel starts): `aten()` calls
 * `native.callQueued`, which returns the output at once and writes its data on torchrnn's
 * executor thread, in call order (native/queue.h); see lib/tfjs/queue.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType } from '@tensorflow/tfjs-core';
import { atenOp, isTensorHandle, native, TensorHandle } from '../binding';
import { COMPLEX_SCALAR_TYPE, SCALAR_TYPE } from '../dtype';

/** c10::ScalarType codes of the tfjs dtypes. */
export const CODE = {
  float32: SCALAR_TYPE.float32, int32: SCALAR_TYPE.int32, bool: SCALAR_TYPE.bool, complex64: COMPLEX_SCALAR_TYPE.complex64,
} as const;
export const INT64 = SCALAR_TYPE.int64;
export const FLOAT64 = SCALAR_TYPE.float64;

/** The tfjs dtype a libtorch result is stored as (int64 → int32, float64 → float32, …). */
export function dtypeOfCode(code: number): DataType {
  switch (code) {
    case SCALAR_TYPE.float32: case SCALAR_TYPE.float64: case SCALAR_TYPE.float16: case SCALAR_TYPE.bfloat16: return 'float32';
    case SCALAR_TYPE.bool: return 'bool';
    case COMPLEX_SCALAR_TYPE.complex64: case COMPLEX_SCALAR_TYPE.complex128: return 'complex64';
    default: return 'int32';
  }
}

/**
 * The tf.env() flag of the asynchronous mode: kernels are queued on torchrnn's executor and
 * return at once; only synchronous reads wait. Default: on, unless the environment variable
 * TORCHRNN_TFJS_ASYNC is `0`.
 */
export const ASYNC_FLAG = 'TORCH_ASYNC_KERNELS';
try {
  tf.env().registerFlag(ASYNC_FLAG, () => (typeof process === 'undefined' ? true : process.env.TORCHRNN_TFJS_ASYNC !== '0'));
} catch {
  // registered by another copy of this module
}

/** Whether the current kernel runs in the asynchronous mode (set when a kernel scope opens). */
let queued = false;
export function isQueued(): boolean { return queued; }

/** Whether a handle's data is written (no queued job still writes it). */
export function isReady(h: TensorHandle): boolean { return native.isReady(h); }

/**
 * [dtype, rank, ...shape] of `metaOf`: callQueued writes its result's there, and meta() reads it
 * without another native call (out() asks for the meta of the result it was just given).
 */
const metaBuffer = new Float64Array(66);
native.setMetaBuffer(metaBuffer);
let metaOf: unknown = null;

const ops = new Map<string, Map<string, number>>();

/** The dispatcher index of aten::name.overload (looked up once; no key string built per call). */
export function opId(name: string, overload: string): number {
  let byOverload = ops.get(name);
  if (byOverload === undefined) {
    byOverload = new Map();
    ops.set(name, byOverload);
  }
  let id = byOverload.get(overload);
  if (id === undefined) {
    id = atenOp(name, overload);
    byOverload.set(overload, id);
  }
  return id;
}

/**
 * A kernel scope: the handles made in it (`handles[0..n)`) and those adopted as outputs
 * (`kept[0..k)`). Scopes are reused by nesting depth (a kernel allocates no arrays), their
 * slots cleared when the kernel returns.
 */
interface Scope { handles: TensorHandle[]; n: number; kept: TensorHandle[]; k: number }
const scopes: Scope[] = [];
let depth = 0;
let scope: Scope | null = null;

export function isHandle(x: unknown): x is TensorHandle {
  return isTensorHandle(x);
}

function collect(r: unknown): void {
  if (scope === null) return;
  if (isHandle(r)) scope.handles[scope.n++] = r;
  else if (Array.isArray(r)) for (const x of r) collect(x);
}

// native.callQueued / native.call with the arguments spelled out up to 6: a spread call of a
// native function is several times the cost of a call with a fixed argument count.
function callQueued(id: number, a: unknown[]): unknown {
  switch (a.length) {
    case 1: return native.callQueued(id, a[0]);
    case 2: return native.callQueued(id, a[0], a[1]);
    case 3: return native.callQueued(id, a[0], a[1], a[2]);
    case 4: return native.callQueued(id, a[0], a[1], a[2], a[3]);
    case 5: return native.callQueued(id, a[0], a[1], a[2], a[3], a[4]);
    case 6: return native.callQueued(id, a[0], a[1], a[2], a[3], a[4], a[5]);
    default: return native.callQueued(id, ...a);
  }
}

function callNow(id: number, a: unknown[]): unknown {
  switch (a.length) {
    case 1: return native.call(id, a[0]);
    case 2: return native.call(id, a[0], a[1]);
    case 3: return native.call(id, a[0], a[1], a[2]);
    case 4: return native.call(id, a[0], a[1], a[2], a[3]);
    case 5: return native.call(id, a[0], a[1], a[2], a[3], a[4]);
    case 6: return native.call(id, a[0], a[1], a[2], a[3], a[4], a[5]);
    default: return native.call(id, ...a);
  }
}

/** Calls aten::name.overload; tensor results are owned by the current kernel scope. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function aten(name: string, overload: string, ...args: unknown[]): any {
  let r;
  if (queued) {
    r = callQueued(opId(name, overload), args);
    metaOf = r;  // callQueued wrote its result's meta into metaBuffer
    // meta[1] >= 0: the result is one live tensor handle (no isExternal check needed).
    if (metaBuffer[1] >= 0) {
      if (scope !== null) scope.handles[scope.n++] = r as TensorHandle;
      return r;
    }
  } else {
    r = callNow(opId(name, overload), args);
  }
  collect(r);
  return r;
}

/** Calls aten::name.overload; the caller owns the result even inside a kernel scope. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function atenOwned(name: string, overload: string, ...args: unknown[]): any {
  if (!queued) return callNow(opId(name, overload), args);
  const r = callQueued(opId(name, overload), args);
  metaOf = r;
  return r;
}

/** A new libtorch tensor from JS values (owned by the current kernel scope). */
export function fromData(values: ArrayBufferView, shape: number[], srcCode: number, dstCode: number): TensorHandle {
  const h = native.fromData(values, shape, srcCode, dstCode, false, null);
  collect(h);
  return h;
}

/** Hands a handle made elsewhere (native.grad, …) to the current kernel scope. */
export function own<T>(h: T): T {
  collect(h);
  return h;
}

/** Frees a handle (lib/tfjs frees through here: metaOf must not outlive it, natives reuse handles). */
export function release(h: TensorHandle): void {
  if (h === metaOf) metaOf = null;
  native.dispose(h);
}

/** Makes `h` survive the current kernel scope (it became a kernel output). */
export function adopt(h: TensorHandle): void {
  if (scope !== null) scope.kept[scope.k++] = h;
}

function isKept(s: Scope, h: TensorHandle): boolean {
  for (let i = 0; i < s.k; i++) if (s.kept[i] === h) return true;
  return false;
}

/** The tf.env() value of the asynchronous-mode flag (read from getFlags() once evaluated). */
function asyncFlag(): boolean {
  const env = tf.env();
  const v = env.getFlags()[ASYNC_FLAG];
  return v !== undefined ? v as boolean : env.getBool(ASYNC_FLAG) as boolean;
}

/** Runs fn as a kernel: every tensor it made and did not adopt is freed when it returns or throws. */
export function inScope<T>(fn: () => T): T {
  return inKernelScope(fn, undefined, undefined, undefined);
}

/** inScope(() => fn(a, b, c)) without the closure (a registered kernel's call allocates none). */
export function inKernelScope<A, B, C, T>(fn: (a: A, b: B, c: C) => T, a: A, b: B, c: C): T {
  const outer = scope;
  if (outer === null) queued = asyncFlag();
  let s = scopes[depth];
  if (s === undefined) {
    s = { handles: [], n: 0, kept: [], k: 0 };
    scopes[depth] = s;
  }
  depth++;
  scope = s;
  try {
    return fn(a, b, c);
  } finally {
    scope = outer;
    depth--;
    const { handles, kept } = s;
    try {
      for (let i = 0; i < s.n; i++) {
        const h = handles[i];
        if (isKept(s, h)) {
          if (outer !== null) outer.kept[outer.k++] = h;
        } else {
          release(h);
        }
      }
    } finally {
      for (let i = 0; i < s.n; i++) handles[i] = null as unknown as TensorHandle;
      for (let i = 0; i < s.k; i++) kept[i] = null as unknown as TensorHandle;
      s.n = 0;
      s.k = 0;
    }
  }
}

/** [dtype code, shape] of a handle. */
export function meta(h: TensorHandle): [number, number[]] {
  const shape = shapeOf(h);
  return [metaBuffer[0], shape];
}

/** A size read from the meta buffer (a double) as an integer, so shape arrays hold small integers. */
function size(x: number): number {
  return x < 2147483648 ? x | 0 : x;
}

/**
 * The shape of a handle (a new array; its dtype code is then dtypeCode(h) at no native call).
 * Packed arrays of small integers, as the shapes tfjs users write are (a Float64Array's values
 * stored as they are would make arrays of doubles): tfjs's code that reads shapes sees one
 * kind of array.
 */
export function shapeOf(h: TensorHandle): number[] {
  let rank: number;
  if (h === metaOf && metaBuffer[1] >= 0) {
    rank = metaBuffer[1];
  } else {
    rank = native.metaInto(h, metaBuffer);
    metaOf = h;
  }
  const m = metaBuffer;
  switch (rank) {
    case 0: return [];
    case 1: return [size(m[2])];
    case 2: return [size(m[2]), size(m[3])];
    case 3: return [size(m[2]), size(m[3]), size(m[4])];
    case 4: return [size(m[2]), size(m[3]), size(m[4]), size(m[5])];
    default: {
      const shape: number[] = [];
      for (let i = 0; i < rank; i++) shape.push(size(m[2 + i]));
      return shape;
    }
  }
}

/** The dtype code of a handle. */
export function dtypeCode(h: TensorHandle): number {
  if (h !== metaOf || metaBuffer[1] < 0) {
    native.metaInto(h, metaBuffer);
    metaOf = h;
  }
  return metaBuffer[0];
}
