/**
 * data.DistributedSampler: the share of a dataset that one rank trains on, as PyTorch's
 * torch.utils.data.DistributedSampler. Each epoch, the indices are shuffled with seed + epoch
 * (the same permutation on every rank: libtorch's randperm, as PyTorch's sampler), padded by
 * repeating the first ones to a multiple of the number of ranks (or, with dropLast, cut to
 * one), and rank r takes every numReplicas-th index starting at r: the ranks' shares are
 * disjoint and of equal size, so every rank runs the same number of steps.
 *
 * Call `setEpoch(epoch)` at the start of every epoch (fit() does it for a DataLoader's
 * sampler), or every epoch sees the same order.
 * @example
 * const sampler = new torch.data.DistributedSampler(samples, { shuffle: true, seed: 0 });
 * const loader = new torch.data.DataLoader(samples, { batchSize: 32, sampler });
 * await torch.fit({ model: ddp, optimizer, loss, data: loader, epochs: 10 });   // calls sampler.setEpoch(epoch)
 */
import { atenOp, native, TensorHandle } from '../binding';
import { invalidArg } from '../errors';
import { _group } from '../distributed/process-group';
import { SCALAR_TYPE } from '../dtype';
import { getRngState, manualSeed, setRngState } from '../runtime';
import { wrap } from '../tensor';
import { checkBool, checkInt, checkOptions } from '../validate';

/** What DataLoader's `sampler` option takes: indices into the dataset, once per epoch. */
export interface Sampler extends Iterable<number> {
  /** The number of indices an epoch yields. */
  readonly length: number;
  /** Called by fit() before each epoch (0, 1, …), when present. */
  setEpoch?(epoch: number): void;
}

export interface DistributedSamplerOptions {
  /** The number of ranks sharing the dataset. Default: distributed.getWorldSize(). */
  numReplicas?: number;
  /** This rank's share. Default: distributed.getRank(). */
  rank?: number;
  /** Shuffle the indices every epoch (with seed + epoch). Default true. */
  shuffle?: boolean;
  /** The shuffle's seed; it must be the same on every rank. Default 0. */
  seed?: number;
  /** Drop the tail that does not divide evenly instead of padding with repeated samples. Default false. */
  dropLast?: boolean;
}

const RANDPERM = atenOp('randperm');

/** libtorch's randperm(n) from a generator seeded with `seed`, as torch.randperm(n, generator=g) after g.manual_seed(seed). */
function seededPermutation(n: number, seed: number): number[] {
  const saved = getRngState();
  try {
    manualSeed(seed);
    const perm = wrap(native.call(RANDPERM, n, SCALAR_TYPE.int64, null, null, null) as TensorHandle);
    try {
      return Array.from(perm.dataSync() as BigInt64Array, Number);
    } finally {
      perm.dispose();
    }
  } finally {
    setRngState(saved);
    saved.dispose();
  }
}

export class DistributedSampler implements Sampler {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** The number of indices this rank gets per epoch. */
  readonly numSamples: number;
  /** numSamples × numReplicas. */
  readonly totalSize: number;
  private readonly size: number;
  private epoch = 0;

  /** `dataset`: the samples (anything with a length), or their number. */
  constructor(dataset: { length: number } | number, opts?: DistributedSamplerOptions) {
    const size = typeof dataset === 'number' ? dataset : dataset !== null && typeof dataset === 'object' ? (dataset as { length: unknown }).length : undefined;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) invalidArg('a non-empty dataset (an array) or its size', 'dataset', dataset);
    const o = checkOptions<DistributedSamplerOptions>(opts, 'options', ['numReplicas', 'rank', 'shuffle', 'seed', 'dropLast']);
    const group = o.numReplicas === undefined || o.rank === undefined ? _group('DistributedSampler') : null;
    this.numReplicas = o.numReplicas === undefined ? group!.worldSize : checkInt(o.numReplicas, 'numReplicas', { min: 1 });
    this.rank = o.rank === undefined ? group!.rank : checkInt(o.rank, 'rank', { min: 0 });
    if (this.rank >= this.numReplicas) invalidArg(`a rank in [0, ${this.numReplicas - 1}]`, 'rank', this.rank);
    this.shuffle = o.shuffle === undefined ? true : checkBool(o.shuffle, 'shuffle');
    this.seed = o.seed === undefined ? 0 : checkInt(o.seed, 'seed', { min: 0 });
    this.dropLast = o.dropLast === undefined ? false : checkBool(o.dropLast, 'dropLast');
    this.size = size;
    this.numSamples = this.dropLast && size % this.numReplicas !== 0
      ? Math.ceil((size - this.numReplicas) / this.numReplicas)
      : Math.ceil(size / this.numReplicas);
    if (this.numSamples < 1) invalidArg(`a dataset of at least ${this.numReplicas} samples (dropLast with ${this.numReplicas} ranks)`, 'dataset', dataset);
    this.totalSize = this.numSamples * this.numReplicas;
  }

  /** The number of indices per epoch (numSamples). */
  get length(): number { return this.numSamples; }

  /** Sets the epoch that seeds the next shuffle (seed + epoch). */
  setEpoch(epoch: number): void {
    this.epoch = checkInt(epoch, 'epoch', { min: 0 });
  }

  *[Symbol.iterator](): Iterator<number> {
    let indices = this.shuffle ? seededPermutation(this.size, this.seed + this.epoch) : [...Array(this.size).keys()];
    if (!this.dropLast) {
      const n = indices.length;
      for (let i = 0; i < this.totalSize - n; i++) indices.push(indices[i % n]);
    } else {
      indices = indices.slice(0, this.totalSize);
    }
    for (let i = this.rank; i < this.totalSize; i += this.numReplicas) yield indices[i];
  }
}
