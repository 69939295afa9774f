/**
 * Recurrent modules: nn.RNN, nn.LSTM, nn.GRU and their cells, wrapping libtorch's own
 * torch::nn modules (so CUDA builds run cuDNN's fused kernels). Options and defaults are
 * PyTorch's; return values follow PyTorch: LSTM gives [output, [hN, cN]], GRU/RNN [output, hN].
 */
import { DType } from '../dtype';
import { native, ModuleHandle, NativeRecurrentArgs, NativeRnnOptions, RecurrentKind, TensorHandle } from '../binding';
import { invalidArg, withCallerStack } from '../errors';
import { checkTensor, Tensor, tracing, wrap } from '../tensor';
import { checkBool, checkInt, checkOptions, checkString } from '../validate';
import { checkModuleDtype, Module } from './module';
import { lengthsTensor, PackedSequence } from './packed';

export interface RNNOptions {
  /** Features of each input step. Required. */
  inputSize: number;
  /** Features of the hidden state. Required. */
  hiddenSize: number;
  /** Stacked layers. Default 1. */
  numLayers?: number;
  /** Use bias weights. Default true. */
  bias?: boolean;
  /** Input and output are (batch, seq, feature) instead of (seq, batch, feature). Default false. */
  batchFirst?: boolean;
  /** Dropout on the outputs of each layer but the last, in training mode. In [0, 1). Default 0. */
  dropout?: number;
  /** Run a second direction backwards over the sequence. Default false. */
  bidirectional?: boolean;
}
export interface VanillaRNNOptions extends RNNOptions {
  /** 'tanh' (default) or 'relu'. */
  nonlinearity?: 'tanh' | 'relu';
}
export interface LSTMOptions extends RNNOptions {
  /** Project the hidden state to this size (LSTM with projections). 0 (default) = none; < hiddenSize. */
  projSize?: number;
}

/** `lengths`: each sequence's true length, for variable-length (padded) batches. */
export interface ForwardOptions { lengths?: Tensor | number[] }

/** 'rnn' | 'lstm' | 'gru': one list, lib/binding.ts's, matching native/nn/rnn.cc's table. */
type Kind = RecurrentKind;

const RNN_KEYS = ['inputSize', 'hiddenSize', 'numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional'];

function rnnOptions(kind: Kind, opts: unknown): NativeRnnOptions {
  const keys = kind === 'lstm' ? [...RNN_KEYS, 'projSize'] : kind === 'rnn' ? [...RNN_KEYS, 'nonlinearity'] : RNN_KEYS;
  if (opts === undefined) invalidArg('an options object with inputSize and hiddenSize', 'options', opts);
  const o = checkOptions<LSTMOptions & VanillaRNNOptions>(opts, 'options', keys);
  const hiddenSize = checkInt(o.hiddenSize, 'hiddenSize', { min: 1 });
  const dropout = o.dropout === undefined ? 0 : o.dropout;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) invalidArg('a number in [0, 1)', 'dropout', dropout);
  return {
    inputSize: checkInt(o.inputSize, 'inputSize', { min: 1 }),
    hiddenSize,
    numLayers: o.numLayers === undefined ? 1 : checkInt(o.numLayers, 'numLayers', { min: 1 }),
    bias: o.bias === undefined ? true : checkBool(o.bias, 'bias'),
    batchFirst: o.batchFirst === undefined ? false : checkBool(o.batchFirst, 'batchFirst'),
    dropout,
    bidirectional: o.bidirectional === undefined ? false : checkBool(o.bidirectional, 'bidirectional'),
    nonlinearity: o.nonlinearity === undefined ? 'tanh' : checkString(o.nonlinearity, 'nonlinearity', ['tanh', 'relu']),
    projSize: o.projSize === undefined ? 0 : checkInt(o.projSize, 'projSize', { min: 0, max: hiddenSize - 1 }),
  };
}

function shapeStr(s: readonly number[]): string { return `[${s.join(', ')}]`; }

/** The module's dtype and device: its first parameter's. */
function paramMeta(m: Module): { dtype: DType; device: string } {
  const p = m._nativeParams[0][1]; // built-in modules own their parameters (no tree walk per call)
  return { dtype: p.dtype, device: p.device };
}

function checkInput(m: Module, value: unknown, name: string, ranks: number[], lastDim: number, lastName: string): Tensor {
  const t = checkTensor(value, name);
  const { dtype, device } = paramMeta(m);
  if (!ranks.includes(t.dim())) invalidArg(ranks.length === 2 ? `a ${ranks[0]}-D (unbatched) or ${ranks[1]}-D (batched) tensor` : `a ${ranks[0]}-D tensor`, name, t);
  if (t.shape[t.dim() - 1] !== lastDim) invalidArg(`a tensor whose last dimension is ${lastDim} (${lastName})`, name, t);
  checkModuleDtype(t, dtype, name);
  if (t.device !== device) invalidArg(`a tensor on ${device} (the module's device)`, name, t);
  return t;
}

function checkState(m: Module, value: unknown, name: string, shape: number[]): Tensor {
  const t = checkTensor(value, name);
  const { dtype } = paramMeta(m);
  if (t.dim() !== shape.length || t.shape.some((s, i) => s !== shape[i])) invalidArg(`a tensor of shape ${shapeStr(shape)}`, name, t);
  checkModuleDtype(t, dtype, name);
  return t;
}

abstract class RNNBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  /** @internal */ protected readonly _kind: Kind;
  /** @internal */ protected readonly _outSize: number;

  constructor(kind: Kind, opts: unknown) {
    super();
    const o = rnnOptions(kind, opts);
    this._kind = kind;
    this.inputSize = o.inputSize;
    this.hiddenSize = o.hiddenSize;
    this.numLayers = o.numLayers;
    this.bias = o.bias;
    this.batchFirst = o.batchFirst;
    this.dropout = o.dropout;
    this.bidirectional = o.bidirectional;
    this._outSize = o.projSize > 0 ? o.projSize : o.hiddenSize;
    this._adopt(native.createRecurrent(kind, o));
  }

  /** Splits forward's arguments: (input, state?, {lengths}?) where state may be omitted. */
  /** Validates forward's arguments; returns the native arguments and a temporary to free after the call. */
  protected _args(input: unknown, state: unknown, opts: unknown): [NativeRecurrentArgs, Tensor | null] {
    if (opts === undefined && state !== null && typeof state === 'object' && !(state instanceof Tensor) && !Array.isArray(state)) {
      opts = state;
      state = undefined;
    }
    this._checkLive('module');
    if (input instanceof PackedSequence) return [this._packedArgs(input, state, opts), null];
    const x = checkInput(this, input, 'input', [2, 3], this.inputSize, 'inputSize');
    const batched = x.dim() === 3;
    const batch = batched ? x.shape[this.batchFirst ? 0 : 1] : 0;
    const seq = x.shape[batched && this.batchFirst ? 1 : 0];
    const [h0, c0] = this._state(state, batched ? batch : null);
    const o = checkOptions<ForwardOptions>(opts, 'options', ['lengths']);
    let lengths: Tensor | null = null;
    if (o.lengths !== undefined) {
      if (!batched) invalidArg('a batched (3-D) input when lengths are given', 'input', x);
      lengths = lengthsTensor(o.lengths, batch, seq);
    }
    return [{ input: x.handle('input'), h0: h0?.handle('h0') ?? null, c0: c0?.handle('c0') ?? null, lengths: lengths?.handle('lengths') ?? null, packed: null }, lengths];
  }

  /** Checks the initial state for a batch of `batch` (null: unbatched; undefined: not known while tracing). */
  private _state(state: unknown, batch: number | null | undefined): [Tensor | null, Tensor | null] {
    if (state === undefined || state === null) return [null, null];
    const layers = (this.bidirectional ? 2 : 1) * this.numLayers;
    const stateShape = (size: number, given: unknown) => {
      if (batch === null) return [layers, size];
      const b = batch ?? (given instanceof Tensor && given.dim() === 3 ? given.shape[1] : 0);
      return [layers, b, size];
    };
    if (this._kind === 'lstm') {
      if (!Array.isArray(state) || state.length !== 2) invalidArg('[h0, c0] (two tensors)', 'hx', state);
      return [checkState(this, state[0], 'h0', stateShape(this._outSize, state[0])), checkState(this, state[1], 'c0', stateShape(this.hiddenSize, state[1]))];
    }
    return [checkState(this, state, 'h0', stateShape(this.hiddenSize, state)), null];
  }

  /** forward's native arguments for a PackedSequence input. */
  private _packedArgs(input: PackedSequence, state: unknown, opts: unknown): NativeRecurrentArgs {
    const o = checkOptions<ForwardOptions>(opts, 'options', ['lengths']);
    if (o.lengths !== undefined) invalidArg('no lengths with a PackedSequence input (it carries its own)', 'lengths', o.lengths);
    const data = checkInput(this, input.data, 'input.data', [2], this.inputSize, 'inputSize');
    const sizes = checkTensor(input.batchSizes, 'input.batchSizes');
    if (sizes.dim() !== 1 || sizes.dtype !== 'int64' || sizes.device !== 'cpu') invalidArg('a 1-D int64 CPU tensor', 'input.batchSizes', sizes);
    // The batch is the first step's size, read only to check a given state (and not while
    // tracing: it would become a constant).
    const given = state !== undefined && state !== null;
    const batch = given && !tracing.active ? Number((sizes.dataSync() as BigInt64Array)[0]) : undefined;
    const [h0, c0] = this._state(state, batch);
    const order = (t: Tensor | null, name: string) => (t === null ? null : checkTensor(t, name).handle(name));
    return {
      input: null, h0: h0?.handle('h0') ?? null, c0: c0?.handle('c0') ?? null, lengths: null,
      packed: { data: data.handle('input.data'), batchSizes: sizes.handle('input.batchSizes'), sortedIndices: order(input.sortedIndices, 'input.sortedIndices'),
        unsortedIndices: order(input.unsortedIndices, 'input.unsortedIndices') },
    };
  }

  protected _result(outs: (TensorHandle | null)[], input?: unknown): unknown {
    const [o, h, c] = outs.map((x) => wrap(x));
    const output = input instanceof PackedSequence ? input.withData(o) : o;
    return this._kind === 'lstm' ? [output, [h, c]] : [output, h];
  }

  extraRepr(): string {
    const o = [`${this.inputSize}, ${this.hiddenSize}`];
    if (this.numLayers !== 1) o.push(`num_layers=${this.numLayers}`);
    if (!this.bias) o.push('bias=False');
    if (this.batchFirst) o.push('batch_first=True');
    if (this.dropout !== 0) o.push(`dropout=${this.dropout}`);
    if (this.bidirectional) o.push('bidirectional=True');
    return o.join(', ');
  }
}

/** A stacked recurrent module over a whole sequence. */
abstract class Recurrent<State> extends RNNBase {
  /**
   * Runs the whole sequence. `state` is the initial state (zeros if omitted); `lengths` runs
   * a padded batch as packed sequences: outputs past each length are zero and the final
   * state is taken at each sequence's true end.
   */
  forward(input: Tensor, state?: State | null | ForwardOptions, opts?: ForwardOptions): [Tensor, State];
  /** A PackedSequence in (nn.utils.rnn.packPaddedSequence), a PackedSequence out, as in PyTorch. */
  forward(input: PackedSequence, state?: State | null): [PackedSequence, State];
  forward(input: Tensor | PackedSequence, state?: State | null | ForwardOptions, opts?: ForwardOptions): [Tensor | PackedSequence, State] {
    const [args, temp] = this._args(input, state, opts);
    try {
      return this._result(native.recurrentForward(this._native!, args), input) as [Tensor, State];
    } finally {
      temp?.dispose();
    }
  }

  /** forward() on the executor thread. */
  forwardAsync(input: Tensor, state?: State | null | ForwardOptions, opts?: ForwardOptions): Promise<[Tensor, State]>;
  forwardAsync(input: PackedSequence, state?: State | null): Promise<[PackedSequence, State]>;
  forwardAsync(input: Tensor | PackedSequence, state?: State | null | ForwardOptions, opts?: ForwardOptions): Promise<[Tensor | PackedSequence, State]> {
    const [args, temp] = this._args(input, state, opts);
    const p = native.recurrentForwardAsync(this._native!, args); // the job holds its own reference
    temp?.dispose();
    return withCallerStack(p, new Error()).then((outs) => this._result(outs, input) as [Tensor, State]);
  }
}

/**
 * Multi-layer Elman RNN (tanh or relu), torch.nn.RNN.
 * @example const rnn = new nn.RNN({ inputSize: 8, hiddenSize: 16 }); const [out, hN] = rnn.forward(x);
 */
export class RNN extends Recurrent<Tensor> {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(opts: VanillaRNNOptions) {
    super('rnn', opts);
    this.nonlinearity = opts.nonlinearity ?? 'tanh';
  }
}

/**
 * Multi-layer LSTM, torch.nn.LSTM. Returns [output, [hN, cN]].
 * @example
 * const lstm = new nn.LSTM({ inputSize: 32, hiddenSize: 128, numLayers: 2, batchFirst: true });
 * const [out, [h, c]] = lstm.forward(x, { lengths: [5, 3, 4] });
 */
export class LSTM extends Recurrent<[Tensor, Tensor]> {
  readonly projSize: number;
  constructor(opts: LSTMOptions) {
    super('lstm', opts);
    this.projSize = opts.projSize ?? 0;
  }
  extraRepr(): string { return super.extraRepr() + (this.projSize ? `, proj_size=${this.projSize}` : ''); }
}

/** Multi-layer GRU, torch.nn.GRU. Returns [output, hN]. */
export class GRU extends Recurrent<Tensor> {
  constructor(opts: RNNOptions) { super('gru', opts); }
}

// ---- cells ---------------------------------------------------------------------------------

export interface CellOptions { inputSize: number; hiddenSize: number; bias?: boolean }

abstract class CellBase<State, Out> extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  /** @internal */ protected readonly _kind: Kind;

  constructor(kind: Kind, opts: unknown, extraKeys: string[] = []) {
    super();
    if (opts === undefined) invalidArg('an options object with inputSize and hiddenSize', 'options', opts);
    const o = checkOptions<CellOptions & { nonlinearity: string }>(opts, 'options', ['inputSize', 'hiddenSize', 'bias', ...extraKeys]);
    this._kind = kind;
    this.inputSize = checkInt(o.inputSize, 'inputSize', { min: 1 });
    this.hiddenSize = checkInt(o.hiddenSize, 'hiddenSize', { min: 1 });
    this.bias = o.bias === undefined ? true : checkBool(o.bias, 'bias');
    const nonlinearity = o.nonlinearity === undefined ? 'tanh' : checkString(o.nonlinearity, 'nonlinearity', ['tanh', 'relu']);
    this._adopt(native.createCell(kind, { inputSize: this.inputSize, hiddenSize: this.hiddenSize, bias: this.bias, nonlinearity }));
  }

  private _args(input: unknown, state: unknown): (TensorHandle | null)[] {
    this._checkLive('module');
    const x = checkInput(this, input, 'input', [1, 2], this.inputSize, 'inputSize');
    const shape = x.dim() === 2 ? [x.shape[0], this.hiddenSize] : [this.hiddenSize];
    if (state === undefined || state === null) return [x.handle('input'), null, null];
    if (this._kind === 'lstm') {
      if (!Array.isArray(state) || state.length !== 2) invalidArg('[h, c] (two tensors)', 'hx', state);
      return [x.handle('input'), checkState(this, state[0], 'h', shape).handle('h'), checkState(this, state[1], 'c', shape).handle('c')];
    }
    return [x.handle('input'), checkState(this, state, 'h', shape).handle('h'), null];
  }

  private _result(outs: (TensorHandle | null)[]): Out {
    const ts = outs.map((o) => wrap(o));
    return (this._kind === 'lstm' ? ts : ts[0]) as Out;
  }

  /** One step: the next state from the input and the previous state (zeros if omitted). */
  forward(input: Tensor, state?: State | null): Out {
    return this._result(native.moduleForward(this._native!, this._args(input, state)));
  }
  forwardAsync(input: Tensor, state?: State | null): Promise<Out> {
    const p = native.moduleForwardAsync(this._native!, this._args(input, state));
    return withCallerStack(p, new Error()).then((outs) => this._result(outs));
  }
  extraRepr(): string { return `${this.inputSize}, ${this.hiddenSize}${this.bias ? '' : ', bias=False'}`; }
}

/** One Elman RNN step, torch.nn.RNNCell. */
export class RNNCell extends CellBase<Tensor, Tensor> {
  constructor(opts: CellOptions & { nonlinearity?: 'tanh' | 'relu' }) { super('rnn', opts, ['nonlinearity']); }
}
/** One LSTM step, torch.nn.LSTMCell: [h, c] from (input, [h, c]). */
export class LSTMCell extends CellBase<[Tensor, Tensor], [Tensor, Tensor]> {
  constructor(opts: CellOptions) { super('lstm', opts); }
}
/** One GRU step, torch.nn.GRUCell. */
export class GRUCell extends CellBase<Tensor, Tensor> {
  constructor(opts: CellOptions) { super('gru', opts); }
}

export type { ModuleHandle };
