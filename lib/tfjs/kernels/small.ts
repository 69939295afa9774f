/**
 * Add, Sub, Multiply and RealDiv of small tensors computed in JS, without libtorch: for a 1×4
 * add the native call, the libtorch tensor made for the result and its disposal cost more than
 * tfjs's own engine does around the kernel, so a program made of many small ops would run slower
 * on `torch` than on tfjs's cpu backend.
 *
 * Taken when both inputs are float32 (or both int32; RealDiv: float32 only) with at most
 * SMALL_MAX elements, of the same shape or one of them a single element, and their values are
 * in JS or ready to be read at once (never waiting for a queued job). A DataId's values never
 * change in tfjs, so an input read from libtorch keeps its copy (`small`) for the next call.
 * The result lives in JS only (TensorData.small): common.ts's T() makes its libtorch tensor
 * when a libtorch kernel takes it, and a read returns a copy of it.
 *
 * The numbers are libtorch's: the float32 sum, difference, product or quotient computed in
 * double and rounded to float32 is the correctly rounded float32 result (a double holds more
 * than twice float32's precision), as libtorch's float32 arithmetic is; int32 wraps around as
 * libtorch's does (Math.imul for the product).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { native } from '../../binding';
import type { KernelHost } from '../kernel-host';
import { isReady } from '../torch';
import { sameShape } from './common';

export type SmallOp = 'add' | 'sub' | 'mul' | 'div';
type Values = Float32Array | Int32Array;

/** The largest element count the JS path takes (beyond it libtorch's vectorized loop is cheaper). */
export const SMALL_MAX = 64;

/** TORCHRNN_TFJS_SMALL=0 (read when the backend loads) leaves every op to libtorch. */
const ON = typeof process === 'undefined' || process.env.TORCHRNN_TFJS_SMALL !== '0';

/** The JS values of a small float32/int32 input, read (once) when its libtorch data is ready; null otherwise. */
function valuesOf(b: KernelHost, t: TensorInfo): Values | null {
  const e = b.entry(t.dataId);
  if (e.small !== null) return e.small;
  if (e.h === null || (e.dtype !== 'float32' && e.dtype !== 'int32') || tf.util.sizeFromShape(e.shape) > SMALL_MAX || !isReady(e.h)) return null;
  try {
    e.small = native.readReady(e.h) as Values;
  } catch {
    return null;  // its queued job failed: the libtorch path passes the error on to whoever reads
  }
  return e.small;
}

/**
 * op(a, b) computed here, or null where libtorch must compute it (other dtypes, sizes or shapes,
 * data still being written).
 */
export function smallBinary(op: SmallOp, a: TensorInfo, c: TensorInfo, b: KernelHost): TensorInfo | null {
  const dtype = a.dtype;
  if (!ON || dtype !== c.dtype || (dtype !== 'float32' && (dtype !== 'int32' || op === 'div'))) return null;
  const na = tf.util.sizeFromShape(a.shape), nc = tf.util.sizeFromShape(c.shape);
  if (na > SMALL_MAX || nc > SMALL_MAX) return null;
  let shape = a.shape;
  if (!sameShape(a.shape, c.shape)) {
    if (na !== 1 && nc !== 1) return null;
    shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, c.shape);
  }
  const x = valuesOf(b, a);
  if (x === null) return null;
  const y = valuesOf(b, c);
  if (y === null) return null;
  const n = tf.util.sizeFromShape(shape);  // (0 where a size-1 input meets an empty one)
  const sx = na === 1 ? 0 : 1, sy = nc === 1 ? 0 : 1;
  let out: Values;
  if (dtype === 'float32') {
    const o = new Float32Array(n);
    switch (op) {
      case 'add': for (let i = 0; i < n; i++) o[i] = x[i * sx] + y[i * sy]; break;
      case 'sub': for (let i = 0; i < n; i++) o[i] = x[i * sx] - y[i * sy]; break;
      case 'mul': for (let i = 0; i < n; i++) o[i] = x[i * sx] * y[i * sy]; break;
      default: for (let i = 0; i < n; i++) o[i] = x[i * sx] / y[i * sy]; break;
    }
    out = o;
  } else {
    const o = new Int32Array(n);
    switch (op) {
      case 'add': for (let i = 0; i < n; i++) o[i] = (x[i * sx] + y[i * sy]) | 0; break;
      case 'sub': for (let i = 0; i < n; i++) o[i] = (x[i * sx] - y[i * sy]) | 0; break;
      default: for (let i = 0; i < n; i++) o[i] = Math.imul(x[i * sx], y[i * sy]); break;
    }
    out = o;
  }
  return b.makeSmallOutput(out, shape.slice(), dtype);
}
