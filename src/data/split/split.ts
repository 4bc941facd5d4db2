/**
 * Worker-level train/valid/test splits (70/10/20 by default).
 *
 * A worker's split is a pure function of its id and the seed: the id is hashed (hash32 of the id under
 * the seed) to a number u in [0, 1), and u < train goes to train, u < train + valid to valid, the rest to
 * test. No shuffle of the panel is involved, so adding or removing workers never moves any other worker,
 * the three parts are disjoint and together hold every worker, and the proportions hold in expectation.
 * All records of a worker stay together (no worker appears in two parts).
 */
import { InputError } from '../../errors.js';
import type { Panel } from '../panel/types.js';
import { hashUnit } from '../synth/prng.js';

export const SPLIT_NAMES = ['train', 'valid', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

export interface SplitFractions {
  train: number;
  valid: number;
  test: number;
}

export const DEFAULT_FRACTIONS: SplitFractions = { train: 0.7, valid: 0.1, test: 0.2 };

export interface SplitOptions {
  seed: number;
  fractions?: SplitFractions;
}

export function checkFractions(f: SplitFractions): void {
  for (const name of SPLIT_NAMES) {
    if (!Number.isFinite(f[name]) || f[name] < 0) throw new InputError(`split fraction "${name}" must be a number >= 0, got ${f[name]}`);
  }
  const total = f.train + f.valid + f.test;
  if (Math.abs(total - 1) > 1e-9) throw new InputError(`split fractions must sum to 1, got ${total}`);
}

/** The split of the worker with id `workerId` under `seed`. */
export function splitOf(workerId: string, seed: number, fractions: SplitFractions = DEFAULT_FRACTIONS): SplitName {
  const u = hashUnit(workerId, seed);
  if (u < fractions.train) return 'train';
  if (u < fractions.train + fractions.valid) return 'valid';
  return 'test';
}

/** Splits a panel into three panels (same taxonomy), each keeping the panel's worker order. */
export function splitPanel(panel: Panel, opts: SplitOptions): Record<SplitName, Panel> {
  const fractions = opts.fractions ?? DEFAULT_FRACTIONS;
  checkFractions(fractions);
  if (!Number.isInteger(opts.seed)) throw new InputError(`the split seed must be an integer, got ${opts.seed}`);
  const out: Record<SplitName, Panel> = {
    train: { taxonomy: panel.taxonomy, workers: [] },
    valid: { taxonomy: panel.taxonomy, workers: [] },
    test: { taxonomy: panel.taxonomy, workers: [] },
  };
  for (const w of panel.workers) out[splitOf(w.id, opts.seed, fractions)].workers.push(w);
  return out;
}
