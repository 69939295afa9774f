import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
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

describe('memory: the C allocator (torch.backends.cpu)', function () {
  this.timeout(120000);
  // A child process (the policy is set once per process, at load) that allocates and frees a
  // 64 MiB tensor (every page written) 16 times, then 128 MiB once, frees it and calls
  // releaseMemory(): the policy, the minor page faults of the last 6 iterations (the first few
  // may land on new addresses while glibc's free chunks settle: up to 8 seen), and RSS around it.
  const script = `
    const torch = require('../lib');
    const faults = () => process.resourceUsage().minorPageFault;
    const rss = () => Number(require('fs').readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096;
    const perIteration = [];
    for (let i = 0; i < 16; i++) {
      const f = faults();
      torch.ones([16 * 1024 * 1024]).dispose();
      perIteration.push(faults() - f);
    }
    const big = torch.ones([32 * 1024 * 1024]);
    big.dispose();
    const kept = rss();
    const beforeRelease = torch.backends.cpu.mallocPolicy();
    const released = torch.backends.cpu.releaseMemory();
    const after = rss();
    process.stdout.write(JSON.stringify({ policy: torch.backends.cpu.mallocPolicy(), beforeRelease, faults: perIteration.slice(10), kept, after, released }));
  `;
  const runScript = <T>(code: string, extra: NodeJS.ProcessEnv): T => {
    const { TORCHRNN_MALLOC: _a, GLIBC_TUNABLES: _b, MALLOC_ARENA_MAX: _c, ...env } = process.env;
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', code], { cwd: __dirname, env: { ...env, ...extra }, encoding: 'utf8', timeout: 100000 });
    assert.strictEqual(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  };
  const run = (extra: NodeJS.ProcessEnv) =>
    runScript<{ policy: torch.MallocPolicy; beforeRelease: torch.MallocPolicy; faults: number[]; kept: number; after: number; released: boolean }>(script, extra);
  before(function () {
    // the sanitizer build allocates with the sanitizer's allocator: no policy to test
    if (torch.backends.cpu.mallocPolicy().policy === 'other') this.skip();
  });

  const noCache = { enabled: false, threshold: 0, hits: 0, misses: 0, cachedBytes: 0, liveBytes: 0 };

  it('large blocks freed and allocated again are reused without page faults; releaseMemory() gives them back', () => {
    const r = run({});
    const { largeBlocks, ...thresholds } = r.policy;
    assert.deepStrictEqual(thresholds, { policy: 'torchrnn', reason: '', mmapThreshold: 256 * 2 ** 20, trimThreshold: 512 * 2 ** 20 });
    // the block cache: the 64 MiB block mapped once and taken again 15 times; the 128 MiB block is a
    // miss that first unmaps the cached 64 MiB one; it stays cached until releaseMemory()
    assert.deepStrictEqual(r.beforeRelease.largeBlocks, { enabled: true, threshold: 256 * 2 ** 10, hits: 15, misses: 2, cachedBytes: 128 * 2 ** 20, liveBytes: 0 });
    assert.deepStrictEqual(largeBlocks, { ...r.beforeRelease.largeBlocks, cachedBytes: 0 });
    // 64 MiB is 16,384 pages: once reused, an iteration touches none anew
    for (const f of r.faults) assert.ok(f < 1000, `page faults per iteration: ${r.faults.join(', ')}`);
    assert.strictEqual(r.released, true);
    assert.ok(r.kept - r.after > 96 * 2 ** 20, `RSS before/after releaseMemory(): ${r.kept} -> ${r.after}`);
  });

  it('an LSTM training loop reaches a steady state: every large block comes from the cache, and RSS stays put', () => {
    // trainStep runs on the executor thread, the fused kernels' gate passes partly on the row
    // helper, and tensors are freed on whichever thread drops them last: with glibc's per-thread
    // arenas their free space stayed apart. Here, after two steps every large block is a hit.
    const code = `
      const torch = require('../lib');
      const rss = () => Number(require('fs').readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096;
      (async () => {
        torch.manualSeed(0);
        const lstm = new torch.nn.LSTM({ inputSize: 32, hiddenSize: 128, numLayers: 2, batchFirst: true });
        const head = new torch.nn.Linear(128, 10);
        const params = [...lstm.parameters(), ...head.parameters()];
        const opt = new torch.optim.Adam(params, { lr: 1e-3 });
        const x = torch.randn([32, 256, 32]), y = torch.randint(0, 10, [32]);
        const at = [];
        for (let i = 0; i < 8; i++) {
          opt.zeroGrad();
          const loss = torch.tidy(() => torch.nn.functional.crossEntropy(head.forward(lstm.forward(x)[0].select(1, -1)), y));
          await loss.backwardAsync();
          await opt.stepAsync();
          loss.dispose();
          const p = torch.backends.cpu.mallocPolicy().largeBlocks;
          at.push({ misses: p.misses, hits: p.hits, rss: rss() });
        }
        process.stdout.write(JSON.stringify(at));
      })();
    `;
    const at = runScript<{ misses: number; hits: number; rss: number }[]>(code, {});
    const [third, last] = [at[2], at[7]];
    assert.ok(last.hits - third.hits > 5 * 20, `hits: ${at.map((a) => a.hits).join(', ')}`);
    assert.strictEqual(last.misses, third.misses, `misses per step: ${at.map((a) => a.misses).join(', ')}`);
    assert.ok(last.rss - third.rss < 4 * 2 ** 20, `RSS: ${at.map((a) => (a.rss / 2 ** 20).toFixed(1)).join(', ')} MiB`);
  });

  it('TORCHRNN_MALLOC=default keeps glibc\'s thresholds: every iteration maps and faults its 64 MiB again', () => {
    const r = run({ TORCHRNN_MALLOC: 'default' });
    assert.deepStrictEqual(r.policy, { policy: 'glibc-default', reason: 'TORCHRNN_MALLOC=default', mmapThreshold: 0, trimThreshold: 0, largeBlocks: noCache });
    // 16,384 pages of 4 KiB; with transparent huge pages always on, 32 of 2 MiB
    let thp = '';
    try { thp = fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'); } catch { /* no THP */ }
    const least = /\[always\]/.test(thp) ? 30 : 16000;
    for (const f of r.faults) assert.ok(f > least, `page faults per iteration: ${r.faults.join(', ')}`);
  });

  it('a glibc malloc setting of the user\'s own is left alone', () => {
    assert.deepStrictEqual(run({ MALLOC_ARENA_MAX: '2' }).policy, { policy: 'user', reason: 'MALLOC_ARENA_MAX is set', mmapThreshold: 0, trimThreshold: 0, largeBlocks: noCache });
    assert.deepStrictEqual(run({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1048576' }).policy,
      { policy: 'user', reason: 'GLIBC_TUNABLES sets glibc.malloc tunables', mmapThreshold: 0, trimThreshold: 0, largeBlocks: noCache });
  });
});
