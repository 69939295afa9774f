/**
 * Summary values as PyTorch's torch.utils.tensorboard.summary builds them: scalars as
 * `simple_value`, histograms as a HistogramProto made the way its make_histogram() makes them
 * (numpy.histogram's bins, then only the support kept), text as a string tensor with the text
 * plugin's metadata.
 */
import { invalidArg, TorchError } from '../errors';
import { Tensor } from '../tensor';
import { DT_STRING, HistogramInit, ValueInit } from './proto';

/** A scalar value. */
export function scalarValue(tag: string, value: number): ValueInit {
  return { tag, simpleValue: value };
}

/** Text, as PyTorch's add_text writes it: tag `<tag>/text_summary`, a 1-element string tensor, plugin "text". */
export function textValue(tag: string, text: string): ValueInit {
  return {
    tag: `${tag}/text_summary`,
    metadata: { pluginData: { pluginName: 'text' } },   // TextPluginData(version=0) serializes to no bytes
    tensor: { dtype: DT_STRING, tensorShape: { dim: [{ size: 1 }] }, stringVal: [Buffer.from(text, 'utf8')] },
  };
}

let tensorflowBins: Float64Array | null = null;

/**
 * PyTorch's default histogram bins (SummaryWriter.default_bins, from TensorBoard's
 * generate_testdata.py): ±1e-12·1.1^k up to 1e20, and 0; 1549 edges, computed in the same
 * order of double operations, so the same numbers.
 */
export function defaultBins(): Float64Array {
  if (tensorflowBins === null) {
    const pos: number[] = [];
    for (let v = 1e-12; v < 1e20; v *= 1.1) pos.push(v);
    const edges = new Float64Array(2 * pos.length + 1);
    for (let i = 0; i < pos.length; i++) {
      edges[pos.length - 1 - i] = -pos[i];
      edges[pos.length + 1 + i] = pos[i];
    }
    tensorflowBins = edges;
  }
  return tensorflowBins;
}

/** First index i with a[i] > x (side 'right') or a[i] >= x (side 'left'), a sorted ascending. */
function searchSorted(a: ArrayLike<number>, x: number, right: boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (right ? a[mid] <= x : a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** numpy.histogram(values, bins=n): n equal bins over [min, max] ([v-0.5, v+0.5] if all equal). */
function equalBins(values: Float64Array, n: number, min: number, max: number): { counts: Float64Array; edges: Float64Array } {
  let first = min;
  let last = max;
  if (first === last) { first -= 0.5; last += 0.5; }
  // np.linspace: start + i * (delta / div), the last edge exactly `last`
  const edges = new Float64Array(n + 1);
  const step = (last - first) / n;
  for (let i = 0; i <= n; i++) edges[i] = i * step + first;
  edges[n] = last;
  const counts = new Float64Array(n);
  const norm = n / (last - first);
  for (let j = 0; j < values.length; j++) {
    const x = values[j];
    let i = Math.trunc((x - first) * norm);
    if (i === n) i--;
    // numpy's corrections for the index computation's rounding near the edges
    if (x < edges[i]) i--;
    else if (x >= edges[i + 1] && i !== n - 1) i++;
    counts[i]++;
  }
  return { counts, edges };
}

/** numpy.histogram(values, bins=edges): bins [e_i, e_i+1), the last one closed; values outside are not counted. */
function edgeBins(values: Float64Array, edges: Float64Array): { counts: Float64Array; edges: Float64Array } {
  const counts = new Float64Array(edges.length - 1);
  const lo = edges[0];
  const hi = edges[edges.length - 1];
  for (let j = 0; j < values.length; j++) {
    const x = values[j];
    if (!(x >= lo && x <= hi)) continue;
    const i = x === hi ? counts.length - 1 : searchSorted(edges, x, true) - 1;
    counts[i]++;
  }
  return { counts, edges };
}

/**
 * The HistogramProto of PyTorch's make_histogram(values, bins, max_bins): numpy.histogram's
 * counts, merged `max_bins`-wise when there are more bins, then cut to the bins from the one
 * before the first non-empty bin to the last non-empty one (TensorBoard reads only right
 * edges, so the empty bin on the left carries the left edge).
 */
export function makeHistogram(values: Float64Array, bins: 'tensorflow' | number, maxBins: number | undefined, name: string): HistogramInit {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumSquares += v * v;
  }
  let { counts, edges } = bins === 'tensorflow' ? edgeBins(values, defaultBins()) : equalBins(values, bins, min, max);
  if (maxBins !== undefined && counts.length > maxBins) {
    const sub = Math.floor(counts.length / maxBins);
    const merged = new Float64Array(Math.ceil(counts.length / sub));
    for (let i = 0; i < counts.length; i++) merged[Math.floor(i / sub)] += counts[i];
    const newEdges = new Float64Array(merged.length + 1);
    for (let i = 0; i < merged.length; i++) newEdges[i] = edges[i * sub];
    newEdges[merged.length] = edges[edges.length - 1];
    counts = merged;
    edges = newEdges;
  }
  const start = counts.findIndex((c) => c > 0);
  let end = -1;
  for (let i = counts.length - 1; i >= 0; i--) if (counts[i] > 0) { end = i; break; }
  // numpy.histogram drops values outside explicit bins; PyTorch then fails ("The histogram is empty")
  if (start < 0) {
    throw new TorchError(`Expected values inside the bins (the "tensorflow" bins end at ±${edges[edges.length - 1].toPrecision(3)}) for ${name} but received values from ${min} to ${max}`, 'ERR_INVALID_ARG');
  }
  const keptCounts = start > 0 ? Array.from(counts.subarray(start - 1, end + 1)) : [0, ...counts.subarray(0, end + 1)];
  const limits = Array.from(edges.subarray(start, end + 2));
  return { min, max, num: values.length, sum, sumSquares, bucketLimit: limits, bucket: keptCounts };
}

/** Half-precision bits to a number. */
function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/**
 * The values of a Tensor, an array of numbers or a typed array, as float64 (numpy's
 * `values.astype(float)`), checked: real numbers, finite, at least one.
 */
export function histogramValues(values: unknown, name: string): Float64Array {
  let out: Float64Array;
  if (values instanceof Tensor) {
    const dtype = values.dtype;
    if (dtype === 'complex64' || dtype === 'complex128') invalidArg('a real or bool Tensor', name, values);
    const data = values.dataSync() as ArrayLike<number | bigint>;
    out = new Float64Array(data.length);
    if (dtype === 'float16') for (let i = 0; i < data.length; i++) out[i] = halfToNumber(data[i] as number);
    else if (dtype === 'bfloat16') {
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      for (let i = 0; i < data.length; i++) { u[0] = (data[i] as number) << 16; out[i] = f[0]; }
    } else for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  } else if (Array.isArray(values)) {
    out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      if (typeof values[i] !== 'number') invalidArg('a Tensor, an array of numbers or a typed array', name, values);
      out[i] = values[i] as number;
    }
  } else if (ArrayBuffer.isView(values) && !(values instanceof DataView)) {
    const data = values as unknown as ArrayLike<number | bigint>;
    out = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  } else {
    invalidArg('a Tensor, an array of numbers or a typed array', name, values);
  }
  if (out.length === 0) invalidArg('at least one value', name, values);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) invalidArg(`finite values (element ${i} is ${out[i]})`, name, values);
  }
  return out;
}
