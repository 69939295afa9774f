/**
 * `torchrnn/tfjs`: a TensorFlow.js backend named `torch` that runs tfjs kernels on libtorch, and a
 * drop-in for `@tensorflow/tfjs-node`'s module.
 *
 * @example
 * const tf = require('torchrnn/tfjs');      // was: require('@tensorflow/tfjs-node')
 * const model = tf.sequential();             // tfjs-layers, tf.node.decodeImage, file:// ... as before
 *
 * @example
 * import * as tf from '@tensorflow/tfjs';   // or tfjs-core + tfjs-layers
 * import 'torchrnn/tfjs';
 * await tf.setBackend('torch');
 *
 * The module is what tfjs-node's is (tfjs-node/src/index.ts): everything `@tensorflow/tfjs-core`
 * exports, everything `@tensorflow/tfjs-layers` and `@tensorflow/tfjs-converter` export when they
 * are installed (optional peers: the module loads without them, their names are then undefined),
 * and when `@tensorflow/tfjs` (the union) is installed it is loaded first, as tfjs-node loads it,
 * and its other names (`data`, the cpu backend's) come too. Then tfjs-node's additions: `tf.node`
 * (lib/tfjs/node.ts), `tf.io` with `fileSystem`, `nodeFileSystemRouter` and `nodeHTTPRequest`, and
 * `tf.version` with a `torchrnn` entry. Importing registers the backend (priority 3, like
 * tfjs-node's) and makes it the active one unless the program chose a backend before (tfjs-node
 * sets its own at import), registers its kernels, tfjs-node's `file://` routers, and routes
 * tfjs-layers LSTM, GRU and SimpleRNN layers to fused libtorch kernels when the backend is active
 * (lib/tfjs/rnn.ts).
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
 *   native totals of the whole process's torchrnn tensors, and `numTensorsInJs`/`numBytesInJs`.
 * - Add, Sub, Multiply and RealDiv of small (≤ 64 elements) float32 tensors, or int32 ones
 *   (not RealDiv), are computed in JS when their inputs' data is there (kernels/small.ts:
 *   libtorch's bits, no native call); the result gets a libtorch tensor when a libtorch kernel
 *   takes it, and until then counts in `numTensorsInJs`/`numBytesInJs`, not `numTorch*`.
 *   TORCHRNN_TFJS_SMALL=0 turns this off.
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
import { installChainedOps } from './chained-ops';
import { BACKEND, KERNEL_NAMES, KERNELS } from './kernels/common';
import './kernels/elementwise';
import './kernels/reduce';
import './kernels/shape';
import './kernels/nn';
import './kernels/image';
import './kernels/strings';
import { installFusedRecurrentLayers, fusedStats, useFusedLayers } from './rnn';
import { ASYNC_FLAG, asyncKernels, queueIdle, queueWaits, setQueueLimits, usePacedFit } from './queue';
import { registerFileSystemHandlers } from './io-file';

import type * as Layers from '@tensorflow/tfjs-layers';
import type * as Converter from '@tensorflow/tfjs-converter';
import { fileSystem, nodeFileSystemRouter } from './io-file';
import { node } from './node';

export { TorchBackend };
export type { TensorData } from './backend';
export { fusedStats, useFusedLayers, ASYNC_FLAG, asyncKernels, queueIdle, queueWaits, setQueueLimits, usePacedFit };

// ---- tfjs-node's module: tfjs-core, tfjs-layers, tfjs-converter (the union when installed) -------

/** `require(name)`, or undefined when that package is not installed (errors inside it still throw). */
function optional<T>(name: string): T | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'MODULE_NOT_FOUND' && err.message.includes(`'${name}'`)) return undefined;
    throw e;
  }
}

// Loaded before register() below, which routes the recurrent layers of every tfjs-layers loaded.
const union = optional<Record<string, unknown>>('@tensorflow/tfjs');
const layers_ = optional<typeof Layers>('@tensorflow/tfjs-layers');
const converter = optional<typeof Converter>('@tensorflow/tfjs-converter');
const data_ = (union?.data ?? optional<Record<string, unknown>>('@tensorflow/tfjs-data')) as Record<string, unknown> | undefined;

export * from '@tensorflow/tfjs-core';
// Types of the optional packages (erased at run time); their values follow, one line each.
export type * from '@tensorflow/tfjs-layers';
export type * from '@tensorflow/tfjs-converter';

/* eslint-disable @typescript-eslint/no-redeclare */
export const Callback = layers_?.Callback as typeof Layers.Callback;
export type Callback = Layers.Callback;
export const CallbackList = layers_?.CallbackList as typeof Layers.CallbackList;
export type CallbackList = Layers.CallbackList;
export const CustomCallback = layers_?.CustomCallback as typeof Layers.CustomCallback;
export type CustomCallback = Layers.CustomCallback;
export const EarlyStopping = layers_?.EarlyStopping as typeof Layers.EarlyStopping;
export type EarlyStopping = Layers.EarlyStopping;
export const History = layers_?.History as typeof Layers.History;
export type History = Layers.History;
export const InputSpec = layers_?.InputSpec as typeof Layers.InputSpec;
export type InputSpec = Layers.InputSpec;
export const LayerVariable = layers_?.LayerVariable as typeof Layers.LayerVariable;
export type LayerVariable = Layers.LayerVariable;
export const LayersModel = layers_?.LayersModel as typeof Layers.LayersModel;
export type LayersModel = Layers.LayersModel;
export const RNN = layers_?.RNN as typeof Layers.RNN;
export type RNN = Layers.RNN;
export const Sequential = layers_?.Sequential as typeof Layers.Sequential;
export type Sequential = Layers.Sequential;
export const SymbolicTensor = layers_?.SymbolicTensor as typeof Layers.SymbolicTensor;
export type SymbolicTensor = Layers.SymbolicTensor;
export const callbacks = layers_?.callbacks as typeof Layers.callbacks;
export const constraints = layers_?.constraints as typeof Layers.constraints;
export const initializers = layers_?.initializers as typeof Layers.initializers;
export const input = layers_?.input as typeof Layers.input;
export const layers = layers_?.layers as typeof Layers.layers;
/** The classes tf.layers holds, as types (`x: tf.layers.Layer`). */
export declare namespace layers {
  type Layer = Layers.layers.Layer;
  type RNN = Layers.layers.RNN;
  type RNNCell = Layers.layers.RNNCell;
}
export const loadLayersModel = layers_?.loadLayersModel as typeof Layers.loadLayersModel;
export const metrics = layers_?.metrics as typeof Layers.metrics;
export const model = layers_?.model as typeof Layers.model;
export const models = layers_?.models as typeof Layers.models;
export const registerCallbackConstructor = layers_?.registerCallbackConstructor as typeof Layers.registerCallbackConstructor;
export const regularizers = layers_?.regularizers as typeof Layers.regularizers;
export const sequential = layers_?.sequential as typeof Layers.sequential;
export const version_layers = layers_?.version_layers as typeof Layers.version_layers;

export const GraphModel = converter?.GraphModel as typeof Converter.GraphModel;
export type GraphModel<ModelURL extends string | tf.io.IOHandler | tf.io.IOHandlerSync = string | tf.io.IOHandler> = Converter.GraphModel<ModelURL>;
export const deregisterOp = converter?.deregisterOp as typeof Converter.deregisterOp;
export const loadGraphModel = converter?.loadGraphModel as typeof Converter.loadGraphModel;
export const loadGraphModelSync = converter?.loadGraphModelSync as typeof Converter.loadGraphModelSync;
export const registerOp = converter?.registerOp as typeof Converter.registerOp;
export const version_converter = converter?.version_converter as typeof Converter.version_converter;

/**
 * `tf.data` (tfjs-data) when `@tensorflow/tfjs` or `@tensorflow/tfjs-data` is installed. Typed
 * loosely: tfjs-data is no dependency of torchrnn, so its types are not at hand here.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const data = data_ as any;

/** tfjs-node's `tf.io`: tfjs-core's, plus the `file://` handler and tfjs-node's HTTP handler. */
export const io = {
  ...tf.io,
  fileSystem,
  nodeFileSystemRouter,
  /** tfjs-node's nodeHTTPRequest: tfjs-core's http handler (Node's fetch). */
  nodeHTTPRequest(path: string, requestInit?: RequestInit, weightPathPrefix?: string): tf.io.IOHandler {
    return tf.io.browserHTTPRequest(path, { requestInit, weightPathPrefix });
  },
};
/** The types of tfjs-core's tf.io, so `tf.io.IOHandler` names a type here as it does there. */
export declare namespace io {
  type CompositeArrayBuffer = tf.io.CompositeArrayBuffer;
  type IOHandler = tf.io.IOHandler;
  type IOHandlerSync = tf.io.IOHandlerSync;
  type LoadHandler = tf.io.LoadHandler;
  type LoadOptions = tf.io.LoadOptions;
  type ModelArtifacts = tf.io.ModelArtifacts;
  type ModelArtifactsInfo = tf.io.ModelArtifactsInfo;
  type ModelJSON = tf.io.ModelJSON;
  type ModelStoreManager = tf.io.ModelStoreManager;
  type OnProgressCallback = tf.io.OnProgressCallback;
  type RequestDetails = tf.io.RequestDetails;
  type SaveConfig = tf.io.SaveConfig;
  type SaveHandler = tf.io.SaveHandler;
  type SaveResult = tf.io.SaveResult;
  type TrainingConfig = tf.io.TrainingConfig;
  type WeightData = tf.io.WeightData;
  type WeightGroup = tf.io.WeightGroup;
  type WeightsManifestConfig = tf.io.WeightsManifestConfig;
  type WeightsManifestEntry = tf.io.WeightsManifestEntry;
}
/* eslint-enable @typescript-eslint/no-redeclare */

/** tfjs-node's `tf.version` (the tfjs packages' versions), with `torchrnn`'s instead of `tfjs-node`'s. */
export const version: { readonly [name: string]: string } = {
  ...(union?.version as Record<string, string> | undefined),
  'tfjs-core': tf.version_core,
  ...(layers_ ? { 'tfjs-layers': layers_.version_layers } : {}),
  ...(converter ? { 'tfjs-converter': converter.version_converter } : {}),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  torchrnn: (require('../../package.json') as { version: string }).version,
};

export { node };

// The union's other names (tfjs-backend-cpu's, tfjs-backend-webgl's), as tfjs-node re-exports them.
if (union !== undefined) {
  for (const name of Object.keys(union)) {
    if (!(name in module.exports)) Object.defineProperty(module.exports, name, { enumerable: true, get: () => union[name] });
  }
}

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
// tfjs-node's file:// save and load routers (lib/tfjs/io-file.ts).
registerFileSystemHandlers();
// The chained tensor methods tfjs-node programs (and tfjs-layers) call (lib/tfjs/chained-ops.ts).
installChainedOps();
// tfjs-node makes its backend the active one at import; so does this module, unless the program
// chose a backend before (a synchronous backend is set before setBackend's promise resolves).
if (!tf.engine().backendName) void tf.setBackend(BACKEND);

/** The names of the tfjs kernels this backend implements. */
export function kernelNames(): string[] {
  return [...KERNEL_NAMES].sort();
}
