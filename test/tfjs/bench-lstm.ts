/**
 * tfjs-layers LSTM training speed on the `torch`, `cpu` and `wasm` backends (the benchmark
 * issue's reference size: batch 32, sequence 64, input 32, hidden 128, Adam, MSE on a Dense
 * head). Prints one JSON line per backend: milliseconds per training step (model.fit batch)
 * and sequences per second, after warm-up.
 *
 * Usage: npx tsx test/tfjs/bench-lstm.ts [--backends torch,cpu,wasm] [--steps N] [--recurrentActivation sigmoid|hardSigmoid] [--layer lstm|gru|simpleRNN]
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { fusedStats } from '../../lib/tfjs';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const BATCH = 32, SEQ = 64, INPUT = 32, HIDDEN = 128;

async function bench(backend: string, steps: number, layer: string, recurrentActivation: string): Promise<void> {
  if (backend === 'wasm') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-wasm');
  }
  await tf.setBackend(backend);
  await tf.ready();
  const model = tfl.sequential();
  // glorotUniform: tfjs-layers' default orthogonal initializer needs tfjs-core's chained ops,
  // which only the @tensorflow/tfjs bundle registers (the speed is the same).
  const opts: Record<string, unknown> = { units: HIDDEN, inputShape: [SEQ, INPUT], recurrentInitializer: 'glorotUniform' };
  if (layer !== 'simpleRNN') opts.recurrentActivation = recurrentActivation;
  model.add((tfl.layers as unknown as Record<string, (o: object) => tfl.layers.Layer>)[layer](opts));
  model.add(tfl.layers.dense({ units: 10 }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  const xs = tf.randomNormal([BATCH, SEQ, INPUT]);
  const ys = tf.randomNormal([BATCH, 10]);
  const before = { ...fusedStats };
  const warm = backend === 'torch' ? 3 : 1;
  for (let i = 0; i < warm; i++) await model.trainOnBatch(xs, ys);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(xs, ys);
  const ms = (performance.now() - t0) / steps;
  const fused = (fusedStats as Record<string, number>)[layer] - (before as Record<string, number>)[layer];
  console.log(JSON.stringify({ backend, layer, recurrentActivation: layer === 'simpleRNN' ? undefined : recurrentActivation, batch: BATCH, seq: SEQ, input: INPUT, hidden: HIDDEN,
    msPerStep: Number(ms.toFixed(1)), sequencesPerSecond: Number(((BATCH * 1000) / ms).toFixed(1)), fusedKernelCalls: fused }));
  tf.dispose([xs, ys]);
  model.dispose();
}

(async () => {
  const backends = arg('--backends', 'torch,cpu,wasm').split(',');
  const layer = arg('--layer', 'lstm');
  const recurrentActivation = arg('--recurrentActivation', 'hardSigmoid');
  for (const b of backends) {
    const steps = Number(arg('--steps', b === 'torch' ? '20' : '3'));
    await bench(b, steps, layer, recurrentActivation);
  }
})().catch((e) => { console.error(e); process.exit(1); });
