// `torchrnn export` (lib/cli/export.ts) through the built CLI: a task's trained model exported
// as TorchScript runs in Python's torch.jit.load (nothing of torchrnn) and reproduces the
// model's outputs on a validation batch; pt and safetensors export the state dict.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { TASKS } from '../lib/cli/tasks';
import type { Task, TrainConfig } from '../lib/cli/tasks/task';
import { exportRun } from '../lib/cli/export';
import { UsageError } from '../lib/cli/args';
import { CLI_BIN as BIN, runCli, tmpDir, values } from './helpers';

const PYTHON = '/usr/bin/python3';

const cli = (args: string[]) => runCli(args);

const PY_RUN = `
import json, sys, torch
m = torch.jit.load(sys.argv[1])
m.eval()
spec = json.load(open(sys.argv[2]))
ins = [torch.tensor(x["data"], dtype=getattr(torch, x["dtype"])).reshape(x["shape"]) for x in spec]
def flat(v):
    if isinstance(v, torch.Tensor): return [v.detach().reshape(-1).tolist()]
    return [x for e in v for x in flat(e)]
with torch.no_grad():
    print(json.dumps(flat(m(*ins))))
`;

function flat(v: unknown): torch.Tensor[] {
  return v instanceof torch.Tensor ? [v] : Array.isArray(v) ? v.flatMap(flat) : [];
}

/** The task's model from a run directory and its first validation batch's inputs (as the CLI loads them). */
async function modelAndBatch(dir: string): Promise<{ model: torch.nn.Module; inputs: torch.Tensor[] }> {
  const run = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { task: string; config: TrainConfig; meta: Record<string, unknown> };
  const task = TASKS[run.task];
  const model = task.build(run.config, run.meta);
  model.loadStateDict(torch.load(path.join(dir, 'model.safetensors')) as Record<string, torch.Tensor>);
  model.eval();
  const valid = task.prepare(run.config).valid as Iterable<[unknown, torch.Tensor]>;
  const [input] = valid[Symbol.iterator]().next().value as [unknown, torch.Tensor];
  return { model, inputs: (Array.isArray(input) ? input : [input]) as torch.Tensor[] };
}

describe('torchrnn export', () => {
  let tmp: string;
  let python = false;
  before(() => {
    assert.ok(fs.existsSync(BIN), 'run npm run compile first');
    tmp = tmpDir('torchrnn-export-');
    python = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120000 }).status === 0;
    if (!python) console.log(`      (the Python side is skipped: ${PYTHON} cannot import torch; install python3-torch)`);
  });

  const TRAIN: Record<string, string[]> = {
    names: ['--limit', '200', '--epochs', '1'],
    mnist: ['--limit', '200', '--epochs', '1'],
    spam: ['--limit', '100', '--epochs', '1'],
    forecast: ['--limit', '100', '--epochs', '1'],
    digits: ['--limit', '100', '--epochs', '1'],
  };
  for (const [task, args] of Object.entries(TRAIN)) {
    it(`${task}: the TorchScript file reproduces the model's outputs in Python; pt and safetensors hold the state dict`, async () => {
      const dir = path.join(tmp, task);
      const t = cli(['train', task, ...args, '--out', dir, '--quiet']);
      assert.strictEqual(t.status, 0, t.stderr);
      const e = cli(['export', dir]);
      assert.strictEqual(e.status, 0, e.stderr);
      const file = path.join(dir, 'model.ts.pt');
      assert.match(e.stdout, new RegExp(`^wrote ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(TorchScript, traced with a batch of \\d+; Python: torch.jit.load\\("model.ts.pt"\\)\\)\\n$`));
      const { model, inputs } = await modelAndBatch(dir);
      const want = flat(torch.noGrad(() => model.forward(...inputs))).map(values);
      // torchrnn reads its own export back
      const back = flat(torch.jit.load(file).eval().forward(...inputs)).map(values);
      back.forEach((v, i) => v.forEach((x, j) => assert.ok(Math.abs(x - want[i][j]) < 1e-4, `${task} (jit.load) output ${i}[${j}]: ${x} vs ${want[i][j]}`)));
      if (python) {
        const spec = path.join(dir, 'inputs.json');
        fs.writeFileSync(spec, JSON.stringify(inputs.map((x) => ({ data: values(x), shape: x.shape, dtype: x.dtype }))));
        const p = spawnSync(PYTHON, ['-c', PY_RUN, file, spec], { encoding: 'utf8', timeout: 240000 });
        assert.strictEqual(p.status, 0, p.stderr);
        const got = JSON.parse(p.stdout) as number[][];
        assert.strictEqual(got.length, want.length);
        got.forEach((v, i) => v.forEach((x, j) => assert.ok(Math.abs(x - want[i][j]) < 1e-4, `${task} (Python) output ${i}[${j}]: ${x} vs ${want[i][j]}`)));
      }
      for (const format of ['pt', 'safetensors']) {
        const out = path.join(dir, `export.${format}`);
        const r = cli(['export', dir, '--format', format, '--out', out]);
        assert.strictEqual(r.status, 0, r.stderr);
        const sd = torch.load(out) as Record<string, torch.Tensor>;
        assert.deepStrictEqual(Object.keys(sd).sort(), Object.keys(model.stateDict()).sort(), format);
      }
    });
  }

  it('a model whose traced graph is fixed to the batch size is refused, not written (the check behind jit.save\'s warning)', async () => {
    class FixedMean extends torch.nn.Module {
      head = new torch.nn.Linear(3, 2);
      forward(x: torch.Tensor): torch.Tensor { return this.head.forward(x).sum(0).div(x.shape[0]); }
    }
    class FixedReshape extends torch.nn.Module {
      head = new torch.nn.Linear(3, 2);
      forward(x: torch.Tensor): torch.Tensor { return this.head.forward(x.reshape([x.shape[0] * 5, 3])); }
    }
    class FixedState extends torch.nn.Module {
      gru = new torch.nn.GRU({ inputSize: 3, hiddenSize: 2, batchFirst: true });
      forward(x: torch.Tensor): torch.Tensor { return this.gru.forward(x, torch.zeros([1, x.shape[0], 2]))[0]; }
    }
    const out = path.join(tmp, 'refused.ts.pt');
    const attempt = (model: torch.nn.Module, x: torch.Tensor) => exportRun([tmp, '--out', out], {
      loadRun: () => ({ run: { task: 'fixed', config: {} as TrainConfig }, task: { name: 'fixed' } as Task, model: model.eval() }),
      prepareData: () => ({ train: [], valid: [[x, x]], meta: {}, summary: '' }),
    });
    await assert.rejects(attempt(new FixedMean(), torch.randn([6, 3])), (err: Error) => err instanceof UsageError
      && /^the fixed model does not export to TorchScript: its traced graph differs from the model on a batch of 3 \(by [\d.e+-]+\); the forward computes with sizes in JavaScript$/.test(err.message));
    await assert.rejects(attempt(new FixedReshape(), torch.randn([4, 5, 3])), (err: Error) => err instanceof UsageError
      && err.message === 'the fixed model does not export to TorchScript: its traced graph fails on a batch of 2 (shape \'[20, 3]\' is invalid for input of size 30)');
    // one example row: the graph is traced again with two (never run at a larger size) and its constants differ
    await assert.rejects(attempt(new FixedState(), torch.randn([1, 4, 3])), (err: Error) => err instanceof UsageError
      && err.message === 'the fixed model does not export to TorchScript: its traced graph depends on the batch size (traced with a batch of 2, prim::Constant[value=1]() becomes prim::Constant[value=2]()); the forward computes with sizes in JavaScript');
    assert.ok(!fs.existsSync(out));
  });

  it('bad arguments: one line, exit code 2', () => {
    const r1 = cli(['export']);
    assert.strictEqual(r1.status, 2);
    assert.strictEqual(r1.stderr.trim(), 'torchrnn: needs a run directory');
    const r2 = cli(['export', path.join(tmp, 'names'), '--format', 'onnx']);
    assert.strictEqual(r2.status, 2);
    assert.strictEqual(r2.stderr.trim(), 'torchrnn: --format must be one of torchscript, pt, safetensors, not "onnx"');
  });
});
