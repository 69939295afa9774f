/**
 * tfjs-node's image functions (`tf.node.decodeImage`, `decodeJpeg`, `decodePng`, `decodeBmp`,
 * `decodeGif`, `encodeJpeg`, `encodePng`) without TensorFlow, on pure-JavaScript codecs from npm:
 * jpeg-js (JPEG both ways), pngjs (PNG both ways) and gifuct-js (GIF frames). Each is synchronous,
 * as tfjs-node's decode functions are, installs from npm with no download, and is loaded on first
 * use. BMP needs none: tfjs-node's BMP decoder is TensorFlow's own reader of uncompressed rows,
 * which this file follows.
 *
 * What tfjs-node returns is what TensorFlow's kernels (libtensorflow 2.9, which tfjs-node 4.22 runs)
 * return, and this file follows them (tensorflow/core/kernels/image/decode_image_op.cc,
 * lib/png/png_io.cc, lib/gif/gif_io.cc, lib/jpeg/jpeg_mem.cc):
 * - int32 tensors of [height, width, channels]; `decodeGif` gives [frames, height, width, 3].
 * - `channels` 0 keeps the file's own (a palette PNG gives 3, or 4 with transparency; a gray+alpha
 *   PNG gives 2); 1 gives gray, 3 RGB, 4 RGBA. PNG gray from colour is libpng's
 *   rgb_to_gray(0.299, 0.587) in integers, 16-bit samples keep their high byte, an added alpha is
 *   libpng's filler (255, or (1 << depth) - 1 for a 1/2/4-bit image, as TensorFlow asks libpng).
 * - decodeJpeg/decodePng read JPEG, PNG and single-frame GIF alike (TensorFlow's ops do), decodeGif
 *   reads PNG and JPEG as one frame, decodeBmp reads BMP only; decodeImage picks by magic bytes.
 * - GIF frames are composed as TensorFlow does: each frame starts from the previous one, its
 *   transparent index keeps the pixel, and the frame size is the largest frame's.
 * - Bad input gets tfjs-node's own messages: `Invalid TF_Status: 3\nMessage: <TensorFlow's text>`
 *   for what TensorFlow refuses, tfjs-node's JS messages for the rest.
 *
 * Where this differs (each noted in /work/notes/node-docs.md's table):
 * - JPEG pixels: jpeg-js's IDCT and its nearest-neighbour chroma upsampling, where TensorFlow runs
 *   libjpeg's fast integer IDCT with fancy upsampling: values differ by a few units (test/82 states
 *   the measured bound). `ratio` 2/4/8 averages ratio x ratio blocks (libjpeg scales in its IDCT);
 *   `fancyUpscaling`, `dctMethod`, `tryRecoverTruncated` and `acceptableFraction` are checked as
 *   TensorFlow checks them but change nothing: a JPEG cut short is an error, as by default.
 * - encodeJpeg writes baseline JPEG without chroma subsampling (what jpeg-js writes) whatever
 *   `progressive`, `optimizeSize` and `chromaDownsampling` say, and a 1-channel image as a 3-channel
 *   JPEG of equal R, G and B (so it decodes to 3 channels with `channels` 0). Quality, density and
 *   XMP metadata are written as TensorFlow writes them.
 * - The functions work on any tfjs backend (tfjs-node requires its own).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, invalidArg } from '../errors';
import { checkInt } from '../validate';

/** The formats tfjs-node's `getImageType` tells apart (its own enum, values included). */
export enum ImageType {
  JPEG = 'jpeg',
  PNG = 'png',
  GIF = 'gif',
  BMP = 'BMP',
}

// ---- the codecs (loaded on first use) -------------------------------------------------------

interface PngRead { width: number; height: number; data: ArrayLike<number> }
interface PngModule {
  PNG: { sync: {
    read(data: Buffer, options: { skipRescale: boolean }): PngRead;
    write(png: { width: number; height: number; data: Buffer }, options: Record<string, number | boolean>): Buffer;
  } };
}
interface JpegModule {
  decode(data: Uint8Array, options: Record<string, unknown>): { width: number; height: number; data: Uint8Array };
  encode(image: { width: number; height: number; data: Uint8Array }, quality: number): { data: Buffer };
}
interface GifFrame { pixels: ArrayLike<number>; dims: { top: number; left: number; width: number; height: number }; colorTable?: number[][]; transparentIndex?: number }
interface GifModule { parseGIF(data: Uint8Array): unknown; decompressFrames(gif: unknown, buildPatches: boolean): GifFrame[] }

let pngjs: PngModule | undefined;
let jpegjs: JpegModule | undefined;
let gifuct: GifModule | undefined;
/* eslint-disable @typescript-eslint/no-require-imports */
const png = () => (pngjs ??= require('pngjs') as PngModule).PNG.sync;
const jpeg = () => (jpegjs ??= require('jpeg-js') as JpegModule);
const gif = () => (gifuct ??= require('gifuct-js') as GifModule);
/* eslint-enable @typescript-eslint/no-require-imports */

// ---- errors and arguments -------------------------------------------------------------------

const INVALID_ARGUMENT = 3;
const INTERNAL = 13;

/** What tfjs-node's binding throws for a TensorFlow op that failed (its EnsureTFOK). */
function tfError(message: string, code = INVALID_ARGUMENT): Error {
  return new Error(`Invalid TF_Status: ${code}\nMessage: ${message}`);
}

/** TensorFlow's TensorShape::DebugString: [2,2,4]. */
const shapeString = (shape: readonly number[]) => `[${shape.join(',')}]`;

function checkContents(contents: unknown, name = 'contents'): Uint8Array {
  if (!(contents instanceof Uint8Array)) invalidArg('a Uint8Array (or Buffer) of encoded image bytes', name, contents);
  return contents;
}

function checkImage(image: unknown): tf.Tensor {
  if (!(image instanceof tf.Tensor)) invalidArg('a tf.Tensor3D', 'image', image);
  return image;
}

/** tfjs-node's assertion for the `dtype` argument of decodeImage and decodePng. */
function checkDtype(dtype: unknown): void {
  tf.util.assert(dtype === 'int32', () => 'decodeImage could only return Tensor of type `int32` for now.');
}

// ---- decoding: TensorFlow's DecodeImageV2Op ---------------------------------------------------

type Op = 'DecodeJpeg' | 'DecodePng' | 'DecodeGif' | 'DecodeBmp';
interface Pixels { data: Uint8Array; shape: number[] }
interface JpegFlags { ratio: number }
const JPEG_DEFAULTS: JpegFlags = { ratio: 1 };

const startsWith = (b: Uint8Array, magic: number[]) => b.length >= magic.length && magic.every((m, i) => b[i] === m);

/** One op call: TensorFlow's checks in its order, then the format the magic bytes say. */
function decode(op: Op, contents: unknown, channels: number, flags: JpegFlags = JPEG_DEFAULTS): tf.Tensor {
  const bytes = checkContents(contents);
  if (op !== 'DecodeGif' && ![0, 1, 3, 4].includes(channels)) throw tfError(`\`channels\` must be 0, 1, 3 or 4 but got ${channels}`);
  if (bytes.length === 0) throw tfError('Input is empty.');
  const wanted = op === 'DecodeGif' ? 3 : channels;
  let pixels: Pixels;
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) pixels = decodeJpegBytes(op, bytes, wanted, flags);
  else if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) pixels = decodePngBytes(op, bytes, wanted);
  else if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38])) pixels = decodeGifBytes(op, bytes, wanted);
  else if (startsWith(bytes, [0x42, 0x4d])) pixels = decodeBmpBytes(op, bytes, wanted);
  else throw tfError('Unknown image file format. One of JPEG, PNG, GIF, BMP required.');
  const out = new Int32Array(pixels.data.length);
  out.set(pixels.data);
  return tf.tensor(out, pixels.shape, 'int32');
}

/** A single image's shape, 4-D [1, h, w, c] when the op is DecodeGif (TensorFlow's API). */
const imageShape = (op: Op, h: number, w: number, c: number) => (op === 'DecodeGif' ? [1, h, w, c] : [h, w, c]);

// ---- JPEG (jpeg-js) ---------------------------------------------------------------------------

interface JpegInfo { width: number; height: number; components: number; rgb: boolean; adobeTransform: number | null }

/** The markers libjpeg reads before decoding: SOF (size, components), JFIF, Adobe, component ids. */
function jpegInfo(b: Uint8Array): JpegInfo | null {
  let pos = 2;
  let jfif = false;
  let adobe: number | null = null;
  let info: Omit<JpegInfo, 'rgb' | 'adobeTransform'> & { ids: number[] } | null = null;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) return null;
    const marker = b[pos + 1];
    if (marker === 0xff) { pos += 1; continue; }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { pos += 2; continue; }
    const length = (b[pos + 2] << 8) | b[pos + 3];
    const seg = pos + 4;
    if (length < 2 || pos + 2 + length > b.length) return null;
    const text = (at: number, s: string) => [...s].every((ch, i) => b[at + i] === ch.charCodeAt(0));
    if (marker === 0xe0 && length >= 7 && text(seg, 'JFIF\0')) jfif = true;
    if (marker === 0xee && length >= 14 && text(seg, 'Adobe')) adobe = b[seg + 11];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const n = b[seg + 5];
      if (length < 8 + 3 * n) return null;
      info = { height: (b[seg + 1] << 8) | b[seg + 2], width: (b[seg + 3] << 8) | b[seg + 4], components: n, ids: Array.from({ length: n }, (_, i) => b[seg + 6 + 3 * i]) };
    }
    if (marker === 0xda) break;
    pos += 2 + length;
  }
  if (info === null || info.width === 0 || info.height === 0) return null;
  // libjpeg's colour space of a 3-component file: JFIF says YCbCr, else Adobe's transform, else the ids
  const ids = info.ids.join(',');
  const rgb = info.components === 3 && !jfif && (adobe !== null ? adobe === 0 : ids === '82,71,66');
  return { width: info.width, height: info.height, components: info.components, rgb, adobeTransform: adobe };
}

/** libjpeg's rgb_gray_convert: (19595 R + 38470 G + 7471 B + 32768) >> 16. */
const jpegGray = (r: number, g: number, b: number) => (19595 * r + 38470 * g + 7471 * b + 32768) >> 16;

function decodeJpegBytes(op: Op, bytes: Uint8Array, channels: number, flags: JpegFlags): Pixels {
  if (channels === 4) throw tfError('JPEG does not support 4 channels');
  if (op === 'DecodeBmp') throw tfError('Trying to decode JPEG format using DecodeBmp op. Use `decode_jpeg` or `decode_image` instead.');
  const failed = () => tfError('jpeg::Uncompress failed. Invalid JPEG data or crop window.');
  const info = jpegInfo(bytes);
  if (info === null) throw failed();
  const components = channels || Math.min(info.components, 3);
  const outW = Math.ceil(info.width / flags.ratio);
  const outH = Math.ceil(info.height / flags.ratio);
  if (outW * outH * info.components >= 2 ** 29) throw failed();
  // Gray from a YCbCr file is its Y plane, read with the colour transform off (jpeg-js applies it
  // anyway when an Adobe marker asks for it: then gray is taken from RGB, as libjpeg does for RGB).
  const yPlane = components === 1 && info.components === 3 && !info.rgb && !info.adobeTransform;
  const options = {
    useTArray: true, formatAsRGBA: false, colorTransform: info.components === 3 ? !info.rgb && !yPlane : undefined,
    tolerantDecoding: true, maxResolutionInMP: 2 ** 29 / 1e6, maxMemoryUsageInMB: 8192,
  };
  if (info.components === 4 && info.adobeTransform === null) {
    throw new Error('decodeJpeg: a 4-component (CMYK) JPEG without an Adobe marker is not supported (jpeg-js cannot decode it)');
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg().decode(bytes, options);
  } catch {
    throw failed();
  }
  const { width: w, height: h, data: rgb } = decoded;
  let pixels: Uint8Array = new Uint8Array(w * h * components);
  for (let i = 0, n = w * h; i < n; i++) {
    if (components === 3) {
      pixels[3 * i] = rgb[3 * i]; pixels[3 * i + 1] = rgb[3 * i + 1]; pixels[3 * i + 2] = rgb[3 * i + 2];
    } else {
      pixels[i] = yPlane || info.components === 1 ? rgb[3 * i] : jpegGray(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
    }
  }
  if (flags.ratio > 1) pixels = boxDownscale(pixels, h, w, components, flags.ratio);
  return { data: pixels, shape: imageShape(op, outH, outW, components) };
}

/** ratio x ratio block means (rounded), the blocks at the right and bottom edges cut short. */
function boxDownscale(src: Uint8Array, h: number, w: number, c: number, r: number): Uint8Array {
  const oh = Math.ceil(h / r);
  const ow = Math.ceil(w / r);
  const out = new Uint8Array(oh * ow * c);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      for (let k = 0; k < c; k++) {
        let sum = 0;
        let n = 0;
        for (let yy = y * r; yy < Math.min(h, (y + 1) * r); yy++) {
          for (let xx = x * r; xx < Math.min(w, (x + 1) * r); xx++) { sum += src[(yy * w + xx) * c + k]; n++; }
        }
        out[(y * ow + x) * c + k] = Math.round(sum / n);
      }
    }
  }
  return out;
}

// ---- PNG (pngjs, with libpng's conversions as TensorFlow sets them up) ------------------------

interface PngInfo { width: number; height: number; depth: number; colorType: number; trns: boolean }

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();
function crc32(b: Uint8Array, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/**
 * What libpng's png_read_info checks before the pixels (TensorFlow's CommonInitDecode fails when it
 * does): the IHDR, libpng's default size limit of 1,000,000, the CRC of every critical chunk up to
 * the first IDAT, PLTE before IDAT in a palette image. Also whether a tRNS chunk came.
 */
function pngInfo(b: Uint8Array): PngInfo | null {
  const u32 = (at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
  let pos = 8;
  let info: PngInfo | null = null;
  let plte = false;
  while (pos + 8 <= b.length) {
    const length = u32(pos);
    const type = String.fromCharCode(b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]);
    // png_read_info stops at the first IDAT's header: the pixels are read (and checked) later
    if (type === 'IDAT' && info !== null) return info.colorType === 3 && !plte ? null : info;
    const end = pos + 8 + length;
    if (length > 0x7fffffff || end + 4 > b.length) return null;
    const critical = (b[pos + 4] & 0x20) === 0;
    if (critical && (crc32(b, pos + 4, end) !== u32(end) || !['IHDR', 'PLTE', 'IEND'].includes(type))) return null;
    if (info === null) {
      if (type !== 'IHDR' || length !== 13) return null;
      const [w, h, depth, ct] = [u32(pos + 8), u32(pos + 12), b[pos + 16], b[pos + 17]];
      const depths: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
      if (w === 0 || h === 0 || w > 1e6 || h > 1e6 || !depths[ct]?.includes(depth) || b[pos + 18] !== 0 || b[pos + 19] !== 0 || b[pos + 20] > 1) return null;
      info = { width: w, height: h, depth, colorType: ct, trns: false };
    } else if (type === 'PLTE') {
      plte = true;
    } else if (type === 'tRNS') {
      info.trns = true;
    } else if (type === 'IEND') {
      return null;
    }
    pos = end + 4;
  }
  return null;
}

/** libpng's png_do_rgb_to_gray with TensorFlow's 0.299/0.587 (integer 9797/19234/3737 of 32768). */
const gray8 = (r: number, g: number, b: number) => (r === g && g === b ? r : (9797 * r + 19234 * g + 3737 * b) >> 15);
const gray16 = (r: number, g: number, b: number) => (r === g && g === b ? r : (9797 * r + 19234 * g + 3737 * b + 16384) >> 15);

function decodePngBytes(op: Op, bytes: Uint8Array, requested: number): Pixels {
  const info = pngInfo(bytes);
  if (info === null) throw tfError('Invalid PNG. Failed to initialize decoder.');
  const { width: w, height: h, depth: d, colorType: ct, trns } = info;
  if (w >= 2 ** 27 || h >= 2 ** 27 || w * h >= 2 ** 29) throw tfError(`PNG size too large for int: ${w} by ${h}`);
  const channels = requested || (ct === 3 ? (trns ? 4 : 3) : ({ 0: 1, 4: 2, 2: 3, 6: 4 } as Record<number, number>)[ct]);
  if (op === 'DecodeBmp') throw tfError('Trying to decode PNG format using DecodeBmp op. Use `decode_png` or `decode_image` instead.');
  let img: PngRead;
  try {
    img = png().read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), { skipRescale: true });
  } catch {
    throw tfError(`Invalid PNG data, size ${bytes.length}`);
  }
  // pngjs gives RGBA samples: palette entries for a palette image, the file's own samples for the
  // rest (it zeroes a pixel that matches tRNS: that pixel's colour is the tRNS colour, kept here as
  // the only one with alpha 0).
  const src = img.data;
  const wantAlpha = channels % 2 === 0;
  const wantGray = channels < 3;
  const palette = ct === 3;
  const isGray = ct === 0 || ct === 4;
  const to8 = palette ? (v: number) => v : d === 16 ? (v: number) => v >> 8 : d < 8 ? (v: number) => v * (255 / ((1 << d) - 1)) : (v: number) => v;
  const filler = ((1 << d) - 1) & 0xff;
  const out = new Uint8Array(w * h * channels);
  let trnsColor: number[] | null = null;
  for (let i = 0, o = 0; i < w * h; i++) {
    let [r, g, b, a] = [src[4 * i], src[4 * i + 1], src[4 * i + 2], src[4 * i + 3]];
    const transparent = trns && !palette && a === 0;
    if (transparent) {
      trnsColor ??= pngTrnsColor(bytes);
      [r, g, b] = isGray ? [trnsColor[0], trnsColor[0], trnsColor[0]] : [trnsColor[0], trnsColor[1], trnsColor[2]];
    }
    if (wantGray) {
      out[o++] = isGray ? to8(r) : palette || d !== 16 ? gray8(to8(r), to8(g), to8(b)) : gray16(r, g, b) >> 8;
    } else {
      out[o++] = to8(r); out[o++] = to8(g); out[o++] = to8(b);
    }
    if (wantAlpha) out[o++] = ct === 4 || ct === 6 || palette && trns ? to8(a) : trns ? (transparent ? 0 : 255) : filler;
  }
  return { data: out, shape: imageShape(op, h, w, channels) };
}

/** The gray value or RGB of a gray/RGB image's tRNS chunk (16-bit fields). */
function pngTrnsColor(b: Uint8Array): number[] {
  for (let pos = 8; pos + 12 <= b.length;) {
    const length = ((b[pos] << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3]) >>> 0;
    if (String.fromCharCode(b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]) === 'tRNS') {
      return Array.from({ length: length >> 1 }, (_, k) => (b[pos + 8 + 2 * k] << 8) | b[pos + 9 + 2 * k]);
    }
    pos += 12 + length;
  }
  return [0, 0, 0];
}

// ---- GIF (gifuct-js, composed as TensorFlow's gif_io.cc) ---------------------------------------

/** giflib's messages (GifErrorString) for what TensorFlow's DGifOpen/DGifSlurp calls report. */
const READ_FAILED = 'Failed to read from given file';

/** Walks the GIF's blocks as giflib's DGifOpen and DGifSlurp read them: the error they report, or the image count. */
function gifBlocks(b: Uint8Array): { error: string } | { images: number } {
  const colorTable = (flags: number) => (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0);
  if (b.length < 13) return { error: `failed to open gif file: ${READ_FAILED}` };
  let pos = 13 + colorTable(b[10]);
  if (pos > b.length) return { error: `failed to open gif file: ${READ_FAILED}` };
  const slurp = (why: string) => ({ error: `failed to slurp gif file: ${why}` });
  const subBlocks = () => {
    for (;;) {
      if (pos >= b.length) return false;
      const n = b[pos++];
      if (n === 0) return true;
      pos += n;
    }
  };
  let images = 0;
  for (;;) {
    if (pos >= b.length) return slurp(READ_FAILED);
    const kind = b[pos++];
    if (kind === 0x3b) return { images };
    if (kind === 0x2c) {
      if (pos + 9 > b.length) return slurp(READ_FAILED);
      pos += 9 + colorTable(b[pos + 8]) + 1;       // descriptor, local colour table, LZW code size
      if (pos > b.length || !subBlocks()) return slurp(READ_FAILED);
      images++;
    } else if (kind === 0x21) {
      pos += 1;
      if (!subBlocks()) return slurp(READ_FAILED);
    } else {
      return slurp('Wrong record type detected');
    }
  }
}

function decodeGifBytes(op: Op, bytes: Uint8Array, channels: number): Pixels {
  if (channels !== 0 && channels !== 3) throw tfError(`channels must be 0 or 3 for GIF, got ${channels}`);
  if (op === 'DecodeBmp') throw tfError('Trying to decode GIF format using DecodeBmp op. Use `decode_gif` or `decode_image` instead.');
  const invalid = (why: string) => tfError(`Invalid GIF data (size ${bytes.length}), ${why}`);
  const blocks = gifBlocks(bytes);
  if ('error' in blocks) throw invalid(blocks.error);
  if (blocks.images === 0) throw invalid('gif file does not contain any image');
  let frames: GifFrame[];
  try {
    frames = gif().decompressFrames(gif().parseGIF(bytes), false);
  } catch {
    throw invalid('failed to slurp gif file: Image is defective, decoding aborted');
  }
  if (frames.length !== blocks.images) throw invalid('failed to slurp gif file: Image is defective, decoding aborted');
  const width = Math.max(...frames.map((f) => f.dims.width));
  const height = Math.max(...frames.map((f) => f.dims.height));
  const n = frames.length;
  if ((op === 'DecodePng' || op === 'DecodeJpeg') && n !== 1) {
    throw tfError(`Got ${n} frames, but animated gifs can only be decoded by tf.io.decode_gif or tf.io.decode_image`);
  }
  const size = width * height * 3;
  const out = new Uint8Array(n * size);
  frames.forEach((frame, k) => {
    const here = k * size;
    if (k > 0) out.copyWithin(here, here - size, here);
    const { top, left, width: fw, height: fh } = frame.dims;
    const table = frame.colorTable;
    if (table === undefined) throw invalid(`missing color map for frame ${k}`);
    for (let i = Math.max(top, 0); i < Math.min(top + fh, height); i++) {
      for (let j = Math.max(left, 0); j < Math.min(left + fw, width); j++) {
        const index = frame.pixels[(i - top) * fw + (j - left)];
        if (index >= table.length) throw invalid(`found color index ${index} outside of color map range ${table.length}`);
        if (index === frame.transparentIndex) continue;
        const color = table[index];
        const p = here + (i * width + j) * 3;
        out[p] = color[0]; out[p + 1] = color[1]; out[p + 2] = color[2];
      }
    }
  });
  return { data: out, shape: op === 'DecodeGif' ? [n, height, width, 3] : [height, width, 3] };
}

// ---- BMP (TensorFlow's own reader of uncompressed rows) ---------------------------------------

function decodeBmpBytes(op: Op, bytes: Uint8Array, channels: number): Pixels {
  if (channels === 1) throw tfError(`\`channels\` must be 0, 3 or 4 for BMP, but got ${channels}`);
  if (op !== 'DecodeBmp') {
    throw tfError(`Trying to decode BMP format using a wrong op. Use \`decode_bmp\` or \`decode_image\` instead. Op used: ${op}`);
  }
  const n = bytes.length;
  if (n < 32) throw tfError(`Incomplete bmp content, requires at least 32 bytes to find the header size, width, height, and bpp, got ${n} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  const headerSize = view.getInt32(10, true);
  const width = view.getInt32(18, true);
  const height = view.getInt32(22, true);
  const bpp = view.getInt16(28, true);
  const imgChannels = Math.trunc(bpp / 8);
  if (![1, 3, 4].includes(imgChannels)) throw tfError(`Number of channels inherent in the image must be 1, 3 or 4, was ${imgChannels}`);
  const outChannels = channels || imgChannels;
  if (width <= 0) throw tfError('Width must be positive');
  if (height === 0) throw tfError('Height must be nonzero');
  if (headerSize < 0) throw tfError('header size must be nonnegative');
  const absHeight = Math.abs(height);
  if (width * absHeight >= Math.floor(0x7fffffff / 8)) throw tfError('Total possible pixel bytes must be less than 2^30');
  const rowSize = Math.floor((imgChannels * width + 3) / 4) * 4;
  const sizeDiff = (n - headerSize - rowSize * absHeight) | 0;
  if (sizeDiff !== 0) throw tfError(`Input size should match (header_size + row_size * abs_height) but they differ by ${sizeDiff}`);
  const expected = headerSize + (absHeight - 1) * rowSize + (width - 1) * imgChannels + imgChannels;
  if (expected > n) throw tfError(`Incomplete bmp content, requires at least ${expected} bytes, got ${n} bytes`);
  const out = new Uint8Array(absHeight * width * outChannels);
  for (let i = 0; i < absHeight; i++) {
    const row = headerSize + (height < 0 ? i : absHeight - 1 - i) * rowSize;
    for (let j = 0; j < width; j++) {
      const s = row + j * imgChannels;
      const o = (i * width + j) * outChannels;
      if (imgChannels === 1) {
        out[o] = bytes[s];
        if (outChannels >= 3) { out[o + 1] = bytes[s]; out[o + 2] = bytes[s]; }
      } else {
        out[o] = bytes[s + 2]; out[o + 1] = bytes[s + 1]; out[o + 2] = bytes[s];
      }
      if (outChannels === 4) out[o + 3] = imgChannels === 4 ? bytes[s + 3] : 255;
    }
  }
  return { data: out, shape: [absHeight, width, outChannels] };
}

// ---- the public functions (tfjs-node's signatures and defaults) ---------------------------------

/**
 * Decodes a JPEG (or PNG, or single-frame GIF) to an int32 [height, width, channels] tensor.
 * @param channels 0 (the file's), 1 (gray) or 3 (RGB).
 * @param ratio 1, 2, 4 or 8: the image is made that many times smaller (block means).
 * @param fancyUpscaling, tryRecoverTruncated, acceptableFraction, dctMethod checked as TensorFlow
 *   checks them; jpeg-js has one way to decode, and a file cut short does not decode.
 */
export function decodeJpeg(contents: Uint8Array, channels = 0, ratio = 1, fancyUpscaling = true,
  tryRecoverTruncated = false, acceptableFraction = 1, dctMethod = ''): tf.Tensor3D {
  checkInt(ratio, 'ratio');
  if (![1, 2, 4, 8].includes(ratio)) throw tfError(`ratio must be 1, 2, 4, or 8, got ${ratio}`);
  if (typeof fancyUpscaling !== 'boolean') invalidArg('a boolean', 'fancyUpscaling', fancyUpscaling);
  if (typeof tryRecoverTruncated !== 'boolean') invalidArg('a boolean', 'tryRecoverTruncated', tryRecoverTruncated);
  if (typeof acceptableFraction !== 'number') invalidArg('a number', 'acceptableFraction', acceptableFraction);
  if (!['', 'INTEGER_FAST', 'INTEGER_ACCURATE'].includes(dctMethod)) {
    throw tfError("dct_method must be one of {'', 'INTEGER_FAST', 'INTEGER_ACCURATE'}");
  }
  return decode('DecodeJpeg', contents, checkInt(channels, 'channels'), { ratio }) as tf.Tensor3D;
}

/** Decodes a PNG (or JPEG, or single-frame GIF) to an int32 [height, width, channels] tensor; channels 0, 1, 3 or 4. */
export function decodePng(contents: Uint8Array, channels = 0, dtype = 'int32'): tf.Tensor3D {
  checkDtype(dtype);
  return decode('DecodePng', contents, checkInt(channels, 'channels')) as tf.Tensor3D;
}

/** Decodes a BMP (uncompressed 8, 24 or 32 bits a pixel) to an int32 [height, width, channels] tensor; channels 0, 3 or 4. */
export function decodeBmp(contents: Uint8Array, channels = 0): tf.Tensor3D {
  return decode('DecodeBmp', contents, checkInt(channels, 'channels')) as tf.Tensor3D;
}

/** Decodes every frame of a GIF to an int32 [frames, height, width, 3] tensor (a PNG or JPEG as one frame). */
export function decodeGif(contents: Uint8Array): tf.Tensor4D {
  return decode('DecodeGif', contents, 3) as tf.Tensor4D;
}

/**
 * Decodes a BMP, GIF, JPEG or PNG, told apart by their first bytes: [height, width, channels], or
 * [frames, height, width, 3] for a GIF unless `expandAnimations` is false (then its first frame).
 */
export function decodeImage(content: Uint8Array, channels = 0, dtype = 'int32', expandAnimations = true): tf.Tensor3D | tf.Tensor4D {
  checkDtype(dtype);
  switch (getImageType(content)) {
    case ImageType.JPEG: return decodeJpeg(content, channels);
    case ImageType.PNG: return decodePng(content, channels);
    case ImageType.GIF: return tf.tidy(() => {
      const frames = decodeGif(content);
      return expandAnimations ? frames : tf.squeeze(tf.slice(frames, 0, 1), [0]) as tf.Tensor3D;
    });
    default: return decodeBmp(content, channels);
  }
}

/** tfjs-node's magic-byte test: the ImageType of the bytes, or its error for anything else. */
export function getImageType(content: Uint8Array): string {
  const c = content as ArrayLike<number> | null | undefined;
  const len = c?.length ?? 0;
  if (len > 3 && c![0] === 255 && c![1] === 216 && c![2] === 255) return ImageType.JPEG;
  if (len > 4 && c![0] === 71 && c![1] === 73 && c![2] === 70 && c![3] === 56) return ImageType.GIF;
  if (len > 8 && [137, 80, 78, 71, 13, 10, 26, 10].every((m, i) => c![i] === m)) return ImageType.PNG;
  if (len > 3 && c![0] === 66 && c![1] === 77) return ImageType.BMP;
  throw new Error('Expected image (BMP, JPEG, PNG, or GIF), but got unsupported image type');
}

/**
 * Encodes an image tensor ([height, width, 1 or 3], values taken as uint8 the way tfjs-node takes
 * them: `new Uint8Array(await image.data())`) to JPEG bytes.
 */
export async function encodeJpeg(image: tf.Tensor3D, format: '' | 'grayscale' | 'rgb' = '', quality = 95,
  progressive = false, optimizeSize = false, chromaDownsampling = true, densityUnit: 'in' | 'cm' = 'in',
  xDensity = 300, yDensity = 300, xmpMetadata = ''): Promise<Uint8Array> {
  const tensor = checkImage(image);
  for (const [name, v] of [['progressive', progressive], ['optimizeSize', optimizeSize], ['chromaDownsampling', chromaDownsampling]] as const) {
    if (typeof v !== 'boolean') invalidArg('a boolean', name, v);
  }
  checkInt(quality, 'quality');
  checkInt(xDensity, 'xDensity');
  checkInt(yDensity, 'yDensity');
  if (typeof xmpMetadata !== 'string') invalidArg('a string', 'xmpMetadata', xmpMetadata);
  const values = new Uint8Array(await tensor.data());
  if (!['', 'grayscale', 'rgb'].includes(format)) throw tfError(`format must be '', grayscale or rgb, got ${describeAttr(format)}`);
  if (quality < 0 || quality > 100) throw tfError(`quality must be in [0,100], got ${quality}`);
  if (densityUnit !== 'in' && densityUnit !== 'cm') throw tfError(`density_unit must be 'in' or 'cm'${describeAttr(densityUnit)}`);
  if (tensor.rank !== 3) throw tfError(`image must be 3-dimensional${shapeString(tensor.shape)}`);
  const [h, w, c] = tensor.shape;
  const expect = format === 'grayscale' ? 1 : format === 'rgb' ? 3 : 0;
  if (expect === 0 && c !== 1 && c !== 3) throw tfError(`image must have 1 or 3 channels, got ${shapeString(tensor.shape)}`);
  if (expect !== 0 && c !== expect) throw tfError(`format ${format} expects ${expect} channels, got ${shapeString(tensor.shape)}`);
  const xmp = Buffer.from(xmpMetadata, 'utf8');
  const namespace = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1');
  if (h === 0 || w === 0 || (xmp.length > 0 && xmp.length + namespace.length > 65533)) throw tfError('JPEG encoding failed', INTERNAL);
  const rgba = new Uint8Array(h * w * 4);
  for (let i = 0; i < h * w; i++) {
    rgba[4 * i] = values[i * c];
    rgba[4 * i + 1] = values[i * c + (c === 3 ? 1 : 0)];
    rgba[4 * i + 2] = values[i * c + (c === 3 ? 2 : 0)];
    rgba[4 * i + 3] = 255;
  }
  const encoded = jpeg().encode({ width: w, height: h, data: rgba }, Math.max(quality, 1)).data;
  // jpeg-js's JFIF segment (bytes 2..19) with TensorFlow's density fields
  encoded[13] = densityUnit === 'in' ? 1 : 2;
  encoded.writeUInt16BE(xDensity & 0xffff, 14);
  encoded.writeUInt16BE(yDensity & 0xffff, 16);
  if (xmp.length === 0) return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.length);
  const app1 = Buffer.alloc(4);
  app1.writeUInt16BE(0xffe1, 0);
  app1.writeUInt16BE(2 + namespace.length + xmp.length, 2);
  const out = Buffer.concat([encoded.subarray(0, 20), app1, namespace, xmp, encoded.subarray(20)]);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** An attribute value inside a TensorFlow message (strings bare, as TensorFlow prints them). */
const describeAttr = (v: unknown) => (typeof v === 'string' ? v : describe(v));

/** Encodes an image tensor ([height, width, 1 to 4], values taken as uint8) to PNG bytes; compression -1 to 9. */
export async function encodePng(image: tf.Tensor3D, compression = 1): Promise<Uint8Array> {
  const tensor = checkImage(image);
  checkInt(compression, 'compression');
  const values = new Uint8Array(await tensor.data());
  if (compression < -1 || compression > 9) throw tfError(`compression should be in [-1,9], got ${compression}`);
  if (tensor.rank !== 3) throw tfError(`image must be 3-dimensional${shapeString(tensor.shape)}`);
  const [h, w, c] = tensor.shape;
  if (c < 1 || c > 4) throw tfError(`image must have 1, 2, 3, or 4 channels, got ${c}`);
  if (h === 0 || w === 0) throw tfError('PNG encoding failed', INTERNAL);
  const colorType = [0, 4, 2, 6][c - 1];
  const out = png().write({ width: w, height: h, data: Buffer.from(values.buffer, values.byteOffset, values.length) },
    { colorType, inputColorType: colorType, bitDepth: 8, inputHasAlpha: c % 2 === 0, deflateLevel: compression });
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
