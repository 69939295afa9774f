/**
 * The only file that loads the native addon. Everything else imports `native` from here.
 * Lookup: scripts/load-addon.js (build/Release, then the prebuild matching this machine's libtorch).
 */
import * as path from 'path';
import { types } from 'util';
import { TorchError } from './errors';

/** An opaque native value (a JS external) that owns one libtorch tensor reference. */
export interface TensorHandle { readonly __brand: 'TensorHandle' }
/** Whether `x` is a tensor handle (natives return them inside arrays and objects too). */
export function isTensorHandle(x: unknown): x is TensorHandle { return types.isExternal(x); }
/** An opaque native object that owns one torch::nn module. */
export interface ModuleHandle { readonly __brand: 'ModuleHandle' }
type M = ModuleHandle;
/** An opaque native object that owns one torch::optim optimizer. */
export interface OptimizerHandle { readonly __brand: 'OptimizerHandle' }

/** torch.backends.cpu.mallocPolicy(): the C allocator's settings torchrnn applied (native/allocator.cc). */
export interface MallocPolicy {
  policy: 'torchrnn' | 'glibc-default' | 'user' | 'other';
  /** why torchrnn did not apply its thresholds ('' when it did) */
  reason: string;
  /** bytes; 0 when glibc's own (dynamic) threshold is in effect */
  mmapThreshold: number;
  trimThreshold: number;
  /** libtorch's CPU allocator with torchrnn's cache of large blocks (native/block_cache.cc) */
  largeBlocks: {
    /** installed (with policy 'torchrnn' only) */
    enabled: boolean;
    /** bytes: blocks from this size on are cached (0 when not enabled) */
    threshold: number;
    /** large allocations served from the cache / newly mapped */
    hits: number;
    misses: number;
    /** bytes of free blocks kept for reuse / of large blocks in use */
    cachedBytes: number;
    liveBytes: number;
  };
}
/** An opaque native object that owns one traced graph. */
export interface TracedHandle { readonly __brand: 'TracedHandle' }
/** An opaque native object that owns one TorchScript module. */
export interface ScriptHandle { readonly __brand: 'ScriptHandle' }
/** An opaque native object that owns one DistributedDataParallel Reducer. */
export interface DdpHandle { readonly __brand: 'DdpHandle' }
/** Options handed to distInit, validated and defaulted by lib/distributed. */
export interface NativeDistInitOptions {
  backend: 'gloo' | 'nccl'; store: 'tcp' | 'file'; host: string; port: number; path: string; rank: number; worldSize: number; timeout: number;
}
/** The recurrent module kinds (native/nn/rnn.cc's table): nn.RNN, nn.LSTM, nn.GRU and their cells. */
export type RecurrentKind = 'rnn' | 'lstm' | 'gru';
/** The optimizer kinds (native/optim/optimizer.cc's table); each has its class in lib/optim/optimizer.ts. */
export type OptimizerKind = 'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad';
/** A recurrent module's forward arguments (recurrentForward): a padded or unbatched input with
 * optional `lengths`, or a PackedSequence's parts in `packed`; null where not given. */
export interface NativeRecurrentArgs {
  input: TensorHandle | null; h0: TensorHandle | null; c0: TensorHandle | null; lengths: TensorHandle | null;
  packed: { data: TensorHandle; batchSizes: TensorHandle; sortedIndices: TensorHandle | null; unsortedIndices: TensorHandle | null } | null;
}
/** The fused training step's arguments (trainStepAsync), read natively before the job is queued. */
export interface NativeTrainStepArgs {
  /** A traced graph from (parameters..., inputs..., target) to the loss, or null with `loss`. */
  traced: TracedHandle | null;
  inputs: TensorHandle[];
  /** A loss computed on the JS thread (untraced models), or null. */
  loss: TensorHandle | null;
  optimizer: OptimizerHandle;
  groups: Record<string, unknown>[];
  /** Gradient clipping: maximum norm (0: none) and the norm's type. */
  maxNorm: number;
  normType: number;
  scaler: { scale: TensorHandle; growthTracker: TensorHandle; growthFactor: number; backoffFactor: number; growthInterval: number } | null;
  ddp: DdpHandle | null;
}
/** Options handed to createRecurrent/createCell, validated and defaulted by lib/nn. */
export interface NativeRnnOptions {
  inputSize: number; hiddenSize: number; numLayers: number; bias: boolean; batchFirst: boolean;
  dropout: number; bidirectional: boolean; nonlinearity: 'tanh' | 'relu'; projSize: number;
}
type H = TensorHandle;
type IndexSpec = [0, number] | [1, number | null, number | null, number | null] | [2] | [3] | [4, H] | [5, boolean];

/** [name, type, hasDefault, default, kwargOnly, writes, N] of one schema argument (native/ops.cc). */
export type NativeArgument = [string, string, boolean, unknown, boolean, boolean, number];
/** [name, type, writes] of one schema return. */
export type NativeReturn = [string, string, boolean];
/** [qualified name ('aten::topk'), overload ('' for the default), arguments, returns, isVararg]. */
export type NativeSchema = [string, string, NativeArgument[], NativeReturn[], boolean];

export interface NativeBinding {
  init(opts: { TorchError: typeof TorchError }): void;
  /** Stops the executor thread (process exit): the running job finishes, queued jobs are dropped. */
  stopExecutor(): void;
  // The classes of the native objects (nn/module.cc, optim/optimizer.cc, jit/trace.cc,
  // jit/script.cc). Natives make their instances; JS only passes them back.
  ModuleHandle: new () => ModuleHandle;
  OptimizerHandle: new () => OptimizerHandle;
  TracedHandle: new () => TracedHandle;
  ScriptHandle: new () => ScriptHandle;
  // tensor.cc
  fromData(data: ArrayBufferView, shape: number[], srcDtype: number, dstDtype: number, requiresGrad: boolean, device: string | null): H;
  dataSync(h: H): ArrayBufferView;
  dataAsync(h: H): Promise<ArrayBufferView>;
  meta(h: H): [number, number[], string];
  /** Writes [dtype, rank, ...shape] into `out` (room for 66 numbers); returns the rank. */
  metaInto(h: H, out: Float64Array): number;
  dispose(h: H): void;
  memory(): { tensors: number; bytes: number };
  index(h: H, specs: IndexSpec[]): H;
  setData(h: H, src: H): void;
  // ops.cc
  op(name: string, overload: string): number;
  /** Every operator in libtorch's dispatcher with its schema (lib/aten/schema.ts reads it). */
  schemas(): NativeSchema[];
  call(op: number, ...args: unknown[]): unknown;
  callInPlace(op: number, ...args: unknown[]): void;
  /** call() as a job on the executor thread. */
  callAsync(op: number, ...args: unknown[]): Promise<unknown>;
  // autograd.cc
  backward(h: H, grad: H | null, retainGraph: boolean, createGraph: boolean): void;
  backwardAsync(h: H, grad: H | null, retainGraph: boolean, createGraph: boolean): Promise<void>;
  grad(outputs: H[], inputs: H[], gradOutputs: (H | null)[] | null, retainGraph: boolean | null, createGraph: boolean, allowUnused: boolean): (H | null)[];
  setGradEnabled(enabled: boolean): void;
  isGradEnabled(): boolean;
  autogradInfo(h: H): [boolean, boolean, string | null];
  setRequiresGrad(h: H, value: boolean): void;
  getGrad(h: H): H | null;
  setGrad(h: H, grad: H | null): void;
  retainGrad(h: H): void;
  // runtime.cc
  manualSeed(seed: bigint): void;
  getRngState(): H;
  setRngState(state: H): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** the executor thread's count, after the jobs queued before it (tests) */
  getNumThreadsAsync(): Promise<number>;
  setFlushDenormal(mode: boolean): boolean;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudnnIsAvailable(): boolean;
  cudaSynchronize(device: number): void;
  cudnnFlags(): { enabled: boolean; benchmark: boolean; deterministic: boolean; allowTF32: boolean; version: number | null };
  setCudnnFlag(name: 'enabled' | 'benchmark' | 'deterministic' | 'allowTF32', value: boolean): void;
  /** helperChunks: gate-pass chunks computed on the helper thread so far; concurrentPairs: bidirectional layers whose directions ran at once; splitBatches: inference layers whose batch halves ran at once (native/nn/fused/row_helper.h, common.h) */
  fusedRnnFlags(): { enabled: boolean; auto: boolean; kernels: 'avx512' | 'avx2+fma' | 'baseline'; helperChunks: number; concurrentPairs: number; splitBatches: number };
  setFusedRnnAuto(on: boolean): void;
  mallocPolicy(): MallocPolicy;
  releaseMemory(): boolean;
  setFusedRnnEnabled(on: boolean): void;
  autocastState(): AutocastState;
  setAutocastState(state: AutocastState): void;
  buildInfo(): { libtorch: string; config: string; parallel: string };
  // nn/module.cc, nn/rnn.cc, nn/layers.cc
  moduleParameters(m: M): [string[], H[]];
  moduleTrain(m: M, mode: boolean): void;
  moduleTo(m: M, dtype: number | null, device: string | null): void;
  moduleForward(m: M, args: (H | null)[]): (H | null)[];
  moduleForwardAsync(m: M, args: (H | null)[]): Promise<(H | null)[]>;
  chainForwardAsync(ms: M[], input: H): Promise<H>;
  barrierAsync(): Promise<void>;
  createRecurrent(kind: RecurrentKind, opts: NativeRnnOptions): M;
  recurrentForward(m: M, args: NativeRecurrentArgs): (H | null)[];
  recurrentForwardAsync(m: M, args: NativeRecurrentArgs): Promise<(H | null)[]>;
  createCell(kind: RecurrentKind, opts: Pick<NativeRnnOptions, 'inputSize' | 'hiddenSize' | 'bias' | 'nonlinearity'>): M;
  createLinear(inFeatures: number, outFeatures: number, bias: boolean): M;
  createEmbedding(numEmbeddings: number, embeddingDim: number, paddingIdx: number | null): M;
  createDropout(p: number): M;
  createLayerNorm(normalizedShape: number[], eps: number, elementwiseAffine: boolean): M;
  // optim/optimizer.cc
  createOptimizer(kind: OptimizerKind, groups: { params: H[]; options: Record<string, unknown> }[]): OptimizerHandle;
  optimizerStep(o: OptimizerHandle, groups: Record<string, unknown>[]): void;
  optimizerStepAsync(o: OptimizerHandle, groups: Record<string, unknown>[]): Promise<void>;
  optimizerState(o: OptimizerHandle): (Record<string, H | number> | null)[];
  optimizerLoadState(o: OptimizerHandle, entries: (Record<string, H | number> | null)[]): void;
  /** fusedAdam: new Adam/AdamW take the one-pass step (TORCHRNN_FUSED_ADAM=0: libtorch's); kernel: its instruction set; fusedUpdates: parameter updates it made (native/optim/adam_fused.h) */
  optimizerKernels(): { fusedAdam: boolean; kernel: 'avx2+fma' | 'baseline'; fusedUpdates: number };
  // jit/trace.cc, train/step.cc
  trace(inputs: H[], fn: () => H[]): TracedHandle;
  tracedGraph(t: TracedHandle): string;
  tracedRun(t: TracedHandle, inputs: H[]): H[];
  tracedRunAsync(t: TracedHandle, inputs: H[]): Promise<H[]>;
  scriptLoad(path: string, device: string | null): ScriptHandle;
  scriptForward(s: ScriptHandle, args: unknown[]): unknown;
  scriptForwardAsync(s: ScriptHandle, args: unknown[]): Promise<unknown>;
  scriptTrain(s: ScriptHandle, mode: boolean): void;
  scriptParameters(s: ScriptHandle, recurse: boolean): [string[], H[]];
  scriptBuffers(s: ScriptHandle, recurse: boolean): [string[], H[]];
  scriptChildren(s: ScriptHandle): [string, ScriptHandle][];
  scriptIsTraining(s: ScriptHandle): boolean;
  scriptGraph(s: ScriptHandle): string;
  scriptSave(s: ScriptHandle, path: string): void;
  scriptSaveAsync(s: ScriptHandle, path: string): Promise<void>;
  // jit/export.cc
  tracedExport(t: TracedHandle, names: string[], tensors: H[], isBuffer: boolean[], modules: [string, string, boolean][], structure: unknown): ScriptHandle;
  trainStepAsync(args: NativeTrainStepArgs): Promise<number>;
  // distributed/process_group.cc, distributed/collectives.cc, distributed/ddp.cc
  distInit(opts: NativeDistInitOptions): void;
  distInfo(): [number, number, 'gloo' | 'nccl'] | null;
  distDestroy(): void;
  distBarrier(): void;
  distBarrierAsync(): Promise<void>;
  distAvailability(): { gloo: boolean; nccl: boolean };
  distIsDense(h: H): boolean;
  distAllReduce(h: H, op: string): void;
  distAllReduceAsync(h: H, op: string): Promise<void>;
  distBroadcast(h: H, src: number): void;
  distBroadcastAsync(h: H, src: number): Promise<void>;
  distAllGather(outputs: H[], input: H): void;
  distAllGatherAsync(outputs: H[], input: H): Promise<void>;
  distReduceScatter(output: H, inputs: H[], op: string): void;
  distReduceScatterAsync(output: H, inputs: H[], op: string): Promise<void>;
  ddpCreate(params: H[], bucketCapBytes: number, findUnusedParameters: boolean, gradientAsBucketView: boolean): DdpHandle;
  ddpPrepareForward(d: DdpHandle, sync: boolean): void;
  ddpPrepareBackward(d: DdpHandle, outputs: H[]): void;
  // tfjs/rnn.cc: the fused tfjs-layers recurrent kernels (lib/tfjs/rnn.ts). kind: 0 LSTM, 1 GRU,
  // 2 SimpleRNN; activations: 0 linear, 1 tanh, 2 sigmoid, 3 hardSigmoid, 4 relu; h0 / c0 null: zeros.
  /** → [sequence, h, c (LSTM) | null, what the gradient needs (when `save`) | null] */
  tfjsRecurrent(kind: number, x: H, h0: H | null, c0: H | null, kernel: H, recurrentKernel: H, bias: H | null,
    activation: number, recurrentActivation: number, goBackwards: boolean, save: boolean, mask: H | null): [H, H, H | null, H[] | null];
  /** true when tfjsRecurrent takes its `mask` argument and null initial states (an addon built before masks lacks both) */
  tfjsRecurrentMasks?: boolean;
  /** → [dProjection, dh0, dc0 (LSTM) | null, dKernel, dRecurrentKernel, dBias | null] */
  tfjsRecurrentBackward(kind: number, saved: H[], kernel: H, recurrentKernel: H, hasBias: boolean, activation: number,
    recurrentActivation: number, goBackwards: boolean, dSequence: H, dH: H, dC: H | null): [H, H, H | null, H, H, H | null];
  /** The input's gradient from the projection's, in the input's own time order. */
  tfjsRecurrentInputGrad(dProjection: H, kernel: H, goBackwards: boolean): H;
  // The queued forms (the tfjs backend's asynchronous mode, lib/tfjs/queue.ts): return at once,
  // run on the executor. The forward's saved state stays native (a SavedState, released by
  // tfjsRecurrentRelease); the gradient takes it or an array of handles.
  tfjsRecurrentQueued(kind: number, x: H, h0: H | null, c0: H | null, kernel: H, recurrentKernel: H, bias: H | null,
    activation: number, recurrentActivation: number, goBackwards: boolean, save: boolean, mask: H | null): [H, H, H | null, SavedState | null];
  tfjsRecurrentBackwardQueued(kind: number, saved: SavedState | H[], kernel: H, recurrentKernel: H, hasBias: boolean, activation: number,
    recurrentActivation: number, goBackwards: boolean, dSequence: H, dH: H, dC: H | null): [H, H, H | null, H, H, H | null];
  tfjsRecurrentInputGradQueued(dProjection: H, kernel: H, goBackwards: boolean): H;
  tfjsRecurrentRelease(saved: SavedState): void;
  // queue.cc: queued kernels (lib/tfjs/queue.ts)
  /** call()'s arguments and results; the data is written by a job on the executor (see native/queue.h). */
  callQueued(op: number, ...args: unknown[]): unknown;
  /** Where callQueued writes its result's [dtype, rank, ...shape] (rank -1: not one tensor). */
  setMetaBuffer(out: Float64Array): void;
  /** Whether no queued job still writes h's data. */
  isReady(h: H): boolean;
  /** h's values once the job that writes them has run (not the whole queue). */
  readReady(h: H): ArrayBufferView;
  /** h's values: at once when ready and small, else copied on the executor after every queued job. */
  readQueued(h: H): Promise<ArrayBufferView>;
  /** Resolves when every job queued so far has run. */
  queueFence(): Promise<void>;
  /** [jobs submitted, jobs run] by this environment's executor. */
  queueState(): [number, number];
  /** The bounds of queued (promise-less) jobs: how many, and the bytes of their outputs. */
  setQueueLimits(jobs: number, bytes: number): void;
  /** The operators callQueued ran after waiting for queued jobs, with how often. */
  queueWaits(): Record<string, number>;
}

/** What a queued recurrent forward saved for its gradient (native, opaque). */
export type SavedState = { readonly __savedState: unique symbol };

export type { IndexSpec };

/** libtorch's per-thread autocast state (dtypes as ScalarType codes). */
export interface AutocastState { cpu: boolean; cuda: boolean; cpuDtype: number; cudaDtype: number; cache: boolean }

const ROOT = path.join(__dirname, '..');

/** Which addon binary was loaded: its path, and whether it is a local build or a prebuild. */
export let addonInfo: { file: string; kind: 'build' | 'prebuild' } = { file: '', kind: 'build' };

function load(): NativeBinding {
  let binding: NativeBinding;
  try {
    // scripts/load-addon.js (shipped in the package) picks build/Release or the prebuild that
    // matches the libtorch on this machine; the install script and `torchrnn doctor` share it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { loadAddon } = require(path.join(ROOT, 'scripts', 'load-addon.js')) as { loadAddon(root: string): { binding: NativeBinding; file: string; kind: 'build' | 'prebuild' } };
    const r = loadAddon(ROOT);
    binding = r.binding;
    addonInfo = { file: r.file, kind: r.kind };
  } catch (err) {
    throw new TorchError(err instanceof Error ? err.message : String(err), 'ERR_LIBTORCH_NOT_FOUND');
  }
  binding.init({ TorchError });
  // process.exit() runs no native cleanup: stop the executor thread (the running job finishes,
  // queued ones are dropped) before exit() tears libtorch down under it.
  process.once('exit', () => binding.stopExecutor());
  return binding;
}

export const native: NativeBinding = load();

/**
 * The dispatcher index of the libtorch operator `aten::<name>.<overload>` ('' for the default
 * overload). Look it up once (a module-level table) and run it with `native.call(id, ...)`.
 * @example const ADD = atenOp('add', 'Tensor'); native.call(ADD, a, b, 1);
 */
export function atenOp(name: string, overload = ''): number {
  return native.op(`aten::${name}`, overload);
}
