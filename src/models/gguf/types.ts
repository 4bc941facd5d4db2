/**
 * The GGUF file format's vocabulary (version 3, as pinned in vendor/llama.cpp `ggml/include/gguf.h`):
 * metadata value types, ggml tensor types and the in-memory shapes of a parsed header.
 *
 * Metadata values keep their exact GGUF type, because llama.cpp checks types strictly when it reads a
 * key (a uint32 hyperparameter written as int32 makes the model fail to load).
 */

export const GGUF_MAGIC = 'GGUF';
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's tensor name buffer is 64 bytes including the terminating NUL. */
export const GGML_MAX_NAME_BYTES = 63;
export const GGML_MAX_DIMS = 4;

/** Scalar metadata types, with their GGUF type ids. */
export const GGUF_SCALAR_TYPE_IDS = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;
export const GGUF_TYPE_ARRAY = 9;

export type GgufScalarType = keyof typeof GGUF_SCALAR_TYPE_IDS;
export type GgufNumberType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';
export type GgufBigIntType = 'uint64' | 'int64';

/**
 * The typed array that stores each numeric type, for array items (large token score / type arrays stay
 * compact) and as the one table of element sizes the reader and writer share. Its bytes are the
 * on-disk bytes on a little-endian host (GGUF is little-endian; the writer refuses other hosts).
 */
export const GGUF_NUMERIC_STORAGE = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
  uint64: BigUint64Array,
  int64: BigInt64Array,
} as const;
export type GgufNumericArrayType = keyof typeof GGUF_NUMERIC_STORAGE;
/** The on-disk bytes of one numeric value: its typed array's bytes (the writer checks the host is little-endian). */
export function numericBytes(type: GgufNumericArrayType, value: number | bigint): Uint8Array {
  const Storage = GGUF_NUMERIC_STORAGE[type] as new (values: ArrayLike<number | bigint>) => ArrayBufferView;
  const stored = new Storage([value]);
  return new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
}

/** Typed arrays over any buffer (a constructor's `prototype` type; `InstanceType` would narrow it to ArrayBuffer). */
export type GgufNumericArrays = { [K in GgufNumericArrayType]: (typeof GGUF_NUMERIC_STORAGE)[K]['prototype'] };

export type GgufArrayValue =
  | { [K in GgufNumericArrayType]: { type: 'array'; itemType: K; value: GgufNumericArrays[K] } }[GgufNumericArrayType]
  | { type: 'array'; itemType: 'string'; value: string[] }
  | { type: 'array'; itemType: 'bool'; value: boolean[] };

/**
 * One metadata value. Nested arrays are not represented: llama.cpp's own reader rejects them, so a file
 * that has one could not be loaded by the engine anyway.
 */
export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | GgufArrayValue;

export type GgufMetadata = Map<string, GgufValue>;

/** ggml tensor types: name, id, elements per block, bytes per block (from gguf-py's GGML_QUANT_SIZES). */
export interface GgmlTypeInfo {
  name: string;
  id: number;
  blockSize: number;
  typeSize: number;
}

const QK_K = 256;
const GGML_TYPE_LIST: GgmlTypeInfo[] = [
  { name: 'f32', id: 0, blockSize: 1, typeSize: 4 },
  { name: 'f16', id: 1, blockSize: 1, typeSize: 2 },
  { name: 'q4_0', id: 2, blockSize: 32, typeSize: 2 + 16 },
  { name: 'q4_1', id: 3, blockSize: 32, typeSize: 2 + 2 + 16 },
  { name: 'q5_0', id: 6, blockSize: 32, typeSize: 2 + 4 + 16 },
  { name: 'q5_1', id: 7, blockSize: 32, typeSize: 2 + 2 + 4 + 16 },
  { name: 'q8_0', id: 8, blockSize: 32, typeSize: 2 + 32 },
  { name: 'q8_1', id: 9, blockSize: 32, typeSize: 2 + 2 + 32 },
  { name: 'q2_K', id: 10, blockSize: QK_K, typeSize: 2 + 2 + QK_K / 16 + QK_K / 4 },
  { name: 'q3_K', id: 11, blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 8 + 12 },
  { name: 'q4_K', id: 12, blockSize: QK_K, typeSize: 2 + 2 + QK_K / 2 + 12 },
  { name: 'q5_K', id: 13, blockSize: QK_K, typeSize: 2 + 2 + QK_K / 2 + QK_K / 8 + 12 },
  { name: 'q6_K', id: 14, blockSize: QK_K, typeSize: 2 + QK_K / 2 + QK_K / 4 + QK_K / 16 },
  { name: 'q8_K', id: 15, blockSize: QK_K, typeSize: 4 + QK_K + QK_K / 8 },
  { name: 'iq2_xxs', id: 16, blockSize: QK_K, typeSize: 2 + QK_K / 4 },
  { name: 'iq2_xs', id: 17, blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 32 },
  { name: 'iq3_xxs', id: 18, blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 8 },
  { name: 'iq1_s', id: 19, blockSize: QK_K, typeSize: 2 + QK_K / 8 + QK_K / 16 },
  { name: 'iq4_nl', id: 20, blockSize: 32, typeSize: 2 + 16 },
  { name: 'iq3_s', id: 21, blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4 },
  { name: 'iq2_s', id: 22, blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 16 },
  { name: 'iq4_xs', id: 23, blockSize: QK_K, typeSize: 2 + 2 + QK_K / 2 + QK_K / 64 },
  { name: 'i8', id: 24, blockSize: 1, typeSize: 1 },
  { name: 'i16', id: 25, blockSize: 1, typeSize: 2 },
  { name: 'i32', id: 26, blockSize: 1, typeSize: 4 },
  { name: 'i64', id: 27, blockSize: 1, typeSize: 8 },
  { name: 'f64', id: 28, blockSize: 1, typeSize: 8 },
  { name: 'iq1_m', id: 29, blockSize: QK_K, typeSize: QK_K / 8 + QK_K / 16 + QK_K / 32 },
  { name: 'bf16', id: 30, blockSize: 1, typeSize: 2 },
  { name: 'tq1_0', id: 34, blockSize: QK_K, typeSize: 2 + 4 * 13 },
  { name: 'tq2_0', id: 35, blockSize: QK_K, typeSize: 2 + 64 },
  { name: 'mxfp4', id: 39, blockSize: 32, typeSize: 1 + 16 },
  { name: 'nvfp4', id: 40, blockSize: 64, typeSize: 4 + 32 },
  { name: 'q1_0', id: 41, blockSize: 128, typeSize: 2 + 16 },
  { name: 'q2_0', id: 42, blockSize: 64, typeSize: 2 + 16 },
];

const GGML_TYPES_BY_ID = new Map(GGML_TYPE_LIST.map((t) => [t.id, t]));

export function ggmlTypeById(id: number): GgmlTypeInfo | undefined {
  return GGML_TYPES_BY_ID.get(id);
}

/** Tensor types this package writes and can decode to Float32Array. */
export type WritableTensorType = 'f32' | 'f16' | 'bf16';
export const GGML_TYPE_F32 = 0;
export const GGML_TYPE_F16 = 1;
export const GGML_TYPE_BF16 = 30;
/** Bytes per element of each writable type. */
export const WRITABLE_TYPE_BYTES: Record<WritableTensorType, number> = { f32: 4, f16: 2, bf16: 2 };
export const WRITABLE_TYPE_IDS: Record<WritableTensorType, number> = { f32: GGML_TYPE_F32, f16: GGML_TYPE_F16, bf16: GGML_TYPE_BF16 };

/** One tensor as described in a GGUF header. */
export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] (ne0) is the fastest-changing dimension. */
  dims: number[];
  /** ggml type name ('f32', 'f16', 'q4_0', ...). */
  type: string;
  typeId: number;
  /** Byte offset of the tensor data, relative to the start of the data section (`dataOffset`). */
  offset: number;
  /** Size of the tensor data in bytes (without alignment padding). */
  byteSize: number;
  /** Number of elements (product of dims). */
  elements: number;
}

/** A parsed GGUF header. Tensor data are not read; see `readTensorData`. */
export interface GgufFile {
  path: string;
  version: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute file offset where the (aligned) tensor data section begins. */
  dataOffset: number;
  /** File size in bytes when the header was read. */
  fileSize: number;
}
