export * from './taxonomy.js';
export { packageRoot, packageDataPath } from './package-data.js';
