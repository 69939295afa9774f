/**
 * Writes test/fixtures/tfjs-io/: models in the files other tools write, for test/81.tfjs.io.test.ts.
 *
 * - lstm/, gru/: tfjs-layers models saved in tfjs-node's layout (model.json + weights.bin). The
 *   files are written here by hand, exactly as tfjs-node's NodeFileSystem.save
 *   (tfjs-node/src/io/file_system.ts, tfjs 4.22) writes them from the model's artifacts (caught
 *   with tf.io.withSaveHandler), so they do not depend on lib/tfjs/io-file.ts. lstm/ is an
 *   Embedding → LSTM → Dense classifier trained one epoch with Adam and saved with its optimizer
 *   (trainingConfig and the optimizer's weights) and user-defined metadata; gru/ is a GRU → Dense
 *   regressor, saved without either.
 * - graph/, graph-quantized/: graph models in the tfjs converter's format, hand-built: a
 *   GraphDef-JSON topology (MatMul → BiasAdd → Relu → _FusedMatMul(BiasAdd) → Identity, as the
 *   converter writes a two-layer Keras MLP). graph/ has its float32 weights in one group split over
 *   two shard files at a fixed shard size (so a weight straddles the two), and a `signature`.
 *   graph-quantized/ has the same weights quantized as the converter's write_weights.py quantizes
 *   them (uint8 and uint16 affine with its nudged range, float16), in two groups, and its signature
 *   in userDefinedMetadata as older converters wrote it.
 * - expected.json: each model's input and its output, computed here on tfjs's cpu backend (for the
 *   graph models with plain tfjs ops on the weights the files hold, dequantized as tfjs does).
 *
 * Everything is seeded: running it again writes the same bytes.
 * Run: npx tsx scripts/gen-fixtures-tfjs-io.ts
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';

const OUT = path.join(__dirname, '..', 'test', 'fixtures', 'tfjs-io');

interface Encoded { shape: number[]; data: number[] }
const expected: Record<string, { input: Encoded; output: Encoded }> = {};

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function encode(t: tf.Tensor): Encoded {
  return { shape: t.shape, data: Array.from(t.dataSync()) };
}

function fresh(dir: string): string {
  const d = path.join(OUT, dir);
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** The files tfjs-node's NodeFileSystem.save writes: model.json (these fields, in this order) and weights.bin. */
function writeLikeTfjsNode(dir: string, modelArtifacts: tf.io.ModelArtifacts): void {
  const weightsManifest = [{ paths: ['weights.bin'], weights: modelArtifacts.weightSpecs }];
  const modelJSON: Record<string, unknown> = {
    modelTopology: modelArtifacts.modelTopology,
    weightsManifest,
    format: modelArtifacts.format,
    generatedBy: modelArtifacts.generatedBy,
    convertedBy: modelArtifacts.convertedBy,
  };
  if (modelArtifacts.trainingConfig != null) modelJSON.trainingConfig = modelArtifacts.trainingConfig;
  if (modelArtifacts.signature != null) modelJSON.signature = modelArtifacts.signature;
  if (modelArtifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = modelArtifacts.userDefinedMetadata;
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJSON), 'utf8');
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(modelArtifacts.weightData as ArrayBuffer));
}

async function artifactsOf(model: tfl.LayersModel, config?: tf.io.SaveConfig): Promise<tf.io.ModelArtifacts> {
  let caught: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    caught = a;
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
  }), config);
  return caught!;
}

async function lstmModel(): Promise<void> {
  const VOCAB = 12, STEPS = 6, CLASSES = 4;
  const model = tfl.sequential();
  model.add(tfl.layers.embedding({
    inputDim: VOCAB, outputDim: 5, inputLength: STEPS,
    embeddingsInitializer: tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 11 }),
  }));
  model.add(tfl.layers.lstm({
    units: 8,
    kernelInitializer: tfl.initializers.glorotUniform({ seed: 12 }),
    recurrentInitializer: tfl.initializers.glorotUniform({ seed: 13 }),
    biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 14 }),
  }));
  model.add(tfl.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 15 }) }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const rand = lcg(7);
  const n = 16;
  const xs = tf.tensor2d(Array.from({ length: n * STEPS }, () => Math.floor(rand() * VOCAB)), [n, STEPS]);
  const ys = tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: n }, () => Math.floor(rand() * CLASSES)), 'int32'), CLASSES), 'float32');
  await model.fit(xs, ys, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
  model.setUserDefinedMetadata({ vocabulary: 'abcdefghijkl', steps: STEPS });
  writeLikeTfjsNode(fresh('lstm'), await artifactsOf(model, { includeOptimizer: true }));

  const input = tf.tensor2d([[1, 2, 3, 4, 5, 6], [11, 0, 7, 7, 3, 9], [0, 0, 0, 1, 1, 1]], [3, STEPS]);
  expected.lstm = { input: encode(input), output: encode(model.predict(input) as tf.Tensor) };
  tf.dispose([xs, ys, input]);
  model.dispose();
}

async function gruModel(): Promise<void> {
  const model = tfl.sequential();
  model.add(tfl.layers.gru({
    units: 7, inputShape: [5, 3],
    kernelInitializer: tfl.initializers.glorotUniform({ seed: 21 }),
    recurrentInitializer: tfl.initializers.glorotUniform({ seed: 22 }),
    biasInitializer: tfl.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: 23 }),
  }));
  model.add(tfl.layers.dense({ units: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: 24 }) }));
  writeLikeTfjsNode(fresh('gru'), await artifactsOf(model));
  const input = tf.tensor3d(Float32Array.from({ length: 4 * 5 * 3 }, (_, i) => Math.sin(0.7 * i) + 0.05 * i), [4, 5, 3]);
  expected.gru = { input: encode(input), output: encode(model.predict(input) as tf.Tensor) };
  input.dispose();
  model.dispose();
}

// ---- graph models ------------------------------------------------------------------------------

const IN = 4, HIDDEN = 6, OUT_UNITS = 3;
const PREFIX = 'StatefulPartitionedCall/sequential/';
const W1 = `${PREFIX}dense/MatMul/ReadVariableOp`, B1 = `${PREFIX}dense/BiasAdd/ReadVariableOp`;
const W2 = `${PREFIX}dense_1/MatMul/ReadVariableOp`, B2 = `${PREFIX}dense_1/BiasAdd/ReadVariableOp`;

const dims = (shape: number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });
const b64 = (s: string) => Buffer.from(s).toString('base64');
const constNode = (name: string, shape: number[]) => ({
  name, op: 'Const',
  attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(shape) } }, dtype: { type: 'DT_FLOAT' } },
});

/** The converter's GraphDef JSON of Dense(relu) → Dense, as tf.saved_model → tfjs writes it. */
function topology(): object {
  return {
    node: [
      { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims([-1, IN]) } } },
      constNode(W1, [IN, HIDDEN]),
      constNode(B1, [HIDDEN]),
      constNode(W2, [HIDDEN, OUT_UNITS]),
      constNode(B2, [OUT_UNITS]),
      {
        name: `${PREFIX}dense/MatMul`, op: 'MatMul', input: ['x', W1], device: '/device:CPU:0',
        attr: { transpose_a: { b: false }, transpose_b: { b: false }, T: { type: 'DT_FLOAT' } },
      },
      {
        name: `${PREFIX}dense/BiasAdd`, op: 'BiasAdd', input: [`${PREFIX}dense/MatMul`, B1], device: '/device:CPU:0',
        attr: { data_format: { s: b64('NHWC') }, T: { type: 'DT_FLOAT' } },
      },
      { name: `${PREFIX}dense/Relu`, op: 'Relu', input: [`${PREFIX}dense/BiasAdd`], device: '/device:CPU:0', attr: { T: { type: 'DT_FLOAT' } } },
      {
        name: `${PREFIX}dense_1/BiasAdd`, op: '_FusedMatMul', input: [`${PREFIX}dense/Relu`, W2, B2], device: '/device:CPU:0',
        attr: {
          transpose_b: { b: false }, transpose_a: { b: false }, T: { type: 'DT_FLOAT' }, num_args: { i: '1' },
          epsilon: { f: 0 }, fused_ops: { list: { s: [b64('BiasAdd')] } },
        },
      },
      { name: 'Identity', op: 'Identity', input: [`${PREFIX}dense_1/BiasAdd`], attr: { T: { type: 'DT_FLOAT' } } },
    ],
    library: {},
    versions: { producer: 1645 },
  };
}

const SIGNATURE = {
  inputs: { 'x:0': { name: 'x:0', dtype: 'DT_FLOAT', tensorShape: dims([-1, IN]) } },
  outputs: { 'Identity:0': { name: 'Identity:0', dtype: 'DT_FLOAT', tensorShape: dims([-1, OUT_UNITS]) } },
};

function seededWeights(): Record<string, Float32Array> {
  const rand = lcg(31);
  const make = (n: number, scale: number, shift = 0) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale + shift);
  return {
    [W1]: make(IN * HIDDEN, 0.8), // both signs: its uint16 range below crosses 0 (the nudged range)
    [B1]: make(HIDDEN, 0.3, 0.1),
    [W2]: make(HIDDEN * OUT_UNITS, 0.7, 0.9), // all positive: its uint8 range does not cross 0
    [B2]: make(OUT_UNITS, 0.2),
  };
}

/** write_weights.py's quantize_weights for uint8/uint16: the affine range, nudged so that 0 is exact. */
function quantizeAffine(data: Float32Array, bits: 8 | 16): { q: Uint8Array | Uint16Array; min: number; scale: number } {
  let min = Infinity, max = -Infinity;
  for (const v of data) { min = Math.min(min, v); max = Math.max(max, v); }
  const qmax = 2 ** bits - 1;
  let scale: number, nudgedMin: number, nudgedMax: number;
  if (min === max) {
    scale = 1; nudgedMin = min; nudgedMax = max;
  } else {
    scale = (max - min) / qmax;
    if (min <= 0 && 0 <= max) {
      const zeroPoint = Math.round((0 - min) / scale); // numpy rounds halves to even; any rounding gives a valid file
      nudgedMin = -zeroPoint * scale;
      nudgedMax = qmax * scale + nudgedMin;
    } else {
      nudgedMin = min; nudgedMax = max;
    }
  }
  const q = bits === 8 ? new Uint8Array(data.length) : new Uint16Array(data.length);
  data.forEach((v, i) => { q[i] = Math.round((Math.min(Math.max(v, nudgedMin), nudgedMax) - nudgedMin) / scale); });
  return { q, min: nudgedMin, scale };
}

/** float32 → IEEE half, round to nearest even (numpy's astype(float16)); normal and subnormal values. */
function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    const half = mant >>> shift, rest = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1)) ? 1 : 0));
  }
  const half = (exp << 10) | (mant >>> 13), rest = mant & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0));
}

function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >>> 10) & 0x1f, mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** The expected output on tfjs's cpu backend, from the weights as tfjs decodes them. */
function forward(w: Record<string, Float32Array>, input: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => {
    const h = tf.relu(tf.add(tf.matMul(input, tf.tensor2d(w[W1], [IN, HIDDEN])), tf.tensor1d(w[B1])));
    return tf.add(tf.matMul(h, tf.tensor2d(w[W2], [HIDDEN, OUT_UNITS])), tf.tensor1d(w[B2]));
  });
}

const GRAPH_INPUT = [[0.5, -1, 2, 0.25], [-0.3, 0.8, -1.5, 1], [1, 1, 1, 1]];

function graphModel(): void {
  const w = seededWeights();
  const names = [W1, B1, W2, B2];
  const shapes: Record<string, number[]> = { [W1]: [IN, HIDDEN], [B1]: [HIDDEN], [W2]: [HIDDEN, OUT_UNITS], [B2]: [OUT_UNITS] };
  const input = tf.tensor2d(GRAPH_INPUT);

  // graph/: float32, one group in two shards of at most 128 bytes (W2 straddles them).
  {
    const dir = fresh('graph');
    const all = Buffer.concat(names.map((n) => bytesOf(w[n])));
    const SHARD = 128;
    const shards = Math.ceil(all.length / SHARD);
    const paths: string[] = [];
    for (let i = 0; i < shards; i++) {
      const file = `group1-shard${i + 1}of${shards}.bin`;
      fs.writeFileSync(path.join(dir, file), all.subarray(i * SHARD, (i + 1) * SHARD));
      paths.push(file);
    }
    const modelJSON = {
      format: 'graph-model',
      generatedBy: '2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      signature: SIGNATURE,
      modelTopology: topology(),
      weightsManifest: [{ paths, weights: names.map((name) => ({ name, shape: shapes[name], dtype: 'float32' })) }],
    };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJSON));
    expected.graph = { input: encode(input), output: encode(forward(w, input)) };
  }

  // graph-quantized/: W1 uint16, B1 float16 (group 1); W2 uint8, B2 float32 (group 2).
  {
    const dir = fresh('graph-quantized');
    const q1 = quantizeAffine(w[W1], 16);
    const h1 = Uint16Array.from(w[B1], toHalf);
    const q2 = quantizeAffine(w[W2], 8);
    const decoded: Record<string, Float32Array> = {
      [W1]: Float32Array.from(q1.q, (v) => v * q1.scale + q1.min),
      [B1]: Float32Array.from(h1, fromHalf),
      [W2]: Float32Array.from(q2.q, (v) => v * q2.scale + q2.min),
      [B2]: w[B2],
    };
    fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.concat([bytesOf(q1.q), bytesOf(h1)]));
    fs.writeFileSync(path.join(dir, 'group2-shard1of1.bin'), Buffer.concat([bytesOf(q2.q), bytesOf(w[B2])]));
    const modelJSON = {
      format: 'graph-model',
      generatedBy: '2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      userDefinedMetadata: { signature: SIGNATURE },
      modelTopology: topology(),
      weightsManifest: [
        {
          paths: ['group1-shard1of1.bin'],
          weights: [
            { name: W1, shape: shapes[W1], dtype: 'float32', quantization: { dtype: 'uint16', min: q1.min, scale: q1.scale, original_dtype: 'float32' } },
            { name: B1, shape: shapes[B1], dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } },
          ],
        },
        {
          paths: ['group2-shard1of1.bin'],
          weights: [
            { name: W2, shape: shapes[W2], dtype: 'float32', quantization: { dtype: 'uint8', min: q2.min, scale: q2.scale, original_dtype: 'float32' } },
            { name: B2, shape: shapes[B2], dtype: 'float32' },
          ],
        },
      ],
    };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJSON));
    expected['graph-quantized'] = { input: encode(input), output: encode(forward(decoded, input)) };
  }
  input.dispose();
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  fs.mkdirSync(OUT, { recursive: true });
  await lstmModel();
  await gruModel();
  graphModel();
  const lines = Object.entries(expected).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  fs.writeFileSync(path.join(OUT, 'expected.json'), `{\n${lines.join(',\n')}\n}\n`);
  console.log(`wrote ${OUT}: ${fs.readdirSync(OUT).join(', ')}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
