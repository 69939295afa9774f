/**
 * Audio samples for the speech tasks: a small RIFF/WAVE reader and writer (PCM 8/16/24/32-bit
 * integer and 32-bit float, any channel count; mono float samples in [-1, 1] in memory),
 * band-limited resampling, and μ-law companding with torchaudio's formulas.
 */
import * as fs from 'fs';

export interface Audio {
  /** Mono samples in [-1, 1] (several channels are averaged when read). */
  samples: Float32Array;
  sampleRate: number;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Parses a WAV file's bytes; throws an Error that says what is wrong. */
export function decodeWav(buf: Buffer): Audio {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | null = null;
  let data: Buffer | null = null;
  let pos = 12;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('ascii', pos, pos + 4);
    // a streamed file (espeak-ng --stdout) leaves sizes at 0xffffffff: read to the end then
    const size = Math.min(buf.readUInt32LE(pos + 4), buf.length - pos - 8);
    const body = buf.subarray(pos + 8, pos + 8 + size);
    if (id === 'fmt ') {
      if (size < 16) throw new Error('fmt chunk too short');
      let format = body.readUInt16LE(0);
      if (format === WAVE_FORMAT_EXTENSIBLE && size >= 26) format = body.readUInt16LE(24);
      fmt = { format, channels: body.readUInt16LE(2), sampleRate: body.readUInt32LE(4), bits: body.readUInt16LE(14) };
    } else if (id === 'data') {
      data = body;
    }
    pos += 8 + size + (size & 1);
  }
  if (!fmt) throw new Error('no fmt chunk');
  if (!data) throw new Error('no data chunk');
  const { format, channels, sampleRate, bits } = fmt;
  if (channels < 1 || sampleRate < 1) throw new Error(`bad format: ${channels} channels at ${sampleRate} Hz`);
  const isFloat = format === WAVE_FORMAT_IEEE_FLOAT && bits === 32;
  if (!(isFloat || (format === WAVE_FORMAT_PCM && [8, 16, 24, 32].includes(bits)))) throw new Error(`unsupported sample format ${format} with ${bits} bits (PCM 8/16/24/32 or float 32 only)`);
  const width = bits / 8;
  const frames = Math.floor(data.length / (width * channels));
  const samples = new Float32Array(frames);
  if (bits === 16 && !isFloat) {
    // the common case without a call per sample (a copy aligns the data)
    const pcm = new Int16Array(Uint8Array.from(data.subarray(0, frames * channels * 2)).buffer);
    for (let i = 0; i < frames; i++) {
      let s = 0;
      for (let c = 0; c < channels; c++) s += pcm[i * channels + c];
      samples[i] = s / channels / 32768;
    }
    return { samples, sampleRate };
  }
  const read = (o: number): number => {
    if (isFloat) return data!.readFloatLE(o);
    if (bits === 8) return (data![o] - 128) / 128;
    if (bits === 24) return data!.readIntLE(o, 3) / 8388608;
    return data!.readInt32LE(o) / 2147483648;
  };
  for (let i = 0; i < frames; i++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += read((i * channels + c) * width);
    samples[i] = s / channels;
  }
  return { samples, sampleRate };
}

/** A mono 16-bit PCM WAV file's bytes (samples clipped to [-1, 1]). */
export function encodeWav(audio: Audio): Buffer {
  const n = audio.samples.length;
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + 2 * n, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(audio.sampleRate, 24);
  buf.writeUInt32LE(audio.sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) {
    const s = Math.max(-1, Math.min(1, audio.samples[i]));
    buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(s * 32768))), 44 + 2 * i);
  }
  return buf;
}

export function readWav(file: string): Audio {
  return decodeWav(fs.readFileSync(file));
}

export function writeWav(file: string, audio: Audio): void {
  fs.writeFileSync(file, encodeWav(audio));
}

/**
 * Band-limited resampling by windowed-sinc interpolation, as torchaudio.functional.resample's
 * defaults (Hann-windowed sinc, 6 zero crossings, cutoff 0.99 of the lower Nyquist frequency).
 */
export function resample(x: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return Float32Array.from(x);
  const rolloff = 0.99;
  const zeros = 6;
  const cutoff = (rolloff * Math.min(from, to)) / 2 / from; // in cycles per input sample
  const half = zeros / (2 * cutoff); // the filter's half width in input samples
  const g = gcd(from, to);
  const phases = to / g; // output j sits at input position j·from/to: its fraction repeats every `phases` outputs
  const step = from / g;
  const taps = new Map<number, { lo: number; w: Float64Array }>();
  const filter = (p: number) => {
    let f = taps.get(p);
    if (!f) {
      const centre = (p * step) / phases - Math.floor((p * step) / phases);
      const lo = Math.ceil(centre - half);
      const hi = Math.floor(centre + half);
      const w = new Float64Array(hi - lo + 1);
      for (let k = lo; k <= hi; k++) {
        const d = k - centre;
        const arg = 2 * cutoff * d;
        const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
        w[k - lo] = 2 * cutoff * sinc * (0.5 + 0.5 * Math.cos((Math.PI * d) / half));
      }
      f = { lo, w };
      if (phases <= 4096) taps.set(p, f);
    }
    return f;
  };
  const n = Math.floor((x.length * to) / from);
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const base = Math.floor((j * from) / to);
    const f = filter(j % phases);
    const lo = f.lo;
    const w = f.w;
    let s = 0;
    const k0 = base + lo;
    if (k0 >= 0 && k0 + w.length <= x.length) {
      for (let i = 0; i < w.length; i++) s += x[k0 + i] * w[i];
    } else {
      for (let i = 0; i < w.length; i++) if (k0 + i >= 0 && k0 + i < x.length) s += x[k0 + i] * w[i];
    }
    out[j] = s;
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** μ-law companding with μ = classes - 1: x in [-1, 1] → class in [0, classes) (torchaudio.functional.mu_law_encoding). */
export function muLawEncode(x: ArrayLike<number>, classes = 256): Int32Array {
  const mu = classes - 1;
  const l = Math.log1p(mu);
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.max(-1, Math.min(1, x[i]));
    const y = (Math.sign(v) * Math.log1p(mu * Math.abs(v))) / l;
    out[i] = Math.floor(((y + 1) / 2) * mu + 0.5);
  }
  return out;
}

/** The inverse: class → x in [-1, 1] (torchaudio.functional.mu_law_decoding). */
export function muLawDecode(q: ArrayLike<number>, classes = 256): Float32Array {
  const mu = classes - 1;
  const l = Math.log1p(mu);
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const y = (q[i] / mu) * 2 - 1;
    out[i] = (Math.sign(y) * Math.expm1(Math.abs(y) * l)) / mu;
  }
  return out;
}

/** The samples without the silence at both ends (|x| below `threshold`), keeping `margin` samples of it. */
export function trimSilence(x: Float32Array, threshold: number, margin = 0): Float32Array {
  let a = 0;
  while (a < x.length && Math.abs(x[a]) < threshold) a++;
  let b = x.length;
  while (b > a && Math.abs(x[b - 1]) < threshold) b--;
  return x.slice(Math.max(0, a - margin), Math.min(x.length, b + margin));
}
