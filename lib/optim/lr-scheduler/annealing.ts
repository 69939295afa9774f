/**
 * The annealing schedules, which follow a curve from the initial lr: CosineAnnealingLR (a cosine
 * between the initial lr and etaMin) and OneCycleLR (the 1cycle policy, with momentum cycling).
 */
import { invalidArg } from '../../errors';
import { checkBool, checkInt, checkString } from '../../validate';
import { BASE_KEYS, BASE_SPEC, baseOptions, currentLrs, LRScheduler, requireOptions, SchedulerBaseOptions } from './base';
import { checkNum, F, fail, isObject, perGroup, SchedulerOptimizer, SchedulerStateDict, StateSpec } from './state-dict';

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
