/**
 * The fused output head (native/engine/output_head.cpp): in the engine's modes the output layer and the
 * full-vocabulary log-sum-exp are computed from the final hidden states, without llama.cpp's logits.
 * Its scores must be llama.cpp's own: every mode with the head against the same mode with it off, and
 * the baselines (sequential, reference) must never use it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { Model, type TitleSet } from '../../src/engine/model.js';
import { readGguf, readTensorData, writeGguf, writeTinyLlama } from '../../src/models/gguf/index.js';
import { PROMPTS, maxAbsDiff, occTitles, tinyModel } from '../helpers/engine-fixtures.js';

const TOL = 1e-5;
const dir = mkdtempSync(join(tmpdir(), 'labor-llm-head-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Scores with the head on and off, mode by mode, and checks they agree and who used the head.
 * `seqTol` bounds sequential mode (llama.cpp's logits in one-token decodes) against the trie: with f32
 * weights llama.cpp's small and large decodes agree within 1e-4; with f16 weights its own kernels differ
 * between decode sizes on some CPUs (7.4e-4 nats measured on an AMD EPYC with AVX-512 BF16), a difference
 * inside llama.cpp that the head does not touch (head against no head stays within TOL).
 */
async function compareModes(head: Model, plain: Model, hs: TitleSet, ps: TitleSet, seqTol = 1e-4): Promise<void> {
  expect(head.info.outputHead).toBe('fused');
  expect(plain.info.outputHead).toBe('off: turned off');
  for (const prompt of PROMPTS) {
    const a = await head.scoreTitles(prompt, hs, { reusePrefix: false });
    const b = await plain.scoreTitles(prompt, ps, { reusePrefix: false });
    expect(maxAbsDiff(a.logProbs, b.logProbs)).toBeLessThan(TOL);
    // The prompt's last row and every internal node went through the head; nothing did without it.
    expect(a.stats.headRows).toBe(a.stats.internalNodes + 1);
    expect(b.stats.headRows).toBe(0);
    expect(a.stats.evaluatedTokens).toBe(b.stats.evaluatedTokens);
    // The baselines keep llama.cpp's logits even on a model with the head.
    const seq = await head.scoreTitles(prompt, hs, { mode: 'sequential', reusePrefix: false });
    expect(seq.stats.headRows).toBe(0);
    expect(maxAbsDiff(seq.logProbs, a.logProbs)).toBeLessThan(seqTol);
  }
  const ref = await head.scoreTitles(PROMPTS[1]!, hs, { mode: 'reference' });
  expect(ref.stats.headRows).toBe(0);

  // Bounded mode: the same titles resolved, the same scores.
  const target = 17;
  const ba = await head.scoreTitles(PROMPTS[1]!, hs, { mode: 'bounded', tolerance: 1e-3, target, reusePrefix: false });
  const bb = await plain.scoreTitles(PROMPTS[1]!, ps, { mode: 'bounded', tolerance: 1e-3, target, reusePrefix: false });
  expect(ba.stats.headRows).toBeGreaterThan(0);
  expect(Array.from(ba.logProbs, Number.isNaN)).toEqual(Array.from(bb.logProbs, Number.isNaN));
  expect(maxAbsDiff(ba.logProbs, bb.logProbs)).toBeLessThan(TOL);
  expect(Number.isNaN(ba.logProbs[target]!)).toBe(false);

  // A worker's successive prompts in shared decodes.
  const worker = [PROMPTS[1]!.slice(0, PROMPTS[1]!.lastIndexOf('\n')) + '\n1985 to 1986 (high school diploma):', PROMPTS[1]!];
  const ga = await head.scoreTitlesBatch(worker, hs, { crossBatch: 2 });
  const gb = await plain.scoreTitlesBatch(worker, ps, { crossBatch: 2 });
  for (let i = 0; i < worker.length; i++) {
    expect(maxAbsDiff(ga[i]!.logProbs, gb[i]!.logProbs)).toBeLessThan(TOL);
    expect(ga[i]!.stats.headRows).toBeGreaterThan(0);
  }

  // Teacher-forced spans (perplexity mode).
  const text = PROMPTS[1]! + ' Cooks\n';
  const span: [number, number][] = [[PROMPTS[1]!.length, text.length]];
  const sa = await head.scoreSpans(text, span);
  const sb = await plain.scoreSpans(text, span);
  expect(sa.stats.headRows).toBeGreaterThan(0);
  expect(maxAbsDiff(sa.logProbs, sb.logProbs)).toBeLessThan(TOL);
}

for (const vocab of ['llama-spm', 'llama-bpe'] as const) {
  describe(`fused output head, ${vocab} vocabulary, f32`, () => {
    let head: Model;
    let plain: Model;
    let hs: TitleSet;
    let ps: TitleSet;
    beforeAll(async () => {
      const path = await tinyModel(vocab);
      head = await Model.load(path, { threads: 2, outputHead: 'on' });
      plain = await Model.load(path, { threads: 2, outputHead: 'off' });
      hs = await head.titleSet(occTitles());
      ps = await plain.titleSet(occTitles());
    });
    afterAll(async () => {
      await head.free();
      await plain.free();
    });

    it('gives llama.cpp’s scores in every engine mode, and the baselines never use it', async () => {
      await compareModes(head, plain, hs, ps);
    });

    it('is what "auto" picks on a CPU build', async () => {
      const auto = await Model.load(await tinyModel(vocab), { threads: 2 });
      expect(auto.info.outputHead).toBe('fused');
      await auto.free();
    });

    it('measures the all-logits rate through the head as well', async () => {
      const a = await head.throughput(300, { allLogits: true, withLogsumexp: true, outputHead: true });
      const b = await head.throughput(300, { allLogits: true, withLogsumexp: true });
      expect(a.tokens).toBe(300);
      expect(b.tokens).toBe(300);
      expect(a.decodeCalls).toBe(b.decodeCalls);
    });
  });
}

describe('fused output head on other weights', () => {
  it('f16 weights: the head rounds the hidden state to f16 exactly where ggml does (measured at load), so scores agree', async () => {
    const path = join(dir, 'f16.gguf');
    await writeTinyLlama({ vocab: 'llama-spm', seed: 7, out: path, type: 'f16' });
    const head = await Model.load(path, { threads: 2, outputHead: 'on' });
    const plain = await Model.load(path, { threads: 2, outputHead: 'off' });
    await compareModes(head, plain, await head.titleSet(occTitles()), await plain.titleSet(occTitles()), 1e-2);
    await head.free();
    await plain.free();
  });

  it('tied embeddings (no output.weight): the head reads token_embd.weight, as llama.cpp does', async () => {
    const src = await readGguf(await tinyModel('llama-spm'));
    const tensors = await Promise.all(
      src.tensors
        .filter((t) => t.name !== 'output.weight')
        .map(async (t) => ({ name: t.name, dims: t.dims, type: 'f32' as const, data: await readTensorData(src, t.name) })),
    );
    const path = join(dir, 'tied.gguf');
    await writeGguf(path, { metadata: [...src.metadata.entries()], tensors });
    const head = await Model.load(path, { threads: 2, outputHead: 'on' });
    const plain = await Model.load(path, { threads: 2, outputHead: 'off' });
    const hs = await head.titleSet(occTitles());
    const ps = await plain.titleSet(occTitles());
    const a = await head.scoreTitles(PROMPTS[0]!, hs);
    const b = await plain.scoreTitles(PROMPTS[0]!, ps);
    const ref = await plain.scoreTitles(PROMPTS[0]!, ps, { mode: 'reference' });
    expect(a.stats.headRows).toBeGreaterThan(0);
    // The unit-scale embedding matrix as output layer gives log-probs of a few hundred nats, so float
    // rounding alone moves them by ~3e-5 (llama.cpp's trie against its own reference shows as much).
    expect(maxAbsDiff(b.logProbs, ref.logProbs)).toBeGreaterThan(TOL);
    expect(maxAbsDiff(a.logProbs, b.logProbs)).toBeLessThan(1e-4);
    expect(maxAbsDiff(a.logProbs, ref.logProbs)).toBeLessThan(1e-4);
    await head.free();
    await plain.free();
  });

  it('a vocabulary that is not a whole number of 16-entry panels: the last panel is masked, not padded with zeros', async () => {
    // 32,007 tokens: the 7 extra (control tokens, never in text) get output rows three times those of
    // common tokens, so dropping them moves the normaliser by ~1e-2 and counting the 9 padding lanes
    // as logit 0 by ~2e-4: both far above the tolerance.
    const src = await readGguf(await tinyModel('llama-spm'));
    const extra = 7;
    const nEmbd = src.tensors.find((t) => t.name === 'token_embd.weight')!.dims[0]!;
    const grow = (data: Float32Array, scale: number) => {
      const out = new Float32Array(data.length + extra * nEmbd);
      out.set(data);
      for (let j = 0; j < extra; j++)
        for (let k = 0; k < nEmbd; k++) out[data.length + j * nEmbd + k] = scale * data[(100 + j) * nEmbd + k]!;
      return out;
    };
    const tensors = await Promise.all(
      src.tensors.map(async (t) => {
        const data = (await readTensorData(src, t.name)) as Float32Array;
        if (t.name === 'token_embd.weight') return { name: t.name, dims: [nEmbd, t.dims[1]! + extra], type: 'f32' as const, data: grow(data, 1) };
        if (t.name === 'output.weight') return { name: t.name, dims: [nEmbd, t.dims[1]! + extra], type: 'f32' as const, data: grow(data, 3) };
        return { name: t.name, dims: t.dims, type: 'f32' as const, data };
      }),
    );
    const { gguf } = await import('../../src/models/gguf/index.js');
    const meta = src.metadata;
    const arr = <T,>(k: string): T[] => {
      const v = meta.get(k);
      if (v?.type !== 'array') throw new Error(`${k} is not an array`);
      return Array.from(v.value as unknown as ArrayLike<T>);
    };
    const names = [...arr<string>('tokenizer.ggml.tokens'), ...Array.from({ length: extra }, (_, j) => `<extra_${j}>`)];
    const scores = Float32Array.from([...arr<number>('tokenizer.ggml.scores'), ...new Array<number>(extra).fill(0)]);
    const types = Int32Array.from([...arr<number>('tokenizer.ggml.token_type'), ...new Array<number>(extra).fill(3)]);
    const metadata = [...meta.entries()].map(([k, v]) =>
      k === 'tokenizer.ggml.tokens'
        ? ([k, gguf.strings(names)] as const)
        : k === 'tokenizer.ggml.scores'
          ? ([k, gguf.f32s(scores)] as const)
          : k === 'tokenizer.ggml.token_type'
            ? ([k, gguf.i32s(types)] as const)
            : k === 'llama.vocab_size'
              ? ([k, gguf.u32(names.length)] as const)
              : ([k, v] as const),
    );
    const path = join(dir, 'vocab-32007.gguf');
    await writeGguf(path, { metadata, tensors });
    const head = await Model.load(path, { threads: 2, outputHead: 'on' });
    const plain = await Model.load(path, { threads: 2, outputHead: 'off' });
    expect(head.info.nVocab).toBe(32007);
    const hs = await head.titleSet(occTitles());
    const ps = await plain.titleSet(occTitles());
    for (const prompt of PROMPTS) {
      const a = await head.scoreTitles(prompt, hs, { reusePrefix: false });
      const b = await plain.scoreTitles(prompt, ps, { reusePrefix: false });
      expect(a.stats.headRows).toBeGreaterThan(0);
      expect(maxAbsDiff(a.logProbs, b.logProbs)).toBeLessThan(TOL);
    }
    await head.free();
    await plain.free();
  });

  it('"on" where the head cannot apply is an InputError that says why; "auto" falls back to llama.cpp', async () => {
    // Granite is llama's graph with a logit scale: the head does not cover it.
    const src = await readGguf(await tinyModel('llama-spm'));
    const tensors = await Promise.all(
      src.tensors.map(async (t) => ({ name: t.name, dims: t.dims, type: 'f32' as const, data: await readTensorData(src, t.name) })),
    );
    const { gguf } = await import('../../src/models/gguf/index.js');
    const metadata = [
      ...[...src.metadata.entries()].map(([k, v]) =>
        k === 'general.architecture' ? ([k, gguf.str('granite')] as const) : ([k.replace(/^llama\./, 'granite.'), v] as const),
      ),
      ['granite.logit_scale', gguf.f32(2)] as const,
      ['granite.embedding_scale', gguf.f32(1)] as const,
      ['granite.residual_scale', gguf.f32(1)] as const,
      ['granite.attention.scale', gguf.f32(0.125)] as const,
    ];
    const path = join(dir, 'granite.gguf');
    await writeGguf(path, { metadata, tensors });
    const err = await Model.load(path, { threads: 2, outputHead: 'on' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain('granite');
    const auto = await Model.load(path, { threads: 2 });
    expect(auto.info.outputHead).toMatch(/^off: architecture "granite"/);
    const set = await auto.titleSet(occTitles().slice(0, 40));
    const a = await auto.scoreTitles(PROMPTS[0]!, set);
    const ref = await auto.scoreTitles(PROMPTS[0]!, set, { mode: 'reference' });
    expect(a.stats.headRows).toBe(0);
    expect(maxAbsDiff(a.logProbs, ref.logProbs)).toBeLessThan(1e-4);
    await auto.free();
  });
});
