/** Small dependency-free SVG line charts for run directories (loss and metric per epoch). */

export interface Series {
  name: string;
  values: number[];
  color: string;
  /** A reference level (a baseline): dashed, without points. */
  dashed?: boolean;
}

function niceTicks(min: number, max: number, n = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) { min -= 1; max += 1; }
  const step0 = (max - min) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-12; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A line chart of series over epochs 1..n. */
export function lineChart(title: string, yLabel: string, series: Series[]): string {
  const W = 640;
  const H = 360;
  const m = { left: 64, right: 16, top: 56, bottom: 48 };
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const lo = all.length ? Math.min(...all) : 0;
  const hi = all.length ? Math.max(...all) : 1;
  const pad = (hi - lo) * 0.05 || 0.5;
  const ymin = lo - pad;
  const ymax = hi + pad;
  const x = (i: number) => m.left + (n === 1 ? 0.5 : i / (n - 1)) * (W - m.left - m.right);
  const y = (v: number) => m.top + (1 - (v - ymin) / (ymax - ymin)) * (H - m.top - m.bottom);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`];
  for (const t of niceTicks(ymin, ymax)) {
    parts.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`, `<text x="${m.left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  const xt = niceTicks(1, n, Math.min(n, 8)).filter((t) => Number.isInteger(t));
  for (const t of xt) parts.push(`<text x="${x(t - 1)}" y="${H - m.bottom + 18}" text-anchor="middle">${t}</text>`);
  parts.push(`<text x="${(W + m.left) / 2}" y="${H - 10}" text-anchor="middle">epoch</text>`,
    `<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">${esc(yLabel)}</text>`,
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${H - m.bottom}" stroke="#333"/>`,
    `<line x1="${m.left}" x2="${W - m.right}" y1="${H - m.bottom}" y2="${H - m.bottom}" stroke="#333"/>`);
  series.forEach((s) => {
    const pts = s.values.map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null)).filter(Boolean);
    if (s.dashed && pts.length === 1) pts.push(`${(W - m.right).toFixed(1)},${pts[0]!.split(',')[1]}`);
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts.join(' ')}"/>`);
    if (!s.dashed) for (const p of pts) { const [px, py] = p!.split(','); parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${s.color}"/>`); }
  });
  // the legend: one row between the title and the plot, so that it never hides a line
  let lx = m.left;
  for (const s of series) {
    parts.push(`<rect x="${lx}" y="${m.top - 22}" width="12" height="12" fill="${s.color}"/>`, `<text x="${lx + 18}" y="${m.top - 12}">${esc(s.name)}</text>`);
    lx += 40 + 7 * s.name.length;
  }
  parts.push('</svg>');
  return parts.join('\n');
}
