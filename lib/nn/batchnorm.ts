/**
 * Batch normalization modules, torch.nn.BatchNorm1d and torch.nn.BatchNorm2d, as PyTorch's
 * _BatchNorm: parameters `weight` (ones) and `bias` (zeros) with `affine`, buffers
 * `running_mean` (zeros), `running_var` (ones) and `num_batches_tracked` (int64 0) with
 * `trackRunningStats` (PyTorch's state-dict keys; without it they are registered as null and
 * batch statistics are used in eval mode too). The forward is _BatchNorm.forward over libtorch's
 * batch_norm, which updates the running statistics in place.
 *
 * momentum = null (a cumulative moving average: factor 1 / num_batches_tracked) is computed
 * with tensor operations on the buffers, not with a number read from num_batches_tracked, so a
 * traced graph (trainStep, jit.trace) updates the statistics in every step exactly as eager
 * mode does: batch_norm with momentum 1 into fresh buffers gives the batch mean and unbiased
 * variance (libtorch's own), then running = factor · batch + (1 − factor) · running in float64.
 */
import '../api/generated/tensor';
import { atenOp, native, TensorHandle } from '../binding';
import { isFloating } from '../dtype';
import { invalidArg } from '../errors';
import { noGrad } from '../autograd';
import { ones, tensor, zeros, zerosLike } from '../creation';
import { checkTensor, Tensor, wrap } from '../tensor';
import { checkBool, checkFinite, checkInt, checkOptions } from '../validate';
import * as init from './init';
import { checkModuleDtype, Module, Parameter } from './module';

const BATCH_NORM = atenOp('batch_norm');

export interface BatchNormOptions {
  /** Added to the variance for numerical stability. Default 1e-5. */
  eps?: number;
  /**
   * The weight of the batch statistics in the running ones (running = (1 − momentum) · running
   * + momentum · batch). null: a cumulative moving average (the mean over every batch seen).
   * Default 0.1.
   */
  momentum?: number | null;
  /** Learnable per-channel weight and bias. Default true. */
  affine?: boolean;
  /** Keep running statistics (used in eval mode). Default true. */
  trackRunningStats?: boolean;
}

/**
 * A number as Python prints it in extraRepr: floats with Python's repr (1e-05, 0.1), integers as
 * integers (`momentum: 1` prints as Python's momentum=1 does).
 */
function pyNumber(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return String(x);
  const [mant, e] = x.toExponential().split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= 16) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(x);
}

abstract class BatchNormNd extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** The per-channel scale (ones), or null without affine. */
  weight: Parameter | null;
  /** The per-channel shift (zeros), or null without affine. */
  bias: Parameter | null;
  /** The running mean (zeros), or null without trackRunningStats. */
  declare running_mean: Tensor | null;
  /** The running (unbiased) variance (ones), or null without trackRunningStats. */
  declare running_var: Tensor | null;
  /** The number of training batches seen (int64), or null without trackRunningStats. */
  declare num_batches_tracked: Tensor | null;

  constructor(numFeatures: number, opts: BatchNormOptions | undefined) {
    super();
    const o = checkOptions<BatchNormOptions>(opts, 'options', ['eps', 'momentum', 'affine', 'trackRunningStats']);
    this.numFeatures = checkInt(numFeatures, 'numFeatures', { min: 1 });
    this.eps = o.eps === undefined ? 1e-5 : checkFinite(o.eps, 'eps');
    if (this.eps < 0) invalidArg('a finite number >= 0', 'eps', o.eps);
    this.momentum = o.momentum === undefined ? 0.1 : o.momentum === null ? null : checkFinite(o.momentum, 'momentum');
    this.affine = o.affine === undefined ? true : checkBool(o.affine, 'affine');
    this.trackRunningStats = o.trackRunningStats === undefined ? true : checkBool(o.trackRunningStats, 'trackRunningStats');
    if (this.affine) {
      // a Parameter shares its source's data: the sources' own handles are freed now
      const w = ones([this.numFeatures]);
      const b = zeros([this.numFeatures]);
      this.weight = new Parameter(w);
      this.bias = new Parameter(b);
      w.dispose();
      b.dispose();
    } else {
      this.weight = null;
      this.bias = null;
    }
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([this.numFeatures]));
      this.registerBuffer('running_var', ones([this.numFeatures]));
      this.registerBuffer('num_batches_tracked', tensor(0, { dtype: 'int64' }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
  }

  /** Running mean 0, running variance 1, num_batches_tracked 0 (PyTorch's reset_running_stats). */
  resetRunningStats(): void {
    this._checkLive('module');
    if (!this.trackRunningStats) return;
    noGrad(() => {
      this.running_mean?.zero_();
      this.running_var?.fill_(1);
      this.num_batches_tracked?.zero_();
    });
  }

  /** resetRunningStats(), and weight 1, bias 0 (PyTorch's reset_parameters). */
  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) init.ones_(this.weight);
    if (this.bias) init.zeros_(this.bias);
  }

  /** @internal The expected input dimensions: throws for any other. */
  protected abstract checkInputDim(t: Tensor): void;

  forward(input: Tensor): Tensor {
    this._checkLive('module');
    const x = checkTensor(input, 'input');
    this.checkInputDim(x);
    if (!isFloating(x.dtype)) invalidArg('a floating-point tensor', 'input', x);
    if (x.shape[1] !== this.numFeatures) invalidArg(`a tensor with ${this.numFeatures} channels (numFeatures) in dimension 1`, 'input', x);
    const rm = this.running_mean;
    const rv = this.running_var;
    const nbt = this.num_batches_tracked;
    // the module's dtype (under autocast libtorch takes lower-precision input with float32 statistics)
    const own = this.weight ?? rm;
    if (own !== null) checkModuleDtype(x, own.dtype, 'input');
    // PyTorch's _BatchNorm.forward: batch statistics in training, and in eval without running ones
    const bnTraining = this.training || (rm === null && rv === null);
    if (bnTraining) {
      let perChannel = x.shape[0];
      for (let i = 2; i < x.dim(); i++) perChannel *= x.shape[i];
      if (perChannel === 1) invalidArg('more than 1 value per channel in training mode', 'input', x);
    }
    const update = this.training && this.trackRunningStats;
    if (update && nbt !== null) noGrad(() => nbt.add_(1));
    const run = (mean: Tensor | null, v: Tensor | null, momentum: number): Tensor => wrap(native.call(BATCH_NORM,
      x.handle('input'), this.weight?.handle('weight') ?? null, this.bias?.handle('bias') ?? null,
      mean?.handle('running_mean') ?? null, v?.handle('running_var') ?? null,
      bnTraining, momentum, this.eps, native.cudnnFlags().enabled) as TensorHandle);
    if (!update) {
      // eval (running statistics, or batch ones without them), or training without tracking
      return run(this.training && !this.trackRunningStats ? null : rm, this.training && !this.trackRunningStats ? null : rv, this.momentum ?? 0);
    }
    if (this.momentum !== null || nbt === null || rm === null || rv === null) {
      // libtorch's batch_norm updates the running statistics in place with this momentum
      return run(rm, rv, this.momentum ?? 0);
    }
    // cumulative moving average: factor = 1 / num_batches_tracked, from the buffer as a tensor
    // (a number read here would be a constant of a traced graph)
    const batchMean = zerosLike(rm);
    const batchVar = zerosLike(rv);
    try {
      const out = run(batchMean, batchVar, 1); // batchMean/batchVar := this batch's mean and unbiased variance
      noGrad(() => {
        const temps: Tensor[] = [];
        const t = (v: Tensor) => { temps.push(v); return v; };
        try {
          const f = t(t(nbt.to('float64')).reciprocal());
          const keep = t(t(f.neg()).add(1));
          for (const [running, batch] of [[rm, batchMean], [rv, batchVar]] as const) {
            // PyTorch's update, in float64 (its CPU kernel accumulates in double): f · batch + (1 − f) · running
            const next = t(t(t(batch.to('float64')).mul(f)).add(t(t(running.to('float64')).mul(keep))));
            running.copy_(next);
          }
        } finally {
          for (const v of temps) v.dispose();
        }
      });
      return out;
    } finally {
      batchMean.dispose();
      batchVar.dispose();
    }
  }

  extraRepr(): string {
    return `${this.numFeatures}, eps=${pyNumber(this.eps)}, momentum=${this.momentum === null ? 'None' : pyNumber(this.momentum)}, `
      + `affine=${this.affine ? 'True' : 'False'}, track_running_stats=${this.trackRunningStats ? 'True' : 'False'}`;
  }
}

/**
 * Batch normalization over [N, C] or [N, C, L] input (per channel C), torch.nn.BatchNorm1d.
 * @example const bn = new nn.BatchNorm1d(16, { momentum: 0.1 }); const y = bn.forward(x); // x: [N, 16, L]
 */
export class BatchNorm1d extends BatchNormNd {
  constructor(numFeatures: number, opts?: BatchNormOptions) { super(numFeatures, opts); }
  protected checkInputDim(t: Tensor): void {
    if (t.dim() !== 2 && t.dim() !== 3) invalidArg('a 2-D or 3-D tensor ([N, C] or [N, C, L])', 'input', t);
  }
}

/**
 * Batch normalization over [N, C, H, W] input (per channel C), torch.nn.BatchNorm2d.
 * @example const bn = new nn.BatchNorm2d(8); const y = bn.forward(x); // x: [N, 8, H, W]
 */
export class BatchNorm2d extends BatchNormNd {
  constructor(numFeatures: number, opts?: BatchNormOptions) { super(numFeatures, opts); }
  protected checkInputDim(t: Tensor): void {
    if (t.dim() !== 4) invalidArg('a 4-D tensor ([N, C, H, W])', 'input', t);
  }
}
