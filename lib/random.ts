/**
 * mulberry32: a small, seedable 32-bit PRNG for what must not depend on Math.random and does
 * not need libtorch's generator (DataLoader shuffles, the CLI's splits and sampling, the tfjs
 * backend's Multinomial). Internal, not part of the public API. The sequence for a seed is
 * fixed: seeded shuffles and tests depend on it bit for bit.
 */

/** Uniform numbers in [0, 1) from a 32-bit seed (`seed >>> 0`); each call advances the state. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
