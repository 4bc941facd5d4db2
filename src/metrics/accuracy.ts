/**
 * Top-k accuracy from stored ranks. Ties are credited fractionally: with g codes strictly more probable
 * than the true one and t codes tied with it (itself included), a uniformly random tie-break puts the
 * true code in the top k with probability clamp((k - g) / t, 0, 1). Without this a uniform model would
 * score top-1 accuracy 1 (every code has rank 1); with it, it scores k / K as it should.
 */

import { InputError } from '../errors.js';
import type { TransitionResult } from './types.js';

/** Probability that the true code is among the k best, for one result. */
export function topKCredit(r: Pick<TransitionResult, 'rank' | 'ties'>, k: number): number {
  const ties = r.ties ?? 1;
  if (!Number.isInteger(r.rank) || r.rank < 1) throw new InputError(`rank must be an integer >= 1, got ${r.rank}`);
  if (!Number.isInteger(ties) || ties < 1) throw new InputError(`ties must be an integer >= 1, got ${ties}`);
  const better = r.rank - 1;
  return Math.min(1, Math.max(0, (k - better) / ties));
}

/** Mean top-k accuracy over results. */
export function topKAccuracy(results: readonly Pick<TransitionResult, 'rank' | 'ties'>[], k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new InputError(`k must be an integer >= 1, got ${k}`);
  if (results.length === 0) throw new InputError('accuracy of an empty set of transitions is undefined');
  let s = 0;
  for (const r of results) s += topKCredit(r, k);
  return s / results.length;
}

export interface Accuracy {
  top1: number;
  top5: number;
}

export function accuracy(results: readonly Pick<TransitionResult, 'rank' | 'ties'>[]): Accuracy {
  return { top1: topKAccuracy(results, 1), top5: topKAccuracy(results, 5) };
}
