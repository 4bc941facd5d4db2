/**
 * A shard's progress read while its job holds the store open for writing, its recent commits still in
 * the write-ahead log: read through a copy, it shows the committed workers and the ETA at the open
 * session's own rate, and the writer goes on undisturbed.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readShardProgress } from '../../src/slurm/shard-progress.js';
import { ResultsStore } from '../../src/results/results-store.js';
import { STORE_FORMAT, STORE_VERSION, type StoredResult, type StoredWorker, type StoreMeta } from '../../src/results/types.js';
import { removeTempDirs, tempDir } from '../helpers/eval-fixtures.js';

afterAll(removeTempDirs);

const WORKERS: StoredWorker[] = ['w0', 'w1', 'w2', 'w3', 'w4'].map((workerId, ord) => ({
  workerId,
  ord,
  dataset: 'PSID81',
  gender: 'female',
  ethnicity: 'white',
  region: 'south',
  birthYear: 1960,
  shard: 1,
  transitions: 1,
}));

const META: StoreMeta = {
  format: STORE_FORMAT,
  version: STORE_VERSION,
  dataset: { fingerprint: 'f', taxonomy: 'occ', split: 'test', limit: null, workers: 15, transitions: 15 },
  shards: { count: 3, indices: [1] },
  taxonomy: { name: 'occ', size: 2, notInLaborForce: [], laborForce: 'official' },
  createdAt: '2026-01-01T00:00:00.000Z',
  source: {},
};

function result(workerId: string): StoredResult {
  return {
    workerId, index: 1, dataset: 'PSID81', year: 1990, from: 'a', to: 'b',
    logProb: -1, rawLogProb: -1, validMass: 1, rank: 1, ties: 0, topK: [{ code: 'b', prob: 0.5 }], pSame: 0.1, pLaborForce: 0.9,
  };
}

describe('readShardProgress', () => {
  it('reads a store its writer holds open, with the ETA of the running session', async () => {
    const path = join(await tempDir(), 'shard.duckdb');
    expect(await readShardProgress(1, path)).toMatchObject({ exists: false, workersDone: null, complete: false, etaSeconds: null });

    const store = await ResultsStore.create(path, META, WORKERS);
    try {
      await store.addRun({ name: 'm', kind: 'model', config: {}, info: {}, createdAt: META.createdAt });
      // An earlier session scored w0 and ended; the running one started with 1 done and has scored 2 more.
      const first = await store.startSession('m', {});
      await store.commitWorkers('m', [{ workerId: 'w0', results: [result('w0')] }]);
      await store.finishSession(first, 1);
      await store.startSession('m', {});
      await store.commitWorkers('m', [{ workerId: 'w1', results: [result('w1')] }]);
      await store.commitWorkers('m', [{ workerId: 'w2', results: [result('w2')] }]);
      const started = Date.parse((await store.sessions())[1]!.startedAt);

      // 2 workers in 20 s: the 2 left take 20 s more.
      const p = await readShardProgress(1, path, new Date(started + 20_000));
      expect(p).toMatchObject({ shard: 1, exists: true, workersDone: 3, workersTotal: 5, complete: false, sessionOpen: true });
      expect(p.etaSeconds).toBeCloseTo(20, 6);
      expect(p.runs).toEqual([{ run: 'm', workersDone: 3, workersTotal: 5, transitionsDone: 3, transitionsTotal: 5, complete: false }]);

      // The writer goes on undisturbed.
      await store.commitWorkers('m', [
        { workerId: 'w3', results: [result('w3')] },
        { workerId: 'w4', results: [result('w4')] },
      ]);
    } finally {
      await store.close();
    }
    const done = await readShardProgress(1, path);
    expect(done).toMatchObject({ workersDone: 5, complete: true });
  });
});
