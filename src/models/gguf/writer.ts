/**
 * Streaming, atomic GGUF writer (version 3, little-endian).
 *
 * The header is built in memory (it is small next to the weights, even with a 128k-token vocabulary),
 * then tensors are written one at a time, each converted to its on-disk type in fixed-size chunks. A
 * tensor's data may be given lazily as a function, so that a caller generating or loading weights holds
 * only one tensor in memory at a time. The file is written under a temporary name in the destination
 * folder and renamed into place only when complete, so no reader ever sees a partial model.
 */
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { endianness } from 'node:os';
import { InputError, ModelError } from '../../errors.js';
import { temporarySibling } from '../../data/io/atomic.js';
import { encodeBF16, encodeF16 } from './f16.js';
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME_BYTES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_SCALAR_TYPE_IDS,
  GGUF_TYPE_ARRAY,
  GGUF_VERSION,
  WRITABLE_TYPE_BYTES,
  WRITABLE_TYPE_IDS,
  numericBytes,
  type GgufValue,
  type WritableTensorType,
} from './types.js';

/**
 * Tensor data, or a function that produces it when the writer reaches this tensor: the whole tensor, or
 * its values in consecutive pieces (so a converter never needs a large tensor in memory at once).
 */
export type TensorData =
  | Float32Array
  | (() => Float32Array | Promise<Float32Array> | AsyncIterable<Float32Array>);

export interface GgufTensorInput {
  name: string;
  /** ggml order: dims[0] (ne0) is the fastest-changing dimension. */
  dims: number[];
  type: WritableTensorType;
  /** product(dims) values in ggml element order. */
  data: TensorData;
}

export interface GgufWriteInput {
  metadata: Iterable<readonly [string, GgufValue]>;
  tensors: GgufTensorInput[];
}

export interface GgufWriteResult {
  path: string;
  bytes: number;
  tensorCount: number;
  parameterCount: number;
  /** Absolute file offset of the data section. */
  dataOffset: number;
}

const CHUNK_ELEMENTS = 1 << 20;

function assertLittleEndianHost(): void {
  // Typed arrays are written as raw host bytes; GGUF is little-endian.
  if (endianness() !== 'LE') throw new ModelError('writing GGUF files needs a little-endian machine');
}

/** A growable little-endian byte buffer for the header. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = Buffer.alloc(cap);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  u64(v: number | bigint): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.u64(n);
    this.reserve(n);
    this.buf.write(s, this.length, n, 'utf8');
    this.length += n;
  }
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.reserve(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

const INTEGER_RANGES: Record<string, readonly [number, number]> = {
  uint8: [0, 0xff],
  int8: [-0x80, 0x7f],
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
};

function checkValue(path: string, key: string, v: GgufValue): void {
  const bad = (why: string): InputError => new InputError(why, { file: path, field: key });
  const range = v.type === 'array' ? undefined : INTEGER_RANGES[v.type];
  if (range !== undefined) {
    const n = v.value as number;
    if (!Number.isInteger(n) || n < range[0] || n > range[1]) throw bad(`value ${n} is not a valid ${v.type}`);
  }
  if (v.type === 'uint64' && (v.value < 0n || v.value >= 1n << 64n)) throw bad(`value ${v.value} is not a valid uint64`);
  if (v.type === 'int64' && BigInt.asIntN(64, v.value) !== v.value) throw bad(`value ${v.value} is not a valid int64`);
  if (v.type === 'array' && !(v.itemType in GGUF_SCALAR_TYPE_IDS)) throw bad(`invalid array item type ${v.itemType}`);
}

function writeScalar(sink: ByteSink, v: Exclude<GgufValue, { type: 'array' }>): void {
  if (v.type === 'bool') return sink.u8(v.value ? 1 : 0);
  if (v.type === 'string') return sink.string(v.value);
  sink.raw(numericBytes(v.type, v.value));
}

function writeValue(sink: ByteSink, v: GgufValue): void {
  if (v.type !== 'array') {
    sink.u32(GGUF_SCALAR_TYPE_IDS[v.type]);
    writeScalar(sink, v);
    return;
  }
  sink.u32(GGUF_TYPE_ARRAY);
  sink.u32(GGUF_SCALAR_TYPE_IDS[v.itemType]);
  sink.u64(v.value.length);
  if (v.itemType === 'string') {
    for (const s of v.value) sink.string(s);
  } else if (v.itemType === 'bool') {
    for (const b of v.value) sink.u8(b ? 1 : 0);
  } else {
    const arr = v.value;
    sink.raw(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
  }
}

interface PlannedTensor {
  input: GgufTensorInput;
  elements: number;
  byteSize: number;
  offset: number;
}

function planTensors(path: string, tensors: GgufTensorInput[], alignment: number): PlannedTensor[] {
  const names = new Set<string>();
  let offset = 0;
  return tensors.map((t) => {
    const bad = (why: string): InputError => new InputError(why, { file: path, field: t.name });
    if (t.name.length === 0) throw new InputError('a tensor has an empty name', { file: path });
    if (Buffer.byteLength(t.name, 'utf8') > GGML_MAX_NAME_BYTES) {
      throw bad(`tensor name longer than ${GGML_MAX_NAME_BYTES} bytes`);
    }
    if (names.has(t.name)) throw bad('duplicate tensor name');
    names.add(t.name);
    if (t.dims.length < 1 || t.dims.length > GGML_MAX_DIMS) {
      throw bad(`tensor has ${t.dims.length} dimensions (1 to ${GGML_MAX_DIMS})`);
    }
    if (!t.dims.every((d) => Number.isSafeInteger(d) && d >= 1)) throw bad(`invalid dimensions [${t.dims.join(', ')}]`);
    if (!(t.type in WRITABLE_TYPE_BYTES)) throw bad(`unsupported tensor type ${String(t.type)} (f32, f16 or bf16)`);
    const elements = t.dims.reduce((a, b) => a * b, 1);
    if (t.data instanceof Float32Array && t.data.length !== elements) {
      throw bad(`data has ${t.data.length} values, dims [${t.dims.join(', ')}] need ${elements}`);
    }
    const byteSize = elements * WRITABLE_TYPE_BYTES[t.type];
    const planned = { input: t, elements, byteSize, offset };
    offset += Math.ceil(byteSize / alignment) * alignment;
    return planned;
  });
}

function alignmentFrom(path: string, metadata: Map<string, GgufValue>): number {
  const v = metadata.get('general.alignment');
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (v.type !== 'uint32' || v.value === 0 || (v.value & (v.value - 1)) !== 0) {
    throw new InputError('general.alignment must be a uint32 power of two', { file: path, field: 'general.alignment' });
  }
  return v.value;
}

/** Serializes the header (magic through the padding before the data section). */
function buildHeader(path: string, metadata: Map<string, GgufValue>, planned: PlannedTensor[], alignment: number): Buffer {
  const sink = new ByteSink();
  sink.raw(Buffer.from('GGUF', 'latin1'));
  sink.u32(GGUF_VERSION);
  sink.u64(planned.length);
  sink.u64(metadata.size);
  for (const [key, value] of metadata) {
    if (key.length === 0) throw new InputError('a metadata key is empty', { file: path });
    checkValue(path, key, value);
    sink.string(key);
    writeValue(sink, value);
  }
  for (const p of planned) {
    sink.string(p.input.name);
    sink.u32(p.input.dims.length);
    for (const d of p.input.dims) sink.u64(d);
    sink.u32(WRITABLE_TYPE_IDS[p.input.type]);
    sink.u64(p.offset);
  }
  sink.padTo(alignment);
  return sink.bytes();
}

/**
 * Writes a GGUF file atomically. Metadata keys keep their insertion order; a duplicate key is an error.
 * Tensor data given as functions are called one at a time, in order, while writing.
 */
export async function writeGguf(path: string, input: GgufWriteInput): Promise<GgufWriteResult> {
  assertLittleEndianHost();
  const metadata = new Map<string, GgufValue>();
  for (const [key, value] of input.metadata) {
    if (metadata.has(key)) throw new InputError('duplicate metadata key', { file: path, field: key });
    metadata.set(key, value);
  }
  const alignment = alignmentFrom(path, metadata);
  const planned = planTensors(path, input.tensors, alignment);
  const header = buildHeader(path, metadata, planned, alignment);

  const tmp = temporarySibling(path);
  let fh: FileHandle;
  try {
    await mkdir(dirname(path), { recursive: true });
    fh = await open(tmp, 'wx');
  } catch (err) {
    throw new InputError(`cannot create output file: ${(err as Error).message}`, { file: path }, { cause: err });
  }
  let isOpen = true;
  let position = 0;
  const write = async (bytes: Uint8Array): Promise<void> => {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
    position += bytes.length;
  };
  try {
    await write(header);
    const zeros = new Uint8Array(alignment);
    const half = new Uint16Array(CHUNK_ELEMENTS);
    const writeValues = async (type: WritableTensorType, values: Float32Array): Promise<void> => {
      // Chunked so that a single huge write does not need one contiguous kernel copy.
      for (let i = 0; i < values.length; i += CHUNK_ELEMENTS) {
        const part = values.subarray(i, Math.min(values.length, i + CHUNK_ELEMENTS));
        if (type === 'f32') {
          await write(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
          continue;
        }
        const out = half.subarray(0, part.length);
        if (type === 'f16') encodeF16(part, out);
        else encodeBF16(part, out);
        await write(new Uint8Array(out.buffer, 0, out.byteLength));
      }
    };
    for (const p of planned) {
      const t = p.input;
      const data = typeof t.data === 'function' ? await t.data() : t.data;
      const wrongLength = (n: number): InputError =>
        new InputError(`data has ${n} values, dims [${t.dims.join(', ')}] need ${p.elements}`, { file: path, field: t.name });
      if (data instanceof Float32Array) {
        if (data.length !== p.elements) throw wrongLength(data.length);
        await writeValues(t.type, data);
      } else {
        let n = 0;
        for await (const piece of data) {
          if (n + piece.length > p.elements) throw wrongLength(n + piece.length);
          await writeValues(t.type, piece);
          n += piece.length;
        }
        if (n !== p.elements) throw wrongLength(n);
      }
      const pad = (alignment - (p.byteSize % alignment)) % alignment;
      if (pad > 0) await write(zeros.subarray(0, pad));
    }
    isOpen = false;
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    if (isOpen) await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  return {
    path,
    bytes: position,
    tensorCount: planned.length,
    parameterCount: planned.reduce((s, p) => s + p.elements, 0),
    dataOffset: header.length,
  };
}
