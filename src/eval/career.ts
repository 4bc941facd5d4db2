/**
 * The CAREER baseline in an evaluation: a model trained by `labor-llm career train`, read back and
 * scored worker by worker (all of a worker's records in one forward pass) on exactly the records the
 * other runs score, into the same StoredResult rows. The model must use the panel's taxonomy.
 */
import { resultFromDistribution } from '../baselines/score.js';
import { CareerModel } from '../baselines/career/index.js';
import { InputError } from '../errors.js';
import type { Worker } from '../panel/types.js';
import { transitionsOf } from '../panel/validate.js';
import type { JsonObject } from '../store/types.js';
import type { StoredResult } from '../store/types.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { toStoredResult } from './baseline.js';

export interface CareerScorer {
  scoreWorker: (w: Worker, signal?: AbortSignal) => Promise<StoredResult[]>;
  info: JsonObject;
  free: () => Promise<void>;
}

/** Loads the model and checks it against the panel's taxonomy. */
export function startCareerScorer(
  modelPath: string | undefined,
  taxonomy: Taxonomy,
  topK: number,
  notInLaborForce: readonly string[],
  threads?: number,
): CareerScorer {
  if (modelPath === undefined) {
    throw new InputError('the career baseline scores a trained model: give --career-model FILE (made by "labor-llm career train")', {
      file: '(command line)',
      field: 'career-model',
    });
  }
  const model = CareerModel.load(modelPath, threads !== undefined ? { threads } : {});
  try {
    model.checkTaxonomy(taxonomy);
  } catch (err) {
    model.free();
    throw err;
  }
  const codes = taxonomy.codes();
  const c = model.info.config;
  return {
    scoreWorker: async (w, signal) => {
      const [dists] = await model.distributions([w], signal ? { signal } : {});
      return transitionsOf(w).map((t) =>
        toStoredResult(resultFromDistribution(taxonomy, dists![t.index]!, t, { topK, notInLaborForce, codes }), w.dataset),
      );
    },
    info: { model: `CAREER ${c.layers} layers, width ${c.width}, ${c.heads} heads, ff ${c.ff} (${model.info.params} weights)`, modelPath },
    free: async () => model.free(),
  };
}
