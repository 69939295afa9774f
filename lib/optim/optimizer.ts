/**
 * Optimizers with torch.optim's names, options and defaults, running libtorch's own
 * torch::optim implementations (Python 1.13's update rules). `step()` is synchronous, as in
 * PyTorch; `stepAsync()` runs on the executor in call order, with the options (learning
 * rates…) each group has when it is queued. Schedulers change `paramGroups[i].lr`.
 */
import { native, OptimizerHandle, OptimizerKind, TensorHandle } from '../binding';
import { zeroGradOf } from '../autograd';
import { invalidArg, withCallerStack } from '../errors';
import { checkTensor, Tensor, wrap } from '../tensor';
import { checkBool, checkOptions } from '../validate';

/** A group of parameters with its own options (any option missing takes the optimizer's default). */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  [option: string]: unknown;
}
export type ParamGroupInput = { params: Tensor[] } & Record<string, unknown>;
export type Params = Tensor[] | ParamGroupInput[];

/** How each option is validated; PyTorch's snake_case name is used in stateDict(). */
interface OptionSpec { name: string; pyName: string; check: (v: unknown, name: string) => unknown }

const nonNegative = (v: unknown, name: string) => {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) invalidArg('a number >= 0', name, v);
  return v;
};
const betas = (v: unknown, name: string) => {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((b) => typeof b === 'number' && b >= 0 && b < 1)) invalidArg('two numbers in [0, 1)', name, v);
  return [...(v as number[])];
};
const flag = (v: unknown, name: string) => checkBool(v, name);
const SPECS: Record<string, OptionSpec> = Object.fromEntries(([
  ['lr', 'lr', nonNegative], ['momentum', 'momentum', nonNegative], ['dampening', 'dampening', nonNegative],
  ['weightDecay', 'weight_decay', nonNegative], ['nesterov', 'nesterov', flag], ['betas', 'betas', betas],
  ['eps', 'eps', nonNegative], ['amsgrad', 'amsgrad', flag], ['alpha', 'alpha', nonNegative],
  ['centered', 'centered', flag], ['lrDecay', 'lr_decay', nonNegative], ['initialAccumulatorValue', 'initial_accumulator_value', nonNegative],
] as const).map(([name, pyName, check]) => [name, { name, pyName, check }]));

const toSnake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const toCamel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The state of an optimizer in torch.optim's layout: per-parameter state by index, and the groups. */
export interface OptimizerStateDict {
  state: Record<number, Record<string, Tensor | number>>;
  param_groups: Record<string, unknown>[];
}

export abstract class Optimizer {
  /** The parameter groups; `paramGroups[i].lr` (and other options) may be changed between steps. */
  readonly paramGroups: ParamGroup[];
  /** The options used for groups that do not set their own. */
  readonly defaults: Record<string, unknown>;
  /** @internal */
  readonly _h: OptimizerHandle;
  private readonly kind: OptimizerKind;

  /** @internal */
  protected constructor(kind: OptimizerKind, params: Params, options: unknown, defaults: Record<string, unknown>, required: string[] = []) {
    this.kind = kind;
    const o = checkOptions<Record<string, unknown>>(options, 'options', Object.keys(defaults));
    for (const r of required) if (o[r] === undefined) SPECS[r].check(undefined, r);
    this.defaults = this.validate({ ...defaults, ...o });
    if (!Array.isArray(params) || params.length === 0) invalidArg('a non-empty array of parameters or parameter groups', 'params', params);
    const inputs: ParamGroupInput[] = params.every((p) => p instanceof Tensor)
      ? [{ params: params as Tensor[] }]
      : (params as unknown[]).map((g, i) => {
        if (g === null || typeof g !== 'object' || g instanceof Tensor || !Array.isArray((g as ParamGroupInput).params)) invalidArg('a parameter group { params, ...options }', `params[${i}]`, g);
        return g as ParamGroupInput;
      });
    const seen = new Set<Tensor>();
    this.paramGroups = inputs.map((g, gi) => {
      const { params: ps, ...rest } = g;
      checkOptions(rest, `params[${gi}]`, Object.keys(defaults));
      if (ps.length === 0) invalidArg('a non-empty array of parameters', `params[${gi}].params`, ps);
      ps.forEach((p, i) => {
        const name = inputs.length === 1 && params[0] instanceof Tensor ? `params[${i}]` : `params[${gi}].params[${i}]`;
        const t = checkTensor(p, name);
        if (!t.requiresGrad) invalidArg('a tensor that requires grad (a model parameter)', name, t);
        if (!t.isLeaf) invalidArg("a leaf tensor (can't optimize a non-leaf Tensor)", name, t);
        if (seen.has(t)) invalidArg('each parameter once (this one is already in the optimizer)', name, t);
        seen.add(t);
      });
      return { ...this.validate({ ...this.defaults, ...rest }), params: [...ps] } as ParamGroup;
    });
    this.checkGroups();
    this._h = native.createOptimizer(kind, this.paramGroups.map((g) => ({ params: g.params.map((p) => p.handle('params')), options: this.options(g) })));
  }

  private validate(o: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = SPECS[k] ? SPECS[k].check(v, k) : v;
    return out;
  }

  /** Cross-option rules (nesterov needs momentum). */
  protected checkGroups(): void {}

  /** @internal Every group's options, as the next step hands them to libtorch. */
  _groupOptions(): Record<string, unknown>[] {
    this.checkGroups();
    return this.paramGroups.map((g) => this.options(g));
  }

  /** The options of a group as handed to libtorch (validated again: schedulers and users may change them). */
  private options(g: ParamGroup): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(this.defaults)) out[k] = SPECS[k].check(g[k], k);
    return out;
  }

  /** One update of every parameter from its gradient (parameters without a gradient are skipped). */
  step(): void {
    native.optimizerStep(this._h, this._groupOptions());
  }

  /** step() on the executor, after every job queued before it. */
  stepAsync(): Promise<void> {
    return withCallerStack(native.optimizerStepAsync(this._h, this._groupOptions()), new Error());
  }

  /** Zeroes the gradients (PyTorch 1.13's default) or drops them (setToNone). */
  zeroGrad(opts?: { setToNone?: boolean }): void {
    const o = checkOptions<{ setToNone: boolean }>(opts, 'options', ['setToNone']);
    zeroGradOf(this.paramGroups.flatMap((g) => g.params), o.setToNone === undefined ? false : checkBool(o.setToNone, 'setToNone'));
  }

  /** torch.optim's state_dict layout: `{ state: { 0: { step, exp_avg, … } }, param_groups: [{ lr, …, params: [0, 1] }] }`. */
  stateDict(): OptimizerStateDict {
    const state: Record<number, Record<string, Tensor | number>> = {};
    native.optimizerState(this._h).forEach((s, i) => {
      if (s === null) return;
      state[i] = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : wrap(v as TensorHandle)]));
    });
    let index = 0;
    const param_groups = this.paramGroups.map((g) => {
      const out: Record<string, unknown> = {};
      // options, then what schedulers keep on groups (initialLr → initial_lr, maxLr → max_lr, …)
      for (const [k, v] of Object.entries(g)) if (k !== 'params') out[SPECS[k]?.pyName ?? toSnake(k)] = Array.isArray(v) ? [...(v as number[])] : v;
      out.params = g.params.map(() => index++);
      return out;
    });
    return { state, param_groups };
  }

  /** Restores stateDict()'s output (or a torch.optim state_dict with the same groups). */
  loadStateDict(sd: OptimizerStateDict): void {
    if (sd === null || typeof sd !== 'object' || typeof sd.state !== 'object' || !Array.isArray(sd.param_groups)) invalidArg('an optimizer state dict { state, param_groups }', 'stateDict', sd);
    if (sd.param_groups.length !== this.paramGroups.length) invalidArg(`${this.paramGroups.length} parameter groups`, 'stateDict.param_groups', sd.param_groups);
    sd.param_groups.forEach((g, i) => {
      const n = Array.isArray(g.params) ? g.params.length : -1;
      if (n !== this.paramGroups[i].params.length) invalidArg(`a group of ${this.paramGroups[i].params.length} parameters`, `stateDict.param_groups[${i}]`, g.params);
    });
    const total = this.paramGroups.reduce((n, g) => n + g.params.length, 0);
    const entries: (Record<string, TensorHandle | number> | null)[] = new Array(total).fill(null);
    const flat = this.paramGroups.flatMap((g) => g.params);
    for (const [k, s] of Object.entries(sd.state)) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= total) invalidArg(`a parameter index in [0, ${total - 1}]`, 'stateDict.state', k);
      entries[i] = Object.fromEntries(Object.entries(s).map(([name, v]) => {
        if (typeof v === 'number') return [name, v];
        const t = checkTensor(v, `stateDict.state[${k}].${name}`);
        // torch.optim 1.13 keeps counters such as Adam's `step` as 0-D tensors: a number here
        if (t.dim() === 0 && flat[i].dim() !== 0) return [name, Number(t.item())];
        if (t.shape.length !== flat[i].shape.length || t.shape.some((d, j) => d !== flat[i].shape[j])) {
          invalidArg(`a tensor of shape [${flat[i].shape.join(', ')}] (the parameter's)`, `stateDict.state[${k}].${name}`, t);
        }
        return [name, t.handle()];
      }));
    }
    native.optimizerLoadState(this._h, entries);
    const byPy = Object.fromEntries(Object.values(SPECS).map((s) => [s.pyName, s.name]));
    sd.param_groups.forEach((g, i) => {
      for (const [k, v] of Object.entries(g)) {
        if (k === 'params') continue;
        if (byPy[k]) this.paramGroups[i][byPy[k]] = SPECS[byPy[k]].check(v, k);
        else if (typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number'))) this.paramGroups[i][toCamel(k)] = v;
      }
    });
  }
}

/**
 * Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch.optim.SGD).
 * Defaults: momentum 0, dampening 0, weightDecay 0, nesterov false; lr is required.
 * @example const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 */
export class SGD extends Optimizer {
  constructor(params: Params, options: { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }) {
    super('sgd', params, options, { lr: undefined, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }, ['lr']);
  }
  protected checkGroups(): void {
    for (const g of this.paramGroups ?? []) {
      if (g.nesterov && (!((g.momentum as number) > 0) || g.dampening !== 0)) invalidArg('momentum > 0 and dampening 0 (Nesterov momentum needs them)', 'nesterov', g.nesterov);
    }
  }
}

/** Adam (torch.optim.Adam). Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0, amsgrad false. */
export class Adam extends Optimizer {
  constructor(params: Params, options?: { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number; amsgrad?: boolean }) {
    super('adam', params, options, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false });
  }
}

/** AdamW, decoupled weight decay (torch.optim.AdamW). Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 1e-2, amsgrad false. */
export class AdamW extends Optimizer {
  constructor(params: Params, options?: { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number; amsgrad?: boolean }) {
    super('adamw', params, options, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false });
  }
}

/** RMSprop (torch.optim.RMSprop). Defaults: lr 1e-2, alpha 0.99, eps 1e-8, weightDecay 0, momentum 0, centered false. */
export class RMSprop extends Optimizer {
  constructor(params: Params, options?: { lr?: number; alpha?: number; eps?: number; weightDecay?: number; momentum?: number; centered?: boolean }) {
    super('rmsprop', params, options, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false });
  }
}

/** Adagrad (torch.optim.Adagrad). Defaults: lr 1e-2, lrDecay 0, weightDecay 0, initialAccumulatorValue 0, eps 1e-10. */
export class Adagrad extends Optimizer {
  constructor(params: Params, options?: { lr?: number; lrDecay?: number; weightDecay?: number; initialAccumulatorValue?: number; eps?: number }) {
    super('adagrad', params, options, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 });
  }
}
