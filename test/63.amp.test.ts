// Mixed precision (autocast, GradScaler, trainStep({ amp })), cuDNN flags and the CUDA paths,
// which throw ERR_CUDA_UNAVAILABLE on this CPU-only libtorch.
import * as assert from 'assert';
import * as torch from '../lib';
import { cudaMessage, HAS_CUDA, itNoCuda, sameParams, throwsTorch, values } from './helpers';
import { twins } from './models';

const { nn, optim } = torch;
const NO_CUDA = cudaMessage('cuda');

class Net extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 4, hiddenSize: 8, batchFirst: true });
  head = new nn.Linear(8, 3);
  forward(x: torch.Tensor): torch.Tensor {
    return this.head.forward(this.lstm.forward(x)[0].select(1, -1));
  }
}

const pair = (seed: number): [Net, Net] => twins(() => new Net(), seed);

const ce = (out: torch.Tensor, t: torch.Tensor) => out.to('float32').logSoftmax(-1).gather(1, t.unsqueeze(1)).neg().mean();

describe('autocast', () => {
  it('CPU autocast runs linear layers in bfloat16 inside the scope only, and nests', () => {
    const lin = new nn.Linear(4, 2);
    const x = torch.randn([3, 4]);
    assert.strictEqual(lin.forward(x).dtype, 'float32');
    assert.strictEqual(torch.isAutocastEnabled('cpu'), false);
    torch.autocast({ deviceType: 'cpu' }, () => {
      assert.strictEqual(torch.isAutocastEnabled('cpu'), true);
      assert.strictEqual(lin.forward(x).dtype, 'bfloat16');
      torch.autocast({ deviceType: 'cpu', enabled: false }, () => assert.strictEqual(lin.forward(x).dtype, 'float32'));
      assert.strictEqual(lin.forward(x).dtype, 'bfloat16');
      assert.strictEqual(x.add(1).dtype, 'float32', 'elementwise ops keep their dtype');
    });
    assert.strictEqual(torch.isAutocastEnabled('cpu'), false);
    assert.strictEqual(lin.forward(x).dtype, 'float32');
  });

  it('under autocast a float32 module takes a bfloat16 input (the operators cast it, as in PyTorch); outside it is refused', () => {
    // (a layer's bfloat16 output feeding the next: oneDNN's bfloat16 LSTM gives one on CPUs with AVX-512 BF16)
    torch.manualSeed(63);
    const lin = new nn.Linear(4, 2);
    const xb = torch.randn([3, 4]).to('bfloat16');
    assert.throws(() => lin.forward(xb), { code: 'ERR_INVALID_ARG', message: "Expected a float32 tensor (the module's dtype) for input but received a bfloat16 Tensor of shape [3, 4]" });
    const y = torch.autocast({ deviceType: 'cpu' }, () => lin.forward(xb));
    assert.strictEqual(y.dtype, 'bfloat16');
    // x·Wᵀ + b in bfloat16 (addmm rounds once, this twice: two bfloat16 ulps apart at most, 2^-6 relative)
    const want = Array.from(xb.matmul(lin.weight.to('bfloat16').t()).add(lin.bias!.to('bfloat16')).to('float32').dataSync() as Float32Array);
    Array.from(y.to('float32').dataSync() as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 2 ** -6 * Math.max(1, Math.abs(want[i])), `${i}: ${v} vs ${want[i]}`));
    const lstm = new nn.LSTM({ inputSize: 4, hiddenSize: 3 });
    assert.throws(() => lstm.forward(xb.unsqueeze(1)), { code: 'ERR_INVALID_ARG', message: "Expected a float32 tensor (the module's dtype) for input but received a bfloat16 Tensor of shape [3, 1, 4]" });
    const ln = new nn.LayerNorm([4]);
    assert.throws(() => ln.forward(torch.ones([2, 4], { dtype: 'int64' })), /Expected a float32 tensor \(the module's dtype\) for input but received an? int64/);
  });

  it('the state is restored when fn throws', () => {
    assert.throws(() => torch.autocast({ deviceType: 'cpu' }, () => { throw new Error('boom'); }), /boom/);
    assert.strictEqual(torch.isAutocastEnabled('cpu'), false);
  });

  it('async jobs queued inside the scope run with it (captured when queued, like grad mode)', async () => {
    const lin = new nn.Linear(4, 2);
    const x = torch.randn([3, 4]);
    const [inside, outside] = await Promise.all([
      torch.autocast({ deviceType: 'cpu' }, () => lin.forwardAsync(x)),
      lin.forwardAsync(x),
    ]) as torch.Tensor[];
    assert.strictEqual(inside.dtype, 'bfloat16');
    assert.strictEqual(outside.dtype, 'float32');
    const lo = values(inside.to('float32'));
    const hi = values(outside);
    const close = lo.every((v, i) => Math.abs(v - hi[i]) < 0.02 * Math.max(1, Math.abs(v)));
    assert.ok(close, 'bfloat16 result near the float32 one');
  });

  it('bad options', () => {
    throwsTorch(() => torch.autocast({ deviceType: 'tpu' } as never, () => 0), 'ERR_INVALID_ARG', 'Expected one of "cuda", "cpu" for deviceType but received "tpu"');
    throwsTorch(() => torch.autocast({ deviceType: 'cpu', dtype: 'float16' }, () => 0), 'ERR_INVALID_ARG', 'Expected bfloat16 (what CPU autocast supports) for dtype but received "float16"');
    throwsTorch(() => torch.autocast({ deviceType: 'cpu' }, 5 as never), 'ERR_INVALID_ARG', 'Expected a function for fn but received 5');
    throwsTorch(() => torch.autocast({ deviceType: 'cpu', enabld: true } as never, () => 0), 'ERR_INVALID_ARG', /^Expected one of the options deviceType, dtype, enabled, cacheEnabled for an option of options but received "enabld"$/);
  });
});

describe('GradScaler (device: cpu)', () => {
  it("scales, unscales, skips the step on inf gradients, backs off and grows as PyTorch's", () => {
    const p = new nn.Linear(2, 1);
    const opt = new optim.SGD(p.parameters(), { lr: 0.1 });
    const scaler = new torch.GradScaler({ device: 'cpu', initScale: 1024, growthInterval: 2 });
    const x = torch.ones([1, 2]);
    const run = (poison: boolean) => {
      opt.zeroGrad();
      const loss = p.forward(x).sum();
      const scaled = scaler.scale(loss);
      assert.strictEqual(scaled.item(), (loss.item() as number) * scaler.getScale());
      scaled.backward();
      if (poison) torch.noGrad(() => p.weight.grad!.fill_(Infinity));
      const before = values(p.weight);
      scaler.step(opt);
      scaler.update();
      return before;
    };
    const w0 = run(false);
    assert.notDeepStrictEqual(values(p.weight), w0, 'a good step is applied');
    assert.strictEqual(scaler.getScale(), 1024, 'one good step of growthInterval 2');
    const w1 = run(false);
    assert.notDeepStrictEqual(values(p.weight), w1);
    assert.strictEqual(scaler.getScale(), 2048, 'grown after two good steps');
    const w2 = run(true);
    assert.deepStrictEqual(values(p.weight), w2, 'the step with inf gradients is skipped');
    assert.strictEqual(scaler.getScale(), 1024, 'backed off');
    assert.deepStrictEqual(scaler.stateDict(), { scale: 1024, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2, _growth_tracker: 0 });
  });

  it('gradients are unscaled exactly: the same update as without scaling', () => {
    const [a, b] = pair(9);
    const x = torch.randn([5, 3, 4]);
    const y = torch.tensor([0, 1, 2, 0, 1], { dtype: 'int64' });
    const oa = new optim.Adam(a.parameters(), { lr: 0.01 });
    const ob = new optim.Adam(b.parameters(), { lr: 0.01 });
    const scaler = new torch.GradScaler({ device: 'cpu', initScale: 256 }); // a power of two: exact
    for (let i = 0; i < 3; i++) {
      oa.zeroGrad(); ce(a.forward(x), y).backward(); oa.step();
      ob.zeroGrad(); scaler.scale(ce(b.forward(x), y)).backward(); scaler.step(ob); scaler.update();
    }
    sameParams(a, b, 1e-6);
  });

  it('misuse is refused with PyTorch\'s messages; disabled is a pass-through', () => {
    const p = new nn.Linear(1, 1);
    const opt = new optim.SGD(p.parameters(), { lr: 0.1 });
    const scaler = new torch.GradScaler({ device: 'cpu' });
    throwsTorch(() => scaler.update(), 'ERR_INVALID_ARG', 'No inf checks were recorded prior to update(): call step(optimizer) (or unscale_) first');
    scaler.scale(p.forward(torch.ones([1, 1])).sum()).backward();
    scaler.unscale_(opt);
    throwsTorch(() => scaler.unscale_(opt), 'ERR_INVALID_ARG', 'unscale_() has already been called on this optimizer since the last update()');
    scaler.step(opt);
    throwsTorch(() => scaler.step(opt), 'ERR_INVALID_ARG', 'step() has already been called since the last update()');
    scaler.update();
    throwsTorch(() => new torch.GradScaler({ device: 'cpu', backoffFactor: 2 }), 'ERR_INVALID_ARG', 'Expected a number in (0, 1) for backoffFactor but received 2');
    throwsTorch(() => new torch.GradScaler({ device: 'cpu', initScale: 0 }), 'ERR_INVALID_ARG', 'Expected a finite number > 0 for initScale but received 0');
    const off = new torch.GradScaler({ enabled: false });
    const l = torch.ones([1]);
    assert.strictEqual(off.scale(l), l);
    assert.strictEqual(off.getScale(), 1);
    assert.deepStrictEqual(off.stateDict(), {});
  });
});

describe('trainStep({ amp })', () => {
  // Untraced, the forward runs on the JS thread under autocast exactly as the eager loop does:
  // the same numbers. Traced, the graph replays the recorded casts and bfloat16 matmuls, whose
  // kernels may accumulate in another order than eager linear's: bfloat16-close numbers.
  for (const [trace, tol] of [[false, 1e-6], [true, 2e-3]] as const) {
    it(`amp: true on the CPU follows an eager loop under bfloat16 autocast (${trace ? 'traced' : 'untraced'})`, async () => {
      const [a, b] = pair(2);
      const x = torch.randn([6, 5, 4]);
      const y = torch.tensor([0, 1, 2, 0, 1, 2], { dtype: 'int64' });
      // SGD: Adam would turn bfloat16-sized gradient differences near zero into full-size steps
      const oa = new optim.SGD(a.parameters(), { lr: 0.1 });
      const ob = new optim.SGD(b.parameters(), { lr: 0.1 });
      const step = torch.trainStep({ model: a, loss: ce, optimizer: oa, amp: true, trace });
      assert.strictEqual(step.scaler, null, 'no scaler for bfloat16');
      for (let i = 0; i < 5; i++) {
        const l = await step(x, y);
        ob.zeroGrad();
        const ref = torch.autocast({ deviceType: 'cpu' }, () => ce(b.forward(x), y));
        ref.backward();
        ob.step();
        assert.ok(Math.abs(l - (ref.item() as number)) <= tol * Math.max(1, Math.abs(l)), `step ${i}: ${l} vs ${ref.item()}`);
      }
      sameParams(a, b, tol);
    });
  }

  it('the traced amp graph holds bfloat16 casts and matmuls', () => {
    const m = new Net();
    const x = torch.randn([2, 5, 4]);
    const traced = torch.jit.trace(new (class extends nn.Module {
      net = m;
      forward(v: torch.Tensor) { return torch.autocast({ deviceType: 'cpu', cacheEnabled: false }, () => this.net.forward(v)); }
    })(), [x]);
    assert.match(traced.graph(x), /BFloat16\([^)]*\) = aten::addmm/);
    assert.strictEqual((traced.forward(x) as torch.Tensor).dtype, 'bfloat16');
  });

  for (const [trace, tol] of [[false, 1e-5], [true, 2e-3]] as const) it(`with a GradScaler the fused step skips overflowing steps and backs off as the eager scaler does (${trace ? 'traced' : 'untraced'})`, async () => {
    const [a, b] = pair(5);
    const x = torch.randn([4, 5, 4]);
    const y = torch.tensor([0, 1, 2, 0], { dtype: 'int64' });
    const oa = new optim.SGD(a.parameters(), { lr: 1e-4 }); // the loss is x1000
    const ob = new optim.SGD(b.parameters(), { lr: 1e-4 });
    // 2^127 overflows float32 gradients: the first steps are skipped until the scale is small enough
    const sa = new torch.GradScaler({ device: 'cpu', initScale: 2 ** 127, growthInterval: 3 });
    const sb = new torch.GradScaler({ device: 'cpu', initScale: 2 ** 127, growthInterval: 3 });
    const big = (out: torch.Tensor, t: torch.Tensor) => ce(out, t).mul(1000); // overflows float32 at scale 2^127
    const step = torch.trainStep({ model: a, loss: big, optimizer: oa, amp: { scaler: sa }, trace });
    assert.strictEqual(step.scaler, sa);
    const scales: [number, number][] = [];
    for (let i = 0; i < 12; i++) {
      await step(x, y);
      ob.zeroGrad();
      torch.tidy(() => sb.scale(torch.autocast({ deviceType: 'cpu' }, () => big(b.forward(x), y))).backward());
      sb.step(ob);
      sb.update();
      scales.push([sa.getScale(), sb.getScale()]);
    }
    scales.forEach(([p, q], i) => assert.strictEqual(p, q, `scale after step ${i}`));
    assert.ok(scales[0][0] < 2 ** 127, 'the first step overflowed and backed off');
    sameParams(a, b, tol);
  });

  it('bad amp options', () => {
    const m = new Net();
    const opt = new optim.SGD(m.parameters(), { lr: 0.1 });
    throwsTorch(() => torch.trainStep({ model: m, loss: ce, optimizer: opt, amp: { dtype: 'float16' } }), 'ERR_INVALID_ARG', 'Expected bfloat16 (what CPU autocast supports) for dtype but received "float16"');
    throwsTorch(() => torch.trainStep({ model: m, loss: ce, optimizer: opt, amp: { scaler: 3 as never } }), 'ERR_INVALID_ARG', 'Expected a GradScaler or null for amp.scaler but received 3');
    throwsTorch(() => torch.trainStep({ model: m, loss: ce, optimizer: opt, amp: 'yes' as never }), 'ERR_INVALID_ARG', 'Expected an options object for amp but received "yes"');
  });
});

describe('cuDNN flags and the CUDA paths', () => {
  it('backends.cudnn flags read and set libtorch\'s global context', () => {
    const { cudnn } = torch.backends;
    const saved = { benchmark: cudnn.benchmark, deterministic: cudnn.deterministic };
    try {
      cudnn.benchmark = true;
      cudnn.deterministic = true;
      assert.strictEqual(cudnn.benchmark, true);
      assert.strictEqual(cudnn.deterministic, true);
      cudnn.benchmark = false;
      assert.strictEqual(cudnn.benchmark, false);
      assert.strictEqual(cudnn.isAvailable(), HAS_CUDA && cudnn.isAvailable());
      if (!cudnn.isAvailable()) assert.strictEqual(cudnn.version(), null);
      throwsTorch(() => { cudnn.benchmark = 1 as never; }, 'ERR_INVALID_ARG', 'Expected a boolean for backends.cudnn.benchmark but received 1');
    } finally {
      cudnn.benchmark = saved.benchmark;
      cudnn.deterministic = saved.deterministic;
    }
  });

  itNoCuda('without CUDA every CUDA path throws ERR_CUDA_UNAVAILABLE', () => {
    throwsTorch(() => torch.cuda.synchronize(), 'ERR_CUDA_UNAVAILABLE', NO_CUDA);
    throwsTorch(() => torch.cuda.synchronize(1), 'ERR_CUDA_UNAVAILABLE', /device "cuda:1" cannot be used/);
    throwsTorch(() => torch.autocast({ deviceType: 'cuda' }, () => 0), 'ERR_CUDA_UNAVAILABLE', NO_CUDA);
    throwsTorch(() => new torch.GradScaler(), 'ERR_CUDA_UNAVAILABLE', NO_CUDA);
    throwsTorch(() => new nn.LSTM({ inputSize: 1, hiddenSize: 1 }).to('cuda'), 'ERR_CUDA_UNAVAILABLE', NO_CUDA);
    throwsTorch(() => torch.ones([2]).to('cuda:0'), 'ERR_CUDA_UNAVAILABLE', /device "cuda:0" cannot be used/);
    throwsTorch(() => torch.zeros([2], { device: 'cuda' }), 'ERR_CUDA_UNAVAILABLE', NO_CUDA);
    assert.strictEqual(torch.cuda.deviceCount(), 0);
    assert.strictEqual(new torch.GradScaler({ enabled: false }).isEnabled(), false, 'a disabled scaler needs no GPU');
  });
});
