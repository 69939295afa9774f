/**
 * torchrnn: PyTorch's tensors, autograd and recurrent networks for Node.js, on libtorch.
 * @example
 * import * as torch from 'torchrnn';
 * const x = torch.tensor([[1, 2], [3, 4]], { dtype: 'float32', requiresGrad: true });
 * const y = x.mul(x).sum();
 * y.backward();
 * console.log(x.grad?.toString()); // tensor([[2., 4.], [6., 8.]])
 */
import './ops';
import './api/tensor-extras';
import './api/generated/tensor';

export { TorchError } from './errors';
export type { ErrorCode } from './errors';
export type { DType, DataFor, ScalarFor } from './dtype';
export type { Device } from './validate';
export { Tensor, tidy, keep, memory } from './tensor';
export { where, cat, stack } from './ops';
export type { IndexArg } from './ops';
export { ops } from './aten/ops-namespace';
// PyTorch's torch.*, torch.linalg/special/fft functions, generated from libtorch's schemas
// (scripts/gen-api/). The generator skips every name written by hand (named exports above and
// below, and torch-python's, which must come before the generated module: with `export *`,
// the first module that exports a name wins).
export * from './api/torch-python';
export * from './api/generated/torch';
export * as linalg from './api/generated/linalg';
export * as special from './api/generated/special';
export * as fft from './api/generated/fft';
export type { Ops, OpNamespace, OpPacket, OpOverload } from './aten/ops-namespace';
export {
  tensor, fromBuffer, zeros, ones, full, arange, linspace, eye, rand, randn, randint, zerosLike, onesLike, randnLike,
} from './creation';
export type { TensorOptions } from './creation';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, autograd } from './autograd';
export type { GradOptions } from './autograd';
export { manualSeed, getRngState, setRngState, setNumThreads, getNumThreads, setFlushDenormal, cuda, backends, buildInfo } from './runtime';
export type { MallocPolicy } from './binding';
export { autocast, isAutocastEnabled, GradScaler } from './amp';
export type { AutocastOptions, GradScalerOptions, GradScalerStateDict } from './amp';
export * as amp from './amp';
export * as nn from './nn';
export * as optim from './optim';
export * as jit from './jit';
export { trainStep, fit, evaluate, predict, earlyStopping, modelCheckpoint, latestCheckpoint, tensorBoard } from './train';
export type { TrainStep, TrainStepOptions, FitOptions, History, Callback, Logs, TensorBoardOptions } from './train';
export * as checkpoint from './train/training-checkpoint';
export * as data from './data';
export * as distributed from './distributed';
// torch.utils.tensorboard.SummaryWriter
export * as utils from './utils';
export { save, saveAsync, load, loadAsync } from './serialization';
export type { SaveOptions } from './serialization';
