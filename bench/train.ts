/**
 * Training benchmarks (issue 5's targets), JSON on stdout and bench/results-train.json:
 * 1. the fused trainStep of the LSTM classifier (batch 32, seq 64, input 32, hidden 128,
 *    2 layers, Linear head, cross-entropy, Adam) against PyTorch's own Python loop, same thread
 *    count, alternating best-of-N rounds (target: ratio >= 1.0);
 * 2. the event loop's delay while fit() trains that model, with an HTTP server on loopback
 *    answering a request every 5 ms (targets: p99 < 5 ms, max < 20 ms, every request answered);
 * 3. the per-call overhead of a small async op: forwardAsync of a tiny Linear (target: median < 30 µs).
 * Run: npm run bench:train (or npx tsx bench/train.ts). Env: BENCH_MIN_TIME, BENCH_ROUNDS.
 */
import { execFileSync } from 'child_process';
import { writeFileSync } from 'fs';
import * as http from 'http';
import { monitorEventLoopDelay } from 'perf_hooks';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';

const { nn, optim } = torch;
const cfg = { batch: 32, seq: 64, input: 32, hidden: 128, layers: 2, classes: 10, threads: torch.getNumThreads(), minTime: Number(process.env.BENCH_MIN_TIME ?? 3) };
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

class Classifier extends nn.Module {
  lstm = new nn.LSTM({ inputSize: cfg.input, hiddenSize: cfg.hidden, numLayers: cfg.layers, batchFirst: true });
  head = new nn.Linear(cfg.hidden, cfg.classes);
  forward(x: torch.Tensor): torch.Tensor {
    const [out] = this.lstm.forward(x);
    return this.head.forward(out.select(1, -1));
  }
}
// cross-entropy from log-softmax and the target's log-probability (nn.CrossEntropyLoss computes the same)
const crossEntropy = (out: torch.Tensor, t: torch.Tensor) => out.logSoftmax(-1).gather(1, t.unsqueeze(1)).neg().mean();

async function fusedStepsPerSec(): Promise<number> {
  torch.manualSeed(0);
  const model = new Classifier();
  const step = torch.trainStep({ model, loss: crossEntropy, optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }) });
  const x = torch.randn([cfg.batch, cfg.seq, cfg.input]);
  const y = torch.randint(0, cfg.classes, [cfg.batch]);
  const warm = performance.now();
  while (performance.now() - warm < 300 * cfg.minTime) await step(x, y);
  let n = 0;
  const start = performance.now();
  while (n < 5 || performance.now() - start < 1000 * cfg.minTime) { await step(x, y); n++; }
  return n / ((performance.now() - start) / 1000);
}

function pytorchStepsPerSec(): number | null {
  try {
    const out = execFileSync('/usr/bin/python3', [path.join(__dirname, 'train.py'), JSON.stringify(cfg)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return (JSON.parse(out) as { stepsPerSec: number }).stepsPerSec;
  } catch (err) {
    process.stderr.write(`PyTorch peer skipped (bash scripts/setup.sh --dev installs python3-torch): ${(err as Error).message.split('\n')[0]}\n`);
    return null;
  }
}

async function eventLoopDuringFit(): Promise<Record<string, number>> {
  torch.manualSeed(1);
  const model = new Classifier();
  const batches = Array.from({ length: 40 }, () => [torch.randn([cfg.batch, cfg.seq, cfg.input]), torch.randint(0, cfg.classes, [cfg.batch])] as [torch.Tensor, torch.Tensor]);
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let sent = 0;
  let answered = 0;
  let failed = 0;
  const timer = setInterval(() => {
    sent++;
    http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => { res.resume(); res.on('end', () => { answered++; }); }).on('error', () => { failed++; });
  }, 5);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const start = performance.now();
  await torch.fit({ model, optimizer: new optim.Adam(model.parameters()), loss: crossEntropy, data: batches, epochs: 2 });
  const seconds = (performance.now() - start) / 1000;
  h.disable();
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 200));
  server.close();
  agent.destroy();
  return {
    fitSeconds: seconds, stepsPerSec: 80 / seconds,
    delayP50Ms: h.percentile(50) / 1e6, delayP99Ms: h.percentile(99) / 1e6, delayMaxMs: h.max / 1e6,
    httpRequests: sent, httpAnswered: answered, httpFailed: failed,
  };
}

async function asyncOverhead(): Promise<Record<string, number>> {
  const lin = new nn.Linear(4, 4);
  const x = torch.randn([1, 4]);
  const times: number[] = [];
  const syncTimes: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t0 = process.hrtime.bigint();
    const y = await lin.forwardAsync(x);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
    y.dispose();
    const t1 = process.hrtime.bigint();
    lin.forward(x).dispose();
    syncTimes.push(Number(process.hrtime.bigint() - t1) / 1000);
  }
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
  const p99 = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length * 0.99)];
  return { asyncMedianUs: med(times.slice(500)), asyncP99Us: p99(times.slice(500)), syncMedianUs: med(syncTimes.slice(500)) };
}

(async () => {
  let ours = 0;
  let ref: number | null = null;
  for (let r = 0; r < rounds; r++) {
    ours = Math.max(ours, await fusedStepsPerSec());
    const p = pytorchStepsPerSec();
    if (p !== null) ref = Math.max(ref ?? 0, p);
  }
  const loop = await eventLoopDuringFit();
  const overhead = await asyncOverhead();
  const result = {
    benchmark: 'train', date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length, threads: cfg.threads, rounds, model: cfg,
    fusedStep: { torchrnnStepsPerSec: ours, pytorchStepsPerSec: ref, ratio: ref === null ? null : ours / ref, target: '>= 1.0' },
    eventLoopDuringFit: { ...loop, target: 'p99 < 5 ms, max < 20 ms, every request answered' },
    asyncOverhead: { ...overhead, target: 'async median < 30 us' },
  };
  const json = JSON.stringify(result, null, 2);
  process.stdout.write(json + '\n');
  writeFileSync(path.join(__dirname, 'results-train.json'), json + '\n');
  process.stderr.write(`\nfused step: ${ours.toFixed(2)} steps/s vs PyTorch ${ref?.toFixed(2) ?? 'n/a'} (ratio ${ref ? (ours / ref).toFixed(3) : 'n/a'})\n`);
  process.stderr.write(`event loop during fit: p99 ${loop.delayP99Ms.toFixed(2)} ms, max ${loop.delayMaxMs.toFixed(2)} ms, HTTP ${loop.httpAnswered}/${loop.httpRequests} answered\n`);
  process.stderr.write(`small async op: median ${overhead.asyncMedianUs.toFixed(1)} µs (sync ${overhead.syncMedianUs.toFixed(1)} µs)\n`);
})();
