/**
 * IEEE 754 half precision (binary16) conversion. Node 20 has no Float16Array, so f16 tensors are
 * encoded here with round-to-nearest-even, the rounding ggml itself uses, so a model written as f16
 * holds the same numbers llama.cpp would have produced converting the same f32 weights.
 */

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The binary16 bit pattern nearest to `x` (ties to even; overflow to ±inf; NaN stays NaN). */
export function f32ToF16Bits(x: number): number {
  f32Scratch[0] = x;
  return encodeBits(u32Scratch[0]!);
}

function encodeBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) {
    // Inf stays inf; NaN keeps a non-zero (quiet) mantissa.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  // Unbiased exponent re-biased for binary16 (bias 15 instead of 127).
  const e = exp - 112;
  if (e >= 31) return sign | 0x7c00;
  if (e >= 1) {
    let h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    // A carry out of the mantissa bumps the exponent, which is exactly right (and 0x7bff + 1 = inf).
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h += 1;
    return sign | h;
  }
  // Below 2^-25 everything rounds to zero (2^-25 itself is a tie that goes to the even zero).
  if (e < -10) return sign;
  // Subnormal result: count in units of 2^-24.
  const m = mant | 0x800000;
  const shift = 14 - e;
  let h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h += 1;
  return sign | h;
}

let decodeTable: Float32Array | null = null;

/** The value of a binary16 bit pattern. */
export function f16BitsToF32(h: number): number {
  return table()[h & 0xffff]!;
}

function decodeSlow(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function table(): Float32Array {
  if (decodeTable === null) {
    decodeTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) decodeTable[h] = decodeSlow(h);
  }
  return decodeTable;
}

/** Encodes `src` into `dst` (same length). */
export function encodeF16(src: Float32Array, dst: Uint16Array): void {
  if (dst.length !== src.length) throw new RangeError('encodeF16: length mismatch');
  // Read the f32 bit patterns directly; no per-element scratch round trip.
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = encodeBits(bits[i]!);
}

/** Decodes `src` into `dst` (same length). */
export function decodeF16(src: Uint16Array, dst: Float32Array): void {
  if (dst.length !== src.length) throw new RangeError('decodeF16: length mismatch');
  const t = table();
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]!]!;
}

/**
 * Encodes `src` into bfloat16 bit patterns in `dst` (same length): the top half of each f32, rounded to
 * nearest even as ggml's own f32-to-bf16 conversion does; NaN stays a quiet NaN.
 */
export function encodeBF16(src: Float32Array, dst: Uint16Array): void {
  if (dst.length !== src.length) throw new RangeError('encodeBF16: length mismatch');
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) {
    const u = bits[i]!;
    if ((u & 0x7fffffff) > 0x7f800000) dst[i] = (u >>> 16) | 0x40;
    else dst[i] = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
  }
}

/** Decodes bfloat16 bit patterns (exact: a bf16 is the top half of an f32). */
export function decodeBF16(src: Uint16Array, dst: Float32Array): void {
  if (dst.length !== src.length) throw new RangeError('decodeBF16: length mismatch');
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
}
