/**
 * The store's format is version 2 as it was first written: the tables below are the CREATE TABLE text
 * that created every version-2 store, frozen here. The column lists in src/results/tables.ts must create
 * the same catalog and read such a store back; a change to them that fails here is a format change
 * (a new STORE_VERSION), not a refactoring.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { ResultsStore } from '../../src/results/results-store.js';
import { removeTempDirs, tempDir } from '../helpers/eval-fixtures.js';
import { testStoreMeta } from '../robust/store-meta.js';

afterAll(removeTempDirs);

const VERSION_2_SCHEMA = `
CREATE TABLE store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE workers (
  worker_id VARCHAR PRIMARY KEY, ord INTEGER NOT NULL, dataset VARCHAR NOT NULL, gender VARCHAR NOT NULL,
  ethnicity VARCHAR NOT NULL, region VARCHAR NOT NULL, birth_year INTEGER, shard INTEGER NOT NULL,
  transitions INTEGER NOT NULL);
CREATE TABLE runs (name VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, config VARCHAR NOT NULL, info VARCHAR NOT NULL,
  created_at VARCHAR NOT NULL);
CREATE TABLE results (
  run VARCHAR NOT NULL, worker_id VARCHAR NOT NULL, idx INTEGER NOT NULL, dataset VARCHAR NOT NULL,
  year INTEGER NOT NULL, from_code VARCHAR, to_code VARCHAR NOT NULL,
  log_prob DOUBLE, raw_log_prob DOUBLE, valid_mass DOUBLE, rank INTEGER, ties INTEGER,
  top_k STRUCT(code VARCHAR, prob DOUBLE)[], p_same DOUBLE, p_labor_force DOUBLE,
  PRIMARY KEY (run, worker_id, idx));
CREATE TABLE worker_done (run VARCHAR NOT NULL, worker_id VARCHAR NOT NULL, transitions INTEGER NOT NULL,
  PRIMARY KEY (run, worker_id));
CREATE TABLE sessions (id INTEGER PRIMARY KEY, run VARCHAR NOT NULL, started_at VARCHAR NOT NULL,
  finished_at VARCHAR, workers_scored INTEGER NOT NULL, info VARCHAR NOT NULL);
`;

const meta = testStoreMeta();

/** A version-2 store written with plain SQL, as the first version-2 code wrote it. */
async function writeVersion2Store(path: string): Promise<void> {
  const db = await DuckDBInstance.create(path);
  const conn = await db.connect();
  await conn.run(VERSION_2_SCHEMA);
  await conn.run(`INSERT INTO store_meta VALUES ('meta', $1)`, [JSON.stringify(meta)]);
  await conn.run(`INSERT INTO workers VALUES ('w1', 0, 'NLSY79', 'female', 'x', 'South', 1960, 0, 2), ('w0', 1, 'PSID81', 'male', 'y', 'West', NULL, 0, 1)`);
  await conn.run(`INSERT INTO runs VALUES ('m', 'model', '{"mode":"distribution"}', '{"path":"m.gguf"}', '2026-01-02')`);
  await conn.run(`INSERT INTO results VALUES
    ('m', 'w1', 0, 'NLSY79', 1990, NULL, '2', -1.25, -1.5, 0.75, 1, 1, [{'code': '2', 'prob': 0.5}, {'code': '1', 'prob': 0.25}], NULL, 0.875),
    ('m', 'w1', 1, 'NLSY79', 1991, '2', '3', NULL, -2.5, NULL, NULL, NULL, NULL, NULL, NULL),
    ('m', 'w0', 0, 'PSID81', 1985, NULL, '1', -0.5, -0.5, 1.0, 2, 3, [], 0.125, 0.5)`);
  await conn.run(`INSERT INTO worker_done VALUES ('m', 'w1', 2), ('m', 'w0', 1)`);
  await conn.run(`INSERT INTO sessions VALUES (1, 'm', '2026-01-02T00:00:00Z', NULL, 0, '{"host":"h"}'), (2, 'm', 's', 'f', 2, '{}')`);
  conn.closeSync();
  db.closeSync();
}

/** The tables, columns and constraints of a store file as DuckDB's catalog describes them. */
async function catalog(path: string): Promise<unknown> {
  const db = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  const conn = await db.connect();
  const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRowsJS();
  try {
    return {
      tables: await rows(`SELECT table_name, sql FROM duckdb_tables() ORDER BY table_name`),
      constraints: await rows(`SELECT table_name, constraint_index, constraint_type, constraint_text FROM duckdb_constraints() ORDER BY ALL`),
    };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

describe('results store format (version 2)', () => {
  it('creates the tables, columns, types and keys version 2 has', async () => {
    const dir = await tempDir();
    const old = join(dir, 'v2.duckdb');
    await writeVersion2Store(old);
    const now = join(dir, 'now.duckdb');
    await (await ResultsStore.create(now, meta, [])).close();
    const expected = await catalog(old);
    expect((expected as { tables: unknown[] }).tables).toHaveLength(6);
    expect(await catalog(now)).toEqual(expected);
  });

  it('reads a store written by plain SQL back field by field', async () => {
    const path = join(await tempDir(), 'v2.duckdb');
    await writeVersion2Store(path);
    const store = await ResultsStore.open(path, { readOnly: true });
    try {
      expect(store.meta).toEqual(meta);
      expect(await store.workers()).toEqual([
        { workerId: 'w1', ord: 0, dataset: 'NLSY79', gender: 'female', ethnicity: 'x', region: 'South', birthYear: 1960, shard: 0, transitions: 2 },
        { workerId: 'w0', ord: 1, dataset: 'PSID81', gender: 'male', ethnicity: 'y', region: 'West', birthYear: null, shard: 0, transitions: 1 },
      ]);
      expect(await store.runs()).toEqual([{ name: 'm', kind: 'model', config: { mode: 'distribution' }, info: { path: 'm.gguf' }, createdAt: '2026-01-02' }]);
      const base = { workerId: 'w1', dataset: 'NLSY79' };
      expect(await store.results('m')).toEqual([
        { ...base, index: 0, year: 1990, from: null, to: '2', logProb: -1.25, rawLogProb: -1.5, validMass: 0.75, rank: 1, ties: 1,
          topK: [{ code: '2', prob: 0.5 }, { code: '1', prob: 0.25 }], pSame: null, pLaborForce: 0.875 },
        { ...base, index: 1, year: 1991, from: '2', to: '3', logProb: null, rawLogProb: -2.5, validMass: null, rank: null, ties: null,
          topK: null, pSame: null, pLaborForce: null },
        { workerId: 'w0', dataset: 'PSID81', index: 0, year: 1985, from: null, to: '1', logProb: -0.5, rawLogProb: -0.5, validMass: 1, rank: 2,
          ties: 3, topK: [], pSame: 0.125, pLaborForce: 0.5 },
      ]);
      expect([...(await store.completedWorkers('m'))].sort()).toEqual(['w0', 'w1']);
      expect(await store.sessions()).toEqual([
        { run: 'm', startedAt: '2026-01-02T00:00:00Z', finishedAt: null, workersScored: 0, info: { host: 'h' } },
        { run: 'm', startedAt: 's', finishedAt: 'f', workersScored: 2, info: {} },
      ]);
    } finally {
      await store.close();
    }
  });

  it('a stored value of the wrong kind is a typed error naming the table, row and column', async () => {
    const cases: [string, RegExp, (s: ResultsStore) => Promise<unknown>][] = [
      [`UPDATE runs SET kind = 'llm'`, /runs\.m\.kind is not one of model, baseline, imported \("llm"\)/, (s) => s.runs()],
      [`UPDATE runs SET config = 'nope'`, /runs\.m\.config is not a JSON object \("nope"\)/, (s) => s.runs()],
      [`UPDATE results SET top_k = [{'code': NULL, 'prob': 0.5}] WHERE worker_id = 'w0'`, /results\.m\/w0\/0\.top_k is not a list of \(code, prob\) or NULL/, (s) => s.results('m')],
      [`UPDATE sessions SET info = '[1]' WHERE id = 2`, /sessions\.2\.info is not a JSON object/, (s) => s.sessions()],
    ];
    for (const [sql, message, read] of cases) {
      const path = join(await tempDir(), 'v2.duckdb');
      await writeVersion2Store(path);
      const store = await ResultsStore.open(path);
      try {
        await store.connection().run(sql);
        const err = await read(store).catch((e: unknown) => e);
        expect(err, sql).toBeInstanceOf(InputError);
        expect((err as Error).message, sql).toMatch(message);
        expect((err as Error).message, sql).toContain(path);
      } finally {
        await store.close();
      }
    }
  });
});
