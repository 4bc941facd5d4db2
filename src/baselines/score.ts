/**
 * Scores an occupation model on a list of transitions into TransitionResults: the same records the LLM
 * evaluation stores, so that baselines and LLMs are compared on exactly the same transitions.
 */

import { InputError } from '../errors.js';
import { eventProbabilities, type LaborForceDefinition } from '../metrics/binary.js';
import type { TopKEntry, TransitionResult } from '../metrics/types.js';
import type { Panel, PredictedRecord, Transition, Worker } from '../data/panel/types.js';
import { SPECIAL_STATES, type Taxonomy } from '../data/taxonomy/taxonomy.js';
import type { OccupationModel } from './model.js';

/**
 * Codes of `taxonomy` outside the labor force (may be empty): in education and not in labor force by the
 * official definition (the unemployed are in the labor force); the unemployed too by `employed`.
 */
export function notInLaborForceCodes(taxonomy: Taxonomy, definition: LaborForceDefinition = 'official'): string[] {
  const out = definition === 'official' ? [SPECIAL_STATES.inEducation, SPECIAL_STATES.notInLaborForce] : [SPECIAL_STATES.inEducation, SPECIAL_STATES.unemployed, SPECIAL_STATES.notInLaborForce];
  return out.filter((c) => taxonomy.has(c));
}

/** Tolerance on sum(distribution) = 1: a model off by more has a bug and is stopped. */
const SUM_TOLERANCE = 1e-6;

export interface ScoreOptions {
  /** How many top codes to keep per transition (default 10). */
  topK?: number;
  /** Called after each transition (progress bars). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The TransitionResult of one distribution: log-prob of the true code, its rank and ties, the top-k codes
 * and the binary-task event probabilities. Baselines are normalized, so rawLogProb = logProb, validMass = 1.
 */
export function resultFromDistribution(
  taxonomy: Taxonomy,
  dist: ArrayLike<number>,
  t: PredictedRecord,
  opts: { topK?: number; notInLaborForce?: readonly string[]; codes?: readonly string[] } = {},
): TransitionResult {
  const topK = opts.topK ?? 10;
  const notInLaborForce = opts.notInLaborForce ?? notInLaborForceCodes(taxonomy);
  // Callers scoring many transitions pass taxonomy.codes() once (it builds a new array per call).
  const codes = opts.codes ?? taxonomy.codes();
  const K = codes.length;
  if (dist.length !== K) throw new InputError(`distribution has ${dist.length} entries, taxonomy "${taxonomy.name}" has ${K} codes`);
  let sum = 0;
  for (let j = 0; j < K; j++) {
    const p = dist[j]!;
    if (!(p >= 0) || !Number.isFinite(p)) throw new InputError(`probability of code "${codes[j]}" is ${p}`);
    sum += p;
  }
  if (Math.abs(sum - 1) > SUM_TOLERANCE) throw new InputError(`distribution sums to ${sum}, not 1`);
  const truth = taxonomy.indexOf(t.to);
  if (truth < 0) throw new InputError(`worker "${t.workerId}", index ${t.index}: code "${t.to}" is not in taxonomy "${taxonomy.name}"`);
  const pt = dist[truth]!;
  let greater = 0;
  let ties = 0;
  for (let j = 0; j < K; j++) {
    const p = dist[j]!;
    if (p > pt) greater++;
    else if (p === pt) ties++;
  }
  const top: TopKEntry[] = topEntries(dist, codes, Math.min(topK, K));
  const ev = eventProbabilities(codes, dist, t.from, notInLaborForce);
  const logProb = Math.log(pt);
  return {
    workerId: t.workerId,
    index: t.index,
    year: t.year,
    from: t.from,
    to: t.to,
    logProb,
    rawLogProb: logProb,
    validMass: 1,
    rank: greater + 1,
    ties,
    topK: top,
    ...(t.from !== null ? { pSame: ev.pSame } : {}),
    pLaborForce: ev.pLaborForce,
  };
}

/**
 * The k most probable codes, most probable first, ties in taxonomy order. A bounded insertion pass:
 * O(K k) instead of sorting all K codes for every transition.
 */
export function topEntries(dist: ArrayLike<number>, codes: readonly string[], k: number): TopKEntry[] {
  const idx: number[] = [];
  for (let j = 0; j < dist.length; j++) {
    const p = dist[j]!;
    if (idx.length === k && p <= dist[idx[k - 1]!]!) continue;
    // Insert after every entry with probability >= p (so earlier codes win ties).
    let pos = idx.length;
    while (pos > 0 && dist[idx[pos - 1]!]! < p) pos--;
    idx.splice(pos, 0, j);
    if (idx.length > k) idx.pop();
  }
  return idx.map((j) => ({ code: codes[j]!, prob: dist[j]! }));
}

/** Scores `model` on `transitions` of `panel` (typically the test split's transitions). */
export function scoreBaseline(
  model: OccupationModel,
  panel: Panel,
  transitions: readonly Transition[],
  opts: ScoreOptions = {},
): TransitionResult[] {
  const byId = new Map<string, Worker>();
  for (const w of panel.workers) byId.set(w.id, w);
  const ctx = { topK: opts.topK ?? 10, notInLaborForce: notInLaborForceCodes(model.taxonomy), codes: model.taxonomy.codes() };
  const out: TransitionResult[] = [];
  for (const t of transitions) {
    const w = byId.get(t.workerId);
    if (!w) throw new InputError(`transition of worker "${t.workerId}" but the panel has no such worker`);
    const rec = w.records[t.index];
    const prev = w.records[t.index - 1];
    if (!rec || !prev || rec.code !== t.to || prev.code !== t.from || rec.year !== t.year) {
      throw new InputError(`transition (worker "${t.workerId}", index ${t.index}) does not match the panel's records`);
    }
    const dist = model.distribution(w, t.index);
    try {
      out.push(resultFromDistribution(model.taxonomy, dist, t, ctx));
    } catch (e) {
      if (e instanceof InputError) {
        throw new InputError(`model "${model.name}", worker "${t.workerId}", index ${t.index}: ${e.message}`, undefined, { cause: e });
      }
      throw e;
    }
    opts.onProgress?.(out.length, transitions.length);
  }
  return out;
}
