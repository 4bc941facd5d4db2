/**
 * Building and reading typed GGUF metadata values: small constructors (`gguf.u32(2048)`), typed
 * getters that fail with a ModelError naming the file and key, and a one-line rendering for summaries.
 */
import { ModelError } from '../../errors.js';
import type { GgufBigIntType, GgufMetadata, GgufNumberType, GgufValue } from './types.js';

/** The constructor of one numeric type's values (what `gguf.u32` and its siblings are). */
const numberOf = (type: GgufNumberType) => (value: number): GgufValue => ({ type, value });
const bigintOf = (type: GgufBigIntType) => (value: bigint): GgufValue => ({ type, value });

export const gguf = {
  u8: numberOf('uint8'),
  i8: numberOf('int8'),
  u16: numberOf('uint16'),
  i16: numberOf('int16'),
  u32: numberOf('uint32'),
  i32: numberOf('int32'),
  f32: numberOf('float32'),
  f64: numberOf('float64'),
  u64: bigintOf('uint64'),
  i64: bigintOf('int64'),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (value: string[]): GgufValue => ({ type: 'array', itemType: 'string', value }),
  f32s: (value: Float32Array): GgufValue => ({ type: 'array', itemType: 'float32', value }),
  i32s: (value: Int32Array): GgufValue => ({ type: 'array', itemType: 'int32', value }),
} as const;

/** What a getter was asked for, for error messages. */
function where(file: string | undefined, key: string): string {
  return file === undefined ? `metadata key "${key}"` : `${file}: metadata key "${key}"`;
}

function requireKey(meta: GgufMetadata, key: string, file: string | undefined): GgufValue {
  const v = meta.get(key);
  if (v === undefined) throw new ModelError(`${where(file, key)} is missing`);
  return v;
}

/** The number of a scalar of any integer type (64-bit ones rounded to a JS number); undefined for other types. */
export function integerOf(v: GgufValue): number | undefined {
  switch (v.type) {
    case 'uint8':
    case 'int8':
    case 'uint16':
    case 'int16':
    case 'uint32':
    case 'int32':
      return v.value;
    case 'uint64':
    case 'int64':
      return Number(v.value);
    default:
      return undefined;
  }
}

/** An integer-valued scalar of any integer type (uint64/int64 must fit a JS number exactly). */
export function getInteger(meta: GgufMetadata, key: string, file?: string): number {
  const v = requireKey(meta, key, file);
  if ((v.type === 'uint64' || v.type === 'int64') && (v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < BigInt(Number.MIN_SAFE_INTEGER))) {
    throw new ModelError(`${where(file, key)} is too large: ${v.value}`);
  }
  const n = integerOf(v);
  if (n === undefined) throw new ModelError(`${where(file, key)} has type ${describeType(v)}, expected an integer`);
  return n;
}

export function getFloat(meta: GgufMetadata, key: string, file?: string): number {
  const v = requireKey(meta, key, file);
  if (v.type === 'float32' || v.type === 'float64') return v.value;
  throw new ModelError(`${where(file, key)} has type ${describeType(v)}, expected a float`);
}

export function getString(meta: GgufMetadata, key: string, file?: string): string {
  const v = requireKey(meta, key, file);
  if (v.type === 'string') return v.value;
  throw new ModelError(`${where(file, key)} has type ${describeType(v)}, expected a string`);
}

/** Number of items of an array value. */
export function getArrayLength(meta: GgufMetadata, key: string, file?: string): number {
  const v = requireKey(meta, key, file);
  if (v.type === 'array') return v.value.length;
  throw new ModelError(`${where(file, key)} has type ${describeType(v)}, expected an array`);
}

export function describeType(v: GgufValue): string {
  return v.type === 'array' ? `array<${v.itemType}>` : v.type;
}

/** A short human rendering of a value: scalars in full (long strings cut), arrays as type and length. */
export function describeValue(v: GgufValue, maxString = 80): string {
  switch (v.type) {
    case 'array':
      return `[${v.value.length} × ${v.itemType}]`;
    case 'string': {
      const s = v.value.length > maxString ? `${v.value.slice(0, maxString)}…` : v.value;
      return JSON.stringify(s);
    }
    default:
      return String(v.value);
  }
}

/** A JSON-safe rendering: scalars as values (bigints as strings), arrays as {itemType, length}. */
export function valueToJson(v: GgufValue): unknown {
  switch (v.type) {
    case 'array':
      return { itemType: v.itemType, length: v.value.length };
    case 'uint64':
    case 'int64':
      return v.value.toString();
    default:
      return v.value;
  }
}
