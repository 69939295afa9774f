/**
 * tfjs's chained tensor methods (`x.reshape([2, 3])`, `x.square()`, `a.concat(b)` …) on tfjs-core's
 * Tensor class. `@tensorflow/tfjs` and tfjs-node install them; tfjs-core's CommonJS entry does not
 * (its ES-module files that do cannot be required), and code written for tfjs-node uses them
 * everywhere (tfjs-layers itself does: its orthogonal initializer calls `flatten()`). Each method
 * calls the tfjs-core op of the same name with the tensor as its first argument, except the
 * handful listed in SPECIAL. A method already present (another copy of tfjs registered them) is
 * left alone.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The methods that are `op(this, ...args)` for the tfjs-core op of the same name (tfjs 4.22's list). */
const SAME_NAME = [
  'abs', 'acos', 'acosh', 'add', 'all', 'any', 'argMax', 'argMin', 'asin', 'asinh', 'atan', 'atan2', 'atanh',
  'avgPool', 'batchToSpaceND', 'batchNorm', 'broadcastTo', 'cast', 'ceil', 'clipByValue', 'conv1d', 'conv2d',
  'conv2dTranspose', 'cos', 'cosh', 'cumprod', 'cumsum', 'depthToSpace', 'depthwiseConv2d', 'dilation2d', 'div',
  'divNoNan', 'dot', 'elu', 'equal', 'erf', 'euclideanNorm', 'exp', 'expandDims', 'expm1', 'fft', 'floor',
  'floorDiv', 'gather', 'greater', 'greaterEqual', 'ifft', 'irfft', 'isFinite', 'isInf', 'isNaN', 'leakyRelu',
  'less', 'lessEqual', 'localResponseNormalization', 'log', 'log1p', 'logSigmoid', 'logSoftmax', 'logSumExp',
  'logicalAnd', 'logicalNot', 'logicalOr', 'logicalXor', 'matMul', 'max', 'maxPool', 'maximum', 'mean', 'min',
  'minimum', 'mirrorPad', 'mod', 'mul', 'neg', 'norm', 'notEqual', 'oneHot', 'onesLike', 'pad', 'pool', 'pow',
  'prelu', 'prod', 'reciprocal', 'relu', 'relu6', 'reshape', 'resizeBilinear', 'resizeNearestNeighbor', 'reverse',
  'rfft', 'round', 'rsqrt', 'selu', 'separableConv2d', 'sigmoid', 'sign', 'sin', 'sinh', 'slice', 'softmax',
  'softplus', 'spaceToBatchND', 'split', 'sqrt', 'square', 'squaredDifference', 'squeeze', 'step', 'stridedSlice',
  'sub', 'sum', 'tan', 'tanh', 'tile', 'topk', 'transpose', 'unique', 'unsortedSegmentSum', 'unstack', 'zerosLike',
] as const;

type T = tf.Tensor;
const list = (x: T | T[]): T[] => (x instanceof tf.Tensor ? [x] : x);

/** The methods whose op or argument order differs. */
const SPECIAL: Record<string, (this: T, ...args: never[]) => unknown> = {
  as1D(this: T) { return tf.reshape(this, [this.size]); },
  as2D(this: T, rows: number, columns: number) { return tf.reshape(this, [rows, columns]); },
  as3D(this: T, rows: number, columns: number, depth: number) { return tf.reshape(this, [rows, columns, depth]); },
  as4D(this: T, rows: number, columns: number, depth: number, depth2: number) { return tf.reshape(this, [rows, columns, depth, depth2]); },
  as5D(this: T, rows: number, columns: number, depth: number, depth2: number, depth3: number) { return tf.reshape(this, [rows, columns, depth, depth2, depth3]); },
  asScalar(this: T) { return tf.reshape(this, []); },
  flatten(this: T) { return tf.reshape(this, [this.size]); },
  reshapeAs(this: T, x: T) { return tf.reshape(this, x.shape); },
  asType(this: T, dtype: tf.DataType) { return tf.cast(this, dtype); },
  toBool(this: T) { return tf.cast(this, 'bool'); },
  toFloat(this: T) { return tf.cast(this, 'float32'); },
  toInt(this: T) { return tf.cast(this, 'int32'); },
  concat(this: T, x: T | T[], axis?: number) { return tf.concat([this, ...list(x)], axis); },
  stack(this: T, x: T | T[], axis?: number) { return tf.stack([this, ...list(x)], axis); },
  where(this: T, condition: T, x: T) { return tf.where(condition, this, x); },
};

/** Installs every chained method tf.Tensor lacks; returns how many it added. */
export function installChainedOps(): number {
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  const ops = tf as unknown as Record<string, (...args: unknown[]) => unknown>;
  let added = 0;
  const define = (name: string, fn: (this: T, ...args: never[]) => unknown) => {
    if (proto[name] !== undefined) return;
    proto[name] = function (this: T, ...args: never[]) {
      this.throwIfDisposed();
      return fn.apply(this, args);
    };
    added++;
  };
  const image = tf.image as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of SAME_NAME) {
    const op = ops[name] ?? image[name]; // resizeBilinear and resizeNearestNeighbor live in tf.image
    if (typeof op !== 'function') throw new Error(`torchrnn/tfjs: tfjs-core has no op ${name} for the chained method`);
    define(name, function (this: T, ...args: never[]) { return op(this, ...args); });
  }
  for (const [name, fn] of Object.entries(SPECIAL)) define(name, fn);
  return added;
}
