/** What a CLI task provides: its data, its model, its loss and metric, and optionally sampling or prediction. */
import type { Tensor } from '../../tensor';
import type { Module } from '../../nn/module';
import type { Batches } from '../../train/fit';
import type { OptionSpec } from '../args';
import type { RecurrentKind } from '../../binding';

/** A task's own option values (--file, --fashion, --beam …), as parsed. */
export type TaskOptionValues = Record<string, string | number | boolean>;

export interface TrainConfig {
  cell: RecurrentKind;
  hidden: number;
  layers: number;
  bidirectional: boolean;
  dropout: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  limit: number | null;
  /** The task's own train options (see Task.trainOptions), defaults filled in. Saved in config.json. */
  options?: TaskOptionValues;
}

export interface Prepared {
  train: Batches;
  valid: Batches;
  /** What the model and sampling need later (vocabulary …); saved in the run's config.json. */
  meta: Record<string, unknown>;
  /** What the metric needs besides the batches (held-out words …); not saved. */
  data?: Record<string, unknown>;
  summary: string;
}

export interface Metric {
  name: string;
  value: number;
  better: 'lower' | 'higher';
  /** Other figures from the same evaluation (word accuracy, RMSE …), by name. */
  extra?: Record<string, number>;
  /** What the metric is compared with (a seasonal-naive forecast, a published figure), in the metric's unit. */
  baseline?: { name: string; value: number };
}

/** A task-specific option: the parser's spec, its help line and its default. */
export interface TaskOption extends OptionSpec {
  help: string;
  default?: string | number | boolean;
  /** The value's name in --help (default N, or text). */
  arg?: string;
  /** The commands that read it, for --help (default predict, or sample). */
  on?: string;
}

export interface SampleOptions {
  count: number; temperature: number; prompt: string; seed: number; options: TaskOptionValues;
  /** The run's directory: where a task that writes files (wavenet's WAV) puts them by default. */
  runDir: string;
}

/** A trained run as the sample/predict commands see it. */
export interface RunInfo { config: TrainConfig; meta: Record<string, unknown> }

export interface Task {
  name: string;
  summary: string;
  /** The npm or Debian packages the data comes from. */
  source: string;
  defaults: TrainConfig;
  /** Options of `train` that only this task has (--file …). */
  trainOptions?: Record<string, TaskOption>;
  /** Options of `sample`/`predict`/`evaluate` that only this task has (--length, --beam …). */
  useOptions?: Record<string, TaskOption>;
  /** Trace the model for the fused training step (default true); false for a forward with data-dependent control flow. */
  trace?: boolean;
  /** Clip the gradients' norm to this value at every step. Default: no clipping. */
  clipGradNorm?: number;
  prepare(cfg: TrainConfig): Prepared;
  build(cfg: TrainConfig, meta: Record<string, unknown>): Module;
  loss(output: Tensor, target: Tensor): Tensor;
  /** The task's metric from the validation loss (and the model, for metrics that need outputs). */
  metric(validLoss: number, model: Module, prepared: Prepared, options: TaskOptionValues): Promise<Metric> | Metric;
  /** Generation (language models): `torchrnn sample`. */
  sample?(model: Module, meta: Record<string, unknown>, opts: SampleOptions): string[];
  /** What sample uses when the command line does not say (names: 20 names at temperature 1). */
  sampleDefaults?: Partial<Pick<SampleOptions, 'count' | 'temperature' | 'prompt'>>;
  /** `torchrnn predict <run-dir> <input…>`: output lines for the inputs (words, texts, indices …). */
  predict?(model: Module, run: RunInfo, inputs: string[], options: TaskOptionValues): string[] | Promise<string[]>;
  /** What `predict` means for this task, for --help: `<word…>`. */
  predictUsage?: string;
  /** Inputs that `train` shows predictions for when it ends. */
  examples?: string[];
}
