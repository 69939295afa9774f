// Training checkpoints (lib/train/training-checkpoint.ts, torch.checkpoint): model, optimizer,
// scheduler and RNG state resume exactly; modelCheckpoint() in fit() (lib/train/checkpoint-callback.ts);
// SIGKILL during saves leaves the last complete checkpoint intact. The safetensors format: test/50.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { LONG, removeDir, ROOT, sameParams, suiteTmpDir, throwsTorch, tmpDir, values } from './helpers';
import { Net } from './models';

const { nn, optim } = torch;

describe('training checkpoints', () => {
  const dir = suiteTmpDir('torchrnn-ser-');

  /** Steps with fresh random data each step (so the RNG state matters) and dropout. */
  function trainSteps(model: Net, opt: torch.optim.Optimizer, sched: torch.optim.lrScheduler.StepLR, n: number): void {
    for (let i = 0; i < n; i++) {
      torch.tidy(() => {
        const x = torch.randn([4, 5, 3]);
        const y = torch.randn([4, 2]);
        opt.zeroGrad();
        model.forward(x).sub(y).pow(2).mean().backward();
        opt.step();
        sched.step();
      });
    }
  }

  function fresh(seed: number): { model: Net; opt: torch.optim.Adam; sched: torch.optim.lrScheduler.StepLR } {
    torch.manualSeed(seed);
    const model = new Net();
    const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
    return { model, opt, sched: new optim.lrScheduler.StepLR(opt, { stepSize: 4, gamma: 0.5 }) };
  }

  it('train 20 steps, or 10, save, resume into a new process state and 10 more: the same numbers exactly', () => {
    const a = fresh(5);
    trainSteps(a.model, a.opt, a.sched, 20);

    const b = fresh(5);
    trainSteps(b.model, b.opt, b.sched, 10);
    const file = path.join(dir(), 'ckpt.safetensors');
    torch.checkpoint.save(file, { model: b.model, optimizer: b.opt, scheduler: b.sched, epoch: 1, step: 10, extra: { note: 'half way' } });

    const c = fresh(999); // other weights, other RNG state
    torch.randn([100]);
    const info = torch.checkpoint.load(file, { model: c.model, optimizer: c.opt, scheduler: c.sched });
    assert.deepStrictEqual(info, { epoch: 1, step: 10, extra: { note: 'half way' } });
    trainSteps(c.model, c.opt, c.sched, 10);
    sameParams(a.model, c.model);
    assert.strictEqual(c.opt.paramGroups[0].lr, a.opt.paramGroups[0].lr);
  });

  it('saveAsync waits for queued steps, then writes without blocking', async () => {
    const { model, opt } = fresh(3);
    const x = torch.randn([2, 5, 3]);
    model.forward(x).sum().backward();
    const stepped = opt.stepAsync();
    const file = path.join(dir(), 'async-ckpt.safetensors');
    await torch.checkpoint.saveAsync(file, { model, optimizer: opt, epoch: 2 });
    await stepped;
    const other = fresh(4);
    torch.checkpoint.load(file, { model: other.model, optimizer: other.opt });
    sameParams(model, other.model);
  });

  it('bad contents are refused before anything is written', () => {
    const { model } = fresh(1);
    const file = path.join(dir(), 'bad.safetensors');
    throwsTorch(() => torch.checkpoint.save(file, { model: {} as never }), 'ERR_INVALID_ARG', 'Expected an nn.Module for model but received an object');
    throwsTorch(() => torch.checkpoint.save(file, { model, epoch: -1 }), 'ERR_INVALID_ARG', 'Expected an integer >= 0 for epoch but received -1');
    throwsTorch(() => torch.checkpoint.save(file, { model, scheduler: 3 as never }), 'ERR_INVALID_ARG', 'Expected a learning-rate scheduler (with stateDict()) for scheduler but received 3');
    assert.ok(!fs.existsSync(file));
    torch.save(model.stateDict(), file);
    throwsTorch(() => torch.checkpoint.load(file, { model }), 'ERR_CHECKPOINT', `Cannot load ${file}: not a torchrnn training checkpoint (format null)`);
  });

  it('a place that cannot be written: ERR_CHECKPOINT naming the path (save and saveAsync)', async () => {
    const { model, opt, sched } = fresh(2);
    for (const file of ['/proc/ckpt.safetensors', path.join(dir(), 'no-such-dir', 'ckpt.safetensors')]) {
      const message = `Cannot save ${file}: no such file or directory (ENOENT)`;
      throwsTorch(() => torch.checkpoint.save(file, { model, optimizer: opt, scheduler: sched, epoch: 1 }), 'ERR_CHECKPOINT', message);
      await assert.rejects(torch.checkpoint.saveAsync(file, { model, optimizer: opt, scheduler: sched, epoch: 1 }), { name: 'TorchError', code: 'ERR_CHECKPOINT', message });
    }
  });
});

describe('modelCheckpoint in fit()', () => {
  const dir = suiteTmpDir('torchrnn-ser-');

  function batches(): [torch.Tensor, torch.Tensor][] {
    torch.manualSeed(21);
    return Array.from({ length: 3 }, () => [torch.randn([4, 5, 3]), torch.randn([4, 2])] as [torch.Tensor, torch.Tensor]);
  }
  const mse = (o: torch.Tensor, t: torch.Tensor) => o.sub(t).pow(2).mean();

  it('saves every N epochs, keeps the last K, and a run resumed with initialEpoch ends where an uninterrupted one does', async () => {
    const data = batches();
    torch.manualSeed(8);
    const a = new Net();
    const optA = new optim.Adam(a.parameters(), { lr: 0.01 });
    const ckdir = path.join(dir(), 'a');
    await torch.fit({ model: a, optimizer: optA, loss: mse, data, epochs: 7, callbacks: [torch.modelCheckpoint({ dir: ckdir, every: 2, keep: 2 })] });
    // epochs 2, 4, 6 by `every`, and 7 at the end; the last two are kept
    assert.deepStrictEqual(fs.readdirSync(ckdir).sort(), ['checkpoint-epoch6.safetensors', 'checkpoint-epoch7.safetensors']);
    assert.strictEqual(torch.latestCheckpoint(ckdir), path.join(ckdir, 'checkpoint-epoch7.safetensors'));
    assert.strictEqual(torch.latestCheckpoint(path.join(dir(), 'none')), null);

    // resume from epoch 6 in a model with other weights: one more epoch gives a's parameters
    torch.manualSeed(100);
    const b = new Net();
    const optB = new optim.Adam(b.parameters(), { lr: 0.01 });
    const { epoch } = torch.checkpoint.load(path.join(ckdir, 'checkpoint-epoch6.safetensors'), { model: b, optimizer: optB });
    assert.strictEqual(epoch, 6);
    const h = await torch.fit({ model: b, optimizer: optB, loss: mse, data, epochs: 7, initialEpoch: epoch! });
    assert.deepStrictEqual(h.epoch, [6]);
    sameParams(a, b);
  });

  it('keep: 0 keeps every checkpoint; an aborted epoch is not saved as done', async () => {
    const data = batches();
    const m = new Net();
    const opt = new optim.SGD(m.parameters(), { lr: 0.01 });
    const ckdir = path.join(dir(), 'b');
    await torch.fit({ model: m, optimizer: opt, loss: mse, data, epochs: 3, callbacks: [torch.modelCheckpoint({ dir: ckdir, keep: 0, prefix: 'lm' })] });
    assert.deepStrictEqual(fs.readdirSync(ckdir).sort(), ['lm-epoch1.safetensors', 'lm-epoch2.safetensors', 'lm-epoch3.safetensors']);
    const ac = new AbortController();
    const ckdir2 = path.join(dir(), 'c');
    const stopper: torch.Callback = { onBatchEnd(batch, _logs, ctx) { if (ctx.epoch === 1 && batch === 0) ac.abort(); } };
    const h = await torch.fit({ model: m, optimizer: opt, loss: mse, data, epochs: 5, signal: ac.signal, callbacks: [stopper, torch.modelCheckpoint({ dir: ckdir2 })] });
    assert.ok(h.aborted);
    assert.deepStrictEqual(fs.readdirSync(ckdir2), ['checkpoint-epoch1.safetensors']);
  });

  it('bad options', () => {
    throwsTorch(() => torch.modelCheckpoint({} as never), 'ERR_INVALID_ARG', 'Expected a directory path for dir but received undefined');
    throwsTorch(() => torch.modelCheckpoint({ dir: dir(), every: 0 }), 'ERR_INVALID_ARG', 'Expected an integer >= 1 for every but received 0');
    throwsTorch(() => torch.modelCheckpoint({ dir: dir(), keep: -1 }), 'ERR_INVALID_ARG', 'Expected an integer >= 0 for keep but received -1');
    throwsTorch(() => torch.modelCheckpoint({ dir: dir(), prefix: '../x' }), 'ERR_INVALID_ARG', 'Expected a file name prefix of letters, digits, ".", "_" or "-" for prefix but received "../x"');
    throwsTorch(() => torch.modelCheckpoint({ dir: dir(), evry: 2 } as never), 'ERR_INVALID_ARG', /^Expected one of the options dir, every, keep, prefix, scheduler for an option of options but received "evry"$/);
  });

  it('FIXED: a directory that cannot be made or written: fit() rejects with ERR_CHECKPOINT naming it (Node\'s recursive mkdir looped forever under /proc)', async () => {
    torch.manualSeed(3);
    const model = new Net();
    const data: [torch.Tensor, torch.Tensor][] = [[torch.randn([4, 5, 3]), torch.randn([4, 2])]];
    const run = (d: string) => torch.fit({ model, optimizer: new optim.SGD(model.parameters(), { lr: 0.01 }), loss: new nn.MSELoss(), data, epochs: 1, callbacks: [torch.modelCheckpoint({ dir: d })] });
    await assert.rejects(run('/proc/ckpts'), { name: 'TorchError', code: 'ERR_CHECKPOINT', message: 'modelCheckpoint cannot create /proc/ckpts: no such file or directory (ENOENT)' });
    // a directory that exists but takes no files
    await assert.rejects(run('/proc/self'), { name: 'TorchError', code: 'ERR_CHECKPOINT', message: /^Cannot save \/proc\/self\/checkpoint-epoch1\.safetensors: [a-z ]+ \([A-Z]+\)$/ });
  });
});

describe('SIGKILL during checkpoint saves', () => {
  const KILLS = LONG ? 50 : 15; // each kill starts a process that loads libtorch (~1.4 s)
  it(`${KILLS} kills at random moments: the last complete checkpoint always loads intact`, async function () {
    this.timeout(180000);
    const dir = tmpDir('torchrnn-ser-');
    const file = path.join(dir, 'ckpt.safetensors');
    const dist = path.join(ROOT, 'dist', 'index.js');
    if (!fs.existsSync(dist)) throw new Error('run npm run compile first (the child process uses dist/)');
    // The child saves checkpoints in a loop: every parameter of checkpoint k is filled with k,
    // and the epoch is k. It prints k after each save completes.
    const child = `
      const torch = require(${JSON.stringify(dist)});
      const model = new torch.nn.LSTM({ inputSize: 256, hiddenSize: 256, numLayers: 2 }); // ~4 MB
      let k = Number(process.argv[1]);
      for (;;) {
        k++;
        torch.noGrad(() => { for (const p of model.parameters()) p.fill_(k); });
        torch.checkpoint.save(${JSON.stringify(file)}, { model, epoch: k });
        process.stdout.write(k + '\\n');
      }`;
    let last = 0;
    let seed = 7;
    const model = new nn.LSTM({ inputSize: 256, hiddenSize: 256, numLayers: 2 });
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        const p = spawn(process.execPath, ['-e', child, String(last)], { stdio: ['ignore', 'pipe', 'inherit'] });
        let completed = last;
        let started = false;
        const startedAt = new Promise<void>((resolve) => p.stdout.on('data', (d: Buffer) => {
          const lines = d.toString().trim().split('\n');
          completed = Number(lines[lines.length - 1]);
          if (!started) { started = true; resolve(); }
        }));
        const exited = new Promise<void>((resolve) => p.on('exit', () => resolve()));
        await Promise.race([startedAt, exited]);
        seed = (seed * 48271) % 2147483647;
        await new Promise((r) => setTimeout(r, seed % 40));
        p.kill('SIGKILL');
        await exited;
        const { epoch } = torch.checkpoint.load(file, { model });
        assert.ok(typeof epoch === 'number' && epoch >= completed, `after kill ${kill}: epoch ${epoch}, ${completed} completed`);
        for (const [name, prm] of model.namedParameters()) {
          const v = values(prm);
          assert.ok(v.every((x) => x === epoch), `${name} holds the values of checkpoint ${epoch} only`);
        }
        last = epoch;
      }
      // only the checkpoint and temporary files of killed writers (at most one: each write clears dead ones)
      const others = fs.readdirSync(dir).filter((n) => n !== 'ckpt.safetensors');
      assert.ok(others.length <= 1 && others.every((n) => n.startsWith('.ckpt.safetensors.tmp-')), others.join(', '));
    } finally {
      removeDir(dir);
    }
  });
});
