// Every operation's output and input gradients against PyTorch 1.13 (scripts/gen-fixtures.py).
import * as assert from 'assert';
import * as torch from '../lib';
import { Tensor } from '../lib';
import { assertMatches, Encoded, fromFixture, loadFixture } from './helpers';

interface Case {
  name: string;
  inputs: (Encoded & { grad: boolean })[];
  outputs: Encoded[];
  gradOutputs?: (Encoded | null)[];
  grads?: (Encoded | null)[];
}

type Fn = (...xs: Tensor[]) => Tensor | Tensor[];
const OPS: Record<string, Fn> = {
  add: (x, y) => x.add(y),
  add_alpha: (x, y) => x.add(y, { alpha: 2.5 }),
  add_scalar: (x) => x.add(1.5),
  add_broadcast: (x, y) => x.add(y),
  sub: (x, y) => x.sub(y, { alpha: 0.5 }),
  sub_scalar: (x) => x.sub(2),
  mul: (x, y) => x.mul(y),
  mul_scalar: (x) => x.mul(3),
  div: (x, y) => x.div(y),
  div_scalar: (x) => x.div(4),
  div_floor: (x, y) => x.div(y, { roundingMode: 'floor' }),
  div_trunc: (x) => x.div(0.3, { roundingMode: 'trunc' }),
  neg: (x) => x.neg(),
  pow: (x, y) => x.pow(y),
  pow_scalar: (x) => x.pow(3),
  sqrt: (x) => x.sqrt(),
  exp: (x) => x.exp(),
  log: (x) => x.log(),
  abs: (x) => x.abs(),
  clamp: (x) => x.clamp(-0.5, 0.5),
  clamp_min: (x) => x.clamp(0.1),
  clamp_tensor: (x, lo, hi) => x.clamp(lo, hi),
  matmul: (x, y) => x.matmul(y),
  matmul_batched: (x, y) => x.matmul(y),
  matmul_vec: (x, y) => x.matmul(y),
  mm: (x, y) => x.mm(y),
  bmm: (x, y) => x.bmm(y),
  sum: (x) => x.sum(),
  sum_dim: (x) => x.sum(1),
  sum_dims_keepdim: (x) => x.sum([0, 2], true),
  mean: (x) => x.mean(),
  mean_dim: (x) => x.mean(-1),
  max_all: (x) => x.max(),
  max_dim: (x) => x.max(1),
  max_dim_keepdim: (x) => x.max(2, true),
  min_all: (x) => x.min(),
  min_dim: (x) => x.min(0),
  maximum: (x, y) => x.max(y),
  minimum: (x, y) => x.min(y),
  argmax: (x) => x.argmax(),
  argmax_dim: (x) => x.argmax(1),
  argmin_dim_keepdim: (x) => x.argmin(2, true),
  softmax: (x) => x.softmax(1),
  log_softmax: (x) => x.logSoftmax(-1),
  tanh: (x) => x.tanh(),
  sigmoid: (x) => x.sigmoid(),
  relu: (x) => x.relu(),
  gelu: (x) => x.gelu(),
  gelu_tanh: (x) => x.gelu({ approximate: 'tanh' }),
  eq: (x, y) => x.eq(y), ne: (x, y) => x.ne(y), gt: (x, y) => x.gt(y),
  lt: (x, y) => x.lt(y), ge: (x, y) => x.ge(y), le: (x, y) => x.le(y),
  eq_scalar: (x) => x.eq(0), ne_scalar: (x) => x.ne(0), gt_scalar: (x) => x.gt(0),
  lt_scalar: (x) => x.lt(0), ge_scalar: (x) => x.ge(0), le_scalar: (x) => x.le(0),
  where: (c, x, y) => torch.where(c, x, y),
  where_scalar: (c, x) => torch.where(c, x, 0),
  reshape: (x) => x.reshape(4, -1),
  view: (x) => x.view([6, 4]),
  flatten: (x) => x.flatten(),
  flatten_range: (x) => x.flatten(1, 2),
  squeeze: (x) => x.squeeze(),
  squeeze_dim: (x) => x.squeeze(1),
  unsqueeze: (x) => x.unsqueeze(1),
  unsqueeze_neg: (x) => x.unsqueeze(-1),
  transpose: (x) => x.transpose(0, 2),
  permute: (x) => x.permute(2, 0, 1),
  contiguous: (x) => x.transpose(0, 1).contiguous(),
  expand: (x) => x.expand(2, 3, 4),
  cat: (x, y) => torch.cat([x, y], 1),
  stack: (x, y) => torch.stack([x, y], 1),
  split: (x) => x.split(2, 1),
  split_sizes: (x) => x.split([1, 3], 2),
  chunk: (x) => x.chunk(3, 1),
  select: (x) => x.select(1, -1),
  slice: (x) => x.slice(1, 1, 3),
  slice_step: (x) => x.index(['...', '::2']),
  narrow: (x) => x.narrow(2, 1, 2),
  index_mixed: (x, i) => x.index([0, '1:', i]),
  index_none_ellipsis: (x) => x.index([null, '...', 1]),
  index_bool: (x, m) => x.index([m]),
  index_select: (x, i) => x.indexSelect(1, i),
  gather: (x, i) => x.gather(2, i),
  masked_fill: (x, m) => x.maskedFill(m, -1.5),
  to_other: (x) => x.to(x.dtype === 'float32' ? 'float64' : 'float32'),
  clone: (x) => x.clone(),
  int_add: (x, y) => x.add(y),
  int_add_scalar: (x) => x.add(2),
  int_add_float_scalar: (x) => x.add(2.5),
  int_mul_float: (x, y) => x.mul(y),
  int_div: (x, y) => x.div(y),
  int_div_floor: (x, y) => x.div(y, { roundingMode: 'floor' }),
  int_sum: (x) => x.sum(),
  int_mean_float64: (x) => x.to('float64').mean(),
  int32_add: (x, y) => x.add(y),
  int_pow: (x) => x.pow(2),
  int_neg_abs: (x) => x.neg().abs(),
  sum_dtype: (x) => x.sum(null, false, { dtype: 'float64' }),
  bool_sum: (m) => m.sum(),
  add_inplace: (x, y) => x.clone().add_(y, { alpha: 2 }),
  mul_inplace_scalar: (x) => x.clone().mul_(3),
  zero_inplace: (x) => x.clone().zero_(),
  fill_inplace: (x) => x.clone().fill_(2.5),
  copy_inplace: (x, y) => x.clone().copy_(y),
  chain_grad: (x, w, b) => x.matmul(w).add(b).tanh().softmax(-1).log().mean(0),
};

const fixture = loadFixture<{ cases: Case[] }>('tensor-ops.json');

describe('tensor operations match PyTorch (outputs and gradients)', () => {
  it('covers every fixture case', () => {
    const missing = fixture.cases.map((c) => c.name.replace(/_f64$/, '')).filter((n) => !(n in OPS));
    assert.deepStrictEqual(missing, []);
    assert.ok(fixture.cases.length > 150);
  });

  for (const c of fixture.cases) {
    it(c.name, () => {
      torch.tidy(() => {
        const inputs = c.inputs.map((e) => fromFixture(e, e.grad));
        const result = OPS[c.name.replace(/_f64$/, '')](...inputs);
        const outs = Array.isArray(result) ? result : [result];
        assert.strictEqual(outs.length, c.outputs.length, 'number of outputs');
        outs.forEach((o, i) => assertMatches(o, c.outputs[i], `output ${i}`));
        if (c.grads && c.gradOutputs) {
          const diffOuts = outs.filter((_, i) => c.gradOutputs![i] !== null);
          const gos = c.gradOutputs.filter((g): g is Encoded => g !== null).map((g) => fromFixture(g));
          const diffIns = inputs.filter((_, i) => c.inputs[i].grad);
          const grads = torch.autograd.grad(diffOuts, diffIns, { gradOutputs: gos, allowUnused: true });
          let k = 0;
          c.grads.forEach((g, i) => {
            if (!c.inputs[i].grad) return;
            const got = grads[k++];
            if (g === null) assert.strictEqual(got, null, `grad ${i}`);
            else assertMatches(got!, g, `grad of input ${i}`);
          });
        }
      });
    });
  }
});

describe('slices past the ends clamp as Python\'s do (numbers beyond ±(2^53 - 1) are refused: test/14)', () => {
  // /usr/bin/python3: x = torch.arange(10); x[5:100].tolist(), ... (the same on 1.13 and 2.6)
  const PYTHON: [string, number[]][] = [
    ['5:100', [5, 6, 7, 8, 9]], ['-100:', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]], [':-100', []], ['100:', []], ['-100:-50', []],
    ['::100', [0]], ['3:1', []], ['-3:', [7, 8, 9]], ['9007199254740991:', []], ['-9007199254740991:', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
    [':9007199254740991', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]], ['-9007199254740991:-9007199254740990', []],
  ];
  it('index strings, {start, stop, step} objects and slice() give Python\'s x[a:b:c]', () => {
    const x = torch.arange(10);
    for (const [s, want] of PYTHON) {
      assert.deepStrictEqual(x.index([s]).toArray(), want, `x[${s}]`);
      const [a, b, c] = s.split(':').map((v) => (v === undefined || v === '' ? null : Number(v)));
      assert.deepStrictEqual(x.index([{ start: a, stop: b, step: c ?? null }]).toArray(), want, `x[{${s}}]`);
      assert.deepStrictEqual(x.slice(0, a, b, c ?? 1).toArray(), want, `x.slice(0, ${s})`);
    }
    // y = torch.arange(12).reshape(3, 4): y[:, -100:2], y[1:100, ::3], y[..., 3:9007199254740991]
    const y = torch.arange(12).reshape([3, 4]);
    assert.deepStrictEqual(y.index([':', '-100:2']).toArray(), [[0, 1], [4, 5], [8, 9]]);
    assert.deepStrictEqual(y.index(['1:100', '::3']).toArray(), [[4, 7], [8, 11]]);
    assert.deepStrictEqual(y.index(['...', '3:9007199254740991']).toArray(), [[3], [7], [11]]);
  });
});

// add/sub/mul/div of small same-shape contiguous float32/int32 tensors are computed by the
// addon (native/small_binary.cc) instead of libtorch's TensorIterator: the bits must be
// libtorch's. The same values in a tensor too large for that path are libtorch's reference.
describe('small elementwise add, sub, mul and div', () => {
  const bits = (t: Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array | Int32Array).slice().buffer));
  const floats = Float32Array.from([1.5, -2.25, 0, -0, NaN, Infinity, -Infinity, 1e-40, -3e-39, 3.4e38, 1 / 3, 7, 0.1, -1e-7, 2 ** 24 + 1, 5e-45]);
  const others = Float32Array.from([0.1, 3, -0, 0, 1, Infinity, 2.5, 1e-40, 1e30, 3.4e38, 3, 0, 0.2, -1e-7, 1, 0.5]);
  const ints = Int32Array.from([2147483647, -2147483648, -2147483648, 46341, -7, 0, 1, 65536]);
  const intOthers = Int32Array.from([1, -1, 1, 46341, 3, 0, -2147483648, 65536]);
  const large = (a: Float32Array | Int32Array) => {
    const out = new (a.constructor as Float32ArrayConstructor)(a.length * 200);
    for (let i = 0; i < out.length; i++) out[i] = a[i % a.length];
    return out;
  };
  const ops: [string, (x: Tensor, y: Tensor) => Tensor][] = [
    ['add', (x, y) => x.add(y)], ['sub', (x, y) => x.sub(y)], ['mul', (x, y) => x.mul(y)], ['div', (x, y) => x.div(y)],
    ['add alpha 2', (x, y) => x.add(y, { alpha: 2 })], ['sub alpha 0.5', (x, y) => x.sub(y, { alpha: 0.5 })],
  ];
  for (const [name, f] of ops) {
    it(`${name}: float32 and int32 bits as libtorch's`, () => {
      const cases: [Float32Array | Int32Array, Float32Array | Int32Array, number[]][] = [[floats, others, [4, 4]], [floats, others, [16]]];
      if (name !== 'div' && name !== 'sub alpha 0.5') cases.push([ints, intOthers, [2, 4]]);
      for (const [a, b, shape] of cases) {
        const small = f(torch.tensor(a, { shape }), torch.tensor(b, { shape }));
        const big = f(torch.tensor(large(a)), torch.tensor(large(b)));
        assert.strictEqual(small.dtype, big.dtype);
        assert.deepStrictEqual(small.shape, shape);
        assert.deepStrictEqual(bits(small), bits(big).slice(0, a.length), `${name} ${small.dtype}`);
      }
    });
  }
  it('leave gradients, broadcasting, views and other dtypes to libtorch', () => {
    const x = torch.tensor([[1.5, 2], [3, 4]], { requiresGrad: true });
    const y = torch.tensor([[0.5, 0.25], [2, 4]]);
    const z = x.mul(y).add(y).sub(x).div(y);
    z.sum().backward();
    assert.deepStrictEqual(Array.from(x.grad!.dataSync() as Float32Array), [1 - 2, 1 - 4, 1 - 0.5, 1 - 0.25]);
    assert.deepStrictEqual(x.t().add(y).toArray(), [[2, 3.25], [4, 8]]);                        // a transposed operand
    assert.deepStrictEqual(torch.tensor([1.5, 2]).add(torch.tensor([[10], [20]])).toArray(), [[11.5, 12], [21.5, 22]]);
    assert.deepStrictEqual(torch.tensor([1, 2], { dtype: 'float64' }).mul(torch.tensor([3, 4], { dtype: 'float64' })).toArray(), [3, 8]);
    assert.strictEqual(torch.tensor(new Int32Array([7, 9])).div(torch.tensor(new Int32Array([2, 3]))).dtype, 'float32');
  });
});
