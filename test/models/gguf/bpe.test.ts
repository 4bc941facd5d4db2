/**
 * A learned BPE vocabulary as llama.cpp loads it: frequent strings of the texts become single tokens
 * (a title with its newline), text the texts never showed falls back to bytes, every text round-trips,
 * and learning is deterministic.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model } from '../../../src/engine/model.js';
import { learnBpe, writeTinyLlama } from '../../../src/models/gguf/index.js';

const texts = Array.from({ length: 40 }, (_, i) =>
  `Resume ${i % 3}\n2001 to 2002: Dental assistants\n2002 to 2003: Dental assistants\n2003 to 2004: Cooks\n`,
);
let model: Model;
const bpe = learnBpe(texts, { merges: 60 });

beforeAll(async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'labor-llm-bpe-')), 'bpe.gguf');
  await writeTinyLlama({ vocab: bpe.tokenizer, seed: 1, out, nEmbd: 32, nLayer: 1, nHead: 2, nFf: 64 });
  model = await Model.load(out, { threads: 1 });
});
afterAll(async () => model?.free());

describe('learnBpe', () => {
  it('makes a frequent title with its newline one token, and tokenizes as llama.cpp reads the file', () => {
    expect(bpe.tokenizer.nVocab).toBe(3 + 256 + new Set(texts.join('').replaceAll(' ', '\u2581')).size + bpe.merges.length);
    const ids = model.tokenize(' Dental assistants\n', { addSpecial: false });
    expect(ids.length).toBe(1);
    expect(model.tokenize(texts[0]!, { addSpecial: true })[0]).toBe(1); // BOS
    for (const t of [texts[5]!, ' Cooks\n', 'never seen: é ü 漢字\n']) {
      const toks = model.tokenize(t, { addSpecial: false });
      expect(model.detokenize(toks), t).toBe(t);
    }
    // Unseen characters are bytes: more tokens than characters for the CJK pair.
    expect(model.tokenize('漢字', { addSpecial: false }).length).toBe(6);
  });

  it('is deterministic and stops when no pair repeats', () => {
    expect(learnBpe(texts, { merges: 60 }).merges).toEqual(bpe.merges);
    const all = learnBpe(texts, { merges: 100000 });
    expect(all.merges.length).toBeLessThan(1000);
    expect(() => learnBpe(texts, { merges: -1 })).toThrow(/merges must be an integer/);
  });
});

describe('scoring titles that are one token each', () => {
  it('scores from the prompt row alone, and a later multi-token trie after it still sees the whole prompt', async () => {
    const one = await model.titleSet(['Dental assistants', 'Cooks']);
    expect(one.info().internalNodes).toBe(0);
    const many = await model.titleSet(['Dental assistants', 'Dentists', 'Cook', 'Resume']);
    expect(many.info().internalNodes).toBeGreaterThan(0);
    const first = 'Resume 1\n2001 to 2002: Dental assistants\n2002 to 2003:';
    const second = `${first} Cooks\n2003 to 2004:`;
    // One-token titles skip copying the prompt to the other sequences; the multi-token trie that
    // follows, reusing the cached prompt, must find it in every branch's sequence.
    const ref = await model.scoreTitles(first, one, { mode: 'reference' });
    const a = await model.scoreTitles(first, one);
    for (let i = 0; i < 2; i++) expect(Math.abs(a.logProbs[i]! - ref.logProbs[i]!)).toBeLessThan(1e-4);
    const b = await model.scoreTitles(second, many, { reusePrefix: true });
    expect(b.stats.promptTokensEvaluated).toBeLessThan(b.stats.promptTokens);
    const fresh = await model.scoreTitles(second, many, { reusePrefix: false });
    expect(Array.from(b.logProbs)).toEqual(Array.from(fresh.logProbs));
  });
});
