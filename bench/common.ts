/**
 * What the benchmark suite's processes share: the case descriptions every peer receives, the
 * FLOP counts, the statistics and the worker protocol's TypeScript side.
 *
 * Protocol (one JSON object per line): the orchestrator writes requests on the worker's stdin
 * and reads the answers on file descriptor 3, so whatever a library prints on stdout (TensorFlow.js
 * greets Node users there) cannot corrupt it. Requests run one at a time, in order.
 */
import * as fs from 'fs';
import * as readline from 'readline';
import { format } from 'util';

/** tfjs-torch: the same tf.layers models as tfjs-cpu/wasm, on torchrnn's TensorFlow.js backend (`torchrnn/tfjs`). */
export type Peer = 'torchrnn' | 'pytorch' | 'tfjs-cpu' | 'tfjs-wasm' | 'tfjs-torch';
export const PEERS: Peer[] = ['torchrnn', 'pytorch', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-torch'];
export type Cell = 'lstm' | 'gru' | 'rnn';

/** A recurrent model's training step or inference: a classifier (last step -> Linear) or a character LM. */
export interface ModelCase {
  id: string; kind: 'classifier' | 'charlm'; cell: Cell; mode: 'train' | 'infer';
  batch: number; seq: number; input: number; hidden: number; layers: number;
  /** classifier: classes; charlm: the vocabulary size */
  classes: number;
  /** charlm: the embedding size (the LSTM's input) */
  embed?: number;
  /** variable-length batch: each sequence's length (the longest is `seq`), run as packed sequences */
  lengths?: number[];
  /** classifier, LSTM: projSize (the recurrent state's size; the head reads it) */
  proj?: number;
  /** classifier: dropout between the recurrent layers (training mode) */
  dropout?: number;
}
/** One square float32 matrix multiply, n x n by n x n. */
export interface MatmulCase { id: string; kind: 'matmul'; n: number }
/** A tiny op's call latency: `calls` calls per timed iteration. */
export interface TinyCase { id: string; kind: 'tiny'; op: 'linear' | 'add'; async: boolean; calls: number }
/** The event loop's delay while the peer's fit() trains the classifier on `steps` batches. */
export interface LoopCase {
  id: string; kind: 'eventloop'; cell: 'lstm'; batch: number; seq: number; input: number; hidden: number; layers: number;
  classes: number; steps: number; intervalMs: number;
}
/**
 * Serving: a recurrent module's forward on one sequence (batch 1, under no-grad), the output
 * released. 'sync' and 'async' time one call per iteration (the rows report the p50 and the p99
 * of the calls); 'concurrent' times `requests` async calls of which `inflight` are outstanding at
 * any time (requests/s). `pool`: the Python peer's thread-pool size for its executor (0: asyncio's
 * default, min(32, cores + 4)).
 */
export interface ServeCase {
  id: string; kind: 'serve'; cell: 'lstm' | 'gru'; mode: 'sync' | 'async' | 'concurrent';
  seq: number; input: number; hidden: number; layers: number; inflight: number; requests: number; pool: number;
}
export type Case = ModelCase | MatmulCase | TinyCase | LoopCase | ServeCase;

/** What run() answers: seconds per iteration (per call for tiny cases). */
export interface RunResult { times: number[] }
export interface MemResult { baselineKB: number; rssKB: number; peakKB: number }
/**
 * Event-loop delay while training: how late each tick of a 1 ms timer ran (p50, p99, max; the
 * gap still open when training ended counts too), perf_hooks' histogram (null when the loop never
 * ran a timer), and the HTTP requests a 5 ms timer sent and got answered during training.
 */
export interface LoopResult {
  steps: number; seconds: number; delayP50Ms: number; delayP99Ms: number; delayMaxMs: number; ticks: number;
  histogramP99Ms: number | null; histogramMaxMs: number | null;
  httpExpected: number; httpSentDuring: number; httpAnsweredDuring: number; httpSent: number; httpAnswered: number; httpFailed: number;
}
export interface Hello { peer: string; version: string; threads: number; blas?: string; notes: string[] }

export const GATES: Record<Cell, number> = { lstm: 4, gru: 3, rnn: 1 };

/**
 * Matrix-multiply FLOPs of one iteration, as the issue counts them: forward 2·g·H·(I+H)·B per
 * layer per timestep (g gates), the heads' matmuls, and backward about twice the forward.
 * A packed batch counts only the real timesteps.
 */
export function flops(c: Case): number {
  if (c.kind === 'matmul') return 2 * c.n ** 3;
  if (c.kind !== 'classifier' && c.kind !== 'charlm') return 0;
  const steps = c.lengths ? c.lengths.reduce((a, b) => a + b, 0) : c.batch * c.seq;
  const g = GATES[c.cell];
  let fwd = 0;
  const out = c.proj || c.hidden;  // the state's size: projSize when there is one
  for (let l = 0; l < c.layers; l++) {
    const inp = l === 0 ? (c.kind === 'charlm' ? c.embed! : c.input) : out;
    fwd += 2 * g * c.hidden * (inp + out) * steps + (c.proj ? 2 * c.hidden * c.proj * steps : 0);
  }
  fwd += c.kind === 'charlm' ? 2 * c.hidden * c.classes * steps : 2 * out * c.classes * c.batch;
  return c.mode === 'train' ? 3 * fwd : fwd;
}

/** Sequence lengths for a variable-length batch: spread over [min, max], the first one max, reproducible. */
export function spreadLengths(batch: number, min: number, max: number): number[] {
  let s = 12345;
  const next = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  return Array.from({ length: batch }, (_, i) => (i === 0 ? max : min + Math.floor(next() * (max - min + 1))));
}

// ---- statistics ------------------------------------------------------------------------------

export function median(a: number[]): number {
  if (a.length === 0) return NaN;
  const s = [...a].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
export function quantile(a: number[], q: number): number {
  const s = [...a].sort((p, r) => p - r);
  return s[Math.min(s.length - 1, Math.max(0, Math.floor(q * s.length)))];
}
export interface Spread { median: number; min: number; max: number; n: number }
export function spread(a: number[]): Spread {
  return { median: median(a), min: Math.min(...a), max: Math.max(...a), n: a.length };
}

// ---- memory of this process ----------------------------------------------------------------

/** Resident and peak resident set of this process in kB (Linux: /proc; elsewhere Node's numbers). */
export function rssKB(): { rss: number; peak: number } {
  try {
    const s = fs.readFileSync('/proc/self/status', 'utf8');
    const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1]);
    return { rss: get('VmRSS'), peak: get('VmHWM') };
  } catch {
    return { rss: process.memoryUsage().rss / 1024, peak: process.resourceUsage().maxRSS };
  }
}

/** The BLAS libraries mapped into this process (libtorch's matmuls run there). */
export function mappedBlas(): string | undefined {
  try {
    const libs = new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.split(/\s+/)[5]).filter((p) => p && /blas|lapack|mkl/i.test(p)));
    return [...libs].join(', ') || undefined;
  } catch { return undefined; }
}

// ---- worker side of the protocol -------------------------------------------------------------

export interface Request { op: string; [k: string]: unknown }

/** Serves requests from stdin, answering on fd 3; stdout is redirected to stderr. */
export function serve(handle: (req: Request) => Promise<unknown> | unknown): void {
  const log = (...a: unknown[]) => { process.stderr.write(format(...a) + '\n'); };
  console.log = log; console.info = log; console.warn = log;
  const rl = readline.createInterface({ input: process.stdin });
  let chain = Promise.resolve();
  rl.on('line', (line) => {
    if (!line.trim()) return;
    chain = chain.then(async () => {
      let answer: unknown;
      try {
        const req = JSON.parse(line) as Request;
        if (req.op === 'exit') { process.exit(0); }
        answer = { ok: true, result: await handle(req) };
      } catch (err) {
        answer = { ok: false, error: String((err as Error)?.stack ?? err).split('\n').slice(0, 4).join(' | ') };
      }
      fs.writeSync(3, JSON.stringify(answer) + '\n');
    });
  });
  rl.on('close', () => { chain.then(() => process.exit(0)); });
}

/** A model, ready to time: one call of `iter` is one timed iteration. */
export interface Runner { iter(): unknown; dispose(): void }

/** Times iterations until at least minTime seconds and minIters iterations, at most maxIters. */
export async function timeRunner(r: Runner, o: { minTime: number; minIters: number; maxIters: number }, perCall = 1): Promise<RunResult> {
  const times: number[] = [];
  const start = performance.now();
  for (;;) {
    const t0 = performance.now();
    const p = r.iter();
    if (p instanceof Promise) await p;
    times.push((performance.now() - t0) / 1000 / perCall);
    if (times.length >= o.maxIters || (times.length >= o.minIters && performance.now() - start >= o.minTime * 1000)) return { times };
  }
}

/**
 * Runs `train` (a peer's fit()) while an HTTP server on loopback is asked for a page every
 * `intervalMs` and perf_hooks samples the event loop's delay. Loopback only, bounded by `train`.
 */
export async function eventLoopDuring(train: () => Promise<number>, intervalMs: number): Promise<LoopResult> {
  const http = await import('http');
  const { monitorEventLoopDelay } = await import('perf_hooks');
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let httpSent = 0;
  let httpAnswered = 0;
  let httpFailed = 0;
  const timer = setInterval(() => {
    httpSent++;
    http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => { res.resume(); res.on('end', () => { httpAnswered++; }); })
      .on('error', () => { httpFailed++; });
  }, intervalMs);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // Our own 1 ms ticker too: a training loop that never yields to timers leaves the histogram
  // empty, but not this (the gap still open when training ends counts as one delay).
  const delays: number[] = [];
  let last = performance.now();
  const ticker = setInterval(() => { const now = performance.now(); delays.push(Math.max(0, now - last - 1)); last = now; }, 1);
  const start = performance.now();
  let steps = 0;
  let answeredDuring = 0;
  let sentDuring = 0;
  try {
    steps = await train();
  } finally {
    const end = performance.now();
    delays.push(Math.max(0, end - last - 1));
    answeredDuring = httpAnswered;
    sentDuring = httpSent;
    h.disable();
    clearInterval(timer);
    clearInterval(ticker);
  }
  const seconds = (performance.now() - start) / 1000;
  await new Promise((r) => setTimeout(r, 200));
  server.close();
  agent.destroy();
  const sorted = delays.sort((a, b) => a - b);
  const q = (x: number) => sorted[Math.min(sorted.length - 1, Math.floor(x * sorted.length))];
  return {
    steps, seconds, delayP50Ms: q(0.5), delayP99Ms: q(0.99), delayMaxMs: sorted[sorted.length - 1], ticks: delays.length,
    histogramP99Ms: h.count ? h.percentile(99) / 1e6 : null, histogramMaxMs: h.count ? h.max / 1e6 : null,
    httpExpected: Math.floor((seconds * 1000) / intervalMs), httpSentDuring: sentDuring, httpAnsweredDuring: answeredDuring,
    httpSent, httpAnswered, httpFailed,
  };
}

/**
 * A JavaScript peer's worker loop: the ops every JS peer answers the same way (setup, run,
 * dispose, mem) around the peer's own hello, setup and event-loop measurement.
 */
export function servePeer(peer: {
  hello(req: Request): Promise<Hello> | Hello;
  setup(c: Case): Runner;
  eventLoop(c: LoopCase): Promise<unknown>;
}): void {
  // idle: the process with its library loaded, once it has answered its first request (the
  // harness's own first-request costs, such as compiling its code, are not the library's);
  // peer_pytorch.py takes its baseline at the same point
  let baseline = rssKB().rss, helloed = false;
  let current: { c: Case; r: Runner } | null = null;
  serve(async (req: Request) => {
    switch (req.op) {
      case 'hello': {
        const h = await peer.hello(req);
        if (!helloed) baseline = rssKB().rss, helloed = true;
        return h;
      }
      case 'setup': {
        current?.r.dispose();
        const c = req.case as Case;
        const t0 = performance.now();
        current = c.kind === 'eventloop' ? null : { c, r: peer.setup(c) };
        return { seconds: (performance.now() - t0) / 1000 };
      }
      case 'run': {
        if (!current) throw new Error('run before setup');
        return timeRunner(current.r, req as never, current.c.kind === 'tiny' ? current.c.calls : 1);
      }
      case 'eventloop': return peer.eventLoop(req.case as LoopCase);
      case 'dispose': current?.r.dispose(); current = null; return null;
      case 'mem': { const m = rssKB(); return { baselineKB: baseline, rssKB: m.rss, peakKB: m.peak }; }
      default: throw new Error(`unknown op ${req.op}`);
    }
  });
}
