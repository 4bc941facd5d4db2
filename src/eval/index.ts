/** Evaluation: score a panel's records with a Scorer (an LLM, a baseline, your own) into a results store. */
export * from './scorer.js';
export * from './evaluate.js';
export * from './dataset.js';
export * from './fingerprint.js';
export * from './shard.js';
export * from './llm.js';
export * from './model-scorer.js';
export * from './baseline.js';
export * from './career.js';
export * from './imported-scorer.js';
