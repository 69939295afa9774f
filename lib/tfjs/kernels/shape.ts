/**
 * Shape and data-movement kernels: reshape, transpose, slicing, concatenation, tiling, padding,
 * gathers and scatters, one-hot, ranges, space/batch/depth rearrangements.
 *
 * String tensors (which libtorch cannot hold) go through the same libtorch code: each string
 * input is replaced by an int32 tensor of positions into a pool of its strings, the kernel runs
 * on positions, and the output positions are mapped back to strings.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelHost } from '../kernel-host';
import { aten, cast, CODE, fromData, H, isQueued, isReady, kernel, KernelFn, long, longTensor, meta, out, readInts, T } from './common';

/** A data-movement kernel: works on any dtype, string tensors through position tensors. */
export function movement(name: string, fn: KernelFn): void {
  kernel(name, (inputs, b, attrs) => {
    const list: (TensorInfo | undefined)[] = Array.isArray(inputs) ? inputs : Object.values(inputs);
    if (!list.some((t) => t?.dtype === 'string')) return fn(inputs, b, attrs);
    const pool: Uint8Array[] = [];
    const temps: TensorInfo[] = [];
    const mapInfo = (t: TensorInfo | undefined): TensorInfo | undefined => {
      if (t === undefined || t === null || t.dtype !== 'string') return t;
      const strings = b.entry(t.dataId).strings as Uint8Array[];
      const base = pool.length;
      pool.push(...strings);
      const pos = aten('add', 'Tensor', aten('arange', '', strings.length, CODE.int32, null, null, null), base, 1);
      const info = out(b, aten('reshape', '', pos, t.shape), 'int32');
      temps.push(info);
      return info;
    };
    const mapped = Array.isArray(inputs) ? inputs.map(mapInfo) : Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, mapInfo(v as TensorInfo)]));
    try {
      const r = fn(mapped, b, attrs);
      const outs = Array.isArray(r) ? r : [r];
      const res = outs.map((o) => {
        const positions = b.readSync(o.dataId) as Int32Array;
        const strings = Array.from(positions, (i) => pool[i]);
        b.disposeData(o.dataId);
        return b.makeStringOutput(strings, o.shape);
      });
      return Array.isArray(r) ? res : res[0];
    } finally {
      for (const t of temps) b.disposeData(t.dataId);
    }
  });
}

/** The same DataId under another shape (no copy), as tfjs's own backends do. */
function shareAs(b: KernelHost, x: TensorInfo, shape: number[]): TensorInfo {
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

kernel('Reshape', ({ x }, b, { shape }) => {
  const size = tf.util.sizeFromShape(x.shape);
  const $shape = tf.util.inferFromImplicitShape(shape, size);
  tf.util.assert(size === tf.util.sizeFromShape($shape), () => `new shape: ${$shape}, old shape: ${x.shape}. New shape and old shape must have the same number of elements.`);
  return shareAs(b, x, $shape);
});

kernel('ExpandDims', ({ input }, b, { dim }) => {
  const rank = input.shape.length;
  let $dim = dim;
  if (dim < 0) {
    tf.util.assert(-(rank + 1) <= dim, () => `Axis must be in the interval [${-(rank + 1)}, ${rank}]`);
    $dim = rank + dim + 1;
  }
  const shape = input.shape.slice();
  shape.splice($dim, 0, 1);
  return shareAs(b, input, shape);
});

movement('Transpose', ({ x }, b, { perm }) => out(b, aten('permute', '', T(b, x), perm), x.dtype));

/** x[begin : begin + size] along every dim. */
function sliceH(h: H, begin: number[], size: number[]): H {
  let r = h;
  for (let d = 0; d < begin.length; d++) r = aten('narrow', '', r, d, begin[d], size[d]);
  return r;
}

movement('Slice', ({ x }, b, { begin, size }) => {
  const [$begin, $size] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as unknown as tf.Tensor, begin, size);
  tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, $begin, $size);
  return out(b, sliceH(T(b, x), $begin, $size), x.dtype);
});

movement('StridedSlice', ({ x }, b, attrs) => {
  const { begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask } = attrs;
  const info = tf.slice_util.sliceInfo(x.shape, begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask);
  const h = T(b, x);
  if (info.isIdentity) return out(b, aten('reshape', '', h, info.finalShape), x.dtype);
  // Each dim j takes begin[j] + k * strides[j] for k < size[j] (tfjs's stridedSliceImpl).
  const simple = info.sliceDim0 || info.isSimpleSlice;
  const sizes = simple ? tf.slice_util.computeOutShape(info.begin, info.end, info.strides) : info.finalShapeSparse;
  let r = h;
  for (let j = 0; j < x.shape.length; j++) {
    const n = Math.max(0, sizes[j] ?? x.shape[j]);
    const s = simple ? 1 : info.strides[j] ?? 1;
    const b0 = info.begin[j] ?? 0;
    if (n === 0) {
      r = aten('narrow', '', r, j, 0, 0);
    } else if (s === 1) {
      r = aten('narrow', '', r, j, b0, n);
    } else {
      const idx = aten('add', 'Tensor', aten('mul', 'Tensor', aten('arange', '', n, 4, null, null, null), s), b0, 1);
      r = aten('index_select', '', r, j, idx);
    }
  }
  return out(b, aten('reshape', '', r, info.finalShape), x.dtype);
});

movement('Concat', (inputs: TensorInfo[], b, { axis }) => {
  const $axis = tf.util.parseAxisParam(axis, inputs[0].shape)[0];
  const shapes = inputs.map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, $axis);
  const outShape = tf.backend_util.computeOutShape(shapes, $axis);
  const dtype = inputs.reduce<DataType>((d, t) => tf.upcastType(d, t.dtype), inputs[0].dtype);
  const nonEmpty = inputs.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
  if (nonEmpty.length === 0) return out(b, aten('zeros', '', outShape, CODE[dtype as keyof typeof CODE], null, null, null), dtype);
  const hs = nonEmpty.map((t) => cast(T(b, t), dtype));
  return out(b, hs.length === 1 ? aten('clone', '', hs[0], null) : aten('cat', '', hs, $axis), dtype);
});

movement('Pack', (inputs: TensorInfo[], b, { axis }) => {
  const shape = inputs[0].shape;
  const dtype = inputs[0].dtype;
  inputs.forEach((t) => {
    tf.util.assertShapesMatch(shape, t.shape, 'All tensors passed to stack must have matching shapes');
    tf.util.assert(dtype === t.dtype, () => 'All tensors passed to stack must have matching dtypes');
  });
  const rank = shape.length + 1;
  const $axis = axis < 0 ? axis + rank : axis;
  return out(b, aten('stack', '', inputs.map((t) => T(b, t)), $axis), dtype);
});

movement('Unpack', ({ value }, b, { axis }) => {
  const rank = value.shape.length;
  const $axis = axis < 0 ? axis + rank : axis;
  const parts = aten('unbind', 'int', T(b, value), $axis) as H[];
  return parts.map((p) => out(b, p, value.dtype));
});

movement('SplitV', ({ x }, b, { numOrSizeSplits, axis }) => {
  const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, $axis);
  const h = T(b, x);
  let start = 0;
  return sizes.map((s) => {
    const part = aten('narrow', '', h, $axis, start, s);
    start += s;
    return out(b, part, x.dtype);
  });
});

movement('Tile', ({ x }, b, { reps }) => out(b, aten('repeat', '', T(b, x), reps), x.dtype));

movement('Reverse', ({ x }, b, { dims }) => {
  const ax = tf.util.parseAxisParam(dims, x.shape);
  const h = T(b, x);
  if (ax.length === 0) return out(b, aten('clone', '', h, null), x.dtype);
  return out(b, aten('flip', '', h, ax), x.dtype);
});

kernel('PadV2', ({ x }, b, { paddings, constantValue }) => {
  const pad: number[] = [];
  for (let d = paddings.length - 1; d >= 0; d--) pad.push(paddings[d][0], paddings[d][1]);
  const h = T(b, x);
  return out(b, aten('constant_pad_nd', '', h, pad, x.dtype === 'bool' ? (constantValue ? 1 : 0) : constantValue), x.dtype);
});

movement('MirrorPad', ({ x }, b, { paddings, mode }) => {
  let r = T(b, x);
  paddings.forEach(([before, after]: [number, number], d: number) => {
    const n = x.shape[d];
    const idx: number[] = [];
    for (let i = -before; i < n + after; i++) {
      let j = i;
      if (i < 0) j = mode === 'reflect' ? -i : -i - 1;
      else if (i >= n) j = mode === 'reflect' ? 2 * (n - 1) - i : 2 * n - 1 - i;
      idx.push(j);
    }
    r = aten('index_select', '', r, d, longTensor(idx));
  });
  return out(b, r, x.dtype);
});

movement('GatherV2', ({ x, indices }, b, { axis, batchDims }) => {
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
  const $batchDims = batchDims ?? 0;
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x as unknown as tf.Tensor, indices as unknown as tf.Tensor, parsedAxis, $batchDims);
  const axisDim = x.shape[parsedAxis];
  const idx = long(T(b, indices));
  // tfjs refuses out-of-range indices with this message. In the asynchronous mode, indices
  // still being computed are not waited for: libtorch's gather refuses them when its job runs
  // (its error then comes with the result, lib/tfjs/queue.ts).
  if (!isQueued() || isReady(T(b, indices))) {
    const bad = readIndices(b, indices).find((i) => i < 0 || i > axisDim - 1);
    if (bad !== undefined) throw new Error(`GatherV2: the index value ${bad} is not in [0, ${axisDim - 1}]`);
  }
  const indicesSize = tf.util.sizeFromShape(indices.shape);
  const x4 = aten('reshape', '', T(b, x), [info.batchSize, info.outerSize, info.dimSize, info.sliceSize]);
  const n = indicesSize / info.batchSize;
  const i2 = aten('reshape', '', idx, [info.batchSize, 1, n, 1]);
  const i4 = aten('expand', '', i2, [info.batchSize, info.outerSize, n, info.sliceSize], false);
  const r = aten('gather', '', x4, 2, i4, false);
  return out(b, aten('reshape', '', r, info.outputShape), x.dtype);
});

function readIndices(b: KernelHost, t: TensorInfo): number[] {
  return Array.from(b.readSync(t.dataId) as Int32Array);
}

movement('GatherNd', ({ params, indices }, b) => {
  const [resultShape, , sliceSize] = tf.gather_util.prepareAndValidate(params as unknown as tf.Tensor, indices as unknown as tf.Tensor);
  const k = indices.shape[indices.shape.length - 1];
  const p = T(b, params);
  const lead = params.shape.slice(0, k).reduce((x: number, y: number) => x * y, 1);
  const p2 = aten('reshape', '', p, [lead, sliceSize]);
  const flat = flatIndex(b, indices, k, params.shape.slice(0, k), 'gatherNd');
  return out(b, aten('reshape', '', aten('index_select', '', p2, 0, flat), resultShape), params.dtype);
});

/** Row numbers (row-major over `dims`) of the [n, k] index tuples of `indices`; checks the range. */
function flatIndex(b: KernelHost, indices: TensorInfo, k: number, dims: number[], op: string): H {
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((p, q) => p * q, 1));
  const idx = aten('reshape', '', long(T(b, indices)), [-1, k]);
  const n = meta(idx)[1][0];
  if (n === 0 || k === 0) return aten('zeros', '', [n], 4, null, null, null);
  const vals = Array.from(b.readSync(indices.dataId) as Int32Array);
  for (let i = 0; i < vals.length; i++) {
    const d = dims[i % k];
    if (vals[i] < 0 || vals[i] >= d) {
      const tuple = vals.slice(i - (i % k), i - (i % k) + k);
      throw new Error(`Invalid indices: [${tuple}] does not index into [${dims}]` + (op === 'gatherNd' ? '' : ''));
    }
  }
  const s = longTensor(strides);
  return aten('sum', 'dim_IntList', aten('mul', 'Tensor', idx, s), [1], false, null);
}

function scatter(b: KernelHost, indices: TensorInfo, updates: TensorInfo, shape: number[], base: H | null, accumulate: boolean, dtype: DataType): TensorInfo {
  const info = tf.scatter_util.calculateShapes(updates as unknown as tf.Tensor, indices as unknown as tf.Tensor, shape);
  const k = info.sliceRank;
  const rows = shape.slice(0, k).reduce((x, y) => x * y, 1);
  const code = CODE[dtype as keyof typeof CODE];
  let target = base === null ? aten('zeros', '', [rows, info.sliceSize], code, null, null, null) : aten('clone', '', aten('reshape', '', cast(base, dtype), [rows, info.sliceSize]), null);
  if (info.numUpdates > 0 && info.sliceSize > 0) {
    const flat = flatIndex(b, indices, k, shape.slice(0, k), 'scatterNd');
    const upd = aten('reshape', '', cast(T(b, updates), dtype), [info.numUpdates, info.sliceSize]);
    target = accumulate ? aten('index_add', '', target, 0, flat, upd, 1) : aten('index_put', '', target, [flat], upd, false);
  }
  return out(b, aten('reshape', '', target, shape), dtype);
}

kernel('ScatterNd', ({ indices, updates }, b, { shape }) => scatter(b, indices, updates, shape, null, true, updates.dtype));
kernel('TensorScatterUpdate', ({ tensor, indices, updates }, b) => scatter(b, indices, updates, tensor.shape, T(b, tensor), false, tensor.dtype));
kernel('SparseToDense', ({ sparseIndices, sparseValues, defaultValue }, b, { outputShape }) => {
  if (sparseValues.dtype === 'string') {
    // Strings stay in JS: the default everywhere, then each value at its index.
    const info = tf.scatter_util.calculateShapes(sparseValues as unknown as tf.Tensor, sparseIndices as unknown as tf.Tensor, outputShape);
    const def = (b.entry(defaultValue.dataId).strings as Uint8Array[])[0];
    const vals = b.entry(sparseValues.dataId).strings as Uint8Array[];
    const result: Uint8Array[] = new Array(tf.util.sizeFromShape(outputShape)).fill(def);
    const idx = readIndices(b, sparseIndices);
    const k = info.sliceRank;
    const dims = outputShape.slice(0, k);
    const strides = dims.map((_: number, i: number) => dims.slice(i + 1).reduce((p: number, q: number) => p * q, 1));
    for (let u = 0; u < info.numUpdates; u++) {
      let row = 0;
      for (let j = 0; j < k; j++) row += idx[u * k + j] * strides[j];
      for (let e = 0; e < info.sliceSize; e++) result[row * info.sliceSize + e] = vals.length === 1 ? vals[0] : vals[u * info.sliceSize + e];
    }
    return b.makeStringOutput(result, outputShape);
  }
  const def = T(b, defaultValue);
  const base = aten('expand', '', aten('reshape', '', def, []), outputShape, false);
  const info = tf.scatter_util.calculateShapes(sparseValues as unknown as tf.Tensor, sparseIndices as unknown as tf.Tensor, outputShape);
  const nVals = tf.util.sizeFromShape(sparseValues.shape);
  let values = T(b, sparseValues);
  if (nVals === 1 && info.numUpdates > 1) values = aten('expand', '', aten('reshape', '', values, [1]), [info.numUpdates * info.sliceSize], false);
  const valInfo = out(b, aten('clone', '', values, null), sparseValues.dtype);
  try {
    return scatter(b, sparseIndices, { ...valInfo, shape: [info.numUpdates * info.sliceSize] }, outputShape, base, false, sparseValues.dtype);
  } finally {
    b.disposeData(valInfo.dataId);
  }
});

kernel('OneHot', ({ indices }, b, { depth, onValue, offValue, dtype }) => {
  const idx = long(T(b, indices));
  const hot = aten('eq', 'Tensor', aten('unsqueeze', '', idx, -1), aten('arange', '', depth, 4, null, null, null));
  const d: DataType = dtype ?? 'int32';
  const code = CODE[d as keyof typeof CODE];
  const on = aten('scalar_tensor', '', onValue, code, null, null, null);
  const off = aten('scalar_tensor', '', offValue, code, null, null, null);
  return out(b, aten('where', 'self', hot, on, off), d);
});

kernel('Range', (_i, b, { start, stop, step: step0, dtype }) => {
  // tfjs's rules: empty when the step points away from stop (a positive step of exactly 1 is
  // turned around for a decreasing range), ceil(|stop - start| / |step|) elements otherwise.
  let step = step0;
  const empty = start === stop || (start < stop && step < 0) || (stop < start && step > 1);
  const n = empty ? 0 : Math.abs(Math.ceil((stop - start) / step));
  if (stop < start && step === 1) step = -1;
  const r = aten('add', 'Tensor', aten('mul', 'Tensor', aten('arange', '', n, 7, null, null, null), step), start, 1);
  return out(b, r, dtype === 'int32' ? 'int32' : 'float32');
});

kernel('LinSpace', (_i, b, { start, stop, num }) => {
  // start + i * (stop - start) / (num - 1), computed in float64 like tfjs's JS numbers.
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  const r = aten('add', 'Tensor', aten('mul', 'Tensor', aten('arange', '', num, 7, null, null, null), step), start, 1);
  return out(b, r, 'float32');
});

kernel('Diag', ({ x }, b) => {
  const h = T(b, x);
  const flat = aten('reshape', '', h, [-1]);
  const d = aten('diag_embed', '', flat, 0, -2, -1);
  return out(b, aten('reshape', '', d, [...x.shape, ...x.shape]), x.dtype);
});

kernel('BroadcastArgs', ({ s0, s1 }, b) => {
  const a = readInts(b, s0);
  const c = readInts(b, s1);
  const shape = tf.backend_util.assertAndGetBroadcastShape(a, c);
  return out(b, fromData(new Int32Array(shape), [shape.length], 3, 3), 'int32');
});

kernel('DepthToSpace', ({ x }, b, { blockSize, dataFormat }) => {
  tf.util.assert(dataFormat === 'NHWC', () => `Only NHWC dataFormat supported on CPU for depthToSpace. Got ${dataFormat}`);
  const [n, hgt, wid, c] = x.shape;
  const bs = blockSize;
  const cOut = c / (bs * bs);
  let r = aten('reshape', '', T(b, x), [n, hgt, wid, bs, bs, cOut]);
  r = aten('permute', '', r, [0, 1, 3, 2, 4, 5]);
  return out(b, aten('reshape', '', r, [n, hgt * bs, wid * bs, cOut]), x.dtype);
});

kernel('SpaceToBatchND', ({ x }, b, { blockShape, paddings }) => {
  const prod = tf.util.sizeFromShape(blockShape);
  const complete: number[][] = [[0, 0], ...paddings];
  for (let i = 1 + blockShape.length; i < x.shape.length; ++i) complete.push([0, 0]);
  const pad: number[] = [];
  for (let d = complete.length - 1; d >= 0; d--) pad.push(complete[d][0], complete[d][1]);
  const padded = aten('constant_pad_nd', '', T(b, x), pad, 0);
  const paddedShape = meta(padded)[1];
  const reshaped = tf.backend_util.getReshaped(paddedShape, blockShape, prod, false);
  const perm = tf.backend_util.getPermuted(reshaped.length, blockShape.length, false);
  const flat = tf.backend_util.getReshapedPermuted(paddedShape, blockShape, prod, false);
  const r = aten('reshape', '', aten('permute', '', aten('reshape', '', padded, reshaped), perm), flat);
  return out(b, r, x.dtype);
});

kernel('BatchToSpaceND', ({ x }, b, { blockShape, crops }) => {
  const prod = blockShape.reduce((p: number, q: number) => p * q);
  const reshaped = tf.backend_util.getReshaped(x.shape, blockShape, prod);
  const perm = tf.backend_util.getPermuted(reshaped.length, blockShape.length);
  const rp = tf.backend_util.getReshapedPermuted(x.shape, blockShape, prod);
  const begin = tf.backend_util.getSliceBeginCoords(crops, blockShape.length);
  const size = tf.backend_util.getSliceSize(rp, crops, blockShape.length);
  const r = aten('reshape', '', aten('permute', '', aten('reshape', '', T(b, x), reshaped), perm), rp);
  return out(b, sliceH(r, begin, size), x.dtype);
});

kernel('Einsum', (inputs: TensorInfo[], b, { equation }) => {
  // tfjs's own validation first (its messages, and it refuses what it does not support).
  const { allDims, idDims } = tf.backend_util.decodeEinsumEquation(equation, inputs.length);
  tf.backend_util.checkEinsumDimSizes(allDims.length, idDims, inputs as unknown as tf.Tensor[]);
  const hs = inputs.map((t) => T(b, t));
  return out(b, aten('einsum', '', equation, hs, null), inputs[0].dtype);
});

