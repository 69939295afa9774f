/**
 * ReduceLROnPlateau: lowers the lrs when a metric stops improving. It steps with a metric
 * rather than an epoch counter, so it is not an LRScheduler (as in PyTorch 1.13).
 */
import { plateauDefaultMinLr } from '../../compat';
import { invalidArg } from '../../errors';
import { Tensor } from '../../tensor';
import { checkBool, checkInt, checkOptions, checkString } from '../../validate';
import {
  checkGroupCount, checkNum, checkOptimizer, decodeNumber, F, Field, inRange, parseState, perGroup, sci, SchedulerOptimizer,
  SchedulerStateDict, StateSpec,
} from './state-dict';

export interface ReduceLROnPlateauOptions {
  /** 'min': reduce when the metric stops decreasing; 'max': when it stops increasing. Default: 'min'. */
  mode?: 'min' | 'max';
  /** new lr = lr * factor, in [0, 1). Default: 0.1. */
  factor?: number;
  /** The number of epochs without improvement to wait before reducing. Default: 10. */
  patience?: number;
  /** How much better a metric has to be to count as an improvement. Default: 1e-4. */
  threshold?: number;
  /** 'rel': better than best * (1 ∓ threshold); 'abs': better than best ∓ threshold. Default: 'rel'. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again. Default: 0. */
  cooldown?: number;
  /** A lower bound on the lr (or one per param group). Default: 0. */
  minLr?: number | number[];
  /** A reduction smaller than eps is skipped. Default: 1e-8. */
  eps?: number;
  /** Print a line for every reduction, as PyTorch does. Default: false. */
  verbose?: boolean;
}

/**
 * Reduces every group's lr by `factor` when a metric has stopped improving for `patience`
 * epochs (torch.optim.lr_scheduler.ReduceLROnPlateau). Call `step(metric)` after validation.
 * @example
 * const scheduler = new ReduceLROnPlateau(optimizer, { mode: 'min', patience: 5 });
 * for (let epoch = 0; epoch < 100; epoch++) {
 *   await trainOneEpoch();
 *   scheduler.step(await validationLoss());
 * }
 */
export class ReduceLROnPlateau {
  readonly optimizer: SchedulerOptimizer;
  factor: number;
  minLrs: number[];
  /**
   * libtorch 2.x only (as PyTorch 2.6): the minLr given as one number, which groups added to
   * the optimizer later get; null when minLr was given per group. Undefined on 1.13.
   */
  defaultMinLr?: number | null;
  patience: number;
  verbose: boolean;
  cooldown: number;
  cooldownCounter = 0;
  mode: 'min' | 'max';
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  /** The best metric so far (Infinity or -Infinity before the first). */
  best: number;
  numBadEpochs = 0;
  /** Infinity in mode 'min', -Infinity in mode 'max'. */
  modeWorse: number;
  eps: number;
  /** The number of step() calls. */
  lastEpoch = 0;
  /** @internal */
  _lastLr: number[];

  private static readonly stateSpec: StateSpec = (() => {
    // best and modeWorse may be ±Infinity: JSON.stringify writes null, which reads as "no best
    // yet" (the mode's worst value); the strings "Infinity", "-Infinity", "NaN" read as numbers.
    const maybeInfinite: Field = {
      check: (v, name) => {
        const x = decodeNumber(v);
        if (x !== null && typeof x !== 'number') invalidArg('a number (or null for none yet)', name, v);
        return x;
      },
    };
    return {
      factor: F.num({ min: 0, max: 1, maxOpen: true }),
      minLrs: {
        check: (v, name, n) => {
          if (!Array.isArray(v) || v.length !== n || !v.every((x) => inRange(x, { min: 0 }))) {
            invalidArg(`an array of ${n} finite number${n === 1 ? '' : 's'} >= 0 (one per param group of the optimizer)`, name, v);
          }
          return [...v];
        },
      },
      ...(plateauDefaultMinLr ? { defaultMinLr: maybeInfinite } : {}),
      patience: F.int(0),
      verbose: F.bool(),
      cooldown: F.int(0),
      cooldownCounter: F.int(0),
      mode: F.str(['min', 'max'] as const),
      threshold: F.num({ min: 0 }),
      thresholdMode: F.str(['rel', 'abs'] as const),
      best: maybeInfinite,
      numBadEpochs: F.int(0),
      modeWorse: maybeInfinite,
      eps: F.num({ min: 0 }),
      lastEpoch: F.int(0),
      _lastLr: { ...F.lrs(), optional: true },
    };
  })();

  constructor(optimizer: SchedulerOptimizer, options?: ReduceLROnPlateauOptions) {
    this.optimizer = checkOptimizer(optimizer);
    const o = checkOptions<ReduceLROnPlateauOptions>(options, 'options', [
      'mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps', 'verbose',
    ]);
    const n = this.optimizer.paramGroups.length;
    this.factor = o.factor === undefined ? 0.1 : checkNum(o.factor, 'factor', { min: 0, max: 1, maxOpen: true });
    this.minLrs = perGroup(o.minLr === undefined ? 0 : o.minLr, 'minLr', n, { min: 0 });
    if (plateauDefaultMinLr) this.defaultMinLr = Array.isArray(o.minLr) ? null : this.minLrs[0];
    this.patience = o.patience === undefined ? 10 : checkInt(o.patience, 'patience', { min: 0 });
    this.verbose = o.verbose === undefined ? false : checkBool(o.verbose, 'verbose');
    this.cooldown = o.cooldown === undefined ? 0 : checkInt(o.cooldown, 'cooldown', { min: 0 });
    this.mode = o.mode === undefined ? 'min' : checkString(o.mode, 'mode', ['min', 'max'] as const);
    this.threshold = o.threshold === undefined ? 1e-4 : checkNum(o.threshold, 'threshold', { min: 0 });
    this.thresholdMode = o.thresholdMode === undefined ? 'rel' : checkString(o.thresholdMode, 'thresholdMode', ['rel', 'abs'] as const);
    this.eps = o.eps === undefined ? 1e-8 : checkNum(o.eps, 'eps', { min: 0 });
    this.modeWorse = this.mode === 'min' ? Infinity : -Infinity;
    this.best = this.modeWorse;
    // PyTorch 1.13 sets _last_lr at the first step only (and has no get_last_lr); PyTorch 2 here.
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** True while the scheduler waits after a reduction. */
  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  /** Whether `a` is an improvement on `best` under the mode and threshold. */
  isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') {
      const relEpsilon = 1. - this.threshold;
      return a < best * relEpsilon;
    } else if (this.mode === 'min' && this.thresholdMode === 'abs') {
      return a < best - this.threshold;
    } else if (this.mode === 'max' && this.thresholdMode === 'rel') {
      const relEpsilon = this.threshold + 1.;
      return a > best * relEpsilon;
    }
    return a > best + this.threshold;
  }

  /**
   * Records one epoch's metric (a number or a one-element tensor) and reduces the lrs when it
   * has not improved for more than `patience` epochs. A NaN metric counts as no improvement.
   */
  step(metrics: number | Tensor): void {
    let current: number;
    if (typeof metrics === 'number') current = metrics;
    else if (metrics instanceof Tensor && !metrics.isDisposed && metrics.numel() === 1) current = Number(metrics.item());
    else invalidArg('a number or a one-element Tensor', 'metrics', metrics);
    const groups = this.optimizer.paramGroups.length;
    if (groups !== this.minLrs.length && typeof this.defaultMinLr === 'number') this.minLrs = new Array<number>(groups).fill(this.defaultMinLr);
    checkGroupCount(this.optimizer, this.minLrs.length);
    const epoch = this.lastEpoch + 1;
    this.lastEpoch = epoch;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // ignore any bad epochs in cooldown
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr(epoch);
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private reduceLr(epoch: number): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      const oldLr = g.lr;
      const newLr = Math.max(oldLr * this.factor, this.minLrs[i]);
      if (oldLr - newLr > this.eps) {
        g.lr = newLr;
        if (this.verbose) console.log(`Epoch ${String(epoch).padStart(5, '0')}: reducing learning rate of group ${i} to ${sci(newLr)}.`);
      }
    });
  }

  /** The learning rates after the last step() (or at construction), one per param group. */
  getLastLr(): number[] {
    return [...this._lastLr];
  }

  /** PyTorch's state_dict keys in camelCase: `factor`, `minLrs`, `patience`, …, `best`, `numBadEpochs`, `lastEpoch`, `_lastLr`. */
  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const k of Object.keys(ReduceLROnPlateau.stateSpec)) {
      out[k] = structuredClone((this as unknown as Record<string, unknown>)[k]);
    }
    return out;
  }

  /** Restores a state dict from stateDict() of a ReduceLROnPlateau (on an optimizer with as many groups). */
  loadStateDict(stateDict: SchedulerStateDict): void {
    const parsed = parseState('ReduceLROnPlateau', ReduceLROnPlateau.stateSpec, stateDict, this.optimizer.paramGroups.length);
    const self = this as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(parsed)) self[k] = v;
    // As PyTorch's _init_is_better: modeWorse follows the mode.
    this.modeWorse = this.mode === 'min' ? Infinity : -Infinity;
    if ((this.best as number | null) === null) this.best = this.modeWorse;
    if (parsed._lastLr === undefined) this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }
}
