/**
 * The layers a sequence model needs besides the recurrent ones: Linear, Embedding, Dropout,
 * LayerNorm (libtorch's modules, PyTorch's initialization) and Sequential.
 */
import { native, TensorHandle } from '../binding';
import { invalidArg, withCallerStack } from '../errors';
import { checkTensor, Tensor, wrap } from '../tensor';
import { checkBool, checkFinite, checkInt, checkOptions } from '../validate';
import { checkModuleDtype, Module, Parameter } from './module';

/** A built-in layer of one tensor in, one tensor out. */
abstract class SimpleLayer extends Module {
  /** @internal Validates the input; returns its handle. */
  abstract _input(x: unknown): TensorHandle;
  forward(input: Tensor): Tensor {
    this._checkLive('module');
    return wrap(native.moduleForward(this._native!, [this._input(input)])[0]);
  }
  forwardAsync(input: Tensor): Promise<Tensor> {
    this._checkLive('module');
    const p = native.moduleForwardAsync(this._native!, [this._input(input)]);
    return withCallerStack(p, new Error()).then((outs) => wrap(outs[0]));
  }
}

function floatInput(m: Module, x: unknown, lastDim: number | null, lastName: string): TensorHandle {
  const t = checkTensor(x, 'input');
  const p = m._nativeParams[0]?.[1]; // built-in layers own their parameters (no tree walk per call)
  if (t.dim() < 1) invalidArg('a tensor with at least one dimension', 'input', t);
  if (lastDim !== null && t.shape[t.dim() - 1] !== lastDim) invalidArg(`a tensor whose last dimension is ${lastDim} (${lastName})`, 'input', t);
  if (p) checkModuleDtype(t, p.dtype, 'input');
  return t.handle('input');
}

/**
 * y = x Wᵀ + b, torch.nn.Linear.
 * @example const head = new nn.Linear(128, 10); // bias defaults to true
 */
export class Linear extends SimpleLayer {
  /** The [outFeatures, inFeatures] weight (PyTorch's linear.weight). */
  declare readonly weight: Parameter;
  /** The bias, or undefined when built with bias: false. */
  declare readonly bias: Parameter | undefined;
  readonly inFeatures: number;
  readonly outFeatures: number;
  constructor(inFeatures: number, outFeatures: number, opts?: { bias?: boolean }) {
    super();
    this.inFeatures = checkInt(inFeatures, 'inFeatures', { min: 0 });
    this.outFeatures = checkInt(outFeatures, 'outFeatures', { min: 0 });
    const o = checkOptions<{ bias: boolean }>(opts, 'options', ['bias']);
    this._adopt(native.createLinear(this.inFeatures, this.outFeatures, o.bias === undefined ? true : checkBool(o.bias, 'bias')));
  }
  _input(x: unknown): TensorHandle { return floatInput(this, x, this.inFeatures, 'inFeatures'); }
  extraRepr(): string { return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this._nativeParams.length > 1 ? 'True' : 'False'}`; }
}

/**
 * A lookup table of embeddings, torch.nn.Embedding. Input: int64 (or int32) indices.
 * `paddingIdx`: that row is zero-initialized and gets no gradient (negative counts from the end).
 */
export class Embedding extends SimpleLayer {
  /** The [numEmbeddings, embeddingDim] table. */
  declare readonly weight: Parameter;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  constructor(numEmbeddings: number, embeddingDim: number, opts?: { paddingIdx?: number | null }) {
    super();
    this.numEmbeddings = checkInt(numEmbeddings, 'numEmbeddings', { min: 1 });
    this.embeddingDim = checkInt(embeddingDim, 'embeddingDim', { min: 1 });
    const o = checkOptions<{ paddingIdx: number | null }>(opts, 'options', ['paddingIdx']);
    let pad = o.paddingIdx === undefined || o.paddingIdx === null ? null : checkInt(o.paddingIdx, 'paddingIdx', { min: -this.numEmbeddings, max: this.numEmbeddings - 1 });
    if (pad !== null && pad < 0) pad += this.numEmbeddings;
    this.paddingIdx = pad;
    this._adopt(native.createEmbedding(this.numEmbeddings, this.embeddingDim, pad));
  }
  _input(x: unknown): TensorHandle {
    const t = checkTensor(x, 'input');
    if (t.dtype !== 'int64' && t.dtype !== 'int32') invalidArg('an int64 or int32 tensor of indices', 'input', t);
    return t.handle('input');
  }
  extraRepr(): string { return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx === null ? '' : `, padding_idx=${this.paddingIdx}`}`; }
}

/** Zeroes elements with probability p in training mode and scales the rest by 1/(1-p); identity in eval mode. */
export class Dropout extends SimpleLayer {
  readonly p: number;
  constructor(p = 0.5) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) invalidArg('a probability in [0, 1]', 'p', p);
    this.p = p;
    this._adopt(native.createDropout(p));
  }
  _input(x: unknown): TensorHandle { return checkTensor(x, 'input').handle('input'); }
  extraRepr(): string { return `p=${this.p}, inplace=False`; }
}

/** Layer normalization over the last dimensions, torch.nn.LayerNorm. Defaults: eps 1e-5, elementwiseAffine true. */
export class LayerNorm extends SimpleLayer {
  /** The affine weight and bias, undefined without elementwiseAffine. */
  declare readonly weight: Parameter | undefined;
  declare readonly bias: Parameter | undefined;
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  constructor(normalizedShape: number | number[], opts?: { eps?: number; elementwiseAffine?: boolean }) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(shape) || shape.length === 0) invalidArg('a positive integer or a non-empty array of them', 'normalizedShape', normalizedShape);
    shape.forEach((s) => checkInt(s, 'normalizedShape', { min: 1 }));
    const o = checkOptions<{ eps: number; elementwiseAffine: boolean }>(opts, 'options', ['eps', 'elementwiseAffine']);
    this.normalizedShape = [...shape];
    this.eps = o.eps === undefined ? 1e-5 : checkFinite(o.eps, 'eps');
    this.elementwiseAffine = o.elementwiseAffine === undefined ? true : checkBool(o.elementwiseAffine, 'elementwiseAffine');
    this._adopt(native.createLayerNorm(this.normalizedShape, this.eps, this.elementwiseAffine));
  }
  _input(x: unknown): TensorHandle {
    const t = checkTensor(x, 'input');
    const n = this.normalizedShape.length;
    if (t.dim() < n || t.shape.slice(-n).some((s, i) => s !== this.normalizedShape[i])) {
      invalidArg(`a tensor whose last dimensions are [${this.normalizedShape.join(', ')}] (normalizedShape)`, 'input', t);
    }
    return floatInput(this, t, null, '');
  }
  extraRepr(): string { return `(${this.normalizedShape.join(', ')}${this.normalizedShape.length === 1 ? ',' : ''}), eps=${this.eps}, elementwise_affine=${this.elementwiseAffine ? 'True' : 'False'}`; }
}

/**
 * Modules applied in order; children are named '0', '1', … (state-dict keys `0.weight`).
 * @example const mlp = new nn.Sequential(new nn.Linear(4, 8), new nn.Dropout(0.1), new nn.Linear(8, 2));
 */
export class Sequential extends Module {
  /** @internal */
  readonly _layers: Module[];
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => { if (!(m instanceof Module)) invalidArg('a Module', `modules[${i}]`, m); });
    this._layers = modules;
  }
  namedChildren(): [string, Module][] { return this._layers.map((m, i) => [String(i), m]); }
  get length(): number { return this._layers.length; }
  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    checkInt(i, 'index', { min: -this._layers.length, max: this._layers.length - 1 });
    return this._layers[i < 0 ? i + this._layers.length : i];
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(input: any): any {
    let x: unknown = input;
    for (const m of this._layers) x = (m.forward as (a: unknown) => unknown).call(m, x);
    return x;
  }
  /** Built-in single-tensor layers run as one executor job; anything else layer by layer. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async forwardAsync(input: any): Promise<any> {
    const layers = this._layers;
    this._checkLive('module');
    if (layers.length > 0 && layers.every((m): m is SimpleLayer => m instanceof SimpleLayer)) {
      for (const m of layers) m._checkLive('module');
      const first = layers[0]._input(input); // later layers' shapes are checked by libtorch
      return wrap(await withCallerStack(native.chainForwardAsync(layers.map((m) => m._native!), first), new Error()));
    }
    let x: unknown = input;
    for (const m of this._layers) x = await m.forwardAsync(x);
    return x;
  }
}
