/**
 * The demographic randomization ablation: gender, ethnicity and region are each permuted across the
 * workers of a panel (independently, seeded), so every value keeps its frequency but loses its link with
 * the worker's career. A worker's state, when present, moves together with its region so the two stay
 * consistent. Careers, ids, datasets and birth years are untouched.
 */
import type { Panel, Worker } from '../panel/types.js';
import { hash32, Prng } from '../synth/prng.js';

export const DEMOGRAPHIC_FIELDS = ['gender', 'ethnicity', 'region'] as const;
export type DemographicField = (typeof DEMOGRAPHIC_FIELDS)[number];

export interface RandomizeOptions {
  seed: number;
  /** Which traits to shuffle (default: all three). */
  fields?: readonly DemographicField[];
}

export function randomizeDemographics(panel: Panel, opts: RandomizeOptions): Panel {
  const workers: Worker[] = panel.workers.map((w) => ({ ...w }));
  for (const field of opts.fields ?? DEMOGRAPHIC_FIELDS) {
    // One independent permutation per field, so the joint distribution of the traits is broken too.
    const order = new Prng(hash32(field, opts.seed)).shuffle(workers.map((_, i) => i));
    order.forEach((from, to) => {
      const target = workers[to] as Worker;
      const source = panel.workers[from] as Worker;
      target[field] = source[field];
      if (field === 'region') {
        if (source.state === undefined) delete target.state;
        else target.state = source.state;
      }
    });
  }
  return { taxonomy: panel.taxonomy, workers };
}
