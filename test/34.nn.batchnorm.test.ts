// nn.BatchNorm1d and nn.BatchNorm2d (lib/nn/batchnorm.ts) against PyTorch
// (scripts/gen-fixtures-batchnorm.py → fixtures/torch-<line>/batchnorm.json and
// batchnorm-trained.pt): outputs, gradients and running statistics over the option grid; running
// statistics after several SGD steps in an eager loop and in trainStep traced and untraced
// (traced equals eager exactly); momentum null (the cumulative average) in traced graphs; state
// dicts with PyTorch both ways; repr; bad input with exact messages; no leaks.
import * as assert from 'assert';
import * as child_process from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { assertAllClose, assertMatches, CROSS_CPU_TOL, Encoded, fixturePath, fromFixture, invalid, loadFixture, sameParams, settle, suiteTmpDir, Tolerance, tolerance, values } from './helpers';

const { nn } = torch;
const PYTHON = '/usr/bin/python3';

type Kind = '1d' | '1d3' | '2d';
type State = Record<string, Encoded>;
interface Step { input: Encoded; target: Encoded; loss: number; buffers: State }
interface Case {
  name: string;
  kind: Kind;
  dtype: 'float32' | 'float64';
  training: boolean;
  options: { numFeatures: number; eps: number; momentum: number | null; affine: boolean; trackRunningStats: boolean };
  state: State;
  input: Encoded;
  output: Encoded;
  projection: Encoded;
  grads: { input: Encoded; weight: Encoded | null; bias: Encoded | null };
  after: State;
  modelState: State;
  steps: Step[];
  final: State;
}
interface Fixture {
  torch: string;
  K: number;
  cases: Case[];
  trained: { keys: string[]; state: State; input: Encoded; output: Encoded };
}
const FIX = loadFixture<Fixture>('batchnorm.json');
const EXACT: Tolerance = { rtol: 0, atol: 0 };

function makeBn(c: Case): torch.nn.BatchNorm1d | torch.nn.BatchNorm2d {
  const { numFeatures, ...opts } = c.options;
  return c.kind === '2d' ? new nn.BatchNorm2d(numFeatures, opts) : new nn.BatchNorm1d(numFeatures, opts);
}

/** Sequential(pre, bn) of the training steps, with the fixture's initial state, in the case's mode. */
function makeModel(c: Case): torch.nn.Sequential {
  const C = c.options.numFeatures;
  const pre = c.kind === '1d' ? new nn.Linear(2, C) : c.kind === '1d3' ? new nn.Conv1d(2, C, 2) : new nn.Conv2d(2, C, 2);
  const m = new nn.Sequential(pre, makeBn(c)).to(c.dtype).train(c.training);
  loadState(m, c.modelState);
  return m;
}

function loadState(m: torch.nn.Module, state: State): void {
  const sd: Record<string, torch.Tensor> = {};
  for (const [k, v] of Object.entries(state)) sd[k] = fromFixture(v);
  try {
    m.loadStateDict(sd);
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}

/** The module's state dict has exactly these keys, in this order, with these values (int64 exactly). */
function assertState(m: torch.nn.Module, expected: State, label: string, tol?: Tolerance): void {
  torch.tidy(() => {
    const sd = m.stateDict();
    assert.deepStrictEqual(Object.keys(sd), Object.keys(expected), `${label}: state-dict keys`);
    for (const [k, e] of Object.entries(expected)) assertMatches(sd[k], e, `${label}: ${k}`, e.dtype === 'int64' ? EXACT : tol);
  });
}

/** The module's buffers are exactly these (PyTorch's named_buffers), with these values. */
function assertBuffers(m: torch.nn.Module, expected: State, label: string, tol?: Tolerance): void {
  const bufs = m.namedBuffers();
  assert.deepStrictEqual(bufs.map(([n]) => n), Object.keys(expected), `${label}: buffer names`);
  for (const [n, b] of bufs) assertMatches(b, expected[n], `${label}: ${n}`, expected[n].dtype === 'int64' ? EXACT : tol);
}

const lossOf = (y: torch.Tensor, t: torch.Tensor): torch.Tensor => y.mul(t).mean();

describe(`nn.BatchNorm1d / BatchNorm2d against PyTorch ${FIX.torch} (${FIX.cases.length} cases)`, () => {
  it('the fixture covers the grid: 3 input kinds × train/eval × momentum 0.1, 0.3, null × affine × trackRunningStats', () => {
    const f64 = FIX.cases.filter((c) => c.dtype === 'float64');
    assert.strictEqual(f64.length, 72);
    assert.strictEqual(new Set(f64.map((c) => `${c.kind} ${c.training} ${c.options.momentum} ${c.options.affine} ${c.options.trackRunningStats}`)).size, 72);
    assert.ok(FIX.cases.some((c) => c.dtype === 'float32'));
  });

  for (const c of FIX.cases) {
    it(`${c.name}: output, input/weight/bias gradients, buffers after the forward`, () => {
      const bn = makeBn(c).to(c.dtype).train(c.training);
      loadState(bn, c.state);
      assertState(bn, c.state, 'initial');
      torch.tidy(() => {
        const x = fromFixture(c.input, true);
        const out = bn.forward(x);
        assertMatches(out, c.output, 'output');
        const R = fromFixture(c.projection);
        const diff = [x, ...(c.options.affine ? [bn.weight!, bn.bias!] : [])];
        const grads = torch.autograd.grad(out.mul(R).sum(), diff);
        assertMatches(grads[0]!, c.grads.input, 'input gradient');
        if (c.options.affine) {
          assertMatches(grads[1]!, c.grads.weight!, 'weight gradient');
          assertMatches(grads[2]!, c.grads.bias!, 'bias gradient');
        } else {
          assert.strictEqual(bn.weight, null);
          assert.strictEqual(bn.bias, null);
        }
      });
      assertState(bn, c.after, 'after the forward');
      bn.dispose();
    });
  }

  for (const c of FIX.cases) {
    it(`${c.name}: ${FIX.K} SGD steps — eager loop, trainStep traced and untraced give PyTorch's losses, running statistics and parameters; traced equals eager exactly`, async () => {
      const eager = makeModel(c);
      const traced = makeModel(c);
      const untraced = makeModel(c);
      const opt = new torch.optim.SGD(eager.parameters(), { lr: 0.1 });
      const stepT = torch.trainStep({ model: traced, loss: lossOf, optimizer: new torch.optim.SGD(traced.parameters(), { lr: 0.1 }) });
      const stepU = torch.trainStep({ model: untraced, loss: lossOf, optimizer: new torch.optim.SGD(untraced.parameters(), { lr: 0.1 }), trace: false });
      const tol = tolerance(c.dtype);
      try {
        for (const [k, s] of c.steps.entries()) {
          const x = fromFixture(s.input);
          const t = fromFixture(s.target);
          opt.zeroGrad();
          const l = lossOf(eager.forward(x), t);
          l.backward();
          opt.step();
          const le = l.item() as number;
          l.dispose();
          const lt = await stepT(x, t);
          const lu = await stepU(x, t);
          assertAllClose([le], [s.loss], tol, `step ${k}: loss`);
          assert.strictEqual(lt, le, `step ${k}: traced loss`);
          assert.strictEqual(lu, le, `step ${k}: untraced loss`);
          assertBuffers(eager, s.buffers, `step ${k} eager`, tol);
          assertBuffers(traced, s.buffers, `step ${k} traced`, tol);
          sameParams(traced, eager);
          sameParams(untraced, eager);
          x.dispose();
          t.dispose();
        }
        assert.strictEqual(stepT.traced, true);
        assertState(eager, c.final, 'eager after the steps', tol);
        assertState(traced, c.final, 'traced after the steps', tol);
      } finally {
        for (const m of [eager, traced, untraced]) m.dispose();
      }
    });
  }
});

describe('BatchNorm behaviour', () => {
  it('eval mode normalizes with the running statistics and leaves them alone; without them it uses the batch\'s', () => {
    torch.tidy(() => {
      const bn = new nn.BatchNorm1d(3).to('float64');
      torch.noGrad(() => {
        bn.running_mean!.copy_(torch.tensor([0.5, -1, 2], { dtype: 'float64' }));
        bn.running_var!.copy_(torch.tensor([4, 0.25, 1], { dtype: 'float64' }));
        bn.weight!.copy_(torch.tensor([2, 1, -1], { dtype: 'float64' }));
        bn.bias!.copy_(torch.tensor([0, 1, 3], { dtype: 'float64' }));
      });
      bn.eval();
      const x = torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float64' });
      const y = values(bn.forward(x));
      const want: number[] = [];
      for (const row of [[1, 2, 3], [4, 5, 6]]) {
        row.forEach((v, j) => want.push((v - [0.5, -1, 2][j]) / Math.sqrt([4, 0.25, 1][j] + 1e-5) * [2, 1, -1][j] + [0, 1, 3][j]));
      }
      assertAllClose(y, want, tolerance('float64'), 'eval output');
      assert.deepStrictEqual(values(bn.running_mean!), [0.5, -1, 2]);
      assert.deepStrictEqual(values(bn.num_batches_tracked!), [0]);
      const free = new nn.BatchNorm1d(3, { trackRunningStats: false, affine: false }).to('float64').eval();
      const z = free.forward(x);
      assertAllClose(values(z.mean([0])), [0, 0, 0], { rtol: 0, atol: 1e-12 }, 'batch-normalized mean');
      free.dispose();
      bn.dispose();
    });
  });

  it('momentum null is the cumulative average in eager mode, jit.trace and trainStep: after n batches, the mean of their means', async () => {
    // a factor read from num_batches_tracked at trace time (1/1) would make a traced graph keep
    // only the last batch's statistics; the factor is computed from the buffer inside the graph
    const batches = [0, 1, 2, 3, 4].map((i) => torch.tidy(() => torch.randn([6, 2], { dtype: 'float64' }).mul(i + 1).add(i)));
    const meanOfMeans = [0, 1].map((j) => batches.reduce((s, b) => s + (values(b.select(1, j)).reduce((a, v) => a + v, 0) / 6), 0) / 5);
    const eager = new nn.BatchNorm1d(2, { momentum: null }).to('float64');
    for (const b of batches) eager.forward(b).dispose();
    assertAllClose(values(eager.running_mean!), meanOfMeans, { rtol: 1e-12, atol: 1e-14 }, 'eager running mean');
    assert.deepStrictEqual(values(eager.num_batches_tracked!), [5]);

    const traced = new nn.BatchNorm1d(2, { momentum: null }).to('float64');
    const tm = torch.jit.trace(traced, [batches[0]]);
    assert.deepStrictEqual(values(traced.num_batches_tracked!), [0], 'tracing puts the buffers back');
    for (const b of batches) (tm.forward(b) as torch.Tensor).dispose();
    sameParams(traced, eager);

    class Net extends nn.Module {
      bn = new nn.BatchNorm1d(2, { momentum: null });
      forward(x: torch.Tensor): torch.Tensor { return this.bn.forward(x); }
    }
    const net = new Net().to('float64');
    const step = torch.trainStep({ model: net, loss: lossOf, optimizer: new torch.optim.SGD(net.parameters(), { lr: 0 }) });
    const target = torch.ones([6, 2], { dtype: 'float64' });
    for (const b of batches) await step(b, target);
    assert.strictEqual(step.traced, true);
    sameParams(net.bn, eager);
    for (const m of [eager, traced, net]) m.dispose();
    for (const t of [...batches, target]) t.dispose();
  });

  it('has PyTorch\'s state-dict keys, buffers and repr; affine / trackRunningStats false register none', () => {
    const bn = new nn.BatchNorm2d(4);
    assert.strictEqual(String(bn), 'BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)');
    assert.deepStrictEqual(Object.keys(bn.stateDict()), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    assert.deepStrictEqual(bn.namedParameters().map(([n]) => n), ['weight', 'bias']);
    assert.deepStrictEqual(bn.namedBuffers().map(([n, b]) => `${n} ${b.dtype} [${b.shape.join(', ')}]`),
      ['running_mean float32 [4]', 'running_var float32 [4]', 'num_batches_tracked int64 []']);
    assert.deepStrictEqual([values(bn.weight!), values(bn.bias!), values(bn.running_mean!), values(bn.running_var!)], [[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]]);
    // PyTorch prints: BatchNorm1d(6, eps=0.001, momentum=None, affine=False, track_running_stats=False)
    const bare = new nn.BatchNorm1d(6, { eps: 1e-3, momentum: null, affine: false, trackRunningStats: false });
    assert.strictEqual(String(bare), 'BatchNorm1d(6, eps=0.001, momentum=None, affine=False, track_running_stats=False)');
    assert.deepStrictEqual(Object.keys(bare.stateDict()), []);
    assert.deepStrictEqual(bare.buffers(), []);
    assert.strictEqual(bare.running_mean, null);
    assert.strictEqual(bare.num_batches_tracked, null);
    assert.strictEqual(String(new nn.BatchNorm1d(2, { eps: 2.5e-7, momentum: 1 })), 'BatchNorm1d(2, eps=2.5e-07, momentum=1, affine=True, track_running_stats=True)');
    assert.strictEqual(String(new nn.Sequential(new nn.Conv2d(2, 4, 3), new nn.BatchNorm2d(4))),
      'Sequential(\n  (0): Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1))\n  (1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n)');
    assert.deepStrictEqual(Object.keys(new nn.BatchNorm1d(3, { affine: false }).stateDict()), ['running_mean', 'running_var', 'num_batches_tracked']);
    assert.deepStrictEqual(Object.keys(new nn.BatchNorm1d(3, { trackRunningStats: false }).stateDict()), ['weight', 'bias']);
  });

  it('to(float64) converts parameters and running statistics, num_batches_tracked stays int64; train()/eval() switch the statistics used', () => {
    const bn = new nn.BatchNorm2d(2).to('float64');
    assert.deepStrictEqual([bn.weight!.dtype, bn.running_mean!.dtype, bn.running_var!.dtype, bn.num_batches_tracked!.dtype], ['float64', 'float64', 'float64', 'int64']);
    torch.tidy(() => {
      const x = torch.randn([3, 2, 2, 2], { dtype: 'float64' }).add(5);
      bn.forward(x);
      assert.deepStrictEqual(values(bn.num_batches_tracked!), [1]);
      const rm = values(bn.running_mean!);
      assert.ok(rm.every((v) => v > 0.3), `running mean moved towards 5: ${rm}`);
      bn.eval();
      bn.forward(x);
      assert.deepStrictEqual(values(bn.num_batches_tracked!), [1], 'eval does not count');
      assert.deepStrictEqual(values(bn.running_mean!), rm, 'eval does not update');
      bn.train();
      bn.forward(x);
      assert.deepStrictEqual(values(bn.num_batches_tracked!), [2]);
    });
    bn.resetRunningStats();
    assert.deepStrictEqual([values(bn.running_mean!), values(bn.running_var!), values(bn.num_batches_tracked!)], [[0, 0], [1, 1], [0]]);
    torch.noGrad(() => bn.weight!.fill_(3));
    bn.resetParameters();
    assert.deepStrictEqual(values(bn.weight!), [1, 1]);
    bn.dispose();
  });

  it('forwardAsync gives forward()\'s result and updates the statistics once', async () => {
    const a = new nn.BatchNorm1d(3);
    const b = new nn.BatchNorm1d(3);
    const x = torch.randn([5, 3, 4]);
    const ya = a.forward(x);
    const yb = await b.forwardAsync(x) as torch.Tensor;
    assert.deepStrictEqual(values(yb), values(ya));
    sameParams(b, a);
    for (const t of [x, ya, yb]) t.dispose();
    a.dispose();
    b.dispose();
  });
});

describe('BatchNorm state dicts with PyTorch, both ways', () => {
  const tmp = suiteTmpDir('torchrnn-bn-');
  const model = (): torch.nn.Sequential => new nn.Sequential(new nn.Conv2d(2, 4, 3), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Flatten(),
    new nn.Linear(4 * 3 * 3, 6), new nn.BatchNorm1d(6, { momentum: null }), new nn.Linear(6, 3));

  it('loads the state dict of a model trained and saved by Python (.pt): keys, running statistics, num_batches_tracked and eval outputs', () => {
    const m = model().load(fixturePath('batchnorm-trained.pt')).eval();
    assertState(m, FIX.trained.state, 'loaded', EXACT);
    assert.deepStrictEqual(Object.keys(m.stateDict()), FIX.trained.keys);
    assert.deepStrictEqual(values((m.at(1) as torch.nn.BatchNorm2d).num_batches_tracked!), [4]);
    // (Conv2d and Linear: BLAS products, CROSS_CPU_TOL against Python's machine)
    torch.tidy(() => assertMatches(m.forward(fromFixture(FIX.trained.input)), FIX.trained.output, 'eval output', CROSS_CPU_TOL));
    m.dispose();
  });

  it('Python loads (weights_only) what torchrnn saves after trainStep training, and computes the same eval outputs', async function () {
    const probe = fs.existsSync(PYTHON) ? child_process.spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120000 }) : null;
    if (!probe || probe.status !== 0) {
      console.log(`      (skipped: ${PYTHON} cannot import torch)`);
      this.skip();
    }
    torch.manualSeed(11);
    const m = model();
    const step = torch.trainStep({ model: m, loss: (y: torch.Tensor, t: torch.Tensor) => y.sub(t).pow(2).mean(), optimizer: new torch.optim.SGD(m.parameters(), { lr: 0.05 }) });
    for (let k = 0; k < 3; k++) await step(torch.randn([5, 2, 5, 5]).add(0.2 * k), torch.randn([5, 3]));
    m.eval();
    const file = path.join(tmp(), 'bn.pt');
    torch.save(m.stateDict(), file);
    const x = torch.randn([3, 2, 5, 5]);
    const y = values(m.forward(x));
    const inputFile = path.join(tmp(), 'x.json');
    fs.writeFileSync(inputFile, JSON.stringify(values(x)));
    const script = [
      'import json, sys, torch, torch.nn as nn',
      'm = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(36, 6), nn.BatchNorm1d(6, momentum=None), nn.Linear(6, 3))',
      'sd = torch.load(sys.argv[1], weights_only=True)',
      'm.load_state_dict(sd)',
      'm.eval()',
      'x = torch.tensor(json.load(open(sys.argv[2])), dtype=torch.float32).reshape(3, 2, 5, 5)',
      'with torch.no_grad(): y = m(x)',
      'print(json.dumps({"keys": list(sd.keys()), "dtypes": [str(v.dtype) for v in sd.values()], "nbt": [int(m[1].num_batches_tracked), int(m[5].num_batches_tracked)],',
      '  "rv": m[5].running_var.tolist(), "output": y.reshape(-1).tolist()}))',
    ].join('\n');
    const r = child_process.spawnSync(PYTHON, ['-c', script, file, inputFile], { encoding: 'utf8', timeout: 240000 });
    assert.strictEqual(r.status, 0, r.stderr);
    const py = JSON.parse(r.stdout) as { keys: string[]; dtypes: string[]; nbt: number[]; rv: number[]; output: number[] };
    assert.deepStrictEqual(py.keys, Object.keys(m.stateDict()));
    assert.deepStrictEqual(py.dtypes, Object.values(m.stateDict()).map((t) => `torch.${t.dtype}`));
    assert.deepStrictEqual(py.nbt, [3, 3]);
    assert.deepStrictEqual(py.rv, values((m.at(5) as torch.nn.BatchNorm1d).running_var!));
    assertAllClose(py.output, y, tolerance('float32'), 'Python\'s eval output');
    x.dispose();
    m.dispose();
  });
});

describe('BatchNorm bad input', () => {
  it('constructor options name the argument', () => {
    invalid(() => new nn.BatchNorm1d(0), 'Expected an integer >= 1 for numFeatures but received 0');
    invalid(() => new nn.BatchNorm2d(2.5), 'Expected an integer >= 1 for numFeatures but received 2.5');
    invalid(() => new nn.BatchNorm1d(3, { eps: -1 }), 'Expected a finite number >= 0 for eps but received -1');
    invalid(() => new nn.BatchNorm1d(3, { eps: NaN }), 'Expected a finite number for eps but received NaN');
    invalid(() => new nn.BatchNorm1d(3, { momentum: '0.1' as never }), 'Expected a finite number for momentum but received "0.1"');
    invalid(() => new nn.BatchNorm1d(3, { affine: 1 as never }), 'Expected a boolean for affine but received 1');
    invalid(() => new nn.BatchNorm2d(3, { trackRunningStats: 'no' as never }), 'Expected a boolean for trackRunningStats but received "no"');
    invalid(() => new nn.BatchNorm2d(3, { track_running_stats: false } as never),
      'Expected one of the options eps, momentum, affine, trackRunningStats for an option of options but received "track_running_stats"');
  });

  it('input: rank, channels, dtype, one value per channel in training, disposed module', () => {
    const bn1 = new nn.BatchNorm1d(3);
    const bn2 = new nn.BatchNorm2d(3);
    const t = (shape: number[], dtype: torch.DType = 'float32') => torch.zeros(shape, { dtype });
    invalid(() => bn1.forward(t([3])), 'Expected a 2-D or 3-D tensor ([N, C] or [N, C, L]) for input but received a float32 Tensor of shape [3]');
    invalid(() => bn1.forward(t([2, 3, 4, 5])), 'Expected a 2-D or 3-D tensor ([N, C] or [N, C, L]) for input but received a float32 Tensor of shape [2, 3, 4, 5]');
    invalid(() => bn2.forward(t([2, 3, 4])), 'Expected a 4-D tensor ([N, C, H, W]) for input but received a float32 Tensor of shape [2, 3, 4]');
    invalid(() => bn1.forward(t([2, 4])), 'Expected a tensor with 3 channels (numFeatures) in dimension 1 for input but received a float32 Tensor of shape [2, 4]');
    invalid(() => bn2.forward(t([2, 3, 2, 2], 'int64')), 'Expected a floating-point tensor for input but received an int64 Tensor of shape [2, 3, 2, 2]');
    invalid(() => bn2.forward(t([2, 3, 2, 2], 'float64')), 'Expected a float32 tensor (the module\'s dtype) for input but received a float64 Tensor of shape [2, 3, 2, 2]');
    invalid(() => bn1.forward(t([1, 3])), 'Expected more than 1 value per channel in training mode for input but received a float32 Tensor of shape [1, 3]');
    invalid(() => bn2.forward(t([1, 3, 1, 1])), 'Expected more than 1 value per channel in training mode for input but received a float32 Tensor of shape [1, 3, 1, 1]');
    invalid(() => bn1.forward([[1, 2, 3]] as never), 'Expected a Tensor for input but received [[1, 2, 3]]');
    assert.deepStrictEqual(values(bn1.num_batches_tracked!), [0], 'a refused call counts no batch');
    // one value per channel is fine in eval mode (running statistics), as in PyTorch
    bn1.eval();
    bn1.forward(t([1, 3])).dispose();
    const free = new nn.BatchNorm1d(3, { trackRunningStats: false }).eval();
    invalid(() => free.forward(t([1, 3])), 'Expected more than 1 value per channel in training mode for input but received a float32 Tensor of shape [1, 3]');
    bn2.dispose();
    invalid(() => bn2.forward(t([2, 3, 2, 2])), 'Expected a live module for module but received "a disposed BatchNorm2d"');
    bn1.dispose();
    free.dispose();
  });
});

describe('BatchNorm memory', () => {
  it('forward, backward, the statistics updates (momentum 0.1 and null), trainStep, jit.trace and dispose leave memory() where they found it', async () => {
    const once = async (): Promise<void> => {
      const mods = [new nn.BatchNorm1d(3), new nn.BatchNorm2d(3, { momentum: null }), new nn.BatchNorm1d(3, { affine: false, trackRunningStats: false })];
      torch.tidy(() => {
        const x1 = torch.randn([4, 3, 5]).requiresGrad_(true);
        const x2 = torch.randn([4, 3, 2, 2]).requiresGrad_(true);
        mods[0].forward(x1).sum().backward();
        mods[1].forward(x2).pow(2).sum().backward();
        mods[2].forward(x1).sum().backward();
        mods[1].eval();
        torch.noGrad(() => mods[1].forward(x2));
      });
      const net = new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3, { momentum: null }));
      const step = torch.trainStep({ model: net, loss: lossOf, optimizer: new torch.optim.SGD(net.parameters(), { lr: 0.1 }) });
      const x = torch.randn([4, 2]);
      const y = torch.randn([4, 3]);
      await step(x, y);
      await step(x, y);
      const x2 = torch.randn([4, 3, 2, 2]);
      const tm = torch.jit.trace(mods[1].train(), [x2]);
      (tm.forward(x2) as torch.Tensor).dispose();
      for (const m of [...mods, net]) m.dispose();
      for (const t of [x, y, x2]) t.dispose();
    };
    await once();
    await settle(); // garbage of earlier tests; what follows disposes everything it makes itself
    const base = torch.memory();
    for (let i = 0; i < 5; i++) await once();
    assert.deepStrictEqual(torch.memory(), base);
  });
});
