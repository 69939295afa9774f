/**
 * The framework under every scheduler: what a scheduler needs of an optimizer, the checks of
 * options and state-dict values, and the parsing of a state dict against a class's spec of keys
 * (with the registry that names the kind of a state dict given to the wrong class; lr-scheduler/
 * index.ts registers every class). Imports none of the schedulers.
 */
import { invalidArg, TorchError } from '../../errors';
import { checkBool, checkInt, checkString } from '../../validate';
import type { Optimizer } from '../optimizer';

/**
 * What a scheduler uses of an optimizer: its `paramGroups` (each with a number `lr`) and its
 * `defaults` (OneCycleLR looks for `momentum` or `betas` there). Every `optim.Optimizer` is one.
 */
export type SchedulerOptimizer = Pick<Optimizer, 'paramGroups' | 'defaults'>;

/** `ERR_INVALID_ARG` with the project's message shape, for a received value described in words. */
export function fail(what: string, name: string, received: string): never {
  throw new TorchError(`Expected ${what} for ${name} but received ${received}`, 'ERR_INVALID_ARG');
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Anything with a `paramGroups` array of objects with a number `lr`, and a `defaults` object. */
export function checkOptimizer(value: unknown): SchedulerOptimizer {
  const o = value as { paramGroups?: unknown; defaults?: unknown } | null;
  const ok = o !== null && typeof o === 'object'
    && Array.isArray(o.paramGroups) && o.paramGroups.length > 0
    && o.paramGroups.every((g) => isObject(g) && typeof g.lr === 'number')
    && isObject(o.defaults);
  if (!ok) invalidArg('an optimizer', 'optimizer', value);
  return value as SchedulerOptimizer;
}

/** A step taken by a scheduler is meant for the param groups it was made for. */
export function checkGroupCount(optimizer: SchedulerOptimizer, n: number): void {
  const m = optimizer.paramGroups.length;
  if (m !== n) {
    fail(`an optimizer with ${n} param group${n === 1 ? '' : 's'} (as when the scheduler was made)`, 'optimizer',
      `an optimizer with ${m} param group${m === 1 ? '' : 's'}`);
  }
}

export type Range = { min?: number; minOpen?: boolean; max?: number; maxOpen?: boolean };

function rangeText(r: Range): string {
  if (r.min !== undefined && r.max !== undefined) return `a number in ${r.minOpen ? '(' : '['}${r.min}, ${r.max}${r.maxOpen ? ')' : ']'}`;
  if (r.min !== undefined) return `a finite number ${r.minOpen ? '>' : '>='} ${r.min}`;
  return 'a finite number';
}

export function inRange(v: unknown, r: Range): v is number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  if (r.min !== undefined && (r.minOpen ? !(v > r.min) : !(v >= r.min))) return false;
  if (r.max !== undefined && (r.maxOpen ? !(v < r.max) : !(v <= r.max))) return false;
  return true;
}

export function checkNum(v: unknown, name: string, r: Range = {}): number {
  if (!inRange(v, r)) invalidArg(rangeText(r), name, v);
  return v;
}

/** A number for every param group, or an array of one per group (PyTorch's `_format_param`). */
export function perGroup(v: unknown, name: string, groups: number, r: Range): number[] {
  if (Array.isArray(v)) {
    if (v.length !== groups) invalidArg(`${groups} value${groups === 1 ? '' : 's'} (one per param group)`, name, v);
    return v.map((x, i) => checkNum(x, `${name}[${i}]`, r));
  }
  if (typeof v !== 'number') invalidArg(`${rangeText(r)} or an array of ${groups} of them (one per param group)`, name, v);
  return new Array<number>(groups).fill(checkNum(v, name, r));
}

/** Python's '{:.4e}' (two-digit exponent), for verbose messages. */
export function sci(x: number): string {
  return x.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Numbers of a state dict: JSON has no Infinity or NaN (JSON.stringify writes null). */
export function decodeNumber(v: unknown): unknown {
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === 'NaN') return NaN;
  return v;
}

/** How one key of a state dict is validated (`n`: the optimizer's number of param groups). */
export type FieldCheck = (value: unknown, name: string, n: number) => unknown;
export interface Field {
  check: FieldCheck;
  /** Missing from PyTorch's state dict in some configurations. */
  optional?: boolean;
}
export type StateSpec = Record<string, Field>;

export const F = {
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

export function register(name: string, spec: StateSpec): void {
  const keys = Object.keys(spec);
  REGISTRY.push({ name, keys, optional: keys.filter((k) => spec[k].optional) });
}

/** Validates a state dict's keys and values against `spec`; returns the parsed values. */
export function parseState(kind: string, spec: StateSpec, sd: unknown, groups: number): Record<string, unknown> {
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
