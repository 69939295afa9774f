// From the measured samples to rows: per-peer statistics, GFLOP/s against the large matmul, the
// paired per-round ratios to torchrnn, and the linearity of the training step in sequence length.
import { flops, median, ModelCase, Peer, PEERS, spread, Spread } from './common';
import { curves, entries, Entry, limitMatmulId, Section } from './suite-cases';
import { higherBetter, isLatency, PeerRow, rowsByPeer, unitOf } from './suite-measure';

export interface Row {
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

/** The rows of the report, and the machine's large-matmul GFLOP/s that their percentages refer to. */
export function buildRows(): { rows: Row[]; matmulReference: number | null } {
  // the machine's large-matmul FLOP/s: the median of every round of both libtorch peers (the same
  // library, the same threads), so that a noisy round on one side does not move only its percentages
  const mmRow = limitMatmulId ? rowsByPeer.get(limitMatmulId) : undefined;
  const pooled = [...(mmRow?.torchrnn?.samples ?? []), ...(mmRow?.pytorch?.samples ?? [])];
  const matmulReference = pooled.length ? median(pooled) : null;
  const rows: Row[] = [];
  // a serving latency case is measured once and reported as two rows, its p50 and its p99 (the
  // median over rounds of each round's quantile; ratios paired by round as everywhere)
  const expanded: [string, Entry, Partial<Record<Peer, PeerRow>>, string][] = [];
  for (const [id, e] of entries) {
    const peers = rowsByPeer.get(id) ?? {};
    if (!isLatency(e.c)) { expanded.push([id, e, peers, unitOf(e.c)]); continue; }
    for (const q of ['p50', 'p99'] as const) {
      const qPeers: Partial<Record<Peer, PeerRow>> = {};
      for (const p of PEERS) {
        const pr = peers[p];
        if (!pr) continue;
        const { p99, samples, ...rest } = pr;
        qPeers[p] = { ...rest, ...(q === 'p50' ? (samples ? { samples } : {}) : (p99 ? { samples: p99 } : {})) };
      }
      expanded.push([`${id}-${q}`, { ...e, title: e.title.replace(/ \((.*)\)$/, `, ${q} ($1)`) }, qPeers, `${unitOf(e.c)}, ${q}`]);
    }
  }
  for (const [id, e, peers, unit] of expanded) {
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
    rows.push({ id, section: e.section, title: e.title, unit, higherIsBetter: higherBetter(c), params: e.params, flops: f, note: e.note, peers, ratios, tfjsTorchVsWasm });
  }
  return { rows, matmulReference };
}

/** Least-squares t = a + b*S over the seq curve, and where the per-timestep cost departs from it. */
export function linearity(rows: Map<string, Row>) {
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
