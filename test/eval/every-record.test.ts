/**
 * Every record is scored, the first one included (the paper's perplexity averages over t = 1..T):
 * the evaluated test set of a full-size synthetic PSID81 panel is ~20% of its worker-years (as the
 * paper's 61,772 test records of 313,622), and every baseline predicts a worker's first record.
 */
import { describe, expect, it } from 'vitest';
import { EmpiricalTransitionModel, MultinomialLogitModel, OracleModel, UniformModel } from '../../src/baselines/index.js';
import { FirstRecordModel } from '../../src/baselines/first-record.js';
import { selectWorkers } from '../../src/eval/dataset.js';
import { UNSHARDED } from '../../src/eval/shard.js';
import { completeSplits, type PanelStore } from '../../src/data/io/index.js';
import type { Panel } from '../../src/data/panel/types.js';
import { synthesizePanel } from '../../src/data/synth/index.js';
import { loadTaxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { smallTaxonomy } from '../helpers/eval-fixtures.js';

describe('the evaluated records', () => {
  it('a full-size psid81 synthetic test set counts ~20% of the worker-years', () => {
    const taxonomy = loadTaxonomy('occ1990dd');
    const { panel } = synthesizePanel({ profile: 'psid81', seed: 1, taxonomy });
    expect(panel.workers.length).toBe(31056);
    const { splits } = completeSplits(panel, new Map(), { seed: 1 });
    const store = { panel, splits, taxonomy, meta: {} } as unknown as PanelStore;
    const ds = selectWorkers('(memory)', store, { split: 'test', shard: UNSHARDED });
    const workerYears = panel.workers.reduce((s, w) => s + w.records.length, 0);
    const testRecords = ds.workers.reduce((s, w) => s + w.records.length, 0);
    expect(ds.identity.transitions).toBe(testRecords);
    expect(ds.storedWorkers.reduce((s, w) => s + w.transitions, 0)).toBe(testRecords);
    const share = testRecords / workerYears;
    expect(share).toBeGreaterThan(0.19);
    expect(share).toBeLessThan(0.21);
    // Transitions alone (records 2..T) would be ~10% fewer: the paper's 61,772 needs the first records.
    expect(testRecords - ds.workers.length).toBeLessThan(0.92 * testRecords);
  });
});

describe('baselines predict the first record', () => {
  const taxonomy = smallTaxonomy();
  const { panel } = synthesizePanel({ profile: 'nlsy79', workers: 200, seed: 5, taxonomy });
  const train: Panel = { taxonomy: panel.taxonomy, workers: panel.workers.slice(0, 150) };
  const valid: Panel = { taxonomy: panel.taxonomy, workers: panel.workers.slice(150, 170) };
  const test = panel.workers.slice(170);

  it('the first-record distribution is the training split’s smoothed first-code frequency', () => {
    const first = new FirstRecordModel(taxonomy);
    const facts = first.fit(train);
    expect(facts.firstRecords).toBe(150);
    const beta = facts.firstBeta!;
    const dist = first.distribution();
    taxonomy.codes().forEach((code, j) => {
      const count = train.workers.filter((w) => w.records[0]!.code === code).length;
      expect(dist[j]).toBeCloseTo((count + beta) / (150 + beta * taxonomy.size), 12);
    });
  });

  it('empirical and logit use it at record 0; uniform and the oracle give theirs', () => {
    const first = new FirstRecordModel(taxonomy);
    first.fit(train, valid);
    const expected = first.distribution();
    const empirical = new EmpiricalTransitionModel(taxonomy);
    empirical.fit(train, valid);
    const logit = new MultinomialLogitModel(taxonomy, { epochs: 1 });
    logit.fit(train, valid);
    const oracle = new OracleModel(taxonomy);
    const uniform = new UniformModel(taxonomy);
    for (const w of test) {
      expect([...empirical.distribution(w, 0)]).toEqual([...expected]);
      expect([...logit.distribution(w, 0)]).toEqual([...expected]);
      expect(uniform.distribution(w, 0).every((p) => p === 1 / taxonomy.size)).toBe(true);
      const truth = taxonomy.indexOf(w.records[0]!.code);
      expect(oracle.distribution(w, 0)[truth]).toBeCloseTo(w.records[0]!.trueProbability!, 12);
    }
    // A transition still uses the transition table, not the first-record distribution.
    expect([...empirical.distribution(test[0]!, 1)]).not.toEqual([...expected]);
  });
});
