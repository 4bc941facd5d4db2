/** The results store (DuckDB): what evaluations write and reports read. */
export * from './types.js';
export * from './identity.js';
export { ResultsStore, RESULT_COLUMNS, type OpenOptions } from './results-store.js';
export { mergeStores, type MergeOptions, type MergeReport } from './merge.js';
export { exportResults, exportFormatOf, type ExportFormat } from './export.js';
