/** Evaluation: score a panel's transitions with an LLM or a baseline into a results store. */
export * from './evaluate.js';
export * from './dataset.js';
export * from './fingerprint.js';
export * from './shard.js';
export * from './llm.js';
export * from './baseline.js';
export * from './career.js';
