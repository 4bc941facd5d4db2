/**
 * Hugging Face llama tensor names and layouts to llama.cpp's.
 *
 * Names: `model.layers.3.self_attn.q_proj.weight` is `blk.3.attn_q.weight`, and so on. Shapes: a
 * PyTorch [out, in] row-major weight is a ggml [in, out] tensor with the same bytes, so only the dims
 * are reversed. Rotary embedding: Hugging Face rotates the two halves of each head (rotate_half,
 * dimension j with j + d/2), llama.cpp's llama graph rotates adjacent pairs (2j with 2j + 1). Both are
 * the same model once the rows of each head of the Q and K projections are interleaved: GGUF row
 * 2j + s of a head is Hugging Face row s * d/2 + j.
 */

export interface TensorMapping {
  gguf: string;
  /** Q and K projections: rows are interleaved per head of `headRows` rows. */
  permuteHeadRows?: number;
}

const LAYER = /^model\.layers\.(\d+)\.(.+)$/;

const LAYER_TENSORS: Record<string, string> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'self_attn.q_proj.weight': 'attn_q.weight',
  'self_attn.k_proj.weight': 'attn_k.weight',
  'self_attn.v_proj.weight': 'attn_v.weight',
  'self_attn.o_proj.weight': 'attn_output.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'mlp.gate_proj.weight': 'ffn_gate.weight',
  'mlp.up_proj.weight': 'ffn_up.weight',
  'mlp.down_proj.weight': 'ffn_down.weight',
};

const GLOBAL_TENSORS: Record<string, string> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
};

/** Tensors some checkpoints carry that the model does not use. */
export function isIgnoredTensor(name: string): boolean {
  return name.endsWith('.rotary_emb.inv_freq');
}

/**
 * The GGUF name of a Hugging Face tensor (undefined: not a llama tensor). `headDim` sets the Q/K
 * row interleaving.
 */
export function mapLlamaTensor(name: string, headDim: number): TensorMapping | undefined {
  const global = GLOBAL_TENSORS[name];
  if (global !== undefined) return { gguf: global };
  const m = LAYER.exec(name);
  if (m === null) return undefined;
  const local = LAYER_TENSORS[m[2]!];
  if (local === undefined) return undefined;
  const gguf = `blk.${m[1]}.${local}`;
  const qk = local === 'attn_q.weight' || local === 'attn_k.weight';
  return qk ? { gguf, permuteHeadRows: headDim } : { gguf };
}

/** Interleaves the rows of one head (`rows` = head size, each `cols` wide): rotate-half to adjacent pairs. */
export function interleaveHeadRows(src: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const half = rows / 2;
  for (let j = 0; j < half; j++) {
    for (let s = 0; s < 2; s++) {
      const from = (s * half + j) * cols;
      out.set(src.subarray(from, from + cols), (2 * j + s) * cols);
    }
  }
}

/** Interleaves every head of `values` (whole heads of `headRows` rows, each `cols` wide) into a new array. */
export function interleaveHeads(values: Float32Array, headRows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  const head = headRows * cols;
  for (let h = 0; h < values.length; h += head) interleaveHeadRows(values.subarray(h, h + head), headRows, cols, out.subarray(h, h + head));
  return out;
}
