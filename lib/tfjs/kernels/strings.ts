/**
 * Sparse, ragged and string kernels.
 *
 * Sparse and ragged kernels validate and compute their (small, integer) index bookkeeping in
 * JS with tfjs's own error messages, and move the values with libtorch. String kernels run in
 * JS: libtorch has no string type (string tensors live in JS in this backend, see backend.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelHost } from '../kernel-host';
import { aten, cast, CODE, float, fromData, H, kernel, long, out, T } from './common';

const bu = tf.backend_util;

function ints(b: KernelHost, t: TensorInfo): Int32Array {
  const v = b.readSync(t.dataId);
  return v instanceof Int32Array ? v : Int32Array.from(v as ArrayLike<number>);
}
function intOut(b: KernelHost, values: ArrayLike<number>, shape: number[]): TensorInfo {
  return out(b, fromData(Int32Array.from(values), shape, 3, 3), 'int32');
}
function index(values: ArrayLike<number>): H {
  return fromData(Int32Array.from(values), [values.length], 3, 4);
}

// ---- sparse segment reductions ----------------------------------------------------------------

function sparseSegment(b: KernelHost, data: TensorInfo, indices: TensorInfo, segmentIds: TensorInfo, isMean: boolean): TensorInfo {
  if (data.shape.length < 1) throw new Error('Data should be at least 1 dimensional but received scalar');
  if (indices.shape.length !== 1) throw new Error(`Indices should be a vector but received shape\n          ${indices.shape}`);
  if (segmentIds.shape.length !== 1) throw new Error(`Segment ids should be a vector but received shape\n          ${segmentIds.shape}`);
  if (indices.shape[0] !== segmentIds.shape[0]) throw new Error('segmentIds and indices should have same size.');
  const idx = ints(b, indices);
  const seg = ints(b, segmentIds);
  const n = idx.length;
  const rows = data.shape[0];
  const outputRows = n > 0 ? seg[n - 1] + 1 : 0;
  if (outputRows < 0) throw new Error(bu.getSparseSegmentReductionNegativeSegmentIdsErrorMessage());
  const outShape = [outputRows, ...data.shape.slice(1)];
  const code = CODE[data.dtype as keyof typeof CODE];
  if (n === 0) return out(b, aten('zeros', '', outShape, code, null, null, null), data.dtype);
  if (outputRows <= 0) throw new Error(bu.getSparseSegmentReductionNegativeSegmentIdsErrorMessage());
  // tfjs's checks, in its order: growing segment ids, ids in range, indices in range.
  let start = 0;
  for (let end = 1; end <= n; end++) {
    if (end < n && seg[end] === seg[start]) continue;
    if (end < n && seg[start] >= seg[end]) throw new Error(bu.getSparseSegmentReductionNonIncreasingSegmentIdsErrorMessage());
    if (seg[start] < 0 || seg[start] >= outputRows) throw new Error(bu.getSparseSegmentReductionSegmentIdOutOfRangeErrorMessage(seg[start], outputRows));
    for (let i = start; i < end; i++) {
      if (idx[i] < 0 || idx[i] >= rows) throw new Error(bu.getSparseSegmentReductionIndicesOutOfRangeErrorMessage(i, idx[i], rows));
    }
    start = end;
  }
  const x = float(T(b, data));
  const picked = aten('index_select', '', x, 0, index(idx));
  const segH = index(seg);
  let sums = aten('index_add', '', aten('zeros', '', outShape, 6, null, null, null), 0, segH, picked, 1);
  if (isMean) {
    const counts = aten('clamp', '', aten('bincount', '', segH, null, outputRows), 1, null);
    sums = aten('div', 'Tensor', sums, aten('reshape', '', counts, [outputRows, ...data.shape.slice(1).map(() => 1)]));
  }
  return out(b, data.dtype === 'int32' ? aten('trunc', '', sums) : sums, data.dtype);
}

kernel('SparseSegmentSum', ({ data, indices, segmentIds }, b) => sparseSegment(b, data, indices, segmentIds, false));
kernel('SparseSegmentMean', ({ data, indices, segmentIds }, b) => sparseSegment(b, data, indices, segmentIds, true));

// ---- sparse reshape / fill empty rows / to dense ----------------------------------------------

kernel('SparseReshape', ({ inputIndices, inputShape, newShape }, b) => {
  if (inputIndices.shape.length !== 2) throw new Error(`Input indices should be a matrix but received shape\n        ${inputIndices.shape}`);
  if (inputShape.shape.length !== 1) throw new Error(`Input shape should be a vector but received shape\n        ${inputShape.shape}`);
  if (newShape.shape.length !== 1) throw new Error(`Target shape should be a vector but received shape ${newShape.shape}`);
  const inShape = Array.from(ints(b, inputShape));
  const target = Array.from(ints(b, newShape));
  const denseSize = tf.util.sizeFromShape(inShape);
  const outShape: number[] = [];
  let product = 1;
  let unknown = -1;
  target.forEach((size, d) => {
    if (size === -1) {
      if (unknown !== -1) throw new Error(bu.getSparseReshapeMultipleNegativeOneOutputDimErrorMessage(unknown, d));
      unknown = d;
      outShape.push(1);
    } else {
      if (size < 0) throw new Error(bu.getSparseReshapeNegativeOutputDimErrorMessage(d, size));
      product *= size;
      outShape.push(size);
    }
  });
  if (unknown !== -1) {
    if (product <= 0) throw new Error(bu.getSparseReshapeEmptyTensorZeroOutputDimErrorMessage());
    const missing = Math.trunc(denseSize / product);
    if (product * missing !== denseSize) throw new Error(bu.getSparseReshapeInputOutputMultipleErrorMessage(inShape, outShape));
    outShape[unknown] = missing;
  }
  if (tf.util.sizeFromShape(outShape) !== denseSize) throw new Error(bu.getSparseReshapeInputOutputMismatchErrorMessage(inShape, outShape));
  const nnz = inputIndices.shape[0];
  const strides = (shape: number[]) => shape.map((_, d) => shape.slice(d + 1).reduce((p, q) => p * q, 1));
  // Linear positions in the input shape, unraveled in the output shape (in int64).
  const idx = long(T(b, inputIndices));
  const linear = inShape.length === 0 ? aten('zeros', '', [nnz], 4, null, null, null)
    : aten('sum', 'dim_IntList', aten('mul', 'Tensor', idx, index(strides(inShape))), [1], false, null);
  const os = strides(outShape);
  const cols = os.map((s, d) => {
    const q = aten('div', 'Tensor_mode', linear, Math.max(1, s), 'floor');
    return d === 0 ? q : aten('remainder', 'Scalar', q, Math.max(1, outShape[d]));
  });
  const newIndices = cols.length === 0 ? aten('zeros', '', [nnz, 0], 4, null, null, null) : aten('stack', '', cols, 1);
  return [out(b, newIndices, inputIndices.dtype), intOut(b, outShape, [outShape.length])];
});

kernel('SparseFillEmptyRows', ({ indices, values, denseShape, defaultValue }, b) => {
  if (denseShape.shape.length !== 1) throw new Error(`Dense shape must be a vector, saw:\n        ${denseShape.shape}`);
  if (indices.shape.length !== 2) throw new Error(`Indices must be a matrix, saw:\n        ${indices.shape}`);
  if (values.shape.length !== 1) throw new Error(`Values must be a vector, saw:\n        ${values.shape}`);
  if (defaultValue.shape.length !== 0) throw new Error(`Default value must be a scalar, saw:\n        ${defaultValue.shape}`);
  const idx = ints(b, indices);
  const dense = ints(b, denseShape);
  const count = indices.shape[0];
  const rank = indices.shape[1];
  const denseRows = dense[0];
  const valueCode = CODE[values.dtype as keyof typeof CODE];
  if (denseRows === 0) {
    if (count !== 0) throw new Error(bu.getSparseFillEmptyRowsIndicesDenseShapeMismatch(count));
    return [
      intOut(b, [], [0, rank]), out(b, aten('zeros', '', [0], valueCode, null, null, null), values.dtype),
      out(b, aten('zeros', '', [0], CODE.bool, null, null, null), 'bool'), intOut(b, [], [0]),
    ];
  }
  const perRow = new Array<number>(denseRows).fill(0);
  for (let i = 0; i < count; i++) {
    const row = idx[i * rank];
    if (row < 0) throw new Error(bu.getSparseFillEmptyRowsNegativeIndexErrorMessage(i, row));
    if (row >= denseRows) throw new Error(bu.getSparseFillEmptyRowsOutOfRangeIndexErrorMessage(i, row, denseRows));
    perRow[row]++;
  }
  // Output rows in row order: each input entry stably, and (row, 0, …, 0) for an empty row.
  const offsets: number[] = [];
  let total = 0;
  for (let r = 0; r < denseRows; r++) { offsets.push(total); total += Math.max(1, perRow[r]); }
  const filled = new Array<number>(denseRows).fill(0);
  const outIdx = new Int32Array(total * rank);
  const source = new Int32Array(total).fill(count); // position in [values..., default]
  const reverse = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const row = idx[i * rank];
    const o = offsets[row] + filled[row]++;
    for (let j = 0; j < rank; j++) outIdx[o * rank + j] = idx[i * rank + j];
    source[o] = i;
    reverse[i] = o;
  }
  const empty = new Uint8Array(denseRows);
  for (let r = 0; r < denseRows; r++) {
    if (perRow[r] === 0) {
      empty[r] = 1;
      outIdx[offsets[r] * rank] = r;
    }
  }
  const pool = aten('cat', '', [aten('reshape', '', T(b, values), [-1]), aten('reshape', '', cast(T(b, defaultValue), values.dtype), [1])], 0);
  return [
    intOut(b, outIdx, [total, rank]),
    out(b, aten('index_select', '', pool, 0, index(source)), values.dtype),
    out(b, fromData(empty, [denseRows], 0, CODE.bool), 'bool'),
    intOut(b, reverse, [count]),
  ];
});

// ---- ragged ranges -------------------------------------------------------------------------------

kernel('RaggedRange', ({ starts, limits, deltas }, b) => {
  for (const [t, name] of [[starts, 'starts'], [limits, 'limits'], [deltas, 'deltas']] as [TensorInfo, string][]) {
    if (t.shape.length > 1) throw new Error(`${name} must be a scalar or vector`);
  }
  const sizes = [starts, limits, deltas].filter((t) => t.shape.length === 1).map((t) => t.shape[0]);
  for (let i = 1; i < sizes.length; i++) if (sizes[i] !== sizes[i - 1]) throw new Error('starts, limits, and deltas must have the same shape');
  const nRows = sizes.length === 0 ? 1 : sizes[0];
  const read = (t: TensorInfo) => Array.from(b.readSync(t.dataId) as ArrayLike<number>);
  const [s, l, d] = [read(starts), read(limits), read(deltas)];
  const at = (v: number[], t: TensorInfo, row: number) => (t.shape.length === 0 ? v[0] : v[row]);
  const splits = [0];
  const rowOf: number[] = [];
  const step: number[] = [];
  for (let row = 0; row < nRows; row++) {
    const start = at(s, starts, row), limit = at(l, limits, row), delta = at(d, deltas, row);
    if (delta === 0) throw new Error('Requires delta != 0');
    let size: number;
    if ((delta > 0 && limit < start) || (delta < 0 && limit > start)) size = 0;
    else {
      size = Math.ceil(Math.abs((limit - start) / delta));
      if (size > 2147483647) throw new Error(`Requires ((limit - start) / delta) <= ${2147483647}`);
    }
    splits.push(splits[row] + size);
    for (let k = 0; k < size; k++) { rowOf.push(row); step.push(k); }
  }
  const pick = (t: TensorInfo) => aten('index_select', '', aten('reshape', '', T(b, t), [-1]), 0, index(t.shape.length === 0 ? rowOf.map(() => 0) : rowOf));
  const ks = fromData(Int32Array.from(step), [step.length], 3, starts.dtype === 'int32' ? 3 : 6);
  const vals = aten('add', 'Tensor', pick(starts), aten('mul', 'Tensor', ks, pick(deltas)), 1);
  return [intOut(b, splits, [splits.length]), out(b, vals, starts.dtype)];
});

// ---- strings -------------------------------------------------------------------------------------

function strings(b: KernelHost, t: TensorInfo): Uint8Array[] {
  const s = b.entry(t.dataId).strings;
  if (s === null) throw new Error('Input must be of datatype string');
  return s;
}

kernel('StringSplit', ({ input, delimiter }, b, { skipEmpty }) => {
  if (input.dtype !== 'string') throw new Error('Input must be of datatype string');
  if (input.shape.length !== 1) throw new Error(`Input must be a vector, got shape: ${input.shape}`);
  if (delimiter.shape.length !== 0) throw new Error(`Delimiter must be a scalar, got shape: ${delimiter.shape}`);
  const inputs = strings(b, input);
  const delims = strings(b, delimiter)[0];
  const tokens: Uint8Array[] = [];
  const counts: number[] = [];
  for (const str of inputs) {
    const before = tokens.length;
    splitBytes(str, delims, skipEmpty, tokens);
    counts.push(tokens.length - before);
  }
  const indices: number[] = [];
  counts.forEach((n, i) => { for (let j = 0; j < n; j++) indices.push(i, j); });
  return [
    intOut(b, indices, [tokens.length, 2]),
    b.makeStringOutput(tokens, [tokens.length]),
    intOut(b, [inputs.length, counts.reduce((m, n) => Math.max(m, n), 0)], [2]),
  ];
});

/** Splits UTF-8 bytes at any of the delimiter bytes (each byte of `delims` is a delimiter). */
function splitBytes(str: Uint8Array, delims: Uint8Array, skipEmpty: boolean, result: Uint8Array[]): void {
  if (str.length === 0) return;
  if (delims.length === 0) {
    for (let i = 0; i < str.length; i++) result.push(str.subarray(i, i + 1));
    return;
  }
  let tokenStart = 0;
  for (let i = 0; i <= str.length; i++) {
    if (i === str.length || delims.includes(str[i])) {
      const token = str.subarray(tokenStart, i);
      if (!skipEmpty || token.length !== 0) result.push(token);
      tokenStart = i + 1;
    }
  }
}

kernel('StringToHashBucketFast', ({ input }, b, { numBuckets }) => {
  if (input.dtype !== 'string') throw new Error('Input must be of datatype string');
  if (numBuckets <= 0) throw new Error('Number of buckets must be at least 1');
  const values = strings(b, input).map((s) => tf.util.fingerPrint64(s).modulo(numBuckets).getLowBitsUnsigned());
  return intOut(b, values, input.shape);
});

kernel('StaticRegexReplace', ({ x }, b, { pattern, rewrite, replaceGlobal }) => {
  if (x.dtype !== 'string') throw new Error('Input must be of datatype string');
  const re = new RegExp(pattern, replaceGlobal ? 'g' : '');
  const enc = new TextEncoder();
  const values = strings(b, x).map((s) => enc.encode(tf.util.decodeString(s).replace(re, rewrite)));
  return b.makeStringOutput(values, x.shape);
});

// StringNGrams: TensorFlow's string_ngrams op (its rules for padding, widths and short
// sequences), on the UTF-8 bytes of the tokens.
kernel('StringNGrams', ({ data, dataSplits }, b, { separator, nGramWidths, leftPad, rightPad, padWidth, preserveShortSequences }) => {
  const tokens = strings(b, data);
  const splits = Array.from(ints(b, dataSplits));
  const enc = (x: string) => tf.util.encodeString(x);
  const sep = enc(separator), left = enc(leftPad), right = enc(rightPad);
  const n = tokens.length;
  if (splits.length > 0) {
    let prev = splits[0];
    if (prev !== 0) throw new Error(`First split value must be 0, got ${prev}`);
    for (let i = 1; i < splits.length; i++) {
      if (!(splits[i] >= prev && splits[i] <= n)) throw new Error(`Invalid split value ${splits[i]}, must be in [${prev}, ${n}]`);
      prev = splits[i];
    }
    if (prev !== n) throw new Error(`Last split value must be data size. Expected ${n}, got ${prev}`);
  }
  const items = splits.length - 1;
  const outSplits = new Int32Array(splits.length);
  if (n === 0 || splits.length === 0) {
    return [b.makeStringOutput(new Array(n), [n]), intOut(b, outSplits, dataSplits.shape)];
  }
  const padOf = (w: number) => Math.min(padWidth < 0 ? w - 1 : padWidth, w - 1);
  const count = (len: number, w: number) => Math.max(0, len + 2 * padOf(w) - w + 1);
  const out: Uint8Array[] = [];
  /** The n-grams of width w over tokens[start, start + len) with the padding at both ends. */
  const make = (start: number, num: number, w: number) => {
    const pw = padOf(w);
    for (let k = 0; k < num; k++) {
      const lp = Math.max(0, pw - k);
      const rp = Math.max(0, pw - (num - (k + 1)));
      const numTokens = w - (lp + rp);
      const from = start + (lp > 0 ? 0 : k - pw);
      const parts: Uint8Array[] = [];
      for (let j = 0; j < lp; j++) parts.push(left);
      for (let j = 0; j < numTokens; j++) parts.push(tokens[from + j]);
      for (let j = 0; j < rp; j++) parts.push(right);
      const joined: number[] = [];
      parts.forEach((p, j) => { if (j > 0) joined.push(...sep); joined.push(...p); });
      out.push(Uint8Array.from(joined));
    }
  };
  for (let i = 0; i < items; i++) {
    const start = splits[i];
    const len = splits[i + 1] - start;
    const before = out.length;
    for (const w of nGramWidths as number[]) make(start, count(len, w), w);
    if (preserveShortSequences && out.length === before && len > 0) make(start, 1, len + 2 * padWidth);
    outSplits[i + 1] = out.length;
  }
  return [b.makeStringOutput(out, [out.length]), intOut(b, outSplits, dataSplits.shape)];
});

export type { DataType };
