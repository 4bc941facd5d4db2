/**
 * Streaming GGUF header reader. The header (metadata and tensor descriptions) is parsed from a window
 * that grows chunk by chunk; tensor data are never read unless asked for by name (`readTensorData`).
 *
 * Every problem is a ModelError naming the file and what is wrong, with the byte offset where it matters,
 * and the checks mirror llama.cpp's own loader (ggml/src/gguf.cpp) so that a file this reader accepts is
 * one the engine can open.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { ModelError, NotFoundError } from '../../errors.js';
import { decodeBF16, decodeF16 } from './f16.js';
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME_BYTES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_NUMERIC_STORAGE,
  GGUF_SCALAR_TYPE_IDS,
  GGUF_TYPE_ARRAY,
  ggmlTypeById,
  type GgufFile,
  type GgufMetadata,
  type GgufScalarType,
  type GgufTensorInfo,
  type GgufValue,
} from './types.js';

const SCALAR_TYPES_BY_ID = new Map<number, GgufScalarType>(
  Object.entries(GGUF_SCALAR_TYPE_IDS).map(([name, id]) => [id, name as GgufScalarType]),
);
/** Thrown inside a parse step when the window does not yet hold enough bytes; the step is retried. */
const NEED_MORE = Symbol('need more bytes');
const CHUNK = 1 << 20;

/** A growable window over the file, parsed synchronously; refilled between parse steps. */
class HeaderWindow {
  private buf: Buffer = Buffer.alloc(0);
  /** File offset of buf[0]. */
  private base = 0;
  pos = 0;
  /** What is being parsed, for error messages. */
  what = 'the header';

  constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    readonly fileSize: number,
  ) {}

  get offset(): number {
    return this.base + this.pos;
  }

  /** Runs one parse step, refilling the window and retrying it while it runs out of bytes. */
  async step<T>(parse: () => T): Promise<T> {
    for (;;) {
      const mark = this.pos;
      try {
        return parse();
      } catch (err) {
        if (err !== NEED_MORE) throw err;
        this.pos = mark;
        await this.refill();
      }
    }
  }

  private async refill(): Promise<void> {
    const keep = this.buf.subarray(this.pos);
    // Grow geometrically so that one huge item (a 128k-token list) costs few retries.
    const want = Math.max(CHUNK, keep.length * 2);
    const fileOffset = this.base + this.pos + keep.length;
    const toRead = Math.min(want, this.fileSize - fileOffset);
    const next = Buffer.allocUnsafe(keep.length + toRead);
    keep.copy(next, 0);
    let got = 0;
    while (got < toRead) {
      const { bytesRead } = await this.fh.read(next, keep.length + got, toRead - got, fileOffset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.base += this.pos;
    this.pos = 0;
    this.buf = next.subarray(0, keep.length + got);
    if (got === 0) throw this.truncated(1);
  }

  private truncated(n: number): ModelError {
    return new ModelError(
      `${this.path}: truncated GGUF file: ${this.what} needs ${n} byte(s) at offset ${this.offset}, ` +
        `but the file ends at ${this.fileSize}`,
    );
  }

  /** Makes sure n bytes are available at pos; a request past the end of the file is a truncation. */
  private need(n: number): void {
    if (this.offset + n > this.fileSize) throw this.truncated(n);
    if (this.pos + n > this.buf.length) throw NEED_MORE;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  /** A u64 that must be a count or offset within this file, returned as a number. */
  size(label: string): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ModelError(`${this.path}: corrupt GGUF file: ${label} of ${this.what} is ${v} (offset ${this.offset - 8})`);
    }
    return Number(v);
  }
  string(): string {
    const len = this.size('a string length');
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
  /** Copies n raw bytes into a fresh, aligned ArrayBuffer (for typed arrays). */
  bytes(n: number): ArrayBuffer {
    this.need(n);
    const out = new ArrayBuffer(n);
    new Uint8Array(out).set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
  /** Fails early when `count` items of at least `minItemSize` bytes cannot fit in the rest of the file. */
  checkFits(count: number, minItemSize: number): void {
    if (count * minItemSize > this.fileSize - this.offset) throw this.truncated(count * minItemSize);
  }
  peekBytes(n: number): Buffer {
    this.need(n);
    return this.buf.subarray(this.pos, this.pos + n);
  }
}

function scalarValue(w: HeaderWindow, type: GgufScalarType): GgufValue {
  if (type === 'bool') return { type, value: w.u8() !== 0 };
  if (type === 'string') return { type, value: w.string() };
  const Storage = GGUF_NUMERIC_STORAGE[type];
  return { type, value: new Storage(w.bytes(Storage.BYTES_PER_ELEMENT))[0]! } as GgufValue;
}

function arrayValue(w: HeaderWindow, itemType: GgufScalarType, n: number): GgufValue {
  if (itemType === 'string') {
    w.checkFits(n, 8);
    const value: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) value[i] = w.string();
    return { type: 'array', itemType, value };
  }
  if (itemType === 'bool') {
    w.checkFits(n, 1);
    const raw = new Uint8Array(w.bytes(n));
    return { type: 'array', itemType, value: Array.from(raw, (b) => b !== 0) };
  }
  const Storage = GGUF_NUMERIC_STORAGE[itemType];
  w.checkFits(n, Storage.BYTES_PER_ELEMENT);
  return { type: 'array', itemType, value: new Storage(w.bytes(n * Storage.BYTES_PER_ELEMENT)) } as GgufValue;
}

async function openForReading(path: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`${path}: no such GGUF file`, { cause: err });
    throw new ModelError(`${path}: cannot open GGUF file: ${(err as Error).message}`, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ModelError(`${path}: not a regular file`);
    return { fh, size: st.size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * Reads a GGUF file's header: version, metadata and tensor descriptions. Reads only the header bytes
 * (plus at most one chunk beyond), whatever the size of the tensor data.
 */
export async function readGguf(path: string): Promise<GgufFile> {
  const { fh, size } = await openForReading(path);
  try {
    return await parseHeader(new HeaderWindow(fh, path, size));
  } finally {
    await fh.close();
  }
}

async function parseHeader(w: HeaderWindow): Promise<GgufFile> {
  const path = w.path;
  w.what = 'the magic number';
  if (w.fileSize < 4) {
    throw new ModelError(`${path}: not a GGUF file (${w.fileSize} bytes, too short for the "GGUF" magic)`);
  }
  const magic = await w.step(() => w.peekBytes(4).toString('latin1'));
  if (magic !== 'GGUF') {
    throw new ModelError(`${path}: not a GGUF file (bad magic ${JSON.stringify(magic)}, expected "GGUF")`);
  }
  w.pos += 4;
  w.what = 'the version';
  const version = await w.step(() => w.u32());
  if (version !== 2 && version !== 3) {
    const hint = (version & 0xffff) === 0 && version >>> 16 !== 0 ? ' (a big-endian GGUF file?)' : '';
    throw new ModelError(`${path}: unsupported GGUF version ${version}${hint}; this reader supports versions 2 and 3`);
  }
  w.what = 'the tensor and metadata counts';
  const [nTensors, nKv] = await w.step(() => [w.size('the tensor count'), w.size('the metadata count')] as const);
  // Each metadata entry takes at least 8 + 1 + 4 + 1 bytes, each tensor info at least 8 + 4 + 4 + 8.
  w.checkFits(nKv, 14);

  const metadata: GgufMetadata = new Map();
  for (let i = 0; i < nKv; i++) {
    w.what = `metadata entry #${i}`;
    const [key, value] = await w.step(() => {
      const key = w.string();
      w.what = `metadata key "${key}"`;
      return [key, readValue(w, key)] as const;
    });
    if (key.length === 0) throw new ModelError(`${path}: corrupt GGUF file: metadata entry #${i} has an empty key`);
    if (metadata.has(key)) throw new ModelError(`${path}: corrupt GGUF file: duplicate metadata key "${key}"`);
    metadata.set(key, value);
  }

  const alignment = alignmentOf(path, metadata);
  w.checkFits(nTensors, 24);
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    w.what = `tensor info #${i}`;
    const t = await w.step(() => readTensorInfo(w, i));
    if (names.has(t.name)) throw new ModelError(`${path}: corrupt GGUF file: duplicate tensor name "${t.name}"`);
    names.add(t.name);
    tensors.push(t);
  }
  const headerEnd = w.offset;
  const dataOffset = nTensors > 0 ? Math.ceil(headerEnd / alignment) * alignment : headerEnd;

  for (const t of tensors) {
    if (t.offset % alignment !== 0) {
      throw new ModelError(
        `${path}: corrupt GGUF file: tensor "${t.name}" data offset ${t.offset} is not a multiple of the alignment ${alignment}`,
      );
    }
    const end = dataOffset + t.offset + t.byteSize;
    if (end > w.fileSize) {
      throw new ModelError(
        `${path}: truncated GGUF file: tensor "${t.name}" data would end at offset ${end}, but the file ends at ${w.fileSize}`,
      );
    }
  }
  return { path, version, metadata, tensors, alignment, dataOffset, fileSize: w.fileSize };
}

function readValue(w: HeaderWindow, key: string): GgufValue {
  const typeId = w.u32();
  if (typeId === GGUF_TYPE_ARRAY) {
    const itemTypeId = w.u32();
    const n = w.size('the array length');
    if (itemTypeId === GGUF_TYPE_ARRAY) {
      throw new ModelError(`${w.path}: unsupported GGUF content: metadata key "${key}" is a nested array`);
    }
    const itemType = SCALAR_TYPES_BY_ID.get(itemTypeId);
    if (itemType === undefined) {
      throw new ModelError(`${w.path}: corrupt GGUF file: metadata key "${key}" has an invalid array item type ${itemTypeId}`);
    }
    return arrayValue(w, itemType, n);
  }
  const type = SCALAR_TYPES_BY_ID.get(typeId);
  if (type === undefined) {
    throw new ModelError(`${w.path}: corrupt GGUF file: metadata key "${key}" has an invalid type ${typeId}`);
  }
  return scalarValue(w, type);
}

function alignmentOf(path: string, metadata: GgufMetadata): number {
  const v = metadata.get('general.alignment');
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (v.type !== 'uint32') {
    throw new ModelError(`${path}: corrupt GGUF file: metadata key "general.alignment" must be uint32, not ${v.type}`);
  }
  if (v.value === 0 || (v.value & (v.value - 1)) !== 0) {
    throw new ModelError(`${path}: corrupt GGUF file: general.alignment ${v.value} is not a power of two`);
  }
  return v.value;
}

function readTensorInfo(w: HeaderWindow, index: number): GgufTensorInfo {
  const path = w.path;
  const name = w.string();
  w.what = `tensor info #${index} ("${name}")`;
  if (Buffer.byteLength(name, 'utf8') > GGML_MAX_NAME_BYTES) {
    throw new ModelError(`${path}: corrupt GGUF file: tensor name "${name}" is longer than ${GGML_MAX_NAME_BYTES} bytes`);
  }
  const nDims = w.u32();
  if (nDims > GGML_MAX_DIMS) {
    throw new ModelError(`${path}: corrupt GGUF file: tensor "${name}" has ${nDims} dimensions (at most ${GGML_MAX_DIMS})`);
  }
  const dims: number[] = [];
  let elements = 1;
  for (let d = 0; d < nDims; d++) {
    const ne = w.size('a dimension');
    dims.push(ne);
    elements *= ne;
  }
  if (!Number.isSafeInteger(elements)) {
    throw new ModelError(`${path}: corrupt GGUF file: tensor "${name}" has too many elements (${dims.join(' × ')})`);
  }
  const typeId = w.u32();
  const info = ggmlTypeById(typeId);
  if (info === undefined) {
    throw new ModelError(`${path}: corrupt GGUF file: tensor "${name}" has an unknown ggml type ${typeId}`);
  }
  const ne0 = dims[0] ?? 1;
  if (ne0 % info.blockSize !== 0) {
    throw new ModelError(
      `${path}: corrupt GGUF file: tensor "${name}" of type ${info.name} has rows of ${ne0} elements, ` +
        `not a multiple of its block size ${info.blockSize}`,
    );
  }
  const offset = w.size('the data offset');
  return {
    name,
    dims,
    type: info.name,
    typeId,
    offset,
    byteSize: (elements / info.blockSize) * info.typeSize,
    elements,
  };
}

/** A tensor's description by name, or a ModelError naming the file. */
export function findTensor(file: GgufFile, name: string): GgufTensorInfo {
  const t = file.tensors.find((x) => x.name === name);
  if (t === undefined) throw new ModelError(`${file.path}: no tensor named "${name}"`);
  return t;
}

/**
 * Reads one tensor's data as float32 (f32, f16 and bf16 tensors). Element order is ggml's: index
 * i0 + ne0 * (i1 + ne1 * (i2 + ...)), i.e. a PyTorch [ne1, ne0] weight in row-major order.
 */
export async function readTensorData(file: GgufFile, name: string): Promise<Float32Array> {
  const t = findTensor(file, name);
  if (t.type !== 'f32' && t.type !== 'f16' && t.type !== 'bf16') {
    throw new ModelError(`${file.path}: tensor "${name}" has type ${t.type}; only f32, f16 and bf16 can be decoded`);
  }
  const raw = new ArrayBuffer(t.byteSize);
  const fh = await open(file.path, 'r');
  try {
    const view = new Uint8Array(raw);
    let got = 0;
    while (got < t.byteSize) {
      const { bytesRead } = await fh.read(view, got, t.byteSize - got, file.dataOffset + t.offset + got);
      if (bytesRead === 0) {
        throw new ModelError(`${file.path}: truncated GGUF file: tensor "${name}" data are cut short`);
      }
      got += bytesRead;
    }
  } finally {
    await fh.close();
  }
  if (t.type === 'f32') return new Float32Array(raw);
  const out = new Float32Array(t.elements);
  if (t.type === 'f16') {
    decodeF16(new Uint16Array(raw), out);
  } else {
    decodeBF16(new Uint16Array(raw), out);
  }
  return out;
}

/** Total parameter count (elements of every tensor). */
export function parameterCount(file: GgufFile): number {
  return file.tensors.reduce((s, t) => s + t.elements, 0);
}
