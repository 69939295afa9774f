/**
 * `torchrnn predict <video run> --svg file`: clips as a small SVG, one row per clip: every third
 * frame (0, 3, …, 15) in four grey levels (runs of equal pixels as path segments, no embedded
 * images), then a panel with both digits' paths (the first digit red, the second blue; a dot
 * where each starts).
 */
import { ClipSpec, DIGIT, DigitImages, FRAME, FRAMES, renderClip, trajectory } from './video-data';

const SHOWN = [0, 3, 6, 9, 12, 15];
const SCALE = 2;
const PANEL = FRAME * SCALE;
const GAP = 8;
const TITLE = 20;
const LEVELS = ['#555', '#999', '#ccc', '#fff'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One frame's pixels as one path per grey level, each a list of horizontal runs (in frame pixels). */
function framePaths(pixels: Float32Array, offset: number): string[] {
  const runs: string[][] = LEVELS.map(() => []);
  for (let y = 0; y < FRAME; y++) {
    let x = 0;
    while (x < FRAME) {
      const level = Math.min(LEVELS.length, Math.floor(pixels[offset + y * FRAME + x] * LEVELS.length + 0.5)) - 1;
      let end = x + 1;
      while (end < FRAME && Math.min(LEVELS.length, Math.floor(pixels[offset + y * FRAME + end] * LEVELS.length + 0.5)) - 1 === level) end++;
      if (level >= 0) runs[level].push(`M${x} ${y}h${end - x}v1h${x - end}z`);
      x = end;
    }
  }
  return runs.map((r, i) => (r.length ? `<path fill="${LEVELS[i]}" d="${r.join('')}"/>` : '')).filter(Boolean);
}

/** The SVG document for clips with their titles. */
export function clipStripSvg(images: DigitImages, rows: { clip: ClipSpec; title: string }[]): string {
  const panels = SHOWN.length + 1;
  const width = panels * PANEL + (panels + 1) * GAP;
  const rowHeight = TITLE + PANEL + GAP;
  const height = rows.length * rowHeight + GAP;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`];
  rows.forEach(({ clip, title }, r) => {
    const top = GAP + r * rowHeight;
    const pixels = renderClip(images, clip);
    parts.push(`<text x="${GAP}" y="${top + 14}">${esc(title)}</text>`);
    SHOWN.forEach((t, i) => {
      const left = GAP + i * (PANEL + GAP);
      parts.push(`<g transform="translate(${left} ${top + TITLE}) scale(${SCALE})"><rect width="${FRAME}" height="${FRAME}" fill="black"/>`,
        ...framePaths(pixels, t * FRAME * FRAME), `<text x="2" y="8" font-size="6" fill="#ff0">${t}</text></g>`);
    });
    const left = GAP + SHOWN.length * (PANEL + GAP);
    parts.push(`<g transform="translate(${left} ${top + TITLE}) scale(${SCALE})"><rect width="${FRAME}" height="${FRAME}" fill="black"/>`);
    ['#f33', '#39f'].forEach((color, d) => {
      const path = trajectory(clip.start[d], clip.velocity[d], FRAMES).map(([x, y]) => [x + DIGIT / 2, y + DIGIT / 2]);
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="0.8" points="${path.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`,
        `<circle cx="${path[0][0].toFixed(1)}" cy="${path[0][1].toFixed(1)}" r="1.5" fill="${color}"/>`);
    });
    parts.push('<text x="2" y="8" font-size="6" fill="#ff0">paths</text></g>');
  });
  parts.push('</svg>');
  return parts.join('\n');
}
