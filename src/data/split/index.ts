export * from './split.js';
export * from './mixture.js';
export * from './randomize.js';
