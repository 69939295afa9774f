/**
 * Recurrent-module throughput, torchrnn against PyTorch (Debian's python3-torch: the same
 * libtorch) run in the same job with the same thread count, models, sizes and timing loop.
 * Prints JSON on stdout and into bench/results-rnn.json (unless filtered), and a table on stderr. Run: npm run bench (or npx tsx bench/rnn.ts).
 * Env: BENCH_MIN_TIME (seconds per row and round, default 1), BENCH_THREADS (default: libtorch's default),
 * BENCH_FILTER (a regex on row ids such as 'lstm-reference'), BENCH_ROUNDS (default 3).
 */
import { execFileSync } from 'child_process';
import { writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';

interface Case { id: string; cell: 'lstm' | 'gru' | 'rnn'; batch: number; seq: number; input: number; hidden: number; layers: number }

const SIZES = [
  { size: 'reference', batch: 32, seq: 64, input: 32, hidden: 128, layers: 2 },
  { size: 'large', batch: 64, seq: 128, input: 128, hidden: 512, layers: 2 },
];
const filter = new RegExp(process.env.BENCH_FILTER ?? '.');
const CASES: Case[] = SIZES.flatMap(({ size, ...s }) => (['lstm', 'gru', 'rnn'] as const).map((cell) => ({ id: `${cell}-${size}`, cell, ...s })))
  .filter((c) => filter.test(c.id));
const minTime = Number(process.env.BENCH_MIN_TIME ?? 1);
const minIters = 5;
if (process.env.BENCH_THREADS) torch.setNumThreads(Number(process.env.BENCH_THREADS));
const threads = torch.getNumThreads();

function measure(fn: () => void): number {
  const warm = performance.now();
  for (let i = 0; i < 3 || performance.now() - warm < 300 * minTime; i++) fn();
  let iters = 0;
  const start = performance.now();
  for (;;) {
    fn();
    iters++;
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= minTime && iters >= minIters) return elapsed / iters;
  }
}

function ours(c: Case): { mode: string; secondsPerIter: number }[] {
  torch.manualSeed(0);
  const Ctor = { lstm: torch.nn.LSTM, gru: torch.nn.GRU, rnn: torch.nn.RNN }[c.cell];
  const m = new Ctor({ inputSize: c.input, hiddenSize: c.hidden, numLayers: c.layers, batchFirst: true });
  const x = torch.randn([c.batch, c.seq, c.input]);
  const forward = () => torch.tidy(() => { torch.noGrad(() => m.forward(x)); });
  const train = () => torch.tidy(() => {
    const [out] = m.forward(x);
    out.mean().backward();
    m.zeroGrad({ setToNone: true });
  });
  return [
    { mode: 'forward', secondsPerIter: measure(forward) },
    { mode: 'forward+backward', secondsPerIter: measure(train) },
  ];
}

function pytorch(): Map<string, number> | null {
  const cfg = JSON.stringify({ threads, minTime, minIters, cases: CASES });
  try {
    const out = execFileSync('/usr/bin/python3', [path.join(__dirname, 'rnn.py'), cfg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const res = JSON.parse(out) as { rows: { id: string; mode: string; secondsPerIter: number }[] };
    return new Map(res.rows.map((r) => [`${r.id}/${r.mode}`, r.secondsPerIter]));
  } catch (err) {
    process.stderr.write(`PyTorch peer skipped: /usr/bin/python3 with torch is not available (bash scripts/setup.sh --dev installs it): ${(err as Error).message.split('\n')[0]}\n`);
    return null;
  }
}

// This machine's timings drift by ±15 % from minute to minute, so both sides run in
// alternating rounds and each row keeps its best round (the least-disturbed one).
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const best = new Map<string, number>();
const bestRef = new Map<string, number>();
let refAvailable = true;
const keepMin = (m: Map<string, number>, k: string, v: number) => m.set(k, Math.min(m.get(k) ?? Infinity, v));
for (let round = 0; round < rounds; round++) {
  for (const c of CASES) for (const r of ours(c)) keepMin(best, `${c.id}/${r.mode}`, r.secondsPerIter);
  const ref = refAvailable ? pytorch() : null;
  if (ref === null) refAvailable = false;
  else for (const [k, v] of ref) keepMin(bestRef, k, v);
}
const rows: Record<string, unknown>[] = [];
for (const c of CASES) {
  for (const mode of ['forward', 'forward+backward']) rows.push({ ...c, mode, torchrnnSeqPerSec: c.batch / best.get(`${c.id}/${mode}`)! });
}
for (const row of rows) {
  const t = refAvailable ? bestRef.get(`${row.id}/${row.mode}`) : undefined;
  row.pytorchSeqPerSec = t === undefined ? null : (row.batch as number) / t;
  row.ratio = t === undefined ? null : (row.torchrnnSeqPerSec as number) / (row.pytorchSeqPerSec as number);
}
const result = {
  benchmark: 'rnn', date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length, threads,
  libtorch: torch.buildInfo().libtorch, rounds, target: 'ratio >= 0.95 for every row', rows,
};
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
if (!process.env.BENCH_FILTER) writeFileSync(path.join(__dirname, 'results-rnn.json'), JSON.stringify(result, null, 2) + '\n');
const fmt = (v: unknown) => (typeof v === 'number' ? v.toFixed(v < 10 ? 3 : 1) : 'n/a');
process.stderr.write(`\n${'row'.padEnd(28)}${'torchrnn seq/s'.padStart(16)}${'PyTorch seq/s'.padStart(16)}${'ratio'.padStart(8)}\n`);
for (const r of rows) process.stderr.write(`${`${r.id} ${r.mode}`.padEnd(28)}${fmt(r.torchrnnSeqPerSec).padStart(16)}${fmt(r.pytorchSeqPerSec).padStart(16)}${fmt(r.ratio).padStart(8)}\n`);
