import { beforeAll, describe, expect, it } from 'vitest';
import {
  EmpiricalTransitionModel,
  MultinomialLogitModel,
  OracleModel,
  UniformModel,
  resultFromDistribution,
  scoreBaseline,
  topEntries,
  type OccupationModel,
} from '../../src/baselines/index.js';
import { StateError } from '../../src/errors.js';
import { perplexity } from '../../src/metrics/perplexity.js';
import type { TransitionResult } from '../../src/metrics/types.js';
import type { Panel, Transition } from '../../src/data/panel/types.js';
import { panelTransitions } from '../../src/data/panel/validate.js';
import { splitPanel } from '../../src/data/split/index.js';
import { synthesizePanel } from '../../src/data/synth/index.js';
import type { Taxonomy } from '../../src/data/taxonomy/taxonomy.js';

// A small synthetic PSID-like panel (~9k worker-years), split by worker.
const synth = synthesizePanel({ profile: 'psid81', workers: 900, seed: 3 });
const taxonomy: Taxonomy = synth.model.taxonomy;
const parts = splitPanel(synth.panel, { seed: 1 });
const testTransitions: Transition[] = panelTransitions(parts.test);

const models: Record<string, OccupationModel> = {};
const results: Record<string, TransitionResult[]> = {};

beforeAll(() => {
  models.oracle = new OracleModel(synth.model);
  models.uniform = new UniformModel(taxonomy);
  models.empirical = new EmpiricalTransitionModel(taxonomy);
  models.logit = new MultinomialLogitModel(taxonomy, { epochs: 3 });
  for (const [name, m] of Object.entries(models)) {
    m.fit?.(parts.train, parts.valid);
    results[name] = scoreBaseline(m, parts.test, testTransitions);
  }
});

describe('baselines on a synthetic panel', () => {
  it('order oracle < logit, empirical < uniform in test perplexity', () => {
    const ppl = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, perplexity(v)]));
    expect(ppl.uniform).toBeCloseTo(taxonomy.size, 6);
    expect(ppl.oracle!).toBeLessThan(ppl.empirical!);
    expect(ppl.empirical!).toBeLessThan(ppl.uniform!);
    expect(ppl.oracle!).toBeLessThan(ppl.logit!);
    expect(ppl.logit!).toBeLessThan(ppl.uniform!);
  });

  it('the oracle reproduces the generator probabilities stored in the panel', () => {
    const byId = new Map(parts.test.workers.map((w) => [w.id, w]));
    for (const r of results.oracle!.slice(0, 200)) {
      const stored = byId.get(r.workerId)!.records[r.index]!.trueProbability!;
      expect(r.logProb).toBeCloseTo(Math.log(stored), 9);
    }
  });

  it('every model gives distributions that sum to 1, and results agree with the distribution', () => {
    const codes = taxonomy.codes();
    const byId = new Map(parts.test.workers.map((w) => [w.id, w]));
    for (const [name, m] of Object.entries(models)) {
      for (const t of testTransitions.filter((_, i) => i % 97 === 0)) {
        const dist = m.distribution(byId.get(t.workerId)!, t.index);
        expect(dist).toHaveLength(codes.length);
        expect(dist.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
        const r = results[name]!.find((x) => x.workerId === t.workerId && x.index === t.index)!;
        const truth = codes.indexOf(t.to);
        expect(r.logProb).toBeCloseTo(Math.log(dist[truth]!), 12);
        // Rank and ties counted plainly.
        expect(r.rank).toBe(1 + [...dist].filter((p) => p > dist[truth]!).length);
        expect(r.ties).toBe([...dist].filter((p) => p === dist[truth]!).length);
        expect(r.topK).toHaveLength(10);
        expect(r.topK[0]!.prob).toBe(Math.max(...dist));
        for (let k = 1; k < r.topK.length; k++) expect(r.topK[k]!.prob).toBeLessThanOrEqual(r.topK[k - 1]!.prob);
        expect(r.pSame).toBeCloseTo(dist[codes.indexOf(t.from)]!, 12);
        // Official labor force: the unemployed (9002) are in it.
        const out = ['9001', '9003'].reduce((a, c) => a + dist[codes.indexOf(c)]!, 0);
        expect(r.pLaborForce).toBeCloseTo(1 - out, 9);
      }
    }
  });

  it('scores exactly the transitions asked for, in order, and rejects mismatched ones', () => {
    const sub = testTransitions.slice(5, 25);
    const rs = scoreBaseline(models.empirical!, parts.test, sub);
    expect(rs.map((r) => [r.workerId, r.index])).toEqual(sub.map((t) => [t.workerId, t.index]));
    expect(() => scoreBaseline(models.empirical!, parts.test, [{ ...sub[0]!, to: 'nope' }])).toThrow(/does not match/);
    expect(() => scoreBaseline(models.empirical!, parts.train, sub)).toThrow(/no such worker/);
  });

  it('refuses to predict before fitting', () => {
    const w = parts.test.workers.find((x) => x.records.length > 1)!;
    expect(() => new EmpiricalTransitionModel(taxonomy).distribution(w, 1)).toThrow(StateError);
    expect(() => new MultinomialLogitModel(taxonomy).distribution(w, 1)).toThrow(StateError);
  });
});

describe('top-k selection', () => {
  it('equals a full sort, earlier codes first on ties', () => {
    const codes = Array.from({ length: 50 }, (_, i) => `c${i}`);
    const dist = codes.map((_, i) => ((i * 37) % 11) / 100);
    const expected = codes
      .map((c, i) => ({ code: c, prob: dist[i]!, i }))
      .sort((a, b) => b.prob - a.prob || a.i - b.i)
      .slice(0, 7)
      .map(({ code, prob }) => ({ code, prob }));
    expect(topEntries(dist, codes, 7)).toEqual(expected);
    expect(topEntries([0.5, 0.5], ['a', 'b'], 5)).toEqual([
      { code: 'a', prob: 0.5 },
      { code: 'b', prob: 0.5 },
    ]);
  });
});
