/**
 * TensorFlow.js's side of the benchmark suite (a worker process; see bench/common.ts): what a
 * Node user would pick instead of torchrnn. `tsx bench/peer-tfjs.ts cpu|wasm` runs the plain
 * JavaScript CPU backend or @tensorflow/tfjs-backend-wasm; `torch` runs the same models on
 * torchrnn's own TensorFlow.js backend (lib/tfjs: libtorch kernels, fused recurrent layers). The models are tf.layers models
 * (the Keras API), trained with model.trainOnBatch (Adam, softmax cross-entropy) and run with
 * model.predict; a variable-length batch goes through a Masking layer, TensorFlow.js's form of
 * packed sequences. Loads `@tensorflow/tfjs` if installed, else its parts (tfjs-core,
 * tfjs-layers, tfjs-backend-cpu), which is what `@tensorflow/tfjs` bundles for the CPU.
 */
import { Case, eventLoopDuring, Hello, LoopCase, ModelCase, Request, Runner, ServeCase, servePeer } from './common';

/* eslint-disable @typescript-eslint/no-explicit-any -- TensorFlow.js is an optional peer, loaded at run time */
type TF = any;
type T = any;

const backend = process.argv[2] === 'wasm' || process.argv[2] === 'torch' ? process.argv[2] : 'cpu';

function loadTf(): { tf: TF; version: string; from: string } {
  let tf: TF;
  let from: string;
  try {
    tf = require('@tensorflow/tfjs');
    from = '@tensorflow/tfjs';
  } catch {
    const core = require('@tensorflow/tfjs-core');
    // tfjs-core's CommonJS bundle has no chained tensor methods (x.square(), which tfjs-layers
    // calls); its ES-module files that add them cannot be required by plain Node. torchrnn's
    // shim (dist/tfjs/chained-ops.js, tfjs-core alone) attaches tfjs-core's own ops, as
    // @tensorflow/tfjs's bundle does.
    require('../dist/tfjs/chained-ops').installChainedOps();
    require('@tensorflow/tfjs-backend-cpu');
    const layers = require('@tensorflow/tfjs-layers');
    tf = { ...core, ...layers };
    from = '@tensorflow/tfjs-core + tfjs-layers + tfjs-backend-cpu';
  }
  if (backend === 'wasm') {
    require('@tensorflow/tfjs-backend-wasm');
    from += ' + tfjs-backend-wasm';
  }
  if (backend === 'torch') {
    require('../dist/tfjs');
    from += ' + torchrnn/tfjs';
  }
  const version = String(tf.version_core ?? tf.version?.['tfjs-core'] ?? 'unknown');
  return { tf, version, from };
}

const { tf, version, from } = loadTf();

function buildModel(c: ModelCase | LoopCase): T {
  const m = tf.sequential();
  const cellOpts = { units: c.hidden, recurrentInitializer: 'glorotUniform' };  // orthogonal init is slow in JS and not timed anyway
  if (c.kind === 'charlm') {
    m.add(tf.layers.embedding({ inputDim: c.classes, outputDim: c.embed, inputShape: [c.seq] }));
  } else if (c.kind === 'classifier' && c.lengths) {
    m.add(tf.layers.masking({ maskValue: 0, inputShape: [c.seq, c.input] }));
  }
  const ctor = { lstm: tf.layers.lstm, gru: tf.layers.gru, rnn: tf.layers.simpleRNN }[c.cell];
  for (let l = 0; l < c.layers; l++) {
    const first = l === 0 && m.layers.length === 0 ? { inputShape: [c.seq, c.input] } : {};
    m.add(ctor({ ...cellOpts, ...first, returnSequences: c.kind === 'charlm' || l < c.layers - 1 }));
  }
  m.add(tf.layers.dense({ units: c.classes }));
  m.compile({ optimizer: tf.train.adam(1e-3), loss: (yt: T, yp: T) => tf.losses.softmaxCrossEntropy(yt, yp) });
  return m;
}

function data(c: ModelCase | LoopCase, batches = 1): { x: T; y: T } {
  const n = c.batch * batches;
  if (c.kind === 'charlm') {
    return { x: tf.randomUniform([n, c.seq], 0, c.classes, 'int32').cast('float32'), y: tf.oneHot(tf.randomUniform([n, c.seq], 0, c.classes, 'int32'), c.classes) };
  }
  let x = tf.randomNormal([n, c.seq, c.input]);
  if (c.kind === 'classifier' && c.lengths) {
    const lengths = c.lengths;
    const mask = tf.tensor3d(Float32Array.from({ length: n * c.seq }, (_, i) => (i % c.seq < lengths[Math.floor(i / c.seq)] ? 1 : 0)), [n, c.seq, 1]);
    x = tf.mul(x, mask);
  }
  return { x, y: tf.oneHot(tf.randomUniform([n], 0, c.classes, 'int32'), c.classes) };
}

function modelRunner(c: ModelCase): Runner {
  const m = buildModel(c);
  const { x, y } = data(c);
  const dispose = () => { x.dispose(); y.dispose(); m.dispose(); };
  if (c.mode === 'train') return { iter: async () => { await m.trainOnBatch(x, y); }, dispose };
  return { iter: () => { const out = m.predict(x); out.dataSync(); out.dispose(); }, dispose };
}

/**
 * Serving: the recurrent layers alone (returning the whole sequence, as nn.LSTM does) on one
 * sequence: predict + dataSync, or predict + await data(). The suite does not ask for the
 * concurrent case (the backends compute on the JS thread).
 */
function serveRunner(c: ServeCase): Runner {
  if (c.mode === 'concurrent') throw new Error('n/a: calls in flight run one after another on the JS thread');
  const m = tf.sequential();
  const ctor = c.cell === 'lstm' ? tf.layers.lstm : tf.layers.gru;
  for (let l = 0; l < c.layers; l++) {
    m.add(ctor({ units: c.hidden, recurrentInitializer: 'glorotUniform', returnSequences: true, ...(l === 0 ? { inputShape: [c.seq, c.input] } : {}) }));
  }
  const x = tf.randomNormal([1, c.seq, c.input]);
  const dispose = () => { x.dispose(); m.dispose(); };
  if (c.mode === 'sync') return { iter: () => { const out = m.predict(x); out.dataSync(); out.dispose(); }, dispose };
  return { iter: async () => { const out = m.predict(x); await out.data(); out.dispose(); }, dispose };
}

function setup(c: Case): Runner {
  switch (c.kind) {
    case 'classifier': case 'charlm': return modelRunner(c);
    case 'serve': return serveRunner(c);
    case 'matmul': {
      const a = tf.randomNormal([c.n, c.n]);
      const b = tf.randomNormal([c.n, c.n]);
      return { iter: () => { const p = tf.matMul(a, b); p.dataSync(); p.dispose(); }, dispose: () => { a.dispose(); b.dispose(); } };
    }
    case 'tiny': {
      const dense = tf.layers.dense({ units: 4, inputShape: [4] });
      const x = tf.randomNormal([1, 4]);
      dense.apply(x).dispose();   // builds the weights
      const dispose = () => { x.dispose(); dense.dispose(); };
      if (c.op === 'add') return { iter: () => { for (let i = 0; i < c.calls; i++) tf.add(x, x).dispose(); }, dispose };
      if (!c.async) return { iter: () => { for (let i = 0; i < c.calls; i++) dense.apply(x).dispose(); }, dispose };
      // the async form of a small call in TensorFlow.js: compute, then await the result's data
      return { iter: async () => { for (let i = 0; i < c.calls; i++) { const yy = dense.apply(x); await yy.data(); yy.dispose(); } }, dispose };
    }
    default: throw new Error(`no runner for ${(c as Case).kind}`);
  }
}

async function eventLoop(c: LoopCase): Promise<unknown> {
  const m = buildModel(c);
  const { x, y } = data(c, c.steps);
  const r = await eventLoopDuring(async () => {
    await m.fit(x, y, { batchSize: c.batch, epochs: 1, shuffle: false, verbose: 0 });
    return c.steps;
  }, c.intervalMs);
  x.dispose(); y.dispose(); m.dispose();
  return r;
}

servePeer({
  async hello(req: Request): Promise<Hello> {
    await tf.setBackend(backend);
    await tf.ready();
    if (tf.getBackend() !== backend) throw new Error(`backend ${backend} did not start (got ${tf.getBackend()})`);
    const notes = [`loaded ${from}`];
    let threads = 1;
    if (backend === 'wasm') {
      const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      notes.push(`wasm SIMD ${simd ? 'on' : 'off'}, multithreaded build ${mt ? 'on' : 'off'}`);
      if (mt) threads = Number(require('@tensorflow/tfjs-backend-wasm').getThreadsCount?.() ?? 1);
    } else if (backend === 'torch') {
      notes.push('torchrnn\'s backend: libtorch kernels on the Node thread, fused LSTM/GRU/SimpleRNN layers');
      threads = require('../dist').getNumThreads();
    } else {
      notes.push('plain JavaScript kernels on the Node thread');
    }
    const hello: Hello = { peer: `tfjs-${backend}`, version: `TensorFlow.js ${version} (${backend} backend)`, threads, notes };
    return hello;
  },
  setup,
  eventLoop,
});
