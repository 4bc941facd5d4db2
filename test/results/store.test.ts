/** The results store on its own: round trips, atomic worker commits, identity helpers, bad files. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../../src/errors.js';
import { mergeStores } from '../../src/results/merge.js';
import { canonicalJson, describeDifferences, jsonDifferences } from '../../src/results/identity.js';
import { ResultsStore } from '../../src/results/results-store.js';
import { STORE_FORMAT, STORE_VERSION, type StoredResult, type StoredWorker, type StoreMeta } from '../../src/results/types.js';
import { parseShard, shardOfWorker } from '../../src/eval/shard.js';
import { removeTempDirs, tempDir } from '../helpers/eval-fixtures.js';

afterAll(removeTempDirs);

const meta: StoreMeta = {
  format: STORE_FORMAT,
  version: STORE_VERSION,
  dataset: { fingerprint: 'abc', taxonomy: 'occ', split: 'test', limit: null, workers: 2, transitions: 3 },
  shards: { count: 1, indices: [0] },
  taxonomy: { name: 'occ', size: 5, laborForce: 'official', notInLaborForce: ['9001'] },
  createdAt: '2026-01-01T00:00:00.000Z',
  source: {},
};

const workers: StoredWorker[] = [
  { workerId: 'b', ord: 0, dataset: 'NLSY79', gender: 'female', ethnicity: 'x', region: 'South', birthYear: 1960, shard: 0, transitions: 2 },
  { workerId: 'a', ord: 1, dataset: 'PSID81', gender: 'male', ethnicity: 'y', region: 'West', birthYear: null, shard: 0, transitions: 1 },
];

function result(workerId: string, index: number, full: boolean): StoredResult {
  return {
    workerId,
    index,
    dataset: workerId === 'b' ? 'NLSY79' : 'PSID81',
    year: 1990 + index,
    from: '1',
    to: '2',
    logProb: full ? -1.25 - index : null,
    rawLogProb: -1.5 - index / 3,
    validMass: full ? 0.75 : null,
    rank: full ? index + 1 : null,
    ties: full ? 1 : null,
    topK: full ? [{ code: '2', prob: 0.5 }, { code: '1', prob: 0.25 }] : null,
    pSame: full ? 0.125 : null,
    pLaborForce: full ? 0.875 : null,
  };
}

describe('ResultsStore', () => {
  it('round-trips results (full and perplexity-only rows) in evaluation order', async () => {
    const path = join(await tempDir(), 'r.duckdb');
    const store = await ResultsStore.create(path, meta, workers);
    await store.addRun({ name: 'm', kind: 'model', config: { mode: 'x' }, info: {}, createdAt: 'now' });
    // Worker "a" (ord 1) committed before "b" (ord 0): reading back follows ord, not commit order.
    await store.commitWorkers('m', [{ workerId: 'a', results: [result('a', 1, false)] }]);
    await store.commitWorkers('m', [{ workerId: 'b', results: [result('b', 2, true), result('b', 1, true)] }]);
    const back = await store.results('m');
    expect(back).toEqual([result('b', 1, true), result('b', 2, true), result('a', 1, false)]);
    expect(await store.workers()).toEqual(workers);
    expect(await store.progress('m')).toEqual({ run: 'm', workersDone: 2, workersTotal: 2, transitionsDone: 3, transitionsTotal: 3, complete: true });
    await store.close();
    const again = await ResultsStore.open(path, { readOnly: true });
    expect(again.meta).toEqual(meta);
    expect(await again.results('m')).toEqual(back);
    await again.close();
  });

  it('writes a batch of workers all or nothing', async () => {
    const path = join(await tempDir(), 'r.duckdb');
    const store = await ResultsStore.create(path, meta, workers);
    await store.addRun({ name: 'm', kind: 'model', config: {}, info: {}, createdAt: 'now' });
    await store.commitWorkers('m', [{ workerId: 'a', results: [result('a', 1, true)] }]);
    // The second batch holds a new worker and a duplicate of a stored row: nothing of it may stay.
    await expect(
      store.commitWorkers('m', [
        { workerId: 'b', results: [result('b', 1, true), result('b', 2, true)] },
        { workerId: 'a', results: [result('a', 1, true)] },
      ]),
    ).rejects.toThrow(/Duplicate key|constraint/i);
    expect(await store.results('m')).toEqual([result('a', 1, true)]);
    expect([...(await store.completedWorkers('m'))]).toEqual(['a']);
    // The connection is usable after the rollback.
    await store.commitWorkers('m', [{ workerId: 'b', results: [result('b', 1, true), result('b', 2, true)] }]);
    expect((await store.results('m')).length).toBe(3);
    await store.close();
  });

  it('refuses files that are not results stores, and missing ones', async () => {
    const dir = await tempDir();
    const notDb = join(dir, 'x.duckdb');
    writeFileSync(notDb, 'hello');
    await expect(ResultsStore.open(notDb)).rejects.toBeInstanceOf(InputError);
    await expect(ResultsStore.open(join(dir, 'missing.duckdb'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(ResultsStore.open(dir)).rejects.toThrow(/found a folder/);
    const path = join(dir, 'r.duckdb');
    await (await ResultsStore.create(path, meta, workers)).close();
    await expect(ResultsStore.create(path, meta, workers)).rejects.toThrow(/already exists/);
  });

  it('merges only stores of one labor-force definition', async () => {
    const dir = await tempDir();
    const a = join(dir, 'a.duckdb');
    const b = join(dir, 'b.duckdb');
    const shards = (i: number) => ({ count: 2, indices: [i] });
    await (await ResultsStore.create(a, { ...meta, shards: shards(0) }, [workers[0]!])).close();
    await (await ResultsStore.create(b, { ...meta, shards: shards(1), taxonomy: { ...meta.taxonomy, laborForce: 'employed' } }, [workers[1]!])).close();
    await expect(mergeStores(join(dir, 'm.duckdb'), [a, b])).rejects.toThrow(/uses the employed definition, .* the official one/);
  });

  it('stores a first record (from = null) and refuses a version-1 store (transitions only) with a clear message', async () => {
    const path = join(await tempDir(), 'r.duckdb');
    const store = await ResultsStore.create(path, meta, workers);
    await store.addRun({ name: 'm', kind: 'model', config: {}, info: {}, createdAt: 'now' });
    const first = { ...result('a', 0, true), from: null, pSame: null };
    await store.commitWorkers('m', [{ workerId: 'a', results: [first] }]);
    expect(await store.results('m')).toEqual([first]);
    await store.connection().run(`UPDATE store_meta SET value = $1 WHERE key = 'meta'`, [JSON.stringify({ ...meta, version: 1 })]);
    await store.close();
    const err = await ResultsStore.open(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/version 1 holds transitions only \(records 2\.\.T\).*evaluate again into a new `out` store/);
  });
});

describe('identities', () => {
  it('compares JSON regardless of key order and names the differing fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
    expect(jsonDifferences({ a: 1, b: { c: 'x' } }, { b: { c: 'x' }, a: 1 })).toEqual([]);
    const d = jsonDifferences({ template: 'resume', engine: { kvCache: 'f32' }, gone: 1 }, { template: 'icl', engine: { kvCache: 'f16' } });
    expect(d.map((x) => x.path)).toEqual(['engine.kvCache', 'gone', 'template']);
    expect(describeDifferences(d)).toContain('template: store has "resume", now "icl"');
  });
});

describe('shards', () => {
  it('parses i/n (0-based) and rejects the rest', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(() => parseShard('4/4')).toThrow(/0-based/);
    expect(() => parseShard('1-4')).toThrow(/i\/n/);
    expect(() => parseShard('0/0')).toThrow(/at least 1/);
  });

  it('assigns every worker to exactly one shard, roughly evenly, from its id alone', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `w${i}`);
    const counts = [0, 0, 0, 0];
    for (const id of ids) counts[shardOfWorker(id, 4)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(400);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2000);
    expect(ids.map((id) => shardOfWorker(id, 4))).toEqual(ids.map((id) => shardOfWorker(id, 4)));
    expect(shardOfWorker('anything', 1)).toBe(0);
  });
});
