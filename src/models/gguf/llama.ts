/**
 * The llama architecture as llama.cpp loads it (vendor/llama.cpp src/models/llama.cpp and
 * src/llama-model.cpp): the hyperparameter keys, the tensor list with ggml dimension order, and
 * writing / reading a whole model from / to Float32Array weights.
 *
 * Weight layout: a matrix with ggml dims [ne0, ne1] is stored with ne0 fastest, so it is exactly a
 * PyTorch nn.Linear weight of shape [out = ne1, in = ne0] in row-major order; token_embd is
 * [n_vocab, n_embd] row-major (one row per token).
 */
import { InputError, ModelError } from '../../errors.js';
import { getFloat, getInteger, getString, gguf } from './metadata.js';
import { readGguf, readTensorData } from './reader.js';
import type { GgufFile, GgufMetadata, GgufValue, WritableTensorType } from './types.js';
import type { Tokenizer } from './vocab.js';
import { writeGguf, type GgufWriteResult, type TensorData } from './writer.js';

export interface LlamaShape {
  nVocab: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  /** Training context length (llama.context_length). */
  nCtx: number;
  rmsEps: number;
  ropeFreqBase: number;
}

/** What a tensor is for; decides its initialization and whether it is stored in f32 regardless. */
export type LlamaTensorRole = 'embedding' | 'norm' | 'matrix';

export interface LlamaTensorSpec {
  name: string;
  /** ggml order (ne0 first). */
  dims: number[];
  role: LlamaTensorRole;
  /** Input width of a matrix (ne0); the embedding and norms have none. */
  fanIn: number;
}

export function checkLlamaShape(shape: LlamaShape, file = '(model shape)'): void {
  const bad = (field: string, why: string): InputError => new InputError(why, { file, field });
  for (const k of ['nVocab', 'nEmbd', 'nLayer', 'nHead', 'nHeadKv', 'nFf', 'nCtx'] as const) {
    const v = shape[k];
    if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) throw bad(k, `${k} must be a positive integer, got ${v}`);
  }
  if (shape.nEmbd % shape.nHead !== 0) {
    throw bad('nHead', `nEmbd ${shape.nEmbd} is not divisible by nHead ${shape.nHead}`);
  }
  if (shape.nHead % shape.nHeadKv !== 0) {
    throw bad('nHeadKv', `nHead ${shape.nHead} is not divisible by nHeadKv ${shape.nHeadKv}`);
  }
  // RoPE rotates pairs of dimensions within a head.
  if ((shape.nEmbd / shape.nHead) % 2 !== 0) throw bad('nHead', `head size ${shape.nEmbd / shape.nHead} must be even`);
  if (!(shape.rmsEps > 0)) throw bad('rmsEps', `rmsEps must be positive, got ${shape.rmsEps}`);
  if (!(shape.ropeFreqBase > 0)) throw bad('ropeFreqBase', `ropeFreqBase must be positive, got ${shape.ropeFreqBase}`);
}

/** Every tensor of a llama model, in the order they are written. */
export function llamaTensorSpecs(shape: LlamaShape): LlamaTensorSpec[] {
  const { nVocab, nEmbd, nLayer, nHead, nHeadKv, nFf } = shape;
  const headDim = nEmbd / nHead;
  const nEmbdKv = headDim * nHeadKv;
  const specs: LlamaTensorSpec[] = [{ name: 'token_embd.weight', dims: [nEmbd, nVocab], role: 'embedding', fanIn: 0 }];
  const matrix = (name: string, ne0: number, ne1: number): LlamaTensorSpec => ({
    name,
    dims: [ne0, ne1],
    role: 'matrix',
    fanIn: ne0,
  });
  for (let i = 0; i < nLayer; i++) {
    const b = `blk.${i}`;
    specs.push(
      { name: `${b}.attn_norm.weight`, dims: [nEmbd], role: 'norm', fanIn: 0 },
      matrix(`${b}.attn_q.weight`, nEmbd, headDim * nHead),
      matrix(`${b}.attn_k.weight`, nEmbd, nEmbdKv),
      matrix(`${b}.attn_v.weight`, nEmbd, nEmbdKv),
      matrix(`${b}.attn_output.weight`, headDim * nHead, nEmbd),
      { name: `${b}.ffn_norm.weight`, dims: [nEmbd], role: 'norm', fanIn: 0 },
      matrix(`${b}.ffn_gate.weight`, nEmbd, nFf),
      matrix(`${b}.ffn_up.weight`, nEmbd, nFf),
      matrix(`${b}.ffn_down.weight`, nFf, nEmbd),
    );
  }
  specs.push({ name: 'output_norm.weight', dims: [nEmbd], role: 'norm', fanIn: 0 }, matrix('output.weight', nEmbd, nVocab));
  return specs;
}

export function llamaParameterCount(shape: LlamaShape): number {
  return llamaTensorSpecs(shape).reduce((s, t) => s + t.dims.reduce((a, b) => a * b, 1), 0);
}

/** The architecture keys llama.cpp reads for LLM_ARCH_LLAMA, with the types gguf-py writes. */
export function llamaMetadata(shape: LlamaShape): [string, GgufValue][] {
  return [
    ['llama.vocab_size', gguf.u32(shape.nVocab)],
    ['llama.context_length', gguf.u32(shape.nCtx)],
    ['llama.embedding_length', gguf.u32(shape.nEmbd)],
    ['llama.block_count', gguf.u32(shape.nLayer)],
    ['llama.feed_forward_length', gguf.u32(shape.nFf)],
    ['llama.attention.head_count', gguf.u32(shape.nHead)],
    ['llama.attention.head_count_kv', gguf.u32(shape.nHeadKv)],
    ['llama.rope.dimension_count', gguf.u32(shape.nEmbd / shape.nHead)],
    ['llama.rope.freq_base', gguf.f32(shape.ropeFreqBase)],
    ['llama.attention.layer_norm_rms_epsilon', gguf.f32(shape.rmsEps)],
  ];
}

/** llama_ftype values (llama.h): 0 = all f32, 1 = mostly f16, 32 = mostly bf16. */
export const LLAMA_FILE_TYPES: Record<WritableTensorType, number> = { f32: 0, f16: 1, bf16: 32 };

export interface WriteLlamaOptions {
  out: string;
  shape: LlamaShape;
  tokenizer: Tokenizer;
  /** Storage type of the matrices and the embedding; norm weights are always f32 (as llama.cpp converts them). */
  type: WritableTensorType;
  /** Weights per tensor, in ggml element order; called once per tensor, in `llamaTensorSpecs` order. */
  weights: (spec: LlamaTensorSpec) => Float32Array | Promise<Float32Array>;
  /** general.name */
  name?: string;
  /** Extra metadata written after the standard keys (e.g. provenance). */
  extraMetadata?: Iterable<readonly [string, GgufValue]>;
  /** Leave out output.weight: llama.cpp then uses the token embeddings as the output layer (tied). */
  tiedOutput?: boolean;
}

/** Writes a llama-architecture GGUF that llama.cpp can load, with the tokenizer copied verbatim. */
export async function writeLlamaModel(opts: WriteLlamaOptions): Promise<GgufWriteResult> {
  const { shape, tokenizer, out } = opts;
  checkLlamaShape(shape, out);
  if (shape.nVocab !== tokenizer.nVocab) {
    throw new InputError(`nVocab ${shape.nVocab} differs from the tokenizer's ${tokenizer.nVocab} tokens`, {
      file: out,
      field: 'nVocab',
    });
  }
  const metadata: (readonly [string, GgufValue])[] = [
    ['general.architecture', gguf.str('llama')],
    ['general.name', gguf.str(opts.name ?? 'labor-llm llama')],
    ['general.file_type', gguf.u32(LLAMA_FILE_TYPES[opts.type])],
    ...llamaMetadata(shape),
    ...tokenizer.metadata,
    ...(opts.extraMetadata ?? []),
  ];
  const specs = llamaTensorSpecs(shape).filter((spec) => !(opts.tiedOutput && spec.name === 'output.weight'));
  const tensors = specs.map((spec) => ({
    name: spec.name,
    dims: spec.dims,
    type: spec.role === 'norm' ? ('f32' as const) : opts.type,
    data: (() => opts.weights(spec)) satisfies TensorData,
  }));
  return writeGguf(out, { metadata, tensors });
}

/** The llama hyperparameters of a GGUF header; a ModelError if it is not a llama model. */
export function llamaShapeOf(file: GgufFile): LlamaShape {
  const m: GgufMetadata = file.metadata;
  const arch = getString(m, 'general.architecture', file.path);
  if (arch !== 'llama') throw new ModelError(`${file.path}: architecture is "${arch}", expected "llama"`);
  const nEmbd = getInteger(m, 'llama.embedding_length', file.path);
  const nHead = getInteger(m, 'llama.attention.head_count', file.path);
  const token = file.tensors.find((t) => t.name === 'token_embd.weight');
  const nVocab = m.has('llama.vocab_size')
    ? getInteger(m, 'llama.vocab_size', file.path)
    : (token?.dims[1] ?? 0);
  return {
    nVocab,
    nEmbd,
    nLayer: getInteger(m, 'llama.block_count', file.path),
    nHead,
    nHeadKv: m.has('llama.attention.head_count_kv') ? getInteger(m, 'llama.attention.head_count_kv', file.path) : nHead,
    nFf: getInteger(m, 'llama.feed_forward_length', file.path),
    nCtx: getInteger(m, 'llama.context_length', file.path),
    rmsEps: getFloat(m, 'llama.attention.layer_norm_rms_epsilon', file.path),
    ropeFreqBase: m.has('llama.rope.freq_base') ? getFloat(m, 'llama.rope.freq_base', file.path) : 10000,
  };
}

export interface LlamaModelData {
  file: GgufFile;
  shape: LlamaShape;
  /** Every tensor of the llama tensor list, decoded to float32. */
  weights: Map<string, Float32Array>;
}

/** Reads a whole llama model back to float32 weights (for round trips through local training). */
export async function readLlamaModel(path: string): Promise<LlamaModelData> {
  const file = await readGguf(path);
  const shape = llamaShapeOf(file);
  const weights = new Map<string, Float32Array>();
  for (const spec of llamaTensorSpecs(shape)) {
    const t = file.tensors.find((x) => x.name === spec.name);
    if (t === undefined) throw new ModelError(`${path}: llama tensor "${spec.name}" is missing`);
    if (t.dims.join(',') !== spec.dims.join(',')) {
      throw new ModelError(`${path}: tensor "${spec.name}" has dims [${t.dims.join(', ')}], expected [${spec.dims.join(', ')}]`);
    }
    weights.set(spec.name, await readTensorData(file, spec.name));
  }
  return { file, shape, weights };
}
