// PyTorch .pt files both ways: Python-trained models (scripts/gen-fixtures-interop.py) load into
// torchrnn's modules and reproduce Python's outputs; every dtype, shared storages and nested
// structures round-trip; and Python's torch.load reads what torchrnn writes
// (scripts/check-interop.py). Hostile and corrupt files: test/52.
import * as assert from 'assert';
import * as child_process from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { ALLOWED_GLOBALS } from '../lib/serialization/pickle';
import { loadPt, loadPtAsync, savePt } from '../lib/serialization/pt';
import { assertMatches, decodeValue, disposeAll, Encoded, fixturePath, fromFixture, loadFixture, removeDir, ROOT, suiteTmpDir, throwsTorch, tmpDir } from './helpers';
import { archive, B } from './pt-archives';
import { libtorchLine } from '../lib/compat';

const { nn } = torch;
const FIX = fixturePath('interop');
const PYTHON = '/usr/bin/python3';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Mirror = any;
interface ModelFixture { options: Record<string, unknown>; keys: string[]; input: Encoded; outputs: Encoded[] }
const MODELS = loadFixture<{ models: Record<string, ModelFixture> }>('interop/models.json').models;
const VALUES = loadFixture<{ int64: string[]; values: Record<string, Mirror> }>('interop/values.json');

class Tanh extends nn.Module {
  forward(x: torch.Tensor): torch.Tensor { return x.tanh(); }
}

function build(name: string): torch.nn.Module {
  const o = MODELS[name].options;
  if (name === 'lstm') return new nn.LSTM(o as never);
  if (name === 'gru') return new nn.GRU(o as never);
  return new nn.Sequential(new nn.Linear(4, 8), new Tanh(), new nn.Linear(8, 3));
}

function flat(r: unknown): torch.Tensor[] {
  return Array.isArray(r) ? r.flatMap(flat) : [r as torch.Tensor];
}

/** Exact comparison of a tensor with a fixture encoding (float16/bfloat16 through float64). */
function assertExact(t: torch.Tensor, e: Encoded, where: string, exact?: string[]): void {
  assert.strictEqual(t.dtype, e.dtype, `${where}: dtype`);
  assert.deepStrictEqual([...t.shape], e.shape, `${where}: shape`);
  if (t.dtype === 'int64' && exact) {
    assert.deepStrictEqual(Array.from(t.dataSync() as BigInt64Array, String), exact, `${where}: values`);
    return;
  }
  const got = t.dtype === 'float16' || t.dtype === 'bfloat16' ? Array.from(t.to('float64').dataSync() as Float64Array) : Array.from(t.dataSync() as ArrayLike<number | bigint>, Number);
  const want = e.data.map((v) => Number(decodeValue(v)));
  assert.strictEqual(got.length, want.length, `${where}: numel`);
  got.forEach((g, i) => assert.ok(Object.is(g, want[i]) || g === want[i], `${where}[${i}]: got ${g}, expected ${want[i]}`));
}

/** The key order JavaScript gives an object built with these keys (integer-like keys first). */
function jsOrder(keys: string[]): string[] {
  const o: Record<string, true> = {};
  for (const k of keys) Object.defineProperty(o, k, { value: true, enumerable: true, configurable: true, writable: true });
  return Object.keys(o);
}

/** Checks a loaded value against the mirror encoding of scripts/gen-fixtures-interop.py. */
function assertMirror(actual: unknown, expected: Mirror, where: string): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    if ('__tensor__' in expected) {
      assert.ok(actual instanceof torch.Tensor, `${where}: expected a tensor, got ${String(actual)}`);
      assertExact(actual, expected.__tensor__, where, expected.exact);
      assert.strictEqual(actual.requiresGrad, expected.requiresGrad, `${where}: requiresGrad`);
      return;
    }
    if ('__dict__' in expected) {
      assert.ok(actual !== null && typeof actual === 'object' && !Array.isArray(actual), `${where}: expected an object`);
      const entries = expected.__dict__ as [string | number, Mirror][];
      assert.deepStrictEqual(Object.keys(actual), jsOrder(entries.map(([k]) => String(k))), `${where}: keys`);
      for (const [k, v] of entries) assertMirror((actual as Record<string, unknown>)[String(k)], v, `${where}[${JSON.stringify(k)}]`);
      return;
    }
    if ('__int__' in expected) { assert.strictEqual(actual, BigInt(expected.__int__), where); return; }
    if ('__float__' in expected) { assert.ok(Object.is(actual, Number(decodeValue(expected.__float__))), where); return; }
    assert.fail(`${where}: unknown mirror entry`);
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual) && actual.length === expected.length, `${where}: expected an array of ${expected.length}`);
    expected.forEach((e, i) => assertMirror((actual as unknown[])[i], e, `${where}[${i}]`));
    return;
  }
  assert.strictEqual(actual, expected, where);
}

/** JS value → the mirror encoding that scripts/check-interop.py checks Python's view against. */
function toMirror(v: unknown): Mirror {
  if (v instanceof torch.Tensor) {
    const floaty = v.dtype === 'float16' || v.dtype === 'bfloat16';
    const data = Array.from((floaty ? v.to('float64') : v).dataSync() as ArrayLike<number | bigint>, (x) => {
      const n = Number(x);
      if (v.dtype === 'bool') return n !== 0;
      return Number.isNaN(n) ? 'NaN' : n === Infinity ? 'Infinity' : n === -Infinity ? '-Infinity' : n;
    });
    const m: Mirror = { __tensor__: { data, shape: [...v.shape], dtype: v.dtype }, requiresGrad: v.requiresGrad };
    if (v.dtype === 'int64') m.exact = Array.from(v.dataSync() as BigInt64Array, String);
    return m;
  }
  if (typeof v === 'bigint') return { __int__: String(v) };
  if (typeof v === 'number' && !Number.isFinite(v)) return { __float__: Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity' };
  if (Array.isArray(v)) return v.map(toMirror);
  if (v instanceof Map) return { __dict__: [...v.entries()].map(([k, x]) => [typeof k === 'bigint' ? Number(k) : k, toMirror(x)]) };
  if (v !== null && typeof v === 'object') {
    return { __dict__: Object.entries(v).map(([k, x]) => [/^-?(0|[1-9][0-9]*)$/.test(k) ? Number(k) : k, toMirror(x)]) };
  }
  return v;
}

/** What Python's reader gives for a safetensors file torchrnn wrote: data ordered by element size, then name; no requires_grad. */
function safetensorsMirror(sd: Record<string, torch.Tensor>): Mirror {
  const size = (t: torch.Tensor) => ({ float64: 8, int64: 8, float32: 4, int32: 4, float16: 2, bfloat16: 2, int16: 2 } as Record<string, number>)[t.dtype] ?? 1;
  const names = Object.keys(sd).sort((a, b) => size(sd[b]) - size(sd[a]) || (a < b ? -1 : a > b ? 1 : 0));
  return { __dict__: names.map((k) => [k, { ...toMirror(sd[k]), requiresGrad: false }]) };
}

/** Deep equality of JS values with tensors compared by dtype, shape, requiresGrad and bytes. */
function assertSame(actual: unknown, expected: unknown, where: string): void {
  if (expected instanceof torch.Tensor) {
    assert.ok(actual instanceof torch.Tensor, `${where}: expected a tensor`);
    assert.strictEqual(actual.dtype, expected.dtype, `${where}: dtype`);
    assert.deepStrictEqual([...actual.shape], [...expected.shape], `${where}: shape`);
    assert.strictEqual(actual.requiresGrad, expected.requiresGrad, `${where}: requiresGrad`);
    const a = actual.dataSync();
    const e = expected.dataSync();
    assert.ok(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(e.buffer, e.byteOffset, e.byteLength)), `${where}: bytes`);
    return;
  }
  if (expected instanceof Map) {
    const keys = [...expected.keys()].map(String);
    assert.deepStrictEqual(Object.keys(actual as object), jsOrder(keys), `${where}: keys`);
    for (const [k, v] of expected) assertSame((actual as Record<string, unknown>)[String(k)], v, `${where}[${String(k)}]`);
    return;
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual) && actual.length === expected.length, `${where}: length`);
    expected.forEach((x, i) => assertSame((actual as unknown[])[i], x, `${where}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    assert.deepStrictEqual(Object.keys(actual as object), Object.keys(expected), `${where}: keys`);
    for (const [k, v] of Object.entries(expected)) assertSame((actual as Record<string, unknown>)[k], v, `${where}.${k}`);
    return;
  }
  if (typeof expected === 'number' && Number.isNaN(expected)) { assert.ok(Number.isNaN(actual), where); return; }
  assert.strictEqual(actual, expected, where);
}

function everyDtype(): Record<string, torch.Tensor> {
  return {
    float32: torch.tensor([1.5, -0, NaN, Infinity, -3.4e38, 1e-45], { dtype: 'float32' }),
    float64: torch.tensor([[Math.PI, -1e308], [5e-324, NaN]], { dtype: 'float64' }),
    float16: torch.tensor([0.5, -65504, 6.1e-5], { dtype: 'float16' }),
    bfloat16: torch.tensor([[3e38, -1.5]], { dtype: 'bfloat16' }),
    int8: torch.tensor([-128, 0, 127], { dtype: 'int8' }),
    int16: torch.tensor([-32768, 32767], { dtype: 'int16' }),
    int32: torch.tensor([-2147483648, 2147483647, 5], { dtype: 'int32' }),
    int64: torch.tensor([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -7n], { dtype: 'int64' }),
    uint8: torch.tensor([0, 128, 255], { dtype: 'uint8' }),
    bool: torch.tensor([[true, false], [false, true]], { dtype: 'bool' }),
    scalar: torch.tensor(2.5),
    empty: torch.zeros([0, 3], { dtype: 'float64' }),
  };
}

describe('PyTorch .pt files', function () {
  this.timeout(120000); // also under --no-config (mocha's default is 2 s)
  const dir = suiteTmpDir('trnn-pt-');

  describe('Python-trained models', () => {
    for (const name of ['lstm', 'gru', 'mlp']) {
      for (const ext of ['.pt', '.safetensors']) {
        it(`${name}${ext}: loadStateDict into torchrnn's module reproduces Python's outputs (1e-6)`, () => {
          const m = build(name).eval();
          const sd = torch.load(path.join(FIX, name + ext));
          if (ext === '.pt') assert.deepStrictEqual(Object.keys(sd), MODELS[name].keys, 'state-dict keys in PyTorch order');
          else assert.deepStrictEqual(Object.keys(sd).sort(), [...MODELS[name].keys].sort());
          assert.ok(Object.values(sd).every((t) => t.dtype === 'float32' && !t.requiresGrad));
          m.loadStateDict(sd);
          disposeAll(sd);
          const outs = flat(torch.noGrad(() => m.forward(fromFixture(MODELS[name].input))));
          assert.strictEqual(outs.length, MODELS[name].outputs.length);
          outs.forEach((o, i) => assertMatches(o, MODELS[name].outputs[i], `${name}${ext} output ${i}`));
          m.dispose();
        });
      }
    }

    it('loadAsync, Module.load and a deflate-compressed archive give the same parameters', async () => {
      const want = loadPt<Record<string, torch.Tensor>>(path.join(FIX, 'mlp.pt'));
      const viaAsync = await torch.loadAsync(path.join(FIX, 'mlp.pt'));
      const deflated = torch.load(path.join(FIX, 'deflated.pt'));
      assertSame(viaAsync, want, 'loadAsync');
      assertSame(deflated, want, 'deflated.pt');
      const m = (build('mlp') as torch.nn.Sequential).load(path.join(FIX, 'mlp.pt'));
      assertSame(m.stateDict(), want, 'Module.load');
      const viaModuleAsync = await build('lstm').loadAsync(path.join(FIX, 'lstm.pt'));
      assert.strictEqual(viaModuleAsync.stateDict()['weight_hh_l1'].shape[0], 24);
      [want, viaAsync, deflated].forEach(disposeAll);
      m.dispose();
      viaModuleAsync.dispose();
    });
  });

  describe('reading what Python wrote', () => {
    it('every dtype, bit-exact (.pt and .safetensors), int64 beyond 2^53 included', () => {
      const mirror = structuredClone(VALUES.values['dtypes.pt']);
      for (const [k, v] of mirror.__dict__) if (k === 'int64') v.exact = VALUES.int64;
      for (const file of ['dtypes.pt', 'dtypes.safetensors']) {
        const sd = torch.load(path.join(FIX, file));
        if (file.endsWith('.pt')) assertMirror(sd, mirror, file);
        else for (const [k, v] of mirror.__dict__) assertMirror(sd[k], v, `${file}[${k}]`);
        disposeAll(sd);
      }
    });

    for (const file of ['nested.pt', 'nested-p4.pt']) {
      it(`${file}: an Adam state dict inside dicts, lists, tuples and primitives (protocol ${file.includes('p4') ? 4 : 2})`, async () => {
        const v = await loadPtAsync<any>(path.join(FIX, file));
        assertMirror(v, VALUES.values[file], file);
        assert.deepStrictEqual(Object.keys(v), ['optimizer', 'model', 'epoch', 'big', 'negative', 'ratio', 'name', 'flags', 'pair', 'deep']);
        assert.strictEqual(v.big, 2n ** 60n + 3n, 'ints beyond 2^53 are bigints');
        assert.strictEqual(v.negative, -70000);
        assert.deepStrictEqual(v.pair, [1, 2.5, 'x'], 'tuples are arrays');
        assert.deepStrictEqual(v.flags, [true, false, null]);
        assert.strictEqual(v.name, 'run-1 ✓');
        assert.deepStrictEqual(Object.keys(v.optimizer.state), ['0', '1'], 'int keys become strings');
        assert.deepStrictEqual(v.optimizer.param_groups[0].betas, [0.8, 0.99]);
        assert.deepStrictEqual(v.optimizer.param_groups[0].params, [0, 1]);
        assert.strictEqual(v.optimizer.state[0].exp_avg.shape.join(), '2,3');
        disposeAll(v);
      });
    }

    it("Python's Adam state (0-D step tensors) loads into a torchrnn Adam", () => {
      const v = loadPt<any>(path.join(FIX, 'nested.pt'));
      const lin = new torch.nn.Linear(3, 2);
      lin.loadStateDict(v.model);
      const adam = new torch.optim.Adam(lin.parameters(), { lr: 0.01, betas: [0.8, 0.99] });
      adam.loadStateDict(v.optimizer);
      const back = adam.stateDict();
      assert.strictEqual(back.state[0].step, 2);
      assert.deepStrictEqual((back.state[0].exp_avg as torch.Tensor).toArray(), (v.optimizer.state[0].exp_avg as torch.Tensor).toArray());
      assert.deepStrictEqual((back.state[1].exp_avg_sq as torch.Tensor).toArray(), (v.optimizer.state[1].exp_avg_sq as torch.Tensor).toArray());
      disposeAll(v);
    });

    it('tensors that share a storage share it after loading (views, a transpose, the same object twice)', () => {
      const sd = loadPt<Record<string, torch.Tensor>>(path.join(FIX, 'shared.pt'));
      assertMirror(sd, VALUES.values['shared.pt'], 'shared.pt');
      assert.strictEqual(sd.same, sd.base, 'one Python object stays one Tensor object');
      sd.base.mul_(10);
      assert.deepStrictEqual(sd.row.toArray(), [60, 70, 80, 90, 100, 110]);
      assert.deepStrictEqual(sd.col.toArray(), [20, 80, 140, 200]);
      assert.deepStrictEqual((sd.T.toArray() as number[][])[5], [50, 110, 170, 230]);
      assert.deepStrictEqual(sd.block.toArray(), [[80, 90, 100], [140, 150, 160]]);
      disposeAll(sd);
    });

    it('0-D and empty tensors; Parameters keep requires_grad', () => {
      const sd = loadPt<Record<string, torch.Tensor>>(path.join(FIX, 'scalars.pt'));
      assertMirror(sd, VALUES.values['scalars.pt'], 'scalars.pt');
      assert.strictEqual(sd.scalar.item(), 3.5);
      assert.strictEqual(sd.int0d.item(), -7);
      assert.deepStrictEqual([...sd.empty2d.shape], [0, 3]);
      assert.ok(sd.param.requiresGrad && sd.param.isLeaf);
      sd.param.mul(2).sum().backward();
      assert.deepStrictEqual(sd.param.grad?.toArray(), [2, 2]);
      disposeAll(sd);
    });

    it('frees every tensor it made: loading and disposing leaves memory() where it was', () => {
      const before = torch.memory().tensors;
      for (const f of ['lstm.pt', 'shared.pt', 'nested.pt', 'dtypes.pt']) disposeAll(torch.load(path.join(FIX, f)));
      for (const f of ['hostile-eval.pt']) assert.throws(() => torch.load(path.join(FIX, f)));
      assert.strictEqual(torch.memory().tensors, before);
    });
  });

  describe('round trips through .pt', () => {
    it('every dtype, 0-D and empty tensors, requiresGrad', () => {
      const obj = { ...everyDtype(), w: torch.randn([3, 2]).requiresGrad_(true) };
      const file = path.join(dir(), 'dtypes.pt');
      torch.save(obj, file);
      const back = torch.load(file);
      assertSame(back, obj, 'dtypes');
      disposeAll(back);
    });

    it('nested objects, arrays, Maps, bigints and primitives; the same tensor twice stays one object', async () => {
      const t = torch.arange(6).reshape(2, 3);
      const obj = {
        state: { 0: { step: 2, exp_avg: torch.ones([2]) }, 1: { step: 2, exp_avg: torch.zeros([1]) } },
        param_groups: [{ lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false, foreach: null, params: [0, 1] }],
        big: 2n ** 62n, negBig: -(2n ** 70n), small: 5n, neg: -70000, huge: 2 ** 53 - 1, float: -2.5, nan: NaN, inf: -Infinity,
        text: 'ünïcödé ✓', empty: {}, none: [], deep: [[[[t]]]], again: t,
        map: new Map<string | number, unknown>([[3, 'three'], ['k', torch.tensor([true])]]),
        transposed: torch.arange(12, { dtype: 'float64' }).reshape(3, 4).transpose(0, 1),
        row: torch.arange(12, { dtype: 'float64' }).reshape(3, 4).select(0, 1),
      };
      const file = path.join(dir(), 'nested.pt');
      await torch.saveAsync(obj as never, file);
      const back = await torch.loadAsync<any>(file);
      const expected = { ...obj, big: 2n ** 62n, small: 5, map: obj.map };
      assertSame(back, expected, 'nested');
      assert.strictEqual(back.again, back.deep[0][0][0][0], 'one tensor object written once is one object loaded');
      assert.deepStrictEqual(back.transposed.toArray(), [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]);
      assert.deepStrictEqual(back.row.toArray(), [4, 5, 6, 7]);
      disposeAll(back);
    });

    it('Module.save / Module.load with .pt and .pth, and an explicit format for other extensions', () => {
      const a = new nn.GRU({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
      for (const name of ['gru.pt', 'gru.pth', 'gru.bin']) {
        const file = path.join(dir(), name);
        const opts = name.endsWith('.bin') ? { format: 'pt' as const } : undefined;
        a.save(file, opts);
        const b = new nn.GRU({ inputSize: 3, hiddenSize: 4, numLayers: 2 }).load(file, opts);
        assertSame(b.stateDict(), a.stateDict(), name);
        assert.strictEqual(fs.readFileSync(file).readUInt32LE(0), 0x04034b50, `${name} is a zip archive`);
        b.dispose();
      }
      a.dispose();
    });

    it('format dispatch: extensions, explicit format, and the messages for the rest', () => {
      const sd = { w: torch.ones([2]) };
      torch.save(sd, path.join(dir(), 'UPPER.PT'));
      assert.strictEqual(fs.readFileSync(path.join(dir(), 'UPPER.PT')).readUInt32LE(0), 0x04034b50);
      torch.save(sd, path.join(dir(), 'st.bin'), { format: 'safetensors' });
      disposeAll(torch.load(path.join(dir(), 'st.bin'), { format: 'safetensors' }));
      throwsTorch(() => torch.save(sd, path.join(dir(), 'x.ckpt')), 'ERR_INVALID_ARG', `Expected a path ending in .safetensors, .pt or .pth, or a format option ("safetensors" or "pt") for path but received ${JSON.stringify(path.join(dir(), 'x.ckpt').slice(0, 40) + (path.join(dir(), 'x.ckpt').length > 40 ? '…' : ''))}`);
      throwsTorch(() => torch.load('model.onnx'), 'ERR_INVALID_ARG', 'Expected a path ending in .safetensors, .pt or .pth, or a format option ("safetensors" or "pt") for path but received "model.onnx"');
      throwsTorch(() => torch.save(sd, 'm.pt', { format: 'pickle' as never }), 'ERR_INVALID_ARG', 'Expected one of "safetensors", "pt" for format but received "pickle"');
      throwsTorch(() => torch.save(sd, 'm.pt', { metadata: { a: 'b' } }), 'ERR_INVALID_ARG', 'Expected no metadata for a .pt file (only safetensors files carry metadata) for metadata but received an object');
      throwsTorch(() => torch.save({ f: () => 1 } as never, path.join(dir(), 'f.pt')), 'ERR_INVALID_ARG', 'Expected tensors, numbers, bigints, strings, booleans, null, arrays, Maps or plain objects for obj["f"] but received a function');
      throwsTorch(() => torch.save({ d: new Date(0) } as never, path.join(dir(), 'f.pt')), 'ERR_INVALID_ARG', 'Expected tensors, numbers, bigints, strings, booleans, null, arrays, Maps or plain objects for obj["d"] but received a Date');
      const cyclic: any = { a: [] };
      cyclic.a.push(cyclic);
      throwsTorch(() => torch.save(cyclic, path.join(dir(), 'f.pt')), 'ERR_INVALID_ARG', 'Expected a structure without cycles for obj["a"][0] but received an object');
      const gone = torch.ones([1]);
      gone.dispose();
      throwsTorch(() => torch.save({ gone } as never, path.join(dir(), 'f.pt')), 'ERR_INVALID_ARG', 'Expected a live Tensor for obj["gone"] but received a disposed Tensor');
      assert.ok(!fs.existsSync(path.join(dir(), 'f.pt')), 'nothing is written when the object is refused');
      disposeAll(sd);
    });

    it('a place that cannot be written: ERR_CHECKPOINT naming the path (save, saveAsync, Module.save/saveAsync; an optimizer state dict)', async () => {
      const m = new nn.Linear(2, 1);
      const opt = new torch.optim.Adam(m.parameters());
      for (const file of ['/proc/x.pt', path.join(dir(), 'no-such-dir', 'x.pth')]) {
        const message = `Cannot save ${file}: no such file or directory (ENOENT)`;
        throwsTorch(() => torch.save(m.stateDict(), file), 'ERR_CHECKPOINT', message);
        throwsTorch(() => torch.save(opt.stateDict() as never, file), 'ERR_CHECKPOINT', message);
        throwsTorch(() => m.save(file), 'ERR_CHECKPOINT', message);
        await assert.rejects(torch.saveAsync(m.stateDict(), file), { name: 'TorchError', code: 'ERR_CHECKPOINT', message });
        await assert.rejects(m.saveAsync(file), { name: 'TorchError', code: 'ERR_CHECKPOINT', message });
      }
      assert.deepStrictEqual(fs.readdirSync(dir()).filter((n) => n.includes('.tmp-')), []);
      m.dispose();
    });

    it('zip64 records (forced) read back', () => {
      const file = path.join(dir(), 'z64.pt');
      const obj = everyDtype();
      savePt(obj, file, { zip64: true });
      const back = loadPt(file);
      assertSame(back, obj, 'zip64');
      disposeAll(back);
    });

    it('a deeply nested pickle loads without exhausting the JS stack', () => {
      const depth = 100000;
      const pkl = B([0x80, 2], Buffer.alloc(depth + 1, 0x5d /* EMPTY_LIST */), Buffer.alloc(depth, 0x61 /* APPEND */), '.');
      let v = loadPt<unknown[]>(archive(dir(), 'deep.pt', pkl));
      let n = 0;
      while (v.length) { v = v[0] as unknown[]; n++; }
      assert.strictEqual(n, depth);
    });
  });

  describe('Python reads what torchrnn writes', () => {
    const pythonTorch = (ctx: Mocha.Context): void => {
      const probe = fs.existsSync(PYTHON) ? child_process.spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120000 }) : null;
      if (!probe || probe.status !== 0) {
        console.log(`      (skipped: ${PYTHON} cannot import torch; install python3-torch to run the Python side)`);
        ctx.skip();
      }
    };

    it(`the globals the unpickler accepts are exactly the running line's weights-only list (torch ${libtorchLine})`, function () {
      pythonTorch(this);
      const r = child_process.spawnSync(PYTHON, ['-c', 'from torch._weights_only_unpickler import _get_allowed_globals as g; print("\\n".join(sorted(g())))'], { encoding: 'utf8', timeout: 120000 });
      assert.strictEqual(r.status, 0, r.stderr);
      assert.deepStrictEqual([...ALLOWED_GLOBALS].sort(), r.stdout.trim().split('\n').sort());
    });

    it('scripts/check-interop.py loads every file with torch.load and checks values, layout and modules', function () {
      this.timeout(300000);
      pythonTorch(this);
      const out = tmpDir('trnn-interop-');
      const files: Record<string, Mirror> = {};
      const put = (name: string, obj: unknown, extra: Record<string, unknown> = {}, opts?: { zip64: boolean }) => {
        const file = path.join(out, name);
        if (opts) savePt(obj, file, opts);
        else torch.save(obj as never, file);
        files[name] = { value: name.endsWith('.safetensors') ? safetensorsMirror(obj as Record<string, torch.Tensor>) : toMirror(obj), ...extra };
      };
      const dtypes = everyDtype();
      put('dtypes.pt', dtypes, { weightsOnly: true });
      put('dtypes.safetensors', dtypes);
      put('zip64.pt', dtypes, { weightsOnly: true }, { zip64: true });

      torch.manualSeed(11);
      const specs: [string, torch.nn.Module, Record<string, unknown>, torch.Tensor][] = [
        ['lstm', new nn.LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, batchFirst: true }), { kind: 'LSTM', kwargs: { input_size: 3, hidden_size: 5, num_layers: 2, batch_first: true } }, torch.randn([2, 4, 3])],
        ['gru', new nn.GRU({ inputSize: 3, hiddenSize: 4, bidirectional: true }), { kind: 'GRU', kwargs: { input_size: 3, hidden_size: 4, bidirectional: true } }, torch.randn([5, 2, 3])],
        ['mlp', new nn.Sequential(new nn.Linear(4, 8), new Tanh(), new nn.Linear(8, 3)), { kind: 'Sequential', layers: [['linear', 4, 8], ['tanh'], ['linear', 8, 3]] }, torch.randn([6, 4])],
      ];
      for (const [name, m, spec, x] of specs) {
        m.eval();
        const outputs = flat(torch.noGrad(() => m.forward(x))).map((t) => toMirror(t).__tensor__);
        const module = { ...spec, input: toMirror(x).__tensor__, outputs };
        put(`${name}.${name === 'mlp' ? 'pth' : 'pt'}`, m.stateDict(), { weightsOnly: true, module });
        put(`${name}.safetensors`, m.stateDict(), { module });
      }

      const shared = torch.arange(6).reshape(2, 3);
      put('structure.pt', {
        tensors: [shared, { again: shared, t: shared.transpose(0, 1), row: shared.select(0, 1) }],
        ints: { 0: 'zero', 7: [1, -2, 70000, -(2 ** 40), 2 ** 53 - 1], big: 2n ** 63n },
        map: new Map<string | number, unknown>([[5, true], ['x', null]]),
        text: 'ünïcödé ✓', flags: [true, false, null], empty: {}, none: [], zero: torch.tensor(0, { dtype: 'int32' }), nothing: torch.zeros([0]),
      }, { weightsOnly: true });
      const model = new nn.Linear(3, 2);
      const adam = new torch.optim.Adam(model.parameters(), { lr: 0.01 });
      for (let i = 0; i < 2; i++) {
        adam.zeroGrad();
        model.forward(torch.randn([4, 3])).pow(2).sum().backward();
        adam.step();
      }
      put('optimizer.pt', { optimizer: adam.stateDict(), ratio: 0.25, nan: NaN, inf: -Infinity }, { weightsOnly: false });
      fs.writeFileSync(path.join(out, 'expected.json'), JSON.stringify({ files }));
      const r = child_process.spawnSync(PYTHON, [path.join(ROOT, 'scripts', 'check-interop.py'), out], { encoding: 'utf8', timeout: 240000 });
      const report = `${r.stdout}\n${r.stderr}`;
      assert.strictEqual(r.status, 0, report);
      assert.match(r.stdout, /check-interop: all 11 files OK/);
      assert.match(r.stdout, /torch\.nn\.LSTM\.load_state_dict\(strict=True\) and forward: 3 outputs match/);
      removeDir(out);
    });
  });
});
