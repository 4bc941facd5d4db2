/**
 * The oracle: the synthetic generator's own conditional distribution. Only meaningful on synthetic panels,
 * where it is the true distribution of every transition, so its perplexity is the floor no model can beat
 * in expectation; for a first record it is the generator's first-record distribution. The generator's parameters depend on the taxonomy only, so the oracle of a saved synthetic
 * panel can be rebuilt from its taxonomy alone.
 */

import type { Worker } from '../data/panel/types.js';
import { SynthModel } from '../data/synth/model.js';
import type { Taxonomy } from '../data/taxonomy/taxonomy.js';
import type { OccupationModel } from './model.js';
import { checkIndex } from './transitions.js';

export class OracleModel implements OccupationModel {
  readonly name = 'oracle';
  readonly taxonomy: Taxonomy;
  private readonly synth: SynthModel;

  /** From the generator that made the panel (SynthResult.model) or from the panel's taxonomy. */
  constructor(source: SynthModel | Taxonomy) {
    this.synth = source instanceof SynthModel ? source : new SynthModel(source);
    this.taxonomy = this.synth.taxonomy;
  }

  distribution(worker: Worker, index: number): Float64Array {
    checkIndex(worker, index);
    return this.synth.distribution(worker, index);
  }
}
