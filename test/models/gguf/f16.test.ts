import { describe, expect, it } from 'vitest';
import { decodeBF16, decodeF16, encodeBF16, encodeF16, f16BitsToF32, f32ToF16Bits } from '../../../src/models/gguf/f16.js';

const isNaNBits = (h: number): boolean => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('binary16 conversion', () => {
  it('decodes known bit patterns', () => {
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f16BitsToF32(0xc000)).toBe(-2);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x0400)).toBe(2 ** -14);
    expect(f16BitsToF32(0x7c00)).toBe(Infinity);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
  });

  it('encodes every finite half value back to its own bit pattern', () => {
    for (let h = 0; h < 65536; h++) {
      if (isNaNBits(h)) continue;
      const back = f32ToF16Bits(f16BitsToF32(h));
      if (back !== h) expect.fail(`0x${h.toString(16)} -> ${f16BitsToF32(h)} -> 0x${back.toString(16)}`);
    }
  });

  it('rounds midpoints between neighbours to the even pattern', () => {
    // Positive finite halves 0x0000..0x7bfe and their upper neighbours, normal and subnormal.
    for (let h = 0; h < 0x7bff; h += 7) {
      const mid = (f16BitsToF32(h) + f16BitsToF32(h + 1)) / 2;
      expect(Math.fround(mid)).toBe(mid); // midpoints are exact in f32
      const even = h % 2 === 0 ? h : h + 1;
      expect(f32ToF16Bits(mid)).toBe(even);
      expect(f32ToF16Bits(-mid)).toBe(even | 0x8000);
    }
  });

  it('picks the nearest half for arbitrary floats', () => {
    let state = 12345;
    const next = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround((next() - 0.5) * 2 ** Math.floor(next() * 40 - 26));
      const h = f32ToF16Bits(x);
      const err = Math.abs(f16BitsToF32(h) - x);
      const mag = h & 0x7fff;
      for (const n of [mag - 1, mag + 1]) {
        if (n < 0 || n > 0x7bff) continue;
        const other = Math.abs(f16BitsToF32((h & 0x8000) | n) - x);
        if (other < err) expect.fail(`${x}: chose 0x${h.toString(16)}, but 0x${n.toString(16)} is nearer`);
      }
    }
  });

  it('handles overflow, underflow and NaN', () => {
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65519.99)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // the tie above the largest half rounds to infinity
    expect(f32ToF16Bits(1e10)).toBe(0x7c00);
    expect(f32ToF16Bits(-1e10)).toBe(0xfc00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal: even is 0
    expect(f32ToF16Bits(2 ** -25 * 1.01)).toBe(1);
    expect(f32ToF16Bits(1e-30)).toBe(0);
    expect(f32ToF16Bits(-1e-30)).toBe(0x8000);
    expect(isNaNBits(f32ToF16Bits(NaN))).toBe(true);
  });

  it('array forms agree with the scalar forms', () => {
    const src = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 4));
    const halves = new Uint16Array(src.length);
    encodeF16(src, halves);
    const back = new Float32Array(src.length);
    decodeF16(halves, back);
    for (let i = 0; i < src.length; i++) {
      expect(halves[i]).toBe(f32ToF16Bits(src[i]!));
      expect(back[i]).toBe(f16BitsToF32(halves[i]!));
    }
    expect(() => encodeF16(src, new Uint16Array(3))).toThrow(RangeError);
  });
});

describe('bfloat16', () => {
  const bits = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0]!;
  const fromBits = (u: number): number => new Float32Array(Uint32Array.of(u).buffer)[0]!;
  it('keeps bf16 values exactly and rounds the rest to nearest even', () => {
    const exact = Float32Array.of(0, -0, 1, -2.5, 65536, fromBits(0x3f810000), Infinity, -Infinity);
    const out = new Uint16Array(exact.length);
    encodeBF16(exact, out);
    const back = new Float32Array(exact.length);
    decodeBF16(out, back);
    expect(Array.from(back)).toEqual(Array.from(exact));
    // Halfway between 0x3f80 and 0x3f81 goes to the even 0x3f80; between 0x3f81 and 0x3f82 to 0x3f82.
    const ties = Float32Array.of(fromBits(0x3f808000), fromBits(0x3f818000), fromBits(0x3f808001), fromBits(0x3f807fff));
    const t = new Uint16Array(4);
    encodeBF16(ties, t);
    expect(Array.from(t)).toEqual([0x3f80, 0x3f82, 0x3f81, 0x3f80]);
    const nan = new Uint16Array(1);
    encodeBF16(Float32Array.of(NaN), nan);
    expect(Number.isNaN(fromBits(nan[0]! << 16))).toBe(true);
    expect(bits(1)).toBe(0x3f800000);
  });
});
