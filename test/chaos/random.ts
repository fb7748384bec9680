// A seeded generator (mulberry32), so that a failing chaos run can be replayed from its seed.
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from an environment variable, or a fresh one. */
export function seedFrom(variable: string): number {
  const given = process.env[variable];
  return given === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(given);
}
