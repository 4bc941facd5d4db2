export * from './training-files.js';
