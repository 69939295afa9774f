/**
 * `speech`: spoken-digit recognition. The words "zero" to "nine" spoken by espeak-ng voices at
 * random speeds and pitches (speech-data.ts) become 40 log-mel bands every 10 ms (mel.ts: 8 kHz,
 * 256-point periodic Hann frames, HTK mel scale, as torchaudio's MelSpectrogram), one second per
 * word (silence in front); two Conv1d layers (the second with stride 2) read the bands, a GRU
 * reads the convolutions' output and a Linear layer maps its last output to the 10 words.
 * Reports accuracy on voices never heard in training (HELD_OUT) against the majority class.
 * `predict` classifies WAV files, or words that espeak-ng speaks with --voice.
 */
import * as fs from 'fs';
import * as path from 'path';
import { noGrad } from '../../autograd';
import { tensor } from '../../creation';
import * as nn from '../../nn';
import { Module } from '../../nn/module';
import { cat } from '../../ops';
import { mulberry32 } from '../../random';
import { Tensor, tidy } from '../../tensor';
import { UsageError } from '../args';
import { argmaxOf, Batcher, classCrossEntropy, recurrent, runRecurrent, sequenceCrossEntropy, sequenceNll, shuffled } from './common';
import { logMel, melFilterbank } from './mel';
import { clips, DIGIT_WORDS, espeak, HELD_OUT, plan, SAMPLE_RATE, speak, voiceSplit } from './speech-data';
import type { Metric, Prepared, Task, TrainConfig } from './task';
import { muLawDecode, muLawEncode, readWav, resample, trimSilence, writeWav } from './wav';
import { CLASSES, Generator, RandomWindows, receptiveField, stream, unigram, WaveNet, WINDOW, windowBatch } from './wavenet';

export const MEL = { sampleRate: SAMPLE_RATE, nFft: 256, hop: 80, nMels: 40, fMin: 20, fMax: SAMPLE_RATE / 2 };
/** One second per word: longer clips lose their end, shorter ones get silence in front. */
const CLIP = SAMPLE_RATE;
export const FRAMES = 1 + Math.floor(CLIP / MEL.hop);
const CHANNELS = 64;
const DEFAULT_VOICE = `en-us+${HELD_OUT[0]}`;

const bank = melFilterbank((MEL.nFft >> 1) + 1, MEL.fMin, MEL.fMax, MEL.nMels, MEL.sampleRate);

/** [FRAMES × nMels] log-mel bands of a clip, fitted to one second. */
export function features(samples: Float32Array): Float32Array {
  const x = new Float32Array(CLIP);
  const n = Math.min(CLIP, samples.length);
  x.set(samples.subarray(0, n), CLIP - n);
  return logMel(x, MEL, bank).data;
}

interface Example { x: Float32Array; label: number }

function normalize(x: Float32Array, mean: number[], std: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] - mean[i % MEL.nMels]) / std[i % MEL.nMels];
  return out;
}

/** Per-band mean and standard deviation over the training frames. */
function bandStats(examples: Example[]): { mean: number[]; std: number[] } {
  const sum = new Float64Array(MEL.nMels);
  const sq = new Float64Array(MEL.nMels);
  for (const { x } of examples) for (let i = 0; i < x.length; i++) { sum[i % MEL.nMels] += x[i]; sq[i % MEL.nMels] += x[i] * x[i]; }
  const n = examples.length * FRAMES;
  const mean = Array.from(sum, (s) => s / n);
  return { mean, std: Array.from(sq, (s, m) => Math.sqrt(Math.max(1e-8, s / n - mean[m] ** 2))) };
}

function batches(examples: Example[], batchSize: number, shuffle: boolean, seed: number): Batcher<Example> {
  return new Batcher(examples, {
    batchSize, shuffle, seed,
    collate: (items) => {
      const x = new Float32Array(items.length * FRAMES * MEL.nMels);
      items.forEach((it, i) => x.set(it.x, i * FRAMES * MEL.nMels));
      return [tensor(x, { shape: [items.length, FRAMES, MEL.nMels] }), tensor(Int32Array.from(items, (it) => it.label), { dtype: 'int64' })];
    },
  });
}

export class SpeechNet extends nn.Module {
  conv1: nn.Conv1d;
  conv2: nn.Conv1d;
  rnn: Module;
  head: nn.Linear;
  private readonly bidirectional: boolean;
  private readonly hidden: number;
  constructor(cfg: TrainConfig) {
    super();
    this.conv1 = new nn.Conv1d(MEL.nMels, CHANNELS, 5, { padding: 2 });
    this.conv2 = new nn.Conv1d(CHANNELS, CHANNELS, 5, { stride: 2, padding: 2 });
    this.rnn = recurrent(cfg, CHANNELS);
    this.head = new nn.Linear(cfg.hidden * (cfg.bidirectional ? 2 : 1), 10);
    this.bidirectional = cfg.bidirectional;
    this.hidden = cfg.hidden;
  }
  /** [batch, frames, bands] → [batch, 10] logits. */
  forward(x: Tensor): Tensor {
    const h = this.conv2.forward(this.conv1.forward(x.transpose(1, 2)).relu()).relu().transpose(1, 2);
    const out = runRecurrent(this.rnn, h);
    // the forward direction after the last frame, the backward one after the first
    const last = this.bidirectional ? cat([out.select(1, -1).narrow(1, 0, this.hidden), out.select(1, 0).narrow(1, this.hidden, this.hidden)], 1) : out.select(1, -1);
    return this.head.forward(last);
  }
}

function split(cfg: TrainConfig) {
  const voices = voiceSplit();
  let train = shuffled(plan(voices.train, 3, cfg.seed), cfg.seed + 1);
  let test = shuffled(plan(voices.test, 3, cfg.seed), cfg.seed + 2);
  if (cfg.limit !== null) {
    train = train.slice(0, cfg.limit);
    test = test.slice(0, Math.max(20, Math.round(cfg.limit / 5)));
  }
  return { voices, train, test };
}

function accuracy(model: Module, prepared: Prepared): number {
  let right = 0;
  let n = 0;
  model.eval();
  for (const [x, y] of prepared.valid as Iterable<[Tensor, Tensor]>) {
    const pred = argmaxOf(noGrad(() => tidy(() => (model as SpeechNet).forward(x))));
    const labels = Array.from(y.dataSync() as BigInt64Array, Number);
    pred.forEach((p, i) => { if (p === labels[i]) right++; });
    n += labels.length;
    x.dispose();
    y.dispose();
  }
  return (100 * right) / n;
}

/** A WAV file's audio at 8 kHz, silent ends trimmed, or a UsageError. */
function wavClip(file: string): Float32Array {
  let audio;
  try {
    audio = readWav(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file} as a WAV file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return trimSilence(resample(audio.samples, audio.sampleRate, SAMPLE_RATE), 0.01, SAMPLE_RATE / 20);
}

export const speech: Task = {
  name: 'speech',
  summary: 'spoken digits "zero".."nine" (espeak-ng voices): log-mel → Conv1d → GRU; accuracy on held-out voices',
  source: "Debian's espeak-ng, synthesized once into ~/.cache/torchrnn (TORCHRNN_CACHE_DIR)",
  defaults: { cell: 'gru', hidden: 128, layers: 1, bidirectional: false, dropout: 0, epochs: 8, batch: 32, lr: 2e-3, seed: 0, limit: null },
  useOptions: {
    voice: { type: 'string', arg: 'accent+variant', default: DEFAULT_VOICE, help: 'the espeak-ng voice that speaks predict\'s words (wavenet: sample\'s --prompt)', on: 'predict/sample' },
  },
  clipGradNorm: 5,

  prepare(cfg) {
    const { voices, train, test } = split(cfg);
    const toExamples = (cs: ReturnType<typeof clips>): Example[] => cs.map((c) => ({ x: features(c.samples), label: c.word }));
    const trainRaw = toExamples(clips(train));
    const testRaw = toExamples(clips(test));
    const { mean, std } = bandStats(trainRaw);
    const norm = (ex: Example[]) => ex.map((e) => ({ x: normalize(e.x, mean, std), label: e.label }));
    const counts = new Array<number>(10).fill(0);
    for (const e of trainRaw) counts[e.label]++;
    const majority = counts.indexOf(Math.max(...counts));
    return {
      train: batches(norm(trainRaw), cfg.batch, true, cfg.seed),
      valid: batches(norm(testRaw), 256, false, 0),
      meta: { words: DIGIT_WORDS, mean, std, majority, espeak: espeak().version, trainVoices: voices.train.length, heldOutVoices: voices.test },
      data: { majorityAccuracy: (100 * testRaw.filter((e) => e.label === majority).length) / testRaw.length },
      summary: `espeak-ng ${espeak().version}: ${train.length.toLocaleString('en-US')} training words from ${voices.train.length} voice variants, ${test.length} test words from ${voices.test.length} held-out ones (${voices.test.join(', ')}); ${FRAMES} frames × ${MEL.nMels} log-mel bands`,
    };
  },

  build(cfg) { return new SpeechNet(cfg); },
  loss: classCrossEntropy,

  metric(_validLoss, model, prepared): Metric {
    const majority = prepared.data!.majorityAccuracy as number;
    return { name: 'held-out voice accuracy (%)', value: accuracy(model, prepared), better: 'higher', baseline: { name: 'the majority class', value: majority } };
  },

  predictUsage: '<file.wav | word…> [--voice accent+variant]',
  examples: ['zero', 'three', 'seven', 'nine'],
  predict(model, run, inputs, options) {
    if (inputs.length === 0) throw new UsageError('predict needs WAV files or words: torchrnn predict <run-dir> <file.wav | word…>');
    const mean = run.meta.mean as number[];
    const std = run.meta.std as number[];
    const voice = String(options.voice ?? DEFAULT_VOICE);
    const xs = inputs.map((s) => normalize(features(/\.wav$/i.test(s) || fs.existsSync(s) ? wavClip(s) : speak(s, voice)), mean, std));
    const flat = new Float32Array(xs.length * FRAMES * MEL.nMels);
    xs.forEach((x, i) => flat.set(x, i * FRAMES * MEL.nMels));
    const probs = noGrad(() => tidy(() => Array.from((model as SpeechNet).forward(tensor(flat, { shape: [xs.length, FRAMES, MEL.nMels] })).softmax(-1).dataSync() as Float32Array)));
    return inputs.map((s, i) => {
      const p = probs.slice(i * 10, i * 10 + 10);
      const best = p.indexOf(Math.max(...p));
      return `${s}: ${DIGIT_WORDS[best]} (p ${p[best].toFixed(3)})`;
    });
  },
};

// ---- wavenet ---------------------------------------------------------------------------------

const DEFAULT_WAV = 'wavenet-sample.wav';

export const wavenet: Task = {
  name: 'wavenet',
  summary: 'a small WaveNet (dilated causal Conv1d, gated units, μ-law 256) on espeak-ng speech; test bits per sample; sample writes a WAV',
  source: "Debian's espeak-ng (as speech), 8 kHz",
  defaults: { cell: 'gru', hidden: 32, layers: 8, bidirectional: false, dropout: 0, epochs: 6, batch: 8, lr: 3e-3, seed: 0, limit: null },
  trainOptions: {
    steps: { type: 'int', min: 1, max: 1000000, default: 25, help: `batches of random ${WINDOW}-sample windows per epoch (wavenet; --hidden: residual channels, --layers: dilated layers)` },
  },
  useOptions: {
    voice: speech.useOptions!.voice,
    seconds: { type: 'number', min: 0.01, max: 600, default: 1, help: 'seconds of audio that sample generates', on: 'sample' },
    wav: { type: 'string', arg: 'file', help: `where sample writes its WAV (file-1.wav … with --count; default <run-dir>/${DEFAULT_WAV})`, on: 'sample' },
  },
  clipGradNorm: 1,

  prepare(cfg) {
    const voices = voiceSplit();
    let trainU = shuffled(plan(voices.train, 1, cfg.seed), cfg.seed + 1);
    let testU = shuffled(plan(voices.test, 1, cfg.seed), cfg.seed + 2);
    if (cfg.limit !== null) { trainU = trainU.slice(0, cfg.limit); testU = testU.slice(0, Math.max(10, Math.round(cfg.limit / 5))); }
    const train = stream(trainU);
    const test = stream(testU);
    const context = receptiveField(cfg.layers) - 1;
    // the test stream in windows whose scored parts tile it from sample context + 1 to the end
    const n = 4 * WINDOW + context;
    const starts: number[] = [];
    for (let a = 0; a + context + 1 < test.length; a += n - context) starts.push(a);
    const valid = new Batcher(starts, {
      batchSize: 8, groupBy: (a) => Math.min(n, test.length - 1 - a),
      collate: (as) => windowBatch(test, as, Math.min(n, test.length - 1 - as[0]), context),
    });
    const steps = (cfg.options?.steps as number | undefined) ?? 25;
    const u = unigram(train, test, context + 1);
    return {
      train: new RandomWindows(train, cfg.batch, steps, context, cfg.seed),
      valid,
      meta: { sampleRate: SAMPLE_RATE, classes: CLASSES, receptiveField: context + 1, espeak: espeak().version },
      data: u,
      summary: `espeak-ng ${espeak().version}: ${(train.length / SAMPLE_RATE).toFixed(0)} s of training speech (${trainU.length} words, ${voices.train.length} voices), ${(test.length / SAMPLE_RATE).toFixed(0)} s of test speech (${testU.length} words, held-out voices) at ${SAMPLE_RATE} Hz, μ-law ${CLASSES}; receptive field ${context + 1} samples (${((1000 * (context + 1)) / SAMPLE_RATE).toFixed(0)} ms); ${steps} batches of ${cfg.batch} × ${WINDOW} samples per epoch`,
    };
  },

  build(cfg) { return new WaveNet({ channels: cfg.hidden, layers: cfg.layers, skip: 2 * cfg.hidden, classes: CLASSES }); },
  loss: sequenceCrossEntropy,

  metric(_validLoss, model, prepared): Metric {
    let nll = 0;
    let count = 0;
    model.eval();
    for (const [x, y] of prepared.valid as Iterable<[Tensor, Tensor]>) {
      const [s, k] = noGrad(() => tidy(() => sequenceNll((model as WaveNet).forward(x), y)));
      nll += s;
      count += k;
      x.dispose();
      y.dispose();
    }
    const u = prepared.data as { bits: number; entropy: number };
    return { name: 'test bits per sample', value: nll / count / Math.LN2, better: 'lower', baseline: { name: 'the μ-law unigram of the training audio', value: u.bits }, extra: { 'training μ-law entropy (bits)': u.entropy } };
  },

  sampleDefaults: { count: 1, temperature: 1, prompt: '' },
  sample(model, _meta, { count, temperature, prompt, seed, options, runDir }) {
    const seconds = (options.seconds as number | undefined) ?? 1;
    // --wav as given (relative to the working directory); by default in the run's directory
    const file = options.wav === undefined || options.wav === DEFAULT_WAV ? path.join(runDir, DEFAULT_WAV) : String(options.wav);
    // a prompt is spoken by espeak-ng and primes the generator; the file holds it too
    const spoken = prompt ? Array.from(muLawEncode(speak(prompt, String(options.voice ?? DEFAULT_VOICE)), CLASSES)) : [];
    const prime = spoken.length ? spoken : [muLawEncode([0], CLASSES)[0]];
    const rand = mulberry32(seed);
    const out: string[] = [];
    for (let k = 0; k < count; k++) {
      const t0 = Date.now();
      const drawn = new Generator(model as WaveNet).generate(prime, Math.round(seconds * SAMPLE_RATE), temperature, rand);
      const name = count > 1 ? file.replace(/(\.wav)?$/i, `-${k + 1}.wav`) : file;
      writeWav(name, { samples: muLawDecode([...spoken, ...drawn], CLASSES), sampleRate: SAMPLE_RATE });
      out.push(`wrote ${name}: ${spoken.length ? `"${prompt}" (${(spoken.length / SAMPLE_RATE).toFixed(2)} s) then ` : ''}${drawn.length.toLocaleString('en-US')} generated samples (${seconds} s at ${SAMPLE_RATE} Hz) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    return out;
  },
};
