/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) so that bootstrap draws are
 * reproducible across runs, machines and Node versions. Math.random cannot be seeded.
 */

import { InputError } from '../errors.js';

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` is any integer in [0, 2^32); equal seeds give equal streams. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new InputError(`seed must be an integer in [0, 2^32), got ${seed}`);
    }
    const st = { s: seed | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    // xoshiro's all-zero state is a fixed point; splitmix32 never yields four zeros, but be explicit.
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /**
   * Uniform integer in [0, n), exactly uniform (rejection of the biased tail), for 1 <= n <= 2^32.
   */
  nextInt(n: number): number {
    // 2^32 mod n: values below it would be drawn once more often than the others.
    const reject = 0x100000000 % n;
    for (;;) {
      const x = this.nextUint32();
      if (x >= reject) return x % n;
    }
  }

  /**
   * Fills `out` with uniform integers in [0, n): the same values, in the same order, as out.length calls
   * of nextInt(n), with the generator state kept in locals (the bootstrap's hot loop).
   */
  fillInt(n: number, out: Int32Array | Uint32Array): void {
    const reject = 0x100000000 % n;
    let a = this.a;
    let b = this.b;
    let c = this.c;
    let d = this.d;
    for (let i = 0; i < out.length; ) {
      const x = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = rotl(d, 11);
      if (x >= reject) out[i++] = x % n;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
