// The measurement: set-up, warm-up and rounds in alternating peer order per case, the event-loop
// case, and peak memory in fresh processes. Results collect in rowsByPeer.
import { Case, flops, Hello, LoopCase, LoopResult, median, MemResult, ModelCase, Peer, quantile, RunResult, Spread } from './common';
import { entries, Entry } from './suite-cases';
import { mode } from './suite-options';
import { Worker } from './suite-workers';

export interface PeerRow {
  /** per-round values in the row's unit */ samples?: number[]; stats?: Spread; iterations?: number; setupSeconds?: number;
  /** serving latency cases: each round's p99 call in µs (samples hold the p50s); suite-analysis.ts makes a row of each */ p99?: number[];
  gflops?: number; pctOfMatmul?: number; memory?: { peakMB: number; deltaMB: number } | { skipped: string };
  loop?: LoopResult[]; skipped?: string; error?: string;
}
export const rowsByPeer = new Map<string, Partial<Record<Peer, PeerRow>>>();
const peerRow = (id: string, p: Peer) => { const r = rowsByPeer.get(id) ?? {}; rowsByPeer.set(id, r); return (r[p] ??= {}); };
/** tfjs time estimates: seconds per FLOP seen so far, per peer and mode */
const secPerFlop = new Map<string, number>();
export const hellos: Partial<Record<Peer, Hello>> = {};
export const skippedPeers: Record<string, string> = {
  'tfjs-node': 'not run: @tensorflow/tfjs-node cannot be installed on a machine that reaches only the npm registry (its install script downloads the libtensorflow binary from outside npm)',
};

/** a serving case timed call by call (sync or async): reported as p50 and p99 rows */
export const isLatency = (c: Case) => c.kind === 'serve' && c.mode !== 'concurrent';
export const unitOf = (c: Case) => (c.kind === 'matmul' ? 'GFLOP/s' : c.kind === 'tiny' || isLatency(c) ? 'µs/call'
  : c.kind === 'serve' ? 'requests/s' : c.kind === 'eventloop' ? 'ms p99 delay' : 'seq/s');
export const higherBetter = (c: Case) => c.kind === 'matmul' || c.kind === 'classifier' || c.kind === 'charlm' || (c.kind === 'serve' && !isLatency(c));
function valueOf(c: Case, seconds: number): number {
  if (c.kind === 'matmul') return flops(c) / seconds / 1e9;
  if (c.kind === 'tiny' || isLatency(c)) return seconds * 1e6;
  if (c.kind === 'serve') return c.requests / seconds;
  return (c as ModelCase).batch / seconds;
}

function tfjsEstimate(p: Peer, c: Case): number | null {
  if (c.kind !== 'classifier' && c.kind !== 'charlm') return null;
  const r = secPerFlop.get(`${p}/${c.mode}`) ?? secPerFlop.get(`${p}/train`);
  return r === undefined ? null : r * flops(c);
}

/** a serving row's warm-up call per peer and cell: the next row of that cell skips a too slow TensorFlow.js peer without one */
const serveCallSeconds = new Map<string, number>();
const tooSlow = (seconds: number, where: string) => `skipped: one call took ${seconds.toFixed(2)} s${where ? ` ${where}` : ''}, over the latency rows' budget of ${mode.tfjsBudget / 10} s (--tfjs-budget / 10)`;

export async function measureCase(e: Entry, workers: Map<Peer, Worker>): Promise<void> {
  const c = e.c;
  const active: Worker[] = [];
  for (const [p, w] of workers) {
    const pr = peerRow(c.id, p);
    if (w.dead) { pr.skipped = `worker unavailable: ${w.dead}`; continue; }
    if (p.startsWith('tfjs') && c.kind === 'matmul') { pr.skipped = 'not measured: the limit is libtorch\'s'; continue; }
    if (p.startsWith('tfjs') && c.kind === 'classifier' && (c.proj || c.dropout)) { pr.skipped = 'n/a: tf.layers has no projSize, and its recurrent dropout is another operation'; continue; }
    if (p.startsWith('tfjs') && c.kind === 'serve' && c.mode === 'concurrent') { pr.skipped = 'n/a: TensorFlow.js computes on the JS thread, so calls in flight run one after another (the sync row)'; continue; }
    const known = c.kind === 'serve' ? serveCallSeconds.get(`${p}/${c.cell}`) : undefined;
    if (isLatency(c) && p.startsWith('tfjs') && known !== undefined && known > mode.tfjsBudget / 10) { pr.skipped = tooSlow(known, 'in the previous row'); continue; }
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
  const callSeconds = new Map<Peer, number>();
  for (const w of [...active]) {
    try {
      const warm = await w.request<RunResult>({ op: 'run', minTime: mode.warmTime, minIters: 1, maxIters: w.peer.startsWith('tfjs') && (tfjsEstimate(w.peer, c) ?? 0) > mode.minTime ? 1 : 1e9 });
      if (median(warm.times) > 1 && c.kind !== 'serve') slow.add(w.peer);  // (a serving row's iteration is short unless the machine is busy)
      callSeconds.set(w.peer, median(warm.times));
      // a serving latency row needs many calls: TensorFlow.js's slowest (the CPU backend's GRU
      // takes seconds on one sequence) are left out
      if (c.kind === 'serve') serveCallSeconds.set(`${w.peer}/${c.cell}`, median(warm.times));
      if (isLatency(c) && w.peer.startsWith('tfjs') && median(warm.times) > mode.tfjsBudget / 10) {
        peerRow(c.id, w.peer).skipped = tooSlow(median(warm.times), '');
        active.splice(active.indexOf(w), 1);
      }
    } catch (err) { peerRow(c.id, w.peer).error = (err as Error).message; active.splice(active.indexOf(w), 1); }
  }
  for (let r = 0; r < mode.rounds; r++) {
    const order = r % 2 === 0 ? active : [...active].reverse();
    for (const w of order) {
      const pr = peerRow(c.id, w.peer);
      if (pr.error || (slow.has(w.peer) && r >= mode.slowRounds)) continue;
      try {
        // a latency row's p99 needs calls enough: mode.serve.latencyIters per round, or as many as
        // twice --min-time holds for a slow peer (its warm-up call's time)
        const minIters = isLatency(c) ? Math.max(mode.minIters, Math.min(mode.serve.latencyIters, Math.ceil((2 * mode.minTime) / Math.max(callSeconds.get(w.peer) ?? 0, 1e-6)))) : mode.minIters;
        const res = await w.request<RunResult>({ op: 'run', minTime: mode.minTime, minIters, maxIters: 1e9 });
        (pr.samples ??= []).push(valueOf(c, median(res.times)));
        if (isLatency(c)) (pr.p99 ??= []).push(quantile(res.times, 0.99) * 1e6);
        pr.iterations = (pr.iterations ?? 0) + res.times.length;
        if (c.kind === 'classifier' || c.kind === 'charlm') secPerFlop.set(`${w.peer}/${c.mode}`, median(res.times) / flops(c));
      } catch (err) { pr.error = (err as Error).message; }
    }
  }
  for (const w of active) await w.request({ op: 'dispose' }).catch(() => undefined);
}

export async function measureLoop(e: Entry, workers: Map<Peer, Worker>): Promise<void> {
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

export async function measureMemory(ids: string[], peers: Peer[], threads: number): Promise<void> {
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
