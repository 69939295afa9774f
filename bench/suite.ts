/**
 * The benchmark suite: torchrnn against PyTorch's Python loop (the same libtorch: the reference
 * for every ratio), TensorFlow.js's CPU backend and its WebAssembly backend, side by side in one
 * run, each peer in its own process with the same thread count, models, sizes and timing loop.
 *
 *   npm run bench                    full suite: bench/results.json, bench/results.md (+ JSON on stdout, table on stderr)
 *   npm run bench -- --plot          also the SVG charts, next to the JSON
 *   npm run bench:quick              the CI-sized suite (< 3 minutes): bench/quick/
 *   npx tsx bench/suite.ts --smoke   every row at toy sizes (< 1 minute; what test/95 runs)
 *
 * Options: --quick | --smoke, --plot, --out DIR, --peers torchrnn,pytorch,tfjs-cpu,tfjs-wasm,tfjs-torch,
 * --only workloads,curves,limit,overheads, --filter REGEX (case ids, e.g. 'lstm-train-b256'), --rounds N, --threads N (default: libtorch's own
 * default), --tfjs-budget SECONDS (longest estimated tfjs iteration that is still run),
 * --no-memory, --verbose. Env: BENCH_PYTHON (default /usr/bin/python3).
 *
 * Method: every case is set up and warmed in every peer, then measured in rounds whose peer order
 * alternates (A B C D, D C B A, ...) so that this noisy machine's drift falls on all peers alike.
 * A round times iterations for at least --min-time seconds; its value is the median iteration.
 * Rows report the median over rounds with min-max spread, and the ratio to PyTorch is the median
 * of the per-round ratios. Peak memory is measured separately, in a fresh process per peer and
 * case (VmHWM minus the idle process's RSS), because a long-lived process's high-water mark and
 * its allocator's free lists would hide what each case needs.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import {
  Case, flops, Hello, LoopCase, LoopResult, MatmulCase, median, MemResult, ModelCase, Peer, PEERS, RunResult,
  spread, Spread, spreadLengths, TinyCase,
} from './common';
import { barChart, COLORS, lineChart } from './svg';

// ---- options --------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
function opt(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}
const known = new Set(['quick', 'smoke', 'plot', 'out', 'peers', 'only', 'filter', 'rounds', 'threads', 'tfjs-budget', 'no-memory', 'verbose', 'min-time', 'help']);
for (const a of argv) {
  if (a.startsWith('--') && !known.has(a.slice(2).split('=')[0])) { process.stderr.write(`unknown option ${a} (see the top of bench/suite.ts)\n`); process.exit(2); }
}
if (flag('help')) { process.stdout.write(fs.readFileSync(__filename, 'utf8').split('*/')[0] + '*/\n'); process.exit(0); }

type ModeName = 'full' | 'quick' | 'smoke';
const modeName: ModeName = flag('smoke') ? 'smoke' : flag('quick') ? 'quick' : 'full';

interface Mode {
  rounds: number; minTime: number; minIters: number; warmTime: number;
  /** rounds for a peer whose warm-up iteration took longer than 1 s (TensorFlow.js on the big rows), and for the event loop */
  slowRounds: number; loopRounds: number;
  /** tfjs: skip a case whose estimated iteration takes longer (the reference LSTM training step always runs) */
  tfjsBudget: number;
  ref: { batch: number; seq: number; input: number; hidden: number; layers: number; classes: number };
  charlm: { batch: number; seq: number; embed: number; hidden: number; layers: number; vocab: number };
  packedMin: number;
  seqs: number[]; batches: number[]; hiddens: number[];
  matmul: number; limitGrid: [number, number][]; limitSeq: number;
  tinyCalls: number; loopSteps: number; loopBudget: number;
  /** which curve cases get a fresh-process memory measurement */ memory: ('seq' | 'batch' | 'hidden')[];
}
const MODES: Record<ModeName, Mode> = {
  full: {
    rounds: 5, minTime: 1, minIters: 3, warmTime: 0.5, slowRounds: 3, loopRounds: 3, tfjsBudget: 25,
    ref: { batch: 32, seq: 64, input: 32, hidden: 128, layers: 2, classes: 10 },
    charlm: { batch: 64, seq: 100, embed: 64, hidden: 256, layers: 1, vocab: 60 },
    packedMin: 16,
    seqs: [16, 32, 64, 128, 256, 512], batches: [1, 4, 16, 32, 64, 256], hiddens: [64, 128, 256, 512, 1024],
    matmul: 2048, limitGrid: [[32, 128], [32, 256], [32, 512], [64, 128], [64, 256], [64, 512], [128, 128], [128, 256], [128, 512], [256, 128], [256, 256], [256, 512]], limitSeq: 64,
    tinyCalls: 200, loopSteps: 80, loopBudget: 30, memory: ['seq', 'batch', 'hidden'],
  },
  quick: {
    rounds: 3, minTime: 0.2, minIters: 2, warmTime: 0.1, slowRounds: 1, loopRounds: 1, tfjsBudget: 1,
    ref: { batch: 32, seq: 64, input: 32, hidden: 128, layers: 2, classes: 10 },
    charlm: { batch: 64, seq: 100, embed: 64, hidden: 256, layers: 1, vocab: 60 },
    packedMin: 16,
    seqs: [16, 64, 256], batches: [1, 32, 256], hiddens: [64, 128, 512],
    matmul: 2048, limitGrid: [[256, 512]], limitSeq: 16,
    tinyCalls: 100, loopSteps: 20, loopBudget: 6, memory: ['seq'],
  },
  smoke: {
    rounds: 2, minTime: 0.02, minIters: 1, warmTime: 0, slowRounds: 1, loopRounds: 1, tfjsBudget: 2,
    ref: { batch: 4, seq: 8, input: 8, hidden: 16, layers: 2, classes: 5 },
    charlm: { batch: 4, seq: 8, embed: 8, hidden: 16, layers: 1, vocab: 10 },
    packedMin: 2,
    seqs: [4, 8, 16], batches: [1, 4], hiddens: [8, 16],
    matmul: 128, limitGrid: [[8, 16]], limitSeq: 8,
    tinyCalls: 10, loopSteps: 4, loopBudget: 3, memory: ['seq'],
  },
};
const mode = MODES[modeName];
if (opt('rounds')) mode.rounds = Math.max(1, Number(opt('rounds')));
if (opt('min-time')) mode.minTime = Number(opt('min-time'));
if (opt('tfjs-budget')) mode.tfjsBudget = Number(opt('tfjs-budget'));
const outDir = path.resolve(opt('out') ?? (modeName === 'full' ? __dirname : modeName === 'quick' ? path.join(__dirname, 'quick') : path.join(os.tmpdir(), 'torchrnn-bench-smoke')));
const sections = new Set((opt('only') ?? 'workloads,curves,limit,overheads').split(','));
const wantPeers = new Set((opt('peers') ?? PEERS.join(',')).split(','));
const verbose = flag('verbose');
const say = (s: string) => process.stderr.write(s + '\n');

// ---- cases ----------------------------------------------------------------------------------

type Section = 'workloads' | 'curves' | 'limit' | 'overheads';
interface Entry { c: Case; section: Section; title: string; params: Record<string, number | string>; force?: boolean; note?: string }
const entries = new Map<string, Entry>();
const idFilter = opt('filter') ? new RegExp(opt('filter')!) : null;
function add(e: Entry): string {
  if (idFilter && !idFilter.test(e.c.id)) return e.c.id;
  const had = entries.get(e.c.id);
  if (!had) entries.set(e.c.id, e);
  else if (e.force) had.force = true;
  return e.c.id;
}

function modelCase(kind: 'classifier' | 'charlm', cell: 'lstm' | 'gru' | 'rnn', m: 'train' | 'infer', s: Partial<ModelCase> & { batch: number; seq: number; hidden: number }): ModelCase {
  const r = mode.ref;
  const c: ModelCase = { id: '', kind, cell, mode: m, input: r.input, layers: r.layers, classes: r.classes, ...s };
  c.id = `${kind === 'charlm' ? 'charlm' : cell}${c.lengths ? '-packed' : ''}-${m}-b${c.batch}-s${c.seq}-h${c.hidden}-l${c.layers}${kind === 'charlm' ? `-e${c.embed}-v${c.classes}` : `-i${c.input}`}`;
  return c;
}
const sizeLabel = (c: ModelCase) => (c.kind === 'charlm'
  ? `batch ${c.batch}, seq ${c.seq}, emb ${c.embed}, hidden ${c.hidden}, vocab ${c.classes}`
  : `batch ${c.batch}, seq ${c.lengths ? `${Math.min(...c.lengths)}..${c.seq}` : c.seq}, in ${c.input}, hidden ${c.hidden}, ${c.layers} layers`);
function addModel(section: Section, c: ModelCase, force = false): string {
  const name = c.kind === 'charlm' ? 'char-LSTM LM' : `${c.cell.toUpperCase()} classifier${c.lengths ? ', packed' : ''}`;
  return add({
    c, section, force, title: `${name} ${c.mode === 'train' ? 'train step' : 'inference'} (${sizeLabel(c)})`,
    params: { batch: c.batch, seq: c.seq, hidden: c.hidden, layers: c.layers, ...(c.kind === 'charlm' ? { embed: c.embed!, vocab: c.classes } : { input: c.input }) },
  });
}

const R = mode.ref;
const curves: { name: 'seq' | 'batch' | 'hidden'; ids: string[]; xs: number[] }[] = [];
let limitMatmulId = '';
if (sections.has('limit')) {
  limitMatmulId = add({ c: { id: `matmul-${mode.matmul}`, kind: 'matmul', n: mode.matmul } as MatmulCase, section: 'limit', title: `float32 matmul ${mode.matmul}x${mode.matmul} @ ${mode.matmul}x${mode.matmul}`, params: { n: mode.matmul } });
}
if (sections.has('workloads')) {
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    for (const m of ['train', 'infer'] as const) addModel('workloads', modelCase('classifier', cell, m, { ...R }), cell === 'lstm' && m === 'train');
  }
  const L = mode.charlm;
  for (const m of ['train', 'infer'] as const) {
    addModel('workloads', modelCase('charlm', 'lstm', m, { batch: L.batch, seq: L.seq, hidden: L.hidden, layers: L.layers, embed: L.embed, classes: L.vocab, input: L.embed }));
  }
  const lengths = spreadLengths(R.batch, mode.packedMin, R.seq);
  for (const m of ['train', 'infer'] as const) addModel('workloads', modelCase('classifier', 'lstm', m, { ...R, lengths }));
}
if (sections.has('curves')) {
  const curve = (name: 'seq' | 'batch' | 'hidden', xs: number[]) => {
    const pts = xs.map((x) => [x, addModel('curves', modelCase('classifier', 'lstm', 'train', { ...R, [name]: x }))] as const).filter(([, id]) => entries.has(id));
    if (pts.length) curves.push({ name, xs: pts.map(([x]) => x), ids: pts.map(([, id]) => id) });
  };
  curve('seq', mode.seqs);
  curve('batch', mode.batches);
  curve('hidden', mode.hiddens);
}
if (sections.has('limit')) {
  for (const [batch, hidden] of mode.limitGrid) addModel('limit', modelCase('classifier', 'lstm', 'train', { ...R, batch, hidden, seq: mode.limitSeq }));
}
if (limitMatmulId && !entries.has(limitMatmulId)) limitMatmulId = '';
const loopIds: string[] = [];
if (sections.has('overheads')) {
  const tiny = (op: 'linear' | 'add', async: boolean, title: string) => add({
    c: { id: `tiny-${op}-${async ? 'async' : 'sync'}`, kind: 'tiny', op, async, calls: mode.tinyCalls } as TinyCase, section: 'overheads', title, params: { calls: mode.tinyCalls },
    note: async ? 'PyTorch: the same call awaited from asyncio on a one-thread executor (`await loop.run_in_executor(pool, lin, x)`), what keeps a Python event loop free; TensorFlow.js: apply + await data()' : undefined,
  });
  tiny('add', false, 'tiny op: add of two 1x4 tensors, sync');
  tiny('linear', false, 'tiny op: Linear(4, 4) forward, sync');
  tiny('linear', true, 'tiny op: Linear(4, 4) forward, async (forwardAsync)');
  const lc: LoopCase = { id: 'eventloop-fit', kind: 'eventloop', cell: 'lstm', ...R, steps: mode.loopSteps, intervalMs: 5 };
  loopIds.push(add({ c: lc, section: 'overheads', title: `event-loop delay while fit() trains the LSTM classifier (HTTP request every ${lc.intervalMs} ms)`, params: { steps: lc.steps } }));
}

// ---- workers ----------------------------------------------------------------------------------

// torchrnn's peers load the compiled package (dist/, what npm installs), not lib/ through tsx:
// tsx's module shims alone cost ~10 % on a tiny op. Compile first when lib/ is newer.
function ensureCompiled(): void {
  const root = path.join(__dirname, '..');
  const built = path.join(root, 'dist', 'index.js');
  const newest = (dir: string): number => fs.readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = path.join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? fs.statSync(p).mtimeMs : 0);
  }, 0);
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= newest(path.join(root, 'lib'))) return;
  process.stderr.write('compiling lib/ to dist/ (npm run compile)\n');
  const r = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run compile failed: the benchmark measures the compiled package');
}

const tsxCjs = require.resolve('tsx/cjs');
const python = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
function command(peer: Peer): [string, string[]] {
  if (peer === 'pytorch') return [python, [path.join(__dirname, 'peer_pytorch.py')]];
  const file = path.join(__dirname, peer === 'torchrnn' ? 'peer-torchrnn.ts' : 'peer-tfjs.ts');
  return [process.execPath, ['--require', tsxCjs, file, ...(peer.startsWith('tfjs-') ? [peer.slice(5)] : [])]];
}

class Worker {
  private proc: ChildProcess;
  private waiting: ((line: string) => void)[] = [];
  private log: string[] = [];
  dead: string | null = null;
  constructor(readonly peer: Peer) {
    const [cmd, args] = command(peer);
    this.proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
    const keep = (d: Buffer) => { this.log.push(d.toString()); if (this.log.length > 200) this.log.shift(); if (verbose) process.stderr.write(`[${peer}] ${d}`); };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    readline.createInterface({ input: this.proc.stdio[3] as NodeJS.ReadableStream }).on('line', (l) => this.waiting.shift()?.(l));
    this.proc.on('error', (e) => this.fail(`could not start: ${e.message}`));
    this.proc.on('exit', (code, sig) => this.fail(`exited (${sig ?? code})`));
  }
  private fail(why: string) {
    if (this.dead) return;
    const tail = this.log.join('').trim().split('\n').filter((l) => l.trim()).slice(-3).join(' | ');
    this.dead = `${why}${tail ? `: ${tail}` : ''}`;
    for (const w of this.waiting.splice(0)) w(JSON.stringify({ ok: false, error: this.dead }));
  }
  request<T>(req: Record<string, unknown>, timeoutMs = 20 * 60e3): Promise<T> {
    if (this.dead) return Promise.reject(new Error(this.dead));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => { this.kill(); reject(new Error(`timed out after ${timeoutMs / 1000} s`)); }, timeoutMs);
      this.waiting.push((line) => {
        clearTimeout(timer);
        const a = JSON.parse(line) as { ok: boolean; result?: T; error?: string };
        if (a.ok) resolve(a.result as T); else reject(new Error(a.error));
      });
      this.proc.stdin!.write(JSON.stringify(req) + '\n');
    });
  }
  kill() { if (!this.dead) this.fail('stopped'); this.proc.kill('SIGKILL'); }
  close() { if (!this.dead) { this.proc.stdin!.end(JSON.stringify({ op: 'exit' }) + '\n'); this.dead = 'closed'; } }
}

function isInstalled(peer: Peer): string | null {
  if (!peer.startsWith('tfjs-')) return null;
  const need = peer === 'tfjs-wasm' ? ['@tensorflow/tfjs-backend-wasm'] : [];
  const umbrella = (() => { try { require.resolve('@tensorflow/tfjs'); return true; } catch { return false; } })();
  if (!umbrella) need.push('@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu');
  const missing = need.filter((m) => { try { require.resolve(m); return false; } catch { return true; } });
  return missing.length ? `not installed (${missing.join(', ')}; npm ci installs the dev dependencies)` : null;
}

// ---- measuring --------------------------------------------------------------------------------

interface PeerRow {
  /** per-round values in the row's unit */ samples?: number[]; stats?: Spread; iterations?: number; setupSeconds?: number;
  gflops?: number; pctOfMatmul?: number; memory?: { peakMB: number; deltaMB: number } | { skipped: string };
  loop?: LoopResult[]; skipped?: string; error?: string;
}
const rowsByPeer = new Map<string, Partial<Record<Peer, PeerRow>>>();
const peerRow = (id: string, p: Peer) => { const r = rowsByPeer.get(id) ?? {}; rowsByPeer.set(id, r); return (r[p] ??= {}); };
/** tfjs time estimates: seconds per FLOP seen so far, per peer and mode */
const secPerFlop = new Map<string, number>();
const hellos: Partial<Record<Peer, Hello>> = {};
const skippedPeers: Record<string, string> = {
  'tfjs-node': 'not run: @tensorflow/tfjs-node cannot be installed on a machine that reaches only the npm registry (its install script downloads the libtensorflow binary from outside npm)',
};

const unitOf = (c: Case) => (c.kind === 'matmul' ? 'GFLOP/s' : c.kind === 'tiny' ? 'µs/call' : c.kind === 'eventloop' ? 'ms p99 delay' : 'seq/s');
const higherBetter = (c: Case) => c.kind === 'matmul' || c.kind === 'classifier' || c.kind === 'charlm';
function valueOf(c: Case, seconds: number): number {
  if (c.kind === 'matmul') return flops(c) / seconds / 1e9;
  if (c.kind === 'tiny') return seconds * 1e6;
  return (c as ModelCase).batch / seconds;
}

function tfjsEstimate(p: Peer, c: Case): number | null {
  if (c.kind !== 'classifier' && c.kind !== 'charlm') return null;
  const r = secPerFlop.get(`${p}/${c.mode}`) ?? secPerFlop.get(`${p}/train`);
  return r === undefined ? null : r * flops(c);
}

async function measureCase(e: Entry, workers: Map<Peer, Worker>): Promise<void> {
  const c = e.c;
  const active: Worker[] = [];
  for (const [p, w] of workers) {
    const pr = peerRow(c.id, p);
    if (w.dead) { pr.skipped = `worker unavailable: ${w.dead}`; continue; }
    if (p.startsWith('tfjs') && c.kind === 'matmul') { pr.skipped = 'not measured: the limit is libtorch\'s'; continue; }
    if (p.startsWith('tfjs') && !e.force) {
      const est = tfjsEstimate(p, c);
      if (est !== null && est > mode.tfjsBudget) { pr.skipped = `skipped: estimated ${est.toFixed(1)} s per iteration > budget ${mode.tfjsBudget} s (--tfjs-budget)`; continue; }
    }
    try {
      pr.setupSeconds = (await w.request<{ seconds: number }>({ op: 'setup', case: c })).seconds;
      active.push(w);
    } catch (err) { pr.error = (err as Error).message; }
  }
  // warm-up: the first call traces (torchrnn), builds the train function (TensorFlow.js) or fills caches
  const slow = new Set<Peer>();
  for (const w of [...active]) {
    try {
      const warm = await w.request<RunResult>({ op: 'run', minTime: mode.warmTime, minIters: 1, maxIters: w.peer.startsWith('tfjs') && (tfjsEstimate(w.peer, c) ?? 0) > mode.minTime ? 1 : 1e9 });
      if (median(warm.times) > 1) slow.add(w.peer);
    } catch (err) { peerRow(c.id, w.peer).error = (err as Error).message; active.splice(active.indexOf(w), 1); }
  }
  for (let r = 0; r < mode.rounds; r++) {
    const order = r % 2 === 0 ? active : [...active].reverse();
    for (const w of order) {
      const pr = peerRow(c.id, w.peer);
      if (pr.error || (slow.has(w.peer) && r >= mode.slowRounds)) continue;
      try {
        const res = await w.request<RunResult>({ op: 'run', minTime: mode.minTime, minIters: mode.minIters, maxIters: 1e9 });
        (pr.samples ??= []).push(valueOf(c, median(res.times)));
        pr.iterations = (pr.iterations ?? 0) + res.times.length;
        if (c.kind === 'classifier' || c.kind === 'charlm') secPerFlop.set(`${w.peer}/${c.mode}`, median(res.times) / flops(c));
      } catch (err) { pr.error = (err as Error).message; }
    }
  }
  for (const w of active) await w.request({ op: 'dispose' }).catch(() => undefined);
}

async function measureLoop(e: Entry, workers: Map<Peer, Worker>): Promise<void> {
  const base = e.c as LoopCase;
  for (let r = 0; r < mode.loopRounds; r++) {
    for (const [p, w] of r % 2 === 0 ? [...workers] : [...workers].reverse()) {
      const pr = peerRow(base.id, p);
      if (p === 'pytorch') { pr.skipped = 'n/a: a Python training loop has no event loop to delay'; continue; }
      if (w.dead) { pr.skipped = `worker unavailable: ${w.dead}`; continue; }
      if (pr.error || pr.skipped) continue;
      let steps = base.steps;
      if (p.startsWith('tfjs')) {
        const per = secPerFlop.get(`${p}/train`);
        const stepSec = per === undefined ? mode.loopBudget / 2 : per * flops({ ...base, kind: 'classifier', mode: 'train' } as ModelCase);
        steps = Math.min(base.steps, Math.floor(mode.loopBudget / Math.max(stepSec, 1e-6)));
        if (steps < 2) { pr.skipped = `skipped: 2 steps take about ${(2 * stepSec).toFixed(1)} s > budget ${mode.loopBudget} s`; continue; }
        if (r > 0 && stepSec * steps > 5) continue;   // one round of a slow peer is enough
      }
      try {
        const res = await w.request<LoopResult>({ op: 'eventloop', case: { ...base, steps } });
        (pr.loop ??= []).push(res);
        (pr.samples ??= []).push(res.delayP99Ms);
      } catch (err) { pr.error = (err as Error).message; }
    }
  }
}

async function measureMemory(ids: string[], peers: Peer[], threads: number): Promise<void> {
  const jobs: { id: string; p: Peer }[] = [];
  for (const id of ids) {
    for (const p of peers) {
      const pr = peerRow(id, p);
      const est = p.startsWith('tfjs') ? tfjsEstimate(p, entries.get(id)!.c) : null;
      if (pr.skipped || pr.error || !pr.samples) { pr.memory = { skipped: 'no throughput measured' }; continue; }
      if (est !== null && 2 * est > Math.max(mode.tfjsBudget, 2)) { pr.memory = { skipped: `skipped: 2 iterations take about ${(2 * est).toFixed(1)} s` }; continue; }
      jobs.push({ id, p });
    }
  }
  // RSS does not depend on timing, so two fresh processes can run at once
  const run = async () => {
    for (let j = jobs.shift(); j; j = jobs.shift()) {
      const w = new Worker(j.p);
      const pr = peerRow(j.id, j.p);
      try {
        await w.request<Hello>({ op: 'hello', threads }, 120e3);
        await w.request({ op: 'setup', case: entries.get(j.id)!.c });
        await w.request({ op: 'run', minTime: 0, minIters: 2, maxIters: 2 });
        const m = await w.request<MemResult>({ op: 'mem' });
        pr.memory = { peakMB: m.peakKB / 1024, deltaMB: (m.peakKB - m.baselineKB) / 1024 };
      } catch (err) {
        pr.memory = { skipped: `failed: ${(err as Error).message}` };
      } finally { w.kill(); }
    }
  };
  await Promise.all([run(), run()]);
}

// ---- analysis ---------------------------------------------------------------------------------

interface Row {
  id: string; section: Section; title: string; unit: string; higherIsBetter: boolean; params: Record<string, number | string>;
  flops: number | null; note?: string;
  peers: Partial<Record<Peer, PeerRow>>;
  /** torchrnn vs each peer, > 1 means torchrnn is better (faster / lower latency): median and spread of the per-round ratios */
  ratios: Partial<Record<Peer, Spread | null>>;
  /** tfjs-layers on torchrnn's TensorFlow.js backend vs on tfjs's wasm backend (> 1: torch faster) */
  tfjsTorchVsWasm: Spread | null;
}

function pairedRatios(a: number[], b: number[], hb: boolean): Spread | null {
  const n = Math.min(a.length, b.length);
  if (!n) return null;
  const rs = Array.from({ length: n }, (_, i) => (hb ? a[i] / b[i] : b[i] / a[i]));
  if (a.length !== b.length) return { ...spread(rs), median: hb ? median(a) / median(b) : median(b) / median(a) };
  return spread(rs);
}

let matmulReference: number | null = null;
function buildRows(): Row[] {
  // the machine's large-matmul FLOP/s: the median of every round of both libtorch peers (the same
  // library, the same threads), so that a noisy round on one side does not move only its percentages
  const mmRow = limitMatmulId ? rowsByPeer.get(limitMatmulId) : undefined;
  const pooled = [...(mmRow?.torchrnn?.samples ?? []), ...(mmRow?.pytorch?.samples ?? [])];
  matmulReference = pooled.length ? median(pooled) : null;
  const rows: Row[] = [];
  for (const [id, e] of entries) {
    const peers = rowsByPeer.get(id) ?? {};
    const c = e.c;
    const f = flops(c) || null;
    for (const p of PEERS) {
      const pr = peers[p];
      if (!pr?.samples?.length) continue;
      pr.stats = spread(pr.samples);
      if (f && c.kind !== 'matmul') {
        pr.gflops = f / ((c as ModelCase).batch / pr.stats.median) / 1e9;
        if (matmulReference) pr.pctOfMatmul = (100 * pr.gflops) / matmulReference;
      }
    }
    const ratios: Row['ratios'] = {};
    const t = peers.torchrnn?.samples;
    for (const p of PEERS.slice(1)) {
      const o = peers[p]?.samples;
      ratios[p] = t?.length && o?.length ? pairedRatios(t, o, higherBetter(c)) : null;
    }
    const tt = peers['tfjs-torch']?.samples;
    const tw = peers['tfjs-wasm']?.samples;
    const tfjsTorchVsWasm = tt?.length && tw?.length ? pairedRatios(tt, tw, higherBetter(c)) : null;
    rows.push({ id, section: e.section, title: e.title, unit: unitOf(c), higherIsBetter: higherBetter(c), params: e.params, flops: f, note: e.note, peers, ratios, tfjsTorchVsWasm });
  }
  return rows;
}

/** Least-squares t = a + b*S over the seq curve, and where the per-timestep cost departs from it. */
function linearity(rows: Map<string, Row>) {
  const cv = curves.find((k) => k.name === 'seq');
  if (!cv) return null;
  const out: Record<string, unknown> = {};
  for (const p of PEERS) {
    const pts = cv.ids.map((id, i) => {
      const r = rows.get(id)!;
      const s = r.peers[p]?.stats?.median;
      const mem = r.peers[p]?.memory;
      return { seq: cv.xs[i], seconds: s ? (r.params.batch as number) / s : NaN, deltaMB: mem && 'deltaMB' in mem ? mem.deltaMB : NaN };
    }).filter((q) => Number.isFinite(q.seconds));
    if (pts.length < 3) { out[p] = { points: pts.length, verdict: `too few points measured (${pts.length} of ${cv.xs.length}; 3 needed)` }; continue; }
    const fit = (ys: number[]) => {
      const xs = pts.map((q) => q.seq);
      const n = xs.length;
      const mx = xs.reduce((a, b) => a + b) / n;
      const my = ys.reduce((a, b) => a + b) / n;
      const b = xs.reduce((acc, x, i) => acc + (x - mx) * (ys[i] - my), 0) / xs.reduce((acc, x) => acc + (x - mx) ** 2, 0);
      const a = my - b * mx;
      const ssTot = ys.reduce((acc, y) => acc + (y - my) ** 2, 0);
      const ssRes = ys.reduce((acc, y, i) => acc + (y - (a + b * xs[i])) ** 2, 0);
      return { a, b, r2: ssTot ? 1 - ssRes / ssTot : 1, residualPct: ys.map((y, i) => (100 * (y - (a + b * xs[i]))) / y) };
    };
    const tf = fit(pts.map((q) => q.seconds));
    // marginal cost per timestep between neighbouring points, relative to the one over the whole curve
    const segments = pts.slice(1).map((q, i) => ({
      from: pts[i].seq, to: q.seq,
      msPerTimestep: (1000 * (q.seconds - pts[i].seconds)) / (q.seq - pts[i].seq),
      relative: (q.seconds - pts[i].seconds) / (q.seq - pts[i].seq) / tf.b,
    }));
    const off = segments.filter((s) => s.relative < 0.8 || s.relative > 1.25);
    const memPts = pts.filter((q) => Number.isFinite(q.deltaMB));
    let memory: unknown = null;
    if (memPts.length >= 2) {
      const first = memPts[0];
      const last = memPts[memPts.length - 1];
      memory = { mbPerTimestep: (last.deltaMB - first.deltaMB) / (last.seq - first.seq), points: memPts.map((q) => ({ seq: q.seq, deltaMB: q.deltaMB })) };
    }
    out[p] = {
      fixedMs: 1000 * tf.a, msPerTimestep: 1000 * tf.b, r2: tf.r2,
      points: pts.map((q, i) => ({ seq: q.seq, ms: 1000 * q.seconds, residualPct: tf.residualPct[i] })), segments,
      verdict: off.length === 0
        ? `linear: every segment's cost per timestep is within -20 %/+25 % of the fit (${(1000 * tf.b).toFixed(3)} ms per timestep + ${(1000 * tf.a).toFixed(1)} ms fixed, R² ${tf.r2.toFixed(4)})`
        : `not linear in ${off.map((s) => `${s.from}->${s.to} (x${s.relative.toFixed(2)} the average cost per timestep)`).join(', ')}; fit ${(1000 * tf.b).toFixed(3)} ms/timestep + ${(1000 * tf.a).toFixed(1)} ms, R² ${tf.r2.toFixed(4)}`,
      memory,
    };
  }
  return out;
}

// ---- output -------------------------------------------------------------------------------------

const PEER_NAMES: Record<Peer, string> = { torchrnn: 'torchrnn', pytorch: 'PyTorch', 'tfjs-cpu': 'tfjs cpu', 'tfjs-wasm': 'tfjs wasm', 'tfjs-torch': 'tfjs on torch' };
function fmt(v: number | undefined | null, digits = 3): string {
  if (v === undefined || v === null || !Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  return v.toPrecision(digits);
}
function cell(pr: PeerRow | undefined, withSpread: boolean): string {
  if (!pr) return '—';
  if (pr.stats) return withSpread ? `${fmt(pr.stats.median)} (${fmt(pr.stats.min)}–${fmt(pr.stats.max)})` : fmt(pr.stats.median);
  if (pr.error) return 'fails';
  return pr.skipped?.startsWith('n/a') ? 'n/a' : 'skipped';
}
const ratioCell = (r: Spread | null | undefined) => (r ? `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : '—');
const speedCell = (r: Spread | null | undefined) => (r ? `${r.median >= 10 ? r.median.toFixed(0) : r.median.toFixed(1)}×` : '—');

function markdown(rows: Row[], res: Record<string, unknown>): string {
  const L: string[] = [];
  const order: Section[] = ['workloads', 'curves', 'limit', 'overheads'];
  const heads: Record<Section, string> = { workloads: 'Workloads', curves: 'Cost curves', limit: 'Limit: the large matmul, and LSTM training steps at larger sizes', overheads: 'Overheads (lower is better; ratio > 1: torchrnn faster)' };
  const byId = new Map(rows.map((r) => [r.id, r]));
  const mem = (r: Row, p: Peer) => { const x = r.peers[p]?.memory; return x && 'peakMB' in x ? `${x.peakMB.toFixed(0)} (+${x.deltaMB.toFixed(0)})` : '—'; };
  for (const s of order) {
    if (s === 'curves') {
      for (const cv of curves) {
        const withMem = cv.ids.some((id) => PEERS.some((p) => { const x = byId.get(id)?.peers[p]?.memory; return x && 'peakMB' in x; }));
        L.push(`#### Cost curve: LSTM classifier training step vs ${cv.name} (others as the reference size)`, '',
          `| ${cv.name} | torchrnn seq/s | PyTorch seq/s | tfjs cpu | tfjs wasm | tfjs on torch | vs PyTorch | vs tfjs cpu | vs tfjs wasm | tfjs: torch vs wasm |${withMem ? ' peak RSS MB (+ over idle): torchrnn | PyTorch | tfjs cpu | tfjs wasm | tfjs on torch |' : ''}`,
          `|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|${withMem ? '---:|---:|---:|---:|---:|' : ''}`);
        cv.ids.forEach((id, i) => {
          const r = byId.get(id)!;
          L.push(`| ${cv.xs[i]} | ${cell(r.peers.torchrnn, true)} | ${cell(r.peers.pytorch, true)} | ${cell(r.peers['tfjs-cpu'], false)} | ${cell(r.peers['tfjs-wasm'], false)} | ${cell(r.peers['tfjs-torch'], false)} | ${ratioCell(r.ratios.pytorch)} | ${speedCell(r.ratios['tfjs-cpu'])} | ${speedCell(r.ratios['tfjs-wasm'])} | ${speedCell(r.tfjsTorchVsWasm)} |${withMem ? ` ${PEERS.map((p) => mem(r, p)).join(' | ')} |` : ''}`);
        });
        L.push('');
      }
      continue;
    }
    const rs = rows.filter((r) => r.section === s && r.id !== 'eventloop-fit');
    if (!rs.length) continue;
    L.push(`#### ${heads[s]}`, '', '| row | unit | torchrnn | PyTorch | tfjs cpu | tfjs wasm | tfjs on torch | vs PyTorch | vs tfjs cpu | vs tfjs wasm | tfjs: torch vs wasm |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rs) {
      L.push(`| ${r.title} | ${r.unit} | ${cell(r.peers.torchrnn, true)} | ${cell(r.peers.pytorch, true)} | ${cell(r.peers['tfjs-cpu'], false)} | ${cell(r.peers['tfjs-wasm'], false)} | ${cell(r.peers['tfjs-torch'], false)} | ${ratioCell(r.ratios.pytorch)} | ${speedCell(r.ratios['tfjs-cpu'])} | ${speedCell(r.ratios['tfjs-wasm'])} | ${speedCell(r.tfjsTorchVsWasm)} |`);
    }
    L.push('');
  }
  const lim = res.limit as { matmulGflops: Record<string, number | null>; rows: { batch: number; hidden: number; seq: number; torchrnn?: number; pytorch?: number; torchrnnPct?: number; pytorchPct?: number }[] } | undefined;
  if (lim?.rows.length) {
    L.push(`#### LSTM training step against the large-matmul limit: ${fmt(lim.matmulGflops.reference)} GFLOP/s (${mode.matmul}² float32 matmul, median of every round of both libtorch peers: torchrnn ${fmt(lim.matmulGflops.torchrnn)}, PyTorch ${fmt(lim.matmulGflops.pytorch)})`, '',
      '| batch | hidden | seq | torchrnn GFLOP/s | % of matmul | PyTorch GFLOP/s | % of matmul |', '|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of lim.rows) L.push(`| ${r.batch} | ${r.hidden} | ${r.seq} | ${fmt(r.torchrnn)} | ${fmt(r.torchrnnPct, 2)} % | ${fmt(r.pytorch)} | ${fmt(r.pytorchPct, 2)} % |`);
    L.push('');
  }
  const loop = rows.find((r) => r.id === 'eventloop-fit');
  if (loop) {
    L.push('#### Event loop while fit() trains', '', '| peer | steps | steps/s | delay p50 ms | p99 ms | max ms | HTTP requests answered during fit / due |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const p of PEERS) {
      const pr = loop.peers[p];
      const runs = pr?.loop;
      if (!runs?.length) { L.push(`| ${PEER_NAMES[p]} | ${pr?.skipped ?? pr?.error ?? '—'} | | | | | |`); continue; }
      const mid = runs.slice().sort((a, b) => a.delayP99Ms - b.delayP99Ms)[runs.length >> 1];
      L.push(`| ${PEER_NAMES[p]} | ${mid.steps} | ${fmt(mid.steps / mid.seconds)} | ${fmt(mid.delayP50Ms)} | ${fmt(mid.delayP99Ms)} | ${fmt(mid.delayMaxMs)} | ${mid.httpAnsweredDuring}/${mid.httpExpected} |`);
    }
    L.push('');
  }
  const notes: string[] = [];
  for (const r of rows) {
    for (const p of PEERS) {
      const e = r.peers[p]?.error;
      if (e) notes.push(`${PEER_NAMES[p]} fails on "${r.title}": ${e.split(' | ')[0].replace(/^Error: /, '')}`);
    }
  }
  for (const p of PEERS) {
    const sk = rows.filter((r) => r.peers[p]?.skipped?.startsWith('skipped: estimated'));
    if (sk.length) notes.push(`${PEER_NAMES[p]} skipped ${sk.length} row(s) whose estimated iteration exceeds the time budget of ${mode.tfjsBudget} s: ${sk.map((r) => r.title.replace(/^LSTM classifier train step /, '')).join('; ')}`);
  }
  for (const [p, why] of Object.entries(skippedPeers)) notes.push(`${p}: ${why}`);
  if (notes.length) L.push('#### Notes', '', ...notes.map((n) => `- ${n}`), '');
  const lin = res.linearity as Record<string, { verdict: string }> | null;
  if (lin) {
    L.push('#### Linearity in sequence length (training step time vs seq)', '');
    for (const p of PEERS) if (lin[p]) L.push(`- ${PEER_NAMES[p]}: ${lin[p].verdict}`);
    L.push('');
  }
  return L.join('\n');
}

function plots(rows: Row[], res: Record<string, unknown>): string[] {
  const written: string[] = [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const write = (name: string, svg: string) => { fs.writeFileSync(path.join(outDir, name), svg); written.push(path.join(outDir, name)); };
  const labels: Record<string, string> = { seq: 'sequence length (batch 32, hidden 128)', batch: 'batch size (seq 64, hidden 128)', hidden: 'hidden size (batch 32, seq 64)' };
  for (const cv of curves) {
    const series = PEERS.map((p) => ({
      name: PEER_NAMES[p], color: COLORS[p],
      points: cv.ids.map((id, i) => [cv.xs[i], byId.get(id)?.peers[p]?.stats?.median ?? NaN] as [number, number]),
    }));
    write(`${cv.name}-throughput.svg`, lineChart({
      title: `LSTM classifier training step: throughput vs ${cv.name === 'seq' ? 'sequence length' : cv.name === 'batch' ? 'batch size' : 'hidden size'}`,
      xLabel: modeName === 'full' ? labels[cv.name] : cv.name, yLabel: 'sequences / s (log)', logX: true, logY: true, series, xTicks: cv.xs,
      note: `${os.cpus().length} vCPUs, libtorch threads ${hellos.torchrnn?.threads ?? '?'}; tfjs points past its time budget are skipped`,
    }));
    if (cv.name === 'seq') {
      const mseries = PEERS.map((p) => ({
        name: PEER_NAMES[p], color: COLORS[p],
        points: cv.ids.map((id, i) => { const m = byId.get(id)?.peers[p]?.memory; return [cv.xs[i], m && 'deltaMB' in m ? m.deltaMB : NaN] as [number, number]; }),
      }));
      if (mseries.some((s) => s.points.some(([, y]) => Number.isFinite(y)))) {
        write('seq-memory.svg', lineChart({ title: 'LSTM classifier training step: peak memory vs sequence length', xLabel: 'sequence length', yLabel: 'peak RSS over the idle process, MB', logX: true, series: mseries, xTicks: cv.xs }));
      }
    }
  }
  const ratioRows = rows.filter((r) => r.ratios.pytorch && r.id !== 'eventloop-fit' && r.section !== 'limit' && r.section !== 'curves');
  if (ratioRows.length) {
    write('ratios.svg', barChart({
      title: 'torchrnn vs PyTorch\'s Python loop on the same libtorch (> 1: torchrnn faster)', unit: 'ratio (median of per-round ratios; whiskers: min–max)',
      groups: ratioRows.map((r) => ({ label: r.title.replace(/ \(.*\)$/, '').slice(0, 46), bars: [{ name: 'torchrnn / PyTorch', color: COLORS.torchrnn, value: r.ratios.pytorch!.median, lo: r.ratios.pytorch!.min, hi: r.ratios.pytorch!.max, label: r.ratios.pytorch!.median.toFixed(2) }] })),
      ref: { value: 1, label: 'parity' },
    }));
  }
  const tfRows = rows.filter((r) => r.section === 'workloads');
  if (tfRows.some((r) => r.ratios['tfjs-cpu'] || r.ratios['tfjs-wasm'])) {
    write('speedup-tfjs.svg', barChart({
      title: 'torchrnn speed-up over TensorFlow.js (Node, no tfjs-node)', unit: 'times faster (log scale)', logX: true,
      groups: tfRows.map((r) => ({
        label: r.title.replace(/ \(.*\)$/, '').slice(0, 46),
        bars: (['tfjs-cpu', 'tfjs-wasm'] as const).map((p) => {
          const x = r.ratios[p];
          return { name: `vs ${PEER_NAMES[p]}`, color: COLORS[p], value: x?.median ?? null, label: x ? `${x.median.toFixed(x.median >= 10 ? 0 : 1)}×` : r.peers[p]?.error ? `fails: ${r.peers[p]!.error!.split(' | ')[0].replace(/^Error: /, '')}` : r.peers[p]?.skipped?.replace(/ \(--tfjs-budget\)/, '') ?? 'skipped' };
        }),
      })),
      ref: { value: 30, label: '30× target (tfjs cpu, LSTM train)' },
    }));
  }
  const lim = res.limit as { rows: { batch: number; hidden: number; seq: number; torchrnnPct?: number; pytorchPct?: number }[] } | undefined;
  if (lim?.rows.length) {
    write('limit.svg', barChart({
      title: 'LSTM training step FLOP/s as % of one large float32 matmul', unit: '% of matmul GFLOP/s (same process, same threads)',
      groups: lim.rows.map((r) => ({
        label: `batch ${r.batch}, hidden ${r.hidden}, seq ${r.seq}`,
        bars: [
          { name: 'torchrnn', color: COLORS.torchrnn, value: r.torchrnnPct ?? null, label: r.torchrnnPct ? `${r.torchrnnPct.toFixed(0)} %` : undefined },
          { name: 'PyTorch', color: COLORS.pytorch, value: r.pytorchPct ?? null, label: r.pytorchPct ? `${r.pytorchPct.toFixed(0)} %` : undefined },
        ],
      })),
      ref: { value: 40, label: '40 % target' },
    }));
  }
  return written;
}

// ---- main ---------------------------------------------------------------------------------------

(async () => {
  const started = performance.now();
  fs.mkdirSync(outDir, { recursive: true });
  const load = () => os.loadavg().map((v) => +v.toFixed(2));
  const loadBefore = load();
  say(`torchrnn bench suite, ${modeName} mode: ${entries.size} cases, ${mode.rounds} rounds; output ${outDir}; load average ${loadBefore.join(' ')}`);

  // threads: libtorch's own default unless --threads / BENCH_THREADS; every libtorch peer gets the same
  const threadsOpt = opt('threads') ?? process.env.BENCH_THREADS;
  const workers = new Map<Peer, Worker>();
  const order = PEERS.filter((p) => wantPeers.has(p));
  if (order.includes('torchrnn') || order.includes('tfjs-torch')) ensureCompiled();
  for (const p of PEERS) if (!wantPeers.has(p)) skippedPeers[p] = 'not requested (--peers)';
  for (const p of order) {
    const why = isInstalled(p);
    if (why) { skippedPeers[p] = why; say(`${p}: ${why}`); continue; }
    workers.set(p, new Worker(p));
  }
  let threads = threadsOpt ? Number(threadsOpt) : undefined;
  for (const [p, w] of workers) {
    try {
      hellos[p] = await w.request<Hello>({ op: 'hello', threads: p === 'torchrnn' || p === 'pytorch' ? threads : undefined }, 180e3);
      if (p === 'torchrnn' && threads === undefined) threads = hellos[p]!.threads;
      say(`${p}: ${hellos[p]!.version}; threads ${hellos[p]!.threads}${hellos[p]!.blas ? `; BLAS ${hellos[p]!.blas}` : ''}${hellos[p]!.notes.length ? `; ${hellos[p]!.notes.join('; ')}` : ''}`);
    } catch (err) {
      skippedPeers[p] = p === 'pytorch' ? `not available: ${python} with torch did not start (bash scripts/setup.sh --dev installs python3-torch): ${(err as Error).message}` : `did not start: ${(err as Error).message}`;
      say(`${p}: ${skippedPeers[p]}`);
      w.kill();
      workers.delete(p);
    }
  }
  if (!workers.has('torchrnn')) { say('torchrnn itself did not start: nothing to measure'); process.exit(1); }
  if (hellos.pytorch && hellos.pytorch.threads !== hellos.torchrnn!.threads) say(`warning: thread counts differ (torchrnn ${hellos.torchrnn!.threads}, PyTorch ${hellos.pytorch.threads})`);

  let i = 0;
  const loadTrace: Record<string, number> = {};
  for (const [id, e] of entries) {
    i++;
    const t0 = performance.now();
    if (e.c.kind === 'eventloop') await measureLoop(e, workers); else await measureCase(e, workers);
    const pr = rowsByPeer.get(id) ?? {};
    loadTrace[id] = +os.loadavg()[0].toFixed(2);
    say(`[${i}/${entries.size}] ${e.title}: ${PEERS.filter((p) => pr[p]).map((p) => `${p} ${pr[p]!.samples?.length ? fmt(median(pr[p]!.samples!)) : pr[p]!.error ? `error (${pr[p]!.error})` : 'skipped'}`).join(', ')} ${unitOf(e.c)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  for (const w of workers.values()) w.close();

  if (!flag('no-memory')) {
    const memIds = [...new Set(curves.filter((cv) => mode.memory.includes(cv.name)).flatMap((cv) => cv.ids))];
    if (memIds.length) {
      const t0 = performance.now();
      await measureMemory(memIds, [...workers.keys()], threads!);
      say(`memory: ${memIds.length} cases in fresh processes (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    }
  }

  const rows = buildRows();
  const byId = new Map(rows.map((r) => [r.id, r]));
  // the limit: every LSTM classifier training step (fixed length) against the large matmul
  const mm = limitMatmulId ? byId.get(limitMatmulId) : undefined;
  const limitRows = rows.filter((r) => /^lstm-train-/.test(r.id)).map((r) => ({
    id: r.id, batch: r.params.batch as number, hidden: r.params.hidden as number, seq: r.params.seq as number,
    torchrnn: r.peers.torchrnn?.gflops, torchrnnPct: r.peers.torchrnn?.pctOfMatmul, pytorch: r.peers.pytorch?.gflops, pytorchPct: r.peers.pytorch?.pctOfMatmul,
  })).sort((a, b) => a.batch - b.batch || a.hidden - b.hidden || a.seq - b.seq);
  const limit = mm ? { matmulN: mode.matmul, matmulGflops: { reference: matmulReference, torchrnn: mm.peers.torchrnn?.stats?.median, pytorch: mm.peers.pytorch?.stats?.median }, rows: limitRows } : undefined;

  // targets
  const modelRows = rows.filter((r) => r.unit === 'seq/s' || r.unit === 'µs/call');
  const below = modelRows.filter((r) => r.ratios.pytorch && r.ratios.pytorch.median < 1);
  const refTrain = rows.find((r) => r.section === 'workloads' && r.id.startsWith('lstm-train-'));
  const big = limitRows.find((r) => r.batch === 256 && r.hidden === 512);
  const targets = {
    ratioVsPytorch: {
      target: 'every torchrnn row at ratio >= 1.0 to PyTorch\'s Python loop',
      rows: modelRows.filter((r) => r.ratios.pytorch).length,
      met: below.length === 0,
      below: below.map((r) => ({ id: r.id, ratio: r.ratios.pytorch!.median, roundMin: r.ratios.pytorch!.min, roundMax: r.ratios.pytorch!.max, withinNoise: r.ratios.pytorch!.max >= 1 })),
    },
    vsTfjsCpu: {
      target: '>= 30x TensorFlow.js CPU on the LSTM training step (reference size)',
      ratio: refTrain?.ratios['tfjs-cpu']?.median ?? null, met: (refTrain?.ratios['tfjs-cpu']?.median ?? 0) >= 30,
      skipped: refTrain?.ratios['tfjs-cpu'] ? undefined : refTrain?.peers['tfjs-cpu']?.skipped ?? refTrain?.peers['tfjs-cpu']?.error ?? skippedPeers['tfjs-cpu'],
    },
    tfjsTorchVsWasm: {
      target: '>= 20x: tfjs-layers LSTM training step on the torch backend vs the wasm backend (reference size)',
      ratio: refTrain?.tfjsTorchVsWasm?.median ?? null, met: (refTrain?.tfjsTorchVsWasm?.median ?? 0) >= 20,
      skipped: refTrain?.tfjsTorchVsWasm ? undefined : skippedPeers['tfjs-torch'] ?? skippedPeers['tfjs-wasm'] ?? refTrain?.peers['tfjs-torch']?.error ?? refTrain?.peers['tfjs-wasm']?.skipped ?? refTrain?.peers['tfjs-wasm']?.error,
    },
    limit: {
      target: 'LSTM training step >= 40 % of the large-matmul FLOP/s at batch 256, hidden 512',
      pct: big?.torchrnnPct ?? null, pytorchPct: big?.pytorchPct ?? null, met: (big?.torchrnnPct ?? 0) >= 40,
      measured: big ? `batch 256, hidden 512, seq ${big.seq}` : 'not in this run',
    },
  };

  const loadAfter = load();
  const res: Record<string, unknown> = {
    benchmark: 'torchrnn suite', mode: modeName, date: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memoryGB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version, loadAverageBefore: loadBefore, loadAverageAfter: loadAfter, loadAverage1minAfterEachCase: loadTrace, otherProcessesNote: 'the 1-minute load average includes this suite itself (about 1-2 while a peer measures); above 2.5 other work was competing for the 2 cores' },
    threads: { libtorchIntraOp: threads, openblasEnv: process.env.OPENBLAS_NUM_THREADS ?? null, ompEnv: process.env.OMP_NUM_THREADS ?? null, note: 'torchrnn and PyTorch run libtorch with the same intra-op thread count and the same OpenBLAS (its own pthread pool, default: one thread per core); TensorFlow.js runs on one thread (CPU: JavaScript; wasm: the non-threaded build that Node loads)' },
    method: { rounds: mode.rounds, slowRounds: mode.slowRounds, minTime: mode.minTime, minIters: mode.minIters, warmTime: mode.warmTime, tfjsBudgetSeconds: mode.tfjsBudget, order: 'peers alternate per round (A B C D, D C B A, ...), one process per peer, one peer running at a time', statistic: 'per round: median iteration; per row: median over rounds (min-max); ratios: median of per-round ratios, > 1 = torchrnn better', memory: 'fresh process per peer and case: VmHWM after setup and 2 iterations, minus the RSS of the idle process' },
    peers: { ...Object.fromEntries(Object.entries(hellos)), skipped: skippedPeers },
    targets, limit, linearity: null as unknown, rows,
    seconds: 0,
  };
  res.linearity = linearity(byId);
  res.seconds = +((performance.now() - started) / 1000).toFixed(1);

  const json = JSON.stringify(res, null, 2) + '\n';
  process.stdout.write(json);
  fs.writeFileSync(path.join(outDir, 'results.json'), json);
  const md = `<!-- ${modeName} run, ${res.date}, ${res.machine && (res.machine as { cpu: string }).cpu}, load ${loadBefore.join(' ')} -> ${loadAfter.join(' ')} -->\n${markdown(rows, res)}`;
  fs.writeFileSync(path.join(outDir, 'results.md'), md);
  say('\n' + md);
  say(`targets: ratio >= 1 vs PyTorch: ${targets.ratioVsPytorch.met ? 'met' : `missed on ${below.length} of ${targets.ratioVsPytorch.rows} rows`}; vs tfjs cpu >= 30x: ${targets.vsTfjsCpu.ratio === null ? 'not measured' : `${targets.vsTfjsCpu.ratio.toFixed(1)}x ${targets.vsTfjsCpu.met ? 'met' : 'missed'}`}; limit >= 40 %: ${targets.limit.pct === null ? 'not measured' : `${targets.limit.pct.toFixed(1)} % ${targets.limit.met ? 'met' : 'missed'}`}`);
  if (flag('plot')) say(`plots: ${plots(rows, res).join(', ')}`);
  say(`wrote ${path.join(outDir, 'results.json')} and results.md in ${res.seconds} s; load average ${loadBefore.join(' ')} -> ${loadAfter.join(' ')}`);
})().catch((err) => { say(String(err?.stack ?? err)); process.exit(1); });
