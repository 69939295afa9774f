/**
 * tensorBoard(): a fit() callback that logs the run to TensorBoard, laid out as Keras' TensorBoard
 * callback lays it out: `<logDir>/train` and `<logDir>/validation` runs, tags `epoch_<name>`
 * (step: the epoch, from 0) and `batch_<name>` (step: the batch, counted from 0 over the whole
 * run), and histograms of the parameters (tag: the parameter's name) every `histogramFreq` epochs.
 */
import * as path from 'path';
import { invalidArg } from '../errors';
import { SummaryWriter } from '../tensorboard/summary-writer';
import { checkInt, checkOptions } from '../validate';
import type { Callback, FitContext, Logs } from './fit';

export interface TensorBoardOptions {
  /** The directory of the run's logs (created if missing): `tensorboard --logdir <logDir>`. Required. */
  logDir: string;
  /**
   * 'epoch' (default): the epoch's loss and metrics after each epoch; 'batch': also each batch's
   * loss; a number N: also the loss of every N-th batch.
   */
  updateFreq?: 'epoch' | 'batch' | number;
  /** Histograms of every parameter after every `histogramFreq` epochs (the epochs 0, N, 2N, …); 0 (default): none. */
  histogramFreq?: number;
}

/** `valLoss` → 'loss' in the validation run; `lr` → 'learning_rate'; other keys as they are. */
function tagOf(key: string): { run: 'train' | 'validation'; name: string } {
  if (/^val[A-Z]/.test(key)) return { run: 'validation', name: key[3].toLowerCase() + key.slice(4) };
  return { run: 'train', name: key === 'lr' ? 'learning_rate' : key };
}

/**
 * A fit() callback that writes the loss (and validation loss, learning rate and other logged
 * values) to TensorBoard event files.
 * @example
 * await torch.fit({ model, optimizer, loss, data, validationData, epochs: 20,
 *   callbacks: [torch.tensorBoard({ logDir: 'runs/lstm', updateFreq: 'batch', histogramFreq: 5 })] });
 * // tensorboard --logdir runs
 */
export function tensorBoard(opts: TensorBoardOptions): Callback {
  const o = checkOptions<TensorBoardOptions>(opts, 'options', ['logDir', 'updateFreq', 'histogramFreq']);
  if (typeof o.logDir !== 'string' || o.logDir.length === 0) invalidArg('a directory path', 'logDir', o.logDir);
  const logDir = o.logDir;
  let every = 0;   // write batch values every `every` batches; 0: never
  if (o.updateFreq === undefined || o.updateFreq === 'epoch') every = 0;
  else if (o.updateFreq === 'batch') every = 1;
  else if (typeof o.updateFreq === 'number' && Number.isSafeInteger(o.updateFreq) && o.updateFreq >= 1) every = o.updateFreq;
  else invalidArg('"epoch", "batch" or an integer >= 1', 'updateFreq', o.updateFreq);
  const histogramFreq = o.histogramFreq === undefined ? 0 : checkInt(o.histogramFreq, 'histogramFreq', { min: 0 });

  const writers: Partial<Record<'train' | 'validation', SummaryWriter>> = {};
  const writer = (run: 'train' | 'validation'): SummaryWriter => {
    writers[run] ??= new SummaryWriter(path.join(logDir, run));
    return writers[run];
  };
  const write = (logs: Logs, prefix: string, step: number) => {
    for (const [key, value] of Object.entries(logs)) {
      if (typeof value !== 'number') continue;
      const { run, name } = tagOf(key);
      writer(run).addScalar(`${prefix}${name}`, value, step);
    }
  };
  let batches = 0;

  return {
    onTrainBegin() {
      writer('train');   // the run directory exists (and a bad logDir fails) before the first step
    },
    onBatchEnd(_batch: number, logs: Logs) {
      const step = batches++;
      if (every > 0 && step % every === 0) write(logs, 'batch_', step);
    },
    async onEpochEnd(epoch: number, logs: Logs, ctx: FitContext) {
      write(logs, 'epoch_', epoch);
      if (histogramFreq > 0 && epoch % histogramFreq === 0) {
        for (const [name, p] of ctx.model.namedParameters()) {
          // float32/float64 are read on the executor (await data()); other dtypes decode from the tensor
          const values = p.dtype === 'float32' || p.dtype === 'float64' ? await p.data() : p;
          writer('train').addHistogram(name, values as Float32Array, epoch);
        }
      }
    },
    async onTrainEnd() {
      const open = Object.values(writers).filter((w): w is SummaryWriter => w !== undefined);
      delete writers.train;
      delete writers.validation;
      await Promise.all(open.map((w) => w.close()));
    },
  };
}
