/** Baseline occupation models, scored exactly like LLMs (same transitions, same TransitionResult). */
export * from './model.js';
export * from './uniform.js';
export * from './empirical.js';
export * from './features.js';
export * from './logit.js';
export * from './oracle.js';
export * from './score.js';
export { indexedTransitions, type IndexedTransition } from './transitions.js';
export * from './career/index.js';
