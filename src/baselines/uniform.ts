/** The uniform model: every title equally likely. Perplexity = number of titles. */

import type { Worker } from '../data/panel/types.js';
import type { Taxonomy } from '../data/taxonomy/taxonomy.js';
import type { OccupationModel } from './model.js';
import { checkIndex } from './transitions.js';

export class UniformModel implements OccupationModel {
  readonly name = 'uniform';
  readonly taxonomy: Taxonomy;
  private readonly dist: Float64Array;

  constructor(taxonomy: Taxonomy) {
    this.taxonomy = taxonomy;
    this.dist = new Float64Array(taxonomy.size).fill(1 / taxonomy.size);
  }

  distribution(worker: Worker, index: number): Float64Array {
    checkIndex(worker, index);
    return this.dist.slice();
  }
}
