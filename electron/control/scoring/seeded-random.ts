/** A source of uniform numbers in [0, 1). Injected wherever a choice must be reproducible. */
export type RandomSource = () => number;

/**
 * Creates a seeded generator (mulberry32, 32-bit state). The same seed gives the same sequence
 * on every platform, which keeps the simulator and the `random` strategy reproducible in tests.
 */
export function createSeededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives a 32-bit seed from a string, so each simulated node gets its own stream. */
export function seedFromString(text: string, base = 0): number {
  let hash = (2166136261 ^ base) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash;
}
