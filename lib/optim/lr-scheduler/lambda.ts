/** LambdaLR: the initial lr times a factor given by the user's function of the epoch. */
import { invalidArg } from '../../errors';
import { BASE_KEYS, BASE_SPEC, baseOptions, LRScheduler, requireOptions, SchedulerBaseOptions } from './base';
import { isObject, SchedulerOptimizer, StateSpec } from './state-dict';

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
