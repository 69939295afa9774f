/**
 * save/load of state dicts (torch.save/torch.load's place) and crash-safe training checkpoints.
 * Formats: safetensors (by extension `.safetensors`, or `{ format: 'safetensors' }`).
 * PyTorch's `.pt` zip/pickle format is not readable or writable yet (issue 6 is open for it).
 */
import * as path from 'path';
import { invalidArg } from '../errors';
import { Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { loadSafetensors, loadSafetensorsAsync, saveSafetensors, saveSafetensorsAsync } from './safetensors';

export type Format = 'safetensors';
export interface SaveOptions { format?: Format; metadata?: Record<string, string> }

function formatOf(file: unknown, format: unknown): Format {
  if (typeof file !== 'string' || file.length === 0) invalidArg('a file path', 'path', file);
  const f = format ?? (path.extname(file) === '.safetensors' ? 'safetensors' : undefined);
  if (f !== 'safetensors') invalidArg('a .safetensors path or format: "safetensors" (PyTorch .pt files are not supported yet)', format === undefined ? 'path' : 'format', format ?? file);
  return f;
}

/**
 * Writes a state dict (Record<string, Tensor>) atomically. Files load in Python with
 * `safetensors.torch.load_file`.
 * @example torch.save(model.stateDict(), 'model.safetensors');
 */
export function save(tensors: Record<string, Tensor>, file: string, opts?: SaveOptions): void {
  const o = checkOptions<SaveOptions>(opts, 'options', ['format', 'metadata']);
  formatOf(file, o.format);
  saveSafetensors(tensors, file, o.metadata);
}

/** save() with tensor data read after the queued async jobs, and the file written without blocking. */
export function saveAsync(tensors: Record<string, Tensor>, file: string, opts?: SaveOptions): Promise<void> {
  const o = checkOptions<SaveOptions>(opts, 'options', ['format', 'metadata']);
  formatOf(file, o.format);
  return saveSafetensorsAsync(tensors, file, o.metadata);
}

/** Reads a state dict. Corrupt or hostile files throw ERR_CHECKPOINT naming the problem. */
export function load(file: string, opts?: { format?: Format }): Record<string, Tensor> {
  const o = checkOptions<{ format: Format }>(opts, 'options', ['format']);
  formatOf(file, o.format);
  return loadSafetensors(file).tensors;
}

export async function loadAsync(file: string, opts?: { format?: Format }): Promise<Record<string, Tensor>> {
  const o = checkOptions<{ format: Format }>(opts, 'options', ['format']);
  formatOf(file, o.format);
  return (await loadSafetensorsAsync(file)).tensors;
}

export * as checkpoint from './checkpoint';
