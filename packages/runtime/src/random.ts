/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * A small seeded PRNG (mulberry32): fault injection, random routing and crash tests need
 * decisions a seed can replay, not cryptographic quality, and `Math.random` cannot be seeded.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Derives an independent seed for one stream of decisions (e.g. one direction of a proxy), so
 * traffic in one direction never shifts the decisions taken in the other.
 */
export function deriveSeed(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
