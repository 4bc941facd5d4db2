/**
 * The binary tasks derived from next-occupation prediction, as in the paper:
 *
 * - "sameOccupation": the worker stays in the same occupation, i.e. next code === previous code.
 *   (For a worker previously unemployed/in education/not in the labor force this means staying in that state.)
 * - "laborForce": the next state is in the labor force, i.e. an occupation or the military, as opposed to the
 *   non-working states in education / unemployed / not in labor force (occ1990dd codes 9001, 9002, 9003;
 *   another taxonomy passes its own set). With `among: 'previousInLaborForce'` the task is restricted to
 *   transitions whose previous state was in the labor force, i.e. it reads "stays in the labor force".
 *
 * A model's probability of an event is the sum of its normalized title probabilities over the event's codes
 * (eventProbabilities, computed from the full distribution at scoring time and stored as pSame/pLaborForce).
 * Metrics: log-loss, Brier score, AUC (rank-based, ties get average ranks = Mann-Whitney U / (P * N)),
 * calibration bins with equal width or equal count.
 */

import { InputError } from '../errors.js';
import type { TransitionResult } from './types.js';

/** occ1990dd codes of the states outside the labor force: in education, unemployed, not in labor force. */
export const OCC1990DD_NOT_IN_LABOR_FORCE: readonly string[] = ['9001', '9002', '9003'];

export type BinaryTaskName = 'sameOccupation' | 'laborForce';

export interface EventProbabilities {
  pSame: number;
  pLaborForce: number;
}

/**
 * Event probabilities from a full normalized distribution aligned with `codes`.
 * pSame = dist[code of `from`] (0 if `from` is not a code); pLaborForce = mass outside `notInLaborForce`.
 */
export function eventProbabilities(
  codes: readonly string[],
  dist: ArrayLike<number>,
  from: string | null,
  notInLaborForce: readonly string[] = OCC1990DD_NOT_IN_LABOR_FORCE,
): EventProbabilities {
  if (codes.length !== dist.length) {
    throw new InputError(`distribution has ${dist.length} entries, the taxonomy ${codes.length} codes`);
  }
  let pSame = 0;
  let pOut = 0;
  let total = 0;
  for (let i = 0; i < codes.length; i++) {
    const p = dist[i]!;
    total += p;
    if (codes[i] === from) pSame += p;
    if (notInLaborForce.includes(codes[i]!)) pOut += p; // a handful of codes: a scan beats a Set built per call
  }
  // Computing in-labor-force as total - out keeps the two complementary even with rounding in `total`.
  return { pSame, pLaborForce: Math.max(0, total - pOut) };
}

export function inLaborForce(code: string, notInLaborForce: readonly string[] = OCC1990DD_NOT_IN_LABOR_FORCE): boolean {
  return !notInLaborForce.includes(code);
}

export interface BinaryTaskOptions {
  notInLaborForce?: readonly string[];
  /** Which transitions the task covers (default "all"). */
  among?: 'all' | 'previousInLaborForce';
}

/** Outcomes y (0/1) and model probabilities p for a binary task, over the covered transitions. */
export interface BinaryData {
  y: Uint8Array;
  p: Float64Array;
}

const PROB_SLACK = 1e-9;

function checkProb(p: number | undefined, r: TransitionResult, field: string): number {
  if (p === undefined) {
    throw new InputError(
      `transition (worker "${r.workerId}", index ${r.index}) has no ${field}; score with the full distribution to get it`,
    );
  }
  if (!(p >= -PROB_SLACK && p <= 1 + PROB_SLACK)) {
    throw new InputError(`transition (worker "${r.workerId}", index ${r.index}): ${field} = ${p} is not a probability`);
  }
  return Math.min(1, Math.max(0, p));
}

export function binaryTaskData(
  results: readonly TransitionResult[],
  task: BinaryTaskName,
  opts: BinaryTaskOptions = {},
): BinaryData {
  const nilf = opts.notInLaborForce ?? OCC1990DD_NOT_IN_LABOR_FORCE;
  const among = opts.among ?? 'all';
  const ys: number[] = [];
  const ps: number[] = [];
  for (const r of results) {
    // A first record has no previous state: it is in neither "same occupation" nor "stays in the labor force".
    if ((task === 'sameOccupation' || among === 'previousInLaborForce') && r.from === null) continue;
    if (among === 'previousInLaborForce' && !inLaborForce(r.from!, nilf)) continue;
    if (task === 'sameOccupation') {
      ys.push(r.to === r.from ? 1 : 0);
      ps.push(checkProb(r.pSame, r, 'pSame'));
    } else {
      ys.push(inLaborForce(r.to, nilf) ? 1 : 0);
      ps.push(checkProb(r.pLaborForce, r, 'pLaborForce'));
    }
  }
  return { y: Uint8Array.from(ys), p: Float64Array.from(ps) };
}

function checkPair(y: ArrayLike<number>, p: ArrayLike<number>): void {
  if (y.length !== p.length) throw new InputError(`${y.length} outcomes but ${p.length} probabilities`);
  if (y.length === 0) throw new InputError('binary metrics of an empty set are undefined');
}

/** Probabilities are clipped to [LOG_LOSS_EPS, 1 - LOG_LOSS_EPS] so a confident miss costs ~34.5 nats, not Infinity. */
export const LOG_LOSS_EPS = 1e-15;

/** Mean negative log-likelihood (nats) of the outcomes. */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p);
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, p[i]!));
    s -= y[i] ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

/** Mean squared error of the probabilities. */
export function brierScore(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p);
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const d = p[i]! - (y[i] ? 1 : 0);
    s += d * d;
  }
  return s / y.length;
}

/**
 * Area under the ROC curve = P(p of a random positive > p of a random negative) + 0.5 P(equal).
 * O(n log n) via average ranks. NaN when only one class is present.
 */
export function auc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p);
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[a]! - p[b]!);
  let rankSumPos = 0;
  let pos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && p[order[j + 1]!]! === p[order[i]!]!) j++;
    const avgRank = (i + j) / 2 + 1; // ranks are 1-based
    for (let k = i; k <= j; k++) {
      if (y[order[k]!]) {
        rankSumPos += avgRank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export interface CalibrationBin {
  /** Bin bounds: for equal-width the nominal edges, for equal-count the smallest and largest p in it. */
  lo: number;
  hi: number;
  count: number;
  /** Mean predicted probability in the bin (null when empty). */
  meanPredicted: number | null;
  /** Observed event rate in the bin (null when empty). */
  observedRate: number | null;
}

export type CalibrationStrategy = 'equalWidth' | 'equalCount';

/**
 * Reliability bins. equalWidth: k bins [j/k, (j+1)/k), the last closed at 1, empty bins kept (count 0).
 * equalCount: sort by p and cut into k consecutive runs of floor/ceil(n/k) items (ties may straddle a cut);
 * with n < k there are n bins.
 */
export function calibrationBins(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  bins = 10,
  strategy: CalibrationStrategy = 'equalWidth',
): CalibrationBin[] {
  checkPair(y, p);
  if (!Number.isInteger(bins) || bins < 1) throw new InputError(`bins must be an integer >= 1, got ${bins}`);
  const n = y.length;
  const out: CalibrationBin[] = [];
  const finish = (lo: number, hi: number, count: number, sp: number, sy: number): CalibrationBin => ({
    lo,
    hi,
    count,
    meanPredicted: count ? sp / count : null,
    observedRate: count ? sy / count : null,
  });
  if (strategy === 'equalWidth') {
    const count = new Float64Array(bins);
    const sp = new Float64Array(bins);
    const sy = new Float64Array(bins);
    for (let i = 0; i < n; i++) {
      const q = p[i]!;
      const j = Math.min(bins - 1, Math.max(0, Math.floor(q * bins)));
      count[j]! += 1;
      sp[j]! += q;
      sy[j]! += y[i] ? 1 : 0;
    }
    for (let j = 0; j < bins; j++) out.push(finish(j / bins, (j + 1) / bins, count[j]!, sp[j]!, sy[j]!));
    return out;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[a]! - p[b]! || a - b);
  const k = Math.min(bins, n);
  for (let j = 0; j < k; j++) {
    const start = Math.floor((j * n) / k);
    const end = Math.floor(((j + 1) * n) / k);
    let sp = 0;
    let sy = 0;
    for (let t = start; t < end; t++) {
      sp += p[order[t]!]!;
      sy += y[order[t]!] ? 1 : 0;
    }
    out.push(finish(p[order[start]!]!, p[order[end - 1]!]!, end - start, sp, sy));
  }
  return out;
}

/** Expected calibration error: count-weighted mean |meanPredicted - observedRate| over non-empty bins. */
export function expectedCalibrationError(binsOut: readonly CalibrationBin[]): number {
  let n = 0;
  let s = 0;
  for (const b of binsOut) {
    if (b.count === 0) continue;
    n += b.count;
    s += b.count * Math.abs(b.meanPredicted! - b.observedRate!);
  }
  return n ? s / n : NaN;
}

export interface BinaryTaskReport {
  task: BinaryTaskName;
  n: number;
  /** Observed event rate. */
  rate: number;
  logLoss: number;
  brier: number;
  auc: number;
  calibration: { equalWidth: CalibrationBin[]; equalCount: CalibrationBin[]; eceEqualWidth: number; eceEqualCount: number };
}

/** All binary-task metrics for one task over a model's results. */
export function binaryTaskReport(
  results: readonly TransitionResult[],
  task: BinaryTaskName,
  opts: BinaryTaskOptions & { bins?: number } = {},
): BinaryTaskReport {
  const { y, p } = binaryTaskData(results, task, opts);
  const bins = opts.bins ?? 10;
  const equalWidth = calibrationBins(y, p, bins, 'equalWidth');
  const equalCount = calibrationBins(y, p, bins, 'equalCount');
  let pos = 0;
  for (const v of y) pos += v;
  return {
    task,
    n: y.length,
    rate: pos / y.length,
    logLoss: logLoss(y, p),
    brier: brierScore(y, p),
    auc: auc(y, p),
    calibration: {
      equalWidth,
      equalCount,
      eceEqualWidth: expectedCalibrationError(equalWidth),
      eceEqualCount: expectedCalibrationError(equalCount),
    },
  };
}
