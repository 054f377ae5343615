/**
 * Deterministic PRNG for the protocol: every random choice in a run is a pure function of
 * (global seed, case id, slice index, label, purpose). Math.random is banned in core/ by lint.
 */

/** cyrb128: a fast 128-bit string hash, used only to derive generator state from a key. */
function cyrb128(str: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

export interface Rng {
  /** Uniform in [0, 1). */
  next: () => number;
  /** Uniform integer in [0, n). */
  int: (n: number) => number;
}

/** sfc32 (Small Fast Counting), 128-bit state; passes PractRand; identical in every JS engine. */
export function rngFromKey(key: string): Rng {
  let [a, b, c, d] = cyrb128(key);
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // Discard the first outputs: they correlate with the seed's low bits.
  for (let i = 0; i < 15; i++) next();
  return {
    next,
    int(n: number): number {
      if (!(n >= 1) || !Number.isInteger(n))
        throw new RangeError(`rng.int needs a positive integer, got ${n}`);
      return Math.floor(next() * n);
    },
  };
}

export interface SeedKey {
  readonly seed: number;
  readonly caseId: string;
  readonly slice: number;
  readonly label: number | string;
}

export function seedKeyString(k: SeedKey, purpose: string): string {
  return `${k.seed}|${k.caseId}|${k.slice}|${k.label}|${purpose}`;
}

export function rngFor(k: SeedKey, purpose: string): Rng {
  return rngFromKey(seedKeyString(k, purpose));
}
