import * as assert from 'assert';
import * as childProcess from 'child_process';
import * as torch from '../lib';
import { native } from '../lib/binding';
import { assertMatches, Encoded, invalid, loadFixture, throwsTorch, values } from './helpers';

describe('tensor creation', () => {
  it('infers shape and dtype from nested arrays as torch.tensor does', () => {
    const f = torch.tensor([[1.5, 2], [3, 4]]);
    assert.strictEqual(f.dtype, 'float32');
    assert.deepStrictEqual(f.shape, [2, 2]);
    assert.deepStrictEqual(values(f), [1.5, 2, 3, 4]);
    const i = torch.tensor([1, 2, 3]);
    assert.strictEqual(i.dtype, 'int64');
    assert.deepStrictEqual(Array.from(i.dataSync() as BigInt64Array), [1n, 2n, 3n]);
    const b = torch.tensor([true, false]);
    assert.strictEqual(b.dtype, 'bool');
    assert.deepStrictEqual(values(b), [1, 0]);
    assert.strictEqual(torch.tensor(3.5).dim(), 0);
    assert.strictEqual(torch.tensor(3.5).item(), 3.5);
    assert.deepStrictEqual(torch.tensor([]).shape, [0]);
    assert.strictEqual(torch.tensor([]).dtype, 'float32');
    assert.deepStrictEqual(torch.tensor([2n ** 62n, 1n]).dataSync(), BigInt64Array.from([2n ** 62n, 1n]));
  });

  it('converts to the requested dtype, from float64 values', () => {
    const t = torch.tensor([0.1, 1e10], { dtype: 'float64' });
    assert.deepStrictEqual(values(t), [0.1, 1e10]);
    assert.deepStrictEqual(values(torch.tensor([1.7, -1.7], { dtype: 'int32' })), [1, -1]);
    const h = torch.tensor([1.5, -2], { dtype: 'float16' });
    assert.deepStrictEqual(values(h), [0x3e00, 0xc000]);
    const bf = torch.tensor([1.5], { dtype: 'bfloat16' });
    assert.deepStrictEqual(values(bf), [0x3fc0]);
  });

  it('takes typed arrays with their own dtype, and shape', () => {
    const data = new Float64Array([1, 2, 3, 4, 5, 6]);
    const t = torch.tensor(data, { shape: [2, 3] });
    assert.strictEqual(t.dtype, 'float64');
    assert.deepStrictEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
    data[0] = 99; // a copy was taken
    assert.strictEqual(t.toArray() instanceof Array && (t.toArray() as number[][])[0][0], 1);
    assert.strictEqual(torch.tensor(new Int32Array([1, 2])).dtype, 'int32');
    assert.strictEqual(torch.tensor(new BigInt64Array([1n])).dtype, 'int64');
    assert.strictEqual(torch.tensor(new Uint8Array([1, 2])).dtype, 'uint8');
    assert.strictEqual(torch.tensor(new Int8Array([-1])).dtype, 'int8');
    const half = torch.tensor(new Uint16Array([0x3c00]), { dtype: 'float16' });
    assert.strictEqual(half.to('float32').item(), 1);
    // a subarray view starts at its own offset
    const view = new Float32Array([9, 9, 1, 2]).subarray(2);
    assert.deepStrictEqual(values(torch.tensor(view)), [1, 2]);
  });

  it('reinterprets Buffers and ArrayBuffers as raw little-endian bytes', () => {
    const buf = Buffer.alloc(8);
    buf.writeFloatLE(1.25, 0);
    buf.writeFloatLE(-3, 4);
    assert.deepStrictEqual(values(torch.tensor(buf, { dtype: 'float32' })), [1.25, -3]);
    assert.deepStrictEqual(values(torch.tensor(Buffer.from([1, 2, 3]))), [1, 2, 3]);
    const fb = torch.fromBuffer(buf.buffer.slice(buf.byteOffset, buf.byteOffset + 8), { dtype: 'float32', shape: [2, 1] });
    assert.deepStrictEqual(fb.toArray(), [[1.25], [-3]]);
    const odd = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0xc0, 0x3f]).subarray(1, 9); // unaligned view
    assert.deepStrictEqual(values(torch.fromBuffer(odd, { dtype: 'float64' })), [0.125]);
  });

  it('zeros, ones, full, eye, arange, linspace', () => {
    assert.deepStrictEqual(torch.zeros([2, 3]).toArray(), [[0, 0, 0], [0, 0, 0]]);
    assert.strictEqual(torch.zeros([2], { dtype: 'float64' }).dtype, 'float64');
    assert.deepStrictEqual(torch.ones([2], { dtype: 'int32' }).toArray(), [1, 1]);
    assert.strictEqual(torch.full([3], 1.5).dtype, 'float32');
    assert.strictEqual(torch.full([3], 2).dtype, 'int64');
    assert.strictEqual(torch.full([1], true).dtype, 'bool');
    assert.deepStrictEqual(torch.full([2, 2], 7, { dtype: 'float64' }).toArray(), [[7, 7], [7, 7]]);
    assert.deepStrictEqual(torch.eye(2, 3).toArray(), [[1, 0, 0], [0, 1, 0]]);
    assert.deepStrictEqual(torch.eye(2).toArray(), [[1, 0], [0, 1]]);
    assert.deepStrictEqual(torch.arange(4).toArray(), [0, 1, 2, 3]);
    assert.strictEqual(torch.arange(4).dtype, 'int64');
    assert.deepStrictEqual(torch.arange(1, 4).toArray(), [1, 2, 3]);
    assert.deepStrictEqual(torch.arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
    assert.strictEqual(torch.arange(0, 1, 0.25).dtype, 'float32');
    assert.deepStrictEqual(torch.arange(5, 0, -2).toArray(), [5, 3, 1]);
    assert.strictEqual(torch.arange(3, { dtype: 'float64' }).dtype, 'float64');
    assert.deepStrictEqual(torch.linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  });

  it('FIXED: arange with options as the fourth argument: every form, an undefined step or end is one not given (was refused)', () => {
    const got = (t: torch.Tensor) => [t.dtype, t.toArray()];
    // Python: torch.arange(0, 5, 2, dtype=torch.float64), torch.arange(1, 5, dtype=torch.float64), torch.arange(5, dtype=torch.int32)
    assert.deepStrictEqual(got(torch.arange(0, 5, 2, { dtype: 'float64' })), ['float64', [0, 2, 4]]);
    assert.deepStrictEqual(got(torch.arange(0, 1, 0.25, { dtype: 'float64' })), ['float64', [0, 0.25, 0.5, 0.75]]);
    assert.deepStrictEqual(got(torch.arange(1, 5, undefined, { dtype: 'float64' })), ['float64', [1, 2, 3, 4]]);
    assert.deepStrictEqual(got(torch.arange(5, undefined, undefined, { dtype: 'int32' })), ['int32', [0, 1, 2, 3, 4]]);
    assert.deepStrictEqual(got(torch.arange(0, 3, undefined, undefined)), ['int64', [0, 1, 2]]);
    assert.deepStrictEqual(got(torch.arange(0, 3, 1, {})), ['int64', [0, 1, 2]]);
    assert.deepStrictEqual(got(torch.arange(2, 0, -1, { dtype: 'float32', requiresGrad: false })), ['float32', [2, 1]]);
    invalid(() => torch.arange(0, undefined as never, 2), 'Expected a finite number for end but received undefined');
    invalid(() => torch.arange(0, 5, null as never, { dtype: 'float64' }), 'Expected a finite number for step but received null');
  });

  it('zerosLike, onesLike, randnLike keep shape, dtype and device', () => {
    const x = torch.ones([2, 3], { dtype: 'float64' });
    const z = torch.zerosLike(x);
    assert.deepStrictEqual([z.dtype, z.shape, z.device], ['float64', [2, 3], 'cpu']);
    assert.strictEqual(torch.onesLike(x, { dtype: 'int32' }).dtype, 'int32');
    assert.deepStrictEqual(torch.randnLike(x).shape, [2, 3]);
    assert.strictEqual(torch.zerosLike(x, { requiresGrad: true }).requiresGrad, true);
  });

  it('manualSeed gives the same random numbers as torch.manual_seed in Python', () => {
    const { random } = loadFixture<{ random: { seed: number; randn: Encoded; rand: Encoded; randint: Encoded; randn_f64: Encoded } }>('tensor-ops.json');
    torch.manualSeed(random.seed);
    assertMatches(torch.randn([2, 3]), random.randn, 'randn');
    assertMatches(torch.rand([4]), random.rand, 'rand');
    assertMatches(torch.randint(0, 10, [5]), random.randint, 'randint');
    assertMatches(torch.randn([3], { dtype: 'float64' }), random.randn_f64, 'randn float64');
    torch.manualSeed(BigInt(random.seed));
    assertMatches(torch.randn([2, 3]), random.randn, 'randn after a bigint seed');
  });

  it('FIXED: negative seeds wrap modulo 2^64 as in PyTorch (manualSeed(-1) was refused)', () => {
    // /usr/bin/python3 (torch 1.13; 2.6 gives the same): torch.manual_seed(-1); torch.rand(3).tolist()
    torch.manualSeed(-1);
    assert.deepStrictEqual(values(torch.rand([3])), [0.9937993884086609, 0.5713063478469849, 0.5700080394744873]);
    // torch.manual_seed(-2**63); torch.rand(3).tolist()
    torch.manualSeed(-(2n ** 63n));
    assert.deepStrictEqual(values(torch.rand([3])), [0.49625658988952637, 0.7682217955589294, 0.08847743272781372]);
    const draw = (seed: number | bigint) => { torch.manualSeed(seed); return values(torch.randn([4])); };
    assert.deepStrictEqual(draw(-1n), draw(2n ** 64n - 1n));
    assert.deepStrictEqual(draw(-5), draw(2n ** 64n - 5n));
    assert.deepStrictEqual(draw(-(2 ** 53 - 1)), draw(2n ** 64n - (2n ** 53n - 1n)));
    assert.notDeepStrictEqual(draw(-1), draw(1));
  });

  it('getRngState/setRngState resume the same random stream (torch.get_rng_state layout)', () => {
    torch.manualSeed(1);
    torch.randn([3]);
    const s = torch.getRngState();
    assert.deepStrictEqual([s.dtype, s.shape], ['uint8', [5056]]);
    const a = values(torch.randn([3]));
    torch.randn([10]);
    torch.setRngState(s);
    assert.deepStrictEqual(values(torch.randn([3])), a);
    assert.throws(() => torch.setRngState(torch.zeros([3]) as never), { code: 'ERR_INVALID_ARG', message: 'Expected a 1-D uint8 tensor from getRngState() for state but received a float32 Tensor of shape [3]' });
  });

  it('rand is in [0, 1) and randint in [low, high)', () => {
    const r = values(torch.rand([1000]));
    assert.ok(r.every((v) => v >= 0 && v < 1));
    const i = Array.from(torch.randint(-3, 3, [1000]).dataSync() as BigInt64Array, Number);
    assert.ok(i.every((v) => v >= -3 && v < 3));
    assert.deepStrictEqual([...new Set(i)].sort((a, b) => a - b), [-3, -2, -1, 0, 1, 2]);
  });

  it('requiresGrad option marks a leaf', () => {
    const w = torch.randn([2, 2], { requiresGrad: true });
    assert.strictEqual(w.requiresGrad, true);
    assert.strictEqual(w.isLeaf, true);
    assert.strictEqual(w.grad, null);
  });

  it('devices: cpu works; cuda is refused clearly without a GPU', () => {
    assert.strictEqual(torch.zeros([1], { device: 'cpu' }).device, 'cpu');
    assert.strictEqual(torch.cuda.isAvailable(), false);
    assert.strictEqual(torch.cuda.deviceCount(), 0);
    for (const device of ['cuda', 'cuda:0', 'cuda:1'] as const) {
      assert.throws(() => torch.ones([2], { device }), { name: 'TorchError', code: 'ERR_CUDA_UNAVAILABLE' });
    }
    assert.throws(() => torch.ones([2]).to('cuda'), { code: 'ERR_CUDA_UNAVAILABLE' });
  });

  it('threads: getNumThreads/setNumThreads', () => {
    const n = torch.getNumThreads();
    assert.ok(n >= 1);
    torch.setNumThreads(1);
    assert.strictEqual(torch.getNumThreads(), 1);
    torch.setNumThreads(n);
    assert.strictEqual(torch.getNumThreads(), n);
  });

  it('threads: 1 by default on every libtorch line, OMP_NUM_THREADS when it is set', () => {
    const run = (env: NodeJS.ProcessEnv) => {
      const res = childProcess.spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', "process.stdout.write(String(require('../lib').getNumThreads()))"], {
        cwd: __dirname, env, encoding: 'utf8', timeout: 60000,
      });
      assert.strictEqual(res.status, 0, res.stderr);
      return Number(res.stdout);
    };
    const { OMP_NUM_THREADS: _, ...env } = process.env;
    assert.strictEqual(run(env), 1);
    assert.strictEqual(run({ ...env, OMP_NUM_THREADS: '2' }), 2);
  });

  it('threads: setNumThreads reaches async jobs, which run on the executor thread', async () => {
    // with OpenMP the count is per thread: the executor takes the JS thread's with every job
    const n = torch.getNumThreads();
    try {
      for (const k of [2, 1, 3]) {
        torch.setNumThreads(k);
        assert.strictEqual(await native.getNumThreadsAsync(), k);
      }
    } finally {
      torch.setNumThreads(n);
    }
    assert.strictEqual(await native.getNumThreadsAsync(), n);
  });

  describe('setFlushDenormal (torch.set_flush_denormal)', () => {
    // 1e-39 is a float32 denormal (the smallest normal float32 is 1.18e-38). Results are
    // compared as bits: with the flags on, the JS thread itself reads a Float32Array denormal
    // as 0 (V8's float32 -> double conversion honours DAZ), which would hide what libtorch did.
    const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, 1)[0];
    const DENORMAL = bits(Float32Array.of(1e-39)); // 0x000ae398, computed with the flags off
    let d: torch.Tensor;
    let lin: torch.nn.Linear;
    let x: torch.Tensor;
    before(() => {
      d = torch.tensor([1e-39], { dtype: 'float32' });
      // Linear(1, 1) with weight 1e-19 on input 1e-20: normal operands, a denormal product,
      // computed by a job on the executor thread (FTZ/DAZ are per-thread CPU flags).
      lin = new torch.nn.Linear(1, 1, { bias: false });
      torch.noGrad(() => lin.weight.fill_(1e-19));
      x = torch.tensor([[1e-20]], { dtype: 'float32' });
    });
    const sync = () => bits(d.mul(1).dataSync() as Float32Array);
    const queued = () => lin.forwardAsync(x);
    const asyncBits = async (out: Promise<torch.Tensor>) => bits(await (await out).data() as Float32Array);

    afterEach(() => { torch.setFlushDenormal(false); });

    it('off (the default): float32 denormals survive, sync and async', async () => {
      assert.strictEqual(sync(), DENORMAL);
      assert.strictEqual(bits(torch.tensor([1e-39], { dtype: 'float32' }).mul(1).dataSync() as Float32Array), DENORMAL);
      assert.strictEqual(await asyncBits(queued()), DENORMAL);
    });

    it('on: denormals become 0 in sync calls and in async jobs; off again restores them', async function () {
      const supported = torch.setFlushDenormal(true);
      assert.strictEqual(supported, process.arch === 'x64' || process.arch === 'ia32', 'SSE3 FTZ/DAZ on x86');
      if (!supported) this.skip();
      assert.strictEqual(sync(), 0);
      assert.strictEqual(torch.tensor([1e-39], { dtype: 'float32' }).mul(1).dataSync()[0], 0);
      assert.strictEqual(await asyncBits(queued()), 0);
      assert.strictEqual(torch.setFlushDenormal(false), true);
      assert.strictEqual(sync(), DENORMAL);
      assert.strictEqual(await asyncBits(queued()), DENORMAL); // the executor thread switched back
    });

    it('an async job keeps the mode it was queued with', async function () {
      if (!torch.setFlushDenormal(true)) this.skip();
      const on1 = queued();
      torch.setFlushDenormal(false);
      const off1 = queued();
      torch.setFlushDenormal(true);
      const on2 = queued();
      torch.setFlushDenormal(false);
      assert.deepStrictEqual([await asyncBits(on1), await asyncBits(off1), await asyncBits(on2)], [0, DENORMAL, 0]);
    });

    it('refuses a non-boolean mode', () => {
      throwsTorch(() => torch.setFlushDenormal('yes' as never), 'ERR_INVALID_ARG', 'Expected a boolean for mode but received "yes"');
      throwsTorch(() => torch.setFlushDenormal(1 as never), 'ERR_INVALID_ARG', 'Expected a boolean for mode but received 1');
      throwsTorch(() => (torch.setFlushDenormal as (m?: boolean) => boolean)(), 'ERR_INVALID_ARG', 'Expected a boolean for mode but received undefined');
    });
  });
});
