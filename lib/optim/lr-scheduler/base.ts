/**
 * LRScheduler, the base class of the schedulers that follow an epoch counter, and the option
 * helpers its subclasses share. Imports only the state-dict framework (./state-dict).
 */
import { invalidArg } from '../../errors';
import { checkBool, checkInt, checkOptions } from '../../validate';
import {
  checkGroupCount, checkOptimizer, F, parseState, sci, SchedulerOptimizer, SchedulerStateDict, StateSpec,
} from './state-dict';

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

export const BASE_KEYS = ['lastEpoch', 'verbose'] as const;

/** The keys of `_LRScheduler.state_dict()` after a subclass's own. */
export const BASE_SPEC: StateSpec = {
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

export function baseOptions(o: SchedulerBaseOptions): { lastEpoch: number; verbose: boolean } {
  return {
    lastEpoch: o.lastEpoch === undefined ? -1 : checkInt(o.lastEpoch, 'lastEpoch', { min: -1 }),
    verbose: o.verbose === undefined ? false : checkBool(o.verbose, 'verbose'),
  };
}

export function requireOptions<T extends object>(options: unknown, required: string, allowed: readonly string[]): Partial<T> {
  if (options === undefined) invalidArg(`an options object with ${required}`, 'options', options);
  return checkOptions<T>(options, 'options', allowed);
}

export const currentLrs = (s: LRScheduler): number[] => s.optimizer.paramGroups.map((g) => g.lr);
