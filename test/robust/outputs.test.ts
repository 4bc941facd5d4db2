/**
 * Output flags never overwrite an input (compared as files: `a/./x` is `a/x`, a symlink is its
 * target), and replace an existing file only with --force.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultsStore } from '../../src/results/results-store.js';
import { runCli } from '../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-outputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const panel = join(dir, 'panel');
const store = join(dir, 'r.duckdb');

async function ok(argv: string[]): Promise<void> {
  const r = await runCli(argv);
  expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(0);
}

beforeAll(async () => {
  await ok(['data', 'synth', '--profile', 'nlsy79', '--workers', '30', '--out', panel, '--quiet']);
  await ok(['eval', '--baseline', 'uniform', '--data', panel, '--out', store, '--quiet']);
  for (const s of [0, 1]) await ok(['eval', '--baseline', 'uniform', '--data', panel, '--shard', `${s}/2`, '--out', join(dir, `s${s}.duckdb`), '--quiet']);
});

async function refused(argv: string[], why: RegExp): Promise<void> {
  const r = await runCli(argv);
  expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(2);
  expect(r.stderr).toMatch(why);
}

async function storeIntact(path: string): Promise<void> {
  const s = await ResultsStore.open(path, { readOnly: true });
  expect((await s.runs()).length).toBeGreaterThan(0);
  await s.close();
}

describe('output flags', () => {
  it('report --out STORE (even with --force, or through ./ and a symlink) leaves the store alone', async () => {
    symlinkSync(store, join(dir, 'link.duckdb'));
    for (const out of [store, join(dir, '.', 'r.duckdb'), join(dir, 'link.duckdb')]) {
      await refused(['report', store, '--bootstrap', '2', '--out', out, '--force'], /is the input/);
      await refused(['report', store, '--bootstrap', '2', '--export', out, '--force'], /is the input/);
    }
    await storeIntact(store);
  });

  it('report --out and --export refuse an existing file without --force', async () => {
    const md = join(dir, 'existing.md');
    writeFileSync(md, 'keep me');
    await refused(['report', store, '--bootstrap', '2', '--out', md], /already exists.*--force/);
    expect(readFileSync(md, 'utf8')).toBe('keep me');
    await ok(['report', store, '--bootstrap', '2', '--out', md, '--force', '--quiet']);
    expect(readFileSync(md, 'utf8')).toMatch(/uniform/);
    const csv = join(dir, 'rows.csv');
    writeFileSync(csv, 'keep me');
    await refused(['report', store, '--bootstrap', '2', '--export', csv], /--export .* already exists/);
    expect(readFileSync(csv, 'utf8')).toBe('keep me');
  });

  it('merge OUT that is an input spelled differently is refused, and the shard survives', async () => {
    const s0 = join(dir, 's0.duckdb');
    await refused(['merge', join(dir, '.', 's0.duckdb'), s0, join(dir, 's1.duckdb'), '--force'], /is the input/);
    await refused(['merge', join(dir, 'm.duckdb'), s0, join(dir, '.', 's0.duckdb')], /given twice/);
    await storeIntact(s0);
  });

  it('data import DIR --out DIR --force keeps the CAREER files it reads', async () => {
    const career = join(dir, 'career');
    await ok(['data', 'export', panel, '--format', 'career', '--out', career, '--quiet']);
    const before = readdirSync(career).sort();
    await refused(['data', 'import', career, '--out', join(dir, 'career', '.'), '--force', '--dataset', 'X'], /is the input/);
    await refused(['data', 'import', career, '--out', dir, '--force', '--dataset', 'X'], /folder that holds the input/);
    expect(readdirSync(career).sort()).toEqual(before);
  });

  it('data training P --out P/workers.jsonl --force keeps the panel', async () => {
    const workers = join(panel, 'workers.jsonl');
    const before = readFileSync(workers, 'utf8');
    await refused(['data', 'training', panel, '--format', 'text', '--out', workers, '--force'], /is a file of the input folder/);
    await refused(['data', 'render', panel, '--out', workers, '--force'], /is a file of the input folder/);
    expect(readFileSync(workers, 'utf8')).toBe(before);
    expect(existsSync(join(panel, 'meta.json'))).toBe(true);
  });
});
