// PyTorch's own operator test database (op_db samples of torch.testing._internal, exported by
// scripts/opdb/export.py into fixtures/torch-<line>/opdb/) replayed through torchrnn by
// scripts/opdb/replay.ts: outputs (values, shapes, dtypes) and input gradients of every exported
// sample. The ops that do not reproduce PyTorch yet are listed with their reasons in
// fixtures/torch-<line>/opdb/expected-failures.json (`npx tsx scripts/opdb/replay.ts --write-expected`):
// an op outside that list that fails is a regression; a listed op that passes is only reported.
import * as assert from 'assert';
import * as fs from 'fs';
import * as torch from '../lib';
import {
  ExpectedFailures, expectedFailures, loadOpdb, markdownReport, Opdb, replay, replaySample, Report, Sample, summaryLine,
} from '../scripts/opdb/replay';
import { fixturePath } from './helpers';

/**
 * The share of ops that must pass, of the ops with at least one exported sample (an OpInfo
 * whose samples were all skipped by export.py, e.g. complex-only ones, is not counted).
 * 469 of 573 (81.8%) passed when this was written.
 */
const MIN_OP_PASS_RATE = 0.8;

const DIR = fixturePath('opdb');
const HAS_FIXTURE = fs.existsSync(`${DIR}/index.json`);

describe('op_db replay (PyTorch\'s OpInfo samples through torchrnn)', function () {
  let fx: Opdb;
  let report: Report;
  let expected: ExpectedFailures;
  let leaked = 0;
  let rngAfter: number[] = [];
  let rngExpected: number[] = [];

  before(function () {
    if (!HAS_FIXTURE) this.skip(); // no opdb export for this libtorch line yet (npm run fixtures:opdb)
    fx = loadOpdb(DIR);
    expected = JSON.parse(fs.readFileSync(`${DIR}/expected-failures.json`, 'utf8')) as ExpectedFailures;
    const before = torch.memory().tensors;
    torch.manualSeed(17);
    report = replay(fx);
    leaked = torch.memory().tensors - before;
    const draw = () => torch.tidy(() => Array.from(torch.rand([4]).dataSync() as Float32Array));
    rngAfter = draw();
    torch.manualSeed(17);
    rngExpected = draw();
    console.log(`      ${summaryLine(report)}`);
  });

  it('replays every exported sample (Python-only dunder ops left out), and no tensor outlives it', () => {
    assert.strictEqual(report.samples, fx.samples.filter((s) => !s.op.startsWith('__')).length);
    assert.ok(report.excluded.every((o) => o.startsWith('__')), report.excluded.join(', '));
    assert.strictEqual(report.ops.length + report.excluded.length, fx.ops.filter((o) => o.samples > 0).length);
    assert.strictEqual(leaked, 0, `${leaked} tensors outlived the replay`);
  });

  it('leaves the default generator as it found it (the samples reseed it)', () => {
    assert.deepStrictEqual(rngAfter, rngExpected);
  });

  it(`passes at least ${MIN_OP_PASS_RATE * 100}% of the ops that have an exported sample`, () => {
    const rate = report.opsPassing / report.ops.length;
    assert.ok(rate >= MIN_OP_PASS_RATE, `${summaryLine(report)}: below ${MIN_OP_PASS_RATE * 100}%`);
  });

  it('no op fails that is not in expected-failures.json (the passing set does not shrink)', () => {
    const failing = report.ops.filter((o) => !o.pass);
    const fresh = failing.filter((o) => !(o.op in expected.failures));
    const fixed = Object.keys(expected.failures).filter((op) => report.ops.some((o) => o.op === op && o.pass));
    if (fixed.length) {
      console.log(`      now passing (remove from expected-failures.json: npx tsx scripts/opdb/replay.ts --write-expected): ${fixed.join(', ')}`);
    }
    assert.deepStrictEqual(fresh.map((o) => `${o.op}: ${o.reason} [${o.sample}: ${o.call}]`), []);
  });

  it('expected-failures.json names only ops of the fixture', () => {
    const keys = new Set(report.ops.map((o) => o.op));
    assert.deepStrictEqual(Object.keys(expected.failures).filter((op) => !keys.has(op)), []);
  });

  it('the markdown report has the summary and every failing op', () => {
    const md = markdownReport(report);
    assert.ok(md.includes(summaryLine(report).replace(/ in [\d.]+ s$/, '')));
    for (const op of Object.keys(expectedFailures(report).failures)) assert.ok(md.includes(`| ${op} |`), op);
  });

  it('a perturbed expected output is reported as a value mismatch', () => {
    const s = fx.samples.find((x) => x.op === 'abs' && x.dtype === 'float32')!;
    assert.strictEqual(replaySample(fx, s).reason, null);
    const out = (s.output as { $t: number }).$t;
    const data = fx.data.slice();
    new Float32Array(data.buffer, fx.tensors[out].offset, 1)[0] += 0.5;
    const r = replaySample({ ...fx, data }, s);
    assert.strictEqual(r.pass, false);
    assert.match(r.reason!, /^value mismatch at output\[0\]: got \S+, expected \S+ \(1 of \d+ differ\)$/);
    assert.strictEqual(r.via, 'torch.abs');
  });
});

// ---- the parity check itself, on hand-made samples ------------------------------------------------

interface T { dtype: 'float32' | 'float64' | 'int64'; shape: number[]; values: number[] }

/** An opdb fixture in memory: the tensors packed as export.py packs them (8-byte aligned). */
function opdb(tensors: T[], samples: Partial<Sample>[]): Opdb {
  const size = (t: T) => t.values.length * (t.dtype === 'float32' ? 4 : 8);
  let offset = 0;
  const meta = tensors.map((t) => {
    const m = { offset, dtype: t.dtype, shape: t.shape };
    offset += Math.ceil(size(t) / 8) * 8;
    return m;
  });
  const data = new Uint8Array(offset);
  tensors.forEach((t, i) => {
    const A = t.dtype === 'float32' ? Float32Array : Float64Array;
    if (t.dtype === 'int64') new BigInt64Array(data.buffer, meta[i].offset, t.values.length).set(t.values.map(BigInt));
    else new A(data.buffer, meta[i].offset, t.values.length).set(t.values);
  });
  const full = samples.map((s) => ({
    variant: '', dtype: 'float32', index: 0, args: [], kwargs: {}, seed: 0, random: false, gradOutputs: null, grads: null,
    rtol: 1.3e-6, atol: 1e-5, ...s,
  }) as Sample);
  return { dir: '(memory)', torch: 'test', mode: 'subset', tensors: meta, samples: full, ops: [], data };
}

const f32 = (values: number[], shape = [values.length]): T => ({ dtype: 'float32', shape, values });

describe('op_db replay: the parity check', () => {
  const neg = { op: 'neg', aten: 'neg', fn: 'torch.neg', input: { $t: 0 }, output: { $t: 1 } };

  it('passes a reproduced sample, NaN equal to NaN', () => {
    const fx = opdb([f32([NaN, 1, -2]), f32([NaN, -1, 2])], [neg]);
    assert.deepStrictEqual(replaySample(fx, fx.samples[0]), { pass: true, reason: null, via: 'torch.neg', checkedGrads: false });
  });

  it('a NaN where a number is expected, or a wrong infinity, is a mismatch', () => {
    let fx = opdb([f32([NaN, 1]), f32([0, -1])], [neg]);
    assert.strictEqual(replaySample(fx, fx.samples[0]).reason, 'value mismatch at output[0]: got NaN, expected 0 (1 of 2 differ)');
    fx = opdb([f32([Infinity]), f32([Infinity])], [neg]);
    assert.strictEqual(replaySample(fx, fx.samples[0]).reason, 'value mismatch at output[0]: got -Infinity, expected Infinity (1 of 1 differ)');
  });

  it('values within the sample\'s rtol/atol pass, beyond fail', () => {
    const fx = opdb([f32([1]), f32([-1.001])], [{ ...neg, rtol: 0, atol: 0.002 }, { ...neg, rtol: 0, atol: 0.0005 }]);
    assert.strictEqual(replaySample(fx, fx.samples[0]).pass, true);
    assert.match(replaySample(fx, fx.samples[1]).reason!, /^value mismatch at output\[0\]/);
  });

  it('a dtype or shape mismatch is reported as such', () => {
    let fx = opdb([f32([1, 2]), { dtype: 'float64', shape: [2], values: [-1, -2] }], [neg]);
    assert.strictEqual(replaySample(fx, fx.samples[0]).reason, 'dtype float32 vs float64 at output');
    fx = opdb([f32([1, 2]), f32([-1, -2], [1, 2])], [neg]);
    assert.strictEqual(replaySample(fx, fx.samples[0]).reason, 'shape [2] vs [1, 2] at output');
  });

  it('an integral Python float that JavaScript passes as an integer is named as the cause', () => {
    // torch.arange(3.0) is float32 in PyTorch; JavaScript's 3.0 is 3, so torchrnn gives int64
    const fx = opdb([f32([0, 1, 2])], [{ op: 'arange', aten: 'arange', fn: 'torch.arange', input: { $float: '3.0' }, output: { $t: 0 } }]);
    assert.strictEqual(replaySample(fx, fx.samples[0]).reason, 'dtype int64 vs float32 at output (JS numbers carry no int/float distinction)');
  });

  it('random samples compare shapes and dtypes only', () => {
    const randn = { op: 'randn_like', aten: 'randn_like', fn: 'torch.randn_like', input: { $t: 0 }, output: { $t: 1 }, random: true };
    let fx = opdb([f32([0, 0, 0]), f32([7, 7, 7])], [randn]);
    assert.strictEqual(replaySample(fx, fx.samples[0]).pass, true);
    fx = opdb([f32([0, 0, 0]), f32([7, 7])], [randn]);
    assert.strictEqual(replaySample(fx, fx.samples[0]).reason, 'shape [3] vs [2] at output');
  });

  it('gradients are compared; a perturbed one is a grad mismatch', () => {
    // d(-x) = -gradOutput
    const grads = (g: number[]) => opdb([f32([1, 2]), f32([-1, -2]), f32([0.5, 3]), f32(g)],
      [{ ...neg, gradOutputs: [{ $t: 2 }], grads: [{ $t: 3 }] }]);
    let fx = grads([-0.5, -3]);
    assert.deepStrictEqual(replaySample(fx, fx.samples[0]), { pass: true, reason: null, via: 'torch.neg', checkedGrads: true });
    fx = grads([-0.5, 3]);
    assert.strictEqual(replaySample(fx, fx.samples[0]).reason, 'grad mismatch at grads[0][1]: got -3, expected 3 (1 of 2 differ)');
  });

  it('a null gradient equals an all-zero expected one, not a nonzero one', () => {
    // zeros_like's output does not depend on its input: torchrnn's gradient is null
    const zl = (g: number[]) => opdb([f32([1, 2]), f32([0, 0]), f32([0.5, 3]), f32(g)],
      [{ op: 'zeros_like', aten: 'zeros_like', fn: 'torch.zeros_like', input: { $t: 0 }, output: { $t: 1 }, gradOutputs: [{ $t: 2 }], grads: [{ $t: 3 }] }]);
    let fx = zl([0, 0]);
    assert.strictEqual(replaySample(fx, fx.samples[0]).pass, true);
    fx = zl([0, 1]);
    assert.strictEqual(replaySample(fx, fx.samples[0]).reason, 'grad mismatch at grads[0]: got none (no output requires grad), expected a nonzero gradient');
  });

  it('kwargs become the trailing options object with camelCase keys, tuples arrays', () => {
    const x = f32([3, 1, 2, 5, 4, 0], [2, 3]);
    const fx = opdb([x, f32([3, 5], [2, 1]), { dtype: 'int64', shape: [2, 1], values: [0, 0] }],
      [{ op: 'topk', aten: 'topk', fn: 'torch.topk', input: { $t: 0 }, args: [1], kwargs: { dim: 1, largest: true }, output: { $tuple: [{ $t: 1 }, { $t: 2 }], fields: ['values', 'indices'] } }]);
    // torch.topk(x, 1, { dim: 1, largest: true }): [values, indices], with the names PyTorch gives them
    assert.deepStrictEqual(replaySample(fx, fx.samples[0]), { pass: true, reason: null, via: 'torch.topk', checkedGrads: false });
  });

  it('an op torchrnn has no callable for is "not callable"; the aten name is the fallback', () => {
    let fx = opdb([f32([1]), f32([1])], [{ op: 'masked.sum', aten: 'masked.sum', fn: 'torch.masked.sum', input: { $t: 0 }, output: { $t: 1 } }]);
    assert.deepStrictEqual(replaySample(fx, fx.samples[0]), { pass: false, reason: 'not callable', via: null, checkedGrads: false });
    // no torch.nn.functional.noSuchFn: torch.ops.aten.neg, by the OpInfo's aten name
    fx = opdb([f32([1]), f32([-1])], [{ op: 'nn.functional.no_such_fn', aten: 'neg', fn: 'torch.nn.functional.no_such_fn', input: { $t: 0 }, output: { $t: 1 } }]);
    assert.strictEqual(replaySample(fx, fx.samples[0]).via, 'torch.ops.aten.neg');
    assert.strictEqual(replaySample(fx, fx.samples[0]).pass, true);
  });

  it('a thrown error is the reason, with its code', () => {
    const fx = opdb([f32([1]), f32([1])], [{ ...neg, args: [1, 2] }]);
    assert.match(replaySample(fx, fx.samples[0]).reason!, /^ERR_INVALID_ARG: Expected at most 1 positional arguments for aten::neg\(…\) but received 3$/);
  });

  it('a lambda that the public name does not reproduce fails with the reason of the first try', () => {
    // op_db's polygamma lambdas take (x, n); torch.polygamma takes (n, x)
    const fx = opdb([f32([1]), f32([1])], [{ op: 'polygamma', aten: 'polygamma', fn: '<lambda>', input: { $t: 0 }, args: [1], output: { $t: 1 } }]);
    assert.match(replaySample(fx, fx.samples[0]).reason!, /^<lambda> via torch\.polygamma: ERR_INVALID_ARG: Expected an integer for argument 'n'/);
  });
});
