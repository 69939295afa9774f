/**
 * Masked tfjs-layers recurrent layers on the `torch` backend (lib/tfjs/rnn.ts, native/tfjs/rnn.cc):
 * a `Masking` layer, `maskZero` embeddings or an explicit mask before LSTM, GRU and SimpleRNN
 * run as fused kernels. The reference is tfjs-layers' own per-step path (its rnn(), which keeps
 * the states and repeats the previous output at a masked step) on tfjs's cpu backend: outputs,
 * final states and every gradient (input, initial states, weights) must agree to float32
 * rounding, and fusedStats must show the fused kernels ran.
 */
import * as assert from 'assert';
import * as childProcess from 'child_process';
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import * as torch from '../lib';
import { native } from '../lib/binding';
import { fusedStats } from '../lib/tfjs';
import { assertAllClose, lcg, narrowerGateKernels, settle, tfjsLive } from './helpers';

type Kind = 'lstm' | 'gru' | 'simpleRNN';
const B = 6, T = 7, F = 3, U = 5;
// Ragged rows: full, post-padded, all masked, pre-padded, holes, only the last step.
const RAGGED = ['1111111', '1111000', '0000000', '0001111', '1011001', '0000001'];
const FULL = Array(B).fill('1111111');
// Float32 rounding of the same float operations in another order (tfjs's JS kernels against
// libtorch's, over 7 steps): observed differences are below 5e-7.
const TOL = { rtol: 1e-5, atol: 1e-6 };

const layerFactory = (kind: Kind) => (tfl.layers as unknown as Record<Kind, (o: object) => tfl.layers.Layer>)[kind];
const states = (kind: Kind) => (kind === 'lstm' ? 2 : 1);

/** Deterministic values in [-scale, scale). */
function values(n: number, seed: number, scale = 1): Float32Array {
  const next = lcg(seed);
  return Float32Array.from({ length: n }, () => (next() / 2 ** 31 * 2 - 1) * scale);
}

function maskTensor(rows: string[], dtype: 'bool' | 'float32'): tf.Tensor2D {
  // a float mask holds 2.5 where the step counts: tfjs-layers casts it to bool, so any non-zero is "on"
  const m = tf.tensor2d(rows.flatMap((r) => [...r].map((ch) => (ch === '1' ? 2.5 : 0))), [rows.length, T]);
  return dtype === 'bool' ? tf.cast(m, 'bool') as tf.Tensor2D : m;
}

interface LayerCase { kind: Kind; opts: Record<string, unknown>; initialState?: boolean; mask?: string[]; maskDtype?: 'bool' | 'float32' }

/**
 * layer.apply(x, { mask, initialState }) on a backend: every output (returnState: the states
 * too) and the gradients of a weighted sum of them with respect to x, the initial states and
 * every weight (tf.variableGrads).
 */
async function runLayer(backend: string, c: LayerCase): Promise<{ outputs: Float32Array[]; grads: Float32Array[] }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const layer = layerFactory(c.kind)({ units: U, returnState: true, recurrentInitializer: 'glorotUniform', ...c.opts });
    const x = tf.variable(tf.tensor3d(values(B * T * F, 1), [B, T, F]));
    const h0 = c.initialState ? Array.from({ length: states(c.kind) }, (_, k) => tf.variable(tf.tensor2d(values(B * U, 10 + k, 0.5), [B, U]))) : [];
    const mask = maskTensor(c.mask ?? RAGGED, c.maskDtype ?? 'bool');
    const kwargs = { mask, ...(c.initialState ? { initialState: h0 } : {}) };
    layer.apply(x, kwargs); // builds the weights
    layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(values(w.size, 100 + i, 0.6), w.shape)));
    const vars = [x, ...h0, ...layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val)];
    let outputs: tf.Tensor[] = [];
    const { grads } = tf.variableGrads(() => {
      const outs = layer.apply(x, kwargs) as tf.Tensor[];
      outputs = outs.map((o) => tf.keep(o));
      // a different weight per element, so that each output element's gradient is checked
      return tf.addN(outs.map((o, k) => tf.sum(tf.mul(o, tf.tensor(values(o.size, 50 + k), o.shape))))) as tf.Scalar;
    }, vars);
    const result = { outputs: outputs.map((o) => o.dataSync() as Float32Array), grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
    tf.dispose([...outputs, x, ...h0]);
    layer.dispose();
    return result;
  });
}

async function compareLayer(c: LayerCase): Promise<void> {
  const label = `${c.kind} ${JSON.stringify(c.opts)}${c.initialState ? ' initialState' : ''}${c.maskDtype === 'float32' ? ' float mask' : ''}`;
  const cpu = await runLayer('cpu', c);
  const before = { ...fusedStats };
  const mine = await runLayer('torch', c);
  // two forward calls (build, then the recorded one), one gradient
  assert.strictEqual(fusedStats[c.kind] - before[c.kind], 2, `${label}: the fused forward ran`);
  assert.strictEqual(fusedStats.masked - before.masked, 2, `${label}: with the mask`);
  assert.strictEqual(fusedStats[`${c.kind}Grad`] - before[`${c.kind}Grad`], 1, `${label}: the fused gradient ran`);
  assert.strictEqual(mine.outputs.length, 1 + states(c.kind));
  mine.outputs.forEach((o, i) => assertAllClose(o, cpu.outputs[i], TOL, `${label}: output ${i}`));
  const names = ['x', ...(c.initialState ? Array.from({ length: states(c.kind) }, (_, k) => `state ${k}`) : []), 'kernel', 'recurrentKernel', 'bias'];
  mine.grads.forEach((g, i) => assertAllClose(g, cpu.grads[i], TOL, `${label}: gradient of ${names[i] ?? i}`));
}

describe('tfjs backend: masked recurrent layers are fused (torch against the cpu backend\'s per-step path)', function () {
  this.timeout(120000);

  after(async () => {
    await tf.setBackend('cpu');
  });

  describe('outputs, states and every gradient (tf.variableGrads), ragged masks with all-masked rows', () => {
    const cases: LayerCase[] = [];
    for (const kind of ['lstm', 'gru', 'simpleRNN'] as Kind[]) {
      cases.push({ kind, opts: {} });
      cases.push({ kind, opts: { returnSequences: true } });
      cases.push({ kind, opts: { returnSequences: true, goBackwards: true }, initialState: true });
      cases.push({ kind, opts: { goBackwards: true } });
      cases.push({ kind, opts: { returnSequences: true }, initialState: true, maskDtype: 'float32' });
    }
    // other activations (the vectorized passes per activation) and no bias
    cases.push({ kind: 'lstm', opts: { recurrentActivation: 'sigmoid', returnSequences: true } });
    cases.push({ kind: 'lstm', opts: { activation: 'relu', recurrentActivation: 'hardSigmoid', useBias: false } });
    cases.push({ kind: 'gru', opts: { recurrentActivation: 'sigmoid', activation: 'linear', returnSequences: true, useBias: false } });
    cases.push({ kind: 'simpleRNN', opts: { activation: 'relu', returnSequences: true } });
    cases.push({ kind: 'simpleRNN', opts: { activation: 'sigmoid', goBackwards: true } });
    for (const c of cases) {
      it(`${c.kind} ${JSON.stringify(c.opts)}${c.initialState ? ' with initialState' : ''}${c.maskDtype === 'float32' ? ', float mask' : ''}`, async () => {
        await compareLayer(c);
      });
    }
    it('a fully unmasked batch (a mask of ones)', async () => {
      for (const kind of ['lstm', 'gru', 'simpleRNN'] as Kind[]) {
        await compareLayer({ kind, opts: { returnSequences: true }, mask: FULL });
        await compareLayer({ kind, opts: { goBackwards: true }, initialState: true, mask: FULL });
      }
    });
  });

  for (const [variant, kernels] of narrowerGateKernels()) it(`the ${kernels} gate kernels (TORCHRNN_GATE_KERNELS=${variant}, for CPUs without AVX-512 or AVX2) give the same numbers`, function () {
    this.timeout(60000);
    // a child process: the variant is chosen once per process. It runs the cases of
    // compareLayer's kind through runLayer's steps on both backends and prints the largest
    // violation of TOL over outputs and gradients.
    const script = `
      const tf = require('@tensorflow/tfjs-core');
      const tfl = require('@tensorflow/tfjs-layers');
      require('@tensorflow/tfjs-backend-cpu');
      const { fusedStats } = require('../lib/tfjs');
      const torch = require('../lib');
      const { lcg } = require('./helpers');
      const B = ${B}, T = ${T}, F = ${F}, U = ${U}, RAGGED = ${JSON.stringify(RAGGED)};
      const values = (n, seed, scale = 1) => { const next = lcg(seed); return Float32Array.from({ length: n }, () => (next() / 2 ** 31 * 2 - 1) * scale); };
      const run = async (backend, kind, opts) => {
        await tf.setBackend(backend);
        return tf.tidy(() => {
          const layer = tfl.layers[kind]({ units: U, returnState: true, recurrentInitializer: 'glorotUniform', ...opts });
          const x = tf.variable(tf.tensor3d(values(B * T * F, 1), [B, T, F]));
          const mask = tf.cast(tf.tensor2d(RAGGED.flatMap((r) => [...r].map(Number)), [B, T]), 'bool');
          layer.apply(x, { mask });
          layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(values(w.size, 100 + i, 0.6), w.shape)));
          const vars = [x, ...layer.trainableWeights.map((w) => w.val)];
          let outs = [];
          const { grads } = tf.variableGrads(() => {
            const o = layer.apply(x, { mask });
            outs = o.map((t) => tf.keep(t));
            return tf.addN(o.map((t, k) => tf.sum(tf.mul(t, tf.tensor(values(t.size, 50 + k), t.shape)))));
          }, vars);
          const r = [...outs, ...vars.map((v) => grads[v.name])].map((t) => Array.from(t.dataSync()));
          tf.dispose([...outs, x]);
          layer.dispose();
          return r;
        });
      };
      (async () => {
        let worst = 0, fused = 0;
        for (const [kind, opts] of [['lstm', { returnSequences: true, goBackwards: true }], ['lstm', { recurrentActivation: 'sigmoid' }], ['gru', { returnSequences: true }], ['gru', { goBackwards: true, activation: 'relu' }], ['simpleRNN', { returnSequences: true }]]) {
          const ref = await run('cpu', kind, opts);
          const before = fusedStats.masked;
          const got = await run('torch', kind, opts);
          fused += fusedStats.masked - before;
          ref.forEach((a, i) => a.forEach((v, j) => { worst = Math.max(worst, Math.abs(got[i][j] - v) / (${TOL.atol} + ${TOL.rtol} * Math.abs(v))); }));
        }
        process.stdout.write(JSON.stringify({ kernels: torch.backends.fusedRnn.kernels, worst, fused }));
      })();`;
    const res = childProcess.spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
      cwd: __dirname, env: { ...process.env, TORCHRNN_GATE_KERNELS: variant }, encoding: 'utf8',
    });
    assert.strictEqual(res.status, 0, res.stderr);
    const got = JSON.parse(res.stdout.slice(res.stdout.indexOf('{'))) as { kernels: string; worst: number; fused: number };
    assert.strictEqual(got.kernels, kernels);
    assert.strictEqual(got.fused, 10, 'every masked call took the fused kernels');
    assert.ok(got.worst <= 1, `largest difference ${got.worst} x the tolerance`);
  });

  it('masked inference runs its two halves at once (fused/common.h SplitBatch), post-padded rows as packed sequences (PostPadded): the cpu backend\'s numbers', async () => {
    // batch 33 (halves of 17 and 16 rows), 20 steps, 40 units: over kSplitMinElements; no
    // gradient recorded, so the forward saves nothing and splits. The first half's rows are
    // post-padded (an LSTM runs them packed: lengths 20 down to 10, and row 5 with no step), the
    // second's have holes (the masked pass); batch 3 does not split and runs packed whole.
    const t = 20, f = 3, u = 40;
    const masks = (b: number) => Array.from({ length: b }, (_, i) => Array.from({ length: t }, (_, s) => {
      if (i === 5) return 0;
      return (i >= 17 && i % 7 === 3 ? s % 3 !== 1 : s < t - (i % 11)) ? 1 : 0;
    }));
    let b = 33, rows = masks(b);
    const run = async (backend: string, kind: Kind, opts: object) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const layer = layerFactory(kind)({ units: u, returnState: true, returnSequences: true, recurrentInitializer: 'glorotUniform', ...opts });
        const x = tf.tensor3d(values(b * t * f, 2), [b, t, f]);
        const mask = tf.cast(tf.tensor2d(rows.flat(), [b, t]), 'bool');
        layer.apply(x, { mask });
        layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(values(w.size, 200 + i, 0.4), w.shape)));
        const out = (layer.apply(x, { mask }) as tf.Tensor[]).map((o) => o.dataSync() as Float32Array);
        layer.dispose();
        return out;
      });
    };
    const before = native.fusedRnnFlags().splitBatches;
    const cases: [number, Kind, object][] = [
      [33, 'lstm', {}], [33, 'lstm', { goBackwards: true }], [33, 'lstm', { activation: 'relu', recurrentActivation: 'hardSigmoid' }],
      [33, 'gru', {}], [33, 'simpleRNN', { activation: 'relu' }], [3, 'lstm', {}],
    ];
    for (const [batch, kind, opts] of cases) {
      b = batch, rows = masks(b);
      const cpu = await run('cpu', kind, opts);
      const masked = fusedStats.masked;
      const mine = await run('torch', kind, opts);
      assert.strictEqual(fusedStats.masked - masked, 2, `${kind}: the fused masked kernel ran`);
      mine.forEach((o, i) => assertAllClose(o, cpu[i], { rtol: 1e-5, atol: 2e-6 }, `batch ${b} ${kind} ${JSON.stringify(opts)}: output ${i}`));
    }
    if (os.cpus().length >= 2 && process.env.TORCHRNN_SPLIT_BATCH !== '0') {
      assert.ok(native.fusedRnnFlags().splitBatches > before, 'no layer ran its halves at once');
    }
  });

  it('training runs the batch\'s two halves at once (fused/common.h TrainingHalves): outputs and every gradient as the cpu backend\'s', async () => {
    // batch 33 (halves of 17 and 16 rows), 32 steps, 40 units: over kSplitMinElements (batch x
    // steps x gate columns), so the recorded forward (which saves) and its backward each run as
    // two halves, always (sizes decide); the counter moves where the helper took one of them (a
    // helper asleep may wake after the caller took both: halves this small take ~0.1 ms). The
    // weights are built on a batch of 1 (which does not split).
    const b = 33, t = 32, f = 3, u = 40;
    const maskRows = Array.from({ length: b }, (_, i) => Array.from({ length: t }, (_, s) => (i === 5 ? 0 : i % 4 === 1 ? (s % 3 !== 1 ? 1 : 0) : s < t - (i % 9) ? 1 : 0)));
    const run = async (backend: string, kind: Kind, opts: object, masked: boolean, initial: boolean) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const layer = layerFactory(kind)({ units: u, returnState: true, recurrentInitializer: 'glorotUniform', ...opts });
        layer.apply(tf.zeros([1, t, f]));
        layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(values(w.size, 300 + i, 0.15), w.shape)));
        const x = tf.variable(tf.tensor3d(values(b * t * f, 3), [b, t, f]));
        const h0 = initial ? Array.from({ length: states(kind) }, (_, k) => tf.variable(tf.tensor2d(values(b * u, 11 + k, 0.5), [b, u]))) : [];
        const kwargs = { ...(masked ? { mask: tf.cast(tf.tensor2d(maskRows.flat(), [b, t]), 'bool') } : {}), ...(initial ? { initialState: h0 } : {}) };
        const vars = [x, ...h0, ...layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val)];
        let outputs: Float32Array[] = [];
        const splits = native.fusedRnnFlags().splitBatches;
        const { grads } = tf.variableGrads(() => {
          const outs = layer.apply(x, kwargs) as tf.Tensor[];
          outputs = outs.map((o) => o.dataSync() as Float32Array);
          return tf.addN(outs.map((o, k) => tf.sum(tf.mul(o, tf.tensor(values(o.size, 60 + k), o.shape))))) as tf.Scalar;
        }, vars);
        const result = { outputs, grads: vars.map((v) => grads[v.name].dataSync() as Float32Array), splits: native.fusedRnnFlags().splitBatches - splits };
        layer.dispose();
        return result;
      });
    };
    const cases: [Kind, object, boolean, boolean][] = [
      ['lstm', { returnSequences: true }, false, true], ['lstm', { goBackwards: true }, true, false],
      ['lstm', { activation: 'relu', recurrentActivation: 'hardSigmoid', useBias: false }, true, true],
      ['gru', { returnSequences: true }, false, false], ['gru', { goBackwards: true }, true, true],
      ['gru', { recurrentActivation: 'sigmoid', activation: 'relu', useBias: false }, false, true],
      ['simpleRNN', { returnSequences: true }, false, true], ['simpleRNN', { activation: 'relu', goBackwards: true }, true, false],
    ];
    let splits = 0;
    for (const [kind, opts, masked, initial] of cases) {
      const label = `${kind} ${JSON.stringify(opts)}${masked ? ' masked' : ''}${initial ? ' initialState' : ''}`;
      const cpu = await run('cpu', kind, opts, masked, initial);
      const grads = fusedStats[`${kind}Grad`];
      const mine = await run('torch', kind, opts, masked, initial);
      assert.strictEqual(fusedStats[`${kind}Grad`] - grads, 1, `${label}: the fused gradient ran`);
      splits += mine.splits;
      mine.outputs.forEach((o, i) => assertAllClose(o, cpu.outputs[i], { rtol: 1e-5, atol: 2e-6 }, `${label}: output ${i}`));
      const names = ['x', ...(initial ? Array.from({ length: states(kind) }, (_, k) => `state ${k}`) : []), 'kernel', 'recurrentKernel', 'bias'];
      mine.grads.forEach((g, i) => assertAllClose(g, cpu.grads[i], { rtol: 1e-4, atol: 1e-5 }, `${label}: gradient of ${names[i]}`));
    }
    if (os.cpus().length >= 2 && process.env.TORCHRNN_SPLIT_BATCH !== '0' && process.env.TORCHRNN_ROW_HELPER !== '0') {
      assert.ok(splits > 0, 'no layer ran its halves at once');
    }
  });

  it('a masked step repeats the previous output and keeps the states (tfjs-layers\' rnn())', async () => {
    await tf.setBackend('torch');
    const layer = tfl.layers.gru({ units: U, returnSequences: true, returnState: true, recurrentInitializer: 'glorotUniform' });
    const x = tf.tensor3d(values(B * T * F, 1), [B, T, F]);
    const h0 = tf.tensor2d(values(B * U, 7), [B, U]);
    const [seq, h] = layer.apply(x, { mask: maskTensor(RAGGED, 'bool'), initialState: [h0] }) as tf.Tensor[];
    const s = seq.arraySync() as number[][][];
    const init = h0.arraySync() as number[][];
    RAGGED.forEach((row, b) => {
      let prev = init[b];
      for (let t = 0; t < T; t++) {
        if (row[t] === '0') assert.deepStrictEqual(s[b][t], prev, `row ${b} step ${t} repeats the previous output`);
        else assert.notDeepStrictEqual(s[b][t], prev, `row ${b} step ${t} is computed`);
        prev = s[b][t];
      }
      assert.deepStrictEqual((h.arraySync() as number[][])[b], prev, `row ${b}: the final state is the last output`);
    });
    assert.deepStrictEqual((seq.arraySync() as number[][][])[2], Array(T).fill(init[2]), 'an all-masked row outputs its initial state');
    tf.dispose([x, h0, seq, h]);
    layer.dispose();
  });

  /** One model.fit step (SGD) and a predict: loss, weights after the step, predictions. */
  async function fitOnce(backend: string, build: () => tfl.Sequential, x: () => tf.Tensor, y: () => tf.Tensor) {
    await tf.setBackend(backend);
    const model = build();
    model.setWeights(model.getWeights().map((w, i) => tf.tensor(values(w.size, 200 + i, 0.5), w.shape)));
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'meanSquaredError' });
    const xs = x(), ys = y();
    const h = await model.fit(xs, ys, { epochs: 1, batchSize: B, shuffle: false, verbose: 0 });
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    const prediction = model.predict(xs) as tf.Tensor;
    const result = { loss: h.history.loss as number[], weights, prediction: prediction.dataSync() as Float32Array };
    tf.dispose([xs, ys, prediction]);
    model.dispose();
    return result;
  }

  async function compareFit(label: string, build: () => tfl.Sequential, x: () => tf.Tensor, y: () => tf.Tensor, kinds: Kind[]) {
    const cpu = await fitOnce('cpu', build, x, y);
    const before = { ...fusedStats };
    const mine = await fitOnce('torch', build, x, y);
    // per recurrent layer: the fit's forward and the predict, one gradient
    for (const k of new Set(kinds)) {
      const n = kinds.filter((q) => q === k).length;
      assert.strictEqual(fusedStats[k] - before[k], 2 * n, `${label}: ${k} forward fused`);
      assert.strictEqual(fusedStats[`${k}Grad`] - before[`${k}Grad`], n, `${label}: ${k} gradient fused`);
    }
    assert.strictEqual(fusedStats.masked - before.masked, 2 * kinds.length, `${label}: every recurrent call had the mask`);
    assertAllClose(mine.loss, cpu.loss, TOL, `${label}: loss`);
    mine.weights.forEach((w, i) => assertAllClose(w, cpu.weights[i], TOL, `${label}: weight ${i} after one SGD step`));
    assertAllClose(mine.prediction, cpu.prediction, TOL, `${label}: prediction`);
  }

  const ys = () => tf.tensor2d(values(B * 2, 9), [B, 2]);

  it('Masking layer → LSTM (sequences) → GRU (goBackwards) → Dense: model.fit one step', async () => {
    const build = () => {
      const m = tfl.sequential();
      m.add(tfl.layers.masking({ maskValue: 0, inputShape: [T, F] }));
      m.add(tfl.layers.lstm({ units: U, returnSequences: true, recurrentInitializer: 'glorotUniform' }));
      m.add(tfl.layers.gru({ units: U, goBackwards: true, recurrentInitializer: 'glorotUniform' }));
      m.add(tfl.layers.dense({ units: 2 }));
      return m;
    };
    // zero the padded steps, as a padded batch has them (the Masking layer finds them)
    const x = () => tf.tensor3d(values(B * T * F, 3).map((v, i) => (RAGGED[Math.floor(i / (T * F))][Math.floor(i / F) % T] === '1' ? v : 0)), [B, T, F]);
    await compareFit('masking', build, x, ys, ['lstm', 'gru']);
  });

  it('maskZero embeddings → SimpleRNN (sequences) → LSTM (sequences) → GRU → Dense: model.fit one step', async () => {
    const build = () => {
      const m = tfl.sequential();
      m.add(tfl.layers.embedding({ inputDim: 9, outputDim: F, maskZero: true, inputLength: T }));
      m.add(tfl.layers.simpleRNN({ units: U, returnSequences: true, recurrentInitializer: 'glorotUniform' }));
      m.add(tfl.layers.lstm({ units: U, returnSequences: true, goBackwards: true, recurrentInitializer: 'glorotUniform' }));
      m.add(tfl.layers.gru({ units: U, recurrentInitializer: 'glorotUniform' }));
      m.add(tfl.layers.dense({ units: 2 }));
      return m;
    };
    const ids = () => tf.tensor2d(RAGGED.flatMap((r, b) => [...r].map((ch, t) => (ch === '1' ? 1 + ((b * 5 + t * 3) % 8) : 0))), [B, T]);
    await compareFit('maskZero', build, ids, ys, ['simpleRNN', 'lstm', 'gru']);
  });

  it('stateful layers carry the masked states from call to call', async () => {
    const run = async (backend: string, kind: Kind) => {
      await tf.setBackend(backend);
      const layer = layerFactory(kind)({ units: U, stateful: true, batchInputShape: [B, T, F], returnSequences: true, returnState: true, recurrentInitializer: 'glorotUniform' });
      const x = tf.tensor3d(values(B * T * F, 4), [B, T, F]);
      const out: Float32Array[] = [];
      for (const rows of [RAGGED, [...RAGGED].reverse()]) {
        const mask = maskTensor(rows, 'bool');
        if (out.length === 0) {
          layer.apply(x, { mask });
          layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(values(w.size, 300 + i, 0.6), w.shape)));
          layer.resetStates();
        }
        for (const t of layer.apply(x, { mask }) as tf.Tensor[]) out.push(t.dataSync() as Float32Array);
      }
      layer.dispose();
      return out;
    };
    for (const kind of ['lstm', 'gru', 'simpleRNN'] as Kind[]) {
      const cpu = await run('cpu', kind);
      const before = fusedStats.masked;
      const mine = await run('torch', kind);
      assert.strictEqual(fusedStats.masked - before, 3, `${kind}: fused`);
      mine.forEach((o, i) => assertAllClose(o, cpu[i], TOL, `${kind} stateful output ${i}`));
    }
  });

  it('leaks neither tfjs tensors nor libtorch tensors (masked fit, grads, predict)', async () => {
    await tf.setBackend('torch');
    tf.env().set('IS_TEST', true); // the engine checks every kernel for leaked DataIds
    try {
      const model = tfl.sequential();
      model.add(tfl.layers.masking({ maskValue: 0, inputShape: [T, F] }));
      model.add(tfl.layers.lstm({ units: U, returnSequences: true, recurrentInitializer: 'glorotUniform' }));
      model.add(tfl.layers.gru({ units: U, returnSequences: true, recurrentInitializer: 'glorotUniform' }));
      model.add(tfl.layers.simpleRNN({ units: U, recurrentInitializer: 'glorotUniform' }));
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
      const x = tf.tensor3d(values(B * T * F, 5).map((v, i) => (RAGGED[Math.floor(i / (T * F))][Math.floor(i / F) % T] === '1' ? v : 0)), [B, T, F]);
      const y = tf.tensor2d(values(B * U, 6), [B, U]);
      const round = async () => {
        await model.fit(x, y, { epochs: 2, batchSize: 3, verbose: 0 });
        tf.dispose(model.predict(x) as tf.Tensor);
      };
      await round(); // the optimizer's slots are made in the first round
      await settle();
      const base = tfjsLive(tf.memory);
      const masked = fusedStats.masked;
      await round();
      await round();
      await settle();
      assert.ok(fusedStats.masked - masked >= 2 * 3 * 5, 'the rounds ran the masked fused kernels');
      assert.deepStrictEqual(tfjsLive(tf.memory), base);
      tf.dispose([x, y]);
      model.dispose();
    } finally {
      tf.env().set('IS_TEST', false);
    }
  });
});
