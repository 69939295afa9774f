/**
 * Learning-rate schedules: torch.optim.lr_scheduler (PyTorch 1.13) with camelCase names and
 * options objects.
 *
 * A scheduler reads and writes `optimizer.paramGroups[i].lr` exactly where PyTorch's reads and
 * writes `param_groups[i]['lr']` (and `momentum` or `betas[0]` for OneCycleLR), and the optimizer
 * hands each group's current lr to libtorch at every step, so a schedule takes effect at the next
 * `optimizer.step()` / `stepAsync()`. The formulas are PyTorch's own, including the recursive
 * ("chainable") forms its `get_lr()` uses, so the learning rates equal PyTorch's to the last bits.
 * Like PyTorch, every group gets an `initialLr` (PyTorch's `initial_lr`) the first time a
 * scheduler is attached, and the constructor performs the first step.
 *
 * Schedulers are plain JavaScript and run on the JS thread; a `stepAsync()` captures the lrs
 * the groups have when it is queued.
 *
 * @example
 * const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * const scheduler = new optim.lrScheduler.StepLR(optimizer, { stepSize: 30, gamma: 0.1 });
 * for (let epoch = 0; epoch < 100; epoch++) {
 *   await trainOneEpoch();     // optimizer.step() for every batch
 *   scheduler.step();          // after the optimizer's steps, as in PyTorch >= 1.1
 * }
 */
import { plateauDefaultMinLr } from '../compat';
import { invalidArg, TorchError } from '../errors';
import { Tensor } from '../tensor';
import { checkBool, checkInt, checkOptions, checkString } from '../validate';
import type { Optimizer } from './optimizer';

/**
 * What a scheduler uses of an optimizer: its `paramGroups` (each with a number `lr`) and its
 * `defaults` (OneCycleLR looks for `momentum` or `betas` there). Every `optim.Optimizer` is one.
 */
export type SchedulerOptimizer = Pick<Optimizer, 'paramGroups' | 'defaults'>;

/** The group options a scheduler reads and writes (besides `lr`). */
type Group = SchedulerOptimizer['paramGroups'][number];

/** `ERR_INVALID_ARG` with the project's message shape, for a received value described in words. */
function fail(what: string, name: string, received: string): never {
  throw new TorchError(`Expected ${what} for ${name} but received ${received}`, 'ERR_INVALID_ARG');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Anything with a `paramGroups` array of objects with a number `lr`, and a `defaults` object. */
function checkOptimizer(value: unknown): SchedulerOptimizer {
  const o = value as { paramGroups?: unknown; defaults?: unknown } | null;
  const ok = o !== null && typeof o === 'object'
    && Array.isArray(o.paramGroups) && o.paramGroups.length > 0
    && o.paramGroups.every((g) => isObject(g) && typeof g.lr === 'number')
    && isObject(o.defaults);
  if (!ok) invalidArg('an optimizer', 'optimizer', value);
  return value as SchedulerOptimizer;
}

/** A step taken by a scheduler is meant for the param groups it was made for. */
function checkGroupCount(optimizer: SchedulerOptimizer, n: number): void {
  const m = optimizer.paramGroups.length;
  if (m !== n) {
    fail(`an optimizer with ${n} param group${n === 1 ? '' : 's'} (as when the scheduler was made)`, 'optimizer',
      `an optimizer with ${m} param group${m === 1 ? '' : 's'}`);
  }
}

type Range = { min?: number; minOpen?: boolean; max?: number; maxOpen?: boolean };

function rangeText(r: Range): string {
  if (r.min !== undefined && r.max !== undefined) return `a number in ${r.minOpen ? '(' : '['}${r.min}, ${r.max}${r.maxOpen ? ')' : ']'}`;
  if (r.min !== undefined) return `a finite number ${r.minOpen ? '>' : '>='} ${r.min}`;
  return 'a finite number';
}

function inRange(v: unknown, r: Range): v is number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  if (r.min !== undefined && (r.minOpen ? !(v > r.min) : !(v >= r.min))) return false;
  if (r.max !== undefined && (r.maxOpen ? !(v < r.max) : !(v <= r.max))) return false;
  return true;
}

function checkNum(v: unknown, name: string, r: Range = {}): number {
  if (!inRange(v, r)) invalidArg(rangeText(r), name, v);
  return v;
}

/** A number for every param group, or an array of one per group (PyTorch's `_format_param`). */
function perGroup(v: unknown, name: string, groups: number, r: Range): number[] {
  if (Array.isArray(v)) {
    if (v.length !== groups) invalidArg(`${groups} value${groups === 1 ? '' : 's'} (one per param group)`, name, v);
    return v.map((x, i) => checkNum(x, `${name}[${i}]`, r));
  }
  if (typeof v !== 'number') invalidArg(`${rangeText(r)} or an array of ${groups} of them (one per param group)`, name, v);
  return new Array<number>(groups).fill(checkNum(v, name, r));
}

/** Python's '{:.4e}' (two-digit exponent), for verbose messages. */
function sci(x: number): string {
  return x.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Numbers of a state dict: JSON has no Infinity or NaN (JSON.stringify writes null). */
function decodeNumber(v: unknown): unknown {
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === 'NaN') return NaN;
  return v;
}

/** How one key of a state dict is validated (`n`: the optimizer's number of param groups). */
type FieldCheck = (value: unknown, name: string, n: number) => unknown;
interface Field {
  check: FieldCheck;
  /** Missing from PyTorch's state dict in some configurations. */
  optional?: boolean;
}
type StateSpec = Record<string, Field>;

const F = {
  int: (min: number): Field => ({ check: (v, name) => checkInt(v, name, { min }) }),
  num: (r: Range = {}): Field => ({ check: (v, name) => checkNum(v, name, r) }),
  bool: (): Field => ({ check: (v, name) => checkBool(v, name) }),
  str: <T extends string>(allowed: readonly T[]): Field => ({ check: (v, name) => checkString(v, name, allowed) }),
  lrs: (): Field => ({
    check: (v, name, n) => {
      if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number')) {
        invalidArg(`an array of ${n} number${n === 1 ? '' : 's'} (one per param group of the optimizer)`, name, v);
      }
      return [...v];
    },
  }),
};

/** The state dict of a scheduler: PyTorch's keys in camelCase, plain JSON-able values. */
export type SchedulerStateDict = Record<string, unknown>;

/** "a StepLR", "an ExponentialLR", "a OneCycleLR". */
function withArticle(name: string): string {
  return `${/^(?!One)[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
}

/** Every scheduler class, by name, to name the kind of a state dict given to the wrong one. */
const REGISTRY: { name: string; keys: string[]; optional: string[] }[] = [];

function register(name: string, spec: StateSpec): void {
  const keys = Object.keys(spec);
  REGISTRY.push({ name, keys, optional: keys.filter((k) => spec[k].optional) });
}

/** Validates a state dict's keys and values against `spec`; returns the parsed values. */
function parseState(kind: string, spec: StateSpec, sd: unknown, groups: number): Record<string, unknown> {
  if (!isObject(sd)) invalidArg(`${withArticle(kind)} state dict`, 'stateDict', sd);
  const keys = Object.keys(sd);
  const expected = Object.keys(spec);
  const missing = expected.filter((k) => !(k in sd) && !spec[k].optional);
  const extra = keys.filter((k) => !(k in spec));
  if (missing.length > 0 || extra.length > 0) {
    const other = REGISTRY.find((r) => r.name !== kind
      && keys.every((k) => r.keys.includes(k)) && r.keys.every((k) => keys.includes(k) || r.optional.includes(k)));
    const parts = [];
    if (missing.length > 0) parts.push(`without ${missing.join(', ')}`);
    if (extra.length > 0) parts.push(`with unexpected key${extra.length === 1 ? '' : 's'} ${extra.join(', ')}`);
    fail(`${withArticle(kind)} state dict`, 'stateDict', other ? `${withArticle(other.name)} state dict` : `an object ${parts.join(' and ')}`);
  }
  const out: Record<string, unknown> = {};
  for (const k of expected) {
    if (k in sd) out[k] = spec[k].check(sd[k], `stateDict.${k}`, groups);
  }
  return out;
}

/** The base options every LRScheduler takes. */
export interface SchedulerBaseOptions {
  /**
   * The index of the last epoch (step) already taken, to resume a schedule: the groups must
   * then carry `initialLr` (the optimizer's state from that run). Default: -1 (start).
   */
  lastEpoch?: number;
  /** Print a line for every update of a learning rate, as PyTorch does. Default: false. */
  verbose?: boolean;
}

const BASE_KEYS = ['lastEpoch', 'verbose'] as const;

/** The keys of `_LRScheduler.state_dict()` after a subclass's own. */
const BASE_SPEC: StateSpec = {
  baseLrs: F.lrs(),
  lastEpoch: F.int(-1),
  verbose: F.bool(),
  _stepCount: F.int(0),
  _lastLr: F.lrs(),
};

/**
 * The base class of the schedulers that follow an epoch counter (PyTorch's `_LRScheduler`).
 * A custom schedule subclasses it: set its own fields after `super(optimizer)`, then call
 * `this._initialize(lastEpoch, verbose)` (which performs the first step), and implement `getLr()`.
 */
export abstract class LRScheduler {
  /** The optimizer whose param groups this scheduler drives. */
  readonly optimizer: SchedulerOptimizer;
  /** The initial lr of every group (`initialLr`), what the schedule is relative to. */
  baseLrs: number[] = [];
  /** The number of steps taken, minus one (the constructor's own step makes it 0). */
  lastEpoch = -1;
  verbose = false;
  /** @internal The number of step() calls, including the constructor's. */
  _stepCount = 0;
  /** @internal */
  _lastLr: number[] = [];
  /** The keys of the state dict, with their checks (a subclass adds its own before these). */
  protected static readonly stateSpec: StateSpec = BASE_SPEC;

  protected constructor(optimizer: unknown) {
    this.optimizer = checkOptimizer(optimizer);
  }

  /** The common part of a constructor, after the subclass's own fields are set: PyTorch's `_LRScheduler.__init__`. */
  protected _initialize(lastEpoch: number, verbose: boolean): void {
    const groups = this.optimizer.paramGroups;
    if (lastEpoch === -1) {
      for (const g of groups) if (g.initialLr === undefined) g.initialLr = g.lr;
    }
    // Checked for every group (also after setting them): a scheduler cannot work from anything else.
    groups.forEach((g, i) => {
      if (typeof g.initialLr !== 'number') {
        const why = lastEpoch === -1 ? '' : `, needed to resume with lastEpoch ${lastEpoch}`;
        invalidArg(`a number (the group's initial lr${why})`, `optimizer.paramGroups[${i}].initialLr`, g.initialLr);
      }
    });
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
    this.verbose = verbose;
    this._stepCount = 0;
    this.step();
  }

  /**
   * The learning rates of the next step (PyTorch's `get_lr`, the chainable form), with
   * `lastEpoch` already advanced. Called by step() only.
   */
  protected abstract getLr(): number[];

  /** Checks made before a step changes anything (OneCycleLR refuses steps past its end). */
  protected _checkStep(_nextEpoch: number): void {}

  /**
   * Advances the schedule by one epoch (or batch, for OneCycleLR) and writes every group's lr.
   * Call it after `optimizer.step()`. PyTorch's deprecated `step(epoch)` is not supported.
   */
  step(): void {
    // eslint-disable-next-line prefer-rest-params
    if (arguments.length > 0) invalidArg('no argument (PyTorch\'s deprecated epoch argument is not supported)', 'step()', arguments[0]);
    if (this.baseLrs.length > 0) checkGroupCount(this.optimizer, this.baseLrs.length);
    this._checkStep(this.lastEpoch + 1);
    const saved = [this._stepCount, this.lastEpoch];
    this._stepCount += 1;
    this.lastEpoch += 1;
    let values: number[];
    try {
      values = this.getLr();
    } catch (err) {
      [this._stepCount, this.lastEpoch] = saved;
      throw err;
    }
    this.optimizer.paramGroups.forEach((g, i) => {
      if (i >= values.length) return;
      g.lr = values[i];
      if (this.verbose) console.log(`Adjusting learning rate of group ${i} to ${sci(values[i])}.`);
    });
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rates the last step() set, one per param group. */
  getLastLr(): number[] {
    return [...this._lastLr];
  }

  private get _spec(): StateSpec {
    return (this.constructor as unknown as { stateSpec: StateSpec }).stateSpec;
  }

  /** @internal The state dict's value of a key (subclasses convert their own). */
  protected _getState(key: string): unknown {
    return structuredClone((this as unknown as Record<string, unknown>)[key]);
  }

  /** @internal */
  protected _setState(key: string, value: unknown): void {
    (this as unknown as Record<string, unknown>)[key] = value;
  }

  /**
   * The scheduler's state, PyTorch's `state_dict()` keys in camelCase (`baseLrs`, `lastEpoch`,
   * `_stepCount`, `_lastLr`, and the options, such as `stepSize` and `gamma`). Plain data: it
   * survives JSON. Save the optimizer's state with it: the lrs live in the param groups.
   */
  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const k of Object.keys(this._spec)) {
      const v = this._getState(k);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }

  /** Restores a state dict from stateDict() of the same kind of scheduler (on an optimizer with as many groups). */
  loadStateDict(stateDict: SchedulerStateDict): void {
    const parsed = parseState(this.constructor.name, this._spec, stateDict, this.optimizer.paramGroups.length);
    for (const [k, v] of Object.entries(parsed)) this._setState(k, v);
  }
}

function baseOptions(o: SchedulerBaseOptions): { lastEpoch: number; verbose: boolean } {
  return {
    lastEpoch: o.lastEpoch === undefined ? -1 : checkInt(o.lastEpoch, 'lastEpoch', { min: -1 }),
    verbose: o.verbose === undefined ? false : checkBool(o.verbose, 'verbose'),
  };
}

function requireOptions<T extends object>(options: unknown, required: string, allowed: readonly string[]): Partial<T> {
  if (options === undefined) invalidArg(`an options object with ${required}`, 'options', options);
  return checkOptions<T>(options, 'options', allowed);
}

const currentLrs = (s: LRScheduler): number[] => s.optimizer.paramGroups.map((g) => g.lr);

// ---------------------------------------------------------------------------------------------

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

export interface CosineAnnealingLROptions extends SchedulerBaseOptions {
  /** Maximum number of iterations: half a cosine period (required). */
  tMax: number;
  /** Minimum learning rate. Default: 0. */
  etaMin?: number;
}

/**
 * Cosine annealing from each group's initial lr to `etaMin` over `tMax` epochs, then back up,
 * and so on (torch.optim.lr_scheduler.CosineAnnealingLR, the recursive form PyTorch uses).
 * @example const scheduler = new CosineAnnealingLR(optimizer, { tMax: 100, etaMin: 1e-5 });
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;
  protected static readonly stateSpec: StateSpec = { tMax: F.int(1), etaMin: F.num({ min: 0 }), ...BASE_SPEC };

  constructor(optimizer: SchedulerOptimizer, options: CosineAnnealingLROptions) {
    super(optimizer);
    const o = requireOptions<CosineAnnealingLROptions>(options, 'tMax', ['tMax', 'etaMin', ...BASE_KEYS]);
    this.tMax = checkInt(o.tMax, 'tMax', { min: 1 });
    this.etaMin = o.etaMin === undefined ? 0 : checkNum(o.etaMin, 'etaMin', { min: 0 });
    const b = baseOptions(o);
    this._initialize(b.lastEpoch, b.verbose);
  }

  protected getLr(): number[] {
    const e = this.lastEpoch;
    const T = this.tMax;
    const etaMin = this.etaMin;
    const groups = this.optimizer.paramGroups;
    if (e === 0) return currentLrs(this);
    if (this._stepCount === 1 && e > 0) {
      return this.baseLrs.map((baseLr) => etaMin + (baseLr - etaMin) * (1 + Math.cos((e) * Math.PI / T)) / 2);
    }
    if ((e - 1 - T) % (2 * T) === 0) {
      return groups.map((g, i) => g.lr + (this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T)) / 2);
    }
    return groups.map((g) => (1 + Math.cos(Math.PI * e / T)) / (1 + Math.cos(Math.PI * (e - 1) / T)) * (g.lr - etaMin) + etaMin);
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

/** A multiplicative factor of the initial lr, given the epoch. */
export type LrLambda = (epoch: number) => number;

export interface LambdaLROptions extends SchedulerBaseOptions {
  /** A function of the epoch giving the factor of the initial lr, or one function per param group (required). */
  lrLambda: LrLambda | LrLambda[];
}

/**
 * Sets every group's lr to its initial lr times `lrLambda(epoch)` (torch.optim.lr_scheduler.LambdaLR).
 * The functions are not part of stateDict() (as in PyTorch, where plain functions are saved as
 * None); properties set on a function object are, like a callable object's `__dict__`.
 * @example const scheduler = new LambdaLR(optimizer, { lrLambda: (epoch) => 0.95 ** epoch });
 */
export class LambdaLR extends LRScheduler {
  lrLambdas: LrLambda[];
  protected static readonly stateSpec: StateSpec = {
    ...BASE_SPEC,
    lrLambdas: {
      check: (v, name, n) => {
        if (!Array.isArray(v) || v.length !== n || !v.every((x) => x === null || isObject(x))) {
          invalidArg(`an array of ${n} entries (null, or the properties of a function)`, name, v);
        }
        return v;
      },
    },
  };

  constructor(optimizer: SchedulerOptimizer, options: LambdaLROptions) {
    super(optimizer);
    const o = requireOptions<LambdaLROptions>(options, 'lrLambda', ['lrLambda', ...BASE_KEYS]);
    const n = this.optimizer.paramGroups.length;
    const f = o.lrLambda;
    if (typeof f === 'function') this.lrLambdas = new Array<LrLambda>(n).fill(f);
    else if (Array.isArray(f) && f.length === n && f.every((x) => typeof x === 'function')) this.lrLambdas = [...f];
    else invalidArg(`a function or an array of ${n} function${n === 1 ? '' : 's'} (one per param group)`, 'lrLambda', f);
    const b = baseOptions(o);
    this._initialize(b.lastEpoch, b.verbose);
  }

  protected getLr(): number[] {
    return this.baseLrs.map((baseLr, i) => {
      const factor = this.lrLambdas[i](this.lastEpoch);
      if (typeof factor !== 'number' || !Number.isFinite(factor)) {
        invalidArg('a finite number', `${this.lrLambdas.length > 1 ? `lrLambda[${i}]` : 'lrLambda'}(${this.lastEpoch})`, factor);
      }
      return baseLr * factor;
    });
  }

  protected _getState(key: string): unknown {
    if (key === 'lrLambdas') {
      return this.lrLambdas.map((fn) => (Object.keys(fn).length > 0 ? structuredClone({ ...fn }) : null));
    }
    return super._getState(key);
  }

  protected _setState(key: string, value: unknown): void {
    if (key === 'lrLambdas') {
      (value as (Record<string, unknown> | null)[]).forEach((props, i) => { if (props !== null) Object.assign(this.lrLambdas[i], props); });
      return;
    }
    super._setState(key, value);
  }
}

export interface OneCycleLROptions extends SchedulerBaseOptions {
  /** The peak lr, or one per param group (required). */
  maxLr: number | number[];
  /** The number of steps in the cycle; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  /** With `stepsPerEpoch`, gives totalSteps = epochs * stepsPerEpoch. */
  epochs?: number;
  stepsPerEpoch?: number;
  /** The fraction of the cycle spent increasing the lr. Default: 0.3. */
  pctStart?: number;
  /** 'cos' or 'linear' annealing. Default: 'cos'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD, RMSprop) or beta1 (Adam, AdamW) inversely to the lr. Default: true. */
  cycleMomentum?: boolean;
  /** The momentum at the peak lr (or one per group). Default: 0.85. */
  baseMomentum?: number | number[];
  /** The momentum at the start and end of the cycle (or one per group). Default: 0.95. */
  maxMomentum?: number | number[];
  /** initialLr = maxLr / divFactor. Default: 25. */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor. Default: 1e4. */
  finalDivFactor?: number;
  /** A third phase that anneals to minLr, with the first two symmetric (the original paper). Default: false. */
  threePhase?: boolean;
}

/** A phase of the 1cycle schedule: the step it ends at and the group keys it anneals between. */
export interface OneCyclePhase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

const PHASE_KEYS = ['initialLr', 'maxLr', 'minLr', 'maxMomentum', 'baseMomentum'];

function annealCos(start: number, end: number, pct: number): number {
  const cosOut = Math.cos(Math.PI * pct) + 1;
  return end + (start - end) / 2.0 * cosOut;
}

function annealLinear(start: number, end: number, pct: number): number {
  return (end - start) * pct + start;
}

/**
 * The 1cycle policy, stepped after every batch (torch.optim.lr_scheduler.OneCycleLR): the lr
 * rises from maxLr / divFactor to maxLr, then falls to initialLr / finalDivFactor, while the
 * momentum (or Adam's beta1) moves the other way between maxMomentum and baseMomentum. Each
 * group carries `initialLr`, `maxLr`, `minLr` (and `maxMomentum`, `baseMomentum`), as in PyTorch.
 * Like PyTorch, it allows `totalSteps` calls of step() after the constructor's and throws after.
 * @example
 * const scheduler = new OneCycleLR(optimizer, { maxLr: 0.01, epochs: 10, stepsPerEpoch: loader.length });
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  /** @internal */
  _schedulePhases: OneCyclePhase[];
  /** @internal 'cos' or 'linear' (PyTorch 1.13 keeps the function itself, PyTorch 2 this name). */
  _annealFuncType: 'cos' | 'linear';
  cycleMomentum: boolean;
  /** Cycle `betas[0]` (true when the optimizer's defaults have betas) rather than `momentum`. */
  useBeta1?: boolean;
  /** The pctStart the phases were made from (for messages; not part of the state). */
  private readonly pctStart: number;

  protected static readonly stateSpec: StateSpec = {
    totalSteps: F.int(1),
    _schedulePhases: {
      check: (v, name) => {
        if (!Array.isArray(v) || (v.length !== 2 && v.length !== 3) || !v.every((p) => isObject(p)
          && typeof p.endStep === 'number' && ['startLr', 'endLr', 'startMomentum', 'endMomentum'].every((k) => PHASE_KEYS.includes(p[k] as string))
          && Object.keys(p).length === 5)) {
          invalidArg('2 or 3 phases { endStep, startLr, endLr, startMomentum, endMomentum }', name, v);
        }
        return structuredClone(v);
      },
    },
    _annealFuncType: F.str(['cos', 'linear'] as const),
    cycleMomentum: F.bool(),
    useBeta1: { ...F.bool(), optional: true },
    ...BASE_SPEC,
  };

  constructor(optimizer: SchedulerOptimizer, options: OneCycleLROptions) {
    super(optimizer);
    const o = requireOptions<OneCycleLROptions>(options, 'maxLr', [
      'maxLr', 'totalSteps', 'epochs', 'stepsPerEpoch', 'pctStart', 'annealStrategy', 'cycleMomentum', 'baseMomentum',
      'maxMomentum', 'divFactor', 'finalDivFactor', 'threePhase', ...BASE_KEYS,
    ]);
    const groups = this.optimizer.paramGroups;
    const n = groups.length;
    // Validate everything before a group is touched.
    if (o.totalSteps !== undefined) {
      this.totalSteps = checkInt(o.totalSteps, 'totalSteps', { min: 1 });
      if (o.epochs !== undefined) checkInt(o.epochs, 'epochs', { min: 1 });
      if (o.stepsPerEpoch !== undefined) checkInt(o.stepsPerEpoch, 'stepsPerEpoch', { min: 1 });
    } else if (o.epochs === undefined && o.stepsPerEpoch === undefined) {
      invalidArg('an integer >= 1 (or epochs and stepsPerEpoch)', 'totalSteps', undefined);
    } else {
      const epochs = checkInt(o.epochs, 'epochs', { min: 1 });
      const stepsPerEpoch = checkInt(o.stepsPerEpoch, 'stepsPerEpoch', { min: 1 });
      this.totalSteps = epochs * stepsPerEpoch;
    }
    const pctStart = o.pctStart === undefined ? 0.3 : checkNum(o.pctStart, 'pctStart', { min: 0, max: 1 });
    this.pctStart = pctStart;
    this._annealFuncType = o.annealStrategy === undefined ? 'cos' : checkString(o.annealStrategy, 'annealStrategy', ['cos', 'linear'] as const);
    const threePhase = o.threePhase === undefined ? false : checkBool(o.threePhase, 'threePhase');
    const maxLrs = perGroup(o.maxLr, 'maxLr', n, { min: 0 });
    const divFactor = o.divFactor === undefined ? 25 : checkNum(o.divFactor, 'divFactor', { min: 0, minOpen: true });
    const finalDivFactor = o.finalDivFactor === undefined ? 1e4 : checkNum(o.finalDivFactor, 'finalDivFactor', { min: 0, minOpen: true });
    this.cycleMomentum = o.cycleMomentum === undefined ? true : checkBool(o.cycleMomentum, 'cycleMomentum');
    const momentumRange = { min: 0, max: 1 };
    const maxMomentums = perGroup(o.maxMomentum === undefined ? 0.95 : o.maxMomentum, 'maxMomentum', n, momentumRange);
    const baseMomentums = perGroup(o.baseMomentum === undefined ? 0.85 : o.baseMomentum, 'baseMomentum', n, momentumRange);
    const { lastEpoch, verbose } = baseOptions(o);
    if (this.cycleMomentum) {
      // PyTorch: "optimizer must support momentum with `cycle_momentum` option enabled"
      const d = this.optimizer.defaults;
      if (!('momentum' in d) && !('betas' in d)) {
        const kind = (optimizer as object).constructor?.name;
        fail('an optimizer with momentum or betas (SGD, RMSprop, Adam, AdamW) when cycleMomentum is true', 'optimizer',
          `an optimizer without either${kind && kind !== 'Object' ? ` (${kind})` : ''}`);
      }
      this.useBeta1 = 'betas' in d;
      if (this.useBeta1) {
        groups.forEach((g, i) => {
          if (!Array.isArray(g.betas) || g.betas.length < 1) invalidArg('an array [beta1, beta2]', `optimizer.paramGroups[${i}].betas`, g.betas);
        });
      }
    }
    const T = this.totalSteps;
    this._schedulePhases = threePhase
      ? [
        { endStep: pctStart * T - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: 2 * pctStart * T - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        { endStep: T - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
      ]
      : [
        { endStep: pctStart * T - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: T - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
      ];
    this._checkStep(lastEpoch + 1);
    if (lastEpoch !== -1) {
      // Resuming: the groups must carry what the first OneCycleLR wrote.
      const keys = this.cycleMomentum ? PHASE_KEYS : PHASE_KEYS.slice(0, 3);
      groups.forEach((g, i) => {
        for (const k of keys) {
          if (typeof g[k] !== 'number') invalidArg(`a number (set by OneCycleLR, needed to resume with lastEpoch ${lastEpoch})`, `optimizer.paramGroups[${i}].${k}`, g[k]);
        }
      });
    }
    if (lastEpoch === -1) {
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i] / divFactor;
        g.maxLr = maxLrs[i];
        g.minLr = (g.initialLr as number) / finalDivFactor;
      });
      if (this.cycleMomentum) {
        groups.forEach((g, i) => {
          if (this.useBeta1) g.betas = [maxMomentums[i], ...(g.betas as number[]).slice(1)];
          else g.momentum = maxMomentums[i];
          g.maxMomentum = maxMomentums[i];
          g.baseMomentum = baseMomentums[i];
        });
      }
    }
    this._initialize(lastEpoch, verbose);
  }

  /** The phase that step `stepNum` falls in, and the step that phase starts from. */
  private _phaseAt(stepNum: number): { phase: OneCyclePhase; index: number; startStep: number } {
    const phases = this._schedulePhases;
    let startStep = 0;
    for (let i = 0; i < phases.length; i++) {
      const endStep = phases[i].endStep;
      if (stepNum <= endStep || i === phases.length - 1) return { phase: phases[i], index: i, startStep };
      startStep = endStep;
    }
    throw new Error('unreachable');
  }

  protected _checkStep(stepNum: number): void {
    if (stepNum > this.totalSteps) {
      // PyTorch: "Tried to step {n} times. The specified number of total steps is {total}"
      fail(`at most ${this.totalSteps} steps after the constructor's (totalSteps)`, 'OneCycleLR.step()', `step ${stepNum}`);
    }
    const { phase, index, startStep } = this._phaseAt(stepNum);
    if (phase.endStep === startStep) {
      // PyTorch divides by zero here (ZeroDivisionError)
      invalidArg(`a pctStart that leaves no phase of the cycle empty (with totalSteps ${this.totalSteps}, phase ${index + 1} has no steps)`,
        'pctStart', this.pctStart);
    }
    if (this.baseLrs.length > 0) {
      // After the constructor: the groups must still carry what it wrote (a state dict may name other keys).
      const keys = [phase.startLr, phase.endLr, ...(this.cycleMomentum ? [phase.startMomentum, phase.endMomentum] : [])];
      this.optimizer.paramGroups.forEach((g, i) => {
        for (const k of keys) if (typeof g[k] !== 'number') invalidArg('a number (set by OneCycleLR)', `optimizer.paramGroups[${i}].${k}`, g[k]);
      });
    }
  }

  protected getLr(): number[] {
    const anneal = this._annealFuncType === 'cos' ? annealCos : annealLinear;
    const stepNum = this.lastEpoch;
    const { phase, startStep } = this._phaseAt(stepNum);
    const pct = (stepNum - startStep) / (phase.endStep - startStep);
    return this.optimizer.paramGroups.map((g) => {
      const computedLr = anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct);
      if (this.cycleMomentum) {
        const computedMomentum = anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct);
        if (this.useBeta1) g.betas = [computedMomentum, ...(g.betas as number[]).slice(1)];
        else g.momentum = computedMomentum;
      }
      return computedLr;
    });
  }

  loadStateDict(stateDict: SchedulerStateDict): void {
    super.loadStateDict(stateDict);
    if (!this.cycleMomentum) this.useBeta1 = undefined;
    else if (this.useBeta1 === undefined) this.useBeta1 = 'betas' in this.optimizer.defaults;
  }
}

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

/** Any of the schedulers: LRScheduler's subclasses step(), ReduceLROnPlateau steps with a metric. */
export type AnyLRScheduler = LRScheduler | ReduceLROnPlateau;

for (const cls of [StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, LambdaLR, OneCycleLR]) {
  register(cls.name, (cls as unknown as { stateSpec: StateSpec }).stateSpec);
}
register('ReduceLROnPlateau', (ReduceLROnPlateau as unknown as { stateSpec: StateSpec }).stateSpec);
