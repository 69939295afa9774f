// safetensors files: every dtype round-trips, save/load and their async forms, Module.save/load,
// clear messages for missing files; hostile or broken files (exact messages and a 10,000-mutation
// fuzz). PyTorch's .pt files: test/51 and 52; training checkpoints (safetensors files too): test/62.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { decodeSafetensors, encodeSafetensors } from '../lib/serialization/safetensors';
import { gc, lcg, sameParams, suiteTmpDir, throwsTorch, values } from './helpers';
import { Net } from './models';

const { nn, optim } = torch;

describe('safetensors files', () => {
  const dir = suiteTmpDir('torchrnn-ser-');

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
    const file = path.join(dir(), 'all.safetensors');
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
    const file = path.join(dir(), 'async.safetensors');
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
    const file = path.join(dir(), 'net.safetensors');
    a.save(file);
    const b = new Net().load(file);
    sameParams(a, b);
    const lstm = new nn.LSTM({ inputSize: 2, hiddenSize: 3 });
    await lstm.saveAsync(path.join(dir(), 'lstm.safetensors'));
    const c = nn.LSTM.load(path.join(dir(), 'lstm.safetensors'), { inputSize: 2, hiddenSize: 3 });
    assert.ok(c instanceof nn.LSTM);
    sameParams(lstm, c);
    const d = await new nn.LSTM({ inputSize: 2, hiddenSize: 3 }).loadAsync(path.join(dir(), 'lstm.safetensors'));
    sameParams(lstm, d);
    throwsTorch(() => nn.LSTM.load(path.join(dir(), 'lstm.safetensors'), { inputSize: 2, hiddenSize: 4 }), 'ERR_CHECKPOINT',
      /^Error\(s\) in loading stateDict for LSTM: size mismatch for weight_ih_l0: the checkpoint has shape \[12, 2\], the model has \[16, 2\]/);
    throwsTorch(() => new Net().load(path.join(dir(), 'lstm.safetensors')), 'ERR_CHECKPOINT', /^Error\(s\) in loading stateDict for Net: missing keys: "lstm.weight_ih_l0"/);
    const partial = new Net().load(path.join(dir(), 'net.safetensors'), { strict: false });
    sameParams(a, partial);
    const mixed = path.join(dir(), 'mixed.pt');
    torch.save({ weight: torch.ones([1, 1]), note: 5 as never }, mixed);
    throwsTorch(() => new nn.Linear(1, 1).load(mixed), 'ERR_INVALID_ARG', 'Expected a Tensor for stateDict["note"] but received 5');
    throwsTorch(() => a.load(file, { strick: true } as never), 'ERR_INVALID_ARG', 'Expected one of the options strict, format for an option of options but received "strick"');
  });

  it('reports missing files, directories and other extensions clearly', () => {
    throwsTorch(() => torch.load(path.join(dir(), 'nope.safetensors')), 'ERR_CHECKPOINT', /nope\.safetensors.*no such file/);
    const sub = path.join(dir(), 'sub.safetensors');
    fs.mkdirSync(sub);
    throwsTorch(() => torch.load(sub), 'ERR_CHECKPOINT', /sub\.safetensors.*not a file/);
    throwsTorch(() => torch.save({ a: 5 as never }, path.join(dir(), 'x.safetensors')), 'ERR_INVALID_ARG', 'Expected a live Tensor for tensors["a"] but received number');
    // a bare tensor: safetensors files hold named tensors (a .pt file takes one)
    const bare = 'Expected an object of named tensors for a .safetensors file (save { name: tensor }, or a bare tensor to a .pt file) for obj but received a float32 Tensor of shape [2]';
    throwsTorch(() => torch.save(torch.zeros([2]) as never, path.join(dir(), 'bare.safetensors')), 'ERR_INVALID_ARG', bare);
    assert.throws(() => torch.saveAsync(torch.zeros([2]) as never, path.join(dir(), 'bare.safetensors')), (e: Error) => e.message === bare);
    assert.ok(!fs.existsSync(path.join(dir(), 'bare.safetensors')));
  });

  it('a place that cannot be written: ERR_CHECKPOINT naming the path (save, saveAsync, Module.save/saveAsync), no temporary file left', async () => {
    const sd = { a: torch.ones([2]) };
    const m = new nn.Linear(2, 1);
    const virtual = '/proc/x.safetensors'; // /proc takes no new files, even as root
    const missing = path.join(dir(), 'no-such-dir', 'x.safetensors');
    const inTheWay = path.join(dir(), 'in-the-way.safetensors');
    fs.mkdirSync(inTheWay);
    const cases: [string, string][] = [
      [virtual, `Cannot save ${virtual}: no such file or directory (ENOENT)`],
      [missing, `Cannot save ${missing}: no such file or directory (ENOENT)`],
      [inTheWay, `Cannot save ${inTheWay}: illegal operation on a directory (EISDIR)`],
    ];
    for (const [file, message] of cases) {
      throwsTorch(() => torch.save(sd, file), 'ERR_CHECKPOINT', message);
      throwsTorch(() => m.save(file), 'ERR_CHECKPOINT', message);
      await assert.rejects(torch.saveAsync(sd, file), { name: 'TorchError', code: 'ERR_CHECKPOINT', message });
      await assert.rejects(m.saveAsync(file), { name: 'TorchError', code: 'ERR_CHECKPOINT', message });
    }
    assert.deepStrictEqual(fs.readdirSync(dir()).filter((n) => n.includes('.tmp-')), []);
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
    const next = lcg(12345);
    const rnd = (n: number) => next() % n;
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
