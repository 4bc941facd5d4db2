/**
 * Training mixtures of several survey panels, as in the paper:
 * - mixUnion: a subsample of the union of the datasets (e.g. as many workers as one dataset has);
 * - mixBasePlus: all of a base dataset plus P% of the workers of each other dataset.
 * Build mixtures from panels that are already split (mix the train parts), so that every worker keeps the
 * split it has in its own dataset.
 *
 * Selection is by hash, not by shuffle: a worker is identified by (dataset, id) and gets u = hash of that
 * key under the seed in [0, 1). mixBasePlus keeps the workers with u < P/100, so a larger P keeps a superset;
 * mixUnion keeps the N workers with the smallest u, so the result does not depend on the input order.
 *
 * Ids in a mixture are rewritten to "DATASET:id" (always, so that workers of different surveys that share
 * an id stay distinct); each worker's `dataset` field is kept, and with it its resume header.
 */
import { InputError } from '../errors.js';
import type { Panel, Worker } from '../panel/types.js';
import { hash32 } from '../synth/prng.js';

function workerKey(w: Worker): string {
  return `${w.dataset}\u0000${w.id}`;
}

function mixtureId(w: Worker): string {
  return `${w.dataset}:${w.id}`;
}

function commonTaxonomy(panels: readonly Panel[]): string {
  const first = panels[0];
  if (!first) throw new InputError('a mixture needs at least one panel');
  for (const p of panels) {
    if (p.taxonomy !== first.taxonomy) {
      throw new InputError(`cannot mix panels on different taxonomies ("${first.taxonomy}" and "${p.taxonomy}")`);
    }
  }
  return first.taxonomy;
}

function renamed(workers: readonly Worker[]): Worker[] {
  const seen = new Set<string>();
  return workers.map((w) => {
    const id = mixtureId(w);
    if (seen.has(id)) throw new InputError(`worker "${w.id}" of dataset "${w.dataset}" appears twice in the mixture`);
    seen.add(id);
    return { ...w, id };
  });
}

export interface UnionOptions {
  seed: number;
  /** How many workers to keep (default: all). At most the size of the union. */
  workers?: number;
}

/** A subsample of `workers` workers of the union of `panels`, in the order of the inputs. */
export function mixUnion(panels: readonly Panel[], opts: UnionOptions): Panel {
  const taxonomy = commonTaxonomy(panels);
  const all = panels.flatMap((p) => p.workers);
  const n = opts.workers ?? all.length;
  if (!Number.isInteger(n) || n < 0 || n > all.length) {
    throw new InputError(`a union mixture can keep 0..${all.length} workers, asked for ${opts.workers}`);
  }
  // Rank by (hash, key) so ties between equal hashes are still broken independently of input order.
  const ranked = all
    .map((w, i) => ({ i, h: hash32(workerKey(w), opts.seed), key: workerKey(w) }))
    .sort((a, b) => a.h - b.h || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const keep = new Set(ranked.slice(0, n).map((r) => r.i));
  return { taxonomy, workers: renamed(all.filter((_, i) => keep.has(i))) };
}

export interface BasePlusOptions {
  seed: number;
  /** Percentage (0-100) of each other dataset's workers to add. */
  percent: number;
}

/** All workers of `base` plus `percent`% of the workers of each panel in `others`. */
export function mixBasePlus(base: Panel, others: readonly Panel[], opts: BasePlusOptions): Panel {
  const taxonomy = commonTaxonomy([base, ...others]);
  if (!Number.isFinite(opts.percent) || opts.percent < 0 || opts.percent > 100) {
    throw new InputError(`percent must be between 0 and 100, got ${opts.percent}`);
  }
  const threshold = opts.percent / 100;
  const added = others.flatMap((p) => p.workers.filter((w) => hash32(workerKey(w), opts.seed) / 4294967296 < threshold));
  return { taxonomy, workers: renamed([...base.workers, ...added]) };
}
