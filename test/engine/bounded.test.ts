/**
 * Bounded mode: best-first search over the trie. Checked against the full trie on every transition
 * tried: the top-k titles and their scores are exact, the target title's normalized log-prob is
 * within the tolerance, and every resolved title's raw score equals the full mode's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model, type TitleSet } from '../../src/engine/model.js';
import { writeTinyLlama } from '../../src/models/gguf/index.js';
import { PROMPTS, occTitles, tinyModel } from '../helpers/engine-fixtures.js';
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** A model with sharper next-token distributions (larger logit scale), closer to a fine-tuned one. */
async function peakedModel(): Promise<string> {
  const dir = join(process.cwd(), '.cache', 'test-models');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'bounded-peaked-spm-s3.gguf');
  if (!existsSync(out)) await writeTinyLlama({ vocab: 'llama-spm', seed: 3, out, initScale: 4 });
  return out;
}

describe('bounded mode', () => {
  const models: { name: string; model: Model; set: TitleSet; few: TitleSet }[] = [];
  beforeAll(async () => {
    for (const [name, path] of [
      ['random', await tinyModel('llama-spm')],
      ['sharper', await peakedModel()],
    ] as const) {
      const model = await Model.load(path, { threads: 2, kvCache: 'f32' });
      models.push({
        name,
        model,
        set: await model.titleSet(occTitles()),
        // Few enough titles for the search never to run out of sequence ids.
        few: await model.titleSet(occTitles().filter((_, i) => i % 8 === 0)),
      });
    }
  });
  afterAll(async () => {
    for (const m of models) await m.model.free();
  });

  it('gives the exact top-k, and the target within the tolerance, on every transition tried', async () => {
    const fractions: string[] = [];
    for (const { name, model, set } of models) {
      for (const prompt of PROMPTS) {
        const full = await model.scoreTitles(prompt, set, { reusePrefix: false });
        const fullNorm = full.normalizedLogProbs();
        const order = full.ranking();
        for (const target of [order[0]!, order[40]!, order[333]!]) {
          // The prefix bound counts all of a prefix's continuations, most of which are not titles on a
          // random model: a tight tolerance there runs out of sequence ids and falls back to the
          // full trie (still exact); a loose one stops early.
          for (const [topK, tolerance] of [
            [5, 1e-2],
            [1, 1],
          ] as const) {
            const b = await model.scoreTitles(prompt, set, { mode: 'bounded', topK, tolerance, target, reusePrefix: false });
            // Exact scores wherever resolved, and the top-k are all resolved and in order.
            for (let i = 0; i < set.size; i++) {
              if (!Number.isNaN(b.logProbs[i]!)) expect(Math.abs(b.logProbs[i]! - full.logProbs[i]!)).toBeLessThan(1e-4);
            }
            expect(b.ranking().slice(0, topK)).toEqual(order.slice(0, topK));
            // The total is bracketed, and the bracket is within the tolerance.
            expect(b.logTotal).toBeLessThanOrEqual(full.logTotal + 1e-9);
            expect(b.logTotalUpper).toBeGreaterThanOrEqual(full.logTotal - 1e-9);
            expect(b.logTotalUpper - b.logTotal).toBeLessThanOrEqual(tolerance + 1e-12);
            const targetNorm = b.logProbs[target]! - b.logTotal;
            expect(Math.abs(targetNorm - fullNorm[target]!)).toBeLessThanOrEqual(tolerance + 1e-4);
            if (!b.stats.boundedFallback) expect(b.stats.evaluatedNodes).toBeLessThanOrEqual(full.stats.internalNodes);
            fractions.push(`${name} k=${topK} tol=${tolerance}: ${(b.stats.evaluatedNodes / full.stats.internalNodes).toFixed(3)}${b.stats.boundedFallback ? ' (fallback)' : ''}`);
          }
        }
      }
    }
    console.log(`bounded mode, evaluated fraction of internal nodes:\n  ${fractions.join('\n  ')}`);
  });


  it('searches without falling back when the sequences suffice, exactly', async () => {
    for (const { model, few } of models) {
      for (const prompt of PROMPTS) {
        const full = await model.scoreTitles(prompt, few, { reusePrefix: false });
        const order = full.ranking();
        for (const target of [order[0]!, order[few.size - 1]!]) {
          const b = await model.scoreTitles(prompt, few, { mode: 'bounded', topK: 3, tolerance: 0.05, target, boundedBatch: 8, reusePrefix: false });
          expect(b.stats.boundedFallback).toBe(false);
          expect(b.stats.evaluatedNodes).toBeLessThanOrEqual(full.stats.internalNodes);
          expect(b.ranking().slice(0, 3)).toEqual(order.slice(0, 3));
          for (let i = 0; i < few.size; i++) {
            if (!Number.isNaN(b.logProbs[i]!)) expect(Math.abs(b.logProbs[i]! - full.logProbs[i]!)).toBeLessThan(1e-4);
          }
          expect(b.logTotalUpper - b.logTotal).toBeLessThanOrEqual(0.05 + 1e-12);
          expect(Math.abs(b.logProbs[target]! - b.logTotal - (full.logProbs[target]! - full.logTotal))).toBeLessThan(0.05 + 1e-4);
        }
      }
    }
  });
});
