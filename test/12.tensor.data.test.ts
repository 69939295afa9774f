import * as assert from 'assert';
import * as torch from '../lib';
import { Encoded, fromFixture, loadFixture } from './helpers';

describe('reading tensors', () => {
  it('dataSync and data() return typed copies for each dtype', async () => {
    const cases: [torch.DType, string][] = [
      ['float32', 'Float32Array'], ['float64', 'Float64Array'], ['int32', 'Int32Array'], ['int64', 'BigInt64Array'],
      ['uint8', 'Uint8Array'], ['bool', 'Uint8Array'], ['float16', 'Uint16Array'], ['bfloat16', 'Uint16Array'],
      ['int8', 'Int8Array'], ['int16', 'Int16Array'],
    ];
    for (const [dtype, cls] of cases) {
      const t = torch.ones([2, 2], { dtype });
      assert.strictEqual(t.dataSync().constructor.name, cls, dtype);
      const d = await t.data();
      assert.strictEqual(d.constructor.name, cls, dtype);
      assert.strictEqual((d as ArrayLike<unknown>).length, 4);
    }
  });

  it('data of a non-contiguous view is in logical order, and is a copy', async () => {
    const t = torch.arange(6).reshape(2, 3).transpose(0, 1);
    assert.deepStrictEqual(Array.from(t.dataSync() as BigInt64Array, Number), [0, 3, 1, 4, 2, 5]);
    const x = torch.zeros([3]);
    const d = x.dataSync();
    d[0] = 5;
    assert.strictEqual(x.item === undefined ? 0 : (x.toArray() as number[])[0], 0);
    const a = await x.data();
    x.fill_(2);
    assert.strictEqual(a[0], 0);
  });

  it('item, toArray', () => {
    assert.strictEqual(torch.tensor([[2.5]]).item(), 2.5);
    assert.strictEqual(torch.tensor(true).item(), true);
    assert.strictEqual(torch.tensor([7]).item(), 7);
    assert.deepStrictEqual(torch.tensor([[1, 2], [3, 4]]).toArray(), [[1, 2], [3, 4]]);
    assert.deepStrictEqual(torch.tensor([[true], [false]]).toArray(), [[true], [false]]);
    assert.strictEqual(torch.tensor(4).toArray(), 4);
    assert.deepStrictEqual(torch.zeros([2, 0]).toArray(), [[], []]);
  });

  it('shape, dtype, device, numel, dim, size', () => {
    const t = torch.zeros([2, 3, 4], { dtype: 'float64' });
    assert.deepStrictEqual(t.shape, [2, 3, 4]);
    assert.strictEqual(t.dtype, 'float64');
    assert.strictEqual(t.device, 'cpu');
    assert.strictEqual(t.numel(), 24);
    assert.strictEqual(t.dim(), 3);
    assert.strictEqual(t.size(-1), 4);
    assert.deepStrictEqual(t.size(), [2, 3, 4]);
    assert.throws(() => (t.shape as number[]).push(1), TypeError);
  });

  describe("toString() prints like PyTorch's print()", () => {
    const { prints } = loadFixture<{ prints: (Encoded & { name: string; str: string; grad: boolean })[] }>('tensor-ops.json');
    for (const p of prints) {
      it(p.name, () => {
        const t = fromFixture(p, p.grad);
        assert.strictEqual(t.toString(), p.str);
      });
    }
    it('shows grad_fn for results of recorded operations', () => {
      const x = torch.ones([2], { requiresGrad: true });
      assert.strictEqual(String(x.mul(2)), 'tensor([2., 2.], grad_fn=<MulBackward0>)');
      assert.strictEqual(String(x.sum()), 'tensor(2., grad_fn=<SumBackward0>)');
    });
  });
});
