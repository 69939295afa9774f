/** Dependency-free SVG charts for the benchmark suite: line charts (log axes) and horizontal bars. */

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The opening of a W x H chart: the svg element, a white background and the title centred at titleX. */
function header(W: number, H: number, titleX: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${titleX}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
}
const f1 = (v: number) => v.toFixed(1);

export const COLORS: Record<string, string> = {
  torchrnn: '#d9480f', pytorch: '#1971c2', 'tfjs-cpu': '#2f9e44', 'tfjs-wasm': '#7048e8', 'tfjs-torch': '#e8590c', target: '#868e96',
};

function fmtNum(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  return String(+v.toPrecision(3));
}

function linTicks(min: number, max: number, n = 5): number[] {
  if (min === max) { min -= 1; max += 1; }
  const step0 = (max - min) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}
function logTicks(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) { const v = m * 10 ** e; if (v >= min * 0.999 && v <= max * 1.001) out.push(v); }
  }
  return out.length >= 2 ? out : [min, max];
}

export interface LineSeries { name: string; color: string; points: [number, number][] }
export interface LineChart {
  title: string; xLabel: string; yLabel: string; logX?: boolean; logY?: boolean; series: LineSeries[];
  /** x ticks to label (default: every x that occurs) */ xTicks?: number[]; note?: string;
}

export function lineChart(o: LineChart): string {
  const W = 720, H = 420;
  const m = { left: 72, right: 150, top: 40, bottom: o.note ? 64 : 50 };
  const pts = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (!pts.length) { x0 = 1; x1 = 2; y0 = 1; y1 = 2; }
  if (o.logY) { y0 /= 1.5; y1 *= 1.5; } else { const pad = (y1 - y0) * 0.08 || 1; y0 = Math.min(0, y0 - pad); y1 += pad; }
  if (x0 === x1) { x0 = o.logX ? x0 / 2 : x0 - 1; x1 = o.logX ? x1 * 2 : x1 + 1; }
  const tx = (v: number) => (o.logX ? Math.log(v / x0) / Math.log(x1 / x0) : (v - x0) / (x1 - x0));
  const ty = (v: number) => (o.logY ? Math.log(v / y0) / Math.log(y1 / y0) : (v - y0) / (y1 - y0));
  const X = (v: number) => m.left + tx(v) * (W - m.left - m.right);
  const Y = (v: number) => H - m.bottom - ty(v) * (H - m.top - m.bottom);
  const p = header(W, H, (W - m.right + m.left) / 2, o.title);
  for (const t of o.logY ? logTicks(y0, y1) : linTicks(y0, y1)) {
    p.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${f1(Y(t))}" y2="${f1(Y(t))}" stroke="#e9ecef"/>`,
      `<text x="${m.left - 6}" y="${f1(Y(t) + 4)}" text-anchor="end">${fmtNum(t)}</text>`);
  }
  for (const t of o.xTicks ?? [...new Set(xs)].sort((a, b) => a - b)) {
    p.push(`<line x1="${f1(X(t))}" x2="${f1(X(t))}" y1="${m.top}" y2="${H - m.bottom}" stroke="#f1f3f5"/>`,
      `<text x="${f1(X(t))}" y="${H - m.bottom + 16}" text-anchor="middle">${fmtNum(t)}</text>`);
  }
  p.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${H - m.bottom}" stroke="#343a40"/>`,
    `<line x1="${m.left}" x2="${W - m.right}" y1="${H - m.bottom}" y2="${H - m.bottom}" stroke="#343a40"/>`,
    `<text x="${(W - m.right + m.left) / 2}" y="${H - m.bottom + 34}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text x="18" y="${(H - m.bottom + m.top) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(H - m.bottom + m.top) / 2})">${esc(o.yLabel)}</text>`);
  if (o.note) p.push(`<text x="${m.left}" y="${H - 8}" font-size="11" fill="#495057">${esc(o.note)}</text>`);
  o.series.forEach((s, k) => {
    const sp = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0)).sort((a, b) => a[0] - b[0]);
    if (sp.length > 1) p.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2.2" points="${sp.map(([x, y]) => `${f1(X(x))},${f1(Y(y))}`).join(' ')}"/>`);
    for (const [x, y] of sp) p.push(`<circle cx="${f1(X(x))}" cy="${f1(Y(y))}" r="3.5" fill="${s.color}"><title>${esc(`${s.name}: ${fmtNum(x)} -> ${fmtNum(y)}`)}</title></circle>`);
    const ly = m.top + 8 + k * 20;
    p.push(`<rect x="${W - m.right + 14}" y="${ly}" width="14" height="4" fill="${s.color}"/>`,
      `<text x="${W - m.right + 34}" y="${ly + 6}">${esc(s.name)}${sp.length ? '' : ' (skipped)'}</text>`);
  });
  p.push('</svg>');
  return p.join('\n') + '\n';
}

export interface Bar { name: string; color: string; value: number | null; lo?: number; hi?: number; label?: string }
export interface BarChart {
  title: string; unit: string; logX?: boolean; groups: { label: string; bars: Bar[] }[];
  /** a vertical reference line (e.g. ratio 1.0, the 40 % target) */ ref?: { value: number; label: string }; note?: string;
}

/** Horizontal grouped bars with optional min-max whiskers. */
export function barChart(o: BarChart): string {
  const barH = 14, gap = 10;
  const nb = Math.max(1, ...o.groups.map((g) => g.bars.length));
  const m = { left: 290, right: 70, top: 62, bottom: o.note ? 58 : 40 };
  const W = 900;
  const H = m.top + m.bottom + o.groups.length * (nb * barH + gap);
  const vals = o.groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.hi ?? null])).filter((v): v is number => v !== null && Number.isFinite(v) && (!o.logX || v > 0));
  if (o.ref) vals.push(o.ref.value);
  let lo = o.logX ? Math.min(...vals) / 1.5 : 0;
  let hi = Math.max(...vals, 1e-9) * (o.logX ? 1.5 : 1.08);
  if (!vals.length) { lo = o.logX ? 0.1 : 0; hi = 1; }
  if (o.logX && lo > 1) lo = 1;
  const X = (v: number) => m.left + (o.logX ? Math.log(Math.max(v, lo) / lo) / Math.log(hi / lo) : (v - lo) / (hi - lo)) * (W - m.left - m.right);
  const p = header(W, H, W / 2, o.title);
  for (const t of o.logX ? logTicks(lo, hi) : linTicks(lo, hi)) {
    p.push(`<line x1="${f1(X(t))}" x2="${f1(X(t))}" y1="${m.top - 6}" y2="${H - m.bottom}" stroke="#e9ecef"/>`,
      `<text x="${f1(X(t))}" y="${H - m.bottom + 15}" text-anchor="middle">${fmtNum(t)}</text>`);
  }
  p.push(`<text x="${(W - m.right + m.left) / 2}" y="${H - m.bottom + 32}" text-anchor="middle">${esc(o.unit)}</text>`);
  if (o.note) p.push(`<text x="12" y="${H - 8}" font-size="11" fill="#495057">${esc(o.note)}</text>`);
  const legend = new Map<string, string>();
  o.groups.forEach((g, gi) => {
    const y0 = m.top + gi * (nb * barH + gap);
    p.push(`<text x="${m.left - 8}" y="${y0 + (g.bars.length * barH) / 2 + 4}" text-anchor="end">${esc(g.label)}</text>`);
    g.bars.forEach((b, bi) => {
      legend.set(b.name, b.color);
      const y = y0 + bi * barH;
      if (b.value === null || !Number.isFinite(b.value)) {
        p.push(`<text x="${m.left + 4}" y="${y + barH - 3}" font-size="10" fill="#868e96">${esc(`${b.name}: ${b.label ?? 'skipped'}`)}</text>`);
        return;
      }
      p.push(`<rect x="${m.left}" y="${y + 1}" width="${f1(Math.max(1, X(b.value) - m.left))}" height="${barH - 2}" fill="${b.color}" opacity="0.85"><title>${esc(`${b.name}: ${fmtNum(b.value)}`)}</title></rect>`);
      if (b.lo !== undefined && b.hi !== undefined) {
        p.push(`<line x1="${f1(X(b.lo))}" x2="${f1(X(b.hi))}" y1="${y + barH / 2}" y2="${y + barH / 2}" stroke="#212529" stroke-width="1.2"/>`);
      }
      p.push(`<text x="${f1(Math.max(X(b.value), X(b.hi ?? b.value)) + 4)}" y="${y + barH - 3}" font-size="10">${esc(b.label ?? fmtNum(b.value))}</text>`);
    });
  });
  if (o.ref) {
    p.push(`<line x1="${f1(X(o.ref.value))}" x2="${f1(X(o.ref.value))}" y1="${m.top - 8}" y2="${H - m.bottom}" stroke="#c92a2a" stroke-dasharray="5,3"/>`,
      `<text x="${f1(X(o.ref.value))}" y="${m.top - 12}" text-anchor="middle" fill="#c92a2a" font-size="11">${esc(o.ref.label)}</text>`);
  }
  let lx = m.left;
  for (const [name, color] of legend) {
    p.push(`<rect x="${lx}" y="29" width="12" height="12" fill="${color}"/>`, `<text x="${lx + 16}" y="39" font-size="11">${esc(name)}</text>`);
    lx += 28 + name.length * 6.5;
  }
  p.push('</svg>');
  return p.join('\n') + '\n';
}
