/**
 * Decoding the output of a CTC-trained model: per frame, log-probabilities over the labels
 * and the blank. A frame table is a Float32Array (or any array) of T × C values, row-major.
 *
 * - greedy: the best path (argmax per frame), then repeats collapsed and blanks removed.
 *   Fast, but the best path's labeling need not be the most probable labeling, which sums
 *   over every path that collapses to it.
 * - prefix beam search (Graves 2012; Hannun et al. 2014): keeps the `beam` most probable
 *   prefixes (labelings so far), each with the probability of all its paths that end in a
 *   blank and of those that end in its last label, so that paths that collapse to the same
 *   labeling are summed. With a beam as wide as the number of prefixes it is exact.
 */

const NEG_INF = -Infinity;

/** log(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === NEG_INF) return b;
  if (b === NEG_INF) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/** Collapses a path: repeats merged, then blanks removed ([1, 1, 0, 1, 2, 2] → [1, 1, 2] for blank 0). */
export function collapse(path: ArrayLike<number>, blank: number): number[] {
  const out: number[] = [];
  let prev = -1;
  for (let t = 0; t < path.length; t++) {
    const c = path[t];
    if (c !== prev && c !== blank) out.push(c);
    prev = c;
  }
  return out;
}

/** The best path's labeling: the argmax of each of the T frames of `logProbs` (T × C), collapsed. */
export function greedyDecode(logProbs: ArrayLike<number>, T: number, C: number, blank: number, offset = 0): number[] {
  const path = new Array<number>(T);
  for (let t = 0; t < T; t++) {
    let best = 0;
    let bestV = NEG_INF;
    for (let c = 0; c < C; c++) {
      const v = logProbs[offset + t * C + c];
      if (v > bestV) { bestV = v; best = c; }
    }
    path[t] = best;
  }
  return collapse(path, blank);
}

interface Prefix { labels: number[]; blank: number; label: number }

/**
 * The most probable labeling found by a prefix beam search of width `beam` over the T frames
 * of `logProbs` (T × C log-probabilities, starting at `offset`), and its log-probability
 * (the sum over its paths that the beam kept).
 */
export function beamDecode(logProbs: ArrayLike<number>, T: number, C: number, blank: number, beam: number, offset = 0): { labels: number[]; logProb: number } {
  let beams = new Map<string, Prefix>([['', { labels: [], blank: 0, label: NEG_INF }]]);
  for (let t = 0; t < T; t++) {
    const row = offset + t * C;
    const next = new Map<string, Prefix>();
    const at = (key: string, labels: number[]): Prefix => {
      let p = next.get(key);
      if (!p) { p = { labels, blank: NEG_INF, label: NEG_INF }; next.set(key, p); }
      return p;
    };
    for (const [key, p] of beams) {
      const total = logAddExp(p.blank, p.label);
      // a blank: the prefix stays, now ending in a blank
      const same = at(key, p.labels);
      same.blank = logAddExp(same.blank, total + logProbs[row + blank]);
      const last = p.labels.length ? p.labels[p.labels.length - 1] : -1;
      for (let c = 0; c < C; c++) {
        if (c === blank) continue;
        const lp = logProbs[row + c];
        const ext = at(key ? `${key},${c}` : `${c}`, [...p.labels, c]);
        if (c === last) {
          // the same label again: a new label only after a blank; otherwise it continues the last one
          ext.label = logAddExp(ext.label, p.blank + lp);
          same.label = logAddExp(same.label, p.label + lp);
        } else {
          ext.label = logAddExp(ext.label, total + lp);
        }
      }
    }
    beams = new Map([...next].sort((a, b) => logAddExp(b[1].blank, b[1].label) - logAddExp(a[1].blank, a[1].label)).slice(0, beam));
  }
  let best: Prefix | null = null;
  let bestScore = NEG_INF;
  for (const p of beams.values()) {
    const s = logAddExp(p.blank, p.label);
    if (best === null || s > bestScore) { best = p; bestScore = s; }
  }
  return { labels: best!.labels, logProb: bestScore };
}
