/**
 * Elementwise kernels: unary math, activations, casts, comparisons and binary arithmetic.
 * Broadcasting and NaN propagation are libtorch's, which match tfjs's; the differences are
 * handled where they are (sign of NaN, integer division by zero, …).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelHost } from '../kernel-host';
import { aten, cast, CODE, dtypeCode, float, floatAs, fromData, full, H, kernel, out, sameShape, T } from './common';
import { SmallOp, smallBinary } from './small';

/** A unary float kernel: int and bool inputs are computed in float32, as tfjs's ops cast them. */
function unaryFloat(name: string, f: (x: H) => H): void {
  kernel(name, ({ x }, b) => out(b, f(floatAs(T(b, x), x.dtype)), 'float32'));
}

/** A unary kernel that keeps the input dtype (abs, neg, …). */
function unarySame(name: string, f: (x: H) => H): void {
  kernel(name, ({ x }, b) => out(b, f(T(b, x)), x.dtype));
}

const simple: [string, string][] = [
  ['Acos', 'acos'], ['Acosh', 'acosh'], ['Asin', 'asin'], ['Asinh', 'asinh'], ['Atan', 'atan'], ['Atanh', 'atanh'],
  ['Cos', 'cos'], ['Cosh', 'cosh'], ['Erf', 'erf'], ['Exp', 'exp'], ['Expm1', 'expm1'], ['Log', 'log'], ['Log1p', 'log1p'],
  ['Reciprocal', 'reciprocal'], ['Rsqrt', 'rsqrt'], ['Sigmoid', 'sigmoid'], ['Sin', 'sin'], ['Sinh', 'sinh'], ['Sqrt', 'sqrt'],
  ['Tan', 'tan'], ['Tanh', 'tanh'], ['Selu', 'selu'],
];
for (const [k, op] of simple) unaryFloat(k, (x) => aten(op, '', x));

unaryFloat('Elu', (x) => aten('elu', '', x, 1, 1, 1));
unaryFloat('Ceil', (x) => aten('ceil', '', x));
unaryFloat('Floor', (x) => aten('floor', '', x));
// tfjs rounds half to even, as libtorch does; integers stay integers.
kernel('Round', ({ x }, b) => {
  const h = T(b, x);
  return out(b, x.dtype === 'float32' ? aten('round', '', h) : aten('clone', '', h, null), x.dtype === 'bool' ? 'int32' : x.dtype);
});
// tfjs's softplus: exp(x) below log(eps)+2, x above -(log(eps)+2), else log1p(exp(x)).
unaryFloat('Softplus', (x) => {
  const threshold = Math.log(1.1920928955078125e-7) + 2;
  const sp = aten('log1p', '', aten('exp', '', x));
  const big = aten('where', 'self', aten('gt', 'Scalar', x, -threshold), x, sp);
  return aten('where', 'self', aten('lt', 'Scalar', x, threshold), aten('exp', '', x), big);
});
unarySame('Abs', (x) => aten('abs', '', x));
unarySame('Neg', (x) => aten('neg', '', x));
unarySame('Square', (x) => aten('mul', 'Tensor', x, x));
// tfjs: sign(NaN) = 0.
unarySame('Sign', (x) => {
  const s = aten('sign', '', x);
  return dtypeCode(x) === CODE.float32 ? aten('where', 'self', aten('isnan', '', x), 0.0, s) : s;
});
unarySame('Relu', (x) => aten('relu', '', x));
unarySame('Relu6', (x) => aten('clamp', '', x, 0, 6));
kernel('LeakyRelu', ({ x }, b, { alpha }) => {
  const h = T(b, x);
  return out(b, aten('where', 'self', aten('lt', 'Scalar', h, 0), aten('mul', 'Tensor', float(h), alpha), float(h)), 'float32');
});
kernel('Step', ({ x }, b, { alpha }) => {
  const h = float(T(b, x));
  const s = aten('where', 'self', aten('gt', 'Scalar', h, 0), 1.0, alpha + 0.0);
  return out(b, aten('where', 'self', aten('isnan', '', h), h, s), x.dtype === 'int32' ? 'int32' : 'float32');
});
kernel('ClipByValue', ({ x }, b, { clipValueMin, clipValueMax }) => out(b, aten('clamp', '', T(b, x), clipValueMin, clipValueMax), x.dtype));
kernel('IsNan', ({ x }, b) => out(b, aten('isnan', '', T(b, x)), 'bool'));
kernel('IsInf', ({ x }, b) => out(b, aten('isinf', '', T(b, x)), 'bool'));
kernel('IsFinite', ({ x }, b) => out(b, aten('isfinite', '', T(b, x)), 'bool'));
kernel('LogicalNot', ({ x }, b) => out(b, aten('logical_not', '', T(b, x)), 'bool'));
kernel('EluGrad', ({ dy, y }, b) => {
  const yh = T(b, y);
  const d = T(b, dy);
  return out(b, aten('where', 'self', aten('ge', 'Scalar', yh, 0), d, aten('mul', 'Tensor', d, aten('add', 'Tensor', yh, 1, 1))), 'float32');
});
kernel('Prelu', ({ x, alpha }, b) => {
  const h = float(T(b, x));
  return out(b, aten('where', 'self', aten('lt', 'Scalar', h, 0), aten('mul', 'Tensor', h, float(T(b, alpha))), h), 'float32');
});

kernel('Cast', ({ x }, b, { dtype }) => {
  if (x.dtype === 'string' || dtype === 'string') throw new Error(`Cast from ${x.dtype} to ${dtype} is not supported`);
  const h = T(b, x);
  if (dtype === x.dtype) {
    b.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype };
  }
  if (dtype === 'int32' && (x.dtype === 'float32')) {
    // tfjs truncates toward zero (Int32Array semantics): NaN and ±Infinity become 0.
    const finite = aten('isfinite', '', h);
    return out(b, aten('where', 'self', finite, cast(h, 'int32'), 0), 'int32');
  }
  return out(b, cast(h, dtype), dtype);
});

kernel('Identity', ({ x }, b) => {
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
});
kernel('ZerosLike', ({ x }, b) => {
  if (x.dtype === 'string') throw new Error('zerosLike is not defined for string tensors');
  return out(b, aten('zeros_like', '', T(b, x), null, null, null, null, null), x.dtype);
});
kernel('OnesLike', ({ x }, b) => {
  if (x.dtype === 'string') throw new Error('onesLike is not defined for string tensors');
  const h = T(b, x);
  if (x.dtype === 'complex64') return out(b, aten('complex', '', aten('ones', '', x.shape, 6, null, null, null), aten('zeros', '', x.shape, 6, null, null, null)), 'complex64');
  return out(b, aten('ones_like', '', h, null, null, null, null, null), x.dtype);
});

// ---- binary -----------------------------------------------------------------------------------

type Bin = (a: H, b: H, ad: DataType, bd: DataType) => H;

/** Binary kernel whose output dtype is tfjs's upcast of the inputs (or `dtype`). */
function binary(name: string, f: Bin, dtype?: DataType | ((a: DataType, b: DataType) => DataType), small?: SmallOp): void {
  const fast = small === undefined ? undefined : ({ a, b: bb }: { a: TensorInfo; b: TensorInfo }, b: KernelHost) => smallBinary(small, a, bb, b);
  kernel(name, ({ a, b: bb }: { a: TensorInfo; b: TensorInfo }, b: KernelHost) => {
    if (a.dtype === 'string' || bb.dtype === 'string') {
      if (dtype !== 'bool' || a.dtype !== bb.dtype) throw new Error(`torch backend: ${name} does not support ${a.dtype} and ${bb.dtype} tensors`);
      const [ra, rb] = stringRanks(b, a, bb);
      return out(b, f(ra, rb, 'int32', 'int32'), 'bool');
    }
    // tfjs's message for shapes that do not broadcast (libtorch's would name sizes differently).
    if (!sameShape(a.shape, bb.shape)) tf.backend_util.assertAndGetBroadcastShape(a.shape, bb.shape);
    const ah = T(b, a);
    const bh = T(b, bb);
    const d = typeof dtype === 'function' ? dtype(a.dtype, bb.dtype) : dtype ?? upcast(a.dtype, bb.dtype);
    return out(b, f(ah, bh, a.dtype, bb.dtype), d);
  }, fast);
}

/**
 * String comparison through libtorch: each string becomes its rank among all the strings of
 * both tensors (JS string order, as tfjs compares them), and the ranks are compared.
 */
function stringRanks(b: KernelHost, a: TensorInfo, c: TensorInfo): [H, H] {
  const decode = (t: TensorInfo) => (b.entry(t.dataId).strings as Uint8Array[]).map((u) => Buffer.from(u).toString('utf8'));
  const sa = decode(a);
  const sc = decode(c);
  const sorted = [...new Set([...sa, ...sc])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const rank = new Map(sorted.map((v, i) => [v, i]));
  const toH = (vals: string[], shape: number[]) => fromData(Int32Array.from(vals, (v) => rank.get(v) as number), shape, 3, 3);
  return [toH(sa, a.shape), toH(sc, c.shape)];
}

function upcast(a: DataType, b: DataType): DataType {
  if (a === 'complex64' || b === 'complex64') return 'complex64';
  if (a === 'float32' || b === 'float32') return 'float32';
  if (a === 'int32' || b === 'int32') return 'int32';
  return a === 'bool' && b === 'bool' ? 'bool' : a;
}

/** bool operands are promoted to int32 for arithmetic, as tfjs computes them (d: h's tfjs dtype, when known). */
function num(h: H, d?: DataType): H {
  return (d === undefined ? dtypeCode(h) === CODE.bool : d === 'bool') ? cast(h, 'int32') : h;
}

// add/sub: alpha is left to the schema's default (1): the call reads one argument less.
// (the last argument: the JS path for small tensors, kernels/small.ts)
binary('Add', (a, b, ad, bd) => aten('add', 'Tensor', num(a, ad), num(b, bd)), undefined, 'add');
binary('Sub', (a, b, ad, bd) => aten('sub', 'Tensor', num(a, ad), num(b, bd)), undefined, 'sub');
binary('Multiply', (a, b, ad, bd) => aten('mul', 'Tensor', num(a, ad), num(b, bd)), undefined, 'mul');
binary('RealDiv', (a, b, ad, bd) => aten('div', 'Tensor', floatAs(a, ad), floatAs(b, bd)), (a, b) => (a === 'complex64' || b === 'complex64' ? 'complex64' : 'float32'), 'div');
binary('FloorDiv', (a, b, ad, bd) => {
  if (ad === 'int32' && bd === 'int32') {
    // Integer floor division: libtorch throws on a zero divisor; tfjs gives 0 (Infinity → int32).
    const zero = aten('eq', 'Scalar', b, 0);
    const safe = aten('where', 'self', zero, 1, b);
    return aten('where', 'self', zero, 0, aten('div', 'Tensor_mode', a, safe, 'floor'));
  }
  return aten('div', 'Tensor_mode', float(a), float(b), 'floor');
});
binary('Maximum', (a, b, ad, bd) => aten('maximum', '', num(a, ad), num(b, bd)));
binary('Minimum', (a, b, ad, bd) => aten('minimum', '', num(a, ad), num(b, bd)));
binary('Mod', (a, b, ad, bd) => {
  if (ad === 'int32' && bd === 'int32') {
    const zero = aten('eq', 'Scalar', b, 0);
    const safe = aten('where', 'self', zero, 1, b);
    return aten('where', 'self', zero, 0, aten('remainder', 'Tensor', a, safe));
  }
  return aten('remainder', 'Tensor', float(a), float(b));
});
binary('Pow', (a, b, ad, bd) => {
  if (ad === 'int32' && bd === 'int32') {
    // libtorch refuses negative integer powers of integers; tfjs computes them in floats.
    return aten('pow', 'Tensor_Tensor', float(a), float(b));
  }
  return aten('pow', 'Tensor_Tensor', num(a, ad), num(b, bd));
});
binary('SquaredDifference', (a, b, ad, bd) => {
  const d = aten('sub', 'Tensor', num(a, ad), num(b, bd));
  return aten('mul', 'Tensor', d, d);
});
binary('Atan2', (a, b) => aten('atan2', '', float(a), float(b)), 'float32');
binary('Equal', (a, b) => aten('eq', 'Tensor', a, b), 'bool');
binary('NotEqual', (a, b) => aten('ne', 'Tensor', a, b), 'bool');
binary('Greater', (a, b) => aten('gt', 'Tensor', a, b), 'bool');
binary('GreaterEqual', (a, b) => aten('ge', 'Tensor', a, b), 'bool');
binary('Less', (a, b) => aten('lt', 'Tensor', a, b), 'bool');
binary('LessEqual', (a, b) => aten('le', 'Tensor', a, b), 'bool');
binary('LogicalAnd', (a, b) => aten('logical_and', '', a, b), 'bool');
binary('LogicalOr', (a, b) => aten('logical_or', '', a, b), 'bool');
binary('BitwiseAnd', (a, b) => aten('bitwise_and', 'Tensor', a, b));

kernel('AddN', (inputs: TensorInfo[], b) => {
  let acc = num(T(b, inputs[0]), inputs[0].dtype);
  for (let i = 1; i < inputs.length; i++) acc = aten('add', 'Tensor', acc, num(T(b, inputs[i]), inputs[i].dtype));
  return out(b, i0(acc, inputs), inputs[0].dtype);
});
function i0(h: H, inputs: TensorInfo[]): H {
  // A lone input: a copy, so the output owns its own DataId's tensor.
  return inputs.length === 1 ? aten('clone', '', h, null) : h;
}

kernel('Select', ({ condition, t, e }, b) => {
  let c = cast(T(b, condition), 'bool');
  if (condition.shape.length < t.shape.length) {
    // tfjs: a rank-1 condition picks whole rows of t and e.
    c = aten('reshape', '', c, [condition.shape[0] ?? 1, ...Array(t.shape.length - 1).fill(1)]);
  }
  return out(b, aten('where', 'self', c, T(b, t), T(b, e)), upcast(t.dtype, e.dtype));
});

kernel('Fill', (_inputs, b, { shape, value, dtype }) => {
  if (dtype === 'string' || typeof value === 'string') {
    const n = shape.reduce((x: number, y: number) => x * y, 1);
    const bytes = new TextEncoder().encode(String(value));
    return b.makeStringOutput(Array.from({ length: n }, () => bytes), shape);
  }
  const d: DataType = dtype ?? 'float32';
  return out(b, full(shape, d === 'bool' ? (value ? 1 : 0) : value, CODE[d as keyof typeof CODE]), d);
});

