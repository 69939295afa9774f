/**
 * Python's calling convention for the functions lib/ writes by hand where PyTorch writes them in
 * Python (lib/api/torch-python.ts, lib/nn/functional-python.ts, lib/nn/functional-resample.ts)
 * and for lib/aten/bind.ts: positional arguments plus one trailing options object, Python's
 * None, warnings, and Python's int-or-tuple arguments.
 */
import { invalidArg, TorchError } from '../errors';
import { Tensor } from '../tensor';
import { checkBool } from '../validate';

/** A trailing options object: a plain object (not a Tensor, array or typed array). */
export function isOptions(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Tensor || ArrayBuffer.isView(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Positional arguments in `params` order plus one trailing options object (camelCase keys: the
 * parameters after the first, and `keywordOnly`), by parameter name. `method`: args[0] is the
 * Tensor a method was called on (not counted in messages). Parameters starting with `_` are
 * accepted but not listed in messages.
 */
export function pyArgs(label: string, args: unknown[], params: readonly string[], keywordOnly: readonly string[] = [], method = false): Record<string, unknown> {
  let positional = args;
  let options: Record<string, unknown> = {};
  if (args.length > 1 && isOptions(args[args.length - 1])) {
    options = args[args.length - 1] as Record<string, unknown>;
    positional = args.slice(0, -1);
  }
  const shift = method ? 1 : 0;
  if (positional.length > params.length) {
    throw new TorchError(`Expected at most ${params.length - shift} positional arguments for ${label} but received ${positional.length - shift}`, 'ERR_INVALID_ARG');
  }
  const out: Record<string, unknown> = {};
  positional.forEach((v, i) => { if (v !== undefined) out[params[i]] = v; });
  const keys = [...params.slice(1), ...keywordOnly];
  for (const [k, v] of Object.entries(options)) {
    if (!keys.includes(k)) invalidArg(`one of the options ${keys.filter((p) => !p.startsWith('_')).join(', ')}`, `an option of ${label}`, k);
    if (v === undefined) continue;
    if (out[k] !== undefined) throw new TorchError(`Expected argument '${k}' of ${label} once but received it both positionally and as options.${k}`, 'ERR_INVALID_ARG');
    out[k] = v;
  }
  return out;
}

/** Python's None: null or undefined. */
export const none = (v: unknown): v is null | undefined => v === null || v === undefined;

const warned = new Set<string>();
/** Forgets which warnings were shown (tests that check a warning call it first). */
export function resetWarnings(): void {
  warned.clear();
}
/** Python's warnings.warn (UserWarning), once per message as Python's default filter does per call site. */
export function warnOnce(message: string): void {
  if (warned.has(message) || warned.size >= 100) return;
  warned.add(message);
  process.emitWarning(message, 'UserWarning');
}

/** An integer, or an array of `n` integers (Python's _single/_pair/_triple). */
export function intTuple(value: unknown, name: string, n: number, min?: number): number[] {
  const what = `an integer${min === undefined ? '' : ` >= ${min}`} or an array of ${n} such integers`;
  const ok = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && (min === undefined || v >= min);
  if (ok(value)) return new Array<number>(n).fill(value as number);
  if (!Array.isArray(value) || value.length !== n || !value.every(ok)) invalidArg(what, name, value);
  return Array.from(value as number[]);
}

/** A boolean, or null for None. */
export function optionalBool(value: unknown, name: string): boolean | null {
  return none(value) ? null : checkBool(value, name);
}
