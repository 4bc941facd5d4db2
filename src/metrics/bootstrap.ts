/**
 * Worker-level bootstrap for perplexity.
 *
 * Transitions of one worker are dependent, so the resampling unit is the worker: a draw picks n workers
 * (n = number of distinct workers) uniformly with replacement and recomputes perplexity over all transitions
 * of the picked workers (a worker picked twice counts twice). Because perplexity only needs the sum of
 * log-probs and the number of transitions, each worker is reduced once to (count, sum) and a draw is a sum
 * over n sampled workers: O(B * n) instead of O(B * transitions).
 *
 * Conventions (stated once, used everywhere):
 * - Workers are indexed in order of first appearance in the (reference) results array; draw b samples
 *   indices with Rng(seed).nextInt(n), n per draw, draws in order b = 0..B-1. Same seed, same draws.
 * - SE = sample standard deviation of the B bootstrap statistics with the n-1 (here B-1) divisor.
 * - CI = percentile interval: the (1-level)/2 and (1+level)/2 quantiles of the B draws, quantiles by linear
 *   interpolation between order statistics (R's type 7).
 * - Point estimates are always the full-sample values, not the bootstrap means.
 * - Paired comparisons use the same draws for both models, so the SE of a difference accounts for the
 *   (usually strong) positive correlation between models scored on the same workers.
 */

import { InputError } from '../errors.js';
import { logProbsOf } from './perplexity.js';
import { Rng } from './rng.js';
import type { LogProbVariant, TransitionResult } from './types.js';

export interface BootstrapOptions {
  /** Number of bootstrap draws (default 1000). */
  B?: number;
  /** PRNG seed, integer in [0, 2^32) (default 0). */
  seed?: number;
  /** Confidence level of the percentile interval (default 0.95). */
  level?: number;
  /** Which log-probability to use (default "normalized"). */
  variant?: LogProbVariant;
}

export interface BootstrapEstimate {
  /** Full-sample value. */
  estimate: number;
  /** Standard deviation (B-1 divisor) of the bootstrap draws. */
  se: number;
  /** Percentile confidence interval [lower, upper]. */
  ci: [number, number];
}

export interface PerplexityEstimate extends BootstrapEstimate {
  transitions: number;
  workers: number;
  meanLogProb: number;
  /** The same bootstrap for log-perplexity (= -mean log p, cross-entropy in nats). */
  logPerplexity: BootstrapEstimate;
  B: number;
  seed: number;
  level: number;
}

export interface PairedComparison {
  a: PerplexityEstimate;
  b: PerplexityEstimate;
  /** perplexity(a) - perplexity(b). */
  difference: BootstrapEstimate;
  /** log perplexity(a) - log perplexity(b) = mean log p(b) - mean log p(a). */
  logDifference: BootstrapEstimate;
}

/**
 * Per-worker sufficient statistics for one or more models scored on the same transitions.
 * counts[w] = number of transitions of worker w; sums[m][w] = sum of model m's log-probs over them.
 */
export interface WorkerSums {
  workerIds: string[];
  counts: Float64Array;
  sums: Float64Array[];
}

interface ResolvedOptions {
  B: number;
  seed: number;
  level: number;
  variant: LogProbVariant;
}

function resolve(opts: BootstrapOptions): ResolvedOptions {
  const B = opts.B ?? 1000;
  const seed = opts.seed ?? 0;
  const level = opts.level ?? 0.95;
  if (!Number.isInteger(B) || B < 2) throw new InputError(`bootstrap B must be an integer >= 2, got ${B}`);
  if (!(level > 0 && level < 1)) throw new InputError(`confidence level must be in (0, 1), got ${level}`);
  return { B, seed, level, variant: opts.variant ?? 'normalized' };
}

/** Key of a transition: worker and record index identify it in every store. */
export function transitionKey(r: { workerId: string; index: number }): string {
  return `${r.workerId}\u0000${r.index}`;
}

function showKey(key: string): string {
  const [w, i] = key.split('\u0000');
  return `(worker "${w}", index ${i})`;
}

/**
 * Reorders `other` so that its i-th element is the same transition as `reference[i]`.
 * Errors clearly if either side has duplicates, a transition the other lacks, or a different observed code.
 */
export function alignResults(
  reference: readonly TransitionResult[],
  other: readonly TransitionResult[],
  names: [string, string] = ['a', 'b'],
): TransitionResult[] {
  const byKey = new Map<string, TransitionResult>();
  for (const r of other) {
    const k = transitionKey(r);
    if (byKey.has(k)) throw new InputError(`results of ${names[1]} contain transition ${showKey(k)} twice`);
    byKey.set(k, r);
  }
  const seen = new Set<string>();
  const out: TransitionResult[] = [];
  for (const r of reference) {
    const k = transitionKey(r);
    if (seen.has(k)) throw new InputError(`results of ${names[0]} contain transition ${showKey(k)} twice`);
    seen.add(k);
    const o = byKey.get(k);
    if (o === undefined) {
      throw new InputError(
        `models were not scored on the same transitions: ${names[0]} has ${showKey(k)}, ${names[1]} does not`,
      );
    }
    if (o.to !== r.to || o.from !== r.from) {
      throw new InputError(
        `transition ${showKey(k)} differs between models: ${names[0]} has ${r.from}->${r.to}, ${names[1]} has ${o.from}->${o.to}`,
      );
    }
    out.push(o);
  }
  if (other.length !== reference.length) {
    const missing = other.find((r) => !seen.has(transitionKey(r)));
    throw new InputError(
      `models were not scored on the same transitions: ${names[1]} has ${missing ? showKey(transitionKey(missing)) : 'extra transitions'}, ${names[0]} does not`,
    );
  }
  return out;
}

/**
 * Reduces aligned result arrays (all the same transitions in the same order) to per-worker sums.
 * Use alignResults first when the arrays come from different stores.
 */
export function workerSums(models: readonly (readonly TransitionResult[])[], variant: LogProbVariant = 'normalized'): WorkerSums {
  const first = models[0];
  if (first === undefined) throw new InputError('no models given');
  const workerIndex = new Map<string, number>();
  const workerOf = new Int32Array(first.length);
  const workerIds: string[] = [];
  for (let i = 0; i < first.length; i++) {
    const id = first[i]!.workerId;
    let w = workerIndex.get(id);
    if (w === undefined) {
      w = workerIds.length;
      workerIndex.set(id, w);
      workerIds.push(id);
    }
    workerOf[i] = w;
  }
  const n = workerIds.length;
  const counts = new Float64Array(n);
  for (let i = 0; i < first.length; i++) counts[workerOf[i]!]! += 1;
  const sums = models.map((results, m) => {
    if (results.length !== first.length) {
      throw new InputError(`model ${m} has ${results.length} results, model 0 has ${first.length}; align them first`);
    }
    const lp = logProbsOf(results, variant);
    const s = new Float64Array(n);
    for (let i = 0; i < lp.length; i++) {
      if (results[i]!.workerId !== first[i]!.workerId) {
        throw new InputError(`model ${m} result ${i} belongs to worker "${results[i]!.workerId}", model 0's to "${first[i]!.workerId}"; align them first`);
      }
      s[workerOf[i]!]! += lp[i]!;
    }
    return s;
  });
  return { workerIds, counts, sums };
}

/**
 * Bootstrap draws of the mean log-prob for every model in `ws`, all on the same resampled workers.
 * Returns one Float64Array of length B per model: draws[m][b] = (sum of sampled sums) / (sum of sampled counts).
 */
export function bootstrapMeanLogProbs(ws: WorkerSums, B: number, seed: number): Float64Array[] {
  const n = ws.workerIds.length;
  if (n === 0) throw new InputError('cannot bootstrap an empty set of transitions');
  const M = ws.sums.length;
  const draws = ws.sums.map(() => new Float64Array(B));
  const rng = new Rng(seed);
  const counts = ws.counts;
  const picks = new Int32Array(n);
  if (M === 1) {
    // The common case, kept free of the inner model loop.
    const s0 = ws.sums[0]!;
    const d0 = draws[0]!;
    for (let b = 0; b < B; b++) {
      rng.fillInt(n, picks);
      let N = 0;
      let S = 0;
      for (let i = 0; i < n; i++) {
        const w = picks[i]!;
        N += counts[w]!;
        S += s0[w]!;
      }
      d0[b] = S / N;
    }
    return draws;
  }
  // Interleaved copy (worker-major) so that one sampled worker's sums for all models are adjacent.
  const inter = new Float64Array(n * M);
  for (let m = 0; m < M; m++) {
    const s = ws.sums[m]!;
    for (let w = 0; w < n; w++) inter[w * M + m] = s[w]!;
  }
  const S = new Float64Array(M);
  for (let b = 0; b < B; b++) {
    rng.fillInt(n, picks);
    let N = 0;
    S.fill(0);
    for (let i = 0; i < n; i++) {
      const w = picks[i]!;
      N += counts[w]!;
      const base = w * M;
      for (let m = 0; m < M; m++) S[m]! += inter[base + m]!;
    }
    for (let m = 0; m < M; m++) draws[m]![b] = S[m]! / N;
  }
  return draws;
}

/** Sample standard deviation with the n-1 divisor. */
export function sampleSd(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += xs[i]!;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = xs[i]! - mean;
    ss += d * d;
  }
  return Math.sqrt(ss / (n - 1));
}

/** Quantile by linear interpolation between order statistics (R type 7) of an ascending-sorted array. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Full-sample estimate + bootstrap SE and percentile CI from draws of the same statistic. */
export function summarizeDraws(estimate: number, draws: Float64Array, level: number): BootstrapEstimate {
  const sorted = Float64Array.from(draws).sort();
  const alpha = (1 - level) / 2;
  return {
    estimate,
    se: sampleSd(draws),
    ci: [quantileSorted(sorted, alpha), quantileSorted(sorted, 1 - alpha)],
  };
}

function mapDraws(draws: Float64Array, f: (x: number) => number): Float64Array {
  const out = new Float64Array(draws.length);
  for (let i = 0; i < draws.length; i++) out[i] = f(draws[i]!);
  return out;
}

function perplexityEstimate(ws: WorkerSums, m: number, meanDraws: Float64Array, o: ResolvedOptions): PerplexityEstimate {
  let N = 0;
  let S = 0;
  for (let w = 0; w < ws.workerIds.length; w++) {
    N += ws.counts[w]!;
    S += ws.sums[m]![w]!;
  }
  const mean = S / N;
  const ppl = summarizeDraws(Math.exp(-mean), mapDraws(meanDraws, (x) => Math.exp(-x)), o.level);
  return {
    ...ppl,
    transitions: N,
    workers: ws.workerIds.length,
    meanLogProb: mean,
    logPerplexity: summarizeDraws(-mean, mapDraws(meanDraws, (x) => -x), o.level),
    B: o.B,
    seed: o.seed,
    level: o.level,
  };
}

/** Perplexity with worker-level bootstrap SE and percentile CI. */
export function bootstrapPerplexity(results: readonly TransitionResult[], opts: BootstrapOptions = {}): PerplexityEstimate {
  const o = resolve(opts);
  const ws = workerSums([results], o.variant);
  const draws = bootstrapMeanLogProbs(ws, o.B, o.seed);
  return perplexityEstimate(ws, 0, draws[0]!, o);
}

export interface NamedResults {
  name: string;
  results: readonly TransitionResult[];
}

export interface ModelComparison {
  models: (PerplexityEstimate & { name: string })[];
  /** Differences of every non-reference model against the reference (model - reference). */
  differences: { name: string; reference: string; difference: BootstrapEstimate; logDifference: BootstrapEstimate }[];
}

/**
 * Several models on the same transitions, one set of bootstrap draws for all: per-model perplexities and
 * each model's difference against `reference` (default: the first model). Arrays may be in any order;
 * they are aligned on (workerId, index) and must hold exactly the same transitions.
 */
export function compareModels(
  models: readonly NamedResults[],
  opts: BootstrapOptions & { reference?: string } = {},
): ModelComparison {
  const o = resolve(opts);
  const first = models[0];
  if (first === undefined) throw new InputError('no models to compare');
  const names = new Set<string>();
  for (const m of models) {
    if (names.has(m.name)) throw new InputError(`model name "${m.name}" given twice`);
    names.add(m.name);
  }
  const refName = opts.reference ?? first.name;
  const refIdx = models.findIndex((m) => m.name === refName);
  if (refIdx < 0) throw new InputError(`reference model "${refName}" is not among ${[...names].join(', ')}`);
  const aligned = models.map((m, i) => (i === 0 ? first.results : alignResults(first.results, m.results, [first.name, m.name])));
  const ws = workerSums(aligned, o.variant);
  const draws = bootstrapMeanLogProbs(ws, o.B, o.seed);
  const est = models.map((m, i) => ({ name: m.name, ...perplexityEstimate(ws, i, draws[i]!, o) }));
  const ref = est[refIdx]!;
  const refDraws = draws[refIdx]!;
  const differences = est
    .map((e, i) => ({ e, i }))
    .filter(({ i }) => i !== refIdx)
    .map(({ e, i }) => {
      const d = draws[i]!;
      const pplDiff = new Float64Array(o.B);
      const logDiff = new Float64Array(o.B);
      for (let b = 0; b < o.B; b++) {
        pplDiff[b] = Math.exp(-d[b]!) - Math.exp(-refDraws[b]!);
        logDiff[b] = refDraws[b]! - d[b]!;
      }
      return {
        name: e.name,
        reference: ref.name,
        difference: summarizeDraws(e.estimate - ref.estimate, pplDiff, o.level),
        logDifference: summarizeDraws(ref.meanLogProb - e.meanLogProb, logDiff, o.level),
      };
    });
  return { models: est, differences };
}

/** Paired comparison of two models on the same bootstrap draws: a - b. */
export function comparePair(
  a: readonly TransitionResult[],
  b: readonly TransitionResult[],
  opts: BootstrapOptions = {},
): PairedComparison {
  // `a` first so that workers are ordered as in bootstrapPerplexity(a): its draws are reproduced exactly.
  const cmp = compareModels(
    [
      { name: 'a', results: a },
      { name: 'b', results: b },
    ],
    { ...opts, reference: 'b' },
  );
  const d = cmp.differences[0]!;
  const { name: _a, ...ea } = cmp.models[0]!;
  const { name: _b, ...eb } = cmp.models[1]!;
  return { a: ea, b: eb, difference: d.difference, logDifference: d.logDifference };
}
