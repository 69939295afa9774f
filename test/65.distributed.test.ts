// torch.distributed on c10d/Gloo: collectives, DistributedDataParallel, DistributedSampler, the
// failure modes, and the `torchrnn run` launcher. Ranks are child processes on 127.0.0.1
// (test/fixtures/distributed/worker.ts); the launcher tests use the built CLI (dist/).
import * as assert from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { assertClose, ddpData, ddpSamples, GLOBAL_BATCH, LR, model, paramValues } from './fixtures/distributed/common';
import { base, scatterInput } from './fixtures/distributed/worker';
import { byLine, CLI_BIN as BIN, ROOT, throwsTorch, tmpDir, values } from './helpers';

const { distributed: dist, nn, optim, data } = torch;
const WORKER = path.join(__dirname, 'fixtures', 'distributed', 'worker.ts');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

interface Rank {
  rank: number; code: number | null; signal: string | null; stdout: string; stderr: string; ms: number;
  result?: Record<string, unknown>; error?: { code: string; message: string; ms: number; ticks?: number };
}

interface RunOpts {
  /** Ranks to start (default all of 0..worldSize-1). */
  ranks?: number[];
  env?: (rank: number) => Record<string, string>;
  /** Kill every rank still running after this many ms. */
  killAfter?: number;
  /** Resolve once these ranks exited (kill the rest). Default: all. */
  waitFor?: number[];
  port?: number;
}

/** Starts `scenario` as ranks of one group on 127.0.0.1 and collects what each printed. */
async function runRanks(scenario: string, worldSize: number, opts: RunOpts = {}): Promise<Rank[]> {
  const port = opts.port ?? await freePort();
  const ranks = opts.ranks ?? [...Array(worldSize).keys()];
  const start = Date.now();
  const children: ChildProcess[] = [];
  const done = ranks.map((rank) => new Promise<Rank>((resolve) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', WORKER, scenario], {
      cwd: ROOT,
      env: { ...process.env, MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), RANK: String(rank), WORLD_SIZE: String(worldSize), DIST_TIMEOUT: '20000', ...(opts.env?.(rank) ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    child.on('close', (code, signal) => {
      const r: Rank = { rank, code, signal, stdout, stderr, ms: Date.now() - start };
      const res = /^RESULT (.*)$/m.exec(stdout);
      const err = /^ERROR (.*)$/m.exec(stdout);
      if (res) r.result = JSON.parse(res[1]) as Record<string, unknown>;
      if (err) r.error = JSON.parse(err[1]) as Rank['error'];
      resolve(r);
    });
  }));
  const timer = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), opts.killAfter ?? 100000);
  try {
    if (opts.waitFor) {
      const waited = await Promise.all(opts.waitFor.map((r) => done[ranks.indexOf(r)]));
      children.forEach((c) => c.kill('SIGKILL'));
      const rest = await Promise.all(done);
      return rest.map((r) => waited.find((w) => w.rank === r.rank) ?? r);
    }
    return await Promise.all(done);
  } finally {
    clearTimeout(timer);
  }
}

function ok(r: Rank): Record<string, unknown> {
  assert.ok(r.result, `rank ${r.rank} (exit ${r.code}, ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.result;
}

function failed(r: Rank, pattern: RegExp): NonNullable<Rank['error']> {
  assert.ok(r.error, `rank ${r.rank} should have failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  assert.strictEqual(r.error.code, 'ERR_DISTRIBUTED', r.error.message);
  assert.match(r.error.message, pattern);
  assert.strictEqual(r.code, 1);
  return r.error;
}

// ---- what each collective must give, from the ranks' inputs ----------------------------------

const reduce = (xs: number[][], op: string, integer: boolean): number[] => xs[0].map((_, i) => {
  const col = xs.map((x) => x[i]);
  switch (op) {
    case 'sum': return col.reduce((a, b) => a + b, 0);
    case 'avg': { const s = col.reduce((a, b) => a + b, 0); return integer ? Math.trunc(s / col.length) : s / col.length; }
    case 'product': return col.reduce((a, b) => a * b, 1);
    case 'min': return Math.min(...col);
    default: return Math.max(...col);
  }
});

function expectedCollectives(ws: number, rank: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const all = [...Array(ws).keys()];
  for (const dtype of ['float32', 'float64', 'int64']) {
    const integer = dtype === 'int64';
    for (const form of ['sync', 'async']) {
      for (const op of ['sum', 'avg', 'product', 'min', 'max']) out[`allReduce/${dtype}/${op}/${form}`] = reduce(all.map(base), op, integer);
      out[`broadcast/${dtype}/${form}`] = base(ws - 1);
      out[`allGather/${dtype}/${form}`] = all.flatMap(base);
      for (const op of ['sum', 'avg', 'max', 'min']) out[`reduceScatter/${dtype}/${op}/${form}`] = reduce(all.map((r) => scatterInput(r, rank)), op, integer);
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('distributed (c10d Gloo)', () => {
  describe('in this process', () => {
    afterEach(() => { if (dist.isInitialized()) dist.destroyProcessGroup(); });

    it('before initProcessGroup: clear ERR_DISTRIBUTED errors', () => {
      assert.strictEqual(dist.isAvailable(), true);
      assert.strictEqual(dist.isGlooAvailable(), true);
      assert.strictEqual(dist.isInitialized(), false);
      const msg = (fn: string) => `${fn}: the default process group has not been initialized: call distributed.initProcessGroup() first`;
      throwsTorch(() => dist.getRank(), 'ERR_DISTRIBUTED', msg('getRank'));
      throwsTorch(() => dist.getWorldSize(), 'ERR_DISTRIBUTED', msg('getWorldSize'));
      throwsTorch(() => dist.barrier(), 'ERR_DISTRIBUTED', msg('barrier'));
      throwsTorch(() => dist.allReduce(torch.ones([2])), 'ERR_DISTRIBUTED', msg('allReduce'));
      throwsTorch(() => new nn.parallel.DistributedDataParallel(new nn.Linear(2, 2)), 'ERR_DISTRIBUTED', msg('DistributedDataParallel'));
      throwsTorch(() => new data.DistributedSampler(10), 'ERR_DISTRIBUTED', msg('DistributedSampler'));
      assert.throws(() => dist.allReduceAsync(torch.ones([2])), (e: torch.TorchError) => e.code === 'ERR_DISTRIBUTED');
    });

    it('initProcessGroup validates its options before any network traffic', () => {
      const env = { MASTER_ADDR: process.env.MASTER_ADDR, MASTER_PORT: process.env.MASTER_PORT, RANK: process.env.RANK, WORLD_SIZE: process.env.WORLD_SIZE };
      try {
        delete process.env.MASTER_ADDR;
        delete process.env.MASTER_PORT;
        throwsTorch(() => dist.initProcessGroup({ rank: 0, worldSize: 1 }), 'ERR_INVALID_ARG', /^Expected the master's address in the environment variable MASTER_ADDR .* for MASTER_ADDR but received undefined$/);
        process.env.MASTER_ADDR = '127.0.0.1';
        process.env.MASTER_PORT = 'http';
        throwsTorch(() => dist.initProcessGroup({ rank: 0, worldSize: 1 }), 'ERR_INVALID_ARG', 'Expected a port in [1, 65535] for MASTER_PORT but received "http"');
        throwsTorch(() => dist.initProcessGroup({ initMethod: 'tcp://127.0.0.1:29500', rank: 2, worldSize: 2 }), 'ERR_INVALID_ARG', 'Expected a rank in [0, 1] (worldSize is 2) for rank but received 2');
        throwsTorch(() => dist.initProcessGroup({ initMethod: 'tcp://127.0.0.1:29500', rank: 0, worldSize: 0 }), 'ERR_INVALID_ARG', 'Expected an integer in [1, 1048576] for worldSize but received 0');
        throwsTorch(() => dist.initProcessGroup({ initMethod: 'udp://x:1', rank: 0, worldSize: 1 }), 'ERR_INVALID_ARG', 'Expected \'env://\', \'tcp://host:port\' or \'file:///path\' for initMethod but received "udp://x:1"');
        throwsTorch(() => dist.initProcessGroup({ initMethod: 'tcp://127.0.0.1:29500', rank: 0, worldSize: 1, timeout: 0 }), 'ERR_INVALID_ARG', 'Expected an integer >= 1 for timeout but received 0');
        throwsTorch(() => dist.initProcessGroup({ backend: 'mpi' as 'gloo' }), 'ERR_INVALID_ARG', 'Expected one of "gloo", "nccl" for backend but received "mpi"');
        throwsTorch(() => dist.initProcessGroup({ initMethod: 'tcp://127.0.0.1:29500', rank: 0, worldSize: 1, backend: 'nccl' }), 'ERR_DISTRIBUTED',
          "initProcessGroup: backend 'nccl' is not available: the libtorch torchrnn runs on was built without NCCL (use backend 'gloo')");
        delete process.env.RANK;
        delete process.env.WORLD_SIZE;
        throwsTorch(() => dist.initProcessGroup({ initMethod: 'tcp://127.0.0.1:29500' }), 'ERR_INVALID_ARG', 'Expected a world size (the worldSize option, or WORLD_SIZE in the environment) for worldSize but received undefined');
      } finally {
        for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
      }
      assert.strictEqual(dist.isInitialized(), false);
    });

    it('a group of one process (tcp:// and file://): collectives are identities; arguments are checked', async () => {
      const port = await freePort();
      dist.initProcessGroup({ initMethod: `tcp://127.0.0.1:${port}?rank=0&world_size=1`, timeout: 10000 });
      assert.deepStrictEqual([dist.getRank(), dist.getWorldSize(), dist.getBackend(), dist.isInitialized()], [0, 1, 'gloo', true]);
      throwsTorch(() => dist.initProcessGroup({ initMethod: `tcp://127.0.0.1:${port}`, rank: 0, worldSize: 1 }), 'ERR_DISTRIBUTED',
        'initProcessGroup: the default process group is already initialized (call destroyProcessGroup() first)');
      const t = torch.tensor([1.5, -2]);
      dist.allReduce(t, dist.ReduceOp.AVG);
      await dist.allReduceAsync(t, 'max');
      assert.deepStrictEqual(values(t), [1.5, -2]);
      const parts = [torch.zeros([2])];
      dist.allGather(parts, t);
      assert.deepStrictEqual(values(parts[0]), [1.5, -2]);
      throwsTorch(() => dist.allReduce(t, 'mean' as 'avg'), 'ERR_INVALID_ARG', 'Expected one of "sum", "avg", "product", "min", "max" for op but received "mean"');
      throwsTorch(() => dist.allReduce(torch.tensor([true]), 'sum'), 'ERR_INVALID_ARG', /^Expected a tensor of dtype float32, float64, float16, int8, uint8, int32, int64 \(what Gloo supports\) for tensor but received/);
      throwsTorch(() => dist.allReduce(torch.ones([2, 3]).transpose(0, 1)), 'ERR_INVALID_ARG', /^Expected a contiguous tensor \(call \.contiguous\(\) first\) for tensor/);
      throwsTorch(() => dist.allGather([torch.zeros([2]), torch.zeros([2])], t), 'ERR_INVALID_ARG', /^Expected an array of 1 tensors \(one per rank\) for tensorList/);
      throwsTorch(() => dist.allGather([torch.zeros([3])], t), 'ERR_INVALID_ARG', /^Expected a tensor like .* for tensorList\[0\]/);
      throwsTorch(() => dist.broadcast(t, 1), 'ERR_INVALID_ARG', 'Expected an integer in [0, 0] for src but received 1');
      dist.barrier();
      await dist.barrierAsync();
      // DDP of one rank trains exactly as the bare model
      const [a, b] = [model(3), model(3)];
      const ddp = new nn.parallel.DistributedDataParallel(a);
      const loss = new nn.CrossEntropyLoss();
      const stepA = torch.trainStep({ model: ddp, loss, optimizer: new optim.Adam(ddp.parameters(), { lr: LR }) });
      const stepB = torch.trainStep({ model: b, loss, optimizer: new optim.Adam(b.parameters(), { lr: LR }) });
      for (const [x, y] of ddpData()) assert.strictEqual(await stepA(x, y), await stepB(x, y));
      assert.deepStrictEqual(paramValues(a), paramValues(b));
      assert.deepStrictEqual(Object.keys(ddp.stateDict()).slice(0, 2), ['module.lstm.weight_ih_l0', 'module.lstm.weight_hh_l0']);
      const sampler = new data.DistributedSampler(10);
      assert.deepStrictEqual([sampler.numReplicas, sampler.rank, sampler.length], [1, 0, 10]);
      dist.destroyProcessGroup();
      assert.strictEqual(dist.isInitialized(), false);

      const file = path.join(os.tmpdir(), `torchrnn-filestore-${process.pid}-${Date.now()}`);
      try {
        dist.initProcessGroup({ initMethod: `file://${file}`, rank: 0, worldSize: 1, timeout: 10000 });
        const u = torch.tensor([3n, 4n], { dtype: 'int64' });
        dist.allReduce(u);
        assert.deepStrictEqual(values(u), [3, 4]);
        dist.destroyProcessGroup();
      } finally {
        fs.rmSync(file, { force: true });
      }
    });

    it('DistributedSampler: disjoint equal shares, padding or dropLast, reshuffled by setEpoch, same permutation on every rank', () => {
      const shares = (n: number, ws: number, o: { shuffle?: boolean; dropLast?: boolean; seed?: number } = {}, epoch = 0) =>
        [...Array(ws).keys()].map((rank) => {
          const s = new data.DistributedSampler(n, { numReplicas: ws, rank, ...o });
          s.setEpoch(epoch);
          const got = [...s];
          assert.strictEqual(got.length, s.length);
          return got;
        });
      assert.deepStrictEqual(shares(10, 3, { shuffle: false }), [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]);
      assert.deepStrictEqual(shares(10, 3, { shuffle: false, dropLast: true }), [[0, 3, 6], [1, 4, 7], [2, 5, 8]]);
      const e0 = shares(26, 2, { seed: 5 });
      assert.deepStrictEqual([...e0[0], ...e0[1]].sort((a, b) => a - b), [...Array(26).keys()]);
      assert.deepStrictEqual(shares(26, 2, { seed: 5 }), e0, 'deterministic');
      assert.notDeepStrictEqual(shares(26, 2, { seed: 5 }, 1), e0, 'setEpoch reshuffles');
      const whole = [...new data.DistributedSampler(26, { numReplicas: 1, rank: 0, seed: 5 })];
      assert.deepStrictEqual(e0[0], whole.filter((_, i) => i % 2 === 0), 'rank r takes every numReplicas-th index of one permutation');
      // the global RNG is left as it was
      torch.manualSeed(42);
      const a = torch.rand([3]);
      torch.manualSeed(42);
      [...new data.DistributedSampler(100, { numReplicas: 2, rank: 1 })];
      assert.deepStrictEqual(values(torch.rand([3])), values(a));
      throwsTorch(() => new data.DistributedSampler(10, { numReplicas: 2, rank: 2 }), 'ERR_INVALID_ARG', 'Expected a rank in [0, 1] for rank but received 2');
      throwsTorch(() => new data.DataLoader([[torch.ones([1]), 0]], { sampler: new data.DistributedSampler(1, { numReplicas: 1, rank: 0 }), shuffle: true }), 'ERR_INVALID_ARG',
        'Expected shuffle: false with a sampler (the sampler orders the samples) for shuffle but received true');
      const loader = new data.DataLoader(Array.from({ length: 10 }, (_, i) => [torch.tensor([i]), i] as [torch.Tensor, number]), { batchSize: 2, sampler: new data.DistributedSampler(10, { numReplicas: 3, rank: 1, shuffle: false }) });
      assert.strictEqual(loader.length, 2);
      assert.deepStrictEqual([...loader].map(([, y]) => values(y)), [[1, 4], [7, 0]]);
    });
  });

  describe('processes on 127.0.0.1', () => {
    for (const ws of [2, 3]) {
      it(`every collective gives the right values for float32/float64/int64, ${ws} processes (sync and Async forms)`, async () => {
        const ranks = await runRanks('collectives', ws);
        for (const r of ranks) {
          const got = ok(r) as Record<string, number[]>;
          assertClose(got, expectedCollectives(ws, r.rank), 0, `rank ${r.rank}`);
        }
      });
    }

    it('DDP: 2 ranks on half of every batch = one process on the whole batch (LSTM, Adam), within 1e-6; the ranks agree exactly', async () => {
      const ranks = await runRanks('ddp', 2);
      const [r0, r1] = ranks.map(ok) as Record<string, Record<string, number[]>>[];
      // one process on the whole batches
      const loss = new nn.CrossEntropyLoss();
      const ref = model(7);
      const step = torch.trainStep({ model: ref, loss, optimizer: new optim.Adam(ref.parameters(), { lr: LR }) });
      for (const [x, y] of ddpData()) await step(x, y);
      const want = paramValues(ref);
      for (const kind of ['traced', 'untraced', 'manual']) {
        assertClose(r0[kind], r1[kind], 0, `${kind}: rank 0 vs rank 1`);
        assertClose(r0[kind], want, 1e-6, `${kind}: DDP vs one process`);
      }
      // fit() with a DistributedSampler = fit() over the same permutation with twice the batch
      const ref4 = model(7);
      const samples = ddpSamples();
      const loader = new data.DataLoader(samples, { batchSize: GLOBAL_BATCH, sampler: new data.DistributedSampler(samples, { seed: 5, numReplicas: 1, rank: 0 }) });
      await torch.fit({ model: ref4, optimizer: new optim.Adam(ref4.parameters(), { lr: LR }), loss, data: loader, epochs: 2 });
      assertClose(r0.fit, r1.fit, 0, 'fit: rank 0 vs rank 1');
      assertClose(r0.fit, paramValues(ref4), 1e-6, 'fit: DDP vs one process');
      assert.deepStrictEqual((r0 as unknown as { keys: string[] }).keys.slice(0, 2), ['module.lstm.weight_ih_l0', 'module.lstm.weight_hh_l0']);
    });

    it('DDP with 3 ranks: the ranks agree exactly and match one process within 1e-6', async () => {
      const ranks = await runRanks('ddp', 3);
      const results = ranks.map(ok) as Record<string, Record<string, number[]>>[];
      const ref = model(7);
      const step = torch.trainStep({ model: ref, loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(ref.parameters(), { lr: LR }) });
      for (const [x, y] of ddpData()) await step(x, y);
      for (const r of results.slice(1)) assertClose(results[0].traced, r.traced, 0, 'rank 0 vs another');
      assertClose(results[0].traced, paramValues(ref), 1e-6, 'DDP vs one process');
    });

    it('DDP buffers: rank 0\'s at construction; with broadcastBuffers, taken from rank 0 before every forward (traced, untraced, hand-written loop); without, each rank keeps its own', async () => {
      const [r0, r1] = (await runRanks('ddp-buffers', 2)).map(ok) as Record<string, number[]>[];
      // the sum of each rank's shard rows at every step ([B, 5, 4] summed over rows and time)
      const shardSums = ddpData().map(([x]) => [0, 1].map((rank) => values(x.narrow(0, rank * GLOBAL_BATCH / 2, GLOBAL_BATCH / 2).sum([0, 1]))));
      const add = (a: number[], b: number[]) => a.map((v, i) => v + b[i]);
      const start = [10, 10, 10, 10];  // rank 1 built its buffer at 20: construction takes rank 0's
      const own = [0, 1].map((rank) => shardSums.reduce((acc, s) => add(acc, s[rank]), start));
      const last = shardSums.length - 1;
      const rank0BeforeLast = shardSums.slice(0, last).reduce((acc, s) => add(acc, s[0]), start);
      for (const mode of ['traced', 'untraced', 'manual']) {
        assertClose({ b: r0[`${mode}/true`] }, { b: own[0] }, 1e-4, `${mode}, broadcast: rank 0`);
        assertClose({ b: r1[`${mode}/true`] }, { b: add(rank0BeforeLast, shardSums[last][1]) }, 1e-4, `${mode}, broadcast: rank 1`);
        assertClose({ b: r0[`${mode}/false`] }, { b: own[0] }, 1e-4, `${mode}, no broadcast: rank 0`);
        assertClose({ b: r1[`${mode}/false`] }, { b: own[1] }, 1e-4, `${mode}, no broadcast: rank 1`);
      }
    });

    it('a NaN loss on one rank: every rank skips that step (and resolves with NaN), then training goes on in step', async () => {
      const [r0, r1] = (await runRanks('nan-loss', 2)).map(ok) as { losses: (number | null)[]; params: Record<string, number[]> }[];
      assert.ok(r0.losses[2] === null && r1.losses[2] === null, `${r0.losses} / ${r1.losses}`);  // NaN, through JSON
      assert.ok([0, 1, 3, 4, 5].every((i) => Number.isFinite(r0.losses[i]) && Number.isFinite(r1.losses[i])));
      assertClose(r0.params, r1.params, 0, 'rank 0 vs rank 1');
    });
  });

  describe('with Python', () => {
    const python = process.env.PYTHON ?? '/usr/bin/python3';
    before(function () {
      const probe = spawnSync(python, ['-c', 'import torch.distributed as d; assert d.is_gloo_available()'], { encoding: 'utf8' });
      if (probe.status !== 0) this.skip();  // python3-torch (setup.sh --dev) is not installed
    });

    // TORCH_DIST_INIT_BARRIER=1 (both ranks): Python 2.x then runs its store-based barrier after
    // init again, which torchrnn's rank joins under 2.x's key (compat.h PythonBarrierKey); 1.13
    // always runs it. The variable is Python's, so the same group forms either way.
    const interop = (barrier: boolean) => async () => {
      const extra: Record<string, string> = barrier ? { TORCH_DIST_INIT_BARRIER: '1' } : {};
      const port = await freePort();
      const py = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(python, [path.join(__dirname, 'fixtures', 'distributed', 'python_rank.py')], {
          // USE_LIBUV=0: Python 2.x's TCPStore asks for libuv by default, which Debian's torch lacks
          env: { ...process.env, MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), RANK: '1', WORLD_SIZE: '2', USE_LIBUV: '0', ...extra }, stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        const timer = setTimeout(() => child.kill('SIGKILL'), 90000);
        child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
      });
      const [node] = await runRanks('interop', 2, { ranks: [0], port, env: () => extra });
      const p = await py;
      if (!node.result) assert.fail(`rank 0 (exit ${node.code}): ${node.stdout}\n${node.stderr}\npython rank 1 (exit ${p.code}):\n${p.stdout}\n${p.stderr}`);
      const n = ok(node) as { allReduce: number[]; allGather: number[][]; broadcast: number[]; params: Record<string, number[]> };
      const m = /^RESULT (.*)$/m.exec(p.stdout);
      assert.ok(m, `python rank (exit ${p.code}):\n${p.stdout}\n${p.stderr}`);
      const q = JSON.parse(m[1]) as typeof n;
      for (const r of [n, q]) {
        assert.deepStrictEqual(r.allReduce, [3, -6]);
        assert.deepStrictEqual(r.allGather, [[0, 100], [1, 101]]);
        assert.deepStrictEqual(r.broadcast, [0, 0, 0]);
      }
      // both ranks end with the parameters of one process trained on the whole batches
      const ref = model(7);
      const step = torch.trainStep({ model: ref, loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(ref.parameters(), { lr: LR }) });
      for (const [x, y] of ddpData()) await step(x, y);
      assertClose(n.params, paramValues(ref), 1e-6, 'node rank vs one process');
      assertClose(q.params, paramValues(ref), 1e-6, 'python rank vs one process');
      // 1.13: Python's Adam and libtorch's take bit-identical steps. 2.x's Python Adam updates its
      // first moment with lerp_ where libtorch's C++ Adam keeps mul_().add_(): float32 rounding.
      assertClose(n.params, q.params, byLine({ '1.13': 0, '2.6': 1e-6 }), 'node rank vs python rank (the same Adam steps)');
    };
    it('a Python torch.distributed rank and a torchrnn rank form one group: collectives agree, DDP ends with equal parameters', interop(false));
    it('the same with TORCH_DIST_INIT_BARRIER=1 (Python\'s store barrier after init)', interop(true));
  });

  describe('faults', () => {
    it('a rank that dies: the other fails with ERR_DISTRIBUTED at its next collective, at once', async () => {
      const [r0, r1] = await runRanks('die', 2);
      assert.strictEqual(r1.code, 7);
      const e = failed(r0, /^allReduce failed: Connection (closed|reset) by peer/);
      assert.ok(e.ms < 15000, `${e.ms} ms`);
    });

    it('a rank that hangs: the other fails with ERR_DISTRIBUTED after the timeout, not never', async () => {
      const [r0] = await runRanks('hang', 2, { env: () => ({ DIST_TIMEOUT: '3000' }), waitFor: [0] });
      const e = failed(r0, /^allReduce failed: Timed out waiting 3000ms for recv operation to complete$/);
      assert.ok(e.ms < 15000, `${e.ms} ms`);
    });

    it('allReduceAsync against a hanging rank rejects with ERR_DISTRIBUTED, and the event loop runs meanwhile', async () => {
      const [r0] = await runRanks('hang-async', 2, { env: () => ({ DIST_TIMEOUT: '3000' }), waitFor: [0] });
      const e = failed(r0, /^allReduceAsync failed: Timed out waiting 3000ms/);
      assert.ok((e.ticks ?? 0) >= 20, `only ${e.ticks} timer ticks of 50 ms while waiting 3 s: the event loop was blocked`);
    });

    it('a rank that dies during DDP training: the others\' trainStep rejects with ERR_DISTRIBUTED', async () => {
      const [r0, r1] = await runRanks('die-in-training', 2);
      assert.strictEqual(r1.code, 9);
      failed(r0, /^DistributedDataParallel \(.*\) failed: (Read error \[127\.0\.0\.1\]:\d+: )?Connection (closed|reset) by peer/);
    });

    it('ranks started with different world sizes: both fail at once, saying so', async () => {
      const ranks = await runRanks('init-only', 2, { env: (r): Record<string, string> => (r === 1 ? { WORLD_SIZE_OVERRIDE: '3' } : {}) });
      failed(ranks[0], /^initProcessGroup: the ranks disagree on the world size: rank 1 was started with worldSize 3, this rank \(0\) with 2/);
      failed(ranks[1], /^initProcessGroup: the ranks disagree on the world size: rank 0 was started with worldSize 2, this rank \(1\) with 3/);
    });

    it('a missing rank: the others fail after the timeout, naming the missing ranks', async () => {
      const [r0, r1] = await runRanks('init-only', 3, { ranks: [0, 1], env: () => ({ DIST_TIMEOUT: '2500' }) });
      const e = failed(r0, /^initProcessGroup: timed out after 2500 ms: 2 of 3 ranks joined at the master 127\.0\.0\.1:\d+; missing: rank 2 \(were all processes started, with the same WORLD_SIZE\?\)$/);
      assert.ok(e.ms < 15000);
      // rank 1 times out too, or first sees rank 0 go (with its store)
      failed(r1, /^initProcessGroup: (timed out after 2500 ms: 2 of 3 ranks joined .*; missing: rank 2 |rank 1 lost the master 127\.0\.0\.1:\d+ while waiting for the other ranks failed: .*; rank 0 has probably failed or timed out \(its own error says why\)$)/);
    });

    it('the same rank started twice: a clear error', async () => {
      const ranks = await runRanks('init-only', 2, { ranks: [0, 1, 1], env: () => ({ DIST_TIMEOUT: '8000', HOLD: '3000' }) });
      const dup = ranks.filter((r) => r.error && /was started twice/.test(r.error.message));
      assert.strictEqual(dup.length, 1, ranks.map((r) => `${r.rank}: ${r.stdout}`).join('\n'));
      failed(dup[0], /^initProcessGroup: rank 1 was started twice \(two processes have RANK=1\); each rank must be unique$/);
    });

    it('an unreachable master: ERR_DISTRIBUTED after the timeout, saying where it looked', async () => {
      const [r1] = await runRanks('init-only', 2, { ranks: [1], env: () => ({ DIST_TIMEOUT: '2000' }) });
      failed(r1, /^initProcessGroup: rank 1 connecting to the master 127\.0\.0\.1:\d+ failed: The client socket has timed out after (2s|2000ms) .*; is rank 0 running, and are MASTER_ADDR and MASTER_PORT right\?$/);
    });

    it('a port in use: rank 0 says so', async () => {
      const srv = net.createServer();
      await new Promise<void>((r) => srv.listen(0, r));
      const port = (srv.address() as net.AddressInfo).port;
      try {
        const [r0] = await runRanks('init-only', 2, { ranks: [0], port, env: () => ({ DIST_TIMEOUT: '2000' }) });
        failed(r0, new RegExp(`^initProcessGroup: rank 0 starting the rendezvous store on port ${port} failed: .*Address already in use.*; is the port in use\\? Choose another MASTER_PORT$`));
      } finally {
        srv.close();
      }
    });
  });

  describe('torchrnn run', () => {
    let tmp: string;
    before(function () {
      if (!fs.existsSync(BIN)) this.skip();
      tmp = tmpDir('torchrnn-run-');
    });
    after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

    const script = (name: string, body: string) => {
      const file = path.join(tmp, name);
      fs.writeFileSync(file, `const torch = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});\nconst dist = torch.distributed;\n${body}\n`);
      return file;
    };
    const launch = (args: string[], timeout = 60000) => spawnSync(process.execPath, [BIN, 'run', ...args], { cwd: tmp, encoding: 'utf8', timeout });

    it('starts N ranks with torchrun\'s environment, passes the arguments, prefixes the output with the rank', () => {
      const file = script('ok.js', `
        dist.initProcessGroup();
        const t = torch.tensor([dist.getRank() + 1]);
        dist.allReduce(t);
        const e = process.env;
        console.log(JSON.stringify({ sum: t.item(), args: process.argv.slice(2), env: [e.RANK, e.LOCAL_RANK, e.WORLD_SIZE, e.LOCAL_WORLD_SIZE, e.GROUP_RANK, e.MASTER_ADDR, e.OMP_NUM_THREADS] }));
        console.error('to stderr'); process.stdout.write('no newline at the end');
        dist.barrier(); dist.destroyProcessGroup();`);
      const r = launch(['--nproc', '3', '--master-port', '0', file, 'a', '--b']);
      assert.strictEqual(r.status, 0, r.stderr);
      for (let rank = 0; rank < 3; rank++) {
        const line = r.stdout.split('\n').find((l) => l.startsWith(`[rank${rank}]: {`));
        assert.ok(line, r.stdout);
        const got = JSON.parse(line.slice(`[rank${rank}]: `.length)) as { sum: number; args: string[]; env: string[] };
        assert.deepStrictEqual(got, { sum: 6, args: ['a', '--b'], env: [String(rank), String(rank), '3', '3', '0', '127.0.0.1', '1'] });
        assert.ok(r.stdout.includes(`[rank${rank}]: no newline at the end\n`));
        assert.ok(r.stderr.includes(`[rank${rank}]: to stderr\n`));
      }
    });

    it('the README\'s multi-process example trains and writes the model', () => {
      const r = spawnSync(process.execPath, [BIN, 'run', '--nproc', '2', '--master-port', '0', path.join(ROOT, 'examples', 'distributed.js'), '2'], { cwd: tmp, encoding: 'utf8', timeout: 120000 });
      assert.strictEqual(r.status, 0, r.stderr);
      assert.match(r.stdout, /^\[rank0\]: 2 ranks, validation loss \d\.\d{3} → \d\.\d{3}$/m);
      assert.ok(fs.existsSync(path.join(tmp, 'distributed.safetensors')));
      const sd = torch.load(path.join(tmp, 'distributed.safetensors')) as Record<string, torch.Tensor>;
      assert.ok('lstm.weight_ih_l0' in sd, Object.keys(sd).join(', '));
    });

    for (const mode of ['dies', 'hangs'] as const) {
      it(`a rank that ${mode}: the launcher stops the others, exits non-zero and leaves no orphans`, () => {
        const file = script(`${mode}.js`, `
          require('fs').writeFileSync(process.argv[2] + '.' + process.env.RANK, String(process.pid));
          dist.initProcessGroup({ timeout: 3000 });
          const t = torch.ones([2]);
          dist.allReduce(t);
          const rank = dist.getRank();
          if (${JSON.stringify(mode)} === 'dies' && rank === 1) process.exit(5);
          if (${JSON.stringify(mode)} === 'hangs' && rank === 0) {
            try { dist.allReduce(t); } catch (e) { console.log('caught', e.code, e.message); process.exit(3); }
          }
          setInterval(() => {}, 1000);   // alive (rank 1 hanging, or a bystander) until stopped`);
        const pidFile = path.join(tmp, `${mode}-pids`);
        const t0 = Date.now();
        const r = launch(['--nproc', '3', '--master-port', '0', '--kill-timeout', '2', file, pidFile]);
        const ms = Date.now() - t0;
        assert.notStrictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.status, mode === 'dies' ? 5 : 3, `${r.stdout}\n${r.stderr}`);
        if (mode === 'dies') assert.match(r.stderr, /torchrnn run: rank 1 \(pid \d+\) exited with code 5: stopping the other 2 worker\(s\)/);
        else assert.match(r.stdout, /\[rank0\]: caught ERR_DISTRIBUTED allReduce failed: Timed out waiting 3000ms/);
        assert.ok(ms < 30000, `${ms} ms`);
        const pids = [0, 1, 2].map((rank) => Number(fs.readFileSync(`${pidFile}.${rank}`, 'utf8')));
        for (const pid of pids) assert.strictEqual(alive(pid), false, `worker ${pid} is still running`);
      });
    }

    it('a launcher killed with SIGKILL takes its workers with it', async () => {
      const file = script('forever.js', `
        require('fs').writeFileSync(process.argv[2] + '.' + process.env.RANK, String(process.pid));
        dist.initProcessGroup();
        setInterval(() => {}, 1000);`);
      const pidFile = path.join(tmp, 'forever-pids');
      const child = spawn(process.execPath, [BIN, 'run', '--nproc', '2', '--master-port', '0', file, pidFile], { cwd: tmp, stdio: 'ignore' });
      const deadline = Date.now() + 30000;
      while (![0, 1].every((r) => fs.existsSync(`${pidFile}.${r}`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1500));  // the addon is loaded (it arms the parent-death signal)
      const pids = [0, 1].map((r) => Number(fs.readFileSync(`${pidFile}.${r}`, 'utf8')));
      assert.ok(pids.every(alive));
      child.kill('SIGKILL');
      const until = Date.now() + 10000;
      while (pids.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      for (const pid of pids) assert.strictEqual(alive(pid), false, `worker ${pid} outlived the launcher`);
    });

    it('bad arguments: one clear line, exit code 2', () => {
      const cases: [string[], string][] = [
        [[], 'torchrnn: run needs a script to run: torchrnn run --nproc N script.js [args…]'],
        [['--nproc', '0', 'x.js'], 'torchrnn: --nproc must be in [1, 4096], not 0'],
        [['--nproc', 'two', 'x.js'], 'torchrnn: --nproc must be an integer, not "two"'],
        [['--frob', 'x.js'], 'torchrnn: unknown option --frob for run (see torchrnn run --help)'],
        [['--nnodes', '2', 'x.js'], 'torchrnn: --nnodes 2 needs --master-addr: the address of node 0, reachable from every node'],
        [['--node-rank', '1', 'x.js'], 'torchrnn: --node-rank must be in [0, 0] with --nnodes 1, not 1'],
        [['nope.js'], 'torchrnn: cannot find the script nope.js'],
      ];
      for (const [args, line] of cases) {
        const r = launch(args);
        assert.strictEqual(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.strictEqual(r.stderr.trim(), line);
      }
      const h = launch(['--help']);
      assert.strictEqual(h.status, 0);
      assert.match(h.stdout, /^Usage: torchrnn run \[options\] script\.js \[args…\]/);
    });
  });
});
