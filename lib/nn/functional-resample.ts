/**
 * torch.nn.functional's resampling functions, which PyTorch writes in Python: interpolate and the
 * upsample family, gridSample, maxUnpool1d/2d/3d. Each validates its arguments here, then calls
 * the libtorch operators PyTorch's Python function calls (upsample_bilinear2d.vec, grid_sampler,
 * max_unpool2d, …), so values and gradients are PyTorch's. The rest of nn.functional's Python
 * functions: lib/nn/functional-python.ts.
 *
 * Calling convention (PyTorch's): Python's positional arguments stay positional; keyword
 * arguments go in one trailing options object with camelCase keys:
 * `F.interpolate(x, { scaleFactor: 2, mode: 'bilinear' })` or `F.interpolate(x, null, 2, 'bilinear')`.
 * `null` and `undefined` both stand for Python's None (lib/aten/python-args.ts).
 */
import { invalidArg } from '../errors';
import { checkTensor, Tensor, tidy } from '../tensor';
import { ops } from '../aten/ops-namespace';
import { intTuple, none, optionalBool, pyArgs, warnOnce } from '../aten/python-args';
import { checkBool, checkString } from '../validate';

/* eslint-disable @typescript-eslint/no-explicit-any */
const aten = ops.aten as any;
/* eslint-enable @typescript-eslint/no-explicit-any */

// ---- interpolate and upsample ------------------------------------------------------------------

/** interpolate's algorithms. */
export type InterpolateMode = 'nearest' | 'linear' | 'bilinear' | 'bicubic' | 'trilinear' | 'area' | 'nearest-exact';
const MODES: readonly InterpolateMode[] = ['nearest', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area', 'nearest-exact'];
/** The input rank each interpolating mode needs (the others take 3-D, 4-D and 5-D). */
const MODE_RANK: Partial<Record<InterpolateMode, number>> = { linear: 3, bilinear: 4, bicubic: 4, trilinear: 5 };
const RANK_SHAPE: Record<number, string> = { 3: '[N, C, W]', 4: '[N, C, H, W]', 5: '[N, C, D, H, W]' };

export interface InterpolateOptions {
  /** The output's spatial size: one integer for every spatial dimension, or one per dimension. */
  size?: number | number[] | null;
  /** The multiplier of the spatial size (one number, or one per spatial dimension); give size or scaleFactor. */
  scaleFactor?: number | number[] | null;
  /** Default 'nearest'. */
  mode?: InterpolateMode;
  /** For linear, bilinear, bicubic and trilinear only: align the corner pixels' centers. Default false. */
  alignCorners?: boolean | null;
  /** Compute the output size from scaleFactor, then interpolate with the scales that size implies. Default: null (no). */
  recomputeScaleFactor?: boolean | null;
  /** Anti-aliasing when downsampling (bilinear and bicubic, 4-D input). Default false. */
  antialias?: boolean;
}

const INTERPOLATE_PARAMS = ['input', 'size', 'scaleFactor', 'mode', 'alignCorners', 'recomputeScaleFactor', 'antialias'] as const;

/**
 * Resamples a batch of signals, images or volumes to a size or by a scale factor, PyTorch's
 * torch.nn.functional.interpolate. input: [N, C, W] (linear), [N, C, H, W] (bilinear, bicubic)
 * or [N, C, D, H, W] (trilinear); nearest, nearest-exact and area take any of the three. Exactly
 * one of size and scaleFactor. Defaults: mode 'nearest', alignCorners false for the
 * interpolating modes (and not allowed for the others), recomputeScaleFactor null, antialias false.
 * 'area' is adaptive average pooling to the output size.
 * @example
 * const y = nn.functional.interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners: false });
 * const z = nn.functional.interpolate(x, [5, 7]); // nearest, positionally as in Python
 */
export function interpolate(input: Tensor, opts?: InterpolateOptions): Tensor;
export function interpolate(input: Tensor, size?: number | number[] | null, scaleFactor?: number | number[] | null, mode?: InterpolateMode,
  alignCorners?: boolean | null, recomputeScaleFactor?: boolean | null, antialias?: boolean): Tensor;
export function interpolate(input: Tensor, size: number | number[] | null, opts: Omit<InterpolateOptions, 'size'>): Tensor;
export function interpolate(...args: unknown[]): Tensor {
  return interpolateWith(pyArgs('torch.nn.functional.interpolate', args, INTERPOLATE_PARAMS));
}

function interpolateWith(a: Record<string, unknown>): Tensor {
  const x = checkTensor(a.input, 'input');
  const mode = none(a.mode) ? 'nearest' : checkString(a.mode, 'mode', MODES);
  let alignCorners = optionalBool(a.alignCorners, 'alignCorners');
  const interpolating = MODE_RANK[mode] !== undefined;
  if (!interpolating && alignCorners !== null) {
    invalidArg(`null (alignCorners applies only to the modes linear, bilinear, bicubic and trilinear, not '${mode}')`, 'alignCorners', alignCorners);
  }
  if (interpolating && alignCorners === null) alignCorners = false;
  const rank = MODE_RANK[mode];
  if (rank !== undefined ? x.dim() !== rank : x.dim() < 3 || x.dim() > 5) {
    invalidArg(rank !== undefined ? `a ${rank}-D tensor ${RANK_SHAPE[rank]} (mode '${mode}')` : `a 3-D, 4-D or 5-D tensor [N, C, ...spatial] (mode '${mode}')`, 'input', x);
  }
  const dim = x.dim() - 2;
  const spatial = x.shape.slice(2);
  let outputSize: number[] | null = null;
  let scales: number[] | null = null;
  if (!none(a.size) && !none(a.scaleFactor)) invalidArg('only one of size and scaleFactor (PyTorch takes one)', 'scaleFactor', a.scaleFactor);
  if (!none(a.size)) {
    outputSize = intTuple(a.size, 'size', dim, 0);
  } else if (!none(a.scaleFactor)) {
    const s = a.scaleFactor;
    const ok = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
    if (ok(s)) scales = new Array<number>(dim).fill(s as number);
    else if (Array.isArray(s) && s.length === dim && s.every(ok)) scales = Array.from(s as number[]);
    else invalidArg(`a finite number or an array of ${dim} finite numbers (one per spatial dimension of [${spatial.join(', ')}])`, 'scaleFactor', s);
  } else {
    invalidArg('a size or a scaleFactor (one of them is required)', 'size', a.size);
  }
  let recompute = optionalBool(a.recomputeScaleFactor, 'recomputeScaleFactor');
  if (recompute === true && outputSize !== null) invalidArg('null or false with an explicit size (recomputing applies to scaleFactor)', 'recomputeScaleFactor', recompute);
  // 'area' needs an explicit size: PyTorch reuses the recompute path
  if (mode === 'area' && outputSize === null) recompute = true;
  if (recompute === true) {
    outputSize = spatial.map((n, i) => Math.floor(n * scales![i]));
    scales = null;
  }
  const antialias = none(a.antialias) ? false : checkBool(a.antialias, 'antialias');
  if (antialias && mode !== 'bilinear' && mode !== 'bicubic') invalidArg(`false (antialias applies only to the modes bilinear and bicubic, not '${mode}')`, 'antialias', antialias);
  switch (mode) {
    case 'nearest': return aten[`upsample_nearest${dim}d`].vec(x, outputSize, scales);
    case 'nearest-exact': return aten[`_upsample_nearest_exact${dim}d`].vec(x, outputSize, scales);
    case 'area': return aten[`adaptive_avg_pool${dim}d`](x, outputSize);
    case 'linear': return aten.upsample_linear1d.vec(x, outputSize, alignCorners, scales);
    case 'bilinear': return (antialias ? aten._upsample_bilinear2d_aa : aten.upsample_bilinear2d).vec(x, outputSize, alignCorners, scales);
    case 'bicubic': return (antialias ? aten._upsample_bicubic2d_aa : aten.upsample_bicubic2d).vec(x, outputSize, alignCorners, scales);
    default: return aten.upsample_trilinear3d.vec(x, outputSize, alignCorners, scales);
  }
}

export interface UpsampleOptions {
  size?: number | number[] | null;
  scaleFactor?: number | number[] | null;
}

/**
 * PyTorch's deprecated torch.nn.functional.upsample: interpolate(input, size, scaleFactor, mode,
 * alignCorners), with PyTorch's deprecation warning (a process warning of type 'UserWarning').
 * @example const y = nn.functional.upsample(x, { scaleFactor: 2, mode: 'nearest' });
 */
export function upsample(input: Tensor, opts?: Omit<InterpolateOptions, 'recomputeScaleFactor' | 'antialias'>): Tensor;
export function upsample(input: Tensor, size?: number | number[] | null, scaleFactor?: number | number[] | null, mode?: InterpolateMode, alignCorners?: boolean | null): Tensor;
export function upsample(...args: unknown[]): Tensor {
  const label = 'torch.nn.functional.upsample';
  const a = pyArgs(label, args, ['input', 'size', 'scaleFactor', 'mode', 'alignCorners']);
  warnOnce('nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.');
  return interpolateWith(a);
}

/**
 * PyTorch's deprecated torch.nn.functional.upsample_nearest: interpolate(input, size, scaleFactor,
 * 'nearest'), with PyTorch's deprecation warning.
 * @example const y = nn.functional.upsampleNearest(x, { scaleFactor: 2 });
 */
export function upsampleNearest(input: Tensor, opts?: UpsampleOptions): Tensor;
export function upsampleNearest(input: Tensor, size?: number | number[] | null, scaleFactor?: number | number[] | null): Tensor;
export function upsampleNearest(...args: unknown[]): Tensor {
  const label = 'torch.nn.functional.upsample_nearest';
  const a = pyArgs(label, args, ['input', 'size', 'scaleFactor']);
  warnOnce('nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.');
  return interpolateWith({ ...a, mode: 'nearest' });
}

/**
 * PyTorch's deprecated torch.nn.functional.upsample_bilinear: interpolate(input, size,
 * scaleFactor, 'bilinear', alignCorners true) on [N, C, H, W], with PyTorch's deprecation warning.
 * @example const y = nn.functional.upsampleBilinear(x, { size: [8, 8] });
 */
export function upsampleBilinear(input: Tensor, opts?: UpsampleOptions): Tensor;
export function upsampleBilinear(input: Tensor, size?: number | number[] | null, scaleFactor?: number | number[] | null): Tensor;
export function upsampleBilinear(...args: unknown[]): Tensor {
  const label = 'torch.nn.functional.upsample_bilinear';
  const a = pyArgs(label, args, ['input', 'size', 'scaleFactor']);
  warnOnce('nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.');
  return interpolateWith({ ...a, mode: 'bilinear', alignCorners: true });
}

// ---- gridSample -------------------------------------------------------------------------------

export interface GridSampleOptions {
  /** Default 'bilinear'. */
  mode?: 'bilinear' | 'nearest' | 'bicubic';
  /** What points outside the input read. Default 'zeros'. */
  paddingMode?: 'zeros' | 'border' | 'reflection';
  /** Whether -1 and 1 are the corner pixels' centers (true) or their outer edges (false). Default false, with PyTorch's warning when not given. */
  alignCorners?: boolean | null;
}
const GRID_MODES = ['bilinear', 'nearest', 'bicubic'] as const;
const GRID_PADDING = ['zeros', 'border', 'reflection'] as const;

/**
 * Samples input at the grid's locations, PyTorch's torch.nn.functional.grid_sample (the operator
 * aten::grid_sampler). input [N, C, H, W] with grid [N, Ho, Wo, 2], or input [N, C, D, H, W] with
 * grid [N, Do, Ho, Wo, 3]; grid values in [-1, 1]. Defaults: mode 'bilinear', paddingMode
 * 'zeros', alignCorners false (PyTorch warns when it is not given).
 * @example const y = nn.functional.gridSample(image, grid, { mode: 'nearest', paddingMode: 'border', alignCorners: true });
 */
export function gridSample(input: Tensor, grid: Tensor, opts?: GridSampleOptions): Tensor;
export function gridSample(input: Tensor, grid: Tensor, mode?: GridSampleOptions['mode'], paddingMode?: GridSampleOptions['paddingMode'], alignCorners?: boolean | null): Tensor;
export function gridSample(...args: unknown[]): Tensor {
  const a = pyArgs('torch.nn.functional.grid_sample', args, ['input', 'grid', 'mode', 'paddingMode', 'alignCorners']);
  const x = checkTensor(a.input, 'input');
  const grid = checkTensor(a.grid, 'grid');
  const mode = none(a.mode) ? 'bilinear' : checkString(a.mode, 'mode', GRID_MODES);
  const padding = none(a.paddingMode) ? 'zeros' : checkString(a.paddingMode, 'paddingMode', GRID_PADDING);
  let alignCorners = optionalBool(a.alignCorners, 'alignCorners');
  if (alignCorners === null) {
    warnOnce('Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. Please specify '
      + 'align_corners=True if the old behavior is desired. See the documentation of grid_sample for details.');
    alignCorners = false;
  }
  return aten.grid_sampler(x, grid, GRID_MODES.indexOf(mode), GRID_PADDING.indexOf(padding), alignCorners);
}

// ---- maxUnpool --------------------------------------------------------------------------------

export interface MaxUnpoolOptions {
  /** Default: kernelSize. */
  stride?: number | number[] | null;
  /** Default 0. */
  padding?: number | number[];
  /** The output's size: the spatial sizes, or the full shape (batch and channels first). Default: computed from the input. */
  outputSize?: number[] | null;
}

/** PyTorch's _unpool_output_size: the default size, or the given one checked against it. */
function unpoolOutputSize(x: Tensor, kernel: number[], stride: number[], padding: number[], outputSize: unknown): number[] {
  const n = kernel.length;
  if (x.dim() < n) invalidArg(`a tensor with at least ${n} dimensions`, 'input', x);
  const size = x.shape.slice(-n);
  const defaults = kernel.map((k, d) => (size[d] - 1) * stride[d] + k - 2 * padding[d]);
  if (none(outputSize)) return defaults;
  const isInts = Array.isArray(outputSize) && outputSize.every((v) => typeof v === 'number' && Number.isSafeInteger(v));
  if (!isInts || (outputSize.length !== n && outputSize.length !== n + 2)) invalidArg(`an array of ${n} or ${n + 2} integers`, 'outputSize', outputSize);
  const out = (outputSize as number[]).slice(-n);
  out.forEach((v, d) => {
    const lo = defaults[d] - stride[d];
    const hi = defaults[d] + stride[d];
    if (!(lo < v && v < hi)) invalidArg(`sizes strictly between ${lo} and ${hi} in dimension ${d} (from the input's size, kernelSize, stride and padding)`, 'outputSize', outputSize);
  });
  return out;
}

function unpoolArgs(label: string, args: unknown[], n: number): [Tensor, Tensor, number[], number[], number[]] {
  const a = pyArgs(label, args, ['input', 'indices', 'kernelSize', 'stride', 'padding', 'outputSize']);
  const x = checkTensor(a.input, 'input');
  const indices = checkTensor(a.indices, 'indices');
  if (indices.dtype !== 'int64') invalidArg('an int64 tensor of indices (as max pooling returns them)', 'indices', indices);
  if (a.kernelSize === undefined) invalidArg(`an integer or an array of ${n} integers (required)`, 'kernelSize', a.kernelSize);
  const kernel = intTuple(a.kernelSize, 'kernelSize', n, 1);
  const stride = none(a.stride) ? kernel : intTuple(a.stride, 'stride', n, 1);
  const padding = none(a.padding) ? new Array<number>(n).fill(0) : intTuple(a.padding, 'padding', n, 0);
  return [x, indices, stride, padding, unpoolOutputSize(x, kernel, stride, padding, a.outputSize)];
}

type UnpoolSignature = {
  (input: Tensor, indices: Tensor, kernelSize: number | number[], opts?: MaxUnpoolOptions): Tensor;
  (input: Tensor, indices: Tensor, kernelSize: number | number[], stride?: number | number[] | null, padding?: number | number[], outputSize?: number[] | null): Tensor;
};

/**
 * The partial inverse of maxPool1d, PyTorch's torch.nn.functional.max_unpool1d: puts each value at
 * its index from maxPool1d(…, { returnIndices: true }) in a zero output of length
 * (L - 1)·stride + kernelSize - 2·padding (or outputSize). input and indices: [N, C, L] or [C, L].
 * Defaults: stride kernelSize, padding 0.
 * @example const [y, idx] = nn.functional.maxPool1d(x, 2, { returnIndices: true }); const back = nn.functional.maxUnpool1d(y, idx, 2);
 */
export const maxUnpool1d: UnpoolSignature = (...args: unknown[]): Tensor => {
  const [x, indices, , , size] = unpoolArgs('torch.nn.functional.max_unpool1d', args, 1);
  return tidy(() => aten.max_unpool2d(x.unsqueeze(-1), indices.unsqueeze(-1), [...size, 1]).squeeze(-1));
};

/**
 * The partial inverse of maxPool2d, PyTorch's torch.nn.functional.max_unpool2d (aten::max_unpool2d):
 * input and indices [N, C, H, W] or [C, H, W]; the output's spatial size is
 * (in - 1)·stride + kernelSize - 2·padding per dimension unless outputSize says otherwise.
 * Defaults: stride kernelSize, padding 0.
 * @example const back = nn.functional.maxUnpool2d(pooled, indices, 2, { outputSize: [5, 5] });
 */
export const maxUnpool2d: UnpoolSignature = (...args: unknown[]): Tensor => {
  const [x, indices, , , size] = unpoolArgs('torch.nn.functional.max_unpool2d', args, 2);
  return aten.max_unpool2d(x, indices, size);
};

/**
 * The partial inverse of maxPool3d, PyTorch's torch.nn.functional.max_unpool3d (aten::max_unpool3d):
 * input and indices [N, C, D, H, W] or [C, D, H, W]. Defaults: stride kernelSize, padding 0.
 * @example const back = nn.functional.maxUnpool3d(pooled, indices, 2);
 */
export const maxUnpool3d: UnpoolSignature = (...args: unknown[]): Tensor => {
  const [x, indices, stride, padding, size] = unpoolArgs('torch.nn.functional.max_unpool3d', args, 3);
  return aten.max_unpool3d(x, indices, size, stride, padding);
};
