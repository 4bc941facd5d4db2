/**
 * Perplexity exp(-mean log p) over transitions. "normalized" uses the log-prob renormalized over the
 * taxonomy's titles, "raw" the unnormalized sequence log-prob; both are the same formula on different inputs.
 */

import { InputError } from '../errors.js';
import type { LogProbVariant, TransitionResult } from './types.js';

/** Log-probabilities above this are treated as rounding noise around 0 (probability 1). */
const LOG_PROB_SLACK = 1e-6;

function describe(r: TransitionResult): string {
  return `transition (worker "${r.workerId}", index ${r.index})`;
}

/** The chosen log-probability of one result, validated: finite and at most 0. */
export function logProbOf(r: TransitionResult, variant: LogProbVariant = 'normalized'): number {
  const v = variant === 'raw' ? r.rawLogProb : r.logProb;
  const field = variant === 'raw' ? 'rawLogProb' : 'logProb';
  if (v === undefined) {
    throw new InputError(`${describe(r)} has no ${field}; the raw variant needs results that store it`);
  }
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw new InputError(`${describe(r)}: ${field} is not a number (${String(v)})`);
  }
  if (v === -Infinity || !Number.isFinite(v)) {
    throw new InputError(
      `${describe(r)}: ${field} is ${v} (the model gave the observed title probability 0); perplexity would be infinite`,
    );
  }
  if (v > LOG_PROB_SLACK) {
    throw new InputError(`${describe(r)}: ${field} is ${v} > 0, which is not a log-probability`);
  }
  return v;
}

/** The chosen log-probabilities of all results, validated, in order. */
export function logProbsOf(results: readonly TransitionResult[], variant: LogProbVariant = 'normalized'): Float64Array {
  const out = new Float64Array(results.length);
  for (let i = 0; i < results.length; i++) out[i] = logProbOf(results[i]!, variant);
  return out;
}

/** Mean of log-probabilities (the negative of the cross-entropy in nats). */
export function meanLogProb(logProbs: ArrayLike<number>): number {
  if (logProbs.length === 0) throw new InputError('perplexity of an empty set of transitions is undefined');
  let s = 0;
  for (let i = 0; i < logProbs.length; i++) s += logProbs[i]!;
  return s / logProbs.length;
}

/** exp(-mean log p) over plain log-probabilities. */
export function perplexityOfLogProbs(logProbs: ArrayLike<number>): number {
  return Math.exp(-meanLogProb(logProbs));
}

/** exp(-mean log p) over transition results, with the normalized (default) or raw log-probs. */
export function perplexity(results: readonly TransitionResult[], variant: LogProbVariant = 'normalized'): number {
  return perplexityOfLogProbs(logProbsOf(results, variant));
}
