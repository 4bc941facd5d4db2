/**
 * `labor-llm data mix` (the paper's mixture settings 1 and 2) and `data randomize` through main(), and
 * `data import --format career` reading the paper's region spellings.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureCli } from '../helpers/run-cli.js';
import { type PanelStore, readPanelDir } from '../../src/data/io/panel-store.js';
import type { Worker } from '../../src/data/panel/types.js';
import { CAREER_SAMPLE, tempDir, writeFiles } from '../helpers/panel-files.js';

const { out: io, run } = captureCli();

const inSplit = (s: PanelStore, split: string) => s.panel.workers.filter((w) => s.splits.get(w.id) === split);

async function stores(base: string): Promise<{ dirs: Record<string, string>; read: Record<string, PanelStore> }> {
  const dirs: Record<string, string> = {};
  const read: Record<string, PanelStore> = {};
  for (const [profile, workers] of [['psid81', 200], ['nlsy79', 100], ['nlsy97', 80]] as const) {
    dirs[profile] = join(base, profile);
    expect(await run('data', 'synth', '--profile', profile, '--workers', String(workers), '--seed', '3', '--out', dirs[profile], '--quiet')).toBe(0);
    read[profile] = await readPanelDir(dirs[profile]);
  }
  return { dirs, read };
}

describe('data mix', () => {
  it('setting 1: P% of the union of the training workers, every valid and test worker kept', async () => {
    const base = await tempDir();
    const { dirs, read } = await stores(base);
    const all = Object.values(read);
    const trainTotal = all.reduce((a, s) => a + inSplit(s, 'train').length, 0);
    const out = join(base, 'mix40');
    expect(await run('data', 'mix', '--union', dirs.psid81!, dirs.nlsy79!, dirs.nlsy97!, '--percent', '40', '--seed', '1', '--out', out, '--json')).toBe(0);
    const result = JSON.parse(io.stdout);
    const mixed = await readPanelDir(out);
    expect(inSplit(mixed, 'train')).toHaveLength(Math.floor(0.4 * trainTotal));
    expect(result).toMatchObject({ command: 'data mix', setting: 1, percent: 40, added: 0 });
    expect(result.splits.train).toBe(Math.floor(0.4 * trainTotal));
    for (const split of ['valid', 'test']) {
      expect(inSplit(mixed, split).map((w) => w.id).sort()).toEqual(all.flatMap((s) => inSplit(s, split).map((w) => `${w.dataset}:${w.id}`)).sort());
    }
    // Training workers come from the training splits, keep their dataset (and so their header) and their records.
    const trainOf = new Map<string, Worker>(all.flatMap((s) => inSplit(s, 'train').map((w) => [`${w.dataset}:${w.id}`, w] as const)));
    for (const w of inSplit(mixed, 'train')) expect(trainOf.get(w.id)?.records).toEqual(w.records);
    expect(new Set(inSplit(mixed, 'train').map((w) => w.dataset))).toEqual(new Set(['PSID81', 'NLSY79', 'NLSY97']));
    // A larger share keeps a superset.
    expect(await run('data', 'mix', '--union', dirs.psid81!, dirs.nlsy79!, dirs.nlsy97!, '--percent', '60', '--seed', '1', '--out', join(base, 'mix60'), '--quiet')).toBe(0);
    const bigger = new Set(inSplit(await readPanelDir(join(base, 'mix60')), 'train').map((w) => w.id));
    expect(inSplit(mixed, 'train').every((w) => bigger.has(w.id))).toBe(true);
  });

  it("setting 2: the base plus P% of the base's training workers, drawn from the other panels together", async () => {
    const base = await tempDir();
    const { dirs, read } = await stores(base);
    const baseTrain = inSplit(read.nlsy97!, 'train').length;
    const out = join(base, 'plus30');
    expect(await run('data', 'mix', '--base', dirs.nlsy97!, '--add', dirs.psid81!, dirs.nlsy79!, '--percent', '30', '--out', out, '--json')).toBe(0);
    const result = JSON.parse(io.stdout);
    const mixed = await readPanelDir(out);
    const added = Math.floor(0.3 * baseTrain);
    expect(result).toMatchObject({ setting: 2, added });
    expect(inSplit(mixed, 'train')).toHaveLength(baseTrain + added);
    // The base keeps every worker in its split; the added ones are training workers of the other panels.
    for (const split of ['train', 'valid', 'test']) {
      const want = inSplit(read.nlsy97!, split).map((w) => `NLSY97:${w.id}`);
      expect(inSplit(mixed, split).filter((w) => w.dataset === 'NLSY97').map((w) => w.id)).toEqual(want);
    }
    const otherTrain = new Set([...inSplit(read.psid81!, 'train'), ...inSplit(read.nlsy79!, 'train')].map((w) => `${w.dataset}:${w.id}`));
    const addedWorkers = inSplit(mixed, 'train').filter((w) => w.dataset !== 'NLSY97');
    expect(addedWorkers).toHaveLength(added);
    expect(addedWorkers.every((w) => otherTrain.has(w.id))).toBe(true);
    expect(inSplit(mixed, 'test').every((w) => w.dataset === 'NLSY97')).toBe(true);
  });

  it('setting 2 refuses to add more workers than the other panels hold, and writes nothing', async () => {
    const base = await tempDir();
    const { dirs, read } = await stores(base);
    const out = join(base, 'too-many');
    // 100% of PSID's ~140 training workers needs more than NLSY97's ~56.
    expect(await run('data', 'mix', '--base', dirs.psid81!, '--add', dirs.nlsy97!, '--percent', '100', '--out', out)).toBe(2);
    const need = inSplit(read.psid81!, 'train').length;
    expect(io.stderr).toContain(`needs ${need} workers from the other panels, which hold ${inSplit(read.nlsy97!, 'train').length}`);
    await expect(stat(out)).rejects.toThrow();
    // Drawing from all of the other panel's workers (--from-splits all) is allowed when it is enough.
    expect(await run('data', 'mix', '--base', dirs.nlsy97!, '--add', dirs.nlsy79!, '--percent', '100', '--from-splits', 'all', '--out', out, '--quiet')).toBe(0);
    expect(await run('data', 'mix', '--union', dirs.nlsy97!, '--percent', '10', '--out', join(base, 'one'))).toBe(2);
    expect(io.stderr).toMatch(/at least two panel stores/);
    expect(await run('data', 'mix', '--union', dirs.nlsy97!, dirs.nlsy79!, '--percent', '120', '--out', join(base, 'bad'))).toBe(2);
    expect(io.stderr).toMatch(/between 0 and 100/);
  });
});

describe('data randomize', () => {
  it('permutes the asked traits among the test workers of each dataset only', async () => {
    const base = await tempDir();
    const { dirs, read } = await stores(base);
    const mix = join(base, 'mix');
    expect(await run('data', 'mix', '--union', dirs.psid81!, dirs.nlsy97!, '--percent', '100', '--out', mix, '--quiet')).toBe(0);
    const before = await readPanelDir(mix);
    const out = join(base, 'gender');
    expect(await run('data', 'randomize', mix, '--fields', 'gender,ethnicity', '--seed', '2', '--out', out, '--json')).toBe(0);
    const result = JSON.parse(io.stdout);
    const after = await readPanelDir(out);
    expect(result).toMatchObject({ command: 'data randomize', fields: ['gender', 'ethnicity'], split: 'test', permuted: inSplit(before, 'test').length });
    expect(result.changed).toBeGreaterThan(0);
    expect([...after.splits]).toEqual([...before.splits]);
    after.panel.workers.forEach((w, i) => {
      const orig = before.panel.workers[i]!;
      expect(w.id).toBe(orig.id);
      expect(w.records).toEqual(orig.records);
      expect(w.region).toBe(orig.region);
      if (before.splits.get(w.id) !== 'test') expect(w).toEqual(orig);
    });
    // Each trait keeps its frequencies within each dataset's test workers (the traits are permuted independently).
    for (const dataset of ['PSID81', 'NLSY97']) {
      for (const field of ['gender', 'ethnicity'] as const) {
        const values = (s: PanelStore) => inSplit(s, 'test').filter((w) => w.dataset === dataset).map((w) => w[field]).sort();
        expect(values(after)).toEqual(values(before));
      }
    }
    expect(await run('data', 'randomize', mix, '--fields', 'gender,age', '--out', join(base, 'x'))).toBe(2);
    expect(io.stderr).toMatch(/--fields must be one of gender, ethnicity, region, got "age"/);
    expect(read.psid81).toBeDefined();
  });
});

describe('data import --format career', () => {
  it('reads the paper\'s region spellings ("northcentral") and Census names', async () => {
    const base = await tempDir();
    await writeFiles(join(base, 'career'), { ...CAREER_SAMPLE, 'test.location': 'northcentral\n', 'valid.location': 'Midwest\n' });
    expect(await run('data', 'import', join(base, 'career'), '--format', 'career', '--dataset', 'NLSY79', '--out', join(base, 'store'), '--quiet')).toBe(0);
    const store = await readPanelDir(join(base, 'store'));
    expect(store.panel.workers.map((w) => w.region)).toEqual(['northcentral', 'west', 'northcentral', 'northcentral']);
  });
});
