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
import { CancelledError, InputError } from '../../errors.js';
import { callWithProgress } from '../../engine/native-call.js';
import type { Worker } from '../../data/panel/types.js';
import type { Taxonomy } from '../../data/taxonomy/taxonomy.js';
import { CareerModel } from './model.js';
import {
  careerAddon,
  type CareerProgress,
  type CareerShape,
  type NativeCareerConfig,
  type NativeCareerTrainResult,
} from './native.js';
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

/** CAREER's published settings, the defaults of `labor-llm career train`. */
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

export interface CareerTrainOptions extends Partial<CareerShape> {
  taxonomy: Taxonomy;
  train: readonly Worker[];
  valid: readonly Worker[];
  /** Where the best epoch's model is written (GGUF, architecture "career"). */
  out: string;
  overwrite?: boolean;
  /** Continue training this CAREER model (its shape and vocabularies) instead of a new one. */
  init?: string;
  dropout?: number;
  /** Covariates of each step (default CAREER's: year, education, region, ethnicity, gender). */
  covariates?: readonly string[];
  /** Passes over the training workers; 0 writes the initial weights. */
  epochs?: number;
  /** Workers per optimizer step. */
  batch?: number;
  learningRate?: number;
  /** Warm-up steps (default: one epoch's steps, at most 4000). */
  warmup?: number;
  weightDecay?: number;
  seed?: number;
  /** CPU threads (default all; 1 gives bit-identical files for a seed). */
  threads?: number;
  /** Stop every epoch after this many steps (tests). */
  maxSteps?: number;
  /** Where the data came from, for messages (e.g. the panel folder). */
  source?: string;
  onProgress?: (p: CareerProgress) => void;
  signal?: AbortSignal;
}

export interface CareerTrainResult extends NativeCareerTrainResult {
  /** Training records per second of training time (all epochs). */
  recordsPerSecond: number;
}

function integer(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new InputError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
  return v;
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
  const source = opts.source ?? 'the panel';
  checkTrainingPanel(opts.train, opts.valid, source);
  if (typeof opts.out !== 'string' || opts.out.length === 0) throw new InputError('out must be a file path');
  if (existsSync(opts.out)) {
    if (statSync(opts.out).isDirectory()) throw new InputError(`the output ${opts.out} is a folder`);
    if (!opts.overwrite) throw new InputError(`the output ${opts.out} exists (pass overwrite: true, or --force, to replace it)`);
  }
  let vocab: CareerVocabulary;
  let config: NativeCareerConfig;
  if (opts.init !== undefined) {
    const init = CareerModel.load(opts.init);
    try {
      init.checkTaxonomy(opts.taxonomy);
      vocab = init.vocabulary;
      config = init.info.config;
    } finally {
      init.free();
    }
  } else {
    const names = opts.covariates ?? DEFAULT_CAREER_COVARIATES;
    for (const n of names) if (!isCareerCovariate(n)) throw new InputError(`unknown covariate "${n}": choose from ${CAREER_COVARIATES.join(', ')}`);
    if (new Set(names).size !== names.length) throw new InputError(`covariates are listed twice: ${names.join(', ')}`);
    vocab = buildVocabulary(opts.taxonomy, opts.train, names as CareerCovariate[]);
    config = {
      layers: integer('layers', opts.layers ?? CAREER_DEFAULTS.layers, 1, 64),
      width: integer('width', opts.width ?? CAREER_DEFAULTS.width, 2, 4096),
      heads: integer('heads', opts.heads ?? CAREER_DEFAULTS.heads, 1, 4096),
      ff: integer('ff', opts.ff ?? CAREER_DEFAULTS.ff, 1, 65536),
      nCodes: vocab.codes.length,
      covariateNames: vocab.covariates.map((c) => c.name),
      covariateSizes: vocab.covariates.map((c) => c.values.length),
    };
    if (config.width % config.heads !== 0) throw new InputError(`heads (${config.heads}) must divide width (${config.width})`);
    if (config.width % 2 !== 0) throw new InputError(`width must be even, got ${config.width}`);
  }
  const dropout = opts.dropout ?? CAREER_DEFAULTS.dropout;
  if (!(dropout >= 0 && dropout < 1)) throw new InputError(`dropout must be in [0, 1), got ${dropout}`);
  const learningRate = opts.learningRate ?? CAREER_DEFAULTS.learningRate;
  if (!(Number.isFinite(learningRate) && learningRate > 0 && learningRate <= 1)) throw new InputError(`learningRate must be in (0, 1], got ${learningRate}`);
  const weightDecay = opts.weightDecay ?? CAREER_DEFAULTS.weightDecay;
  if (!(weightDecay >= 0 && weightDecay <= 1)) throw new InputError(`weightDecay must be in [0, 1], got ${weightDecay}`);
  const native = {
    config,
    ...(opts.init !== undefined ? { init: opts.init } : {}),
    out: opts.out,
    train: encodeWorkers(vocab, opts.train),
    valid: encodeWorkers(vocab, opts.valid),
    meta: { ...vocabularyToMeta(vocab), 'career.train.source': source, 'career.train.seed': opts.seed ?? 0 },
    epochs: integer('epochs', opts.epochs ?? CAREER_DEFAULTS.epochs, 0, 100000),
    batch: integer('batch', opts.batch ?? CAREER_DEFAULTS.batch, 1, 65536),
    lr: learningRate,
    warmup: opts.warmup === undefined ? -1 : integer('warmup', opts.warmup, 0),
    weightDecay,
    dropout,
    seed: integer('seed', opts.seed ?? 0, 0),
    threads: integer('threads', opts.threads ?? 0, 0, 1024),
    maxSteps: integer('maxSteps', opts.maxSteps ?? 0, 0),
  };
  if (opts.signal?.aborted) throw new CancelledError();
  const r = await callWithProgress(opts.signal, opts.onProgress, 'CAREER training failed', (onProgress, flag) =>
    careerAddon().careerTrain(native, onProgress, flag),
  );
  const trainSeconds = r.history.reduce((s, e) => s + e.trainSeconds, 0);
  const records = r.history.reduce((s, e) => s + e.trainRecords, 0);
  return { ...r, recordsPerSecond: trainSeconds > 0 ? records / trainSeconds : 0 };
}
