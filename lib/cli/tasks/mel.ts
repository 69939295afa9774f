/**
 * Log-mel features, as torchaudio.transforms.MelSpectrogram computes them with its defaults:
 * a periodic Hann window of nFft samples, centred frames (the signal reflect-padded by nFft/2
 * on both sides), the power spectrum |STFT|², and a triangular filterbank on the HTK mel scale
 * (mel = 2595·log10(1 + f/700), torchaudio's melscale_fbanks with norm=None); then log(mel + 1e-6).
 */

const fftTables = new Map<number, { rev: Uint32Array; cos: Float64Array; sin: Float64Array }>();

/** In-place radix-2 FFT of (re, im), whose length is a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (n & (n - 1)) throw new Error(`fft length ${n} is not a power of two`);
  let t = fftTables.get(n);
  if (!t) {
    const rev = new Uint32Array(n);
    const bits = Math.log2(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      rev[i] = r;
    }
    const cos = Float64Array.from({ length: n / 2 }, (_, k) => Math.cos((-2 * Math.PI * k) / n));
    const sin = Float64Array.from({ length: n / 2 }, (_, k) => Math.sin((-2 * Math.PI * k) / n));
    t = { rev, cos, sin };
    fftTables.set(n, t);
  }
  const { rev, cos, sin } = t;
  for (let i = 0; i < n; i++) {
    const j = rev[i];
    if (i < j) {
      const r = re[i]; re[i] = re[j]; re[j] = r;
      const m = im[i]; im[i] = im[j]; im[j] = m;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const h = len >> 1;
    const stride = n / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < h; k++) {
        const a = i + k;
        const b = a + h;
        const cr = cos[k * stride];
        const ci = sin[k * stride];
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}

/** torch.hann_window(n) (periodic=True). */
export function hannWindow(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
}

/**
 * Power spectrogram [frames][nFft/2 + 1] of centred frames every `hop` samples (torch.stft with
 * center=True, pad_mode='reflect', a periodic Hann window, then |·|²).
 */
export function powerSpectrogram(x: Float32Array, nFft: number, hop: number): Float64Array[] {
  const pad = nFft >> 1;
  const len = x.length;
  const at = (i: number): number => {
    // reflect padding (no edge repeat), as torch's 'reflect' mode
    if (len === 1) return x[0];
    let j = i;
    while (j < 0 || j >= len) j = j < 0 ? -j : 2 * (len - 1) - j;
    return x[j];
  };
  const frames = 1 + Math.floor(len / hop);
  const win = hannWindow(nFft);
  const bins = (nFft >> 1) + 1;
  const out: Float64Array[] = [];
  const re = new Float64Array(nFft);
  const im = new Float64Array(nFft);
  for (let f = 0; f < frames; f++) {
    const start = f * hop - pad;
    for (let i = 0; i < nFft; i++) { re[i] = at(start + i) * win[i]; im[i] = 0; }
    fft(re, im);
    const p = new Float64Array(bins);
    for (let k = 0; k < bins; k++) p[k] = re[k] * re[k] + im[k] * im[k];
    out.push(p);
  }
  return out;
}

export const hzToMel = (f: number): number => 2595 * Math.log10(1 + f / 700);
export const melToHz = (m: number): number => 700 * (10 ** (m / 2595) - 1);

/**
 * The filterbank [nFreqs][nMels] (nFreqs = nFft/2 + 1), torchaudio.functional.melscale_fbanks
 * with mel_scale='htk' and norm=None: triangles between nMels + 2 points equally spaced in mel
 * from fMin to fMax, evaluated at the FFT bins' frequencies linspace(0, sampleRate // 2, nFreqs).
 */
export function melFilterbank(nFreqs: number, fMin: number, fMax: number, nMels: number, sampleRate: number): Float64Array[] {
  const freqs = Float64Array.from({ length: nFreqs }, (_, i) => (i * Math.floor(sampleRate / 2)) / (nFreqs - 1));
  const mMin = hzToMel(fMin);
  const mMax = hzToMel(fMax);
  const pts = Float64Array.from({ length: nMels + 2 }, (_, i) => melToHz(mMin + ((mMax - mMin) * i) / (nMels + 1)));
  const fb: Float64Array[] = [];
  for (let i = 0; i < nFreqs; i++) {
    const row = new Float64Array(nMels);
    for (let m = 0; m < nMels; m++) {
      const down = (freqs[i] - pts[m]) / (pts[m + 1] - pts[m]);
      const up = (pts[m + 2] - freqs[i]) / (pts[m + 2] - pts[m + 1]);
      row[m] = Math.max(0, Math.min(down, up));
    }
    fb.push(row);
  }
  return fb;
}

export interface MelOptions { sampleRate: number; nFft: number; hop: number; nMels: number; fMin: number; fMax: number }

/** log(mel power + 1e-6) as [frames × nMels] row-major, and the number of frames. */
export function logMel(x: Float32Array, o: MelOptions, fb = melFilterbank((o.nFft >> 1) + 1, o.fMin, o.fMax, o.nMels, o.sampleRate)): { data: Float32Array; frames: number } {
  const spec = powerSpectrogram(x, o.nFft, o.hop);
  // each filter is non-zero over a few bins only
  const ranges = Array.from({ length: o.nMels }, (_, m) => {
    let lo = 0;
    while (lo < fb.length && fb[lo][m] === 0) lo++;
    let hi = fb.length;
    while (hi > lo && fb[hi - 1][m] === 0) hi--;
    return [lo, hi];
  });
  const data = new Float32Array(spec.length * o.nMels);
  spec.forEach((p, f) => {
    for (let m = 0; m < o.nMels; m++) {
      let s = 0;
      for (let k = ranges[m][0]; k < ranges[m][1]; k++) s += p[k] * fb[k][m];
      data[f * o.nMels + m] = Math.log(s + 1e-6);
    }
  });
  return { data, frames: spec.length };
}
