/** nn.utils: gradient clipping, as torch.nn.utils (1.13); nn.utils.rnn: packed sequences. */
import { atenOp, native, TensorHandle } from '../binding';
import { noGrad } from '../autograd';
import { invalidArg, TorchError } from '../errors';
import { checkTensor, Tensor, wrap } from '../tensor';
import { checkBool, checkOptions } from '../validate';

export * as rnn from './packed';

const NORM = atenOp('norm', 'Scalar');
const STACK = atenOp('stack');

function grads(parameters: Tensor | Tensor[]): Tensor[] {
  const ps = parameters instanceof Tensor ? [parameters] : parameters;
  if (!Array.isArray(ps)) invalidArg('a Tensor or an array of Tensors', 'parameters', parameters);
  return ps.map((p, i) => checkTensor(p, `parameters[${i}]`).grad).filter((g): g is Tensor => g !== null);
}

/**
 * Scales the gradients so that their total norm (all gradients as one vector) is at most
 * maxNorm; returns the total norm before clipping. normType: a number or Infinity (default 2).
 * @example torch.nn.utils.clipGradNorm_(model.parameters(), 1.0);
 */
export function clipGradNorm_(parameters: Tensor | Tensor[], maxNorm: number, opts?: { normType?: number; errorIfNonfinite?: boolean }): Tensor {
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) invalidArg('a number >= 0', 'maxNorm', maxNorm);
  const o = checkOptions<{ normType: number; errorIfNonfinite: boolean }>(opts, 'options', ['normType', 'errorIfNonfinite']);
  const normType = o.normType === undefined ? 2 : o.normType;
  if (typeof normType !== 'number' || Number.isNaN(normType)) invalidArg('a number or Infinity', 'normType', normType);
  const errorIfNonfinite = o.errorIfNonfinite === undefined ? false : checkBool(o.errorIfNonfinite, 'errorIfNonfinite');
  const gs = grads(parameters);
  if (gs.length === 0) return wrap(native.call(atenOp('scalar_tensor'), 0));
  return noGrad(() => {
    const norms = gs.map((g) => (normType === Infinity ? g.abs().max() : wrap(native.call(NORM, g.handle(), normType))));
    const total = normType === Infinity
      ? (norms.length === 1 ? norms[0] : wrap(native.call(STACK, norms.map((n) => n.handle()), 0)).max())
      : wrap(native.call(NORM, native.call(STACK, norms.map((n) => n.handle()), 0) as TensorHandle, normType));
    const t = total.item() as number;
    if (errorIfNonfinite && !Number.isFinite(t)) {
      throw new TorchError(`The total norm of order ${normType} for gradients from parameters is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set errorIfNonfinite to false`, 'ERR_TORCH');
    }
    // max_norm / (total + 1e-6) in Python is (total + 1e-6).reciprocal() * max_norm
    const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1.0);
    for (const g of gs) g.mul_(coef);
    return total;
  });
}

/** Clamps every gradient element into [-clipValue, clipValue]. */
export function clipGradValue_(parameters: Tensor | Tensor[], clipValue: number): void {
  if (typeof clipValue !== 'number' || !Number.isFinite(clipValue)) invalidArg('a finite number', 'clipValue', clipValue);
  noGrad(() => { for (const g of grads(parameters)) g.clamp_(-clipValue, clipValue); });
}
