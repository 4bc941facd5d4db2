/**
 * Small, dependency-free randomness used everywhere a result must be reproducible from a seed:
 * synthetic panels, numbered taxonomies, splits, mixtures and in-context example draws.
 *
 * - `Prng` is mulberry32 (a well-known 32-bit generator, period 2^32): fast, enough for the few
 *   million draws a full-size synthetic panel needs, and identical on every platform because it only
 *   uses 32-bit integer arithmetic.
 * - `hash32` is FNV-1a over the UTF-16 code units of a string, finished with the murmur3 avalanche
 *   step so that nearby inputs ("w1", "w2") give unrelated outputs. It is what makes splits stable:
 *   a worker's split depends only on its id and the seed, never on the other workers.
 */

/** Murmur3's 32-bit finaliser: a bijection on uint32 that mixes every input bit into every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uint32 hash of `text` under `seed` (any integer; only its low 32 bits matter). */
export function hash32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ fmix32(seed >>> 0)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h ^ text.length);
}

/** A hash of `text` under `seed` mapped to [0, 1). */
export function hashUnit(text: string, seed = 0): number {
  return hash32(text, seed) / 4294967296;
}

/** A seeded pseudo-random generator (mulberry32). Same seed, same sequence, on every platform. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    // Spread small seeds (0, 1, 2, ...) over the whole state space.
    this.state = fmix32((Math.trunc(seed) ^ 0x9e3779b9) >>> 0);
  }

  /** A uniform uint32. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A uniform integer in [lo, hi] (both included). */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** A standard normal draw (Box-Muller). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** Draws an index from unnormalised non-negative weights (at least one positive). */
  pick(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i] as number;
    let u = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i] as number;
      if (u < 0) return i;
    }
    // Rounding can leave u a hair above 0: return the last positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] as number) > 0) return i;
    throw new RangeError('pick() needs at least one positive weight');
  }
}
