import * as assert from 'assert';
import * as torch from '../lib';
import { byLine, throwsTorch, values } from './helpers';

describe('autograd', () => {
  it('backward accumulates into leaf .grad, as PyTorch does', () => {
    const x = torch.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
    x.mul(x).sum().backward();
    assert.deepStrictEqual(values(x.grad!), [2, 4, 6]);
    x.mul(3).sum().backward();
    assert.deepStrictEqual(values(x.grad!), [5, 7, 9]);
    x.grad!.zero_();
    assert.deepStrictEqual(values(x.grad!), [0, 0, 0]);
    x.grad = null;
    assert.strictEqual(x.grad, null);
  });

  it('backward with an explicit gradient and retainGraph', () => {
    const x = torch.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(x);
    y.backward(torch.tensor([1, 10], { dtype: 'float64' }), { retainGraph: true });
    assert.deepStrictEqual(values(x.grad!), [2, 40]);
    y.backward(torch.tensor([1, 1], { dtype: 'float64' }));
    assert.deepStrictEqual(values(x.grad!), [4, 44]);
    throwsTorch(() => y.backward(torch.tensor([1, 1], { dtype: 'float64' })), 'ERR_TORCH',
      /^Trying to backward through the graph a second time/);
  });

  it('backwardAsync runs on the executor and resolves when .grad is written', async () => {
    const w = torch.randn([4, 3], { requiresGrad: true });
    const x = torch.randn([5, 4]);
    const loss = x.matmul(w).tanh().sum();
    const expected = torch.autograd.grad(loss, w, { retainGraph: true })[0]!;
    const p = loss.backwardAsync();
    assert.ok(p instanceof Promise);
    await p;
    assert.deepStrictEqual(values(w.grad!), values(expected));
  });

  it('a failing backwardAsync rejects with a TorchError carrying the caller stack', async () => {
    const x = torch.ones([2], { requiresGrad: true });
    const y = x.mul(2).sum();
    await y.backwardAsync();
    await assert.rejects(y.backwardAsync(), (err: unknown) => {
      assert.ok(err instanceof torch.TorchError);
      assert.strictEqual(err.code, 'ERR_TORCH');
      assert.match(err.message, /^Trying to backward through the graph a second time/);
      assert.match(err.stack ?? '', /20\.autograd\.test\.ts/);
      return true;
    });
    // the executor goes on with later jobs
    const z = x.mul(3).sum();
    await z.backwardAsync();
    assert.deepStrictEqual(values(x.grad!), [5, 5]);
  });

  it('autograd.grad returns gradients without touching .grad, and supports higher order', () => {
    const x = torch.tensor([2], { dtype: 'float64', requiresGrad: true });
    const y = x.pow(3);
    const [dy] = torch.autograd.grad(y, x, { createGraph: true });
    assert.deepStrictEqual(dy!.toArray(), [12]);
    const [d2y] = torch.autograd.grad(dy!, x);
    assert.deepStrictEqual(d2y!.toArray(), [12]);
    assert.strictEqual(x.grad, null);
  });

  it('autograd.grad with allowUnused gives null for unused inputs', () => {
    const a = torch.ones([2], { requiresGrad: true });
    const b = torch.ones([2], { requiresGrad: true });
    const [ga, gb] = torch.autograd.grad(a.sum(), [a, b], { allowUnused: true });
    assert.deepStrictEqual(ga!.toArray(), [1, 1]);
    assert.strictEqual(gb, null);
    throwsTorch(() => torch.autograd.grad(a.sum(), [a, b]), 'ERR_TORCH', byLine({ '1.13': /^One of the differentiated Tensors/, '2.6': /^element 1of the differentiated Tensors/ }));
  });

  it('noGrad and enableGrad switch recording on the JS thread and restore it', () => {
    const x = torch.ones([2], { requiresGrad: true });
    const y = torch.noGrad(() => x.mul(2));
    assert.strictEqual(y.requiresGrad, false);
    assert.strictEqual(torch.isGradEnabled(), true);
    const z = torch.noGrad(() => torch.enableGrad(() => x.mul(2)));
    assert.strictEqual(z.requiresGrad, true);
    assert.throws(() => torch.noGrad(() => { throw new Error('boom'); }), /boom/);
    assert.strictEqual(torch.isGradEnabled(), true);
    torch.setGradEnabled(false);
    assert.strictEqual(x.mul(2).requiresGrad, false);
    torch.setGradEnabled(true);
  });

  it('detach, isLeaf, requiresGrad_, retainGrad', () => {
    const x = torch.ones([2], { requiresGrad: true });
    const y = x.mul(2);
    assert.strictEqual(x.isLeaf, true);
    assert.strictEqual(y.isLeaf, false);
    assert.strictEqual(y.detach().requiresGrad, false);
    y.retainGrad();
    y.sum().backward();
    assert.deepStrictEqual(y.grad!.toArray(), [1, 1]);
    const w = torch.zeros([2]).requiresGrad_();
    assert.strictEqual(w.requiresGrad, true);
    w.requiresGrad = false;
    assert.strictEqual(w.requiresGrad, false);
    throwsTorch(() => torch.zeros([2], { dtype: 'int64' }).requiresGrad_(), 'ERR_INVALID_ARG',
      'Expected a floating-point tensor (only they can require gradients) for self but received an int64 Tensor of shape [2]');
    throwsTorch(() => y.requiresGrad_(false), 'ERR_TORCH', /you can only change requires_grad flags of leaf variables/);
  });

  it('gradients flow through in-place operations like PyTorch', () => {
    const x = torch.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(1);
    y.mul_(3).add_(1);
    y.sum().backward();
    assert.deepStrictEqual(x.grad!.toArray(), [3, 3]);
  });
});
