// The report: results.md (the tables, the limit, the event loop, notes, linearity) and, with --plot,
// the SVG charts (bench/svg.ts draws them).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Peer, PEERS, Spread } from './common';
import { Row } from './suite-analysis';
import { curves, Section } from './suite-cases';
import { hellos, PeerRow, skippedPeers } from './suite-measure';
import { mode, modeName, outDir } from './suite-options';
import { barChart, COLORS, lineChart } from './svg';

const PEER_NAMES: Record<Peer, string> = { torchrnn: 'torchrnn', pytorch: 'PyTorch', 'tfjs-cpu': 'tfjs cpu', 'tfjs-wasm': 'tfjs wasm', 'tfjs-torch': 'tfjs on torch' };
export function fmt(v: number | undefined | null, digits = 3): string {
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

export function markdown(rows: Row[], res: Record<string, unknown>): string {
  const L: string[] = [];
  const order: Section[] = ['workloads', 'curves', 'limit', 'overheads'];
  const heads: Record<Section, string> = { workloads: 'Workloads', curves: 'Cost curves', limit: 'Limit: the large matmul, and LSTM training steps at larger sizes', overheads: 'Overheads (µs/call: lower is better; requests/s: higher is better; ratio > 1: torchrnn faster)' };
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
    const slowCalls = rows.filter((r) => r.peers[p]?.skipped?.startsWith('skipped: one call took'));
    if (slowCalls.length) notes.push(`${PEER_NAMES[p]} skipped ${slowCalls.length} serving latency row(s) where one call took over ${mode.tfjsBudget / 10} s (--tfjs-budget / 10): ${slowCalls.map((r) => r.title.replace(/ \(.*\)$/, '')).join('; ')}`);
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

export function plots(rows: Row[], res: Record<string, unknown>): string[] {
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
