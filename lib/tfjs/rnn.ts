/**
 * Fused tfjs-layers recurrent layers on the `torch` backend.
 *
 * tfjs-layers runs LSTM, GRU and SimpleRNN as a TypeScript loop over time steps (a dozen
 * kernels per step, forward and backward). On the `torch` backend a layer's `call` is routed
 * instead to one forward kernel per layer (`TorchLSTM`, `TorchGRU`, `TorchSimpleRNN`: one native
 * call, native/tfjs/rnn.cc) and one gradient kernel (`TorchLSTMGrad`, …: one native call that
 * backpropagates through time over the activations the forward saved), with tfjs's own
 * equations and weight layout, so trained weights, saved models and loss curves are those of
 * the per-step path. An unmasked LSTM with tanh/sigmoid that is not being differentiated runs
 * libtorch's own at::lstm.
 *
 * Masks (a `Masking` layer, `maskZero` embeddings, or a `mask` passed to `apply`) are fused too,
 * with tfjs-layers' rnn() semantics: at a step where a row's mask is 0 the row keeps its states
 * and its output repeats the previous output (the initial state before its first unmasked
 * step); under goBackwards the mask is reversed with the input; the gradient passes through a
 * masked step to the one before it. The mask itself gets a zero gradient (tfjs-layers' per-step
 * path would give it one through its float multiplications; a mask comes from data, and the
 * ops that make one, NotEqual and Any, have no gradient in tfjs).
 *
 * Used when: the backend is `torch`; the layer is tfjs-layers' own LSTM/GRU/SimpleRNN with its
 * own cell; activation and recurrentActivation are each one of linear, tanh, sigmoid,
 * hardSigmoid, relu; the mask, if any, is one tensor of shape [batch, time] or [batch, time, 1];
 * dropout and recurrentDropout are 0 or the call is not training; the input is a 3-D float32
 * tensor. Anything else (active dropout, other activations, other mask shapes, custom cells,
 * StackedRNNCells) takes tfjs-layers' per-step path, unchanged. initialState, stateful layers,
 * returnState, returnSequences and goBackwards are supported, with and without masks.
 *
 * In the asynchronous mode (lib/tfjs/queue.ts) the three kernels take their queued forms
 * (tfjsRecurrentQueued, …: outputs allocated at once, the kernel run as a job on the executor),
 * masks included; what the forward saved for the gradient then stays native (a SavedState,
 * released with the forward's first output).
 *
 * Finding tfjs-layers: importing `torchrnn/tfjs` and setting the backend patch every copy of
 * `@tensorflow/tfjs-layers` already loaded; `useFusedLayers(tf.layers)`-style explicit calls
 * (`useFusedLayers(require('@tensorflow/tfjs-layers'))`) cover other setups.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { native, TensorHandle } from '../binding';
import type { KernelHost } from './kernel-host';
import { BACKEND, float, KERNEL_NAMES, KERNELS, meta, T } from './kernels/common';
import { adopt, atenOwned, inScope, isQueued, own } from './torch';

/**
 * How many times each fused kernel ran (forward, gradient; `masked`: forward calls with a mask,
 * of any kind): lets tests and users check the fused path is taken.
 */
export const fusedStats = { lstm: 0, gru: 0, simpleRNN: 0, lstmGrad: 0, gruGrad: 0, simpleRNNGrad: 0, masked: 0 };

type Kind = 'lstm' | 'gru' | 'simpleRNN';
const KINDS: Record<Kind, { code: number; kernel: string; layer: string; cell: string; states: number }> = {
  lstm: { code: 0, kernel: 'TorchLSTM', layer: 'LSTM', cell: 'LSTMCell', states: 2 },
  gru: { code: 1, kernel: 'TorchGRU', layer: 'GRU', cell: 'GRUCell', states: 1 },
  simpleRNN: { code: 2, kernel: 'TorchSimpleRNN', layer: 'SimpleRNN', cell: 'SimpleRNNCell', states: 1 },
};
const ACTIVATIONS: Record<string, number> = { linear: 0, tanh: 1, sigmoid: 2, hardSigmoid: 3, relu: 4 };
const INPUT_NAMES = ['x', 'h0', 'c0', 'kernel', 'recurrentKernel', 'bias', 'mask'] as const;

// ---- kernels ------------------------------------------------------------------------------------

type RecurrentAttrs = {
  activation: number; recurrentActivation: number; goBackwards: boolean; record: boolean;
  /** the kernel's inputs present, in INPUT_NAMES order; the gradient kernel returns one gradient per name but 'mask' */
  inputNames: string[];
  /** the mask's shape, when there is a mask (its gradient, zeros, has it) */
  maskShape: number[] | null;
};

function forwardKernel(kind: Kind) {
  return ({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }): TensorInfo[] => inScope(() => {
    const b = backend as KernelHost;
    const a = attrs as unknown as RecurrentAttrs;
    const get = (n: string) => (inputs[n] === undefined ? null : float(T(b, inputs[n] as TensorInfo)));
    const kernel = get('kernel') as TensorHandle;
    const recurrentKernel = get('recurrentKernel') as TensorHandle;
    const mask = inputs.mask === undefined ? null : T(b, inputs.mask as TensorInfo);
    const [sequence, h, c, saved] = (isQueued() ? native.tfjsRecurrentQueued : native.tfjsRecurrent)(KINDS[kind].code, get('x') as TensorHandle,
      get('h0'), get('c0'), kernel, recurrentKernel, get('bias'), a.activation, a.recurrentActivation, a.goBackwards, a.record, mask);
    fusedStats[kind]++;
    if (mask !== null) fusedStats.masked++;
    const outputs = [sequence, h, c].filter((x): x is TensorHandle => x !== null).map((x) => {
      adopt(own(x));
      return b.makeOutput(x, meta(x)[1], 'float32');
    });
    if (saved !== null) {
      // The gradient kernel finds these through the first output (tfjs saves it for the gradient).
      const keep = (w: TensorHandle) => atenOwned('detach', '', w) as TensorHandle;
      const state = Array.isArray(saved) ? { saved } : { saved: [], state: saved };
      b.entry(outputs[0].dataId).recurrent = { ...state, kernel: keep(kernel), recurrentKernel: keep(recurrentKernel), hasBias: inputs.bias !== undefined };
    }
    return outputs;
  });
}

/** What the forward kernel saved for the gradient kernels, found through its sequence output. */
function savedBy(b: KernelHost, sequence: TensorInfo, kernelName: string) {
  const rec = b.entry(sequence.dataId).recurrent;
  if (!rec) throw new Error(`torch backend: ${kernelName} needs what its forward kernel saves while gradients are recorded`);
  return rec;
}

function gradKernel(kind: Kind) {
  return ({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }): TensorInfo[] => inScope(() => {
    const b = backend as KernelHost;
    const a = attrs as unknown as RecurrentAttrs;
    const rec = savedBy(b, inputs.sequence as TensorInfo, `${KINDS[kind].kernel}Grad`);
    const dy = (n: string) => (inputs[n] === undefined ? null : float(T(b, inputs[n] as TensorInfo)));
    const grads = rec.state || isQueued()
      ? native.tfjsRecurrentBackwardQueued(KINDS[kind].code, rec.state ?? rec.saved, rec.kernel, rec.recurrentKernel, rec.hasBias, a.activation,
        a.recurrentActivation, a.goBackwards, dy('dSequence') as TensorHandle, dy('dH') as TensorHandle, dy('dC'))
      : native.tfjsRecurrentBackward(KINDS[kind].code, rec.saved, rec.kernel, rec.recurrentKernel, rec.hasBias, a.activation,
        a.recurrentActivation, a.goBackwards, dy('dSequence') as TensorHandle, dy('dH') as TensorHandle, dy('dC'));
    fusedStats[`${kind}Grad` as keyof typeof fusedStats]++;
    // Native order: x, h0, c0, kernel, recurrentKernel, bias; returned in the order of inputNames
    // but 'mask' (its zero gradient is made in the gradient function, only if asked for).
    // In x's place: the gradient of the input projection; x's own comes from the InputGrad kernel.
    const byName: Record<string, TensorHandle | null> = { x: grads[0], h0: grads[1], c0: grads[2], kernel: grads[3], recurrentKernel: grads[4], bias: grads[5] };
    for (const g of grads) if (g !== null) own(g);
    return a.inputNames.filter((n) => n !== 'mask').map((n) => {
      const g = byName[n];
      if (g === null || g === undefined) throw new Error(`torch backend: no gradient for ${n} of ${KINDS[kind].kernel}`);
      adopt(g);
      return b.makeOutput(g, meta(g)[1], 'float32');
    });
  });
}

/** The input's gradient from the projection's (one matmul), only when tfjs's backprop asks for it. */
function inputGradKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }): TensorInfo {
  return inScope(() => {
    const b = backend as KernelHost;
    const rec = savedBy(b, inputs.sequence as TensorInfo, 'a recurrent InputGrad kernel');
    const inputGrad = isQueued() ? native.tfjsRecurrentInputGradQueued : native.tfjsRecurrentInputGrad;
    const dx = own(inputGrad(float(T(b, inputs.dProjection as TensorInfo)), rec.kernel, (attrs as unknown as RecurrentAttrs).goBackwards));
    adopt(dx);
    return b.makeOutput(dx, meta(dx)[1], 'float32');
  });
}

for (const kind of Object.keys(KINDS) as Kind[]) {
  const name = KINDS[kind].kernel;
  KERNEL_NAMES.add(name);
  KERNEL_NAMES.add(`${name}Grad`);
  KERNEL_NAMES.add(`${name}InputGrad`);
  KERNELS.push({ kernelName: `${name}InputGrad`, backendName: BACKEND, kernelFunc: inputGradKernel as unknown as tf.KernelFunc });
  KERNELS.push({ kernelName: name, backendName: BACKEND, kernelFunc: forwardKernel(kind) as unknown as tf.KernelFunc });
  KERNELS.push({ kernelName: `${name}Grad`, backendName: BACKEND, kernelFunc: gradKernel(kind) as unknown as tf.KernelFunc });
}

/** Registers the gradients of the fused kernels (tfjs's gradient registry is global). */
export function registerFusedGradients(): void {
  for (const kind of Object.keys(KINDS) as Kind[]) {
    const name = KINDS[kind].kernel;
    if (tf.getGradient(name) !== undefined) continue;
    tf.registerGradient({
      kernelName: name,
      outputsToSave: KINDS[kind].states === 2 ? [true, false, false] : [true, false],
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
        const dys = Array.isArray(dy) ? dy : [dy];
        const { inputNames, maskShape } = attrs as unknown as RecurrentAttrs;
        const gradInputs: tf.NamedTensorMap = { dSequence: dys[0], dH: dys[1], sequence: saved[0] };
        if (dys.length > 2) gradInputs.dC = dys[2];
        // All the input gradients come from one kernel call, made now (outside the per-input
        // tidy scopes of tfjs's backprop, which keep only what each function returns).
        const grads = tf.engine().runKernel(`${name}Grad`, gradInputs, attrs) as tf.Tensor[];
        const names = inputNames.filter((n) => n !== 'mask');
        // x's slot holds the projection's gradient: x's own is one more matmul, made only when
        // tfjs needs it (a first layer's input is data: its gradient is never asked for).
        const fns: Record<string, () => tf.Tensor> = Object.fromEntries(names.map((n, i) => [n, n === 'x'
          ? () => tf.engine().runKernel(`${name}InputGrad`, { dProjection: grads[i], sequence: saved[0] }, attrs) as tf.Tensor
          : () => grads[i]]));
        if (maskShape !== null) fns.mask = () => tf.zeros(maskShape);
        return fns;
      },
    });
  }
}

// ---- routing tfjs-layers' layers -----------------------------------------------------------------

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyLayer = any;

function activationCode(act: AnyLayer): number | undefined {
  const name = act?.constructor?.className ?? (typeof act?.getClassName === 'function' ? act.getClassName() : undefined);
  return typeof name === 'string' ? ACTIVATIONS[name] : undefined;
}

/** Whether this call can take the fused kernel (see the file comment for the rules). */
function fusable(layer: AnyLayer, kind: Kind, inputs: unknown, kwargs: AnyLayer): boolean {
  if (tf.getBackend() !== BACKEND) return false;
  // An addon built before the fused kernels existed (an old prebuild): the per-step path.
  if (typeof native.tfjsRecurrent !== 'function') return false;
  const cell = layer.cell;
  if (cell?.constructor?.className !== KINDS[kind].cell || layer.constructor?.className !== KINDS[kind].layer) return false;
  if (kwargs?.constants != null) return false;
  const training = kwargs?.training === true;
  const dropoutActive = (r: unknown) => typeof r === 'number' && r > 0 && r < 1;
  if (training && (dropoutActive(cell.dropout) || dropoutActive(cell.recurrentDropout))) return false;
  if (activationCode(cell.activation) === undefined) return false;
  if (kind !== 'simpleRNN' && activationCode(cell.recurrentActivation) === undefined) return false;
  if (cell.kernel == null || cell.recurrentKernel == null) return false;
  const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
  if (x == null || x.rank !== 3 || x.dtype !== 'float32') return false;
  return kwargs?.mask == null || fusableMask(kwargs.mask, x);
}

/** A mask the fused kernels take: one tensor, [batch, time] or [batch, time, 1], with an addon that knows masks. */
function fusableMask(mask: AnyLayer, x: tf.Tensor): boolean {
  if (native.tfjsRecurrentMasks !== true || Array.isArray(mask) || !Array.isArray(mask?.shape) || mask.isDisposed !== false) return false;
  const shape = mask.shape as number[];
  return (shape.length === 2 || (shape.length === 3 && shape[2] === 1)) && shape[0] === x.shape[0] && shape[1] === x.shape[1];
}

/** RNN.call with the time loop replaced by the fused kernel. */
function fusedCall(layer: AnyLayer, kind: Kind, inputs: AnyLayer, kwargs: AnyLayer): AnyLayer {
  return tf.tidy(() => {
    const cell = layer.cell;
    for (const m of ['dropoutMask', 'recurrentDropoutMask']) {
      if (cell[m] != null) { tf.dispose(cell[m]); cell[m] = null; }
    }
    const training = kwargs?.training ?? null;
    const x: tf.Tensor = Array.isArray(inputs) ? inputs[0] : inputs;
    let initialState = kwargs?.initialState ?? null;
    if (initialState == null && layer.stateful) initialState = layer.states_;
    // (an addon older than masks needs the zeros passed)
    if (initialState == null && native.tfjsRecurrentMasks !== true) initialState = layer.getInitialState(x);
    const kernelInputs: tf.NamedTensorMap = { x, kernel: cell.kernel.read(), recurrentKernel: cell.recurrentKernel.read() };
    // No initial state: zeros, made by the native kernel (tfjs-layers' getInitialState would be
    // four kernels per state, and zeros need no gradient).
    if (initialState != null) {
      if (!Array.isArray(initialState)) initialState = [initialState];
      if (initialState.length !== KINDS[kind].states) {
        throw new Error(`RNN Layer has ${KINDS[kind].states} state(s) but was passed ${initialState.length} initial state(s).`);
      }
      kernelInputs.h0 = initialState[0];
      if (kind === 'lstm') kernelInputs.c0 = initialState[1];
    }
    if (cell.bias != null) kernelInputs.bias = cell.bias.read();
    const mask: tf.Tensor | null = kwargs?.mask ?? null;
    if (mask !== null) kernelInputs.mask = mask;
    const engine = tf.engine() as unknown as { isTapeOn(): boolean };
    const attrs = {
      activation: activationCode(cell.activation) as number,
      recurrentActivation: kind === 'simpleRNN' ? 0 : (activationCode(cell.recurrentActivation) as number),
      goBackwards: Boolean(layer.goBackwards),
      record: engine.isTapeOn(),
      inputNames: INPUT_NAMES.filter((n) => kernelInputs[n] !== undefined),
      maskShape: mask === null ? null : mask.shape,
    };
    const outs = tf.engine().runKernel(KINDS[kind].kernel, kernelInputs, attrs as unknown as NamedAttrMap) as tf.Tensor[];
    const [sequence, ...states] = outs;
    if (layer.stateful) layer.resetStates(states, training);
    const output = layer.returnSequences ? sequence : states[0];
    return layer.returnState ? [output, ...states] : output;
  });
}

const PATCHED = Symbol.for('torchrnn.tfjs.fusedRecurrent');

/**
 * Routes a tfjs-layers module's LSTM, GRU and SimpleRNN layers to the fused kernels whenever
 * the `torch` backend is active (other backends are untouched). Idempotent.
 * @example useFusedLayers(require('@tensorflow/tfjs-layers'))
 */
export function useFusedLayers(layersModule: AnyLayer): void {
  const factories: Record<Kind, string> = { lstm: 'lstm', gru: 'gru', simpleRNN: 'simpleRNN' };
  for (const kind of Object.keys(KINDS) as Kind[]) {
    const factory = layersModule?.layers?.[factories[kind]];
    if (typeof factory !== 'function') continue;
    const cls = factory({ units: 1 }).constructor;
    const proto = cls.prototype;
    if (proto[PATCHED]) continue;
    const original = proto.call;
    proto.call = function patchedCall(this: AnyLayer, inputs: unknown, kwargs: unknown) {
      if (fusable(this, kind, inputs, kwargs)) return fusedCall(this, kind, inputs, kwargs);
      return original.call(this, inputs, kwargs);
    };
    proto[PATCHED] = true;
  }
}

const LAYERS_FILE = /[\\/]@tensorflow[\\/]tfjs-layers[\\/]dist[\\/]tf-layers\.node\.js$/;

/** Patches every copy of tfjs-layers loaded so far (called on import and when the backend starts). */
export function installFusedRecurrentLayers(): void {
  registerFusedGradients();
  if (typeof require === 'undefined' || require.cache === undefined) return;
  for (const [file, mod] of Object.entries(require.cache)) {
    if (mod !== undefined && LAYERS_FILE.test(file)) useFusedLayers(mod.exports);
  }
}
