// The executor (native/executor.cc: one job thread per Node environment): async jobs run in the
// order they were queued, a synchronous call waits for the jobs queued before it, a job runs with
// the grad mode and training flag of the moment it was queued, and a rejected job rejects only its
// own promise. Queued jobs at process exit: test/00.
import * as assert from 'assert';
import * as torch from '../lib';
import { sameParams, values } from './helpers';
import { twins } from './models';

const { nn, optim } = torch;

describe('the executor: FIFO order and the rule for synchronous calls', () => {
  it('1,000 un-awaited forwardAsync/backwardAsync/stepAsync calls interleaved with synchronous reads give the synchronous program\'s results', async () => {
    const [m1, m2] = twins(() => new nn.Sequential(new nn.Linear(4, 8), new nn.Linear(8, 1)), 3);
    const o1 = new optim.SGD(m1.parameters(), { lr: 0.01, momentum: 0.9 });
    const o2 = new optim.SGD(m2.parameters(), { lr: 0.01, momentum: 0.9 });
    const xs = Array.from({ length: 250 }, () => torch.randn([16, 4]));
    const w1 = m1.parameters()[0];
    const w2 = m2.parameters()[0];

    // synchronous program
    const syncReads: number[] = [];
    for (const x of xs) {
      const y = m1.forward(x);
      y.pow(2).mean().backward();
      o1.step();
      o1.zeroGrad();
      syncReads.push(values(w1)[0]); // a synchronous read after each step
    }

    // the same program with async calls, never awaited inside the loop
    const asyncReads: number[] = [];
    const pending: Promise<unknown>[] = [];
    let calls = 0;
    for (const x of xs) {
      const fwd = m2.forwardAsync(x);          // queued
      pending.push(fwd);
      const y = await fwd;                     // needs its output to build the loss
      const loss = y.pow(2).mean();            // synchronous op
      pending.push(loss.backwardAsync());      // queued, not awaited
      pending.push(o2.stepAsync());            // queued, not awaited
      o2.zeroGrad();                           // synchronous: waits for the queued step
      asyncReads.push(values(w2)[0]);          // synchronous read: sees the stepped weight
      pending.push(w2.data());                 // async read, ordered after the step
      calls += 4;
    }
    await Promise.all(pending);
    assert.ok(calls >= 1000, `${calls} async calls`);
    assert.deepStrictEqual(asyncReads, syncReads);
    sameParams(m1, m2);
  });

  it('a synchronous call made while jobs are queued waits for them (no ERR_BUSY, no race)', async () => {
    const p = torch.randn([64, 64], { requiresGrad: true });
    const o = new optim.SGD([p], { lr: 0.1 });
    p.matmul(p).sum().backward();
    const before = values(p);
    const queued = [o.stepAsync(), o.stepAsync(), o.stepAsync()];
    const after = values(p); // waits for three steps
    const g = values(p.grad!);
    after.forEach((v, i) => assert.ok(Math.abs(v - (before[i] - 0.3 * g[i])) < 1e-4));
    await Promise.all(queued);
  });

  it('grad mode and the training flag are those of the moment a job is queued', async () => {
    const lin = new nn.Linear(3, 2);
    const x = torch.randn([4, 3]);
    const queuedNoGrad = torch.noGrad(() => lin.forwardAsync(x));
    const queuedGrad = lin.forwardAsync(x);
    assert.strictEqual((await queuedNoGrad).requiresGrad, false);
    assert.strictEqual((await queuedGrad).requiresGrad, true);
    const drop = new nn.Dropout(0.5);
    drop.train();
    const inTraining = drop.forwardAsync(torch.ones([1000]));
    drop.eval(); // a synchronous call: ordered after the queued job, which ran in training mode
    const y = values(await inTraining);
    assert.ok(y.some((v) => v === 0) && y.some((v) => v === 2));
    assert.deepStrictEqual(values(await drop.forwardAsync(torch.ones([10]))), new Array(10).fill(1));
  });

  it('a rejected job rejects only its own promise; the executor goes on', async () => {
    const p = torch.ones([2], { requiresGrad: true });
    const y = p.mul(2).sum();
    await y.backwardAsync();
    const bad = y.backwardAsync(); // graph already freed
    const good = p.mul(3).sum().backwardAsync();
    await assert.rejects(bad, { code: 'ERR_TORCH' });
    await good;
    assert.deepStrictEqual(values(p.grad!), [5, 5]);
  });
});
