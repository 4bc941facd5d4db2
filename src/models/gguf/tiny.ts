/**
 * Test models: small llama-architecture GGUFs with seeded random weights and a real tokenizer. They let
 * the engine be tested and benchmarked end to end (tokenization at title boundaries, trie scoring, KV
 * sharing) without downloading a model; the numbers they produce are meaningless but deterministic.
 */
import { InputError } from '../../errors.js';
import { gguf } from './metadata.js';
import { hashName, Xoshiro128 } from './prng.js';
import { checkLlamaShape, writeLlamaModel, type LlamaShape, type LlamaTensorSpec } from './llama.js';
import type { WritableTensorType } from './types.js';
import { loadTokenizer, type Tokenizer, type VocabName } from './vocab.js';
import type { GgufWriteResult } from './writer.js';

/**
 * Bumped whenever the generator's output for the same options changes (initialization, metadata), so
 * caches of generated files keyed on it stay valid.
 */
export const TINY_LLAMA_VERSION = 1;

export const TINY_PRESETS = ['tiny', '170m'] as const;
export type TinyPreset = (typeof TINY_PRESETS)[number];

/** What a preset fixes, each overridable by the option of the same name (nVocab comes from the vocabulary). */
export type TinyPresetShape = Pick<LlamaShape, 'nEmbd' | 'nLayer' | 'nHead' | 'nHeadKv' | 'nFf' | 'nCtx'> & { type: WritableTensorType };

const PRESETS: Record<TinyPreset, TinyPresetShape> = {
  // A few million parameters with the 32k vocabulary, almost all of them in the embedding and output.
  tiny: { nEmbd: 64, nLayer: 2, nHead: 4, nHeadKv: 4, nFf: 128, nCtx: 2048, type: 'f32' },
  // GPT-2-small-like body on the Llama-2 vocabulary (~162M parameters): realistic cost for benchmarks.
  '170m': { nEmbd: 768, nLayer: 12, nHead: 12, nHeadKv: 12, nFf: 3072, nCtx: 2048, type: 'f16' },
};

export interface TinyLlamaOptions extends Partial<TinyPresetShape> {
  /** A vocabulary file of the pinned llama.cpp by name, or a tokenizer of one's own (e.g. `learnBpe`). */
  vocab: VocabName | Tokenizer;
  seed: number;
  out: string;
  preset?: TinyPreset;
  /**
   * Multiplies every weight's standard deviation (default 1). Matrices have std initScale/sqrt(fan_in),
   * so each layer keeps activations near unit scale and logits have a standard deviation near
   * initScale: next-token distributions are spread out but far from uniform.
   */
  initScale?: number;
  /** No output.weight: the token embeddings are the output layer too (default false). */
  tiedOutput?: boolean;
}

export interface TinyLlamaResult extends GgufWriteResult {
  shape: LlamaShape;
  type: WritableTensorType;
  /** The vocabulary's name; 'learned' for a tokenizer passed in. */
  vocab: VocabName | 'learned';
  seed: number;
  preset: TinyPreset;
  seconds: number;
}

function tokenizerOf(vocab: VocabName | Tokenizer): Promise<Tokenizer> {
  return typeof vocab === 'string' ? loadTokenizer(vocab) : Promise.resolve(vocab);
}

/** The complete shape and storage type that `writeTinyLlama` would use, without writing anything. */
export async function tinyLlamaShape(
  opts: Omit<TinyLlamaOptions, 'out' | 'seed'>,
): Promise<{ shape: LlamaShape; type: WritableTensorType }> {
  const preset = PRESETS[opts.preset ?? 'tiny'];
  if (preset === undefined) throw new InputError(`unknown preset "${String(opts.preset)}" (${TINY_PRESETS.join(', ')})`);
  const tokenizer = await tokenizerOf(opts.vocab);
  const shape: LlamaShape = {
    nVocab: tokenizer.nVocab,
    nEmbd: opts.nEmbd ?? preset.nEmbd,
    nLayer: opts.nLayer ?? preset.nLayer,
    nHead: opts.nHead ?? preset.nHead,
    nHeadKv: opts.nHeadKv ?? opts.nHead ?? preset.nHeadKv,
    nFf: opts.nFf ?? preset.nFf,
    nCtx: opts.nCtx ?? preset.nCtx,
    rmsEps: 1e-5,
    // The model families' RoPE bases: Llama-2 10,000, Llama-3 500,000.
    ropeFreqBase: opts.vocab === 'llama-bpe' ? 500000 : 10000,
  };
  return { shape, type: opts.type ?? preset.type };
}

/** Initial weights of one tensor, from its own PRNG stream (so tensors can be generated in any order). */
export function initTensor(spec: LlamaTensorSpec, seed: number, initScale = 1): Float32Array {
  const n = spec.dims.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const rng = new Xoshiro128(seed, hashName(spec.name));
  switch (spec.role) {
    case 'embedding':
      rng.fillUniform(out, initScale);
      break;
    case 'matrix':
      rng.fillUniform(out, initScale / Math.sqrt(spec.fanIn));
      break;
    case 'norm':
      // Around 1 rather than exactly 1, so that a misplaced norm tensor changes the model's output.
      rng.fillUniform(out, 0.1 * initScale);
      for (let i = 0; i < n; i++) out[i] = 1 + out[i]!;
      break;
  }
  return out;
}

/** Writes a llama model with seeded random weights and the tokenizer of `vocab`. Same options, same bytes. */
export async function writeTinyLlama(opts: TinyLlamaOptions): Promise<TinyLlamaResult> {
  const started = performance.now();
  const preset = opts.preset ?? 'tiny';
  const initScale = opts.initScale ?? 1;
  if (!(initScale > 0) || !Number.isFinite(initScale)) {
    throw new InputError(`initScale must be a positive number, got ${initScale}`, { file: opts.out, field: 'initScale' });
  }
  if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff) {
    throw new InputError(`seed must be an integer in [0, 4294967295], got ${opts.seed}`, { file: opts.out, field: 'seed' });
  }
  const { shape, type } = await tinyLlamaShape(opts);
  checkLlamaShape(shape, opts.out);
  const tokenizer = await tokenizerOf(opts.vocab);
  const vocabName = typeof opts.vocab === 'string' ? opts.vocab : 'learned';
  const result = await writeLlamaModel({
    out: opts.out,
    shape,
    tokenizer,
    type,
    name: `labor-llm tiny llama (${preset}, ${vocabName}, seed ${opts.seed})`,
    weights: (spec) => initTensor(spec, opts.seed, initScale),
    tiedOutput: opts.tiedOutput,
    extraMetadata: [
      ['labor_llm.generator', gguf.str(`tiny-llama v${TINY_LLAMA_VERSION}`)],
      ['labor_llm.vocab', gguf.str(vocabName)],
      ['labor_llm.seed', gguf.u32(opts.seed)],
      ['labor_llm.init_scale', gguf.f32(initScale)],
    ],
  });
  return {
    ...result,
    shape,
    type,
    vocab: vocabName,
    seed: opts.seed,
    preset,
    seconds: (performance.now() - started) / 1000,
  };
}
