import * as assert from 'assert';
import * as torch from '../lib';
import { native } from '../lib/binding';
import { settle, throwsTorch } from './helpers';

describe('memory', () => {
  it('memory() counts live tensors and the bytes of distinct storages', () => {
    const base = torch.memory();
    const a = torch.zeros([10, 10]);
    assert.deepStrictEqual(torch.memory(), { tensors: base.tensors + 1, bytes: base.bytes + 400 });
    const v = a.view(100); // shares a's storage: one more tensor, no more bytes
    assert.deepStrictEqual(torch.memory(), { tensors: base.tensors + 2, bytes: base.bytes + 400 });
    a.dispose();
    assert.deepStrictEqual(torch.memory(), { tensors: base.tensors + 1, bytes: base.bytes + 400 });
    v.dispose();
    assert.deepStrictEqual(torch.memory(), base);
    v.dispose(); // twice is harmless
    assert.deepStrictEqual(torch.memory(), base);
    throwsTorch(() => v.add(1), 'ERR_INVALID_ARG', 'Expected a live Tensor for self but received a disposed Tensor');
    assert.strictEqual(String(v), 'tensor(<disposed>)');
  });

  it('a disposed handle is reused for a later result, by one tensor only', () => {
    const base = torch.memory();
    const x = torch.tensor([1, 2]);
    const a = x.add(1);
    const h = a._h;
    a.dispose();
    native.dispose(h!); // a second dispose of the same handle must not offer it for reuse twice
    const b = x.add(2);
    const c = x.mul(x);
    assert.notStrictEqual(b._h, c._h);
    assert.ok(b._h === h || c._h === h, 'the disposed handle was not reused');
    assert.deepStrictEqual([b.toArray(), c.toArray()], [[3, 4], [1, 4]]);
    throwsTorch(() => a.add(1), 'ERR_INVALID_ARG', 'Expected a live Tensor for self but received a disposed Tensor');
    b.dispose();
    c.dispose();
    x.dispose();
    assert.deepStrictEqual(torch.memory(), base);
  });

  it('10,000 create/compute/dispose cycles return to the baseline', () => {
    const base = torch.memory();
    const w = torch.randn([8, 8], { requiresGrad: true });
    for (let i = 0; i < 10000; i++) {
      const x = torch.randn([4, 8]);
      const m = x.matmul(w);
      const y = m.relu();
      const s = y.sum();
      s.backward();
      const g = w.grad!;
      g.zero_();
      for (const t of [x, m, y, s, g]) t.dispose();
    }
    w.dispose();
    assert.deepStrictEqual(torch.memory(), base);
  });

  it('tidy disposes what the function made, keeps what it returns', () => {
    const base = torch.memory();
    const x = torch.ones([3]);
    const [kept, other] = torch.tidy(() => {
      const a = x.mul(2);
      const b = a.add(1);
      const c = torch.tidy(() => b.mul(b).sum());
      return [b, { c }] as const;
    });
    assert.deepStrictEqual(kept.toArray(), [3, 3, 3]);
    assert.strictEqual(other.c.item(), 27);
    assert.strictEqual(torch.memory().tensors, base.tensors + 3);
    const y = torch.tidy(() => torch.keep(x.mul(5)) && x.mul(6));
    assert.strictEqual(torch.memory().tensors, base.tensors + 5);
    for (const t of [x, kept, other.c, y]) t.dispose();
    assert.strictEqual(torch.memory().tensors, base.tensors + 1); // the kept x*5
    assert.throws(() => torch.tidy(() => { torch.ones([1]); throw new Error('inside'); }), /inside/);
    assert.strictEqual(torch.memory().tensors, base.tensors + 1);
    throwsTorch(() => torch.tidy((async () => torch.ones([1])) as never), 'ERR_INVALID_ARG',
      'Expected a synchronous function (tidy cannot track tensors across await) for fn but received a function returning a Promise');
  });

  it('`using` disposes at the end of the block', () => {
    const base = torch.memory().tensors;
    {
      using t = torch.ones([4]);
      assert.strictEqual(torch.memory().tensors, base + 1);
      assert.strictEqual(t.sum().item(), 4);
    }
    assert.ok(torch.memory().tensors <= base + 1); // the sum() result is left to the GC
  });

  it('tensors left to the garbage collector are freed', async () => {
    await settle(5); // finalizers of collected objects run on a later tick
    const base = torch.memory();
    (() => {
      for (let i = 0; i < 2000; i++) torch.ones([256]).mul(2);
    })();
    assert.ok(torch.memory().tensors > base.tensors);
    await settle(5);
    const after = torch.memory();
    assert.ok(after.tensors <= base.tensors + 10, `tensors: ${base.tensors} → ${after.tensors}`);
    assert.ok(after.bytes <= base.bytes + 10 * 1024, `bytes: ${base.bytes} → ${after.bytes}`);
  });

  it('native bytes put pressure on the GC: undisposed tensors do not pile up while the loop turns', async () => {
    // Node runs N-API finalizers on a later tick, so a program that never yields keeps its
    // garbage until it does (dispose() or tidy() free at once); one that awaits does not grow.
    await settle(5);
    const base = torch.memory().bytes;
    let peak = 0;
    for (let i = 0; i < 400; i++) {
      torch.zeros([1024, 1024]); // 4 MB each, never disposed: 1.6 GB if nothing were collected
      peak = Math.max(peak, torch.memory().bytes - base);
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(peak < 1024 * 1024 * 1024, `peak external bytes ${peak}`);
  });
});
