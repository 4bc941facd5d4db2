/** Iteration over a panel's transitions as (worker, index) pairs, shared by the baselines' fits. */

import { InputError } from '../errors.js';
import type { Panel, Worker } from '../data/panel/types.js';
import type { Taxonomy } from '../data/taxonomy/taxonomy.js';

export interface IndexedTransition {
  worker: Worker;
  index: number;
  /** Position of records[index - 1].code in the taxonomy. */
  from: number;
  /** Position of records[index].code in the taxonomy. */
  to: number;
}

/** Every transition of `panel` with codes resolved to taxonomy positions; unknown codes are an error. */
export function indexedTransitions(panel: Panel, taxonomy: Taxonomy): IndexedTransition[] {
  const out: IndexedTransition[] = [];
  for (const worker of panel.workers) {
    const idx = worker.records.map((r, i) => {
      const k = taxonomy.indexOf(r.code);
      if (k < 0) {
        throw new InputError(
          `worker "${worker.id}", record ${i} (year ${r.year}): code "${r.code}" is not in taxonomy "${taxonomy.name}"`,
        );
      }
      return k;
    });
    for (let i = 1; i < idx.length; i++) out.push({ worker, index: i, from: idx[i - 1]!, to: idx[i]! });
  }
  return out;
}

/** Position of `code` in the taxonomy; error naming the worker otherwise. */
export function codeIndex(taxonomy: Taxonomy, worker: Worker, index: number): number {
  const rec = worker.records[index];
  if (rec === undefined) throw new InputError(`worker "${worker.id}" has no record ${index}`);
  const k = taxonomy.indexOf(rec.code);
  if (k < 0) {
    throw new InputError(`worker "${worker.id}", record ${index} (year ${rec.year}): code "${rec.code}" is not in taxonomy "${taxonomy.name}"`);
  }
  return k;
}

/** A record index to predict: 0 (the first record) to records.length - 1. */
export function checkIndex(worker: Worker, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= worker.records.length) {
    throw new InputError(`worker "${worker.id}" has no record at index ${index} (it has ${worker.records.length} records)`);
  }
}
