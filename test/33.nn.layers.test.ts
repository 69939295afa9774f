// Convolution, pooling and channel-dropout modules (lib/nn/conv.ts, pooling.ts, dropout.ts)
// against PyTorch: every case of test/fixtures/torch-<line>/layers.json (scripts/gen-fixtures-layers.py)
// checks seeded initialization, repr, state-dict keys, the output and every gradient; then
// Dropout2d's channel semantics, state dicts exchanged with PyTorch both ways, traced == eager in
// trainStep, and bad options with their exact messages.
import * as assert from 'assert';
import * as child_process from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import {
  assertMatches, assertNoBacktrace, caught, Encoded, fixturePath, fromFixture, invalid, loadFixture, sameParams, suiteTmpDir, tolerance, values, warningsOf,
} from './helpers';

const { nn, optim } = torch;
const PYTHON = '/usr/bin/python3';

interface LayerCase {
  name: string;
  kind: string;
  args: unknown[];
  options: Record<string, unknown>;
  repr: string;
  stateKeys: string[];
  seed: number;
  init: Record<string, Encoded>;
  input: Encoded;
  forward: { outputSize?: number[] };
  output: Encoded;
  indices: Encoded | null;
  projection: Encoded;
  grads: Record<string, Encoded>;
}
interface DropoutCase { seed: number; p: number; shape: number[]; output: Encoded; repr: string }
interface Fixture {
  torch: string;
  cases: LayerCase[];
  dropout2d: DropoutCase[];
  model: { seed: number; input: Encoded; output: Encoded; stateKeys: string[]; repr: string };
}

const FX = loadFixture<Fixture>('layers.json');
/** float64 outputs and gradients: the float64 tolerance of every parity test (relative 1e-12). */
const TOL64 = tolerance('float64');

type AnyModule = torch.nn.Module & { forward(...a: unknown[]): unknown };
function build(c: { kind: string; args: unknown[]; options: Record<string, unknown> }): AnyModule {
  const Ctor = (nn as unknown as Record<string, new (...a: unknown[]) => AnyModule>)[c.kind];
  assert.ok(Ctor, `nn.${c.kind}`);
  return Object.keys(c.options).length ? new Ctor(...c.args, c.options) : new Ctor(...c.args);
}

/** The model of the state-dict exchange (scripts/gen-fixtures-layers.py builds the same one). */
function exchangeModel(): torch.nn.Sequential {
  return new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, outputPadding: 1 }), new nn.AvgPool2d(2), new nn.AdaptiveAvgPool2d([null, 3]), new nn.Dropout2d(0.3));
}
const PY_MODEL = 'nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), '
  + 'nn.AvgPool2d(2), nn.AdaptiveAvgPool2d((None, 3)), nn.Dropout2d(0.3))';

describe(`nn layers against PyTorch ${FX.torch}: ${FX.cases.length} cases of Conv, ConvTranspose, MaxPool, AvgPool, AdaptiveAvgPool`, () => {
  it('the fixture covers every module kind and option of the grid', () => {
    const kinds = new Set(FX.cases.map((c) => c.kind));
    assert.deepStrictEqual([...kinds].sort(), ['AdaptiveAvgPool1d', 'AdaptiveAvgPool2d', 'AvgPool1d', 'AvgPool2d', 'Conv1d', 'Conv2d', 'ConvTranspose1d', 'ConvTranspose2d', 'MaxPool1d', 'MaxPool2d']);
    const opts = new Set(FX.cases.flatMap((c) => Object.keys(c.options)));
    for (const o of ['stride', 'padding', 'dilation', 'groups', 'bias', 'outputPadding', 'ceilMode', 'returnIndices', 'countIncludePad', 'divisorOverride']) assert.ok(opts.has(o), o);
    assert.ok(FX.cases.some((c) => c.forward.outputSize), 'forward(input, outputSize)');
    assert.ok(FX.cases.length >= 60);
  });

  for (const c of FX.cases) {
    it(`${c.name}: ${c.repr}`, () => {
      torch.manualSeed(c.seed);
      const m = build(c);
      // repr, state-dict keys, seeded initialization (float32)
      assert.strictEqual(String(m), c.repr);
      assert.deepStrictEqual(Object.keys(m.stateDict()), c.stateKeys);
      const params = new Map(m.namedParameters());
      assert.deepStrictEqual([...params.keys()], Object.keys(c.init));
      for (const [n, e] of Object.entries(c.init)) assertMatches(params.get(n)!, e, `${c.name} init ${n}`, tolerance('float32'));
      // outputs and gradients in float64
      m.to('float64');
      const x = fromFixture(c.input, true);
      let out = c.forward.outputSize ? m.forward(x, c.forward.outputSize) : m.forward(x);
      if (c.indices) {
        assert.ok(Array.isArray(out) && out.length === 2, 'returnIndices: [output, indices]');
        const idx = (out as torch.Tensor[])[1];
        assert.strictEqual(idx.dtype, 'int64');
        assert.deepStrictEqual([...idx.shape], c.indices.shape);
        assert.deepStrictEqual(values(idx), c.indices.data);
        out = (out as torch.Tensor[])[0];
      }
      const y = out as torch.Tensor;
      assertMatches(y, c.output, `${c.name} output`, TOL64);
      y.mul(fromFixture(c.projection)).sum().backward();
      assertMatches(x.grad!, c.grads.input, `${c.name} grad input`, TOL64);
      for (const [n, p] of params) assertMatches(p.grad!, c.grads[n], `${c.name} grad ${n}`, TOL64);
      assert.deepStrictEqual(Object.keys(c.grads), ['input', ...params.keys()]);
      m.dispose();
    });
  }
});

describe('Dropout2d: whole channels, PyTorch\'s mask after manualSeed', () => {
  for (const d of FX.dropout2d) {
    it(`after torch.manualSeed(${d.seed}), Dropout2d(${d.p}) on ones(${d.shape.join(', ')}) drops PyTorch's channels`, () => {
      torch.manualSeed(d.seed);
      const m = new nn.Dropout2d(d.p);
      assert.strictEqual(String(m), d.repr);
      assertMatches(m.forward(torch.ones(d.shape)), d.output, 'dropout2d', tolerance('float32'));
    });
  }

  it('zeroes whole channels at rate p (3 standard deviations over 4096 channels), scales the rest by 1/(1-p); gradients follow the mask', () => {
    torch.manualSeed(3);
    const p = 0.3;
    const m = new nn.Dropout2d(p);
    assert.strictEqual(m.training, true);
    const x = torch.rand([64, 64, 3, 4]).add(0.5).requiresGrad_(true);
    const y = m.forward(x);
    const xs = values(x);
    const ys = values(y);
    let dropped = 0;
    for (let ch = 0; ch < 64 * 64; ch++) {
      const kept = ys[ch * 12] !== 0;
      if (!kept) dropped++;
      for (let i = ch * 12; i < ch * 12 + 12; i++) {
        if (kept) assert.ok(Math.abs(ys[i] - xs[i] / (1 - p)) < 1e-5, `channel ${ch} scaled: ${ys[i]} vs ${xs[i] / (1 - p)}`);
        else assert.strictEqual(ys[i], 0, `channel ${ch} all zero`);
      }
    }
    const n = 64 * 64;
    assert.ok(Math.abs(dropped - n * p) < 3 * Math.sqrt(n * p * (1 - p)), `dropped ${dropped} of ${n}`);
    y.sum().backward();
    const g = values(x.grad!);
    ys.forEach((v, i) => assert.ok(Math.abs(g[i] - (v === 0 ? 0 : 1 / (1 - p))) < 1e-6, `grad[${i}]`));
  });

  it('is the identity in eval mode and follows train()/eval(); p = 0 keeps, p = 1 zeroes; inplace writes the input', () => {
    torch.manualSeed(4);
    const seq = new nn.Sequential(new nn.Dropout2d(0.5));
    const d = seq.at(0) as torch.nn.Dropout2d;
    const x = torch.randn([2, 8, 3, 3]);
    seq.eval();
    assert.strictEqual(d.training, false);
    assert.deepStrictEqual(values(d.forward(x)), values(x));
    seq.train();
    assert.notDeepStrictEqual(values(d.forward(x)), values(x));
    assert.deepStrictEqual(values(new nn.Dropout2d(0).forward(x)), values(x));
    assert.ok(values(new nn.Dropout2d(1).forward(x)).every((v) => v === 0));
    const inplace = new nn.Dropout2d({ p: 0.5, inplace: true });
    assert.strictEqual(String(inplace), 'Dropout2d(p=0.5, inplace=True)');
    assert.strictEqual(String(new nn.Dropout2d(1)), 'Dropout2d(p=1.0, inplace=False)');
    const z = x.clone();
    const r = inplace.forward(z);
    assert.strictEqual(r, z);
    assert.ok(values(z).some((v) => v === 0) && values(z).some((v) => v !== 0));
    assert.deepStrictEqual(Object.keys(inplace.stateDict()), []);
  });

  it('warns as F.dropout2d does for 3-D input (taken as [N, C, L]) and for other ranks', async () => {
    const d = new nn.Dropout2d(0.5);
    assert.deepStrictEqual(await warningsOf(() => d.forward(torch.ones([2, 3, 4, 4]))), []);
    const w3 = await warningsOf(() => d.forward(torch.ones([2, 3, 4])));
    assert.strictEqual(w3.length, 1);
    assert.match(w3[0], /^dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is desired .* please switch to using dropout1d instead\.$/);
    const w2 = await warningsOf(() => d.forward(torch.ones([3, 4])));
    assert.strictEqual(w2.length, 1);
    assert.match(w2[0], /^dropout2d: Received a 2-D input to dropout2d, which is deprecated .* \(i\.e\. 3D or 4D inputs\)\.$/);
  });
});

describe('state dicts exchanged with PyTorch', () => {
  const tmp = suiteTmpDir('trnn-layers-');
  const M = FX.model;

  it('loads the state dict PyTorch saved (layers-state.pt): same keys, same repr, PyTorch\'s output; seeded init equals it too', () => {
    torch.manualSeed(M.seed + 1000);
    const m = exchangeModel();
    assert.strictEqual(String(m), M.repr);
    assert.deepStrictEqual(Object.keys(m.stateDict()), M.stateKeys);
    m.load(fixturePath('layers-state.pt'));
    m.eval();
    assertMatches(torch.noGrad(() => m.forward(fromFixture(M.input))) as torch.Tensor, M.output, 'model output', { rtol: 1e-5, atol: 1e-6 });
    torch.manualSeed(M.seed);
    const seeded = exchangeModel();
    sameParams(seeded, m, 1e-7);
  });

  it('PyTorch loads the state dict torchrnn saves (strict) and computes torchrnn\'s output', function () {
    this.timeout(240000);
    const probe = fs.existsSync(PYTHON) ? child_process.spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120000 }) : null;
    if (!probe || probe.status !== 0) {
      console.log(`      (skipped: ${PYTHON} cannot import torch; install python3-torch to run the Python side)`);
      this.skip();
    }
    torch.manualSeed(5);
    const m = exchangeModel();
    // not the seeded values: one SGD step moves every parameter
    const opt = new optim.SGD(m.parameters(), { lr: 0.1 });
    (m.forward(torch.randn([2, 3, 8, 8])) as torch.Tensor).pow(2).sum().backward();
    opt.step();
    m.eval();
    const x = torch.randn([2, 3, 8, 8]);
    const y = torch.noGrad(() => m.forward(x)) as torch.Tensor;
    const stateFile = path.join(tmp(), 'model.pt');
    const inputFile = path.join(tmp(), 'input.pt');
    m.save(stateFile);
    torch.save({ x }, inputFile);
    const script = [
      'import json, sys, torch', 'import torch.nn as nn',
      `model = ${PY_MODEL}`,
      'keys = model.load_state_dict(torch.load(sys.argv[1]), strict=True)',
      'model.eval()',
      'with torch.no_grad(): y = model(torch.load(sys.argv[2])["x"])',
      'print(json.dumps({"shape": list(y.shape), "data": y.reshape(-1).tolist(), "keys": list(model.state_dict().keys())}))',
    ].join('\n');
    const r = child_process.spawnSync(PYTHON, ['-c', script, stateFile, inputFile], { encoding: 'utf8', timeout: 240000 });
    assert.strictEqual(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { shape: number[]; data: number[]; keys: string[] };
    assert.deepStrictEqual(got.keys, M.stateKeys);
    assertMatches(y, { shape: got.shape, data: got.data, dtype: 'float32' }, 'PyTorch output', { rtol: 1e-5, atol: 1e-6 });
  });
});

describe('the layers in training: trainStep traced == eager, forwardAsync', () => {
  class Net extends nn.Module {
    conv = new nn.Conv2d(2, 4, 3, { padding: 1 });
    pool = new nn.MaxPool2d(2);
    up = new nn.ConvTranspose2d(4, 3, 3, { stride: 2, padding: 1, outputPadding: 1 });
    avg = new nn.AvgPool2d(2, { countIncludePad: false });
    adapt = new nn.AdaptiveAvgPool2d([2, null]);
    seq = new nn.Conv1d(3, 3, 2, { padding: 'same', dilation: 2 });
    pool1 = new nn.MaxPool1d(2, { stride: 1, ceilMode: true });
    avg1 = new nn.AdaptiveAvgPool1d(3);
    head = new nn.Linear(9, 3);
    forward(x: torch.Tensor): torch.Tensor {
      let h = this.pool.forward(this.conv.forward(x).relu());
      h = this.adapt.forward(this.avg.forward(this.up.forward(h).tanh())); // [N, 3, 2, 4]
      const s = this.avg1.forward(this.pool1.forward(this.seq.forward(h.flatten(2)))); // [N, 3, 3]
      return this.head.forward(s.flatten(1));
    }
  }
  const twin = (): [Net, Net] => {
    torch.manualSeed(12);
    const a = new Net();
    torch.manualSeed(12);
    return [a, new Net()];
  };

  it('a Conv → pool → ConvTranspose → pool → Conv1d → pool → Linear model: traced and eager steps agree', async () => {
    const [a, b] = twin();
    sameParams(a, b);
    const loss = new nn.CrossEntropyLoss();
    const stepA = torch.trainStep({ model: a, loss, optimizer: new optim.SGD(a.parameters(), { lr: 0.05, momentum: 0.9 }) });
    const stepB = torch.trainStep({ model: b, loss, optimizer: new optim.SGD(b.parameters(), { lr: 0.05, momentum: 0.9 }), trace: false });
    torch.manualSeed(13);
    const losses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const x = torch.randn([5, 2, 8, 8]);
      const t = torch.randint(0, 3, [5]);
      const [la, lb] = await Promise.all([stepA(x, t), stepB(x, t)]);
      assert.ok(Math.abs(la - lb) <= 1e-6 * Math.abs(lb), `loss at step ${i}: ${la} vs ${lb}`);
      losses.push(la);
    }
    assert.strictEqual(stepA.traced, true);
    assert.strictEqual(stepB.traced, false);
    assert.ok(new Set(losses).size === losses.length, 'the steps differ');
    sameParams(a, b, 1e-6);
  });

  it('forwardAsync gives forward()\'s result', async () => {
    torch.manualSeed(14);
    const x = torch.randn([2, 2, 6, 6]);
    for (const m of [new nn.Conv2d(2, 3, 3), new nn.ConvTranspose2d(2, 3, 3, { stride: 2 }), new nn.MaxPool2d(3, { stride: 1 }), new nn.AvgPool2d(2), new nn.AdaptiveAvgPool2d(4)]) {
      const y = await m.forwardAsync(x) as torch.Tensor;
      assert.deepStrictEqual(values(y), values(m.forward(x) as torch.Tensor), String(m));
    }
  });
});

describe('bad options and inputs name the argument', () => {
  it('ConvTranspose1d/2d', () => {
    invalid(() => new nn.ConvTranspose2d(4, 6, 3, { groups: 4 }), 'Expected an outChannels divisible by groups (4) for outChannels but received 6');
    invalid(() => new nn.ConvTranspose1d(3, 6, 3, { groups: 2 }), 'Expected an inChannels divisible by groups (2) for inChannels but received 3');
    invalid(() => new nn.ConvTranspose1d(2, 2, 3, { padding: 'same' as never }), 'Expected an integer >= 0 or an array of 1 such integers for padding but received "same"');
    invalid(() => new nn.ConvTranspose2d(2, 2, 3, { stride: 2, outputPadding: 2 }), 'Expected values smaller than stride or dilation in each dimension (stride (2, 2), dilation (1, 1)) for outputPadding but received 2');
    invalid(() => new nn.ConvTranspose2d(2, 2, 3, { outputPadding: [0, 1] }), 'Expected values smaller than stride or dilation in each dimension (stride (1, 1), dilation (1, 1)) for outputPadding but received [0, 1]');
    invalid(() => new nn.ConvTranspose2d(2, 2, 3, { outputPadding: [0, 1, 0] }), 'Expected an integer >= 0 or an array of 2 such integers for outputPadding but received [0, 1, 0]');
    invalid(() => new nn.ConvTranspose1d(2, 2, 3, { dilation: 0 }), 'Expected an integer >= 1 or an array of 1 such integers for dilation but received 0');
    invalid(() => new nn.ConvTranspose1d(2, 2, 3, { paddingMode: 'circular' as never }), 'Expected one of "zeros" for paddingMode but received "circular"');
    invalid(() => new nn.ConvTranspose1d(2, 2, 3, { bias: 1 as never }), 'Expected a boolean for bias but received 1');
    invalid(() => new nn.ConvTranspose1d(2, 2, 3, { outPadding: 1 } as never), 'Expected one of the options stride, padding, outputPadding, groups, bias, dilation, paddingMode for an option of options but received "outPadding"');
    invalid(() => new nn.Conv1d(2, 2, 3, { outputPadding: 1 } as never), 'Expected one of the options stride, padding, dilation, groups, bias, paddingMode for an option of options but received "outputPadding"');
    const ct = new nn.ConvTranspose2d(2, 3, 3, { stride: 2, padding: 1 });
    const x = torch.randn([1, 2, 5, 5]);
    invalid(() => ct.forward(x, [9, 9, 9]), 'Expected an array of 2 or 4 integers (for a 4-D input) for outputSize but received [9, 9, 9]');
    invalid(() => ct.forward(x, [9, 11]), 'Expected sizes from [9, 9] to [10, 10] (for an input of [5, 5]) for outputSize but received [9, 11]');
    invalid(() => ct.forward(x.select(0, 0), [1, 2, 10, 10]), 'Expected an array of 2 or 3 integers (for a 3-D input) for outputSize but received [1, 2, 10, 10]');
    assert.deepStrictEqual(ct.forward(x.select(0, 0), [3, 10, 9]).shape, [3, 10, 9]);
    invalid(() => ct.forward([1, 2] as never), 'Expected a Tensor for input but received [1, 2]');
    // shapes only libtorch knows: ERR_TORCH with libtorch's sentence, no backtrace
    const err = caught(() => ct.forward(torch.randn([1, 3, 5, 5])));
    assert.ok(err instanceof torch.TorchError && err.code === 'ERR_TORCH', String(err));
    assertNoBacktrace(err.message);
  });

  it('MaxPool, AvgPool, AdaptiveAvgPool', () => {
    invalid(() => new nn.MaxPool2d(0), 'Expected an integer >= 1 or an array of 2 such integers for kernelSize but received 0');
    invalid(() => new nn.MaxPool1d([2, 2]), 'Expected an integer >= 1 or an array of 1 such integers for kernelSize but received [2, 2]');
    invalid(() => new nn.MaxPool2d(3, { stride: 0 }), 'Expected an integer >= 1 or an array of 2 such integers for stride but received 0');
    invalid(() => new nn.MaxPool2d(3, { padding: 2 }), 'Expected at most [1, 1] (half the effective kernel size, (kernelSize - 1) * dilation + 1) for padding but received 2');
    invalid(() => new nn.MaxPool1d(2, { padding: -1 }), 'Expected an integer >= 0 or an array of 1 such integers for padding but received -1');
    invalid(() => new nn.MaxPool1d(2, { returnIndices: 1 as never }), 'Expected a boolean for returnIndices but received 1');
    invalid(() => new nn.MaxPool1d(2, { ceilMode: 'yes' as never }), 'Expected a boolean for ceilMode but received "yes"');
    invalid(() => new nn.MaxPool2d(2, { countIncludePad: true } as never), 'Expected one of the options stride, padding, dilation, returnIndices, ceilMode for an option of options but received "countIncludePad"');
    invalid(() => new nn.AvgPool2d(3, { padding: [1, 2] }), 'Expected at most [1, 1] (half the kernel size) for padding but received [1, 2]');
    invalid(() => new nn.AvgPool2d(2, { divisorOverride: 0 }), 'Expected an integer >= 1 for divisorOverride but received 0');
    invalid(() => new nn.AvgPool1d(2, { divisorOverride: 2 } as never), 'Expected one of the options stride, padding, ceilMode, countIncludePad for an option of options but received "divisorOverride"');
    invalid(() => new nn.AvgPool1d(2, { countIncludePad: 0 as never }), 'Expected a boolean for countIncludePad but received 0');
    invalid(() => new nn.AdaptiveAvgPool1d(0), 'Expected an integer >= 1 or an array of 1 such integers for outputSize but received 0');
    invalid(() => new nn.AdaptiveAvgPool2d([null] as never), 'Expected an integer >= 1 or an array of 2 such integers or nulls for outputSize but received [null]');
    invalid(() => new nn.AdaptiveAvgPool2d([2, 1.5]), 'Expected an integer >= 1 or an array of 2 such integers or nulls for outputSize but received [2, 1.5]');
    invalid(() => new nn.AvgPool2d(2).forward('x' as never), 'Expected a Tensor for input but received "x"');
    const m = new nn.MaxPool2d(2);
    m.dispose();
    invalid(() => m.forward(torch.ones([1, 1, 2, 2])), 'Expected a live module for module but received "a disposed MaxPool2d"');
  });

  it('Dropout2d', () => {
    invalid(() => new nn.Dropout2d(1.5), 'Expected a probability in [0, 1] for p but received 1.5');
    invalid(() => new nn.Dropout2d({ p: -0.1 }), 'Expected a probability in [0, 1] for p but received -0.1');
    invalid(() => new nn.Dropout2d(0.5, 'yes' as never), 'Expected a boolean for inplace but received "yes"');
    invalid(() => new nn.Dropout2d({ q: 0.5 } as never), 'Expected one of the options p, inplace for an option of options but received "q"');
    invalid(() => new nn.Dropout2d().forward(null as never), 'Expected a Tensor for input but received null');
  });
});
