/**
 * What every kernel table shares: registration, input handles, outputs, and a few libtorch
 * idioms (casting, reductions over several axes, gradients through libtorch's autograd).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { native, TensorHandle } from '../../binding';
import { COMPLEX_SCALAR_TYPE, SCALAR_TYPE } from '../../dtype';
import type { KernelHost } from '../kernel-host';
import { adopt, aten, CODE, dtypeCode, dtypeOfCode, fromData, inKernelScope, isQueued, isReady, meta, release, shapeOf } from '../torch';

export { aten, CODE, dtypeCode, fromData, isQueued, isReady, meta, shapeOf };
export type H = TensorHandle;
export const BACKEND = 'torch';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Attrs = any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Inputs = any;
export type KernelFn = (inputs: Inputs, backend: KernelHost, attrs: Attrs) => TensorInfo | TensorInfo[];

/** Every kernel of the torch backend, registered by lib/tfjs/index.ts. */
export const KERNELS: KernelConfig[] = [];
export const KERNEL_NAMES = new Set<string>();

/**
 * Registers a kernel. It runs in a scope that frees every libtorch tensor it made except its
 * outputs, and turns a libtorch error into a plain Error naming the kernel. `fast` (optional)
 * runs first, outside any scope, and answers where it can (a non-null result).
 */
export function kernel(name: string, fn: KernelFn, fast?: (inputs: Inputs, backend: KernelHost) => TensorInfo | null): void {
  KERNEL_NAMES.add(name);
  const run = ({ inputs, backend, attrs }: { inputs: Inputs; backend: unknown; attrs?: Attrs }) => inKernelScope(fn, inputs, backend as KernelHost, attrs ?? {}) as TensorInfo | TensorInfo[];
  KERNELS.push({
    kernelName: name,
    backendName: BACKEND,
    // fast: a path that makes no libtorch tensor (no kernel scope), null where it does not apply
    kernelFunc: fast === undefined ? run : (args) => fast(args.inputs, args.backend as KernelHost) ?? run(args),
  });
}

/**
 * The libtorch tensor behind a tfjs TensorInfo, in the TensorInfo's shape. A small tensor whose
 * values are in JS only (kernels/small.ts) gets its libtorch tensor here, kept by its entry.
 */
export function T(b: KernelHost, t: TensorInfo): H {
  const e = b.entry(t.dataId);
  let h = e.h;
  if (h === null) {
    if (e.small === null) throw new Error(`torch backend: this kernel does not support ${e.dtype} tensors`);
    const code = e.small instanceof Float32Array ? SCALAR_TYPE.float32 : SCALAR_TYPE.int32;
    h = e.h = native.fromData(e.small, e.shape, code, code, false, null);
  }
  if (!sameShape(e.shape, t.shape)) return aten('reshape', '', h, sizes(t.shape));
  return h;
}

/**
 * Int32Arrays, one per rank, that T() passes a reshape's sizes in: the native call reads them
 * at once (a JS array costs a napi call per element). Over ArrayBuffers of their own (off V8's
 * heap: a small typed array made per call lives on it, and the native call would move it off
 * first). The call copies the values: the next T() may overwrite them.
 */
const sizesByRank: Int32Array[] = [];
function sizes(shape: readonly number[]): Int32Array {
  let a = sizesByRank[shape.length];
  if (a === undefined) {
    a = new Int32Array(new ArrayBuffer(4 * shape.length));
    sizesByRank[shape.length] = a;
  }
  for (let i = 0; i < shape.length; i++) a[i] = shape[i];
  return a;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Makes a kernel output of `h`. dtype: the tfjs dtype wanted (the result is cast when libtorch's
 * dtype differs); by default libtorch's dtype mapped to tfjs's (int64 → int32, float64 → float32).
 */
export function out(b: KernelHost, h: H, dtype?: DataType): TensorInfo {
  const shape = shapeOf(h);
  const code = dtypeCode(h);  // no native call: shapeOf read it
  const want = dtype ?? dtypeOfCode(code);
  const wantCode = CODE[want as keyof typeof CODE];
  if (wantCode === undefined) throw new Error(`torch backend: cannot make a ${want} output`);
  if (code !== wantCode) h = cast(h, want);
  adopt(h);
  return b.makeOutput(h, shape, want);
}

/** Casts to a tfjs dtype (complex64 → float32 keeps the real part, as tfjs's cast does). */
export function cast(h: H, dtype: DataType): H {
  const code = dtypeCode(h);
  const to = CODE[dtype as keyof typeof CODE];
  if (code === to) return h;
  if ((code === CODE.complex64 || code === COMPLEX_SCALAR_TYPE.complex128) && to !== CODE.complex64) return aten('to', 'dtype', aten('real', '', h), to, false, false, null);
  if (to === CODE.complex64) return aten('complex', '', cast(h, 'float32'), aten('zeros_like', '', cast(h, 'float32'), null, null, null, null, null));
  return aten('to', 'dtype', h, to, false, false, null);
}

export function castCode(h: H, code: number): H {
  return dtypeCode(h) === code ? h : aten('to', 'dtype', h, code, false, false, null);
}

/** A float32 version (int and bool tensors are converted). */
export function float(h: H): H { return castCode(h, SCALAR_TYPE.float32); }

/** float(h) for a handle whose tfjs dtype is known (no native call for a float32 one). */
export function floatAs(h: H, dtype: DataType): H { return dtype === 'float32' ? h : float(h); }

/** An int64 version (libtorch's index type). */
export function long(h: H): H { return castCode(h, SCALAR_TYPE.int64); }

/** A new int64 1-D tensor of the given values. */
export function longTensor(values: number[]): H {
  return fromData(new Int32Array(values), [values.length], SCALAR_TYPE.int32, SCALAR_TYPE.int64);
}

export function floatTensor(values: ArrayLike<number>, shape?: number[]): H {
  return fromData(Float32Array.from(values), shape ?? [values.length], SCALAR_TYPE.float32, SCALAR_TYPE.float32);
}

export function scalar(value: number, code: number): H {
  return aten('scalar_tensor', '', value, code, null, null, null);
}

export function full(shape: number[], value: number, code: number): H {
  return aten('full', '', shape, value, code, null, null, null);
}


/** Normalizes tfjs axes (number or array, negatives allowed) against a rank. */
export function axes(axis: number | number[] | null | undefined, shape: readonly number[]): number[] {
  return tf.util.parseAxisParam(axis ?? null as unknown as number[], shape as number[]);
}

/**
 * Reduces over several axes with a one-axis libtorch reduction (prod, all, any take one dim):
 * the axes are moved to the end and flattened into one.
 */
export function reduceAxes(h: H, shape: readonly number[], ax: number[], keepDims: boolean, reduce1: (x: H, dim: number) => H): H {
  const rank = shape.length;
  if (ax.length === 0) return h;
  const keep = [...Array(rank).keys()].filter((d) => !ax.includes(d));
  const perm = [...keep, ...ax];
  let x = aten('permute', '', h, perm);
  x = aten('reshape', '', x, [...keep.map((d) => shape[d]), -1]);
  let r = reduce1(x, keep.length);
  if (keepDims) r = aten('reshape', '', r, shape.map((s, d) => (ax.includes(d) ? 1 : s)));
  return r;
}

/**
 * dL/d(inputs[k]) for a function written with libtorch operations: runs `f` on detached copies
 * of the inputs (those in `wrt` require grad) and asks libtorch's autograd for the gradients,
 * with `dy` as the output gradient. Used by the tfjs gradient kernels (MaxPoolGrad, …), so each
 * gradient is exactly the derivative of the forward kernel as implemented here.
 */
export function gradOf(f: (...xs: H[]) => H, xs: H[], wrt: number[], dy: H): H[] {
  const wasEnabled = native.isGradEnabled();
  native.setGradEnabled(true);
  try {
    const leaves = xs.map((x, i) => {
      if (!wrt.includes(i)) return x;
      const l = aten('detach', '', float(x));
      native.setRequiresGrad(l, true);
      return l;
    });
    const y = f(...leaves);
    const grads = native.grad([y], wrt.map((i) => leaves[i]), [castCode(dy, dtypeCode(y))], false, false, true);
    return grads.map((g, k) => {
      if (g === null) return aten('zeros_like', '', leaves[wrt[k]], null, null, null, null, null);
      // native.grad returns new handles: hand them to the kernel scope.
      const r = aten('detach', '', g);
      release(g);
      return r;
    });
  } finally {
    native.setGradEnabled(wasEnabled);
  }
}

/** Reads a small int tensor's values (shapes, indices given as tensors). */
export function readInts(b: KernelHost, t: TensorInfo): number[] {
  return Array.from(b.readSync(t.dataId) as Int32Array);
}

/** Whether a tfjs DataType is one the arithmetic kernels take. */
export function isNumeric(dtype: DataType): boolean {
  return dtype === 'float32' || dtype === 'int32' || dtype === 'bool';
}
