/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
 * ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}), then the tensor bytes,
 * row-major, at offsets relative to the end of the header.
 *
 * Checkpoints come from outside, so every field is checked before a byte of data is trusted: a header
 * longer than the file, JSON that does not parse, an unknown dtype, a shape whose size disagrees with
 * its offsets, offsets beyond the data or overlapping: each is an InputError naming the file and the
 * tensor. Nothing here reads tensor data; see checkpoint.ts for the streaming.
 */
import { InputError } from '../../errors.js';
import { decodeBF16, decodeF16 } from '../gguf/f16.js';

/** Bytes per element of every dtype the format defines. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** The dtypes the converter decodes (every other dtype is refused, naming the tensor). */
export type FloatDtype = 'F32' | 'F16' | 'BF16';
export function isFloatDtype(d: string): d is FloatDtype {
  return d === 'F32' || d === 'F16' || d === 'BF16';
}

/** A header larger than this is refused before it is read (real ones are well under 1 MiB). */
export const MAX_HEADER_BYTES = 100 << 20;

export interface SafetensorsTensor {
  name: string;
  dtype: string;
  /** PyTorch order: shape[0] is the slowest-changing dimension. */
  shape: number[];
  elements: number;
  /** Byte range relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  /** Bytes before the data section (8 + the JSON length). */
  dataStart: number;
  /** Tensors sorted by their offset in the file. */
  tensors: SafetensorsTensor[];
  metadata: Record<string, string>;
}

/** The JSON length from the first 8 bytes; `fileSize` is the whole file's (or archive entry's) size. */
export function headerLength(file: string, first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || first8.length < 8) {
    throw new InputError(`truncated safetensors file: ${fileSize} bytes, shorter than the 8-byte header length`, { file });
  }
  const n = Buffer.from(first8.buffer, first8.byteOffset, 8).readBigUInt64LE(0);
  if (n > BigInt(fileSize - 8)) {
    throw new InputError(`safetensors header of ${n} bytes is larger than the file (${fileSize} bytes): truncated or not a safetensors file`, {
      file,
    });
  }
  if (n > BigInt(MAX_HEADER_BYTES)) throw new InputError(`safetensors header of ${n} bytes is larger than ${MAX_HEADER_BYTES}`, { file });
  if (n < 2n) throw new InputError(`safetensors header of ${n} bytes cannot hold a JSON object`, { file });
  return Number(n);
}

/** Parses and checks the JSON header; `dataSize` is the number of bytes after it. */
export function parseHeader(file: string, json: Uint8Array, dataSize: number): SafetensorsHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.length).toString('utf8'));
  } catch (err) {
    throw new InputError(`safetensors header is not valid JSON: ${(err as Error).message}`, { file, field: 'header' }, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InputError('safetensors header is not a JSON object', { file, field: 'header' });
  }
  const tensors: SafetensorsTensor[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw === 'object' && raw !== null) metadata = raw as Record<string, string>;
      continue;
    }
    tensors.push(parseEntry(file, name, raw, dataSize));
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < tensors.length; i++) {
    const prev = tensors[i - 1]!;
    const t = tensors[i]!;
    if (t.begin < prev.end) {
      throw new InputError(`data_offsets overlap those of "${prev.name}"`, { file, field: `${t.name}.data_offsets` });
    }
  }
  return { file, dataStart: 8 + json.length, tensors, metadata };
}

function parseEntry(file: string, name: string, raw: unknown, dataSize: number): SafetensorsTensor {
  const bad = (field: string, why: string): InputError => new InputError(why, { file, field: `${name}.${field}` });
  if (typeof raw !== 'object' || raw === null) throw bad('', 'tensor entry is not an object');
  const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof e.dtype !== 'string' || DTYPE_BYTES[e.dtype] === undefined) {
    throw bad('dtype', `unknown dtype ${JSON.stringify(e.dtype)} (${Object.keys(DTYPE_BYTES).join(', ')})`);
  }
  if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bad('shape', `shape must be an array of non-negative integers, got ${JSON.stringify(e.shape)}`);
  }
  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0) || off[0] > off[1]) {
    throw bad('data_offsets', `data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(off)}`);
  }
  const [begin, end] = off as [number, number];
  if (end > dataSize) {
    throw bad('data_offsets', `data_offsets [${begin}, ${end}] are out of range: the data section has ${dataSize} bytes`);
  }
  const shape = e.shape as number[];
  const elements = shape.reduce((a, b) => a * b, 1);
  if (end - begin !== elements * DTYPE_BYTES[e.dtype]!) {
    throw bad('data_offsets', `data_offsets span ${end - begin} bytes, shape [${shape.join(', ')}] of ${e.dtype} needs ${elements * DTYPE_BYTES[e.dtype]!}`);
  }
  return { name, dtype: e.dtype, shape, elements, begin, end };
}

/** Decodes little-endian F32/F16/BF16 bytes (any alignment) into `out` (bytes.length / size values). */
export function decodeFloats(dtype: FloatDtype, bytes: Uint8Array, out: Float32Array): void {
  // Typed-array views need an aligned offset; archive chunks come at any offset.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
  if (dtype === 'F32') {
    out.set(new Float32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4));
  } else {
    const half = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.length / 2);
    if (dtype === 'F16') decodeF16(half, out);
    else decodeBF16(half, out);
  }
}

export function dtypeBytes(dtype: string): number {
  return DTYPE_BYTES[dtype] ?? 0;
}
