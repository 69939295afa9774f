import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { libtorchLine } from '../lib/compat';

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

export function loadFixture<T>(name: string): T {
  return JSON.parse(fs.readFileSync(fixturePath(name), 'utf8')) as T;
}

function decodeValue(v: number | string | boolean): number | boolean {
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

/** Tolerances: relative 1e-6 for float32 (the bound), tighter for float64. */
export function tolerance(dtype: torch.DType): { rtol: number; atol: number } {
  if (dtype === 'float64') return { rtol: 1e-12, atol: 1e-14 };
  if (dtype === 'float16' || dtype === 'bfloat16') return { rtol: 1e-3, atol: 1e-3 };
  return { rtol: 1e-6, atol: 1e-7 };
}

/** Asserts that `actual` has the fixture's dtype, shape and values (within tolerance). */
export function assertMatches(actual: torch.Tensor, expected: Encoded, label: string, tol?: { rtol: number; atol: number }): void {
  assert.strictEqual(actual.dtype, expected.dtype, `${label}: dtype`);
  assert.deepStrictEqual([...actual.shape], expected.shape, `${label}: shape`);
  const got = Array.from(actual.dataSync() as ArrayLike<number | bigint>, (v) => Number(v));
  const want = expected.data.map(decodeValue).map(Number);
  const { rtol, atol } = tol ?? tolerance(expected.dtype);
  for (let i = 0; i < want.length; i++) {
    const a = got[i];
    const b = want[i];
    if (Number.isNaN(b)) { assert.ok(Number.isNaN(a), `${label}[${i}]: expected NaN, got ${a}`); continue; }
    if (!Number.isFinite(b)) { assert.strictEqual(a, b, `${label}[${i}]`); continue; }
    const ok = Math.abs(a - b) <= atol + rtol * Math.abs(b);
    assert.ok(ok, `${label}[${i}]: got ${a}, expected ${b} (|diff| ${Math.abs(a - b)})`);
  }
}

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

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run mocha with --expose-gc');
  g();
}

/**
 * Collects garbage and lets the finalizers that free native tensors run (they run on the
 * event loop after a collection), so that memory().tensors counts only live tensors.
 */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

/** A tensor's values as plain numbers (int64 included). */
export function values(t: torch.Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number | bigint>, Number);
}
