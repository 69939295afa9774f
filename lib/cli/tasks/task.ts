/** What a CLI task provides: its data, its model, its loss and metric, and optionally sampling. */
import type { Tensor } from '../../tensor';
import type { Module } from '../../nn/module';
import type { Batches } from '../../train/fit';

export interface TrainConfig {
  cell: 'lstm' | 'gru' | 'rnn';
  hidden: number;
  layers: number;
  bidirectional: boolean;
  dropout: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  limit: number | null;
}

export interface Prepared {
  train: Batches;
  valid: Batches;
  /** What the model and sampling need later (vocabulary …); saved in the run's config.json. */
  meta: Record<string, unknown>;
  summary: string;
}

export interface Metric { name: string; value: number; better: 'lower' | 'higher' }

export interface Task {
  name: string;
  summary: string;
  /** The npm or Debian packages the data comes from. */
  source: string;
  defaults: TrainConfig;
  prepare(cfg: TrainConfig): Prepared;
  build(cfg: TrainConfig, meta: Record<string, unknown>): Module;
  loss(output: Tensor, target: Tensor): Tensor;
  /** The task's metric from the validation loss (and the model, for metrics that need outputs). */
  metric(validLoss: number, model: Module, prepared: Prepared): Promise<Metric> | Metric;
  sample?(model: Module, meta: Record<string, unknown>, opts: { count: number; temperature: number; prompt: string; seed: number }): string[];
}
