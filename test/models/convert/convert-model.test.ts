/**
 * The Hugging Face to GGUF converter against an independent forward pass: checkpoints written here
 * (random weights, config.json, tokenizer files derived from llama.cpp's vocabularies), converted,
 * loaded by the engine, and scored span by span next to the test's own Hugging Face-layout forward
 * pass (rotate-half RoPE, [out, in] projections, f64). Archives must convert to the same bytes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertModel } from '../../../src/models/convert/convert-model.js';
import { Model } from '../../../src/engine/model.js';
import { readGguf } from '../../../src/models/gguf/index.js';
import { randomLlamaWeights, spanError, TEXTS, writeHfCheckpoint, type HfShape, type HfWeights } from '../../helpers/hf-checkpoint.js';
import { tarOf, zstdRawFrame } from '../../helpers/archives.js';


let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'convert-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Largest difference between the engine's span log-probs and the reference's, over TEXTS. */
async function maxSpanError(gguf: string, shape: HfShape, weights: HfWeights): Promise<number> {
  const model = await Model.load(gguf, { threads: 2, outputHead: 'off' });
  try {
    return await spanError(model, shape, weights, TEXTS);
  } finally {
    await model.free();
  }
}

describe('model convert: SentencePiece, f32, untied, grouped-query attention', () => {
  const shape: HfShape = { vocab: 32000, hidden: 64, layers: 2, heads: 4, kvHeads: 2, ff: 96, ropeTheta: 10000, rmsEps: 1e-5, tied: false };
  const weights = randomLlamaWeights(shape, 11, false);
  let ckpt: string;
  let out: string;

  beforeAll(async () => {
    ckpt = join(dir, 'spm');
    out = join(dir, 'spm.gguf');
    await writeHfCheckpoint({ dir: ckpt, shape, weights, vocab: 'llama-spm', dtype: 'F32' });
  });

  it('matches the Hugging Face forward pass within 1e-4 nats', async () => {
    const progress: number[] = [];
    const r = await convertModel({ input: ckpt, out, type: 'f32', onProgress: (p) => progress.push(p.index) });
    expect(r.tokenizer).toBe('spm');
    expect(progress.at(-1)).toBe(r.tensorCount);
    const err = await maxSpanError(out, shape, weights);
    console.log(`spm f32: max span error ${err}`);
    expect(err).toBeLessThan(1e-4);
  });

  it('reads the same checkpoint from .tar.gz and .tar.zst archives, to the same bytes', async () => {
    const tar = await tarOf(ckpt, 'my-model');
    const gz = join(dir, 'spm.tar.gz');
    const zst = join(dir, 'spm.tar.zst');
    writeFileSync(gz, gzipSync(tar));
    writeFileSync(zst, zstdRawFrame(tar));
    const want = readFileSync(out);
    for (const archive of [gz, zst]) {
      const o = join(dir, 'from-archive.gguf');
      await convertModel({ input: archive, out: o, type: 'f32' });
      const got = readFileSync(o);
      // general.name differs (the archive's name): compare the tensor data section.
      const [a, b] = [await readGguf(out), await readGguf(o)];
      expect(got.subarray(b.dataOffset).equals(want.subarray(a.dataOffset))).toBe(true);
    }
  });
});

describe('model convert: BPE, bf16 shards, tied output, Llama 3.1 RoPE scaling', () => {
  const shape: HfShape = {
    vocab: 128256,
    hidden: 64,
    layers: 2,
    heads: 4,
    kvHeads: 1,
    ff: 128,
    ropeTheta: 500000,
    rmsEps: 1e-5,
    tied: true,
    // A short original context, so that the scaling changes the low and middle frequencies of a 16-wide head.
    ropeScaling: { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
  };
  const weights = randomLlamaWeights(shape, 12, true);

  it('matches the Hugging Face forward pass within 1e-4 nats', async () => {
    const ckpt = join(dir, 'bpe');
    await writeHfCheckpoint({ dir: ckpt, shape, weights, vocab: 'llama-bpe', dtype: 'BF16', shards: 3 });
    const out = join(dir, 'bpe.gguf');
    const r = await convertModel({ input: ckpt, out, type: 'f32' });
    expect(r).toMatchObject({ tokenizer: 'bpe', tiedOutput: true, ropeScaling: 'llama3' });
    const file = await readGguf(out);
    expect(file.tensors.some((t) => t.name === 'output.weight')).toBe(false);
    expect(file.tensors.some((t) => t.name === 'rope_freqs.weight')).toBe(true);
    const err = await maxSpanError(out, shape, weights);
    console.log(`bpe bf16: max span error ${err}`);
    expect(err).toBeLessThan(1e-4);
  });
});
