export * from './training-files.js';
export * from './glossary.js';
