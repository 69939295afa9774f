/**
 * `torchrnn/tfjs` as a drop-in for `@tensorflow/tfjs-node`: its `tf.node` image functions
 * (lib/tfjs/node-image.ts) against an independent decoder, and the module's surface (lib/tfjs/index.ts,
 * lib/tfjs/node.ts): tfjs-core, tfjs-layers and tfjs-converter re-exported as they are, tf.node,
 * tf.io and tf.version as tfjs-node has them, loading without the optional peers.
 *
 * The images and their reference pixels are made by scripts/gen-fixtures-images.py with Pillow
 * (test/fixtures/images/reference.json): PNG, BMP and GIF must decode to exactly those pixels put
 * through TensorFlow's conversion rules (which the script applies and checked against libpng
 * itself), JPEG within the bounds stated below (other decoders, other IDCT and chroma upsampling).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfconv from '@tensorflow/tfjs-converter';
import * as torch from '../lib';
import * as tf from '../lib/tfjs';
import { fileSystem, nodeFileSystemRouter } from '../lib/tfjs/io-file';
import { TFSavedModel } from '../lib/tfjs/node';
import { ROOT, settle, suiteTmpDir } from './helpers';

const IMAGES = path.join(ROOT, 'test', 'fixtures', 'images');
const read = (file: string) => new Uint8Array(fs.readFileSync(path.join(IMAGES, file)));
interface Case { file: string; fn: 'decodePng' | 'decodeBmp' | 'decodeGif' | 'decodeJpeg' | 'decodeImage'; args: unknown[]; shape: number[]; data: string; lossy?: boolean }
const REFERENCE = JSON.parse(fs.readFileSync(path.join(IMAGES, 'reference.json'), 'utf8')) as { cases: Case[]; source_rgb: { jpeg: string } };
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const TF_STATUS = (message: string, code = 3) => `Invalid TF_Status: ${code}\nMessage: ${message}`;

/** Decodes with tf.node[fn], checks dtype and shape, returns the values; the tensor is disposed. */
function decoded(fn: Case['fn'], bytes: Uint8Array, args: unknown[] = []): { shape: number[]; values: Int32Array } {
  const t = (tf.node[fn] as (b: Uint8Array, ...a: unknown[]) => tfc.Tensor)(bytes, ...args);
  try {
    assert.strictEqual(t.dtype, 'int32');
    return { shape: t.shape, values: t.dataSync() as Int32Array };
  } finally {
    t.dispose();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; mean: number } {
  assert.strictEqual(a.length, b.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

/**
 * Max and mean absolute differences allowed against Pillow's libjpeg-turbo. Measured: 9 and 2.18
 * for 4:2:0 files (jpeg-js repeats chroma samples where libjpeg interpolates them: "fancy
 * upsampling"), 2 and 0.54 for 4:4:4, 1 and 0.05 for gray and for channels 1 (the Y plane).
 */
const JPEG_BOUNDS: Record<string, { max: number; mean: number }> = {
  'jpeg_baseline420.jpg': { max: 10, mean: 2.5 },
  'jpeg_progressive.jpg': { max: 10, mean: 2.5 },
  'jpeg_baseline444.jpg': { max: 3, mean: 0.75 },
  'jpeg_gray.jpg': { max: 2, mean: 0.25 },
};
const JPEG_Y_BOUND = { max: 2, mean: 0.25 };

function throwsMessage(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: Error) => {
    assert.strictEqual(e.message, message);
    return true;
  });
}

async function rejectsMessage(fn: () => Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(fn, (e: Error) => {
    if (typeof message === 'string') assert.strictEqual(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

/** Runs a Node program that requires lib/tfjs through tsx; its last stdout line is JSON. */
function child(program: string, opts: { preload?: string; env?: NodeJS.ProcessEnv } = {}): Record<string, unknown> {
  const args = ['-r', 'tsx/cjs', ...(opts.preload ? ['-r', opts.preload] : []), '-e', program];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 120000, env: { ...process.env, ...opts.env } });
  assert.strictEqual(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

describe('torchrnn/tfjs as @tensorflow/tfjs-node: tf.node images and the module', function () {
  this.timeout(120000);
  before(async () => {
    await tf.setBackend('torch');
  });

  describe('decoding', () => {
    it('PNG (gray, gray+alpha, RGB, RGBA, palette, tRNS, 1/2/4/16-bit, interlaced), BMP and GIF decode to the reference pixels exactly, for every channels', () => {
      const lossless = REFERENCE.cases.filter((c) => !c.lossy);
      assert.ok(lossless.length >= 70, `${lossless.length} cases`);
      for (const c of lossless) {
        const label = `${c.fn}(${c.file}, ${c.args.join(', ')})`;
        const got = decoded(c.fn, read(c.file), c.args);
        assert.deepStrictEqual(got.shape, c.shape, label);
        assert.deepStrictEqual(Array.from(got.values), Array.from(b64(c.data)), label);
        // decodeImage picks the same decoder by the magic bytes (GIF cases call it themselves)
        if (c.fn !== 'decodeGif' && c.fn !== 'decodeImage') {
          assert.deepStrictEqual(Array.from(decoded('decodeImage', read(c.file), c.args).values), Array.from(got.values), `decodeImage: ${label}`);
        }
      }
    });

    it(`JPEG (baseline 4:2:0 and 4:4:4, progressive, gray; channels 0, 1, 3) within ${JSON.stringify(JPEG_BOUNDS)} of libjpeg-turbo`, () => {
      const lossy = REFERENCE.cases.filter((c) => c.lossy);
      assert.strictEqual(lossy.length, 12);
      for (const c of lossy) {
        const label = `${c.fn}(${c.file}, ${c.args.join(', ')})`;
        const got = decoded(c.fn, read(c.file), c.args);
        assert.deepStrictEqual(got.shape, c.shape, label);
        const d = maxAbsDiff(got.values, b64(c.data));
        const bound = c.args[0] === 1 ? JPEG_Y_BOUND : JPEG_BOUNDS[c.file];
        assert.ok(d.max <= bound.max && d.mean <= bound.mean, `${label}: max ${d.max}, mean ${d.mean.toFixed(2)} over ${JSON.stringify(bound)}`);
      }
    });

    it("gives the numbers tfjs-node's own tests expect from TensorFlow (tfjs-node/src/image_test.ts)", () => {
      const rgb = [238, 101, 0, 50, 50, 50, 100, 50, 0, 200, 100, 50];
      const png = read('png_tfjs_node_2x2.png');
      assert.deepStrictEqual(Array.from(decoded('decodePng', png).values), rgb);
      assert.deepStrictEqual(Array.from(decoded('decodeImage', png, [1]).values), [130, 50, 59, 124]);
      assert.deepStrictEqual(Array.from(decoded('decodeImage', png, [4]).values), [238, 101, 0, 255, 50, 50, 50, 255, 100, 50, 0, 255, 200, 100, 50, 255]);
      assert.deepStrictEqual(Array.from(decoded('decodeBmp', read('bmp_tfjs_node_2x2.bmp')).values), rgb);
      const gif = read('gif_tfjs_node_2x2.gif');
      const frames = decoded('decodeImage', gif);
      assert.deepStrictEqual(frames.shape, [2, 2, 2, 3]);
      assert.deepStrictEqual(Array.from(frames.values), [...rgb, 200, 100, 50, 34, 68, 102, 170, 0, 102, 255, 255, 255]);
      const first = decoded('decodeImage', gif, [3, 'int32', false]);
      assert.deepStrictEqual([first.shape, Array.from(first.values)], [[2, 2, 3], rgb]);
    });

    it('a GIF frame that covers part of the canvas keeps the rest of the frame before it', () => {
      const { shape, values } = decoded('decodeGif', read('gif_animated.gif'));
      assert.deepStrictEqual(shape, [3, 16, 20, 3]);
      const at = (k: number, y: number, x: number) => Array.from(values.subarray(((k * 16 + y) * 20 + x) * 3, ((k * 16 + y) * 20 + x) * 3 + 3));
      // the second frame's rectangle is x 5..13, y 3..8 (gen-fixtures-images.py); outside it, frame 0 shows
      assert.deepStrictEqual(at(1, 0, 0), at(0, 0, 0));
      assert.deepStrictEqual(at(1, 15, 19), at(0, 15, 19));
      assert.notDeepStrictEqual(Array.from(values.subarray(0, 16 * 20 * 3)), Array.from(values.subarray(16 * 20 * 3, 2 * 16 * 20 * 3)));
    });

    it("reads the formats TensorFlow's ops read: decodeJpeg/decodePng take PNG, JPEG and one-frame GIF, decodeGif takes PNG and JPEG as one frame", () => {
      const png = read('png_rgba8.png');
      const jpeg = read('jpeg_baseline444.jpg');
      const gif = read('gif_single.gif');
      const viaPng = decoded('decodePng', png);
      assert.deepStrictEqual(decoded('decodeJpeg', png), viaPng);
      assert.deepStrictEqual(decoded('decodePng', jpeg), decoded('decodeJpeg', jpeg));
      assert.deepStrictEqual(decoded('decodePng', gif).shape, [16, 20, 3]);
      assert.deepStrictEqual(decoded('decodeJpeg', gif).values, decoded('decodeGif', gif).values);
      const asGif = decoded('decodeGif', png);
      assert.deepStrictEqual(asGif.shape, [1, 7, 11, 3]);
      assert.deepStrictEqual(asGif.values, decoded('decodePng', png, [3]).values);
      assert.deepStrictEqual(decoded('decodeGif', jpeg).shape, [1, 24, 40, 3]);
    });

    it('ratio 2, 4 and 8 shrink a JPEG as libjpeg does (sizes rounded up), to the means of the blocks', () => {
      const jpeg = read('jpeg_baseline444.jpg');
      const full = decoded('decodeJpeg', jpeg);
      for (const ratio of [2, 4, 8]) {
        const small = decoded('decodeJpeg', jpeg, [0, ratio]);
        assert.deepStrictEqual(small.shape, [Math.ceil(24 / ratio), Math.ceil(40 / ratio), 3]);
        let sum = 0;
        for (let y = 0; y < ratio; y++) for (let x = 0; x < ratio; x++) sum += full.values[(y * 40 + x) * 3];
        assert.strictEqual(small.values[0], Math.round(sum / ratio ** 2), `ratio ${ratio}`);
      }
    });

    it('getImageType and ImageType are tfjs-node\'s', () => {
      assert.deepStrictEqual({ ...tf.node.ImageType }, { JPEG: 'jpeg', PNG: 'png', GIF: 'gif', BMP: 'BMP' });
      assert.deepStrictEqual(['jpeg_gray.jpg', 'png_gray8.png', 'gif_single.gif', 'bmp_rgb24.bmp'].map((f) => tf.node.getImageType(read(f))), ['jpeg', 'png', 'gif', 'BMP']);
    });
  });

  describe('encoding', () => {
    it('encodePng -> decodePng gives the image back exactly, for 1 to 4 channels and every compression', async () => {
      let seed = 7;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % 256;
      for (const c of [1, 2, 3, 4]) {
        const pixels = Int32Array.from({ length: 9 * 13 * c }, next);
        const image = tfc.tensor3d(pixels, [9, 13, c], 'int32');
        for (const compression of [-1, 0, 1, 9]) {
          const png = await tf.node.encodePng(image, compression);
          assert.ok(png instanceof Uint8Array && tf.node.getImageType(png) === 'png');
          assert.deepStrictEqual([png[24], png[25]], [8, [0, 4, 2, 6][c - 1]], 'IHDR: 8 bits, gray / gray+alpha / RGB / RGBA');
          const back = decoded('decodePng', png);
          assert.deepStrictEqual(back.shape, [9, 13, c]);
          assert.deepStrictEqual(Array.from(back.values), Array.from(pixels), `${c} channels, compression ${compression}`);
        }
        image.dispose();
      }
    });

    it("takes the values as tfjs-node does: new Uint8Array(await image.data()) (truncated, modulo 256)", async () => {
      const image = tfc.tensor3d([3.7, 256, -1, 255.9, 511, 0.2], [1, 6, 1]);
      const back = decoded('decodePng', await tf.node.encodePng(image));
      assert.deepStrictEqual(Array.from(back.values), [3, 0, 255, 255, 255, 0]);
      image.dispose();
    });

    it('encodeJpeg output decodes close to the image; quality, density and XMP metadata are written as TensorFlow writes them', async () => {
      const rgb = b64(REFERENCE.source_rgb.jpeg);
      const image = tfc.tensor3d(Int32Array.from(rgb), [24, 40, 3], 'int32');
      const jpeg = await tf.node.encodeJpeg(image);
      assert.strictEqual(tf.node.getImageType(jpeg), 'jpeg');
      const back = decoded('decodeJpeg', jpeg);
      assert.deepStrictEqual(back.shape, [24, 40, 3]);
      const d = maxAbsDiff(back.values, rgb);
      assert.ok(d.max <= 6 && d.mean <= 1, `quality 95: max ${d.max}, mean ${d.mean}`);   // measured: 4 and 0.69
      // JFIF APP0: density unit (1 = in, 2 = cm), x and y density (TensorFlow's defaults: in, 300, 300)
      const jfif = (b: Uint8Array) => [b[13], (b[14] << 8) | b[15], (b[16] << 8) | b[17]];
      assert.deepStrictEqual(jfif(jpeg), [1, 300, 300]);
      const xmp = '<x:xmpmeta xmlns:x="adobe:ns:meta/">é</x:xmpmeta>';
      const tagged = await tf.node.encodeJpeg(image, 'rgb', 30, true, true, false, 'cm', 72, 96, xmp);
      assert.deepStrictEqual(jfif(tagged), [2, 72, 96]);
      const app1 = Buffer.from(tagged.subarray(20));
      assert.deepStrictEqual([app1[0], app1[1], app1.readUInt16BE(2)], [0xff, 0xe1, 2 + 29 + Buffer.byteLength(xmp)]);
      assert.strictEqual(app1.subarray(4, 4 + 29 + Buffer.byteLength(xmp)).toString('utf8'), `http://ns.adobe.com/xap/1.0/\0${xmp}`);
      assert.ok(tagged.length < jpeg.length + 29 + Buffer.byteLength(xmp), `quality 30 (${tagged.length} bytes) is smaller than 95 (${jpeg.length})`);
      // a 1-channel image: 3 equal channels in the file (jpeg-js writes colour JPEG only), gray on decode
      const gray = tfc.tensor3d(Int32Array.from({ length: 24 * 40 }, (_, i) => rgb[3 * i + 1]), [24, 40, 1], 'int32');
      const g = await tf.node.encodeJpeg(gray, 'grayscale');
      assert.ok(maxAbsDiff(decoded('decodeJpeg', g, [1]).values, gray.dataSync()).max <= 4);
      assert.deepStrictEqual(decoded('decodeJpeg', g).shape, [24, 40, 3]);
      tfc.dispose([image, gray]);
    });
  });

  describe("bad input gets tfjs-node's messages", () => {
    it('decoding', () => {
      const png = read('png_rgb8.png');
      const jpeg = read('jpeg_baseline420.jpg');
      const gif = read('gif_animated.gif');
      const bmp = read('bmp_rgb24.bmp');
      const cut = (b: Uint8Array, n: number) => b.subarray(0, n);
      const flipped = png.slice();
      flipped[png.length - 20] ^= 0x55;                  // inside IDAT: the header reads, the pixels do not
      const cases: [() => unknown, string][] = [
        [() => tf.node.decodeImage(png, 0, 'uint8'), 'decodeImage could only return Tensor of type `int32` for now.'],
        [() => tf.node.decodePng(png, 0, 'float32'), 'decodeImage could only return Tensor of type `int32` for now.'],
        [() => tf.node.decodeImage(new Uint8Array(fs.readFileSync(path.join(ROOT, 'package.json')))), 'Expected image (BMP, JPEG, PNG, or GIF), but got unsupported image type'],
        [() => tf.node.decodePng(new Uint8Array(0)), TF_STATUS('Input is empty.')],
        [() => tf.node.decodePng(new Uint8Array([1, 2, 3, 4])), TF_STATUS('Unknown image file format. One of JPEG, PNG, GIF, BMP required.')],
        [() => tf.node.decodePng(png, 2), TF_STATUS('`channels` must be 0, 1, 3 or 4 but got 2')],
        [() => tf.node.decodePng(cut(png, 20)), TF_STATUS('Invalid PNG. Failed to initialize decoder.')],
        [() => tf.node.decodePng(cut(png, png.length - 12)), TF_STATUS(`Invalid PNG data, size ${png.length - 12}`)],
        [() => tf.node.decodePng(flipped), TF_STATUS(`Invalid PNG data, size ${png.length}`)],
        [() => tf.node.decodeJpeg(jpeg, 4), TF_STATUS('JPEG does not support 4 channels')],
        [() => tf.node.decodeJpeg(jpeg, 0, 3), TF_STATUS('ratio must be 1, 2, 4, or 8, got 3')],
        [() => tf.node.decodeJpeg(jpeg, 0, 1, true, false, 1, 'FAST'), TF_STATUS("dct_method must be one of {'', 'INTEGER_FAST', 'INTEGER_ACCURATE'}")],
        [() => tf.node.decodeJpeg(cut(jpeg, 500)), TF_STATUS('jpeg::Uncompress failed. Invalid JPEG data or crop window.')],
        [() => tf.node.decodeJpeg(cut(jpeg, jpeg.length - 2)), TF_STATUS('jpeg::Uncompress failed. Invalid JPEG data or crop window.')],
        [() => tf.node.decodePng(gif), TF_STATUS('Got 3 frames, but animated gifs can only be decoded by tf.io.decode_gif or tf.io.decode_image')],
        [() => tf.node.decodePng(read('gif_single.gif'), 1), TF_STATUS('channels must be 0 or 3 for GIF, got 1')],
        [() => tf.node.decodeGif(cut(gif, 600)), TF_STATUS('Invalid GIF data (size 600), failed to slurp gif file: Failed to read from given file')],
        [() => tf.node.decodeGif(cut(gif, 10)), TF_STATUS('Invalid GIF data (size 10), failed to open gif file: Failed to read from given file')],
        [() => tf.node.decodeBmp(png), TF_STATUS('Trying to decode PNG format using DecodeBmp op. Use `decode_png` or `decode_image` instead.')],
        [() => tf.node.decodeBmp(jpeg), TF_STATUS('Trying to decode JPEG format using DecodeBmp op. Use `decode_jpeg` or `decode_image` instead.')],
        [() => tf.node.decodeBmp(gif), TF_STATUS('Trying to decode GIF format using DecodeBmp op. Use `decode_gif` or `decode_image` instead.')],
        [() => tf.node.decodePng(bmp), TF_STATUS('Trying to decode BMP format using a wrong op. Use `decode_bmp` or `decode_image` instead. Op used: DecodePng')],
        [() => tf.node.decodeImage(bmp, 1), TF_STATUS('`channels` must be 0, 3 or 4 for BMP, but got 1')],
        [() => tf.node.decodeBmp(cut(bmp, bmp.length - 3)), TF_STATUS('Input size should match (header_size + row_size * abs_height) but they differ by -3')],
        [() => tf.node.decodeBmp(cut(bmp, 20)), TF_STATUS('Incomplete bmp content, requires at least 32 bytes to find the header size, width, height, and bpp, got 20 bytes')],
        // what tfjs-node leaves to its binding: a clear error naming the argument
        [() => tf.node.decodePng('abc' as unknown as Uint8Array), 'Expected a Uint8Array (or Buffer) of encoded image bytes for contents but received "abc"'],
        [() => tf.node.decodePng(png, 2.5), 'Expected an integer for channels but received 2.5'],
      ];
      for (const [fn, message] of cases) throwsMessage(fn, message);
    });

    it('encoding', async () => {
      const [image, rank4, five, four, empty] = [[2, 2, 3], [1, 2, 2, 3], [2, 2, 5], [2, 2, 4], [0, 2, 3]].map((s) => tfc.zeros(s, 'int32') as tfc.Tensor as tfc.Tensor3D);
      const cases: [() => Promise<unknown>, string][] = [
        [() => tf.node.encodePng(rank4), TF_STATUS('image must be 3-dimensional[1,2,2,3]')],
        [() => tf.node.encodePng(five), TF_STATUS('image must have 1, 2, 3, or 4 channels, got 5')],
        [() => tf.node.encodePng(image, 10), TF_STATUS('compression should be in [-1,9], got 10')],
        [() => tf.node.encodeJpeg(four), TF_STATUS('image must have 1 or 3 channels, got [2,2,4]')],
        [() => tf.node.encodeJpeg(image, 'grayscale'), TF_STATUS('format grayscale expects 1 channels, got [2,2,3]')],
        [() => tf.node.encodeJpeg(image, 'bgr' as 'rgb'), TF_STATUS("format must be '', grayscale or rgb, got bgr")],
        [() => tf.node.encodeJpeg(image, '', 101), TF_STATUS('quality must be in [0,100], got 101')],
        [() => tf.node.encodeJpeg(image, '', 95, false, false, true, 'mm' as 'cm'), TF_STATUS("density_unit must be 'in' or 'cm'mm")],
        [() => tf.node.encodeJpeg(empty), TF_STATUS('JPEG encoding failed', 13)],
        [() => tf.node.encodePng([1, 2] as unknown as tfc.Tensor3D), 'Expected a tf.Tensor3D for image but received [1, 2]'],
      ];
      const before = tfc.memory().numTensors;
      for (const [fn, message] of cases) await rejectsMessage(fn, message);
      assert.strictEqual(tfc.memory().numTensors, before);
      tfc.dispose([image, rank4, five, four, empty]);
    });
  });

  it('leaks no tensor: tfjs counts and libtorch counts are back after decoding and encoding', async () => {
    const files = ['png_rgba16.png', 'jpeg_progressive.jpg', 'gif_animated.gif', 'bmp_rgba32.bmp'];
    const once = async () => {
      for (const f of files) tf.node.decodeImage(read(f)).dispose();
      const t = tf.node.decodeImage(read('png_rgb8.png')) as tfc.Tensor3D;
      await tf.node.encodePng(t);
      await tf.node.encodeJpeg(t);
      t.dispose();
    };
    await once();
    await settle();
    const tfjsBefore = tfc.memory().numTensors;
    const torchBefore = torch.memory().tensors;
    for (let i = 0; i < 3; i++) await once();
    await settle();
    assert.strictEqual(tfc.memory().numTensors, tfjsBefore);
    assert.strictEqual(torch.memory().tensors, torchBefore);
  });

  describe('the module is tfjs-node\'s', () => {
    const tmp = suiteTmpDir('torchrnn-dropin-');
    const mod = tf as unknown as Record<string, unknown>;

    it('re-exports tfjs-core, tfjs-layers and tfjs-converter, every name the same object', () => {
      for (const [name, value] of Object.entries(tfc)) if (name !== 'io' && name !== 'default') assert.strictEqual(mod[name], value, `tfjs-core's ${name}`);
      for (const [name, value] of Object.entries(tfl)) if (name !== 'default') assert.strictEqual(mod[name], value, `tfjs-layers' ${name}`);
      for (const [name, value] of Object.entries(tfconv)) if (name !== 'default') assert.strictEqual(mod[name], value, `tfjs-converter's ${name}`);
      assert.strictEqual(tf.sequential, tfl.sequential);
      assert.strictEqual(tf.layers, tfl.layers);
      assert.strictEqual(tf.loadGraphModel, tfconv.loadGraphModel);
      // and keeps its own
      for (const name of ['TorchBackend', 'fusedStats', 'useFusedLayers', 'kernelNames', 'BACKEND_NAME']) assert.ok(mod[name] !== undefined, name);
    });

    it("tf.io is tfjs-core's plus fileSystem, nodeFileSystemRouter and nodeHTTPRequest; tf.version has the packages and torchrnn", () => {
      for (const [name, value] of Object.entries(tfc.io)) if (name !== 'default') assert.strictEqual((tf.io as Record<string, unknown>)[name], value, `tf.io.${name}`);
      assert.strictEqual(tf.io.fileSystem, fileSystem);
      assert.strictEqual(tf.io.nodeFileSystemRouter, nodeFileSystemRouter);
      const http = tf.io.nodeHTTPRequest('http://localhost:1/model.json') as unknown as { path: string; constructor: unknown };
      assert.strictEqual(http.constructor, (tfc.io.http('http://localhost:1/x') as unknown as { constructor: unknown }).constructor);
      assert.strictEqual(http.path, 'http://localhost:1/model.json');
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
      assert.deepStrictEqual({ ...tf.version }, { 'tfjs-core': tfc.version_core, 'tfjs-layers': tfl.version_layers, 'tfjs-converter': tfconv.version_converter, torchrnn: pkg.version });
    });

    it("tf.node has tfjs-node's members; the SavedModel ones say what to use instead", async () => {
      for (const name of ['decodeImage', 'decodeBmp', 'decodeGif', 'decodePng', 'decodeJpeg', 'encodeJpeg', 'encodePng', 'getMetaGraphsFromSavedModel', 'getNumOfSavedModels', 'loadSavedModel']) {
        assert.strictEqual(typeof (tf.node as Record<string, unknown>)[name], 'function', `tf.node.${name}`);
      }
      const message = (what: string) => new RegExp(`^${what.replace(/\./g, '\\.')} is not available in torchrnn/tfjs: TensorFlow SavedModels run in TensorFlow itself .*tensorflowjs_converter --input_format=tf_saved_model .*tf\\.loadGraphModel\\('file://WEB_MODEL_DIR/model\\.json'\\)`);
      await rejectsMessage(() => tf.node.loadSavedModel(tmp()), message('tf.node.loadSavedModel'));
      await rejectsMessage(() => tf.node.getMetaGraphsFromSavedModel(tmp()), message('tf.node.getMetaGraphsFromSavedModel'));
      assert.throws(() => new TFSavedModel(), (e: Error) => message('TFSavedModel').test(e.message));
      assert.strictEqual(tf.node.getNumOfSavedModels(), 0);
    });

    it('loads without tfjs-layers and tfjs-converter (optional peers): their names are undefined, the rest works, the torch backend is active at once (as tfjs-node makes its own)', () => {
      const preload = path.join(tmp(), 'hide.js');
      fs.writeFileSync(preload, `const Module = require('module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@tensorflow/tfjs-layers' || request === '@tensorflow/tfjs-converter') {
    const e = new Error("Cannot find module '" + request + "'"); e.code = 'MODULE_NOT_FOUND'; throw e;
  }
  return resolve.call(this, request, ...rest);
};`);
      const out = child(`const tf = require('./lib/tfjs');
        const backend = tf.getBackend();
        const png = tf.node.decodePng(require('fs').readFileSync('test/fixtures/images/png_gray8.png'));
        console.log(JSON.stringify({ backend, sequential: typeof tf.sequential, layers: typeof tf.layers, loadGraphModel: typeof tf.loadGraphModel,
          version: tf.version, shape: png.shape, fileSystem: typeof tf.io.fileSystem }));`, { preload });
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
      assert.deepStrictEqual(out, { sequential: 'undefined', layers: 'undefined', loadGraphModel: 'undefined', version: { 'tfjs-core': tfc.version_core, torchrnn: pkg.version }, backend: 'torch', shape: [7, 11, 1], fileSystem: 'function' });
    });

    it('with @tensorflow/tfjs (the union) installed, loads it first and re-exports its other names, as tfjs-node does', () => {
      // A stand-in for the union: tfjs-core, -layers and -converter, plus names of its own.
      const dir = path.join(tmp(), 'node_modules', '@tensorflow', 'tfjs');
      fs.mkdirSync(dir, { recursive: true });
      const at = (name: string) => JSON.stringify(require.resolve(name, { paths: [ROOT] }));
      fs.writeFileSync(path.join(dir, 'index.js'), `globalThis.unionLoaded = (globalThis.unionLoaded || 0) + 1;
module.exports = { ...require(${at('@tensorflow/tfjs-core')}), ...require(${at('@tensorflow/tfjs-layers')}), ...require(${at('@tensorflow/tfjs-converter')}),
  data: { array: 'tfjs-data' }, MathBackendCPU: 'tfjs-backend-cpu', version: { 'tfjs-core': 'x', tfjs: '4.22.0' } };`);
      const out = child(`const tf = require('./lib/tfjs');
        console.log(JSON.stringify({ loaded: globalThis.unionLoaded, data: tf.data, cpu: tf.MathBackendCPU, version: tf.version, sequential: typeof tf.sequential }));`,
      { env: { NODE_PATH: path.join(tmp(), 'node_modules') } });
      assert.strictEqual(out.loaded, 1);
      assert.deepStrictEqual(out.data, { array: 'tfjs-data' });
      assert.strictEqual(out.cpu, 'tfjs-backend-cpu');
      assert.deepStrictEqual(out.version, { 'tfjs-core': tfc.version_core, tfjs: '4.22.0', 'tfjs-layers': tfl.version_layers, 'tfjs-converter': tfconv.version_converter, torchrnn: (tf.version as Record<string, string>).torchrnn });
      assert.strictEqual(out.sequential, 'function');
    });

    it('import * as tf from "torchrnn/tfjs" (ES module, the built package) has the same names', () => {
      const program = `import * as tf from 'torchrnn/tfjs';
        import { sequential, node, io, version, tensor, loadGraphModel, BACKEND_NAME } from 'torchrnn/tfjs';
        console.log(JSON.stringify({ sequential: typeof sequential, decodePng: typeof node.decodePng, fileSystem: typeof io.fileSystem,
          torchrnn: version.torchrnn, tensor: typeof tensor, loadGraphModel: typeof loadGraphModel, BACKEND_NAME, same: tf.node === node }));`;
      assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'tfjs', 'node.js')), 'dist/tfjs/node.js: run `npm run build:ts` first');
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], { cwd: ROOT, encoding: 'utf8', timeout: 120000 });
      assert.strictEqual(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
      assert.deepStrictEqual(out, { sequential: 'function', decodePng: 'function', fileSystem: 'function', torchrnn: (tf.version as Record<string, string>).torchrnn,
        tensor: 'function', loadGraphModel: 'function', BACKEND_NAME: 'torch', same: true });
    });
  });
});
