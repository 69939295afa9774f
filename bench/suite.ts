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
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Hello, median, Peer, PEERS } from './common';
import { buildRows, linearity } from './suite-analysis';
import { curves, entries, limitMatmulId } from './suite-cases';
import { hellos, measureCase, measureLoop, measureMemory, rowsByPeer, skippedPeers, unitOf } from './suite-measure';
import { flag, mode, modeName, opt, outDir, say, wantPeers } from './suite-options';
import { fmt, markdown, plots } from './suite-report';
import { ensureCompiled, isInstalled, python, Worker } from './suite-workers';

// The parts: suite-options.ts (command line, modes), suite-cases.ts (the case list),
// suite-workers.ts (peer processes), suite-measure.ts (rounds, event loop, memory),
// suite-analysis.ts (rows, ratios, linearity), suite-report.ts (results.md, SVG charts).

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

  const { rows, matmulReference } = buildRows();
  const byId = new Map(rows.map((r) => [r.id, r]));
  // the limit: every LSTM classifier training step (fixed length) against the large matmul
  const mm = limitMatmulId ? byId.get(limitMatmulId) : undefined;
  const limitRows = rows.filter((r) => /^lstm-train-/.test(r.id)).map((r) => ({
    id: r.id, batch: r.params.batch as number, hidden: r.params.hidden as number, seq: r.params.seq as number,
    torchrnn: r.peers.torchrnn?.gflops, torchrnnPct: r.peers.torchrnn?.pctOfMatmul, pytorch: r.peers.pytorch?.gflops, pytorchPct: r.peers.pytorch?.pctOfMatmul,
  })).sort((a, b) => a.batch - b.batch || a.hidden - b.hidden || a.seq - b.seq);
  const limit = mm ? { matmulN: mode.matmul, matmulGflops: { reference: matmulReference, torchrnn: mm.peers.torchrnn?.stats?.median, pytorch: mm.peers.pytorch?.stats?.median }, rows: limitRows } : undefined;

  // targets
  const modelRows = rows.filter((r) => r.unit === 'seq/s' || r.unit.startsWith('µs/call') || r.unit === 'requests/s');
  const serveRows = rows.filter((r) => r.id.startsWith('serve-') && r.unit.startsWith('µs/call') && r.ratios.pytorch);
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
    servingLatency: {
      target: 'batch-1 LSTM and GRU forward and forwardAsync (reference size) at <= 0.8x PyTorch\'s latency, p50 and p99 (ratio >= 1.25)',
      rows: serveRows.length, met: serveRows.length > 0 && serveRows.every((r) => r.ratios.pytorch!.median >= 1.25),
      ratios: Object.fromEntries(serveRows.map((r) => [r.id, r.ratios.pytorch!.median])),
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
  say(`targets: ratio >= 1 vs PyTorch: ${targets.ratioVsPytorch.met ? 'met' : `missed on ${below.length} of ${targets.ratioVsPytorch.rows} rows`}; serving latency <= 0.8x PyTorch: ${targets.servingLatency.rows ? (targets.servingLatency.met ? 'met' : 'missed') : 'not measured'}; vs tfjs cpu >= 30x: ${targets.vsTfjsCpu.ratio === null ? 'not measured' : `${targets.vsTfjsCpu.ratio.toFixed(1)}x ${targets.vsTfjsCpu.met ? 'met' : 'missed'}`}; limit >= 40 %: ${targets.limit.pct === null ? 'not measured' : `${targets.limit.pct.toFixed(1)} % ${targets.limit.met ? 'met' : 'missed'}`}`);
  if (flag('plot')) say(`plots: ${plots(rows, res).join(', ')}`);
  say(`wrote ${path.join(outDir, 'results.json')} and results.md in ${res.seconds} s; load average ${loadBefore.join(' ')} -> ${loadAfter.join(' ')}`);
})().catch((err) => { say(String(err?.stack ?? err)); process.exit(1); });
