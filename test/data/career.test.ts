import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCareerDir, writeCareerDir } from '../../src/data/io/career.js';
import { loadTaxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { CAREER_SAMPLE, tempDir, writeFiles } from '../helpers/panel-files.js';

const taxonomy = loadTaxonomy('occ1990dd');

async function readAll(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = await readFile(join(dir, name), 'utf8');
  return out;
}

describe('CAREER split files', () => {
  it('imports workers, steps, covariates and split membership', async () => {
    const dir = await tempDir();
    await writeFiles(dir, CAREER_SAMPLE);
    const { panel, splits, report } = await readCareerDir(dir, { taxonomy, dataset: 'NLSY79' });
    expect(panel.taxonomy).toBe('occ1990dd');
    expect(panel.workers.map((w) => w.id)).toEqual(['train-1', 'train-2', 'valid-1', 'test-1']);
    expect([...splits]).toEqual([
      ['train-1', 'train'],
      ['train-2', 'train'],
      ['valid-1', 'valid'],
      ['test-1', 'test'],
    ]);
    const first = panel.workers[0]!;
    expect(first).toMatchObject({ dataset: 'NLSY79', birthYear: null, gender: 'female', ethnicity: 'white', region: 'northcentral', state: 'MO' });
    expect(first.records).toEqual([
      { year: 1990, code: '4', education: 'college' },
      { year: 1991, code: '4', education: 'college' },
      { year: 1992, code: '7', education: 'college' },
      { year: 1994, code: '9002', education: 'graduate degree' },
      { year: 1995, code: '7', education: 'graduate degree' },
    ]);
    expect(panel.workers[1]).toMatchObject({ ethnicity: 'black or african american', region: 'west', state: 'CA' });
    expect(panel.workers[2]).toMatchObject({ region: 'south', state: 'TX' });
    // A region name in the location file: region kept, no state.
    expect(panel.workers[3]!.region).toBe('south');
    expect(panel.workers[3]!.state).toBeUndefined();
    expect(report).toMatchObject({ workers: 4, records: 11 });
    expect(report.files).toHaveLength(18);
  });

  it('round trips byte for byte: import -> export -> import', async () => {
    const src = await tempDir();
    await writeFiles(src, CAREER_SAMPLE);
    const first = await readCareerDir(src, { taxonomy, dataset: 'NLSY79' });
    const out = join(await tempDir(), 'exported');
    const written = await writeCareerDir(out, first.panel, first.splits);
    expect(written.workers).toEqual({ train: 2, valid: 1, test: 1 });
    expect(written.datasetOmitted).toBe(true);
    expect(await readAll(out)).toEqual(await readAll(src));
    const second = await readCareerDir(out, { taxonomy, dataset: 'NLSY79' });
    expect(second.panel).toEqual(first.panel);
    expect([...second.splits]).toEqual([...first.splits]);
  });

  it('normalises CAREER sample spellings and re-exports them canonically', async () => {
    const dir = await tempDir();
    await writeFiles(dir, {
      ...CAREER_SAMPLE,
      'train.education': 'bachelors bachelors masters doctorate doctorate\nhigh_school_diploma associates\n',
    });
    const { panel, splits, report } = await readCareerDir(dir, { taxonomy, dataset: 'X' });
    expect(panel.workers[1]!.records.map((r) => r.education)).toEqual(['high school diploma', 'associate degree']);
    expect(report.normalizedEducation).toEqual({
      'bachelors -> college': 2,
      'masters -> graduate degree': 1,
      'doctorate -> graduate degree': 2,
      'associates -> associate degree': 1,
    });
    const out = join(await tempDir(), 'x');
    await writeCareerDir(out, panel, splits);
    expect(await readFile(join(out, 'train.education'), 'utf8')).toBe(
      'college college graduate_degree graduate_degree graduate_degree\nhigh_school_diploma associate_degree\n',
    );
  });

  it('reads region names in the paper\'s, the Census\'s and CAREER\'s spellings and writes the paper\'s', async () => {
    const spellings = { northcentral: 'northcentral', Midwest: 'northcentral', North_Central: 'northcentral', NORTHEAST: 'northeast', South: 'south', west: 'west' };
    for (const [written, region] of Object.entries(spellings)) {
      const dir = await tempDir();
      await writeFiles(dir, { ...CAREER_SAMPLE, 'test.location': `${written}\n` });
      const { panel, splits } = await readCareerDir(dir, { taxonomy, dataset: 'NLSY79' });
      expect(panel.workers[3]!.region, written).toBe(region);
      const out = join(await tempDir(), 'x');
      await writeCareerDir(out, panel, splits);
      expect(await readFile(join(out, 'test.location'), 'utf8')).toBe(`${region}\n`);
    }
  });

  it('writes sidecars for ids, birth years and mixed datasets, and reads them back', async () => {
    const src = await tempDir();
    await writeFiles(src, CAREER_SAMPLE);
    const { panel, splits } = await readCareerDir(src, { taxonomy, dataset: 'NLSY79' });
    panel.workers[0]!.id = 'p-17';
    splits.set('p-17', 'train');
    panel.workers[0]!.birthYear = 1961;
    panel.workers[2]!.dataset = 'PSID81';
    const out = join(await tempDir(), 'x');
    const written = await writeCareerDir(out, panel, splits);
    expect(written.datasetOmitted).toBe(false);
    const files = await readAll(out);
    expect(files['train.id']).toBe('p-17\ntrain-2\n');
    expect(files['valid.id']).toBeUndefined();
    expect(files['train.birthyear']).toBe('1961\nNA\n');
    expect(files['valid.birthyear']).toBeUndefined();
    expect(files['valid.dataset']).toBe('PSID81\n');
    // No dataset option needed now: every split has its .dataset file.
    const back = await readCareerDir(out, { taxonomy });
    expect(back.panel).toEqual(panel);
    expect(back.splits.get('p-17')).toBe('train');
  });

  it('maps unknown codes when asked and reports them', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { ...CAREER_SAMPLE, 'test.job': '12345\n' });
    const { panel, report } = await readCareerDir(dir, { taxonomy, dataset: 'X', unknownCode: { mapTo: '9003' } });
    expect(panel.workers[3]!.records[0]!.code).toBe('9003');
    expect(report.mappedCodes).toEqual({ '12345': 1 });
  });

  it('accepts a folder with only some splits, CRLF line ends and a missing final newline', async () => {
    const dir = await tempDir();
    const files = Object.fromEntries(
      Object.entries(CAREER_SAMPLE)
        .filter(([k]) => k.startsWith('train.'))
        .map(([k, v]) => [k, v.replace(/\n/g, '\r\n').replace(/\r\n$/, '')]),
    );
    await writeFiles(dir, files);
    const { panel, splits } = await readCareerDir(dir, { taxonomy, dataset: 'X' });
    expect(panel.workers).toHaveLength(2);
    expect(new Set(splits.values())).toEqual(new Set(['train']));
  });

  it('refuses to export a worker without a split and leaves nothing behind', async () => {
    const src = await tempDir();
    await writeFiles(src, CAREER_SAMPLE);
    const { panel, splits } = await readCareerDir(src, { taxonomy, dataset: 'X' });
    splits.delete('valid-1');
    const parent = await tempDir();
    await expect(writeCareerDir(join(parent, 'out'), panel, splits)).rejects.toThrow(/worker "valid-1" has no split/);
    expect(await readdir(parent)).toEqual([]);
  });
});
