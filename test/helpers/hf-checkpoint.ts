/**
 * Hugging Face checkpoints written by the tests themselves: safetensors (streamed, tensor by tensor),
 * config.json, and tokenizer files derived from llama.cpp's vocabulary GGUFs (a SentencePiece
 * tokenizer.model for llama-spm, a tokenizer.json for llama-bpe). Plus an independent forward pass in
 * the Hugging Face layout (rotate-half rotary embedding, PyTorch [out, in] projections), in float64.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Model } from '../../src/engine/model.js';
import { loadTokenizer, type VocabName } from '../../src/models/gguf/index.js';
import { hashName, Xoshiro128 } from '../../src/models/gguf/prng.js';

export type StDtype = 'F32' | 'F16' | 'BF16';

export interface StTensor {
  name: string;
  dtype: StDtype;
  shape: number[];
  /** Row-major values; BF16 values must already be representable (see roundToBf16). */
  values: () => Float32Array;
}

/** Writes a safetensors file, one tensor in memory at a time. */
export async function writeSafetensors(path: string, tensors: StTensor[]): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'F32' ? 4 : 2);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const fh = await open(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    await fh.write(len);
    await fh.write(Buffer.from(json));
    for (const t of tensors) {
      const v = t.values();
      if (t.dtype === 'F32') {
        await fh.write(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      } else if (t.dtype === 'BF16') {
        const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
        const out = new Uint16Array(v.length);
        for (let i = 0; i < v.length; i++) out[i] = bits[i]! >>> 16;
        await fh.write(new Uint8Array(out.buffer));
      } else {
        throw new Error('the fixture writer does not write F16');
      }
    }
  } finally {
    await fh.close();
  }
}

/** Truncates every value to bfloat16 precision (so a BF16 file holds exactly these values). */
export function roundToBf16(v: Float32Array): Float32Array {
  const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
  for (let i = 0; i < bits.length; i++) bits[i] = bits[i]! & 0xffff0000;
  return v;
}

export interface HfShape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ff: number;
  ropeTheta: number;
  rmsEps: number;
  tied: boolean;
  ropeScaling?: { factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number };
}

/** Weights in the Hugging Face layout, by Hugging Face name. */
export type HfWeights = Map<string, { shape: number[]; values: Float32Array }>;

export type TensorKind = 'norm' | 'matrix' | 'embedding';

/** The tensors of a llama checkpoint in the Hugging Face layout: name, [out, in] shape, kind. */
export function llamaTensorList(s: HfShape): { name: string; shape: number[]; kind: TensorKind }[] {
  const hd = s.hidden / s.heads;
  const list: { name: string; shape: number[]; kind: TensorKind }[] = [];
  const add = (name: string, shape: number[], kind: TensorKind): void => void list.push({ name, shape, kind });
  add('model.embed_tokens.weight', [s.vocab, s.hidden], 'embedding');
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [s.hidden], 'norm');
    add(`${p}.self_attn.q_proj.weight`, [s.heads * hd, s.hidden], 'matrix');
    add(`${p}.self_attn.k_proj.weight`, [s.kvHeads * hd, s.hidden], 'matrix');
    add(`${p}.self_attn.v_proj.weight`, [s.kvHeads * hd, s.hidden], 'matrix');
    add(`${p}.self_attn.o_proj.weight`, [s.hidden, s.heads * hd], 'matrix');
    add(`${p}.post_attention_layernorm.weight`, [s.hidden], 'norm');
    add(`${p}.mlp.gate_proj.weight`, [s.ff, s.hidden], 'matrix');
    add(`${p}.mlp.up_proj.weight`, [s.ff, s.hidden], 'matrix');
    add(`${p}.mlp.down_proj.weight`, [s.hidden, s.ff], 'matrix');
  }
  add('model.norm.weight', [s.hidden], 'norm');
  if (!s.tied) add('lm_head.weight', [s.vocab, s.hidden], 'matrix');
  return list;
}

/** Seeded random values of one tensor (norms near 1, matrices ~1/sqrt(fan-in), embeddings ~1). */
export function randomTensor(name: string, shape: number[], kind: TensorKind, seed: number, bf16: boolean): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  new Xoshiro128(seed, hashName(name)).fillUniform(v, kind === 'matrix' ? 1 / Math.sqrt(shape[1]!) : kind === 'norm' ? 0.1 : 1);
  if (kind === 'norm') for (let i = 0; i < n; i++) v[i] = 1 + v[i]!;
  return bf16 ? roundToBf16(v) : v;
}

/** Every tensor of a llama checkpoint with seeded random values. */
export function randomLlamaWeights(s: HfShape, seed: number, bf16: boolean): HfWeights {
  return new Map(llamaTensorList(s).map((t) => [t.name, { shape: t.shape, values: randomTensor(t.name, t.shape, t.kind, seed, bf16) }]));
}

export function llamaConfigJson(s: HfShape, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: s.hidden,
    intermediate_size: s.ff,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    vocab_size: s.vocab,
    max_position_embeddings: 2048,
    rms_norm_eps: s.rmsEps,
    rope_theta: s.ropeTheta,
    rope_scaling: s.ropeScaling ? { rope_type: 'llama3', ...s.ropeScaling } : null,
    tie_word_embeddings: s.tied,
    hidden_act: 'silu',
    torch_dtype: 'bfloat16',
    ...extra,
  };
}

// --- tokenizer files from llama.cpp's vocabularies ---

function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}
function pbField(field: number, wire: number): number[] {
  return varint((field << 3) | wire);
}
function pbBytes(field: number, bytes: Uint8Array | number[]): number[] {
  return [...pbField(field, 2), ...varint(bytes.length), ...bytes];
}

/** A SentencePiece ModelProto (BPE model) with the pieces, scores and types of a vocabulary GGUF. */
export async function sentencePieceModel(vocab: VocabName = 'llama-spm'): Promise<Buffer> {
  const tok = await loadTokenizer(vocab);
  const tokens = tok.metadata.get('tokenizer.ggml.tokens')!.value as string[];
  const scores = tok.metadata.get('tokenizer.ggml.scores')!.value as Float32Array;
  const types = tok.metadata.get('tokenizer.ggml.token_type')!.value as Int32Array;
  const parts: number[][] = [];
  const f = Buffer.alloc(4);
  tokens.forEach((piece, i) => {
    f.writeFloatLE(scores[i]!);
    const body = [...pbBytes(1, Buffer.from(piece, 'utf8')), ...pbField(2, 5), ...f, ...pbField(3, 0), ...varint(types[i]!)];
    parts.push(pbBytes(1, body));
  });
  // trainer_spec: model_type BPE, unk 0, bos 1, eos 2, pad -1 (10-byte negative varint).
  const trainer = [...pbField(3, 0), 2, ...pbField(40, 0), 0, ...pbField(41, 0), 1, ...pbField(42, 0), 2, ...pbField(43, 0), ...varint(-1)];
  parts.push(pbBytes(2, trainer));
  parts.push(pbBytes(3, [...pbBytes(1, Buffer.from('identity')), ...pbField(3, 0), 1]));
  return Buffer.from(parts.flat());
}

const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** A tokenizer.json (byte-level BPE, Llama 3's pre-tokenizer) with the vocabulary and merges of a GGUF. */
export async function bpeTokenizerJson(vocab: VocabName = 'llama-bpe'): Promise<Record<string, unknown>> {
  const tok = await loadTokenizer(vocab);
  const tokens = tok.metadata.get('tokenizer.ggml.tokens')!.value as string[];
  const types = tok.metadata.get('tokenizer.ggml.token_type')!.value as Int32Array;
  const merges = tok.metadata.get('tokenizer.ggml.merges')!.value as string[];
  const v: Record<string, number> = {};
  const added: Record<string, unknown>[] = [];
  tokens.forEach((t, i) => {
    if (types[i] === 1) v[t] = i;
    else added.push({ id: i, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: types[i] === 3 });
  });
  return {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: LLAMA3_SPLIT }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] } },
    },
    decoder: { type: 'ByteLevel' },
    // Newer tokenizers write merges as pairs; both forms are read.
    model: { type: 'BPE', dropout: null, unk_token: null, byte_fallback: false, vocab: v, merges: merges.map((m) => m.split(' ')) },
  };
}

export interface WriteCheckpointOptions {
  dir: string;
  shape: HfShape;
  weights: HfWeights;
  vocab: VocabName;
  dtype: StDtype;
  /** Split the tensors over this many shards (with model.safetensors.index.json). */
  shards?: number;
  config?: Record<string, unknown>;
}

/** config.json and the tokenizer files of a checkpoint (everything but the weights). */
export async function writeCheckpointFiles(dir: string, shape: HfShape, vocab: VocabName, config: Record<string, unknown> = {}): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(llamaConfigJson(shape, config)));
  if (vocab === 'llama-spm') {
    writeFileSync(join(dir, 'tokenizer.model'), await sentencePieceModel());
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }));
  } else {
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(await bpeTokenizerJson()));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>' }));
  }
}

export async function writeHfCheckpoint(o: WriteCheckpointOptions): Promise<void> {
  await writeCheckpointFiles(o.dir, o.shape, o.vocab, o.config);
  const all = [...o.weights].map(([name, t]) => ({ name, dtype: o.dtype, shape: t.shape, values: () => t.values }));
  const n = o.shards ?? 1;
  if (n === 1) return writeSafetensors(join(o.dir, 'model.safetensors'), all);
  const weightMap: Record<string, string> = {};
  for (let k = 0; k < n; k++) {
    // Round-robin, so that every shard holds tensors of several layers (streaming order is tested).
    const part = all.filter((_, i) => i % n === k);
    const file = `model-${String(k + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
    for (const t of part) weightMap[t.name] = file;
    await writeSafetensors(join(o.dir, file), part);
  }
  writeFileSync(join(o.dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

// --- the reference forward pass, Hugging Face layout ---

function rmsNorm(x: Float64Array, w: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const r = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * r * w[i]!);
}

/** y = W x for a PyTorch [out, in] weight. */
function matvec(w: Float32Array, rows: number, x: Float64Array): Float64Array {
  const cols = x.length;
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * cols;
    for (let c = 0; c < cols; c++) s += w[o + c]! * x[c]!;
    y[r] = s;
  }
  return y;
}

/** The inverse rotary frequencies, with Llama 3.1's scaling where configured (transformers' formula). */
export function hfInvFreq(s: HfShape): Float64Array {
  const hd = s.hidden / s.heads;
  const inv = new Float64Array(hd / 2);
  for (let j = 0; j < hd / 2; j++) {
    let f = 1 / s.ropeTheta ** ((2 * j) / hd);
    const rs = s.ropeScaling;
    if (rs) {
      const wavelen = (2 * Math.PI) / f;
      const low = rs.original_max_position_embeddings / rs.low_freq_factor;
      const high = rs.original_max_position_embeddings / rs.high_freq_factor;
      if (wavelen > low) f = f / rs.factor;
      else if (wavelen >= high) {
        const smooth = (rs.original_max_position_embeddings / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        f = (1 - smooth) * (f / rs.factor) + smooth * f;
      }
    }
    inv[j] = f;
  }
  return inv;
}

/** rotate_half: dimension j pairs with j + d/2. */
function rope(v: Float64Array, heads: number, hd: number, pos: number, inv: Float64Array): void {
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < hd / 2; j++) {
      const a = v[h * hd + j]!;
      const b = v[h * hd + j + hd / 2]!;
      const c = Math.cos(pos * inv[j]!);
      const sn = Math.sin(pos * inv[j]!);
      v[h * hd + j] = a * c - b * sn;
      v[h * hd + j + hd / 2] = b * c + a * sn;
    }
  }
}

/** log P(tokens[i] | tokens[< i]) for i >= 1 (index 0 is NaN), from the Hugging Face weights. */
export function referenceLogProbs(s: HfShape, w: HfWeights, tokens: ArrayLike<number>): Float64Array {
  const hd = s.hidden / s.heads;
  const group = s.heads / s.kvHeads;
  const inv = hfInvFreq(s);
  const get = (n: string): Float32Array => w.get(n)!.values;
  const emb = get('model.embed_tokens.weight');
  const xs: Float64Array[] = [];
  for (let t = 0; t < tokens.length; t++) xs.push(Float64Array.from(emb.subarray(tokens[t]! * s.hidden, (tokens[t]! + 1) * s.hidden)));
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    const ks: Float64Array[] = [];
    const vs: Float64Array[] = [];
    const qs: Float64Array[] = [];
    for (let t = 0; t < xs.length; t++) {
      const h = rmsNorm(xs[t]!, get(`${p}.input_layernorm.weight`), s.rmsEps);
      const q = matvec(get(`${p}.self_attn.q_proj.weight`), s.heads * hd, h);
      const k = matvec(get(`${p}.self_attn.k_proj.weight`), s.kvHeads * hd, h);
      rope(q, s.heads, hd, t, inv);
      rope(k, s.kvHeads, hd, t, inv);
      qs.push(q);
      ks.push(k);
      vs.push(matvec(get(`${p}.self_attn.v_proj.weight`), s.kvHeads * hd, h));
    }
    for (let t = 0; t < xs.length; t++) {
      const att = new Float64Array(s.heads * hd);
      for (let h = 0; h < s.heads; h++) {
        const kv = Math.floor(h / group);
        const sc = new Float64Array(t + 1);
        let mx = -Infinity;
        for (let u = 0; u <= t; u++) {
          let d = 0;
          for (let i = 0; i < hd; i++) d += qs[t]![h * hd + i]! * ks[u]![kv * hd + i]!;
          sc[u] = d / Math.sqrt(hd);
          mx = Math.max(mx, sc[u]!);
        }
        let z = 0;
        for (let u = 0; u <= t; u++) z += (sc[u] = Math.exp(sc[u]! - mx));
        for (let u = 0; u <= t; u++) for (let i = 0; i < hd; i++) att[h * hd + i] = att[h * hd + i]! + (sc[u]! / z) * vs[u]![kv * hd + i]!;
      }
      const o = matvec(get(`${p}.self_attn.o_proj.weight`), s.hidden, att);
      const x = xs[t]!.map((v, i) => v + o[i]!);
      const h2 = rmsNorm(x, get(`${p}.post_attention_layernorm.weight`), s.rmsEps);
      const g = matvec(get(`${p}.mlp.gate_proj.weight`), s.ff, h2);
      const up = matvec(get(`${p}.mlp.up_proj.weight`), s.ff, h2);
      const act = g.map((v, i) => (v / (1 + Math.exp(-v))) * up[i]!);
      const d = matvec(get(`${p}.mlp.down_proj.weight`), s.hidden, act);
      xs[t] = x.map((v, i) => v + d[i]!);
    }
  }
  const head = get(s.tied ? 'model.embed_tokens.weight' : 'lm_head.weight');
  const out = new Float64Array(tokens.length).fill(NaN);
  for (let t = 0; t + 1 < xs.length; t++) {
    const logits = matvec(head, s.vocab, rmsNorm(xs[t]!, get('model.norm.weight'), s.rmsEps));
    let mx = -Infinity;
    for (const v of logits) mx = Math.max(mx, v);
    let z = 0;
    for (const v of logits) z += Math.exp(v - mx);
    out[t + 1] = logits[tokens[t + 1]!]! - mx - Math.log(z);
  }
  return out;
}

/** Texts for span comparisons: plain words, so that every word start is a token boundary. */
export const TEXTS = [
  'The following is the resume of a worker residing in the South. Cooks and waiters',
  'Lawyers and judges work in courts while managers run the office',
  'Software developers write programs for computers',
];

/** Word spans: each word with its leading space, from the second word on. */
function wordSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  for (let i = text.indexOf(' '); i >= 0; ) {
    const next = text.indexOf(' ', i + 1);
    spans.push([i, next < 0 ? text.length : next]);
    i = next;
  }
  return spans;
}

/** Largest difference between a loaded model's span log-probs and the reference pass over `weights`. */
export async function spanError(model: Model, shape: HfShape, weights: HfWeights, texts: readonly string[] = TEXTS): Promise<number> {
  let worst = 0;
  for (const text of texts) {
    const spans = wordSpans(text);
    const got = await model.scoreSpans(text, spans);
    const tokens = model.tokenize(text, { addSpecial: true });
    const ref = referenceLogProbs(shape, weights, tokens);
    spans.forEach(([s, e], i) => {
      const a = model.tokenize(text.slice(0, s), { addSpecial: true }).length;
      const b = model.tokenize(text.slice(0, e), { addSpecial: true }).length;
      let want = 0;
      for (let k = a; k < b; k++) want += ref[k]!;
      worst = Math.max(worst, Math.abs(got.logProbs[i]! - want));
    });
  }
  return worst;
}
