/**
 * eval --import-scores: an outside model's per-record log-probs (CSV or Parquet) stored as a run and
 * reported with paired differences; a file that misses a record, scores one twice or has a wrong
 * year or code is refused, naming the row.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { BaselineScorer } from '../../src/eval/baseline.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { ImportedScorer } from '../../src/eval/imported-scorer.js';
import { buildReport } from '../../src/report/build.js';
import { ResultsStore } from '../../src/results/results-store.js';
import type { StoredResult } from '../../src/results/types.js';
import { type PanelFixture, removeTempDirs, tempDir, writeSyntheticPanel } from '../helpers/eval-fixtures.js';
import { runCli } from '../helpers/run-cli.js';

afterAll(removeTempDirs);

let fx: PanelFixture;
let dir: string;
let store: string;
let rows: StoredResult[];

/** A CAREER-style score file of the empirical run's rows (header, then one line per record). */
function csvOf(lines: StoredResult[], withCode = true): string {
  const head = withCode ? 'worker_id,year,log_prob,code' : 'worker_id,year,log_prob';
  return `${[head, ...lines.map((r) => [r.workerId, r.year, r.rawLogProb!.toPrecision(17), ...(withCode ? [r.to] : [])].join(','))].join('\n')}\n`;
}

beforeAll(async () => {
  fx = await writeSyntheticPanel({ workers: 30, maxRecords: 5 });
  dir = await tempDir();
  store = join(dir, 'r.duckdb');
  await evaluate({ data: fx.dir, out: store, scorer: new BaselineScorer('empirical') });
  const s = await ResultsStore.open(store, { readOnly: true });
  rows = await s.results('empirical');
  await s.close();
});

describe('eval --import-scores', () => {
  it('stores a CSV file as a run that reports exactly as the model it came from, paired', async () => {
    const file = join(dir, 'career.csv');
    writeFileSync(file, csvOf(rows));
    const r = await evaluate({ data: fx.dir, out: store, scorer: new ImportedScorer(file), name: 'CAREER' });
    expect(r.kind).toBe('imported');
    expect(r.complete).toBe(true);
    const report = await buildReport([store], { B: 50, seed: 1, reference: 'CAREER' });
    const column = report.datasets.at(-1)!; // one dataset: no pooled column
    const cell = (run: string) => report.perplexity.find((c) => c.run === run && c.dataset === column)!;
    expect(cell('CAREER').raw.estimate).toBeCloseTo(cell('empirical').raw.estimate, 10);
    expect(cell('CAREER').normalized).toBeNull();
    expect(cell('CAREER').raw.transitions).toBe(rows.length);
    const diff = report.differences.find((d) => d.run === 'empirical' && d.dataset === column)!;
    expect(diff.reference).toBe('CAREER');
    expect(Math.abs(diff.difference.estimate)).toBeLessThan(1e-9);
    expect(report.runs.find((x) => x.name === 'CAREER')!.scorer).toBe('career.csv');
  });

  it('reads Parquet, and the CLI stores it under --name', async () => {
    const csv = join(dir, 'plain.csv');
    writeFileSync(csv, csvOf(rows, false));
    const parquet = join(dir, 'scores.parquet');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(`COPY (SELECT worker_id, CAST(year AS INTEGER) AS year, CAST(log_prob AS DOUBLE) AS log_prob FROM read_csv('${csv}', all_varchar = true)) TO '${parquet}' (FORMAT parquet)`);
    conn.closeSync();
    db.closeSync();
    const out = join(dir, 'cli.duckdb');
    const { code } = await runCli(['eval', '--import-scores', parquet, '--data', fx.dir, '--out', out, '--name', 'outside', '--quiet']);
    expect(code).toBe(0);
    const s = await ResultsStore.open(out, { readOnly: true });
    const back = await s.results('outside');
    await s.close();
    expect(back.map((x) => [x.workerId, x.index, x.to])).toEqual(rows.map((x) => [x.workerId, x.index, x.to]));
    back.forEach((x, i) => expect(x.rawLogProb).toBeCloseTo(rows[i]!.rawLogProb!, 12));
  });

  it('refuses a missing record, a duplicate, a wrong year or code, naming the row', async () => {
    const attempt = async (lines: StoredResult[], name: string, withCode = true): Promise<InputError> => {
      const file = join(dir, `${name}.csv`);
      writeFileSync(file, csvOf(lines, withCode));
      const out = join(dir, `${name}.duckdb`);
      const e = await evaluate({ data: fx.dir, out, scorer: new ImportedScorer(file) }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(InputError);
      return e as InputError;
    };
    const missing = await attempt(rows.filter((_, i) => i !== 7), 'missing');
    expect(missing.message).toContain(`no row scores worker "${rows[7]!.workerId}", year ${rows[7]!.year}`);
    const dup = await attempt([...rows.slice(0, 4), rows[2]!, ...rows.slice(4)], 'dup');
    expect(dup.message).toMatch(/line 6: .* is scored twice \(first at line 4\)/);
    const wrongYear = rows.map((r, i) => (i === 3 ? { ...r, year: 1800 } : r));
    expect((await attempt(wrongYear, 'year')).message).toMatch(/line 5: worker "[^"]+" has no record in year "1800"/);
    const wrongCode = rows.map((r, i) => (i === 5 ? { ...r, to: r.to === '905' ? '9001' : '905' } : r));
    expect((await attempt(wrongCode, 'code')).message).toMatch(/line 7: worker "[^"]+", year \d+: code "\d+", but the panel has/);
    const stranger = rows.map((r, i) => (i === 0 ? { ...r, workerId: 'nobody' } : r));
    expect((await attempt(stranger, 'stranger')).message).toMatch(/line 2: worker "nobody" is not a worker of the panel's test split/);
  });
});
