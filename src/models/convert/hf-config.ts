/**
 * A llama-family config.json (Llama 2, Llama 3, 3.1, 3.2 and Mistral-style models that share the
 * architecture) read into the GGUF hyperparameters llama.cpp expects. Anything the converter would
 * get wrong silently (another architecture, a head size llama.cpp's llama graph does not take, a RoPE
 * scaling it does not implement) is refused, naming the config field.
 */
import { InputError } from '../../errors.js';
import { gguf } from '../gguf/metadata.js';
import type { LlamaShape } from '../gguf/llama.js';
import type { GgufValue } from '../gguf/types.js';

/** Architectures with the llama layout (names as `architectures[0]` spells them). */
export const LLAMA_ARCHITECTURES = ['LlamaForCausalLM', 'LLaMAForCausalLM', 'MistralForCausalLM'] as const;

/** Llama 3.1's "llama3" RoPE scaling: a per-frequency divisor, written as the rope_freqs tensor. */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalContext: number;
}
export interface LinearRopeScaling {
  type: 'linear';
  factor: number;
}
export type RopeScaling = Llama3RopeScaling | LinearRopeScaling;

export interface HfLlamaConfig {
  architecture: string;
  shape: LlamaShape;
  /** The output layer is the token embedding (no lm_head.weight is used). */
  tiedOutput: boolean;
  ropeScaling: RopeScaling | undefined;
  /** Token ids from config.json, where given. */
  bosTokenId: number | undefined;
  eosTokenId: number | undefined;
}

type Json = Record<string, unknown>;

function field(file: string, cfg: Json, key: string): InputError {
  return new InputError(`config field "${key}" is missing or invalid: ${JSON.stringify(cfg[key])}`, { file, field: key });
}

function int(file: string, cfg: Json, key: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw field(file, cfg, key);
  return v;
}

function num(file: string, cfg: Json, key: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !(v > 0)) throw field(file, cfg, key);
  return v;
}

function firstId(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
}

export function parseJsonFile(file: string, bytes: Buffer): Json {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Json;
  } catch (err) {
    throw new InputError(`not valid JSON: ${(err as Error).message}`, { file }, { cause: err });
  }
}

function ropeScalingOf(file: string, cfg: Json): RopeScaling | undefined {
  // transformers 4.x writes rope_scaling; 5.x moves it (with rope_theta) into rope_parameters.
  const key = cfg.rope_scaling != null ? 'rope_scaling' : 'rope_parameters';
  const rs = cfg[key] as Json | null | undefined;
  if (rs == null) return undefined;
  const type = rs.rope_type ?? rs.type;
  if (type === undefined || type === 'default') return undefined;
  const sub = (k: string, fallback?: number): number => {
    const v = rs[k] ?? fallback;
    if (typeof v !== 'number' || !(v > 0)) {
      throw new InputError(`${key}.${k} is missing or invalid: ${JSON.stringify(rs[k])}`, { file, field: `${key}.${k}` });
    }
    return v;
  };
  if (type === 'llama3') {
    return {
      type,
      factor: sub('factor', 8),
      lowFreqFactor: sub('low_freq_factor', 1),
      highFreqFactor: sub('high_freq_factor', 4),
      originalContext: sub('original_max_position_embeddings', 8192),
    };
  }
  if (type === 'linear') return { type, factor: sub('factor') };
  throw new InputError(`RoPE scaling "${String(type)}" is not supported (llama3 and linear are)`, {
    file,
    field: `${key}.rope_type`,
  });
}

/** Reads config.json; `file` names it in errors. */
export function readLlamaConfig(file: string, cfg: Json): HfLlamaConfig {
  const archs = cfg.architectures;
  const architecture = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : String(cfg.model_type ?? '');
  if (!(LLAMA_ARCHITECTURES as readonly string[]).includes(architecture)) {
    throw new InputError(
      `architecture "${architecture}" is not supported: the converter reads llama-family models (${LLAMA_ARCHITECTURES.join(', ')})`,
      { file, field: 'architectures' },
    );
  }
  const nEmbd = int(file, cfg, 'hidden_size');
  const nHead = int(file, cfg, 'num_attention_heads');
  const nHeadKv = int(file, cfg, 'num_key_value_heads', nHead);
  if (nEmbd % nHead !== 0) throw new InputError(`hidden_size ${nEmbd} is not divisible by num_attention_heads ${nHead}`, { file, field: 'num_attention_heads' });
  if (cfg.head_dim != null && cfg.head_dim !== nEmbd / nHead) {
    throw new InputError(`head_dim ${String(cfg.head_dim)} differs from hidden_size / num_attention_heads (${nEmbd / nHead}); such models are not supported`, {
      file,
      field: 'head_dim',
    });
  }
  for (const k of ['attention_bias', 'mlp_bias'] as const) {
    if (cfg[k] === true) throw new InputError(`${k} is true: biased projections are not supported`, { file, field: k });
  }
  if (cfg.hidden_act !== undefined && cfg.hidden_act !== 'silu') {
    throw new InputError(`hidden_act "${String(cfg.hidden_act)}" is not supported (llama uses silu)`, { file, field: 'hidden_act' });
  }
  const params = (cfg.rope_parameters ?? {}) as Json;
  const shape: LlamaShape = {
    nVocab: int(file, cfg, 'vocab_size'),
    nEmbd,
    nLayer: int(file, cfg, 'num_hidden_layers'),
    nHead,
    nHeadKv,
    nFf: int(file, cfg, 'intermediate_size'),
    nCtx: int(file, cfg, 'max_position_embeddings', 4096),
    rmsEps: num(file, cfg, 'rms_norm_eps', 1e-6),
    ropeFreqBase: num(file, cfg, 'rope_theta', typeof params.rope_theta === 'number' ? params.rope_theta : 10000),
  };
  return {
    architecture,
    shape,
    tiedOutput: cfg.tie_word_embeddings === true,
    ropeScaling: ropeScalingOf(file, cfg),
    bosTokenId: firstId(cfg.bos_token_id),
    eosTokenId: firstId(cfg.eos_token_id),
  };
}

/** The rope_freqs values llama.cpp divides each rotary frequency by, for Llama 3.1's scaling. */
export function llama3RopeFactors(s: Llama3RopeScaling, headDim: number, base: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  const lowWavelen = s.originalContext / s.lowFreqFactor;
  const highWavelen = s.originalContext / s.highFreqFactor;
  for (let i = 0; i < out.length; i++) {
    // Math.fround: the frequencies in f32, as the model computes them.
    const freq = Math.fround(1 / Math.fround(base ** Math.fround((2 * i) / headDim)));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = s.factor;
    else {
      const smooth = (s.originalContext / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}

/** The RoPE scaling keys of the GGUF header (llama3 scaling is the rope_freqs tensor instead). */
export function ropeScalingMetadata(s: RopeScaling | undefined): [string, GgufValue][] {
  if (s?.type !== 'linear') return [];
  return [
    ['llama.rope.scaling.type', gguf.str('linear')],
    ['llama.rope.scaling.factor', gguf.f32(s.factor)],
  ];
}
