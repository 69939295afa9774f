/**
 * The asynchronous mode of the `torch` backend, as tfjs's WebGL backend is on a GPU: a kernel is
 * queued on torchrnn's executor thread in call order and returns at once with its output's
 * shape and dtype (computed without running it: native/queue.h); only synchronous reads
 * (`dataSync`, `arraySync`) wait, for the job that writes the tensor they read; `await data()`
 * waits without blocking the event loop. On by default; `tf.env().set('TORCH_ASYNC_KERNELS',
 * false)` (or TORCHRNN_TFJS_ASYNC=0 in the environment) runs every kernel synchronously.
 *
 * Pacing `model.fit`: tfjs-layers' fit loop awaits only its callbacks, so a queue that nobody
 * reads would run ahead by the whole epoch (and hold every batch's tensors). A callback
 * registered with tfjs-layers (`registerCallbackConstructor`, level 0: every fit) awaits, at
 * the end of each batch, the previous batch's jobs and one turn of the event loop: the executor
 * always has the next batch queued, the JS thread is one batch ahead, and while it waits the
 * event loop runs.
 * Elsewhere (a loop that never awaits) the executor's own bounds hold (setQueueLimits).
 */
import * as tf from '@tensorflow/tfjs-core';
import { native } from '../binding';
import { checkInt } from '../validate';
import { ASYNC_FLAG } from './torch';

export { ASYNC_FLAG };

/** Whether kernels of the `torch` backend are queued now. */
export function asyncKernels(): boolean {
  return tf.getBackend() === 'torch' && (tf.env().getBool(ASYNC_FLAG) as boolean);
}

/** Resolves when every kernel queued so far has run (a no-op when nothing is queued). */
export function queueIdle(): Promise<void> {
  const [submitted, finished] = native.queueState();
  return submitted === finished ? Promise.resolve() : native.queueFence();
}

const DEFAULT_LIMITS = { jobs: 8192, bytes: 2 ** 30 };

/**
 * Bounds the queue: when more than `jobs` kernels, or kernels whose outputs hold more than
 * `bytes`, wait to run, the JS thread waits until the executor has run a quarter of them.
 * Defaults: 8192 kernels, 1 GiB. (model.fit keeps at most two batches queued regardless.)
 * @example setQueueLimits({ bytes: 256 * 2 ** 20 })
 */
export function setQueueLimits(limits: { jobs?: number; bytes?: number }): void {
  const jobs = checkInt(limits.jobs ?? DEFAULT_LIMITS.jobs, 'limits.jobs', { min: 1 });
  const bytes = checkInt(limits.bytes ?? DEFAULT_LIMITS.bytes, 'limits.bytes', { min: 1 });
  native.setQueueLimits(jobs, bytes);
}

/**
 * The libtorch operators that ran on the JS thread after waiting for queued jobs, with how
 * often: what still blocks in the asynchronous mode (operators without a meta kernel or shape
 * rule, data-dependent results, written arguments, gradients through libtorch's autograd).
 */
export function queueWaits(): Record<string, number> {
  return native.queueWaits();
}

/** The fit() callback: one batch's jobs in flight while the next batch is queued (at most two batches queued). */
class QueuePacer {
  private previous: Promise<void> | null = null;
  // tfjs-layers' BaseCallback interface (CallbackList calls each of these).
  validationData = null;
  model: unknown = null;
  params: unknown = null;
  setParams(params: unknown): void { this.params = params; }
  setModel(model: unknown): void { this.model = model; }
  async onTrainBegin(): Promise<void> {
    // Jobs left from before this fit (the last fit's final batch): the first batch's end waits
    // for them, so the queue never holds more than two batches.
    this.previous = asyncKernels() ? queueIdle() : null;
  }
  async onTrainEnd(): Promise<void> { this.previous = null; }
  async onEpochBegin(): Promise<void> {}
  async onEpochEnd(): Promise<void> {}
  async onBatchBegin(): Promise<void> {}
  async onBatchEnd(): Promise<void> {
    if (!asyncKernels()) {
      this.previous = null;
      return;
    }
    const previous = this.previous;
    this.previous = native.queueFence();
    // A turn of the event loop even when the previous batch is done already (a small model
    // whose jobs run faster than JS queues them): `await` of a settled promise would not yield.
    await Promise.all([previous, nextTurn()]);
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => { setImmediate(resolve); });
}

const PACED = Symbol.for('torchrnn.tfjs.queuePacer');
const LAYERS_FILE = /[\\/]@tensorflow[\\/]tfjs-layers[\\/]dist[\\/]tf-layers\.node\.js$/;

/**
 * Registers the pacing callback with a tfjs-layers module (every copy loaded so far when called
 * without one). Idempotent.
 * @example usePacedFit(require('@tensorflow/tfjs-layers'))
 */
export function usePacedFit(layersModule?: unknown): void {
  if (layersModule === undefined) {
    if (typeof require === 'undefined' || require.cache === undefined) return;
    for (const [file, mod] of Object.entries(require.cache)) {
      if (mod !== undefined && LAYERS_FILE.test(file)) usePacedFit(mod.exports);
    }
    return;
  }
  const layers = layersModule as { registerCallbackConstructor?: (level: number, ctor: unknown) => void; [PACED]?: boolean };
  if (typeof layers?.registerCallbackConstructor !== 'function' || layers[PACED]) return;
  try {
    layers.registerCallbackConstructor(0, QueuePacer);
    Object.defineProperty(layers, PACED, { value: true });
  } catch {
    // already registered (tfjs-layers refuses a duplicate), or a frozen module namespace
  }
}
