/**
 * Baselines in an evaluation: built and fitted on the panel's training split (validation split for
 * tuning), then scored worker by worker on exactly the transitions the LLM runs score, into the same
 * store and the same StoredResult rows.
 */
import {
  EmpiricalTransitionModel,
  type FitReport,
  MultinomialLogitModel,
  type OccupationModel,
  OracleModel,
  resultFromDistribution,
  UniformModel,
} from '../baselines/index.js';
import { InputError } from '../errors.js';
import type { PanelStore } from '../io/index.js';
import type { TransitionResult } from '../metrics/types.js';
import type { Panel, Worker } from '../panel/types.js';
import { transitionsOf } from '../panel/validate.js';
import type { StoredResult } from '../store/types.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';

export const BASELINE_NAMES = ['uniform', 'empirical', 'logit', 'oracle', 'career'] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];

export function isBaselineName(name: string): name is BaselineName {
  return (BASELINE_NAMES as readonly string[]).includes(name);
}

export interface FittedBaseline {
  model: OccupationModel;
  fit: FitReport | null;
}

/** Builds and fits a baseline; the oracle needs a synthetic panel (records with true probabilities). */
export function fitBaseline(name: BaselineName, store: PanelStore, train: Panel, valid: Panel, dataDir: string): FittedBaseline {
  const taxonomy = store.taxonomy;
  switch (name) {
    case 'uniform':
      return { model: new UniformModel(taxonomy), fit: null };
    case 'career':
      // Trained by `labor-llm career train` and scored natively: see eval/career.ts.
      throw new InputError('the career baseline is a trained model, not fitted here: evaluate it with --career-model FILE', {
        file: '(command line)',
        field: 'career-model',
      });
    case 'oracle':
      if (!store.meta.oracle) {
        throw new InputError(
          'the oracle baseline needs a synthetic panel (made by "labor-llm data synth"): this panel has no true probabilities',
          { file: dataDir, field: 'oracle' },
        );
      }
      return { model: new OracleModel(taxonomy), fit: null };
    case 'empirical':
    case 'logit': {
      if (train.workers.length === 0) {
        throw new InputError(`the ${name} baseline is fitted on the training split, which is empty; run "labor-llm data split ${dataDir} --write"`, {
          file: dataDir,
          field: 'split',
        });
      }
      const model = name === 'empirical' ? new EmpiricalTransitionModel(taxonomy) : new MultinomialLogitModel(taxonomy);
      const fit = model.fit(train, valid.workers.length > 0 ? valid : undefined);
      return { model, fit };
    }
  }
}

export function toStoredResult(r: TransitionResult, dataset: string): StoredResult {
  return {
    workerId: r.workerId,
    index: r.index,
    dataset,
    year: r.year,
    from: r.from,
    to: r.to,
    logProb: r.logProb,
    rawLogProb: r.rawLogProb ?? r.logProb,
    validMass: r.validMass ?? 1,
    rank: r.rank,
    ties: r.ties ?? 1,
    topK: r.topK,
    pSame: r.pSame ?? null,
    pLaborForce: r.pLaborForce ?? null,
  };
}

export class BaselineScorer {
  private readonly codes: readonly string[];

  constructor(
    private readonly model: OccupationModel,
    private readonly taxonomy: Taxonomy,
    private readonly topK: number,
    private readonly notInLaborForce: readonly string[],
  ) {
    this.codes = taxonomy.codes();
  }

  scoreWorker(worker: Worker): StoredResult[] {
    return transitionsOf(worker).map((t) =>
      toStoredResult(
        resultFromDistribution(this.taxonomy, this.model.distribution(worker, t.index), t, {
          topK: this.topK,
          notInLaborForce: this.notInLaborForce,
          codes: this.codes,
        }),
        worker.dataset,
      ),
    );
  }
}
