/**
 * Reductions, scans, softmax, sorting (TopK, Unique), counting (Bincount) and segment sums.
 */
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelHost } from '../kernel-host';
import { aten, axes, cast, CODE, dtypeCode, float, floatAs, fromData, H, kernel, long, meta, out, reduceAxes, T } from './common';

/** tfjs's sum output dtype: bool and int32 sum to int32. */
function sumType(d: DataType): DataType { return d === 'float32' || d === 'complex64' ? d : 'int32'; }

function reduceKernel(name: string, f: (x: H, ax: number[], keepDims: boolean, dtype: DataType, shape: readonly number[]) => H, outType: (d: DataType) => DataType, axisAttr = 'axis'): void {
  kernel(name, ({ x }, b, attrs) => {
    const ax = axes(attrs[axisAttr], x.shape);
    const h = T(b, x);
    if (ax.length === 0) return out(b, aten('clone', '', h, null), outType(x.dtype));
    return out(b, f(h, ax, attrs.keepDims ?? false, x.dtype, x.shape), outType(x.dtype));
  });
}

reduceKernel('Sum', (x, ax, keep, d) => aten('sum', 'dim_IntList', d === 'bool' ? cast(x, 'int32') : x, ax, keep, null), sumType);
reduceKernel('Prod', (x, ax, keep, d, shape) => reduceAxes(d === 'bool' ? cast(x, 'int32') : x, shape, ax, keep, (y, dim) => aten('prod', 'dim_int', y, dim, false, null)), sumType);
reduceKernel('Mean', (x, ax, keep, d) => aten('mean', 'dim', floatAs(x, d), ax, keep, null), () => 'float32');
reduceKernel('Max', (x, ax, keep) => aten('amax', '', x, ax, keep), (d) => d, 'reductionIndices');
reduceKernel('Min', (x, ax, keep) => aten('amin', '', x, ax, keep), (d) => d, 'axis');
reduceKernel('All', (x, ax, keep, _d, shape) => reduceAxes(cast(x, 'bool'), shape, ax, keep, (y, dim) => aten('all', 'dim', y, dim, false)), () => 'bool');
reduceKernel('Any', (x, ax, keep, _d, shape) => reduceAxes(cast(x, 'bool'), shape, ax, keep, (y, dim) => aten('any', 'dim', y, dim, false)), () => 'bool');

function argKernel(name: string, op: string): void {
  kernel(name, ({ x }, b, { axis }) => {
    const ax = axes(axis, x.shape);
    let h = T(b, x);
    if (x.dtype === 'bool') h = cast(h, 'int32');
    // tfjs never picks a NaN (comparisons with NaN are false); libtorch would.
    if (x.dtype === 'float32') h = aten('where', 'self', aten('isnan', '', h), op === 'argmax' ? -Infinity : Infinity, h);
    if (ax.length > 1) {
      // tfjs flattens the given axes (innermost) into one.
      const keep = [...Array(x.shape.length).keys()].filter((d) => !ax.includes(d));
      h = aten('reshape', '', aten('permute', '', h, [...keep, ...ax]), [...keep.map((d) => x.shape[d]), -1]);
      return out(b, aten(op, '', h, keep.length, false), 'int32');
    }
    return out(b, aten(op, '', h, ax[0], false), 'int32');
  });
}
argKernel('ArgMax', 'argmax');
argKernel('ArgMin', 'argmin');

function scanKernel(name: string, op: string, identity: number): void {
  kernel(name, ({ x }, b, { axis, exclusive, reverse }) => {
    const rank = x.shape.length;
    const dim = axis < 0 ? axis + rank : axis;
    let h = T(b, x);
    if (x.dtype === 'bool') h = cast(h, 'int32');
    if (reverse) h = aten('flip', '', h, [dim]);
    if (exclusive) {
      const n = x.shape[dim];
      const first = aten('full_like', '', aten('narrow', '', h, dim, 0, Math.min(1, n)), identity, null, null, null, null, null);
      h = aten('cat', '', [first, aten('narrow', '', h, dim, 0, Math.max(0, n - 1))], dim);
    }
    let r = aten(op, '', h, dim, null);
    if (reverse) r = aten('flip', '', r, [dim]);
    return out(b, r, sumType(x.dtype));
  });
}
scanKernel('Cumsum', 'cumsum', 0);
scanKernel('Cumprod', 'cumprod', 1);

kernel('Softmax', ({ logits }, b, { dim }) => {
  const rank = logits.shape.length;
  return out(b, aten('softmax', 'int', floatAs(T(b, logits), logits.dtype), dim === -1 ? rank - 1 : dim, null), 'float32');
});

kernel('TopK', ({ x }, b, { k }) => {
  const h = T(b, x);
  const n = x.shape[x.shape.length - 1];
  if (k > n) throw new Error(`'k' passed to topk() must be <= the last dimension (${n}) but got ${k}`);
  // A stable descending sort: equal values keep their order (lower index first), as tfjs.
  const [values, indices] = aten('sort', 'stable', x.dtype === 'bool' ? cast(h, 'int32') : h, true, -1, true) as H[];
  const v = aten('narrow', '', values, -1, 0, k);
  const i = aten('narrow', '', indices, -1, 0, k);
  return [out(b, v, x.dtype), out(b, i, 'int32')];
});

kernel('Unique', ({ x }, b, { axis }) => {
  if (x.dtype === 'string') return uniqueStrings(b, x, axis);
  const rank = x.shape.length;
  const dim = rank === 0 ? 0 : (axis ?? 0) < 0 ? axis + rank : axis ?? 0;
  let h = T(b, x);
  if (rank === 0) h = aten('reshape', '', h, [1]);
  // tfjs compares values by their printed form: all NaNs are one value, -0 equals 0. Compare
  // the bits of a canonical copy (NaN → one NaN, -0 → 0), and take the values from the input.
  let key = h;
  if (x.dtype === 'float32') {
    key = aten('where', 'self', aten('isnan', '', h), NaN, aten('add', 'Tensor', h, 0.0, 1));
    key = aten('view', 'dtype', key, CODE.int32);
  } else if (x.dtype === 'bool') key = cast(h, 'int32');
  // libtorch's unique is sorted; tfjs keeps first-occurrence order. Sort the unique values
  // by the first position where each occurs.
  const [uniq, inverse] = aten('unique_dim', '', key, dim, true, true, false) as H[];
  const n = meta(inverse)[1][0];
  const u = meta(uniq)[1][dim];
  const positions = aten('arange', '', n, 4, null, null, null);
  const first = aten('scatter_reduce', 'two', aten('full', '', [u], n, 4, null, null, null), 0, inverse, positions, 'amin', true);
  const order = aten('argsort', '', first, 0, false);
  const rankOf = aten('argsort', '', order, 0, false);
  // The first occurrence of each unique value, in order of appearance.
  const values = aten('index_select', '', h, dim, aten('sort', '', first, 0, false)[0]);
  const idx = aten('index_select', '', rankOf, 0, inverse);
  return [out(b, values, x.dtype), out(b, idx, 'int32')];
});

/** Unique slices of a string tensor along an axis, in order of first appearance. */
function uniqueStrings(b: KernelHost, x: TensorInfo, axis: number | undefined): TensorInfo[] {
  const shape = x.shape.length === 0 ? [1] : x.shape;
  const rank = shape.length;
  const dim = (axis ?? 0) < 0 ? (axis as number) + rank : axis ?? 0;
  const strings = b.entry(x.dataId).strings as Uint8Array[];
  const outer = shape.slice(0, dim).reduce((p, q) => p * q, 1);
  const n = shape[dim];
  const inner = shape.slice(dim + 1).reduce((p, q) => p * q, 1);
  const at = (o: number, i: number, k: number) => strings[(o * n + i) * inner + k];
  const seen = new Map<string, number>();
  const firsts: number[] = [];
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const parts: string[] = [];
    for (let o = 0; o < outer; o++) for (let k = 0; k < inner; k++) parts.push(Buffer.from(at(o, i, k)).toString('latin1'));
    const key = JSON.stringify(parts);
    let u = seen.get(key);
    if (u === undefined) { u = firsts.length; seen.set(key, u); firsts.push(i); }
    idx[i] = u;
  }
  const values: Uint8Array[] = [];
  for (let o = 0; o < outer; o++) for (const i of firsts) for (let k = 0; k < inner; k++) values.push(at(o, i, k));
  const outShape = shape.slice();
  outShape[dim] = firsts.length;
  return [b.makeStringOutput(values, outShape), out(b, fromData(idx, [n], 3, 3), 'int32')];
}

kernel('Bincount', ({ x, weights }, b, { size }) => bincount(b, x, weights, size, false));
kernel('DenseBincount', ({ x, weights }, b, { size, binaryOutput }) => bincount(b, x, weights, size, binaryOutput ?? false));

function bincount(b: KernelHost, x: TensorInfo, weights: TensorInfo, size: number, binaryOutput: boolean): TensorInfo {
  const xi = long(T(b, x));
  const hasWeights = weights.shape.reduce((p: number, s: number) => p * s, 1) > 0;
  const outType: DataType = hasWeights && !binaryOutput ? weights.dtype : x.dtype === 'int32' ? 'int32' : 'float32';
  // Values outside [0, size) are not counted (tfjs ignores them).
  const valid = aten('logical_and', '', aten('ge', 'Scalar', xi, 0), aten('lt', 'Scalar', xi, size));
  const rows = x.shape.length === 2 ? x.shape[0] : 1;
  const flatX = aten('reshape', '', xi, [rows, -1]);
  const flatValid = aten('reshape', '', valid, [rows, -1]);
  let w: H;
  if (binaryOutput) w = aten('ones_like', '', flatX, CODE.float32, null, null, null, null);
  else if (hasWeights) w = aten('reshape', '', float(T(b, weights)), [rows, -1]);
  else w = aten('ones_like', '', flatX, CODE.float32, null, null, null, null);
  w = aten('where', 'self', flatValid, w, 0.0);
  const idx = aten('where', 'self', flatValid, flatX, 0);
  let counts = aten('scatter_add', '', aten('zeros', '', [rows, size], CODE.float32, null, null, null), 1, idx, w);
  if (binaryOutput) counts = aten('gt', 'Scalar', counts, 0);
  if (x.shape.length !== 2) counts = aten('reshape', '', counts, [size]);
  return out(b, counts, outType);
}

kernel('UnsortedSegmentSum', ({ x, segmentIds }, b, { numSegments }) => {
  const h = T(b, x);
  const ids = long(T(b, segmentIds));
  const idShape = segmentIds.shape;
  // segmentIds covers the first dims of x; ids outside [0, numSegments) are dropped: they add
  // into one extra row, cut off at the end. (Not a boolean-mask selection: its data-dependent
  // shape made the asynchronous mode wait for the ids, and for x, which in gather's gradient,
  // an Embedding layer's, is most of the backward pass.) The sums are those of the selection.
  const rest = x.shape.slice(idShape.length);
  const flat = aten('reshape', '', h, [-1, ...rest]);
  const flatIds = aten('reshape', '', ids, [-1]);
  const valid = aten('logical_and', '', aten('ge', 'Scalar', flatIds, 0), aten('lt', 'Scalar', flatIds, numSegments));
  const rows = aten('where', 'self', valid, flatIds, numSegments);
  const zeros = aten('zeros', '', [numSegments + 1, ...rest], dtypeCode(h), null, null, null);
  const sums = aten('index_add', '', zeros, 0, rows, flat, 1);
  return out(b, aten('narrow', '', sums, 0, 0, numSegments), x.dtype);
});

kernel('SearchSorted', ({ sortedSequence, values }, b, { side }) => {
  const s = T(b, sortedSequence);
  const v = T(b, values);
  return out(b, aten('searchsorted', 'Tensor', s, v, true, side === 'right', null, null), 'int32');
});

