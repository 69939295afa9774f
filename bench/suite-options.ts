// bench/suite.ts's command line (documented at the top of suite.ts, which --help prints) and the
// sizes of its three modes: full, --quick, --smoke.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PEERS } from './common';

const argv = process.argv.slice(2);
export const flag = (name: string) => argv.includes(`--${name}`);
export function opt(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}
const known = new Set(['quick', 'smoke', 'plot', 'out', 'peers', 'only', 'filter', 'rounds', 'threads', 'tfjs-budget', 'no-memory', 'verbose', 'min-time', 'help']);
for (const a of argv) {
  if (a.startsWith('--') && !known.has(a.slice(2).split('=')[0])) { process.stderr.write(`unknown option ${a} (see the top of bench/suite.ts)\n`); process.exit(2); }
}
if (flag('help')) { process.stdout.write(fs.readFileSync(path.join(__dirname, 'suite.ts'), 'utf8').split('*/')[0] + '*/\n'); process.exit(0); }

export type ModeName = 'full' | 'quick' | 'smoke';
export const modeName: ModeName = flag('smoke') ? 'smoke' : flag('quick') ? 'quick' : 'full';

export interface Mode {
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
  /** serving rows: calls per round at least (for the p99), requests per timed iteration and how many are in flight */
  serve: { latencyIters: number; requests: number; inflight: number };
  /** which curve cases get a fresh-process memory measurement */ memory: ('seq' | 'batch' | 'hidden')[];
}
export const MODES: Record<ModeName, Mode> = {
  full: {
    rounds: 5, minTime: 1, minIters: 3, warmTime: 0.5, slowRounds: 3, loopRounds: 3, tfjsBudget: 25,
    ref: { batch: 32, seq: 64, input: 32, hidden: 128, layers: 2, classes: 10 },
    charlm: { batch: 64, seq: 100, embed: 64, hidden: 256, layers: 1, vocab: 60 },
    packedMin: 16,
    seqs: [16, 32, 64, 128, 256, 512], batches: [1, 4, 16, 32, 64, 256], hiddens: [64, 128, 256, 512, 1024],
    matmul: 2048, limitGrid: [[32, 128], [32, 256], [32, 512], [64, 128], [64, 256], [64, 512], [128, 128], [128, 256], [128, 512], [256, 128], [256, 256], [256, 512]], limitSeq: 64,
    tinyCalls: 200, loopSteps: 80, loopBudget: 30, memory: ['seq', 'batch', 'hidden'],
    serve: { latencyIters: 200, requests: 128, inflight: 64 },
  },
  quick: {
    rounds: 3, minTime: 0.2, minIters: 2, warmTime: 0.1, slowRounds: 1, loopRounds: 1, tfjsBudget: 1,
    ref: { batch: 32, seq: 64, input: 32, hidden: 128, layers: 2, classes: 10 },
    charlm: { batch: 64, seq: 100, embed: 64, hidden: 256, layers: 1, vocab: 60 },
    packedMin: 16,
    seqs: [16, 64, 256], batches: [1, 32, 256], hiddens: [64, 128, 512],
    matmul: 2048, limitGrid: [[256, 512]], limitSeq: 16,
    tinyCalls: 100, loopSteps: 20, loopBudget: 6, memory: ['seq'],
    serve: { latencyIters: 50, requests: 64, inflight: 64 },
  },
  smoke: {
    rounds: 2, minTime: 0.02, minIters: 1, warmTime: 0, slowRounds: 1, loopRounds: 1, tfjsBudget: 2,
    ref: { batch: 4, seq: 8, input: 8, hidden: 16, layers: 2, classes: 5 },
    charlm: { batch: 4, seq: 8, embed: 8, hidden: 16, layers: 1, vocab: 10 },
    packedMin: 2,
    seqs: [4, 8, 16], batches: [1, 4], hiddens: [8, 16],
    matmul: 128, limitGrid: [[8, 16]], limitSeq: 8,
    tinyCalls: 10, loopSteps: 4, loopBudget: 3, memory: ['seq'],
    serve: { latencyIters: 5, requests: 64, inflight: 64 },
  },
};
export const mode = MODES[modeName];
if (opt('rounds')) mode.rounds = Math.max(1, Number(opt('rounds')));
if (opt('min-time')) mode.minTime = Number(opt('min-time'));
if (opt('tfjs-budget')) mode.tfjsBudget = Number(opt('tfjs-budget'));
export const outDir = path.resolve(opt('out') ?? (modeName === 'full' ? __dirname : modeName === 'quick' ? path.join(__dirname, 'quick') : path.join(os.tmpdir(), 'torchrnn-bench-smoke')));
export const sections = new Set((opt('only') ?? 'workloads,curves,limit,overheads').split(','));
export const wantPeers = new Set((opt('peers') ?? PEERS.join(',')).split(','));
export const verbose = flag('verbose');
export const say = (s: string) => process.stderr.write(s + '\n');
