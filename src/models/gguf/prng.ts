/**
 * Seeded pseudo-random weights. xoshiro128** seeded through a splitmix-style mixer; 32-bit integer
 * arithmetic only, so the same seed gives the same bits on every platform and JavaScript engine (no
 * Math.log / Math.cos, whose last bits are not specified).
 */

function mix32(x: number): number {
  // Murmur3's finalizer: every input bit affects every output bit.
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-8 bytes of a string: a stable 32-bit stream id for a tensor name. */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(name, 'utf8')) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A generator for (seed, stream): distinct streams are independent sequences for one seed. */
  constructor(seed: number, stream = 0) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
    }
    let z = (seed ^ Math.imul(stream >>> 0, 0x9e3779b1)) >>> 0;
    const next = (): number => {
      z = (z + 0x9e3779b9) >>> 0;
      return mix32(z);
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    // The all-zero state is the one state xoshiro cannot leave.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextU32(): number {
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /**
   * Fills `out` with values uniform on (-a, a), a = std * sqrt(3), so the standard deviation is `std`.
   * Uniform rather than normal keeps the arithmetic exact (see the module comment).
   */
  fillUniform(out: Float32Array, std: number): void {
    const a = std * Math.sqrt(3);
    // (k + 0.5) / 2^23 - 1 for a 24-bit k: symmetric around zero, never exactly ±1.
    const scale = 2 ** -23;
    for (let i = 0; i < out.length; i++) {
      const k = this.nextU32() >>> 8;
      out[i] = ((k + 0.5) * scale - 1) * a;
    }
  }
}
