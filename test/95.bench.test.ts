// The benchmark suite runs end to end: `bench/suite.ts --smoke` (every row at toy sizes, every
// peer that is installed) prints well-formed JSON with every row, writes results.json, results.md
// and, with --plot, the SVG charts. No timing is asserted: only that each number is there.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
type PeerName = 'torchrnn' | 'pytorch' | 'tfjs-cpu' | 'tfjs-wasm';
const PEERS: PeerName[] = ['torchrnn', 'pytorch', 'tfjs-cpu', 'tfjs-wasm'];
interface Spread { median: number; min: number; max: number; n: number }
interface PeerRow { samples?: number[]; stats?: Spread; skipped?: string; error?: string; memory?: { peakMB: number; deltaMB: number } | { skipped: string } }
interface Row { id: string; section: string; title: string; unit: string; higherIsBetter: boolean; peers: Partial<Record<PeerName, PeerRow>>; ratios: Partial<Record<PeerName, Spread | null>> }
interface Result {
  mode: string; rows: Row[]; peers: Record<string, unknown> & { skipped: Record<string, string> };
  targets: Record<'ratioVsPytorch' | 'vsTfjsCpu' | 'limit', { target: string; met: boolean }>;
  limit: { matmulGflops: { torchrnn: number }; rows: { batch: number; hidden: number; torchrnn: number; torchrnnPct: number }[] };
  linearity: Record<string, { verdict: string }>; threads: { libtorchIntraOp: number }; machine: { loadAverageBefore: number[] };
}

describe('95 benchmark suite (--smoke)', function () {
  this.timeout(240e3);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'torchrnn-bench-'));
  let res: Result;
  let stderr = '';

  before(function () {
    const p = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(root, 'bench', 'suite.ts'), '--smoke', '--plot', '--out', out],
      { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 230e3 });
    stderr = p.stderr;
    assert.strictEqual(p.status, 0, `suite exited with ${p.status} ${p.signal ?? ''}:\n${p.stderr.slice(-3000)}`);
    res = JSON.parse(p.stdout) as Result;
  });
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it('prints the same JSON it writes, and a Markdown table', () => {
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')), res);
    assert.strictEqual(res.mode, 'smoke');
    const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
    for (const h of ['#### Workloads', '#### Cost curve: LSTM classifier training step vs seq', '#### Overheads', '#### LSTM training step against the large-matmul limit', '#### Event loop while fit() trains']) {
      assert.ok(md.includes(h), `results.md lacks ${h}`);
    }
    assert.match(stderr, /\| row \| unit \| torchrnn \| PyTorch \| tfjs cpu \| tfjs wasm \|/);
  });

  it('has every row of every section', () => {
    const ids = res.rows.map((r) => r.id);
    const want = [
      /^lstm-train-/, /^lstm-infer-/, /^gru-train-/, /^gru-infer-/, /^rnn-train-/, /^rnn-infer-/, /^charlm-train-/, /^charlm-infer-/,
      /^lstm-packed-train-/, /^lstm-packed-infer-/, /^lstm-proj\d+-train-/, /^lstm-proj\d+-infer-/, /^lstm-dropout0\.3-train-/, /^matmul-/, /^tiny-add-sync$/, /^tiny-linear-sync$/, /^tiny-linear-async$/, /^eventloop-fit$/,
      /^serve-lstm-b1-.*-sync-p50$/, /^serve-lstm-b1-.*-sync-p99$/, /^serve-lstm-b1-.*-async-p50$/, /^serve-lstm-b1-.*-async-p99$/,
      /^serve-gru-b1-.*-sync-p50$/, /^serve-gru-b1-.*-sync-p99$/, /^serve-gru-b1-.*-async-p50$/, /^serve-gru-b1-.*-async-p99$/,
      /^serve-lstm-b1-.*-concurrent64$/, /^serve-lstm-b1-.*-concurrent64-pooldefault$/,
    ];
    for (const w of want) assert.ok(ids.some((id) => w.test(id)), `no row matches ${w}`);
    for (const s of ['workloads', 'curves', 'limit', 'overheads']) assert.ok(res.rows.some((r) => r.section === s), `no ${s} rows`);
    assert.ok(res.rows.filter((r) => /^lstm-train-/.test(r.id)).length >= 5, 'the cost curves and the limit grid add LSTM training rows');
  });

  it('reports the serving rows: latency in µs/call (p50, p99; lower is better), 64 calls in flight in requests/s', () => {
    const serve = res.rows.filter((r) => r.id.startsWith('serve-'));
    assert.strictEqual(serve.length, 10);
    for (const r of serve) {
      const latency = !/concurrent/.test(r.id);
      assert.strictEqual(r.section, 'overheads', r.id);
      assert.strictEqual(r.unit, latency ? `µs/call, ${r.id.slice(-3)}` : 'requests/s', r.id);
      assert.strictEqual(r.higherIsBetter, !latency, r.id);
      if (latency) assert.match(r.title, new RegExp(`, ${r.id.slice(-3)} \\(batch 1, `), r.id);
      else for (const p of ['tfjs-cpu', 'tfjs-wasm'] as const) if (r.peers[p]) assert.match(r.peers[p]!.skipped ?? '', /^n\/a: /, `${r.id}: ${p}`);
    }
    // a round's p99 is at least its p50, so the rows' medians are too
    for (const r of serve.filter((x) => x.id.endsWith('-p50'))) {
      const p99 = serve.find((x) => x.id === r.id.replace(/-p50$/, '-p99'))!;
      for (const p of PEERS) {
        const a = r.peers[p]?.stats;
        const b = p99.peers[p]?.stats;
        if (a && b) assert.ok(b.median >= a.median && b.min >= a.min, `${r.id}: ${p} p99 ${JSON.stringify(b)} < p50 ${JSON.stringify(a)}`);
      }
    }
  });

  it('measures torchrnn on every row, and gives every other peer a number or a reason', () => {
    for (const r of res.rows) {
      const t = r.peers.torchrnn;
      assert.ok(t?.stats && Number.isFinite(t.stats.median) && t.stats.median > 0, `${r.id}: torchrnn ${JSON.stringify(t)}`);
      assert.ok(t.stats.min <= t.stats.median && t.stats.median <= t.stats.max, `${r.id}: spread`);
      for (const p of PEERS) {
        const pr = r.peers[p];
        if (!pr) { assert.ok(res.peers.skipped[p], `${r.id}: ${p} neither measured nor skipped`); continue; }
        assert.ok((pr.stats && Number.isFinite(pr.stats.median)) || typeof pr.skipped === 'string' || typeof pr.error === 'string', `${r.id}: ${p} ${JSON.stringify(pr)}`);
      }
    }
  });

  it('reports a ratio to PyTorch on every row PyTorch can run (when python3-torch is installed)', function () {
    if (res.peers.skipped.pytorch) this.skip();
    for (const r of res.rows.filter((x) => x.id !== 'eventloop-fit')) {
      const q = r.ratios.pytorch;
      assert.ok(q && Number.isFinite(q.median) && q.median > 0, `${r.id}: ratio ${JSON.stringify(q)}`);
    }
  });

  it('runs the TensorFlow.js peers that are installed, and records tfjs-node as skipped', () => {
    assert.match(res.peers.skipped['tfjs-node'], /tfjs-node/);
    for (const p of ['tfjs-cpu', 'tfjs-wasm'] as const) {
      if (res.peers.skipped[p]) continue;
      const ref = res.rows.find((r) => r.section === 'workloads' && /^lstm-train-/.test(r.id))!;
      assert.ok(ref.peers[p]?.stats, `${p} measured the reference LSTM training step`);
    }
  });

  it('computes the limit, the linearity check, the memory and the targets', () => {
    assert.ok(res.limit.matmulGflops.torchrnn > 0);
    assert.ok(res.limit.rows.length >= 1 && res.limit.rows.every((r) => Number.isFinite(r.torchrnnPct)));
    assert.match(res.linearity.torchrnn.verdict, /linear/);
    const seqRows = res.rows.filter((r) => /^lstm-train-/.test(r.id) && r.peers.torchrnn?.memory && 'peakMB' in r.peers.torchrnn.memory);
    assert.ok(seqRows.length >= 2, 'peak memory measured for the sequence-length curve');
    for (const k of ['ratioVsPytorch', 'vsTfjsCpu', 'limit'] as const) assert.strictEqual(typeof res.targets[k].met, 'boolean');
    assert.ok(res.threads.libtorchIntraOp >= 1);
    assert.strictEqual(res.machine.loadAverageBefore.length, 3);
  });

  it('writes the SVG charts with --plot', () => {
    for (const f of ['seq-throughput.svg', 'batch-throughput.svg', 'hidden-throughput.svg', 'seq-memory.svg', 'limit.svg', ...(res.peers.skipped.pytorch ? [] : ['ratios.svg'])]) {
      const svg = fs.readFileSync(path.join(out, f), 'utf8');
      assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') && svg.trimEnd().endsWith('</svg>'), f);
      assert.ok(!/NaN|undefined|Infinity/.test(svg), `${f} has no NaN/undefined coordinates`);
    }
  });
});
