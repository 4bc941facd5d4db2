/** Evaluation metrics over per-transition results (pure functions, no I/O). */
export * from './types.js';
export * from './rng.js';
export * from './perplexity.js';
export * from './bootstrap.js';
export * from './accuracy.js';
export * from './binary.js';
export * from './subgroups.js';
