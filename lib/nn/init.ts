/**
 * torch.nn.init: fills a tensor in place (without recording autograd), as PyTorch's functions
 * do, with the same random calls in the same order, so after `torch.manualSeed(s)` the values
 * equal Python's after `torch.manual_seed(s)`. Gains follow PyTorch's `calculate_gain`; fans
 * its `_calculate_fan_in_and_fan_out` (dim 1 is the input, dim 0 the output, the rest the
 * receptive field).
 * @example torch.nn.init.kaimingUniform_(linear.weight, { a: Math.sqrt(5) });
 */
import '../api/generated/tensor'; // the aten methods used here (uniform_, normal_)
import { noGrad } from '../autograd';
import { eye } from '../creation';
import { invalidArg, TorchError } from '../errors';
import { checkTensor, Tensor } from '../tensor';
import { checkNumber, checkOptions, checkString } from '../validate';
import * as linalg from '../api/generated/linalg';

export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
const NONLINEARITIES: readonly Nonlinearity[] = ['linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'];

/** PyTorch's recommended gain for a nonlinearity (`param`: leaky_relu's negative slope, default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number | null): number {
  const n = checkString(nonlinearity, 'nonlinearity', NONLINEARITIES);
  switch (n) {
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param === undefined || param === null ? 0.01 : checkNumber(param, 'param');
      return Math.sqrt(2 / (1 + slope ** 2));
    }
    case 'selu': return 3 / 4;
    default: return 1;
  }
}

function fans(t: Tensor): [number, number] {
  if (t.dim() < 2) throw new TorchError('Fan in and fan out can not be computed for tensor with fewer than 2 dimensions', 'ERR_INVALID_ARG');
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

function target(tensor: unknown): Tensor {
  return checkTensor(tensor, 'tensor');
}

/** Fills with values from U(a, b) (defaults 0, 1). */
export function uniform_(tensor: Tensor, a = 0, b = 1): Tensor {
  const t = target(tensor);
  noGrad(() => t.uniform_(checkNumber(a, 'a'), checkNumber(b, 'b')));
  return t;
}

/** Fills with values from N(mean, std²) (defaults 0, 1). */
export function normal_(tensor: Tensor, mean = 0, std = 1): Tensor {
  const t = target(tensor);
  noGrad(() => t.normal_(checkNumber(mean, 'mean'), checkNumber(std, 'std')));
  return t;
}

/** Fills with `val`. */
export function constant_(tensor: Tensor, val: number): Tensor {
  const t = target(tensor);
  noGrad(() => t.fill_(checkNumber(val, 'val')));
  return t;
}
export function zeros_(tensor: Tensor): Tensor { return constant_(tensor, 0); }
export function ones_(tensor: Tensor): Tensor { return constant_(tensor, 1); }

/** A 2-D tensor becomes the identity matrix (ones on the diagonal, zeros elsewhere). */
export function eye_(tensor: Tensor): Tensor {
  const t = target(tensor);
  if (t.dim() !== 2) invalidArg('a 2-D tensor', 'tensor', t);
  noGrad(() => {
    const i = eye(t.shape[0], t.shape[1], { dtype: t.dtype });
    t.copy_(i);
    i.dispose();
  });
  return t;
}

/** Xavier/Glorot uniform: U(-a, a), a = gain·sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform_(tensor: Tensor, gain = 1): Tensor {
  const t = target(tensor);
  const [fanIn, fanOut] = fans(t);
  const std = checkNumber(gain, 'gain') * Math.sqrt(2 / (fanIn + fanOut));
  const a = Math.sqrt(3) * std;
  return uniform_(t, -a, a);
}

/** Xavier/Glorot normal: N(0, std²), std = gain·sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal_(tensor: Tensor, gain = 1): Tensor {
  const t = target(tensor);
  const [fanIn, fanOut] = fans(t);
  return normal_(t, 0, checkNumber(gain, 'gain') * Math.sqrt(2 / (fanIn + fanOut)));
}

export interface KaimingOptions {
  /** The negative slope of the rectifier after this layer (leaky_relu). Default 0. */
  a?: number;
  /** 'fan_in' (default: keeps the forward pass's variance) or 'fan_out' (the backward pass's), PyTorch's values. */
  mode?: 'fan_in' | 'fan_out';
  /** Default 'leaky_relu'. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, opts: KaimingOptions | undefined): number | null {
  const o = checkOptions<KaimingOptions>(opts, 'options', ['a', 'mode', 'nonlinearity']);
  const a = o.a === undefined ? 0 : checkNumber(o.a, 'a');
  const mode = o.mode === undefined ? 'fan_in' : checkString(o.mode, 'mode', ['fan_in', 'fan_out'] as const);
  const nonlinearity = o.nonlinearity ?? 'leaky_relu';
  if (t.numel() === 0) {
    process.emitWarning('Initializing zero-element tensors is a no-op', 'UserWarning');
    return null;
  }
  const [fanIn, fanOut] = fans(t);
  return calculateGain(nonlinearity, a) / Math.sqrt(mode === 'fan_in' ? fanIn : fanOut);
}

/** Kaiming/He uniform: U(-bound, bound), bound = gain·sqrt(3 / fan). */
export function kaimingUniform_(tensor: Tensor, opts?: KaimingOptions): Tensor {
  const t = target(tensor);
  const std = kaimingStd(t, opts);
  if (std === null) return t;
  const bound = Math.sqrt(3) * std;
  return uniform_(t, -bound, bound);
}

/** Kaiming/He normal: N(0, std²), std = gain / sqrt(fan). */
export function kaimingNormal_(tensor: Tensor, opts?: KaimingOptions): Tensor {
  const t = target(tensor);
  const std = kaimingStd(t, opts);
  if (std === null) return t;
  return normal_(t, 0, std);
}

/**
 * A (semi-)orthogonal matrix, as PyTorch's orthogonal_: the QR decomposition of a normal
 * matrix, signs fixed by R's diagonal, scaled by `gain`. Dimensions after the first are
 * flattened.
 */
export function orthogonal_(tensor: Tensor, gain = 1): Tensor {
  const t = target(tensor);
  if (t.dim() < 2) invalidArg('a tensor with 2 or more dimensions', 'tensor', t);
  const g = checkNumber(gain, 'gain');
  if (t.numel() === 0) return t;
  const rows = t.shape[0];
  const cols = t.numel() / rows;
  noGrad(() => {
    let flat = t.newEmpty([rows, cols]).normal_(0, 1);
    if (rows < cols) flat = flat.t();
    const [q0, r] = linalg.qr(flat);
    let q = q0.mul(r.diag(0).sign());
    if (rows < cols) q = q.t();
    t.view([...q.shape]).copy_(q);
    t.mul_(g);
  });
  return t;
}
