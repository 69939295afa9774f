/** Pieces shared by the CLI's tasks: a seeded shuffle, recurrent cells by name, sequence losses. */
import * as nn from '../../nn';
import { Module } from '../../nn/module';
import { Tensor } from '../../tensor';
import type { TrainConfig } from './task';

/** mulberry32, for splits and sampling that do not depend on Math.random. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffled<T>(items: T[], seed: number): T[] {
  const a = [...items];
  const rand = prng(seed);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** The recurrent module the --cell option names. */
export function recurrent(cfg: TrainConfig, inputSize: number): nn.LSTM | nn.GRU | nn.RNN {
  const opts = { inputSize, hiddenSize: cfg.hidden, numLayers: cfg.layers, batchFirst: true, bidirectional: cfg.bidirectional, dropout: cfg.layers > 1 ? cfg.dropout : 0 };
  if (cfg.cell === 'gru') return new nn.GRU(opts);
  if (cfg.cell === 'rnn') return new nn.RNN(opts);
  return new nn.LSTM(opts);
}

/** Output of a recurrent module, whatever its kind. */
export function runRecurrent(rnn: Module, x: Tensor, lengths?: Tensor): Tensor {
  const [out] = (rnn as nn.LSTM).forward(x, lengths ? { lengths } : undefined) as [Tensor, unknown];
  return out;
}

/**
 * Mean cross-entropy over the positions whose target is >= 0 (padding is -100), for
 * [batch, time, classes] outputs and [batch, time] targets. Built from tensor operations,
 * so it traces into the fused training step.
 */
export function sequenceCrossEntropy(output: Tensor, target: Tensor): Tensor {
  const mask = target.ge(0).to('float32');
  const picked = output.logSoftmax(-1).gather(2, target.clamp(0).unsqueeze(2)).squeeze(2);
  return picked.mul(mask).sum().neg().div(mask.sum());
}

/** Sum of the per-position losses and the number of positions (for exact per-character figures). */
export function sequenceNll(output: Tensor, target: Tensor): [number, number] {
  const mask = target.ge(0).to('float32');
  const picked = output.logSoftmax(-1).gather(2, target.clamp(0).unsqueeze(2)).squeeze(2);
  return [-(picked.mul(mask).sum().item() as number), mask.sum().item() as number];
}
