/**
 * Training a CAREER model (native/engine/career_trainer.h) on a panel's train split, the best epoch
 * chosen on its valid split, written as a GGUF file with the vocabularies it was trained with.
 *
 * Defaults are CAREER's (fairseq architecture `career`): 12 layers, width 192, 3 heads, feed-forward
 * 768, dropout 0.1; AdamW (0.9, 0.98), weight decay 0.01, lr 5e-4 with linear warm-up and
 * inverse-sqrt decay. `init` continues training a CAREER model (CAREER's pretrain-then-fine-tune):
 * the new panel is encoded with that model's vocabularies and must use its taxonomy.
 */
import { existsSync, statSync } from 'node:fs';
import { ParameterError, CancelledError, InputError } from '../../errors.js';
import { callWithProgress } from '../../engine/native-call.js';
import type { Worker } from '../../data/panel/types.js';
import type { Taxonomy } from '../../data/taxonomy/taxonomy.js';
import { CareerModel } from './model.js';
import { careerAddon, type CareerProgress, type CareerShape, type NativeCareerTrainOptions, type NativeCareerTrainResult } from './native.js';
import {
  buildVocabulary,
  CAREER_COVARIATES,
  type CareerCovariate,
  DEFAULT_CAREER_COVARIATES,
  encodeWorkers,
  isCareerCovariate,
  vocabularyToMeta,
  type CareerVocabulary,
} from './vocabulary.js';

/**
 * CAREER's published settings, as the help of `labor-llm career train` shows them. The defaults that
 * apply are the native trainer's (native/engine/career_*.h); test/engine/addon-declaration.test.ts
 * holds these to them.
 */
export const CAREER_DEFAULTS = {
  layers: 12,
  width: 192,
  heads: 3,
  ff: 768,
  dropout: 0.1,
  epochs: 10,
  batch: 32,
  learningRate: 5e-4,
  weightDecay: 0.01,
} as const;

/** Options of trainCareer: the native run's (NativeCareerTrainOptions, where the defaults are documented) from a panel. */
export interface CareerTrainOptions
  extends Omit<NativeCareerTrainOptions, 'nCodes' | 'covariateNames' | 'covariateSizes' | 'train' | 'valid' | 'meta'> {
  taxonomy: Taxonomy;
  train: readonly Worker[];
  valid: readonly Worker[];
  overwrite?: boolean;
  /** Covariates of each step (default CAREER's: year, education, region, ethnicity, gender). */
  covariates?: readonly string[];
  /** Where the data came from, for messages (e.g. the panel folder). */
  source?: string;
  onProgress?: (p: CareerProgress) => void;
  signal?: AbortSignal;
}

export interface CareerTrainResult extends NativeCareerTrainResult {
  /** Training records per second of training time (all epochs). */
  recordsPerSecond: number;
}

/** InputError for a panel CAREER cannot be trained on: no training or validation workers, one code. */
export function checkTrainingPanel(train: readonly Worker[], valid: readonly Worker[], source: string): void {
  if (train.length === 0) throw new InputError(`${source} has no workers in the train split: nothing to train on (labor-llm data split --write)`, { file: source, field: 'split' });
  if (valid.length === 0) {
    throw new InputError(`${source} has no workers in the valid split: CAREER picks its best epoch on validation loss (labor-llm data split --write)`, {
      file: source,
      field: 'split',
    });
  }
  const codes = new Set(train.flatMap((w) => w.records.map((r) => r.code)));
  if (codes.size < 2) {
    throw new InputError(`the train split of ${source} has a single occupation code (${[...codes].join(', ')}): there is nothing to predict`, {
      file: source,
      field: 'code',
    });
  }
}

export async function trainCareer(opts: CareerTrainOptions): Promise<CareerTrainResult> {
  const { taxonomy, train, valid, overwrite, covariates, source = 'the panel', onProgress, signal, ...rest } = opts;
  checkTrainingPanel(train, valid, source);
  if (existsSync(opts.out)) {
    if (statSync(opts.out).isDirectory()) throw new InputError(`the output ${opts.out} is a folder`);
    if (!overwrite) throw new ParameterError('overwrite', `the output ${opts.out} exists (pass \`overwrite\` to replace it)`, { file: opts.out });
  }
  let vocab: CareerVocabulary;
  let shape: Partial<CareerShape> = {};
  if (opts.init !== undefined) {
    const init = CareerModel.load(opts.init);
    try {
      init.checkTaxonomy(taxonomy);
      vocab = init.vocabulary;
      const { layers, width, heads, ff } = init.info.config;
      shape = { layers, width, heads, ff };
    } finally {
      init.free();
    }
  } else {
    const names = covariates ?? DEFAULT_CAREER_COVARIATES;
    for (const n of names) if (!isCareerCovariate(n)) throw new InputError(`unknown covariate "${n}": choose from ${CAREER_COVARIATES.join(', ')}`);
    if (new Set(names).size !== names.length) throw new InputError(`covariates are listed twice: ${names.join(', ')}`);
    vocab = buildVocabulary(taxonomy, train, names as CareerCovariate[]);
  }
  const native: NativeCareerTrainOptions = {
    ...rest,
    ...shape,
    nCodes: vocab.codes.length,
    covariateNames: vocab.covariates.map((c) => c.name),
    covariateSizes: vocab.covariates.map((c) => c.values.length),
    train: encodeWorkers(vocab, train),
    valid: encodeWorkers(vocab, valid),
    meta: { ...vocabularyToMeta(vocab), 'career.train.source': source, 'career.train.seed': opts.seed ?? 0 },
  };
  if (signal?.aborted) throw new CancelledError();
  const r = await callWithProgress(signal, onProgress, 'CAREER training failed', (progress, flag) => careerAddon().careerTrain(native, progress, flag));
  const trainSeconds = r.history.reduce((s, e) => s + e.trainSeconds, 0);
  const records = r.history.reduce((s, e) => s + e.trainRecords, 0);
  return { ...r, recordsPerSecond: trainSeconds > 0 ? records / trainSeconds : 0 };
}
