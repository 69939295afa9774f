/**
 * Argument validation shared by every public function. Each helper throws a TorchError
 * (ERR_INVALID_ARG) with the message `Expected <what> for <name> but received <value>`.
 */
import { invalidArg, TorchError } from './errors';
import { native } from './binding';
import { checkDType, DType, SCALAR_TYPE } from './dtype';

export function checkInt(value: unknown, name: string, range: { min?: number; max?: number } = {}): number {
  const { min, max } = range;
  const what = () => {
    if (min !== undefined && max !== undefined) return `an integer in [${min}, ${max}]`;
    if (min !== undefined) return `an integer >= ${min}`;
    if (max !== undefined) return `an integer <= ${max}`;
    return 'an integer';
  };
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) invalidArg(what(), name, value);
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) invalidArg(what(), name, value);
  return value;
}

/** A number (NaN and infinities allowed: PyTorch fills and compares with them). */
export function checkNumber(value: unknown, name: string): number {
  if (typeof value !== 'number') invalidArg('a number', name, value);
  return value;
}

export function checkFinite(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) invalidArg('a finite number', name, value);
  return value;
}

export function checkBool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') invalidArg('a boolean', name, value);
  return value;
}

export function checkString<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    invalidArg(`one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, name, value);
  }
  return value as T;
}

/** A plain options object (or undefined), with no keys outside `allowed`. */
export function checkOptions<T extends object>(value: unknown, name: string, allowed: readonly string[]): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalidArg('an options object', name, value);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) invalidArg(`one of the options ${allowed.join(', ')}`, `an option of ${name}`, key);
  }
  return value as Partial<T>;
}

/** Largest dimension size libtorch accepts here; larger sizes fail allocation anyway. */
const MAX_SIZE = 2 ** 48;

/** A shape: an array of integers >= 0 (or >= -1 where one size may be inferred). */
export function checkShape(value: unknown, name: string, allowInfer = false): number[] {
  const what = allowInfer ? 'an array of integers >= -1' : 'an array of integers >= 0';
  if (!Array.isArray(value)) invalidArg(what, name, value);
  for (const s of value) {
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < (allowInfer ? -1 : 0) || s > MAX_SIZE) invalidArg(what, name, value);
  }
  return Array.from(value as number[]); // a plain array for native code (a Proxy passes Array.isArray)
}

/** Accepts `f(2, 3)` and `f([2, 3])`, as PyTorch's view/reshape/permute do. */
export function shapeArgs(args: unknown[], name: string, allowInfer: boolean): number[] {
  const shape = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  return checkShape(shape, name, allowInfer);
}

/** A dimension index into a tensor of rank `ndim` (negative counts from the end). */
export function checkDim(value: unknown, name: string, ndim: number): number {
  const lo = -Math.max(ndim, 1);
  const hi = Math.max(ndim, 1) - 1;
  return checkInt(value, name, { min: lo, max: hi });
}

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** Validates a device string; a CUDA device that is not there throws ERR_CUDA_UNAVAILABLE. */
export function checkDevice(value: unknown, name = 'device'): Device {
  if (typeof value !== 'string' || !/^(cpu|cuda(:\d+)?)$/.test(value)) invalidArg('a device ("cpu", "cuda" or "cuda:N")', name, value);
  if (value !== 'cpu') assertCuda(value);
  return value as Device;
}

export function assertCuda(device: string): void {
  const count = native.cudaIsAvailable() ? native.cudaDeviceCount() : 0;
  if (count === 0) {
    throw new TorchError(
      `CUDA is not available, so device "${device}" cannot be used: the libtorch torchrnn runs on has no CUDA support or no GPU is visible (torch.cuda.isAvailable() is false)`,
      'ERR_CUDA_UNAVAILABLE',
    );
  }
  const index = device.includes(':') ? Number(device.split(':')[1]) : 0;
  if (index >= count) {
    throw new TorchError(`CUDA device ${device} is not available: ${count} CUDA device(s) found`, 'ERR_CUDA_UNAVAILABLE');
  }
}

/**
 * The target of `to()` (Tensor.to and Module.to): a dtype name (`'float64'`), a device
 * (`'cpu'`, `'cuda:1'`: any string that is not a dtype name) or `{ dtype, device }`.
 * Returns what was given; the caller applies its own rules (Module.to takes floating dtypes only).
 */
export function checkToTarget(target: unknown): { dtype?: DType; device?: Device } {
  let dtype: DType | undefined;
  let device: Device | undefined;
  if (typeof target === 'string' && target in SCALAR_TYPE) dtype = target as DType;
  else if (typeof target === 'string') device = checkDevice(target, 'device');
  else if (target !== null && typeof target === 'object') {
    const o = checkOptions<{ dtype: DType; device: Device }>(target, 'target', ['dtype', 'device']);
    if (o.dtype !== undefined) dtype = checkDType(o.dtype);
    if (o.device !== undefined) device = checkDevice(o.device);
  } else invalidArg('a dtype, a device or { dtype, device }', 'target', target);
  return { dtype, device };
}
