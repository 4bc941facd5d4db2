/**
 * Empirical transition frequencies, smoothed towards the marginal.
 *
 * With c(i, j) the training count of transitions from code i to code j, c(i) = sum_j c(i, j),
 * n(j) = sum_i c(i, j) the count of j as a next code and N the number of training transitions:
 *
 *   marginal   m(j)     = (n(j) + beta) / (N + beta K)                  (add-beta over all K codes)
 *   transition P(j | i) = (c(i, j) + alpha m(j)) / (c(i) + alpha)
 *
 * i.e. a Dirichlet prior of strength alpha centred on the marginal: rows with many observations follow their
 * own frequencies, rare rows lean on the marginal, and an unseen previous code backs off to it entirely.
 * Every code keeps probability > 0 (beta > 0), so no test transition gets an infinite loss.
 * alpha and beta are chosen on the validation split by grid search on its log-likelihood (the grid is small
 * and each point costs one pass over the distinct validation pairs); without a validation split the
 * defaults below are used. The first record of a worker (no previous code) gets the training split's
 * first-record frequencies (first-record.ts).
 */

import { InputError, StateError } from '../errors.js';
import type { Panel, Worker } from '../data/panel/types.js';
import type { Taxonomy } from '../data/taxonomy/taxonomy.js';
import { FirstRecordModel } from './first-record.js';
import type { FitReport, OccupationModel } from './model.js';
import { checkIndex, codeIndex, indexedTransitions } from './transitions.js';

export interface EmpiricalOptions {
  /** Fixed alpha (skips tuning of alpha). */
  alpha?: number;
  /** Fixed beta (skips tuning of beta). */
  beta?: number;
  alphaGrid?: readonly number[];
  betaGrid?: readonly number[];
}

export const DEFAULT_ALPHA = 10;
export const DEFAULT_BETA = 0.5;
const ALPHA_GRID = [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000];
const BETA_GRID = [0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 50];

export class EmpiricalTransitionModel implements OccupationModel {
  readonly name = 'empirical';
  readonly taxonomy: Taxonomy;
  private readonly K: number;
  private readonly opts: EmpiricalOptions;
  /** counts[i * K + j] = c(i, j). */
  private counts: Float64Array;
  private rowTotals: Float64Array;
  private nextTotals: Float64Array;
  private total = 0;
  private marginal: Float64Array;
  alpha: number;
  beta: number;
  private fitted = false;
  /** Record 0 has no previous code: the training split's first-record frequencies (first-record.ts). */
  private readonly first: FirstRecordModel;

  constructor(taxonomy: Taxonomy, opts: EmpiricalOptions = {}) {
    for (const [k, v] of [
      ['alpha', opts.alpha],
      ['beta', opts.beta],
    ] as const) {
      if (v !== undefined && !(v > 0 && Number.isFinite(v))) throw new InputError(`${k} must be a positive number, got ${v}`);
    }
    this.taxonomy = taxonomy;
    this.K = taxonomy.size;
    this.first = new FirstRecordModel(taxonomy);
    this.opts = opts;
    this.counts = new Float64Array(this.K * this.K);
    this.rowTotals = new Float64Array(this.K);
    this.nextTotals = new Float64Array(this.K);
    this.marginal = new Float64Array(this.K);
    this.alpha = opts.alpha ?? DEFAULT_ALPHA;
    this.beta = opts.beta ?? DEFAULT_BETA;
  }

  fit(train: Panel, valid?: Panel): FitReport {
    const t0 = performance.now();
    const K = this.K;
    this.counts.fill(0);
    this.rowTotals.fill(0);
    this.nextTotals.fill(0);
    const tr = indexedTransitions(train, this.taxonomy);
    if (tr.length === 0) throw new InputError('the training panel has no transitions (every worker has a single record)');
    for (const t of tr) {
      this.counts[t.from * K + t.to]! += 1;
      this.rowTotals[t.from]! += 1;
      this.nextTotals[t.to]! += 1;
    }
    this.total = tr.length;
    const details: FitReport['details'] = {};
    if (valid && (this.opts.alpha === undefined || this.opts.beta === undefined)) {
      const pairs = new Map<number, number>();
      for (const t of indexedTransitions(valid, this.taxonomy)) {
        const key = t.from * K + t.to;
        pairs.set(key, (pairs.get(key) ?? 0) + 1);
      }
      if (pairs.size > 0) {
        const alphas = this.opts.alpha !== undefined ? [this.opts.alpha] : (this.opts.alphaGrid ?? ALPHA_GRID);
        const betas = this.opts.beta !== undefined ? [this.opts.beta] : (this.opts.betaGrid ?? BETA_GRID);
        let best = { ll: -Infinity, alpha: this.alpha, beta: this.beta };
        let nValid = 0;
        for (const c of pairs.values()) nValid += c;
        for (const beta of betas) {
          for (const alpha of alphas) {
            let ll = 0;
            for (const [key, c] of pairs) {
              const i = Math.floor(key / K);
              const j = key - i * K;
              const m = (this.nextTotals[j]! + beta) / (this.total + beta * K);
              ll += c * Math.log((this.counts[key]! + alpha * m) / (this.rowTotals[i]! + alpha));
            }
            if (ll > best.ll) best = { ll, alpha, beta };
          }
        }
        this.alpha = best.alpha;
        this.beta = best.beta;
        details.validPerplexity = Math.exp(-best.ll / nValid);
        details.validTransitions = nValid;
      }
    }
    for (let j = 0; j < K; j++) this.marginal[j] = (this.nextTotals[j]! + this.beta) / (this.total + this.beta * K);
    this.fitted = true;
    details.alpha = this.alpha;
    details.beta = this.beta;
    Object.assign(details, this.first.fit(train, valid));
    return { model: this.name, transitions: tr.length, seconds: (performance.now() - t0) / 1000, details };
  }

  distribution(worker: Worker, index: number): Float64Array {
    if (!this.fitted) throw new StateError('the empirical model must be fitted before use');
    checkIndex(worker, index);
    if (index === 0) return this.first.distribution();
    const K = this.K;
    const i = codeIndex(this.taxonomy, worker, index - 1);
    const out = new Float64Array(K);
    const denom = this.rowTotals[i]! + this.alpha;
    const base = i * K;
    for (let j = 0; j < K; j++) out[j] = (this.counts[base + j]! + this.alpha * this.marginal[j]!) / denom;
    return out;
  }
}
