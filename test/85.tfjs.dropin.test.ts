// tfjs-node programs (test/fixtures/tfjs-node-programs/, written the way tfjs-node's examples
// are: model.fit with callbacks, tf.node.tensorBoard, model.save('file://'), loadLayersModel,
// predict, tf.node.decodeImage/encodePng) run on the built package with only their
// `require('@tensorflow/tfjs-node')` line changed to `require('torchrnn/tfjs')`.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { removeDir, ROOT, tmpDir } from './helpers';

const PROGRAMS = path.join(ROOT, 'test', 'fixtures', 'tfjs-node-programs');
const REQUIRE_TFJS_NODE = "require('@tensorflow/tfjs-node')";
const READER = path.join(ROOT, 'test', 'fixtures', 'tensorboard', 'read_events.py');

/** The scalars of every event file under `dir`, read and CRC-checked by test/64's independent reader. */
function readEvents(dir: string): { tag: string; step: number; value: number | undefined }[] {
  const r = spawnSync('/usr/bin/python3', [READER, dir], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  const files = JSON.parse(r.stdout) as Record<string, { step: number; values?: { tag: string; simple_value?: number }[] }[]>;
  return Object.values(files).flat().flatMap((e) => (e.values ?? []).map((v) => ({ tag: v.tag, step: e.step, value: v.simple_value })));
}

describe('tfjs-node programs with only the require line changed', () => {
  let tmp: string;
  before(() => {
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'tfjs', 'index.js')), 'run npm run compile first');
    tmp = tmpDir('torchrnn-dropin-');
    // `require('torchrnn/tfjs')` from the programs' folder finds the package as an installed one.
    fs.mkdirSync(path.join(tmp, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(tmp, 'node_modules', 'torchrnn'), 'dir');
  });
  after(() => removeDir(tmp));

  /** Runs a program with its one require line changed; returns the JSON line it prints last. */
  function run(name: string, args: string[]): Record<string, unknown> {
    const source = fs.readFileSync(path.join(PROGRAMS, name), 'utf8');
    assert.strictEqual(source.split(REQUIRE_TFJS_NODE).length, 2, `${name} requires tfjs-node exactly once`);
    const changed = source.replace(REQUIRE_TFJS_NODE, "require('torchrnn/tfjs')");
    const a = source.split('\n');
    const b = changed.split('\n');
    assert.deepStrictEqual(a.filter((l, i) => l !== b[i]).length, 1, 'exactly one line differs');
    const file = path.join(tmp, name);
    fs.writeFileSync(file, changed);
    const r = spawnSync(process.execPath, [file, ...args], { cwd: tmp, encoding: 'utf8', timeout: 240000 });
    assert.strictEqual(r.status, 0, `${name} failed:\n${r.stderr}\n${r.stdout}`);
    const lines = r.stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
  }

  it('an LSTM text generator: fit with tf.node.tensorBoard, save to file://, load, generate', function () {
    this.timeout(240000);
    const out = path.join(tmp, 'text');
    const r = run('lstm-text-generation.js', [path.join(ROOT, 'README.md'), out]) as {
      backend: string; examples: number; vocabulary: number; epochs: { epoch: number; loss: number; val_loss: number }[]; weightBytes: number; maxDiff: number; generated: string;
    };
    assert.strictEqual(r.backend, 'torch');
    assert.deepStrictEqual(r.epochs.map((e) => e.epoch), [0, 1, 2, 3]);
    assert.ok(r.epochs.every((e) => Number.isFinite(e.loss) && Number.isFinite(e.val_loss)));
    assert.ok(r.epochs[3].loss < r.epochs[0].loss, `the loss falls: ${r.epochs.map((e) => e.loss).join(', ')}`);
    assert.strictEqual(r.maxDiff, 0, 'the loaded model predicts exactly what the trained one does');
    assert.strictEqual(r.generated.length, 40);
    // tfjs-node's layout: model.json + weights.bin, the weights' bytes as the manifest says
    const model = path.join(out, 'model');
    assert.deepStrictEqual(fs.readdirSync(model).sort(), ['model.json', 'weights.bin']);
    assert.strictEqual(fs.statSync(path.join(model, 'weights.bin')).size, r.weightBytes);
    // tensorBoard(logdir) writes train/ and val/ runs with one point per epoch
    const train = readEvents(path.join(out, 'logs', 'train'));
    const val = readEvents(path.join(out, 'logs', 'val'));
    const series = (events: typeof train, tag: string) => events.filter((e) => e.tag === tag).map((e) => [e.step, e.value]);
    assert.deepStrictEqual(series(train, 'epoch_loss').map(([s]) => s), [1, 2, 3, 4]);
    series(train, 'epoch_loss').forEach(([, v], i) => assert.ok(Math.abs((v as number) - r.epochs[i].loss) < 1e-6));
    series(val, 'epoch_loss').forEach(([, v], i) => assert.ok(Math.abs((v as number) - r.epochs[i].val_loss) < 1e-6));
  });

  it('a GRU time-series regressor: batch-level tensorBoard, summaryFileWriter, save, load, evaluate', function () {
    this.timeout(240000);
    const out = path.join(tmp, 'gru');
    const r = run('gru-timeseries.js', [out]) as { backend: string; loss: number[]; valLoss: number[]; testMse: number; naiveMse: number };
    assert.strictEqual(r.backend, 'torch');
    assert.strictEqual(r.loss.length, 6);
    assert.ok(r.testMse < r.naiveMse, `the GRU (${r.testMse}) beats the naive forecast (${r.naiveMse})`);
    const train = readEvents(path.join(out, 'logs', 'train'));
    const batches = train.filter((e) => e.tag === 'batch_loss');
    assert.ok(batches.length >= 6 * 30, `${batches.length} batch points`);
    const test = readEvents(path.join(out, 'logs', 'test'));
    assert.deepStrictEqual(test.map((e) => [e.tag, e.step]).sort(), [['naive_mse', 0], ['test_mse', 0]]);
    assert.ok(Math.abs((test.find((e) => e.tag === 'test_mse')?.value as number) - r.testMse) < 1e-6);
  });

  it('image decoding: PNG, JPEG, BMP and GIF through tf.node.decodeImage; encodePng round-trips', function () {
    this.timeout(240000);
    const images = path.join(ROOT, 'test', 'fixtures', 'images');
    const out = path.join(tmp, 'images');
    const r = run('image-thumbnails.js', [images, out]) as { backend: string; images: { file: string; shape: number[] }[]; sheetShape: number[]; loss: number[]; pngRoundTripMaxDiff: number };
    assert.strictEqual(r.backend, 'torch');
    const kinds = new Set(r.images.map((i) => path.extname(i.file).toLowerCase()));
    for (const k of ['.png', '.jpg', '.bmp', '.gif']) assert.ok(kinds.has(k) || kinds.has(k === '.jpg' ? '.jpeg' : k), `a ${k} file was decoded`);
    assert.ok(r.images.every((i) => i.shape[i.shape.length - 1] === 3), 'channels: 3 as asked');
    assert.deepStrictEqual(r.sheetShape, [8, 8 * r.images.length, 3]);
    assert.ok(r.loss[r.loss.length - 1] < r.loss[0]);
    assert.strictEqual(r.pngRoundTripMaxDiff, 0);
    assert.ok(fs.statSync(path.join(out, 'sheet.png')).size > 0 && fs.statSync(path.join(out, 'sheet.jpg')).size > 0);
  });
});
