// TorchScript export (lib/jit.ts toScript/save, native/jit/export.cc): a traced torchrnn model
// saved with jit.save loads in Python's torch.jit.load with nothing of torchrnn, with the same
// state-dict keys, and gives torchrnn's outputs on inputs of other batch sizes and lengths.
import * as assert from 'assert';
import * as child_process from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { throwsTorch, tmpDir, values } from './helpers';

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

function assertOutputs(py: PyResult, ours: unknown, tol: number, label: string): void {
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
    assert.throws(() => traced.save(path.join(dir, 'no-such-dir', 'x.pt')));
    assert.strictEqual(fs.readFileSync(file, 'utf8'), 'previous');
    traced.save(file);
    assert.notStrictEqual(fs.readFileSync(file, 'utf8'), 'previous');
    assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
  });
});
