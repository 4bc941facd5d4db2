/**
 * A trained CAREER model read back from its GGUF file: every record of a worker, the first one
 * included, as a probability distribution over the taxonomy's codes (aligned with taxonomy.codes()),
 * from one forward pass over the worker's records.
 */
import { existsSync } from 'node:fs';
import { CancelledError, LaborLlmError, ModelError } from '../../errors.js';
import { cancelFlag, toTypedError } from '../../engine/native-call.js';
import type { Worker } from '../../data/panel/types.js';
import type { Taxonomy } from '../../data/taxonomy/taxonomy.js';
import { careerAddon, type NativeCareerConfig, type NativeCareerModel } from './native.js';
import { checkTaxonomy, encodeWorkers, vocabularyFromMeta, type CareerVocabulary } from './vocabulary.js';

export interface CareerModelInfo {
  path: string;
  config: NativeCareerConfig;
  params: number;
  threads: number;
  /** Every metadata key of the file besides the hyperparameters (vocabularies, training facts). */
  meta: Record<string, unknown>;
}

export class CareerModel {
  readonly info: CareerModelInfo;
  readonly vocabulary: CareerVocabulary;
  private native: NativeCareerModel | null;

  private constructor(info: CareerModelInfo, vocabulary: CareerVocabulary, native: NativeCareerModel) {
    this.info = info;
    this.vocabulary = vocabulary;
    this.native = native;
  }

  /** Reads a model `labor-llm career train` wrote; ModelError for anything else. */
  static load(path: string, opts: { threads?: number } = {}): CareerModel {
    if (!existsSync(path)) throw new ModelError(`CAREER model file not found: ${path}`);
    let native: NativeCareerModel;
    try {
      native = careerAddon().careerLoad(path, opts.threads ?? 0);
    } catch (err) {
      throw toTypedError(err, `cannot read the CAREER model ${path}`);
    }
    try {
      const i = native.info();
      return new CareerModel({ path, ...i }, vocabularyFromMeta(i.meta, i.config.covariateNames, path), native);
    } catch (err) {
      native.free();
      throw err;
    }
  }

  /** InputError unless `taxonomy` is the one the model was trained on. */
  checkTaxonomy(taxonomy: Taxonomy): void {
    checkTaxonomy(this.vocabulary, taxonomy, this.info.path);
  }

  /**
   * Per worker, per record, the distribution over the codes (sums to 1, renormalized in double).
   * Workers go through the graph in batches of `batch`, each worker's records in one pass.
   */
  async distributions(workers: readonly Worker[], opts: { batch?: number; signal?: AbortSignal } = {}): Promise<Float64Array[][]> {
    if (!this.native) throw new ModelError(`the CAREER model ${this.info.path} has been freed`);
    if (opts.signal?.aborted) throw new CancelledError();
    const data = encodeWorkers(this.vocabulary, workers);
    const { flag, dispose } = cancelFlag(opts.signal);
    let lp: Float32Array;
    try {
      lp = await this.native.logProbs(data, opts.batch, flag);
    } catch (err) {
      if (err instanceof LaborLlmError) throw err;
      throw toTypedError(err, 'CAREER scoring failed');
    } finally {
      dispose();
    }
    const K = this.vocabulary.codes.length;
    const out: Float64Array[][] = [];
    let r = 0;
    for (const w of workers) {
      const rows: Float64Array[] = [];
      for (let t = 0; t < w.records.length; t++, r++) {
        const p = new Float64Array(K);
        let sum = 0;
        for (let j = 0; j < K; j++) sum += p[j] = Math.exp(lp[r * K + j]!);
        for (let j = 0; j < K; j++) p[j] = p[j]! / sum;
        rows.push(p);
      }
      out.push(rows);
    }
    return out;
  }

  free(): void {
    this.native?.free();
    this.native = null;
  }
}
