// safetensors files, Module.save/load, training checkpoints (exact resume, modelCheckpoint in
// fit(), SIGKILL during a save), and hostile or broken safetensors files (exact messages and a
// 10,000-mutation fuzz).
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { decodeSafetensors, encodeSafetensors } from '../lib/serialization/safetensors';
import { gc, throwsTorch, values } from './helpers';

const { nn, optim } = torch;
const ROOT = path.join(__dirname, '..');

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'torchrnn-ser-'));
}

class Net extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 3, hiddenSize: 6, numLayers: 2, dropout: 0.3, batchFirst: true });
  drop = new nn.Dropout(0.2);
  head = new nn.Linear(6, 2);
  forward(x: torch.Tensor): torch.Tensor {
    const [out] = this.lstm.forward(x);
    return this.head.forward(this.drop.forward(out.select(1, -1)));
  }
}

function sameParams(a: torch.nn.Module, b: torch.nn.Module, exact = true): void {
  const sa = a.stateDict();
  const sb = b.stateDict();
  assert.deepStrictEqual(Object.keys(sa), Object.keys(sb));
  for (const k of Object.keys(sa)) {
    const va = values(sa[k]);
    const vb = values(sb[k]);
    if (exact) assert.deepStrictEqual(va, vb, k);
    else va.forEach((v, i) => assert.ok(Math.abs(v - vb[i]) < 1e-6, `${k}[${i}]`));
  }
}

describe('safetensors files', () => {
  let dir: string;
  before(() => { dir = tmpdir(); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips every dtype, 0-D and empty tensors, and metadata', () => {
    const t: Record<string, torch.Tensor> = {
      f32: torch.tensor([[1.5, -2], [3, 4]]),
      f64: torch.tensor([1e-300, Math.PI], { dtype: 'float64' }),
      f16: torch.tensor([0.5, 65504], { dtype: 'float16' }),
      bf16: torch.tensor([1, -3.5], { dtype: 'bfloat16' }),
      i8: torch.tensor([-128, 127], { dtype: 'int8' }),
      i16: torch.tensor([-32768, 7], { dtype: 'int16' }),
      i32: torch.tensor([2 ** 31 - 1], { dtype: 'int32' }),
      i64: torch.tensor([2n ** 62n, -5n], { dtype: 'int64' }),
      u8: torch.tensor([0, 255], { dtype: 'uint8' }),
      b: torch.tensor([true, false, true]),
      scalar: torch.tensor(7),
      empty: torch.zeros([0, 3]),
    };
    const file = path.join(dir, 'all.safetensors');
    torch.save(t, file, { metadata: { note: 'hello' } });
    const back = torch.load(file);
    assert.deepStrictEqual(Object.keys(back).sort(), Object.keys(t).sort());
    for (const [k, v] of Object.entries(t)) {
      assert.strictEqual(back[k].dtype, v.dtype, k);
      assert.deepStrictEqual([...back[k].shape], [...v.shape], k);
      assert.deepStrictEqual(Array.from(back[k].dataSync() as ArrayLike<unknown>), Array.from(v.dataSync() as ArrayLike<unknown>), k);
    }
    // the layout of the format's authors: u64 LE header length, JSON header, raw data
    const buf = fs.readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString()) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
    assert.deepStrictEqual(header.__metadata__, { note: 'hello' });
    assert.deepStrictEqual(header.i64, { dtype: 'I64', shape: [2], data_offsets: header.i64.data_offsets });
    assert.strictEqual(header.bf16.dtype, 'BF16');
    assert.strictEqual(header.b.dtype, 'BOOL');
    assert.strictEqual((8 + n) % 8, 0, 'the data starts 8-byte aligned');
  });

  it('saveAsync reads the tensors after the jobs queued before it; loadAsync gives the same tensors', async () => {
    const file = path.join(dir, 'async.safetensors');
    const x = torch.ones([3]);
    const m = new nn.Linear(3, 3);
    const opt = new optim.SGD(m.parameters(), { lr: 1 });
    const out = m.forward(x).sum();
    out.backward();
    const stepped = opt.stepAsync(); // not awaited: the save must see its result
    const saving = torch.saveAsync(m.stateDict(), file);
    await Promise.all([stepped, saving]);
    const back = await torch.loadAsync(file);
    assert.deepStrictEqual(values(back.weight), values(m.weight));
    assert.deepStrictEqual(values(back.bias), values(m.bias!));
  });

  it('Module.save / load / saveAsync / loadAsync and the static Module.load', async () => {
    torch.manualSeed(1);
    const a = new Net();
    const file = path.join(dir, 'net.safetensors');
    a.save(file);
    const b = new Net().load(file);
    sameParams(a, b);
    const lstm = new nn.LSTM({ inputSize: 2, hiddenSize: 3 });
    await lstm.saveAsync(path.join(dir, 'lstm.safetensors'));
    const c = nn.LSTM.load(path.join(dir, 'lstm.safetensors'), { inputSize: 2, hiddenSize: 3 });
    assert.ok(c instanceof nn.LSTM);
    sameParams(lstm, c);
    const d = await new nn.LSTM({ inputSize: 2, hiddenSize: 3 }).loadAsync(path.join(dir, 'lstm.safetensors'));
    sameParams(lstm, d);
    throwsTorch(() => nn.LSTM.load(path.join(dir, 'lstm.safetensors'), { inputSize: 2, hiddenSize: 4 }), 'ERR_CHECKPOINT',
      /^Error\(s\) in loading stateDict for LSTM: size mismatch for weight_ih_l0: the checkpoint has shape \[12, 2\], the model has \[16, 2\]/);
    throwsTorch(() => new Net().load(path.join(dir, 'lstm.safetensors')), 'ERR_CHECKPOINT', /^Error\(s\) in loading stateDict for Net: missing keys: "lstm.weight_ih_l0"/);
    const partial = new Net().load(path.join(dir, 'net.safetensors'), { strict: false });
    sameParams(a, partial);
    const mixed = path.join(dir, 'mixed.pt');
    torch.save({ weight: torch.ones([1, 1]), note: 5 as never }, mixed);
    throwsTorch(() => new nn.Linear(1, 1).load(mixed), 'ERR_INVALID_ARG', 'Expected a Tensor for stateDict["note"] but received 5');
    throwsTorch(() => a.load(file, { strick: true } as never), 'ERR_INVALID_ARG', 'Expected one of the options strict, format for an option of options but received "strick"');
  });

  it('reports missing files, directories and other extensions clearly', () => {
    throwsTorch(() => torch.load(path.join(dir, 'nope.safetensors')), 'ERR_CHECKPOINT', /nope\.safetensors.*no such file/);
    const sub = path.join(dir, 'sub.safetensors');
    fs.mkdirSync(sub);
    throwsTorch(() => torch.load(sub), 'ERR_CHECKPOINT', /sub\.safetensors.*not a file/);
    throwsTorch(() => torch.save({ a: 5 as never }, path.join(dir, 'x.safetensors')), 'ERR_INVALID_ARG', 'Expected a live Tensor for tensors["a"] but received number');
  });
});

describe('training checkpoints', () => {
  let dir: string;
  before(() => { dir = tmpdir(); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

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
    const file = path.join(dir, 'ckpt.safetensors');
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
    const file = path.join(dir, 'async-ckpt.safetensors');
    await torch.checkpoint.saveAsync(file, { model, optimizer: opt, epoch: 2 });
    await stepped;
    const other = fresh(4);
    torch.checkpoint.load(file, { model: other.model, optimizer: other.opt });
    sameParams(model, other.model);
  });

  it('bad contents are refused before anything is written', () => {
    const { model } = fresh(1);
    const file = path.join(dir, 'bad.safetensors');
    throwsTorch(() => torch.checkpoint.save(file, { model: {} as never }), 'ERR_INVALID_ARG', 'Expected an nn.Module for model but received an object');
    throwsTorch(() => torch.checkpoint.save(file, { model, epoch: -1 }), 'ERR_INVALID_ARG', 'Expected an integer >= 0 for epoch but received -1');
    throwsTorch(() => torch.checkpoint.save(file, { model, scheduler: 3 as never }), 'ERR_INVALID_ARG', 'Expected a learning-rate scheduler (with stateDict()) for scheduler but received 3');
    assert.ok(!fs.existsSync(file));
    torch.save(model.stateDict(), file);
    throwsTorch(() => torch.checkpoint.load(file, { model }), 'ERR_CHECKPOINT', `Cannot load ${file}: not a torchrnn training checkpoint (format null)`);
  });
});

describe('modelCheckpoint in fit()', () => {
  let dir: string;
  before(() => { dir = tmpdir(); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

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
    const ckdir = path.join(dir, 'a');
    await torch.fit({ model: a, optimizer: optA, loss: mse, data, epochs: 7, callbacks: [torch.modelCheckpoint({ dir: ckdir, every: 2, keep: 2 })] });
    // epochs 2, 4, 6 by `every`, and 7 at the end; the last two are kept
    assert.deepStrictEqual(fs.readdirSync(ckdir).sort(), ['checkpoint-epoch6.safetensors', 'checkpoint-epoch7.safetensors']);
    assert.strictEqual(torch.latestCheckpoint(ckdir), path.join(ckdir, 'checkpoint-epoch7.safetensors'));
    assert.strictEqual(torch.latestCheckpoint(path.join(dir, 'none')), null);

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
    const ckdir = path.join(dir, 'b');
    await torch.fit({ model: m, optimizer: opt, loss: mse, data, epochs: 3, callbacks: [torch.modelCheckpoint({ dir: ckdir, keep: 0, prefix: 'lm' })] });
    assert.deepStrictEqual(fs.readdirSync(ckdir).sort(), ['lm-epoch1.safetensors', 'lm-epoch2.safetensors', 'lm-epoch3.safetensors']);
    const ac = new AbortController();
    const ckdir2 = path.join(dir, 'c');
    const stopper: torch.Callback = { onBatchEnd(batch, _logs, ctx) { if (ctx.epoch === 1 && batch === 0) ac.abort(); } };
    const h = await torch.fit({ model: m, optimizer: opt, loss: mse, data, epochs: 5, signal: ac.signal, callbacks: [stopper, torch.modelCheckpoint({ dir: ckdir2 })] });
    assert.ok(h.aborted);
    assert.deepStrictEqual(fs.readdirSync(ckdir2), ['checkpoint-epoch1.safetensors']);
  });

  it('bad options', () => {
    throwsTorch(() => torch.modelCheckpoint({} as never), 'ERR_INVALID_ARG', 'Expected a directory path for dir but received undefined');
    throwsTorch(() => torch.modelCheckpoint({ dir, every: 0 }), 'ERR_INVALID_ARG', 'Expected an integer >= 1 for every but received 0');
    throwsTorch(() => torch.modelCheckpoint({ dir, keep: -1 }), 'ERR_INVALID_ARG', 'Expected an integer >= 0 for keep but received -1');
    throwsTorch(() => torch.modelCheckpoint({ dir, prefix: '../x' }), 'ERR_INVALID_ARG', 'Expected a file name prefix of letters, digits, ".", "_" or "-" for prefix but received "../x"');
    throwsTorch(() => torch.modelCheckpoint({ dir, evry: 2 } as never), 'ERR_INVALID_ARG', /^Expected one of the options dir, every, keep, prefix, scheduler for an option of options but received "evry"$/);
  });
});

describe('hostile and broken safetensors files', () => {
  const F = 'x.safetensors';
  const good = (): Buffer => {
    const a = torch.tensor([1, 2, 3]);
    const b = torch.tensor([[1n, 2n]], { dtype: 'int64' });
    return encodeSafetensors([['a', a, a.dataSync()], ['b', b, b.dataSync()]], { k: 'v' });
  };
  const withHeader = (header: unknown, data = Buffer.alloc(32)): Buffer => {
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, data]);
  };
  const refuses = (buf: Buffer, message: string) => throwsTorch(() => decodeSafetensors(buf, F), 'ERR_CHECKPOINT', `Cannot load ${F}: ${message}`);

  it('refuses each kind of damage with a message naming it', () => {
    refuses(Buffer.alloc(0), 'the file is 0 bytes, shorter than the 8-byte header length');
    refuses(good().subarray(0, 5), 'the file is 5 bytes, shorter than the 8-byte header length');
    const huge = good();
    huge.writeBigUInt64LE(2n ** 63n, 0);
    refuses(huge, `the header length 9223372036854775808 goes beyond the end of the file (${huge.length} bytes)`);
    throwsTorch(() => decodeSafetensors(Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{x}')]), F), 'ERR_CHECKPOINT', /^Cannot load x\.safetensors: the header is not valid JSON \(/);
  });

  it('lies in the header', () => {
    refuses(withHeader([1, 2]), 'the header is not a JSON object');
    refuses(withHeader({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 64] } }), 'tensor "t" ends at byte 64, beyond the 32 bytes of data');
    refuses(withHeader({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), 'tensor "t" of dtype F32 and shape [3] needs 12 bytes but data_offsets give 8');
    refuses(withHeader({ t: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }), 'tensor "t" of dtype F32 and shape [1099511627776, 1099511627776] needs 4835703278458516698824704 bytes but data_offsets give 8');
    refuses(withHeader({ t: { dtype: 'Q8', shape: [1], data_offsets: [0, 1] } }), 'tensor "t" has an unsupported dtype "Q8"');
    refuses(withHeader({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }), 'tensor "t" has an invalid shape [-1]');
    refuses(withHeader({ t: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }), 'tensor "t" has invalid data_offsets [8,4]');
    refuses(withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }), 'tensors "a" and "b" overlap');
    refuses(withHeader({ __metadata__: { k: 1 } }), '__metadata__["k"] is not a string');
    refuses(withHeader({ t: null }), 'the entry of tensor "t" is not an object');
  });

  it('10,000 mutated valid files: each loads or throws ERR_CHECKPOINT; nothing leaks or crashes', function () {
    this.timeout(60000);
    const base = good();
    let seed = 12345;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    gc();
    const before = torch.memory().tensors;
    let loaded = 0;
    let refused = 0;
    for (let i = 0; i < 10000; i++) {
      const buf = Buffer.from(base);
      const kind = rnd(4);
      let mutated: Buffer = buf;
      if (kind === 0) for (let j = 0, n = 1 + rnd(4); j < n; j++) buf[rnd(buf.length)] = rnd(256); // random bytes
      else if (kind === 1) mutated = buf.subarray(0, rnd(buf.length)); // truncation
      else if (kind === 2) { const at = 8 + rnd(buf.length - 8); buf[at] = '0123456789[]{}",:-e'.charCodeAt(rnd(19)); } // JSON-ish damage
      else { buf.writeBigUInt64LE(BigInt(rnd(buf.length * 2)), 0); } // header length
      try {
        const { tensors } = decodeSafetensors(mutated, F);
        loaded++;
        for (const t of Object.values(tensors)) t.dispose();
      } catch (err) {
        assert.ok(err instanceof torch.TorchError && err.code === 'ERR_CHECKPOINT', `mutation ${i}: ${String(err)}`);
        refused++;
      }
    }
    gc();
    assert.strictEqual(torch.memory().tensors, before, 'no tensor left behind');
    assert.ok(refused > 5000 && loaded > 50, `loaded ${loaded}, refused ${refused}`);
  });
});

describe('SIGKILL during checkpoint saves', () => {
  it('50 kills at random moments: the last complete checkpoint always loads intact', async function () {
    this.timeout(180000);
    const dir = tmpdir();
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
      for (let kill = 0; kill < 50; kill++) {
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
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
