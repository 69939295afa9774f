/**
 * Distributed data-parallel benchmark: `npx tsx bench/ddp.ts [--quick]`, prints JSON.
 *
 * - scaling: the same global batch trained by 1 process (the plain model) and by 2 processes
 *   (DistributedDataParallel, half the batch each, on 127.0.0.1), for DESIGN.md's classifier
 *   (LSTM 32 → 128, 2 layers, + Linear 128 → 10, Adam). 2 processes run with
 *   OMP_NUM_THREADS=1 (what `torchrnn run` sets) and with the default threads.
 * - allReduce: time and bandwidth of an all-reduce between 2 processes, for a gradient of that
 *   model's size and for larger buckets.
 *
 * On a 2-core machine the two ranks share the cores the single process already uses (its BLAS
 * runs 2 threads), so the figures show that the method works and what it costs, not a speedup
 * that only separate cores or machines can give.
 */
import { spawn } from 'child_process';
import * as net from 'net';
import * as os from 'os';
import * as torch from '../lib';

const { nn, optim, distributed: dist } = torch;

interface WorkerConfig {
  mode: 'train' | 'allreduce';
  ddp: boolean;
  globalBatch: number; seq: number; warmup: number; steps: number;
  sizes: number[]; iters: number;
}

class Classifier extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 32, hiddenSize: 128, numLayers: 2, batchFirst: true });
  head = new nn.Linear(128, 10);
  forward(x: torch.Tensor): torch.Tensor {
    const [out] = this.lstm.forward(x);
    return this.head.forward(out.select(1, -1));
  }
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function worker(cfg: WorkerConfig): Promise<unknown> {
  const ws = Number(process.env.WORLD_SIZE ?? 1);
  if (cfg.ddp || cfg.mode === 'allreduce') dist.initProcessGroup({ timeout: 120000 });
  const rank = cfg.ddp || cfg.mode === 'allreduce' ? dist.getRank() : 0;
  const sync = () => { if (dist.isInitialized()) dist.barrier(); };
  if (cfg.mode === 'allreduce') {
    const out: { bytes: number; msMedian: number; msMin: number }[] = [];
    for (const n of cfg.sizes) {
      const t = torch.ones([n]);
      for (let i = 0; i < 5; i++) dist.allReduce(t);
      const times: number[] = [];
      for (let i = 0; i < cfg.iters; i++) {
        sync();
        const t0 = process.hrtime.bigint();
        dist.allReduce(t);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      out.push({ bytes: n * 4, msMedian: median(times), msMin: Math.min(...times) });
      t.dispose();
    }
    dist.destroyProcessGroup();
    return { rank, sizes: out };
  }
  torch.manualSeed(0);
  const model = new Classifier();
  const wrapped = cfg.ddp ? new nn.parallel.DistributedDataParallel(model) : model;
  const step = torch.trainStep({ model: wrapped, loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(wrapped.parameters(), { lr: 1e-3 }) });
  const local = cfg.globalBatch / ws;
  torch.manualSeed(100 + rank);
  const x = torch.randn([local, cfg.seq, 32]);
  const y = torch.randint(0, 10, [local]);
  for (let i = 0; i < cfg.warmup; i++) await step(x, y);
  sync();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < cfg.steps; i++) await step(x, y);
  sync();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (dist.isInitialized()) dist.destroyProcessGroup();
  return { rank, params: model.numParameters(), msPerStep: (seconds / cfg.steps) * 1000, threads: torch.getNumThreads() };
}

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

/** Runs `cfg` in `n` processes; resolves with each rank's answer. */
async function group(n: number, cfg: WorkerConfig, env: Record<string, string | undefined> = {}): Promise<Record<string, number>[]> {
  const port = await freePort();
  return Promise.all([...Array(n).keys()].map((rank) => new Promise<Record<string, number>>((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), RANK: String(rank), WORLD_SIZE: String(n), ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', __filename, '--worker', JSON.stringify(cfg)], { env: childEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('close', (code) => {
      const m = /^RESULT (.*)$/m.exec(out);
      if (code === 0 && m) resolve(JSON.parse(m[1]) as Record<string, number>);
      else reject(new Error(`rank ${rank} exited with ${code}: ${out}`));
    });
  })));
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const rounds = quick ? 1 : 3;
  const base: WorkerConfig = { mode: 'train', ddp: false, globalBatch: 64, seq: 32, warmup: quick ? 2 : 5, steps: quick ? 10 : 30, sizes: [], iters: quick ? 10 : 30 };
  const loadBefore = os.loadavg()[0];
  // The configurations take turns, `rounds` times, and each reports its median: other work on
  // the machine then slows them alike instead of skewing one.
  const slowest = (rs: Record<string, number>[]) => Math.max(...rs.map((r) => r.msPerStep));
  const runs = { one: [] as number[], oneDdp: [] as number[], two: [] as number[], twoDefault: [] as number[] };
  let params = 0;
  for (let r = 0; r < rounds; r++) {
    const one = (await group(1, base, { OMP_NUM_THREADS: undefined }))[0];
    params = one.params;
    runs.one.push(one.msPerStep);
    runs.oneDdp.push((await group(1, { ...base, ddp: true }, { OMP_NUM_THREADS: undefined }))[0].msPerStep);
    runs.two.push(slowest(await group(2, { ...base, ddp: true }, { OMP_NUM_THREADS: '1' })));
    runs.twoDefault.push(slowest(await group(2, { ...base, ddp: true }, { OMP_NUM_THREADS: undefined })));
  }
  const one = { params, msPerStep: median(runs.one) };
  const oneDdp = { msPerStep: median(runs.oneDdp) };
  const paramBytes = one.params * 4;
  const ar = (await group(2, { ...base, mode: 'allreduce', sizes: [one.params, 1 << 20, 25 * (1 << 18)] }, { OMP_NUM_THREADS: '1' }))[0] as unknown as { sizes: { bytes: number; msMedian: number; msMin: number }[] };
  const t1 = one.msPerStep;
  const t2 = median(runs.two);
  const t2d = median(runs.twoDefault);
  const mbps = (bytes: number, ms: number) => Number((bytes / 1e6 / (ms / 1000)).toFixed(1));
  const result = {
    benchmark: 'ddp',
    machine: {
      cpus: os.cpus().length, node: process.version, libtorch: torch.buildInfo().libtorch, backend: 'gloo', transport: 'tcp 127.0.0.1',
      loadAverageBefore: round(loadBefore), loadAverageAfter: round(os.loadavg()[0]),
    },
    model: { description: "DESIGN.md's classifier: LSTM(32 → 128, 2 layers, batchFirst) + Linear(128 → 10), Adam, cross-entropy", parameters: one.params, gradientBytes: paramBytes },
    scaling: {
      globalBatch: base.globalBatch, seq: base.seq, steps: base.steps, rounds, msPerStepRuns: runs,
      oneProcess: { msPerStep: round(t1), samplesPerSec: round((base.globalBatch / t1) * 1000) },
      oneProcessDDP: { msPerStep: round(oneDdp.msPerStep), overheadPct: round(((oneDdp.msPerStep - t1) / t1) * 100) },
      twoProcesses: { ompNumThreads: 1, msPerStep: round(t2), samplesPerSec: round((base.globalBatch / t2) * 1000), speedup: round(t1 / t2), efficiency: round(t1 / t2 / 2) },
      twoProcessesDefaultThreads: { msPerStep: round(t2d), speedup: round(t1 / t2d), efficiency: round(t1 / t2d / 2) },
    },
    allReduce: ar.sizes.map((s) => ({
      bytes: s.bytes, msMedian: round(s.msMedian), msMin: round(s.msMin),
      // algorithm bandwidth (bytes / time) and NCCL-tests' bus bandwidth (2(n-1)/n of it)
      algBandwidthMBps: mbps(s.bytes, s.msMedian), busBandwidthMBps: mbps((s.bytes * 2 * (2 - 1)) / 2, s.msMedian),
    })),
    note: `${os.cpus().length} CPU cores: the 2 ranks share the cores that 1 process already uses, so this measures that data-parallel training works and what communication costs, not the speedup separate machines or cores would give.`,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

function round(v: number): number { return Number(v.toFixed(3)); }

if (process.argv[2] === '--worker') {
  worker(JSON.parse(process.argv[3]) as WorkerConfig).then((r) => {
    process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
  }).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
