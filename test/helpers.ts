// What several test files share: fixture loading and close-enough asserts, the error asserts
// (exact messages, libtorch's errors without a backtrace), seeded random numbers, paths and
// temporary directories, module comparisons. Models that several files train: test/models.ts.
// Child processes load this file too (test/30): mocha's globals (it, before) only inside functions.
import * as assert from 'assert';
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { libtorchLine } from '../lib/compat';
import { resetWarnings } from '../lib/aten/python-args';
import { mulberry32 } from '../lib/random';

// ---- fixtures ---------------------------------------------------------------------------------

export interface Encoded { data: (number | string | boolean)[]; shape: number[]; dtype: torch.DType }

/**
 * A generated fixture's path: each libtorch line has its own set, made by its own PyTorch
 * (test/fixtures/torch-1.13/, test/fixtures/torch-2.6/; `npm run fixtures`).
 */
export function fixturePath(...parts: string[]): string {
  return path.join(__dirname, 'fixtures', `torch-${libtorchLine}`, ...parts);
}

/** What the running libtorch line says or does, where 1.13 and 2.6 differ (libtorch's own messages). */
export function byLine<T>(values: { '1.13': T; '2.6': T }): T {
  return libtorchLine === '1.13' ? values['1.13'] : values['2.6'];
}

/** A JSON fixture of the running line (`name` may have folders: 'interop/models.json'). */
export function loadFixture<T>(name: string): T {
  return JSON.parse(fs.readFileSync(fixturePath(name), 'utf8')) as T;
}

/** A fixture value: the strings "NaN", "Infinity" and "-Infinity" stand for those numbers. */
export function decodeValue(v: number | string | boolean): number | boolean {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v as number | boolean;
}

/** A tensor holding a fixture's data, with its dtype and shape. */
export function fromFixture(e: Encoded, requiresGrad = false): torch.Tensor {
  const values = e.data.map(decodeValue);
  const t = e.dtype === 'bool'
    ? torch.tensor(values as boolean[], { dtype: 'bool', shape: e.shape })
    : torch.tensor(Float64Array.from(values as number[]), { dtype: e.dtype, shape: e.shape });
  return requiresGrad ? t.requiresGrad_(true) : t;
}

// ---- close-enough asserts ----------------------------------------------------------------------

export interface Tolerance { rtol: number; atol: number }

/**
 * float32 values that come out of a BLAS product or a long reduction, compared with fixtures made
 * on another machine: OpenBLAS picks its kernels by CPU (Haswell, SkylakeX, Zen ...), which sum in
 * another order, so the same libtorch gives values a few tens of ulps apart on two CPUs (seen:
 * 1.6e-7 on 0.06 after a Conv2d + Linear, 3.6e-7 on a 0.036 bias gradient, 4e-7 on 0.1 weight
 * gradients), while libtorch and PyTorch on one CPU agree to the bit.
 */
export const CROSS_CPU_TOL: Tolerance = { rtol: 1e-5, atol: 1e-6 };

/** Tolerances: relative 1e-6 for float32 (the bound), tighter for float64. */
export function tolerance(dtype: torch.DType): Tolerance {
  if (dtype === 'float64') return { rtol: 1e-12, atol: 1e-14 };
  if (dtype === 'float16' || dtype === 'bfloat16') return { rtol: 1e-3, atol: 1e-3 };
  return { rtol: 1e-6, atol: 1e-7 };
}

/**
 * |actual - expected| <= atol + rtol * |expected|, elementwise; an expected NaN wants a NaN and
 * an expected infinity the same infinity.
 */
export function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, label: string): void {
  assert.strictEqual(actual.length, expected.length, `${label}: lengths differ`);
  const { rtol, atol } = tol;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (Number.isNaN(b)) { assert.ok(Number.isNaN(a), `${label}[${i}]: expected NaN, got ${a}`); continue; }
    if (!Number.isFinite(b)) { assert.strictEqual(a, b, `${label}[${i}]`); continue; }
    const ok = Math.abs(a - b) <= atol + rtol * Math.abs(b);
    assert.ok(ok, `${label}[${i}]: got ${a}, expected ${b} (|diff| ${Math.abs(a - b)})`);
  }
}

/** Asserts that `actual` has the fixture's dtype, shape and values (within tolerance). */
export function assertMatches(actual: torch.Tensor, expected: Encoded, label: string, tol?: Tolerance): void {
  assert.strictEqual(actual.dtype, expected.dtype, `${label}: dtype`);
  assert.deepStrictEqual([...actual.shape], expected.shape, `${label}: shape`);
  const got = values(actual);
  const want = expected.data.map(decodeValue).map(Number);
  assertAllClose(got, want, tol ?? tolerance(expected.dtype), label);
}

/** A tensor's values as plain numbers (int64 included). */
export function values(t: torch.Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number | bigint>, Number);
}

/**
 * Two modules hold the same parameters: the same state-dict keys in the same order, and values
 * within `tol` of each other (0: equal).
 */
export function sameParams(a: torch.nn.Module, b: torch.nn.Module, tol = 0): void {
  const sa = a.stateDict();
  const sb = b.stateDict();
  assert.deepStrictEqual(Object.keys(sb), Object.keys(sa), 'state-dict keys');
  for (const k of Object.keys(sa)) {
    const x = values(sa[k]);
    const y = values(sb[k]);
    assert.strictEqual(y.length, x.length, `${k}: number of values`);
    x.forEach((v, i) => assert.ok(Math.abs(v - y[i]) <= tol || Object.is(v, y[i]), `${k}[${i}]: ${v} vs ${y[i]}`));
  }
}

// ---- errors ------------------------------------------------------------------------------------

/** Expects `fn` to throw a TorchError with this code and exact message. */
export function throwsTorch(fn: () => unknown, code: torch.ErrorCode, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof torch.TorchError, `expected a TorchError, got ${String(err)}`);
    assert.strictEqual(err.code, code, `code of: ${err.message}`);
    if (typeof message === 'string') assert.strictEqual(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

/** Validation: ERR_INVALID_ARG with `Expected <what> for <name> but received <value>`. */
export function invalid(fn: () => unknown, message: string | RegExp): void {
  throwsTorch(fn, 'ERR_INVALID_ARG', message);
}

/** What `fn` threw (it must throw). */
export function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return assert.fail('expected the call to throw');
}

/** No C++ backtrace (libtorch's "Exception raised from" and frames) in an error message. */
export function assertNoBacktrace(message: string): void {
  assert.ok(!message.includes('Exception raised from'), `backtrace location in: ${message}`);
  assert.ok(!/\nframe #/.test(message), `C++ frames in: ${message}`);
}

/** libtorch refused the call: ERR_TORCH with libtorch's sentence and no C++ backtrace. */
export function throwsLibtorch(fn: () => unknown, message: string | RegExp): void {
  const err = caught(fn);
  assert.ok(err instanceof torch.TorchError, `expected a TorchError, got ${String(err)}`);
  assert.strictEqual(err.code, 'ERR_TORCH', `code of: ${err.message}`);
  if (typeof message === 'string') assert.strictEqual(err.message, message);
  else assert.match(err.message, message);
  assertNoBacktrace(err.message);
}

/** A disposed tensor (ones, so no random numbers are drawn). */
export function dead(shape: number[] = [2]): torch.Tensor {
  const t = torch.ones(shape);
  t.dispose();
  return t;
}

/** Pieces of the standard messages: what a dtype, a device and a disposed tensor are called. */
export const DTYPES = 'one of uint8, int8, int16, int32, int64, float16, float32, float64, bool, bfloat16, complex64, complex128';
export const DEVICE = 'a device ("cpu", "cuda" or "cuda:N")';
export const DEAD = 'a disposed Tensor';

/** These tests run on machines without a GPU (DESIGN.md); with one, the CUDA expectations do not apply. */
export const HAS_CUDA = torch.cuda.isAvailable();

/**
 * TORCHRNN_LONG_TESTS=1 runs the robustness loops at full length (kills, file mutations); CI
 * runs them shorter to stay in its time budget. Each such test states both counts.
 */
export const LONG = process.env.TORCHRNN_LONG_TESTS === '1';
/** `it` where there is no GPU, `it.skip` where there is one. (A function: helpers.ts also loads outside mocha.) */
export function itNoCuda(title: string, fn: Mocha.Func): void {
  (HAS_CUDA ? it.skip : it)(title, fn);
}
/** ERR_CUDA_UNAVAILABLE's message for a device. */
export const cudaMessage = (device: string): string =>
  `CUDA is not available, so device "${device}" cannot be used: the libtorch torchrnn runs on has no CUDA support or no GPU is visible (torch.cuda.isAvailable() is false)`;

// ---- seeded random numbers ---------------------------------------------------------------------

/** mulberry32 (lib/random.ts) with helpers, so a failing random call can be replayed by its index. */
export class Rng {
  readonly next: () => number;
  constructor(seed: number) { this.next = mulberry32(seed); }
  /** An integer in [0, n). */
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)]; }
  /** A value from a pool of thunks (thunks, so that symbols, functions and disposed tensors are fresh). */
  from(pool: readonly (() => unknown)[]): unknown { return this.pick(pool)(); }
}

/** The C library's linear congruential generator: each call gives the next state, an integer in [0, 2^31). */
export function lcg(seed: number): () => number {
  let s = seed;
  return () => { s = (s * 1103515245 + 12345) % 2147483648; return s; };
}

// ---- garbage collection ------------------------------------------------------------------------

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run mocha with --expose-gc');
  g();
}

/**
 * Collects garbage and lets the finalizers that free native tensors run (they run on the
 * event loop after a collection), so that memory().tensors counts only live tensors.
 */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

/** Every tensor in a structure of arrays, Maps and objects. */
export function tensorsIn(v: unknown, out: torch.Tensor[] = []): torch.Tensor[] {
  if (v instanceof torch.Tensor) out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => tensorsIn(x, out));
  else if (v instanceof Map) [...v.values()].forEach((x) => tensorsIn(x, out));
  else if (v !== null && typeof v === 'object') Object.values(v).forEach((x) => tensorsIn(x, out));
  return out;
}

/** Disposes every tensor in a structure (what torch.load gave). */
export function disposeAll(v: unknown): void {
  for (const t of tensorsIn(v)) t.dispose();
}

// ---- paths and temporary directories -----------------------------------------------------------

/** The repository's root. */
export const ROOT = path.join(__dirname, '..');
/** The built CLI (`npm run compile`). */
export const CLI_BIN = path.join(ROOT, 'dist', 'cli', 'main.js');

/** A new directory in the system's temporary directory; the caller removes it (removeDir). */
export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * A temporary directory for the enclosing describe(): made by a before() hook, removed by an
 * after() hook. Call it inside describe(); the tests read the path with the returned function.
 */
export function suiteTmpDir(prefix: string): () => string {
  let dir = '';
  before(() => { dir = tmpDir(prefix); });
  after(() => { if (dir) removeDir(dir); });
  return () => dir;
}

/**
 * The messages of the process warnings `fn` emits (PyTorch's UserWarnings), each once-per-process
 * warning reset first so that an earlier test's showing does not hide it.
 */
export async function warningsOf(fn: () => unknown): Promise<string[]> {
  resetWarnings();
  const seen: string[] = [];
  const on = (w: Error) => seen.push(w.message);
  process.on('warning', on);
  try {
    fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', on);
  }
  return seen;
}

// ---- the built CLI (test/7x) ----------------------------------------------------------------

/** The built `torchrnn` command with these arguments; cwd the checkout unless given, env added to the process's. */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI_BIN, ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: 300000, env: opts.env ? { ...process.env, ...opts.env } : process.env });
}

/** Exit code 2 and exactly `torchrnn: <line>` on stderr. */
export function expectCliUsage(args: string[], line: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  const r = runCli(args, opts);
  assert.strictEqual(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  assert.strictEqual(r.stderr.trim(), `torchrnn: ${line}`);
}

export interface RunReport { metric: string; baseline?: { name: string; value: number }; final: { metric: number; extra?: Record<string, number> } }

/** A finished `train` run (exit code 0) in `out`: its files, an SVG plot, and metrics.json's metric (finite) under its name. */
export function checkTrainRun(r: SpawnSyncReturns<string>, out: string, metricName: string): RunReport {
  assert.strictEqual(r.status, 0, r.stderr);
  for (const f of ['config.json', 'metrics.json', 'model.safetensors', 'checkpoint.safetensors', 'loss.svg', 'metric.svg']) assert.ok(fs.existsSync(path.join(out, f)), f);
  assert.match(fs.readFileSync(path.join(out, 'metric.svg'), 'utf8'), /^<svg[\s\S]*<\/svg>$/);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as RunReport;
  assert.strictEqual(report.metric, metricName);
  assert.ok(Number.isFinite(report.final.metric), String(report.final.metric));
  return report;
}

/**
 * The gate-kernel variants narrower than the CPU's widest, as [TORCHRNN_GATE_KERNELS value,
 * the variant it gives]: baseline always, avx2 where the CPU has AVX2 and FMA (tests run the
 * variants the default one hides in a child process each).
 */
export function narrowerGateKernels(): [string, string][] {
  let flags: string[] = [];
  try {
    flags = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '').trim().split(/\s+/);
  } catch { /* not Linux: baseline only */ }
  return [['baseline', 'baseline'], ...(flags.includes('avx2') && flags.includes('fma') ? [['avx2', 'avx2+fma'] as [string, string]] : [])];
}

/**
 * What a leak check of the tfjs `torch` backend compares: tfjs's tensor count, and the libtorch
 * tensors and bytes plus the small tensors the backend holds in JS only (which small results get
 * a libtorch tensor depends on whether their inputs' queued jobs had run: lib/tfjs/kernels/small.ts).
 * memory: tf.memory of the tfjs-core copy in use.
 */
export function tfjsLive(memory: () => object): number[] {
  const m = memory() as { numTensors: number; numTensorsInJs?: number; numBytesInJs?: number };
  const n = torch.memory();
  return [m.numTensors, n.tensors + (m.numTensorsInJs ?? 0), n.bytes + (m.numBytesInJs ?? 0)];
}
