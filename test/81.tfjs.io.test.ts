/**
 * tfjs-node's file:// IO handler (lib/tfjs/io-file.ts): model.save('file://…') writes tfjs-node's
 * files byte for byte, tf.loadLayersModel / tf.loadGraphModel read them back and read the files
 * of tfjs-node and of the tfjs converter (test/fixtures/tfjs-io/, written by
 * scripts/gen-fixtures-tfjs-io.ts with expected outputs from tfjs's cpu backend), between the
 * torch and cpu backends both ways; crash-safe writes; errors with tfjs-node's messages.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfc from '@tensorflow/tfjs-converter';
import '@tensorflow/tfjs-backend-cpu';
import * as torch from '../lib';
import '../lib/tfjs';
import { fileSystem, nodeFileSystemRouter, registerFileSystemHandlers } from '../lib/tfjs/io-file';
import { assertAllClose, ROOT, settle, suiteTmpDir } from './helpers';

const FIXTURES = path.join(__dirname, 'fixtures', 'tfjs-io');
interface Encoded { shape: number[]; data: number[] }
const EXPECTED = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, { input: Encoded; output: Encoded }>;
const TOL = { rtol: 1e-5, atol: 1e-6 };

/** What tfjs-node's NodeFileSystem.save writes for these artifacts (its code, restated). */
function tfjsNodeFiles(a: tf.io.ModelArtifacts): { json: string; weights: Buffer } {
  const modelJSON: Record<string, unknown> = {
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    format: a.format,
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy,
  };
  if (a.trainingConfig != null) modelJSON.trainingConfig = a.trainingConfig;
  if (a.signature != null) modelJSON.signature = a.signature;
  if (a.userDefinedMetadata != null) modelJSON.userDefinedMetadata = a.userDefinedMetadata;
  return { json: JSON.stringify(modelJSON), weights: Buffer.from(a.weightData as ArrayBuffer) };
}

async function artifactsOf(model: { save: tfl.LayersModel['save'] }, config?: tf.io.SaveConfig): Promise<tf.io.ModelArtifacts> {
  let caught: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    caught = a;
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
  }), config);
  return caught!;
}

/** Embedding → LSTM → Dense, trained one epoch with Adam (optimizer weights to save). */
async function lstmModel(): Promise<tfl.LayersModel> {
  const model = tfl.sequential();
  model.add(tfl.layers.embedding({ inputDim: 10, outputDim: 4, inputLength: 5, embeddingsInitializer: tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 1 }) }));
  model.add(tfl.layers.lstm({ units: 6, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }), recurrentInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }));
  model.add(tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const xs = tf.tensor2d(Array.from({ length: 40 }, (_, i) => (i * 7) % 10), [8, 5]);
  const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
  const ysf = tf.cast(ys, 'float32');
  await model.fit(xs, ysf, { epochs: 1, batchSize: 4, verbose: 0 });
  tf.dispose([xs, ys, ysf]);
  model.setUserDefinedMetadata({ vocabulary: 'abcdefghij' });
  return model;
}

function gruModel(): tfl.LayersModel {
  const model = tfl.sequential();
  model.add(tfl.layers.gru({ units: 5, inputShape: [4, 3], kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }), recurrentInitializer: tfl.initializers.glorotUniform({ seed: 6 }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: 7 }) }));
  model.add(tfl.layers.dense({ units: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: 8 }) }));
  return model;
}

const LSTM_X = (): tf.Tensor => tf.tensor2d([[1, 2, 3, 4, 5], [9, 0, 0, 7, 1]]);
const GRU_X = (): tf.Tensor => tf.tensor3d(Float32Array.from({ length: 2 * 4 * 3 }, (_, i) => Math.cos(i)), [2, 4, 3]);

function predict(model: tfl.LayersModel | tfc.GraphModel, x: tf.Tensor): Float32Array {
  const y = model.predict(x) as tf.Tensor;
  const out = y.dataSync() as Float32Array;
  y.dispose();
  return out;
}

function fixtureInput(name: string): tf.Tensor {
  return tf.tensor(EXPECTED[name].input.data, EXPECTED[name].input.shape);
}

/** `promise` rejects with an Error whose message is exactly `message`. */
async function rejects(promise: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(promise, (e: Error) => {
    assert.strictEqual(e.message, message);
    return true;
  });
}

function copyDir(from: string, to: string): string {
  fs.cpSync(from, to, { recursive: true });
  return to;
}

describe('tfjs file:// IO (tfjs-node\'s NodeFileSystem)', function () {
  this.timeout(60000);
  const tmp = suiteTmpDir('torchrnn-tfjs-io-');
  let n = 0;
  const fresh = (): string => path.join(tmp(), `m${n++}`);

  before(async () => {
    assert.strictEqual(await tf.setBackend('torch'), true);
  });
  after(async () => {
    await tf.setBackend('cpu');
  });

  it('is registered once as a save and a load router for file:// URLs (registering again adds nothing)', () => {
    registerFileSystemHandlers();
    registerFileSystemHandlers();
    assert.strictEqual(tf.io.getSaveHandlers('file:///tmp/x').length, 1);
    assert.strictEqual(tf.io.getLoadHandlers('file:///tmp/x/model.json').length, 1);
    assert.strictEqual(tf.io.getSaveHandlers('localstorage://x').length, 0);
    assert.strictEqual(nodeFileSystemRouter('http://example.com/model.json'), null);
    assert.strictEqual(nodeFileSystemRouter(['file:///a.pb', 'http://b.json']), null);
    assert.ok(nodeFileSystemRouter(['file:///a.pb', 'file:///b.json']) !== null);
    assert.strictEqual(typeof fileSystem('x').save, 'function');
    assert.strictEqual(typeof fileSystem('x').load, 'function');
  });

  it('model.save(\'file://dir\') on torch writes tfjs-node\'s model.json and weights.bin, byte for byte, creating the directories', async () => {
    const model = await lstmModel();
    const dir = path.join(fresh(), 'nested', 'dir');
    const result = await model.save(`file://${dir}`, { includeOptimizer: true });
    const want = tfjsNodeFiles(await artifactsOf(model, { includeOptimizer: true }));
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['model.json', 'weights.bin'], 'no temporary file is left');
    assert.strictEqual(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'), want.json);
    assert.ok(fs.readFileSync(path.join(dir, 'weights.bin')).equals(want.weights), 'weights.bin');
    const json = JSON.parse(want.json);
    assert.deepStrictEqual(Object.keys(json), ['modelTopology', 'weightsManifest', 'format', 'generatedBy', 'convertedBy', 'trainingConfig', 'userDefinedMetadata']);
    assert.deepStrictEqual([json.format, json.generatedBy, json.convertedBy], ['layers-model', 'TensorFlow.js tfjs-layers v4.22.0', null]);
    assert.deepStrictEqual(json.weightsManifest.map((g: tf.io.WeightsManifestConfig[number]) => g.paths), [['weights.bin']]);
    assert.ok(json.weightsManifest[0].weights.some((w: tf.io.WeightsManifestEntry) => w.group === 'optimizer'));
    assert.strictEqual(result.modelArtifactsInfo.modelTopologyType, 'JSON');
    assert.strictEqual(result.modelArtifactsInfo.weightDataBytes, want.weights.length);
    // Saving without the optimizer over the same directory: no trainingConfig, fewer weights.
    await model.save(`file://${dir}`);
    const plain = tfjsNodeFiles(await artifactsOf(model));
    assert.strictEqual(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'), plain.json);
    assert.ok(fs.readFileSync(path.join(dir, 'weights.bin')).equals(plain.weights));
    assert.deepStrictEqual(Object.keys(JSON.parse(plain.json)), ['modelTopology', 'weightsManifest', 'format', 'generatedBy', 'convertedBy', 'userDefinedMetadata']);
    model.dispose();
  });

  it('save → loadLayersModel on torch gives the same predictions, weights, metadata and optimizer state', async () => {
    for (const make of [lstmModel, async () => gruModel()]) {
      const model = await make();
      const x = model.inputs[0].shape.length === 2 ? LSTM_X() : GRU_X();
      const dir = fresh();
      await model.save(`file://${dir}`, { includeOptimizer: true });
      const loaded = await tfl.loadLayersModel(`file://${dir}/model.json`);
      assert.deepStrictEqual(predict(loaded, x), predict(model, x));
      const [a, b] = [model.getWeights(), loaded.getWeights()];
      assert.deepStrictEqual(b.map((w) => w.shape), a.map((w) => w.shape));
      a.forEach((w, i) => assert.deepStrictEqual(b[i].dataSync(), w.dataSync(), `weight ${i}`));
      assert.deepStrictEqual(loaded.getUserDefinedMetadata(), model.getUserDefinedMetadata());
      if (model.optimizer) {
        const [oa, ob] = [await model.optimizer.getWeights(), await loaded.optimizer.getWeights()];
        assert.deepStrictEqual(ob.map((w) => w.name), oa.map((w) => w.name));
        oa.forEach((w, i) => assert.deepStrictEqual(ob[i].tensor.dataSync(), w.tensor.dataSync(), `optimizer weight ${w.name}`));
      }
      tf.dispose(x);
      model.dispose();
      loaded.dispose();
    }
  });

  it('a model saved on torch loads on the cpu backend, and one saved on cpu loads on torch, with the same predictions', async () => {
    for (const [from, to] of [['torch', 'cpu'], ['cpu', 'torch']]) {
      await tf.setBackend(from);
      const model = gruModel();
      const x = GRU_X();
      const want = predict(model, x);
      const dir = fresh();
      await model.save(`file://${dir}`);
      model.dispose();
      x.dispose();
      await tf.setBackend(to);
      const loaded = await tfl.loadLayersModel(`file://${dir}/model.json`);
      const x2 = GRU_X();
      assertAllClose(predict(loaded, x2), want, TOL, `${from} → ${to}`);
      loaded.dispose();
      x2.dispose();
    }
    await tf.setBackend('torch');
  });

  it('loads the committed tfjs-node files (Embedding → LSTM → Dense with Adam, GRU → Dense) with the cpu backend\'s outputs; saving them again gives the same weights and fields', async () => {
    for (const name of ['lstm', 'gru']) {
      const model = await tfl.loadLayersModel(`file://${FIXTURES}/${name}/model.json`);
      const x = fixtureInput(name);
      assertAllClose(predict(model, x), EXPECTED[name].output.data, TOL, name);
      const withOptimizer = name === 'lstm';
      assert.strictEqual(model.optimizer?.getClassName(), withOptimizer ? 'Adam' : undefined);
      const dir = fresh();
      await model.save(`file://${dir}`, { includeOptimizer: withOptimizer });
      const want = tfjsNodeFiles(await artifactsOf(model, { includeOptimizer: withOptimizer }));
      assert.strictEqual(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'), want.json, `${name}/model.json saved again`);
      const committed = fs.readFileSync(path.join(FIXTURES, name, 'weights.bin'));
      assert.ok(fs.readFileSync(path.join(dir, 'weights.bin')).equals(committed), `${name}/weights.bin saved again`);
      // Every field but the topology as committed (tfjs-layers adds "dtype" to a reloaded
      // Embedding's config: its own serialization, not the files').
      const [again, original] = [dir, path.join(FIXTURES, name)].map((d) => JSON.parse(fs.readFileSync(path.join(d, 'model.json'), 'utf8')));
      delete again.modelTopology;
      delete original.modelTopology;
      assert.deepStrictEqual(again, original);
      x.dispose();
      model.dispose();
    }
  });

  it('loadGraphModel reads the converter\'s files (two shards; uint16/float16/uint8 quantized in two groups) with the cpu backend\'s outputs', async () => {
    const outputs: Float32Array[] = [];
    for (const name of ['graph', 'graph-quantized']) {
      const model = await tfc.loadGraphModel(`file://${FIXTURES}/${name}/model.json`);
      const x = fixtureInput(name);
      outputs.push(predict(model, x));
      assertAllClose(outputs[outputs.length - 1], EXPECTED[name].output.data, TOL, name);
      assert.deepStrictEqual(model.inputNodes, ['x:0']);
      x.dispose();
      model.dispose();
    }
    // The quantized weights were dequantized, not read as floats: the outputs differ a little.
    const diff = Math.max(...outputs[0].map((v, i) => Math.abs(v - outputs[1][i])));
    assert.ok(diff > 1e-4 && diff < 0.05, `quantized vs float32 output: ${diff}`);
  });

  it('graphModel.save(\'file://\') writes one weights.bin and keeps the signature; it loads back with the same outputs', async () => {
    const model = await tfc.loadGraphModel(`file://${FIXTURES}/graph/model.json`);
    const dir = fresh();
    await model.save(`file://${dir}`);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const original = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'graph', 'model.json'), 'utf8'));
    assert.deepStrictEqual(Object.keys(json), ['modelTopology', 'weightsManifest', 'format', 'generatedBy', 'convertedBy', 'signature']);
    assert.deepStrictEqual([json.format, json.convertedBy, json.signature, json.modelTopology], [original.format, original.convertedBy, original.signature, original.modelTopology]);
    assert.deepStrictEqual(json.weightsManifest, [{ paths: ['weights.bin'], weights: original.weightsManifest[0].weights }]);
    const shards = ['group1-shard1of2.bin', 'group1-shard2of2.bin'].map((f) => fs.readFileSync(path.join(FIXTURES, 'graph', f)));
    assert.ok(fs.readFileSync(path.join(dir, 'weights.bin')).equals(Buffer.concat(shards)));
    const again = await tfc.loadGraphModel(`file://${dir}/model.json`);
    const x = fixtureInput('graph');
    assertAllClose(predict(again, x), EXPECTED.graph.output.data, TOL, 'graph saved again');
    x.dispose();
    model.dispose();
    again.dispose();
  });

  it('bytes past what a manifest group needs are ignored (tfjs-node would shift the next group\'s weights)', async () => {
    const dir = copyDir(path.join(FIXTURES, 'graph-quantized'), fresh());
    fs.appendFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.alloc(6, 0xff));
    const model = await tfc.loadGraphModel(`file://${dir}/model.json`);
    const x = fixtureInput('graph-quantized');
    assertAllClose(predict(model, x), EXPECTED['graph-quantized'].output.data, TOL, 'padded group 1');
    x.dispose();
    model.dispose();
  });

  it('tfjs-node\'s array form fileSystem([topology.pb, weightsManifest.json]) loads a binary topology and its weights', async () => {
    const dir = fresh();
    fs.mkdirSync(dir);
    const pb = Buffer.from([0x0a, 0x03, 0x01, 0x02, 0x03]);
    fs.writeFileSync(path.join(dir, 'tensorflowjs.pb'), pb);
    const manifest = [{ paths: ['w.bin'], weights: [{ name: 'w', shape: [2], dtype: 'float32' }, { name: 's', shape: [2], dtype: 'string' }] }];
    fs.writeFileSync(path.join(dir, 'weights_manifest.json'), JSON.stringify(manifest));
    const strings = Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from('hi'), Buffer.from([3, 0, 0, 0]), Buffer.from('you')]);
    fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.concat([Buffer.from(Float32Array.from([1.5, -2]).buffer), strings]));
    const handler = tf.io.getLoadHandlers([`file://${dir}/tensorflowjs.pb`, `file://${dir}/weights_manifest.json`])[0];
    const artifacts = await handler.load!();
    assert.ok(artifacts.modelTopology instanceof ArrayBuffer);
    assert.ok(Buffer.from(artifacts.modelTopology as ArrayBuffer).equals(pb));
    assert.deepStrictEqual(artifacts.weightSpecs, manifest[0].weights);
    const decoded = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    assert.deepStrictEqual(Array.from(decoded.w.dataSync()), [1.5, -2]);
    assert.deepStrictEqual((decoded.s.dataSync() as unknown as Uint8Array[]).map((b) => Buffer.from(b).toString()), ['hi', 'you']);
    tf.dispose(Object.values(decoded));
    // The string's length says 3 bytes but only 2 are there.
    fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.concat([Buffer.from(Float32Array.from([1.5, -2]).buffer), strings.subarray(0, strings.length - 1)]));
    await rejects(fileSystem([path.join(dir, 'tensorflowjs.pb'), path.join(dir, 'weights_manifest.json')]).load!(),
      `Weight file ${path.join(dir, 'w.bin')} holds 20 bytes, fewer than the 21 bytes its weights manifest in ${path.join(dir, 'weights_manifest.json')} needs: loading failed`);
    fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.concat([Buffer.from(Float32Array.from([1.5, -2]).buffer), strings.subarray(0, 9)]));
    await rejects(fileSystem([path.join(dir, 'tensorflowjs.pb'), path.join(dir, 'weights_manifest.json')]).load!(),
      `Weight file ${path.join(dir, 'w.bin')} holds 17 bytes, fewer than its weights manifest in ${path.join(dir, 'weights_manifest.json')} needs: loading failed`);
  });

  describe('bad input: tfjs-node\'s messages, naming the path', () => {
    it('missing files and directories', async () => {
      const dir = copyDir(path.join(FIXTURES, 'gru'), fresh());
      const missing = path.join(tmp(), 'no', 'such', 'model.json');
      await rejects(tfl.loadLayersModel(`file://${missing}`), `Path ${missing} does not exist: loading failed`);
      await rejects(tfc.loadGraphModel('file://no/such/model.json'), `Path ${path.resolve('no/such/model.json')} does not exist: loading failed`);
      await rejects(tfl.loadLayersModel(`file://${dir}`), 'The path to load from must be a file. Loading from a directory is not supported.');
      fs.rmSync(path.join(dir, 'weights.bin'));
      await rejects(tfl.loadLayersModel(`file://${dir}/model.json`), `Weight file ${path.join(dir, 'weights.bin')} does not exist: loading failed`);
      const pb = path.join(dir, 'x.pb'), manifest = path.join(dir, 'm.json');
      await rejects(fileSystem([pb, manifest]).load!(), `Topology Path ${pb} does not exist: loading failed`);
      fs.writeFileSync(pb, '');
      await rejects(fileSystem([pb, manifest]).load!(), `Weight Manifest Path ${manifest} does not exist: loading failed`);
      await rejects(fileSystem([dir, pb]).load!(), 'File specified for topology is not a file!');
      await rejects(fileSystem([pb, dir]).load!(), 'File specified for the weight manifest is not a file!');
      assert.throws(() => tf.io.getLoadHandlers(['file://a', 'file://b', 'file://c']), { message: 'file paths must have a length of 2, (actual length is 3).' });
    });

    it('corrupt model.json, weights manifest and weight files', async () => {
      const dir = copyDir(path.join(FIXTURES, 'gru'), fresh());
      const file = path.join(dir, 'model.json');
      const good = fs.readFileSync(file, 'utf8');
      const truncated = good.slice(0, 100);
      fs.writeFileSync(file, truncated);
      let syntax = '';
      try { JSON.parse(truncated); } catch (e) { syntax = (e as Error).message; }
      await rejects(tfl.loadLayersModel(`file://${file}`), `Failed to parse model JSON of file ${file}: ${syntax}`);
      fs.writeFileSync(file, '[1,2]');
      await rejects(tfl.loadLayersModel(`file://${file}`), `The JSON from file ${file} is [1,2], not a model JSON object.`);
      fs.writeFileSync(file, '{"format":"layers-model"}');
      await rejects(tfl.loadLayersModel(`file://${file}`), `The JSON from file ${file} contains neither model topology or manifest for weights.`);
      const json = JSON.parse(good);
      fs.writeFileSync(file, JSON.stringify({ ...json, weightsManifest: { paths: ['weights.bin'] } }));
      await rejects(tfl.loadLayersModel(`file://${file}`), `Invalid weights manifest in file ${file}: expected an array of {paths, weights} groups but found {"paths":["weights.bin"]}`);
      fs.writeFileSync(file, JSON.stringify({ ...json, weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'k', shape: [2, -1], dtype: 'float32' }] }] }));
      await rejects(tfl.loadLayersModel(`file://${file}`), `Invalid weights manifest in file ${file}: weight 0 of group 0 (k) has shape [2,-1], not an array of sizes`);
      fs.writeFileSync(file, JSON.stringify({ ...json, weightsManifest: [{ paths: 'weights.bin', weights: [] }] }));
      await rejects(tfl.loadLayersModel(`file://${file}`), `Invalid weights manifest in file ${file}: group 0 has paths "weights.bin", not an array of file names`);
      fs.writeFileSync(file, good);
      const weights = path.join(dir, 'weights.bin');
      const bytes = fs.readFileSync(weights);
      fs.writeFileSync(weights, bytes.subarray(0, bytes.length - 4));
      await rejects(tfl.loadLayersModel(`file://${file}`),
        `Weight file ${weights} holds ${bytes.length - 4} bytes, fewer than the ${bytes.length} bytes its weights manifest in ${file} needs: loading failed`);

      const graph = copyDir(path.join(FIXTURES, 'graph'), fresh());
      const shards = ['group1-shard1of2.bin', 'group1-shard2of2.bin'].map((f) => path.join(graph, f));
      fs.truncateSync(shards[1], 10);
      await rejects(tfc.loadGraphModel(`file://${graph}/model.json`),
        `Weight files ${shards.join(', ')} hold 138 bytes, fewer than the 204 bytes its weights manifest in ${path.join(graph, 'model.json')} needs: loading failed`);
      const quantized = copyDir(path.join(FIXTURES, 'graph-quantized'), fresh());
      const qjson = JSON.parse(fs.readFileSync(path.join(quantized, 'model.json'), 'utf8'));
      qjson.weightsManifest[1].weights[0].quantization.dtype = 'int4';
      fs.writeFileSync(path.join(quantized, 'model.json'), JSON.stringify(qjson));
      await rejects(tfc.loadGraphModel(`file://${quantized}/model.json`),
        `Weight ${qjson.weightsManifest[1].weights[0].name} has unknown quantization dtype int4. Supported quantization dtypes are: 'uint8', 'uint16', and 'float16'.`);
      // The process goes on: the good files still load.
      const model = await tfl.loadLayersModel(`file://${FIXTURES}/gru/model.json`);
      model.dispose();
    });

    it('saving onto a file, to several paths, a binary topology', async () => {
      const model = gruModel();
      const file = path.join(tmp(), 'a-file');
      fs.writeFileSync(file, 'x');
      await rejects(model.save(`file://${file}`), `Path ${file} exists as a file. The path must be nonexistent or point to a directory.`);
      await rejects(model.save(`file://${file}/sub`), `ENOTDIR: not a directory, stat '${file}/sub'`);
      await rejects(fileSystem([fresh(), fresh()]).save!({ modelTopology: {} }), 'Cannot perform saving to multiple paths.');
      await rejects(fileSystem(fresh()).save!({ modelTopology: new ArrayBuffer(4) }), 'NodeFileSystem.save() does not support saving model topology in binary format yet.');
      assert.strictEqual(fs.readFileSync(file, 'utf8'), 'x');
      assert.throws(() => fileSystem(3 as unknown as string), { message: 'Expected a path string or an array of 2 path strings for path but received 3' });
      model.dispose();
    });
  });

  it('a crash while saving leaves the previous model.json and weights.bin whole; the next save removes the crashed writer\'s temporary files', async () => {
    const dir = copyDir(path.join(FIXTURES, 'gru'), fresh());
    const before = ['model.json', 'weights.bin'].map((f) => fs.readFileSync(path.join(dir, f)));
    // A child process saves a different model over it and is killed (SIGKILL) when its files are
    // written, at the first rename that would put one in place.
    const child = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', `
      const fs = require('fs');
      fs.promises.rename = async () => { process.kill(process.pid, 'SIGKILL'); await new Promise(() => {}); };
      const { fileSystem } = require(${JSON.stringify(path.join(ROOT, 'lib', 'tfjs', 'io-file.ts'))});
      fileSystem(${JSON.stringify(dir)}).save({ modelTopology: { other: true }, format: 'layers-model', weightSpecs: [{ name: 'w', shape: [4], dtype: 'float32' }], weightData: new ArrayBuffer(16) });
    `], { cwd: ROOT, encoding: 'utf8' });
    assert.strictEqual(child.signal, 'SIGKILL', child.stderr);
    const names = fs.readdirSync(dir).sort();
    assert.strictEqual(names.length, 4, `the killed writer's two temporary files are there: ${names}`);
    assert.ok(names.every((f) => ['model.json', 'weights.bin'].includes(f) || f.startsWith(`.model.json.tmp-${child.pid}-`) || f.startsWith(`.weights.bin.tmp-${child.pid}-`)), String(names));
    ['model.json', 'weights.bin'].forEach((f, i) => assert.ok(fs.readFileSync(path.join(dir, f)).equals(before[i]), f));
    const model = await tfl.loadLayersModel(`file://${dir}/model.json`);
    const x = fixtureInput('gru');
    assertAllClose(predict(model, x), EXPECTED.gru.output.data, TOL, 'the previous model');
    await model.save(`file://${dir}`);
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['model.json', 'weights.bin']);
    x.dispose();
    model.dispose();
  });

  it('concurrent saves to one directory each write whole files (one after the other)', async () => {
    const a = gruModel(), b = gruModel();
    b.setWeights(b.getWeights().map((w) => tf.mul(w, 2)));
    const dir = fresh();
    await Promise.all([a.save(`file://${dir}`), b.save(`file://${dir}`), a.save(`file://${dir}`), b.save(`file://${dir}`)]);
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['model.json', 'weights.bin']);
    // Whichever came last, model.json and weights.bin are one model's pair.
    const got = { json: fs.readFileSync(path.join(dir, 'model.json'), 'utf8'), weights: fs.readFileSync(path.join(dir, 'weights.bin')) };
    const pairs = [tfjsNodeFiles(await artifactsOf(a)), tfjsNodeFiles(await artifactsOf(b))];
    assert.ok(pairs.some((p) => p.json === got.json && p.weights.equals(got.weights)), 'one model\'s files');
    a.dispose();
    b.dispose();
  });

  it('leaks no tensors: save, load, predict and dispose leave tf.memory() and torch.memory() as they were', async () => {
    // The model is built outside the count: building tfjs-layers models keeps a tensor on any
    // backend, and save({ includeOptimizer: true }) leaks Adam's `iter` scalar with any handler
    // (tf.io.withSaveHandler too). Loading a model with its optimizer is counted.
    const model = await lstmModel();
    const x = LSTM_X();
    const cycle = async (): Promise<void> => {
      const dir = fresh();
      await model.save(`file://${dir}`);
      const loaded = await tfl.loadLayersModel(`file://${dir}/model.json`);
      const withOptimizer = await tfl.loadLayersModel(`file://${FIXTURES}/lstm/model.json`);
      const graph = await tfc.loadGraphModel(`file://${FIXTURES}/graph-quantized/model.json`);
      const g = fixtureInput('graph-quantized');
      predict(loaded, x);
      predict(graph, g);
      await tfl.loadLayersModel(`file://${dir}/nothing.json`).catch(() => undefined);
      g.dispose();
      withOptimizer.optimizer.dispose();
      withOptimizer.dispose();
      loaded.dispose();
      graph.dispose();
    };
    await cycle(); // first use: tfjs's one-time state
    await settle();
    const tfBefore = tf.memory().numTensors, torchBefore = torch.memory().tensors;
    await cycle();
    await cycle();
    await settle();
    assert.deepStrictEqual([tf.memory().numTensors, torch.memory().tensors], [tfBefore, torchBefore]);
    x.dispose();
    model.optimizer.dispose();
    model.dispose();
  });
});
