/**
 * Sparse one-hot features of the multinomial logit, the covariates of CAREER's regression baseline:
 *
 *   previous code (records[index-1]), the code before it (or "none"), years in the current job
 *   (records[index-1].year - first year of the current run of that code + 1), total years observed
 *   (records[index-1].year - records[0].year + 1), calendar year of the predicted record, education in the
 *   predicted record (shown on the resume line before the title, so an LLM sees it too), gender, ethnicity,
 *   region and age band (predicted year - birth year), plus an intercept.
 *
 * Every feature is binary, so an example is just the list of its active feature ids: one per slot, -1 when the
 * slot has no feature (a category unseen in training). Vocabularies (traits, calendar years) come from the
 * training panel only; calendar years outside the training range are clamped to its ends. Durations and ages
 * are bucketed (one-hot per bucket) so their effects need not be linear.
 */

import { EDUCATION_LEVELS } from '../data/panel/education.js';
import type { Panel, Worker } from '../data/panel/types.js';
import type { Taxonomy } from '../data/taxonomy/taxonomy.js';
import { codeIndex } from './transitions.js';

/** Lower bounds of the duration buckets (years): 1, 2, 3, 4, 5, 6-7, 8-10, 11-15, 16-20, 21-30, 31+. */
const DURATION_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 11, 16, 21, 31];
/** Lower bounds of the age buckets: <20, 20-24, ..., 65-69, 70+ (one more slot for "unknown"). */
const AGE_BUCKETS = [0, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70];

function bucket(v: number, lowerBounds: readonly number[]): number {
  let b = 0;
  while (b + 1 < lowerBounds.length && v >= lowerBounds[b + 1]!) b++;
  return b;
}

/** Feature slots per example. */
export const FEATURE_SLOTS = 11;

export class LogitFeatures {
  readonly taxonomy: Taxonomy;
  /** Total number of features. */
  readonly size: number;
  /** Names of the feature groups and their first id, for inspection. */
  readonly groups: { name: string; offset: number; size: number }[];
  private readonly K: number;
  private readonly off: Record<string, number>;
  private readonly minYear: number;
  private readonly maxYear: number;
  private readonly gender: Map<string, number>;
  private readonly ethnicity: Map<string, number>;
  private readonly region: Map<string, number>;
  private readonly education: Map<string, number>;

  constructor(taxonomy: Taxonomy, train: Panel) {
    this.taxonomy = taxonomy;
    this.K = taxonomy.size;
    const vocab = (values: Iterable<string>) => {
      const m = new Map<string, number>();
      for (const v of [...new Set(values)].sort()) m.set(v, m.size);
      return m;
    };
    this.gender = vocab(train.workers.map((w) => w.gender));
    this.ethnicity = vocab(train.workers.map((w) => w.ethnicity));
    this.region = vocab(train.workers.map((w) => w.region));
    this.education = new Map(EDUCATION_LEVELS.map((e, i) => [e, i]));
    let minYear = Infinity;
    let maxYear = -Infinity;
    for (const w of train.workers) {
      for (let i = 1; i < w.records.length; i++) {
        minYear = Math.min(minYear, w.records[i]!.year);
        maxYear = Math.max(maxYear, w.records[i]!.year);
      }
    }
    if (minYear > maxYear) minYear = maxYear = 0;
    this.minYear = minYear;
    this.maxYear = maxYear;
    const sizes: [string, number][] = [
      ['intercept', 1],
      ['previous', this.K],
      ['previous2', this.K + 1],
      ['tenure', DURATION_BUCKETS.length],
      ['totalYears', DURATION_BUCKETS.length],
      ['year', maxYear - minYear + 1],
      ['education', this.education.size],
      ['gender', this.gender.size],
      ['ethnicity', this.ethnicity.size],
      ['region', this.region.size],
      ['age', AGE_BUCKETS.length + 1],
    ];
    this.groups = [];
    this.off = {};
    let o = 0;
    for (const [name, size] of sizes) {
      this.groups.push({ name, offset: o, size });
      this.off[name] = o;
      o += size;
    }
    this.size = o;
  }

  /** Writes the FEATURE_SLOTS active feature ids of (worker, index) into out[at..at+FEATURE_SLOTS). */
  encode(worker: Worker, index: number, out: Int32Array, at: number): void {
    const recs = worker.records;
    const off = this.off;
    const rec = recs[index]!;
    const prev = recs[index - 1]!;
    const p1 = codeIndex(this.taxonomy, worker, index - 1);
    const p2 = index >= 2 ? codeIndex(this.taxonomy, worker, index - 2) : this.K;
    let start = index - 1;
    while (start > 0 && recs[start - 1]!.code === prev.code) start--;
    const tenure = prev.year - recs[start]!.year + 1;
    const total = prev.year - recs[0]!.year + 1;
    const year = Math.min(this.maxYear, Math.max(this.minYear, rec.year));
    const cat = (m: Map<string, number>, v: string, group: string) => {
      const k = m.get(v);
      return k === undefined ? -1 : off[group]! + k;
    };
    out[at] = off.intercept!;
    out[at + 1] = off.previous! + p1;
    out[at + 2] = off.previous2! + p2;
    out[at + 3] = off.tenure! + bucket(tenure, DURATION_BUCKETS);
    out[at + 4] = off.totalYears! + bucket(total, DURATION_BUCKETS);
    out[at + 5] = off.year! + (year - this.minYear);
    out[at + 6] = cat(this.education, rec.education, 'education');
    out[at + 7] = cat(this.gender, worker.gender, 'gender');
    out[at + 8] = cat(this.ethnicity, worker.ethnicity, 'ethnicity');
    out[at + 9] = cat(this.region, worker.region, 'region');
    out[at + 10] =
      off.age! + (worker.birthYear === null ? AGE_BUCKETS.length : bucket(rec.year - worker.birthYear, AGE_BUCKETS));
  }
}
