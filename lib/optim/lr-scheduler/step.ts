/**
 * The step-style schedules, each a multiplicative change of the current lr at fixed epochs:
 * StepLR, MultiStepLR, ExponentialLR, LinearLR.
 */
import { invalidArg } from '../../errors';
import { checkInt, checkOptions } from '../../validate';
import { BASE_KEYS, BASE_SPEC, baseOptions, currentLrs, LRScheduler, requireOptions, SchedulerBaseOptions } from './base';
import { checkNum, F, isObject, SchedulerOptimizer, StateSpec } from './state-dict';

export interface StepLROptions extends SchedulerBaseOptions {
  /** Period of learning rate decay, in epochs (required). */
  stepSize: number;
  /** Multiplicative factor of learning rate decay. Default: 0.1. */
  gamma?: number;
}

/**
 * Decays the lr of every group by `gamma` every `stepSize` epochs (torch.optim.lr_scheduler.StepLR).
 * @example const scheduler = new StepLR(optimizer, { stepSize: 30, gamma: 0.1 });
 */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;
  protected static readonly stateSpec: StateSpec = { stepSize: F.int(1), gamma: F.num({ min: 0 }), ...BASE_SPEC };

  constructor(optimizer: SchedulerOptimizer, options: StepLROptions) {
    super(optimizer);
    const o = requireOptions<StepLROptions>(options, 'stepSize', ['stepSize', 'gamma', ...BASE_KEYS]);
    this.stepSize = checkInt(o.stepSize, 'stepSize', { min: 1 });
    this.gamma = o.gamma === undefined ? 0.1 : checkNum(o.gamma, 'gamma', { min: 0 });
    const b = baseOptions(o);
    this._initialize(b.lastEpoch, b.verbose);
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return currentLrs(this);
    return this.optimizer.paramGroups.map((g) => g.lr * this.gamma);
  }
}

export interface MultiStepLROptions extends SchedulerBaseOptions {
  /** Epoch indices at which the lr is multiplied by gamma (required); a repeated milestone applies gamma once per repeat, as in PyTorch. */
  milestones: number[];
  /** Multiplicative factor of learning rate decay. Default: 0.1. */
  gamma?: number;
}

function checkMilestones(v: unknown, name: string): number[] {
  if (!Array.isArray(v) || !v.every((m) => typeof m === 'number' && Number.isSafeInteger(m) && m >= 0)) invalidArg('an array of integers >= 0', name, v);
  return [...v];
}

/**
 * Decays the lr of every group by `gamma` at each milestone (torch.optim.lr_scheduler.MultiStepLR).
 * @example const scheduler = new MultiStepLR(optimizer, { milestones: [30, 80], gamma: 0.1 });
 */
export class MultiStepLR extends LRScheduler {
  /** Milestone epoch → how many times it was given (PyTorch's Counter). */
  milestones: Map<number, number>;
  gamma: number;
  protected static readonly stateSpec: StateSpec = {
    milestones: {
      check: (v, name) => {
        // PyTorch's Counter: { "epoch": count }
        if (!isObject(v)) invalidArg('an object of epoch: count', name, v);
        return new Map(Object.entries(v).map(([k, c]) => [
          checkInt(Number(k), `${name} key`, { min: 0 }), checkInt(c, `${name}[${k}]`, { min: 1 }),
        ]));
      },
    },
    gamma: F.num({ min: 0 }),
    ...BASE_SPEC,
  };

  constructor(optimizer: SchedulerOptimizer, options: MultiStepLROptions) {
    super(optimizer);
    const o = requireOptions<MultiStepLROptions>(options, 'milestones', ['milestones', 'gamma', ...BASE_KEYS]);
    this.milestones = new Map();
    for (const m of checkMilestones(o.milestones, 'milestones')) this.milestones.set(m, (this.milestones.get(m) ?? 0) + 1);
    this.gamma = o.gamma === undefined ? 0.1 : checkNum(o.gamma, 'gamma', { min: 0 });
    const b = baseOptions(o);
    this._initialize(b.lastEpoch, b.verbose);
  }

  protected getLr(): number[] {
    const count = this.milestones.get(this.lastEpoch);
    if (count === undefined) return currentLrs(this);
    return this.optimizer.paramGroups.map((g) => g.lr * this.gamma ** count);
  }

  protected _getState(key: string): unknown {
    if (key === 'milestones') return Object.fromEntries([...this.milestones].sort((a, b) => a[0] - b[0]).map(([k, c]) => [String(k), c]));
    return super._getState(key);
  }
}

export interface ExponentialLROptions extends SchedulerBaseOptions {
  /** Multiplicative factor of learning rate decay, every epoch (required). */
  gamma: number;
}

/**
 * Decays the lr of every group by `gamma` every epoch (torch.optim.lr_scheduler.ExponentialLR).
 * @example const scheduler = new ExponentialLR(optimizer, { gamma: 0.95 });
 */
export class ExponentialLR extends LRScheduler {
  gamma: number;
  protected static readonly stateSpec: StateSpec = { gamma: F.num({ min: 0 }), ...BASE_SPEC };

  constructor(optimizer: SchedulerOptimizer, options: ExponentialLROptions) {
    super(optimizer);
    const o = requireOptions<ExponentialLROptions>(options, 'gamma', ['gamma', ...BASE_KEYS]);
    this.gamma = checkNum(o.gamma, 'gamma', { min: 0 });
    const b = baseOptions(o);
    this._initialize(b.lastEpoch, b.verbose);
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return currentLrs(this);
    return this.optimizer.paramGroups.map((g) => g.lr * this.gamma);
  }
}

export interface LinearLROptions extends SchedulerBaseOptions {
  /** The factor of the lr at the first epoch, in (0, 1]. Default: 1/3. */
  startFactor?: number;
  /** The factor of the lr from epoch `totalIters` on, in [0, 1]. Default: 1. */
  endFactor?: number;
  /** The number of epochs over which the factor changes linearly. Default: 5. */
  totalIters?: number;
}

/**
 * Scales every group's lr by a factor that changes linearly from `startFactor` to `endFactor`
 * over `totalIters` epochs, a warm-up or a linear decay (torch.optim.lr_scheduler.LinearLR).
 * @example const warmup = new LinearLR(optimizer, { startFactor: 0.1, totalIters: 10 });
 */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;
  protected static readonly stateSpec: StateSpec = {
    startFactor: F.num({ min: 0, minOpen: true, max: 1 }), endFactor: F.num({ min: 0, max: 1 }), totalIters: F.int(1), ...BASE_SPEC,
  };

  constructor(optimizer: SchedulerOptimizer, options?: LinearLROptions) {
    super(optimizer);
    const o = checkOptions<LinearLROptions>(options, 'options', ['startFactor', 'endFactor', 'totalIters', ...BASE_KEYS]);
    // start 0 would divide by zero at the next step (PyTorch 2 rejects it too)
    this.startFactor = o.startFactor === undefined ? 1.0 / 3 : checkNum(o.startFactor, 'startFactor', { min: 0, minOpen: true, max: 1 });
    this.endFactor = o.endFactor === undefined ? 1.0 : checkNum(o.endFactor, 'endFactor', { min: 0, max: 1 });
    this.totalIters = o.totalIters === undefined ? 5 : checkInt(o.totalIters, 'totalIters', { min: 1 });
    const b = baseOptions(o);
    this._initialize(b.lastEpoch, b.verbose);
  }

  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    const { startFactor: sf, endFactor: ef, totalIters } = this;
    if (this.lastEpoch === 0) return groups.map((g) => g.lr * sf);
    if (this.lastEpoch > totalIters) return currentLrs(this);
    return groups.map((g) => g.lr * (1. + (ef - sf) / (totalIters * sf + (this.lastEpoch - 1) * (ef - sf))));
  }
}
