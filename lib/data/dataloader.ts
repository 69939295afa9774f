/**
 * data.DataLoader: batches of [input, target] from an array of samples, with PyTorch's
 * options (batchSize, shuffle, dropLast) plus what sequence models need: variable-length
 * sequences are padded into one batch-first tensor and come with their lengths, and batches
 * can be bucketed by length so that little padding is computed.
 *
 * A batch is `[input, target]`. When the inputs of a batch all have the same shape, input is
 * their stack; when their lengths (first dimension) differ, input is `[padded, lengths]`,
 * padded of shape [batch, maxLength, …] and lengths an int64 tensor, ready for
 * `model.forward(padded, lengths)` and `lstm.forward(x, { lengths })`. Variable-length
 * targets (sequence labels) are padded the same way with `targetPadValue` (default -100,
 * cross-entropy's ignoreIndex).
 */
import { invalidArg } from '../errors';
import { full, tensor } from '../creation';
import { cat, stack } from '../ops';
import { checkTensor, keep, Tensor, tidy } from '../tensor';
import { checkBool, checkInt, checkNumber, checkOptions } from '../validate';
import { DType } from '../dtype';
import { mulberry32 } from '../random';
import type { Sampler } from './distributed-sampler';

export type Sample = [Tensor | number[] | number[][] | number, Tensor | number | number[]];
export type Batch = [Tensor | [Tensor, Tensor], Tensor];

export interface DataLoaderOptions {
  /** Samples per batch. Default 1. */
  batchSize?: number;
  /** Reshuffle the samples every epoch. Default false. */
  shuffle?: boolean;
  /** Seed of the shuffle (each epoch uses seed + epoch), so runs are reproducible. Default 0. */
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize. Default false. */
  dropLast?: boolean;
  /** The value padded sequences are filled with. Default 0. */
  padValue?: number;
  /** Group samples of similar length into batches (within windows of 50 batches), then shuffle the batches. Default false. */
  bucketByLength?: boolean;
  /** dtype of inputs given as number arrays. Default float32. */
  dtype?: DType;
  /** The value variable-length targets are padded with (cross-entropy's ignoreIndex). Default -100. */
  targetPadValue?: number;
  /**
   * The sample indices of each epoch, e.g. a data.DistributedSampler (this rank's share).
   * Excludes shuffle (the sampler orders the samples). Default: all samples, in order or shuffled.
   */
  sampler?: Sampler;
}

function shuffleInPlace<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Stacks tensors whose first dimension may differ, padding each to the longest with `value`. */
function padStack(ts: Tensor[], value: number): Tensor {
  if (ts[0].dim() === 0 || ts.every((t) => t.shape[0] === ts[0].shape[0])) return stack(ts);
  const maxLen = Math.max(...ts.map((t) => t.shape[0]));
  const rest = ts[0].shape.slice(1);
  return tidy(() => stack(ts.map((t) => (t.shape[0] === maxLen ? t : cat([t, full([maxLen - t.shape[0], ...rest], value, { dtype: t.dtype })], 0)))));
}

export class DataLoader implements Iterable<Batch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly bucketByLength: boolean;
  /** The sampler given in the options, or null. */
  readonly sampler: Sampler | null;
  private readonly seed: number;
  private readonly padValue: number;
  private readonly targetPadValue: number;
  private readonly inputs: Tensor[];
  private readonly targets: Tensor[];
  private epoch = 0;

  constructor(dataset: Sample[], opts?: DataLoaderOptions) {
    if (!Array.isArray(dataset) || dataset.length === 0) invalidArg('a non-empty array of [input, target] samples', 'dataset', dataset);
    const o = checkOptions<DataLoaderOptions>(opts, 'options', ['batchSize', 'shuffle', 'seed', 'dropLast', 'padValue', 'bucketByLength', 'dtype', 'targetPadValue', 'sampler']);
    const sampler = o.sampler === undefined ? null : o.sampler;
    if (sampler !== null && (typeof sampler !== 'object' || typeof (sampler as Partial<Sampler>)[Symbol.iterator] !== 'function' || typeof sampler.length !== 'number')) {
      invalidArg('a sampler (an iterable of indices with a length, such as data.DistributedSampler)', 'sampler', sampler);
    }
    if (sampler !== null && o.shuffle) invalidArg('shuffle: false with a sampler (the sampler orders the samples)', 'shuffle', o.shuffle);
    this.sampler = sampler;
    this.targetPadValue = o.targetPadValue === undefined ? -100 : checkNumber(o.targetPadValue, 'targetPadValue');
    this.batchSize = o.batchSize === undefined ? 1 : checkInt(o.batchSize, 'batchSize', { min: 1 });
    this.shuffle = o.shuffle === undefined ? false : checkBool(o.shuffle, 'shuffle');
    this.seed = o.seed === undefined ? 0 : checkInt(o.seed, 'seed', { min: 0 });
    this.dropLast = o.dropLast === undefined ? false : checkBool(o.dropLast, 'dropLast');
    this.padValue = o.padValue === undefined ? 0 : checkNumber(o.padValue, 'padValue');
    this.bucketByLength = o.bucketByLength === undefined ? false : checkBool(o.bucketByLength, 'bucketByLength');
    const dtype = o.dtype ?? 'float32';
    // Samples become tensors once; they live as long as the loader (never disposed by tidy()).
    this.inputs = [];
    this.targets = [];
    dataset.forEach((s, i) => {
      if (!Array.isArray(s) || s.length !== 2) invalidArg('an [input, target] pair', `dataset[${i}]`, s);
      const [x, y] = s;
      this.inputs.push(keep(x instanceof Tensor ? checkTensor(x, `dataset[${i}][0]`) : tensor(x as number[], { dtype })));
      this.targets.push(keep(y instanceof Tensor ? checkTensor(y, `dataset[${i}][1]`) : tensor(y as number[])));
    });
    const rank = this.inputs[0].dim();
    const rest = this.inputs[0].shape.slice(1).join(',');
    this.inputs.forEach((t, i) => {
      if (t.dim() !== rank || t.shape.slice(1).join(',') !== rest) invalidArg(`an input of shape [*${rest ? `, ${rest}` : ''}] (like dataset[0]'s)`, `dataset[${i}][0]`, t);
    });
    // Targets share their rank, trailing shape and dtype; their first dimension may vary (sequences).
    const trank = this.targets[0].dim();
    const trest = this.targets[0].shape.slice(1).join(',');
    this.targets.forEach((t, i) => {
      if (t.dim() !== trank || t.shape.slice(1).join(',') !== trest || t.dtype !== this.targets[0].dtype) invalidArg(`a target like dataset[0]'s (${this.targets[0].describeForError()})`, `dataset[${i}][1]`, t);
    });
  }

  /** The number of batches per epoch. */
  get length(): number {
    const n = this.sampler ? this.sampler.length : this.inputs.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample indices of each batch of the next epoch. */
  private batches(): number[][] {
    const n = this.inputs.length;
    const rand = mulberry32(this.seed + this.epoch);
    this.epoch++;
    let order = this.sampler ? this.sampledOrder() : [...Array(n).keys()];
    if (this.shuffle) shuffleInPlace(order, rand);
    if (this.bucketByLength) {
      const window = this.batchSize * 50;
      const len = (i: number) => (this.inputs[i].dim() > 0 ? this.inputs[i].shape[0] : 1);
      const sorted: number[] = [];
      for (let s = 0; s < order.length; s += window) sorted.push(...order.slice(s, s + window).sort((a, b) => len(a) - len(b)));
      order = sorted;
    }
    const out: number[][] = [];
    for (let s = 0; s < order.length; s += this.batchSize) {
      const b = order.slice(s, s + this.batchSize);
      if (b.length < this.batchSize && this.dropLast) break;
      out.push(b);
    }
    if (this.bucketByLength && this.shuffle) shuffleInPlace(out, rand);
    return out;
  }

  /** The sampler's indices for this epoch, checked against the dataset. */
  private sampledOrder(): number[] {
    const n = this.inputs.length;
    const order = Array.from(this.sampler!);
    for (const i of order) if (!Number.isInteger(i) || i < 0 || i >= n) invalidArg(`sample indices in [0, ${n - 1}] from the sampler`, 'sampler', i);
    return order;
  }

  /** Collates one batch (a JS-thread job of a few copies; fit() overlaps it with the running step). */
  private collate(idx: number[]): Batch {
    return tidy(() => {
      const xs = idx.map((i) => this.inputs[i]);
      const target = padStack(idx.map((i) => this.targets[i]), this.targetPadValue);
      const lengths = xs.map((x) => (x.dim() > 0 ? x.shape[0] : 1));
      if (xs[0].dim() === 0 || lengths.every((l) => l === lengths[0])) return [stack(xs), target] as Batch;
      return [[padStack(xs, this.padValue), tensor(lengths, { dtype: 'int64' })], target] as Batch;
    });
  }

  *[Symbol.iterator](): Iterator<Batch> {
    for (const b of this.batches()) yield this.collate(b);
  }
}
