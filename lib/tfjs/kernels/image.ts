/**
 * Image kernels: resizing (bilinear, nearest) and their gradients, crop-and-resize, flips,
 * rotation, projective transforms, non-max suppression; and complex numbers, FFT, multinomial.
 *
 * Sampling coordinates follow tfjs's formulas exactly (computed in JS, one entry per output
 * row, column or pixel); libtorch gathers and blends the pixels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { mulberry32 } from '../../random';
import type { KernelHost } from '../kernel-host';
import { aten, cast, float, floatTensor, fromData, gradOf, H, kernel, meta, out, T } from './common';

// ---- resize ----------------------------------------------------------------------------------

/** tfjs's source coordinates for one axis of a bilinear resize. */
function bilinearAxis(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): { lo: number[]; hi: number[]; frac: number[] } {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
  const lo: number[] = [];
  const hi: number[] = [];
  const frac: number[] = [];
  for (let i = 0; i < outSize; i++) {
    const src = halfPixelCenters ? ratio * (i + 0.5) - 0.5 : ratio * i;
    const floor = Math.max(0, Math.floor(src));
    lo.push(floor);
    frac.push(src - floor);
    hi.push(Math.min(inSize - 1, Math.ceil(src)));
  }
  return { lo, hi, frac };
}

function nearestAxis(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): number[] {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
  const idx: number[] = [];
  for (let i = 0; i < outSize; i++) {
    const src = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
    let n = Math.min(inSize - 1, alignCorners ? Math.round(src) : Math.floor(src));
    if (halfPixelCenters) n = Math.max(0, n);
    idx.push(n);
  }
  return idx;
}

function index(values: number[]): H { return fromData(new Int32Array(values), [values.length], 3, 4); }

/** Linear interpolation along `dim` of a float tensor. */
function lerpAlong(x: H, dim: number, axis: { lo: number[]; hi: number[]; frac: number[] }): H {
  const a = aten('index_select', '', x, dim, index(axis.lo));
  const c = aten('index_select', '', x, dim, index(axis.hi));
  const shape = [1, 1, 1, 1];
  shape[dim] = axis.frac.length;
  const f = floatTensor(axis.frac, shape);
  return aten('add', 'Tensor', a, aten('mul', 'Tensor', aten('sub', 'Tensor', c, a, 1), f), 1);
}

function resizeBilinear(images: H, newH: number, newW: number, alignCorners: boolean, halfPixelCenters: boolean): H {
  const [, h, w] = meta(images)[1];
  const cols = lerpAlong(float(images), 2, bilinearAxis(w, newW, alignCorners, halfPixelCenters));
  return lerpAlong(cols, 1, bilinearAxis(h, newH, alignCorners, halfPixelCenters));
}

function resizeNearest(images: H, newH: number, newW: number, alignCorners: boolean, halfPixelCenters: boolean): H {
  const [, h, w] = meta(images)[1];
  const rows = aten('index_select', '', images, 1, index(nearestAxis(h, newH, alignCorners, halfPixelCenters)));
  return aten('index_select', '', rows, 2, index(nearestAxis(w, newW, alignCorners, halfPixelCenters)));
}

kernel('ResizeBilinear', ({ images }, b, { alignCorners, halfPixelCenters, size }) => {
  const [newH, newW] = size;
  return out(b, resizeBilinear(T(b, images), newH, newW, alignCorners, halfPixelCenters), 'float32');
});
kernel('ResizeBilinearGrad', ({ images, dy }, b, { alignCorners, halfPixelCenters }) => {
  const [, newH, newW] = dy.shape;
  const [dx] = gradOf((x) => resizeBilinear(x, newH, newW, alignCorners, halfPixelCenters), [T(b, images)], [0], float(T(b, dy)));
  return out(b, dx, 'float32');
});
kernel('ResizeNearestNeighbor', ({ images }, b, { alignCorners, halfPixelCenters, size }) => {
  const [newH, newW] = size;
  return out(b, resizeNearest(T(b, images), newH, newW, alignCorners, halfPixelCenters), images.dtype);
});
kernel('ResizeNearestNeighborGrad', ({ images, dy }, b, { alignCorners, halfPixelCenters }) => {
  const [, newH, newW] = dy.shape;
  const [dx] = gradOf((x) => resizeNearest(x, newH, newW, alignCorners, halfPixelCenters), [T(b, images)], [0], float(T(b, dy)));
  return out(b, dx, 'float32');
});

// ---- sampling by taps ------------------------------------------------------------------------

/** One sampling tap per output pixel: a source pixel index, a weight, and whether it is inside. */
interface Tap { idx: Int32Array; w: Float32Array; valid: Uint8Array }

function newTaps(k: number, n: number): Tap[] {
  return Array.from({ length: k }, () => ({ idx: new Int32Array(n), w: new Float32Array(n), valid: new Uint8Array(n) }));
}

/** Σ_k w_k · (valid_k ? pixels[idx_k] : fill) for a [pixels, channels] float image. */
function sampleTaps(pixels: H, taps: Tap[], fill: H): H {
  let acc: H | null = null;
  for (const t of taps) {
    const n = t.idx.length;
    const v = aten('index_select', '', pixels, 0, fromData(t.idx, [n], 3, 4));
    const valid = fromData(t.valid, [n, 1], 0, 11);
    const term = aten('mul', 'Tensor', aten('where', 'self', valid, v, fill), floatTensor(t.w, [n, 1]));
    acc = acc === null ? term : aten('add', 'Tensor', acc, term, 1);
  }
  return acc as H;
}

function setTap(t: Tap, i: number, y: number, x: number, h: number, w: number, weight: number): void {
  const inside = y >= 0 && y < h && x >= 0 && x < w;
  t.valid[i] = inside ? 1 : 0;
  t.idx[i] = inside ? y * w + x : 0;
  t.w[i] = weight;
}

kernel('CropAndResize', ({ image, boxes, boxInd }, b, { cropSize, method, extrapolationValue }) => {
  const [batch, imageHeight, imageWidth, numChannels] = image.shape;
  const numBoxes = boxes.shape[0];
  const [cropHeight, cropWidth] = cropSize;
  const boxVals = b.readSync(boxes.dataId) as Float32Array;
  const boxIndVals = b.readSync(boxInd.dataId) as Int32Array;
  const img = float(T(b, image));
  const fill = aten('scalar_tensor', '', extrapolationValue, 6, null, null, null);
  const crops: H[] = [];
  const n = cropHeight * cropWidth;
  for (let k = 0; k < numBoxes; k++) {
    const [y1, x1, y2, x2] = boxVals.subarray(k * 4, k * 4 + 4);
    const bInd = boxIndVals[k];
    if (bInd >= batch || bInd < 0) {
      crops.push(aten('zeros', '', [cropHeight, cropWidth, numChannels], 6, null, null, null));
      continue;
    }
    const heightScale = cropHeight > 1 ? ((y2 - y1) * (imageHeight - 1)) / (cropHeight - 1) : 0;
    const widthScale = cropWidth > 1 ? ((x2 - x1) * (imageWidth - 1)) / (cropWidth - 1) : 0;
    const taps = newTaps(method === 'bilinear' ? 4 : 1, n);
    for (let y = 0; y < cropHeight; y++) {
      const yInd = cropHeight > 1 ? y1 * (imageHeight - 1) + y * heightScale : 0.5 * (y1 + y2) * (imageHeight - 1);
      for (let x = 0; x < cropWidth; x++) {
        const i = y * cropWidth + x;
        const xInd = cropWidth > 1 ? x1 * (imageWidth - 1) + x * widthScale : 0.5 * (x1 + x2) * (imageWidth - 1);
        if (yInd < 0 || yInd > imageHeight - 1 || xInd < 0 || xInd > imageWidth - 1) {
          for (const t of taps) setTap(t, i, -1, -1, imageHeight, imageWidth, 0);
          taps[0].w[i] = 1;
          continue;
        }
        if (method === 'bilinear') {
          const top = Math.floor(yInd), bottom = Math.ceil(yInd), yLerp = yInd - top;
          const left = Math.floor(xInd), right = Math.ceil(xInd), xLerp = xInd - left;
          setTap(taps[0], i, top, left, imageHeight, imageWidth, (1 - yLerp) * (1 - xLerp));
          setTap(taps[1], i, top, right, imageHeight, imageWidth, (1 - yLerp) * xLerp);
          setTap(taps[2], i, bottom, left, imageHeight, imageWidth, yLerp * (1 - xLerp));
          setTap(taps[3], i, bottom, right, imageHeight, imageWidth, yLerp * xLerp);
        } else {
          setTap(taps[0], i, Math.round(yInd), Math.round(xInd), imageHeight, imageWidth, 1);
        }
      }
    }
    const pixels = aten('reshape', '', aten('select', 'int', img, 0, bInd), [imageHeight * imageWidth, numChannels]);
    crops.push(aten('reshape', '', sampleTaps(pixels, taps, fill), [cropHeight, cropWidth, numChannels]));
  }
  if (crops.length === 0) return out(b, aten('zeros', '', [0, cropHeight, cropWidth, numChannels], 6, null, null, null), 'float32');
  return out(b, aten('stack', '', crops, 0), 'float32');
});

kernel('FlipLeftRight', ({ image }, b) => out(b, aten('flip', '', T(b, image), [2]), image.dtype));

kernel('RotateWithOffset', ({ image }, b, { radians, fillValue, center }) => {
  const [batch, h, w, c] = image.shape;
  const [centerX, centerY] = tf.backend_util.getImageCenter(center, h, w);
  const sin = Math.sin(radians);
  const cos = Math.cos(radians);
  const taps = newTaps(1, h * w);
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      const x = Math.round((col - centerX) * cos - (row - centerY) * sin + centerX);
      const y = Math.round((col - centerX) * sin + (row - centerY) * cos + centerY);
      setTap(taps[0], row * w + col, y, x, h, w, 1);
    }
  }
  const fills = Array.from({ length: c }, (_, ch) => (typeof fillValue === 'number' ? fillValue : ch === 3 ? 255 : fillValue[ch]));
  const fill = floatTensor(fills, [1, c]);
  const img = float(T(b, image));
  const outs: H[] = [];
  for (let k = 0; k < batch; k++) {
    const pixels = aten('reshape', '', aten('select', 'int', img, 0, k), [h * w, c]);
    outs.push(aten('reshape', '', sampleTaps(pixels, taps, fill), [h, w, c]));
  }
  return out(b, aten('stack', '', outs, 0), image.dtype);
});

function mapCoord(coord: number, len: number, mode: string): number {
  let c = coord;
  switch (mode) {
    case 'reflect':
      if (c < 0) {
        if (len <= 1) c = 0;
        else {
          const sz2 = 2 * len;
          if (c < sz2) c = sz2 * Math.trunc(-c / sz2) + c;
          c = c < -len ? c + sz2 : -c - 1;
        }
      } else if (c > len - 1) {
        if (len <= 1) c = 0;
        else {
          const sz2 = 2 * len;
          c -= sz2 * Math.trunc(c / sz2);
          if (c >= len) c = sz2 - c - 1;
        }
      }
      return tf.util.clamp(0, c, len - 1);
    case 'wrap':
      if (c < 0) {
        if (len <= 1) c = 0;
        else c += len * (Math.trunc(-c / (len - 1)) + 1);
      } else if (c > len - 1) {
        if (len <= 1) c = 0;
        else c -= len * Math.trunc(c / (len - 1));
      }
      return tf.util.clamp(0, c, len - 1);
    case 'nearest':
      return tf.util.clamp(0, c, len - 1);
    default:
      return c;
  }
}

kernel('Transform', ({ image, transforms }, b, { interpolation, fillMode, fillValue, outputShape }) => {
  const [batch, imageHeight, imageWidth, numChannels] = image.shape;
  const [outHeight, outWidth] = outputShape ?? [imageHeight, imageWidth];
  const tv = b.readSync(transforms.dataId) as Float32Array;
  const img = float(T(b, image));
  const fill = aten('scalar_tensor', '', fillValue, 6, null, null, null);
  const n = outHeight * outWidth;
  const outs: H[] = [];
  for (let k = 0; k < batch; k++) {
    const t = transforms.shape[0] === 1 ? tv : tv.subarray(k * 8, k * 8 + 8);
    const taps = newTaps(interpolation === 'bilinear' ? 4 : 1, n);
    for (let outY = 0; outY < outHeight; outY++) {
      for (let outX = 0; outX < outWidth; outX++) {
        const i = outY * outWidth + outX;
        const projection = t[6] * outX + t[7] * outY + 1;
        if (projection === 0) {
          for (const tap of taps) setTap(tap, i, -1, -1, imageHeight, imageWidth, 0);
          taps[0].w[i] = 1;
          continue;
        }
        const x = mapCoord((t[0] * outX + t[1] * outY + t[2]) / projection, imageWidth, fillMode);
        const y = mapCoord((t[3] * outX + t[4] * outY + t[5]) / projection, imageHeight, fillMode);
        if (interpolation === 'nearest') {
          setTap(taps[0], i, Math.round(y), Math.round(x), imageHeight, imageWidth, 1);
        } else {
          const yf = Math.floor(y), xf = Math.floor(x);
          setTap(taps[0], i, yf, xf, imageHeight, imageWidth, (yf + 1 - y) * (xf + 1 - x));
          setTap(taps[1], i, yf, xf + 1, imageHeight, imageWidth, (yf + 1 - y) * (x - xf));
          setTap(taps[2], i, yf + 1, xf, imageHeight, imageWidth, (y - yf) * (xf + 1 - x));
          setTap(taps[3], i, yf + 1, xf + 1, imageHeight, imageWidth, (y - yf) * (x - xf));
        }
      }
    }
    const pixels = aten('reshape', '', aten('select', 'int', img, 0, k), [imageHeight * imageWidth, numChannels]);
    outs.push(aten('reshape', '', sampleTaps(pixels, taps, fill), [outHeight, outWidth, numChannels]));
  }
  return out(b, aten('stack', '', outs, 0), image.dtype);
});

// ---- non-max suppression (tfjs-core's own algorithm on the values) ----------------------------

function nmsValues(b: KernelHost, boxes: TensorInfo, scores: TensorInfo): [Float32Array, Float32Array] {
  return [b.readSync(boxes.dataId) as Float32Array, b.readSync(scores.dataId) as Float32Array];
}
function intOut(b: KernelHost, values: number[], shape?: number[]): TensorInfo {
  return out(b, fromData(new Int32Array(values), shape ?? [values.length], 3, 3), 'int32');
}
kernel('NonMaxSuppressionV3', ({ boxes, scores }, b, { maxOutputSize, iouThreshold, scoreThreshold }) => {
  const [bv, sv] = nmsValues(b, boxes, scores);
  const { selectedIndices } = tf.kernel_impls.nonMaxSuppressionV3Impl(bv, sv, maxOutputSize, iouThreshold, scoreThreshold);
  return intOut(b, selectedIndices);
});
kernel('NonMaxSuppressionV4', ({ boxes, scores }, b, { maxOutputSize, iouThreshold, scoreThreshold, padToMaxOutputSize }) => {
  const [bv, sv] = nmsValues(b, boxes, scores);
  const { selectedIndices, validOutputs } = tf.kernel_impls.nonMaxSuppressionV4Impl(bv, sv, maxOutputSize, iouThreshold, scoreThreshold, padToMaxOutputSize);
  return [intOut(b, selectedIndices), intOut(b, [validOutputs as number], [])];
});
kernel('NonMaxSuppressionV5', ({ boxes, scores }, b, { maxOutputSize, iouThreshold, scoreThreshold, softNmsSigma }) => {
  const [bv, sv] = nmsValues(b, boxes, scores);
  const { selectedIndices, selectedScores } = tf.kernel_impls.nonMaxSuppressionV5Impl(bv, sv, maxOutputSize, iouThreshold, scoreThreshold, softNmsSigma);
  return [intOut(b, selectedIndices), out(b, floatTensor(selectedScores as number[]), 'float32')];
});

// ---- complex numbers and FFT ------------------------------------------------------------------

kernel('Complex', ({ real, imag }, b) => out(b, aten('complex', '', float(T(b, real)), float(T(b, imag))), 'complex64'));
kernel('Real', ({ input }, b) => out(b, aten('clone', '', aten('real', '', T(b, input)), null), 'float32'));
kernel('Imag', ({ input }, b) => {
  const h = T(b, input);
  if (input.dtype !== 'complex64') return out(b, aten('zeros_like', '', h, 6, null, null, null, null), 'float32');
  return out(b, aten('clone', '', aten('imag', '', h), null), 'float32');
});
kernel('ComplexAbs', ({ x }, b) => out(b, aten('abs', '', T(b, x)), 'float32'));
kernel('FFT', ({ input }, b) => out(b, aten('fft_fft', '', cast(T(b, input), 'complex64'), null, -1, null), 'complex64'));
kernel('IFFT', ({ input }, b) => out(b, aten('fft_ifft', '', cast(T(b, input), 'complex64'), null, -1, null), 'complex64'));

// ---- random ----------------------------------------------------------------------------------

/** A small seeded generator (mulberry32 of the seed's multiplicative hash): the same seed gives the same samples, as in tfjs. */
function seeded(seed: number): () => number {
  return mulberry32((seed * 2654435761) >>> 0);
}

kernel('Multinomial', ({ logits }, b, { numSamples, seed, normalized }) => {
  const h = float(T(b, logits));
  const probs = normalized ? h : aten('softmax', 'int', h, -1, null);
  const [batch, numEvents] = logits.shape;
  const cdf = aten('cumsum', '', probs, -1, null);
  const r = new Float32Array(batch * numSamples);
  for (let k = 0; k < batch; k++) {
    const random = seeded(typeof seed === 'number' ? seed : Math.floor(Math.random() * 2 ** 31));
    for (let s = 0; s < numSamples; s++) r[k * numSamples + s] = random();
  }
  // The first event whose cumulative probability exceeds r; the last event by default.
  const inner = aten('narrow', '', cdf, 1, 0, Math.max(0, numEvents - 1));
  const samples = aten('searchsorted', 'Tensor', aten('contiguous', '', inner, 0), floatTensor(r, [batch, numSamples]), true, true, null, null);
  return out(b, samples, 'int32');
});
