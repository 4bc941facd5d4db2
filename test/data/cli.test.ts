/**
 * `labor-llm data ...` through main(): exit codes, --json outputs, and that a failed command leaves no
 * output behind.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { dataCommand } from '../../src/cli/commands/data.js';
import { readPanelDir, writePanelDir } from '../../src/data/io/panel-store.js';
import { getTemplate } from '../../src/data/template/index.js';
import { captureCli } from '../helpers/run-cli.js';
import { CAREER_SAMPLE, LONG_SAMPLE, tempDir, writeFiles } from '../helpers/panel-files.js';

const { out: io, run } = captureCli();

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function synthStore(base: string, workers = 30): Promise<string> {
  const out = join(base, 'synth');
  expect(await run('data', 'synth', '--profile', 'psid81', '--workers', String(workers), '--seed', '4', '--out', out, '--quiet')).toBe(0);
  return out;
}

describe('data import', () => {
  it('imports a CAREER folder and prints what it did as JSON', async () => {
    const base = await tempDir();
    await writeFiles(join(base, 'career'), CAREER_SAMPLE);
    const code = await run('data', 'import', join(base, 'career'), '--format', 'career', '--dataset', 'NLSY79', '--out', join(base, 'store'), '--json');
    expect(code).toBe(0);
    const result = JSON.parse(io.stdout);
    expect(result).toMatchObject({ command: 'data import', format: 'career', workers: 4, records: 11, splits: { train: 2, valid: 1, test: 1 }, splitsAssigned: 0 });
    const store = await readPanelDir(join(base, 'store'));
    expect(store.panel.workers.map((w) => w.id)).toEqual(['train-1', 'train-2', 'valid-1', 'test-1']);
    expect(store.meta.source).toMatchObject({ command: 'data import', format: 'career', splits: 'input' });
  });

  it('imports a long CSV with renamed columns and assigns splits when the table has none', async () => {
    const base = await tempDir();
    const csv = LONG_SAMPLE.replace('worker_id,', 'pid,').replace(/,split\n/, '\n').replace(/,(train|valid|test)\n/g, '\n');
    await writeFiles(base, { 'p.csv': csv });
    const code = await run('data', 'import', join(base, 'p.csv'), '--column', 'worker_id=pid', '--split-seed', '9', '--out', join(base, 's'), '--json');
    expect(code).toBe(0);
    const result = JSON.parse(io.stdout);
    expect(result).toMatchObject({ format: 'csv', workers: 3, splitsAssigned: 3, splitSeed: 9 });
    const store = await readPanelDir(join(base, 's'));
    expect(store.splits.size).toBe(3);
  });

  it('fails with exit code 2, names file and line, and writes nothing', async () => {
    const base = await tempDir();
    await writeFiles(join(base, 'career'), { ...CAREER_SAMPLE, 'train.year': '1990 19x1 1992 1994 1995\n2001 2002\n' });
    const code = await run('data', 'import', join(base, 'career'), '--dataset', 'X', '--out', join(base, 'store'));
    expect(code).toBe(2);
    expect(io.stderr).toContain(`${join(base, 'career', 'train.year')}:1:6`);
    expect(io.stderr).toMatch(/not a four-digit year/);
    expect(io.stdout).toBe('');
    expect((await readdir(base)).sort()).toEqual(['career']);
  });

  it('fails with exit code 3 for an input that does not exist', async () => {
    const base = await tempDir();
    expect(await run('data', 'import', join(base, 'nope.csv'), '--out', join(base, 's'))).toBe(3);
    expect(io.stderr).toMatch(/nope\.csv: no such file/);
    expect(await readdir(base)).toEqual([]);
  });

  it('fails for an unknown taxonomy and a bad --format', async () => {
    const base = await tempDir();
    await writeFiles(base, { 'p.csv': LONG_SAMPLE });
    expect(await run('data', 'import', join(base, 'p.csv'), '--taxonomy', 'isco', '--out', join(base, 's'))).toBe(3);
    expect(await run('data', 'import', join(base, 'p.csv'), '--format', 'xlsx', '--out', join(base, 's'))).not.toBe(0);
    expect(await readdir(base)).toEqual(['p.csv']);
  });

  it('refuses to replace an existing store without --force', async () => {
    const base = await tempDir();
    await writeFiles(base, { 'p.csv': LONG_SAMPLE });
    expect(await run('data', 'import', join(base, 'p.csv'), '--out', join(base, 's'))).toBe(0);
    const before = await readFile(join(base, 's', 'workers.jsonl'), 'utf8');
    expect(await run('data', 'import', join(base, 'p.csv'), '--out', join(base, 's'), '--dataset', 'Y')).toBe(2);
    expect(io.stderr).toMatch(/already exists/);
    expect(await readFile(join(base, 's', 'workers.jsonl'), 'utf8')).toBe(before);
    expect(await run('data', 'import', join(base, 'p.csv'), '--out', join(base, 's'), '--force')).toBe(0);
    expect((await readdir(base)).sort()).toEqual(['p.csv', 's']);
  });
});

describe('data synth, export, split', () => {
  it('synth: the same seed gives the same bytes, and reports the oracle perplexity', async () => {
    const base = await tempDir();
    const a = join(base, 'a');
    const b = join(base, 'b');
    expect(await run('data', 'synth', '--profile', 'nlsy79', '--workers', '25', '--seed', '2', '--out', a, '--json')).toBe(0);
    const result = JSON.parse(io.stdout);
    expect(await run('data', 'synth', '--profile', 'nlsy79', '--workers', '25', '--seed', '2', '--out', b, '--json')).toBe(0);
    expect(await readFile(join(a, 'workers.jsonl'))).toEqual(await readFile(join(b, 'workers.jsonl')));
    expect(result).toMatchObject({ command: 'data synth', profile: 'nlsy79', workers: 25 });
    expect(result.transitions).toBe(result.records - 25);
    // Recompute the oracle perplexity from the stored probabilities (every record, the first included).
    const store = await readPanelDir(a);
    const logs = store.panel.workers.flatMap((w) => w.records.map((r) => Math.log(r.trueProbability as number)));
    expect(logs).toHaveLength(result.records);
    expect(result.oraclePerplexity.all).toBeCloseTo(Math.exp(-logs.reduce((x, y) => x + y, 0) / logs.length), 10);
    expect(store.meta.oracle).toBe(true);
  });

  it('export career -> import -> export is byte-identical through the CLI', async () => {
    const base = await tempDir();
    const store = await synthStore(base);
    expect(await run('data', 'export', store, '--format', 'career', '--out', join(base, 'c1'), '--json')).toBe(0);
    expect(JSON.parse(io.stdout)).toMatchObject({ format: 'career', datasetFiles: false, datasets: ['PSID81'] });
    expect(await run('data', 'import', join(base, 'c1'), '--dataset', 'PSID81', '--out', join(base, 's2'), '--quiet')).toBe(0);
    expect(await run('data', 'export', join(base, 's2'), '--format', 'career', '--out', join(base, 'c2'), '--quiet')).toBe(0);
    const names = (await readdir(join(base, 'c1'))).sort();
    expect((await readdir(join(base, 'c2'))).sort()).toEqual(names);
    for (const n of names) expect(await readFile(join(base, 'c2', n)), n).toEqual(await readFile(join(base, 'c1', n)));
  });

  it('export long (CSV and Parquet) -> import keeps the panel', async () => {
    const base = await tempDir();
    const store = await synthStore(base);
    const original = await readPanelDir(store);
    for (const file of ['t.csv', 't.parquet']) {
      expect(await run('data', 'export', store, '--format', 'long', '--out', join(base, file), '--json')).toBe(0);
      expect(JSON.parse(io.stdout)).toMatchObject({ table: file.endsWith('csv') ? 'csv' : 'parquet', rows: original.meta.records });
      expect(await run('data', 'import', join(base, file), '--out', join(base, `s-${file}`), '--quiet')).toBe(0);
      const back = await readPanelDir(join(base, `s-${file}`));
      expect(back.panel).toEqual(original.panel);
      expect(back.splits).toEqual(original.splits);
    }
  });

  it('export to CAREER needs every worker in a split; data split --write gives them one', async () => {
    const base = await tempDir();
    const store = await synthStore(base);
    const { panel, taxonomy, splits } = await readPanelDir(store);
    const partial = new Map([...splits].slice(0, 10));
    await writePanelDir(join(base, 'partial'), { panel, taxonomy, splits: partial });
    expect(await run('data', 'export', join(base, 'partial'), '--format', 'career', '--out', join(base, 'c'))).toBe(2);
    expect(io.stderr).toMatch(/20 workers have no split.*data split/);
    expect(await exists(join(base, 'c'))).toBe(false);

    expect(await run('data', 'split', join(base, 'partial'), '--write', '--json')).toBe(0);
    const result = JSON.parse(io.stdout);
    expect(result).toMatchObject({ assigned: 20, before: { unassigned: 20 }, after: { unassigned: 0 }, written: true });
    const after = await readPanelDir(join(base, 'partial'));
    // The 10 workers that had a split keep it.
    for (const [id, s] of partial) expect(after.splits.get(id)).toBe(s);
    expect(await run('data', 'export', join(base, 'partial'), '--format', 'career', '--out', join(base, 'c'), '--quiet')).toBe(0);
  });

  it('split without --write changes nothing and can list the membership', async () => {
    const base = await tempDir();
    const store = await synthStore(base);
    const before = await readFile(join(store, 'workers.jsonl'));
    expect(await run('data', 'split', store, '--reassign', '--seed', '99', '--fractions', '50,25,25', '--list', '--json')).toBe(0);
    const result = JSON.parse(io.stdout);
    expect(Object.keys(result.membership)).toHaveLength(30);
    expect(result.after.train + result.after.valid + result.after.test).toBe(30);
    expect(result.fractions).toEqual({ train: 0.5, valid: 0.25, test: 0.25 });
    expect(result.written).toBe(false);
    expect(await readFile(join(store, 'workers.jsonl'))).toEqual(before);
    expect(await run('data', 'split', store, '--fractions', '1,2')).toBe(2);
  });
});

describe('data render and training', () => {
  it('render prints exactly the template texts, and prompts that are prefixes of them', async () => {
    const base = await tempDir();
    const store = await synthStore(base, 8);
    const { panel, taxonomy, splits } = await readPanelDir(store);
    expect(await run('data', 'render', store, '--template', 'resume', '--split', 'test', '--json')).toBe(0);
    const result = JSON.parse(io.stdout);
    const template = getTemplate('resume', { taxonomy });
    const test = panel.workers.filter((w) => splits.get(w.id) === 'test');
    expect(result.items).toEqual(test.map((w) => ({ workerId: w.id, text: template.render(w).text })));

    expect(await run('data', 'render', store, '--prompts', '--worker', (panel.workers[0] as { id: string }).id, '--json')).toBe(0);
    const prompts = JSON.parse(io.stdout).items as { text: string; index: number }[];
    const full = template.render(panel.workers[0] as (typeof panel.workers)[0]).text;
    expect(prompts).toHaveLength((panel.workers[0] as { records: unknown[] }).records.length); // every record's prompt, the first included
    for (const p of prompts) expect(full.startsWith(p.text)).toBe(true);

    expect(await run('data', 'render', store, '--limit', '2', '--out', join(base, 'r.txt'), '--json')).toBe(0);
    const text = await readFile(join(base, 'r.txt'), 'utf8');
    expect(JSON.parse(io.stdout)).toMatchObject({ texts: 2, bytes: Buffer.byteLength(text) });
    const first2 = panel.workers.slice(0, 2).map((w) => template.render(w).text);
    expect(text).toBe(first2.map((t) => (t.endsWith('\n') ? t : `${t}\n`)).join('\n'));
  });

  it('render refuses unknown workers', async () => {
    const base = await tempDir();
    const store = await synthStore(base, 5);
    expect(await run('data', 'render', store, '--worker', 'nobody')).toBe(2);
    expect(io.stderr).toMatch(/no worker with id "nobody"/);
  });

  it('training writes the file and reports its real size', async () => {
    const base = await tempDir();
    const store = await synthStore(base, 12);
    const { panel, splits } = await readPanelDir(store);
    const out = join(base, 'train.jsonl');
    expect(await run('data', 'training', store, '--format', 'openai', '--out', out, '--json')).toBe(0);
    const result = JSON.parse(io.stdout);
    const content = await readFile(out, 'utf8');
    const lines = content.trimEnd().split('\n').map((l) => JSON.parse(l));
    const trainCount = panel.workers.filter((w) => splits.get(w.id) === 'train').length;
    expect(result).toMatchObject({ format: 'openai-chat', examples: trainCount, workers: trainCount, bytes: Buffer.byteLength(content) });
    expect(result.tokens).toBeGreaterThan(0);
    expect(lines[0].messages.map((m: { role: string }) => m.role)).toEqual(['system', 'user', 'assistant']);

    expect(await run('data', 'training', store, '--format', 'text', '--mode', 'transitions', '--split', 'all', '--out', join(base, 't.txt'), '--json')).toBe(0);
    const transitions = panel.workers.reduce((n, w) => n + w.records.length - 1, 0);
    expect(JSON.parse(io.stdout).examples).toBe(transitions);
  });
});

describe('data --help', () => {
  for (const sub of ['import', 'export', 'synth', 'split', 'render', 'training']) {
    it(`data ${sub} --help shows an example`, async () => {
      let output = '';
      await yargs()
        .scriptName('labor-llm')
        .command(dataCommand)
        .exitProcess(false)
        .parseAsync(['data', sub, '--help'], {}, (_err, _argv, out) => {
          output = out;
        });
      expect(output).toContain('Examples:');
      expect(output).toContain(`labor-llm data ${sub}`);
    });
  }
});
