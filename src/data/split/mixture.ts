/**
 * Training mixtures of several survey panels, as the paper defines them (talk lines 426-455):
 * - setting 1, mixUnion: a subsample of the union of the datasets' training workers; the paper's rows are
 *   P = 20, 40, 60, 80, 100% of the union (N = floor(P/100 * union): 7,352 ... 36,762; see shareOf);
 * - setting 2, mixBasePlus: all of a base dataset plus P% of the BASE's worker count, drawn from the
 *   other datasets together (N = floor(P/100 * base); the paper's P = 10, 30, 50, 70).
 * Build mixtures from panels that are already split (mix the train parts), so that every worker keeps the
 * split it has in its own dataset.
 *
 * Selection is by hash, not by shuffle: a worker is identified by (dataset, id) and ranked by the hash of
 * that key under the seed; both settings keep the N workers of lowest rank, so the result does not depend
 * on the input order and a larger N keeps a superset (the +30% mixture contains the +10% one).
 *
 * Ids in a mixture are rewritten to "DATASET:id" (always, so that workers of different surveys that share
 * an id stay distinct); each worker's `dataset` field is kept, and with it its resume header.
 */
import { InputError } from '../../errors.js';
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
  return { taxonomy, workers: renamed(lowestRanked(all, n, opts.seed)) };
}

/** floor(percent/100 * count), the paper's mixture sizes (e.g. 40% of 36,762 workers is 14,704). */
export function shareOf(count: number, percent: number): number {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new InputError(`percent must be between 0 and 100, got ${percent}`);
  }
  // The epsilon keeps exact products (50% of 8,736) from landing just below an integer in binary.
  return Math.floor((percent * count) / 100 + 1e-9);
}

/** The `n` workers of lowest hash rank, in input order. */
function lowestRanked(workers: readonly Worker[], n: number, seed: number): Worker[] {
  // Rank by (hash, key) so ties between equal hashes are still broken independently of input order.
  const ranked = workers
    .map((w, i) => ({ i, h: hash32(workerKey(w), seed), key: workerKey(w) }))
    .sort((a, b) => a.h - b.h || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const keep = new Set(ranked.slice(0, n).map((r) => r.i));
  return workers.filter((_, i) => keep.has(i));
}

export interface BasePlusOptions {
  seed: number;
  /** Percentage (0-100) of the base's worker count to add, drawn from the other panels together. */
  percent: number;
}

/**
 * All workers of `base` plus floor(percent/100 * base size) workers drawn from the union of `others`
 * (setting 2 of the paper). InputError when the others hold fewer workers than that.
 */
export function mixBasePlus(base: Panel, others: readonly Panel[], opts: BasePlusOptions): Panel {
  const taxonomy = commonTaxonomy([base, ...others]);
  const n = shareOf(base.workers.length, opts.percent);
  const pool = others.flatMap((p) => p.workers);
  if (n > pool.length) {
    throw new InputError(
      `adding ${opts.percent}% of the base's ${base.workers.length} workers needs ${n} workers from the other panels, which hold ${pool.length}`,
    );
  }
  return { taxonomy, workers: renamed([...base.workers, ...lowestRanked(pool, n, opts.seed)]) };
}
