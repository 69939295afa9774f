/**
 * Tensor: a JS object over one libtorch tensor (native/tensor.{h,cc}).
 * The operations live in ops.ts (merged into this class), creation functions in creation.ts.
 *
 * Memory: a tensor is freed when `dispose()` is called, when it leaves a `tidy()` scope, or
 * when the GC collects it (its native bytes are reported to V8, so GC pressure is real).
 */
import { atenOp, native, TensorHandle } from './binding';
import { Complex, DataFor, DType, dtypeFromCode, isComplex, isFloating, ScalarFor } from './dtype';
import { invalidArg, TorchError, withCallerStack } from './errors';
import { formatComplexTensor, formatTensor } from './format';
import { checkBool, checkOptions, Device } from './validate';

// ---- tidy() scopes -----------------------------------------------------------------------

/** @internal Set while jit.trace records a forward: reading values would bake them into the graph. */
export const tracing = { active: false };

function assertNotTracing(): void {
  if (tracing.active) {
    throw new TorchError('Cannot read tensor values while tracing (they would become constants of the graph): pass { trace: false } for a model whose forward reads values', 'ERR_INVALID_ARG');
  }
}

/** Tensors created inside the innermost tidy() scope, disposed when it ends. */
const scopes: Set<Tensor>[] = [];

export class Tensor<D extends DType = DType> {
  /** @internal The native handle; null once disposed. */
  _h: TensorHandle | null;
  private _meta: [D, readonly number[], Device] | undefined;

  /** @internal Tensors are made by torchrnn's functions, not by `new`. */
  constructor(handle: TensorHandle) {
    this._h = handle;
    if (scopes.length > 0) scopes[scopes.length - 1].add(this);
  }

  /** @internal The live handle, or a TorchError naming the argument this tensor was passed as. */
  handle(name = 'self'): TensorHandle {
    if (this._h === null) invalidArg('a live Tensor', name, this);
    return this._h;
  }

  private meta(): [D, readonly number[], Device] {
    if (this._meta === undefined) {
      const [code, shape, device] = native.meta(this.handle());
      this._meta = [dtypeFromCode(code) as D, Object.freeze(shape), device as Device];
    }
    return this._meta;
  }

  /** @internal Forgets the cached dtype/shape/device after the data was replaced in place (Module.to). */
  clearMeta(): void { this._meta = undefined; }

  /** The element type, with PyTorch's name (`'float32'`, `'int64'`, …). */
  get dtype(): D { return this.meta()[0]; }
  /** The size of each dimension. */
  get shape(): readonly number[] { return this.meta()[1]; }
  /** `'cpu'`, or `'cuda:N'` on CUDA builds. */
  get device(): Device { return this.meta()[2]; }
  /** Number of elements. */
  numel(): number { return this.shape.reduce((a, b) => a * b, 1); }
  /** Number of dimensions. */
  dim(): number { return this.shape.length; }
  /** `size()` is the shape; `size(d)` one dimension's size (negative d counts from the end). */
  size(): readonly number[];
  size(dim: number): number;
  size(dim?: number): number | readonly number[] {
    if (dim === undefined) return this.shape;
    const n = this.dim();
    if (n === 0) invalidArg('no dim (a 0-D tensor has no dimensions)', 'dim', dim);
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < -n || dim >= n) invalidArg(`an integer in [${-n}, ${n - 1}]`, 'dim', dim);
    return this.shape[dim < 0 ? dim + n : dim];
  }

  // ---- autograd attributes ---------------------------------------------------------------

  /** Whether autograd records operations on this tensor. */
  get requiresGrad(): boolean { return native.autogradInfo(this.handle())[0]; }
  set requiresGrad(value: boolean) { this.requiresGrad_(value); }
  /** Sets requiresGrad in place (floating-point leaf tensors only) and returns this tensor. */
  requiresGrad_(value = true): this {
    checkBool(value, 'requiresGrad');
    if (value && !isFloating(this.dtype)) invalidArg('a floating-point tensor (only they can require gradients)', 'self', this);
    native.setRequiresGrad(this.handle(), value);
    return this;
  }
  /** True for tensors made by the user rather than by an operation that autograd recorded. */
  get isLeaf(): boolean { return native.autogradInfo(this.handle())[1]; }
  /** The gradient accumulated by backward(), or null. Each read returns a new Tensor object over the same data. */
  get grad(): Tensor<D> | null {
    const g = native.getGrad(this.handle());
    return g === null ? null : new Tensor<D>(g);
  }
  set grad(value: Tensor<D> | null) {
    if (value !== null) {
      const g = checkTensor(value, 'grad');
      if (g.dtype !== this.dtype || !sameShape(g.shape, this.shape)) invalidArg(`a ${this.dtype} tensor of shape [${this.shape.join(', ')}] (the tensor's own)`, 'grad', g);
    }
    native.setGrad(this.handle(), value === null ? null : value.handle('grad'));
  }
  /** Keeps the gradient of this non-leaf tensor after backward(). */
  retainGrad(): this { native.retainGrad(this.handle()); return this; }
  /** The name of the autograd node that made this tensor (`'AddBackward0'`), or null for leaves. */
  get gradFn(): string | null { return native.autogradInfo(this.handle())[2]; }

  /**
   * Computes the gradients of this tensor with respect to the graph leaves, synchronously.
   * `gradient` is required unless this tensor has one element. Defaults: retainGraph false.
   * @example loss.backward(); console.log(w.grad?.toString());
   */
  backward(gradient?: Tensor | null, opts?: { retainGraph?: boolean; createGraph?: boolean }): void {
    const [g, retain, create] = this.backwardArgs(gradient, opts);
    native.backward(this.handle(), g, retain, create);
  }

  /** backward() on the executor thread: resolves when the gradients are written. */
  backwardAsync(gradient?: Tensor | null, opts?: { retainGraph?: boolean; createGraph?: boolean }): Promise<void> {
    const [g, retain, create] = this.backwardArgs(gradient, opts);
    return withCallerStack(native.backwardAsync(this.handle(), g, retain, create), new Error());
  }

  private backwardArgs(gradient: Tensor | null | undefined, opts: unknown): [TensorHandle | null, boolean, boolean] {
    const o = checkOptions<{ retainGraph: boolean; createGraph: boolean }>(opts, 'backward options', ['retainGraph', 'createGraph']);
    const create = o.createGraph === undefined ? false : checkBool(o.createGraph, 'createGraph');
    const retain = o.retainGraph === undefined ? create : checkBool(o.retainGraph, 'retainGraph');
    this.handle();
    if (!this.requiresGrad) invalidArg('a tensor that requires grad (the result of operations on tensors with requiresGrad)', 'self', this);
    if (gradient === undefined || gradient === null) {
      if (this.numel() !== 1) invalidArg(`a gradient tensor of shape [${this.shape.join(', ')}] (only one-element tensors have an implicit gradient)`, 'gradient', gradient);
      return [null, retain, create];
    }
    const g = checkTensor(gradient, 'gradient');
    if (!sameShape(g.shape, this.shape)) invalidArg(`a gradient tensor of shape [${this.shape.join(', ')}]`, 'gradient', g);
    return [g.handle('gradient'), retain, create];
  }

  // ---- reading data ------------------------------------------------------------------------

  /** A copy of the data, after every async job queued before this call has run. */
  data(): Promise<DataFor<D>> {
    assertNotTracing();
    return withCallerStack(native.dataAsync(this.handle()) as Promise<DataFor<D>>, new Error());
  }
  /** A copy of the data, now, on the JS thread. */
  dataSync(): DataFor<D> {
    assertNotTracing();
    return native.dataSync(this.handle()) as DataFor<D>;
  }
  /** The value of a one-element tensor, as a number (boolean for bool tensors, { re, im } for complex ones). */
  item(): ScalarFor<D> {
    if (this.numel() !== 1) invalidArg('a tensor with one element', 'self', this);
    return toScalars(this.dataSync(), this.dtype)[0] as ScalarFor<D>;
  }
  /** The data as nested arrays (a number for a 0-dim tensor). int64 values become numbers. */
  toArray(): unknown {
    const flat = toScalars(this.dataSync(), this.dtype);
    const shape = this.shape;
    if (shape.length === 0) return flat[0];
    const build = (dim: number, offset: number, stride: number): unknown[] => {
      const out: unknown[] = [];
      const inner = stride / shape[dim];
      for (let i = 0; i < shape[dim]; i++) {
        out.push(dim === shape.length - 1 ? flat[offset + i] : build(dim + 1, offset + i * inner, inner));
      }
      return out;
    };
    return build(0, 0, flat.length);
  }
  /** PyTorch's print format: `tensor([[1., 2.]], requires_grad=True)`. */
  toString(): string {
    if (this._h === null) return 'tensor(<disposed>)';
    const halfish = this.dtype === 'float16' || this.dtype === 'bfloat16';
    if (isComplex(this.dtype)) {
      const pairs = this.dataSync() as Float32Array | Float64Array;
      return formatComplexTensor(pairs, this.shape, this.dtype, this.device, this.requiresGrad, this.gradFn);
    }
    const values = halfish ? toScalars(native.dataSync(native.call(OP_TO_FLOAT, this._h, 6) as TensorHandle), 'float32') : toScalars(this.dataSync(), this.dtype);
    return formatTensor(values as (number | boolean)[], this.shape, this.dtype, this.device, this.requiresGrad, this.gradFn);
  }
  /** @internal Used by error messages. */
  describeForError(): string {
    if (this._h === null) return 'a disposed Tensor';
    return `${this.dtype.startsWith('int') ? 'an' : 'a'} ${this.dtype} Tensor of shape [${this.shape.join(', ')}]`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string { return this.toString(); }

  // ---- lifetime ----------------------------------------------------------------------------

  /** Frees the native tensor now. Later use throws; disposing twice is harmless. */
  dispose(): void {
    if (this._h !== null) {
      native.dispose(this._h);
      this._h = null;
      if (scopes.length > 0) scopes[scopes.length - 1].delete(this);
    }
  }
  get isDisposed(): boolean { return this._h === null; }
  /** `using t = torch.ones([3])` disposes t at the end of the block. */
  [Symbol.dispose](): void { this.dispose(); }
}

const OP_TO_FLOAT = atenOp('to', 'dtype');

/** Wraps a native handle returned by an operation. */
export function wrap<D extends DType = DType>(h: unknown): Tensor<D> {
  return new Tensor<D>(h as TensorHandle);
}

export function checkTensor<D extends DType = DType>(value: unknown, name: string): Tensor<D> {
  if (!(value instanceof Tensor)) invalidArg('a Tensor', name, value);
  if (value.isDisposed) invalidArg('a live Tensor', name, value);
  return value as Tensor<D>;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

function toScalars(data: ArrayBufferView, dtype: DType): (number | boolean | Complex)[] {
  const arr = data as unknown as ArrayLike<number | bigint>;
  if (isComplex(dtype)) {
    const pairs = data as Float32Array | Float64Array;
    return Array.from({ length: pairs.length / 2 }, (_, i) => ({ re: pairs[2 * i], im: pairs[2 * i + 1] }));
  }
  const out = new Array<number | boolean>(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    out[i] = dtype === 'bool' ? v !== 0 : Number(v);
  }
  return out;
}

// ---- tidy, keep, memory --------------------------------------------------------------------

/**
 * Runs `fn` and disposes every tensor it created, except those it returns (in an array or
 * object too). `fn` must be synchronous.
 * @example const y = torch.tidy(() => x.mul(2).add(1)); // the intermediate x*2 is freed
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') invalidArg('a function', 'fn', fn);
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TorchError('Expected a synchronous function (tidy cannot track tensors across await) for fn but received a function returning a Promise', 'ERR_INVALID_ARG');
  }
  const kept = new Set<Tensor>();
  collectTensors(result, kept, new Set());
  for (const t of scope) if (!kept.has(t)) t.dispose();
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of kept) if (scope.has(t)) parent.add(t);
  return result;
}

/** Removes `t` from the enclosing tidy() scope, so it survives the scope's end. */
export function keep<T extends Tensor>(t: T): T {
  checkTensor(t, 't');
  for (const s of scopes) s.delete(t);
  return t;
}

/**
 * @internal Objects that own tensors (nn.utils.rnn.PackedSequence) list them under this key, so
 * tidy() keeps a returned one whole.
 */
export const TENSORS = Symbol('torchrnn.tensors');

function collectTensors(value: unknown, out: Set<Tensor>, seen: Set<unknown>): void {
  if (value instanceof Tensor) { out.add(value); return; }
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  const owner = value as { [TENSORS]?: () => Tensor[] };
  if (typeof owner[TENSORS] === 'function') { for (const t of owner[TENSORS]()) out.add(t); return; }
  if (Array.isArray(value)) { for (const v of value) collectTensors(v, out, seen); return; }
  if (value instanceof Map) { for (const v of value.values()) collectTensors(v, out, seen); return; }
  if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, out, seen);
}

/** Live tensor handles and the bytes of the distinct storages they hold. */
export function memory(): { tensors: number; bytes: number } {
  return native.memory();
}
