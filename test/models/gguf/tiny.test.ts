import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, ModelError } from '../../../src/errors.js';
import {
  gguf,
  llamaParameterCount,
  llamaShapeOf,
  llamaTensorSpecs,
  loadTokenizer,
  readGguf,
  readLlamaModel,
  readTensorData,
  tinyLlamaShape,
  vocabFilePath,
  writeGguf,
  writeLlamaModel,
  writeTinyLlama,
  type GgufMetadata,
} from '../../../src/models/gguf/index.js';
import { tinyModelPath } from '../../helpers/models.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-tiny-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function stats(x: Float32Array): { mean: number; std: number } {
  let s = 0;
  let ss = 0;
  for (const v of x) {
    s += v;
    ss += v * v;
  }
  const mean = s / x.length;
  return { mean, std: Math.sqrt(ss / x.length - mean * mean) };
}

describe('vocabulary files', () => {
  it('reads the Llama-2 and Llama-3 tokenizers across chunk boundaries', async () => {
    const spm = await loadTokenizer('llama-spm');
    expect(spm.nVocab).toBe(32000);
    expect(spm.model).toBe('llama');
    const spmTokens = spm.metadata.get('tokenizer.ggml.tokens');
    expect(spmTokens?.type === 'array' && spmTokens.itemType === 'string').toBe(true);
    const st = spmTokens!.value as string[];
    expect([st[0], st[1], st[2], st[13]]).toEqual(['<unk>', '<s>', '</s>', '<0x0A>']);

    // 7.8 MB of metadata: parsed through many window refills.
    const bpe = await loadTokenizer('llama-bpe');
    expect(bpe.nVocab).toBe(128256);
    expect(bpe.model).toBe('gpt2');
    const bt = bpe.metadata.get('tokenizer.ggml.tokens')!.value as string[];
    expect(bt[128000]).toBe('<|begin_of_text|>');
    expect(bt[128255]).toBe('<|reserved_special_token_250|>');
    const merges = bpe.metadata.get('tokenizer.ggml.merges')!.value as string[];
    expect(merges).toHaveLength(280147);
    expect(merges[0]).toBe('Ġ Ġ');
  });
});

describe('writeTinyLlama', () => {
  it('is deterministic: same seed, same bytes; another seed, other weights', async () => {
    const a = join(dir, 'a.gguf');
    const b = join(dir, 'b.gguf');
    const c = join(dir, 'c.gguf');
    const ra = await writeTinyLlama({ vocab: 'llama-spm', seed: 1, out: a });
    await writeTinyLlama({ vocab: 'llama-spm', seed: 1, out: b });
    await writeTinyLlama({ vocab: 'llama-spm', seed: 2, out: c });
    expect(sha(a)).toBe(sha(b));
    expect(sha(a)).not.toBe(sha(c));
    // Writing the default tiny model is fast (the brief's budget is 2 s).
    expect(ra.seconds).toBeLessThan(2);
    const fa = await readGguf(a);
    const fc = await readGguf(c);
    const wa = await readTensorData(fa, 'blk.1.ffn_down.weight');
    const wc = await readTensorData(fc, 'blk.1.ffn_down.weight');
    expect(wa.length).toBe(wc.length);
    expect(wa.some((v, i) => v !== wc[i])).toBe(true);
  });

  it('writes the llama metadata llama.cpp requires, with the types it checks', async () => {
    const path = join(dir, 'meta.gguf');
    await writeTinyLlama({ vocab: 'llama-bpe', seed: 3, out: path, nEmbd: 32, nHead: 4, nHeadKv: 2, nFf: 48, nLayer: 1 });
    const file = await readGguf(path);
    const m = file.metadata;
    expect(m.get('general.architecture')).toEqual(gguf.str('llama'));
    expect(m.get('general.file_type')).toEqual(gguf.u32(0));
    expect(m.get('llama.vocab_size')).toEqual(gguf.u32(128256));
    expect(m.get('llama.context_length')).toEqual(gguf.u32(2048));
    expect(m.get('llama.embedding_length')).toEqual(gguf.u32(32));
    expect(m.get('llama.block_count')).toEqual(gguf.u32(1));
    expect(m.get('llama.feed_forward_length')).toEqual(gguf.u32(48));
    expect(m.get('llama.attention.head_count')).toEqual(gguf.u32(4));
    expect(m.get('llama.attention.head_count_kv')).toEqual(gguf.u32(2));
    expect(m.get('llama.rope.dimension_count')).toEqual(gguf.u32(8));
    expect(m.get('llama.rope.freq_base')).toEqual(gguf.f32(500000));
    expect(m.get('llama.attention.layer_norm_rms_epsilon')).toEqual(gguf.f32(Math.fround(1e-5)));
    expect(m.has('general.alignment')).toBe(false); // llama.cpp's default, 32
    expect(file.dataOffset % 32).toBe(0);
    expect(llamaShapeOf(file)).toMatchObject({ nVocab: 128256, nEmbd: 32, nHead: 4, nHeadKv: 2, nFf: 48, nLayer: 1 });

    // The tensor list: ggml dims order, GQA-sized k/v, norms in f32.
    const byName = new Map(file.tensors.map((t) => [t.name, t]));
    expect(byName.get('token_embd.weight')).toMatchObject({ dims: [32, 128256], type: 'f32' });
    expect(byName.get('output.weight')).toMatchObject({ dims: [32, 128256] });
    expect(byName.get('output_norm.weight')).toMatchObject({ dims: [32] });
    expect(byName.get('blk.0.attn_q.weight')).toMatchObject({ dims: [32, 32] });
    expect(byName.get('blk.0.attn_k.weight')).toMatchObject({ dims: [32, 16] });
    expect(byName.get('blk.0.attn_v.weight')).toMatchObject({ dims: [32, 16] });
    expect(byName.get('blk.0.attn_output.weight')).toMatchObject({ dims: [32, 32] });
    expect(byName.get('blk.0.ffn_gate.weight')).toMatchObject({ dims: [32, 48] });
    expect(byName.get('blk.0.ffn_up.weight')).toMatchObject({ dims: [32, 48] });
    expect(byName.get('blk.0.ffn_down.weight')).toMatchObject({ dims: [48, 32] });
    expect(file.tensors).toHaveLength(2 + 1 + 9);
  });

  it('copies every tokenizer key of the vocabulary file verbatim', async () => {
    for (const vocab of ['llama-spm', 'llama-bpe'] as const) {
      const path = join(dir, `tok-${vocab}.gguf`);
      await writeTinyLlama({ vocab, seed: 1, out: path, nLayer: 1, nEmbd: 8, nHead: 2, nFf: 8 });
      const source = await readGguf(vocabFilePath(vocab));
      const model = await readGguf(path);
      const pick = (m: GgufMetadata): GgufMetadata => new Map([...m].filter(([k]) => k.startsWith('tokenizer.')));
      const want = pick(source.metadata);
      expect(want.size).toBeGreaterThan(5);
      expect(pick(model.metadata)).toEqual(want);
    }
  });

  it('initializes weights at the documented scales and stores f16 as rounded f32', async () => {
    const f32 = join(dir, 'scale32.gguf');
    const f16 = join(dir, 'scale16.gguf');
    await writeTinyLlama({ vocab: 'llama-spm', seed: 9, out: f32, initScale: 0.5 });
    await writeTinyLlama({ vocab: 'llama-spm', seed: 9, out: f16, initScale: 0.5, type: 'f16' });
    const a = await readGguf(f32);
    const b = await readGguf(f16);
    expect(b.metadata.get('general.file_type')).toEqual(gguf.u32(1));
    const emb = stats(await readTensorData(a, 'token_embd.weight'));
    expect(Math.abs(emb.mean)).toBeLessThan(0.01);
    expect(emb.std).toBeCloseTo(0.5, 2);
    const down = stats(await readTensorData(a, 'blk.0.ffn_down.weight')); // fan-in 128
    expect(down.std / (0.5 / Math.sqrt(128))).toBeGreaterThan(0.95);
    expect(down.std / (0.5 / Math.sqrt(128))).toBeLessThan(1.05);
    const norm = await readTensorData(a, 'output_norm.weight');
    expect(norm.every((v) => v > 0.9 && v < 1.1)).toBe(true);
    expect(new Set(norm).size).toBeGreaterThan(1);

    for (const name of ['token_embd.weight', 'blk.1.attn_v.weight']) {
      const hi = await readTensorData(a, name);
      const lo = await readTensorData(b, name);
      expect(b.tensors.find((t) => t.name === name)!.type).toBe('f16');
      let maxRel = 0;
      for (let i = 0; i < hi.length; i++) maxRel = Math.max(maxRel, Math.abs(lo[i]! - hi[i]!) / Math.max(Math.abs(hi[i]!), 2 ** -14));
      expect(maxRel).toBeLessThanOrEqual(2 ** -11);
    }
    // Norms stay f32 in an f16 model.
    expect(await readTensorData(b, 'output_norm.weight')).toEqual(norm);
  });

  it('rejects impossible shapes and bad options with typed errors', async () => {
    const out = join(dir, 'never.gguf');
    await expect(writeTinyLlama({ vocab: 'llama-spm', seed: 1, out, nHead: 5 })).rejects.toThrow(InputError);
    await expect(writeTinyLlama({ vocab: 'llama-spm', seed: 1, out, nHead: 4, nHeadKv: 3 })).rejects.toThrow(/nHeadKv/);
    await expect(writeTinyLlama({ vocab: 'llama-spm', seed: 1, out, nEmbd: 12, nHead: 4 })).rejects.toThrow(/head size 3/);
    await expect(writeTinyLlama({ vocab: 'llama-spm', seed: -1, out })).rejects.toThrow(/seed/);
    await expect(writeTinyLlama({ vocab: 'llama-spm', seed: 1, out, initScale: 0 })).rejects.toThrow(/initScale/);
  });

  it('describes the 170m benchmark shape without writing it', async () => {
    const { shape, type } = await tinyLlamaShape({ vocab: 'llama-spm', preset: '170m' });
    expect(type).toBe('f16');
    expect(shape).toMatchObject({ nEmbd: 768, nLayer: 12, nHead: 12, nFf: 3072, nVocab: 32000 });
    expect(llamaParameterCount(shape)).toBe(162_417_408);
    expect(llamaTensorSpecs(shape)).toHaveLength(3 + 12 * 9);
  });
});

describe('writeLlamaModel / readLlamaModel', () => {
  it('round-trips a model through float32 weights byte for byte', async () => {
    const src = join(dir, 'rt-src.gguf');
    const dst = join(dir, 'rt-dst.gguf');
    await writeTinyLlama({ vocab: 'llama-spm', seed: 5, out: src, nLayer: 1 });
    const model = await readLlamaModel(src);
    expect(model.weights.size).toBe(3 + 9);
    const m = model.file.metadata;
    await writeLlamaModel({
      out: dst,
      shape: model.shape,
      tokenizer: await loadTokenizer('llama-spm'),
      type: 'f32',
      name: (m.get('general.name')!.value as string),
      extraMetadata: [...m].filter(([k]) => k.startsWith('labor_llm.')),
      weights: (spec) => model.weights.get(spec.name)!,
    });
    expect(sha(dst)).toBe(sha(src));
  });

  it('refuses a model of another architecture and a vocabulary size mismatch', async () => {
    const other = join(dir, 'gpt2.gguf');
    await writeGguf(other, { metadata: [['general.architecture', gguf.str('gpt2')]], tensors: [] });
    await expect(readLlamaModel(other)).rejects.toThrow(ModelError);
    await expect(readLlamaModel(other)).rejects.toThrow(/architecture is "gpt2", expected "llama"/);
    const { shape } = await tinyLlamaShape({ vocab: 'llama-spm' });
    await expect(
      writeLlamaModel({
        out: join(dir, 'never.gguf'),
        shape: { ...shape, nVocab: 100 },
        tokenizer: await loadTokenizer('llama-spm'),
        type: 'f32',
        weights: () => new Float32Array(0),
      }),
    ).rejects.toThrow(/nVocab 100 differs from the tokenizer's 32000 tokens/);
  });
});

describe('test model cache', () => {
  it('generates once and then returns the cached file', async () => {
    const p1 = await tinyModelPath('llama-spm', 1);
    const p2 = await tinyModelPath('llama-spm', 1);
    expect(p2).toBe(p1);
    expect(p1).toContain(join('.cache', 'test-models'));
    const file = await readGguf(p1);
    expect(file.metadata.get('labor_llm.seed')).toEqual(gguf.u32(1));
    expect(llamaShapeOf(file).nVocab).toBe(32000);
  });
});
