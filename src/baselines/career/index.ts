/** CAREER, the paper's transformer baseline, trained and scored natively (see docs/career.md). */
export * from './vocabulary.js';
export { CareerModel, type CareerModelInfo } from './model.js';
export { trainCareer, checkTrainingPanel, CAREER_DEFAULTS, type CareerTrainOptions, type CareerTrainResult } from './train.js';
export type { CareerProgress, CareerEpochRecord, CareerShape, NativeCareerConfig } from './native.js';
