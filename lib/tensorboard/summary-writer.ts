/**
 * torch.utils.tensorboard.SummaryWriter: PyTorch's writer of TensorBoard logs, with its names
 * in camelCase and its records byte for byte (scalars as simple_value, histograms as
 * HistogramProto with PyTorch's bins, text with the text plugin's metadata), written by
 * torchrnn itself (no TensorFlow, no Python).
 */
import * as os from 'os';
import * as path from 'path';
import { invalidArg } from '../errors';
import { Tensor } from '../tensor';
import { checkFinite, checkInt, checkOptions } from '../validate';
import { EventFileWriter, makeLogDir, wallTime } from './event-file-writer';
import type { EventInit, ValueInit } from './proto';
import { histogramValues, makeHistogram, scalarValue as scalarSummary, textValue } from './summary';

export interface SummaryWriterOptions {
  /** Appended to the default log directory's name; ignored when logDir is given (PyTorch's `comment`). Default ''. */
  comment?: string;
  /** Events queued before the writer writes them out. Default 10. */
  maxQueue?: number;
  /** How often queued events are written, in seconds. Default 120. */
  flushSecs?: number;
  /** Added to every event file's name. Default ''. */
  filenameSuffix?: string;
}

/** Values addHistogram takes: a Tensor, an array of numbers or a typed array. */
export type HistogramValues = Tensor | number[] | ArrayLike<number> | BigInt64Array | BigUint64Array;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** PyTorch's default log directory: runs/<Mon><DD>_<HH>-<MM>-<SS>_<hostname><comment>, in local time. */
export function defaultLogDir(comment = ''): string {
  const d = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${MONTHS[d.getMonth()]}${two(d.getDate())}_${two(d.getHours())}-${two(d.getMinutes())}-${two(d.getSeconds())}`;
  return path.join('runs', `${stamp}_${os.hostname()}${comment}`);
}

function checkTag(v: unknown, name: string): string {
  if (typeof v !== 'string') invalidArg('a string', name, v);
  return v;
}

function checkStep(v: unknown): number | undefined {
  return v === undefined || v === null ? undefined : checkInt(v, 'globalStep');
}

function checkWalltime(v: unknown): number {
  return v === undefined || v === null ? wallTime() : checkFinite(v, 'walltime');
}

/** A number, or the value of a one-element real Tensor. */
function scalarOf(v: unknown, name: string): number {
  if (typeof v === 'number') return v;
  if (v instanceof Tensor && v.numel() === 1 && v.dtype !== 'complex64' && v.dtype !== 'complex128') return Number(v.item());
  invalidArg('a number or a one-element real Tensor', name, v);
}

/**
 * Writes TensorBoard event files into `logDir`: scalars, histograms and text, each at a global
 * step. Events are written in the background; `flush()` and `close()` resolve when they are on
 * disk.
 * @example
 * const writer = new torch.utils.tensorboard.SummaryWriter('runs/exp1');
 * for (let step = 0; step < 100; step++) writer.addScalar('loss', Math.exp(-step / 20), step);
 * writer.addHistogram('weights', model.fc.weight, 100);
 * await writer.close();
 * // then: tensorboard --logdir runs
 */
export class SummaryWriter {
  /** The directory this writer writes into (PyTorch's `log_dir`). */
  readonly logDir: string;
  private readonly maxQueue: number;
  private readonly flushMillis: number;
  private readonly filenameSuffix: string;
  private fileWriter: EventFileWriter | null = null;
  /** The main writer and addScalars' writers, by directory. */
  private allWriters = new Map<string, EventFileWriter>();
  private closing: Promise<void> = Promise.resolve();

  constructor(logDir?: string, options?: SummaryWriterOptions) {
    const o = checkOptions<SummaryWriterOptions>(options, 'options', ['comment', 'maxQueue', 'flushSecs', 'filenameSuffix']);
    const comment = o.comment === undefined ? '' : checkTag(o.comment, 'comment');
    if (logDir !== undefined && logDir !== null && typeof logDir !== 'string') invalidArg('a directory path', 'logDir', logDir);
    this.maxQueue = o.maxQueue === undefined ? 10 : checkInt(o.maxQueue, 'maxQueue', { min: 1 });
    const flushSecs = o.flushSecs === undefined ? 120 : o.flushSecs;
    if (typeof flushSecs !== 'number' || !(flushSecs > 0) || flushSecs > 2 ** 31 / 1000) invalidArg('a number of seconds > 0', 'flushSecs', flushSecs);
    this.flushMillis = flushSecs * 1000;
    this.filenameSuffix = o.filenameSuffix === undefined ? '' : checkTag(o.filenameSuffix, 'filenameSuffix');
    // PyTorch: `if not log_dir`, so '' also means the default
    this.logDir = logDir ? logDir : defaultLogDir(comment);
    makeLogDir(this.logDir, 'logDir');
    this.getFileWriter();
  }

  /** The directory the event files are written into. */
  getLogdir(): string {
    return this.logDir;
  }

  /** The main event file writer, made again after close() (as PyTorch does). */
  private getFileWriter(): EventFileWriter {
    if (this.fileWriter === null) {
      this.fileWriter = this.newWriter(this.logDir);
      this.allWriters = new Map([[this.logDir, this.fileWriter]]);
    }
    return this.fileWriter;
  }

  private newWriter(dir: string): EventFileWriter {
    return new EventFileWriter(dir, { maxQueue: this.maxQueue, flushMillis: this.flushMillis, filenameSuffix: this.filenameSuffix });
  }

  private event(value: ValueInit, step: number | undefined, walltime: number): EventInit {
    const e: EventInit = { wallTime: walltime, summary: { value: [value] } };
    if (step) e.step = step;   // proto3 leaves a 0 step out, as PyTorch's files do
    return e;
  }

  /**
   * Adds a scalar: a number or a one-element Tensor.
   * @example writer.addScalar('loss/train', loss, step)
   */
  addScalar(tag: string, scalarValue: number | Tensor, globalStep?: number, walltime?: number): void {
    const value = scalarSummary(checkTag(tag, 'tag'), scalarOf(scalarValue, 'scalarValue'));
    const step = checkStep(globalStep);
    const time = checkWalltime(walltime);
    this.getFileWriter().add(this.event(value, step, time));
  }

  /**
   * Adds several scalars to one chart: each `tag` goes to its own run, the subdirectory
   * `<logDir>/<mainTag>_<tag>` ('/' in mainTag becomes '_'), under the tag `mainTag`.
   * @example writer.addScalars('loss', { train: 0.41, validation: 0.52 }, epoch)
   */
  addScalars(mainTag: string, tagScalarDict: Record<string, number | Tensor>, globalStep?: number, walltime?: number): void {
    checkTag(mainTag, 'mainTag');
    if (tagScalarDict === null || typeof tagScalarDict !== 'object' || Array.isArray(tagScalarDict) || tagScalarDict instanceof Tensor) {
      invalidArg('an object of tag → number', 'tagScalarDict', tagScalarDict);
    }
    const entries = Object.entries(tagScalarDict).map(([k, v]) => [k, scalarOf(v, `tagScalarDict.${k}`)] as const);
    const step = checkStep(globalStep);
    const time = checkWalltime(walltime);
    this.getFileWriter();
    for (const [tag, v] of entries) {
      const dir = `${this.logDir}/${mainTag.replace(/\//g, '_')}_${tag}`;
      let w = this.allWriters.get(dir);
      if (w === undefined) {
        makeLogDir(dir, 'tagScalarDict');
        w = this.newWriter(dir);
        this.allWriters.set(dir, w);
      }
      w.add(this.event(scalarSummary(mainTag, v), step, time));
    }
  }

  /**
   * Adds a histogram of `values`. `bins`: 'tensorflow' (PyTorch's default: exponential bins
   * ±1e-12·1.1^k) or a number of equal bins over [min, max], as numpy.histogram makes them;
   * `maxBins` merges neighbouring bins down to at most that many.
   * @example writer.addHistogram('fc.weight', model.fc.weight, epoch)
   */
  addHistogram(tag: string, values: HistogramValues, globalStep?: number, bins: 'tensorflow' | number = 'tensorflow', walltime?: number, maxBins?: number): void {
    checkTag(tag, 'tag');
    if (bins !== 'tensorflow' && (typeof bins !== 'number' || !Number.isSafeInteger(bins) || bins < 1)) invalidArg('"tensorflow" or an integer >= 1', 'bins', bins);
    const max = maxBins === undefined || maxBins === null ? undefined : checkInt(maxBins, 'maxBins', { min: 1 });
    const step = checkStep(globalStep);
    const time = checkWalltime(walltime);
    const histo = makeHistogram(histogramValues(values, 'values'), bins, max, 'values');
    this.getFileWriter().add(this.event({ tag, histo }, step, time));
  }

  /**
   * Adds text (shown as Markdown by TensorBoard's Text tab) under `<tag>/text_summary`.
   * @example writer.addText('config', '`hidden` 128, `layers` 2', 0)
   */
  addText(tag: string, textString: string, globalStep?: number, walltime?: number): void {
    const value = textValue(checkTag(tag, 'tag'), checkTag(textString, 'textString'));
    const step = checkStep(globalStep);
    const time = checkWalltime(walltime);
    this.getFileWriter().add(this.event(value, step, time));
  }

  /** Writes every queued event; resolves when they are in the files. */
  async flush(): Promise<void> {
    await Promise.all([...this.allWriters.values()].map((w) => w.flush()));
  }

  /**
   * Flushes and closes the event files. Resolves when they are closed; calling it again (even
   * before that) gives a promise that resolves after this one. Adding after close() starts
   * new event files, as PyTorch does.
   */
  close(): Promise<void> {
    const writers = [...this.allWriters.values()];
    this.fileWriter = null;
    this.allWriters = new Map();
    const before = this.closing;
    this.closing = Promise.all([before.catch(() => undefined), ...writers.map((w) => w.close())]).then(() => undefined);
    return this.closing;
  }
}
