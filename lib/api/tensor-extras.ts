/**
 * Tensor methods that PyTorch writes in Python rather than as one aten operator, by hand:
 * the dtype shorthands (`x.float()`, `x.long()`, ...), `x.cpu()`, and the transpose getters
 * `x.T`, `x.mT`, `x.H`, `x.mH` (torchrnn's dtypes are real, so H and mH equal T and mT).
 */
import type { DType } from '../dtype';
import { TorchError } from '../errors';
import { Tensor } from '../tensor';

declare module '../tensor' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface Tensor<D extends DType = DType> {
    /** `x.to('float32')` */ float(): Tensor<'float32'>;
    /** `x.to('float64')` */ double(): Tensor<'float64'>;
    /** `x.to('float16')` */ half(): Tensor<'float16'>;
    /** `x.to('bfloat16')` */ bfloat16(): Tensor<'bfloat16'>;
    /** `x.to('int32')` */ int(): Tensor<'int32'>;
    /** `x.to('int64')` */ long(): Tensor<'int64'>;
    /** `x.to('int16')` */ short(): Tensor<'int16'>;
    /** `x.to('int8')` */ char(): Tensor<'int8'>;
    /** `x.to('uint8')` */ byte(): Tensor<'uint8'>;
    /** `x.to('bool')` */ bool(): Tensor<'bool'>;
    /** `x.to('cpu')` */ cpu(): Tensor<D>;
    /** The dimensions reversed (PyTorch's `x.T`; for 2-D, the transpose). */
    readonly T: Tensor<D>;
    /** The last two dimensions swapped (PyTorch's `x.mT`). */
    readonly mT: Tensor<D>;
    /** The conjugate transpose; for real tensors, `x.T`. */
    readonly H: Tensor<D>;
    /** The conjugate transpose of the last two dimensions; for real tensors, `x.mT`. */
    readonly mH: Tensor<D>;
  }
}

const SHORTHANDS: Record<string, DType> = {
  float: 'float32', double: 'float64', half: 'float16', bfloat16: 'bfloat16', int: 'int32',
  long: 'int64', short: 'int16', char: 'int8', byte: 'uint8', bool: 'bool',
};

const proto = Tensor.prototype as unknown as Record<string, unknown>;
for (const [name, dtype] of Object.entries(SHORTHANDS)) {
  Object.defineProperty(proto, name, { value: function (this: Tensor) { return this.to(dtype); }, writable: true, configurable: true });
}
Object.defineProperty(proto, 'cpu', { value: function (this: Tensor) { return this.to('cpu'); }, writable: true, configurable: true });

function reversed(t: Tensor): Tensor {
  return t.permute([...Array(t.dim()).keys()].reverse());
}
function lastTwo(t: Tensor): Tensor {
  // PyTorch: a 0-D tensor is its own (matrix) transpose; 1-D is refused
  if (t.dim() === 0) return t.view([]);
  if (t.dim() === 1) throw new TorchError('tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.', 'ERR_TORCH');
  return t.transpose(-2, -1);
}
for (const [name, f] of [['T', reversed], ['H', reversed], ['mT', lastTwo], ['mH', lastTwo]] as const) {
  Object.defineProperty(proto, name, { get(this: Tensor) { return f(this); }, configurable: true });
}
