/**
 * Matrix products, convolutions, pooling and normalization, on libtorch's own kernels.
 *
 * Layout: tfjs is channels-last (NHWC, NDHWC) with filters [fh, fw, in, out]; libtorch is
 * channels-first with weights [out, in, fh, fw]. Inputs are permuted (views) in and out.
 * Padding: tfjs's 'same' padding may be asymmetric and its rounding modes may ask for windows
 * that reach past the input; the input is padded explicitly (zeros for convolutions, -Infinity
 * for max pooling) and the output cut to tfjs's computed size. Average pooling divides by the
 * number of real (not padded) elements in each window, as tfjs does.
 * Gradient kernels differentiate these forward implementations with libtorch's autograd.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelHost } from '../kernel-host';
import { aten, cast, float, floatAs, full, gradOf, H, kernel, meta, out, T } from './common';

// ---- matmul ----------------------------------------------------------------------------------

/** a·b of tfjs's (batched) matmul; aShape, bShape: the inputs' shapes. */
function matmul(a: H, b: H, transposeA: boolean, transposeB: boolean, aShape: number[], bShape: number[]): H {
  const x = transposeA ? aten('transpose', 'int', a, -1, -2) : a;
  const y = transposeB ? aten('transpose', 'int', b, -1, -2) : b;
  // mm and bmm directly when they apply: matmul's own dispatch to them costs more than a tiny product.
  if (aShape.length === 2 && bShape.length === 2) return aten('mm', '', x, y);
  if (aShape.length === 3 && bShape.length === 3 && aShape[0] === bShape[0]) return aten('bmm', '', x, y);
  return aten('matmul', '', x, y);
}

function checkMatmul(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): void {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const innerA = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const innerB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  tf.util.assert(innerA === innerB, () => `Error in matMul: inner shapes (${innerA}) and (${innerB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
}

kernel('BatchMatMul', ({ a, b: bb }, b, { transposeA, transposeB }) => {
  checkMatmul(a, bb, transposeA, transposeB);
  const dtype: DataType = a.dtype === 'float32' || bb.dtype === 'float32' ? 'float32' : a.dtype;
  const want: DataType = dtype === 'bool' ? 'int32' : dtype;
  const x = a.dtype === want ? T(b, a) : cast(T(b, a), want);
  const y = bb.dtype === want ? T(b, bb) : cast(T(b, bb), want);
  return out(b, matmul(x, y, transposeA, transposeB, a.shape, bb.shape), dtype === 'bool' ? 'int32' : dtype);
});

/** tfjs's fused activations. */
export function activate(h: H, activation: string | undefined, prelu: H | null, leakyreluAlpha: number | undefined): H {
  switch (activation ?? 'linear') {
    case 'linear': return h;
    case 'relu': return aten('relu', '', h);
    case 'relu6': return aten('clamp', '', h, 0, 6);
    case 'elu': return aten('elu', '', h, 1, 1, 1);
    case 'sigmoid': return aten('sigmoid', '', h);
    case 'prelu': return aten('where', 'self', aten('lt', 'Scalar', h, 0), aten('mul', 'Tensor', h, prelu), h);
    case 'leakyrelu': return aten('where', 'self', aten('lt', 'Scalar', h, 0), aten('mul', 'Tensor', h, leakyreluAlpha ?? 0.2), h);
    default: throw new Error(`Activation ${activation} has not been implemented for the torch backend.`);
  }
}

kernel('_FusedMatMul', ({ a, b: bb, bias, preluActivationWeights }, b, { transposeA, transposeB, activation, leakyreluAlpha }) => {
  checkMatmul(a, bb, transposeA, transposeB);
  let y = matmul(floatAs(T(b, a), a.dtype), floatAs(T(b, bb), bb.dtype), transposeA, transposeB, a.shape, bb.shape);
  if (bias) y = aten('add', 'Tensor', y, floatAs(T(b, bias), bias.dtype));
  y = activate(y, activation, preluActivationWeights ? float(T(b, preluActivationWeights)) : null, leakyreluAlpha);
  return out(b, y, 'float32');
});

// ---- convolution -----------------------------------------------------------------------------

interface Geometry {
  inSize: number[];      // spatial input sizes
  outSize: number[];     // spatial output sizes tfjs computed
  before: number[];      // padding before each spatial dim
  stride: number[];
  dilation: number[];
  effective: number[];   // effective filter sizes
}

function geometry2d(info: tf.backend_util.Conv2DInfo): Geometry {
  return {
    inSize: [info.inHeight, info.inWidth],
    outSize: [info.outHeight, info.outWidth],
    before: [info.padInfo.top, info.padInfo.left],
    stride: [info.strideHeight, info.strideWidth],
    dilation: [info.dilationHeight, info.dilationWidth],
    effective: [info.effectiveFilterHeight, info.effectiveFilterWidth],
  };
}

function geometry3d(info: tf.backend_util.Conv3DInfo): Geometry {
  return {
    inSize: [info.inDepth, info.inHeight, info.inWidth],
    outSize: [info.outDepth, info.outHeight, info.outWidth],
    before: [info.padInfo.front, info.padInfo.top, info.padInfo.left],
    stride: [info.strideDepth, info.strideHeight, info.strideWidth],
    dilation: [info.dilationDepth, info.dilationHeight, info.dilationWidth],
    effective: [info.effectiveFilterDepth, info.effectiveFilterHeight, info.effectiveFilterWidth],
  };
}

/** True when tfjs's output has no elements along some spatial dim. */
function emptyOut(g: Geometry): boolean {
  return g.outSize.some((n) => n <= 0);
}

/** A zero channels-first output of tfjs's size (for empty outputs). */
function zerosOut(x: H, g: Geometry, channels?: number): H {
  const [n, c] = meta(x)[1];
  return aten('zeros', '', [n, channels ?? c, ...g.outSize.map((s) => Math.max(0, s))], 6, null, null, null);
}

/**
 * dy cut or zero-padded to tfjs's forward output size (tfjs's gradient kernels read only the
 * part of dy that the forward output covers).
 */
function fitDy(dy: H, outShape: number[]): H {
  const shape = meta(dy)[1];
  let r = dy;
  const pad: number[] = [];
  let needPad = false;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] > outShape[d]) r = aten('narrow', '', r, d, 0, outShape[d]);
    const more = Math.max(0, outShape[d] - shape[d]);
    pad.push(0, more);
    if (more > 0) needPad = true;
  }
  return needPad ? aten('constant_pad_nd', '', r, pad, 0) : r;
}

/** Pads a channels-first tensor so that tfjs's output size fits exactly (`value` in the border). */
function padFor(x: H, g: Geometry, value: number): H {
  const pad: number[] = [];
  let any = false;
  for (let d = g.inSize.length - 1; d >= 0; d--) {
    const need = (g.outSize[d] - 1) * g.stride[d] + g.effective[d];
    const after = Math.max(0, need - g.inSize[d] - g.before[d]);
    pad.push(g.before[d], after);
    if (g.before[d] !== 0 || after !== 0) any = true;
  }
  return any ? aten('constant_pad_nd', '', x, pad, value) : x;
}

/** Cuts libtorch's output down to tfjs's output size (channels-first). */
function cutTo(y: H, g: Geometry): H {
  const shape = meta(y)[1];
  let r = y;
  g.outSize.forEach((n, d) => {
    if (shape[d + 2] !== n) r = aten('narrow', '', r, d + 2, 0, Math.max(0, n));
  });
  return r;
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];
const NDHWC_TO_NCDHW = [0, 4, 1, 2, 3];
const NCDHW_TO_NDHWC = [0, 2, 3, 4, 1];

/** conv2d on a channels-first input with a tfjs filter [fh, fw, in, out] (or depthwise [fh, fw, in, mult]). */
function conv2dCF(x: H, filter: H, g: Geometry, depthwise: boolean, inChannels: number): H {
  let w: H;
  let groups = 1;
  if (depthwise) {
    const [fh, fw, c, m] = meta(filter)[1];
    w = aten('reshape', '', aten('permute', '', filter, [2, 3, 0, 1]), [c * m, 1, fh, fw]);
    groups = inChannels;
  } else {
    w = aten('permute', '', filter, [3, 2, 0, 1]);
  }
  // libtorch's convolution backward wants a contiguous weight.
  w = aten('contiguous', '', w, 0);
  if (emptyOut(g)) return zerosOut(x, g, meta(w)[1][0]);
  const xp = padFor(x, g, 0);
  const y = aten('convolution', '', xp, w, null, g.stride, [0, 0], g.dilation, false, [0, 0], groups);
  return cutTo(y, g);
}

function conv2d(x: H, filter: H, info: tf.backend_util.Conv2DInfo, depthwise: boolean): H {
  const channelsLast = info.dataFormat === 'channelsLast';
  const xc = channelsLast ? aten('permute', '', x, NHWC_TO_NCHW) : x;
  const y = conv2dCF(float(xc), float(filter), geometry2d(info), depthwise, info.inChannels);
  return channelsLast ? aten('permute', '', y, NCHW_TO_NHWC) : y;
}

function conv2dInfo(xShape: number[], filterShape: number[], attrs: { strides: unknown; dilations?: unknown; pad: unknown; dimRoundingMode?: unknown; dataFormat?: string }, depthwise: boolean): tf.backend_util.Conv2DInfo {
  const dataFormat = tf.backend_util.convertConv2DDataFormat((attrs.dataFormat ?? 'NHWC') as 'NHWC' | 'NCHW');
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides as number, (attrs.dilations ?? 1) as number, attrs.pad as 'same', attrs.dimRoundingMode as 'floor', depthwise, dataFormat);
}

function biasAndActivation(b: KernelHost, y: H, bias: TensorInfo | undefined, prelu: TensorInfo | undefined, activation: string, leakyreluAlpha: number | undefined, channelsLast: boolean): H {
  let r = y;
  if (bias) {
    let bh = float(T(b, bias));
    if (!channelsLast && bias.shape.length === 1) bh = aten('reshape', '', bh, [-1, 1, 1]);
    r = aten('add', 'Tensor', r, bh, 1);
  }
  let p: H | null = null;
  if (prelu) {
    p = float(T(b, prelu));
    if (!channelsLast && prelu.shape.length === 1) p = aten('reshape', '', p, [-1, 1, 1]);
  }
  return activate(r, activation, p, leakyreluAlpha);
}

kernel('Conv2D', ({ x, filter }, b, attrs) => {
  const info = conv2dInfo(x.shape, filter.shape, attrs, false);
  return out(b, conv2d(T(b, x), T(b, filter), info, false), 'float32');
});

kernel('FusedConv2D', ({ x, filter, bias, preluActivationWeights }, b, attrs) => {
  const info = conv2dInfo(x.shape, filter.shape, attrs, false);
  const y = conv2d(T(b, x), T(b, filter), info, false);
  return out(b, biasAndActivation(b, y, bias, preluActivationWeights, attrs.activation, attrs.leakyreluAlpha, info.dataFormat === 'channelsLast'), 'float32');
});

kernel('DepthwiseConv2dNative', ({ x, filter }, b, attrs) => {
  const info = conv2dInfo(x.shape, filter.shape, attrs, true);
  return out(b, conv2d(T(b, x), T(b, filter), info, true), 'float32');
});

kernel('FusedDepthwiseConv2D', ({ x, filter, bias, preluActivationWeights }, b, attrs) => {
  const info = conv2dInfo(x.shape, filter.shape, attrs, true);
  const y = conv2d(T(b, x), T(b, filter), info, true);
  return out(b, biasAndActivation(b, y, bias, preluActivationWeights, attrs.activation, attrs.leakyreluAlpha, info.dataFormat === 'channelsLast'), 'float32');
});

kernel('Conv2DBackpropInput', ({ dy, filter }, b, attrs) => {
  const { inputShape } = attrs;
  const info = conv2dInfo(inputShape, filter.shape, { ...attrs, dilations: 1 }, false);
  const x0 = full(inputShape, 0, 6);
  const [dx] = gradOf((x, w) => conv2d(x, w, info, false), [x0, T(b, filter)], [0], fitDy(float(T(b, dy)), info.outShape));
  return out(b, dx, 'float32');
});

kernel('Conv2DBackpropFilter', ({ x, dy }, b, attrs) => {
  const { filterShape } = attrs;
  const info = conv2dInfo(x.shape, filterShape, { ...attrs, dilations: 1 }, false);
  const w0 = full(filterShape, 0, 6);
  const [dw] = gradOf((xx, w) => conv2d(xx, w, info, false), [T(b, x), w0], [1], fitDy(float(T(b, dy)), info.outShape));
  return out(b, dw, 'float32');
});

kernel('DepthwiseConv2dNativeBackpropInput', ({ dy, filter }, b, attrs) => {
  const { inputShape } = attrs;
  const info = conv2dInfo(inputShape, filter.shape, attrs, true);
  const x0 = full(inputShape, 0, 6);
  const [dx] = gradOf((x, w) => conv2d(x, w, info, true), [x0, T(b, filter)], [0], fitDy(float(T(b, dy)), info.outShape));
  return out(b, dx, 'float32');
});

kernel('DepthwiseConv2dNativeBackpropFilter', ({ x, dy }, b, attrs) => {
  const { filterShape } = attrs;
  const info = conv2dInfo(x.shape, filterShape, attrs, true);
  const w0 = full(filterShape, 0, 6);
  const [dw] = gradOf((xx, w) => conv2d(xx, w, info, true), [T(b, x), w0], [1], fitDy(float(T(b, dy)), info.outShape));
  return out(b, dw, 'float32');
});

function conv3d(x: H, filter: H, info: tf.backend_util.Conv3DInfo): H {
  const xc = aten('permute', '', float(x), NDHWC_TO_NCDHW);
  const w = aten('contiguous', '', aten('permute', '', float(filter), [4, 3, 0, 1, 2]), 0);
  const g = geometry3d(info);
  if (emptyOut(g)) return aten('permute', '', zerosOut(xc, g, meta(w)[1][0]), NCDHW_TO_NDHWC);
  const y = aten('convolution', '', padFor(xc, g, 0), w, null, g.stride, [0, 0, 0], g.dilation, false, [0, 0, 0], 1);
  return aten('permute', '', cutTo(y, g), NCDHW_TO_NDHWC);
}

function conv3dInfo(xShape: number[], filterShape: number[], attrs: { strides: unknown; dilations?: unknown; pad: unknown }): tf.backend_util.Conv3DInfo {
  return tf.backend_util.computeConv3DInfo(xShape as [number, number, number, number, number], filterShape as [number, number, number, number, number],
    attrs.strides as number, (attrs.dilations ?? 1) as number, attrs.pad as 'same');
}

kernel('Conv3D', ({ x, filter }, b, attrs) => out(b, conv3d(T(b, x), T(b, filter), conv3dInfo(x.shape, filter.shape, attrs)), 'float32'));
kernel('Conv3DBackpropInputV2', ({ dy, filter }, b, attrs) => {
  const info = conv3dInfo(attrs.inputShape, filter.shape, attrs);
  const [dx] = gradOf((x, w) => conv3d(x, w, info), [full(attrs.inputShape, 0, 6), T(b, filter)], [0], float(T(b, dy)));
  return out(b, dx, 'float32');
});
kernel('Conv3DBackpropFilterV2', ({ x, dy }, b, attrs) => {
  const info = conv3dInfo(x.shape, attrs.filterShape, attrs);
  const [dw] = gradOf((xx, w) => conv3d(xx, w, info), [T(b, x), full(attrs.filterShape, 0, 6)], [1], float(T(b, dy)));
  return out(b, dw, 'float32');
});

// ---- pooling ---------------------------------------------------------------------------------

/** Max pooling of a channels-first tensor; padding never wins (-Infinity). */
function maxPoolCF(x: H, g: Geometry): H {
  const nd = g.inSize.length;
  if (emptyOut(g)) return zerosOut(x, g);
  // tfjs's max never picks a NaN (comparisons with NaN are false); libtorch's would.
  x = aten('where', 'self', aten('isnan', '', x), -Infinity, x);
  const kernelSize = g.effective.map((e, d) => (e - 1) / g.dilation[d] + 1);
  const xp = padFor(x, g, -Infinity);
  const y = aten(nd === 2 ? 'max_pool2d' : 'max_pool3d', '', xp, kernelSize, g.stride, Array(nd).fill(0), g.dilation, false);
  return cutTo(y, g);
}

/** Average pooling of a channels-first tensor over the real (unpadded) elements of each window. */
function avgPoolCF(x: H, g: Geometry, constantDivisor = false): H {
  const nd = g.inSize.length;
  if (emptyOut(g)) return zerosOut(x, g);
  const op = nd === 2 ? 'avg_pool2d' : 'avg_pool3d';
  const xp = padFor(x, g, 0);
  const sums = aten(op, '', xp, g.effective, g.stride, Array(nd).fill(0), false, true, 1);
  const ones = aten('ones', '', [1, 1, ...g.inSize], 6, null, null, null);
  if (constantDivisor) return cutTo(aten('div', 'Tensor', sums, g.effective.reduce((p, q) => p * q, 1)), g);
  // Windows entirely in the padding average to 0, as in tfjs.
  const counts = aten('clamp', '', aten(op, '', padFor(ones, g, 0), g.effective, g.stride, Array(nd).fill(0), false, true, 1), 1, null);
  return cutTo(aten('div', 'Tensor', sums, counts), g);
}

function pool2dInfo(xShape: number[], attrs: { filterSize: unknown; strides: unknown; pad: unknown; dimRoundingMode?: unknown }): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], attrs.filterSize as number, attrs.strides as number, 1,
    attrs.pad as 'same', attrs.dimRoundingMode as 'floor');
}

function pool3dInfo(xShape: number[], attrs: { filterSize: unknown; strides: unknown; pad: unknown; dimRoundingMode?: unknown; dataFormat?: string }): tf.backend_util.Conv3DInfo {
  return tf.backend_util.computePool3DInfo(xShape as [number, number, number, number, number], attrs.filterSize as number, attrs.strides as number, 1,
    attrs.pad as 'same', attrs.dimRoundingMode as 'floor', (attrs.dataFormat ?? 'NDHWC') as 'NDHWC');
}

/**
 * Pooling of a channels-last tensor. `gradientDivisor`: average over the whole window size,
 * padding included: what tfjs's AvgPoolGrad kernels compute (they divide dy by the filter
 * area), so the gradient kernels match tfjs even where its forward excludes the padding.
 */
function pool2d(x: H, info: tf.backend_util.Conv2DInfo, max: boolean, gradientDivisor = false): H {
  const xc = aten('permute', '', float(x), NHWC_TO_NCHW);
  const g = geometry2d(info);
  return aten('permute', '', max ? maxPoolCF(xc, g) : avgPoolCF(xc, g, gradientDivisor), NCHW_TO_NHWC);
}

function pool3d(x: H, info: tf.backend_util.Conv3DInfo, max: boolean, gradientDivisor = false): H {
  const xc = aten('permute', '', float(x), NDHWC_TO_NCDHW);
  const g = geometry3d(info);
  return aten('permute', '', max ? maxPoolCF(xc, g) : avgPoolCF(xc, g, gradientDivisor), NCDHW_TO_NDHWC);
}

function isIdentityPool(info: tf.backend_util.Conv2DInfo | tf.backend_util.Conv3DInfo, x: TensorInfo): boolean {
  return info.filterWidth === 1 && info.filterHeight === 1 && tf.util.arraysEqual(info.inShape, info.outShape) && x.dtype === 'float32';
}

kernel('MaxPool', ({ x }, b, attrs) => {
  const info = pool2dInfo(x.shape, attrs);
  if (isIdentityPool(info, x)) return out(b, aten('clone', '', T(b, x), null), x.dtype);
  return out(b, pool2d(T(b, x), info, true), 'float32');
});
kernel('AvgPool', ({ x }, b, attrs) => {
  const info = pool2dInfo(x.shape, attrs);
  if (isIdentityPool(info, x)) return out(b, aten('clone', '', T(b, x), null), x.dtype);
  return out(b, pool2d(T(b, x), info, false), 'float32');
});
kernel('MaxPool3D', ({ x }, b, attrs) => out(b, pool3d(T(b, x), pool3dInfo(x.shape, attrs), true), 'float32'));
kernel('AvgPool3D', ({ x }, b, attrs) => out(b, pool3d(T(b, x), pool3dInfo(x.shape, attrs), false), 'float32'));

kernel('MaxPoolGrad', ({ dy, input }, b, attrs) => {
  const info = pool2dInfo(input.shape, attrs);
  const [dx] = gradOf((x) => pool2d(x, info, true), [T(b, input)], [0], float(T(b, dy)));
  return out(b, dx, 'float32');
});
kernel('AvgPoolGrad', ({ dy, input }, b, attrs) => {
  const info = pool2dInfo(input.shape, attrs);
  const [dx] = gradOf((x) => pool2d(x, info, false, true), [T(b, input)], [0], float(T(b, dy)));
  return out(b, dx, 'float32');
});
kernel('MaxPool3DGrad', ({ dy, input }, b, attrs) => {
  const info = pool3dInfo(input.shape, attrs);
  const [dx] = gradOf((x) => pool3d(x, info, true), [T(b, input)], [0], float(T(b, dy)));
  return out(b, dx, 'float32');
});
kernel('AvgPool3DGrad', ({ dy, input }, b, attrs) => {
  const info = pool3dInfo(input.shape, attrs);
  const [dx] = gradOf((x) => pool3d(x, info, false, true), [T(b, input)], [0], float(T(b, dy)));
  return out(b, dx, 'float32');
});

kernel('MaxPoolWithArgmax', ({ x }, b, { filterSize, strides, pad, includeBatchInIndex }) => {
  const info = pool2dInfo(x.shape, { filterSize, strides, pad });
  const g = geometry2d(info);
  const x0 = float(T(b, x));
  const xc = aten('permute', '', aten('where', 'self', aten('isnan', '', x0), -Infinity, x0), NHWC_TO_NCHW);
  const xp = padFor(xc, g, -Infinity);
  const [n, c, , wp] = meta(xp)[1];
  const kernelSize = g.effective;
  const [values, flatIdx] = aten('max_pool2d_with_indices', '', xp, kernelSize, g.stride, [0, 0], [1, 1], false) as H[];
  // libtorch's index is y * paddedWidth + x within one (batch, channel) plane; tfjs's is
  // ((b * height + y) * width + x) * channels + c in the unpadded NHWC input.
  const [, , inH, inW] = [n, c, info.inHeight, info.inWidth];
  const yy = aten('sub', 'Tensor', aten('div', 'Tensor_mode', flatIdx, wp, 'floor'), g.before[0], 1);
  const xx = aten('sub', 'Tensor', aten('remainder', 'Scalar', flatIdx, wp), g.before[1], 1);
  let idx = aten('add', 'Tensor', aten('mul', 'Tensor', aten('add', 'Tensor', aten('mul', 'Tensor', yy, inW), xx, 1), c), aten('reshape', '', aten('arange', '', c, 4, null, null, null), [1, c, 1, 1]), 1);
  if (includeBatchInIndex) idx = aten('add', 'Tensor', idx, aten('reshape', '', aten('mul', 'Tensor', aten('arange', '', n, 4, null, null, null), inH * inW * c), [n, 1, 1, 1]), 1);
  return [out(b, aten('permute', '', cutTo(values, g), NCHW_TO_NHWC), 'float32'), out(b, aten('permute', '', cutTo(idx, g), NCHW_TO_NHWC), 'int32')];
});

// ---- dilation2d ------------------------------------------------------------------------------

function dilation2d(x: H, filter: H, info: tf.backend_util.Conv2DInfo): H {
  const xc = aten('permute', '', float(x), NHWC_TO_NCHW);
  const g = geometry2d(info);
  const xp = padFor(xc, g, -Infinity);
  const [fh, fw] = meta(filter)[1];
  let acc: H | null = null;
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const y0 = i * g.dilation[0];
      const x0 = j * g.dilation[1];
      let s = aten('slice', 'Tensor', xp, 2, y0, y0 + (g.outSize[0] - 1) * g.stride[0] + 1, g.stride[0]);
      s = aten('slice', 'Tensor', s, 3, x0, x0 + (g.outSize[1] - 1) * g.stride[1] + 1, g.stride[1]);
      const f = aten('reshape', '', aten('select', 'int', aten('select', 'int', float(filter), 0, i), 0, j), [1, -1, 1, 1]);
      const v = aten('add', 'Tensor', s, f, 1);
      acc = acc === null ? v : aten('maximum', '', acc, v);
    }
  }
  return aten('permute', '', acc as H, NCHW_TO_NHWC);
}

function dilationInfo(xShape: number[], filterShape: number[], attrs: { strides: unknown; pad: unknown; dilations: unknown }): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeDilation2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number],
    attrs.strides as number, attrs.pad as 'same', 'NHWC', attrs.dilations as number);
}

kernel('Dilation2D', ({ x, filter }, b, attrs) => out(b, dilation2d(T(b, x), T(b, filter), dilationInfo(x.shape, filter.shape, attrs)), x.dtype));
kernel('Dilation2DBackpropInput', ({ x, filter, dy }, b, attrs) => {
  const info = dilationInfo(x.shape, filter.shape, attrs);
  const [dx] = gradOf((xx, f) => dilation2d(xx, f, info), [T(b, x), T(b, filter)], [0], float(T(b, dy)));
  return out(b, dx, x.dtype);
});
kernel('Dilation2DBackpropFilter', ({ x, filter, dy }, b, attrs) => {
  const info = dilationInfo(x.shape, filter.shape, attrs);
  const [df] = gradOf((xx, f) => dilation2d(xx, f, info), [T(b, x), T(b, filter)], [1], float(T(b, dy)));
  return out(b, df, x.dtype);
});

// ---- normalization ---------------------------------------------------------------------------

kernel('FusedBatchNorm', ({ x, mean, variance, offset, scale }, b, { varianceEpsilon }) => {
  const eps = varianceEpsilon ?? 0.001;
  let y = aten('mul', 'Tensor', aten('sub', 'Tensor', float(T(b, x)), float(T(b, mean)), 1), aten('rsqrt', '', aten('add', 'Tensor', float(T(b, variance)), eps, 1)));
  if (scale) y = aten('mul', 'Tensor', y, float(T(b, scale)));
  if (offset) y = aten('add', 'Tensor', y, float(T(b, offset)), 1);
  return out(b, y, 'float32');
});

/** Local response normalization over the channel (last) dim of an NHWC tensor. */
function lrn(x: H, depthRadius: number, bias: number, alpha: number, beta: number): H {
  const sq = aten('mul', 'Tensor', x, x);
  const c = meta(x)[1][3];
  // Window sums over [c - r, c + r] from a cumulative sum of the zero-padded squares.
  const padded = aten('constant_pad_nd', '', sq, [depthRadius + 1, depthRadius], 0);
  const cs = aten('cumsum', '', padded, 3, null);
  const hi = aten('narrow', '', cs, 3, 2 * depthRadius + 1, c);
  const lo = aten('narrow', '', cs, 3, 0, c);
  const sums = aten('sub', 'Tensor', hi, lo, 1);
  return aten('mul', 'Tensor', x, aten('pow', 'Tensor_Scalar', aten('add', 'Tensor', aten('mul', 'Tensor', sums, alpha), bias, 1), -beta));
}

kernel('LRN', ({ x }, b, { depthRadius, bias, alpha, beta }) => out(b, lrn(float(T(b, x)), depthRadius, bias, alpha, beta), 'float32'));
kernel('LRNGrad', ({ x, dy }, b, { depthRadius, bias, alpha, beta }) => {
  const [dx] = gradOf((xx) => lrn(xx, depthRadius, bias, alpha, beta), [T(b, x)], [0], float(T(b, dy)));
  return out(b, dx, 'float32');
});

export { pool2d, conv2d };
