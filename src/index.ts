/**
 * labor-llm's library API: the same capabilities as the CLI, for other TypeScript code.
 */
export * from './errors.js';
export type { Worker, WorkerRecord, Panel, Transition, PredictedRecord, DatasetName } from './data/panel/types.js';
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
export * from './data/taxonomy/index.js';
export * from './data/template/index.js';
export * from './data/split/index.js';
export * from './data/synth/index.js';
export { validatePanel, transitionsOf, recordsOf, panelTransitions } from './data/panel/validate.js';
export { EDUCATION_LEVELS, normalizeEducation } from './data/panel/education.js';
export { writeTinyLlama, readGguf, writeGguf } from './models/gguf/index.js';
export * from './models/finetune/local/index.js';
export * from './data/io/index.js';
export * from './metrics/index.js';
export * from './baselines/index.js';
export * from './eval/index.js';
export { ResultsStore, mergeStores, exportResults, type OpenOptions, type MergeOptions, type MergeReport } from './results/index.js';
export * from './report/index.js';
export * from './slurm/index.js';
export * from './models/finetune/hosted/index.js';
export * from './report/html/index.js';
export { runDemo, resolveDemoOptions, DEMO_DEFAULTS, DEMO_FILES, DEMO_RUNS, type DemoOptions, type DemoResult } from './demo/index.js';
