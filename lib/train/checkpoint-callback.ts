/**
 * modelCheckpoint: a fit() callback that writes a training checkpoint every N epochs and keeps
 * the last K, and latestCheckpoint() to find the one to resume from.
 */
import * as fs from 'fs';
import * as path from 'path';
import { invalidArg, TorchError } from '../errors';
import { saveAsync } from './training-checkpoint';
import { fileSystemReason, makeDirectory } from '../serialization/atomic';
import { checkInt, checkOptions } from '../validate';
import type { Callback } from './fit';

export interface ModelCheckpointOptions {
  /** The directory to write into (created if missing). Required. */
  dir: string;
  /** Save after every `every` epochs (and after the last one). Default 1. */
  every?: number;
  /** Keep the last `keep` checkpoints written by this prefix, deleting older ones; 0 keeps all. Default 3. */
  keep?: number;
  /** File names are `<prefix>-epoch<N>.safetensors`. Default 'checkpoint'. */
  prefix?: string;
  /** A learning-rate scheduler whose state goes into the checkpoint too. */
  scheduler?: { stateDict(): unknown; loadStateDict(sd: never): void };
}

function checkPath(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) invalidArg('a directory path', name, v);
  return v;
}

function checkPrefix(v: unknown): string {
  if (typeof v !== 'string' || !/^[\w.-]+$/.test(v)) invalidArg('a file name prefix of letters, digits, ".", "_" or "-"', 'prefix', v);
  return v;
}

const NAME = /^(.+)-epoch(\d+)\.safetensors$/;

/** The checkpoints with this prefix in dir, oldest first, as [epoch, path]. */
function listCheckpoints(dir: string, prefix: string): [number, string][] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: [number, string][] = [];
  for (const n of names) {
    const m = NAME.exec(n);
    if (m && m[1] === prefix) out.push([Number(m[2]), path.join(dir, n)]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/**
 * The newest checkpoint that modelCheckpoint wrote into dir (by epoch number), or null.
 * @example const last = torch.train.latestCheckpoint('runs/lm'); if (last) torch.checkpoint.load(last, { model, optimizer });
 */
export function latestCheckpoint(dir: string, opts?: { prefix?: string }): string | null {
  checkPath(dir, 'dir');
  const o = checkOptions<{ prefix: string }>(opts, 'options', ['prefix']);
  const all = listCheckpoints(dir, o.prefix === undefined ? 'checkpoint' : checkPrefix(o.prefix));
  return all.length ? all[all.length - 1][1] : null;
}

/**
 * A fit() callback that saves a training checkpoint (model, optimizer, scheduler, epoch, RNG
 * state; see checkpoint.save) every `every` epochs into `dir` and deletes all but the last
 * `keep`. Files are written atomically, so a crash never leaves a broken newest checkpoint, and
 * the old ones are deleted only after the new one is in place.
 * @example await torch.fit({ model, optimizer, loss, data, epochs: 20, callbacks: [torch.modelCheckpoint({ dir: 'ckpt', every: 5, keep: 2 })] });
 */
export function modelCheckpoint(opts: ModelCheckpointOptions): Callback {
  const o = checkOptions<ModelCheckpointOptions>(opts, 'options', ['dir', 'every', 'keep', 'prefix', 'scheduler']);
  const dir = checkPath(o.dir, 'dir');
  const every = o.every === undefined ? 1 : checkInt(o.every, 'every', { min: 1 });
  const keep = o.keep === undefined ? 3 : checkInt(o.keep, 'keep', { min: 0 });
  const prefix = o.prefix === undefined ? 'checkpoint' : checkPrefix(o.prefix);
  const scheduler = o.scheduler;
  if (scheduler !== undefined && typeof scheduler?.stateDict !== 'function') invalidArg('a learning-rate scheduler (with stateDict())', 'scheduler', scheduler);
  let last = -1;
  const write = async (epoch: number, ctx: Parameters<NonNullable<Callback['onEpochEnd']>>[2]) => {
    try {
      await makeDirectory(dir);
    } catch (err) {
      throw new TorchError(`modelCheckpoint cannot create ${dir}: ${fileSystemReason(err) ?? (err as Error).message}`, 'ERR_CHECKPOINT');
    }
    const file = path.join(dir, `${prefix}-epoch${epoch}.safetensors`);
    await saveAsync(file, { model: ctx.model, optimizer: ctx.optimizer, scheduler, epoch });
    last = epoch;
    if (keep > 0) {
      const all = listCheckpoints(dir, prefix);
      for (const [, old] of all.slice(0, Math.max(0, all.length - keep))) await fs.promises.rm(old, { force: true });
    }
  };
  return {
    async onEpochEnd(epoch, _logs, ctx) {
      // epoch is 0-based here; file names and the saved epoch count the epochs done. An epoch
      // cut short by fit()'s signal is not saved as done.
      if (!ctx.aborted && (epoch + 1) % every === 0) await write(epoch + 1, ctx);
    },
    async onTrainEnd(history, ctx) {
      // the last epoch when `every` does not divide it (or early stopping ended the run)
      const done = history.epoch.length ? history.epoch[history.epoch.length - 1] + 1 : 0;
      if (!ctx.aborted && done > 0 && last !== done) await write(done, ctx);
    },
  };
}
