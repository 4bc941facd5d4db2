/** The CAREER functions of the native addon (native/addon/career.cpp), typed. */
import { EngineError } from '../../errors.js';
import { loadAddon } from '../../engine/native.js';
import type { CareerData } from './vocabulary.js';

export interface CareerShape {
  layers: number;
  width: number;
  heads: number;
  ff: number;
}

export interface NativeCareerConfig extends CareerShape {
  nCodes: number;
  covariateNames: string[];
  covariateSizes: number[];
}

/** A batch of a training epoch is done; `loss` is the epoch's running mean NLL per record (nats). */
export interface CareerStepProgress {
  phase: 'train';
  epoch: number;
  step: number;
  steps: number;
  loss: number | null;
  lr: number;
  elapsedMs: number;
}
/** The validation pass of an epoch starts (epoch 0: the untrained model). */
export interface CareerValidateProgress {
  phase: 'validate';
  epoch: number;
  elapsedMs: number;
}
/** An epoch is done; epoch 0 is the untrained model's validation loss. */
export interface CareerEpochProgress {
  phase: 'epoch';
  epoch: number;
  trainLoss: number | null;
  valLoss: number | null;
  improved: boolean;
  elapsedMs: number;
}
export type CareerProgress = CareerStepProgress | CareerValidateProgress | CareerEpochProgress;

export interface CareerEpochRecord {
  epoch: number;
  /** Mean NLL per training record of the epoch (nats, with dropout, as trained). */
  trainLoss: number;
  /** Mean NLL per validation record after the epoch (nats, no dropout). */
  valLoss: number;
  seconds: number;
  trainSeconds: number;
  trainRecords: number;
  improved: boolean;
}

export interface NativeCareerTrainResult {
  out: string;
  bestEpoch: number;
  bestValLoss: number;
  initialValLoss: number;
  history: CareerEpochRecord[];
  trainWorkers: number;
  validWorkers: number;
  trainRecords: number;
  validRecords: number;
  params: number;
  steps: number;
  warmup: number;
  threads: number;
  seconds: number;
  config: NativeCareerConfig;
}

export interface NativeCareerTrainOptions {
  config: NativeCareerConfig;
  init?: string;
  out: string;
  train: CareerData;
  valid: CareerData;
  meta: Record<string, string | string[] | number>;
  epochs: number;
  batch: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  dropout: number;
  seed: number;
  threads: number;
  maxSteps: number;
}

export interface NativeCareerModel {
  info(): { config: NativeCareerConfig; params: number; threads: number; meta: Record<string, unknown> };
  logProbs(data: CareerData, batch: number, cancel?: Int32Array): Promise<Float32Array>;
  free(): void;
}

interface CareerAddon {
  careerTrain(
    opts: NativeCareerTrainOptions,
    onProgress: (p: CareerProgress) => void,
    cancel?: Int32Array,
  ): Promise<NativeCareerTrainResult>;
  careerLoad(path: string, threads: number): NativeCareerModel;
}

export function careerAddon(): CareerAddon {
  const addon = loadAddon() as unknown as Partial<CareerAddon>;
  if (typeof addon.careerTrain !== 'function' || typeof addon.careerLoad !== 'function') {
    throw new EngineError('this build of the native addon has no CAREER baseline: rebuild it (npm run build:native)');
  }
  return addon as CareerAddon;
}
