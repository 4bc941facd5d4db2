/**
 * The engine's verdict on a GGUF header, given before llama.cpp sees the file.
 *
 * llama.cpp checks some hyper-parameters with GGML_ASSERT, which aborts the whole process (exit 134)
 * instead of returning an error: a block count of 0 or above 512, expert counts that do not add up, a
 * NaN or negative norm epsilon (asserted inside the first forward pass), duplicate token strings, a
 * tokenizer type without a text vocabulary. Others fail with messages that do not say what is wrong
 * (a SentencePiece vocabulary without byte tokens: `unordered_map::at`). This module checks what the
 * pinned llama.cpp asserts on (src/llama-model.cpp `load_hparams`, src/llama-vocab.cpp `load`, ggml's
 * norm kernels), so that `Model.load`, local training and `model info` give one verdict from one place.
 */
import { ModelError } from '../../errors.js';
import { describeType, integerOf } from './metadata.js';
import { llamaTensorSpecs } from './llama.js';
import { readGguf } from './reader.js';
import type { GgufFile } from './types.js';

/** llama-hparams.h: LLAMA_MAX_LAYERS and LLAMA_MAX_EXPERTS. */
const MAX_LAYERS = 512;
const MAX_EXPERTS = 1024;
/** llama-model.cpp LLAMA_ROPE_SCALING_TYPES (any other string is asserted on). */
const ROPE_SCALING_TYPES = new Set(['none', 'linear', 'yarn', 'longrope']);
/**
 * Tokenizers the engine scores with: SentencePiece ("llama": Llama-2, Mistral, Gemma), byte-level BPE
 * ("gpt2": Llama-3, Qwen, ...) and WordPiece ("bert", a lowercasing vocabulary the tests use). llama.cpp
 * knows others, but "none" has no text vocabulary at all (its token getters assert) and the rest are
 * untested here.
 */
const TOKENIZERS = new Set(['llama', 'gpt2', 'bert']);
/** llama_token_type LLAMA_TOKEN_TYPE_BYTE. */
const TOKEN_TYPE_BYTE = 6;

export interface GgufVerdict {
  /** True when the engine will hand the file to llama.cpp. */
  ok: boolean;
  /** What is wrong, one sentence each, naming the key or tensor. */
  problems: string[];
}

class Checker {
  readonly problems: string[] = [];
  constructor(readonly file: GgufFile) {}

  problem(msg: string): void {
    this.problems.push(msg);
  }

  /** An integer scalar (or, with `orArray`, the largest item of an integer array). */
  int(key: string, orArray = false): number | undefined {
    const v = this.file.metadata.get(key);
    if (v?.type === 'array' && orArray) {
      if (v.itemType === 'string' || v.itemType === 'bool') {
        this.problem(`${key} is an array of ${v.itemType}, expected integers`);
        return undefined;
      }
      let max = 0;
      for (const x of v.value as Iterable<number | bigint>) max = Math.max(max, Number(x));
      return max;
    }
    if (v === undefined) return undefined;
    const n = integerOf(v);
    if (n === undefined) this.problem(`${key} has type ${describeType(v)}, expected an integer`);
    return n;
  }

  float(key: string): number | undefined {
    const v = this.file.metadata.get(key);
    if (v === undefined) return undefined;
    if (v.type === 'float32' || v.type === 'float64') return v.value;
    this.problem(`${key} has type ${describeType(v)}, expected a float`);
    return undefined;
  }

  string(key: string): string | undefined {
    const v = this.file.metadata.get(key);
    if (v === undefined) return undefined;
    if (v.type === 'string') return v.value;
    this.problem(`${key} has type ${describeType(v)}, expected a string`);
    return undefined;
  }
}

function checkHyperparameters(c: Checker, arch: string): void {
  const k = (name: string): string => `${arch}.${name}`;
  const nLayer = c.int(k('block_count'));
  if (nLayer === undefined) {
    if (!c.file.metadata.has(k('block_count'))) c.problem(`${k('block_count')} is missing`);
  } else if (nLayer < 1 || nLayer > MAX_LAYERS) {
    c.problem(`${k('block_count')} is ${nLayer}; llama.cpp needs 1 to ${MAX_LAYERS} layers`);
  }
  const nextn = c.int(k('nextn_predict_layers')) ?? 0;
  if (nLayer !== undefined && (nextn < 0 || nextn > nLayer)) {
    c.problem(`${k('nextn_predict_layers')} is ${nextn}, more than the ${nLayer} layers`);
  }

  const nExpert = c.int(k('expert_count')) ?? 0;
  const nUsed = c.int(k('expert_used_count'), true) ?? 0;
  const nGroups = c.int(k('expert_group_count')) ?? 0;
  const nGroupUsed = c.int(k('expert_group_used_count')) ?? 0;
  if (nExpert < 0 || nExpert > MAX_EXPERTS) {
    c.problem(`${k('expert_count')} is ${nExpert}; llama.cpp allows at most ${MAX_EXPERTS} experts`);
  } else if (nUsed < 0 || nUsed > nExpert) {
    c.problem(`${k('expert_used_count')} is ${nUsed}, more than the ${nExpert} experts (${k('expert_count')})`);
  } else if (nExpert > 0) {
    if (nUsed === 0) c.problem(`${k('expert_count')} is ${nExpert} but ${k('expert_used_count')} is 0: no expert would run`);
    if (nGroups < 0 || nGroups >= nExpert) c.problem(`${k('expert_group_count')} ${nGroups} must be below the ${nExpert} experts`);
    else if (nGroups > 1) {
      if (nExpert % nGroups !== 0) c.problem(`${k('expert_count')} ${nExpert} is not divisible by ${k('expert_group_count')} ${nGroups}`);
      if (nGroupUsed <= 0 || nGroupUsed >= nGroups) {
        c.problem(`${k('expert_group_used_count')} ${nGroupUsed} must be between 1 and ${nGroups - 1}`);
      }
    }
  } else if (nGroups !== 0) {
    c.problem(`${k('expert_group_count')} is ${nGroups} without experts`);
  }

  const rope = c.string(k('rope.scaling.type'));
  if (rope !== undefined && !ROPE_SCALING_TYPES.has(rope)) {
    c.problem(`${k('rope.scaling.type')} "${rope}" is not one of ${[...ROPE_SCALING_TYPES].join(', ')}`);
  }
  // ggml's norm kernels assert eps >= 0 (a NaN fails it) in the first forward pass.
  for (const key of [k('attention.layer_norm_rms_epsilon'), k('attention.layer_norm_epsilon')]) {
    const eps = c.float(key);
    if (eps !== undefined && !(Number.isFinite(eps) && eps >= 0)) c.problem(`${key} is ${eps}; it must be a finite number >= 0`);
  }

  const nEmbd = c.int(k('embedding_length'));
  const nHead = c.int(k('attention.head_count'), true);
  const nHeadKv = c.int(k('attention.head_count_kv'), true);
  if (nEmbd !== undefined && nEmbd < 1) c.problem(`${k('embedding_length')} is ${nEmbd}; it must be positive`);
  if (nHead !== undefined && nHeadKv !== undefined && nHead > 0 && (nHeadKv < 1 || nHead % nHeadKv !== 0)) {
    c.problem(`${k('attention.head_count')} ${nHead} is not a multiple of ${k('attention.head_count_kv')} ${nHeadKv}`);
  }
  if (nEmbd !== undefined && nHead !== undefined && nHead > 0 && nEmbd % nHead !== 0) {
    c.problem(`${k('embedding_length')} ${nEmbd} is not divisible by ${k('attention.head_count')} ${nHead}`);
  }
}

/** GPT-2's byte-to-unicode table: the 256 one-character tokens a byte-level BPE vocabulary must have. */
function byteLevelChars(): string[] {
  const chars: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    chars.push(String.fromCodePoint(printable ? b : 256 + extra++));
  }
  return chars;
}

function checkTokenizer(c: Checker): void {
  const model = c.string('tokenizer.ggml.model');
  if (model === undefined) {
    if (!c.file.metadata.has('tokenizer.ggml.model')) c.problem('tokenizer.ggml.model is missing: the file has no tokenizer');
    return;
  }
  if (!TOKENIZERS.has(model)) {
    c.problem(`tokenizer.ggml.model is "${model}"; the engine scores with "llama" (SentencePiece), "gpt2" (byte-level BPE) or "bert" (WordPiece) tokenizers`);
    return;
  }
  const tokens = c.file.metadata.get('tokenizer.ggml.tokens');
  if (tokens === undefined || tokens.type !== 'array' || tokens.itemType !== 'string') {
    c.problem(`tokenizer.ggml.tokens ${tokens === undefined ? 'is missing' : `has type ${describeType(tokens)}, expected array<string>`}`);
    return;
  }
  const list = tokens.value;
  if (list.length === 0) {
    c.problem('tokenizer.ggml.tokens is empty');
    return;
  }
  // llama.cpp renames empty tokens to "[EMPTY_i]" and asserts that no two tokens are equal.
  const seen = new Map<string, number>();
  for (let i = 0; i < list.length; i++) {
    const word = list[i] === '' ? `[EMPTY_${i}]` : list[i]!;
    const first = seen.get(word);
    if (first !== undefined) {
      c.problem(`tokenizer.ggml.tokens has the same string at index ${first} and ${i} (${JSON.stringify(word.slice(0, 40))}); token strings must be unique`);
      break;
    }
    seen.set(word, i);
  }
  if (model === 'bert') {
    // WordPiece has no byte fallback: llama.cpp aborts when it meets a token typed as a byte.
    const types = c.file.metadata.get('tokenizer.ggml.token_type');
    if (types?.type === 'array' && types.itemType !== 'string' && types.itemType !== 'bool') {
      const at = Array.from(types.value as Iterable<number | bigint>).findIndex((t) => Number(t) === TOKEN_TYPE_BYTE);
      if (at >= 0) c.problem(`tokenizer.ggml.token_type marks token ${at} as a byte token, which a WordPiece ("bert") vocabulary cannot have`);
    }
    return checkTokenArrays(c, list.length);
  }
  // Text the vocabulary does not cover falls back to byte tokens; without them llama.cpp fails deep
  // inside tokenization (`unordered_map::at`).
  const bytes = model === 'llama'
    ? Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)
    : byteLevelChars();
  const missing = bytes.filter((t) => !seen.has(t));
  if (missing.length > 0) {
    c.problem(
      `tokenizer.ggml.tokens lacks ${missing.length} of the 256 byte tokens a ${model === 'llama' ? 'SentencePiece' : 'byte-level BPE'} ` +
        `vocabulary needs (first: ${JSON.stringify(missing[0])})`,
    );
  }
  checkTokenArrays(c, list.length);
}

/** Per-token arrays must cover every token (llama.cpp indexes them by token id). */
function checkTokenArrays(c: Checker, nTokens: number): void {
  for (const key of ['tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) {
    const v = c.file.metadata.get(key);
    if (v !== undefined && (v.type !== 'array' || v.value.length < nTokens)) {
      c.problem(`${key} ${v.type === 'array' ? `has ${v.value.length} items for ${nTokens} tokens` : `has type ${describeType(v)}`}`);
    }
  }
}

/** The llama tensors the engine's graph reads, present with the dims the hyper-parameters imply. */
function checkLlamaTensors(c: Checker): void {
  const m = c.file.metadata;
  const n = (key: string, fallback?: number): number | undefined => c.int(key) ?? fallback;
  const nEmbd = n('llama.embedding_length');
  const nHead = n('llama.attention.head_count');
  const nLayer = n('llama.block_count');
  const nFf = n('llama.feed_forward_length');
  const token = c.file.tensors.find((t) => t.name === 'token_embd.weight');
  const nVocab = m.has('llama.vocab_size') ? n('llama.vocab_size') : token?.dims[1];
  if ([nEmbd, nHead, nLayer, nFf, nVocab].some((x) => x === undefined || x < 1) || c.problems.length > 0) return;
  if (nEmbd! % nHead! !== 0) return;
  const shape = {
    nVocab: nVocab!,
    nEmbd: nEmbd!,
    nLayer: nLayer!,
    nHead: nHead!,
    nHeadKv: n('llama.attention.head_count_kv', nHead)!,
    nFf: nFf!,
    nCtx: 1,
    rmsEps: 1,
    ropeFreqBase: 1,
  };
  const byName = new Map(c.file.tensors.map((t) => [t.name, t]));
  for (const spec of llamaTensorSpecs(shape)) {
    const t = byName.get(spec.name);
    // Without output.weight llama.cpp ties the output layer to the embedding.
    if (t === undefined) {
      if (spec.name !== 'output.weight') c.problem(`tensor "${spec.name}" is missing`);
    } else if (t.dims.join(',') !== spec.dims.join(',')) {
      c.problem(`tensor "${spec.name}" has dims [${t.dims.join(', ')}], the hyper-parameters imply [${spec.dims.join(', ')}]`);
    }
    if (c.problems.length >= 5) return;
  }
}

/** The engine's verdict on a parsed GGUF header. */
export function checkGguf(file: GgufFile): GgufVerdict {
  const c = new Checker(file);
  const arch = c.string('general.architecture');
  if (arch === undefined) {
    if (!file.metadata.has('general.architecture')) c.problem('general.architecture is missing: not a model GGUF');
    return { ok: false, problems: c.problems };
  }
  checkHyperparameters(c, arch);
  checkTokenizer(c);
  if (arch === 'llama') checkLlamaTensors(c);
  return { ok: c.problems.length === 0, problems: c.problems };
}

/** The ModelError for a refused file (one message naming the file and every problem). */
export function verdictError(path: string, verdict: GgufVerdict): ModelError {
  return new ModelError(`${path}: the engine cannot load this model: ${verdict.problems.join('; ')}`);
}

/** Reads a GGUF header and throws a ModelError unless the engine can safely hand it to llama.cpp. */
export async function validateModelFile(path: string): Promise<GgufFile> {
  const file = await readGguf(path);
  const verdict = checkGguf(file);
  if (!verdict.ok) throw verdictError(path, verdict);
  return file;
}
