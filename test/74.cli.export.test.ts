// `torchrnn export` (lib/cli/export.ts) through the built CLI: a task's trained model exported
// as TorchScript runs in Python's torch.jit.load (nothing of torchrnn) and reproduces the
// model's outputs on a validation batch; pt and safetensors export the state dict.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { TASKS } from '../lib/cli/tasks';
import type { TrainConfig } from '../lib/cli/tasks/task';
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

  it('bad arguments: one line, exit code 2', () => {
    const r1 = cli(['export']);
    assert.strictEqual(r1.status, 2);
    assert.strictEqual(r1.stderr.trim(), 'torchrnn: needs a run directory');
    const r2 = cli(['export', path.join(tmp, 'names'), '--format', 'onnx']);
    assert.strictEqual(r2.status, 2);
    assert.strictEqual(r2.stderr.trim(), 'torchrnn: --format must be one of torchscript, pt, safetensors, not "onnx"');
  });
});
