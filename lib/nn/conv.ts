/**
 * Convolution modules, torch.nn.Conv1d and torch.nn.Conv2d: a weight [outChannels,
 * inChannels / groups, ...kernelSize] and an optional bias, initialized as PyTorch initializes
 * them (kaiming_uniform_ with a = sqrt(5), the bias from U(-1/sqrt(fanIn), 1/sqrt(fanIn))), so
 * after `torch.manualSeed(s)` they equal Python's; the forward is libtorch's conv1d/conv2d.
 * paddingMode 'zeros' only (the others need F.pad first).
 */
import '../api/generated/tensor';
import { conv1d, conv2d, empty } from '../api/generated/torch';
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

type ConvFn = (input: Tensor, weight: Tensor, bias: Tensor | null, stride: number[], padding: number[] | string, dilation: number[], groups: number) => Tensor;

abstract class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'valid' | 'same';
  readonly dilation: number[];
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(n: number, inChannels: number, outChannels: number, kernelSize: number | number[], opts: ConvOptions | undefined) {
    super();
    const o = checkOptions<ConvOptions>(opts, 'options', ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode']);
    this.inChannels = checkInt(inChannels, 'inChannels', { min: 1 });
    this.outChannels = checkInt(outChannels, 'outChannels', { min: 1 });
    this.kernelSize = intTuple(kernelSize, 'kernelSize', n, 1);
    this.stride = intTuple(o.stride ?? 1, 'stride', n, 1);
    this.padding = typeof o.padding === 'string' ? checkString(o.padding, 'padding', ['valid', 'same'] as const) : intTuple(o.padding ?? 0, 'padding', n, 0);
    this.dilation = intTuple(o.dilation ?? 1, 'dilation', n, 1);
    this.groups = checkInt(o.groups ?? 1, 'groups', { min: 1 });
    if (this.inChannels % this.groups !== 0) invalidArg(`an inChannels divisible by groups (${this.groups})`, 'inChannels', this.inChannels);
    if (this.outChannels % this.groups !== 0) invalidArg(`an outChannels divisible by groups (${this.groups})`, 'outChannels', this.outChannels);
    if (this.padding === 'same' && this.stride.some((s) => s !== 1)) invalidArg("stride 1 with padding 'same'", 'stride', o.stride);
    if (o.paddingMode !== undefined) checkString(o.paddingMode, 'paddingMode', ['zeros'] as const);
    const bias = o.bias === undefined ? true : checkBool(o.bias, 'bias');
    // PyTorch's reset_parameters: empty() takes no random numbers, then the two init calls
    this.weight = new Parameter(empty([this.outChannels, this.inChannels / this.groups, ...this.kernelSize]));
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (bias) {
      const fanIn = (this.inChannels / this.groups) * this.kernelSize.reduce((a, b) => a * b, 1);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      this.bias = new Parameter(empty([this.outChannels]));
      init.uniform_(this.bias, -bound, bound);
    } else {
      this.bias = null;
    }
  }

  /** The functional form: libtorch's conv1d / conv2d. */
  protected abstract conv: ConvFn;

  forward(input: Tensor): Tensor {
    this._checkLive('module');
    return this.conv(checkTensor(input, 'input'), this.weight, this.bias, this.stride, this.padding, this.dilation, this.groups);
  }

  extraRepr(): string {
    const pad = typeof this.padding === 'string' ? this.padding : `(${this.padding.join(', ')}${this.padding.length === 1 ? ',' : ''})`;
    const t = (v: number[]) => `(${v.join(', ')}${v.length === 1 ? ',' : ''})`;
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${t(this.kernelSize)}, stride=${t(this.stride)}`;
    if (typeof this.padding === 'string' || this.padding.some((p) => p !== 0)) s += `, padding=${pad}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${t(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
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
