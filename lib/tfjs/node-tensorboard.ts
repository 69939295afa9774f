/**
 * tfjs-node's TensorBoard API (`tf.node.summaryFileWriter`, `tf.node.tensorBoard`) on
 * torchrnn's own event file writer (lib/tensorboard/), with tfjs-node's names, defaults,
 * messages and records:
 * - files named as TensorFlow's SummaryFileWriter names them: `events.out.tfevents.<secs>.<host>.v2`;
 * - scalars as TensorFlow's WriteScalarSummary op writes them (a float `simple_value`);
 * - histograms as tfjs-node writes them through the WriteSummary op: a float32 [k, 3] tensor of
 *   (left edge, right edge, count) rows with the `histograms` plugin's metadata (TensorBoard's
 *   TF2 histogram format), bucketed the way tfjs-node buckets (equal buckets over [min, max],
 *   in float32; one bucket [v - 0.5, v + 0.5] when all values are equal; none for no values);
 * - the writers are cached per logdir, and the callback writes `<logdir>/train` and
 *   `<logdir>/val` with `batch_`/`epoch_` tags at tfjs-node's steps.
 * Writes are queued and done with async fs calls (flush() returns a Promise; tfjs-node's
 * returns nothing); what is queued at process exit is written then.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import type { CustomCallback, LayersModel, Logs } from '@tensorflow/tfjs-layers';
import { EventFileWriter, makeLogDir, wallTime } from '../tensorboard/event-file-writer';
import { DT_FLOAT } from '../tensorboard/proto';
import type { EventInit, ValueInit } from '../tensorboard/proto';

function event(value: ValueInit, step: number): EventInit {
  const e: EventInit = { wallTime: wallTime(), summary: { value: [value] } };
  if (step) e.step = step;
  return e;
}

function isTensor(v: unknown): v is tf.Tensor {
  return v !== null && typeof v === 'object' && typeof (v as tf.Tensor).dataSync === 'function' && typeof (v as tf.Tensor).rank === 'number';
}

const f32 = Math.fround;

/**
 * tfjs-node's buckets (its NodeJSKernelBackend.buckets), in float32 as it computes them: rows
 * [left edge, right edge, count].
 */
export function histogramBuckets(values: Float32Array, bucketCount?: number): Float32Array {
  if (values.length === 0) return new Float32Array(0);
  const count = bucketCount !== undefined ? bucketCount : 30;
  tf.util.assert(Number.isInteger(count) && count > 0, () => `Expected bucket count to be a strictly positive integer, but it was ${count}`);
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = f32(max - min);
  if (range === 0) return Float32Array.of(min - 0.5, min + 0.5, values.length);
  const width = f32(range / count);
  const counts = new Float64Array(count);
  for (const v of values) counts[Math.min(Math.floor(f32(f32(v - min) / width)), count - 1)]++;
  // tf.linspace(min, max, count + 1) as TensorFlow's LinSpace kernel computes it, the last edge max
  const step = f32(f32(max - min) / count);
  const out = new Float32Array(count * 3);
  for (let i = 0; i < count; i++) {
    out[3 * i] = f32(min + f32(step * i));
    out[3 * i + 1] = i + 1 === count ? max : f32(min + f32(step * (i + 1)));
    out[3 * i + 2] = counts[i];
  }
  return out;
}

/**
 * A TensorBoard summary writer of tfjs-node's API (made by `summaryFileWriter()`).
 */
export class SummaryFileWriter {
  /** @internal */
  constructor(private readonly writer: EventFileWriter) {}

  /**
   * Writes a scalar summary.
   * @param name the summary's tag.
   * @param value a number or a `tf.Scalar`.
   * @param step an integer step.
   * @param description not supported (as in tfjs-node: passing one throws).
   */
  scalar(name: string, value: tf.Scalar | number, step: number, description?: string): void {
    if (description != null) throw new Error('scalar() does not support description yet');
    tf.util.assert(Number.isInteger(step), () => `step is expected to be an integer, but is instead ${step}`);
    let v: number;
    if (typeof value === 'number') v = value;
    else {
      tf.util.assert(isTensor(value), () => `Expected value to be a number or a tf.Scalar, but got ${typeof value}`);
      tf.util.assert(value.rank === 0, () => `A non-scalar tensor (rank ${value.rank}) is passed to writeScalarSummary()`);
      tf.util.assert(value.dtype !== 'string', () => 'SummaryFileWriter string not supported.');
      v = Number(value.dataSync()[0]);
    }
    this.writer.add(event({ tag: String(name), simpleValue: v }, step));
  }

  /**
   * Writes a histogram summary of the elements of `data` (any shape) in `buckets` equal
   * buckets (default 30), for TensorBoard's Histograms and Distributions dashboards.
   */
  histogram(name: string, data: tf.Tensor, step: number, buckets?: number, description?: string): void {
    tf.util.assert(Number.isInteger(step), () => `step is expected to be an integer, but is instead ${step}`);
    tf.util.assert(isTensor(data), () => `Expected data to be a tf.Tensor, but got ${typeof data}`);
    const rows = histogramBuckets(Float32Array.from(data.dataSync() as ArrayLike<number>), buckets);
    const k = rows.length / 3;
    const content = Buffer.alloc(rows.length * 4);
    for (let i = 0; i < rows.length; i++) content.writeFloatLE(rows[i], 4 * i);
    const value: ValueInit = {
      tag: String(name),
      metadata: {
        pluginData: { pluginName: 'histograms' },   // HistogramPluginData(version=0) serializes to no bytes
        ...(description ? { summaryDescription: description } : {}),
      },
      tensor: {
        dtype: DT_FLOAT,
        tensorShape: { dim: [k ? { size: k } : {}, { size: 3 }] },
        ...(content.length ? { tensorContent: content } : {}),
      },
    };
    this.writer.add(event(value, step));
  }

  /** Writes everything queued so far; the promise resolves when it is in the file. */
  flush(): Promise<void> {
    return this.writer.flush();
  }
}

/** One writer per logdir, as in tfjs-node (two writers on one logdir would write two files). */
const cache = new Map<string, SummaryFileWriter>();

/**
 * Creates a summary file writer for TensorBoard (tfjs-node's `tf.node.summaryFileWriter`).
 * @param logdir the directory to write event files into (created if missing).
 * @param maxQueue events queued before they are written (default 10).
 * @param flushMillis how often queued events are written, in ms (default 120000).
 * @param filenameSuffix the event file name's suffix (default '.v2').
 * @example
 * const writer = tf.node.summaryFileWriter('/tmp/tfjs_tb_logdir');
 * for (let step = 0; step < 100; ++step) writer.scalar('dummyValue', Math.sin(2 * Math.PI * step / 8), step);
 */
export function summaryFileWriter(logdir: string, maxQueue = 10, flushMillis = 120000, filenameSuffix = '.v2'): SummaryFileWriter {
  tf.util.assert(logdir != null && typeof logdir === 'string' && logdir.length > 0, () => `Invalid logdir: ${logdir}. Expected a non-empty string for logdir.`);
  let w = cache.get(logdir);
  if (w === undefined) {
    tf.util.assert(Number.isInteger(maxQueue) && maxQueue >= 0, () => `Expected maxQueue to be a non-negative integer, but got ${maxQueue}`);
    tf.util.assert(typeof flushMillis === 'number' && flushMillis > 0 && flushMillis < 2 ** 31, () => `Expected flushMillis to be a positive number of milliseconds, but got ${flushMillis}`);
    tf.util.assert(typeof filenameSuffix === 'string', () => `Expected filenameSuffix to be a string, but got ${filenameSuffix}`);
    makeLogDir(logdir, 'logdir');
    // TensorFlow's writer writes when more than maxQueue events are queued
    w = new SummaryFileWriter(new EventFileWriter(logdir, { maxQueue: maxQueue + 1, flushMillis, filenameSuffix, tensorflowName: true }));
    cache.set(logdir, w);
  }
  return w;
}

export interface TensorBoardCallbackArgs {
  /** 'epoch' (default): write the logs at the end of every epoch; 'batch': also at the end of every batch. */
  updateFreq?: 'batch' | 'epoch';
  /** Write histograms of the model's weights every this many epochs; 0 (default): never. */
  histogramFreq?: number;
}

/** The callback `tensorBoard()` returns: a tfjs-layers CustomCallback. */
export type TensorBoardCallback = CustomCallback & { readonly logdir: string };

type LayersModule = typeof import('@tensorflow/tfjs-layers');
type CallbackClass = new (logdir: string, args?: TensorBoardCallbackArgs) => TensorBoardCallback;

const LAYERS_FILE = /[\\/]@tensorflow[\\/]tfjs-layers[\\/]dist[\\/]tf-layers\.node\.js$/;
const classes = new Map<LayersModule, CallbackClass>();

/**
 * The tfjs-layers the program uses: model.fit() accepts only callbacks made from its own copy's
 * classes. The copy already loaded (by @tensorflow/tfjs or the program), else the one that
 * resolves from here.
 */
function layersModule(): LayersModule {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (mod !== undefined && LAYERS_FILE.test(file) && mod.loaded) return mod.exports as LayersModule;
  }
  return require('@tensorflow/tfjs-layers') as LayersModule;
}

function callbackClass(layers: LayersModule): CallbackClass {
  const cached = classes.get(layers);
  if (cached) return cached;
  class TensorBoardCallbackImpl extends layers.CustomCallback {
    private trainWriter: SummaryFileWriter | null = null;
    private valWriter: SummaryFileWriter | null = null;
    private batchesSeen = 0;
    private fitModel: LayersModel | null = null;
    private readonly args: Required<TensorBoardCallbackArgs>;

    constructor(readonly logdir = './logs', args?: TensorBoardCallbackArgs) {
      super({
        onBatchEnd: async (_batch: number, logs?: Logs) => {
          this.batchesSeen++;
          if (this.args.updateFreq !== 'epoch') this.logMetrics(logs, 'batch_', this.batchesSeen);
        },
        onEpochEnd: async (epoch: number, logs?: Logs) => {
          this.logMetrics(logs, 'epoch_', epoch + 1);
          if (this.args.histogramFreq > 0 && epoch % this.args.histogramFreq === 0) this.logWeights(epoch);
        },
        onTrainEnd: async () => {
          await Promise.all([this.trainWriter?.flush(), this.valWriter?.flush()]);
        },
      });
      const a = { ...(args ?? {}) };
      a.updateFreq ??= 'epoch';
      tf.util.assert(['batch', 'epoch'].indexOf(a.updateFreq) !== -1, () => `Expected updateFreq to be 'batch' or 'epoch', but got ${a.updateFreq}`);
      a.histogramFreq ??= 0;
      tf.util.assert(Number.isInteger(a.histogramFreq) && a.histogramFreq >= 0, () => `Expected histogramFreq to be a positive integer, but got ${a.histogramFreq}`);
      this.args = a as Required<TensorBoardCallbackArgs>;
    }

    override setModel(model: Parameters<CustomCallback['setModel']>[0]): void {
      this.fitModel = model as unknown as LayersModel;
    }

    private logMetrics(logs: Logs | undefined, prefix: string, step: number): void {
      for (const key in logs) {
        if (key === 'batch' || key === 'size' || key === 'num_steps') continue;
        if (key.startsWith('val_')) {
          this.valWriter = summaryFileWriter(path.join(this.logdir, 'val'));
          this.valWriter.scalar(prefix + key.slice(4), logs[key], step);
        } else {
          this.trainWriter = summaryFileWriter(path.join(this.logdir, 'train'));
          this.trainWriter.scalar(`${prefix}${key}`, logs[key], step);
        }
      }
    }

    private logWeights(step: number): void {
      this.trainWriter ??= summaryFileWriter(path.join(this.logdir, 'train'));
      for (const weights of this.fitModel?.weights ?? []) this.trainWriter.histogram(weights.name, weights.read(), step);
    }
  }
  const cls = TensorBoardCallbackImpl as unknown as CallbackClass;
  classes.set(layers, cls);
  return cls;
}

/**
 * A model.fit() callback that logs the loss and metrics to TensorBoard (tfjs-node's
 * `tf.node.tensorBoard`): `<logdir>/train` and `<logdir>/val` runs, tags `epoch_<name>` at step
 * epoch + 1 and, with updateFreq 'batch', `batch_<name>` at the number of batches seen; with
 * histogramFreq N, histograms of the weights every N epochs.
 * @example
 * await model.fit(xs, ys, { epochs: 100, validationData: [valXs, valYs], callbacks: tf.node.tensorBoard('/tmp/fit_logs_1') });
 * // tensorboard --logdir /tmp/fit_logs_1
 */
export function tensorBoard(logdir = './logs', args?: TensorBoardCallbackArgs): TensorBoardCallback {
  const Cls = callbackClass(layersModule());
  return new Cls(logdir, args);
}
