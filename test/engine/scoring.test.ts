/**
 * The engine's central promise: trie scores equal a fresh per-title evaluation, for both real
 * tokenizers, every title of both taxonomies, several prompts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model, type TitleSet } from '../../src/engine/model.js';
import { PROMPTS, maxAbsDiff, occTitles, socTitles, tinyModel } from '../helpers/engine-fixtures.js';

const TOL = 1e-4;

for (const vocab of ['llama-spm', 'llama-bpe'] as const) {
  describe(`trie scoring, ${vocab} vocabulary`, () => {
    let model: Model;
    let occ: TitleSet;
    let soc: TitleSet;

    beforeAll(async () => {
      model = await Model.load(await tinyModel(vocab), { threads: 2, flashAttention: 'off', kvCache: 'f32' });
      occ = await model.titleSet(occTitles());
      soc = await model.titleSet(socTitles());
    });
    afterAll(async () => model.free());

    it('matches the per-title reference on all occ1990dd titles for several prompts', async () => {
      expect(occ.size).toBe(334);
      const info = occ.info();
      for (const prompt of PROMPTS) {
        const trie = await model.scoreTitles(prompt, occ, { reusePrefix: false });
        const ref = await model.scoreTitles(prompt, occ, { mode: 'reference' });
        expect(maxAbsDiff(trie.logProbs, ref.logProbs)).toBeLessThan(TOL);
        // Every title got a finite, negative log-prob.
        for (const lp of trie.logProbs) expect(lp).toBeLessThan(0);
        // Work: the prompt once plus each internal trie node once; leaves are never evaluated.
        const s = trie.stats;
        expect(s.promptTokens).toBe(model.tokenize(prompt, { addSpecial: true }).length);
        expect(s.retokenizedTitles).toBe(0);
        expect(s.internalNodes).toBe(info.internalNodes);
        expect(s.evaluatedTokens).toBe(s.promptTokens + s.internalNodes);
        expect(s.internalNodes).toBeLessThan(s.titleTokens);
        // The reference pays for every token of every title after a fresh prompt.
        expect(ref.stats.evaluatedTokens).toBe(334 * s.promptTokens + s.titleTokens - 334);
        const norm = trie.normalizedLogProbs();
        let sum = 0;
        for (const v of norm) sum += Math.exp(v);
        expect(Math.abs(sum - 1)).toBeLessThan(1e-9);
      }
    });

    it('matches the per-title reference on all 867 SOC 2018 titles', async () => {
      expect(soc.size).toBe(867);
      for (const prompt of [PROMPTS[0]!, PROMPTS[2]!]) {
        const trie = await model.scoreTitles(prompt, soc, { reusePrefix: false });
        const ref = await model.scoreTitles(prompt, soc, { mode: 'reference' });
        expect(maxAbsDiff(trie.logProbs, ref.logProbs)).toBeLessThan(TOL);
        expect(trie.stats.evaluatedTokens).toBe(trie.stats.promptTokens + soc.info().internalNodes);
      }
    });

    it('checks the title boundary on the last line with the same result as on the whole prompt', async () => {
      for (const prompt of PROMPTS) {
        const tail = await model.scoreTitles(prompt, occ, { reusePrefix: false });
        const full = await model.scoreTitles(prompt, occ, { reusePrefix: false, fullBoundaryCheck: true });
        expect(Array.from(tail.logProbs)).toEqual(Array.from(full.logProbs));
        expect(tail.stats.retokenizedTitles).toBe(full.stats.retokenizedTitles);
      }
    });

    it('remembers a checked context (a last line) without changing the scores or the counts', async () => {
      // The title set checks the titles' tokens after a prompt's last line once; later prompts ending
      // in the same line take the remembered answer. Each is compared with a title set that never saw it.
      const last = '\n2003 (graduate degree):';
      const prompts = [PROMPTS[2]!, `Occupation history.\n1999 (college): Cooks${last}`, PROMPTS[2]!];
      const seen = await model.titleSet(occTitles());
      for (const prompt of prompts) {
        const fresh = await model.titleSet(occTitles());
        const a = await model.scoreTitles(prompt, seen, { reusePrefix: false });
        const b = await model.scoreTitles(prompt, fresh, { reusePrefix: false });
        expect(Array.from(a.logProbs)).toEqual(Array.from(b.logProbs));
        expect(a.logTotal).toBe(b.logTotal);
        for (const k of ['titleTokens', 'retokenizedTitles', 'trieNodes', 'internalNodes', 'evaluatedTokens'] as const)
          expect(a.stats[k]).toBe(b.stats[k]);
      }
    });

    it('splits subtrees that do not fit one decode, still exactly', async () => {
      // 32-token chunks: big first-token subtrees (e.g. SOC's many "First-Line Supervisors of ...")
      // are evaluated root first, for every sequence, then chunk by chunk below it.
      const small = await Model.load(await tinyModel(vocab), { threads: 2, kvCache: 'f32', batchSize: 32 });
      try {
        const set = await small.titleSet(socTitles());
        const trie = await small.scoreTitles(PROMPTS[0]!, set, { reusePrefix: false });
        const ref = await model.scoreTitles(PROMPTS[0]!, soc, { mode: 'reference' });
        expect(maxAbsDiff(trie.logProbs, ref.logProbs)).toBeLessThan(TOL);
        expect(trie.stats.evaluatedTokens).toBe(trie.stats.promptTokens + set.info().internalNodes);
        expect(trie.stats.decodeCalls).toBeGreaterThan(set.info().internalNodes / 32);
      } finally {
        await small.free();
      }
    });

    it('prompt-cached titles one by one agree too', async () => {
      const seq = await model.scoreTitles(PROMPTS[1]!, occ, { mode: 'sequential', reusePrefix: false });
      const ref = await model.scoreTitles(PROMPTS[1]!, occ, { mode: 'reference' });
      expect(maxAbsDiff(seq.logProbs, ref.logProbs)).toBeLessThan(TOL);
    });

    it('reuses the common prefix of successive prompts without changing the scores', async () => {
      const first = PROMPTS[1]!;
      const longer = `${first} Cooks\n1987 to 1988 (some college):`;
      await model.scoreTitles(first, occ);
      const reused = await model.scoreTitles(longer, occ, { reusePrefix: true });
      const fresh = await model.scoreTitles(longer, occ, { reusePrefix: false });
      expect(reused.stats.promptTokensEvaluated).toBeLessThan(reused.stats.promptTokens);
      expect(maxAbsDiff(reused.logProbs, fresh.logProbs)).toBeLessThan(TOL);
      // Same prompt twice: only its last token is evaluated again (its logits are needed).
      const again = await model.scoreTitles(longer, occ, { reusePrefix: true });
      expect(again.stats.promptTokensEvaluated).toBe(1);
      expect(maxAbsDiff(again.logProbs, fresh.logProbs)).toBeLessThan(TOL);
    });

    it('scores groups of prompts in shared decodes (crossBatch) with the same results, never more tokens', async () => {
      // A worker's successive prompts, then an unrelated prompt, then the first prompts again.
      const first = PROMPTS[1]!;
      const worker = [first, `${first} Cooks\n1987 to 1988 (some college):`, `${first} Cooks\n1987 to 1988 (some college): Cooks\n1988 to 1989 (college):`];
      const prompts = [...worker, PROMPTS[0]!, ...worker.slice(0, 2)];
      // Each prompt scored alone from an empty cache: the reference for scores and token counts.
      const fresh = await model.scoreTitlesBatch(prompts, occ, { reusePrefix: false });
      for (const G of [2, 16]) {
        const grouped = await model.scoreTitlesBatch(prompts, occ, { crossBatch: G, reusePrefix: false });
        let tokens = 0;
        for (let i = 0; i < prompts.length; i++) {
          expect(maxAbsDiff(grouped[i]!.logProbs, fresh[i]!.logProbs)).toBeLessThan(TOL);
          expect(grouped[i]!.stats.evaluatedNodes).toBe(grouped[i]!.stats.internalNodes);
          // Each prompt evaluates its internal nodes plus at most the tokens it does not share.
          expect(grouped[i]!.stats.evaluatedTokens).toBe(grouped[i]!.stats.internalNodes + grouped[i]!.stats.promptTokensEvaluated);
          tokens += grouped[i]!.stats.evaluatedTokens;
        }
        // The worker's later prompts add only their new tokens: fewer than scoring each afresh.
        expect(grouped[1]!.stats.promptTokensEvaluated).toBeLessThan(grouped[1]!.stats.promptTokens - 10);
        expect(tokens).toBeLessThan(fresh.reduce((a, r) => a + r.stats.evaluatedTokens, 0));
      }
      // The cache is left holding the last prompt, shared as usual with the next call.
      const reused = await model.scoreTitles(`${worker[1]!} Cooks\n1988 to 1989 (college):`, occ);
      const check = await model.scoreTitles(`${worker[1]!} Cooks\n1988 to 1989 (college):`, occ, { reusePrefix: false });
      expect(reused.stats.promptTokensEvaluated).toBeLessThan(reused.stats.promptTokens - 10);
      expect(maxAbsDiff(reused.logProbs, check.logProbs)).toBeLessThan(TOL);
    });

    it('negative control: when sibling branches see each other the comparison fails', async () => {
      const ref = await model.scoreTitles(PROMPTS[0]!, occ, { mode: 'reference' });
      const wrong = await model.scoreTitles(PROMPTS[0]!, occ, { reusePrefix: false, unsafeSharedSequence: true });
      expect(maxAbsDiff(wrong.logProbs, ref.logProbs)).toBeGreaterThan(1e-2);
      // ...and the engine's own run right after is exact again (no state leaks between calls).
      const right = await model.scoreTitles(PROMPTS[0]!, occ, { reusePrefix: false });
      expect(maxAbsDiff(right.logProbs, ref.logProbs)).toBeLessThan(TOL);
    });

    it('the teacher-forced form gives the same log-prob for a title as the trie', async () => {
      // A resume with three title lines; each title's span is scored in one pass over the text.
      const titles = [occ.titles[10]!, occ.titles[200]!, occ.titles[333]!];
      const idx = [10, 200, 333];
      let text = PROMPTS[0]!;
      const spans: [number, number][] = [];
      const prompts: string[] = [];
      titles.forEach((t, k) => {
        prompts.push(text);
        spans.push([text.length, text.length + t.length + 2]);
        text += ` ${t}\n${1991 + k} to ${1992 + k} (college):`;
      });
      const tf = await model.scoreSpans(text, spans);
      expect(tf.stats.decodeCalls).toBe(1);
      for (let k = 0; k < titles.length; k++) {
        const trie = await model.scoreTitles(prompts[k]!, occ);
        expect(Math.abs(tf.logProbs[k]! - trie.logProbs[idx[k]!]!)).toBeLessThan(TOL);
        expect(tf.spanTokens[k]).toBe(occ.tokensOf(idx[k]!).length);
      }
    });

    it('is safe with several concurrent callers on one model', async () => {
      const alone = await Promise.all(PROMPTS.map((p) => model.scoreTitles(p, occ, { reusePrefix: false })));
      const together = await Promise.all(
        [...PROMPTS, ...PROMPTS].map((p) => model.scoreTitles(p, occ, { reusePrefix: true })),
      );
      together.forEach((r, i) => expect(maxAbsDiff(r.logProbs, alone[i % PROMPTS.length]!.logProbs)).toBeLessThan(TOL));
      const batch = await model.scoreTitlesBatch(PROMPTS, occ);
      batch.forEach((r, i) => expect(maxAbsDiff(r.logProbs, alone[i]!.logProbs)).toBeLessThan(TOL));
    });
  });
}
