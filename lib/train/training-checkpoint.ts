/**
 * Training checkpoints: model, optimizer, scheduler, epoch, step, RNG state and extra JSON in
 * one safetensors file (tensors as data, the rest as JSON metadata), written atomically, so a
 * crash mid-save leaves the previous checkpoint intact and a resumed run continues with the
 * numbers of an uninterrupted one.
 */
import { invalidArg, TorchError } from '../errors';
import { Module } from '../nn/module';
import { Optimizer, OptimizerStateDict } from '../optim/optimizer';
import { getRngState, setRngState } from '../runtime';
import { Tensor } from '../tensor';
import { checkInt, checkOptions } from '../validate';
import { loadSafetensors, saveSafetensors, saveSafetensorsAsync } from '../serialization/safetensors';

const FORMAT = 'torchrnn.checkpoint/1';

interface StatefulScheduler { stateDict(): unknown; loadStateDict(sd: never): void }

export interface CheckpointContents {
  model: Module;
  optimizer?: Optimizer;
  scheduler?: StatefulScheduler;
  epoch?: number;
  step?: number;
  /** Anything JSON can hold. */
  extra?: unknown;
}

/** The checkpoint's tensors (model, optimizer state, RNG state) and JSON metadata. */
function encode(contents: CheckpointContents): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const o = checkOptions<CheckpointContents>(contents, 'contents', ['model', 'optimizer', 'scheduler', 'epoch', 'step', 'extra']);
  if (!(o.model instanceof Module)) invalidArg('an nn.Module', 'model', o.model);
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(o.model.stateDict())) tensors[`model.${k}`] = t;
  let optimizer: unknown = null;
  if (o.optimizer !== undefined) {
    if (!(o.optimizer instanceof Optimizer)) invalidArg('an optimizer', 'optimizer', o.optimizer);
    const sd = o.optimizer.stateDict();
    const scalars: Record<string, Record<string, number>> = {};
    for (const [i, s] of Object.entries(sd.state)) {
      for (const [k, v] of Object.entries(s)) {
        if (v instanceof Tensor) tensors[`optimizer.state.${i}.${k}`] = v;
        else (scalars[i] ??= {})[k] = v;
      }
    }
    optimizer = { param_groups: sd.param_groups, scalars };
  }
  if (o.scheduler !== undefined && typeof (o.scheduler as { stateDict?: unknown })?.stateDict !== 'function') invalidArg('a learning-rate scheduler (with stateDict())', 'scheduler', o.scheduler);
  tensors.rng = getRngState();
  const metadata: Record<string, string> = {
    format: FORMAT,
    epoch: JSON.stringify(o.epoch === undefined ? null : checkInt(o.epoch, 'epoch', { min: 0 })),
    step: JSON.stringify(o.step === undefined ? null : checkInt(o.step, 'step', { min: 0 })),
    optimizer: JSON.stringify(optimizer),
    scheduler: JSON.stringify(o.scheduler ? o.scheduler.stateDict() : null),
    extra: JSON.stringify(o.extra ?? null),
  };
  return { tensors, metadata };
}

/**
 * Saves a training checkpoint atomically (temporary file in the same directory, fsync,
 * rename): a crash mid-save leaves the previous file intact.
 * @example torch.checkpoint.save('ckpt.safetensors', { model, optimizer, scheduler, epoch: 3 });
 */
export function save(file: string, contents: CheckpointContents): void {
  const { tensors, metadata } = encode(contents);
  saveSafetensors(tensors, file, metadata);
}

/** save() with the tensors read after the queued jobs and the file written without blocking the event loop. */
export function saveAsync(file: string, contents: CheckpointContents): Promise<void> {
  const { tensors, metadata } = encode(contents);
  return saveSafetensorsAsync(tensors, file, metadata);
}

/**
 * Restores a checkpoint into the given model (and optimizer, scheduler), and the RNG state.
 * Returns what else it holds. A file that is not a checkpoint throws ERR_CHECKPOINT.
 */
export function load(file: string, into: { model: Module; optimizer?: Optimizer; scheduler?: StatefulScheduler }): { epoch: number | null; step: number | null; extra: unknown } {
  const o = checkOptions<{ model: Module; optimizer: Optimizer; scheduler: StatefulScheduler }>(into, 'into', ['model', 'optimizer', 'scheduler']);
  if (!(o.model instanceof Module)) invalidArg('an nn.Module', 'model', o.model);
  const { tensors, metadata } = loadSafetensors(file);
  try {
    if (metadata.format !== FORMAT) throw new TorchError(`Cannot load ${file}: not a torchrnn training checkpoint (format ${JSON.stringify(metadata.format ?? null)})`, 'ERR_CHECKPOINT');
    const parse = (k: string) => {
      try { return JSON.parse(metadata[k] ?? 'null') as unknown; } catch { throw new TorchError(`Cannot load ${file}: its ${k} entry is not valid JSON`, 'ERR_CHECKPOINT'); }
    };
    const model: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model.')) model[k.slice(6)] = t;
    o.model.loadStateDict(model);
    if (o.optimizer !== undefined) {
      const saved = parse('optimizer') as { param_groups: Record<string, unknown>[]; scalars: Record<string, Record<string, number>> } | null;
      if (saved === null) throw new TorchError(`Cannot load ${file}: it holds no optimizer state`, 'ERR_CHECKPOINT');
      const state: OptimizerStateDict['state'] = {};
      for (const [k, t] of Object.entries(tensors)) {
        const m = /^optimizer\.state\.(\d+)\.(.+)$/.exec(k);
        if (m) (state[Number(m[1])] ??= {})[m[2]] = t;
      }
      for (const [i, s] of Object.entries(saved.scalars)) Object.assign((state[Number(i)] ??= {}), s);
      o.optimizer.loadStateDict({ state, param_groups: saved.param_groups });
    }
    if (o.scheduler !== undefined) {
      const s = parse('scheduler');
      if (s === null) throw new TorchError(`Cannot load ${file}: it holds no scheduler state`, 'ERR_CHECKPOINT');
      o.scheduler.loadStateDict(s as never);
    }
    if (tensors.rng) setRngState(tensors.rng as Tensor<'uint8'>);
    return { epoch: parse('epoch') as number | null, step: parse('step') as number | null, extra: parse('extra') };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
