/**
 * The CAREER baseline as a Scorer: a model trained by `labor-llm career train`, read back and scored
 * worker by worker (all of a worker's records in one forward pass) on exactly the records the other
 * runs score, into the same StoredResult rows. The run is a baseline run named "career" by default,
 * identified by the model file's hash; the model must use the panel's taxonomy.
 */
import { CareerModel } from '../baselines/career/index.js';
import { resultFromDistribution } from '../baselines/score.js';
import { ParameterError } from '../errors.js';
import type { Worker } from '../data/panel/types.js';
import { recordsOf } from '../data/panel/validate.js';
import type { StoredResult } from '../results/types.js';
import { packageVersion } from '../package.js';
import type { Taxonomy } from '../data/taxonomy/taxonomy.js';
import { toStoredResult } from './baseline.js';
import { modelFingerprint } from './fingerprint.js';
import type { RunIdentity, Scorer, ScorerContext, ScorerFacts } from './scorer.js';

export interface CareerScorerOptions {
  /** The model file (labor-llm career train). */
  model: string;
  /** CPU threads of the forward passes (default: all cores). */
  threads?: number;
}

export class CareerScorer implements Scorer {
  readonly defaultRunName = 'career';
  private started: { model: CareerModel; taxonomy: Taxonomy; codes: readonly string[]; topK: number; notInLaborForce: readonly string[] } | null =
    null;

  constructor(readonly options: CareerScorerOptions) {
    if (typeof options.model !== 'string' || options.model.length === 0) {
      throw new ParameterError('model', 'the career baseline scores a trained model: give `model`, a file made by trainCareer or "labor-llm career train"');
    }
  }

  async identify(ctx: ScorerContext): Promise<RunIdentity> {
    const fp = await modelFingerprint(this.options.model, { full: true });
    return {
      kind: 'baseline',
      config: { kind: 'baseline', baseline: 'career', model: { file: fp.file, size: fp.size, sha256: fp.sha256 }, topK: ctx.topK, labor_llm: packageVersion() },
    };
  }

  async start(ctx: ScorerContext): Promise<ScorerFacts> {
    const taxonomy = ctx.dataset.store.taxonomy;
    const model = CareerModel.load(this.options.model, this.options.threads !== undefined ? { threads: this.options.threads } : {});
    try {
      model.checkTaxonomy(taxonomy);
    } catch (err) {
      model.free();
      throw err;
    }
    this.started = { model, taxonomy, codes: taxonomy.codes(), topK: ctx.topK, notInLaborForce: ctx.notInLaborForce };
    const c = model.info.config;
    return {
      info: { model: `CAREER ${c.layers} layers, width ${c.width}, ${c.heads} heads, ff ${c.ff} (${model.info.params} weights)`, modelPath: this.options.model },
      session: { threads: model.info.threads },
    };
  }

  async scoreWorker(worker: Worker, signal?: AbortSignal): Promise<StoredResult[]> {
    const s = this.started;
    if (!s) throw new Error('CareerScorer.scoreWorker called before start()');
    // Every record's distribution comes out of one pass; the evaluation decides which records count.
    const [dists] = await s.model.distributions([worker], signal ? { signal } : {});
    return recordsOf(worker).map((t) =>
      toStoredResult(
        resultFromDistribution(s.taxonomy, dists![t.index]!, t, { topK: s.topK, notInLaborForce: s.notInLaborForce, codes: s.codes }),
        worker.dataset,
      ),
    );
  }

  stats(): null {
    return null;
  }

  async free(): Promise<void> {
    this.started?.model.free();
    this.started = null;
  }
}
