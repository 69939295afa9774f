/**
 * save/load of state dicts (torch.save/torch.load's place). Crash-safe training checkpoints
 * (torch.checkpoint) are built on these formats in lib/train/training-checkpoint.ts.
 * Formats, chosen by the file's extension unless `{ format }` says otherwise:
 * - `.safetensors` → 'safetensors' (pure data: the default for checkpoints);
 * - `.pt`, `.pth` → 'pt', PyTorch's torch.save zip format, read through a restricted
 *   unpickler that accepts only containers, primitives and tensors (what
 *   `torch.load(weights_only=True)` accepts) and never runs code; written so that Python's
 *   `torch.load` reads it. `.pt` files may hold nested objects, arrays and Maps of tensors and
 *   primitives (optimizer state dicts), see pt.ts and pickle/.
 * Every write is atomic (temporary file, fsync, rename).
 */
import * as path from 'path';
import { invalidArg } from '../errors';
import { Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { loadPt, loadPtAsync, PtValue, savePt, savePtAsync } from './pt';
import { loadSafetensors, loadSafetensorsAsync, saveSafetensors, saveSafetensorsAsync } from './safetensors';

export type Format = 'safetensors' | 'pt';
export type { PtValue } from './pt';
export interface SaveOptions {
  /** Default: from the extension (`.safetensors`; `.pt`, `.pth`). */
  format?: Format;
  /** String metadata (safetensors only: its header's `__metadata__`). */
  metadata?: Record<string, string>;
}

const BY_EXTENSION: Record<string, Format> = { '.safetensors': 'safetensors', '.pt': 'pt', '.pth': 'pt' };

function formatOf(file: unknown, format: unknown): Format {
  if (typeof file !== 'string' || file.length === 0) invalidArg('a file path', 'path', file);
  if (format !== undefined) {
    if (format !== 'safetensors' && format !== 'pt') invalidArg('one of "safetensors", "pt"', 'format', format);
    return format;
  }
  const f = BY_EXTENSION[path.extname(file).toLowerCase()];
  if (f === undefined) invalidArg('a path ending in .safetensors, .pt or .pth, or a format option ("safetensors" or "pt")', 'path', file);
  return f;
}

function saveArgs(obj: unknown, file: string, opts: unknown): [Format, Record<string, string> | undefined] {
  const o = checkOptions<SaveOptions>(opts, 'options', ['format', 'metadata']);
  const f = formatOf(file, o.format);
  if (f === 'pt' && o.metadata !== undefined) invalidArg('no metadata for a .pt file (only safetensors files carry metadata)', 'metadata', o.metadata);
  // safetensors holds named tensors only (as safetensors.torch.save_file takes a dict)
  if (f === 'safetensors' && obj instanceof Tensor) {
    invalidArg('an object of named tensors for a .safetensors file (save { name: tensor }, or a bare tensor to a .pt file)', 'obj', obj);
  }
  return [f, o.metadata];
}

/**
 * Writes a state dict atomically, in the format of the file's extension. `.safetensors` files
 * load in Python with `safetensors.torch.load_file`, `.pt`/`.pth` files with `torch.load`.
 * A `.pt` file may also hold nested objects, arrays and Maps of tensors, numbers, strings,
 * booleans and null (an optimizer's stateDict()).
 * @example torch.save(model.stateDict(), 'model.safetensors');
 * @example torch.save(optimizer.stateDict(), 'optimizer.pt');
 */
export function save(obj: Record<string, Tensor> | PtValue, file: string, opts?: SaveOptions): void {
  const [f, metadata] = saveArgs(obj, file, opts);
  if (f === 'pt') savePt(obj, file);
  else saveSafetensors(obj as Record<string, Tensor>, file, metadata);
}

/** save() with tensor data read after the queued async jobs, and the file written without blocking. */
export function saveAsync(obj: Record<string, Tensor> | PtValue, file: string, opts?: SaveOptions): Promise<void> {
  const [f, metadata] = saveArgs(obj, file, opts);
  if (f === 'pt') return savePtAsync(obj, file);
  return saveSafetensorsAsync(obj as Record<string, Tensor>, file, metadata);
}

/**
 * Reads a state dict (or, from a `.pt` file, whatever structure of containers, primitives and
 * tensors it holds: give `T`). Corrupt or hostile files throw ERR_CHECKPOINT naming the problem.
 * @example const sd = torch.load('model.pt'); model.loadStateDict(sd);
 */
export function load<T = Record<string, Tensor>>(file: string, opts?: { format?: Format }): T {
  const o = checkOptions<{ format: Format }>(opts, 'options', ['format']);
  if (formatOf(file, o.format) === 'pt') return loadPt<T>(file);
  return loadSafetensors(file).tensors as T;
}

/** load() with the file read without blocking the event loop. */
export async function loadAsync<T = Record<string, Tensor>>(file: string, opts?: { format?: Format }): Promise<T> {
  const o = checkOptions<{ format: Format }>(opts, 'options', ['format']);
  if (formatOf(file, o.format) === 'pt') return loadPtAsync<T>(file);
  return (await loadSafetensorsAsync(file)).tensors as T;
}

