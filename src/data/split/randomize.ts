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

/**
 * randomizeDemographics within groups of workers: each group (e.g. the test workers of one survey) is
 * permuted on its own, so values never move between groups, and workers whose group is undefined keep
 * their traits. Worker order is kept. Each group's permutation is seeded by (seed, group name).
 */
export function randomizeDemographicsWithin(
  panel: Panel,
  groupOf: (worker: Worker) => string | undefined,
  opts: RandomizeOptions,
): Panel {
  const members = new Map<string, number[]>();
  panel.workers.forEach((w, i) => {
    const g = groupOf(w);
    if (g === undefined) return;
    const list = members.get(g) ?? [];
    list.push(i);
    members.set(g, list);
  });
  const workers = [...panel.workers];
  for (const [group, indices] of members) {
    const part = randomizeDemographics(
      { taxonomy: panel.taxonomy, workers: indices.map((i) => panel.workers[i] as Worker) },
      { ...opts, seed: hash32(group, opts.seed) },
    );
    indices.forEach((i, k) => {
      workers[i] = part.workers[k] as Worker;
    });
  }
  return { taxonomy: panel.taxonomy, workers };
}
