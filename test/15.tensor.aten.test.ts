/**
 * Issue 20: every libtorch operator by name (`torch.ops.<ns>.<name>[.<overload>]`,
 * lib/aten/) and the generated public API (lib/api/), with Python's calling convention:
 * positional arguments, one trailing options object (camelCase keys), overloads chosen by the
 * arguments' types as Python's argument parser chooses them, named multiple returns, in-place
 * forms returning self. The expected numbers are PyTorch 1.13's and 2.6's (the same for these
 * calls), printed by /usr/bin/python3. Numeric parity over PyTorch's own operator database:
 * test/17.
 */
import * as assert from 'assert';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { libtorchLine } from '../lib/compat';
import { invalid, throwsTorch, values } from './helpers';

const x = () => torch.tensor([[1, 5, 2, 4], [3, 0, 9, 1]], { dtype: 'float32' });

function close(t: torch.Tensor, expected: number[], label: string): void {
  const got = values(t);
  assert.strictEqual(got.length, expected.length, label);
  got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-4, `${label}[${i}]: ${v} vs ${expected[i]}`));
}

describe('torch.ops: any registered operator by name', () => {
  it('resolves the overload from the arguments and takes options by name', () => {
    const r = torch.ops.aten.topk(x(), 2, { dim: 1, largest: false });
    assert.strictEqual(Array.isArray(r), true);
    assert.deepStrictEqual(values(r.values), [1, 2, 0, 1]);
    assert.deepStrictEqual(values(r.indices), [0, 2, 1, 3]);
    assert.strictEqual(r[0], r.values);
    // snake_case keys work as in Python
    close(torch.ops.aten.std(x(), { dim: [0, 1], keepdim: true, unbiased: false }), [2.7128], 'std.dim');
    assert.deepStrictEqual(torch.ops.aten.std(x(), { dim: [0, 1], keepdim: true, unbiased: false }).shape, [1, 1]);
    close(torch.ops.aten.sum(x(), [1], false, { dtype: 'float64' }), [12, 13], 'sum.dim_IntList');
    assert.strictEqual(torch.ops.aten.sum(x(), [1], false, { dtype: 'float64' }).dtype, 'float64');
  });

  it('numbers: a Scalar overload over a wrapped-number tensor, ints stay ints', () => {
    // pow(2, t) is pow.Scalar (self takes no number); pow(t, 2) keeps int64; add(int, 2.5) promotes
    assert.deepStrictEqual(values(torch.ops.aten.pow(2, torch.tensor([1, 2, 3]))), [2, 4, 8]);
    assert.strictEqual(torch.ops.aten.pow(torch.tensor([1, 2, 3]), 2).dtype, 'int64');
    const a = torch.ops.aten.add(torch.tensor([1, 2]), 2.5);
    assert.strictEqual(a.dtype, 'float32');
    assert.deepStrictEqual(values(a), [3.5, 4.5]);
  });

  it('names an overload: .default and .<overload>', () => {
    assert.deepStrictEqual(values(torch.ops.aten.add.Tensor(x(), x(), { alpha: 2 })), [3, 15, 6, 12, 9, 0, 27, 3]);
    assert.deepStrictEqual(torch.ops.aten.sum.default(x()).shape, []);
    assert.match(torch.ops.aten.topk.default.schema, /^aten::topk\(Tensor self, int k, int dim=-1, bool largest=True, bool sorted=True\) -> \(Tensor values, Tensor indices\)$/);
    assert.ok(torch.ops.aten.sum.overloads().includes('dim_IntList'));
    assert.ok(torch.ops.aten.sum.overloads().includes('default'));
  });

  it('in-place and out= forms return the very tensors they wrote', () => {
    const y = torch.zeros([2, 4]);
    assert.strictEqual(torch.ops.aten.add_(y, 1), y);
    assert.deepStrictEqual(values(y), [1, 1, 1, 1, 1, 1, 1, 1]);
    const v = torch.zeros([2, 2]);
    const i = torch.zeros([2, 2], { dtype: 'int64' });
    const r = torch.ops.aten.topk.values(x(), 2, { values: v, indices: i });
    assert.strictEqual(r.values, v);
    assert.strictEqual(r.indices, i);
    assert.deepStrictEqual(values(v), [5, 4, 9, 3]);
  });

  it('scalars, lists and tuples of tensors come back as JavaScript values', () => {
    assert.strictEqual(torch.ops.aten.size(x(), 1), 4);
    assert.strictEqual(torch.ops.aten.is_floating_point(x()), true);
    const u = torch.ops.aten.unique_dim(torch.tensor([3, 1, 3, 2]), 0);
    assert.deepStrictEqual(u.map(values), [[1, 2, 3], [2, 0, 2, 1], [1, 1, 2]]);
    const parts = torch.ops.aten.split(torch.arange(5), 2);
    assert.deepStrictEqual(parts.map(values), [[0, 1], [2, 3], [4]]);
  });

  it('callAsync: the same call as a job on the executor thread', async () => {
    const r = await torch.ops.aten.topk.callAsync(x(), 2, { dim: 1, largest: false });
    assert.deepStrictEqual(values(r.values), [1, 2, 0, 1]);
    assert.deepStrictEqual(values(r.indices), [0, 2, 1, 3]);
    const y = torch.zeros([2]);
    assert.strictEqual(await torch.ops.aten.add_.Tensor.callAsync(y, 1), y);
    assert.deepStrictEqual(values(y), [1, 1]);
    // bad arguments reject before anything is queued; libtorch's refusals reject with ERR_TORCH
    await assert.rejects(torch.ops.aten.topk.callAsync(x(), 'a'), { code: 'ERR_INVALID_ARG' });
    await assert.rejects(torch.ops.aten.mm.callAsync(torch.ones([2, 3]), torch.ones([2, 3])), { code: 'ERR_TORCH', message: /mat1 and mat2 shapes cannot be multiplied/ });
  });

  it('reaches other namespaces, torchrnn\'s own operators included', () => {
    assert.ok('lstm_layer' in torch.ops.torchrnn);
    assert.ok(Object.keys(torch.ops.torchrnn).includes('gru_layer'));
    assert.ok(Object.keys(torch.ops).includes('aten'));
  });

  it('bad arguments: ERR_INVALID_ARG naming the schema and the argument', () => {
    const topk = 'aten::topk(Tensor self, int k, int dim=-1, bool largest=True, bool sorted=True) -> (Tensor values, Tensor indices)';
    invalid(() => torch.ops.aten.topk.default(x(), '3'), `Expected an integer for argument 'k' of ${topk} but received "3"`);
    invalid(() => torch.ops.aten.topk.default(x()), `Expected an integer for argument 'k' of ${topk} but received nothing`);
    invalid(() => torch.ops.aten.topk.default(x(), 2, { dimm: 1 }), `Expected an option of ${topk} (k, dim, largest, sorted) for options.dimm but received 1`);
    invalid(() => torch.ops.aten.topk.default(x(), 2, 1, { dim: 1 }), `Expected argument 'dim' of ${topk} once but received it both positionally and as options.dim`);
    invalid(() => torch.ops.aten.topk.default(1, 2), `Expected a Tensor for argument 'self' of ${topk} but received 1`);
    const dead = x();
    dead.dispose();
    invalid(() => torch.ops.aten.topk.default(dead, 2), `Expected a live Tensor for argument 'self' of ${topk} but received a disposed Tensor`);
    // several overloads: the one that got furthest is named, then every overload is listed
    throwsTorch(() => torch.ops.aten.topk(x(), 'a'), 'ERR_INVALID_ARG', new RegExp(`^Expected an integer for argument 'k' of ${topk.replace(/[()[\]]/g, '\\$&')} but received "a"\n\\(torch.ops.aten.topk has 2 overloads:\n  aten::topk\\(`));
  });

  it('unknown operators and overloads: ERR_UNSUPPORTED naming the libtorch version', () => {
    const v = torch.buildInfo().libtorch;
    throwsTorch(() => torch.ops.aten.no_such_op, 'ERR_UNSUPPORTED', `torch.ops.aten.no_such_op is not an operator of libtorch ${v}`);
    throwsTorch(() => torch.ops.aten.add.NoSuchOverload, 'ERR_UNSUPPORTED', `torch.ops.aten.add.NoSuchOverload is not an operator of libtorch ${v}`);
  });

  it('libtorch\'s own refusals arrive as ERR_TORCH', () => {
    throwsTorch(() => torch.ops.aten.mm(torch.ones([2, 3]), torch.ones([2, 3])), 'ERR_TORCH', /mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)/);
  });

  it('records operations for autograd like any other call', () => {
    const a = torch.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
    torch.ops.aten.sum(torch.ops.aten.sin(a)).backward();
    close(a.grad!, [Math.cos(1), Math.cos(2), Math.cos(3)], 'd sin');
  });
});

describe('the generated public API (torch.*, Tensor methods, linalg, special, fft, nn.functional)', () => {
  it('Tensor methods and torch functions with positional arguments and options', () => {
    const { values: v, indices } = x().topk(2, { dim: 1, largest: false });
    assert.deepStrictEqual(values(v), [1, 2, 0, 1]);
    assert.deepStrictEqual(values(indices), [0, 2, 1, 3]);
    // Python lets optional arguments be positional too
    assert.deepStrictEqual(values(x().topk(2, 1, false).values), [1, 2, 0, 1]);
    assert.deepStrictEqual(values(torch.topk(x(), 3).values), [5, 4, 2, 9, 3, 1]);
    close(x().std(1), [1.8257, 4.0311], 'std(1)');
    close(x().var(1, { unbiased: false }), [2.5, 12.1875], 'var');
    const s = torch.sort(x(), { descending: true, dim: 0 });
    assert.deepStrictEqual(values(s.values), [3, 5, 9, 4, 1, 0, 2, 1]);
    assert.deepStrictEqual(values(s.indices), [1, 0, 1, 0, 0, 1, 0, 1]);
    const c = x().cumsum(1, { dtype: 'float64' });
    assert.strictEqual(c.dtype, 'float64');
    assert.deepStrictEqual(values(c), [1, 6, 8, 12, 3, 3, 12, 13]);
  });

  it("Python's varargs: permute(1, 0), repeat(2, 1), einsum(eq, a, b), meshgrid(a, b)", () => {
    assert.deepStrictEqual(x().permute(1, 0).shape, [4, 2]);
    assert.deepStrictEqual(x().repeat(2, 1).shape, [4, 4]);
    assert.deepStrictEqual(values(torch.einsum('ij,kj->ik', x(), x())), [46, 25, 25, 91]);
    assert.deepStrictEqual(values(torch.einsum('ij,kj->ik', [x(), x()])), [46, 25, 25, 91]);
    assert.deepStrictEqual(torch.meshgrid([torch.ones([2]), torch.ones([3])], { indexing: 'xy' }).map((t) => t.shape), [[3, 2], [3, 2]]);
  });

  it('heavy functions have Async forms (linalg, fft, decompositions, sorts): the same results', async () => {
    const a = torch.tensor([[4, 1], [1, 3]], { dtype: 'float64' });
    const [sync, async] = [torch.linalg.svd(a), await torch.linalg.svdAsync(a)];
    assert.deepStrictEqual(values(async.S), values(sync.S));
    assert.deepStrictEqual(values((await torch.topkAsync(x(), 1)).indices), [1, 2]);
    assert.deepStrictEqual(values(await torch.linalg.invAsync(torch.eye(2))), [1, 0, 0, 1]);
    await assert.rejects(torch.linalg.invAsync(torch.ones([2, 3])), { code: 'ERR_TORCH' });
    await assert.rejects(torch.cdistAsync(x(), 'a' as never), { code: 'ERR_INVALID_ARG' });
  });

  it('jit.trace records the generated operators like any other, and the traced module computes the same', () => {
    class M extends torch.nn.Module {
      forward(t: torch.Tensor) { return torch.ops.aten.sort(t.cumsum(1).sin(), { dim: 1 }).values.logsumexp([1]); }
    }
    const t = torch.randn([3, 4]);
    const traced = torch.jit.trace(new M(), [t]);
    const graph = traced.graph(t);
    for (const op of ['aten::cumsum', 'aten::sin', 'aten::sort', 'aten::logsumexp']) assert.ok(graph.includes(op), `${op} in\n${graph}`);
    const u = torch.randn([3, 4]);
    assert.deepStrictEqual(values(traced.forward(u) as torch.Tensor), values(new M().forward(u)));
  });

  it('complex results (torch.fft): complex64/complex128 tensors read as interleaved [re, im], print as PyTorch prints them', () => {
    // PyTorch 1.13 and 2.6: torch.fft.fft(torch.tensor([1., 2, 3, 4])) -> tensor([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
    const f = torch.fft.fft(torch.tensor([1, 2, 3, 4], { dtype: 'float32' }));
    assert.strictEqual(f.dtype, 'complex64');
    assert.deepStrictEqual(f.shape, [4]);
    assert.deepStrictEqual(Array.from(f.dataSync() as Float32Array), [10, 0, -2, 2, -2, 0, -2, -2]);
    assert.strictEqual(String(f), 'tensor([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])');
    assert.deepStrictEqual(f.index([1]).item(), { re: -2, im: 2 });
    assert.deepStrictEqual(torch.fft.fft(torch.tensor([1, 2], { dtype: 'float32' })).toArray(), [{ re: 3, im: 0 }, { re: -1, im: 0 }]);
    // a conjugate view (ifft's result, x.conj()) is a bit on the tensor: reading resolves it
    assert.deepStrictEqual(Array.from(f.conj().dataSync() as Float32Array), [10, -0, -2, -2, -2, -0, -2, 2]);
    assert.deepStrictEqual(values(torch.fft.irfft(torch.fft.rfft(torch.tensor([1, 2, 3, 4], { dtype: 'float32' })))), [1, 2, 3, 4]);
    // torch.complex(re, im); complex128 names its dtype as PyTorch does
    assert.strictEqual(String(torch.complex(torch.tensor([1.5, -2]), torch.tensor([0.25, 3]))), 'tensor([ 1.5000+0.2500j, -2.0000+3.0000j])');
    assert.strictEqual(String(torch.tensor([1.5], { dtype: 'complex128' })), 'tensor([1.5000+0.j], dtype=torch.complex128)');
    // safetensors has no complex dtype
    invalid(() => torch.save({ f }, path.join(os.tmpdir(), `torchrnn-complex-${process.pid}.safetensors`)),
      'Expected a tensor of a dtype safetensors stores (not complex) for f but received a complex64 Tensor of shape [4]');
  });

  it('in-place methods return this, with the shape they gave it', () => {
    const t = torch.tensor([1.5, -2.5]);
    assert.strictEqual(t.floor_(), t);
    assert.deepStrictEqual(values(t), [1, -3]);
    assert.deepStrictEqual(t.shape, [2]);
    assert.strictEqual(t.unsqueeze_(0), t);
    assert.deepStrictEqual(t.shape, [1, 2]);
    torch.ops.aten.t_(t);
    assert.deepStrictEqual(t.shape, [2, 1]);
  });

  it('linalg, special and nn.functional', () => {
    close(torch.linalg.vectorNorm(x(), { ord: 1, dim: 1 }), [12, 13], 'linalg.vector_norm');
    close(torch.special.logit(torch.tensor([0.25, 0.5])), [-1.0986, 0], 'special.logit');
    // Python's defaults where aten has none: dropout's training=True, here off
    assert.deepStrictEqual(values(torch.nn.functional.dropout(x(), { training: false })), values(x()));
    const r = torch.tensor([-1, 2]);
    assert.strictEqual(torch.nn.functional.relu(r, { inplace: true }), r);
    assert.deepStrictEqual(values(r), [0, 2]);
  });

  it('hand-written functions keep their own versions and messages', () => {
    invalid(() => x().add('a' as never), 'Expected a Tensor for other but received "a"');
    invalid(() => torch.nn.functional.mseLoss(x(), x(), { reduction: 'bad' as never }), 'Expected one of "none", "mean", "sum" for reduction but received "bad"');
  });

  it('errors name the public function and the schema', () => {
    invalid(() => (x() as unknown as { topk(k: unknown): unknown }).topk('a'), /^Expected an integer for argument 'k' of aten::topk\(Tensor self, int k/);
    invalid(() => (torch.nn.functional.softplus as (...a: unknown[]) => unknown)(x(), 1, 2, 3, 4), 'Expected at most 3 positional arguments for aten::softplus(Tensor self, Scalar beta=1, Scalar threshold=20) -> Tensor but received 5');
    // functions with Python's own signature (nn.functional's Python functions) name themselves
    invalid(() => (torch.nn.functional.dropout as (...a: unknown[]) => unknown)(x(), 0.5, true, false, 1), 'Expected at most 4 positional arguments for torch.nn.functional.dropout but received 5');
  });

  it('a name or option that only the other libtorch line has throws ERR_UNSUPPORTED naming it', () => {
    // Both lines expose the same TypeScript API (docs/api-coverage.md lists what one line lacks)
    const v = torch.buildInfo().libtorch;
    const t = torch.tensor([0, 1, 0, 2]);
    if (libtorchLine === '1.13') {
      throwsTorch(() => torch.nonzeroStatic(t, { size: 2 }), 'ERR_UNSUPPORTED', `torch.nonzero_static is not available in libtorch ${v}; libtorch 2.6 has it`);
      throwsTorch(() => t.toDense({ maskedGrad: true }), 'ERR_UNSUPPORTED', `options.maskedGrad of Tensor.to_dense is not available in libtorch ${v}; libtorch 2.6 has it`);
      assert.strictEqual(typeof torch.symeig, 'function');
    } else {
      throwsTorch(() => torch.symeig(torch.eye(2)), 'ERR_UNSUPPORTED', `torch.symeig is not available in libtorch ${v}; libtorch 1.13 has it`);
      assert.deepStrictEqual(values(torch.nonzeroStatic(t, { size: 2 })), [1, 3]);
    }
  });

  it('Python-level Tensor shorthands: float(), long(), cpu(), T, mT', () => {
    const i = torch.tensor([[1, 2, 3], [4, 5, 6]]);
    assert.strictEqual(i.float().dtype, 'float32');
    assert.strictEqual(i.float().long().dtype, 'int64');
    assert.strictEqual(i.double().dtype, 'float64');
    assert.strictEqual(i.bool().dtype, 'bool');
    assert.strictEqual(i.cpu().device, 'cpu');
    assert.deepStrictEqual(i.T.shape, [3, 2]);
    assert.deepStrictEqual(values(i.T), [1, 4, 2, 5, 3, 6]);
    assert.deepStrictEqual(torch.ones([2, 3, 4]).mT.shape, [2, 4, 3]);
    throwsTorch(() => torch.ones([3]).mT, 'ERR_TORCH', 'tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.');
  });

  it("factories take Python's requiresGrad; a lone int fills int[N]; torch.cat takes { dim }", () => {
    const e = torch.empty([2], { requiresGrad: true });
    assert.strictEqual(e.requiresGrad, true);
    invalid(() => torch.empty([2], { requiresGrad: 1 } as never), 'Expected a boolean for options.requiresGrad but received 1');
    // im2col's kernel_size is int[2]: 2 means [2, 2], as Python's argument parser expands it
    assert.deepStrictEqual(torch.ops.aten.im2col(torch.randn([1, 1, 5, 5]), 2, 1, 0, 1).shape, [1, 4, 16]);
    assert.deepStrictEqual(torch.cat([torch.ones([1, 2]), torch.ones([1, 2])], { dim: 1 }).shape, [1, 4]);
  });

  it("autograd's storage-less zero gradients read as zeros (they used to crash the process)", () => {
    // sgn's backward returns an "efficient zero" tensor with no storage
    const y = torch.tensor([1, -2, 3], { dtype: 'float32', requiresGrad: true });
    torch.sgn(y).backward(torch.ones([3]));
    assert.deepStrictEqual(values(y.grad!), [0, 0, 0]);
    const [g] = torch.autograd.grad(torch.sgn(y).sum(), [y]);
    assert.deepStrictEqual(Array.from(g!.dataSync() as Float32Array), [0, 0, 0]);
  });

  it('keeps memory flat', () => {
    const t = x();
    for (let i = 0; i < 50; i++) torch.tidy(() => { t.topk(2); torch.ops.aten.std(t, { dim: [1] }); t.cumsum(0); });
    const before = torch.memory().tensors;
    for (let i = 0; i < 200; i++) torch.tidy(() => { t.topk(2); torch.ops.aten.std(t, { dim: [1] }); t.cumsum(0); });
    assert.strictEqual(torch.memory().tensors, before);
  });
});
