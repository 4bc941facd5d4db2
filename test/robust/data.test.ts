/** Panel imports that used to read too much, drop a split or misread a value without a word. */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-robust-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const panel = join(dir, 'panel');

beforeAll(async () => {
  const r = await runCli(['data', 'synth', '--profile', 'nlsy79', '--workers', '40', '--out', panel, '--quiet']);
  expect(r.code, r.stderr).toBe(0);
});

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(argv);
}

describe('data import', () => {
  it('a Parquet path with glob characters reads that one file', async () => {
    const one = join(dir, 'a*.parquet');
    expect((await run(['data', 'export', panel, '--format', 'long', '--out', one, '--quiet'])).code).toBe(0);
    copyFileSync(one, join(dir, 'ab.parquet'));
    const r = await run(['data', 'import', one, '--out', join(dir, 'imported'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { workers: number }).workers).toBe(40);
  });

  it('a CAREER folder with train and test but no valid.job is refused, naming the missing file', async () => {
    const career = join(dir, 'career');
    expect((await run(['data', 'export', panel, '--format', 'career', '--out', career, '--quiet'])).code).toBe(0);
    rmSync(join(career, 'valid.job'));
    const r = await run(['data', 'import', career, '--out', join(dir, 'career-in'), '--dataset', 'NLSY79']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/valid\.job.*train\.job and test\.job are here but valid\.job is not/);
  });

  it('a negative education code is a missing-value code, not years of schooling', async () => {
    const csv = join(dir, 'neg.csv');
    writeFileSync(csv, 'worker_id,dataset,year,code,education,gender,ethnicity,region,birth_year\nw1,NLSY79,1990,4,-3,female,black,South,1960\n');
    const r = await run(['data', 'import', csv, '--out', join(dir, 'neg'), '--taxonomy', 'occ1990dd']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/neg\.csv:2.*education "-3" is a survey missing-value code/);
  });

  it('a NUL byte in a Parquet string is refused as in CSV', async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const file = join(dir, 'nul.parquet');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    await con.run(
      `COPY (SELECT 'w1' AS worker_id, 'NLSY79' AS dataset, 1990 AS year, '4' AS code, 'college' AS education, 'fe' || chr(0) || 'male' AS gender, ` +
        `'black' AS ethnicity, 'South' AS region, 1960 AS birth_year) TO '${file}' (FORMAT parquet)`,
    );
    con.closeSync();
    db.closeSync();
    const r = await run(['data', 'import', file, '--out', join(dir, 'nul')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nul\.parquet:1 \(field "gender"\): the value contains a NUL byte/);
  });
});
