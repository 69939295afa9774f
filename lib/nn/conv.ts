/**
 * Convolution modules, torch.nn.Conv1d, Conv2d, ConvTranspose1d and ConvTranspose2d: a weight
 * ([outChannels, inChannels / groups, ...kernelSize], transposed: [inChannels, outChannels /
 * groups, ...kernelSize]) and an optional bias, initialized as PyTorch initializes them
 * (kaiming_uniform_ with a = sqrt(5), the bias from U(-1/sqrt(fanIn), 1/sqrt(fanIn)), fanIn from
 * the weight's dim 1), so after `torch.manualSeed(s)` they equal Python's; the forward is
 * libtorch's conv1d/conv2d/conv_transpose1d/conv_transpose2d. paddingMode 'zeros' only (the
 * others need F.pad first).
 */
import '../api/generated/tensor';
import { conv1d, conv2d, convTranspose1d, convTranspose2d, empty } from '../api/generated/torch';
import { invalidArg } from '../errors';
import { intTuple } from '../aten/python-args';
import { checkTensor, Tensor } from '../tensor';
import { checkBool, checkInt, checkOptions, checkString } from '../validate';
import * as init from './init';
import { Module, Parameter } from './module';

export interface ConvOptions {
  /** Default 1. */
  stride?: number | number[];
  /** An integer per side, or 'valid' (none) / 'same' (output size = input size; stride 1 only). Default 0. */
  padding?: number | number[] | 'valid' | 'same';
  /** Default 1. */
  dilation?: number | number[];
  /** Default 1; inChannels and outChannels must divide by it. */
  groups?: number;
  /** Default true. */
  bias?: boolean;
  /** Only 'zeros'. */
  paddingMode?: 'zeros';
}

export interface ConvTransposeOptions {
  /** Default 1. */
  stride?: number | number[];
  /** Zero-padding of dilation * (kernelSize - 1) - padding on both sides of the input (so: removed from the output), an integer per side. Default 0. */
  padding?: number | number[];
  /** Extra size added to one side of the output (picks among the sizes a strided input maps to); smaller than stride or dilation. Default 0. */
  outputPadding?: number | number[];
  /** Default 1; inChannels and outChannels must divide by it. */
  groups?: number;
  /** Default true. */
  bias?: boolean;
  /** Default 1. */
  dilation?: number | number[];
  /** Only 'zeros'. */
  paddingMode?: 'zeros';
}

type ConvFn = (input: Tensor, weight: Tensor, bias: Tensor | null, stride: number[], padding: number[] | string, dilation: number[], groups: number) => Tensor;
type ConvTransposeFn = (input: Tensor, weight: Tensor, bias: Tensor | null, stride: number[], padding: number[], outputPadding: number[], groups: number, dilation: number[]) => Tensor;

/** Python's repr of a tuple: (1,) or (1, 2). */
const tuple = (v: number[]) => `(${v.join(', ')}${v.length === 1 ? ',' : ''})`;

/** What Conv and ConvTranspose share: options, the weight and bias, PyTorch's reset_parameters, the repr. */
abstract class ConvBase extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'valid' | 'same';
  readonly dilation: number[];
  /** [0, ...] for the convolutions; the option for the transposed ones. */
  readonly outputPadding: number[];
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(n: number, transposed: boolean, inChannels: number, outChannels: number, kernelSize: number | number[], opts: ConvOptions | ConvTransposeOptions | undefined) {
    super();
    const o = checkOptions<ConvOptions & ConvTransposeOptions>(opts, 'options', transposed
      ? ['stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation', 'paddingMode']
      : ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode']);
    this.inChannels = checkInt(inChannels, 'inChannels', { min: 1 });
    this.outChannels = checkInt(outChannels, 'outChannels', { min: 1 });
    this.kernelSize = intTuple(kernelSize, 'kernelSize', n, 1);
    this.stride = intTuple(o.stride ?? 1, 'stride', n, 1);
    this.padding = typeof o.padding === 'string' && !transposed ? checkString(o.padding, 'padding', ['valid', 'same'] as const) : intTuple(o.padding ?? 0, 'padding', n, 0);
    this.dilation = intTuple(o.dilation ?? 1, 'dilation', n, 1);
    this.outputPadding = intTuple(o.outputPadding ?? 0, 'outputPadding', n, 0);
    this.groups = checkInt(o.groups ?? 1, 'groups', { min: 1 });
    if (this.inChannels % this.groups !== 0) invalidArg(`an inChannels divisible by groups (${this.groups})`, 'inChannels', this.inChannels);
    if (this.outChannels % this.groups !== 0) invalidArg(`an outChannels divisible by groups (${this.groups})`, 'outChannels', this.outChannels);
    if (this.padding === 'same' && this.stride.some((s) => s !== 1)) invalidArg("stride 1 with padding 'same'", 'stride', o.stride);
    if (this.outputPadding.some((p, i) => p >= Math.max(this.stride[i], this.dilation[i]))) {
      invalidArg(`values smaller than stride or dilation in each dimension (stride ${tuple(this.stride)}, dilation ${tuple(this.dilation)})`, 'outputPadding', o.outputPadding);
    }
    if (o.paddingMode !== undefined) checkString(o.paddingMode, 'paddingMode', ['zeros'] as const);
    const bias = o.bias === undefined ? true : checkBool(o.bias, 'bias');
    // PyTorch's reset_parameters: empty() takes no random numbers, then the two init calls
    const shape = transposed
      ? [this.inChannels, this.outChannels / this.groups, ...this.kernelSize]
      : [this.outChannels, this.inChannels / this.groups, ...this.kernelSize];
    const w = empty(shape);
    this.weight = new Parameter(w); // shares w's data: w's own handle is freed now, not by the GC
    w.dispose();
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (bias) {
      const fanIn = shape[1] * this.kernelSize.reduce((a, b) => a * b, 1); // init's fan in: the weight's dim 1
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      const b = empty([this.outChannels]);
      this.bias = new Parameter(b);
      b.dispose();
      init.uniform_(this.bias, -bound, bound);
    } else {
      this.bias = null;
    }
  }

  extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${tuple(this.kernelSize)}, stride=${tuple(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding.some((p) => p !== 0)) s += `, padding=${tuple(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${tuple(this.dilation)}`;
    if (this.outputPadding.some((p) => p !== 0)) s += `, output_padding=${tuple(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
  }
}

abstract class ConvNd extends ConvBase {
  constructor(n: number, inChannels: number, outChannels: number, kernelSize: number | number[], opts: ConvOptions | undefined) {
    super(n, false, inChannels, outChannels, kernelSize, opts);
  }

  /** The functional form: libtorch's conv1d / conv2d. */
  protected abstract conv: ConvFn;

  forward(input: Tensor): Tensor {
    this._checkLive('module');
    return this.conv(checkTensor(input, 'input'), this.weight, this.bias, this.stride, this.padding as number[] | string, this.dilation, this.groups);
  }
}

/** torch.nn.Conv1d: input [N, C, L] or [C, L]. */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], opts?: ConvOptions) {
    super(1, inChannels, outChannels, kernelSize, opts);
  }
  protected conv = conv1d as ConvFn;
}

/** torch.nn.Conv2d: input [N, C, H, W] or [C, H, W]. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], opts?: ConvOptions) {
    super(2, inChannels, outChannels, kernelSize, opts);
  }
  protected conv = conv2d as ConvFn;
}

abstract class ConvTransposeNd extends ConvBase {
  declare readonly padding: number[];
  constructor(n: number, inChannels: number, outChannels: number, kernelSize: number | number[], opts: ConvTransposeOptions | undefined) {
    super(n, true, inChannels, outChannels, kernelSize, opts);
  }

  /** The functional form: libtorch's conv_transpose1d / conv_transpose2d. */
  protected abstract convT: ConvTransposeFn;

  /**
   * The transposed convolution. `outputSize` (the spatial sizes, or the whole shape) picks the
   * output padding that gives that size, as PyTorch's forward(input, output_size) does.
   */
  forward(input: Tensor, outputSize?: number[] | null): Tensor {
    this._checkLive('module');
    const x = checkTensor(input, 'input');
    const outputPadding = outputSize === undefined || outputSize === null ? this.outputPadding : this.outputPaddingFor(x, outputSize);
    return this.convT(x, this.weight, this.bias, this.stride, this.padding, outputPadding, this.groups, this.dilation);
  }

  /** PyTorch's _ConvTransposeNd._output_padding. */
  private outputPaddingFor(x: Tensor, outputSize: unknown): number[] {
    const n = this.kernelSize.length;
    const nonSpatial = x.dim() === n + 2 ? 2 : 1;
    if (!Array.isArray(outputSize) || (outputSize.length !== n && outputSize.length !== n + nonSpatial)
      || !outputSize.every((v) => typeof v === 'number' && Number.isSafeInteger(v))) {
      invalidArg(`an array of ${n} or ${n + nonSpatial} integers (for a ${x.dim()}-D input)`, 'outputSize', outputSize);
    }
    const size = (outputSize as number[]).slice(outputSize.length - n);
    const min = size.map((_, d) => (x.shape[d + nonSpatial] - 1) * this.stride[d] - 2 * this.padding[d] + this.dilation[d] * (this.kernelSize[d] - 1) + 1);
    const max = min.map((m, d) => m + this.stride[d] - 1);
    if (size.some((s, d) => s < min[d] || s > max[d])) {
      invalidArg(`sizes from [${min.join(', ')}] to [${max.join(', ')}] (for an input of [${x.shape.slice(nonSpatial).join(', ')}])`, 'outputSize', outputSize);
    }
    return size.map((s, d) => s - min[d]);
  }
}

/** torch.nn.ConvTranspose1d: input [N, C, L] or [C, L]; weight [inChannels, outChannels / groups, k]. */
export class ConvTranspose1d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], opts?: ConvTransposeOptions) {
    super(1, inChannels, outChannels, kernelSize, opts);
  }
  protected convT = convTranspose1d as ConvTransposeFn;
}

/** torch.nn.ConvTranspose2d: input [N, C, H, W] or [C, H, W]; weight [inChannels, outChannels / groups, kH, kW]. */
export class ConvTranspose2d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], opts?: ConvTransposeOptions) {
    super(2, inChannels, outChannels, kernelSize, opts);
  }
  protected convT = convTranspose2d as ConvTransposeFn;
}
