// Threads and workers under load (issue 24, part 3): four worker_threads train (trainStep, fit)
// with un-awaited async jobs while the main thread does the same; workers end in the middle of
// a running native job (terminate(), their own process.exit()); process.exit() with jobs queued
// in the main thread and a worker (a child process); tensors disposed while jobs that read them
// are queued; libtorch's process-wide random generator seen from several threads. The program
// every thread trains: fixtures/workers/program.ts; the worker: fixtures/workers/worker.ts.
// The executor's own rules (FIFO, synchronous calls wait): test/02; one worker, process.exit()
// with queued jobs on the main thread alone: test/00; memory accounting: test/91.
// Runs under the sanitizer build too: `npm run test:asan -- test/93.workers.stress.test.ts`.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import * as torch from '../lib';
import { program, ProgramOptions, ProgramResult, Tagger, nll } from './fixtures/workers/program';
import { RandomStream } from './fixtures/workers/streams';
import type { Command } from './fixtures/workers/worker';
import { removeDir, settle, tmpDir, values } from './helpers';

const { nn, optim } = torch;
const FIXTURES = path.join(__dirname, 'fixtures', 'workers');
const BOOT = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(path.join(FIXTURES, 'worker.ts'))});`;
const PROGRAM = { seed: 5, steps: 32, epochs: 3 };

/** A worker running fixtures/workers/worker.ts, with a promise per command. */
class Peer {
  readonly worker = new Worker(BOOT, { eval: true });
  readonly ready: Promise<void>;
  readonly exited: Promise<number>;
  private next = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly listeners: ((event: string) => void)[] = [];
  constructor() {
    this.ready = new Promise((resolve, reject) => {
      this.listeners.push((e) => { if (e === 'ready') resolve(); });
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`the worker exited with ${code} before it was ready`)));
    });
    this.worker.on('message', (m: { id?: number; event?: string; value?: unknown; error?: { message: string; code?: string } }) => {
      if (m.event !== undefined) { for (const l of this.listeners) l(m.event); return; }
      const p = this.pending.get(m.id!);
      this.pending.delete(m.id!);
      if (m.error) p?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else p?.resolve(m.value);
    });
    this.exited = new Promise((resolve) => this.worker.on('exit', resolve));
    this.worker.on('error', (err) => { for (const p of this.pending.values()) p.reject(err); this.pending.clear(); });
  }
  call<T>(c: Command): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...c, id });
    });
  }
  /** The next time the worker posts `event`. */
  when(event: string): Promise<void> {
    return new Promise((resolve) => this.listeners.push((e) => { if (e === event) resolve(); }));
  }
}

type Memory = ReturnType<typeof torch.memory>;
interface WorkerRun { result: ProgramResult; memory: { before: Memory; after: Memory } }

describe('worker_threads under load: training in five threads at once, workers ended mid-job, process.exit, disposal while queued', function () {
  this.timeout(120000);
  let dir = '';
  let peers: Peer[] = [];
  let alone: ProgramResult;
  const opts = (name: string): ProgramOptions => {
    const d = path.join(dir, name);
    fs.mkdirSync(d, { recursive: true });
    return { ...PROGRAM, dir: d };
  };

  let exitRun: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;

  before(async () => {
    dir = tmpDir('torchrnn-93-');
    // the process.exit() case's child process starts now, so that its start-up (torchrnn loads
    // in it and in its worker) overlaps the workers'; its own test below checks how it ended
    const out = path.join(dir, 'exit');
    fs.mkdirSync(out);
    exitRun = new Promise((resolve) => {
      const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(FIXTURES, 'exit.ts'), '7', out], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 150000 }); // a hang ends as SIGTERM (it runs beside four training workers: 11-36 s seen)
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
    });
    peers = Array.from({ length: 4 }, () => new Peer());
    await Promise.all(peers.map((p) => p.ready));
  });
  after(async () => {
    await Promise.all(peers.map((p) => p.worker.terminate()));
    await exitRun;
    removeDir(dir);
  });

  it('four workers and the main thread train at once (trainStep, fit, un-awaited forwardAsync, data(), saveAsync, checkpoint.saveAsync): every thread\'s numbers are bit-identical to the program run alone; every environment\'s torch.memory() is back to its baseline', async () => {
    await settle();
    const base = torch.memory();
    alone = await program(opts('alone'));
    assert.strictEqual(alone.losses.length, PROGRAM.steps + PROGRAM.epochs);
    assert.ok(alone.losses.every(Number.isFinite), String(alone.losses));
    assert.ok(alone.losses[alone.losses.length - 1] < alone.losses[0], `the loss went down: ${alone.losses[0]} → ${alone.losses[alone.losses.length - 1]}`);

    const inWorkers = peers.map((p, i) => p.call<WorkerRun>({ cmd: 'program', opts: opts(`worker-${i}`) }));
    const main = await program(opts('main'));
    const runs = await Promise.all(inWorkers);
    assert.deepStrictEqual(main, alone, 'the main thread beside four training workers');
    runs.forEach((r, i) => {
      assert.deepStrictEqual(r.result, alone, `worker ${i}`);
      assert.deepStrictEqual(r.memory.after, r.memory.before, `worker ${i}'s torch.memory()`);
    });
    await settle();
    assert.deepStrictEqual(torch.memory(), base);
  });

  it('libtorch\'s generator is one per process: what one thread seeds, every thread draws from', async () => {
    torch.manualSeed(7);
    const ref = values(torch.randn([8]));
    torch.manualSeed(7);
    // a worker draws where the main thread's seed put the stream
    assert.deepStrictEqual(await peers[0].call<number[][]>({ cmd: 'draw', count: 1, size: 8 }), [ref]);
    // a worker's seed restarts the main thread's stream
    await peers[1].call({ cmd: 'seed', seed: 7 });
    assert.deepStrictEqual(values(torch.randn([8])), ref);
  });

  it('threads drawing at once interleave whole draws: each tensor drawn in five threads is one of the sequential stream\'s, each exactly once, and the generator ends where the sequential draws end', async () => {
    const count = 40;
    const size = 1024;
    const key = (v: number[]) => v.slice(0, 4).join(",");
    torch.manualSeed(11);
    const stream = new Map<string, number>();
    for (let i = 0; i < 5 * count; i++) stream.set(key(values(torch.randn([size]))), i);
    assert.strictEqual(stream.size, 5 * count);
    const end = values(torch.getRngState());

    torch.manualSeed(11);
    const go = new Int32Array(new SharedArrayBuffer(4));
    const drawing = peers.map((p) => p.call<number[][]>({ cmd: 'draw', count, size, go }));
    await new Promise((r) => setTimeout(r, 20)); // the workers wait on `go`
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    const mine: number[][] = [];
    for (let i = 0; i < count; i++) mine.push(values(torch.randn([size])));
    const all = [mine, ...(await Promise.all(drawing))];
    const seen = new Set<number>();
    let interleaved = 0;
    for (const draws of all) {
      const at = draws.map((d) => stream.get(key(d)));
      assert.ok(at.every((i) => i !== undefined), 'a draw that is not in the sequential stream (a torn draw)');
      at.forEach((i, j) => { assert.ok(!seen.has(i!), `draw ${i} seen twice`); seen.add(i!); if (j > 0 && i !== at[j - 1]! + 1) interleaved++; });
      assert.ok(at.every((i, j) => j === 0 || i! > at[j - 1]!), 'one thread\'s draws are in stream order');
    }
    assert.strictEqual(seen.size, 5 * count);
    assert.deepStrictEqual(values(torch.getRngState()), end);
    if (process.env.TORCHRNN_TEST_VERBOSE) console.log(`      ${interleaved} of ${5 * count} draws followed another thread's`);
  });

  it('a stream of one\'s own (the documented recipe: one lock, setRngState before and getRngState after each draw, fixtures/workers/streams.ts): each of five threads drawing at once gets what its seed gives alone', async () => {
    const count = 30;
    const size = 256;
    const seeds = [21, 22, 23, 24, 25];
    const alone = seeds.map((seed) => {
      torch.manualSeed(seed);
      return Array.from({ length: count }, () => values(torch.randn([size])));
    });
    const lock = new Int32Array(new SharedArrayBuffer(4));
    const go = new Int32Array(new SharedArrayBuffer(4));
    const drawing = peers.map((p, i) => p.call<number[][]>({ cmd: 'stream', seed: seeds[i], count, size, lock, go }));
    await new Promise((r) => setTimeout(r, 20));
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    const stream = new RandomStream(lock, seeds[4]);
    const mine: number[][] = [];
    for (let i = 0; i < count; i++) mine.push(stream.draw(() => values(torch.randn([size]))));
    stream.dispose();
    const got = [...(await Promise.all(drawing)), mine];
    got.forEach((draws, i) => assert.deepStrictEqual(draws, alone[i], `the stream seeded with ${seeds[i]}`));
  });

  it('saves of one file at once (un-awaited saveAsync in one thread; four workers) all succeed, and the file is one of them whole (FIXED: they shared a temporary file name and one failed with ENOENT)', async () => {
    const file = path.join(dir, 'same.safetensors');
    const tensors = [1, 2, 3, 4].map((v) => ({ x: torch.full([50000], v) }));
    for (let round = 0; round < 5; round++) {
      await Promise.all(tensors.map((t) => torch.saveAsync(t, file)));
      const v = values(torch.load(file).x);
      assert.ok(v.length === 50000 && [1, 2, 3, 4].includes(v[0]) && v.every((x) => x === v[0]), `round ${round}`);
    }
    await Promise.all(peers.map((p, i) => p.call({ cmd: 'save', file, value: i + 1, times: 3 })));
    const v = values(torch.load(file).x);
    assert.ok(v.length === 50000 && [1, 2, 3, 4].includes(v[0]) && v.every((x) => x === v[0]));
    assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
  });

  it('workers ended in the middle of a running native job, jobs queued behind it (terminate() while idle, terminate() while blocked in a synchronous call, process.exit(5) in the worker): exit codes 1, 1, 5; the remaining worker and the main thread train on with the same numbers', async () => {
    const [survivor, idle, blocked, exiting] = peers;
    await settle();
    const base = torch.memory();
    const trained = survivor.call<WorkerRun>({ cmd: 'program', opts: opts('survivor') });
    const queued = [idle.when('queued'), blocked.when('queued')];
    void idle.call({ cmd: 'busy', steps: 6, then: 'idle' }).catch(() => undefined); // never settles: the worker ends first
    void blocked.call({ cmd: 'busy', steps: 2, then: 'block' }).catch(() => undefined);
    void exiting.call({ cmd: 'busy', steps: 6, then: 'exit', code: 5 }).catch(() => undefined);
    const main = program(opts('main-2'));
    await Promise.all(queued);
    await new Promise((r) => setTimeout(r, 50)); // each is inside its first step (~0.1 s)
    const codes = await Promise.all([idle.worker.terminate(), blocked.worker.terminate(), exiting.exited]);
    assert.deepStrictEqual(codes, [1, 1, 5]);
    peers = [survivor];
    assert.deepStrictEqual(await main, alone);
    const r = await trained;
    assert.deepStrictEqual(r.result, alone);
    assert.deepStrictEqual(r.memory.after, r.memory.before);
    await settle();
    assert.deepStrictEqual(torch.memory(), base);
  });

  it('process.exit(7) with jobs running and queued in the main thread and in a worker: exit code 7, no signal, nothing on stderr (no crash, no sanitizer report)', async function () {
    this.timeout(180000);
    const r = await exitRun;
    assert.strictEqual(r.signal, null, r.stderr);
    assert.strictEqual(r.status, 7, r.stderr);
    assert.strictEqual(r.stdout, 'exiting\n');
    assert.strictEqual(r.stderr, '');
  });

  describe('a tensor disposed while an async job that reads it is queued', () => {
    /** Occupies the executor (~50 ms), so that the jobs queued after it are still queued when their inputs are disposed. */
    function occupy(): Promise<unknown> {
      const a = torch.randn([400, 400]);
      const jobs = Array.from({ length: 6 }, () => torch.ops.aten.mm.callAsync(a, a));
      a.dispose();
      return Promise.all(jobs).then((ts) => (ts as torch.Tensor[]).forEach((t) => t.dispose()));
    }

    it('native jobs hold the tensors they read: data(), a built-in layer\'s forwardAsync, backwardAsync, stepAsync, trainStep, torch.ops callAsync, saveAsync (.safetensors: FIXED, .pt) and checkpoint.saveAsync complete with the values of the synchronous calls', async () => {
      await settle();
      const base = torch.memory();
      await (async () => {
        torch.manualSeed(3);
        const x = torch.randn([5, 4]);
        const xv = values(x);
        const lin = new nn.Linear(4, 3);
        const expectForward = values(lin.forward(x));
        const [twinA, twinB] = [new Tagger(), new Tagger()];
        twinB.loadStateDict(twinA.stateDict());
        const seq = torch.randn([3, 6, 4]);
        const target = torch.tensor([0, 2, 1], { dtype: 'int64' });
        const expectLoss = nll(twinB.forward(seq), target).item() as number;
        const w = torch.randn([6], { requiresGrad: true });
        const wv = values(w);
        const loss = w.mul(w).sum();
        const p = torch.randn([4], { requiresGrad: true });
        p.mul(3).sum().backward();
        const pv = values(p);
        const opt = new optim.SGD([p], { lr: 0.5 });
        const grad = p.grad!;

        const busy = occupy();
        const data = x.data();
        const forward = lin.forwardAsync(x) as Promise<torch.Tensor>;
        const mul = torch.ops.aten.mul.callAsync(x, 2) as Promise<torch.Tensor>;
        // tensors whose dtype and shape nothing read yet (a Tensor keeps them once read)
        const [xs, xp] = [x.mul(1), x.mul(1)];
        const saves = [torch.saveAsync({ x: xs }, path.join(dir, 'x.safetensors')), torch.saveAsync({ x: xp }, path.join(dir, 'x.pt'))];
        const checkpoint = torch.checkpoint.saveAsync(path.join(dir, 'ckpt.safetensors'), { model: lin });
        const backward = loss.backwardAsync();
        const step = opt.stepAsync();
        const trained = torch.trainStep({ model: twinA, loss: nll, optimizer: new optim.SGD(twinA.parameters(), { lr: 0.1 }) })(seq, target);
        for (const t of [x, xs, xp, loss, grad, seq, target]) t.dispose();

        assert.deepStrictEqual(Array.from(await data as Float32Array), xv);
        const fwd = await forward;
        assert.deepStrictEqual(values(fwd), expectForward);
        const m = await mul;
        assert.deepStrictEqual(values(m), xv.map((v) => Math.fround(v * 2)));
        await Promise.all([...saves, checkpoint, backward, step, busy]);
        assert.deepStrictEqual(values(w.grad!), wv.map((v) => Math.fround(2 * v)));
        assert.deepStrictEqual(values(p), pv.map((v) => Math.fround(v - 0.5 * 3)));
        assert.strictEqual(await trained, expectLoss);
        for (const f of ['x.safetensors', 'x.pt']) {
          const back = torch.load(path.join(dir, f)).x;
          assert.deepStrictEqual(values(back), xv, f);
          back.dispose();
        }
        const ck = torch.load(path.join(dir, 'ckpt.safetensors'));
        assert.deepStrictEqual(values(ck['model.weight']), values(lin.weight as torch.Tensor));
        for (const t of [fwd, m, w, p, ...Object.values(ck)]) t.dispose();
      })();
      await settle();
      assert.deepStrictEqual(torch.memory(), base);
    });

    it('a tensor left to the garbage collector while its job is queued: the job still reads it', async () => {
      const busy = occupy();
      const [data, expected] = (() => {
        const t = torch.arange(1000).float().mul(0.5);
        return [t.data(), values(t)];
      })();
      await settle(); // the Tensor object is collected, its finalizer has run
      assert.deepStrictEqual(Array.from(await data as Float32Array), expected);
      await busy;
    });

    it('a TypeScript model\'s forwardAsync (its forward runs on the JS thread once the jobs before it ran) rejects with ERR_INVALID_ARG naming the disposed input', async () => {
      const model = new Tagger();
      const busy = occupy();
      const x = torch.randn([2, 3, 4]);
      const out = model.forwardAsync(x);
      x.dispose();
      await assert.rejects(out, { name: 'TorchError', code: 'ERR_INVALID_ARG', message: 'Expected a live Tensor for input but received a disposed Tensor' });
      await busy;
    });
  });
});
