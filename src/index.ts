/**
 * labor-llm's library API: the same capabilities as the CLI, for other TypeScript code.
 */
export * from './errors.js';
export type { Worker, WorkerRecord, Panel, Transition, PredictedRecord, DatasetName } from './panel/types.js';
export {
  Model,
  TitleSet,
  TitleScores,
  type ModelOptions,
  type ScoreMode,
  type ScoreOptions,
  type SpanScores,
  type EngineStats,
  type TitleSetInfo,
  type Throughput,
} from './engine/model.js';
export * from './taxonomy/index.js';
export * from './template/index.js';
export * from './split/index.js';
export * from './synth/index.js';
export { validatePanel, transitionsOf, recordsOf, panelTransitions } from './panel/validate.js';
export { EDUCATION_LEVELS, normalizeEducation } from './panel/education.js';
export { writeTinyLlama, readGguf, writeGguf } from './gguf/index.js';
export * from './finetune/local/index.js';
export * from './io/index.js';
export * from './metrics/index.js';
export * from './baselines/index.js';
export * from './eval/index.js';
export { ResultsStore, mergeStores, exportResults, type OpenOptions, type MergeReport } from './store/index.js';
export * from './report/index.js';
export * from './finetune/hosted/index.js';
export * from './report/html/index.js';
export { runDemo, resolveDemoOptions, DEMO_DEFAULTS, DEMO_FILES, DEMO_RUNS, type DemoOptions, type DemoResult } from './demo/index.js';
