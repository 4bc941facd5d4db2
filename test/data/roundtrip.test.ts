/**
 * Round trips of a synthetic panel (ids, birth years, regions without states, true probabilities)
 * through every format: each import -> export -> import gives back the same panel and splits.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCareerDir, writeCareerDir } from '../../src/data/io/career.js';
import { completeSplits } from '../../src/data/io/types.js';
import { readLongTable, writeLongTable } from '../../src/data/io/index.js';
import { readPanelDir, readPanelMeta, writePanelDir } from '../../src/data/io/panel-store.js';
import { synthesizePanel } from '../../src/data/synth/index.js';
import { loadTaxonomy, numberTaxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { tempDir, writeFiles } from '../helpers/panel-files.js';

const taxonomy = loadTaxonomy('occ1990dd');
const { panel } = synthesizePanel({ profile: 'nlsy97', workers: 40, seed: 11, taxonomy });
const { splits } = completeSplits(panel, new Map(), { seed: 11 });

async function folderBytes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = (await readFile(join(dir, name))).toString('base64');
  return out;
}

describe('round trips of a synthetic panel', () => {
  it('has the things that are easy to lose', () => {
    expect(panel.workers.every((w) => w.birthYear !== null && w.state === undefined)).toBe(true);
    expect(panel.workers.some((w) => w.records.some((r) => r.trueProbability !== undefined))).toBe(true);
    expect(new Set(splits.values())).toEqual(new Set(['train', 'valid', 'test']));
  });

  it('CAREER files keep everything, and re-export is byte-identical', async () => {
    const base = await tempDir();
    await writeCareerDir(join(base, 'a'), panel, splits);
    const back = await readCareerDir(join(base, 'a'), { taxonomy, dataset: 'NLSY97' });
    // CAREER files group workers by split: the panel comes back in train, valid, test order.
    const order = ['train', 'valid', 'test'];
    const bySplit = order.flatMap((s) => panel.workers.filter((w) => splits.get(w.id) === s));
    expect(back.panel).toEqual({ ...panel, workers: bySplit });
    expect([...back.splits]).toEqual(bySplit.map((w) => [w.id, splits.get(w.id)]));
    await writeCareerDir(join(base, 'b'), back.panel, back.splits);
    expect(await folderBytes(join(base, 'b'))).toEqual(await folderBytes(join(base, 'a')));
    // The sidecars are there because the panel needs them, the dataset file is not (one dataset).
    expect((await readdir(join(base, 'a'))).filter((f) => f.startsWith('test.')).sort()).toEqual(
      ['test.birthyear', 'test.education', 'test.ethnicity', 'test.gender', 'test.id', 'test.job', 'test.location', 'test.trueprob', 'test.year'],
    );
  });

  it('long CSV and Parquet keep everything', async () => {
    const base = await tempDir();
    for (const file of ['p.csv', 'p.parquet']) {
      await writeLongTable(join(base, file), panel, splits);
      const back = await readLongTable(join(base, file), { taxonomy });
      expect(back.panel).toEqual(panel);
      expect(Object.fromEntries(back.splits)).toEqual(Object.fromEntries(splits));
    }
  });

  it('the panel store keeps everything, and writes the same bytes twice', async () => {
    const base = await tempDir();
    const meta = await writePanelDir(join(base, 's'), { panel, splits, taxonomy, source: { test: true } });
    expect(meta).toMatchObject({ workers: 40, oracle: true, taxonomy: { name: 'occ1990dd' }, source: { test: true } });
    expect(meta.splits.train + meta.splits.valid + meta.splits.test).toBe(40);
    const store = await readPanelDir(join(base, 's'));
    expect(store.panel).toEqual(panel);
    expect(Object.fromEntries(store.splits)).toEqual(Object.fromEntries(splits));
    expect(store.meta).toEqual(meta);
    await writePanelDir(join(base, 't'), { panel: store.panel, splits: store.splits, taxonomy: store.taxonomy, source: { test: true } });
    expect(await folderBytes(join(base, 't'))).toEqual(await folderBytes(join(base, 's')));
  });

  it('the panel store carries a user taxonomy and a numbered variant', async () => {
    const base = await tempDir();
    await writeFiles(base, { 'tax.csv': 'code,title\nA1,Alpha worker\nB2,"Beta, the second"\n' });
    const user = loadTaxonomy(join(base, 'tax.csv'));
    const numbered = numberTaxonomy(user, 3);
    const small = {
      taxonomy: numbered.name,
      workers: [{ id: 'w', dataset: 'D', birthYear: null, gender: 'f', ethnicity: 'e', region: 'West', records: [{ year: 2000, code: 'B2', education: 'college' }] }],
    };
    await writePanelDir(join(base, 's'), { panel: small, taxonomy: numbered });
    expect((await readPanelMeta(join(base, 's'))).taxonomy).toEqual({ name: user.name, numberedSeed: 3, file: 'taxonomy.csv' });
    const store = await readPanelDir(join(base, 's'));
    expect(store.taxonomy.entries).toEqual(numbered.entries);
    expect(store.taxonomy.numberedSeed).toBe(3);
    expect(store.splits.size).toBe(0);
    expect(store.meta.unassigned).toBe(1);
  });

  it('a built-in numbered taxonomy is rebuilt from its seed', async () => {
    const base = await tempDir();
    const numbered = loadTaxonomy('occ1990dd', { numbered: { seed: 5 } });
    await writePanelDir(join(base, 's'), { panel, splits, taxonomy: numbered });
    const store = await readPanelDir(join(base, 's'));
    expect(store.taxonomy.titles()).toEqual(numbered.titles());
    expect(await readdir(join(base, 's'))).not.toContain('taxonomy.csv');
  });
});
