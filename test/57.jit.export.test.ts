// TorchScript export (lib/jit.ts toScript/save, native/jit/export.cc): a traced torchrnn model
// saved with jit.save loads in Python's torch.jit.load with nothing of torchrnn, with the same
// state-dict keys, and gives torchrnn's outputs on inputs of other batch sizes and lengths (an
// LSTM with projSize, trained on its fused layers, too).
import * as assert from 'assert';
import * as child_process from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { byLine, throwsTorch, tmpDir, values, warningsOf } from './helpers';
import { buildLoadModule, CppBuild, CppResult, runInCpp } from './cpp/load-module';

const { nn } = torch;
const PYTHON = '/usr/bin/python3';

/** Runs the saved file in Python on the given inputs: its state-dict keys, outputs (flattened, in order) and mode handling. */
const PY_RUN = `
import json, sys, torch
m = torch.jit.load(sys.argv[1])
spec = json.load(open(sys.argv[2]))
def flat(v):
    if isinstance(v, torch.Tensor): return [{"shape": list(v.shape), "data": v.detach().reshape(-1).tolist()}]
    return [x for e in v for x in flat(e)]
ins = [torch.tensor(x["data"], dtype=getattr(torch, x["dtype"])).reshape(x["shape"]) for x in spec["inputs"]]
m.eval()
with torch.no_grad():
    out = flat(m(*ins))
training = m.training
m.train()
print(json.dumps({"keys": list(m.state_dict().keys()), "outputs": out, "evalTraining": training, "trainTraining": m.training,
                  "code": m.code, "children": [n for n, _ in m.named_children()]}))
`;

interface PyResult { keys: string[]; outputs: { shape: number[]; data: number[] }[]; evalTraining: boolean; trainTraining: boolean; code: string; children: string[] }

function python(ctx: Mocha.Context): void {
  const probe = fs.existsSync(PYTHON) ? child_process.spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120000 }) : null;
  if (!probe || probe.status !== 0) {
    console.log(`      (skipped: ${PYTHON} cannot import torch; install python3-torch to run the Python side)`);
    ctx.skip();
  }
}

/** Runs a Python program from a file (torch.jit.script reads its classes' source: not from -c). */
function pythonFile(dir: string, name: string, code: string): child_process.SpawnSyncReturns<string> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, code);
  return child_process.spawnSync(PYTHON, [file], { encoding: 'utf8', timeout: 240000 });
}

function runInPython(file: string, inputs: torch.Tensor[], dir: string): PyResult {
  const spec = path.join(dir, `${path.basename(file)}.json`);
  fs.writeFileSync(spec, JSON.stringify({ inputs: inputs.map((t) => ({ data: values(t), shape: t.shape, dtype: t.dtype })) }));
  const r = child_process.spawnSync(PYTHON, ['-c', PY_RUN, file, spec], { encoding: 'utf8', timeout: 240000 });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as PyResult;
}

function flatOutputs(v: unknown): torch.Tensor[] {
  return v instanceof torch.Tensor ? [v] : (v as unknown[]).flatMap(flatOutputs);
}

function assertOutputs(py: Pick<PyResult, 'outputs'> | CppResult, ours: unknown, tol: number, label: string): void {
  const flat = flatOutputs(ours);
  assert.strictEqual(py.outputs.length, flat.length, `${label}: number of outputs`);
  flat.forEach((t, i) => {
    assert.deepStrictEqual(py.outputs[i].shape, t.shape, `${label}: output ${i} shape`);
    const v = values(t);
    let worst = 0;
    py.outputs[i].data.forEach((x, j) => { worst = Math.max(worst, Math.abs(x - v[j])); });
    assert.ok(worst <= tol, `${label}: output ${i} differs by ${worst}`);
  });
}

class Tagger extends nn.Module {
  embed = new nn.Embedding(20, 6);
  lstm = new nn.LSTM({ inputSize: 6, hiddenSize: 8, numLayers: 2, bidirectional: true, batchFirst: true });
  head = new nn.Linear(16, 5);
  forward(tokens: torch.Tensor): torch.Tensor[] {
    const [out, [h]] = this.lstm.forward(this.embed.forward(tokens));
    return [this.head.forward(out), h];
  }
}

class GruClassifier extends nn.Module {
  gru = new nn.GRU({ inputSize: 3, hiddenSize: 7 });
  rnn = new nn.RNN({ inputSize: 7, hiddenSize: 4, nonlinearity: 'relu' });
  norm = new nn.LayerNorm(4);
  head = new nn.Linear(4, 2);
  forward(x: torch.Tensor): torch.Tensor {
    const [a] = this.gru.forward(x);
    const [b] = this.rnn.forward(a);
    return this.head.forward(this.norm.forward(b.select(0, -1)));
  }
}

/** An LSTM with projSize on padded batches with lengths (packed by the layer), and a head on its output. */
class ProjTagger extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 4, hiddenSize: 6, projSize: 3, numLayers: 2, bidirectional: true, batchFirst: true });
  head = new nn.Linear(6, 2);
  forward(x: torch.Tensor, lengths: torch.Tensor): torch.Tensor[] {
    const [out, [h, c]] = this.lstm.forward(x, { lengths }) as [torch.Tensor, torch.Tensor[]];
    return [this.head.forward(out), h, c];
  }
}

describe('jit.save: TorchScript that Python loads without torchrnn', () => {
  let dir: string;
  before(() => { dir = tmpDir('torchrnn-export-'); });

  it('an embedding + 2-layer bidirectional LSTM tagger trained on the fused path: Python has the same keys and outputs, at other batch sizes and lengths', async function () {
    python(this);
    torch.manualSeed(3);
    const m = new Tagger();
    // a few training steps on the fused kernels first
    const step = torch.trainStep({ model: m, loss: (out: torch.Tensor[], t: torch.Tensor) => nn.functional.crossEntropy(out[0].flatten(0, 1), t.flatten()), optimizer: new torch.optim.Adam(m.parameters(), { lr: 0.01 }) });
    for (let i = 0; i < 3; i++) await step(torch.randint(0, 20, [4, 7]), torch.randint(0, 5, [4, 7]));
    m.eval();
    const traced = torch.jit.trace(m, [torch.randint(0, 20, [4, 7])]);
    const file = path.join(dir, 'tagger.pt');
    await torch.jit.saveAsync(traced, file);
    const other = torch.randint(0, 20, [3, 11]);
    const py = runInPython(file, [other], dir);
    assert.deepStrictEqual(py.keys, Object.keys(m.stateDict()));
    assert.deepStrictEqual(py.children, ['embed', 'lstm', 'head']);
    assertOutputs(py, torch.noGrad(() => m.forward(other)), 2e-5, 'tagger');
    assert.strictEqual(py.evalTraining, false);
    assert.strictEqual(py.trainTraining, true);
    assert.ok(!/torchrnn::/.test(py.code), py.code);
  });

  it('GRU → RNN(relu) → LayerNorm → Linear, sequence-first, saved with traced.save()', function () {
    python(this);
    torch.manualSeed(4);
    const m = new GruClassifier().eval();
    const traced = torch.jit.trace(m, torch.randn([5, 2, 3]));
    const file = path.join(dir, 'gru.pt');
    traced.save(file);
    const other = torch.randn([9, 6, 3]);
    const py = runInPython(file, [other], dir);
    assert.deepStrictEqual(py.keys, Object.keys(m.stateDict()));
    assertOutputs(py, torch.noGrad(() => m.forward(other)), 2e-5, 'gru');
  });

  it('an LSTM with projSize and lengths, trained on its fused layers: Python has the same keys and outputs at another batch size', async function () {
    python(this);
    torch.manualSeed(6);
    const m = new ProjTagger();
    const opt = new torch.optim.Adam(m.parameters(), { lr: 0.01 });
    for (let i = 0; i < 3; i++) {
      const [y, h] = m.forward(torch.randn([4, 7, 4]), torch.tensor([7, 3, 5, 1]));
      opt.zeroGrad();
      y.pow(2).mean().add(h.sum()).backward();
      opt.step();
    }
    m.eval();
    const traced = torch.jit.trace(m, [torch.randn([4, 7, 4]), torch.tensor([7, 3, 5, 1])]);
    // the fused layers ran (in training above, as here); the exported graph is traced again on libtorch's
    assert.match(traced.graph(torch.randn([4, 7, 4]), torch.tensor([7, 3, 5, 1])), /torchrnn::lstm_proj_layer_packed/);
    const file = path.join(dir, 'proj.pt');
    assert.deepStrictEqual(await warningsOf(() => traced.save(file)), []);
    // another batch size; the longest length as in the example (the padded output's length is a constant)
    const x = torch.randn([6, 7, 4]), lengths = torch.tensor([2, 7, 7, 4, 1, 6]);
    const py = runInPython(file, [x, lengths], dir);
    assert.deepStrictEqual(py.keys, Object.keys(m.stateDict()));
    assert.ok(py.keys.includes('lstm.weight_hr_l1_reverse'), py.keys.join());
    assertOutputs(py, torch.noGrad(() => m.forward(x, lengths)), 2e-5, 'projected LSTM');
    assert.ok(!/torchrnn::/.test(py.code), py.code);
  });

  it('a TorchScript module from Python saves back (jit.load → jit.save) with its weights', function () {
    python(this);
    const src = path.join(dir, 'scripted.pt');
    const r = pythonFile(dir, 'scripted.py', `
import torch
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
    def forward(self, x, n: int):
        for _ in range(n):
            x = x * 2
        return self.lin(x)
torch.manual_seed(0)
torch.jit.script(M()).save("${src}")
`);
    assert.strictEqual(r.status, 0, r.stderr);
    const m = torch.jit.load(src);
    const [[, w]] = m.namedParameters();
    torch.noGrad(() => w.fill_(0.5));
    const back = path.join(dir, 'scripted-back.pt');
    torch.jit.save(m, back);
    const x = torch.tensor([[1, 2, 3]], { dtype: 'float32' });
    const ours = m.forward(x, 2) as torch.Tensor;
    const py = child_process.spawnSync(PYTHON, ['-c', `
import torch, json
m = torch.jit.load("${back}")
print(json.dumps(m(torch.tensor([[1., 2., 3.]]), 2).reshape(-1).tolist()))
`], { encoding: 'utf8', timeout: 240000 });
    assert.strictEqual(py.status, 0, py.stderr);
    assert.deepStrictEqual((JSON.parse(py.stdout) as number[]).map((v) => Math.round(v * 1e5)), values(ours).map((v) => Math.round(v * 1e5)));
  });

  it('a Python-scripted model with control flow fine-tunes in Node (Adam, trainStep) step for step as in Python, and goes back to Python with Node\'s weights', async function () {
    python(this);
    const src = path.join(dir, 'finetune.pt');
    const ref = path.join(dir, 'finetune.json');
    // Python: the scripted model, its data, and the same fine-tuning done in Python
    const r = pythonFile(dir, 'finetune.py', `
import json, torch
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(3, 5, batch_first=True)
        self.head = torch.nn.Linear(5, 2)
        self.register_buffer("calls", torch.zeros(1))
    def forward(self, x, repeats: int):
        out, h = self.gru(x)
        y = h[0]
        for _ in range(repeats):
            y = torch.tanh(y) * 0.5 + y
        if bool(y.mean() > 0):
            y = y * 2.0
        self.calls += 1
        return self.head(y)
torch.manual_seed(0)
m = torch.jit.script(Net())
m.save("${src}")
x = torch.randn(4, 6, 3)
t = torch.randn(4, 2)
opt = torch.optim.Adam(m.parameters(), lr=0.05)
losses = []
for _ in range(4):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(m(x, 2), t)
    loss.backward()
    opt.step()
    losses.append(loss.item())
json.dump({"x": x.reshape(-1).tolist(), "t": t.reshape(-1).tolist(), "losses": losses,
           "params": {k: v.reshape(-1).tolist() for k, v in m.state_dict().items()}}, open("${ref}", "w"))
`);
    assert.strictEqual(r.status, 0, r.stderr);
    const want = JSON.parse(fs.readFileSync(ref, 'utf8')) as { x: number[]; t: number[]; losses: number[]; params: Record<string, number[]> };
    const m = torch.jit.load(src);
    assert.ok(m instanceof nn.Module);
    assert.deepStrictEqual(Object.keys(m.stateDict()), Object.keys(want.params));
    m.train();
    const x = torch.tensor(want.x, { dtype: 'float32' }).reshape([4, 6, 3]);
    const t = torch.tensor(want.t, { dtype: 'float32' }).reshape([4, 2]);
    const opt = new torch.optim.Adam(m.parameters(), { lr: 0.05 });
    const losses: number[] = [];
    for (let i = 0; i < 4; i++) {
      opt.zeroGrad();
      const loss = nn.functional.mseLoss(m.forward(x, 2) as torch.Tensor, t);
      loss.backward();
      opt.step();
      losses.push(loss.item() as number);
    }
    losses.forEach((l, i) => assert.ok(Math.abs(l - want.losses[i]) < 1e-5, `step ${i}: ${l} vs ${want.losses[i]}`));
    for (const [k, v] of Object.entries(m.stateDict())) {
      const got = values(v);
      want.params[k].forEach((w, i) => assert.ok(Math.abs(w - got[i]) < 1e-4, `${k}[${i}]: ${got[i]} vs ${w}`));
    }
    // back to Python with Node's weights
    const back = path.join(dir, 'finetune-back.pt');
    await m.saveAsync(back);
    m.eval();
    const ours = values(torch.noGrad(() => m.forward(x, 2) as torch.Tensor));
    const py = child_process.spawnSync(PYTHON, ['-c', `
import json, torch
m = torch.jit.load("${back}")
m.eval()
x = torch.tensor(json.load(open("${ref}"))["x"]).reshape(4, 6, 3)
with torch.no_grad():
    print(json.dumps(m(x, 2).reshape(-1).tolist()))
`], { encoding: 'utf8', timeout: 240000 });
    assert.strictEqual(py.status, 0, py.stderr);
    (JSON.parse(py.stdout) as number[]).forEach((v, i) => assert.ok(Math.abs(v - ours[i]) < 1e-5, `output ${i}: ${v} vs ${ours[i]}`));
  });

  it('a TorchScript module trains with trainStep (untraced: the interpreter runs its forward) and fit, as an nn.Module: to(), zeroGrad, loadStateDict', async function () {
    python(this);
    const src = path.join(dir, 'plain.pt');
    const r = child_process.spawnSync(PYTHON, ['-c', `
import torch
torch.manual_seed(1)
torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))).save("${src}")
`], { encoding: 'utf8', timeout: 240000 });
    assert.strictEqual(r.status, 0, r.stderr);
    const m = torch.jit.load(src).train();
    const step = torch.trainStep({ model: m, loss: new nn.MSELoss(), optimizer: new torch.optim.SGD(m.parameters(), { lr: 0.1 }) });
    assert.strictEqual(step.traced, false);
    throwsTorch(() => torch.trainStep({ model: m, loss: new nn.MSELoss(), optimizer: new torch.optim.SGD(m.parameters(), { lr: 0.1 }), trace: true }), 'ERR_INVALID_ARG',
      'Expected false for a TorchScript module (its forward runs in the interpreter; tracing would unroll its control flow) for trace but received true');
    torch.manualSeed(2);
    const x = torch.randn([16, 3]);
    const y = x.sum(1, true).tanh();
    const first = await step(x, y);
    let last = first;
    for (let i = 0; i < 30; i++) last = await step(x, y);
    assert.ok(last < first * 0.7, `${first} → ${last}`);
    const sd = m.stateDict();
    m.to('float64');
    assert.strictEqual(m.parameters()[0].dtype, 'float64');
    assert.strictEqual((m.forward(x.double()) as torch.Tensor).dtype, 'float64');
    m.to('float32');
    m.loadStateDict(sd);
    const history = await torch.fit({ model: m, optimizer: new torch.optim.SGD(m.parameters(), { lr: 0.1 }), loss: new nn.MSELoss(), data: [[x, y]], epochs: 3 });
    assert.strictEqual(history.loss.length, 3);
  });

  it('bad arguments name the argument; a failed save leaves the previous file', () => {
    torch.manualSeed(5);
    const m = new GruClassifier().eval();
    const traced = torch.jit.trace(m, torch.randn([5, 2, 3]));
    throwsTorch(() => torch.jit.save(m as never, path.join(dir, 'x.pt')), 'ERR_INVALID_ARG', 'Expected a traced module (jit.trace) or a TorchScript module (jit.load) for module but received a GruClassifier');
    throwsTorch(() => traced.save(''), 'ERR_INVALID_ARG', 'Expected a file path for path but received ""');
    const file = path.join(dir, 'keep.pt');
    fs.writeFileSync(file, 'previous');
    const missing = path.join(dir, 'no-such-dir', 'x.pt');
    throwsTorch(() => traced.save(missing), 'ERR_CHECKPOINT', `Cannot save ${missing}: no such file or directory (ENOENT)`);
    assert.strictEqual(fs.readFileSync(file, 'utf8'), 'previous');
    traced.save(file);
    assert.notStrictEqual(fs.readFileSync(file, 'utf8'), 'previous');
    assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
  });

  it('a place that cannot be written: ERR_CHECKPOINT naming the path (jit.save, traced.saveAsync, ScriptModule.save/saveAsync)', async () => {
    torch.manualSeed(6);
    const traced = torch.jit.trace(new GruClassifier().eval(), torch.randn([5, 2, 3]));
    const script = traced.toScript();
    const file = '/proc/x.pt';
    const message = `Cannot save ${file}: no such file or directory (ENOENT)`;
    throwsTorch(() => torch.jit.save(traced, file), 'ERR_CHECKPOINT', message);
    throwsTorch(() => script.save(file), 'ERR_CHECKPOINT', message);
    await assert.rejects(traced.saveAsync(file), { name: 'TorchError', code: 'ERR_CHECKPOINT', message });
    await assert.rejects(torch.jit.saveAsync(script, file), { name: 'TorchError', code: 'ERR_CHECKPOINT', message });
    const inTheWay = path.join(dir, 'in-the-way.pt');
    fs.mkdirSync(inTheWay);
    throwsTorch(() => script.save(inTheWay), 'ERR_CHECKPOINT', `Cannot save ${inTheWay}: illegal operation on a directory (EISDIR)`);
    assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
  });
});

/** Reshapes with the batch size read in JavaScript: at another batch size the traced reshape fails. */
class FixedFlatten extends nn.Module {
  head = new nn.Linear(3, 2);
  forward(x: torch.Tensor): torch.Tensor {
    return this.head.forward(x.reshape([x.shape[0] * 5, 3]));
  }
}

/** Reads the batch size in JavaScript: the traced graph keeps 4 (or whatever the example had) as a constant. */
class FixedState extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: true });
  forward(x: torch.Tensor): torch.Tensor {
    const h0 = torch.zeros([1, x.shape[0], 4]);
    const [out] = this.lstm.forward(x, [h0, h0]);
    return out;
  }
}

/** A mean over the batch with the batch size as a number: at another size the graph divides by the example's. */
class FixedMean extends nn.Module {
  head = new nn.Linear(3, 2);
  drop = new nn.Dropout(0.5);
  forward(x: torch.Tensor): torch.Tensor {
    return this.drop.forward(this.head.forward(x)).sum(0).div(x.shape[0]);
  }
}

/** Dropout and a call counter updated in place by forward: nothing in it depends on the batch size. */
class Counting extends nn.Module {
  lin = new nn.Linear(3, 2);
  drop = new nn.Dropout(0.5);
  declare calls: torch.Tensor;
  constructor() {
    super();
    this.registerBuffer('calls', torch.zeros([1]));
  }
  forward(x: torch.Tensor): torch.Tensor {
    this.calls.add_(1);
    return this.drop.forward(this.lin.forward(x));
  }
}

/** Padded batches with their lengths (unsorted), packed by the recurrent layers (forward's lengths option). */
class WithLengths extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 4, hiddenSize: 5, batchFirst: true });
  gru = new nn.GRU({ inputSize: 5, hiddenSize: 3, batchFirst: true, bidirectional: true });
  forward(x: torch.Tensor, lengths: torch.Tensor): torch.Tensor[] {
    const [out] = this.lstm.forward(x, { lengths }) as [torch.Tensor, unknown];
    const [y, h] = this.gru.forward(out, { lengths }) as [torch.Tensor, torch.Tensor];
    return [y, h];
  }
}

class Normed extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 4, hiddenSize: 6, batchFirst: true });
  norm = new nn.BatchNorm1d(6);
  head = new nn.Linear(6, 3);
  forward(x: torch.Tensor): torch.Tensor {
    const [out] = this.lstm.forward(x);
    return this.head.forward(this.norm.forward(out.select(1, -1)));
  }
}

describe('jit.save: TorchScript that C++ loads (torch::jit::load, test/cpp/load_module.cc)', () => {
  let dir: string;
  let cpp: CppBuild | null = null;
  before(function () {
    this.timeout(600000); // the first run compiles the program (~20-40 s); later runs reuse build/test-cpp/
    dir = tmpDir('torchrnn-export-cpp-');
    const b = buildLoadModule();
    if ('skip' in b) console.log(`      (the C++ side is skipped: ${b.skip})`);
    else {
      cpp = b;
      console.log(`      (${b.compileSeconds === null ? 'reused' : `compiled in ${b.compileSeconds.toFixed(1)} s:`} ${path.relative(process.cwd(), b.binary)}, libtorch in ${b.libDir})`);
    }
  });
  const program = (ctx: Mocha.Context): string => { if (!cpp) ctx.skip(); return (cpp as CppBuild).binary; };
  const names = (m: torch.nn.Module, kind: 'namedParameters' | 'namedBuffers') => m[kind]().map(([k, t]): [string, number[]] => [k, [...t.shape]]);

  it('torch.jit.saveAsync and traced.save: C++ has the modules\' parameter names and shapes and gives their outputs at other batch sizes and lengths', async function () {
    const bin = program(this);
    torch.manualSeed(11);
    const tagger = new Tagger().eval();
    const file = path.join(dir, 'tagger.pt');
    await torch.jit.saveAsync(torch.jit.trace(tagger, [torch.randint(0, 20, [4, 7])]), file);
    const gru = new GruClassifier().train();
    const file2 = path.join(dir, 'gru.pt');
    torch.jit.trace(gru, torch.randn([5, 2, 3])).save(file2);
    gru.eval();
    const tokens = torch.randint(0, 20, [3, 11]);
    const x = torch.randn([9, 6, 3]);
    const [t, g] = runInCpp(bin, [[file, [tokens]], [file2, [x]]], dir);
    assert.deepStrictEqual(t.parameters, names(tagger, 'namedParameters'));
    assert.deepStrictEqual(t.buffers, []);
    assert.deepStrictEqual([t.training, t.evalTraining], [false, false]);
    assertOutputs(t, torch.noGrad(() => tagger.forward(tokens)), 2e-5, 'tagger (C++)');
    assert.deepStrictEqual(g.parameters, names(gru, 'namedParameters'));
    assert.deepStrictEqual([g.training, g.evalTraining], [true, false]); // saved in training mode: eval() reaches C++'s module
    assertOutputs(g, torch.noGrad(() => gru.forward(x)), 2e-5, 'gru (C++)');
  });

  it('buffers keep their names and values (BatchNorm running statistics after training), saved with traced.saveAsync', async function () {
    const bin = program(this);
    torch.manualSeed(12);
    const m = new Normed();
    const opt = new torch.optim.SGD(m.parameters(), { lr: 0.1 });
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      nn.functional.mseLoss(m.forward(torch.randn([8, 5, 4])), torch.randn([8, 3])).backward();
      opt.step();
    }
    const file = path.join(dir, 'normed.pt');
    await torch.jit.trace(m.eval(), torch.randn([8, 5, 4])).saveAsync(file);
    const x = torch.randn([3, 9, 4]);
    const [r] = runInCpp(bin, [[file, [x]]], dir);
    assert.deepStrictEqual(r.parameters, names(m, 'namedParameters'));
    assert.deepStrictEqual(r.buffers, names(m, 'namedBuffers'));
    assert.deepStrictEqual(r.buffers.map(([k]) => k), ['norm.running_mean', 'norm.running_var', 'norm.num_batches_tracked']);
    assertOutputs(r, torch.noGrad(() => m.forward(x)), 2e-5, 'normed (C++)');
  });

  it('FIXED: a forward that takes lengths (unsorted, two layers pack them) runs in C++ at a larger batch than the example\'s (the inverse permutation was arange(batch), a constant)', async function () {
    const bin = program(this);
    torch.manualSeed(14);
    const m = new WithLengths().eval();
    const file = path.join(dir, 'lengths.pt');
    const traced = torch.jit.trace(m, [torch.randn([3, 6, 4]), torch.tensor([4, 6, 2])]);
    assert.deepStrictEqual(await warningsOf(() => traced.save(file)), []);
    const x = torch.randn([7, 6, 4]);
    const lengths = torch.tensor([3, 6, 1, 5, 2, 6, 4]); // the longest as in the example: the padded output length is the example's (a constant)
    const [r] = runInCpp(bin, [[file, [x, lengths]]], dir);
    assertOutputs(r, torch.noGrad(() => m.forward(x, lengths)), 2e-5, 'lengths (C++)');
    assertOutputs({ outputs: flatOutputs(torch.jit.load(file).forward(x, lengths)).map((t) => ({ shape: [...t.shape], data: values(t) })) },
      torch.noGrad(() => m.forward(x, lengths)), 2e-5, 'lengths (jit.load)');
  });

  it('ScriptModule.save: an exported module changed in Node (toScript, new weights) reaches C++ with them', function () {
    const bin = program(this);
    torch.manualSeed(13);
    const script = torch.jit.trace(new GruClassifier().eval(), torch.randn([5, 2, 3])).toScript();
    const x = torch.randn([4, 3, 3]);
    const before = values(torch.noGrad(() => script.forward(x) as torch.Tensor));
    torch.noGrad(() => script.parameters().forEach((p) => p.mul_(-1.5).add_(0.01)));
    const file = path.join(dir, 'script.pt');
    script.save(file);
    const [r] = runInCpp(bin, [[file, [x]]], dir);
    assertOutputs(r, torch.noGrad(() => script.forward(x)), 1e-6, 'script (C++)');
    assert.ok(r.outputs[0].data.some((v, i) => Math.abs(v - before[i]) > 1e-3), 'the new weights change the outputs');
  });
});

describe('jit.save: a graph fixed to the example\'s shapes warns once (TracerWarning TORCHRNN_TRACE_SHAPE)', () => {
  let dir: string;
  before(() => { dir = tmpDir('torchrnn-export-shape-'); });
  const WARNING = /^the traced graph of (\w+) is fixed to the example's shapes \(([^)]*)\): with (\d+) instead of (\d+) in dimension 0 (it fails \(.+\)|it gives other values than the module's forward \(by [\d.e+-]+\)|its graph records other constants \(.+ becomes .+\))\. The saved file works only for inputs of the example's sizes\. Its forward computes with sizes read in JavaScript \(x\.shape, size\(\)\), which tracing records as constants: use -1 in reshape\/view, flatten\(\), zerosLike\(\)\/expandAs\(\) instead, or save one file per input size\.$/;
  /** The one warning `save` gives: [class, example shapes, rows, example rows, how]. */
  async function warned(save: () => unknown): Promise<string[]> {
    const seen = await warningsOf(save);
    assert.strictEqual(seen.length, 1, seen.join('\n'));
    return (WARNING.exec(seen[0]) ?? assert.fail(seen[0])).slice(1);
  }

  it('a reshape with x.shape[0] in it: jit.save warns with the failure at half the batch, once per traced module; the file is written and works at the example\'s size', async () => {
    torch.manualSeed(21);
    const m = new FixedFlatten().eval();
    const x = torch.randn([4, 5, 3]);
    const traced = torch.jit.trace(m, [x]);
    const file = path.join(dir, 'fixed-flatten.pt');
    const seen: Error[] = [];
    const on = (w: Error) => seen.push(w);
    process.on('warning', on);
    try {
      assert.deepStrictEqual(await warned(() => torch.jit.save(traced, file)),
        ['FixedFlatten', '[4, 5, 3]', '2', '4', 'it fails (shape \'[20, 3]\' is invalid for input of size 30)']);
    } finally {
      process.off('warning', on);
    }
    assert.deepStrictEqual([seen[0].name, (seen[0] as NodeJS.ErrnoException).code], ['TracerWarning', 'TORCHRNN_TRACE_SHAPE']);
    // once: the same traced module saved again (either form) says nothing more
    assert.deepStrictEqual(await warningsOf(() => traced.save(file)), []);
    let pending: Promise<void> | undefined;
    assert.deepStrictEqual(await warningsOf(() => { pending = torch.jit.saveAsync(traced, file); }), []);
    await pending;
    const back = torch.jit.load(file);
    assertOutputs({ outputs: [{ shape: [20, 2], data: values(back.forward(x) as torch.Tensor) }] }, torch.noGrad(() => m.forward(x)), 1e-6, 'at the example\'s size');
    throwsTorch(() => back.forward(torch.randn([2, 5, 3])), 'ERR_TORCH', /shape '\[20, 3\]' is invalid for input of size 30/);
  });

  it('an LSTM state made with x.shape[0]: warns on both libtorch lines (2.6\'s LSTM runs the smaller batch with the first rows of the fixed state: the traced constants tell)', async () => {
    torch.manualSeed(22);
    const m = new FixedState().eval();
    const traced = torch.jit.trace(m, [torch.randn([4, 5, 3])]);
    assert.deepStrictEqual(await warned(() => traced.save(path.join(dir, 'fixed-state.pt'))), ['FixedState', '[4, 5, 3]', '2', '4', byLine({
      '1.13': 'it fails (The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 0)',
      '2.6': 'its graph records other constants (prim::Constant[value=4]() becomes prim::Constant[value=2]())',
    })]);
  });

  it('a batch mean divided by x.shape[0], in training mode with dropout, traced with one row: saveAsync warns with the constant (a graph never runs at a larger size); modes are left as they were', async () => {
    torch.manualSeed(23);
    const m = new FixedMean();
    const traced = torch.jit.trace(m, [torch.randn([1, 3])]);
    let pending: Promise<void> | undefined;
    const got = await warned(() => { pending = traced.saveAsync(path.join(dir, 'fixed-mean.pt')); });
    await pending;
    assert.deepStrictEqual(got, ['FixedMean', '[1, 3]', '2', '1', 'its graph records other constants (prim::Constant[value={1}]() becomes prim::Constant[value={2}]())']);
    assert.deepStrictEqual([m.training, m.head.training, m.drop.training], [true, true, true]);
  });

  it('graphs that do not depend on the example\'s sizes save without a warning, in either mode, and the check leaves buffers and modes alone', async () => {
    torch.manualSeed(23);
    const tagger = new Tagger().eval();
    assert.deepStrictEqual(await warningsOf(() => torch.jit.save(torch.jit.trace(tagger, [torch.randint(0, 20, [4, 7])]), path.join(dir, 'tagger.pt'))), []);
    const gru = new GruClassifier().eval();
    assert.deepStrictEqual(await warningsOf(() => torch.jit.trace(gru, torch.randn([5, 1, 3])).save(path.join(dir, 'gru.pt'))), []);
    const normed = new Normed(); // training mode (BatchNorm updates its running statistics in a forward), the head in eval mode
    normed.head.eval();
    const before = normed.namedBuffers().map(([k, b]): [string, number[]] => [k, values(b)]);
    assert.deepStrictEqual(await warningsOf(() => torch.jit.trace(normed, torch.randn([6, 5, 4])).save(path.join(dir, 'normed.pt'))), []);
    assert.deepStrictEqual(normed.namedBuffers().map(([k, b]): [string, number[]] => [k, values(b)]), before);
    assert.deepStrictEqual([normed.training, normed.lstm.training, normed.norm.training, normed.head.training], [true, true, true, false]);
    const counting = new Counting(); // training mode: its dropout draws differ from run to run, unless the check runs in eval mode
    assert.deepStrictEqual(await warningsOf(() => torch.jit.trace(counting, torch.randn([8, 3])).save(path.join(dir, 'counting.pt'))), []);
    assert.deepStrictEqual(values(counting.calls), [0]); // tracing, exporting and checking ran forward, and put the counter back
    assert.deepStrictEqual([counting.training, counting.drop.training], [true, true]);
  });
});
