/**
 * Baselines in an evaluation (BaselineScorer): built and fitted on the panel's training split
 * (validation split for tuning), then scored worker by worker on exactly the records the LLM runs
 * score, into the same store and the same StoredResult rows.
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
import { InputError, ParameterError } from '../errors.js';
import type { PanelStore } from '../data/io/index.js';
import type { TransitionResult } from '../metrics/types.js';
import type { Panel, Worker } from '../data/panel/types.js';
import { recordsOf } from '../data/panel/validate.js';
import type { JsonObject, StoredResult } from '../results/types.js';
import { packageVersion } from '../package.js';
import type { Taxonomy } from '../data/taxonomy/taxonomy.js';
import type { RunIdentity, Scorer, ScorerContext, ScorerFacts } from './scorer.js';

export const BASELINE_NAMES = ['uniform', 'empirical', 'logit', 'oracle'] as const;
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

/** A baseline as a Scorer: fitted in start() on the training split, then scored worker by worker. */
export class BaselineScorer implements Scorer {
  readonly defaultRunName: string;
  private fitted: { model: OccupationModel; taxonomy: Taxonomy; codes: readonly string[]; topK: number; notInLaborForce: readonly string[] } | null = null;

  constructor(readonly baseline: BaselineName) {
    if (!isBaselineName(baseline)) {
      throw new ParameterError('baseline', `\`baseline\` must be one of ${BASELINE_NAMES.join(', ')}, got "${String(baseline)}"`);
    }
    this.defaultRunName = baseline;
  }

  async identify(ctx: ScorerContext): Promise<RunIdentity> {
    return { kind: 'baseline', config: { kind: 'baseline', baseline: this.baseline, topK: ctx.topK, labor_llm: packageVersion() } };
  }

  async start(ctx: ScorerContext): Promise<ScorerFacts> {
    const ds = ctx.dataset;
    const { model, fit } = fitBaseline(this.baseline, ds.store, ds.train, ds.valid, ds.dir);
    const taxonomy = ds.store.taxonomy;
    this.fitted = { model, taxonomy, codes: taxonomy.codes(), topK: ctx.topK, notInLaborForce: ctx.notInLaborForce };
    const info: JsonObject = {};
    if (fit) {
      info.fit = fit as unknown as JsonObject;
      ctx.log(`fitted ${this.baseline} on ${fit.transitions} training transitions in ${fit.seconds.toFixed(1)} s`);
    }
    return { info, session: {} };
  }

  async scoreWorker(worker: Worker): Promise<StoredResult[]> {
    const f = this.fitted;
    if (!f) throw new Error('BaselineScorer.scoreWorker called before start()');
    return recordsOf(worker).map((t) =>
      toStoredResult(
        resultFromDistribution(f.taxonomy, f.model.distribution(worker, t.index), t, {
          topK: f.topK,
          notInLaborForce: f.notInLaborForce,
          codes: f.codes,
        }),
        worker.dataset,
      ),
    );
  }

  stats(): null {
    return null;
  }

  async free(): Promise<void> {
    this.fitted = null;
  }
}
