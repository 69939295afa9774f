// The speech tasks: the audio pieces they are built from (WAV files, μ-law, resampling, log-mel
// features, the WaveNet's causality and its incremental generator) and both tasks end to end on
// a --limit slice through the built CLI. espeak-ng is required (scripts/setup.sh installs it).
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { melFilterbank, logMel, powerSpectrogram, hzToMel } from '../lib/cli/tasks/mel';
import { decodeWav, encodeWav, muLawDecode, muLawEncode, readWav, resample } from '../lib/cli/tasks/wav';
import { Generator, receptiveField, WaveNet } from '../lib/cli/tasks/wavenet';
import { checkTrainRun, CLI_BIN as BIN, RunReport, runCli, tmpDir } from './helpers';

const haveEspeak = !spawnSync('espeak-ng', ['--version']).error;

function closeAll(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const bound = tol * Math.max(1, Math.abs(expected[i]));
    assert.ok(Math.abs(actual[i] - expected[i]) <= bound, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('speech tasks: audio pieces', () => {
  it('μ-law: torchaudio\'s encoding and decoding (μ = 255) and their round trip', () => {
    // torchaudio.functional.mu_law_encoding / mu_law_decoding of these values
    assert.deepStrictEqual(Array.from(muLawEncode([-1, -0.5, -0.01, 0, 0.001, 0.01, 0.1, 0.5, 1])), [0, 16, 98, 128, 133, 157, 203, 239, 255]);
    closeAll(muLawDecode([0, 1, 64, 127, 128, 129, 200, 255]),
      [-1, -0.9572737086635956, -0.05814500388034754, -8.621159565072034e-05, 8.621159565072034e-05, 0.00026436226853700933, 0.08788022623483743, 1], 1e-6, 'decode');
    const classes = Array.from({ length: 256 }, (_, i) => i);
    assert.deepStrictEqual(Array.from(muLawEncode(muLawDecode(classes))), classes);
    const x = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 0.37) * 0.8);
    const back = muLawDecode(muLawEncode(x));
    // the quantization error of μ-law grows with the amplitude: under 3 % of it plus 1e-4
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(back[i] - x[i]) <= 0.03 * Math.abs(x[i]) + 1e-4, `${x[i]} → ${back[i]}`);
  });

  it('WAV: 16-bit write/read round trip, float and stereo files, and espeak-ng\'s own files', () => {
    const samples = Float32Array.from({ length: 501 }, (_, i) => Math.sin(i / 7) * 0.9);
    const buf = encodeWav({ samples, sampleRate: 8000 });
    assert.strictEqual(buf.length, 44 + 2 * 501);
    assert.strictEqual(buf.toString('ascii', 0, 4), 'RIFF');
    assert.strictEqual(buf.readUInt32LE(4), buf.length - 8);
    const back = decodeWav(buf);
    assert.strictEqual(back.sampleRate, 8000);
    for (let i = 0; i < samples.length; i++) assert.ok(Math.abs(back.samples[i] - samples[i]) <= 1 / 32768, `sample ${i}`);
    assert.ok(encodeWav(back).equals(buf), 'written again: the same bytes');
    // a 32-bit float stereo file (WAVE_FORMAT_IEEE_FLOAT) with an odd-sized chunk before the data: channels are averaged
    const frames = [[0.5, -0.25], [1, 1], [-1, 0]];
    const data = Buffer.alloc(frames.length * 8);
    frames.forEach(([l, r], i) => { data.writeFloatLE(l, i * 8); data.writeFloatLE(r, i * 8 + 4); });
    const fmt = Buffer.alloc(16);
    fmt.writeUInt16LE(3, 0); fmt.writeUInt16LE(2, 2); fmt.writeUInt32LE(44100, 4); fmt.writeUInt32LE(44100 * 8, 8); fmt.writeUInt16LE(8, 12); fmt.writeUInt16LE(32, 14);
    const chunk = (id: string, body: Buffer) => Buffer.concat([Buffer.from(id, 'ascii'), Buffer.from(Uint32Array.of(body.length).buffer), body, Buffer.alloc(body.length & 1)]);
    const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), chunk('LIST', Buffer.from('odd')), chunk('data', data)]);
    const f = decodeWav(Buffer.concat([Buffer.from('RIFF'), Buffer.from(Uint32Array.of(body.length).buffer), body]));
    assert.strictEqual(f.sampleRate, 44100);
    assert.deepStrictEqual(Array.from(f.samples), [0.125, 1, -0.5]);
    assert.throws(() => decodeWav(Buffer.from('RIFF\0\0\0\0WAVX')), /not a RIFF\/WAVE file/);
    if (haveEspeak) {
      const file = path.join(tmpDir('torchrnn-wav-'), 'e.wav');
      assert.strictEqual(spawnSync('espeak-ng', ['-w', file, 'zero']).status, 0);
      const e = readWav(file);
      assert.strictEqual(e.sampleRate, 22050);
      assert.ok(e.samples.length > 2000 && e.samples.some((v) => Math.abs(v) > 0.05));
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  it('resampling 22,050 → 8,000 Hz keeps a 1 kHz tone and removes one above 4 kHz', () => {
    const tone = (f: number, sr: number, n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * f * i) / sr));
    const r = resample(tone(1000, 22050, 22050), 22050, 8000);
    assert.strictEqual(r.length, 8000);
    for (let i = 200; i < 7800; i++) assert.ok(Math.abs(r[i] - Math.sin((2 * Math.PI * 1000 * i) / 8000)) < 2e-3, `sample ${i}`);
    const alias = resample(tone(6000, 22050, 22050), 22050, 8000);
    for (let i = 200; i < 7800; i++) assert.ok(Math.abs(alias[i]) < 5e-3, `6 kHz leaks at ${i}: ${alias[i]}`);
  });

  it('mel filterbank and log-mel features: torchaudio\'s HTK filterbank and a Hann-windowed power STFT', function () {
    // a case small enough to check by hand: 5 bins at 0, 1, 2, 3, 4 kHz, two filters from 0 to 4 kHz
    const pts = [0, 1, 2, 3].map((i) => 700 * (10 ** ((hzToMel(4000) * i) / 3 / 2595) - 1)); // 0, 620.8, 1792.0, 4000 Hz
    const fb = melFilterbank(5, 0, 4000, 2, 8000);
    const tri = (f: number, a: number, b: number, c: number) => Math.max(0, Math.min((f - a) / (b - a), (c - f) / (c - b)));
    fb.forEach((row, i) => closeAll(row, [tri(1000 * i, pts[0], pts[1], pts[2]), tri(1000 * i, pts[1], pts[2], pts[3])], 1e-12, `fb row ${i}`));
    closeAll(fb[1], [(1792.0 - 1000) / (1792.0 - 620.8), (1000 - 620.8) / (1792.0 - 620.8)], 1e-3, 'by hand');

    // against numpy (Debian's python3-numpy): the same definitions written independently
    const py = spawnSync('/usr/bin/python3', ['-c', `
import json, sys, numpy as np
sr, n_fft, hop, n_mels, f_min, f_max = 8000, 256, 80, 40, 20.0, 4000.0
t = np.arange(1200)
x = (0.5 * np.sin(2 * np.pi * 440 * t / sr) + 0.2 * np.sin(2 * np.pi * 1900 * t / sr) * np.exp(-t / 600)).astype(np.float32)
mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
freqs = np.linspace(0, sr // 2, n_fft // 2 + 1)
f_pts = hz(np.linspace(mel(f_min), mel(f_max), n_mels + 2))
slopes = f_pts[None, :] - freqs[:, None]
fb = np.maximum(0, np.minimum(-slopes[:, :-2] / np.diff(f_pts)[:-1], slopes[:, 2:] / np.diff(f_pts)[1:]))
xp = np.pad(x.astype(np.float64), n_fft // 2, mode='reflect')
win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
frames = np.stack([xp[i * hop:i * hop + n_fft] * win for i in range(1 + len(x) // hop)])
power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
json.dump({'x': x.tolist(), 'fb': fb.tolist(), 'power': power.tolist(), 'logmel': np.log(power @ fb + 1e-6).tolist()}, sys.stdout)
`], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (py.status !== 0) {
      assert.ok(!process.env.CI, `numpy is needed for the reference: ${py.stderr || py.error}`);
      this.skip();
    }
    const ref = JSON.parse(py.stdout) as { x: number[]; fb: number[][]; power: number[][]; logmel: number[][] };
    const o = { sampleRate: 8000, nFft: 256, hop: 80, nMels: 40, fMin: 20, fMax: 4000 };
    melFilterbank(129, 20, 4000, 40, 8000).forEach((row, i) => closeAll(row, ref.fb[i], 1e-9, `filterbank row ${i}`));
    const x = Float32Array.from(ref.x);
    const power = powerSpectrogram(x, 256, 80);
    assert.strictEqual(power.length, ref.power.length);
    power.forEach((row, f) => closeAll(row, ref.power[f], 1e-8, `power frame ${f}`));
    const { data, frames } = logMel(x, o);
    assert.strictEqual(frames, ref.logmel.length);
    closeAll(data, ref.logmel.flat(), 1e-5, 'log-mel');
  });

  it('WaveNet: causal (a later sample never changes an earlier output); the cached generator computes the same logits', () => {
    torch.manualSeed(3);
    const model = new WaveNet({ channels: 8, layers: 5, skip: 12, classes: 256 });
    assert.strictEqual(receptiveField(5), 32);
    const seq = Array.from({ length: 120 }, (_, i) => (i * 37 + 11) % 256);
    const run = (s: number[]) => torch.noGrad(() => Array.from(model.forward(torch.tensor([s], { dtype: 'int64' })).dataSync() as Float32Array));
    const before = run(seq);
    const changed = [...seq];
    const t0 = 70;
    changed[t0] = (changed[t0] + 128) % 256;
    const after = run(changed);
    for (let i = 0; i < t0 * 256; i++) assert.strictEqual(after[i], before[i], `output ${Math.floor(i / 256)} changed when input ${t0} did`);
    assert.ok(after.slice(t0 * 256, (t0 + 1) * 256).some((v, c) => v !== before[t0 * 256 + c]), 'the output at the changed sample changes');
    // the receptive field: output t0 + 31 still sees input t0, output t0 + 32 no longer does
    const at = (a: number[], t: number) => a.slice(t * 256, (t + 1) * 256);
    assert.notDeepStrictEqual(at(after, t0 + 31), at(before, t0 + 31));
    assert.deepStrictEqual(at(after, t0 + 32), at(before, t0 + 32));
    const gen = new Generator(model);
    seq.forEach((c, t) => closeAll(gen.step(c), at(before, t), 1e-5, `generator step ${t}`));
  });
});

describe('speech tasks: torchrnn train speech / wavenet', () => {
  let tmp: string;
  // the runs' working directory: train wavenet writes its sample there
  const cli = (args: string[], env?: NodeJS.ProcessEnv) => runCli(args, { cwd: tmp, env });
  before(() => {
    assert.ok(fs.existsSync(BIN), 'run npm run compile first');
    assert.ok(haveEspeak, "espeak-ng is missing: the speech tasks synthesize their audio with it (scripts/setup.sh installs it: apt-get install espeak-ng)");
    tmp = tmpDir('torchrnn-speech-');
  });
  after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

  function trainRun(args: string[], metric: string) {
    const out = path.join(tmp, args[0]);
    const r = cli(['train', ...args, '--out', out, '--quiet']);
    const report = checkTrainRun(r, out, metric) as RunReport & { baseline: { name: string; value: number } };
    return { out, report, stdout: r.stdout };
  }

  it('speech: held-out voice accuracy against the majority class; predict classifies WAV files and spoken words', () => {
    const { out, report, stdout } = trainRun(['speech', '--limit', '200', '--epochs', '1', '--hidden', '32'], 'held-out voice accuracy (%)');
    assert.strictEqual(report.baseline.name, 'the majority class');
    assert.ok(report.baseline.value > 0 && report.baseline.value < 50, String(report.baseline.value));
    assert.ok(report.final.metric >= 0 && report.final.metric <= 100);
    assert.strictEqual(stdout.trim().split('\n').length, 4, 'predictions for the four example words');
    const wav = path.join(tmp, 'seven.wav');
    assert.strictEqual(spawnSync('espeak-ng', ['-v', 'en-gb-x-rp+m3', '-w', wav, 'seven']).status, 0);
    const p = cli(['predict', out, wav, 'two', '--voice', 'en-us+klatt3']);
    assert.strictEqual(p.status, 0, p.stderr);
    const lines = p.stdout.trim().split('\n');
    assert.strictEqual(lines.length, 2);
    assert.match(lines[0], new RegExp(`^${wav.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (zero|one|two|three|four|five|six|seven|eight|nine) \\(p [01]\\.\\d{3}\\)$`));
    assert.match(lines[1], /^two: [a-z]+ \(p [01]\.\d{3}\)$/);
    const e = cli(['evaluate', out]);
    assert.strictEqual(e.status, 0, e.stderr);
    assert.match(e.stdout, /^held-out voice accuracy \(%\): \d+\.\d{4} \(validation loss \d+\.\d{4}\)$/m);
    const bad = cli(['predict', out, path.join(tmp, 'config.wav')]);
    assert.strictEqual(bad.status, 2);
    assert.match(bad.stderr, /^torchrnn: cannot read .*config\.wav as a WAV file \(ENOENT\)\n$/);
    const noEspeak = cli(['train', 'speech', '--out', path.join(tmp, 'none')], { PATH: '/nonexistent' });
    assert.strictEqual(noEspeak.status, 2);
    assert.strictEqual(noEspeak.stderr.trim(), "torchrnn: the speech tasks need Debian's espeak-ng, which is not installed: run apt-get install espeak-ng (scripts/setup.sh installs it)");
  });

  it('wavenet: test bits per sample against the μ-law unigram; sample writes WAV files', () => {
    const { out, report } = trainRun(['wavenet', '--limit', '60', '--epochs', '1', '--steps', '3', '--hidden', '16', '--layers', '6'], 'test bits per sample');
    assert.strictEqual(report.baseline.name, 'the μ-law unigram of the training audio');
    assert.ok(report.baseline.value > 4 && report.baseline.value < 8, String(report.baseline.value));
    assert.ok(report.final.metric > 0 && report.final.metric < 8.5, String(report.final.metric));
    assert.ok(report.final.extra!['training μ-law entropy (bits)'] > 4);
    assert.ok(fs.existsSync(path.join(out, 'wavenet-sample.wav')), 'train samples into the run directory');
    assert.ok(!fs.existsSync(path.join(tmp, 'wavenet-sample.wav')), 'not into the working directory');
    const wav = path.join(tmp, 'gen.wav');
    const s = cli(['sample', out, '--seconds', '0.25', '--wav', wav, '--seed', '1']);
    assert.strictEqual(s.status, 0, s.stderr);
    assert.match(s.stdout, /^wrote .*gen\.wav: 2,000 generated samples \(0\.25 s at 8000 Hz\) in \d+\.\d s\n$/);
    const audio = readWav(wav);
    assert.strictEqual(audio.sampleRate, 8000);
    assert.strictEqual(audio.samples.length, 2000);
    assert.ok(audio.samples.every((v) => Number.isFinite(v) && Math.abs(v) <= 1));
    const again = cli(['sample', out, '--seconds', '0.25', '--wav', path.join(tmp, 'gen2.wav'), '--seed', '1']);
    assert.strictEqual(again.status, 0, again.stderr);
    assert.ok(fs.readFileSync(wav).equals(fs.readFileSync(path.join(tmp, 'gen2.wav'))), 'the same seed, the same audio');
    const primed = cli(['sample', out, '--prompt', 'one', '--seconds', '0.1', '--count', '2', '--wav', path.join(tmp, 'primed.wav')]);
    assert.strictEqual(primed.status, 0, primed.stderr);
    assert.strictEqual(primed.stdout.trim().split('\n').length, 2);
    for (const k of [1, 2]) {
      const a = readWav(path.join(tmp, `primed-${k}.wav`));
      assert.ok(a.samples.length > 800 + 1000, `the prompt "one" then 800 samples: ${a.samples.length}`);
    }
  });
});
