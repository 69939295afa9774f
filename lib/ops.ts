/**
 * Tensor operations, with PyTorch's names in camelCase and PyTorch's semantics (broadcasting,
 * type promotion, autograd). Each one validates its arguments here, then calls libtorch's
 * operator through the dispatcher (native/ops.cc). All are synchronous.
 */
import { atenOp as op, native, TensorHandle, IndexSpec } from './binding';
import { DType, SCALAR_TYPE, checkDType } from './dtype';
import { invalidArg } from './errors';
import { checkTensor, Tensor, wrap } from './tensor';
import { checkBool, checkDim, checkInt, checkNumber, checkOptions, checkString, checkToTarget, Device, shapeArgs } from './validate';

const call = native.call;

const OP = {
  add: op('add', 'Tensor'), sub: op('sub', 'Tensor'), 
  mul: op('mul', 'Tensor'), div: op('div', 'Tensor'), divMode: op('div', 'Tensor_mode'), 
  neg: op('neg'), isfinite: op('isfinite'), isnan: op('isnan'), isinf: op('isinf'), all: op('all'), any: op('any'), reciprocal: op('reciprocal'), pow: op('pow', 'Tensor_Tensor'), powS: op('pow', 'Tensor_Scalar'), sqrt: op('sqrt'), exp: op('exp'),
  log: op('log'), abs: op('abs'), clamp: op('clamp'), clampT: op('clamp', 'Tensor'),
  matmul: op('matmul'), mm: op('mm'), bmm: op('bmm'),
  sum: op('sum'), sumDim: op('sum', 'dim_IntList'), mean: op('mean'), meanDim: op('mean', 'dim'),
  max: op('max'), maxDim: op('max', 'dim'), maximum: op('maximum'), min: op('min'), minDim: op('min', 'dim'), minimum: op('minimum'),
  argmax: op('argmax'), argmin: op('argmin'), softmax: op('softmax', 'int'), logSoftmax: op('log_softmax', 'int'),
  tanh: op('tanh'), sigmoid: op('sigmoid'), relu: op('relu'), gelu: op('gelu'),
  eq: op('eq', 'Tensor'), eqS: op('eq', 'Scalar'), ne: op('ne', 'Tensor'), neS: op('ne', 'Scalar'),
  gt: op('gt', 'Tensor'), gtS: op('gt', 'Scalar'), lt: op('lt', 'Tensor'), ltS: op('lt', 'Scalar'),
  ge: op('ge', 'Tensor'), geS: op('ge', 'Scalar'), le: op('le', 'Tensor'), leS: op('le', 'Scalar'),
  where: op('where', 'self'),
  reshape: op('reshape'), view: op('view'), flatten: op('flatten', 'using_ints'), squeeze: op('squeeze'), squeezeDim: op('squeeze', 'dim'),
  unsqueeze: op('unsqueeze'), transpose: op('transpose', 'int'), permute: op('permute'), contiguous: op('contiguous'),
  expand: op('expand'), cat: op('cat'), stack: op('stack'), split: op('split', 'Tensor'), splitSizes: op('split_with_sizes'),
  chunk: op('chunk'), select: op('select', 'int'), slice: op('slice', 'Tensor'), narrow: op('narrow'),
  indexSelect: op('index_select'), gather: op('gather'), maskedFill: op('masked_fill', 'Scalar'), maskedFillT: op('masked_fill', 'Tensor'),
  toDtype: op('to', 'dtype'), toDevice: op('to', 'device'), clone: op('clone'), detach: op('detach'),
  add_: op('add_', 'Tensor'), sub_: op('sub_', 'Tensor'), 
  mul_: op('mul_', 'Tensor'), div_: op('div_', 'Tensor'), 
  zero_: op('zero_'), fill_: op('fill_', 'Scalar'), fillT_: op('fill_', 'Tensor'), copy_: op('copy_'), clamp_: op('clamp_'),
};

type Other = Tensor | number;
type MaxResult = [Tensor, Tensor<'int64'>] & { values: Tensor; indices: Tensor<'int64'> };

declare module './tensor' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface Tensor<D extends DType = DType> {
    /** self + alpha * other (broadcasting). */
    add(other: Other, opts?: { alpha?: number }): Tensor;
    /** self - alpha * other. */
    sub(other: Other, opts?: { alpha?: number }): Tensor;
    mul(other: Other): Tensor;
    /** True division; `roundingMode: 'trunc' | 'floor'` as in torch.div. */
    div(other: Other, opts?: { roundingMode?: 'trunc' | 'floor' }): Tensor;
    neg(): Tensor<D>;
    /** Elementwise: true where the value is finite (not inf or NaN). */
    isfinite(): Tensor<'bool'>;
    isnan(): Tensor<'bool'>;
    isinf(): Tensor<'bool'>;
    /** True (a 0-D bool tensor) when every element is non-zero. */
    all(): Tensor<'bool'>;
    /** True (a 0-D bool tensor) when some element is non-zero. */
    any(): Tensor<'bool'>;
    /** 1 / self. */
    reciprocal(): Tensor;
    pow(exponent: Other): Tensor;
    sqrt(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    abs(): Tensor<D>;
    /** Clamps into [min, max]; either bound may be null. */
    clamp(min?: Other | null, max?: Other | null): Tensor<D>;
    matmul(other: Tensor): Tensor;
    mm(other: Tensor): Tensor;
    bmm(other: Tensor): Tensor;
    /** Sum of all elements, or over `dim` (a number or an array), keeping reduced dims if keepdim. */
    sum(dim?: number | number[] | null, keepdim?: boolean, opts?: { dtype?: DType }): Tensor;
    mean(dim?: number | number[] | null, keepdim?: boolean, opts?: { dtype?: DType }): Tensor;
    /** `max()`: the largest element; `max(dim)`: [values, indices]; `max(other)`: elementwise maximum. */
    max(): Tensor<D>;
    max(dim: number, keepdim?: boolean): MaxResult;
    max(other: Tensor): Tensor;
    min(): Tensor<D>;
    min(dim: number, keepdim?: boolean): MaxResult;
    min(other: Tensor): Tensor;
    argmax(dim?: number | null, keepdim?: boolean): Tensor<'int64'>;
    argmin(dim?: number | null, keepdim?: boolean): Tensor<'int64'>;
    softmax(dim: number, opts?: { dtype?: DType }): Tensor;
    logSoftmax(dim: number, opts?: { dtype?: DType }): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor<D>;
    /** GELU; `approximate: 'none' | 'tanh'` (default 'none'). */
    gelu(opts?: { approximate?: 'none' | 'tanh' }): Tensor;
    eq(other: Other): Tensor<'bool'>;
    ne(other: Other): Tensor<'bool'>;
    gt(other: Other): Tensor<'bool'>;
    lt(other: Other): Tensor<'bool'>;
    ge(other: Other): Tensor<'bool'>;
    le(other: Other): Tensor<'bool'>;
    /** `x.where(condition, y)`: x where condition is true, else y (torch.where(condition, x, y)). */
    where(condition: Tensor, other: Other): Tensor;
    /** `reshape(2, -1)` or `reshape([2, -1])`. */
    reshape(...shape: number[] | [number[]]): Tensor<D>;
    view(...shape: number[] | [number[]]): Tensor<D>;
    flatten(startDim?: number, endDim?: number): Tensor<D>;
    squeeze(dim?: number): Tensor<D>;
    unsqueeze(dim: number): Tensor<D>;
    transpose(dim0: number, dim1: number): Tensor<D>;
    permute(...dims: number[] | [number[]]): Tensor<D>;
    contiguous(): Tensor<D>;
    /** Broadcasts to a larger shape (-1 keeps a size). */
    expand(...sizes: number[] | [number[]]): Tensor<D>;
    /** Pieces of `splitSize` along dim, or pieces of the given sizes. */
    split(splitSize: number | number[], dim?: number): Tensor<D>[];
    chunk(chunks: number, dim?: number): Tensor<D>[];
    /** The slice at `index` along `dim` (removes that dim). */
    select(dim: number, index: number): Tensor<D>;
    /** Python's self[..., start:end:step, ...] along one dim. */
    slice(dim?: number, start?: number | null, end?: number | null, step?: number): Tensor<D>;
    narrow(dim: number, start: number, length: number): Tensor<D>;
    /**
     * Python indexing: numbers, slices (`':'`, `'1:3'`, `'::2'` or `{start, stop, step}`),
     * `null` (a new axis, Python's None), `'...'`, and int64/bool index tensors.
     * @example x.index([0, '1:', idx]) // x[0, 1:, idx]
     */
    index(indices: IndexArg[]): Tensor<D>;
    indexSelect(dim: number, index: Tensor): Tensor<D>;
    gather(dim: number, index: Tensor): Tensor<D>;
    maskedFill(mask: Tensor, value: Other): Tensor<D>;
    /** Converts dtype and/or device: `to('float64')`, `to('cpu')`, `to({ dtype, device })`. */
    to(target: DType | Device | { dtype?: DType; device?: Device }): Tensor;
    clone(): Tensor<D>;
    /** A tensor sharing data, cut from the autograd graph. */
    detach(): Tensor<D>;
    add_(other: Other, opts?: { alpha?: number }): this;
    sub_(other: Other, opts?: { alpha?: number }): this;
    mul_(other: Other): this;
    div_(other: Other): this;
    clamp_(min?: number | null, max?: number | null): this;
    zero_(): this;
    fill_(value: Other): this;
    copy_(src: Tensor): this;
  }
}

export type IndexArg = number | string | null | boolean | Tensor | { start?: number | null; stop?: number | null; step?: number | null };

type Proto = Tensor & Record<string, unknown>;
const proto = Tensor.prototype as unknown as Proto;
const h = (t: Tensor) => t.handle('self');

/** An operand that may be a tensor or a number. */
function other(value: unknown, name = 'other'): TensorHandle | number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return checkTensor(value, name).handle(name);
}

/** Calls the Tensor overload or the Scalar one, depending on the operand. */
function binary(tensorOp: number, scalarOp: number, self: Tensor, value: unknown, ...rest: unknown[]): Tensor {
  const o = other(value);
  return wrap(call(typeof o === 'number' ? scalarOp : tensorOp, h(self), o, ...rest));
}

/** alpha, or undefined for the schema's default (1). */
function alphaOf(opts: unknown): number | undefined {
  if (opts === undefined) return undefined;
  const o = checkOptions<{ alpha: number }>(opts, 'options', ['alpha']);
  return o.alpha === undefined ? undefined : checkNumber(o.alpha, 'alpha');
}

function dimsOf(self: Tensor, dim: unknown): number[] | null {
  if (dim === undefined || dim === null) return null;
  const dims = Array.isArray(dim) ? dim : [dim];
  if (!Array.isArray(dim) && typeof dim !== 'number') invalidArg('an integer or an array of integers', 'dim', dim);
  return dims.map((d) => checkDim(d, 'dim', self.dim()));
}

function dtypeOpt(opts: unknown): number | null {
  const o = checkOptions<{ dtype: DType }>(opts, 'options', ['dtype']);
  return o.dtype === undefined ? null : SCALAR_TYPE[checkDType(o.dtype)];
}

function keepdimOf(v: unknown): boolean {
  return v === undefined ? false : checkBool(v, 'keepdim');
}

Object.assign(proto, {
  add(this: Tensor, o: Other, opts?: object) { return wrap(call(OP.add, h(this), other(o), alphaOf(opts))); },
  sub(this: Tensor, o: Other, opts?: object) { return wrap(call(OP.sub, h(this), other(o), alphaOf(opts))); },
  mul(this: Tensor, o: Other) { return wrap(call(OP.mul, h(this), other(o))); },
  div(this: Tensor, o: Other, opts?: object) {
    const { roundingMode } = checkOptions<{ roundingMode: string }>(opts, 'options', ['roundingMode']);
    if (roundingMode === undefined) return wrap(call(OP.div, h(this), other(o)));
    return wrap(call(OP.divMode, h(this), other(o), checkString(roundingMode, 'roundingMode', ['trunc', 'floor'])));
  },
  neg(this: Tensor) { return wrap(call(OP.neg, h(this))); },
  isfinite(this: Tensor) { return wrap<'bool'>(call(OP.isfinite, h(this))); },
  isnan(this: Tensor) { return wrap<'bool'>(call(OP.isnan, h(this))); },
  isinf(this: Tensor) { return wrap<'bool'>(call(OP.isinf, h(this))); },
  all(this: Tensor) { return wrap<'bool'>(call(OP.all, h(this))); },
  any(this: Tensor) { return wrap<'bool'>(call(OP.any, h(this))); },
  reciprocal(this: Tensor) { return wrap(call(OP.reciprocal, h(this))); },
  pow(this: Tensor, e: Other) {
    const x = other(e, 'exponent');
    return wrap(call(typeof x === 'number' ? OP.powS : OP.pow, h(this), x));
  },
  sqrt(this: Tensor) { return wrap(call(OP.sqrt, h(this))); },
  exp(this: Tensor) { return wrap(call(OP.exp, h(this))); },
  log(this: Tensor) { return wrap(call(OP.log, h(this))); },
  abs(this: Tensor) { return wrap(call(OP.abs, h(this))); },
  clamp(this: Tensor, min?: Other | null, max?: Other | null) {
    const lo = min === undefined || min === null ? null : other(min, 'min');
    const hi = max === undefined || max === null ? null : other(max, 'max');
    if (lo === null && hi === null) invalidArg('at least one of min and max', 'clamp bounds', min);
    // Tensor bounds (numbers beside them become wrapped-number tensors natively).
    if (typeof lo === 'object' || typeof hi === 'object') return wrap(call(OP.clampT, h(this), lo, hi));
    return wrap(call(OP.clamp, h(this), lo, hi));
  },
  matmul(this: Tensor, o: Tensor) { return wrap(call(OP.matmul, h(this), checkTensor(o, 'other').handle('other'))); },
  mm(this: Tensor, o: Tensor) {
    if (this.dim() !== 2) invalidArg('a 2-D tensor', 'self', this);
    const m = checkTensor(o, 'mat2');
    if (m.dim() !== 2) invalidArg('a 2-D tensor', 'mat2', m);
    return wrap(call(OP.mm, h(this), m.handle('mat2')));
  },
  bmm(this: Tensor, o: Tensor) {
    if (this.dim() !== 3) invalidArg('a 3-D tensor', 'self', this);
    const m = checkTensor(o, 'mat2');
    if (m.dim() !== 3) invalidArg('a 3-D tensor', 'mat2', m);
    return wrap(call(OP.bmm, h(this), m.handle('mat2')));
  },
  sum(this: Tensor, dim?: unknown, keepdim?: unknown, opts?: object) {
    const dims = dimsOf(this, dim);
    const dt = dtypeOpt(opts);
    return wrap(dims === null && keepdim === undefined ? call(OP.sum, h(this), dt) : call(OP.sumDim, h(this), dims, keepdimOf(keepdim), dt));
  },
  mean(this: Tensor, dim?: unknown, keepdim?: unknown, opts?: object) {
    const dims = dimsOf(this, dim);
    const dt = dtypeOpt(opts);
    return wrap(dims === null && keepdim === undefined ? call(OP.mean, h(this), dt) : call(OP.meanDim, h(this), dims, keepdimOf(keepdim), dt));
  },
  max(this: Tensor, arg?: unknown, keepdim?: unknown) { return extreme(this, arg, keepdim, OP.max, OP.maxDim, OP.maximum); },
  min(this: Tensor, arg?: unknown, keepdim?: unknown) { return extreme(this, arg, keepdim, OP.min, OP.minDim, OP.minimum); },
  argmax(this: Tensor, dim?: unknown, keepdim?: unknown) {
    return wrap(call(OP.argmax, h(this), dim === undefined || dim === null ? null : checkDim(dim, 'dim', this.dim()), keepdimOf(keepdim)));
  },
  argmin(this: Tensor, dim?: unknown, keepdim?: unknown) {
    return wrap(call(OP.argmin, h(this), dim === undefined || dim === null ? null : checkDim(dim, 'dim', this.dim()), keepdimOf(keepdim)));
  },
  softmax(this: Tensor, dim: unknown, opts?: object) { return wrap(call(OP.softmax, h(this), checkDim(dim, 'dim', this.dim()), dtypeOpt(opts))); },
  logSoftmax(this: Tensor, dim: unknown, opts?: object) { return wrap(call(OP.logSoftmax, h(this), checkDim(dim, 'dim', this.dim()), dtypeOpt(opts))); },
  tanh(this: Tensor) { return wrap(call(OP.tanh, h(this))); },
  sigmoid(this: Tensor) { return wrap(call(OP.sigmoid, h(this))); },
  relu(this: Tensor) { return wrap(call(OP.relu, h(this))); },
  gelu(this: Tensor, opts?: object) {
    const o = checkOptions<{ approximate: string }>(opts, 'options', ['approximate']);
    return wrap(call(OP.gelu, h(this), o.approximate === undefined ? 'none' : checkString(o.approximate, 'approximate', ['none', 'tanh'])));
  },
  eq(this: Tensor, o: Other) { return binary(OP.eq, OP.eqS, this, o); },
  ne(this: Tensor, o: Other) { return binary(OP.ne, OP.neS, this, o); },
  gt(this: Tensor, o: Other) { return binary(OP.gt, OP.gtS, this, o); },
  lt(this: Tensor, o: Other) { return binary(OP.lt, OP.ltS, this, o); },
  ge(this: Tensor, o: Other) { return binary(OP.ge, OP.geS, this, o); },
  le(this: Tensor, o: Other) { return binary(OP.le, OP.leS, this, o); },
  where(this: Tensor, condition: Tensor, o: Other) { return where(condition, this, o); },
  reshape(this: Tensor, ...shape: unknown[]) { return wrap(call(OP.reshape, h(this), inferShape(this, shapeArgs(shape, 'shape', true)))); },
  view(this: Tensor, ...shape: unknown[]) { return wrap(call(OP.view, h(this), inferShape(this, shapeArgs(shape, 'shape', true)))); },
  flatten(this: Tensor, startDim = 0, endDim = -1) {
    return wrap(call(OP.flatten, h(this), checkDim(startDim, 'startDim', this.dim()), checkDim(endDim, 'endDim', this.dim())));
  },
  squeeze(this: Tensor, dim?: unknown) {
    return wrap(dim === undefined ? call(OP.squeeze, h(this)) : call(OP.squeezeDim, h(this), checkDim(dim, 'dim', this.dim())));
  },
  unsqueeze(this: Tensor, dim: unknown) { return wrap(call(OP.unsqueeze, h(this), checkDim(dim, 'dim', this.dim() + 1))); },
  transpose(this: Tensor, d0: unknown, d1: unknown) {
    return wrap(call(OP.transpose, h(this), checkDim(d0, 'dim0', this.dim()), checkDim(d1, 'dim1', this.dim())));
  },
  permute(this: Tensor, ...dims: unknown[]) {
    const d = (dims.length === 1 && Array.isArray(dims[0]) ? dims[0] : dims) as unknown[];
    if (d.length !== this.dim()) invalidArg(`${this.dim()} dimensions`, 'dims', d);
    const norm = d.map((x) => { const v = checkDim(x, 'dims', this.dim()); return v < 0 ? v + this.dim() : v; });
    if (new Set(norm).size !== norm.length) invalidArg('a permutation of the dimensions (no repeats)', 'dims', d);
    return wrap(call(OP.permute, h(this), norm));
  },
  contiguous(this: Tensor) { return wrap(call(OP.contiguous, h(this))); },
  expand(this: Tensor, ...sizes: unknown[]) {
    const s = shapeArgs(sizes, 'sizes', true);
    if (s.length < this.dim()) invalidArg(`at least ${this.dim()} sizes`, 'sizes', s);
    return wrap(call(OP.expand, h(this), s));
  },
  split(this: Tensor, splitSize: unknown, dim: unknown = 0) {
    const d = checkDim(dim, 'dim', this.dim());
    if (Array.isArray(splitSize)) {
      const sizes = splitSize.map((s) => checkInt(s, 'splitSize', { min: 0 }));
      const total = this.size(d);
      if (sizes.reduce((a, b) => a + b, 0) !== total) invalidArg(`sizes that add up to ${total}`, 'splitSize', splitSize);
      return (call(OP.splitSizes, h(this), sizes, d) as TensorHandle[]).map((x) => wrap(x));
    }
    return (call(OP.split, h(this), checkInt(splitSize, 'splitSize', { min: 1 }), d) as TensorHandle[]).map((x) => wrap(x));
  },
  chunk(this: Tensor, chunks: unknown, dim: unknown = 0) {
    return (call(OP.chunk, h(this), checkInt(chunks, 'chunks', { min: 1 }), checkDim(dim, 'dim', this.dim())) as TensorHandle[]).map((x) => wrap(x));
  },
  select(this: Tensor, dim: unknown, index: unknown) {
    if (this.dim() === 0) invalidArg('a tensor with at least one dimension', 'self', this);
    const d = checkDim(dim, 'dim', this.dim());
    const n = this.size(d);
    return wrap(call(OP.select, h(this), d, checkInt(index, 'index', { min: -n, max: n - 1 })));
  },
  slice(this: Tensor, dim: unknown = 0, start: unknown = null, end: unknown = null, step: unknown = 1) {
    if (this.dim() === 0) invalidArg('a tensor with at least one dimension', 'self', this);
    const opt = (v: unknown, name: string) => (v === null || v === undefined ? null : checkInt(v, name));
    return wrap(call(OP.slice, h(this), checkDim(dim, 'dim', this.dim()), opt(start, 'start'), opt(end, 'end'), checkInt(step, 'step', { min: 1 })));
  },
  narrow(this: Tensor, dim: unknown, start: unknown, length: unknown) {
    if (this.dim() === 0) invalidArg('a tensor with at least one dimension', 'self', this);
    const d = checkDim(dim, 'dim', this.dim());
    const n = this.size(d);
    const s = checkInt(start, 'start', { min: -n, max: n });
    const s0 = s < 0 ? s + n : s;
    return wrap(call(OP.narrow, h(this), d, s, checkInt(length, 'length', { min: 0, max: n - s0 })));
  },
  index(this: Tensor, indices: unknown) { return wrap(native.index(h(this), indexSpecs(indices))); },
  indexSelect(this: Tensor, dim: unknown, index: Tensor) {
    const i = checkTensor(index, 'index');
    if (i.dtype !== 'int64' && i.dtype !== 'int32') invalidArg('an int64 or int32 index tensor', 'index', i);
    if (i.dim() > 1) invalidArg('a 0-D or 1-D index tensor', 'index', i);
    return wrap(call(OP.indexSelect, h(this), checkDim(dim, 'dim', this.dim()), i.handle('index')));
  },
  gather(this: Tensor, dim: unknown, index: Tensor) {
    const i = checkTensor(index, 'index');
    if (i.dtype !== 'int64') invalidArg('an int64 index tensor', 'index', i);
    if (i.dim() !== this.dim()) invalidArg(`an index tensor with ${this.dim()} dimensions`, 'index', i);
    return wrap(call(OP.gather, h(this), checkDim(dim, 'dim', this.dim()), i.handle('index')));
  },
  maskedFill(this: Tensor, mask: Tensor, value: Other) {
    const m = checkTensor(mask, 'mask');
    if (m.dtype !== 'bool') invalidArg('a bool mask tensor', 'mask', m);
    const v = other(value, 'value');
    return wrap(call(typeof v === 'number' ? OP.maskedFill : OP.maskedFillT, h(this), m.handle('mask'), v));
  },
  to(this: Tensor, target: unknown) {
    const { dtype, device } = checkToTarget(target);
    if (device !== undefined) return wrap(call(OP.toDevice, h(this), device, SCALAR_TYPE[dtype ?? this.dtype]));
    return wrap(call(OP.toDtype, h(this), SCALAR_TYPE[dtype ?? this.dtype]));
  },
  clone(this: Tensor) { return wrap(call(OP.clone, h(this))); },
  detach(this: Tensor) { return wrap(call(OP.detach, h(this))); },
  add_(this: Tensor, o: Other, opts?: object) { native.callInPlace(OP.add_, h(this), other(o), alphaOf(opts)); return this; },
  sub_(this: Tensor, o: Other, opts?: object) { native.callInPlace(OP.sub_, h(this), other(o), alphaOf(opts)); return this; },
  mul_(this: Tensor, o: Other) { native.callInPlace(OP.mul_, h(this), other(o)); return this; },
  div_(this: Tensor, o: Other) { native.callInPlace(OP.div_, h(this), other(o)); return this; },
  clamp_(this: Tensor, min?: number | null, max?: number | null) {
    const lo = min === undefined || min === null ? null : checkNumber(min, 'min');
    const hi = max === undefined || max === null ? null : checkNumber(max, 'max');
    if (lo === null && hi === null) invalidArg('at least one of min and max', 'clamp bounds', min);
    native.callInPlace(OP.clamp_, h(this), lo, hi);
    return this;
  },
  zero_(this: Tensor) { native.callInPlace(OP.zero_, h(this)); return this; },
  fill_(this: Tensor, v: Other) {
    const o = other(v, 'value');
    native.callInPlace(typeof o === 'number' ? OP.fill_ : OP.fillT_, h(this), o);
    return this;
  },
  copy_(this: Tensor, src: Tensor) { native.callInPlace(OP.copy_, h(this), checkTensor(src, 'src').handle('src')); return this; },
});

function extreme(self: Tensor, arg: unknown, keepdim: unknown, all: number, byDim: number, elementwise: number): unknown {
  if (arg === undefined) {
    if (self.numel() === 0) invalidArg('a non-empty tensor (max and min of nothing are undefined)', 'self', self);
    return wrap(call(all, h(self)));
  }
  if (arg instanceof Tensor) return wrap(call(elementwise, h(self), checkTensor(arg, 'other').handle('other')));
  const [values, indices] = (call(byDim, h(self), checkDim(arg, 'dim', self.dim()), keepdimOf(keepdim)) as TensorHandle[]).map((x) => wrap(x));
  return Object.assign([values, indices], { values, indices });
}

/** Resolves one -1 and checks that the element count matches, with a message naming both shapes. */
function inferShape(self: Tensor, shape: number[]): number[] {
  const numel = self.numel();
  const unknown = shape.filter((s) => s === -1).length;
  if (unknown > 1) invalidArg('a shape with at most one -1', 'shape', shape);
  const known = shape.reduce((a, s) => (s === -1 ? a : a * s), 1);
  if (unknown === 1 ? known === 0 || numel % known !== 0 : known !== numel) {
    invalidArg(`a shape with ${numel} elements (the input's shape is [${self.shape.join(', ')}])`, 'shape', shape);
  }
  return shape;
}

/** Parses Python-style index arguments into the native spec list. */
function indexSpecs(indices: unknown): IndexSpec[] {
  if (!Array.isArray(indices)) invalidArg('an array of indices', 'indices', indices);
  return indices.map((ix): IndexSpec => {
    if (typeof ix === 'number') return [0, checkInt(ix, 'indices')];
    if (ix === null) return [2];
    if (typeof ix === 'boolean') return [5, ix];
    if (ix instanceof Tensor) {
      const t = checkTensor(ix, 'indices');
      if (t.dtype !== 'int64' && t.dtype !== 'int32' && t.dtype !== 'bool' && t.dtype !== 'uint8') invalidArg('an int64 or bool index tensor', 'indices', t);
      return [4, t.handle('indices')];
    }
    if (typeof ix === 'string') {
      if (ix === '...') return [3];
      const m = /^\s*(-?\d+)?\s*:\s*(-?\d+)?\s*(?::\s*(-?\d+)?\s*)?$/.exec(ix);
      if (!m) invalidArg('a slice string like "1:3", ":" or "::2", or "..."', 'indices', ix);
      const n = (s: string | undefined) => {
        if (s === undefined) return null;
        const v = Number(s);
        return Number.isSafeInteger(v) ? v : invalidArg('a slice string with integers within ±(2^53 - 1)', 'indices', ix);
      };
      const step = n(m[3]);
      if (step !== null && step <= 0) invalidArg('a positive slice step', 'indices', ix);
      return [1, n(m[1]), n(m[2]), step];
    }
    if (typeof ix === 'object') {
      const o = checkOptions<{ start: number | null; stop: number | null; step: number | null }>(ix, 'indices', ['start', 'stop', 'step']);
      const opt = (v: unknown) => (v === undefined || v === null ? null : checkInt(v, 'indices'));
      const step = opt(o.step);
      if (step !== null && step <= 0) invalidArg('a positive slice step', 'indices', ix);
      return [1, opt(o.start), opt(o.stop), step];
    }
    return invalidArg('a number, a slice, null, "...", a boolean or an index tensor', 'indices', ix);
  });
}

// ---- functions over several tensors ------------------------------------------------------------

/**
 * torch.where(condition, x, y): x where condition is true, else y. Numbers promote as
 * Python scalars do (where.ScalarOther wraps them the same way).
 */
export function where(condition: Tensor, x: Other, y: Other): Tensor {
  const c = checkTensor(condition, 'condition');
  if (c.dtype !== 'bool') invalidArg('a bool condition tensor', 'condition', c);
  return wrap(call(OP.where, c.handle('condition'), other(x, 'x'), other(y, 'y')));
}

function tensorList(tensors: unknown, name: string): TensorHandle[] {
  if (!Array.isArray(tensors) || tensors.length === 0) invalidArg('a non-empty array of Tensors', name, tensors);
  return tensors.map((t, i) => checkTensor(t, `${name}[${i}]`).handle(`${name}[${i}]`));
}

/** Concatenates along an existing dimension. */
export function cat(tensors: Tensor[], dim: number | { dim?: number } = 0): Tensor {
  const hs = tensorList(tensors, 'tensors');
  return wrap(call(OP.cat, hs, checkDim(dimArg(dim), 'dim', tensors[0].dim())));
}

/** `dim` given positionally or as PyTorch's keyword (`torch.cat(ts, { dim: 1 })`). */
function dimArg(dim: unknown): unknown {
  if (dim !== null && typeof dim === 'object' && !Array.isArray(dim) && !(dim instanceof Tensor)) {
    return checkOptions<{ dim: number }>(dim, 'options', ['dim']).dim ?? 0;
  }
  return dim;
}

/** Stacks along a new dimension. */
export function stack(tensors: Tensor[], dim: number | { dim?: number } = 0): Tensor {
  const hs = tensorList(tensors, 'tensors');
  const first = tensors[0].shape;
  tensors.forEach((t, i) => {
    if (t.shape.length !== first.length || t.shape.some((s, k) => s !== first[k])) invalidArg(`a Tensor of shape [${first.join(', ')}] (all must match)`, `tensors[${i}]`, t);
  });
  return wrap(call(OP.stack, hs, checkDim(dimArg(dim), 'dim', tensors[0].dim() + 1)));
}
