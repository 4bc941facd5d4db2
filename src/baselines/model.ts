/**
 * The interface every baseline occupation model implements, so that baselines are scored exactly like LLMs:
 * for a worker and the index of the record to predict, a full probability distribution over the
 * taxonomy's codes (aligned with taxonomy.codes()), computed from records 0..index-1 plus the predicted
 * record's year and education (what the LLM's resume line shows before the title) and the fixed traits.
 */

import type { Panel, Worker } from '../data/panel/types.js';
import type { Taxonomy } from '../data/taxonomy/taxonomy.js';

export interface FitReport {
  model: string;
  /** Training transitions used. */
  transitions: number;
  /** Wall-clock seconds of the fit (tuning included). */
  seconds: number;
  /** Model-specific facts (chosen hyperparameters, epochs, validation perplexity...). */
  details: Record<string, number | string | boolean>;
}

export interface OccupationModel {
  readonly name: string;
  readonly taxonomy: Taxonomy;
  /** Fits on the training split only; `valid` (optional) is used for tuning and early stopping. */
  fit?(train: Panel, valid?: Panel): FitReport;
  /** Probabilities of every code for record `index` of `worker` (0: the first record, from the traits
   * alone); sums to 1. */
  distribution(worker: Worker, index: number): Float64Array;
}
