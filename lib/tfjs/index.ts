/**
 * `torchrnn/tfjs`: a TensorFlow.js backend named `torch` that runs tfjs kernels on libtorch.
 *
 * @example
 * import * as tf from '@tensorflow/tfjs';   // or tfjs-core + tfjs-layers
 * import 'torchrnn/tfjs';
 * await tf.setBackend('torch');
 *
 * Importing registers the backend (priority 3, like tfjs-node's, so it becomes the default when
 * it is the highest registered) and its kernels, and routes tfjs-layers LSTM, GRU and
 * SimpleRNN layers to fused libtorch kernels when the backend is active (lib/tfjs/rnn.ts).
 * `@tensorflow/tfjs-core` (and, for the fused layers, `@tensorflow/tfjs-layers`) are optional
 * peer dependencies: install the versions your program uses (4.22.x is what this is tested with).
 *
 * Checked by tfjs-core's own shared test suite (`npm run test:tfjs`; the specs it skips are
 * listed with their reasons in test/tfjs/ignore.ts).
 *
 * Where this backend differs from tfjs's CPU backend (each on purpose, and documented here):
 * - Arithmetic runs in float32 (libtorch); tfjs's CPU backend computes many kernels in float64
 *   and rounds, so results may differ in the last bits (tfjs's own test tolerance is 1e-3).
 * - Casting float32 values outside the int32 range to int32 saturates/is implementation-defined
 *   in libtorch, where tfjs wraps modulo 2^32. NaN and ±Infinity become 0 in both.
 * - Multinomial draws from its own seeded generator: the same `seed` gives the same samples on
 *   this backend, but not the samples tfjs's CPU backend draws for that seed.
 * - String tensors live in JS (libtorch has no string type); data-movement kernels handle them
 *   through int32 position tensors, and string comparisons through ranks in JS string order.
 * - Slices and transposes are libtorch views of their input (no copy): the input's memory is
 *   freed when the last tensor viewing it is disposed. tf.memory() counts as tfjs defines it.
 * - `memory()` is reliable (`unreliable: false`) and adds `numTorchTensors`/`numTorchBytes`, the
 *   native totals of the whole process's torchrnn tensors.
 * - Kernels are queued on torchrnn's executor thread and return at once (the asynchronous mode,
 *   lib/tfjs/queue.ts; `tf.env().set('TORCH_ASYNC_KERNELS', false)` turns it off): `dataSync()`
 *   waits for the job that writes the tensor, `await data()` without blocking; an error only
 *   the running kernel sees is thrown when its result is read. `data()` of a small tensor whose
 *   data is there resolves at once (as on tfjs's CPU backend), otherwise it copies on the executor.
 * - Fused recurrent layers (lib/tfjs/rnn.ts): the gradient of tfjs's hardSigmoid is taken as 0
 *   at exactly y = 0 and y = 1 (tfjs's clipByValue passes it there): a measure-zero difference.
 *   tfjs's default orthogonal initializer needs tfjs-core's chained ops, which `@tensorflow/tfjs`
 *   registers (tfjs-core + tfjs-layers alone do not, on any backend).
 * - Not implemented: RaggedGather and RaggedTensorToTensor (ragged row-partition bookkeeping),
 *   and Draw (a browser canvas). Calling them throws tfjs's "kernel not registered" error.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TorchBackend } from './backend';
import { BACKEND, KERNEL_NAMES, KERNELS } from './kernels/common';
import './kernels/elementwise';
import './kernels/reduce';
import './kernels/shape';
import './kernels/nn';
import './kernels/image';
import './kernels/strings';
import { installFusedRecurrentLayers, fusedStats, useFusedLayers } from './rnn';
import { ASYNC_FLAG, asyncKernels, queueIdle, queueWaits, setQueueLimits, usePacedFit } from './queue';

export { TorchBackend };
export type { TensorData } from './backend';
export { fusedStats, useFusedLayers, ASYNC_FLAG, asyncKernels, queueIdle, queueWaits, setQueueLimits, usePacedFit };

/** The backend's name: `tf.setBackend('torch')`. */
export const BACKEND_NAME = BACKEND;

function register(): void {
  if (tf.findBackendFactory(BACKEND) === null || tf.findBackendFactory(BACKEND) === undefined) {
    tf.registerBackend(BACKEND, () => new TorchBackend(), 3);
  }
  for (const config of KERNELS) {
    if (tf.getKernel(config.kernelName, BACKEND) === undefined) tf.registerKernel(config);
  }
  installFusedRecurrentLayers();
  usePacedFit();
}
register();

/** The names of the tfjs kernels this backend implements. */
export function kernelNames(): string[] {
  return [...KERNEL_NAMES].sort();
}
