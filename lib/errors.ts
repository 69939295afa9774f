/**
 * The one error class torchrnn throws. `code` tells what went wrong:
 * - `ERR_INVALID_ARG`: an argument failed validation (message: `Expected <what> for <name> but received <value>`)
 * - `ERR_TORCH`: libtorch refused the call (its message, without the C++ backtrace)
 * - `ERR_LIBTORCH_NOT_FOUND`: the native addon or libtorch could not be loaded
 * - `ERR_CUDA_UNAVAILABLE`: a CUDA device was asked for and none is there
 * - `ERR_CHECKPOINT`: a corrupt or mismatched file
 * - `ERR_DISTRIBUTED`: a process group could not form, or a collective failed (a rank died or timed out)
 * - `ERR_UNSUPPORTED`: the running libtorch has no such operator or argument (the message names the
 *   libtorch version that has it, where one does)
 */
export type ErrorCode =
  | 'ERR_INVALID_ARG'
  | 'ERR_TORCH'
  | 'ERR_LIBTORCH_NOT_FOUND'
  | 'ERR_CUDA_UNAVAILABLE'
  | 'ERR_CHECKPOINT'
  | 'ERR_DISTRIBUTED'
  | 'ERR_UNSUPPORTED';

export class TorchError extends Error {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode) {
    super(message);
    this.name = 'TorchError';
    this.code = code;
  }
}

/** A short, readable rendering of any received value for error messages. */
export function describe(value: unknown, depth = 0): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'number':
      return Number.isNaN(value) ? 'NaN' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case 'boolean':
      return String(value);
    case 'function':
      return 'a function';
    case 'symbol':
      return value.toString();
    default:
      break;
  }
  const obj = value as { constructor?: { name?: string }; describeForError?: () => string };
  if (typeof obj.describeForError === 'function') return obj.describeForError();
  if (Array.isArray(value)) {
    if (depth >= 3) return '[…]'; // nested or self-referencing arrays stay short
    const inner = value.slice(0, 6).map((v) => describe(v, depth + 1)).join(', ');
    return `[${inner}${value.length > 6 ? ', …' : ''}]`;
  }
  if (ArrayBuffer.isView(value)) return `${obj.constructor?.name ?? 'TypedArray'}(${(value as unknown as { length?: number }).length ?? (value as ArrayBufferView).byteLength})`;
  const name = obj.constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** Throws ERR_INVALID_ARG with the project's one message shape. */
export function invalidArg(what: string, name: string, value: unknown): never {
  throw new TorchError(`Expected ${what} for ${name} but received ${describe(value)}`, 'ERR_INVALID_ARG');
}

/**
 * Throws ERR_CHECKPOINT with the file formats' one message shape: `Cannot load <file>: <problem>`.
 * @example badFile('model.pt', 'the file is empty') // Cannot load model.pt: the file is empty
 */
export function badFile(file: string, problem: string): never {
  throw new TorchError(`Cannot load ${file}: ${problem}`, 'ERR_CHECKPOINT');
}

/**
 * Rejections of native async jobs carry no JS stack; this puts the caller's stack (captured
 * when the job was queued) under the error's message.
 */
export function withCallerStack<T>(promise: Promise<T>, caller: Error): Promise<T> {
  return promise.catch((err: unknown) => {
    if (err instanceof Error && caller.stack) {
      const frames = caller.stack.split('\n').slice(1).join('\n');
      err.stack = `${err.name}: ${err.message}\n${frames}`;
    }
    throw err;
  });
}
