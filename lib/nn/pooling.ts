/**
 * Pooling modules, as torch.nn's classes: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d.
 * No parameters; each forward is the nn.functional form of the same name (libtorch's
 * max_pool*, avg_pool*, adaptive_avg_pool*), so values and gradients are PyTorch's. Options are
 * PyTorch's in camelCase; the attributes keep what was given, as PyTorch's do (so the repr is
 * PyTorch's: `MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)`).
 */
import '../api/generated/tensor';
import { adaptiveAvgPool1d, adaptiveAvgPool2d, avgPool1d, avgPool2d, maxPool1d, maxPool2d } from '../api/generated/functional';
import { invalidArg } from '../errors';
import { intTuple, none } from '../aten/python-args';
import { checkTensor, Tensor } from '../tensor';
import { checkBool, checkInt, checkOptions } from '../validate';
import { Module } from './module';

/** An int, or an array of them (as given: PyTorch keeps the int or the tuple). */
export type IntOrTuple = number | number[];

/** Python's repr of an option value: 3, (3,), (2, 3), None, True. */
function py(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `(${v.map(py).join(', ')}${v.length === 1 ? ',' : ''})`;
  return String(v);
}

/** Keeps an int or copies an array (the module's attribute: what was given). */
const given = (v: number | number[]): number | number[] => (Array.isArray(v) ? [...v] : v);

abstract class Pool extends Module {
  /** @internal The input, checked. */
  _input(input: unknown): Tensor {
    this._checkLive('module');
    return checkTensor(input, 'input');
  }
}

// ---- max pooling ----------------------------------------------------------------------------------

export interface MaxPoolOptions<R extends boolean = boolean> {
  /** Default: kernelSize. */
  stride?: IntOrTuple | null;
  /** Implicit -infinity padding on both sides, at most half the effective kernel size. Default 0. */
  padding?: IntOrTuple;
  /** The spacing of the window's elements. Default 1. */
  dilation?: IntOrTuple;
  /** forward returns [output, indices] (the flat index of each maximum in its plane). Default false. */
  returnIndices?: R;
  /** Output sizes rounded up instead of down (windows that start inside the input). Default false. */
  ceilMode?: boolean;
}

abstract class MaxPoolNd<R extends boolean> extends Pool {
  readonly kernelSize: IntOrTuple;
  readonly stride: IntOrTuple;
  readonly padding: IntOrTuple;
  readonly dilation: IntOrTuple;
  readonly returnIndices: R;
  readonly ceilMode: boolean;
  /** @internal The options as arrays of n. */
  readonly _k: number[];
  readonly _s: number[];
  readonly _p: number[];
  readonly _d: number[];

  constructor(n: number, kernelSize: IntOrTuple, opts: MaxPoolOptions<R> | undefined) {
    super();
    const o = checkOptions<MaxPoolOptions<R>>(opts, 'options', ['stride', 'padding', 'dilation', 'returnIndices', 'ceilMode']);
    this._k = intTuple(kernelSize, 'kernelSize', n, 1);
    this._s = none(o.stride) ? this._k : intTuple(o.stride, 'stride', n, 1);
    this._p = intTuple(o.padding ?? 0, 'padding', n, 0);
    this._d = intTuple(o.dilation ?? 1, 'dilation', n, 1);
    const half = this._k.map((k, i) => Math.floor(((k - 1) * this._d[i] + 1) / 2));
    if (this._p.some((p, i) => p > half[i])) {
      invalidArg(`at most [${half.join(', ')}] (half the effective kernel size, (kernelSize - 1) * dilation + 1)`, 'padding', o.padding);
    }
    this.kernelSize = given(kernelSize);
    this.stride = none(o.stride) ? given(kernelSize) : given(o.stride);
    this.padding = given(o.padding ?? 0);
    this.dilation = given(o.dilation ?? 1);
    this.returnIndices = (o.returnIndices === undefined ? false : checkBool(o.returnIndices, 'returnIndices')) as R;
    this.ceilMode = o.ceilMode === undefined ? false : checkBool(o.ceilMode, 'ceilMode');
  }

  /** @internal The pooling itself. */
  abstract _pool(x: Tensor): unknown;
  /** The maxima ([output, indices] with returnIndices). */
  forward(input: Tensor): R extends true ? [Tensor, Tensor] : Tensor {
    return this._pool(this._input(input)) as R extends true ? [Tensor, Tensor] : Tensor;
  }

  extraRepr(): string {
    return `kernel_size=${py(this.kernelSize)}, stride=${py(this.stride)}, padding=${py(this.padding)}, dilation=${py(this.dilation)}, ceil_mode=${py(this.ceilMode)}`;
  }
}

/**
 * Max over sliding windows of a signal, torch.nn.MaxPool1d: input [N, C, L] or [C, L].
 * @example const pool = new nn.MaxPool1d(2); // stride 2
 */
export class MaxPool1d<R extends boolean = false> extends MaxPoolNd<R> {
  constructor(kernelSize: IntOrTuple, opts?: MaxPoolOptions<R>) { super(1, kernelSize, opts); }
  _pool(x: Tensor): unknown {
    return maxPool1d(x, this._k, this._s, this._p, this._d, this.ceilMode, this.returnIndices);
  }
}

/**
 * Max over sliding windows of an image, torch.nn.MaxPool2d: input [N, C, H, W] or [C, H, W].
 * @example const [y, idx] = new nn.MaxPool2d(2, { returnIndices: true }).forward(x);
 */
export class MaxPool2d<R extends boolean = false> extends MaxPoolNd<R> {
  constructor(kernelSize: IntOrTuple, opts?: MaxPoolOptions<R>) { super(2, kernelSize, opts); }
  _pool(x: Tensor): unknown {
    return maxPool2d(x, this._k, this._s, this._p, this._d, this.ceilMode, this.returnIndices);
  }
}

// ---- average pooling ------------------------------------------------------------------------------

export interface AvgPoolOptions {
  /** Default: kernelSize. */
  stride?: IntOrTuple | null;
  /** Implicit zero padding on both sides, at most half the kernel size. Default 0. */
  padding?: IntOrTuple;
  /** Output sizes rounded up instead of down. Default false. */
  ceilMode?: boolean;
  /** Whether the zero padding counts in the average's divisor. Default true. */
  countIncludePad?: boolean;
}

export interface AvgPool2dOptions extends AvgPoolOptions {
  /** A fixed divisor instead of the window's size, or null. Default null. */
  divisorOverride?: number | null;
}

abstract class AvgPoolNd extends Pool {
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  /** @internal The options as arrays of n. */
  readonly _k: number[];
  readonly _s: number[];
  readonly _p: number[];

  constructor(n: number, kernelSize: IntOrTuple, o: AvgPool2dOptions) {
    super();
    this._k = intTuple(kernelSize, 'kernelSize', n, 1);
    this._s = none(o.stride) ? this._k : intTuple(o.stride, 'stride', n, 1);
    this._p = intTuple(o.padding ?? 0, 'padding', n, 0);
    const half = this._k.map((k) => Math.floor(k / 2));
    if (this._p.some((p, i) => p > half[i])) invalidArg(`at most [${half.join(', ')}] (half the kernel size)`, 'padding', o.padding);
    this.ceilMode = o.ceilMode === undefined ? false : checkBool(o.ceilMode, 'ceilMode');
    this.countIncludePad = o.countIncludePad === undefined ? true : checkBool(o.countIncludePad, 'countIncludePad');
  }
  /** @internal The pooling itself. */
  abstract _pool(x: Tensor): Tensor;
  forward(input: Tensor): Tensor { return this._pool(this._input(input)); }
}

/**
 * The mean over sliding windows of a signal, torch.nn.AvgPool1d: input [N, C, L] or [C, L].
 * Its attributes are arrays, as PyTorch's are tuples.
 */
export class AvgPool1d extends AvgPoolNd {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  constructor(kernelSize: IntOrTuple, opts?: AvgPoolOptions) {
    super(1, kernelSize, checkOptions<AvgPoolOptions>(opts, 'options', ['stride', 'padding', 'ceilMode', 'countIncludePad']));
    this.kernelSize = [...this._k];
    this.stride = [...this._s];
    this.padding = [...this._p];
  }
  _pool(x: Tensor): Tensor {
    return avgPool1d(x, this._k, this._s, this._p, this.ceilMode, this.countIncludePad);
  }
  extraRepr(): string { return `kernel_size=${py(this.kernelSize)}, stride=${py(this.stride)}, padding=${py(this.padding)}`; }
}

/** The mean over sliding windows of an image, torch.nn.AvgPool2d: input [N, C, H, W] or [C, H, W]. */
export class AvgPool2d extends AvgPoolNd {
  readonly kernelSize: IntOrTuple;
  readonly stride: IntOrTuple;
  readonly padding: IntOrTuple;
  readonly divisorOverride: number | null;
  constructor(kernelSize: IntOrTuple, opts?: AvgPool2dOptions) {
    const o = checkOptions<AvgPool2dOptions>(opts, 'options', ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
    super(2, kernelSize, o);
    this.kernelSize = given(kernelSize);
    this.stride = none(o.stride) ? given(kernelSize) : given(o.stride);
    this.padding = given(o.padding ?? 0);
    this.divisorOverride = none(o.divisorOverride) ? null : checkInt(o.divisorOverride, 'divisorOverride', { min: 1 });
  }
  _pool(x: Tensor): Tensor {
    return avgPool2d(x, this._k, this._s, this._p, this.ceilMode, this.countIncludePad, this.divisorOverride);
  }
  extraRepr(): string { return `kernel_size=${py(this.kernelSize)}, stride=${py(this.stride)}, padding=${py(this.padding)}`; }
}

// ---- adaptive average pooling ---------------------------------------------------------------------

/**
 * The mean over windows that split the signal into `outputSize` parts (uneven when the sizes do
 * not divide), torch.nn.AdaptiveAvgPool1d: input [N, C, L] or [C, L].
 */
export class AdaptiveAvgPool1d extends Pool {
  readonly outputSize: IntOrTuple;
  /** @internal */
  readonly _size: number[];
  constructor(outputSize: IntOrTuple) {
    super();
    this._size = intTuple(outputSize, 'outputSize', 1, 1);
    this.outputSize = given(outputSize);
  }
  forward(input: Tensor): Tensor { return adaptiveAvgPool1d(this._input(input), this._size); }
  extraRepr(): string { return `output_size=${py(this.outputSize)}`; }
}

/**
 * The mean over windows that split the image into outputSize [H, W] parts, torch.nn.AdaptiveAvgPool2d:
 * input [N, C, H, W] or [C, H, W]. A null size keeps the input's size in that dimension.
 * @example new nn.AdaptiveAvgPool2d([null, 1]) // average over the width only
 */
export class AdaptiveAvgPool2d extends Pool {
  readonly outputSize: number | (number | null)[];
  constructor(outputSize: number | (number | null)[]) {
    super();
    const ok = (v: unknown) => v === null || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1);
    const valid = Array.isArray(outputSize) ? outputSize.length === 2 && outputSize.every(ok) : typeof outputSize === 'number' && ok(outputSize);
    if (!valid) invalidArg('an integer >= 1 or an array of 2 such integers or nulls', 'outputSize', outputSize);
    this.outputSize = Array.isArray(outputSize) ? [...outputSize] : outputSize;
  }
  forward(input: Tensor): Tensor {
    const x = this._input(input);
    const size = Array.isArray(this.outputSize)
      ? this.outputSize.map((s, i) => (s === null ? x.shape[x.dim() - 2 + i] : s))
      : [this.outputSize, this.outputSize];
    return adaptiveAvgPool2d(x, size);
  }
  extraRepr(): string { return `output_size=${py(this.outputSize)}`; }
}
