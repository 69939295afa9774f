/**
 * Loss modules, as torch.nn's: each stores its options (validated once, here) and its forward
 * calls the function of the same name in ./functional.ts.
 *
 * `weight` and `pos_weight` are buffers, as PyTorch registers them: state-dict entries under
 * PyTorch's keys (`weight`, `pos_weight`; `posWeight` reads the latter), converted by `to()`
 * with the module and freed by `dispose()`. Each is a detached tensor sharing the given
 * tensor's data.
 */
import { invalidArg } from '../errors';
import { checkTensor, keep, Tensor } from '../tensor';
import { checkBool, checkInt, checkOptions } from '../validate';
import { Module } from './module';
import * as F from './functional';
import type {
  BCEOptions, BCEWithLogitsOptions, CrossEntropyOptions, CTCLossOptions, HuberLossOptions, Lengths, NLLLossOptions, Reduction,
  ReductionOptions, SmoothL1LossOptions,
} from './functional';

/** A loss module's own reference to a weight tensor (sharing its data), or null. */
function buffer(value: unknown, name: string, oneDim: boolean): Tensor | null {
  if (value === undefined || value === null) return null;
  const t = checkTensor(value, name);
  if (oneDim && t.dim() !== 1) invalidArg('a 1-D tensor of class weights or null', name, t);
  return keep(t.detach());
}

/** A loss whose options include a reduction; holds the weight tensors PyTorch keeps as buffers. */
abstract class Loss extends Module {
  /** 'none' | 'mean' | 'sum'. */
  readonly reduction: Reduction;

  constructor(reduction: unknown) {
    super();
    this.reduction = F.reductionOf(reduction);
  }

  /** @internal The `weight` buffer (null when none was given). */
  get _weight(): Tensor | null { return (this._buffers.get('weight')?.tensor) ?? null; }
  /** @internal The `pos_weight` buffer. */
  get _posWeight(): Tensor | null { return (this._buffers.get('pos_weight')?.tensor) ?? null; }
}

/**
 * Cross entropy between logits and class indices or class probabilities, torch.nn.CrossEntropyLoss.
 * Options: weight (a 1-D tensor of C class weights), ignoreIndex (default -100),
 * reduction (default 'mean'), labelSmoothing (default 0). See nn.functional.crossEntropy.
 * @example
 * const criterion = new nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
 * const loss = criterion.forward(logits, targets); // logits [N, C], targets int64 [N]
 */
export class CrossEntropyLoss extends Loss {
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(opts?: CrossEntropyOptions) {
    const o = checkOptions<CrossEntropyOptions>(opts, 'options', ['weight', 'ignoreIndex', 'reduction', 'labelSmoothing']);
    super(o.reduction);
    this.ignoreIndex = o.ignoreIndex === undefined ? -100 : checkInt(o.ignoreIndex, 'ignoreIndex');
    const s = o.labelSmoothing === undefined ? 0 : o.labelSmoothing;
    if (typeof s !== 'number' || !(s >= 0 && s <= 1)) invalidArg('a number in [0, 1]', 'labelSmoothing', s);
    this.labelSmoothing = s;
    this.registerBuffer('weight', buffer(o.weight, 'weight', true));
  }
  /** The class weights, or null (a buffer). */
  declare readonly weight: Tensor | null;
  forward(input: Tensor, target: Tensor): Tensor {
    this._checkLive('module');
    return F.crossEntropy(input, target, { weight: this._weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction, labelSmoothing: this.labelSmoothing });
  }
}

/**
 * Negative log-likelihood of log-probabilities, torch.nn.NLLLoss. Options: weight,
 * ignoreIndex (default -100), reduction (default 'mean'). See nn.functional.nllLoss.
 * @example const loss = new nn.NLLLoss().forward(logits.logSoftmax(1), targets);
 */
export class NLLLoss extends Loss {
  readonly ignoreIndex: number;
  constructor(opts?: NLLLossOptions) {
    const o = checkOptions<NLLLossOptions>(opts, 'options', ['weight', 'ignoreIndex', 'reduction']);
    super(o.reduction);
    this.ignoreIndex = o.ignoreIndex === undefined ? -100 : checkInt(o.ignoreIndex, 'ignoreIndex');
    this.registerBuffer('weight', buffer(o.weight, 'weight', true));
  }
  /** The class weights, or null (a buffer). */
  declare readonly weight: Tensor | null;
  forward(input: Tensor, target: Tensor): Tensor {
    this._checkLive('module');
    return F.nllLoss(input, target, { weight: this._weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

/**
 * Mean squared error, torch.nn.MSELoss. Option: reduction (default 'mean').
 * @example const loss = new nn.MSELoss().forward(prediction, target);
 */
export class MSELoss extends Loss {
  constructor(opts?: ReductionOptions) {
    super(checkOptions<ReductionOptions>(opts, 'options', ['reduction']).reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    this._checkLive('module');
    return F.mseLoss(input, target, { reduction: this.reduction });
  }
}

/**
 * Mean absolute error, torch.nn.L1Loss. Option: reduction (default 'mean').
 * @example const loss = new nn.L1Loss({ reduction: 'sum' }).forward(prediction, target);
 */
export class L1Loss extends Loss {
  constructor(opts?: ReductionOptions) {
    super(checkOptions<ReductionOptions>(opts, 'options', ['reduction']).reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    this._checkLive('module');
    return F.l1Loss(input, target, { reduction: this.reduction });
  }
}

/**
 * Smooth L1 loss, torch.nn.SmoothL1Loss. Options: reduction (default 'mean'), beta (default 1).
 * @example const loss = new nn.SmoothL1Loss({ beta: 0.5 }).forward(prediction, target);
 */
export class SmoothL1Loss extends Loss {
  readonly beta: number;
  constructor(opts?: SmoothL1LossOptions) {
    const o = checkOptions<SmoothL1LossOptions>(opts, 'options', ['reduction', 'beta']);
    super(o.reduction);
    const beta = o.beta === undefined ? 1 : o.beta;
    if (typeof beta !== 'number' || !(beta >= 0)) invalidArg('a number >= 0', 'beta', beta);
    this.beta = beta;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    this._checkLive('module');
    return F.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

/**
 * Huber loss, torch.nn.HuberLoss. Options: reduction (default 'mean'), delta (default 1).
 * @example const loss = new nn.HuberLoss({ delta: 2 }).forward(prediction, target);
 */
export class HuberLoss extends Loss {
  readonly delta: number;
  constructor(opts?: HuberLossOptions) {
    const o = checkOptions<HuberLossOptions>(opts, 'options', ['reduction', 'delta']);
    super(o.reduction);
    const delta = o.delta === undefined ? 1 : o.delta;
    if (typeof delta !== 'number' || !(delta > 0)) invalidArg('a number > 0', 'delta', delta);
    this.delta = delta;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    this._checkLive('module');
    return F.huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}

/**
 * Binary cross entropy of probabilities, torch.nn.BCELoss. Options: weight (broadcast to the
 * input's shape), reduction (default 'mean').
 * @example const loss = new nn.BCELoss().forward(logits.sigmoid(), labels);
 */
export class BCELoss extends Loss {
  constructor(opts?: BCEOptions) {
    const o = checkOptions<BCEOptions>(opts, 'options', ['weight', 'reduction']);
    super(o.reduction);
    this.registerBuffer('weight', buffer(o.weight, 'weight', false));
  }
  /** The element weights, or null (a buffer). */
  declare readonly weight: Tensor | null;
  forward(input: Tensor, target: Tensor): Tensor {
    this._checkLive('module');
    return F.binaryCrossEntropy(input, target, { weight: this._weight, reduction: this.reduction });
  }
}

/**
 * Sigmoid and binary cross entropy in one stable step, torch.nn.BCEWithLogitsLoss. Options:
 * weight, reduction (default 'mean'), posWeight (weights of positive examples, usually one per class).
 * @example const loss = new nn.BCEWithLogitsLoss({ posWeight: torch.tensor([3, 1, 1]) }).forward(logits, labels);
 */
export class BCEWithLogitsLoss extends Loss {
  constructor(opts?: BCEWithLogitsOptions) {
    const o = checkOptions<BCEWithLogitsOptions>(opts, 'options', ['weight', 'reduction', 'posWeight']);
    super(o.reduction);
    this.registerBuffer('weight', buffer(o.weight, 'weight', false));
    this.registerBuffer('pos_weight', buffer(o.posWeight, 'posWeight', false));
  }
  /** The element weights, or null (a buffer). */
  declare readonly weight: Tensor | null;
  /** The weights of positive examples, or null. */
  get posWeight(): Tensor | null { return this._posWeight; }
  forward(input: Tensor, target: Tensor): Tensor {
    this._checkLive('module');
    return F.binaryCrossEntropyWithLogits(input, target, { weight: this._weight, reduction: this.reduction, posWeight: this._posWeight });
  }
}

/**
 * Connectionist Temporal Classification loss, torch.nn.CTCLoss. Options: blank (default 0),
 * reduction (default 'mean'), zeroInfinity (default false).
 * @example
 * const ctc = new nn.CTCLoss({ zeroInfinity: true });
 * const loss = ctc.forward(logProbs, targets, inputLengths, targetLengths); // logProbs [T, N, C]
 */
export class CTCLoss extends Loss {
  readonly blank: number;
  readonly zeroInfinity: boolean;
  constructor(opts?: CTCLossOptions) {
    const o = checkOptions<CTCLossOptions>(opts, 'options', ['blank', 'reduction', 'zeroInfinity']);
    super(o.reduction);
    this.blank = o.blank === undefined ? 0 : checkInt(o.blank, 'blank', { min: 0 });
    this.zeroInfinity = o.zeroInfinity === undefined ? false : checkBool(o.zeroInfinity, 'zeroInfinity');
  }
  forward(logProbs: Tensor, targets: Tensor, inputLengths: Lengths, targetLengths: Lengths): Tensor {
    this._checkLive('module');
    return F.ctcLoss(logProbs, targets, inputLengths, targetLengths, { blank: this.blank, reduction: this.reduction, zeroInfinity: this.zeroInfinity });
  }
}
