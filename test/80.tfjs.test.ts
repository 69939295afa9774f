/**
 * The TensorFlow.js backend (`torchrnn/tfjs`): fused tfjs-layers recurrent layers against
 * tfjs's own CPU backend, memory accounting, reading, and bad input. tfjs-core's shared test
 * suite runs separately: `npm run test:tfjs` (test/tfjs/run-suite.ts).
 */
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import * as torch from '../lib';
import { fusedStats, kernelNames, TorchBackend } from '../lib/tfjs';
import { assertAllClose, lcg, settle, tfjsLive } from './helpers';

type Kind = 'lstm' | 'gru' | 'simpleRNN';
const BATCH = 8, STEPS = 7, FEATURES = 3, UNITS = 6, SAMPLES = 32;

function data(): { xs: tf.Tensor3D; ys: tf.Tensor2D } {
  const xs = tf.tensor3d(Float32Array.from({ length: SAMPLES * STEPS * FEATURES }, (_, i) => Math.sin(i * 0.37) + 0.1 * Math.cos(i * 1.3)), [SAMPLES, STEPS, FEATURES]);
  const ys = tf.tensor2d(Float32Array.from({ length: SAMPLES * 2 }, (_, i) => Math.cos(i * 0.11)), [SAMPLES, 2]);
  return { xs, ys };
}

function buildModel(kind: Kind, opts: Record<string, unknown>): tfl.Sequential {
  const model = tfl.sequential();
  // `stacked`: a second recurrent layer over the first one's whole sequence, so the gradients
  // of the input (second layer) and of every step's output (first layer) are exercised.
  const { stacked, ...layerOpts } = opts;
  if (stacked) {
    model.add((tfl.layers as unknown as Record<Kind, (o: object) => tfl.layers.Layer>)[kind]({
      units: UNITS, inputShape: [STEPS, FEATURES], returnSequences: true,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }),
      recurrentInitializer: tfl.initializers.glorotUniform({ seed: 6 }),
      ...layerOpts,
    }));
  }
  // Seeded initializers (glorotUniform: the default orthogonal one needs tfjs's chained ops,
  // which only the @tensorflow/tfjs bundle registers). The same seeds give the same weights on
  // both backends (tfjs draws them in JS); the test also copies them to be sure.
  model.add((tfl.layers as unknown as Record<Kind, (o: object) => tfl.layers.Layer>)[kind]({
    units: UNITS, ...(stacked ? {} : { inputShape: [STEPS, FEATURES] }),
    kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
    recurrentInitializer: tfl.initializers.glorotUniform({ seed: 2 }),
    biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 4 }),
    ...layerOpts,
  }));
  model.add(tfl.layers.dense({ units: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  return model;
}

async function train(backend: string, kind: Kind, opts: Record<string, unknown>, weights?: Float32Array[]): Promise<{ loss: number[]; weights: Float32Array[]; prediction: Float32Array }> {
  await tf.setBackend(backend);
  const model = buildModel(kind, opts);
  if (weights) model.setWeights(weights.map((w, i) => tf.tensor(w, model.getWeights()[i].shape)));
  const start = model.getWeights().map((w) => w.dataSync() as Float32Array);
  const { xs, ys } = data();
  const history = await model.fit(xs, ys, { epochs: 5, batchSize: BATCH, shuffle: false, verbose: 0 });
  const prediction = (model.predict(xs) as tf.Tensor).dataSync() as Float32Array;
  tf.dispose([xs, ys]);
  model.dispose();
  return { loss: history.history.loss as number[], weights: start, prediction };
}

describe('tfjs backend: torch', function () {
  this.timeout(300000);

  before(async () => {
    assert.strictEqual(await tf.setBackend('torch'), true);
  });
  after(async () => {
    await tf.setBackend('cpu');
  });

  it('is registered, with a kernel for every kernel of tfjs\'s CPU backend but 3 (Draw and 2 ragged ones)', () => {
    assert.ok(tf.engine().findBackend('torch') instanceof TorchBackend);
    const mine = new Set(kernelNames());
    const missing = tf.getKernelsForBackend('cpu').map((k) => k.kernelName).filter((k) => !mine.has(k)).sort();
    // Draw needs a browser canvas; the ragged two are listed in test/tfjs/ignore.ts.
    assert.deepStrictEqual(missing, ['Draw', 'RaggedGather', 'RaggedTensorToTensor']);
  });

  describe('fused recurrent layers match the cpu backend (model.fit, 5 epochs, Adam)', () => {
    const cases: [Kind, Record<string, unknown>][] = [
      ['lstm', {}], // tfjs's default recurrentActivation: hardSigmoid
      ['lstm', { recurrentActivation: 'sigmoid' }],
      ['lstm', { goBackwards: true, unitForgetBias: true }],
      ['gru', {}],
      ['gru', { recurrentActivation: 'sigmoid', useBias: false }],
      ['simpleRNN', {}],
      ['simpleRNN', { activation: 'relu', goBackwards: true }],
      ['lstm', { stacked: true }],
      ['lstm', { stacked: true, recurrentActivation: 'sigmoid', goBackwards: true }],
      ['gru', { stacked: true }],
      ['simpleRNN', { stacked: true }],
    ];
    for (const [kind, opts] of cases) {
      it(`${kind} ${JSON.stringify(opts)}: loss curves equal to 1e-4 relative, fused path taken`, async () => {
        const cpu = await train('cpu', kind, opts);
        const before = { ...fusedStats };
        const torchRun = await train('torch', kind, opts, cpu.weights);
        const batches = 5 * (SAMPLES / BATCH);
        const grad = `${kind}Grad` as keyof typeof fusedStats;
        // Every training batch ran the fused forward and gradient kernels (plus one predict).
        const layers = opts.stacked ? 2 : 1;
        assert.strictEqual(fusedStats[kind] - before[kind], layers * (batches + 1));
        assert.strictEqual(fusedStats[grad] - before[grad], layers * batches);
        assertAllClose(torchRun.loss, cpu.loss, { rtol: 1e-4, atol: 0 }, 'loss (torch vs cpu)');
        assertAllClose(torchRun.prediction, cpu.prediction, { rtol: 1e-4, atol: 1e-6 }, 'prediction (torch vs cpu)');
      });
    }
  });

  it('returnSequences, returnState, initialState, goBackwards and stateful give the per-step path\'s outputs', async () => {
    const run = async (backend: string, kind: Kind, opts: Record<string, unknown>, withState: boolean): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      const layer = (tfl.layers as unknown as Record<Kind, (o: object) => tfl.layers.Layer>)[kind]({
        units: 4, kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }), recurrentInitializer: tfl.initializers.glorotUniform({ seed: 6 }),
        biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 4 }), ...opts,
      });
      const x = tf.tensor3d(Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 3]);
      const nStates = kind === 'lstm' ? 2 : 1;
      const initialState = withState ? Array.from({ length: nStates }, (_, k) => tf.fill([2, 4], 0.1 * (k + 1))) : undefined;
      const outs: Float32Array[] = [];
      for (let call = 0; call < 2; call++) {
        const y = layer.apply(x, initialState ? { initialState } : {}) as tf.Tensor | tf.Tensor[];
        for (const t of Array.isArray(y) ? y : [y]) outs.push(t.dataSync() as Float32Array);
      }
      return outs;
    };
    const variants: [Kind, Record<string, unknown>, boolean][] = [
      ['lstm', { returnSequences: true, returnState: true }, false],
      ['lstm', { returnSequences: true, goBackwards: true }, true],
      ['gru', { returnState: true }, true],
      ['simpleRNN', { returnSequences: true, returnState: true, goBackwards: true }, false],
      ['lstm', { stateful: true, batchInputShape: [2, 5, 3], returnState: true }, false],
      ['gru', { stateful: true, batchInputShape: [2, 5, 3] }, false],
    ];
    for (const [kind, opts, withState] of variants) {
      const expected = await run('cpu', kind, opts, withState);
      const before = fusedStats[kind];
      const actual = await run('torch', kind, opts, withState);
      assert.strictEqual(fusedStats[kind] - before, 2, `${kind} ${JSON.stringify(opts)} took the fused path`);
      assert.strictEqual(actual.length, expected.length);
      actual.forEach((a, i) => assertAllClose(a, expected[i], { rtol: 1e-4, atol: 1e-6 }, `${kind} ${JSON.stringify(opts)} output ${i} (torch vs cpu)`));
    }
  });

  // masked layers are fused too: test/83.tfjs.rnn.test.ts
  it('active dropout takes tfjs-layers\' per-step path (still correct on torch)', async () => {
    await tf.setBackend('torch');
    const dropout = tfl.sequential();
    dropout.add(tfl.layers.gru({ units: 4, dropout: 0.5, inputShape: [5, 3], recurrentInitializer: 'glorotUniform' }));
    dropout.add(tfl.layers.dense({ units: 1 }));
    dropout.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const g0 = fusedStats.gru;
    await dropout.fit(tf.ones([4, 5, 3]), tf.ones([4, 1]), { epochs: 1, verbose: 0 });
    assert.strictEqual(fusedStats.gru, g0, 'training with dropout is not fused');
    dropout.predict(tf.ones([4, 5, 3]));
    assert.strictEqual(fusedStats.gru, g0 + 1, 'inference with dropout is fused (dropout is off)');
  });

  describe('small tensors: add, sub, mul and div in JS (lib/tfjs/kernels/small.ts)', () => {
    // special values: signed zeros, infinities, NaN, a denormal, the largest float32, rounding cases
    const F = [1.5, -0, 0, NaN, Infinity, -Infinity, 1e-39, 3.4e38, 1 / 3, 7, -2.5, 1e-20, 0.1, 16777217, -3, 2];
    const G = [-0, -0, 5, 1, Infinity, 2, 1e-39, 3.4e38, 3, 0, 0.2, 1e20, 0.7, 1, -0, 0.5];
    const I = [2147483647, -2147483648, 5, -7, 0, 65536, 46341, -1];
    const J = [1, -1, 3, 2, 0, 65536, 46341, -2147483648];
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div]];
    /** The bits of float32 values (every NaN alike: payloads are not specified). */
    const bits = (v: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(v).buffer), (u, i) => (Number.isNaN(v[i]) ? 'NaN' : u));

    /** op on the first n values of a and b: computed in JS (n ≤ 64), by libtorch (the same values padded to 65 elements), and on the cpu backend. */
    async function three(op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, a: number[], b: number[], dtype: 'float32' | 'int32') {
      await tf.setBackend('torch');
      const run = (pad: number) => tf.tidy(() => {
        const x = tf.tensor([...a, ...Array(pad).fill(1)], undefined, dtype), y = tf.tensor([...b, ...Array(pad).fill(1)], undefined, dtype);
        return Array.from(op(x, y).dataSync()).slice(0, a.length);
      });
      const js = run(0), lib = run(65 - a.length);
      await tf.setBackend('cpu');
      const cpu = tf.tidy(() => Array.from(op(tf.tensor(a, undefined, dtype), tf.tensor(b, undefined, dtype)).dataSync()));
      await tf.setBackend('torch');
      return { js, lib, cpu };
    }

    it('give libtorch\'s bits (float32 rounding, special values, int32 wrap-around) and the cpu backend\'s', async () => {
      for (const [name, op] of ops) {
        const f = await three(op, F, G, 'float32');
        assert.deepStrictEqual(bits(f.js), bits(f.lib), `float32 ${name}: JS against libtorch`);
        assert.deepStrictEqual(bits(f.js), bits(f.cpu), `float32 ${name}: JS against the cpu backend`);
        if (name === 'div') continue;  // int32 RealDiv is float32: libtorch's path
        const i = await three(op, I, J, 'int32');
        assert.deepStrictEqual(i.js, i.lib, `int32 ${name}: JS against libtorch`);
        assert.deepStrictEqual(i.js, i.cpu, `int32 ${name}: JS against the cpu backend`);
      }
    });

    it('broadcast a single element, make no libtorch tensor, and give libtorch kernels their values', () => {
      const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]), s = tf.scalar(0.5), one = tf.tensor2d([[2]]), row = tf.tensor1d([1, 2, 3, 4]);
      const empty = tf.tensor1d([], 'float32'), single = tf.tensor1d([3]);
      tf.add(x, s).dispose();  // reads x's and s's values once
      tf.mul(one, row).dispose();
      const xt = tf.transpose(x);
      const base = torch.memory().tensors;
      const y = tf.sub(x, s), z = tf.div(s, x), w = tf.mul(one, row), e = tf.add(empty, single);
      assert.strictEqual(torch.memory().tensors, base, 'computed in JS: no libtorch tensor');
      assert.deepStrictEqual(y.shape, [2, 3]);
      assert.deepStrictEqual(Array.from(y.dataSync()), [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
      assert.deepStrictEqual(Array.from(z.dataSync()), [0.5, 0.25, 0.5 / 3, 0.125, 0.1, 0.5 / 6].map(Math.fround));
      assert.deepStrictEqual([w.shape, Array.from(w.dataSync())], [[1, 4], [2, 4, 6, 8]]);
      assert.deepStrictEqual([e.shape, Array.from(e.dataSync())], [[0], []]);
      const read = y.dataSync();
      read[0] = 99;  // a copy: the tensor keeps its values
      assert.strictEqual(y.dataSync()[0], 0.5);
      // a libtorch kernel takes a JS-only result: its libtorch tensor is made then and freed with it
      const m = tf.matMul(y, xt);
      assert.deepStrictEqual(Array.from(m.dataSync()), [0.5 + 3 + 7.5, 2 + 7.5 + 15, 3.5 + 9 + 16.5, 14 + 22.5 + 33]);
      assert.strictEqual(torch.memory().tensors, base + 2, 'y\'s libtorch tensor and the product');
      tf.dispose([y, z, w, e, m]);
      assert.strictEqual(torch.memory().tensors, base);
      tf.dispose([x, xt, s, one, row, empty, single]);
    });
  });

  describe('memory', () => {
    it('tf.memory() counts exactly, and dispose/tidy free the libtorch tensors', () => {
      const base = tf.memory();
      const nativeBase = torch.memory();
      const a = tf.tensor2d([[1, 2], [3, 4]]);
      // (tfjs-core alone has no chained ops such as a.reshape(): the functional forms here.)
      const b = tf.reshape(a, [4]); // shares a's DataId
      assert.strictEqual(tf.memory().numTensors, base.numTensors + 2);
      assert.strictEqual(tf.memory().numDataBuffers, base.numDataBuffers + 1);
      assert.strictEqual(tf.memory().numBytes, base.numBytes + 32);
      assert.strictEqual(torch.memory().tensors, nativeBase.tensors + 1);
      const kept = tf.tidy(() => {
        const c = tf.add(tf.relu(tf.matMul(a, a)), 1);
        tf.mul(tf.sum(c), 2);
        return tf.keep(tf.square(c));
      });
      assert.strictEqual(tf.memory().numTensors, base.numTensors + 3);
      assert.strictEqual(torch.memory().tensors, nativeBase.tensors + 2, 'tidy freed every intermediate libtorch tensor');
      tf.dispose([a, b, kept]);
      assert.deepStrictEqual([tf.memory().numTensors, tf.memory().numDataBuffers, tf.memory().numBytes], [base.numTensors, base.numDataBuffers, base.numBytes]);
      assert.deepStrictEqual(torch.memory(), nativeBase);
      assert.strictEqual((tf.memory() as { unreliable?: boolean }).unreliable, false);
    });

    it('training with the fused layers leaks neither tfjs tensors nor libtorch tensors', async () => {
      await tf.setBackend('torch');
      tf.env().set('IS_TEST', true); // the engine checks every kernel for leaked DataIds
      try {
        const model = buildModel('lstm', {});
        const { xs, ys } = data();
        await model.fit(xs, ys, { epochs: 1, batchSize: BATCH, verbose: 0 });
        // Tensors that earlier tests dropped without dispose are freed by finalizers whenever V8
        // collects; count only live ones (Node 24 collected during the fit and the count fell).
        await settle();
        const after1 = tfjsLive(tf.memory);
        await model.fit(xs, ys, { epochs: 3, batchSize: BATCH, verbose: 0 });
        await settle();
        assert.deepStrictEqual(tfjsLive(tf.memory), after1);
        tf.dispose([xs, ys]);
        model.dispose();
      } finally {
        tf.env().set('IS_TEST', false);
      }
    });

    it('data moved to the cpu backend and back is counted and freed (own DataIds and moved-in ones)', async () => {
      await tf.setBackend('torch');
      const torchBackend = tf.findBackend('torch') as TorchBackend;
      const base = tf.memory();
      const nativeBase = torch.memory();
      const ids = torchBackend.numDataIds();
      const t = tf.tensor([1, 2, 3]); // a DataId of the torch backend
      const s = tf.tensor(['x', 'yz'], [2], 'string');
      await tf.setBackend('cpu');
      const onCpu = tf.add(t, 1); // t moves to the cpu backend
      const sCpu = tf.tile(s, [2]); // s moves to the cpu backend too
      assert.deepStrictEqual(Array.from(onCpu.dataSync()), [2, 3, 4]);
      assert.strictEqual(torchBackend.numDataIds(), ids, 't and s moved out');
      assert.strictEqual(torch.memory().tensors, nativeBase.tensors, 't\'s libtorch tensor was freed when it moved');
      await tf.setBackend('torch');
      const back = tf.mul(t, 2); // t moves back in (a DataId torch made, moved in like a foreign one)
      const c = tf.add(onCpu, back); // onCpu (the cpu backend's DataId) moves in
      assert.deepStrictEqual(Array.from(c.dataSync()), [4, 7, 10]);
      const joined = tf.concat([s, sCpu]); // s moves back in, and sCpu (a cpu DataId) in
      assert.deepStrictEqual(joined.dataSync(), ['x', 'yz', 'x', 'yz', 'x', 'yz']);
      assert.strictEqual(torchBackend.numDataIds(), ids + 7);
      assert.strictEqual(torchBackend.refCount(t.dataId), 1);
      assert.strictEqual(torchBackend.refCount(s.dataId), 1);
      tf.dispose([t, onCpu, back, c, s, sCpu, joined]);
      await settle();
      assert.deepStrictEqual([tf.memory().numTensors, tf.memory().numDataBuffers, tf.memory().numBytes], [base.numTensors, base.numDataBuffers, base.numBytes]);
      assert.strictEqual(torchBackend.numDataIds(), ids);
      assert.strictEqual(torchBackend.refCount(t.dataId), 0);
      assert.deepStrictEqual(torch.memory(), nativeBase);
    });

    it('string tensors live in JS and round-trip', () => {
      const s = tf.tensor1d(['a', 'bé', '', 'c'], 'string');
      assert.deepStrictEqual(tf.tile(tf.reshape(s, [2, 2]), [1, 2]).dataSync(), ['a', 'bé', 'a', 'bé', '', 'c', '', 'c']);
      assert.deepStrictEqual(tf.concat([s, tf.slice(s, 1, 1)]).arraySync(), ['a', 'bé', '', 'c', 'bé']);
      s.dispose();
    });
  });

  it('data() reads on the executor, dataSync() on the JS thread, with the same values', async () => {
    const x = tf.tensor([1.5, -2, 3], [3], 'float32');
    const y = tf.mul(x, 2);
    assert.deepStrictEqual(Array.from(await y.data()), [3, -4, 6]);
    assert.deepStrictEqual(Array.from(y.dataSync()), [3, -4, 6]);
    const i = tf.tensor([7, 8], [2], 'int32');
    assert.ok(i.dataSync() instanceof Int32Array);
    const b = tf.tensor([true, false], [2], 'bool');
    assert.deepStrictEqual(Array.from(await b.data()), [1, 0]);
    const c = tf.complex([1, 2], [3, 4]);
    assert.deepStrictEqual(Array.from(await c.data()), [1, 3, 2, 4]);
    tf.dispose([x, y, i, b, c]);
  });

  describe('bad input gives tfjs\'s errors or a TorchError, never a crash', () => {
    it('wrong shapes, dtypes and disposed tensors', () => {
      const a = tf.tensor([1, 2, 3]);
      assert.throws(() => tf.add(a, tf.tensor([1, 2])), /Operands could not be broadcast together/);
      assert.throws(() => tf.matMul(tf.ones([2, 3]), tf.ones([2, 3])), /inner shapes/);
      assert.throws(() => tf.reshape(a, [2, 2]), /Size\(3\) must match the product of shape 2,2/);
      assert.throws(() => tf.gather(a, tf.tensor([5], [1], 'int32')), /GatherV2: the index value 5 is not in \[0, 2\]/);
      assert.throws(() => tf.add(tf.tensor(['x'], [1], 'string'), tf.tensor(['y'], [1], 'string')), Error);
      a.dispose();
      assert.throws(() => a.dataSync(), /Tensor is disposed/);
    });

    it('a disposed tensor passed to an op fails as it does on tfjs\'s cpu backend', async () => {
      const message = async (backend: string) => {
        await tf.setBackend(backend);
        const a = tf.tensor([1, 2, 3]);
        a.dispose();
        try { tf.add(a, 1); } catch (err) { return (err as Error).message; }
        return 'no error';
      };
      const cpu = await message('cpu');
      assert.strictEqual(await message('torch'), cpu);
    });

    it('every kernel survives random inputs and attributes', () => {
      // A small fuzz: each kernel with inputs of random ranks, shapes and dtypes and junk
      // attributes. Each call either returns or throws an Error; the process must survive.
      const next = lcg(12345);
      const rand = () => next() / 2147483648;
      const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
      const dtypes: tf.DataType[] = ['float32', 'int32', 'bool'];
      const junk = [0, -1, 1, 2, 3, 1e9, -1e9, NaN, 0.5, [1, 2], [-1], [0, 0], [[0, 1], [1, 0]], 'same', 'valid', 'NHWC', 'x', true, null];
      const names = ['x', 'a', 'b', 'input', 'filter', 'dy', 'indices', 'updates', 'condition', 't', 'e', 'images', 'boxes', 'scores', 'logits', 'value',
        'real', 'imag', 'mean', 'variance', 'offset', 'scale', 'segmentIds', 'data', 'weights', 'sortedSequence', 'values', 'tensor', 'alpha', 'y', 'output',
        'image', 'boxInd', 'transforms', 'starts', 'limits', 'deltas', 'sparseIndices', 'sparseValues', 'defaultValue', 'inputIndices', 'inputShape', 'newShape',
        'denseShape', 's0', 's1', 'delimiter', 'dataSplits', 'bias', 'preluActivationWeights', 'sequence', 'dSequence', 'dH', 'dC', 'h0', 'c0', 'kernel', 'recurrentKernel'];
      const attrNames = ['axis', 'keepDims', 'shape', 'perm', 'begin', 'size', 'end', 'strides', 'pad', 'filterSize', 'dilations', 'dataFormat', 'dtype', 'depth',
        'onValue', 'offValue', 'numOrSizeSplits', 'reps', 'paddings', 'constantValue', 'dims', 'transposeA', 'transposeB', 'k', 'blockSize', 'blockShape', 'crops',
        'alignCorners', 'halfPixelCenters', 'numSegments', 'outputShape', 'inputShape', 'filterShape', 'dim', 'alpha', 'clipValueMin', 'clipValueMax', 'batchDims',
        'start', 'stop', 'step', 'num', 'value', 'mode', 'exclusive', 'reverse', 'equation', 'activation', 'recurrentActivation', 'inputNames', 'record', 'goBackwards'];
      let threw = 0, ran = 0;
      for (const name of kernelNames()) {
        for (let trial = 0; trial < 40; trial++) {
          tf.tidy(() => {
            const inputs: Record<string, tf.Tensor> = {};
            const n = 1 + Math.floor(rand() * 4);
            for (let k = 0; k < n; k++) {
              const rank = Math.floor(rand() * 5);
              const shape = Array.from({ length: rank }, () => Math.floor(rand() * 4));
              const dtype = pick(dtypes);
              const size = shape.reduce((p, q) => p * q, 1);
              const values = dtype === 'bool' ? Array.from({ length: size }, () => rand() < 0.5) : Array.from({ length: size }, () => Math.floor(rand() * 7) - 2);
              inputs[pick(names)] = tf.tensor(values, shape, dtype);
            }
            const attrs: Record<string, unknown> = {};
            for (let k = 0; k < 6; k++) attrs[pick(attrNames)] = pick(junk);
            try {
              const out = tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap);
              ran++;
              for (const t of Array.isArray(out) ? out : [out]) (t as tf.Tensor).dataSync();
            } catch (err) {
              threw++;
              assert.ok(err instanceof Error, `${name} threw a non-Error: ${String(err)}`);
            }
          });
        }
      }
      assert.ok(ran > 0 && threw > 0);
    });
  });
});
