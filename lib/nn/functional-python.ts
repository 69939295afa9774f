/**
 * torch.nn.functional's functions that PyTorch writes in Python (no single aten operator of
 * their name, so scripts/gen-api/ cannot generate them), by hand with PyTorch's semantics:
 * softsign, tanhshrink, softmin, normalize, localResponseNorm, gaussianNllLoss,
 * multilabelSoftMarginLoss, dropout1d and dropout3d (resampling: lib/nn/functional-resample.ts).
 * Each validates its arguments here, then calls the libtorch operators that PyTorch's Python
 * function calls, so values and gradients are PyTorch's.
 *
 * Calling convention (PyTorch's): Python's positional arguments stay positional; keyword
 * arguments go in one trailing options object with camelCase keys:
 * `F.interpolate(x, { scaleFactor: 2, mode: 'bilinear' })` or `F.interpolate(x, null, 2, 'bilinear')`.
 * `null` and `undefined` both stand for Python's None (lib/aten/python-args.ts).
 */
import type { DType } from '../dtype';
import { libtorchAtLeast, libtorchVersion } from '../compat';
import { invalidArg, TorchError } from '../errors';
import { checkTensor, Tensor, tidy, tracing } from '../tensor';
import { noGrad } from '../autograd';
import { ops } from '../aten/ops-namespace';
import { none, pyArgs, warnOnce } from '../aten/python-args';
import { norm } from '../api/torch-python';
import { checkBool, checkDim, checkInt, checkNumber, checkString } from '../validate';

/* eslint-disable @typescript-eslint/no-explicit-any */
const aten = ops.aten as any;
/* eslint-enable @typescript-eslint/no-explicit-any */

type Reduction = 'none' | 'mean' | 'sum';
const REDUCTIONS: readonly Reduction[] = ['none', 'mean', 'sum'];

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'mean') return loss.mean();
  if (reduction === 'sum') return loss.sum();
  return loss;
}

// ---- activations and normalization ---------------------------------------------------------------

/**
 * x / (|x| + 1), PyTorch's torch.nn.functional.softsign.
 * @example const y = nn.functional.softsign(x);
 */
export function softsign(input: Tensor): Tensor {
  const x = checkTensor(input, 'input');
  return tidy(() => x.div(x.abs().add(1)));
}

/**
 * x - tanh(x), PyTorch's torch.nn.functional.tanhshrink.
 * @example const y = nn.functional.tanhshrink(x);
 */
export function tanhshrink(input: Tensor): Tensor {
  const x = checkTensor(input, 'input');
  return tidy(() => x.sub(x.tanh()));
}

/** dim, or PyTorch's implicit choice (with its deprecation warning): 0 for 0-D, 1-D and 3-D input, else 1. */
function softmaxDim(name: string, x: Tensor, dim: unknown): number {
  if (!none(dim)) return checkDim(dim, 'dim', x.dim());
  warnOnce(`Implicit dimension choice for ${name} has been deprecated. Change the call to include dim=X as an argument.`);
  return x.dim() === 0 || x.dim() === 1 || x.dim() === 3 ? 0 : 1;
}

/**
 * softmax(-x) along dim, PyTorch's torch.nn.functional.softmin. dtype: the input is cast to it
 * first (and the result has it). Without dim, PyTorch's deprecated implicit choice (0 for 0-D,
 * 1-D and 3-D input, else 1) with its warning. The third positional parameter is Python's
 * `_stacklevel` (ignored).
 * @example const p = nn.functional.softmin(x, 1, { dtype: 'float64' });
 */
export function softmin(input: Tensor, dim?: number | null, opts?: { dtype?: DType | null }): Tensor;
export function softmin(input: Tensor, opts?: { dim?: number | null; dtype?: DType | null }): Tensor;
export function softmin(input: Tensor, dim: number | null, stacklevel: number, dtype?: DType | null): Tensor;
export function softmin(...args: unknown[]): Tensor {
  const a = pyArgs('torch.nn.functional.softmin', args, ['input', 'dim', '_stacklevel', 'dtype']);
  const x = checkTensor(a.input, 'input');
  const dim = softmaxDim('softmin', x, a.dim);
  return tidy(() => x.neg().softmax(dim, none(a.dtype) ? undefined : { dtype: a.dtype as DType }));
}

export interface NormalizeOptions {
  /** The norm's exponent. Default 2. */
  p?: number;
  /** The dimension (or dimensions) normalized over. Default 1. */
  dim?: number | number[];
  /** The smallest divisor. Default 1e-12. */
  eps?: number;
  /** Where to write the result (Python's out=). */
  out?: Tensor | null;
}

/**
 * x / max(‖x‖_p, eps) along dim, PyTorch's torch.nn.functional.normalize (the norm is torch.norm's,
 * kept dimensions, broadcast back). Defaults: p 2, dim 1, eps 1e-12.
 * @example const unit = nn.functional.normalize(embeddings, { dim: -1 });
 */
export function normalize(input: Tensor, opts?: NormalizeOptions): Tensor;
export function normalize(input: Tensor, p?: number, dim?: number | number[], eps?: number, out?: Tensor | null): Tensor;
export function normalize(...args: unknown[]): Tensor {
  const a = pyArgs('torch.nn.functional.normalize', args, ['input', 'p', 'dim', 'eps', 'out']);
  const x = checkTensor(a.input, 'input');
  const p = none(a.p) ? 2 : checkNumber(a.p, 'p');
  const dim = none(a.dim) ? 1 : a.dim;
  const eps = none(a.eps) ? 1e-12 : checkNumber(a.eps, 'eps');
  const out = none(a.out) ? null : checkTensor(a.out, 'out');
  return tidy(() => {
    const denom: Tensor = aten.expand_as(aten.clamp_min(norm(x, p, dim as number | number[], true), eps), x);
    return out === null ? x.div(denom) : aten.div.out(x, denom, { out });
  });
}

export interface LocalResponseNormOptions {
  /** Default 1e-4. */
  alpha?: number;
  /** Default 0.75. */
  beta?: number;
  /** Default 1. */
  k?: number;
}

/**
 * Local response normalization over channels, PyTorch's torch.nn.functional.local_response_norm:
 * x / (k + alpha·mean of x² over `size` neighbouring channels)^beta, input [N, C, …] with at least
 * 3 dimensions. Defaults: alpha 1e-4, beta 0.75, k 1.
 * @example const y = nn.functional.localResponseNorm(x, 2, { alpha: 1e-4 });
 */
export function localResponseNorm(input: Tensor, size: number, opts?: LocalResponseNormOptions): Tensor;
export function localResponseNorm(input: Tensor, size: number, alpha?: number, beta?: number, k?: number): Tensor;
export function localResponseNorm(...args: unknown[]): Tensor {
  const a = pyArgs('torch.nn.functional.local_response_norm', args, ['input', 'size', 'alpha', 'beta', 'k']);
  const x = checkTensor(a.input, 'input');
  const size = checkInt(a.size, 'size', { min: 1 });
  const alpha = none(a.alpha) ? 1e-4 : checkNumber(a.alpha, 'alpha');
  const beta = none(a.beta) ? 0.75 : checkNumber(a.beta, 'beta');
  const k = none(a.k) ? 1 : checkNumber(a.k, 'k');
  if (x.dim() < 3) invalidArg('a tensor of 3 or more dimensions [N, C, ...]', 'input', x);
  if (x.numel() === 0) return x;
  const before = Math.floor(size / 2);
  const after = Math.floor((size - 1) / 2);
  return tidy(() => {
    let div = x.mul(x);
    if (x.dim() === 3) {
      div = aten.constant_pad_nd(div.unsqueeze(1), [0, 0, before, after], 0);
      div = (aten.avg_pool2d(div, [size, 1], [1, 1]) as Tensor).squeeze(1);
    } else {
      const s = x.shape as number[];
      div = aten.constant_pad_nd(div.view(s[0], 1, s[1], s[2], -1), [0, 0, 0, 0, before, after], 0);
      div = (aten.avg_pool3d(div, [size, 1, 1], [1, 1, 1]) as Tensor).squeeze(1).view(s);
    }
    return x.div(div.mul(alpha).add(k).pow(beta));
  });
}

// ---- losses -------------------------------------------------------------------------------------

export interface GaussianNllLossOptions {
  /** Add the constant 0.5·log(2π). Default false. */
  full?: boolean;
  /** The smallest variance (var is clamped to it, without gradient through the clamp). Default 1e-6. */
  eps?: number;
  /** Default 'mean'. */
  reduction?: Reduction;
}

/**
 * The negative log-likelihood of target under Gaussians of mean input and variance var, PyTorch's
 * torch.nn.functional.gaussian_nll_loss: 0.5·(log(var) + (input - target)²/var) per element.
 * var has the input's shape, or the input's without its last dimension, or with a last dimension
 * of 1 (one variance for all of that dimension); on libtorch 2.6 it may also be a number.
 * Defaults: full false, eps 1e-6, reduction 'mean'.
 * @example const loss = nn.functional.gaussianNllLoss(mean, target, variance, { full: true });
 */
export function gaussianNllLoss(input: Tensor, target: Tensor, variance: Tensor | number, opts?: GaussianNllLossOptions): Tensor;
export function gaussianNllLoss(input: Tensor, target: Tensor, variance: Tensor | number, full?: boolean, eps?: number, reduction?: Reduction): Tensor;
export function gaussianNllLoss(...args: unknown[]): Tensor {
  const a = pyArgs('torch.nn.functional.gaussian_nll_loss', args, ['input', 'target', 'var', 'full', 'eps', 'reduction']);
  const x = checkTensor(a.input, 'input');
  const target = checkTensor(a.target, 'target');
  const full = none(a.full) ? false : checkBool(a.full, 'full');
  const eps = none(a.eps) ? 1e-6 : checkNumber(a.eps, 'eps');
  const reduction = none(a.reduction) ? 'mean' : checkString(a.reduction, 'reduction', REDUCTIONS);
  return tidy(() => {
    let v: Tensor;
    if (typeof a.var === 'number') {
      // PyTorch 2.x takes a float var: var * ones_like(input)
      if (!libtorchAtLeast(2, 6)) throw new TorchError(`A number for var of torch.nn.functional.gaussian_nll_loss is not available in libtorch ${libtorchVersion}; libtorch 2.6 has it (a Tensor works on every line)`, 'ERR_UNSUPPORTED');
      if (a.var < 0) invalidArg('a variance >= 0', 'var', a.var);
      v = aten.ones_like(x).mul(a.var);
    } else {
      v = checkTensor(a.var, 'var');
    }
    const xs = x.shape;
    const vs = v.shape;
    const same = (p: readonly number[], q: readonly number[]) => p.length === q.length && p.every((d, i) => d === q[i]);
    if (!same(vs, xs)) {
      if (same(xs.slice(0, -1), vs)) v = v.unsqueeze(-1);
      else if (!(vs.length > 0 && same(xs.slice(0, -1), vs.slice(0, -1)) && vs[vs.length - 1] === 1)) {
        invalidArg(`a tensor of shape [${xs.join(', ')}], [${xs.slice(0, -1).join(', ')}] or [${[...xs.slice(0, -1), 1].join(', ')}] (the input's shape, without or with 1 as its last dimension)`, 'var', a.var);
      }
    }
    if (!tracing.active && v.lt(0).any().item()) invalidArg('a tensor of variances >= 0', 'var', a.var);
    v = v.clone();
    noGrad(() => v.clamp_(eps, null));
    let loss = v.log().add(x.sub(target).pow(2).div(v)).mul(0.5);
    if (full) loss = loss.add(0.5 * Math.log(2 * Math.PI));
    return reduce(loss, reduction);
  });
}

export interface MultilabelSoftMarginLossOptions {
  /** A weight per class, broadcast over the batch. Default: none. */
  weight?: Tensor | null;
  /** Default 'mean'. */
  reduction?: Reduction;
  /** Deprecated (PyTorch's legacy form of reduction). */
  sizeAverage?: boolean | null;
  /** Deprecated (PyTorch's legacy form of reduction). */
  reduce?: boolean | null;
}

/**
 * The multi-label one-versus-all loss on logits, PyTorch's
 * torch.nn.functional.multilabel_soft_margin_loss: -(y·logσ(x) + (1 - y)·logσ(-x)), weighted,
 * averaged over the classes (the last dimension), then reduced over the batch. input and target:
 * [N, C] or [C]. Defaults: weight none, reduction 'mean'; sizeAverage and reduce, when given,
 * decide the reduction as in PyTorch (with its deprecation warning).
 * @example const loss = nn.functional.multilabelSoftMarginLoss(logits, labels);
 */
export function multilabelSoftMarginLoss(input: Tensor, target: Tensor, opts?: MultilabelSoftMarginLossOptions): Tensor;
export function multilabelSoftMarginLoss(input: Tensor, target: Tensor, weight?: Tensor | null, sizeAverage?: boolean | null, reduce?: boolean | null, reduction?: Reduction): Tensor;
export function multilabelSoftMarginLoss(...args: unknown[]): Tensor {
  const a = pyArgs('torch.nn.functional.multilabel_soft_margin_loss', args, ['input', 'target', 'weight', 'sizeAverage', 'reduce', 'reduction']);
  const x = checkTensor(a.input, 'input');
  const target = checkTensor(a.target, 'target');
  const weight = none(a.weight) ? null : checkTensor(a.weight, 'weight');
  let reduction = none(a.reduction) ? 'mean' : checkString(a.reduction, 'reduction', REDUCTIONS);
  if (!none(a.sizeAverage) || !none(a.reduce)) {
    const sizeAverage = none(a.sizeAverage) ? true : checkBool(a.sizeAverage, 'sizeAverage');
    const reduceAll = none(a.reduce) ? true : checkBool(a.reduce, 'reduce');
    reduction = sizeAverage && reduceAll ? 'mean' : reduceAll ? 'sum' : 'none';
    warnOnce(`size_average and reduce args will be deprecated, please use reduction='${reduction}' instead.`);
  }
  if (x.dim() < 1) invalidArg('a tensor of shape [N, C] or [C]', 'input', x);
  return tidy(() => {
    let loss = target.mul(aten.log_sigmoid(x)).add(aten.rsub(target, 1).mul(aten.log_sigmoid(x.neg()))).neg();
    if (weight !== null) loss = loss.mul(weight);
    const classDim = x.dim() - 1;
    loss = loss.sum(classDim).div(x.shape[classDim]);
    return reduce(loss, reduction);
  });
}

// ---- channel dropout ----------------------------------------------------------------------------

export interface FeatureDropoutOptions {
  /** The probability of zeroing a channel. Default 0.5. */
  p?: number;
  /** Dropout happens only when true. Default true. */
  training?: boolean;
  /** Zero the input's channels in place (and return the input). Default false. */
  inplace?: boolean;
}

function featureDropout(label: string, args: unknown[], batchedRank: number, check: (x: Tensor) => void): Tensor {
  const a = pyArgs(label, args, ['input', 'p', 'training', 'inplace']);
  const x = checkTensor(a.input, 'input');
  const p = none(a.p) ? 0.5 : checkNumber(a.p, 'p');
  if (!(p >= 0 && p <= 1)) invalidArg('a probability in [0, 1]', 'p', p);
  const training = none(a.training) ? true : checkBool(a.training, 'training');
  const inplace = none(a.inplace) ? false : checkBool(a.inplace, 'inplace');
  check(x);
  const batched = x.dim() === batchedRank;
  if (inplace) {
    if (!batched) aten.unsqueeze_(x, 0);
    aten.feature_dropout_(x, p, training);
    if (!batched) {
      aten.squeeze_.dim(x, 0);
      x.clearMeta(); // the in-place unsqueeze_/squeeze_ went around the tensor's cached shape
    }
    return x;
  }
  if (batched) return aten.feature_dropout(x, p, training);
  return tidy(() => (aten.feature_dropout(x.unsqueeze(0), p, training) as Tensor).squeeze(0));
}

/**
 * Zeroes whole channels with probability p and scales the rest by 1 / (1 - p), PyTorch's
 * torch.nn.functional.dropout1d (aten::feature_dropout): input [N, C, L], or [C, L] unbatched.
 * Defaults: p 0.5, training true, inplace false.
 * @example const y = nn.functional.dropout1d(x, { p: 0.2, training: model.training });
 */
export function dropout1d(input: Tensor, opts?: FeatureDropoutOptions): Tensor;
export function dropout1d(input: Tensor, p?: number, training?: boolean, inplace?: boolean): Tensor;
export function dropout1d(...args: unknown[]): Tensor {
  return featureDropout('torch.nn.functional.dropout1d', args, 3, (x) => {
    if (x.dim() !== 2 && x.dim() !== 3) invalidArg('a 2-D or 3-D tensor ([C, L] or [N, C, L]: dropout1d drops channels of 1-D signals)', 'input', x);
  });
}

/**
 * Zeroes whole channels with probability p and scales the rest by 1 / (1 - p), PyTorch's
 * torch.nn.functional.dropout3d (aten::feature_dropout): input [N, C, D, H, W]; any other rank is
 * taken as unbatched, as PyTorch does (it warns unless the rank is 4, [C, D, H, W]).
 * Defaults: p 0.5, training true, inplace false.
 * @example const y = nn.functional.dropout3d(volumes, { p: 0.1 });
 */
export function dropout3d(input: Tensor, opts?: FeatureDropoutOptions): Tensor;
export function dropout3d(input: Tensor, p?: number, training?: boolean, inplace?: boolean): Tensor;
export function dropout3d(...args: unknown[]): Tensor {
  return featureDropout('torch.nn.functional.dropout3d', args, 5, (x) => {
    if (x.dim() !== 4 && x.dim() !== 5) {
      warnOnce(`dropout3d: Received a ${x.dim()}-D input to dropout3d, which is deprecated and will result in an error in a future release. `
        + 'To retain the behavior and silence this warning, please use dropout instead. Note that dropout3d exists to provide channel-wise '
        + 'dropout on inputs with 3 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).');
    }
  });
}
