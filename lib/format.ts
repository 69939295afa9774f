/**
 * PyTorch's tensor printing (torch/_tensor_str.py, default print options: precision 4,
 * threshold 1000, edgeitems 3, linewidth 80), so `String(t)` reads like `print(t)`.
 */
import { DType } from './dtype';

const PRECISION = 4;
const THRESHOLD = 1000;
const EDGEITEMS = 3;
const LINEWIDTH = 80;

type Value = number | boolean;

/** Python's '{:.Ne}' (two-digit exponent at least). */
function sci(v: number): string {
  if (!Number.isFinite(v)) return pyNonFinite(v);
  const s = v.toExponential(PRECISION);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}
function pyNonFinite(v: number): string {
  return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}
function fixed(v: number, digits: number): string {
  if (!Number.isFinite(v)) return pyNonFinite(v);
  const s = v.toFixed(digits);
  return Object.is(v, -0) || (v < 0 && Number(s) === 0) ? (s.startsWith('-') ? s : `-${s}`) : s;
}

/** What tensorStr needs of a formatter: a width and the padded text of one element. */
interface ElementFormatter {
  maxWidth: number;
  format(v: Value): string;
}

class Formatter implements ElementFormatter {
  private floating: boolean;
  private intMode = true;
  private sciMode = false;
  maxWidth = 1;

  constructor(values: Value[], dtype: DType) {
    this.floating = dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
    if (!this.floating) {
      for (const v of values) this.maxWidth = Math.max(this.maxWidth, this.plain(v).length);
      return;
    }
    const nz = (values as number[]).filter((v) => Number.isFinite(v) && v !== 0);
    if (nz.length === 0) return;
    const abs = nz.map(Math.abs);
    const min = Math.min(...abs);
    const max = Math.max(...abs);
    this.intMode = nz.every((v) => v === Math.ceil(v));
    if (this.intMode) {
      if (max / min > 1000 || max > 1e8) {
        this.sciMode = true;
        for (const v of nz) this.maxWidth = Math.max(this.maxWidth, sci(v).length);
      } else {
        for (const v of nz) this.maxWidth = Math.max(this.maxWidth, fixed(v, 0).length + 1);
      }
    } else if (max / min > 1000 || max > 1e8 || min < 1e-4) {
      this.sciMode = true;
      for (const v of nz) this.maxWidth = Math.max(this.maxWidth, sci(v).length);
    } else {
      for (const v of nz) this.maxWidth = Math.max(this.maxWidth, fixed(v, PRECISION).length);
    }
  }

  private plain(v: Value): string {
    return typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v);
  }

  format(v: Value): string {
    let s: string;
    if (this.floating) {
      const n = v as number;
      if (this.sciMode) s = sci(n);
      else if (this.intMode) s = fixed(n, 0) + (Number.isFinite(n) ? '.' : '');
      else s = fixed(n, PRECISION);
    } else {
      s = this.plain(v);
    }
    return s.padStart(this.maxWidth, ' ');
  }
}

/** A strided view over the flat data, for walking dimensions like `self[i]`. */
interface View { offset: number; shape: readonly number[]; strides: number[] }

function sub(v: View, i: number): View {
  return { offset: v.offset + i * v.strides[0], shape: v.shape.slice(1), strides: v.strides.slice(1) };
}

/** The indices of the first and last EDGEITEMS entries of each long dimension (get_summarized_data). */
function summarized(values: Value[], v: View, summarize: boolean): Value[] {
  if (v.shape.length === 0) return [values[v.offset]];
  const n = v.shape[0];
  const idx = summarize && n > 2 * EDGEITEMS
    ? [...Array(EDGEITEMS).keys(), ...Array.from({ length: EDGEITEMS }, (_, k) => n - EDGEITEMS + k)]
    : [...Array(n).keys()];
  return idx.flatMap((i) => summarized(values, sub(v, i), summarize));
}

function vectorStr(values: Value[], v: View, indent: number, summarize: boolean, f: ElementFormatter): string {
  const elementLength = f.maxWidth + 2;
  const perLine = Math.max(1, Math.floor((LINEWIDTH - indent) / elementLength));
  const n = v.shape[0];
  const at = (i: number) => f.format(values[v.offset + i * v.strides[0]]);
  let data: string[];
  if (summarize && n > 2 * EDGEITEMS) {
    data = [...Array.from({ length: EDGEITEMS }, (_, i) => at(i)), ' ...', ...Array.from({ length: EDGEITEMS }, (_, i) => at(n - EDGEITEMS + i))];
  } else {
    data = Array.from({ length: n }, (_, i) => at(i));
  }
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += perLine) lines.push(data.slice(i, i + perLine).join(', '));
  return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
}

function tensorStr(values: Value[], v: View, indent: number, summarize: boolean, f: ElementFormatter): string {
  const dim = v.shape.length;
  if (dim === 0) return f.format(values[v.offset]);
  if (dim === 1) return vectorStr(values, v, indent, summarize, f);
  const n = v.shape[0];
  let slices: string[];
  if (summarize && n > 2 * EDGEITEMS) {
    slices = [
      ...Array.from({ length: EDGEITEMS }, (_, i) => tensorStr(values, sub(v, i), indent + 1, summarize, f)),
      '...',
      ...Array.from({ length: EDGEITEMS }, (_, i) => tensorStr(values, sub(v, n - EDGEITEMS + i), indent + 1, summarize, f)),
    ];
  } else {
    slices = Array.from({ length: n }, (_, i) => tensorStr(values, sub(v, i), indent + 1, summarize, f));
  }
  return `[${slices.join(`,${'\n'.repeat(dim - 1)}${' '.repeat(indent + 1)}`)}]`;
}

function addSuffixes(str: string, suffixes: string[], indent: number): string {
  const parts = [str];
  let lastLineLen = str.length - str.lastIndexOf('\n') + 1;
  for (const s of suffixes) {
    if (lastLineLen + s.length + 2 > LINEWIDTH) {
      parts.push(`,\n${' '.repeat(indent)}${s}`);
      lastLineLen = indent + s.length;
    } else {
      parts.push(`, ${s}`);
      lastLineLen += s.length + 2;
    }
  }
  parts.push(')');
  return parts.join('');
}

/**
 * Complex elements as PyTorch prints them (`1.+2.j`): the real parts through one float
 * formatter, the imaginary parts through another, the sign between them. The values tensorStr
 * walks are element indices into the interleaved [re, im] pairs.
 */
class ComplexFormatter implements ElementFormatter {
  private re: Formatter;
  private im: Formatter;
  maxWidth: number;

  constructor(private pairs: ArrayLike<number>, indices: number[]) {
    this.re = new Formatter(indices.map((i) => pairs[2 * i]), 'float32');
    this.im = new Formatter(indices.map((i) => Math.abs(pairs[2 * i + 1])), 'float32');
    this.maxWidth = this.re.maxWidth + this.im.maxWidth + 2;
  }

  format(v: Value): string {
    const i = v as number;
    const im = this.pairs[2 * i + 1];
    const sign = im < 0 || Object.is(im, -0) ? '-' : '+';
    const text = `${this.re.format(this.pairs[2 * i])}${sign}${this.im.format(Math.abs(im)).trimStart()}j`;
    return text.padStart(this.maxWidth, ' ');
  }
}

/** formatTensor for complex64/complex128 data: interleaved real and imaginary parts. */
export function formatComplexTensor(pairs: ArrayLike<number>, shape: readonly number[], dtype: DType, device: string, requiresGrad: boolean, gradFn: string | null): string {
  const indices = Array.from({ length: pairs.length / 2 }, (_, i) => i);
  return formatTensor(indices, shape, dtype, device, requiresGrad, gradFn, (summary) => new ComplexFormatter(pairs, summary as number[]));
}

export function formatTensor(values: Value[], shape: readonly number[], dtype: DType, device: string, requiresGrad: boolean, gradFn: string | null,
  makeFormatter: (values: Value[]) => ElementFormatter = (vs) => new Formatter(vs, dtype)): string {
  const prefix = 'tensor(';
  const indent = prefix.length;
  const suffixes: string[] = [];
  if (device !== 'cpu') suffixes.push(`device='${device}'`);
  const numel = shape.reduce((a, b) => a * b, 1);
  let body: string;
  if (numel === 0) {
    if (shape.length !== 1) suffixes.push(`size=(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`);
    if (dtype !== 'float32') suffixes.push(`dtype=torch.${dtype}`);
    body = '[]';
  } else {
    // PyTorch names no dtype for its defaults: float32, int64, bool, and complex64 (the complex of float32)
    if (dtype !== 'float32' && dtype !== 'int64' && dtype !== 'bool' && dtype !== 'complex64') suffixes.push(`dtype=torch.${dtype}`);
    const strides: number[] = [];
    let s = 1;
    for (let i = shape.length - 1; i >= 0; i--) { strides[i] = s; s *= shape[i]; }
    const view: View = { offset: 0, shape, strides };
    const summarize = numel > THRESHOLD;
    const f = makeFormatter(summarize ? summarized(values, view, true) : values);
    body = tensorStr(values, view, indent, summarize, f);
  }
  if (gradFn !== null) suffixes.push(`grad_fn=<${gradFn}>`);
  else if (requiresGrad) suffixes.push('requires_grad=True');
  return prefix + addSuffixes(body, suffixes, indent);
}
