// The digits task (CRNN + CTC): its CTC decoders on hand-made tables, its data, and the CLI on a --limit slice through the built bin.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { beamDecode, collapse, greedyDecode, logAddExp } from '../lib/cli/tasks/ctc-decode';
import { digitStrings, HEIGHT, MAX_DIGITS, render, stringOf, WIDTH } from '../lib/cli/tasks/digits-data';
import { mulberry32 } from '../lib/random';
import { CLI_BIN as BIN, expectCliUsage, runCli, tmpDir } from './helpers';

const cli = (args: string[]) => runCli(args);
const expectUsage = (args: string[], line: string): void => expectCliUsage(args, line);

/** A T × C table of log-probabilities from rows of probabilities. */
function table(rows: number[][]): Float64Array {
  return Float64Array.from(rows.flat(), Math.log);
}

/** Every labeling's probability, summed over every path (C^T of them) that collapses to it. */
function bruteForce(logp: ArrayLike<number>, T: number, C: number, blank: number): Map<string, number> {
  const sums = new Map<string, number>();
  const path = new Array<number>(T).fill(0);
  for (let n = 0; n < C ** T; n++) {
    let k = n;
    let lp = 0;
    for (let t = 0; t < T; t++) { path[t] = k % C; k = Math.floor(k / C); lp += logp[t * C + path[t]]; }
    const key = collapse(path, blank).join(',');
    sums.set(key, logAddExp(sums.get(key) ?? -Infinity, lp));
  }
  return sums;
}

/** A seeded random T × C table of log-probabilities, peaked enough that some labelings stand out. */
function randomTable(rand: () => number, T: number, C: number): Float64Array {
  const out = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    const w = Array.from({ length: C }, () => Math.exp(3 * rand()));
    const s = w.reduce((a, b) => a + b, 0);
    w.forEach((v, c) => { out[t * C + c] = Math.log(v / s); });
  }
  return out;
}

describe('digits: CTC decoding', () => {
  it('greedy: the argmax of each frame, repeats merged, blanks removed', () => {
    assert.deepStrictEqual(collapse([1, 1, 0, 1, 2, 2, 0, 0, 3], 0), [1, 1, 2, 3]);
    assert.deepStrictEqual(collapse([2, 2, 2], 0), [2]);
    assert.deepStrictEqual(collapse([3, 1, 3, 3], 3), [1]);
    // blank 0; frames' argmaxes: 1 1 0 1 2 → [1, 1, 2]
    const t = table([[0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.8, 0.1, 0.1], [0.3, 0.5, 0.2], [0.1, 0.2, 0.7]]);
    assert.deepStrictEqual(greedyDecode(t, 5, 3, 0), [1, 1, 2]);
    // the same table for the blank 2: the argmaxes 1 1 0 1 2 → [1, 0, 1]
    assert.deepStrictEqual(greedyDecode(t, 5, 3, 2), [1, 0, 1]);
    // rows past an offset (a batch's second item)
    const two = Float64Array.from([...table([[0.9, 0.1], [0.9, 0.1]]), ...table([[0.1, 0.9], [0.9, 0.1]])]);
    assert.deepStrictEqual(greedyDecode(two, 2, 2, 0, 0), []);
    assert.deepStrictEqual(greedyDecode(two, 2, 2, 0, 4), [1]);
  });

  it('beam search finds the most probable labeling where the best path misleads', () => {
    // blank 0.6, "1" 0.4 in both frames: the best path (blank, blank) = 0.36 reads nothing,
    // but "1" has the paths 1·1, 1·blank, blank·1 = 0.16 + 0.24 + 0.24 = 0.64
    const t = table([[0.6, 0.4], [0.6, 0.4]]);
    assert.deepStrictEqual(greedyDecode(t, 2, 2, 0), []);
    const r = beamDecode(t, 2, 2, 0, 4);
    assert.deepStrictEqual(r.labels, [1]);
    assert.ok(Math.abs(r.logProb - Math.log(0.64)) < 1e-12, String(Math.exp(r.logProb)));
  });

  it('beam search: a repeated digit needs a blank between its two frames', () => {
    // 1·blank·1 is the best path (0.7 · 0.8 · 0.7 = 0.392) and the only path of "1 1"; "1" has
    // six paths (1·1·1, 1·blank·blank, blank·blank·1, …) worth 0.536 together
    const t = table([[0.3, 0.7], [0.8, 0.2], [0.3, 0.7]]);
    assert.deepStrictEqual(greedyDecode(t, 3, 2, 0), [1, 1]);
    const all = bruteForce(t, 3, 2, 0);
    assert.ok(Math.abs(Math.exp(all.get('1,1')!) - 0.392) < 1e-12);
    assert.ok(Math.abs(Math.exp(all.get('1')!) - 0.536) < 1e-12);
    const r = beamDecode(t, 3, 2, 0, 8);
    assert.deepStrictEqual(r.labels, [1]);
    assert.ok(Math.abs(r.logProb - Math.log(0.536)) < 1e-12, String(Math.exp(r.logProb)));
    // with a surer blank in the middle, "1 1" (0.9^3 = 0.729) wins
    const u = beamDecode(table([[0.1, 0.9], [0.9, 0.1], [0.1, 0.9]]), 3, 2, 0, 8);
    assert.deepStrictEqual(u.labels, [1, 1]);
    assert.ok(Math.abs(u.logProb - Math.log(0.729)) < 1e-12, String(Math.exp(u.logProb)));
  });

  it('beam search wide enough equals the exact most probable labeling (brute force over every path)', () => {
    const rand = mulberry32(71);
    let differs = 0;
    for (let trial = 0; trial < 40; trial++) {
      const [T, C] = [trial % 2 ? 6 : 5, trial % 3 ? 3 : 4];
      const blank = trial % 4 === 0 ? C - 1 : 0;
      const t = randomTable(rand, T, C);
      const all = bruteForce(t, T, C, blank);
      const best = [...all].sort((a, b) => b[1] - a[1])[0];
      const r = beamDecode(t, T, C, blank, 1000);
      assert.strictEqual(r.labels.join(','), best[0], `trial ${trial}`);
      assert.ok(Math.abs(r.logProb - best[1]) < 1e-9, `trial ${trial}: ${r.logProb} vs ${best[1]}`);
      if (greedyDecode(t, T, C, blank).join(',') !== best[0]) differs++;
      // a narrow beam still returns a labeling whose score is its paths' probability or less
      const narrow = beamDecode(t, T, C, blank, 2);
      assert.ok(narrow.logProb <= all.get(narrow.labels.join(','))! + 1e-9, `trial ${trial}`);
    }
    assert.ok(differs > 0, 'some tables where greedy decoding is not the best labeling');
  });
});

describe('digits: data', () => {
  it('strings of 1–6 digits, the same from the same seed, test strings from digit images that training never sees', () => {
    const a = digitStrings(0, 600);
    const b = digitStrings(0, 600);
    assert.strictEqual(a.train.length, 600);
    assert.strictEqual(a.test.length, 120);
    assert.deepStrictEqual(a.train, b.train);
    assert.deepStrictEqual(a.test, b.test);
    const c = digitStrings(1, 600);
    assert.notDeepStrictEqual(c.train, a.train);
    assert.deepStrictEqual(c.test, a.test, 'the test strings do not depend on --seed');
    for (const s of [...a.train, ...a.test]) {
      assert.ok(s.digits.length >= 1 && s.digits.length <= MAX_DIGITS);
      s.digits.forEach((d, k) => assert.ok(Number.isInteger(d) && d >= 0 && d <= 9 && (k === 0 || s.x[k] > s.x[k - 1])));
    }
    assert.deepStrictEqual(new Set(a.train.map((s) => s.digits.length)), new Set([1, 2, 3, 4, 5, 6]));
    const key = (px: Float32Array, i: number) => Buffer.from(px.buffer, px.byteOffset + i * 784 * 4, 784 * 4).toString('base64');
    const trainImages = new Set(Array.from(a.images.train.labels, (_, i) => key(a.images.train.pixels, i)));
    assert.strictEqual(a.images.train.labels.length + a.images.test.labels.length, 10000);
    for (let i = 0; i < a.images.test.labels.length; i++) assert.ok(!trainImages.has(key(a.images.test.pixels, i)), `test image ${i} is a training image`);
    // drawing: the ink of every digit is in the picture, nothing outside [0, 1]
    const px = render(a.images.test, [stringOf(a.images.test, '808080')]);
    assert.strictEqual(px.length, HEIGHT * WIDTH);
    assert.ok(px.every((v) => v >= 0 && v <= 1));
    const inked = Array.from({ length: WIDTH }, (_, c) => Array.from({ length: HEIGHT }, (__, r) => px[r * WIDTH + c]).some((v) => v > 0.1));
    const runs = inked.reduce((n, v, c) => n + (v && !inked[c - 1] ? 1 : 0), 0);
    assert.ok(runs >= 6, `six digits apart: ${runs} runs of inked columns`);
    assert.deepStrictEqual(stringOf(a.images.test, '808080'), stringOf(a.images.test, '808080'));
  });
});

describe('torchrnn CLI: digits', () => {
  let tmp: string;
  before(() => {
    assert.ok(fs.existsSync(BIN), 'run npm run compile first');
    tmp = tmpDir('torchrnn-digits-');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('train digits: CRNN with CTC on a slice; metrics, plots, predict greedy and with a beam, evaluate', () => {
    const out = path.join(tmp, 'digits-run');
    const r = cli(['train', 'digits', '--limit', '600', '--epochs', '1', '--out', out, '--quiet']);
    assert.strictEqual(r.status, 0, r.stderr);
    for (const f of ['config.json', 'metrics.json', 'model.safetensors', 'checkpoint.safetensors', 'loss.svg', 'metric.svg']) assert.ok(fs.existsSync(path.join(out, f)), f);
    for (const f of ['loss.svg', 'metric.svg']) assert.match(fs.readFileSync(path.join(out, f), 'utf8'), /^<svg[\s\S]*<\/svg>$/);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { metric: string; baseline: { name: string; value: number }; final: { metric: number; valLoss: number; extra: Record<string, number> } };
    assert.strictEqual(report.metric, 'test sequence accuracy (%)');
    assert.ok(report.final.metric >= 0 && report.final.metric <= 100);
    assert.ok(Number.isFinite(report.final.valLoss) && report.final.valLoss > 0);
    const cer = report.final.extra['character error rate (%)'];
    assert.ok(Number.isFinite(cer) && cer >= 0, String(cer));
    assert.strictEqual(report.baseline.name, 'single-digit LSTM (91.15 %) on cut-out digits');
    // the mean of 0.9115^length over the 120 test strings: between 0.9115^6 and 0.9115
    assert.ok(report.baseline.value > 100 * 0.9115 ** 6 && report.baseline.value < 91.15, String(report.baseline.value));
    assert.strictEqual(r.stdout.trim().split('\n').length, 7, 'predictions for the seven examples');

    // the traced training step updated BatchNorm's running statistics: 600 strings in batches of 32
    const state = torch.load(path.join(out, 'model.safetensors')) as Record<string, torch.Tensor>;
    assert.strictEqual(Number(state['cnn.1.num_batches_tracked'].item()), Math.ceil(600 / 32));
    assert.ok((state['cnn.1.running_mean'].abs().sum().item() as number) > 0);
    assert.deepStrictEqual(state['head.weight'].shape, [11, 128]);

    for (const beam of ['1', '4']) {
      const p = cli(['predict', out, 'test:0', 'test:7', '2024', '--beam', beam]);
      assert.strictEqual(p.status, 0, p.stderr);
      const lines = p.stdout.trim().split('\n');
      assert.strictEqual(lines.length, 3);
      assert.match(lines[0], /^test string 0: (\d{1,36}|\(nothing\)), true \d{1,6}( {2}✗)?$/);
      assert.match(lines[1], /^test string 7: (\d{1,36}|\(nothing\)), true \d{1,6}( {2}✗)?$/);
      assert.match(lines[2], /^drawn 2024: (\d{1,36}|\(nothing\))( {2}✗)?$/);
    }
    const d = cli(['predict', out]);
    assert.strictEqual(d.status, 0, d.stderr);
    assert.deepStrictEqual(d.stdout.trim().split('\n').map((l) => l.split(':')[0]), [0, 1, 2, 3, 4].map((i) => `test string ${i}`));
    const a = cli(['predict', out, '5', '--ascii']);
    assert.strictEqual(a.status, 0, a.stderr);
    const pic = a.stdout.replace(/\n$/, '').split('\n');
    assert.strictEqual(pic.length, 1 + HEIGHT / 2, 'a line and 14 lines of picture');
    assert.ok(pic.slice(1).every((l) => l.length <= 2 + WIDTH));

    for (const beam of ['1', '3']) {
      const e = cli(['evaluate', out, '--beam', beam]);
      assert.strictEqual(e.status, 0, e.stderr);
      assert.match(e.stdout, /^test sequence accuracy \(%\): \d+\.\d{4} \(validation loss \d+\.\d{4}\)\ncharacter error rate \(%\): \d+\.\d{4}\n(beats|does not beat) single-digit LSTM \(91\.15 %\) on cut-out digits \(\d+\.\d{4}\)/);
    }
    expectUsage(['predict', out, '1234567'], '"1234567" is neither 1 to 6 digits nor test:N');
    expectUsage(['predict', out, '12a'], '"12a" is neither 1 to 6 digits nor test:N');
    expectUsage(['predict', out, 'test:120'], '"test:120" is not a test string (test:0 to test:119)');
    expectUsage(['predict', out, 'test:0', '--beam', '0'], '--beam must be in [1, 64], not 0');
    expectUsage(['sample', out], `the digits task does not sample: use torchrnn predict ${out} [test:N | digits…] (default test:0 to test:4) [--beam N] [--ascii]`);
  });
});
