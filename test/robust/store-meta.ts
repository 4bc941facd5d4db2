/** The metadata of the results stores the store tests create (shared with their child process). */
import { STORE_FORMAT, STORE_VERSION, type StoreMeta } from '../../src/results/types.js';

export function testStoreMeta(source: Record<string, string> = {}): StoreMeta {
  return {
    format: STORE_FORMAT,
    version: STORE_VERSION,
    dataset: { fingerprint: 'abc', taxonomy: 'occ', split: 'test', limit: null, workers: 1, transitions: 1 },
    shards: { count: 1, indices: [0] },
    taxonomy: { name: 'occ', size: 5, notInLaborForce: [], laborForce: 'official' },
    createdAt: '2026-01-01T00:00:00.000Z',
    source,
  };
}
