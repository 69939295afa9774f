/**
 * A small WaveNet (van den Oord et al., 2016) over μ-law classes: an embedding of the current
 * sample's class, a stack of dilated causal convolutions (kernel 2, the input padded on the left
 * by the dilation, so output t sees inputs t − d and t only) with gated tanh·sigmoid units,
 * residual and skip 1×1 convolutions, and two 1×1 convolutions from the summed skips to the
 * next sample's class logits.
 *
 * Generation (Generator) runs in JS with cached activations (Paine et al., "Fast WaveNet"):
 * every layer keeps its last `dilation` inputs in a ring, so one sample costs one step of each
 * layer instead of a pass over the whole receptive field.
 */
import { noGrad } from '../../autograd';
import { constantPadNd } from '../../api/generated/torch';
import * as nn from '../../nn';
import { Tensor, tidy } from '../../tensor';
import { tensor } from '../../creation';
import { mulberry32 } from '../../random';
import { UsageError } from '../args';
import { Batch, sampleIndex } from './common';
import { clips, Utterance } from './speech-data';
import { muLawEncode } from './wav';

export interface WaveNetSize {
  /** Residual channels (the CLI's --hidden). */
  channels: number;
  /** Dilated layers (the CLI's --layers): dilations 1, 2, 4 … 2^(layers−1), then again from 1 past 2^9. */
  layers: number;
  skip: number;
  classes: number;
}

export const dilationsOf = (layers: number): number[] => Array.from({ length: layers }, (_, i) => 2 ** (i % 10));
/** Samples a prediction depends on: the current one and `receptiveField − 1` before it. */
export const receptiveField = (layers: number): number => 1 + dilationsOf(layers).reduce((a, b) => a + b, 0);

export class WaveNet extends nn.Module {
  embed: nn.Embedding;
  dilated: nn.ModuleList;
  residual: nn.ModuleList;
  skip: nn.ModuleList;
  out1: nn.Conv1d;
  out2: nn.Conv1d;
  readonly dilations: number[];
  constructor(readonly size: WaveNetSize) {
    super();
    const { channels: r, skip: s, classes } = size;
    this.dilations = dilationsOf(size.layers);
    this.embed = new nn.Embedding(classes, r);
    this.dilated = new nn.ModuleList(this.dilations.map((d) => new nn.Conv1d(r, 2 * r, 2, { dilation: d })));
    // the last layer's residual output would go nowhere: it has none
    this.residual = new nn.ModuleList(this.dilations.slice(1).map(() => new nn.Conv1d(r, r, 1)));
    this.skip = new nn.ModuleList(this.dilations.map(() => new nn.Conv1d(r, s, 1)));
    this.out1 = new nn.Conv1d(s, s, 1);
    this.out2 = new nn.Conv1d(s, classes, 1);
  }

  /** [batch, time] int64 classes → [batch, time, classes] logits of the next sample. */
  forward(x: Tensor): Tensor {
    const r = this.size.channels;
    let h = this.embed.forward(x).transpose(1, 2);
    let skips: Tensor | null = null;
    this.dilations.forEach((d, l) => {
      const z = (this.dilated.at(l) as nn.Conv1d).forward(constantPadNd(h, [d, 0]));
      const a = z.narrow(1, 0, r).tanh().mul(z.narrow(1, r, r).sigmoid());
      const s = (this.skip.at(l) as nn.Conv1d).forward(a);
      skips = skips ? skips.add(s) : s;
      if (l < this.dilations.length - 1) h = h.add((this.residual.at(l) as nn.Conv1d).forward(a));
    });
    return this.out2.forward(this.out1.forward(skips!.relu()).relu()).transpose(1, 2);
  }
}

/** A 1×1 (or one tap of a) convolution's weights as row-major [out][in] and its bias. */
interface Dense { w: Float32Array; b: Float32Array; out: number; inp: number }

function dense(conv: nn.Conv1d, tap = 0, withBias = true): Dense {
  return noGrad(() => tidy(() => {
    const w = conv.weight; // [out, in, k]
    const [out, inp] = w.shape;
    return {
      w: Float32Array.from(w.select(2, tap).contiguous().dataSync() as Float32Array),
      b: withBias && conv.bias ? Float32Array.from(conv.bias.dataSync() as Float32Array) : new Float32Array(out),
      out, inp,
    };
  }));
}

/** y = W x + b (y += when `add`). */
function apply(d: Dense, x: Float32Array, y: Float32Array, add = false): void {
  const { w, b, out, inp } = d;
  for (let o = 0; o < out; o++) {
    let s = b[o];
    const row = o * inp;
    for (let i = 0; i < inp; i++) s += w[row + i] * x[i];
    y[o] = add ? y[o] + s : s;
  }
}

/** Incremental generation from a trained WaveNet's weights (copied once). */
export class Generator {
  private readonly embed: Float32Array;
  private readonly past: Dense[];
  private readonly now: Dense[];
  private readonly res: Dense[];
  private readonly skp: Dense[];
  private readonly o1: Dense;
  private readonly o2: Dense;
  /** Each layer's input at the last `dilation` steps (a ring). */
  private readonly rings: Float32Array[];
  private t = 0;
  private readonly r: number;
  private readonly dil: number[];
  private readonly buf: Record<'h' | 'next' | 'z' | 'zPast' | 'a' | 'skips' | 'o' | 'logits', Float32Array>;

  constructor(model: WaveNet) {
    this.r = model.size.channels;
    this.dil = model.dilations;
    this.embed = noGrad(() => Float32Array.from(model.embed.weight.dataSync() as Float32Array));
    const convs = model.dilations.map((_, l) => model.dilated.at(l) as nn.Conv1d);
    this.past = convs.map((c) => dense(c, 0, false));
    this.now = convs.map((c) => dense(c, 1));
    this.res = model.dilations.slice(1).map((_, l) => dense(model.residual.at(l) as nn.Conv1d));
    this.skp = model.dilations.map((_, l) => dense(model.skip.at(l) as nn.Conv1d));
    this.o1 = dense(model.out1);
    this.o2 = dense(model.out2);
    this.rings = this.dil.map((d) => new Float32Array(d * this.r));
    const r = this.r;
    this.buf = {
      h: new Float32Array(r), next: new Float32Array(r), z: new Float32Array(2 * r), zPast: new Float32Array(2 * r), a: new Float32Array(r),
      skips: new Float32Array(this.skp[0].out), o: new Float32Array(this.o1.out), logits: new Float32Array(this.o2.out),
    };
  }

  /** Feeds one sample's class; returns the logits of the next one (a buffer that the next step overwrites). */
  step(cls: number): Float32Array {
    const r = this.r;
    const { h, next, z, zPast, a, skips, o, logits } = this.buf;
    h.set(this.embed.subarray(cls * r, (cls + 1) * r));
    skips.fill(0);
    this.dil.forEach((d, l) => {
      const ring = this.rings[l];
      const slot = (this.t % d) * r;
      apply(this.now[l], h, z);
      apply(this.past[l], ring.subarray(slot, slot + r), zPast);
      ring.set(h, slot);
      for (let i = 0; i < r; i++) a[i] = Math.tanh(z[i] + zPast[i]) / (1 + Math.exp(-(z[r + i] + zPast[r + i])));
      apply(this.skp[l], a, skips, true);
      if (l < this.dil.length - 1) {
        apply(this.res[l], a, next);
        for (let i = 0; i < r; i++) h[i] += next[i];
      }
    });
    this.t++;
    for (let i = 0; i < skips.length; i++) skips[i] = Math.max(0, skips[i]);
    apply(this.o1, skips, o);
    for (let i = 0; i < o.length; i++) o[i] = Math.max(0, o[i]);
    apply(this.o2, o, logits);
    return logits;
  }

  /**
   * Feeds `prime` (classes), then draws `count` more at `temperature`, each fed back as the
   * next input; returns the drawn classes.
   */
  generate(prime: number[], count: number, temperature: number, rand: () => number): number[] {
    let logits: Float32Array = new Float32Array(0);
    for (const c of prime) logits = this.step(c);
    const out: number[] = [];
    const probs = new Float64Array(logits.length);
    for (let k = 0; k < count; k++) {
      let max = -Infinity;
      for (const v of logits) max = Math.max(max, v / temperature);
      let sum = 0;
      for (let i = 0; i < logits.length; i++) { probs[i] = Math.exp(logits[i] / temperature - max); sum += probs[i]; }
      for (let i = 0; i < probs.length; i++) probs[i] /= sum;
      const c = sampleIndex(probs, rand());
      out.push(c);
      if (k < count - 1) logits = this.step(c);
    }
    return out;
  }
}

// ---- the wavenet task's data -----------------------------------------------------------------

export const CLASSES = 256;
/** Scored samples per training window (each window also holds the receptive field before them). */
export const WINDOW = 2048;

/** The clips of a plan, μ-law encoded and joined into one stream. */
export function stream(utts: Utterance[]): Int32Array {
  const cs = clips(utts);
  const all = new Float32Array(cs.reduce((n, c) => n + c.samples.length, 0));
  let at = 0;
  for (const c of cs) { all.set(c.samples, at); at += c.samples.length; }
  return muLawEncode(all, CLASSES);
}

/** [input, target] of stream[a, a + n): targets are the next samples, -100 (not scored) for the first `context` positions. */
export function windowBatch(s: Int32Array, starts: number[], n: number, context: number): Batch {
  const x = new Int32Array(starts.length * n);
  const y = new Int32Array(starts.length * n);
  starts.forEach((a, b) => {
    for (let j = 0; j < n; j++) {
      x[b * n + j] = s[a + j];
      y[b * n + j] = j < context ? -100 : s[a + j + 1];
    }
  });
  return [tensor(x, { shape: [starts.length, n], dtype: 'int64' }), tensor(y, { shape: [starts.length, n], dtype: 'int64' })];
}

/** `steps` batches of random windows per epoch, redrawn every epoch (seed + epoch). */
export class RandomWindows implements Iterable<Batch> {
  private epoch = 0;
  constructor(private readonly s: Int32Array, private readonly batch: number, readonly length: number, private readonly context: number, private readonly seed: number) {
    if (s.length < WINDOW + context + 2) throw new UsageError(`${s.length} training samples are too few for windows of ${WINDOW + context + 1} (raise --limit)`);
  }
  *[Symbol.iterator](): Iterator<Batch> {
    const rand = mulberry32(this.seed * 7919 + this.epoch++);
    const n = WINDOW + this.context;
    for (let k = 0; k < this.length; k++) {
      const starts = Array.from({ length: this.batch }, () => Math.floor(rand() * (this.s.length - n - 1)));
      yield tidy(() => windowBatch(this.s, starts, n, this.context));
    }
  }
}

/** Bits of each sample of `test` under the training stream's μ-law histogram (add-one smoothed), and that histogram's entropy. */
export function unigram(train: Int32Array, test: Int32Array, from: number): { bits: number; entropy: number } {
  const counts = new Float64Array(CLASSES).fill(1);
  for (const c of train) counts[c]++;
  const total = counts.reduce((a, b) => a + b, 0);
  let bits = 0;
  for (let i = from; i < test.length; i++) bits -= Math.log2(counts[test[i]] / total);
  const entropy = -counts.reduce((h, c) => h + (c / total) * Math.log2(c / total), 0);
  return { bits: bits / (test.length - from), entropy };
}
