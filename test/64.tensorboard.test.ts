/**
 * TensorBoard event files written by torchrnn (lib/tensorboard/): CRC-32C and TFRecord framing
 * against known answers (RFC 3720, records of a real TensorFlow event file), then every writer
 * read back by an independent reader (test/fixtures/tensorboard/read_events.py: its own CRC-32C
 * and protobuf wire-format reader, Python's standard library only) that checks each record's
 * length and data CRCs: torch.utils.tensorboard.SummaryWriter (histograms also against PyTorch's
 * own make_histogram where /usr/bin/python3 has torch and numpy), the torch.tensorBoard() fit
 * callback, `torchrnn train --tensorboard`, and tfjs-node's summaryFileWriter and tensorBoard
 * callback (lib/tfjs/node-tensorboard.ts) under model.fit on the `torch` backend.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as torch from '../lib';
import '../lib/tfjs';
import { crc32c, maskedCrc32c } from '../lib/tensorboard/crc32c';
import { tfRecord } from '../lib/tensorboard/record';
import { encodeEvent } from '../lib/tensorboard/proto';
import { summaryFileWriter, tensorBoard as tfjsTensorBoard } from '../lib/tfjs/node-tensorboard';
import { CLI_BIN, expectCliUsage, removeDir, ROOT, runCli, settle, suiteTmpDir, throwsTorch } from './helpers';
import { nll, sequences, twin } from './models';

const { SummaryWriter } = torch.utils.tensorboard;
const PYTHON = '/usr/bin/python3';
const READER = path.join(ROOT, 'test', 'fixtures', 'tensorboard', 'read_events.py');
const HOST = os.hostname();

// ---- what the reader prints --------------------------------------------------------------------

interface Histo { min: number; max: number; num: number; sum: number; sum_squares: number; bucket_limit: number[]; bucket: number[] }
interface TensorOut { dtype: number; shape: number[]; content?: number[]; string_val?: string[] }
interface Val { tag: string; simple_value?: number; histo?: Histo; tensor?: TensorOut; metadata?: { plugin_name?: string; plugin_content_hex?: string; summary_description?: string } }
interface Ev { wall_time: number; step: number; file_version?: string; values?: Val[] }

/** Every event file under `roots`, read and CRC-checked by the independent reader. */
function readEvents(...roots: string[]): Record<string, Ev[]> {
  const r = spawnSync(PYTHON, [READER, ...roots], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, Ev[]>;
}

/** The events of the one event file directly in `dir` (whose name must match `name`). */
function eventsOf(dir: string, name = new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${HOST.replace(/\./g, '\\.')}\\.${process.pid}\\.\\d+$`)): Ev[] {
  const all = readEvents(dir);
  const here = Object.keys(all).filter((f) => path.dirname(f) === dir);
  assert.strictEqual(here.length, 1, `event files in ${dir}: ${here.join(', ')}`);
  assert.match(path.basename(here[0]), name);
  const evs = all[here[0]];
  assert.strictEqual(evs[0].file_version, 'brain.Event:2');
  assert.strictEqual(evs[0].values, undefined);
  return evs;
}

/** [step, value] of a scalar tag, in file order. */
function scalars(evs: Ev[], tag: string): [number, number][] {
  return evs.flatMap((e) => (e.values ?? []).filter((v) => v.tag === tag).map((v) => [e.step, v.simple_value!] as [number, number]));
}

function histos(evs: Ev[], tag: string): [number, Histo][] {
  return evs.flatMap((e) => (e.values ?? []).filter((v) => v.tag === tag).map((v) => [e.step, v.histo!] as [number, Histo]));
}

function tensorValues(evs: Ev[], tag: string): [number, Val][] {
  return evs.flatMap((e) => (e.values ?? []).filter((v) => v.tag === tag).map((v) => [e.step, v] as [number, Val]));
}

const f32 = Math.fround;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PyTorch's own make_histogram (its source, run with numpy) for each case, or null without torch/numpy. */
function pytorchHistograms(cases: { values: number[]; bins: 'tensorflow' | number; max_bins?: number }[]): Histo[] | null {
  const r = spawnSync(PYTHON, [READER, '--make-histogram'], { input: JSON.stringify(cases), encoding: 'utf8' });
  if (r.status === 3) return null;
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Histo[];
}

function sameHisto(actual: Histo, expected: Histo, label: string): void {
  assert.deepStrictEqual(actual.bucket_limit, expected.bucket_limit, `${label}: bucket_limit`);
  assert.deepStrictEqual(actual.bucket, expected.bucket, `${label}: bucket`);
  for (const k of ['min', 'max', 'num'] as const) assert.strictEqual(actual[k], expected[k], `${label}: ${k}`);
  for (const k of ['sum', 'sum_squares'] as const) {
    assert.ok(Math.abs(actual[k] - expected[k]) <= 1e-9 * Math.max(1, Math.abs(expected[k])), `${label}: ${k} ${actual[k]} vs ${expected[k]}`);
  }
}

// ---- the format ----------------------------------------------------------------------------------

describe('TensorBoard records', () => {
  it('CRC-32C and its TFRecord mask give the known answers', () => {
    assert.strictEqual(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.strictEqual(crc32c(new Uint8Array(32)), 0x8a9136aa);                 // RFC 3720, B.4
    assert.strictEqual(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);      // RFC 3720, B.4
    // from a real TensorFlow event file (TensorBoard's masked_crc.rs test): Event(file_version="CRC test, one two")
    assert.strictEqual(maskedCrc32c(Buffer.from('\x1a\x11CRC test, one two', 'latin1')), 0x5794d08a);
  });

  it('two records are byte for byte those of a real TensorFlow event file', () => {
    // xxd of a file written by tf.summary.scalar("accuracy", 0.99, step=77) (TensorBoard's tf_record.rs test)
    const fileVersion = Buffer.from('1800000000000000a37f4b22090000803899d6d7411a0d627261696e2e4576656e743a32124b36ab', 'hex');
    const accuracy = Buffer.from('3200000000000000241956ec09c405b73d99d6d741104d2a250a230a086163637572616379420a080112002204a4707d3f'
      + '4a0b0a090a077363616c617273a55b6433', 'hex');
    const wall = (rec: Buffer) => rec.readDoubleLE(13);
    assert.deepStrictEqual(tfRecord(encodeEvent({ wallTime: wall(fileVersion), fileVersion: 'brain.Event:2' })), fileVersion);
    const value = Buffer.alloc(4);
    value.writeFloatLE(0.99);
    const scalar = encodeEvent({
      wallTime: wall(accuracy), step: 77,
      summary: { value: [{ tag: 'accuracy', tensor: { dtype: 1, tensorShape: {}, tensorContent: value }, metadata: { pluginData: { pluginName: 'scalars' } } }] },
    });
    assert.deepStrictEqual(tfRecord(scalar), accuracy);
  });
});

// ---- torch.utils.tensorboard.SummaryWriter -------------------------------------------------------

describe('torch.utils.tensorboard.SummaryWriter', function () {
  this.timeout(60000);
  const tmp = suiteTmpDir('torchrnn-tb-');

  it('writes scalars, scalar groups, histograms and text as PyTorch does; the reader finds every value at its step', async () => {
    const dir = path.join(tmp(), 'run');
    const t0 = Date.now() / 1000;
    const w = new SummaryWriter(dir);
    assert.strictEqual(w.logDir, dir);
    assert.strictEqual(w.getLogdir(), dir);
    const losses = [2.5, 1.25, 0.1, 0.05];
    losses.forEach((v, i) => w.addScalar('loss/train', v, i));
    const one = torch.tensor([[0.75]]);
    w.addScalar('acc', one, 7, 1234.5);
    w.addScalar('no step', -3);
    w.addScalars('run/cmp', { a: 1, b: torch.tensor(2.5) }, 5);
    w.addScalars('run/cmp', { a: 3 }, 6);
    w.addHistogram('h', [0.5, 1, 1, 2.5, -3], 1, 3);
    w.addText('notes', 'héllo **world**', 2);
    await w.close();
    const t1 = Date.now() / 1000;
    one.dispose();

    const evs = eventsOf(dir);
    assert.deepStrictEqual(scalars(evs, 'loss/train'), losses.map((v, i) => [i, f32(v)]));
    assert.deepStrictEqual(scalars(evs, 'acc'), [[7, 0.75]]);
    assert.deepStrictEqual(scalars(evs, 'no step'), [[0, -3]]);
    assert.strictEqual(evs.find((e) => e.values?.[0].tag === 'acc')!.wall_time, 1234.5);
    for (const e of evs.filter((x) => x.values?.[0].tag !== 'acc')) assert.ok(e.wall_time >= t0 - 1 && e.wall_time <= t1 + 1, String(e.wall_time));
    assert.deepStrictEqual(evs.map((e) => e.values?.[0].tag ?? e.file_version),
      ['brain.Event:2', 'loss/train', 'loss/train', 'loss/train', 'loss/train', 'acc', 'no step', 'h', 'notes/text_summary']);
    // numpy.histogram([0.5, 1, 1, 2.5, -3], bins=3): edges -3, -7/6, 2/3, 2.5, counts 1, 1, 3; PyTorch adds an empty bin on the left
    const [[hstep, h]] = histos(evs, 'h');
    assert.strictEqual(hstep, 1);
    sameHisto(h, { min: -3, max: 2.5, num: 5, sum: 2, sum_squares: 17.5, bucket_limit: [-3, -3 + 5.5 / 3, -3 + 2 * (5.5 / 3), 2.5], bucket: [0, 1, 1, 3] }, 'h');
    // text: PyTorch's add_text layout
    const [[tstep, text]] = tensorValues(evs, 'notes/text_summary');
    assert.strictEqual(tstep, 2);
    assert.deepStrictEqual(text.tensor, { dtype: 7, shape: [1], string_val: ['héllo **world**'] });
    assert.deepStrictEqual(text.metadata, { plugin_name: 'text', plugin_content_hex: '' });
    // addScalars: one run per key, in <logDir>/<mainTag with '/' → '_'>_<key>, tag mainTag
    assert.deepStrictEqual(scalars(eventsOf(path.join(dir, 'run_cmp_a')), 'run/cmp'), [[5, 1], [6, 3]]);
    assert.deepStrictEqual(scalars(eventsOf(path.join(dir, 'run_cmp_b')), 'run/cmp'), [[5, 2.5]]);
  });

  it('histograms: numpy.histogram bins and the support PyTorch keeps, from tensors, arrays and typed arrays', async () => {
    const dir = path.join(tmp(), 'hist');
    const w = new SummaryWriter(dir, { maxQueue: 100 });
    torch.manualSeed(3);
    const normal = torch.randn([2000]).mul(0.3);
    const normalValues = Array.from(normal.dataSync() as Float32Array);
    const half = torch.tensor([0.5, -1.25, 3, 0.1], { dtype: 'float16' });
    const ints = Int32Array.from({ length: 100 }, (_, i) => (i * 37) % 101 - 50);
    // values on computed bin edges, where numpy corrects its index arithmetic (one up, one down)
    const onEdges = [-3, 1 * (5.5 / 3) - 3, 2 * (5.5 / 3) - 3, 2.5];
    const belowEdges = [0, 1, ...[3, 6].map((i) => { const e = i * 0.1; return e - e * 2 ** -52; })];
    const cases: { tag: string; values: torch.Tensor | number[] | ArrayLike<number>; plain: number[]; bins: 'tensorflow' | number; maxBins?: number }[] = [
      { tag: 'normal/tf', values: normal, plain: normalValues, bins: 'tensorflow' },
      { tag: 'normal/30', values: normal, plain: normalValues, bins: 30 },
      { tag: 'normal/tf/max', values: normal, plain: normalValues, bins: 'tensorflow', maxBins: 7 },
      { tag: 'normal/64/max', values: normalValues, plain: normalValues, bins: 64, maxBins: 10 },
      { tag: 'half', values: half, plain: [0.5, -1.25, 3, 0.0999755859375], bins: 'tensorflow' },
      { tag: 'ints', values: ints, plain: Array.from(ints), bins: 7 },
      { tag: 'constant', values: [2, 2, 2], plain: [2, 2, 2], bins: 5 },
      { tag: 'edges/on', values: onEdges, plain: onEdges, bins: 3 },
      { tag: 'edges/below', values: belowEdges, plain: belowEdges, bins: 10 },
      { tag: 'constant/tf', values: new Float64Array([2, 2, 2]), plain: [2, 2, 2], bins: 'tensorflow' },
      { tag: 'zeros', values: [0, 0, 1e-13, -1e-13, 0], plain: [0, 0, 1e-13, -1e-13, 0], bins: 'tensorflow' },
    ];
    for (const [i, c] of cases.entries()) w.addHistogram(c.tag, c.values as number[], i, c.bins, undefined, c.maxBins);
    await w.close();
    normal.dispose();
    half.dispose();
    const evs = eventsOf(dir);
    const written = cases.map((c, i) => {
      const hs = histos(evs, c.tag);
      assert.deepStrictEqual(hs.map(([s]) => s), [i], c.tag);
      return hs[0][1];
    });
    // hand-checked: 3 equal values, 5 bins of 0.2 over [1.5, 2.5]: all in the middle one [1.9, 2.1), the empty one before it kept
    sameHisto(written[6], { min: 2, max: 2, num: 3, sum: 6, sum_squares: 12, bucket_limit: [2 * 0.2 + 1.5, 3 * 0.2 + 1.5], bucket: [0, 3] }, 'constant');
    // a value on an edge opens the bin on its right; one a hair below an edge stays in the bin on its left
    assert.deepStrictEqual(written[7].bucket, [0, 1, 1, 2]);
    assert.deepStrictEqual(written[8].bucket, [0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1]);
    const reference = pytorchHistograms(cases.map((c) => ({ values: c.plain, bins: c.bins, max_bins: c.maxBins })));
    if (reference === null) {
      console.log(`      (PyTorch's make_histogram not compared: ${PYTHON} has no torch or numpy)`);
      return;
    }
    cases.forEach((c, i) => sameHisto(written[i], reference[i], c.tag));
  });

  it('queues events: written when maxQueue are queued, every flushSecs, on flush() and on close()', async () => {
    const dir = path.join(tmp(), 'queue');
    const w = new SummaryWriter(dir, { maxQueue: 3, flushSecs: 1000 });
    await w.flush();
    assert.strictEqual(eventsOf(dir).length, 1, 'the file_version record is written at once');
    w.addScalar('x', 1, 1);
    w.addScalar('x', 2, 2);
    await sleep(50);
    assert.strictEqual(eventsOf(dir).length, 1, 'two queued events are not written yet');
    w.addScalar('x', 3, 3);   // the third fills the queue
    for (let i = 0; i < 100 && eventsOf(dir).length < 4; i++) await sleep(20);
    assert.deepStrictEqual(scalars(eventsOf(dir), 'x'), [[1, 1], [2, 2], [3, 3]]);
    w.addScalar('x', 4, 4);
    await w.flush();
    assert.deepStrictEqual(scalars(eventsOf(dir), 'x').map(([s]) => s), [1, 2, 3, 4]);
    // close() flushes; a second close() at the same time resolves after the first; flush() after close is a no-op
    w.addScalar('x', 5, 5);
    const [a, b] = [w.close(), w.close()];
    let firstDone = false;
    void a.then(() => { firstDone = true; });
    await b;
    assert.ok(firstDone, 'the second close() resolves after the first');
    await w.flush();
    assert.deepStrictEqual(scalars(eventsOf(dir), 'x').map(([s]) => s), [1, 2, 3, 4, 5]);
    // adding after close() starts a new event file, as PyTorch does
    w.addScalar('x', 6, 6);
    await w.close();
    const files = readEvents(dir);
    assert.strictEqual(Object.keys(files).length, 2);
    assert.deepStrictEqual(Object.values(files).map((evs) => scalars(evs, 'x').map(([s]) => s)).sort(), [[1, 2, 3, 4, 5], [6]]);

    // flushSecs: the timer writes what is queued
    const timed = path.join(tmp(), 'timed');
    const t = new SummaryWriter(timed, { flushSecs: 0.05, filenameSuffix: '.mine' });
    t.addScalar('y', 1, 1);
    const timedEvents = () => Object.values(readEvents(timed))[0] ?? [];
    for (let i = 0; i < 100 && timedEvents().length < 2; i++) await sleep(20);
    assert.deepStrictEqual(scalars(eventsOf(timed, /^events\.out\.tfevents\.\d{10}\..+\.\d+\.\d+\.mine$/), 'y'), [[1, 1]]);
    await t.close();
  });

  it('events still queued when the process exits are written', () => {
    // the event file writer under SummaryWriter, in a process that exits without flushing
    const dir = path.join(tmp(), 'exit');
    const script = `const { EventFileWriter } = require(${JSON.stringify(path.join(ROOT, 'lib', 'tensorboard', 'event-file-writer'))});
      fs.mkdirSync(${JSON.stringify(dir)});
      const w = new EventFileWriter(${JSON.stringify(dir)}, { maxQueue: 1000 });
      for (let i = 0; i < 25; i++) w.add({ wallTime: 1, step: i, summary: { value: [{ tag: 'z', simpleValue: i / 2 }] } });
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    assert.strictEqual(r.status, 0, r.stderr);
    const all = readEvents(dir);
    assert.strictEqual(Object.keys(all).length, 1);
    assert.deepStrictEqual(scalars(Object.values(all)[0], 'z'), Array.from({ length: 25 }, (_, i) => [i, i / 2]));
  });

  it('the default logDir is runs/<Mon><DD>_<HH>-<MM>-<SS>_<hostname><comment>, as PyTorch names it', async () => {
    const w = new SummaryWriter(undefined, { comment: '_torchrnn-test64' });
    try {
      assert.match(w.logDir, new RegExp(`^runs/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\\d{2}_\\d{2}-\\d{2}-\\d{2}_${HOST.replace(/\./g, '\\.')}_torchrnn-test64$`));
      assert.ok(fs.statSync(w.logDir).isDirectory());
      await w.close();
    } finally {
      removeDir(w.logDir);
    }
  });

  it('reads tensors without making any', async () => {
    const dir = path.join(tmp(), 'mem');
    const w = new SummaryWriter(dir);
    const t = torch.randn([50]);
    const s = torch.tensor(1.5);
    await settle();
    const before = torch.memory().tensors;
    w.addHistogram('t', t);
    w.addScalar('s', s);
    w.addScalars('g', { s });
    await w.close();
    await settle();
    assert.strictEqual(torch.memory().tensors, before);
    t.dispose();
    s.dispose();
  });

  it('bad arguments: ERR_INVALID_ARG naming the argument', async () => {
    const dir = path.join(tmp(), 'bad');
    throwsTorch(() => new SummaryWriter(5 as never), 'ERR_INVALID_ARG', 'Expected a directory path for logDir but received 5');
    throwsTorch(() => new SummaryWriter(dir, { flush: 1 } as never), 'ERR_INVALID_ARG', 'Expected one of the options comment, maxQueue, flushSecs, filenameSuffix for an option of options but received "flush"');
    throwsTorch(() => new SummaryWriter(dir, { maxQueue: 0 }), 'ERR_INVALID_ARG', 'Expected an integer >= 1 for maxQueue but received 0');
    throwsTorch(() => new SummaryWriter(dir, { flushSecs: -1 }), 'ERR_INVALID_ARG', 'Expected a number of seconds > 0 for flushSecs but received -1');
    fs.writeFileSync(path.join(tmp(), 'a-file'), '');
    throwsTorch(() => new SummaryWriter(path.join(tmp(), 'a-file', 'x')), 'ERR_INVALID_ARG', /^Expected a directory that can be created and written \(ENOTDIR\) for logDir but received ".*x"$/);
    const w = new SummaryWriter(dir);
    throwsTorch(() => w.addScalar(3 as never, 1), 'ERR_INVALID_ARG', 'Expected a string for tag but received 3');
    throwsTorch(() => w.addScalar('a', '1' as never), 'ERR_INVALID_ARG', 'Expected a number or a one-element real Tensor for scalarValue but received "1"');
    const two = torch.zeros([2]);
    throwsTorch(() => w.addScalar('a', two), 'ERR_INVALID_ARG', 'Expected a number or a one-element real Tensor for scalarValue but received a float32 Tensor of shape [2]');
    throwsTorch(() => w.addScalar('a', 1, 1.5), 'ERR_INVALID_ARG', 'Expected an integer for globalStep but received 1.5');
    throwsTorch(() => w.addScalar('a', 1, 1, NaN), 'ERR_INVALID_ARG', 'Expected a finite number for walltime but received NaN');
    throwsTorch(() => w.addScalars('a', [1] as never), 'ERR_INVALID_ARG', 'Expected an object of tag → number for tagScalarDict but received [1]');
    throwsTorch(() => w.addScalars('a', { x: 1, y: 'no' } as never), 'ERR_INVALID_ARG', 'Expected a number or a one-element real Tensor for tagScalarDict.y but received "no"');
    throwsTorch(() => w.addHistogram('h', []), 'ERR_INVALID_ARG', 'Expected at least one value for values but received []');
    throwsTorch(() => w.addHistogram('h', [1, NaN]), 'ERR_INVALID_ARG', 'Expected finite values (element 1 is NaN) for values but received [1, NaN]');
    throwsTorch(() => w.addHistogram('h', 'abc' as never), 'ERR_INVALID_ARG', 'Expected a Tensor, an array of numbers or a typed array for values but received "abc"');
    throwsTorch(() => w.addHistogram('h', [1], 0, 0), 'ERR_INVALID_ARG', 'Expected "tensorflow" or an integer >= 1 for bins but received 0');
    throwsTorch(() => w.addHistogram('h', [1], 0, 'auto' as never), 'ERR_INVALID_ARG', 'Expected "tensorflow" or an integer >= 1 for bins but received "auto"');
    throwsTorch(() => w.addHistogram('h', [1], 0, 3, undefined, 0), 'ERR_INVALID_ARG', 'Expected an integer >= 1 for maxBins but received 0');
    throwsTorch(() => w.addHistogram('h', [1e30]), 'ERR_INVALID_ARG', 'Expected values inside the bins (the "tensorflow" bins end at ±9.92e+19) for values but received values from 1e+30 to 1e+30');
    const complex = torch.complex(torch.zeros([2]), torch.ones([2]));
    throwsTorch(() => w.addHistogram('h', complex), 'ERR_INVALID_ARG', 'Expected a real or bool Tensor for values but received a complex64 Tensor of shape [2]');
    throwsTorch(() => w.addText('t', 5 as never), 'ERR_INVALID_ARG', 'Expected a string for textString but received 5');
    await w.close();
    // nothing bad was written
    assert.strictEqual(eventsOf(dir).length, 1);
    // a write that fails rejects flush() and close() with the file system's error
    const gone = path.join(tmp(), 'gone');
    const g = new SummaryWriter(gone);
    fs.rmSync(gone, { recursive: true });   // before the first write, which is queued behind this code
    g.addScalar('x', 1);
    await assert.rejects(g.flush(), (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && err.message.includes(path.join(gone, 'events.out.tfevents.')));
    await assert.rejects(g.close(), { code: 'ENOENT' });
    two.dispose();
    complex.dispose();
  });
});

// ---- torch.tensorBoard(): the fit() callback -------------------------------------------------------

describe('torch.tensorBoard (fit callback)', function () {
  this.timeout(60000);
  const tmp = suiteTmpDir('torchrnn-tbfit-');

  it('logs the loss per batch and epoch, the validation loss and the learning rate, and parameter histograms', async () => {
    const logDir = path.join(tmp(), 'fit');
    const [m] = twin();
    const loader = new torch.data.DataLoader(sequences(24, 2), { batchSize: 6 });
    const val = new torch.data.DataLoader(sequences(8, 3), { batchSize: 4 });
    const batchLosses: number[] = [];
    const params: Record<string, number[][]> = {};
    const history = await torch.fit({
      model: m, optimizer: new torch.optim.Adam(m.parameters(), { lr: 0.01 }), loss: nll, data: loader, validationData: val, epochs: 3,
      callbacks: [
        torch.tensorBoard({ logDir, updateFreq: 'batch', histogramFreq: 2 }),
        {
          onBatchEnd: (_b, logs) => { batchLosses.push(logs.loss); },
          onEpochEnd: (e, _logs, ctx) => {
            if (e % 2 === 0) for (const [n, p] of ctx.model.namedParameters()) (params[n] ??= []).push(Array.from(p.dataSync() as Float32Array));
          },
        },
      ],
    });
    const train = eventsOf(path.join(logDir, 'train'));
    const validation = eventsOf(path.join(logDir, 'validation'));
    assert.deepStrictEqual(scalars(train, 'epoch_loss'), history.loss.map((v, i) => [i, f32(v)]));
    assert.deepStrictEqual(scalars(train, 'epoch_learning_rate'), [[0, f32(0.01)], [1, f32(0.01)], [2, f32(0.01)]]);
    assert.deepStrictEqual(scalars(validation, 'epoch_loss'), history.valLoss.map((v, i) => [i, f32(v)]));
    assert.strictEqual(batchLosses.length, 12);
    assert.deepStrictEqual(scalars(train, 'batch_loss'), batchLosses.map((v, i) => [i, f32(v)]));
    const names = m.namedParameters().map(([n]) => n);
    assert.ok(names.includes('lstm.weight_ih_l0') && names.includes('head.bias'), names.join());
    for (const n of names) {
      const hs = histos(train, n);
      assert.deepStrictEqual(hs.map(([s]) => s), [0, 2], n);
      hs.forEach(([, h], k) => {
        const v = params[n][k];
        assert.strictEqual(h.num, v.length, n);
        assert.strictEqual(h.min, Math.min(...v), n);
        assert.strictEqual(h.max, Math.max(...v), n);
        assert.strictEqual(h.bucket.reduce((a, b) => a + b, 0), v.length, n);
      });
    }
  });

  it('updateFreq N logs every N-th batch; the default logs epochs only', async () => {
    const [m] = twin();
    const run = async (logDir: string, updateFreq?: number) => torch.fit({
      model: m, optimizer: new torch.optim.SGD(m.parameters(), { lr: 0.01 }), loss: nll, epochs: 2,
      data: new torch.data.DataLoader(sequences(20, 2), { batchSize: 4 }),
      callbacks: [torch.tensorBoard(updateFreq === undefined ? { logDir } : { logDir, updateFreq })],
    });
    const every = path.join(tmp(), 'every3');
    await run(every, 3);
    assert.deepStrictEqual(scalars(eventsOf(path.join(every, 'train')), 'batch_loss').map(([s]) => s), [0, 3, 6, 9]);
    const plain = path.join(tmp(), 'plain');
    await run(plain);
    const evs = eventsOf(path.join(plain, 'train'));
    assert.deepStrictEqual(scalars(evs, 'batch_loss'), []);
    assert.deepStrictEqual(scalars(evs, 'epoch_loss').map(([s]) => s), [0, 1]);
    assert.ok(!fs.existsSync(path.join(plain, 'validation')), 'no validation run without validationData');
  });

  it('bad options', () => {
    throwsTorch(() => torch.tensorBoard({} as never), 'ERR_INVALID_ARG', 'Expected a directory path for logDir but received undefined');
    throwsTorch(() => torch.tensorBoard({ logDir: 'x', updateFreq: 'step' as never }), 'ERR_INVALID_ARG', 'Expected "epoch", "batch" or an integer >= 1 for updateFreq but received "step"');
    throwsTorch(() => torch.tensorBoard({ logDir: 'x', updateFreq: 0 }), 'ERR_INVALID_ARG', 'Expected "epoch", "batch" or an integer >= 1 for updateFreq but received 0');
    throwsTorch(() => torch.tensorBoard({ logDir: 'x', histogramFreq: -1 }), 'ERR_INVALID_ARG', 'Expected an integer >= 0 for histogramFreq but received -1');
    throwsTorch(() => torch.tensorBoard({ logDir: 'x', freq: 1 } as never), 'ERR_INVALID_ARG', 'Expected one of the options logDir, updateFreq, histogramFreq for an option of options but received "freq"');
  });
});

// ---- the CLI ----------------------------------------------------------------------------------------

describe('torchrnn train --tensorboard', function () {
  this.timeout(120000);
  const tmp = suiteTmpDir('torchrnn-tbcli-');

  it('logs the run: its settings, the loss per batch and epoch, the metric per epoch', () => {
    assert.ok(fs.existsSync(CLI_BIN), 'run npm run compile first');
    const out = path.join(tmp(), 'run');
    const tb = path.join(tmp(), 'tb');
    const r = runCli(['train', 'names', '--limit', '300', '--epochs', '2', '--hidden', '8', '--layers', '1', '--out', out, '--tensorboard', tb, '--quiet']);
    assert.strictEqual(r.status, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { epochs: { epoch: number; loss: number; valLoss: number; metric: number }[] };
    const all = readEvents(tb);
    assert.strictEqual(Object.keys(all).length, 1);
    const [file] = Object.keys(all);
    assert.match(path.basename(file), /^events\.out\.tfevents\.\d{10}\..+\.\d+\.0$/);
    const evs = all[file];
    assert.strictEqual(evs[0].file_version, 'brain.Event:2');
    const [[step, run]] = tensorValues(evs, 'run/text_summary');
    assert.strictEqual(step, 0);
    assert.match(run.tensor!.string_val![0], /^torchrnn train names, run directory `.*run`, \d+ parameters\n\n```json\n\{\n {2}"cell": "lstm",/);
    const near = (a: [number, number][], b: [number, number][]) => assert.deepStrictEqual(a, b.map(([s, v]) => [s, f32(v)]));
    near(scalars(evs, 'loss/train'), report.epochs.map((e) => [e.epoch, e.loss]));
    near(scalars(evs, 'loss/validation'), report.epochs.map((e) => [e.epoch, e.valLoss]));
    near(scalars(evs, 'metric/validation bits per character'), report.epochs.map((e) => [e.epoch, e.metric]));
    const batches = scalars(evs, 'loss/batch');
    assert.ok(batches.length >= 2 && batches.length % 2 === 0, `${batches.length} batch losses`);
    assert.deepStrictEqual(batches.map(([s]) => s), batches.map((_, i) => i));
  });

  it('an unwritable --tensorboard directory is a usage error', () => {
    const file = path.join(tmp(), 'file');
    fs.writeFileSync(file, '');
    expectCliUsage(['train', 'names', '--out', path.join(tmp(), 'x'), '--tensorboard', path.join(file, 'tb')], `--tensorboard: cannot write to ${path.join(file, 'tb')}`);
  });
});

// ---- tfjs-node's API (lib/tfjs/node-tensorboard.ts) ---------------------------------------------------

describe('tfjs: tf.node.summaryFileWriter and tf.node.tensorBoard', function () {
  this.timeout(60000);
  const tmp = suiteTmpDir('torchrnn-tbtfjs-');
  const TF_NAME = new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${HOST.replace(/\./g, '\\.')}\\.v2$`);

  let previous = '';
  before(async () => {
    previous = tf.getBackend();
    assert.strictEqual(await tf.setBackend('torch'), true);
  });
  after(async () => {
    await tf.setBackend(previous);
  });

  it('summaryFileWriter: scalars as simple_value, histograms as tfjs-node writes them (a [k, 3] float32 tensor, plugin "histograms")', async () => {
    const dir = path.join(tmp(), 'writer');
    const w = summaryFileWriter(dir);
    assert.strictEqual(summaryFileWriter(dir), w, 'one writer per logdir');
    const s = tf.scalar(2.25);
    const d = tf.tensor1d([0, 1, 2, 3]);
    const c = tf.tensor2d([[5, 5], [5, 5]]);
    const e = tf.tensor1d([]);
    const numTensors = tf.memory().numTensors;
    w.scalar('loss', 0.5, 1);
    w.scalar('loss', s, 2);
    w.scalar('zero', 1, 0);
    w.histogram('h', d, 3, 2, 'four values');
    w.histogram('constant', c, 4);
    w.histogram('empty', e, 5);
    assert.strictEqual(tf.memory().numTensors, numTensors, 'the writer made no tensors');
    await w.flush();
    const evs = eventsOf(dir, TF_NAME);
    assert.deepStrictEqual(scalars(evs, 'loss'), [[1, 0.5], [2, 2.25]]);
    assert.deepStrictEqual(scalars(evs, 'zero'), [[0, 1]]);
    const [[hs, h]] = tensorValues(evs, 'h');
    assert.strictEqual(hs, 3);
    // tfjs-node: min 0, max 3, width 1.5; indices floor([0, 1, 2, 3] / 1.5) = 0, 0, 1, 2 → clamped to 1
    assert.deepStrictEqual(h.tensor, { dtype: 1, shape: [2, 3], content: [0, 1.5, 2, 1.5, 3, 2] });
    assert.deepStrictEqual(h.metadata, { plugin_name: 'histograms', plugin_content_hex: '', summary_description: 'four values' });
    assert.deepStrictEqual(tensorValues(evs, 'constant')[0][1].tensor, { dtype: 1, shape: [1, 3], content: [4.5, 5.5, 4] });
    assert.deepStrictEqual(tensorValues(evs, 'empty')[0][1].tensor, { dtype: 1, shape: [0, 3] });
    tf.dispose([s, d, c, e]);
  });

  it('summaryFileWriter: 30 buckets of random data as tfjs-node computes them with tf ops', async () => {
    const dir = path.join(tmp(), 'buckets');
    const w = summaryFileWriter(dir);
    const values = Float32Array.from({ length: 500 }, (_, i) => Math.sin(i * 1.7) * 3 + Math.cos(i * 0.3));
    const data = tf.tensor1d(values);
    w.histogram('r', data, 1);
    await w.flush();
    // tfjs-node's NodeJSKernelBackend.buckets(), as tf ops
    const expected = tf.tidy(() => {
      // (tfjs-core's functions: the chained methods x.min() … come with the @tensorflow/tfjs bundle only)
      const x = tf.tensor1d(values);
      const min = tf.min(x);
      const max = tf.max(x);
      const width = tf.div(tf.sub(max, min), 30);
      const idx = tf.cast(tf.minimum(tf.cast(tf.floorDiv(tf.sub(x, min), width), 'int32'), 29), 'int32');
      const counts = tf.cast(tf.sum(tf.oneHot(idx, 30), 0), 'float32');
      let edges = tf.linspace(min.arraySync() as number, max.arraySync() as number, 31);
      edges = tf.concat([tf.slice(edges, 0, 30), tf.reshape(max, [1])], 0);
      return tf.transpose(tf.stack([tf.slice(edges, 0, 30), tf.slice(edges, 1, 30), counts])).arraySync() as number[][];
    });
    data.dispose();
    const got = tensorValues(eventsOf(dir, TF_NAME), 'r')[0][1].tensor!;
    assert.deepStrictEqual(got.shape, [30, 3]);
    expected.forEach(([l, r, n], i) => {
      const [gl, gr, gn] = got.content!.slice(3 * i, 3 * i + 3);
      assert.strictEqual(gn, n, `bucket ${i}`);
      assert.ok(Math.abs(gl - l) <= 1e-5 && Math.abs(gr - r) <= 1e-5, `bucket ${i}: [${gl}, ${gr}] vs [${l}, ${r}]`);
    });
    assert.strictEqual(got.content![0], Math.min(...values), 'the first edge is the minimum');
    assert.strictEqual(got.content![88], Math.max(...values), 'the last edge is the maximum');
  });

  it("summaryFileWriter: TensorFlow's queue (written when more than maxQueue events wait, or on flush())", async () => {
    const dir = path.join(tmp(), 'queue');
    const w = summaryFileWriter(dir, 2);
    await w.flush();
    w.scalar('q', 1, 1);
    w.scalar('q', 2, 2);
    await sleep(50);
    assert.deepStrictEqual(scalars(eventsOf(dir, TF_NAME), 'q'), []);
    w.scalar('q', 3, 3);
    for (let i = 0; i < 100 && eventsOf(dir, TF_NAME).length < 4; i++) await sleep(20);
    assert.deepStrictEqual(scalars(eventsOf(dir, TF_NAME), 'q').map(([st]) => st), [1, 2, 3]);
  });

  it('tensorBoard callback: model.fit on the torch backend writes train/ and val/ as tfjs-node does', async () => {
    const logdir = path.join(tmp(), 'fit');
    const model = tfl.sequential();
    model.add(tfl.layers.dense({ units: 1, inputShape: [3], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
    model.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
    const xs = tf.tensor2d(Float32Array.from({ length: 48 }, (_, i) => Math.sin(i)), [16, 3]);
    const ys = tf.tensor2d(Float32Array.from({ length: 16 }, (_, i) => Math.cos(i)), [16, 1]);
    const cb = tfjsTensorBoard(logdir, { updateFreq: 'batch', histogramFreq: 1 });
    assert.ok(cb instanceof tfl.CustomCallback);
    const history = await model.fit(xs, ys, { epochs: 2, batchSize: 4, validationData: [xs, ys], callbacks: cb, verbose: 0 });
    const train = eventsOf(path.join(logdir, 'train'), TF_NAME);
    const val = eventsOf(path.join(logdir, 'val'), TF_NAME);
    assert.deepStrictEqual(scalars(train, 'epoch_loss'), (history.history.loss as number[]).map((v, i) => [i + 1, f32(v)]));
    assert.deepStrictEqual(scalars(val, 'epoch_loss'), (history.history.val_loss as number[]).map((v, i) => [i + 1, f32(v)]));
    assert.deepStrictEqual(scalars(train, 'batch_loss').map(([s]) => s), [1, 2, 3, 4, 5, 6, 7, 8]);
    for (const weight of model.weights) {
      const hs = tensorValues(train, weight.name);
      assert.deepStrictEqual(hs.map(([s]) => s), [0, 1], weight.name);
      for (const [, v] of hs) {
        assert.strictEqual(v.metadata!.plugin_name, 'histograms');
        const rows = v.tensor!.content!;
        const counted = rows.filter((_, i) => i % 3 === 2).reduce((a, b) => a + b, 0);
        assert.strictEqual(counted, weight.shape.reduce((a: number, b) => a * (b ?? 1), 1), weight.name);
      }
    }
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it("bad arguments: tfjs-node's messages", () => {
    assert.throws(() => summaryFileWriter(''), { message: 'Invalid logdir: . Expected a non-empty string for logdir.' });
    assert.throws(() => summaryFileWriter(null as never), { message: 'Invalid logdir: null. Expected a non-empty string for logdir.' });
    const w = summaryFileWriter(path.join(tmp(), 'bad'));
    assert.throws(() => w.scalar('a', 1, 1, 'desc'), { message: 'scalar() does not support description yet' });
    assert.throws(() => w.scalar('a', 1, 1.5), { message: 'step is expected to be an integer, but is instead 1.5' });
    const v = tf.tensor1d([1, 2]);
    assert.throws(() => w.scalar('a', v as never, 1), { message: 'A non-scalar tensor (rank 1) is passed to writeScalarSummary()' });
    assert.throws(() => w.histogram('h', v, 1, 0), { message: 'Expected bucket count to be a strictly positive integer, but it was 0' });
    v.dispose();
    assert.throws(() => tfjsTensorBoard('x', { updateFreq: 'step' as never }), { message: "Expected updateFreq to be 'batch' or 'epoch', but got step" });
    assert.throws(() => tfjsTensorBoard('x', { histogramFreq: -1 }), { message: 'Expected histogramFreq to be a positive integer, but got -1' });
  });
});
