/**
 * The distribution of a worker's first record, for the baselines that model transitions (empirical,
 * logit): the first record has no previous code, and the paper's perplexity predicts it too (t = 1..T).
 *
 *   P(first code = j) = (f(j) + beta) / (F + beta K)
 *
 * with f(j) the count of j as the first code of a training worker, F the number of training workers and
 * K the number of codes: add-beta smoothing, so no code gets probability 0. beta is chosen on the first
 * records of the validation split by log-likelihood over a small grid (DEFAULT_FIRST_BETA without one).
 * It ignores the worker's traits and the record's year and education, as an unconditional frequency
 * table does (the transition tables ignore them too).
 */
import { InputError, StateError } from '../errors.js';
import type { Panel } from '../data/panel/types.js';
import type { Taxonomy } from '../data/taxonomy/taxonomy.js';

export const DEFAULT_FIRST_BETA = 0.5;
const BETA_GRID = [0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 50];

export class FirstRecordModel {
  private dist: Float64Array | null = null;
  beta = DEFAULT_FIRST_BETA;

  constructor(private readonly taxonomy: Taxonomy) {}

  private counts(panel: Panel): { counts: Float64Array; n: number } {
    const counts = new Float64Array(this.taxonomy.size);
    let n = 0;
    for (const w of panel.workers) {
      const rec = w.records[0];
      if (!rec) continue;
      const k = this.taxonomy.indexOf(rec.code);
      if (k < 0) throw new InputError(`worker "${w.id}", record 0 (year ${rec.year}): code "${rec.code}" is not in taxonomy "${this.taxonomy.name}"`);
      counts[k]! += 1;
      n++;
    }
    return { counts, n };
  }

  /** Fits on the first records of `train`; tunes beta on those of `valid`. Returns the facts for a fit report. */
  fit(train: Panel, valid?: Panel): Record<string, number> {
    const { counts, n } = this.counts(train);
    const K = counts.length;
    const v = valid ? this.counts(valid) : null;
    if (v && v.n > 0) {
      let best = { ll: -Infinity, beta: this.beta };
      for (const beta of BETA_GRID) {
        let ll = 0;
        for (let j = 0; j < K; j++) if (v.counts[j]! > 0) ll += v.counts[j]! * Math.log((counts[j]! + beta) / (n + beta * K));
        if (ll > best.ll) best = { ll, beta };
      }
      this.beta = best.beta;
    }
    this.dist = counts.map((c) => (c + this.beta) / (n + this.beta * K));
    return { firstRecords: n, firstBeta: this.beta };
  }

  distribution(): Float64Array {
    if (!this.dist) throw new StateError('the first-record distribution must be fitted before use');
    return this.dist.slice();
  }
}
