export * from './taxonomy.js';
export { packageRoot, packageDataPath } from '../../package.js';
